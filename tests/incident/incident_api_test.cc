// IncidentService through a real in-process gRPC server with the in-memory
// store behind it.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/metrics.h"
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

v1::Alert MakeAlert(const std::string& tenant, const std::string& fingerprint,
                    const std::string& name, v1::AlertStatus status = v1::ALERT_STATUS_FIRING) {
  v1::Alert alert;
  alert.set_tenant(tenant);
  alert.set_fingerprint(fingerprint);
  alert.set_name(name);
  alert.set_status(status);
  alert.set_source("test");
  TimeToProto(kStart - absl::Minutes(1), alert.mutable_starts_at());
  return alert;
}

class IncidentApiTest : public ::testing::Test {
 protected:
  IncidentApiTest()
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

  ~IncidentApiTest() override {
    server_->Shutdown();
    executor_.reset();
  }

  grpc::Status Report(const std::vector<v1::Alert>& alerts, v1::ReportAlertsResponse* response) {
    v1::ReportAlertsRequest request;
    for (const v1::Alert& alert : alerts) *request.add_alerts() = alert;
    grpc::ClientContext context;
    return stub_->ReportAlerts(&context, request, response);
  }

  // Reports one firing alert and returns its incident id.
  std::string Open(const std::string& tenant, const std::string& fingerprint,
                   const std::string& name) {
    v1::ReportAlertsResponse response;
    const grpc::Status status = Report({MakeAlert(tenant, fingerprint, name)}, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.incident_ids_size(), 1);
    return response.incident_ids_size() == 1 ? response.incident_ids(0) : "";
  }

  grpc::Status Get(const std::string& id, v1::GetIncidentResponse* response) {
    grpc::ClientContext context;
    v1::GetIncidentRequest request;
    request.set_id(id);
    return stub_->GetIncident(&context, request, response);
  }

  grpc::Status List(const v1::ListIncidentsRequest& request, v1::ListIncidentsResponse* response) {
    grpc::ClientContext context;
    return stub_->ListIncidents(&context, request, response);
  }

  template <typename Request>
  static Request Lifecycle(const std::string& id, const std::string& actor = "alice",
                           const std::string& request_id = "") {
    Request request;
    request.set_id(id);
    request.set_actor(actor);
    request.set_request_id(request_id);
    return request;
  }

  grpc::Status Ack(const std::string& id, v1::Incident* out, const std::string& request_id = "") {
    grpc::ClientContext context;
    return stub_->AcknowledgeIncident(
        &context, Lifecycle<v1::AcknowledgeIncidentRequest>(id, "alice", request_id), out);
  }
  grpc::Status Mitigate(const std::string& id, v1::Incident* out) {
    grpc::ClientContext context;
    return stub_->MitigateIncident(&context, Lifecycle<v1::MitigateIncidentRequest>(id), out);
  }
  grpc::Status Resolve(const std::string& id, v1::Incident* out) {
    grpc::ClientContext context;
    return stub_->ResolveIncident(&context, Lifecycle<v1::ResolveIncidentRequest>(id), out);
  }
  grpc::Status Close(const std::string& id, v1::Incident* out) {
    grpc::ClientContext context;
    return stub_->CloseIncident(&context, Lifecycle<v1::CloseIncidentRequest>(id), out);
  }
  grpc::Status Reopen(const std::string& id, v1::Incident* out) {
    grpc::ClientContext context;
    return stub_->ReopenIncident(&context, Lifecycle<v1::ReopenIncidentRequest>(id), out);
  }

