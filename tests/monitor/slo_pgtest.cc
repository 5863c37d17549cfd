// The Postgres SLO store and the SLO engine against the real server: SLO
// rows round-trip, name / request id / tenant rules, paging; burn-rate
// alerts firing from committed rollups with their notice in the outbox
// exactly once (also with two replicas evaluating at once), visible in
// ListActiveAlerts, resolved by the sweep and by DeleteSlo.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/clock.h"
#include "common/pg.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "monitor/core/alert_rules.h"
#include "monitor/core/rollup.h"
#include "monitor/core/rules.h"
#include "monitor/core/slo.h"
#include "monitor/store/migrations.h"
#include "monitor/store/pg_monitor_store.h"
#include "monitor/store/pg_slo_store.h"
#include "monitor/store/slo_engine.h"
#include "test_events.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::agentwatch::testing::TestDatabase;
using fixtures::MakeEvent;
using fixtures::MakeRun;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'040);  // a whole minute

Slo ValidSlo(const std::string& name = "triage-availability") {
  Slo slo;
  slo.name = name;
  slo.description = "runs of triage succeed";
  slo.scope.tenant = "acme";
  slo.scope.workflow = "triage";
  slo.scope.tags = {{"env", "prod"}};
  slo.subject = SloSubject::kWorkflowRuns;
  slo.sli_kind = SliKind::kAvailability;
  slo.objective = 0.999;
  slo.labels = {{"team", "support"}};
  NormalizeSlo(&slo);
  return slo;
}

class PgSloTest : public ::testing::Test {
 protected:
  PgSloTest() : clock_(kStart), rule_(ErrorRateAlertConfig{}) {}

  void SetUp() override {
    common::PgPoolOptions options;
    options.dsn = db_.dsn();
    options.size = 6;
    pool_ = std::make_unique<common::PgPool>(options);
    ASSERT_THAT(common::ApplyMigrations(*pool_, kOutboxSchema, Migrations()), IsOk());
    data_ = std::make_unique<PgMonitorStore>(*pool_, StoreLimits{},
                                             std::vector<const RuleEvaluator*>{&rule_});
    slos_ = std::make_unique<PgSloStore>(*pool_);
    engine_ = std::make_unique<SloEngine>(*data_, *slos_);
  }

  // Commits `good` succeeded and `bad` failed runs of triage (env=prod) at now.
  BatchAggregate Runs(int good, int bad) {
    Batch batch;
    batch.producer_id = "p";
    batch.sequence = ++sequence_;
    for (int i = 0; i < good + bad; ++i) {
      Event event = MakeEvent(
          MakeRun("triage", i < good ? RunStatus::kSucceeded : RunStatus::kFailed), clock_.Now());
      event.labels = {{"env", "prod"}};
      batch.events.push_back(std::move(event));
    }
    BatchAggregate aggregate = AggregateBatch(batch);
    EXPECT_THAT(data_->CommitBatch(batch.producer_id, batch.sequence, aggregate, clock_.Now()),
                IsOk());
    return aggregate;
  }

  int64_t Scalar(const std::string& sql) {
    absl::StatusOr<int64_t> value =
        pool_->Transact<int64_t>([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
          return txn.exec(sql)[0][0].as<int64_t>(0);
        });
    EXPECT_THAT(value, IsOk()) << sql;
    return value.value_or(-1);
  }

  std::vector<incident::v1::Alert> Notices() {
    absl::StatusOr<std::vector<incident::v1::Alert>> out =
        pool_->Transact<std::vector<incident::v1::Alert>>(
            [&](pqxx::work& txn) -> absl::StatusOr<std::vector<incident::v1::Alert>> {
              std::vector<incident::v1::Alert> alerts;
              for (const auto& row :
                   txn.exec("SELECT payload FROM monitor.outbox WHERE destination = "
                            "'incident.ReportAlerts' ORDER BY id")) {
                incident::v1::Alert alert;
                alert.ParseFromString(pqxx::binarystring(row[0]).str());
                // Only the SLO's (the built-in error-rate alert fires too).
                if (alert.labels().count("slo_id") > 0) alerts.push_back(alert);
              }
              return alerts;
            });
    EXPECT_THAT(out, IsOk());
    return out.value_or(std::vector<incident::v1::Alert>{});
  }

