// The SLO RPCs through a real in-process gRPC server with the in-memory
// stores and a FakeClock: CRUD with its bad inputs, status and burn-rate
// alerts as batches arrive, the sweep resolving them, and reports.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentwatch/monitor/v1/monitor.grpc.pb.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/rpc.h"
#include "monitor/api/monitor_metrics.h"
#include "monitor/api/monitor_service.h"
#include "monitor/core/rules.h"
#include "monitor/jobs/slo_sweeper.h"
#include "monitor/store/health_cache.h"
#include "monitor/store/in_memory_monitor_store.h"
#include "monitor/store/in_memory_slo_store.h"
#include "monitor/store/slo_engine.h"
#include "proto_events.h"

namespace agentwatch::monitor {
namespace {

using fixtures::ProtoRun;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'040);  // a whole minute

class SloHarness {
 public:
  explicit SloHarness(bool enable = true)
      : clock_(kStart),
        rule_(ErrorRateAlertConfig{}),
        store_(StoreLimits{}, {&rule_}),
        engine_(store_, slos_),
        cache_(clock_),
        executor_(4, 100),
        runner_(authorizer_, executor_),
        stream_executor_(2, 100),
        metrics_(registry_, "agentwatch_monitor"),
        service_(store_, cache_, runner_, stream_executor_, clock_, metrics_,
                 MonitorServiceOptions{}, [this] { ++notified_; }),
        sweeper_(
            engine_, clock_, metrics_, [this] { ++notified_; }, absl::Seconds(5)) {
    if (enable) service_.EnableSlos(slos_, engine_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::MonitorService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  ~SloHarness() { server_->Shutdown(); }

  // Ingests `good` succeeded and `bad` failed runs of workflow "triage" at now.
  void IngestRuns(int good, int bad) {
    v1::IngestRequest request;
    request.set_producer_id("p");
    request.set_sequence(++sequence_);
    for (int i = 0; i < good; ++i) {
      *request.add_events() = ProtoRun("acme", "triage", v1::RUN_STATUS_SUCCEEDED, clock_.Now());
    }
    for (int i = 0; i < bad; ++i) {
      *request.add_events() = ProtoRun("acme", "triage", v1::RUN_STATUS_FAILED, clock_.Now());
    }
    v1::IngestResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Ingest(&context, request, &response).ok());
  }

  grpc::Status Create(const v1::Slo& slo, v1::Slo* out, const std::string& request_id = "") {
    v1::CreateSloRequest request;
    *request.mutable_slo() = slo;
    request.set_request_id(request_id);
    grpc::ClientContext context;
    return stub_->CreateSlo(&context, request, out);
  }

  grpc::Status Status(const std::string& id, v1::SloStatus* out) {
    v1::GetSloStatusRequest request;
    request.set_id(id);
    grpc::ClientContext context;
    return stub_->GetSloStatus(&context, request, out);
  }

  common::FakeClock clock_;
  WorkflowErrorRateRule rule_;
  InMemoryMonitorStore store_;
  InMemorySloStore slos_;
  SloEngine engine_;
  InMemoryHealthCache cache_;
  common::Authorizer authorizer_;
  common::BlockingExecutor executor_;
  common::RpcRunner runner_;
  common::BlockingExecutor stream_executor_;
  prometheus::Registry registry_;
  MonitorMetrics metrics_;
  MonitorServiceImpl service_;
  SloSweeper sweeper_;
  std::atomic<int> notified_{0};
  uint64_t sequence_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::MonitorService::Stub> stub_;
};

v1::Slo ValidSlo() {
  v1::Slo slo;
  slo.set_name("triage-availability");
  slo.mutable_scope()->set_tenant("acme");
  slo.mutable_scope()->set_workflow("triage");
  slo.set_subject(v1::SLO_SUBJECT_WORKFLOW_RUNS);
  slo.set_sli_kind(v1::SLI_KIND_AVAILABILITY);
  slo.set_objective(0.999);
  (*slo.mutable_labels())["team"] = "support";
  return slo;
}

void ExpectInvalid(const grpc::Status& status, const std::string& field) {
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr(field));
}

TEST(SloApiTest, CreateAppliesDefaultsAndRejectsBadFields) {
  SloHarness h;
  v1::Slo created;
  ASSERT_TRUE(h.Create(ValidSlo(), &created).ok());
  EXPECT_FALSE(created.id().empty());
  EXPECT_EQ(created.window().seconds(), 30 * 24 * 3600);
  ASSERT_EQ(created.burn_rate_windows_size(), 3);
  EXPECT_EQ(created.burn_rate_windows(0).burn_rate(), 14.4);
  EXPECT_EQ(created.burn_rate_windows(0).long_window().seconds(), 3600);
  EXPECT_EQ(created.burn_rate_windows(0).short_window().seconds(), 300);
  EXPECT_EQ(created.burn_rate_windows(0).severity(), agentwatch::common::v1::SEVERITY_P1);
  EXPECT_TRUE(created.has_create_time());

  v1::Slo out;
  v1::Slo bad = ValidSlo();
  bad.set_name("");
  ExpectInvalid(h.Create(bad, &out), "slo.name");
  bad = ValidSlo();
  bad.set_objective(1.5);
  ExpectInvalid(h.Create(bad, &out), "slo.objective");
  bad = ValidSlo();
  bad.set_sli_kind(v1::SLI_KIND_LATENCY);
  ExpectInvalid(h.Create(bad, &out), "slo.latency_threshold");
  bad = ValidSlo();
  bad.mutable_scope()->set_tenant("");
  ExpectInvalid(h.Create(bad, &out), "slo.scope.tenant");
  bad = ValidSlo();
  bad.mutable_window()->set_seconds(1);
  bad.mutable_window()->set_nanos(-5);
  ExpectInvalid(h.Create(bad, &out), "slo.window");
  bad = ValidSlo();
  v1::BurnRateWindow* window = bad.add_burn_rate_windows();
  window->mutable_long_window()->set_seconds(300);
  window->mutable_short_window()->set_seconds(3600);
  window->set_burn_rate(2);
  ExpectInvalid(h.Create(bad, &out), "slo.burn_rate_windows[0].short_window");
  bad = ValidSlo();
  bad.set_subject(v1::SLO_SUBJECT_UNSPECIFIED);
  ExpectInvalid(h.Create(bad, &out), "slo.subject");

  // Same name: ALREADY_EXISTS; same request id: the first SLO.
  EXPECT_EQ(h.Create(ValidSlo(), &out).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  v1::Slo other = ValidSlo();
  other.set_name("second");
  v1::Slo first, again;
  ASSERT_TRUE(h.Create(other, &first, "req-1").ok());
  ASSERT_TRUE(h.Create(other, &again, "req-1").ok());
  EXPECT_EQ(first.id(), again.id());
}

TEST(SloApiTest, GetUpdateListDelete) {
  SloHarness h;
  v1::Slo a, b;
  ASSERT_TRUE(h.Create(ValidSlo(), &a).ok());
  v1::Slo second = ValidSlo();
  second.set_name("b-latency");
  second.set_sli_kind(v1::SLI_KIND_LATENCY);
  second.mutable_latency_threshold()->set_seconds(5);
  ASSERT_TRUE(h.Create(second, &b).ok());

  {
    v1::GetSloRequest request;
    request.set_id(a.id());
    v1::Slo got;
    grpc::ClientContext context;
    ASSERT_TRUE(h.stub_->GetSlo(&context, request, &got).ok());
    EXPECT_EQ(got.name(), "triage-availability");
    EXPECT_EQ(got.objective(), 0.999);
  }
  {
    v1::GetSloRequest request;
    request.set_id("nope");
    v1::Slo got;
    grpc::ClientContext context;
    EXPECT_EQ(h.stub_->GetSlo(&context, request, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    // Field mask: only the objective changes.
    v1::UpdateSloRequest request;
    request.mutable_slo()->set_id(a.id());
    request.mutable_slo()->set_objective(0.99);
    request.mutable_slo()->set_name("ignored");
    request.mutable_update_mask()->add_paths("objective");
    v1::Slo updated;
    grpc::ClientContext context;
    ASSERT_TRUE(h.stub_->UpdateSlo(&context, request, &updated).ok());
    EXPECT_EQ(updated.objective(), 0.99);
    EXPECT_EQ(updated.name(), "triage-availability");
    EXPECT_EQ(updated.burn_rate_windows_size(), 3);
  }
  {
    v1::UpdateSloRequest request;
    request.mutable_slo()->set_id(a.id());
    request.mutable_update_mask()->add_paths("create_time");
    v1::Slo updated;
    grpc::ClientContext context;
    ExpectInvalid(h.stub_->UpdateSlo(&context, request, &updated), "update_mask");
  }
  {
    v1::UpdateSloRequest request;
    request.mutable_slo()->set_id(a.id());
    request.mutable_slo()->set_objective(2);
    request.mutable_update_mask()->add_paths("objective");
    v1::Slo updated;
    grpc::ClientContext context;
    ExpectInvalid(h.stub_->UpdateSlo(&context, request, &updated), "slo.objective");
  }
  {
    // A whole replacement may not move the SLO to another tenant.
    v1::UpdateSloRequest request;
    *request.mutable_slo() = ValidSlo();
    request.mutable_slo()->set_id(a.id());
    request.mutable_slo()->mutable_scope()->set_tenant("other");
    v1::Slo updated;
    grpc::ClientContext context;
    ExpectInvalid(h.stub_->UpdateSlo(&context, request, &updated), "slo.scope.tenant");
  }
  {
    // Paged by name: "b-latency" first.
    v1::ListSlosRequest request;
    request.set_tenant("acme");
    request.set_page_size(1);
    v1::ListSlosResponse page;
    grpc::ClientContext context;
    ASSERT_TRUE(h.stub_->ListSlos(&context, request, &page).ok());
    ASSERT_THAT(page.slos(), SizeIs(1));
    EXPECT_EQ(page.slos(0).name(), "b-latency");
    ASSERT_FALSE(page.next_page_token().empty());
    request.set_page_token(page.next_page_token());
    v1::ListSlosResponse next;
    grpc::ClientContext context2;
    ASSERT_TRUE(h.stub_->ListSlos(&context2, request, &next).ok());
    ASSERT_THAT(next.slos(), SizeIs(1));
    EXPECT_EQ(next.slos(0).name(), "triage-availability");
    EXPECT_TRUE(next.next_page_token().empty());
    request.set_tenant("other");
    v1::ListSlosResponse refused;
    grpc::ClientContext context3;
    ExpectInvalid(h.stub_->ListSlos(&context3, request, &refused), "page_token");
  }
  {
    v1::DeleteSloRequest request;
    request.set_id(a.id());
    google::protobuf::Empty empty;
    grpc::ClientContext context;
    ASSERT_TRUE(h.stub_->DeleteSlo(&context, request, &empty).ok());
    grpc::ClientContext context2;
    EXPECT_EQ(h.stub_->DeleteSlo(&context2, request, &empty).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
}

TEST(SloApiTest, FailureBurstBurnsTheBudgetAndPagesThenResolves) {
  SloHarness h;
  v1::Slo slo;
  ASSERT_TRUE(h.Create(ValidSlo(), &slo).ok());
  // 20 minutes of 100 successful runs per minute.
  for (int i = 0; i < 20; ++i) {
    h.IngestRuns(100, 0);
    h.clock_.Advance(absl::Minutes(1));
  }
  v1::SloStatus status;
  ASSERT_TRUE(h.Status(slo.id(), &status).ok());
  EXPECT_EQ(status.total_events(), 2000);
  EXPECT_EQ(status.good_events(), 2000);
  EXPECT_EQ(status.sli(), 1);
  EXPECT_EQ(status.error_budget_remaining(), 1);
  EXPECT_THAT(status.firing_alerts(), SizeIs(0));
  EXPECT_TRUE(h.slos_.EnqueuedAlerts().empty());

  // A burst: 60 failures among 100 runs.
  h.IngestRuns(40, 60);
  ASSERT_TRUE(h.Status(slo.id(), &status).ok());
  EXPECT_EQ(status.total_events(), 2100);
  EXPECT_EQ(status.good_events(), 2040);
  // 60 bad of an allowance of 2.1: the budget is overspent.
  EXPECT_LT(status.error_budget_remaining(), 0);
  ASSERT_GT(status.burn_rates_size(), 0);
  EXPECT_EQ(status.burn_rates(0).window().seconds(), 300);  // ascending: 5 m first
  EXPECT_GT(status.burn_rates(0).burn_rate(), 14.4);
  ASSERT_GE(status.firing_alerts_size(), 1);
  bool fast = false;
  for (const v1::ActiveAlert& alert : status.firing_alerts()) {
    EXPECT_EQ(alert.rule_id(), slo.id());
    EXPECT_EQ(alert.state(), v1::ACTIVE_ALERT_STATE_FIRING);
    if (alert.labels().at("burn_window") == "1h/5m") {
      fast = true;
      EXPECT_EQ(alert.severity(), agentwatch::common::v1::SEVERITY_P1);
    }
  }
  EXPECT_TRUE(fast);
  const std::vector<AlertNotice> notices = h.slos_.EnqueuedAlerts();
  ASSERT_FALSE(notices.empty());
  EXPECT_TRUE(notices[0].firing);
  EXPECT_EQ(notices[0].labels.at("alertname"), "triage-availability");
  EXPECT_GT(h.notified_.load(), 0);

  // The burn stops; once the short windows are clean, the sweep resolves
  // the pages without any new data; the 3 d / 6 h ticket keeps firing.
  h.clock_.Advance(absl::Minutes(40));
  ASSERT_TRUE(h.sweeper_.SweepOnce().ok());
  ASSERT_TRUE(h.Status(slo.id(), &status).ok());
  ASSERT_THAT(status.firing_alerts(), SizeIs(1));
  EXPECT_EQ(status.firing_alerts(0).labels().at("burn_window"), "72h/6h");
  EXPECT_EQ(status.firing_alerts(0).severity(), agentwatch::common::v1::SEVERITY_P3);
  const std::vector<AlertNotice> after = h.slos_.EnqueuedAlerts();
  ASSERT_GT(after.size(), notices.size());
  EXPECT_FALSE(after.back().firing);

  // Deleting an SLO with firing alerts resolves them.
  h.IngestRuns(0, 100);
  ASSERT_GT(h.slos_.EnqueuedAlerts().size(), after.size());
  EXPECT_TRUE(h.slos_.EnqueuedAlerts().back().firing);
  v1::DeleteSloRequest request;
  request.set_id(slo.id());
  google::protobuf::Empty empty;
  grpc::ClientContext context;
  ASSERT_TRUE(h.stub_->DeleteSlo(&context, request, &empty).ok());
  EXPECT_FALSE(h.slos_.EnqueuedAlerts().back().firing);
}

TEST(SloApiTest, LatencySloCountsRunsUnderTheBound) {
  SloHarness h;
  v1::Slo slo = ValidSlo();
  slo.set_sli_kind(v1::SLI_KIND_LATENCY);
  slo.mutable_latency_threshold()->set_seconds(1);  // ProtoRun's runs take 2 s
  v1::Slo created;
  ASSERT_TRUE(h.Create(slo, &created).ok());
  h.IngestRuns(10, 0);
  v1::SloStatus status;
  ASSERT_TRUE(h.Status(created.id(), &status).ok());
  EXPECT_EQ(status.total_events(), 10);
  EXPECT_EQ(status.good_events(), 0);
  v1::UpdateSloRequest request;
  request.mutable_slo()->set_id(created.id());
  request.mutable_slo()->mutable_latency_threshold()->set_seconds(3);
  request.mutable_update_mask()->add_paths("latency_threshold");
  v1::Slo updated;
  grpc::ClientContext context;
  ASSERT_TRUE(h.stub_->UpdateSlo(&context, request, &updated).ok());
  ASSERT_TRUE(h.Status(created.id(), &status).ok());
  EXPECT_EQ(status.good_events(), 10);
}

TEST(SloApiTest, ReportPerDay) {
  SloHarness h;
  v1::Slo slo;
  ASSERT_TRUE(h.Create(ValidSlo(), &slo).ok());
  const absl::Time day0 = absl::FromUnixSeconds(1'767'225'600);  // 2026-01-01 00:00 UTC
  h.clock_.Set(day0 + absl::Hours(5));
  h.IngestRuns(1000, 0);
  h.clock_.Set(day0 + absl::Hours(24 + 7));
  h.IngestRuns(990, 10);
  h.clock_.Set(day0 + absl::Hours(60));

  v1::GetSloReportRequest request;
  request.set_id(slo.id());
  ToProtoTimestamp(day0, request.mutable_range()->mutable_start());
  ToProtoTimestamp(day0 + absl::Hours(48), request.mutable_range()->mutable_end());
  request.set_period(v1::REPORT_PERIOD_DAY);
  v1::GetSloReportResponse report;
  grpc::ClientContext context;
  ASSERT_TRUE(h.stub_->GetSloReport(&context, request, &report).ok());
  ASSERT_THAT(report.periods(), SizeIs(2));
  EXPECT_EQ(report.periods(0).total_events(), 1000);
  EXPECT_TRUE(report.periods(0).met());
  EXPECT_EQ(report.periods(1).total_events(), 1000);
  EXPECT_EQ(report.periods(1).good_events(), 990);
  EXPECT_FALSE(report.periods(1).met());
  EXPECT_NEAR(report.periods(1).error_budget_consumed(), 10, 1e-9);

  v1::GetSloReportRequest bad = request;
  bad.mutable_range()->clear_start();
  grpc::ClientContext c1;
  ExpectInvalid(h.stub_->GetSloReport(&c1, bad, &report), "range.start");
  bad = request;
  bad.set_time_zone("Mars/Olympus");
  grpc::ClientContext c2;
  ExpectInvalid(h.stub_->GetSloReport(&c2, bad, &report), "time_zone");
  bad = request;
  ToProtoTimestamp(day0 + absl::Hours(24 * 500), bad.mutable_range()->mutable_end());
  grpc::ClientContext c3;
  ExpectInvalid(h.stub_->GetSloReport(&c3, bad, &report), "range: more than 400 periods");
}

v1::Event Score(const std::string& name, double value, absl::Time time) {
  v1::Event event;
  event.set_tenant("acme");
  ToProtoTimestamp(time, event.mutable_time());
  v1::QualityScore* score = event.mutable_quality_score();
  score->set_name(name);
  score->set_value(value);
  score->set_workflow("triage");
  score->set_agent("writer");
  score->set_run_id("run-1");
  return event;
}

// Quality KPIs: scores are a series with trends, and a regression rule
// (window mean against the previous 7 days) fires on a drop.
TEST(QualityApiTest, ScoresTrendAndRegressionRuleFiresOnADrop) {
  SloHarness h;
  v1::CreateAlertRuleRequest create;
  v1::AlertRule* rule = create.mutable_rule();
  rule->set_name("FaithfulnessDrop");
  rule->set_tenant("acme");
  rule->set_severity(agentwatch::common::v1::SEVERITY_P2);
  v1::ThresholdCondition* c = rule->mutable_threshold();
  c->set_metric("quality_score");
  agentwatch::common::v1::LabelMatcher* m = c->add_matchers();
  m->set_name("score");
  m->set_op(agentwatch::common::v1::MATCH_OP_EQUAL);
  m->set_value("faithfulness");
  c->set_aggregation(v1::AGGREGATION_AVG);
  c->mutable_window()->set_seconds(3600);
  c->mutable_baseline_window()->set_seconds(7 * 86400);
  c->add_group_by("workflow");
  c->set_comparison(v1::COMPARISON_LESS_THAN);
  c->set_threshold(-0.1);
  {
    v1::CreateAlertRuleRequest bad = create;
    bad.mutable_rule()->mutable_threshold()->mutable_baseline_window()->set_seconds(10);
    v1::AlertRule out;
    grpc::ClientContext context;
    ExpectInvalid(h.stub_->CreateAlertRule(&context, bad, &out), "rule.threshold.baseline_window");
  }
  v1::AlertRule created;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(h.stub_->CreateAlertRule(&context, create, &created).ok());
    EXPECT_EQ(created.threshold().baseline_window().seconds(), 7 * 86400);
  }
  auto ingest = [&](double value) {
    v1::IngestRequest request;
    request.set_producer_id("scores");
    request.set_sequence(++h.sequence_);
    *request.add_events() = Score("faithfulness", value, h.clock_.Now());
    *request.add_events() = Score("citation_accuracy", 0.5, h.clock_.Now());
    v1::IngestResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(h.stub_->Ingest(&context, request, &response).ok());
  };
  auto fired = [&] {
    int n = 0;
    for (const AlertNotice& notice : h.store_.EnqueuedAlerts()) {
      n += notice.name == "FaithfulnessDrop" && notice.firing;
    }
    return n;
  };
  // A week of scores around 0.9, every 2 hours.
  const absl::Time begin = h.clock_.Now();
  for (int i = 0; i < 84; ++i) {
    ingest(i % 2 == 0 ? 0.88 : 0.92);
    h.clock_.Advance(absl::Hours(2));
  }
  EXPECT_EQ(fired(), 0);
  // 0.85 is a 5.6 % drop: no alert. 0.7 makes the hour's mean 0.775, a
  // 13.9 % drop: the rule fires.
  ingest(0.85);
  EXPECT_EQ(fired(), 0);
  ingest(0.7);
  EXPECT_EQ(fired(), 1);
  {
    v1::ListActiveAlertsRequest request;
    request.set_tenant("acme");
    v1::ListActiveAlertsResponse active;
    grpc::ClientContext context;
    ASSERT_TRUE(h.stub_->ListActiveAlerts(&context, request, &active).ok());
    bool found = false;
    for (const v1::ActiveAlert& alert : active.alerts()) {
      if (alert.name() != "FaithfulnessDrop") continue;
      found = true;
      EXPECT_NEAR(alert.value(), 0.775 / 0.9 - 1, 1e-9);
      EXPECT_EQ(alert.labels().at("workflow"), "triage");
    }
    EXPECT_TRUE(found);
  }
  // The trend: daily means of the score.
  v1::QuerySeriesRequest query;
  query.set_metric("quality_score");
  query.set_tenant("acme");
  agentwatch::common::v1::LabelMatcher* q = query.add_matchers();
  q->set_name("score");
  q->set_op(agentwatch::common::v1::MATCH_OP_EQUAL);
  q->set_value("faithfulness");
  ToProtoTimestamp(begin, query.mutable_range()->mutable_start());
  ToProtoTimestamp(h.clock_.Now() + absl::Minutes(1), query.mutable_range()->mutable_end());
  query.mutable_step()->set_seconds(86400);
  query.set_aggregation(v1::AGGREGATION_AVG);
  v1::QuerySeriesResponse series;
  grpc::ClientContext context;
  ASSERT_TRUE(h.stub_->QuerySeries(&context, query, &series).ok());
  ASSERT_EQ(series.series_size(), 1);
  ASSERT_GE(series.series(0).points_size(), 7);
  EXPECT_NEAR(series.series(0).points(1).value(), 0.9, 1e-9);
  // Scores recover to the baseline: the alert resolves.
  ingest(0.95);
  ingest(0.95);
  ingest(0.95);
  bool resolved = false;
  for (const AlertNotice& notice : h.store_.EnqueuedAlerts()) {
    resolved |= notice.name == "FaithfulnessDrop" && !notice.firing;
  }
  EXPECT_TRUE(resolved);
}

// Every SLO RPC answers a malformed request INVALID_ARGUMENT naming the
// field; a refused update or delete changes nothing.
TEST(SloApiTest, EveryRpcNamesTheFieldAndARefusedWriteChangesNothing) {
  SloHarness h;
  v1::Slo slo;
  ASSERT_TRUE(h.Create(ValidSlo(), &slo).ok());
  struct Case {
    std::string rpc;
    std::function<grpc::Status(grpc::ClientContext*)> call;
    std::string message;
  };
  google::protobuf::Empty empty;
  v1::Slo slo_out;
  v1::SloStatus status_out;
  v1::GetSloReportResponse report_out;
  v1::ListSlosResponse list_out;
  const std::vector<Case> cases = {
      {"GetSlo",
       [&](grpc::ClientContext* c) { return h.stub_->GetSlo(c, v1::GetSloRequest(), &slo_out); },
       "id: required"},
      {"DeleteSlo",
       [&](grpc::ClientContext* c) {
         return h.stub_->DeleteSlo(c, v1::DeleteSloRequest(), &empty);
       },
       "id: required"},
      {"GetSloStatus",
       [&](grpc::ClientContext* c) {
         return h.stub_->GetSloStatus(c, v1::GetSloStatusRequest(), &status_out);
       },
       "id: required"},
      {"GetSloReport",
       [&](grpc::ClientContext* c) {
         return h.stub_->GetSloReport(c, v1::GetSloReportRequest(), &report_out);
       },
       "id: required"},
      {"GetSloReport range.end",
       [&](grpc::ClientContext* c) {
         v1::GetSloReportRequest request;
         request.set_id(slo.id());
         ToProtoTimestamp(kStart, request.mutable_range()->mutable_start());
         request.mutable_range()->mutable_end()->set_nanos(-1);
         return h.stub_->GetSloReport(c, request, &report_out);
       },
       "range.end: not a valid timestamp"},
      {"UpdateSlo without id",
       [&](grpc::ClientContext* c) {
         v1::UpdateSloRequest request;
         *request.mutable_slo() = ValidSlo();
         return h.stub_->UpdateSlo(c, request, &slo_out);
       },
       "slo.id: required"},
      {"UpdateSlo unknown path",
       [&](grpc::ClientContext* c) {
         v1::UpdateSloRequest request;
         request.mutable_slo()->set_id(slo.id());
         request.mutable_update_mask()->add_paths("nonsense");
         return h.stub_->UpdateSlo(c, request, &slo_out);
       },
       "update_mask: \"nonsense\" is not a writable SLO field"},
      {"ListSlos page_size",
       [&](grpc::ClientContext* c) {
         v1::ListSlosRequest request;
         request.set_page_size(-1);
         return h.stub_->ListSlos(c, request, &list_out);
       },
       "page_size: must be >= 0"},
      {"ListSlos page_token",
       [&](grpc::ClientContext* c) {
         v1::ListSlosRequest request;
         request.set_page_token("nonsense");
         return h.stub_->ListSlos(c, request, &list_out);
       },
       "page_token: malformed"},
  };
  for (const Case& c : cases) {
    grpc::ClientContext context;
    const grpc::Status status = c.call(&context);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.rpc;
    EXPECT_EQ(status.error_message(), c.message) << c.rpc;
  }
  grpc::ClientContext context;
  v1::GetSloRequest get;
  get.set_id(slo.id());
  v1::Slo stored;
  ASSERT_TRUE(h.stub_->GetSlo(&context, get, &stored).ok());
  EXPECT_EQ(stored.SerializeAsString(), slo.SerializeAsString());
}

TEST(SloApiTest, UnimplementedWithoutSlos) {
  SloHarness h(false);
  v1::Slo out;
  EXPECT_EQ(h.Create(ValidSlo(), &out).error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace agentwatch::monitor