  // The value of a sample in the registry's exposition, -1 when absent.
  double Metric(const std::string& sample) {
    std::istringstream lines(common::RenderMetrics(registry_));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
    }
    return -1;
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

TEST_F(IncidentApiTest, ReportAlertsOpensAnIncidentThatGetIncidentShows) {
  v1::Alert alert = MakeAlert("acme", "fp1", "HighErrorRate");
  alert.set_severity(common::v1::SEVERITY_P1);
  (*alert.mutable_labels())["service"] = "api";
  (*alert.mutable_annotations())["summary"] = "Error rate above 5%";
  v1::ReportAlertsResponse response;
  ASSERT_TRUE(Report({alert, MakeAlert("acme", "fp2", "HighErrorRate")}, &response).ok());
  EXPECT_EQ(response.accepted(), 2);
  EXPECT_EQ(response.duplicates(), 0);
  ASSERT_THAT(response.incident_ids(), ElementsAre("inc-000001", "inc-000001"));

  v1::GetIncidentResponse got;
  ASSERT_TRUE(Get("inc-000001", &got).ok());
  const v1::Incident& incident = got.incident();
  EXPECT_EQ(incident.title(), "Error rate above 5%");
  EXPECT_EQ(incident.status(), v1::INCIDENT_STATUS_TRIGGERED);
  EXPECT_EQ(incident.severity(), common::v1::SEVERITY_P1);
  EXPECT_EQ(incident.tenant(), "acme");
  EXPECT_EQ(incident.group_key(), "\"acme\":{alertname=\"HighErrorRate\"}");
  EXPECT_EQ(incident.alert_count(), 2);
  EXPECT_EQ(incident.firing_alert_count(), 2);
  EXPECT_EQ(incident.labels().at("alertname"), "HighErrorRate");
  EXPECT_EQ(incident.create_time().seconds(), absl::ToUnixSeconds(kStart));
  EXPECT_EQ(incident.start_time().seconds(), absl::ToUnixSeconds(kStart - absl::Minutes(1)));
  EXPECT_EQ(incident.escalation_tier(), -1);
  EXPECT_FALSE(incident.has_acknowledge_time());
  ASSERT_THAT(got.alerts(), SizeIs(2));
  EXPECT_EQ(got.alerts(0).fingerprint(), "fp1");
  EXPECT_EQ(got.alerts(0).labels().at("service"), "api");
  EXPECT_EQ(got.alerts(0).status(), v1::ALERT_STATUS_FIRING);
  ASSERT_THAT(got.timeline(), SizeIs(3));
  EXPECT_EQ(got.timeline(0).kind(), "created");
  EXPECT_EQ(got.timeline(1).kind(), "alert_firing");
  EXPECT_EQ(got.timeline(2).kind(), "alert_firing");
  EXPECT_EQ(got.timeline(1).details().at("fingerprint"), "fp1");

  EXPECT_EQ(Metric("agentwatch_incident_alerts_received_total{status=\"firing\"}"), 2);
  EXPECT_EQ(Metric("agentwatch_incident_incidents_opened_total"), 1);
  EXPECT_EQ(Metric("agentwatch_incident_alert_duplicates_total"), 0);
}

TEST_F(IncidentApiTest, ReplayIsCountedAsDuplicate) {
  const v1::Alert alert = MakeAlert("acme", "fp1", "A");
  v1::ReportAlertsResponse first;
  ASSERT_TRUE(Report({alert}, &first).ok());
  // Alertmanager moves ends_at on every resend of a firing alert: still a replay.
  v1::Alert resend = alert;
  TimeToProto(kStart + absl::Minutes(4), resend.mutable_ends_at());
  v1::ReportAlertsResponse replay;
  ASSERT_TRUE(Report({alert, resend}, &replay).ok());
  EXPECT_EQ(replay.accepted(), 0);
  EXPECT_EQ(replay.duplicates(), 2);
  EXPECT_THAT(replay.incident_ids(), ElementsAre(first.incident_ids(0), first.incident_ids(0)));
  v1::GetIncidentResponse got;
  ASSERT_TRUE(Get(first.incident_ids(0), &got).ok());
  EXPECT_THAT(got.timeline(), SizeIs(2));  // created, alert_firing: nothing from the replay
  EXPECT_EQ(Metric("agentwatch_incident_alert_duplicates_total"), 2);
  EXPECT_EQ(Metric("agentwatch_incident_alerts_received_total{status=\"firing\"}"), 3);
  EXPECT_EQ(Metric("agentwatch_incident_incidents_opened_total"), 1);
}

TEST_F(IncidentApiTest, ResolvedAlertIsMarkedAndTheIncidentStaysOpen) {
  const std::string id = Open("acme", "fp1", "A");
  v1::Alert resolved = MakeAlert("acme", "fp1", "A", v1::ALERT_STATUS_RESOLVED);
  TimeToProto(kStart + absl::Minutes(3), resolved.mutable_ends_at());
  v1::ReportAlertsResponse response;
  ASSERT_TRUE(
      Report({resolved, MakeAlert("acme", "unknown", "A", v1::ALERT_STATUS_RESOLVED)}, &response)
          .ok());
  EXPECT_THAT(response.incident_ids(), ElementsAre(id, ""));
  EXPECT_EQ(Metric("agentwatch_incident_alerts_received_total{status=\"resolved\"}"), 2);
  v1::GetIncidentResponse got;
  ASSERT_TRUE(Get(id, &got).ok());
  EXPECT_EQ(got.incident().status(), v1::INCIDENT_STATUS_TRIGGERED);
  EXPECT_EQ(got.incident().firing_alert_count(), 0);
  EXPECT_EQ(got.alerts(0).status(), v1::ALERT_STATUS_RESOLVED);
  EXPECT_EQ(got.alerts(0).ends_at().seconds(), absl::ToUnixSeconds(kStart + absl::Minutes(3)));
  EXPECT_EQ(got.timeline(got.timeline_size() - 1).kind(), "alert_resolved");
}

TEST_F(IncidentApiTest, InvalidAlertNamesTheFieldAndWritesNothing) {
  v1::Alert bad = MakeAlert("acme", "", "A");
  v1::ReportAlertsResponse response;
  grpc::Status status = Report({MakeAlert("acme", "fp1", "A"), bad}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "alerts[1].fingerprint: required");

  struct Case {
    std::function<void(v1::Alert*)> mutate;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](v1::Alert* a) { a->clear_name(); }, "alerts[0].name: required"},
      {[](v1::Alert* a) { a->clear_tenant(); }, "alerts[0].tenant: required"},
      {[](v1::Alert* a) { a->set_status(v1::ALERT_STATUS_UNSPECIFIED); }, "alerts[0].status"},
      {[](v1::Alert* a) { a->mutable_starts_at()->set_seconds(-5); }, "alerts[0].starts_at"},
      {[](v1::Alert* a) { a->mutable_starts_at()->set_nanos(-1); }, "alerts[0].starts_at"},
      {[](v1::Alert* a) {
         a->set_status(v1::ALERT_STATUS_RESOLVED);
         a->mutable_ends_at()->set_nanos(1'000'000'000);
       },
       "alerts[0].ends_at: nanos must be in [0, 999999999]"},
      {[](v1::Alert* a) { (*a->mutable_labels())["a-b"] = "x"; }, "alerts[0].labels[\"a-b\"]"},
      {[](v1::Alert* a) { a->set_severity(static_cast<common::v1::Severity>(42)); },
       "alerts[0].severity"},
      {[](v1::Alert* a) {
         a->set_status(v1::ALERT_STATUS_RESOLVED);
         TimeToProto(kStart - absl::Hours(1), a->mutable_ends_at());
       },
       "alerts[0].ends_at: before starts_at"},
  };
  for (const Case& c : cases) {
    v1::Alert alert = MakeAlert("acme", "fp9", "A");
    c.mutate(&alert);
    status = Report({alert}, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message;
    EXPECT_THAT(status.error_message(), HasSubstr(c.message));
  }
  v1::ListIncidentsResponse listed;
  ASSERT_TRUE(List({}, &listed).ok());
  EXPECT_EQ(listed.incidents_size(), 0);
  EXPECT_EQ(Metric("agentwatch_incident_alerts_received_total{status=\"firing\"}"), 0);
}

TEST_F(IncidentApiTest, BatchLimits) {
  v1::ReportAlertsResponse response;
  grpc::Status status = Report({}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("alerts"));
  std::vector<v1::Alert> alerts(10001, MakeAlert("acme", "fp", "A"));
  status = Report(alerts, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("10000"));
}

TEST_F(IncidentApiTest, LifecycleRecordsEveryStepOnTheTimeline) {
  const std::string id = Open("acme", "fp1", "A");
  v1::Incident incident;
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(Ack(id, &incident).ok());
  EXPECT_EQ(incident.status(), v1::INCIDENT_STATUS_ACKNOWLEDGED);
  EXPECT_EQ(incident.acknowledge_time().seconds(), absl::ToUnixSeconds(clock_.Now()));
  const int64_t ack_seconds = incident.acknowledge_time().seconds();

  // Acknowledging again answers the incident unchanged.
  clock_.Advance(absl::Minutes(1));
  v1::Incident again;
  ASSERT_TRUE(Ack(id, &again).ok());
  EXPECT_EQ(again.acknowledge_time().seconds(), ack_seconds);
  EXPECT_EQ(again.status(), v1::INCIDENT_STATUS_ACKNOWLEDGED);

  ASSERT_TRUE(Mitigate(id, &incident).ok());
  EXPECT_EQ(incident.status(), v1::INCIDENT_STATUS_MITIGATED);
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(Resolve(id, &incident).ok());
  EXPECT_EQ(incident.status(), v1::INCIDENT_STATUS_RESOLVED);
  EXPECT_TRUE(incident.has_resolve_time());

  const grpc::Status refused = Ack(id, &incident);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr("RESOLVED"));

