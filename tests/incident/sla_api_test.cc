// SLA policies and breaches through a real in-process gRPC server with the
// in-memory stores behind it: GetSlaPolicy / UpdateSlaPolicy (defaults,
// masks, validation naming the field), the SLA fields on incidents, the
// breach tracker with a FakeClock (boundary, once, severity changes, policy
// versions), GetStats.sla_breaches and escalation_policy_id.
#include <gmock/gmock.h>
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
#include "common/testing/status_matchers.h"
#include "incident/api/escalation_engine.h"
#include "incident/api/incident_metrics.h"
#include "incident/api/incident_service.h"
#include "incident/api/proto_mapping.h"
#include "incident/api/sla_tracker.h"
#include "incident/store/memory_incident_store.h"
#include "incident/store/memory_sla_store.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOkAndHolds;
using ::testing::HasSubstr;

// A Monday, 10:00 UTC.
const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2026, 11, 23, 10, 0, 0), absl::UTCTimeZone());

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

class SlaApiTest : public ::testing::Test {
 protected:
  SlaApiTest()
      : clock_(kStart),
        executor_(std::make_unique<common::BlockingExecutor>(4, 100)),
        rpc_(authorizer_, *executor_),
        metrics_(registry_, "agentwatch_incident"),
        store_(ids_),
        sla_(store_),
        service_(store_, rpc_, clock_, metrics_, *ParseGroupBy("group_by", "alertname"), nullptr,
                 &sla_),
        tracker_(sla_, clock_, absl::Seconds(1)) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::IncidentService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  ~SlaApiTest() override {
    server_->Shutdown();
    executor_.reset();
  }

