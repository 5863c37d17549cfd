// The ingest journal (PgMonitorStore with journal_rollups) against the real
// Postgres: a group commit journals its cells instead of upserting rollups;
// a flush applies exactly the rows it deletes; reads on the writing replica
// see acknowledged batches at once (the built-in alert from memory, the
// others by flushing first) while another replica sees them once flushed;
// a killed replica's rows are applied once by a sweeper, never twice when
// the owner flushes after a sweep (also concurrently); replays stay
// duplicates; a corrupt row fails the sweep and stays; a batch whose rule
// evaluation never ran, and a killed replica's swept rows, are evaluated by
// the alert sweep (owed evaluations), firing once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/outbox.h"
#include "common/pg.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "common/testing/test_pool.h"
#include "monitor/api/monitor_metrics.h"
#include "monitor/core/alert_rules.h"
#include "monitor/core/health.h"
#include "monitor/core/query.h"
#include "monitor/core/rollup.h"
#include "monitor/core/rules.h"
#include "monitor/jobs/rollup_flush_worker.h"
#include "monitor/store/migrations.h"
#include "monitor/store/pg_monitor_store.h"
#include "test_events.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;
using ::agentwatch::testing::TestDatabase;
using ::agentwatch::testing::TestPool;
using fixtures::MakeEvent;
using fixtures::MakeRun;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'040);  // a whole minute

// `n` runs of `workflow` with `status`, each lasting 1..n seconds (a
// sketched metric), at `time`.
Batch Runs(const std::string& producer, uint64_t sequence, const std::string& workflow, int n,
           RunStatus status, absl::Time time) {
  Batch batch;
  batch.producer_id = producer;
  batch.sequence = sequence;
  for (int i = 0; i < n; ++i) {
    batch.events.push_back(MakeEvent(MakeRun(workflow, status, absl::Seconds(i + 1)), time));
  }
  return batch;
}

class JournalTest : public ::testing::Test {
 protected:
  JournalTest() : rule_(ErrorRateAlertConfig{}) {}

  void SetUp() override {
    pool_ = TestPool(db_.dsn());
    ASSERT_THAT(common::ApplyMigrations(*pool_, kOutboxSchema, Migrations()), IsOk());
    store_ = MakeStore(*pool_);
  }

  std::unique_ptr<PgMonitorStore> MakeStore(
      common::PgPool& pool, bool journal = true,
      absl::Duration owed_evaluation_age = PgMonitorStoreOptions{}.owed_evaluation_age) {
    PgMonitorStoreOptions options;
    options.journal_rollups = journal;
    options.owed_evaluation_age = owed_evaluation_age;
    return std::make_unique<PgMonitorStore>(pool, limits_,
                                            std::vector<const RuleEvaluator*>{&rule_}, options);
  }

  absl::StatusOr<CommitResult> Commit(const Batch& batch, PgMonitorStore* store = nullptr) {
    return (store ? store : store_.get())
        ->CommitBatch(batch.producer_id, batch.sequence, AggregateBatch(batch), kStart);
  }

  int64_t Scalar(const std::string& sql) {
    absl::StatusOr<int64_t> value =
        pool_->Transact<int64_t>([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
          return txn.exec(sql)[0][0].as<int64_t>(0);
        });
    EXPECT_THAT(value, IsOk()) << sql;
    return value.value_or(-1);
  }

  // Runs counted in the rollups (all workflows).
  int64_t StoredRuns() {
    return Scalar(
        "SELECT coalesce(sum(count), 0) FROM monitor.rollups_1m "
        "WHERE metric = 'workflow_runs_total'");
  }
  int64_t JournalRows() { return Scalar("SELECT count(*) FROM monitor.ingest_journal"); }

  TestDatabase db_;
  WorkflowErrorRateRule rule_;
  StoreLimits limits_;
  std::unique_ptr<common::PgPool> pool_;
  std::unique_ptr<PgMonitorStore> store_;
};