  TestDatabase db_;
  common::FakeClock clock_;
  WorkflowErrorRateRule rule_;
  std::unique_ptr<common::PgPool> pool_;
  std::unique_ptr<PgMonitorStore> data_;
  std::unique_ptr<PgSloStore> slos_;
  std::unique_ptr<SloEngine> engine_;
  uint64_t sequence_ = 0;
};

TEST_F(PgSloTest, RoundTripsAndEnforcesNamesRequestsAndTenant) {
  Slo slo = ValidSlo();
  slo.burn_rate_windows.push_back({absl::Hours(2), absl::Minutes(10), 7.5, Severity::kP0});
  absl::StatusOr<Slo> created = slos_->CreateSlo(slo, "req-1", clock_.Now());
  ASSERT_THAT(created, IsOk());
  EXPECT_FALSE(created->id.empty());
  absl::StatusOr<Slo> got = slos_->GetSlo(created->id);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->name, slo.name);
  EXPECT_EQ(got->description, slo.description);
  EXPECT_EQ(got->scope.workflow, "triage");
  EXPECT_EQ(got->scope.tags, slo.scope.tags);
  EXPECT_EQ(got->subject, SloSubject::kWorkflowRuns);
  EXPECT_EQ(got->sli_kind, SliKind::kAvailability);
  EXPECT_EQ(got->objective, 0.999);
  EXPECT_EQ(got->window, absl::Hours(24 * 30));
  ASSERT_THAT(got->burn_rate_windows, SizeIs(4));
  EXPECT_EQ(got->burn_rate_windows[0].burn_rate, 14.4);
  EXPECT_EQ(got->burn_rate_windows[3].long_window, absl::Hours(2));
  EXPECT_EQ(got->burn_rate_windows[3].short_window, absl::Minutes(10));
  EXPECT_EQ(got->burn_rate_windows[3].burn_rate, 7.5);
  EXPECT_EQ(got->burn_rate_windows[3].severity, Severity::kP0);
  EXPECT_EQ(got->labels, slo.labels);
  EXPECT_EQ(got->create_time, kStart);
  EXPECT_EQ(got->update_time, created->update_time);

  // The same request id answers the first SLO; the same name is taken.
  absl::StatusOr<Slo> again = slos_->CreateSlo(slo, "req-1", clock_.Now());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->id, created->id);
  EXPECT_THAT(slos_->CreateSlo(slo, "", clock_.Now()),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("slo.name")));

  Slo changed = *got;
  changed.objective = 0.99;
  changed.sli_kind = SliKind::kLatency;
  changed.latency_threshold = absl::Milliseconds(1500);
  clock_.Advance(absl::Minutes(1));
  absl::StatusOr<Slo> updated = slos_->UpdateSlo(changed, clock_.Now());
  ASSERT_THAT(updated, IsOk());
  got = slos_->GetSlo(created->id);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->objective, 0.99);
  EXPECT_EQ(got->latency_threshold, absl::Milliseconds(1500));
  EXPECT_EQ(got->update_time, kStart + absl::Minutes(1));
  EXPECT_EQ(got->create_time, kStart);
  changed.scope.tenant = "other";
  EXPECT_THAT(slos_->UpdateSlo(changed, clock_.Now()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("slo.scope.tenant")));
  changed = *got;
  changed.id = "missing";
  EXPECT_THAT(slos_->UpdateSlo(changed, clock_.Now()), StatusIs(absl::StatusCode::kNotFound));

  ASSERT_THAT(slos_->CreateSlo(ValidSlo("a-first"), "", clock_.Now()), IsOk());
  absl::StatusOr<SloPage> page = slos_->ListSlos("acme", std::nullopt, 1);
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(page->slos, SizeIs(1));
  EXPECT_EQ(page->slos[0].name, "a-first");
  ASSERT_TRUE(page->next.has_value());
  page = slos_->ListSlos("acme", page->next, 10);
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(page->slos, SizeIs(1));
  EXPECT_FALSE(page->next.has_value());
  page = slos_->ListSlos("other", std::nullopt, 10);
  ASSERT_THAT(page, IsOk());
  EXPECT_TRUE(page->slos.empty());

  ASSERT_THAT(slos_->DeleteSlo(created->id, clock_.Now()), IsOk());
  EXPECT_THAT(slos_->GetSlo(created->id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(slos_->DeleteSlo(created->id, clock_.Now()), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(PgSloTest, BurnRateAlertFiresOnceThroughTheOutboxAndResolves) {
  absl::StatusOr<Slo> slo = slos_->CreateSlo(ValidSlo(), "", clock_.Now());
  ASSERT_THAT(slo, IsOk());
  // The SLO is found by the metric each batch fed.
  for (int i = 0; i < 10; ++i) {
    const BatchAggregate aggregate = Runs(100, 0);
    absl::StatusOr<SweepResult> result = engine_->OnBatch(aggregate, clock_.Now());
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->alerts.fired, 0);
    clock_.Advance(absl::Minutes(1));
  }
  absl::StatusOr<SloStatusFigures> status = engine_->Status(*slo, clock_.Now());
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->counts.total, 1000);
  EXPECT_EQ(status->budget.remaining, 1);

  const BatchAggregate burst = Runs(50, 50);
  absl::StatusOr<SweepResult> fired = engine_->OnBatch(burst, clock_.Now());
  ASSERT_THAT(fired, IsOk());
  EXPECT_EQ(fired->alerts.fired, 3);  // every default window burns
  EXPECT_EQ(fired->outbox_enqueued, 3);
  status = engine_->Status(*slo, clock_.Now());
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->counts.total, 1100);
  EXPECT_EQ(status->counts.good, 1050);
  EXPECT_LT(status->budget.remaining, 0);

  // Two replicas re-evaluating at once add nothing.
  PgSloStore replica_slos(*pool_);
  SloEngine replica(*data_, replica_slos);
  clock_.Advance(absl::Seconds(5));
  std::thread other([&] { EXPECT_THAT(replica.OnBatch(burst, clock_.Now()), IsOk()); });
  EXPECT_THAT(engine_->OnBatch(burst, clock_.Now()), IsOk());
  other.join();
  std::vector<incident::v1::Alert> notices = Notices();
  ASSERT_THAT(notices, SizeIs(3));
  EXPECT_EQ(notices[0].status(), incident::v1::ALERT_STATUS_FIRING);
  EXPECT_EQ(notices[0].labels().at("alertname"), "triage-availability");
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE rule = 'slo_burn_rate' "
                   "AND firing"),
            3);

  // They show among the active alerts and in the SLO's alerts.
  absl::StatusOr<ActiveAlertPage> active = data_->ListActiveAlerts({}, std::nullopt, 100);
  ASSERT_THAT(active, IsOk());
  int slo_alerts = 0;
  for (const AlertState& state : active->alerts) slo_alerts += state.rule_id == slo->id;
  EXPECT_EQ(slo_alerts, 3);
  absl::StatusOr<std::vector<AlertState>> mine = slos_->SloAlerts("acme", slo->id);
  ASSERT_THAT(mine, IsOk());
  EXPECT_THAT(*mine, SizeIs(3));

  // 40 quiet minutes: the sweep resolves both pages, the ticket stays.
  clock_.Advance(absl::Minutes(40));
  absl::StatusOr<SweepResult> swept = engine_->Sweep(clock_.Now(), 100);
  ASSERT_THAT(swept, IsOk());
  EXPECT_EQ(swept->alerts.resolved, 2);
  notices = Notices();
  ASSERT_THAT(notices, SizeIs(5));
  EXPECT_EQ(notices[4].status(), incident::v1::ALERT_STATUS_RESOLVED);

  // Deleting the SLO resolves the last one in the same transaction.
  absl::StatusOr<SweepResult> deleted = slos_->DeleteSlo(slo->id, clock_.Now());
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(deleted->alerts.resolved, 1);
  EXPECT_THAT(Notices(), SizeIs(6));
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE rule = 'slo_burn_rate'"), 0);
}