  ASSERT_TRUE(Reopen(id, &incident).ok());
  EXPECT_EQ(incident.status(), v1::INCIDENT_STATUS_TRIGGERED);
  ASSERT_TRUE(Resolve(id, &incident).ok());
  ASSERT_TRUE(Close(id, &incident).ok());
  EXPECT_EQ(incident.status(), v1::INCIDENT_STATUS_CLOSED);
  EXPECT_EQ(Reopen(id, &incident).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  v1::GetIncidentResponse got;
  ASSERT_TRUE(Get(id, &got).ok());
  std::vector<std::string> kinds;
  for (const v1::TimelineEntry& entry : got.timeline()) kinds.push_back(entry.kind());
  EXPECT_THAT(kinds, ElementsAre("created", "alert_firing", "acknowledged", "mitigated", "resolved",
                                 "reopened", "resolved", "closed"));
  EXPECT_EQ(got.timeline(2).actor(), "alice");
  EXPECT_EQ(got.timeline(2).time().seconds(), ack_seconds);
}

TEST_F(IncidentApiTest, HighSeverityNeedsAPostmortemToClose) {
  v1::Alert alert = MakeAlert("acme", "fp1", "Outage");
  alert.set_severity(common::v1::SEVERITY_P0);
  v1::ReportAlertsResponse response;
  ASSERT_TRUE(Report({alert}, &response).ok());
  v1::Incident incident;
  ASSERT_TRUE(Resolve(response.incident_ids(0), &incident).ok());
  const grpc::Status status = Close(response.incident_ids(0), &incident);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("postmortem"));
}