TEST_F(JournalTest, AGroupJournalsItsCellsAndAFlushAppliesThemOnce) {
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    absl::StatusOr<CommitResult> result =
        Commit(Runs("p", seq, "triage", 4, RunStatus::kSucceeded, kStart));
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->accepted, 4);
  }
  // Acknowledged: claimed and journaled, not in the rollups yet.
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.ingest_batches"), 3);
  EXPECT_EQ(JournalRows(), 3);  // one tenant per group
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.rollups_1m"), 0);
  EXPECT_EQ(store_->PendingJournalRows(), 3u);

  EXPECT_THAT(store_->FlushRollups(kStart), IsOkAndHolds(3));
  EXPECT_EQ(JournalRows(), 0);
  EXPECT_EQ(store_->PendingJournalRows(), 0u);
  EXPECT_EQ(StoredRuns(), 12);
  // The sketched metric: sums, extremes and the merged sketch of all 12.
  EXPECT_EQ(Scalar("SELECT sum::bigint FROM monitor.rollups_1m "
                   "WHERE metric = 'workflow_duration_seconds'"),
            3 * (1 + 2 + 3 + 4));
  EXPECT_EQ(Scalar("SELECT max::bigint FROM monitor.rollups_1m "
                   "WHERE metric = 'workflow_duration_seconds'"),
            4);
  SeriesQuery p99;
  p99.metric = "workflow_duration_seconds";
  p99.bucket_from = kStart;
  p99.start = kStart;
  p99.end = kStart + absl::Minutes(1);
  p99.step = absl::Minutes(1);
  p99.aggregation = Aggregation::kP99;
  absl::StatusOr<std::vector<StepRow>> steps = store_->QuerySteps(p99);
  ASSERT_THAT(steps, IsOk());
  ASSERT_EQ(steps->size(), 1u);
  ASSERT_TRUE((*steps)[0].sketch.has_value());
  EXPECT_EQ((*steps)[0].sketch->count(), 12);

  // Nothing left: a second flush applies nothing; a replay is a duplicate
  // and journals nothing.
  EXPECT_THAT(store_->FlushRollups(kStart), IsOkAndHolds(0));
  absl::StatusOr<CommitResult> replay =
      Commit(Runs("p", 2, "triage", 4, RunStatus::kSucceeded, kStart));
  ASSERT_THAT(replay, IsOk());
  EXPECT_TRUE(replay->duplicate);
  EXPECT_EQ(JournalRows(), 0);
  EXPECT_EQ(StoredRuns(), 12);
}

TEST_F(JournalTest, WithoutTheJournalGroupsWriteRollupsAndFlushIsANoOp) {
  std::unique_ptr<PgMonitorStore> plain = MakeStore(*pool_, /*journal=*/false);
  ASSERT_THAT(Commit(Runs("p", 1, "triage", 4, RunStatus::kSucceeded, kStart), plain.get()),
              IsOk());
  EXPECT_EQ(StoredRuns(), 4);
  EXPECT_EQ(JournalRows(), 0);
  EXPECT_THAT(plain->FlushRollups(kStart), IsOkAndHolds(0));
}

TEST_F(JournalTest, ThisReplicaReadsItsAcknowledgedBatchesAnotherOnceFlushed) {
  // 5 failed runs: under min_runs (10), no alert.
  absl::StatusOr<CommitResult> first =
      Commit(Runs("a", 1, "triage", 5, RunStatus::kFailed, kStart));
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->alerts.fired, 0);
  // Another replica's 5 failed runs: it sees only its own (nothing of the
  // first replica is in the rollups yet), so it does not fire either.
  std::unique_ptr<common::PgPool> other_pool = TestPool(db_.dsn());
  std::unique_ptr<PgMonitorStore> other = MakeStore(*other_pool);
  absl::StatusOr<CommitResult> elsewhere =
      Commit(Runs("b", 1, "triage", 5, RunStatus::kFailed, kStart), other.get());
  ASSERT_THAT(elsewhere, IsOk());
  EXPECT_EQ(elsewhere->alerts.fired, 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.rollups_1m"), 0);

  // The first replica's next 5: its built-in alert adds its pending cells
  // and the group's own to the (empty) rollups: 10 of 10 fail, it fires.
  absl::StatusOr<CommitResult> second =
      Commit(Runs("a", 2, "triage", 5, RunStatus::kFailed, kStart));
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->alerts.fired, 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.rollups_1m"), 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE firing"), 1);

  // Reads through the store flush first: the health rows count this
  // replica's 10 runs, and only those until the other one flushes.
  HealthScope scope;
  scope.tenant = "acme";
  const BucketRange range{kStart, kStart + absl::Minutes(1)};
  auto runs_in_health = [&]() -> int64_t {
    absl::StatusOr<std::vector<HealthRow>> rows = store_->ReadHealthRows(scope, range);
    EXPECT_THAT(rows, IsOk());
    int64_t runs = 0;
    for (const HealthRow& row : rows.value_or(std::vector<HealthRow>{})) {
      if (row.metric == "workflow_runs_total") runs += row.count;
    }
    return runs;
  };
  EXPECT_EQ(runs_in_health(), 10);
  EXPECT_EQ(store_->PendingJournalRows(), 0u);
  EXPECT_EQ(JournalRows(), 1);  // the other replica's
  EXPECT_THAT(other->FlushRollups(kStart), IsOkAndHolds(1));
  EXPECT_EQ(runs_in_health(), 15);
  EXPECT_EQ(JournalRows(), 0);
}