TEST_F(PgSloTest, ReportsAndLatencyFromHourlySpans) {
  Slo latency = ValidSlo("latency");
  latency.sli_kind = SliKind::kLatency;
  latency.latency_threshold = absl::Seconds(3);  // the runs take 2 s
  absl::StatusOr<Slo> slo = slos_->CreateSlo(latency, "", clock_.Now());
  ASSERT_THAT(slo, IsOk());
  Runs(30, 10);
  clock_.Advance(absl::Hours(8));  // into the hourly spans
  absl::StatusOr<SloStatusFigures> status = engine_->Status(*slo, clock_.Now());
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->counts.total, 40);
  EXPECT_EQ(status->counts.good, 40);
  absl::StatusOr<std::vector<BucketRange>> periods = ReportPeriods(
      kStart - absl::Hours(24), clock_.Now(), ReportPeriod::kDay, absl::UTCTimeZone());
  ASSERT_THAT(periods, IsOk());
  absl::StatusOr<std::vector<PeriodFigures>> report = engine_->Report(*slo, *periods);
  ASSERT_THAT(report, IsOk());
  int64_t total = 0;
  for (const PeriodFigures& period : *report) total += period.counts.total;
  EXPECT_EQ(total, 40);
}

// Report periods ending inside an hour (the usual "until now") and periods
// of a zone with a half-hour offset count every event of their minutes, with
// no pro-rata share of an hourly span.
// An SLO created over data that already burns its budget has no batch to
// evaluate it: the sweep takes every SLO in turn, not only firing ones.
TEST_F(PgSloTest, SweepFiresAnSloCreatedOverBurningData) {
  for (int i = 0; i < 2; ++i) {
    Slo other = ValidSlo(absl::StrCat("quiet-", i));
    other.scope.workflow = "billing";  // no events: never burns
    ASSERT_THAT(slos_->CreateSlo(other, "", clock_.Now()), IsOk());
  }
  Runs(50, 50);
  Slo burning = ValidSlo("triage-burning");
  absl::StatusOr<Slo> slo = slos_->CreateSlo(burning, "", clock_.Now());
  ASSERT_THAT(slo, IsOk());
  clock_.Advance(absl::Seconds(30));
  // Three SLOs, one per sweep: the burning one ("t..." sorts after
  // "quiet-...") is reached by the third sweep, and then stays in the sweep
  // as a firing SLO.
  int64_t fired = 0;
  for (int sweep = 0; sweep < 3; ++sweep) {
    absl::StatusOr<SweepResult> result = engine_->Sweep(clock_.Now(), 1);
    ASSERT_THAT(result, IsOk());
    fired += result->alerts.fired;
    EXPECT_EQ(result->alerts.fired, sweep == 2 ? 3 : 0) << "sweep " << sweep;
  }
  EXPECT_EQ(fired, 3);
  EXPECT_THAT(Notices(), SizeIs(3));
  absl::StatusOr<SweepResult> again = engine_->Sweep(clock_.Now(), 1);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->alerts.fired, 0);
  EXPECT_THAT(Notices(), SizeIs(3));
}