TEST_F(IncidentApiTest, RequestIdMakesCallsIdempotent) {
  const std::string id = Open("acme", "fp1", "A");
  v1::AddNoteRequest note = Lifecycle<v1::AddNoteRequest>(id, "bob", "req-1");
  note.set_note("checked the dashboards");
  v1::TimelineEntry first;
  v1::TimelineEntry second;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->AddNote(&context, note, &first).ok());
  }
  clock_.Advance(absl::Minutes(5));
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->AddNote(&context, note, &second).ok());
  }
  EXPECT_EQ(first.SerializeAsString(), second.SerializeAsString());
  EXPECT_EQ(first.kind(), "note");
  EXPECT_EQ(first.text(), "checked the dashboards");
  v1::GetIncidentResponse got;
  ASSERT_TRUE(Get(id, &got).ok());
  EXPECT_THAT(got.timeline(), SizeIs(3));

  // The same id on another call is refused.
  v1::Incident incident;
  const grpc::Status reused = Ack(id, &incident, "req-1");
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(reused.error_message(), HasSubstr("request_id"));

  // A retried acknowledgement returns the first answer.
  ASSERT_TRUE(Ack(id, &incident, "req-2").ok());
  clock_.Advance(absl::Minutes(1));
  v1::Incident retried;
  ASSERT_TRUE(Ack(id, &retried, "req-2").ok());
  EXPECT_EQ(incident.SerializeAsString(), retried.SerializeAsString());
}

TEST_F(IncidentApiTest, LifecycleValidationAndNotFound) {
  v1::Incident incident;
  grpc::Status status = Ack("missing", &incident);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  v1::GetIncidentResponse got;
  EXPECT_EQ(Get("missing", &got).error_code(), grpc::StatusCode::NOT_FOUND);
  status = Get("", &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("id: required"));

  const std::string id = Open("acme", "fp1", "A");
  {
    grpc::ClientContext context;
    status = stub_->AcknowledgeIncident(&context, Lifecycle<v1::AcknowledgeIncidentRequest>(id, ""),
                                        &incident);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(), "actor: required");
  }
  {
    grpc::ClientContext context;
    v1::TimelineEntry entry;
    status = stub_->AddNote(&context, Lifecycle<v1::AddNoteRequest>(id), &entry);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(), "note: required");
    v1::AddNoteRequest big = Lifecycle<v1::AddNoteRequest>(id);
    big.set_note(std::string(64 * 1024 + 1, 'x'));
    grpc::ClientContext context2;
    status = stub_->AddNote(&context2, big, &entry);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("note: longer than"));
  }
  {
    grpc::ClientContext context;
    v1::SetSeverityRequest request = Lifecycle<v1::SetSeverityRequest>(id);
    status = stub_->SetSeverity(&context, request, &incident);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(), "severity: required");
  }
}

TEST_F(IncidentApiTest, OwnerAndSeverityChanges) {
  const std::string id = Open("acme", "fp1", "A");
  v1::Incident incident;
  {
    grpc::ClientContext context;
    v1::AssignOwnerRequest request = Lifecycle<v1::AssignOwnerRequest>(id, "lead");
    request.set_owner("alice");
    ASSERT_TRUE(stub_->AssignOwner(&context, request, &incident).ok());
    EXPECT_EQ(incident.owner(), "alice");
  }
  {
    grpc::ClientContext context;
    v1::SetSeverityRequest request = Lifecycle<v1::SetSeverityRequest>(id, "lead");
    request.set_severity(common::v1::SEVERITY_P0);
    request.set_note("customer impact confirmed");
    ASSERT_TRUE(stub_->SetSeverity(&context, request, &incident).ok());
    EXPECT_EQ(incident.severity(), common::v1::SEVERITY_P0);
  }
  // A pinned severity is not lowered or raised by alerts.
  v1::Alert p3 = MakeAlert("acme", "fp2", "A");
  p3.set_severity(common::v1::SEVERITY_P3);
  v1::ReportAlertsResponse response;
  ASSERT_TRUE(Report({p3}, &response).ok());
  v1::GetIncidentResponse got;
  ASSERT_TRUE(Get(id, &got).ok());
  EXPECT_EQ(got.incident().severity(), common::v1::SEVERITY_P0);
  EXPECT_EQ(got.incident().owner(), "alice");
  const v1::TimelineEntry& changed = got.timeline(3);
  EXPECT_EQ(changed.kind(), "severity_changed");
  EXPECT_EQ(changed.text(), "customer impact confirmed");
  EXPECT_EQ(changed.details().at("to"), "P0");
}

TEST_F(IncidentApiTest, ReopenIsRefusedWhileTheGroupHasAnotherOpenIncident) {
  const std::string first = Open("acme", "fp1", "A");
  v1::Incident incident;
  ASSERT_TRUE(Resolve(first, &incident).ok());
  const std::string second = Open("acme", "fp2", "A");
  ASSERT_NE(first, second);
  const grpc::Status status = Reopen(first, &incident);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr(second));
}