// A threshold rule: at least 5 failed runs of a workflow over 2 minutes,
// selected by an equality or a regular-expression matcher.
AlertRule FailedRunsRule(const std::string& name, MatchOp op, const std::string& status) {
  AlertRule rule;
  rule.name = name;
  rule.tenant = "acme";
  rule.condition.metric = "workflow_runs_total";
  rule.condition.matchers = {{"status", op, status}};
  rule.condition.group_by = {"workflow"};
  rule.condition.comparison = Comparison::kGreaterOrEqual;
  rule.condition.threshold = 5;
  rule.condition.window = absl::Minutes(2);
  rule.severity = Severity::kP2;
  NormalizeAlertRule(&rule);
  return rule;
}

TEST_F(JournalTest, EqualityRulesReadPendingCellsAndRegexRulesFlushFirst) {
  ASSERT_THAT(
      store_->CreateAlertRule(FailedRunsRule("Equal", MatchOp::kEqual, "failed"), "", kStart),
      IsOk());
  // 3 then 2 failed runs: the second evaluation counts 5 from memory, with
  // nothing in the rollups and nothing flushed.
  const Batch first = Runs("p", 1, "triage", 3, RunStatus::kFailed, kStart);
  ASSERT_THAT(Commit(first), IsOk());
  absl::StatusOr<SweepResult> evaluated = store_->EvaluateAlertRules(AggregateBatch(first), kStart);
  ASSERT_THAT(evaluated, IsOk());
  EXPECT_EQ(evaluated->alerts.fired, 0);
  const Batch second = Runs("p", 2, "triage", 2, RunStatus::kFailed, kStart);
  ASSERT_THAT(Commit(second), IsOk());
  evaluated = store_->EvaluateAlertRules(AggregateBatch(second), kStart);
  ASSERT_THAT(evaluated, IsOk());
  EXPECT_EQ(evaluated->alerts.fired, 1);
  EXPECT_EQ(store_->PendingJournalRows(), 2u);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.rollups_1m"), 0);
  EXPECT_EQ(Scalar("SELECT value::bigint FROM monitor.alert_state WHERE rule_id <> ''"), 5);

  // A rule with a regular expression cannot add them in memory: the
  // evaluation flushes, then reads Postgres, and sees the same 5 (plus 1).
  ASSERT_THAT(
      store_->CreateAlertRule(FailedRunsRule("Regex", MatchOp::kRegex, "fail.*"), "", kStart),
      IsOk());
  EXPECT_EQ(store_->PendingJournalRows(), 0u);  // the create evaluated it: flushed
  const Batch third = Runs("p", 3, "triage", 1, RunStatus::kFailed, kStart);
  ASSERT_THAT(Commit(third), IsOk());
  EXPECT_EQ(store_->PendingJournalRows(), 1u);
  evaluated = store_->EvaluateAlertRules(AggregateBatch(third), kStart);
  ASSERT_THAT(evaluated, IsOk());
  EXPECT_EQ(evaluated->alerts.fired, 0);  // the regex rule fired at its create
  EXPECT_EQ(store_->PendingJournalRows(), 0u);
  EXPECT_EQ(StoredRuns(), 6);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE rule_id <> '' AND firing"), 2);
  EXPECT_EQ(Scalar("SELECT min(value)::bigint FROM monitor.alert_state WHERE rule_id <> ''"), 6);
}