TEST_F(PgSloTest, ReportsCountWholeMinutesAtPeriodBoundaries) {
  absl::StatusOr<Slo> slo = slos_->CreateSlo(ValidSlo("report-edges"), "", clock_.Now());
  ASSERT_THAT(slo, IsOk());
  absl::TimeZone kolkata;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Kolkata", &kolkata));
  const auto report = [&](absl::Time from, absl::Time to) {
    absl::StatusOr<std::vector<BucketRange>> periods =
        ReportPeriods(from, to, ReportPeriod::kDay, kolkata);
    EXPECT_THAT(periods, IsOk());
    absl::StatusOr<std::vector<PeriodFigures>> figures = engine_->Report(*slo, *periods);
    EXPECT_THAT(figures, IsOk());
    std::vector<std::pair<int64_t, int64_t>> out;  // (good, total) per period
    for (const PeriodFigures& period : *figures) {
      out.push_back({period.counts.good, period.counts.total});
    }
    return out;
  };
  using ::testing::ElementsAre;
  using ::testing::Pair;
  Runs(30, 10);  // 22:14 UTC, 03:44 in Kolkata
  clock_.Advance(absl::Minutes(20));
  Runs(5, 5);  // 22:34
  // Until 20 s into the current minute, from 5 min before the first runs:
  // one Kolkata day holding all 50 runs.
  EXPECT_THAT(report(kStart - absl::Minutes(5) + absl::Seconds(7),
                     clock_.Now() + absl::Seconds(20)),
              ElementsAre(Pair(35, 50)));
  // From the minute after the first runs: only the second ones.
  EXPECT_THAT(report(kStart + absl::Minutes(1), clock_.Now() + absl::Seconds(20)),
              ElementsAre(Pair(5, 10)));
  // Kolkata's midnight is 18:30 UTC: runs at 18:20 and 18:40 fall on the two
  // days either side of it.
  const absl::Time midnight = absl::FromCivil(absl::CivilDay(2023, 11, 16), kolkata);
  ASSERT_EQ(absl::FormatTime("%H:%M", midnight, absl::UTCTimeZone()), "18:30");
  clock_.Set(midnight - absl::Minutes(10));
  Runs(1, 1);
  clock_.Set(midnight + absl::Minutes(10));
  Runs(2, 0);
  EXPECT_THAT(report(midnight - absl::Minutes(30), midnight + absl::Minutes(20)),
              ElementsAre(Pair(1, 2), Pair(2, 2)));
}