TEST_F(IncidentApiTest, ListPagesNewestFirstWithFilters) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(
        Open(i % 2 == 0 ? "acme" : "globex", absl::StrCat("fp", i), absl::StrCat("A", i)));
    clock_.Advance(absl::Seconds(10));
  }
  v1::Incident incident;
  ASSERT_TRUE(Ack(ids[2], &incident).ok());

  v1::ListIncidentsRequest request;
  request.set_page_size(2);
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    request.set_page_token(token);
    v1::ListIncidentsResponse response;
    ASSERT_TRUE(List(request, &response).ok());
    for (const v1::Incident& i : response.incidents()) seen.push_back(i.id());
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(seen, ElementsAre(ids[4], ids[3], ids[2], ids[1], ids[0]));

  v1::ListIncidentsRequest acme;
  acme.set_tenant("acme");
  acme.add_statuses(v1::INCIDENT_STATUS_TRIGGERED);
  v1::ListIncidentsResponse response;
  ASSERT_TRUE(List(acme, &response).ok());
  ASSERT_EQ(response.incidents_size(), 2);
  EXPECT_EQ(response.incidents(0).id(), ids[4]);
  EXPECT_EQ(response.incidents(1).id(), ids[0]);

  v1::ListIncidentsRequest matching;
  auto* matcher = matching.add_matchers();
  matcher->set_name("alertname");
  matcher->set_op(common::v1::MATCH_OP_REGEX);
  matcher->set_value("A[13]");
  ASSERT_TRUE(List(matching, &response).ok());
  ASSERT_EQ(response.incidents_size(), 2);
  EXPECT_EQ(response.incidents(0).id(), ids[3]);

  v1::ListIncidentsRequest ranged;
  TimeToProto(kStart + absl::Seconds(10), ranged.mutable_range()->mutable_start());
  TimeToProto(kStart + absl::Seconds(30), ranged.mutable_range()->mutable_end());
  ASSERT_TRUE(List(ranged, &response).ok());
  ASSERT_EQ(response.incidents_size(), 2);
  EXPECT_EQ(response.incidents(0).id(), ids[2]);
  EXPECT_EQ(response.incidents(1).id(), ids[1]);
}