TEST_F(JournalTest, ANotEqualRuleCountsPendingCellsOfAbsentLabelsAsEmpty) {
  // status != "succeeded" selects failed runs; workflow grouped, and a
  // label no series has ("region") is "" for every cell, as in Postgres.
  AlertRule rule = FailedRunsRule("NotSucceeded", MatchOp::kNotEqual, "succeeded");
  rule.condition.matchers.push_back({"region", MatchOp::kEqual, ""});
  NormalizeAlertRule(&rule);
  ASSERT_THAT(store_->CreateAlertRule(rule, "", kStart), IsOk());
  const Batch batch = [&] {
    Batch b = Runs("p", 1, "triage", 5, RunStatus::kFailed, kStart);
    for (const Event& e : Runs("p", 1, "triage", 9, RunStatus::kSucceeded, kStart).events) {
      b.events.push_back(e);
    }
    return b;
  }();
  ASSERT_THAT(Commit(batch), IsOk());
  absl::StatusOr<SweepResult> evaluated = store_->EvaluateAlertRules(AggregateBatch(batch), kStart);
  ASSERT_THAT(evaluated, IsOk());
  EXPECT_EQ(evaluated->alerts.fired, 1);
  EXPECT_EQ(store_->PendingJournalRows(), 1u);
  EXPECT_EQ(Scalar("SELECT value::bigint FROM monitor.alert_state WHERE rule_id <> ''"), 5);
}

TEST_F(JournalTest, QueryStepsAddsPendingCellsForEqualityMatchersAndFlushesForRegexes) {
  // Stored: 2 failed runs at kStart (flushed). Pending: 3 failed runs at
  // kStart + 1m, 4 succeeded at kStart + 2m, and 5 failed runs of another
  // tenant at kStart.
  ASSERT_THAT(Commit(Runs("p", 1, "triage", 2, RunStatus::kFailed, kStart)), IsOk());
  ASSERT_THAT(store_->FlushRollups(kStart), IsOkAndHolds(1));
  ASSERT_THAT(Commit(Runs("p", 2, "triage", 3, RunStatus::kFailed, kStart + absl::Minutes(1))),
              IsOk());
  ASSERT_THAT(Commit(Runs("p", 3, "triage", 4, RunStatus::kSucceeded, kStart + absl::Minutes(2))),
              IsOk());
  Batch other = Runs("q", 1, "triage", 5, RunStatus::kFailed, kStart);
  for (Event& e : other.events) e.tenant = "globex";
  ASSERT_THAT(Commit(other), IsOk());
  ASSERT_EQ(store_->PendingJournalRows(), 3u);

  SeriesQuery query;
  query.metric = "workflow_runs_total";
  query.tenant = "acme";
  query.matchers = {{"workflow", MatchOp::kEqual, "triage"}};
  query.group_by = {"status"};
  query.bucket_from = kStart;
  query.start = kStart;
  query.end = kStart + absl::Minutes(4);
  query.step = absl::Minutes(2);  // steps aligned to 120 s of the epoch
  query.aggregation = Aggregation::kSum;
  // The rows of one group and step summed, as the callers do.
  auto sums = [&](const SeriesQuery& q) {
    std::map<std::pair<std::string, int64_t>, int64_t> out;
    absl::StatusOr<std::vector<StepRow>> rows = store_->QuerySteps(q);
    EXPECT_THAT(rows, IsOk());
    for (const StepRow& row : rows.value_or(std::vector<StepRow>{})) {
      out[{row.group_values.empty() ? "" : row.group_values[0],
           absl::ToUnixSeconds(row.step_start)}] += row.stats.count;
    }
    return out;
  };
  std::map<std::pair<std::string, int64_t>, int64_t> expected;
  for (const auto& [offset, status, n] : std::vector<std::tuple<int, std::string, int64_t>>{
           {0, "failed", 2}, {60, "failed", 3}, {120, "succeeded", 4}}) {
    const int64_t t = absl::ToUnixSeconds(kStart) + offset;
    expected[{status, t / 120 * 120}] += n;
  }
  EXPECT_EQ(sums(query), expected);
  EXPECT_EQ(store_->PendingJournalRows(), 3u);  // read without a flush
  EXPECT_EQ(StoredRuns(), 2);

  // Every tenant: the other tenant's 5 failed runs count too.
  query.tenant = "";
  expected[{"failed", absl::ToUnixSeconds(kStart) / 120 * 120}] += 5;
  EXPECT_EQ(sums(query), expected);

  // P99: the merged sketch of stored and pending cells of acme.
  SeriesQuery p99 = query;
  p99.tenant = "acme";
  p99.metric = "workflow_duration_seconds";
  p99.group_by = {};
  p99.step = absl::Minutes(4);
  p99.aggregation = Aggregation::kP99;
  absl::StatusOr<std::vector<StepRow>> rows = store_->QuerySteps(p99);
  ASSERT_THAT(rows, IsOk());
  int64_t sketched = 0;
  for (const StepRow& row : *rows) sketched += row.sketch.has_value() ? row.sketch->count() : 0;
  EXPECT_EQ(sketched, 2 + 3 + 4);
  EXPECT_EQ(store_->PendingJournalRows(), 3u);

  // A regular expression is Postgres': the query flushes first, same sums.
  query.matchers = {{"workflow", MatchOp::kRegex, "tri.*"}};
  EXPECT_EQ(sums(query), expected);
  EXPECT_EQ(store_->PendingJournalRows(), 0u);
  EXPECT_EQ(StoredRuns(), 2 + 3 + 4 + 5);
}