  std::string Open(const std::string& fingerprint, common::v1::Severity severity,
                   const std::string& tenant = "acme") {
    v1::ReportAlertsRequest request;
    v1::Alert* alert = request.add_alerts();
    alert->set_tenant(tenant);
    alert->set_fingerprint(fingerprint);
    alert->set_name(absl::StrCat("Alert", fingerprint));
    alert->set_status(v1::ALERT_STATUS_FIRING);
    alert->set_severity(severity);
    (*alert->mutable_labels())["service"] = "checkout";
    v1::ReportAlertsResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub_->ReportAlerts(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.incident_ids_size() == 1 ? response.incident_ids(0) : "";
  }

  v1::GetIncidentResponse Get(const std::string& id) {
    v1::GetIncidentRequest request;
    request.set_id(id);
    v1::GetIncidentResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub_->GetIncident(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  grpc::Status GetPolicy(const std::string& tenant, v1::SlaPolicy* out) {
    v1::GetSlaPolicyRequest request;
    request.set_tenant(tenant);
    grpc::ClientContext context;
    return stub_->GetSlaPolicy(&context, request, out);
  }

  grpc::Status UpdatePolicy(const v1::SlaPolicy& policy, const std::vector<std::string>& paths,
                            v1::SlaPolicy* out) {
    v1::UpdateSlaPolicyRequest request;
    *request.mutable_policy() = policy;
    for (const std::string& path : paths) request.mutable_update_mask()->add_paths(path);
    grpc::ClientContext context;
    return stub_->UpdateSlaPolicy(&context, request, out);
  }

  static v1::SlaPolicy Targets(const std::string& tenant, common::v1::Severity severity,
                               absl::Duration acknowledge_within) {
    v1::SlaPolicy policy;
    policy.set_tenant(tenant);
    v1::SeverityTarget* target = policy.add_targets();
    target->set_severity(severity);
    target->mutable_acknowledge_within()->set_seconds(absl::ToInt64Seconds(acknowledge_within));
    return policy;
  }

  int BreachEntries(const std::string& id) {
    int n = 0;
    const v1::GetIncidentResponse detail = Get(id);
    for (const v1::TimelineEntry& entry : detail.timeline()) n += entry.kind() == "sla_breached";
    return n;
  }

  common::FakeClock clock_;
  common::Authorizer authorizer_;
  std::unique_ptr<common::BlockingExecutor> executor_;
  common::RpcRunner rpc_;
  prometheus::Registry registry_;
  IncidentMetrics metrics_;
  testing::SequentialIds ids_;
  MemoryIncidentStore store_;
  MemorySlaStore sla_;
  IncidentServiceImpl service_;
  SlaTracker tracker_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::IncidentService::Stub> stub_;
};

TEST_F(SlaApiTest, DefaultPolicy) {
  v1::SlaPolicy policy;
  ASSERT_TRUE(GetPolicy("acme", &policy).ok());
  EXPECT_EQ(policy.tenant(), "acme");
  ASSERT_EQ(policy.targets_size(), 4);
  EXPECT_EQ(policy.targets(0).severity(), common::v1::SEVERITY_P0);
  EXPECT_EQ(FromProto(policy.targets(0).acknowledge_within()), absl::Minutes(15));
  EXPECT_EQ(FromProto(policy.targets(1).acknowledge_within()), absl::Minutes(30));
  EXPECT_EQ(FromProto(policy.targets(2).acknowledge_within()), absl::Hours(2));
  EXPECT_TRUE(policy.targets(3).next_business_day());
  EXPECT_FALSE(policy.targets(0).has_resolve_within());
  EXPECT_EQ(policy.business_hours().days_size(), 5);
  EXPECT_EQ(policy.business_hours().start_minute(), 540);
  EXPECT_EQ(policy.business_hours().end_minute(), 1020);
  EXPECT_EQ(policy.business_hours().time_zone(), "UTC");
  EXPECT_FALSE(policy.has_update_time());
}

TEST_F(SlaApiTest, UpdateKeepsDefaultsForMissingSeveritiesAndHonoursTheMask) {
  v1::SlaPolicy updated;
  v1::SlaPolicy change = Targets("acme", common::v1::SEVERITY_P1, absl::Minutes(10));
  change.mutable_targets(0)->mutable_resolve_within()->set_seconds(4 * 3600);
  ASSERT_TRUE(UpdatePolicy(change, {}, &updated).ok());
  EXPECT_EQ(FromProto(updated.update_time()), kStart);
  ASSERT_EQ(updated.targets_size(), 4);
  EXPECT_EQ(FromProto(updated.targets(0).acknowledge_within()), absl::Minutes(15));
  EXPECT_EQ(FromProto(updated.targets(1).acknowledge_within()), absl::Minutes(10));
  EXPECT_EQ(FromProto(updated.targets(1).resolve_within()), absl::Hours(4));

  // Only business_hours: the targets stay.
  v1::SlaPolicy hours;
  hours.set_tenant("acme");
  hours.mutable_business_hours()->set_start_minute(8 * 60);
  hours.mutable_business_hours()->set_end_minute(18 * 60);
  hours.mutable_business_hours()->set_time_zone("Europe/Berlin");
  hours.mutable_business_hours()->add_days(common::v1::DAY_OF_WEEK_MONDAY);
  ASSERT_TRUE(UpdatePolicy(hours, {"business_hours"}, &updated).ok());
  EXPECT_EQ(FromProto(updated.targets(1).acknowledge_within()), absl::Minutes(10));
  EXPECT_EQ(updated.business_hours().time_zone(), "Europe/Berlin");
  // Same clock: the second version is strictly later.
  EXPECT_EQ(FromProto(updated.update_time()), kStart + absl::Microseconds(1));

  v1::SlaPolicy got;
  ASSERT_TRUE(GetPolicy("acme", &got).ok());
  EXPECT_EQ(got.business_hours().start_minute(), 480);
  EXPECT_EQ(FromProto(got.targets(1).acknowledge_within()), absl::Minutes(10));
  // Other tenants keep the defaults until the global default changes.
  ASSERT_TRUE(GetPolicy("other", &got).ok());
  EXPECT_EQ(FromProto(got.targets(1).acknowledge_within()), absl::Minutes(30));
  ASSERT_TRUE(
      UpdatePolicy(Targets("", common::v1::SEVERITY_P1, absl::Minutes(20)), {"targets"}, &updated)
          .ok());
  ASSERT_TRUE(GetPolicy("other", &got).ok());
  EXPECT_EQ(got.tenant(), "other");
  EXPECT_EQ(FromProto(got.targets(1).acknowledge_within()), absl::Minutes(20));
}

TEST_F(SlaApiTest, UpdateRejectsBadInputNamingTheField) {
  v1::SlaPolicy out;
  auto expect_invalid = [&](const v1::SlaPolicy& policy, const std::vector<std::string>& paths,
                            const std::string& field) {
    const grpc::Status status = UpdatePolicy(policy, paths, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_THAT(status.error_message(), HasSubstr(field));
  };
  expect_invalid(Targets("acme", common::v1::SEVERITY_UNSPECIFIED, absl::Minutes(5)), {},
                 "policy.targets[0].severity");
  expect_invalid(Targets("acme", common::v1::SEVERITY_P0, absl::ZeroDuration()), {},
                 "policy.targets[0].acknowledge_within");
  v1::SlaPolicy twice = Targets("acme", common::v1::SEVERITY_P0, absl::Minutes(5));
  *twice.add_targets() = twice.targets(0);
  expect_invalid(twice, {}, "policy.targets[1].severity");
  v1::SlaPolicy bad_nanos = Targets("acme", common::v1::SEVERITY_P0, absl::Minutes(5));
  bad_nanos.mutable_targets(0)->mutable_acknowledge_within()->set_nanos(-5);
  expect_invalid(bad_nanos, {}, "policy.targets[0].acknowledge_within");
  v1::SlaPolicy zone = Targets("acme", common::v1::SEVERITY_P0, absl::Minutes(5));
  zone.mutable_business_hours()->set_time_zone("Nowhere/City");
  zone.mutable_business_hours()->set_end_minute(600);
  expect_invalid(zone, {}, "policy.business_hours.time_zone");
  expect_invalid(Targets("acme", common::v1::SEVERITY_P0, absl::Minutes(5)), {"update_time"},
                 "update_mask");
  // Nothing was stored.
  ASSERT_TRUE(GetPolicy("acme", &out).ok());
  EXPECT_FALSE(out.has_update_time());
}

TEST_F(SlaApiTest, IncidentsCarryTheirDeadlines) {
  const std::string p1 = Open("fp1", common::v1::SEVERITY_P1);
  const v1::Incident incident = Get(p1).incident();
  EXPECT_EQ(FromProto(incident.response_target()), absl::Minutes(30));
  EXPECT_EQ(FromProto(incident.acknowledge_due_time()), kStart + absl::Minutes(30));
  EXPECT_FALSE(incident.has_resolve_due_time());
  EXPECT_FALSE(incident.sla_breached());
  EXPECT_FALSE(incident.has_sla_breach_time());
  // P3 on a Monday at 10:00: the end of Tuesday's business hours.
  const std::string p3 = Open("fp3", common::v1::SEVERITY_P3);
  v1::ListIncidentsRequest list;
  v1::ListIncidentsResponse listed;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->ListIncidents(&context, list, &listed).ok());
  ASSERT_EQ(listed.incidents_size(), 2);
  for (const v1::Incident& i : listed.incidents()) {
    if (i.id() != p3) continue;
    EXPECT_EQ(FromProto(i.acknowledge_due_time()),
              absl::FromCivil(absl::CivilSecond(2026, 11, 24, 17, 0, 0), absl::UTCTimeZone()));
  }
}

TEST_F(SlaApiTest, TrackerRecordsABreachOnceJustAfterTheDeadline) {
  const std::string id = Open("fp1", common::v1::SEVERITY_P1);
  clock_.Advance(absl::Minutes(30));  // exactly at the deadline
  EXPECT_THAT(tracker_.RunOnce(), IsOkAndHolds(0));
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(tracker_.RunOnce(), IsOkAndHolds(1));
  EXPECT_THAT(tracker_.RunOnce(), IsOkAndHolds(0));
  clock_.Advance(absl::Hours(1));
  EXPECT_THAT(tracker_.RunOnce(), IsOkAndHolds(0));
  const v1::GetIncidentResponse detail = Get(id);
  EXPECT_TRUE(detail.incident().sla_breached());
  EXPECT_EQ(FromProto(detail.incident().sla_breach_time()), kStart + absl::Minutes(30));
  EXPECT_EQ(BreachEntries(id), 1);
  const v1::TimelineEntry& last = detail.timeline(detail.timeline_size() - 1);
  EXPECT_EQ(last.kind(), "sla_breached");
  EXPECT_EQ(last.details().at("target"), "acknowledge");
  EXPECT_EQ(FromProto(last.time()), kStart + absl::Minutes(30) + absl::Seconds(1));

  // GetStats counts it, overall, per severity and per service.
  v1::GetStatsRequest stats_request;
  stats_request.set_tenant("acme");
  TimeToProto(kStart - absl::Hours(1), stats_request.mutable_range()->mutable_start());
  v1::IncidentStats stats;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->GetStats(&context, stats_request, &stats).ok());
  EXPECT_EQ(stats.overall().sla_breaches(), 1);
  ASSERT_EQ(stats.by_severity_size(), 1);
  EXPECT_EQ(stats.by_severity(0).sla_breaches(), 1);
  ASSERT_EQ(stats.by_service_size(), 1);
  EXPECT_EQ(stats.by_service(0).sla_breaches(), 1);
}

TEST_F(SlaApiTest, AcknowledgedInTimeNeverBreaches) {
  const std::string id = Open("fp1", common::v1::SEVERITY_P0);
  clock_.Advance(absl::Minutes(15));
  v1::AcknowledgeIncidentRequest ack;
  ack.set_id(id);
  ack.set_actor("alice");
  v1::Incident acked;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->AcknowledgeIncident(&context, ack, &acked).ok());
  EXPECT_EQ(FromProto(acked.acknowledge_due_time()), kStart + absl::Minutes(15));
  clock_.Advance(absl::Hours(3));
  EXPECT_THAT(tracker_.RunOnce(), IsOkAndHolds(0));
  EXPECT_FALSE(Get(id).incident().sla_breached());
}

TEST_F(SlaApiTest, SeverityChangeRecomputesTheDeadline) {
  const std::string id = Open("fp1", common::v1::SEVERITY_P2);
  clock_.Advance(absl::Minutes(20));
  EXPECT_THAT(tracker_.RunOnce(), IsOkAndHolds(0));  // P2: 2 h
  v1::SetSeverityRequest request;
  request.set_id(id);
  request.set_actor("alice");
  request.set_severity(common::v1::SEVERITY_P0);
  v1::Incident changed;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->SetSeverity(&context, request, &changed).ok());
  EXPECT_EQ(FromProto(changed.acknowledge_due_time()), kStart + absl::Minutes(15));
  EXPECT_EQ(FromProto(changed.response_target()), absl::Minutes(15));
  EXPECT_THAT(tracker_.RunOnce(), IsOkAndHolds(1));
  const v1::Incident after = Get(id).incident();
  EXPECT_TRUE(after.sla_breached());
  EXPECT_EQ(FromProto(after.sla_breach_time()), kStart + absl::Minutes(15));
}

