// Outbox alerts delivered to an in-process fake incident service: batches,
// a rejected alert isolated and dropped, unparseable payloads dropped, and a
// peer that is down reported for the dispatcher to retry.
#include "peers/alert_delivery.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agentwatch::peers {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;

// Records accepted fingerprints; rejects (INVALID_ARGUMENT) any batch holding
// the fingerprint "bad"; answers UNAVAILABLE while `down`.
class FakeIncident final : public incident::v1::IncidentService::CallbackService {
 public:
  grpc::ServerUnaryReactor* ReportAlerts(grpc::CallbackServerContext* context,
                                         const incident::v1::ReportAlertsRequest* request,
                                         incident::v1::ReportAlertsResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    std::lock_guard<std::mutex> lock(mu);
    ++calls;
    if (down) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
      return reactor;
    }
    for (const auto& alert : request->alerts()) {
      if (alert.fingerprint() == "bad") {
        reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "alerts[0]: bad"));
        return reactor;
      }
    }
    for (const auto& alert : request->alerts()) received.push_back(alert.fingerprint());
    response->set_accepted(request->alerts_size());
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  std::mutex mu;
  bool down = false;
  int calls = 0;
  std::vector<std::string> received;
};

class AlertDeliveryTest : public ::testing::Test {
 protected:
  AlertDeliveryTest() {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&incident_);
    server_ = builder.BuildAndStart();
    stub_ = incident::v1::IncidentService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    handler_ = MakeReportAlertsHandler(*stub_, absl::Seconds(5), "test alert");
  }
  ~AlertDeliveryTest() override { server_->Shutdown(); }

  static common::OutboxEntry Entry(const std::string& fingerprint) {
    incident::v1::Alert alert;
    alert.set_fingerprint(fingerprint);
    alert.set_name("BudgetThresholdCrossed");
    common::OutboxEntry entry;
    entry.id = static_cast<int64_t>(fingerprint.size());
    entry.idempotency_key = fingerprint;
    entry.payload = alert.SerializeAsString();
    return entry;
  }

  FakeIncident incident_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<incident::v1::IncidentService::Stub> stub_;
  common::OutboxHandler handler_;
};

TEST_F(AlertDeliveryTest, DeliversABatchInOneCall) {
  EXPECT_THAT(handler_({Entry("a"), Entry("b"), Entry("c")}), IsOk());
  EXPECT_EQ(incident_.calls, 1);
  EXPECT_THAT(incident_.received, ElementsAre("a", "b", "c"));
}

TEST_F(AlertDeliveryTest, ARejectedAlertIsDroppedAndTheOthersStillGoIn) {
  EXPECT_THAT(handler_({Entry("a"), Entry("bad"), Entry("c")}), IsOk());
  // The batch, then each alert on its own.
  EXPECT_EQ(incident_.calls, 4);
  EXPECT_THAT(incident_.received, ElementsAre("a", "c"));
}

TEST_F(AlertDeliveryTest, UnparseablePayloadsAreDropped) {
  common::OutboxEntry garbage = Entry("x");
  garbage.payload = "\xff\xff\xff not a proto";
  EXPECT_THAT(handler_({garbage, Entry("a")}), IsOk());
  EXPECT_THAT(incident_.received, ElementsAre("a"));
  EXPECT_THAT(handler_({garbage}), IsOk());
  EXPECT_EQ(incident_.calls, 1);
}

TEST_F(AlertDeliveryTest, APeerThatIsDownIsReportedForARetry) {
  incident_.down = true;
  EXPECT_THAT(handler_({Entry("a")}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(incident_.received.empty());
}

}  // namespace
}  // namespace agentwatch::peers