TEST_F(JournalTest, AKilledReplicasJournalIsAppliedOnceByASweeper) {
  {
    std::unique_ptr<common::PgPool> dead_pool = TestPool(db_.dsn());
    std::unique_ptr<PgMonitorStore> dead = MakeStore(*dead_pool);
    for (uint64_t seq = 1; seq <= 4; ++seq) {
      ASSERT_THAT(Commit(Runs("dead", seq, "triage", 3, RunStatus::kSucceeded, kStart), dead.get()),
                  IsOk());
    }
    EXPECT_EQ(dead->PendingJournalRows(), 4u);
    // Destroyed without a flush: what a crash leaves.
  }
  EXPECT_EQ(JournalRows(), 4);
  EXPECT_EQ(StoredRuns(), 0);
  // Too young for the bound: left to its writer.
  EXPECT_THAT(store_->SweepJournal(kStart, absl::Hours(1), 64), IsOkAndHolds(0));
  EXPECT_EQ(JournalRows(), 4);
  // Old enough (bound 0): applied and deleted in one transaction, in
  // batches of the limit.
  EXPECT_THAT(store_->SweepJournal(kStart, absl::ZeroDuration(), 3), IsOkAndHolds(3));
  EXPECT_EQ(StoredRuns(), 9);
  EXPECT_THAT(store_->SweepJournal(kStart, absl::ZeroDuration(), 3), IsOkAndHolds(1));
  EXPECT_EQ(StoredRuns(), 12);
  EXPECT_EQ(JournalRows(), 0);
  EXPECT_THAT(store_->SweepJournal(kStart, absl::ZeroDuration(), 3), IsOkAndHolds(0));
  EXPECT_EQ(StoredRuns(), 12);
  // The dead replica's acknowledged batch, replayed to this one: duplicate.
  absl::StatusOr<CommitResult> replay =
      Commit(Runs("dead", 3, "triage", 3, RunStatus::kSucceeded, kStart));
  ASSERT_THAT(replay, IsOk());
  EXPECT_TRUE(replay->duplicate);
  EXPECT_THAT(store_->FlushRollups(kStart), IsOkAndHolds(0));
  EXPECT_EQ(StoredRuns(), 12);
}

