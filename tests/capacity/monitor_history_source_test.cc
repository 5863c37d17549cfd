// Unit tests of MonitorHistorySource against an in-process fake monitor
// (a real gRPC server on 127.0.0.1:0).
#include "capacity/history/monitor_history_source.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "agentwatch/monitor/v1/monitor.grpc.pb.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"

namespace agentwatch::capacity {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kEnd = absl::FromUnixSeconds(1'700'006'400);

absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// A monitor that answers QuerySeries with one point per step of the asked
// range (value = minutes since the epoch), or with a scripted error, and
// records the requests.
class FakeMonitor final : public monitor::v1::MonitorService::CallbackService {
 public:
  grpc::ServerUnaryReactor* QuerySeries(grpc::CallbackServerContext* context,
                                        const monitor::v1::QuerySeriesRequest* request,
                                        monitor::v1::QuerySeriesResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(*request);
    }
    if (hang_) {
      // Never answers in time: the client's deadline fires first.
      released_.WaitForNotificationWithTimeout(absl::Seconds(5));
    }
    if (!error_.ok()) {
      reactor->Finish(error_);
      return reactor;
    }
    monitor::v1::Series* series = response->add_series();
    (*series->mutable_labels())["__name__"] = request->metric();
    const absl::Duration step = absl::Seconds(request->step().seconds());
    for (absl::Time t = FromTimestamp(request->range().start());
         t < FromTimestamp(request->range().end()); t += step) {
      monitor::v1::Point* point = series->add_points();
      point->mutable_time()->set_seconds(absl::ToUnixSeconds(t));
      point->set_value(static_cast<double>(absl::ToUnixSeconds(t) / 60));
    }
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  std::vector<monitor::v1::QuerySeriesRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  void set_error(grpc::Status error) { error_ = std::move(error); }
  void set_hang() { hang_ = true; }
  void Release() { released_.Notify(); }

 private:
  std::mutex mu_;
  std::vector<monitor::v1::QuerySeriesRequest> requests_;
  grpc::Status error_;
  bool hang_ = false;
  absl::Notification released_;
};

class MonitorHistorySourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&monitor_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = "127.0.0.1:" + std::to_string(port_);
  }
  void TearDown() override {
    monitor_.Release();
    server_->Shutdown();
  }

  MonitorHistorySource Source(int64_t max_points_per_call = 10'000,
                              absl::Duration deadline = absl::Seconds(10)) {
    return MonitorHistorySource(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()),
                                {address_, deadline, max_points_per_call});
  }

  HistoryQuery Query(int64_t steps) {
    HistoryQuery query;
    query.metric = "llm_calls_total";
    query.matchers = {{"model", MatchOp::kRegex, "gpt-4.*"}, {"team", MatchOp::kNotEqual, "x"}};
    query.tenant = "acme";
    query.step = absl::Minutes(5);
    query.end = kEnd;
    query.start = kEnd - steps * query.step;
    query.aggregation = HistoryAggregation::kSum;
    return query;
  }

  FakeMonitor monitor_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string address_;
};

TEST_F(MonitorHistorySourceTest, MapsTheQueryOntoQuerySeries) {
  MonitorHistorySource source = Source();
  HistoryQuery query = Query(12);
  query.aggregation = HistoryAggregation::kAvg;
  auto series = source.Fetch(query);
  ASSERT_THAT(series, IsOk());
  ASSERT_THAT(*series, SizeIs(1));
  EXPECT_EQ((*series)[0].labels.at("__name__"), "llm_calls_total");
  ASSERT_THAT((*series)[0].points, SizeIs(12));
  EXPECT_EQ((*series)[0].points[0].time, query.start);
  EXPECT_EQ((*series)[0].points[0].value,
            static_cast<double>(absl::ToUnixSeconds(query.start) / 60));

  const auto requests = monitor_.requests();
  ASSERT_THAT(requests, SizeIs(1));
  const monitor::v1::QuerySeriesRequest& request = requests[0];
  EXPECT_EQ(request.metric(), "llm_calls_total");
  EXPECT_EQ(request.tenant(), "acme");
  EXPECT_EQ(request.aggregation(), monitor::v1::AGGREGATION_AVG);
  EXPECT_EQ(request.step().seconds(), 300);
  EXPECT_EQ(request.group_by_size(), 0);
  EXPECT_EQ(FromTimestamp(request.range().start()), query.start);
  EXPECT_EQ(FromTimestamp(request.range().end()), kEnd);
  ASSERT_EQ(request.matchers_size(), 2);
  EXPECT_EQ(request.matchers(0).name(), "model");
  EXPECT_EQ(request.matchers(0).op(), common::v1::MATCH_OP_REGEX);
  EXPECT_EQ(request.matchers(0).value(), "gpt-4.*");
  EXPECT_EQ(request.matchers(1).op(), common::v1::MATCH_OP_NOT_EQUAL);
}

TEST_F(MonitorHistorySourceTest, LongRangesAreFetchedInWindowsAndConcatenated) {
  MonitorHistorySource source = Source(/*max_points_per_call=*/10);
  const HistoryQuery query = Query(25);
  auto series = source.Fetch(query);
  ASSERT_THAT(series, IsOk());
  ASSERT_THAT(*series, SizeIs(1));
  const std::vector<TimedValue>& points = (*series)[0].points;
  ASSERT_THAT(points, SizeIs(25));
  for (size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(points[i].time, query.start + static_cast<int64_t>(i) * query.step) << i;
  }
  const auto requests = monitor_.requests();
  ASSERT_THAT(requests, SizeIs(3));
  EXPECT_EQ(FromTimestamp(requests[0].range().start()), query.start);
  EXPECT_EQ(FromTimestamp(requests[0].range().end()), query.start + 10 * query.step);
  EXPECT_EQ(FromTimestamp(requests[2].range().start()), query.start + 20 * query.step);
  EXPECT_EQ(FromTimestamp(requests[2].range().end()), kEnd);
  EXPECT_EQ(requests[0].aggregation(), monitor::v1::AGGREGATION_SUM);
}

TEST_F(MonitorHistorySourceTest, MonitorDownIsUnavailable) {
  const std::string nowhere = "127.0.0.1:" + std::to_string(agentwatch::testing::FreePort());
  MonitorHistorySource source(grpc::CreateChannel(nowhere, grpc::InsecureChannelCredentials()),
                              {nowhere, absl::Seconds(10), 10'000});
  EXPECT_THAT(source.Fetch(Query(12)),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("monitor at " + nowhere + " is unavailable")));
}

TEST_F(MonitorHistorySourceTest, MonitorTooSlowIsUnavailable) {
  monitor_.set_hang();
  MonitorHistorySource source = Source(10'000, absl::Milliseconds(200));
  EXPECT_THAT(source.Fetch(Query(12)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("did not answer within 200ms")));
}

TEST_F(MonitorHistorySourceTest, RejectionsPassThroughAndOtherErrorsAreInternal) {
  monitor_.set_error(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                  "matchers[0].value: invalid regular expression"));
  MonitorHistorySource source = Source();
  EXPECT_THAT(source.Fetch(Query(12)), StatusIs(absl::StatusCode::kInvalidArgument,
                                                "matchers[0].value: invalid regular expression"));

  monitor_.set_error(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many series"));
  EXPECT_THAT(source.Fetch(Query(12)),
              StatusIs(absl::StatusCode::kResourceExhausted, "too many series"));

  monitor_.set_error(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "viewer required"));
  EXPECT_THAT(source.Fetch(Query(12)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("PERMISSION_DENIED")));
}

}  // namespace
}  // namespace agentwatch::capacity
