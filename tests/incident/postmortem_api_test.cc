// The postmortem RPCs through a real in-process gRPC server with the
// in-memory store behind it, and CloseIncident refusing a P0/P1 incident
// until its postmortem is published.
#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/rpc.h"
#include "incident/api/incident_metrics.h"
#include "incident/api/incident_service.h"
#include "incident/api/proto_mapping.h"
#include "incident/store/memory_incident_store.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

class PostmortemApiTest : public ::testing::Test {
 protected:
  PostmortemApiTest()
      : clock_(kStart),
        executor_(std::make_unique<common::BlockingExecutor>(4, 100)),
        rpc_(authorizer_, *executor_),
        metrics_(registry_, "agentwatch_incident"),
        store_(ids_),
        service_(store_, rpc_, clock_, metrics_, *ParseGroupBy("group_by", "alertname")) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::IncidentService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  ~PostmortemApiTest() override {
    server_->Shutdown();
    executor_.reset();
  }

  // Opens an incident of `severity` and returns its id.
  std::string Open(const std::string& fingerprint, common::v1::Severity severity) {
    v1::ReportAlertsRequest request;
    v1::Alert* alert = request.add_alerts();
    alert->set_tenant("acme");
    alert->set_fingerprint(fingerprint);
    alert->set_name(absl::StrCat("Alert", fingerprint));
    alert->set_status(v1::ALERT_STATUS_FIRING);
    alert->set_severity(severity);
    (*alert->mutable_annotations())["summary"] = "Checkout is down";
    TimeToProto(kStart - absl::Minutes(1), alert->mutable_starts_at());
    v1::ReportAlertsResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub_->ReportAlerts(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.incident_ids_size() == 1 ? response.incident_ids(0) : "";
  }

  grpc::Status Resolve(const std::string& id) {
    v1::ResolveIncidentRequest request;
    request.set_id(id);
    request.set_actor("alice");
    v1::Incident out;
    grpc::ClientContext context;
    return stub_->ResolveIncident(&context, request, &out);
  }

  grpc::Status Close(const std::string& id) {
    v1::CloseIncidentRequest request;
    request.set_id(id);
    request.set_actor("alice");
    v1::Incident out;
    grpc::ClientContext context;
    return stub_->CloseIncident(&context, request, &out);
  }

  static v1::Postmortem Draft(const std::string& incident_id) {
    v1::Postmortem p;
    p.set_incident_id(incident_id);
    p.set_summary("Checkout returned 5xx for 12 minutes.");
    p.set_impact("30% of orders failed.");
    p.set_author("alice");
    v1::ActionItem* item = p.add_action_items();
    item->set_description("Canary config pushes");
    item->set_owner("bob");
    TimeToProto(kStart + absl::Hours(72), item->mutable_due_time());
    return p;
  }

  grpc::Status Create(const v1::Postmortem& p, v1::Postmortem* out,
                      const std::string& request_id = "") {
    v1::CreatePostmortemRequest request;
    *request.mutable_postmortem() = p;
    request.set_request_id(request_id);
    grpc::ClientContext context;
    return stub_->CreatePostmortem(&context, request, out);
  }

  grpc::Status Update(const v1::Postmortem& p, const std::vector<std::string>& paths,
                      v1::Postmortem* out) {
    v1::UpdatePostmortemRequest request;
    *request.mutable_postmortem() = p;
    for (const std::string& path : paths) request.mutable_update_mask()->add_paths(path);
    grpc::ClientContext context;
    return stub_->UpdatePostmortem(&context, request, out);
  }

  grpc::Status Get(const std::string& id, const std::string& incident_id, v1::Postmortem* out) {
    v1::GetPostmortemRequest request;
    request.set_id(id);
    request.set_incident_id(incident_id);
    grpc::ClientContext context;
    return stub_->GetPostmortem(&context, request, out);
  }

  common::FakeClock clock_;
  common::Authorizer authorizer_;
  std::unique_ptr<common::BlockingExecutor> executor_;
  common::RpcRunner rpc_;
  prometheus::Registry registry_;
  IncidentMetrics metrics_;
  testing::SequentialIds ids_;
  MemoryIncidentStore store_;
  IncidentServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::IncidentService::Stub> stub_;
};

TEST_F(PostmortemApiTest, CreateFillsDefaultsIdsAndTheTimeline) {
  const std::string incident = Open("fp1", common::v1::SEVERITY_P0);
  v1::Postmortem created;
  const grpc::Status status = Create(Draft(incident), &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(created.id().empty());
  EXPECT_EQ(created.tenant(), "acme");
  EXPECT_EQ(created.title(), "Checkout is down");
  EXPECT_EQ(created.status(), v1::POSTMORTEM_STATUS_DRAFT);
  ASSERT_EQ(created.action_items_size(), 1);
  EXPECT_FALSE(created.action_items(0).id().empty());
  EXPECT_EQ(created.action_items(0).status(), v1::ACTION_ITEM_STATUS_OPEN);
  EXPECT_EQ(created.action_items(0).due_time().seconds(),
            absl::ToUnixSeconds(kStart + absl::Hours(72)));
  EXPECT_EQ(created.create_time().seconds(), absl::ToUnixSeconds(kStart));
  std::vector<std::string> kinds;
  for (const v1::TimelineEntry& e : created.timeline()) kinds.push_back(e.kind());
  EXPECT_THAT(kinds, ElementsAre("created", "alert_firing", "postmortem"));

  v1::Postmortem by_id;
  ASSERT_TRUE(Get(created.id(), "", &by_id).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(by_id, created))
      << by_id.DebugString() << "\n"
      << created.DebugString();
  v1::Postmortem by_incident;
  ASSERT_TRUE(Get("", incident, &by_incident).ok());
  EXPECT_EQ(by_incident.id(), created.id());

  v1::GetIncidentResponse detail;
  grpc::ClientContext context;
  v1::GetIncidentRequest get;
  get.set_id(incident);
  ASSERT_TRUE(stub_->GetIncident(&context, get, &detail).ok());
  EXPECT_EQ(detail.incident().postmortem_id(), created.id());
}

TEST_F(PostmortemApiTest, CreateRefusesBadInputWithTheFieldNamed) {
  const std::string incident = Open("fp1", common::v1::SEVERITY_P1);
  v1::Postmortem out;
  v1::Postmortem p = Draft("");
  grpc::Status status = Create(p, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("postmortem.incident_id: required"));

  p = Draft(incident);
  p.mutable_action_items(0)->clear_description();
  status = Create(p, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("postmortem.action_items[0].description"));

  p = Draft(incident);
  p.mutable_action_items(0)->mutable_due_time()->set_nanos(-1);
  status = Create(p, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("postmortem.action_items[0].due_time"));

  p = Draft(incident);
  p.set_status(v1::POSTMORTEM_STATUS_PUBLISHED);
  status = Create(p, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("postmortem.root_cause: required to publish"));

  p = Draft(incident);
  p.set_status(static_cast<v1::PostmortemStatus>(42));
  status = Create(p, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("postmortem.status"));

  status = Create(Draft("inc-nope"), &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("inc-nope"));
}

TEST_F(PostmortemApiTest, RequestIdMakesCreateIdempotentAndASecondOneIsRefused) {
  const std::string incident = Open("fp1", common::v1::SEVERITY_P1);
  v1::Postmortem first;
  ASSERT_TRUE(Create(Draft(incident), &first, "req-1").ok());
  v1::Postmortem again;
  ASSERT_TRUE(Create(Draft(incident), &again, "req-1").ok());
  EXPECT_EQ(again.id(), first.id());
  EXPECT_EQ(again.action_items(0).id(), first.action_items(0).id());
  EXPECT_THAT(again.timeline(), SizeIs(first.timeline_size()));
  v1::Postmortem other;
  const grpc::Status status = Create(Draft(incident), &other, "req-2");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(status.error_message(), HasSubstr(first.id()));
}

TEST_F(PostmortemApiTest, UpdateAppliesTheMaskAndKeepsActionItemIds) {
  const std::string incident = Open("fp1", common::v1::SEVERITY_P1);
  v1::Postmortem created;
  ASSERT_TRUE(Create(Draft(incident), &created).ok());
  clock_.Advance(absl::Minutes(10));

  v1::Postmortem change;
  change.set_id(created.id());
  change.set_root_cause("A config push without a canary.");
  change.set_summary("ignored: not in the mask");
  *change.add_action_items() = created.action_items(0);
  change.mutable_action_items(0)->set_status(v1::ACTION_ITEM_STATUS_DONE);
  change.add_action_items()->set_description("Page on 5xx ratio");
  v1::Postmortem updated;
  grpc::Status status = Update(change, {"root_cause", "action_items"}, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated.root_cause(), "A config push without a canary.");
  EXPECT_EQ(updated.summary(), created.summary());
  ASSERT_EQ(updated.action_items_size(), 2);
  EXPECT_EQ(updated.action_items(0).id(), created.action_items(0).id());
  EXPECT_EQ(updated.action_items(0).status(), v1::ACTION_ITEM_STATUS_DONE);
  EXPECT_FALSE(updated.action_items(1).id().empty());
  EXPECT_NE(updated.action_items(1).id(), updated.action_items(0).id());
  EXPECT_EQ(updated.update_time().seconds(), absl::ToUnixSeconds(kStart + absl::Minutes(10)));
  EXPECT_EQ(updated.create_time().seconds(), absl::ToUnixSeconds(kStart));

  // Read-only and unknown paths, a foreign action item id, publishing
  // without the required sections.
  status = Update(change, {"incident_id"}, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("update_mask: \"incident_id\" is read-only"));
  status = Update(change, {"nonsense"}, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("update_mask: \"nonsense\""));
  v1::Postmortem foreign;
  foreign.set_id(created.id());
  v1::ActionItem* item = foreign.add_action_items();
  item->set_id("ai-foreign");
  item->set_description("x");
  status = Update(foreign, {"action_items"}, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("postmortem.action_items[0].id"));
  v1::Postmortem publish;
  publish.set_id(created.id());
  publish.set_status(v1::POSTMORTEM_STATUS_PUBLISHED);
  // An empty mask replaces every writable field: the sections go empty.
  status = Update(publish, {}, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("postmortem.summary: required to publish"));
  status = Update(publish, {"status"}, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated.status(), v1::POSTMORTEM_STATUS_PUBLISHED);
  EXPECT_EQ(updated.timeline(updated.timeline_size() - 1).details().at("to"), "PUBLISHED");

  v1::Postmortem missing;
  status = Update(missing, {"status"}, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("postmortem.id: required"));
  missing.set_id("pm-nope");
  status = Update(missing, {"status"}, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(PostmortemApiTest, HighSeverityCloseIsRefusedUntilThePostmortemIsPublished) {
  const std::string p1 = Open("fp1", common::v1::SEVERITY_P1);
  ASSERT_TRUE(Resolve(p1).ok());
  grpc::Status status = Close(p1);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("P0 and P1 incidents need a published postmortem"));
  EXPECT_THAT(status.error_message(), HasSubstr("it has none"));

  v1::Postmortem created;
  ASSERT_TRUE(Create(Draft(p1), &created).ok());
  status = Close(p1);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("is not PUBLISHED"));

  v1::Postmortem publish;
  publish.set_id(created.id());
  publish.set_root_cause("Config push.");
  publish.set_status(v1::POSTMORTEM_STATUS_PUBLISHED);
  v1::Postmortem published;
  ASSERT_TRUE(Update(publish, {"root_cause", "status"}, &published).ok());
  status = Close(p1);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // Unpublishing the postmortem of the closed incident is refused.
  publish.set_status(v1::POSTMORTEM_STATUS_DRAFT);
  v1::Postmortem out;
  status = Update(publish, {"status"}, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("must stay PUBLISHED"));

  // P2 closes without a postmortem.
  const std::string p2 = Open("fp2", common::v1::SEVERITY_P2);
  ASSERT_TRUE(Resolve(p2).ok());
  status = Close(p2);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(PostmortemApiTest, GetListAndExport) {
  const std::string a = Open("fp1", common::v1::SEVERITY_P0);
  const std::string b = Open("fp2", common::v1::SEVERITY_P1);
  v1::Postmortem pa;
  ASSERT_TRUE(Create(Draft(a), &pa).ok());
  clock_.Advance(absl::Seconds(1));
  v1::Postmortem pb;
  v1::Postmortem draft_b = Draft(b);
  draft_b.set_root_cause("Disk full.");
  draft_b.set_status(v1::POSTMORTEM_STATUS_PUBLISHED);
  ASSERT_TRUE(Create(draft_b, &pb).ok());

  v1::Postmortem out;
  grpc::Status status = Get("", "", &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("id: set exactly one of id and incident_id"));
  status = Get(pa.id(), a, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  status = Get("pm-nope", "", &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);

  v1::ListPostmortemsRequest list;
  list.set_page_size(1);
  v1::ListPostmortemsResponse page;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListPostmortems(&context, list, &page).ok());
  }
  ASSERT_EQ(page.postmortems_size(), 1);
  EXPECT_EQ(page.postmortems(0).id(), pb.id());
  EXPECT_EQ(page.postmortems(0).timeline_size(), 0);
  ASSERT_FALSE(page.next_page_token().empty());
  list.set_page_token(page.next_page_token());
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListPostmortems(&context, list, &page).ok());
  }
  ASSERT_EQ(page.postmortems_size(), 1);
  EXPECT_EQ(page.postmortems(0).id(), pa.id());
  EXPECT_TRUE(page.next_page_token().empty());
  // The token belongs to the filters it was issued for.
  list.add_statuses(v1::POSTMORTEM_STATUS_PUBLISHED);
  {
    grpc::ClientContext context;
    status = stub_->ListPostmortems(&context, list, &page);
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_token"));
  list.clear_page_token();
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListPostmortems(&context, list, &page).ok());
  }
  ASSERT_EQ(page.postmortems_size(), 1);
  EXPECT_EQ(page.postmortems(0).id(), pb.id());
  list.add_statuses(static_cast<v1::PostmortemStatus>(9));
  {
    grpc::ClientContext context;
    status = stub_->ListPostmortems(&context, list, &page);
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("statuses[1]"));

  v1::ExportPostmortemRequest export_request;
  export_request.set_id(pb.id());
  v1::ExportPostmortemResponse exported;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ExportPostmortem(&context, export_request, &exported).ok());
  }
  EXPECT_EQ(exported.file_name(), absl::StrCat("postmortem-", b, ".md"));
  EXPECT_THAT(exported.markdown(), HasSubstr("# Postmortem: Checkout is down"));
  EXPECT_THAT(exported.markdown(), HasSubstr("## Root cause\n\nDisk full.\n"));
  EXPECT_THAT(exported.markdown(), HasSubstr("| OPEN | Canary config pushes | bob |"));
  EXPECT_THAT(exported.markdown(), HasSubstr("| alice | postmortem |"));
  export_request.set_id("pm-nope");
  {
    grpc::ClientContext context;
    status = stub_->ExportPostmortem(&context, export_request, &exported);
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace agentwatch::incident