TEST_F(JournalTest, ABatchWhoseRuleEvaluationNeverRanIsEvaluatedByTheAlertSweep) {
  for (const bool journal : {true, false}) {
    SCOPED_TRACE(journal ? "journal" : "rollups per group");
    ASSERT_THAT(pool_->Transact<int>([](pqxx::work& txn) -> absl::StatusOr<int> {
      txn.exec(
          "TRUNCATE monitor.alert_rules, monitor.alert_state, monitor.ingest_batches, "
          "monitor.rollups_1m, monitor.alert_evaluations_owed");
      return 0;
    }),
                IsOk());
    store_ = MakeStore(*pool_, journal, absl::ZeroDuration());
    ASSERT_THAT(
        store_->CreateAlertRule(FailedRunsRule("Equal", MatchOp::kEqual, "failed"), "", kStart),
        IsOk());
    // 5 failed runs committed; the evaluation that follows the commit never
    // runs (it failed after a Postgres restart, or the process died and the
    // client's retry is answered as a duplicate). No alert is active, so
    // the sweep of active alerts alone would never look at the rule.
    const Batch batch = Runs("p", 1, "triage", 5, RunStatus::kFailed, kStart);
    ASSERT_THAT(Commit(batch), IsOk());
    EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_evaluations_owed"), 1);
    absl::StatusOr<CommitResult> replay = Commit(batch);
    ASSERT_THAT(replay, IsOk());
    EXPECT_TRUE(replay->duplicate);
    absl::StatusOr<SweepResult> swept = store_->SweepAlerts(kStart, 100);
    ASSERT_THAT(swept, IsOk());
    EXPECT_EQ(swept->alerts.fired, 1);
    EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_evaluations_owed"), 0);
    // Evaluated again (the next sweep, the late evaluation): never fires twice.
    swept = store_->SweepAlerts(kStart, 100);
    ASSERT_THAT(swept, IsOk());
    EXPECT_EQ(swept->alerts.fired, 0);
    absl::StatusOr<SweepResult> evaluated =
        store_->EvaluateAlertRules(AggregateBatch(batch), kStart);
    ASSERT_THAT(evaluated, IsOk());
    EXPECT_EQ(evaluated->alerts.fired, 0);
    EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE rule_id <> '' AND firing"), 1);
    // The usual path: the evaluation after the commit pays what it owes.
    const Batch next = Runs("p", 2, "triage", 1, RunStatus::kFailed, kStart);
    ASSERT_THAT(Commit(next), IsOk());
    EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_evaluations_owed"), 1);
    ASSERT_THAT(store_->EvaluateAlertRules(AggregateBatch(next), kStart), IsOk());
    EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_evaluations_owed"), 0);
    ASSERT_THAT(store_->FlushRollups(kStart), IsOk());
  }
}