TEST_F(SlaApiTest, PolicyUpdatesApplyToNewIncidentsOnly) {
  const std::string before = Open("fp1", common::v1::SEVERITY_P1);
  clock_.Advance(absl::Minutes(1));
  v1::SlaPolicy updated;
  ASSERT_TRUE(
      UpdatePolicy(Targets("acme", common::v1::SEVERITY_P1, absl::Minutes(5)), {}, &updated).ok());
  clock_.Advance(absl::Minutes(1));
  const std::string after = Open("fp2", common::v1::SEVERITY_P1);
  EXPECT_EQ(FromProto(Get(before).incident().acknowledge_due_time()), kStart + absl::Minutes(30));
  EXPECT_EQ(FromProto(Get(after).incident().acknowledge_due_time()),
            kStart + absl::Minutes(2) + absl::Minutes(5));
  clock_.Advance(absl::Minutes(10));
  EXPECT_THAT(tracker_.RunOnce(), IsOkAndHolds(1));
  EXPECT_TRUE(Get(after).incident().sla_breached());
  EXPECT_FALSE(Get(before).incident().sla_breached());
}

TEST_F(SlaApiTest, EscalationPolicyIdFromTheEscalationState) {
  const std::string id = Open("fp1", common::v1::SEVERITY_P1);
  EXPECT_EQ(Get(id).incident().escalation_policy_id(), "");
  EscalationEngine engine(store_, clock_, absl::Seconds(5), absl::Seconds(1), [] {});
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(engine.RunOnce().ok());
  EXPECT_EQ(Get(id).incident().escalation_policy_id(), "default");
}

TEST(SlaApiWithoutStoreTest, PolicyCallsAreUnimplemented) {
  common::FakeClock clock(kStart);
  common::Authorizer authorizer;
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
  v1::SlaPolicy out;
  grpc::ClientContext context;
  EXPECT_EQ(stub->GetSlaPolicy(&context, v1::GetSlaPolicyRequest(), &out).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  server->Shutdown();
  executor.reset();
}

}  // namespace
}  // namespace agentwatch::incident