TEST_F(IncidentApiTest, ListRefusesBadRequests) {
  for (int i = 0; i < 3; ++i) Open("acme", absl::StrCat("fp", i), absl::StrCat("A", i));
  v1::ListIncidentsRequest request;
  request.set_page_size(1);
  v1::ListIncidentsResponse response;
  ASSERT_TRUE(List(request, &response).ok());
  ASSERT_FALSE(response.next_page_token().empty());

  v1::ListIncidentsRequest changed = request;
  changed.set_page_token(response.next_page_token());
  changed.set_tenant("globex");
  grpc::Status status = List(changed, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_token"));

  v1::ListIncidentsRequest garbage;
  garbage.set_page_token("%%%");
  EXPECT_EQ(List(garbage, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListIncidentsRequest bad_regex;
  auto* matcher = bad_regex.add_matchers();
  matcher->set_name("alertname");
  matcher->set_op(common::v1::MATCH_OP_REGEX);
  matcher->set_value("(unclosed");
  status = List(bad_regex, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("matchers[0].value"));

  v1::ListIncidentsRequest bad_status;
  bad_status.add_statuses(v1::INCIDENT_STATUS_UNSPECIFIED);
  status = List(bad_status, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("statuses[0]"));

  v1::ListIncidentsRequest reversed;
  TimeToProto(kStart, reversed.mutable_range()->mutable_start());
  TimeToProto(kStart - absl::Seconds(1), reversed.mutable_range()->mutable_end());
  status = List(reversed, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("range.end"));

  v1::ListIncidentsRequest negative;
  negative.set_page_size(-1);
  EXPECT_EQ(List(negative, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(IncidentApiTest, GetStatsReportsTheRangesFigures) {
  const std::string id = Open("acme", "fp1", "A");  // started a minute before kStart
  v1::Incident incident;
  clock_.Advance(absl::Minutes(2));
  ASSERT_TRUE(Ack(id, &incident).ok());
  clock_.Advance(absl::Minutes(3));
  ASSERT_TRUE(Resolve(id, &incident).ok());
  v1::GetStatsRequest request;
  request.set_tenant("acme");
  TimeToProto(kStart - absl::Hours(1), request.mutable_range()->mutable_start());
  v1::IncidentStats stats;
  {
    grpc::ClientContext context;
    const grpc::Status status = stub_->GetStats(&context, request, &stats);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(stats.overall().incident_count(), 1);
  EXPECT_EQ(stats.overall().mttd().seconds(), 60);
  EXPECT_EQ(stats.overall().mtta().seconds(), 120);
  EXPECT_EQ(stats.overall().mttr().seconds(), 300);
  ASSERT_EQ(stats.by_severity_size(), 1);
  EXPECT_EQ(stats.by_severity(0).severity(), common::v1::SEVERITY_P2);
  EXPECT_EQ(stats.by_service_size(), 0);  // no "service" label
  ASSERT_GE(stats.frequency_size(), 1);
  int64_t total = 0;
  for (const v1::FrequencyBucket& bucket : stats.frequency()) total += bucket.incident_count();
  EXPECT_EQ(total, 1);
  EXPECT_EQ(stats.fatigue().alerts_received(), 1);
  EXPECT_DOUBLE_EQ(stats.fatigue().alerts_per_incident(), 1.0);
  EXPECT_DOUBLE_EQ(stats.fatigue().auto_resolved_share(), 0.0);

  const auto refused = [this](const v1::GetStatsRequest& bad, const std::string& field) {
    grpc::ClientContext context;
    v1::IncidentStats out;
    const grpc::Status status = stub_->GetStats(&context, bad, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_THAT(status.error_message(), HasSubstr(field));
  };
  v1::GetStatsRequest bad;
  refused(bad, "range.start");
  bad = request;
  TimeToProto(kStart - absl::Hours(2), bad.mutable_range()->mutable_end());
  refused(bad, "range.end");
  bad = request;
  TimeToProto(clock_.Now() - absl::Hours(24 * 401), bad.mutable_range()->mutable_start());
  refused(bad, "range");
  bad = request;
  bad.set_time_zone("Nowhere/Atlantis");
  refused(bad, "time_zone");
}

v1::Silence MakeSilence(const std::string& tenant, const std::string& alertname) {
  v1::Silence silence;
  silence.set_tenant(tenant);
  common::v1::LabelMatcher* m = silence.add_matchers();
  m->set_name("alertname");
  m->set_op(common::v1::MATCH_OP_EQUAL);
  m->set_value(alertname);
  TimeToProto(kStart + absl::Hours(1), silence.mutable_ends_at());
  silence.set_author("alice");
  silence.set_comment("planned maintenance");
  return silence;
}

grpc::Status CreateSilence(v1::IncidentService::Stub& stub, const v1::Silence& silence,
                           v1::Silence* out, const std::string& request_id = "",
                           const std::string& token = "") {
  grpc::ClientContext context;
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  v1::CreateSilenceRequest request;
  *request.mutable_silence() = silence;
  request.set_request_id(request_id);
  return stub.CreateSilence(&context, request, out);
}

TEST_F(IncidentApiTest, SilenceCreateGetDeleteAndState) {
  v1::Silence created;
  ASSERT_TRUE(CreateSilence(*stub_, MakeSilence("acme", "HighLatency"), &created).ok());
  EXPECT_FALSE(created.id().empty());
  EXPECT_EQ(created.state(), v1::SILENCE_STATE_ACTIVE);
  EXPECT_EQ(created.starts_at().seconds(), absl::ToUnixSeconds(kStart));  // defaults to now
  EXPECT_EQ(created.create_time().seconds(), absl::ToUnixSeconds(kStart));

  v1::Silence got;
  {
    grpc::ClientContext context;
    v1::GetSilenceRequest request;
    request.set_id(created.id());
    ASSERT_TRUE(stub_->GetSilence(&context, request, &got).ok());
  }
  EXPECT_EQ(got.id(), created.id());
  EXPECT_EQ(got.comment(), "planned maintenance");
  ASSERT_EQ(got.matchers_size(), 1);
  EXPECT_EQ(got.matchers(0).op(), common::v1::MATCH_OP_EQUAL);

  clock_.Advance(absl::Minutes(5));
  {
    grpc::ClientContext context;
    v1::DeleteSilenceRequest request;
    request.set_id(created.id());
    google::protobuf::Empty empty;
    ASSERT_TRUE(stub_->DeleteSilence(&context, request, &empty).ok());
  }
  {
    grpc::ClientContext context;
    v1::GetSilenceRequest request;
    request.set_id(created.id());
    ASSERT_TRUE(stub_->GetSilence(&context, request, &got).ok());
    EXPECT_EQ(got.state(), v1::SILENCE_STATE_EXPIRED);
  }
  {
    grpc::ClientContext context;
    v1::GetSilenceRequest request;
    request.set_id("missing");
    EXPECT_EQ(stub_->GetSilence(&context, request, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    v1::DeleteSilenceRequest request;
    request.set_id("missing");
    google::protobuf::Empty empty;
    EXPECT_EQ(stub_->DeleteSilence(&context, request, &empty).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
}

grpc::Status UpdateSilence(v1::IncidentService::Stub& stub, const v1::Silence& silence,
                           const std::vector<std::string>& paths, v1::Silence* out) {
  grpc::ClientContext context;
  v1::UpdateSilenceRequest request;
  *request.mutable_silence() = silence;
  for (const std::string& path : paths) request.mutable_update_mask()->add_paths(path);
  return stub.UpdateSilence(&context, request, out);
}

TEST_F(IncidentApiTest, UpdateSilenceAppliesTheFieldMask) {
  v1::Silence created;
  ASSERT_TRUE(CreateSilence(*stub_, MakeSilence("acme", "HighLatency"), &created).ok());
  clock_.Advance(absl::Minutes(2));
  v1::Silence patch;
  patch.set_id(created.id());
  patch.set_comment("longer maintenance");
  patch.set_author("mallory");  // not in the mask
  TimeToProto(kStart + absl::Hours(3), patch.mutable_ends_at());
  v1::Silence updated;
  const grpc::Status status = UpdateSilence(*stub_, patch, {"comment", "ends_at"}, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated.comment(), "longer maintenance");
  EXPECT_EQ(updated.author(), "alice");
  EXPECT_EQ(updated.ends_at().seconds(), absl::ToUnixSeconds(kStart + absl::Hours(3)));
  EXPECT_EQ(updated.update_time().seconds(), absl::ToUnixSeconds(clock_.Now()));
  EXPECT_EQ(updated.create_time().seconds(), created.create_time().seconds());
  EXPECT_EQ(updated.state(), v1::SILENCE_STATE_ACTIVE);
  v1::Silence got;
  {
    grpc::ClientContext context;
    v1::GetSilenceRequest request;
    request.set_id(created.id());
    ASSERT_TRUE(stub_->GetSilence(&context, request, &got).ok());
  }
  EXPECT_EQ(got.comment(), "longer maintenance");

  // An empty mask replaces every writable field: the full silence is needed.
  v1::Silence full = MakeSilence("acme", "ServiceDown");
  full.set_id(created.id());
  TimeToProto(kStart + absl::Hours(4), full.mutable_ends_at());
  ASSERT_TRUE(UpdateSilence(*stub_, full, {}, &updated).ok());
  ASSERT_EQ(updated.matchers_size(), 1);
  EXPECT_EQ(updated.matchers(0).value(), "ServiceDown");
  EXPECT_EQ(updated.comment(), "planned maintenance");
  v1::Silence partial;
  partial.set_id(created.id());
  partial.set_comment("only this");
  const grpc::Status refused = UpdateSilence(*stub_, partial, {}, &updated);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), HasSubstr("silence.matchers"));
}

TEST_F(IncidentApiTest, UpdateSilenceRefusesBadRequests) {
  v1::Silence created;
  ASSERT_TRUE(CreateSilence(*stub_, MakeSilence("acme", "HighLatency"), &created).ok());
  const auto code_and_field = [this](const v1::Silence& silence,
                                     const std::vector<std::string>& paths,
                                     grpc::StatusCode code, const std::string& text) {
    v1::Silence out;
    const grpc::Status status = UpdateSilence(*stub_, silence, paths, &out);
    EXPECT_EQ(status.error_code(), code) << text << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(text));
  };
  v1::Silence patch;
  code_and_field(patch, {"comment"}, grpc::StatusCode::INVALID_ARGUMENT, "silence.id");
  patch.set_id(created.id());
  code_and_field(patch, {"create_time"}, grpc::StatusCode::INVALID_ARGUMENT, "update_mask");
  code_and_field(patch, {"no_such_field"}, grpc::StatusCode::INVALID_ARGUMENT, "update_mask");
  code_and_field(patch, {"comment"}, grpc::StatusCode::INVALID_ARGUMENT, "silence.comment");
  v1::Silence bad_regex = patch;
  common::v1::LabelMatcher* m = bad_regex.add_matchers();
  m->set_name("service");
  m->set_op(common::v1::MATCH_OP_REGEX);
  m->set_value("(unclosed");
  code_and_field(bad_regex, {"matchers"}, grpc::StatusCode::INVALID_ARGUMENT,
                 "silence.matchers[0].value");
  v1::Silence past = patch;
  clock_.Advance(absl::Minutes(30));
  TimeToProto(kStart + absl::Minutes(10), past.mutable_ends_at());
  code_and_field(past, {"ends_at"}, grpc::StatusCode::INVALID_ARGUMENT, "silence.ends_at");
  v1::Silence missing = patch;
  missing.set_id("missing");
  missing.set_comment("x");
  code_and_field(missing, {"comment"}, grpc::StatusCode::NOT_FOUND, "missing");
  // Once the silence has ended it stays a record.
  clock_.Advance(absl::Hours(1));
  v1::Silence revive = patch;
  TimeToProto(clock_.Now() + absl::Hours(1), revive.mutable_ends_at());
  code_and_field(revive, {"ends_at"}, grpc::StatusCode::FAILED_PRECONDITION, "expired");
}

TEST_F(IncidentApiTest, CreateSilenceIsIdempotentByRequestId) {
  v1::Silence first;
  v1::Silence second;
  ASSERT_TRUE(CreateSilence(*stub_, MakeSilence("acme", "A"), &first, "req-1").ok());
  clock_.Advance(absl::Seconds(3));
  ASSERT_TRUE(CreateSilence(*stub_, MakeSilence("acme", "A"), &second, "req-1").ok());
  EXPECT_EQ(first.id(), second.id());
  EXPECT_EQ(first.create_time().seconds(), second.create_time().seconds());
  v1::Silence other;
  ASSERT_TRUE(CreateSilence(*stub_, MakeSilence("acme", "A"), &other, "req-2").ok());
  EXPECT_NE(other.id(), first.id());
}

TEST_F(IncidentApiTest, CreateSilenceRefusesBadInputNamingTheField) {
  const auto refused = [this](const v1::Silence& silence, const std::string& field) {
    v1::Silence out;
    const grpc::Status status = CreateSilence(*stub_, silence, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_THAT(status.error_message(), HasSubstr(field)) << field;
  };
  v1::Silence s = MakeSilence("acme", "A");
  s.clear_matchers();
  refused(s, "silence.matchers");
  s = MakeSilence("acme", "A");
  TimeToProto(kStart + absl::Hours(2), s.mutable_starts_at());
  refused(s, "silence.ends_at");
  s = MakeSilence("acme", "A");
  s.mutable_matchers(0)->set_op(common::v1::MATCH_OP_REGEX);
  s.mutable_matchers(0)->set_value("(unclosed");
  refused(s, "silence.matchers[0].value");
  s = MakeSilence("acme", "A");
  s.mutable_recurrence()->set_time_zone("Nowhere/Atlantis");
  s.mutable_recurrence()->set_end_minute(60);
  refused(s, "silence.recurrence.time_zone");
  s = MakeSilence("acme", "A");
  s.clear_author();
  refused(s, "silence.author");
  s = MakeSilence("acme", "A");
  s.clear_comment();
  refused(s, "silence.comment");
}

TEST_F(IncidentApiTest, SilencedAlertIsCountedAndGetsNoIncident) {
  v1::Silence silence = MakeSilence("acme", "HighLatency");
  common::v1::LabelMatcher* severity = silence.add_matchers();
  severity->set_name("severity");
  severity->set_op(common::v1::MATCH_OP_REGEX);
  severity->set_value("P[23]");
  v1::Silence created;
  ASSERT_TRUE(CreateSilence(*stub_, silence, &created).ok());

  v1::ReportAlertsResponse response;
  ASSERT_TRUE(
      Report({MakeAlert("acme", "fp1", "HighLatency"), MakeAlert("acme", "fp2", "Down")}, &response)
          .ok());
  EXPECT_EQ(response.silenced(), 1);
  EXPECT_EQ(response.accepted(), 2);
  ASSERT_EQ(response.incident_ids_size(), 2);
  EXPECT_EQ(response.incident_ids(0), "");
  EXPECT_NE(response.incident_ids(1), "");
  EXPECT_EQ(Metric("agentwatch_incident_alerts_silenced_total"), 1);

  // A P0 alert of the same name does not match severity =~ "P[23]".
  v1::Alert critical = MakeAlert("acme", "fp3", "HighLatency");
  critical.set_severity(common::v1::SEVERITY_P0);
  ASSERT_TRUE(Report({critical}, &response).ok());
  EXPECT_EQ(response.silenced(), 0);
  ASSERT_EQ(response.incident_ids_size(), 1);
  EXPECT_NE(response.incident_ids(0), "");
}

TEST_F(IncidentApiTest, ListSilencesPagesAndHidesExpired) {
  for (int i = 0; i < 3; ++i) {
    v1::Silence out;
    ASSERT_TRUE(CreateSilence(*stub_, MakeSilence("acme", absl::StrCat("A", i)), &out).ok());
    clock_.Advance(absl::Seconds(1));
  }
  v1::Silence other;
  ASSERT_TRUE(CreateSilence(*stub_, MakeSilence("globex", "B"), &other).ok());

  v1::ListSilencesRequest request;
  request.set_tenant("acme");
  request.set_page_size(2);
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    request.set_page_token(token);
    grpc::ClientContext context;
    v1::ListSilencesResponse response;
    ASSERT_TRUE(stub_->ListSilences(&context, request, &response).ok());
    for (const v1::Silence& s : response.silences()) names.push_back(s.matchers(0).value());
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_THAT(names, ElementsAre("A2", "A1", "A0"));
  EXPECT_EQ(pages, 2);

  clock_.Advance(absl::Hours(2));  // every silence ended
  grpc::ClientContext context;
  v1::ListSilencesRequest all;
  v1::ListSilencesResponse response;
  ASSERT_TRUE(stub_->ListSilences(&context, all, &response).ok());
  EXPECT_EQ(response.silences_size(), 0);
  grpc::ClientContext context2;
  all.set_include_expired(true);
  ASSERT_TRUE(stub_->ListSilences(&context2, all, &response).ok());
  EXPECT_EQ(response.silences_size(), 4);
  for (const v1::Silence& s : response.silences()) {
    EXPECT_EQ(s.state(), v1::SILENCE_STATE_EXPIRED);
  }

  grpc::ClientContext context3;
  v1::ListSilencesRequest bad;
  bad.set_page_token("%%%");
  const grpc::Status status = stub_->ListSilences(&context3, bad, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_token"));
}

TEST(IncidentSilenceRolesTest, ViewersReadSilencesAndOperatorsWriteThem) {
  common::FakeClock clock(kStart);
  common::Authorizer authorizer(
      {{"viewer-token", common::Role::kViewer}, {"operator-token", common::Role::kOperator}});
  auto executor = std::make_unique<common::BlockingExecutor>(2, 10);
  common::RpcRunner rpc(authorizer, *executor);
  prometheus::Registry registry;
  IncidentMetrics metrics(registry, "agentwatch_incident");
  testing::SequentialIds ids;
  MemoryIncidentStore store(ids);
  IncidentServiceImpl service(store, rpc, clock, metrics, *ParseGroupBy("group_by", "alertname"));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto stub = v1::IncidentService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));

  v1::Silence out;
  EXPECT_EQ(CreateSilence(*stub, MakeSilence("acme", "A"), &out, "", "viewer-token").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(CreateSilence(*stub, MakeSilence("acme", "A"), &out, "", "operator-token").ok());
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer viewer-token");
    v1::ListSilencesRequest request;
    v1::ListSilencesResponse response;
    ASSERT_TRUE(stub->ListSilences(&context, request, &response).ok());
    EXPECT_EQ(response.silences_size(), 1);
  }
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer viewer-token");
    v1::DeleteSilenceRequest request;
    request.set_id(out.id());
    google::protobuf::Empty empty;
    EXPECT_EQ(stub->DeleteSilence(&context, request, &empty).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  server->Shutdown();
  executor.reset();
}

}  // namespace
}  // namespace agentwatch::incident