TEST_F(JournalTest, AKilledReplicasSweptJournalIsEvaluatedByTheAlertSweep) {
  store_ = MakeStore(*pool_, true, absl::ZeroDuration());
  ASSERT_THAT(
      store_->CreateAlertRule(FailedRunsRule("Equal", MatchOp::kEqual, "failed"), "", kStart),
      IsOk());
  {
    std::unique_ptr<common::PgPool> dead_pool = TestPool(db_.dsn());
    std::unique_ptr<PgMonitorStore> dead = MakeStore(*dead_pool);
    ASSERT_THAT(Commit(Runs("dead", 1, "triage", 5, RunStatus::kFailed, kStart), dead.get()),
                IsOk());
    // Killed after the commit, before its evaluation and its flush.
  }
  // The sweep pays the debt of that commit before the dead replica's cells
  // reach the rollups: nothing to fire yet.
  absl::StatusOr<SweepResult> swept = store_->SweepAlerts(kStart, 100);
  ASSERT_THAT(swept, IsOk());
  EXPECT_EQ(swept->alerts.fired, 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_evaluations_owed"), 0);
  // The journal sweep applies them and owes their rules an evaluation,
  // which the next alert sweep pays.
  EXPECT_THAT(store_->SweepJournal(kStart, absl::ZeroDuration(), 64), IsOkAndHolds(1));
  EXPECT_EQ(StoredRuns(), 5);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_evaluations_owed"), 1);
  swept = store_->SweepAlerts(kStart, 100);
  ASSERT_THAT(swept, IsOk());
  EXPECT_EQ(swept->alerts.fired, 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_evaluations_owed"), 0);
  swept = store_->SweepAlerts(kStart, 100);
  ASSERT_THAT(swept, IsOk());
  EXPECT_EQ(swept->alerts.fired, 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE rule_id <> '' AND firing"), 1);
}

TEST_F(JournalTest, AFlushAfterASweeperTookItsRowsAppliesNothingTwice) {
  std::unique_ptr<common::PgPool> other_pool = TestPool(db_.dsn());
  std::unique_ptr<PgMonitorStore> sweeper = MakeStore(*other_pool);
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    ASSERT_THAT(Commit(Runs("p", seq, "triage", 2, RunStatus::kSucceeded, kStart)), IsOk());
  }
  // A stalled owner: another replica sweeps its rows.
  EXPECT_THAT(sweeper->SweepJournal(kStart, absl::ZeroDuration(), 64), IsOkAndHolds(3));
  EXPECT_EQ(StoredRuns(), 6);
  EXPECT_EQ(store_->PendingJournalRows(), 3u);
  // The owner's flush deletes none of them: it applies nothing, and drops
  // them from memory.
  EXPECT_THAT(store_->FlushRollups(kStart), IsOkAndHolds(0));
  EXPECT_EQ(store_->PendingJournalRows(), 0u);
  EXPECT_EQ(StoredRuns(), 6);
  ASSERT_THAT(Commit(Runs("p", 4, "triage", 2, RunStatus::kSucceeded, kStart)), IsOk());
  EXPECT_THAT(store_->FlushRollups(kStart), IsOkAndHolds(1));
  EXPECT_EQ(StoredRuns(), 8);
}

TEST_F(JournalTest, OwnerFlushesAndAnotherReplicasSweepsRacingApplyEachBatchOnce) {
  std::unique_ptr<common::PgPool> other_pool = TestPool(db_.dsn());
  std::unique_ptr<PgMonitorStore> sweeper = MakeStore(*other_pool);
  constexpr int kBatches = 40;
  std::atomic<bool> done{false};
  std::atomic<int64_t> flushed{0}, swept{0};
  std::thread writer([&] {
    for (int i = 1; i <= kBatches; ++i) {
      ASSERT_THAT(Commit(Runs("p", i, absl::StrCat("wf-", i % 5), 3, RunStatus::kSucceeded,
                              kStart + absl::Minutes(i % 3))),
                  IsOk());
    }
    done = true;
  });
  std::thread flusher([&] {
    for (int i = 0; i < 200 && !done; ++i) {
      absl::StatusOr<int64_t> n = store_->FlushRollups(kStart);
      ASSERT_THAT(n, IsOk());
      flushed += *n;
    }
  });
  std::thread sweeping([&] {
    for (int i = 0; i < 200 && !done; ++i) {
      absl::StatusOr<int64_t> n = sweeper->SweepJournal(kStart, absl::ZeroDuration(), 5);
      ASSERT_THAT(n, IsOk());
      swept += *n;
    }
  });
  writer.join();
  flusher.join();
  sweeping.join();
  absl::StatusOr<int64_t> last = store_->FlushRollups(kStart);
  ASSERT_THAT(last, IsOk());
  flushed += *last;
  EXPECT_EQ(JournalRows(), 0);
  EXPECT_EQ(store_->PendingJournalRows(), 0u);
  EXPECT_EQ(flushed + swept, kBatches);
  EXPECT_EQ(StoredRuns(), 3 * kBatches);
  EXPECT_EQ(Scalar("SELECT sum(sum)::bigint FROM monitor.rollups_1m "
                   "WHERE metric = 'workflow_duration_seconds'"),
            kBatches * (1 + 2 + 3));
}

TEST_F(JournalTest, ACorruptJournalRowIsQuarantinedAndTheOthersApplied) {
  std::unique_ptr<common::PgPool> dead_pool = TestPool(db_.dsn());
  {
    std::unique_ptr<PgMonitorStore> dead = MakeStore(*dead_pool);
    ASSERT_THAT(Commit(Runs("dead", 1, "triage", 3, RunStatus::kSucceeded, kStart), dead.get()),
                IsOk());
  }
  const int64_t bad_id = Scalar(
      "INSERT INTO monitor.ingest_journal (tenant_id, cells) VALUES ('acme', '\\x01ff') "
      "RETURNING id");
  int64_t quarantined = -1;
  EXPECT_THAT(store_->SweepJournal(kStart, absl::ZeroDuration(), 64, &quarantined),
              IsOkAndHolds(2));
  EXPECT_EQ(quarantined, 1);
  // The valid row is applied; the bad one is out of the journal, kept whole
  // with the decoder's reason, and never applied.
  EXPECT_EQ(JournalRows(), 0);
  EXPECT_EQ(StoredRuns(), 3);
  EXPECT_EQ(Scalar(absl::StrCat("SELECT count(*) FROM monitor.ingest_journal_quarantine "
                                "WHERE id = ",
                                bad_id,
                                " AND tenant_id = 'acme' AND cells = "
                                "'\\x01ff' AND reason <> '' AND created_at <= quarantined_at")),
            1);
  EXPECT_THAT(store_->SweepJournal(kStart, absl::ZeroDuration(), 64, &quarantined),
              IsOkAndHolds(0));
  EXPECT_EQ(quarantined, 0);
  EXPECT_EQ(StoredRuns(), 3);
}

TEST_F(JournalTest, TheWorkerSweepsPastItsLimitAndFlushesWhenStopped) {
  {
    std::unique_ptr<common::PgPool> dead_pool = TestPool(db_.dsn());
    std::unique_ptr<PgMonitorStore> dead = MakeStore(*dead_pool);
    for (int seq = 1; seq <= RollupFlushWorker::kSweepLimit + 6; ++seq) {
      ASSERT_THAT(Commit(Runs("dead", seq, "triage", 1, RunStatus::kSucceeded, kStart), dead.get()),
                  IsOk());
    }
  }
  common::FakeClock clock(kStart);
  RollupFlushWorker sweeping(*store_, clock, absl::Seconds(1), absl::ZeroDuration());
  EXPECT_THAT(sweeping.SweepOnce(), IsOkAndHolds(RollupFlushWorker::kSweepLimit + 6));
  EXPECT_EQ(StoredRuns(), RollupFlushWorker::kSweepLimit + 6);

  // Started and stopped at once: the last flush applies this replica's
  // pending rows whatever the interval; the young rows are not swept.
  ASSERT_THAT(Commit(Runs("p", 1, "triage", 2, RunStatus::kSucceeded, kStart)), IsOk());
  RollupFlushWorker worker(*store_, clock, absl::Hours(1), absl::Hours(10));
  worker.Start();
  worker.Stop();
  EXPECT_EQ(store_->PendingJournalRows(), 0u);
  EXPECT_EQ(JournalRows(), 0);
  EXPECT_EQ(StoredRuns(), RollupFlushWorker::kSweepLimit + 8);
}

// The loop's sweeps and flushes reach the service's metrics: rows swept from
// a dead writer and one quarantined, flushes by result and this replica's
// pending rows.
TEST_F(JournalTest, TheWorkerCountsSweptRowsFlushesAndPendingRows) {
  {
    std::unique_ptr<common::PgPool> dead_pool = TestPool(db_.dsn());
    std::unique_ptr<PgMonitorStore> dead = MakeStore(*dead_pool);
    for (int seq = 1; seq <= 3; ++seq) {
      ASSERT_THAT(Commit(Runs("dead", seq, "triage", 1, RunStatus::kSucceeded, kStart), dead.get()),
                  IsOk());
    }
  }
  ASSERT_EQ(Scalar("INSERT INTO monitor.ingest_journal (tenant_id, cells) "
                   "VALUES ('acme', '\\x01ff') RETURNING 1"),
            1);
  prometheus::Registry registry;
  MonitorMetrics metrics(registry, "agentwatch_monitor");
  metrics.journal_pending_rows.Set(7);  // a stale figure the flush must replace
  common::FakeClock clock(kStart);
  // The loop sweeps first, so Start then Stop sweeps once and flushes once.
  RollupFlushWorker worker(*store_, clock, absl::Hours(1), absl::ZeroDuration(), &metrics);
  worker.Start();
  worker.Stop();
  EXPECT_EQ(StoredRuns(), 3);
  EXPECT_EQ(metrics.journal_swept_rows.Value(), 3);
  EXPECT_EQ(metrics.journal_quarantined_rows.Value(), 1);
  EXPECT_EQ(metrics.journal_sweeps.Add({{"result", "ok"}}).Value(), 1);
  EXPECT_EQ(metrics.journal_sweeps.Add({{"result", "error"}}).Value(), 0);
  EXPECT_EQ(metrics.rollup_flushes.Add({{"result", "ok"}}).Value(), 1);
  EXPECT_EQ(metrics.rollup_flushes.Add({{"result", "error"}}).Value(), 0);
  EXPECT_EQ(metrics.journal_pending_rows.Value(), 0);
}

}  // namespace
}  // namespace agentwatch::monitor