TEST_F(PgSloTest, RegressionRuleKeepsItsBaselineAndFiresOnADrop) {
  AlertRule rule;
  rule.name = "FaithfulnessDrop";
  rule.tenant = "acme";
  rule.condition.metric = "quality_score";
  rule.condition.matchers = {{"score", MatchOp::kEqual, "faithfulness"}};
  rule.condition.aggregation = Aggregation::kAvg;
  rule.condition.window = absl::Hours(1);
  rule.condition.baseline_window = absl::Hours(24);
  rule.condition.comparison = Comparison::kLessThan;
  rule.condition.threshold = -0.1;
  NormalizeAlertRule(&rule);
  ASSERT_THAT(ValidateAlertRule(rule), IsOk());
  absl::StatusOr<RuleWriteResult> created = data_->CreateAlertRule(rule, "", clock_.Now());
  ASSERT_THAT(created, IsOk());
  absl::StatusOr<AlertRule> got = data_->GetAlertRule(created->rule.id);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->condition.baseline_window, absl::Hours(24));

  auto scores = [&](std::vector<double> values) {
    Batch batch;
    batch.producer_id = "scores";
    batch.sequence = ++sequence_;
    for (double value : values) {
      QualityScore score;
      score.name = "faithfulness";
      score.value = value;
      score.workflow = "triage";
      batch.events.push_back(MakeEvent(score, clock_.Now()));
    }
    const BatchAggregate aggregate = AggregateBatch(batch);
    EXPECT_THAT(data_->CommitBatch(batch.producer_id, batch.sequence, aggregate, clock_.Now()),
                IsOk());
    absl::StatusOr<SweepResult> evaluated = data_->EvaluateAlertRules(aggregate, clock_.Now());
    EXPECT_THAT(evaluated, IsOk());
    return evaluated.value_or(SweepResult{});
  };
  // A day of scores at 0.9, then an hour at 0.75 (a 16.7 % drop).
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(scores({0.9}).alerts.fired, 0);
    clock_.Advance(absl::Hours(2));
  }
  EXPECT_EQ(scores({0.75}).alerts.fired, 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE rule = 'alert_rule' AND "
                   "firing"),
            1);
}

}  // namespace
}  // namespace agentwatch::monitor
