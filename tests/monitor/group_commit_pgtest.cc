// PgMonitorStore's group commit against the real Postgres: concurrent
// batches merged into one transaction give exactly the totals of a serial
// run; duplicates inside one group and across groups; one producer's
// sequences out of order in one group; a batch over the
// series limit fails alone while the rest of its group commits; the built-in
// alert fires once when the crossing batch shares a group; alert rules take
// effect on the next batch after they are written (through this replica or
// another one); the sketch cache writes cells without reading them while they
// are current and merges again those another replica wrote in between.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentwatch/cost/v1/cost.pb.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/outbox.h"
#include "common/pg.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "common/testing/test_pool.h"
#include "monitor/core/alert_rules.h"
#include "monitor/core/quantile_sketch.h"
#include "monitor/core/rollup.h"
#include "monitor/core/rules.h"
#include "monitor/store/batch_merge.h"
#include "monitor/store/migrations.h"
#include "monitor/store/pg_monitor_store.h"
#include "monitor/store/sketch_cell_cache.h"
#include "test_events.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::agentwatch::testing::TestDatabase;
using ::agentwatch::testing::TestPool;
using fixtures::MakeCall;
using fixtures::MakeEvent;
using fixtures::MakeExecution;
using fixtures::MakeRun;
using ::testing::ElementsAre;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'040);  // a whole minute

// Waits (polling) until `done` holds; false after 20 s.
bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A batch of varied events (LLM calls with sketched latencies, agent
// executions, workflow runs) over two tenants and three minutes. Values are
// multiples of 1/8 so that sums do not depend on the order of addition.
Batch RandomBatch(const std::string& producer, uint64_t sequence, std::mt19937_64& rng) {
  Batch batch;
  batch.producer_id = producer;
  batch.sequence = sequence;
  const char* models[] = {"gpt-4o", "gpt-4o-mini", "claude"};
  const char* workflows[] = {"triage", "answer"};
  for (int i = 0; i < 40; ++i) {
    const absl::Time time = kStart + absl::Seconds(static_cast<int64_t>(rng() % 180));
    const std::string tenant = rng() % 2 ? "acme" : "globex";
    switch (rng() % 3) {
      case 0: {
        LlmCall call = MakeCall(models[rng() % 3],
                                rng() % 5 == 0 ? RunStatus::kFailed : RunStatus::kSucceeded);
        call.latency = absl::Milliseconds(125 * static_cast<int64_t>(1 + rng() % 40));
        call.time_to_first_token = absl::Milliseconds(250);
        call.input_tokens = static_cast<int64_t>(rng() % 1000);
        batch.events.push_back(MakeEvent(call, time, tenant));
        break;
      }
      case 1:
        batch.events.push_back(
            MakeEvent(MakeExecution("planner", RunStatus::kSucceeded, static_cast<int>(rng() % 3)),
                      time, tenant));
        break;
      default:
        batch.events.push_back(
            MakeEvent(MakeRun(workflows[rng() % 2],
                              rng() % 4 == 0 ? RunStatus::kFailed : RunStatus::kSucceeded,
                              absl::Milliseconds(250 * static_cast<int64_t>(1 + rng() % 20))),
                      time, tenant));
    }
  }
  return batch;
}

// One database with a store whose group commit runs one group at a time
// (so a test can hold the first group and queue the next), recording the
// size of every group.
class GroupCommitTest : public ::testing::Test {
 protected:
  GroupCommitTest() : rule_(ErrorRateAlertConfig{}) {}

  void SetUp() override {
    pool_ = TestPool(db_.dsn(), 6);
    ASSERT_THAT(common::ApplyMigrations(*pool_, kOutboxSchema, Migrations()), IsOk());
    MakeStore();
  }

  // (Re)creates store_ with limits_; the first group of the store waits in
  // its leader until `hold_until_queued_` batches are queued behind it.
  void MakeStore() {
    PgMonitorStoreOptions options;
    options.max_concurrent_groups = 1;
    options.before_group = [this](size_t n) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        group_sizes_.push_back(n);
      }
      if (groups_.fetch_add(1) == 0 && hold_until_queued_ > 0) {
        EXPECT_TRUE(WaitFor([this] { return store_->QueuedBatches() >= hold_until_queued_; }));
      }
    };
    store_ = std::make_unique<PgMonitorStore>(*pool_, limits_,
                                              std::vector<const RuleEvaluator*>{&rule_}, options);
  }

  // Commits `batches` from one thread each, queued in their order behind the
  // first (which leads a group of its own, held until the rest queued).
  std::vector<absl::StatusOr<CommitResult>> CommitQueued(const std::vector<Batch>& batches,
                                                         absl::Time now) {
    hold_until_queued_ = batches.size() - 1;
    std::vector<absl::StatusOr<CommitResult>> results(batches.size(),
                                                      absl::UnknownError("not run"));
    std::vector<BatchAggregate> aggregates;
    for (const Batch& batch : batches) aggregates.push_back(AggregateBatch(batch));
    std::vector<std::thread> threads;
    for (size_t i = 0; i < batches.size(); ++i) {
      threads.emplace_back([&, i] {
        results[i] =
            store_->CommitBatch(batches[i].producer_id, batches[i].sequence, aggregates[i], now);
      });
      // The first is the held leader; each next one queues before the one after.
      if (i == 0) {
        EXPECT_TRUE(WaitFor([this] { return groups_.load() >= 1; }));
      } else {
        EXPECT_TRUE(WaitFor([this, i] { return store_->QueuedBatches() >= i; }));
      }
    }
    for (std::thread& t : threads) t.join();
    return results;
  }

  int64_t Scalar(const std::string& sql, common::PgPool* pool = nullptr) {
    absl::StatusOr<int64_t> value =
        (pool ? pool : pool_.get())->Transact<int64_t>([&](pqxx::work& txn) {
          return absl::StatusOr<int64_t>(txn.exec(sql)[0][0].as<int64_t>(0));
        });
    EXPECT_THAT(value, IsOk()) << sql;
    return value.value_or(-1);
  }

  // The usage records of the packed cost outbox rows, as
  // "tenant/record_id" in key order; every row's tenant matches its records'.
  std::vector<std::string> UsageRecords(common::PgPool* pool = nullptr) {
    std::vector<std::string> out;
    absl::StatusOr<int> read =
        (pool ? pool : pool_.get())->Transact<int>([&](pqxx::work& txn) -> absl::StatusOr<int> {
          for (const auto& row : txn.exec_params(
                   "SELECT tenant_id, payload FROM monitor.outbox WHERE destination = $1",
                   std::string(kCostBatchDestination))) {
            cost::v1::RecordUsageRequest packed;
            EXPECT_TRUE(packed.ParseFromString(pqxx::binarystring(row[1]).str()));
            EXPECT_GT(packed.records_size(), 0);
            for (const cost::v1::UsageRecord& record : packed.records()) {
              EXPECT_EQ(record.scope().tenant(), row[0].as<std::string>());
              out.push_back(absl::StrCat(record.scope().tenant(), "/", record.record_id()));
            }
          }
          return 0;
        });
    EXPECT_THAT(read, IsOk());
    std::sort(out.begin(), out.end());
    return out;
  }

  // Every rollup row with its sketch, as text, in key order.
  static std::vector<std::string> Rollups(common::PgPool& pool) {
    absl::StatusOr<std::vector<std::string>> rows = pool.Transact<std::vector<std::string>>(
        [](pqxx::work& txn) -> absl::StatusOr<std::vector<std::string>> {
          std::vector<std::string> out;
          for (const auto& row :
               txn.exec("SELECT tenant_id, metric, series_key, extract(epoch FROM bucket)::bigint, "
                        "count, sum, min, max, coalesce(encode(sketch, 'hex'), '-') "
                        "FROM monitor.rollups_1m ORDER BY 1, 2, 3, 4")) {
            std::string line;
            for (const auto& field : row) absl::StrAppend(&line, field.c_str(), "|");
            out.push_back(std::move(line));
          }
          return out;
        });
    EXPECT_THAT(rows, IsOk());
    return rows.value_or(std::vector<std::string>{});
  }

  std::vector<incident::v1::Alert> Alerts() {
    std::vector<incident::v1::Alert> out;
    absl::StatusOr<int> read = pool_->Transact<int>([&](pqxx::work& txn) -> absl::StatusOr<int> {
      for (const auto& row :
           txn.exec_params("SELECT payload FROM monitor.outbox WHERE destination = $1 ORDER BY id",
                           std::string(kIncidentDestination))) {
        incident::v1::Alert alert;
        EXPECT_TRUE(alert.ParseFromString(pqxx::binarystring(row[0]).str()));
        out.push_back(alert);
      }
      return 0;
    });
    EXPECT_THAT(read, IsOk());
    return out;
  }

  TestDatabase db_;
  WorkflowErrorRateRule rule_;
  StoreLimits limits_;
  std::unique_ptr<common::PgPool> pool_;
  std::unique_ptr<PgMonitorStore> store_;
  std::mutex mu_;
  std::vector<size_t> group_sizes_;
  std::atomic<int> groups_{0};
  size_t hold_until_queued_ = 0;
};

TEST_F(GroupCommitTest, ConcurrentBatchesGiveTheTotalsOfASerialRun) {
  constexpr int kThreads = 8;
  constexpr int kBatchesPerThread = 6;
  std::mt19937_64 rng(7);
  std::vector<std::vector<Batch>> batches(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (int b = 0; b < kBatchesPerThread; ++b) {
      batches[t].push_back(RandomBatch(absl::StrCat("producer-", t), b + 1, rng));
    }
  }
  const absl::Time now = kStart + absl::Minutes(3);

  // Serially, one batch after the other, on a database of its own.
  TestDatabase serial_db;
  std::unique_ptr<common::PgPool> serial_pool = TestPool(serial_db.dsn(), 6);
  ASSERT_THAT(common::ApplyMigrations(*serial_pool, kOutboxSchema, Migrations()), IsOk());
  PgMonitorStore serial(*serial_pool, limits_, {&rule_});
  int64_t serial_fired = 0;
  for (int b = 0; b < kBatchesPerThread; ++b) {
    for (int t = 0; t < kThreads; ++t) {
      const Batch& batch = batches[t][b];
      absl::StatusOr<CommitResult> result =
          serial.CommitBatch(batch.producer_id, batch.sequence, AggregateBatch(batch), now);
      ASSERT_THAT(result, IsOk());
      serial_fired += result->alerts.fired;
    }
  }

  // Concurrently: every thread sends its batches one after the other; the
  // first group is held until all other threads queued, so groups form.
  hold_until_queued_ = kThreads - 1;
  std::atomic<int64_t> accepted{0}, duplicates{0}, fired{0}, outbox{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const Batch& batch : batches[t]) {
        absl::StatusOr<CommitResult> result =
            store_->CommitBatch(batch.producer_id, batch.sequence, AggregateBatch(batch), now);
        ASSERT_THAT(result, IsOk());
        accepted += result->accepted;
        duplicates += result->duplicate ? 1 : 0;
        fired += result->alerts.fired;
        outbox += result->outbox_enqueued;
      }
    });
  }
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(accepted.load(), kThreads * kBatchesPerThread * 40);
  EXPECT_EQ(duplicates.load(), 0);
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_LT(group_sizes_.size(), static_cast<size_t>(kThreads * kBatchesPerThread));
    EXPECT_GE(*std::max_element(group_sizes_.begin(), group_sizes_.end()),
              static_cast<size_t>(kThreads - 1));
  }
  const std::vector<std::string> grouped_rows = Rollups(*pool_);
  const std::vector<std::string> serial_rows = Rollups(*serial_pool);
  ASSERT_FALSE(serial_rows.empty());
  ASSERT_EQ(grouped_rows.size(), serial_rows.size());
  for (size_t i = 0; i < serial_rows.size(); ++i) EXPECT_EQ(grouped_rows[i], serial_rows[i]);
  for (const char* sql : {"SELECT count(*) FROM monitor.series",
                          "SELECT sum(series_count) FROM monitor.tenant_series",
                          "SELECT count(*) FROM monitor.ingest_batches",
                          "SELECT sum(event_count) FROM monitor.ingest_batches",
                          "SELECT count(*) FROM monitor.outbox "
                          "WHERE destination = 'cost.RecordUsage'"}) {
    EXPECT_EQ(Scalar(sql), Scalar(sql, serial_pool.get())) << sql;
  }
  // The same usage records, each once, packed into fewer rows by the groups.
  const std::vector<std::string> usage = UsageRecords();
  ASSERT_FALSE(usage.empty());
  EXPECT_EQ(usage, UsageRecords(serial_pool.get()));
  EXPECT_EQ(std::adjacent_find(usage.begin(), usage.end()), usage.end());
  EXPECT_LT(Scalar("SELECT count(*) FROM monitor.outbox WHERE destination = "
                   "'cost.RecordUsageBatch'"),
            Scalar("SELECT count(*) FROM monitor.outbox WHERE destination = "
                   "'cost.RecordUsageBatch'",
                   serial_pool.get()));
  EXPECT_EQ(outbox.load(), static_cast<int64_t>(usage.size()) +
                               Scalar("SELECT count(*) FROM monitor.outbox WHERE destination = "
                                      "'incident.ReportAlerts'"));
  EXPECT_EQ(fired.load(), Scalar("SELECT count(*) FROM monitor.alert_state WHERE firing"));
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE firing"),
            Scalar("SELECT count(*) FROM monitor.alert_state WHERE firing", serial_pool.get()));
  EXPECT_GT(serial_fired, 0);
}

TEST_F(GroupCommitTest, DuplicatesInsideOneGroupAndAcrossGroups) {
  auto runs = [](const std::string& producer, uint64_t sequence, int n) {
    Batch batch;
    batch.producer_id = producer;
    batch.sequence = sequence;
    for (int i = 0; i < n; ++i) {
      batch.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kSucceeded), kStart));
    }
    return batch;
  };
  // x/1 leads a group alone; then x/1 again (a duplicate of the committed
  // one), y/1, y/1 again (same group: deferred to the next one) and x/2.
  const std::vector<absl::StatusOr<CommitResult>> results = CommitQueued(
      {runs("x", 1, 1), runs("x", 1, 1), runs("y", 1, 2), runs("y", 1, 2), runs("x", 2, 4)},
      kStart + absl::Minutes(1));
  for (const auto& result : results) ASSERT_THAT(result, IsOk());
  EXPECT_FALSE(results[0]->duplicate);
  EXPECT_TRUE(results[1]->duplicate);
  EXPECT_EQ(results[1]->accepted, 0);
  EXPECT_FALSE(results[2]->duplicate);
  EXPECT_EQ(results[2]->accepted, 2);
  EXPECT_TRUE(results[3]->duplicate);
  EXPECT_FALSE(results[4]->duplicate);
  EXPECT_EQ(results[4]->accepted, 4);
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_THAT(group_sizes_, ElementsAre(1, 3, 1));
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.ingest_batches"), 3);
  EXPECT_EQ(Scalar("SELECT sum(count) FROM monitor.rollups_1m "
                   "WHERE metric = 'workflow_runs_total'"),
            7);
}

// A producer with several batches in flight (a shipper's sending queue):
// its sequences queue in any order and share one group, each counted once; a
// second copy queued with them waits for the next group, where it is a
// duplicate, and so is every replay afterwards.
TEST_F(GroupCommitTest, OneProducersSequencesOutOfOrderShareAGroupAndCountOnce) {
  auto runs = [](uint64_t sequence, int n) {
    Batch batch;
    batch.producer_id = "shipper";
    batch.sequence = sequence;
    for (int i = 0; i < n; ++i) {
      batch.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kSucceeded), kStart));
    }
    return batch;
  };
  // shipper/3 leads a group alone; then 5, 1, 4, 2 and 4 again queue behind it.
  const std::vector<Batch> batches = {runs(3, 1), runs(5, 2),  runs(1, 4),
                                      runs(4, 8), runs(2, 16), runs(4, 8)};
  const absl::Time now = kStart + absl::Minutes(1);
  const std::vector<absl::StatusOr<CommitResult>> results = CommitQueued(batches, now);
  for (size_t i = 0; i + 1 < results.size(); ++i) {
    ASSERT_THAT(results[i], IsOk());
    EXPECT_FALSE(results[i]->duplicate) << batches[i].sequence;
    EXPECT_EQ(results[i]->accepted, static_cast<int64_t>(batches[i].events.size()));
  }
  ASSERT_THAT(results.back(), IsOk());
  EXPECT_TRUE(results.back()->duplicate);
  EXPECT_EQ(results.back()->accepted, 0);
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_THAT(group_sizes_, ElementsAre(1, 4, 1));
  }
  for (uint64_t sequence : {1, 2, 3, 4, 5}) {
    absl::StatusOr<CommitResult> replay =
        store_->CommitBatch("shipper", sequence, AggregateBatch(runs(sequence, 1)), now);
    ASSERT_THAT(replay, IsOk());
    EXPECT_TRUE(replay->duplicate) << sequence;
    EXPECT_EQ(replay->accepted, 0);
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.ingest_batches"), 5);
  EXPECT_EQ(Scalar("SELECT sum(event_count) FROM monitor.ingest_batches"), 31);
  EXPECT_EQ(Scalar("SELECT sum(count) FROM monitor.rollups_1m "
                   "WHERE metric = 'workflow_runs_total'"),
            31);
}

TEST_F(GroupCommitTest, ABatchOverTheSeriesLimitFailsAloneAndTheOthersCommit) {
  limits_.max_series_per_tenant = 8;
  MakeStore();
  Batch calls;  // 8 series of acme: exactly the limit
  calls.producer_id = "p";
  calls.sequence = 1;
  calls.events.push_back(MakeEvent(MakeCall("gpt-4o"), kStart));
  Batch other_tenant;  // globex is far from its limit
  other_tenant.producer_id = "q";
  other_tenant.sequence = 1;
  other_tenant.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kFailed), kStart, "globex"));
  Batch over;  // 2 more series of acme
  over.producer_id = "p";
  over.sequence = 2;
  over.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kFailed), kStart));
  Batch fits;  // acme's existing series only
  fits.producer_id = "r";
  fits.sequence = 1;
  fits.events.push_back(MakeEvent(MakeCall("gpt-4o"), kStart));
  Batch first;  // holds the first group
  first.producer_id = "z";
  first.sequence = 1;
  first.events.push_back(MakeEvent(MakeRun("lead", RunStatus::kSucceeded), kStart, "initech"));

  const std::vector<absl::StatusOr<CommitResult>> results =
      CommitQueued({first, calls, other_tenant, over, fits}, kStart + absl::Minutes(1));
  ASSERT_THAT(results[0], IsOk());
  ASSERT_THAT(results[1], IsOk());
  EXPECT_EQ(results[1]->accepted, 1);
  ASSERT_THAT(results[2], IsOk());
  EXPECT_EQ(results[2]->accepted, 1);
  EXPECT_THAT(results[3], StatusIs(absl::StatusCode::kResourceExhausted,
                                   "events: tenant \"acme\" would have 10 active series, at "
                                   "most 8"));
  ASSERT_THAT(results[4], IsOk());
  EXPECT_EQ(results[4]->accepted, 1);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSERT_GE(group_sizes_.size(), 2u);
    EXPECT_EQ(group_sizes_[1], 4u);  // the shared attempt, then each alone
  }
  // Nothing of the rejected batch: its claim, series, rollups, outbox rows.
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.ingest_batches WHERE producer_id = 'p' AND "
                   "sequence = 2"),
            0);
  EXPECT_EQ(Scalar("SELECT series_count FROM monitor.tenant_series WHERE tenant_id = 'acme'"), 8);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.series WHERE tenant_id = 'acme'"), 8);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.rollups_1m WHERE tenant_id = 'acme' AND "
                   "metric LIKE 'workflow%'"),
            0);
  EXPECT_EQ(Scalar("SELECT count FROM monitor.rollups_1m WHERE tenant_id = 'acme' AND "
                   "metric = 'llm_calls_total'"),
            2);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.rollups_1m WHERE tenant_id = 'globex'"), 2);
  EXPECT_EQ(UsageRecords().size(), 2u);
  // The producer may retry the sequence once it fits.
  over.events = {MakeEvent(MakeCall("gpt-4o"), kStart)};
  absl::StatusOr<CommitResult> retried =
      store_->CommitBatch(over.producer_id, over.sequence, AggregateBatch(over), kStart);
  ASSERT_THAT(retried, IsOk());
  EXPECT_FALSE(retried->duplicate);
}

TEST_F(GroupCommitTest, TheAlertFiresOnceWhenTheCrossingBatchIsInAGroup) {
  // Four batches of 3 failed runs each: none alone reaches the 10 runs the
  // error-rate alert needs; the group of the last three (9) plus the first
  // (3) does.
  std::vector<Batch> batches;
  for (int i = 0; i < 4; ++i) {
    Batch batch;
    batch.producer_id = absl::StrCat("p", i);
    batch.sequence = 1;
    for (int j = 0; j < 3; ++j) {
      batch.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kFailed), kStart));
    }
    batches.push_back(std::move(batch));
  }
  const std::vector<absl::StatusOr<CommitResult>> results =
      CommitQueued(batches, kStart + absl::Minutes(1));
  int fired = 0;
  int carrying = 0;
  for (const auto& result : results) {
    ASSERT_THAT(result, IsOk());
    fired += result->alerts.fired;
    if (result->alerts.fired > 0) ++carrying;
  }
  EXPECT_EQ(results[0]->alerts.fired, 0);
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(carrying, 1);
  const std::vector<incident::v1::Alert> alerts = Alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].status(), incident::v1::ALERT_STATUS_FIRING);
  EXPECT_EQ(alerts[0].labels().at("workflow"), "triage");
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE firing"), 1);

  // More failures in a later group keep it firing without a second notice.
  Batch more = batches[0];
  more.sequence = 2;
  ASSERT_THAT(store_->CommitBatch(more.producer_id, more.sequence, AggregateBatch(more),
                                  kStart + absl::Minutes(1)),
              IsOk());
  EXPECT_EQ(Alerts().size(), 1u);
}

AlertRule FailedRunsRule() {
  AlertRule rule;
  rule.name = "TriageFailing";
  rule.tenant = "acme";
  rule.condition.metric = "workflow_runs_total";
  rule.condition.matchers = {{"status", MatchOp::kEqual, "failed"}};
  rule.condition.group_by = {"workflow"};
  rule.condition.comparison = Comparison::kGreaterOrEqual;
  rule.condition.threshold = 3;
  rule.condition.window = absl::Minutes(5);
  rule.severity = Severity::kP1;
  NormalizeAlertRule(&rule);
  return rule;
}

TEST_F(GroupCommitTest, ANewAlertRuleTakesEffectOnTheNextBatchOnEveryReplica) {
  std::unique_ptr<common::PgPool> other_pool = TestPool(db_.dsn(), 6);
  PgMonitorStore other(*other_pool, limits_, {});
  const absl::Time now = kStart + absl::Minutes(1);
  auto commit_and_evaluate = [&](PgMonitorStore& store, const std::string& producer,
                                 uint64_t sequence) -> int {
    Batch batch;
    batch.producer_id = producer;
    batch.sequence = sequence;
    batch.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kFailed), kStart));
    const BatchAggregate aggregate = AggregateBatch(batch);
    EXPECT_THAT(store.CommitBatch(producer, sequence, aggregate, now), IsOk());
    absl::StatusOr<SweepResult> evaluated = store.EvaluateAlertRules(aggregate, now);
    EXPECT_THAT(evaluated, IsOk());
    return evaluated.ok() ? evaluated->alerts.fired : -1;
  };
  // Both replicas learn that acme has no rules (2 failed runs stored).
  EXPECT_EQ(commit_and_evaluate(*store_, "a", 1), 0);
  EXPECT_EQ(commit_and_evaluate(other, "b", 1), 0);

  // A rule written through the other replica: this one's next batch (3
  // failed runs) fires it.
  absl::StatusOr<RuleWriteResult> created = other.CreateAlertRule(FailedRunsRule(), "", now);
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->alerts.fired, 0);
  EXPECT_EQ(commit_and_evaluate(*store_, "a", 2), 1);

  // A rule on another metric written through this replica: its next
  // evaluation, even without a group in between, sees it.
  AlertRule calls = FailedRunsRule();
  calls.name = "Calls";
  calls.condition.metric = "llm_calls_total";
  calls.condition.matchers.clear();
  calls.condition.group_by.clear();
  calls.condition.threshold = 1;
  calls.for_duration = absl::Seconds(30);
  NormalizeAlertRule(&calls);
  Batch call;
  call.producer_id = "c";
  call.sequence = 1;
  call.events.push_back(MakeEvent(MakeCall("gpt-4o"), kStart));
  const BatchAggregate call_aggregate = AggregateBatch(call);
  ASSERT_THAT(store_->CommitBatch("c", 1, call_aggregate, now), IsOk());
  absl::StatusOr<SweepResult> evaluated = store_->EvaluateAlertRules(call_aggregate, now);
  ASSERT_THAT(evaluated, IsOk());
  EXPECT_EQ(evaluated->alerts.fired, 0);  // no rule on llm_calls_total yet
  // Pending for 30 s at creation; fires when evaluated a minute later.
  absl::StatusOr<RuleWriteResult> pending = store_->CreateAlertRule(calls, "", now);
  ASSERT_THAT(pending, IsOk());
  EXPECT_EQ(pending->alerts.fired, 0);
  evaluated = store_->EvaluateAlertRules(call_aggregate, now + absl::Minutes(1));
  ASSERT_THAT(evaluated, IsOk());
  EXPECT_EQ(evaluated->alerts.fired, 1);
}

TEST_F(GroupCommitTest, TwoReplicasWritingTheSameSketchedRowsLoseNothing) {
  // Two stores (replicas) with concurrent groups each, all writing the LLM
  // latency sketches of the same few cells: a replica's read of a row can be
  // outdated by the other's write before its update, which must then merge
  // again instead of overwriting.
  std::unique_ptr<common::PgPool> other_pool = TestPool(db_.dsn(), 6);
  PgMonitorStoreOptions options;
  options.max_concurrent_groups = 2;
  PgMonitorStore a(*pool_, limits_, {}, options);
  PgMonitorStore b(*other_pool, limits_, {}, options);
  constexpr int kThreads = 6;
  constexpr int kBatches = 15;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      PgMonitorStore& store = t % 2 ? a : b;
      for (int i = 0; i < kBatches; ++i) {
        Batch batch;
        batch.producer_id = absl::StrCat("p", t);
        batch.sequence = i + 1;
        for (int j = 0; j < 5; ++j) {
          LlmCall call = MakeCall(j % 2 ? "gpt-4o" : "claude");
          call.latency = absl::Milliseconds(125 * (1 + (t * 7 + i * 3 + j) % 30));
          batch.events.push_back(MakeEvent(call, kStart + absl::Seconds(50 * (j % 2))));
        }
        ASSERT_THAT(store.CommitBatch(batch.producer_id, batch.sequence, AggregateBatch(batch),
                                      kStart + absl::Minutes(2)),
                    IsOk());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  absl::StatusOr<int> checked = pool_->Transact<int>([&](pqxx::work& txn) -> absl::StatusOr<int> {
    int rows = 0;
    for (const auto& row : txn.exec("SELECT metric, count, sketch FROM monitor.rollups_1m "
                                    "WHERE sketch IS NOT NULL")) {
      const pqxx::binarystring bytes(row[2]);
      absl::StatusOr<QuantileSketch> sketch = QuantileSketch::Deserialize(
          absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
      EXPECT_THAT(sketch, IsOk());
      if (sketch.ok()) {
        EXPECT_EQ(sketch->count(), row[1].as<int64_t>()) << row[0].c_str();
      }
      ++rows;
    }
    return rows;
  });
  ASSERT_THAT(checked, IsOk());
  EXPECT_GT(*checked, 0);
  EXPECT_EQ(Scalar("SELECT sum(count) FROM monitor.rollups_1m WHERE metric = 'llm_calls_total'"),
            kThreads * kBatches * 5);
  EXPECT_EQ(Scalar("SELECT max(count) FROM monitor.rollups_1m WHERE metric = "
                   "'llm_latency_seconds'"),
            kThreads * kBatches * 3);  // claude: j = 0, 2, 4
}

// The sketches of every sketched row, checked against `expected` (the merge
// of every batch written): each row's sketch is exactly the expected one and
// counts the row's count. Returns the rows checked.
int CheckSketches(common::PgPool& pool, const BatchAggregate& expected) {
  std::map<std::string, const RollupDelta*> cells;
  for (const RollupDelta& delta : expected.rollups) {
    if (delta.sketch.has_value()) {
      cells[SketchCellCache::Key(delta.tenant, delta.metric, delta.series_key, delta.bucket)] =
          &delta;
    }
  }
  absl::StatusOr<int> checked = pool.Transact<int>([&](pqxx::work& txn) -> absl::StatusOr<int> {
    int rows = 0;
    for (const auto& row : txn.exec(
             "SELECT tenant_id, metric, series_key, extract(epoch FROM bucket)::bigint, count, "
             "sketch FROM monitor.rollups_1m WHERE sketch IS NOT NULL")) {
      const std::string key = SketchCellCache::Key(row[0].c_str(), row[1].c_str(), row[2].c_str(),
                                                   absl::FromUnixSeconds(row[3].as<int64_t>()));
      const auto it = cells.find(key);
      EXPECT_NE(it, cells.end()) << key;
      if (it == cells.end()) continue;
      const pqxx::binarystring bytes(row[5]);
      absl::StatusOr<QuantileSketch> sketch = QuantileSketch::Deserialize(
          absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
      EXPECT_THAT(sketch, IsOk()) << key;
      if (!sketch.ok()) continue;
      EXPECT_EQ(sketch->count(), row[4].as<int64_t>()) << key;
      EXPECT_EQ(row[4].as<int64_t>(), it->second->stats.count) << key;
      EXPECT_TRUE(*sketch == *it->second->sketch) << key;
      ++rows;
    }
    return rows;
  });
  EXPECT_THAT(checked, IsOk());
  EXPECT_EQ(checked.value_or(-1), static_cast<int>(cells.size()));
  return checked.value_or(-1);
}

// A batch of LLM calls (sketched latencies) of three models in two minutes.
Batch LatencyBatch(const std::string& producer, uint64_t sequence) {
  Batch batch;
  batch.producer_id = producer;
  batch.sequence = sequence;
  const char* models[] = {"gpt-4o", "claude", "gpt-4o-mini"};
  for (int j = 0; j < 12; ++j) {
    LlmCall call = MakeCall(models[j % 3]);
    call.latency = absl::Milliseconds(125 * (1 + (sequence * 5 + j * 3) % 40));
    batch.events.push_back(MakeEvent(call, kStart + absl::Seconds(20 * (j % 6))));
  }
  return batch;
}

TEST_F(GroupCommitTest, ACachedCellAnotherReplicaWroteInBetweenIsMergedAgain) {
  // Replica A caches the sketches it commits and writes them next time
  // without reading them; replica B writes the same cells in between, so A's
  // guarded update finds their counts moved and merges the stored sketches
  // again. Every row ends with exactly the sketch of all values.
  std::unique_ptr<common::PgPool> other_pool = TestPool(db_.dsn(), 6);
  PgMonitorStore a(*pool_, limits_, {});
  PgMonitorStore b(*other_pool, limits_, {});
  std::vector<BatchAggregate> aggregates;
  const auto commit = [&](PgMonitorStore& store, const std::string& producer, uint64_t sequence) {
    aggregates.push_back(AggregateBatch(LatencyBatch(producer, sequence)));
    ASSERT_THAT(store.CommitBatch(producer, sequence, aggregates.back(), kStart + absl::Minutes(2)),
                IsOk());
  };
  commit(a, "a", 1);  // A: not cached yet, inserted
  const SketchCellCache::Stats first = a.SketchCacheStats();
  EXPECT_EQ(first.hits, 0);
  EXPECT_GT(first.misses, 0);
  const int64_t cells = first.misses;

  commit(a, "a", 2);  // A: every cell cached and still current
  SketchCellCache::Stats stats = a.SketchCacheStats();
  EXPECT_EQ(stats.hits, cells);
  EXPECT_EQ(stats.misses, cells);
  EXPECT_EQ(stats.stale, 0);

  commit(b, "b", 1);  // B: reads, merges, writes every cell
  EXPECT_EQ(b.SketchCacheStats().hits, 0);
  EXPECT_EQ(b.SketchCacheStats().misses, cells);

  commit(a, "a", 3);  // A: cached, but every count moved: merged again
  stats = a.SketchCacheStats();
  EXPECT_EQ(stats.hits, 2 * cells);
  EXPECT_EQ(stats.stale, cells);

  commit(a, "a", 4);  // A: the fallback refreshed the cache
  stats = a.SketchCacheStats();
  EXPECT_EQ(stats.hits, 3 * cells);
  EXPECT_EQ(stats.stale, cells);

  commit(b, "b", 2);  // B: cached by its own write, moved by A since
  EXPECT_EQ(b.SketchCacheStats().hits, cells);
  EXPECT_EQ(b.SketchCacheStats().stale, cells);

  std::vector<const BatchAggregate*> all;
  for (const BatchAggregate& aggregate : aggregates) all.push_back(&aggregate);
  absl::StatusOr<BatchAggregate> expected = MergeAggregates(all);
  ASSERT_THAT(expected, IsOk());
  EXPECT_EQ(CheckSketches(*pool_, *expected), cells);
}

TEST_F(GroupCommitTest, CellsOverADayOldAreAlwaysReadAndNeverCached) {
  PgMonitorStore store(*pool_, limits_, {});
  const absl::Time late = kStart + absl::Hours(25);
  const BatchAggregate first = AggregateBatch(LatencyBatch("p", 1));
  const BatchAggregate second = AggregateBatch(LatencyBatch("p", 2));
  ASSERT_THAT(store.CommitBatch("p", 1, first, late), IsOk());
  ASSERT_THAT(store.CommitBatch("p", 2, second, late), IsOk());
  const SketchCellCache::Stats stats = store.SketchCacheStats();
  EXPECT_EQ(stats.hits, 0);
  EXPECT_EQ(stats.misses, 0);  // not even looked up

  absl::StatusOr<BatchAggregate> expected = MergeAggregates({&first, &second});
  ASSERT_THAT(expected, IsOk());
  EXPECT_GT(CheckSketches(*pool_, *expected), 0);
}

// Fails every batch while `fail` is set (after the rollups were written).
class FailingEvaluator final : public RuleEvaluator {
 public:
  absl::Status OnBatch(const BatchAggregate&, RuleContext&, absl::Time,
                       RuleOutcome*) const override {
    return fail ? absl::UnavailableError("evaluator down") : absl::OkStatus();
  }
  absl::Status OnSweep(RuleContext&, absl::Time, int, RuleOutcome*) const override {
    return absl::OkStatus();
  }
  std::atomic<bool> fail{false};
};

TEST_F(GroupCommitTest, ARolledBackGroupLeavesTheSketchCacheAtTheCommittedCells) {
  FailingEvaluator evaluator;
  PgMonitorStore store(*pool_, limits_, {&evaluator});
  const BatchAggregate first = AggregateBatch(LatencyBatch("p", 1));
  ASSERT_THAT(store.CommitBatch("p", 1, first, kStart + absl::Minutes(2)), IsOk());
  const int64_t cells = store.SketchCacheStats().misses;
  ASSERT_GT(cells, 0);

  // Written, then rolled back: the cache must not take its sketches.
  evaluator.fail = true;
  const BatchAggregate lost = AggregateBatch(LatencyBatch("p", 2));
  EXPECT_THAT(store.CommitBatch("p", 2, lost, kStart + absl::Minutes(2)),
              StatusIs(absl::StatusCode::kUnavailable));
  evaluator.fail = false;

  const BatchAggregate second = AggregateBatch(LatencyBatch("p", 3));
  ASSERT_THAT(store.CommitBatch("p", 3, second, kStart + absl::Minutes(2)), IsOk());
  const SketchCellCache::Stats stats = store.SketchCacheStats();
  EXPECT_EQ(stats.stale, 0);  // the cached cells were still the committed ones
  EXPECT_EQ(stats.misses, cells);
  EXPECT_GE(stats.hits, 2 * cells);  // the failed attempt looked them up too

  absl::StatusOr<BatchAggregate> expected = MergeAggregates({&first, &second});
  ASSERT_THAT(expected, IsOk());
  EXPECT_EQ(CheckSketches(*pool_, *expected), cells);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.ingest_batches"), 2);
}

TEST(MergeAggregatesTest, AddsCellsUnitesSeriesAndKeepsUsageInOrder) {
  Batch a;
  a.producer_id = "p";
  a.sequence = 1;
  LlmCall slow = MakeCall("gpt-4o");
  slow.latency = absl::Seconds(4);
  a.events.push_back(MakeEvent(slow, kStart));
  a.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kFailed), kStart));
  Batch b;
  b.producer_id = "p";
  b.sequence = 2;
  LlmCall fast = MakeCall("gpt-4o");
  fast.latency = absl::Milliseconds(500);
  b.events.push_back(MakeEvent(fast, kStart + absl::Seconds(30)));
  b.events.push_back(MakeEvent(MakeRun("answer", RunStatus::kSucceeded), kStart, "globex"));
  Batch both;
  both.producer_id = "p";
  both.sequence = 3;
  both.events = a.events;
  both.events.insert(both.events.end(), b.events.begin(), b.events.end());

  const BatchAggregate aa = AggregateBatch(a);
  const BatchAggregate ab = AggregateBatch(b);
  absl::StatusOr<BatchAggregate> merged = MergeAggregates({&aa, &ab});
  ASSERT_THAT(merged, IsOk());
  const BatchAggregate expected = AggregateBatch(both);
  EXPECT_EQ(merged->event_count, 4);
  ASSERT_EQ(merged->series.size(), expected.series.size());
  for (size_t i = 0; i < expected.series.size(); ++i) {
    EXPECT_EQ(merged->series[i].series_key, expected.series[i].series_key);
  }
  ASSERT_EQ(merged->rollups.size(), expected.rollups.size());
  for (size_t i = 0; i < expected.rollups.size(); ++i) {
    const RollupDelta& got = merged->rollups[i];
    const RollupDelta& want = expected.rollups[i];
    EXPECT_EQ(got.series_key, want.series_key);
    EXPECT_EQ(got.bucket, want.bucket);
    EXPECT_TRUE(got.stats == want.stats) << got.metric;
    EXPECT_EQ(got.sketch.has_value(), want.sketch.has_value()) << got.metric;
    if (got.sketch.has_value() && want.sketch.has_value()) {
      EXPECT_TRUE(*got.sketch == *want.sketch) << got.metric;
    }
  }
  ASSERT_EQ(merged->workflows.size(), 2u);
  EXPECT_EQ(merged->workflows[0].tenant, "acme");
  EXPECT_EQ(merged->workflows[1].workflow, "answer");
  ASSERT_EQ(merged->usage.size(), 2u);
  EXPECT_EQ(merged->usage[0].record_id, "p:1:0");
  EXPECT_EQ(merged->usage[1].record_id, "p:2:0");
}

TEST(MergeAggregatesTest, WithoutUsageLeavesOnlyTheUsageOut) {
  Batch a;
  a.producer_id = "p";
  a.sequence = 1;
  a.events.push_back(MakeEvent(MakeCall("gpt-4o"), kStart));
  a.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kFailed), kStart));
  Batch b = a;
  b.sequence = 2;
  b.events.push_back(MakeEvent(MakeCall("gpt-4o-mini"), kStart, "globex"));
  const BatchAggregate aa = AggregateBatch(a);
  const BatchAggregate ab = AggregateBatch(b);
  for (const std::vector<const BatchAggregate*>& batches :
       std::vector<std::vector<const BatchAggregate*>>{{&aa}, {&aa, &ab}}) {
    absl::StatusOr<BatchAggregate> with = MergeAggregates(batches);
    absl::StatusOr<BatchAggregate> without = MergeAggregates(batches, /*with_usage=*/false);
    ASSERT_THAT(with, IsOk());
    ASSERT_THAT(without, IsOk());
    EXPECT_FALSE(with->usage.empty());
    EXPECT_TRUE(without->usage.empty());
    with->usage.clear();
    EXPECT_EQ(without->event_count, with->event_count);
    EXPECT_EQ(without->series.size(), with->series.size());
    ASSERT_EQ(without->rollups.size(), with->rollups.size());
    for (size_t i = 0; i < with->rollups.size(); ++i) {
      EXPECT_TRUE(without->rollups[i].stats == with->rollups[i].stats);
    }
    EXPECT_EQ(without->workflows.size(), with->workflows.size());
  }
}

// Whether `got` and `want` hold the same series, cells (totals and
// sketches), workflows and usage, in the same order.
void ExpectSameAggregate(const BatchAggregate& got, const BatchAggregate& want) {
  EXPECT_EQ(got.event_count, want.event_count);
  ASSERT_EQ(got.series.size(), want.series.size());
  for (size_t i = 0; i < want.series.size(); ++i) {
    EXPECT_EQ(got.series[i].tenant, want.series[i].tenant);
    EXPECT_EQ(got.series[i].metric, want.series[i].metric);
    EXPECT_EQ(got.series[i].series_key, want.series[i].series_key);
    EXPECT_EQ(*got.series[i].labels, *want.series[i].labels);
  }
  ASSERT_EQ(got.rollups.size(), want.rollups.size());
  for (size_t i = 0; i < want.rollups.size(); ++i) {
    const RollupDelta& a = got.rollups[i];
    const RollupDelta& b = want.rollups[i];
    EXPECT_EQ(std::tie(a.tenant, a.metric, a.series_key, a.bucket),
              std::tie(b.tenant, b.metric, b.series_key, b.bucket));
    EXPECT_TRUE(a.stats == b.stats) << a.metric << "/" << a.series_key;
    ASSERT_EQ(a.sketch.has_value(), b.sketch.has_value()) << a.metric;
    if (a.sketch.has_value()) {
      EXPECT_TRUE(*a.sketch == *b.sketch) << a.metric;
    }
  }
  ASSERT_EQ(got.workflows.size(), want.workflows.size());
  for (size_t i = 0; i < want.workflows.size(); ++i) {
    EXPECT_TRUE(got.workflows[i] == want.workflows[i]);
  }
  ASSERT_EQ(got.usage.size(), want.usage.size());
  for (size_t i = 0; i < want.usage.size(); ++i) {
    EXPECT_EQ(got.usage[i].record_id, want.usage[i].record_id);
  }
}

TEST(MergeAggregatesTest, ManyBatchesMergeLikeOneBatchOfAllTheirEvents) {
  std::mt19937_64 rng(11);
  // Up to 8 batches are merged by scanning their heads, more in a heap.
  for (int batches : {2, 3, 7, 8, 9, 20}) {
    std::vector<BatchAggregate> parts;
    Batch all;
    all.producer_id = "p";
    all.sequence = 1;
    for (int b = 0; b < batches; ++b) {
      Batch batch = RandomBatch("p", 1, rng);
      // Record ids as the one batch of all events would name them.
      for (size_t i = 0; i < batch.events.size(); ++i) {
        batch.events[i].event_id = absl::StrCat("p:1:", all.events.size() + i);
      }
      all.events.insert(all.events.end(), batch.events.begin(), batch.events.end());
      parts.push_back(AggregateBatch(batch));
    }
    std::vector<const BatchAggregate*> pointers;
    for (const BatchAggregate& part : parts) pointers.push_back(&part);
    absl::StatusOr<BatchAggregate> merged = MergeAggregates(pointers);
    ASSERT_THAT(merged, IsOk());
    SCOPED_TRACE(batches);
    ExpectSameAggregate(*merged, AggregateBatch(all));
  }
}

TEST(MergeAggregatesTest, UnsortedInputsAreMergedAsWell) {
  std::mt19937_64 rng(5);
  BatchAggregate a = AggregateBatch(RandomBatch("p", 1, rng));
  BatchAggregate b = AggregateBatch(RandomBatch("p", 2, rng));
  absl::StatusOr<BatchAggregate> sorted = MergeAggregates({&a, &b});
  ASSERT_THAT(sorted, IsOk());
  ASSERT_GT(a.rollups.size(), 2u);
  ASSERT_GT(b.series.size(), 2u);
  std::reverse(a.rollups.begin(), a.rollups.end());
  std::reverse(b.series.begin(), b.series.end());
  absl::StatusOr<BatchAggregate> unsorted = MergeAggregates({&a, &b});
  ASSERT_THAT(unsorted, IsOk());
  ExpectSameAggregate(*unsorted, *sorted);
}

TEST(MergeAggregatesTest, SketchesOfDifferentParametersAreAnInternalError) {
  std::mt19937_64 rng(3);
  BatchAggregate a = AggregateBatch(RandomBatch("p", 1, rng));
  BatchAggregate b = a;
  bool changed = false;
  for (RollupDelta& delta : b.rollups) {
    if (!delta.sketch.has_value()) continue;
    absl::StatusOr<QuantileSketch> other = QuantileSketch::Create(0.05, 64);
    ASSERT_THAT(other, IsOk());
    ASSERT_TRUE(other->Add(1.0));
    delta.sketch = *other;
    changed = true;
    break;
  }
  ASSERT_TRUE(changed);
  EXPECT_THAT(MergeAggregates({&a, &b}),
              StatusIs(absl::StatusCode::kInternal, ::testing::HasSubstr("merging the sketches")));
}

// MergeGroup holds what MergeAggregates (without usage) holds, with the
// values of `group` copied into `out`.
BatchAggregate Materialize(const MergedGroup& group) {
  BatchAggregate out;
  out.event_count = group.event_count;
  for (const SeriesRecord* series : group.series) out.series.push_back(*series);
  for (const RollupDelta* delta : group.rollups) out.rollups.push_back(*delta);
  out.workflows = group.workflows;
  return out;
}

// Whether `p` points into `v`.
template <typename T>
bool Inside(const T* p, const std::vector<T>& v) {
  return !v.empty() && p >= v.data() && p < v.data() + v.size();
}

TEST(MergeGroupTest, MergesLikeMergeAggregatesAndCopiesOnlyCellsSeveralBatchesFeed) {
  std::mt19937_64 rng(17);
  for (int batches : {1, 2, 3, 7}) {
    SCOPED_TRACE(batches);
    std::vector<BatchAggregate> parts;
    for (int b = 0; b < batches; ++b) {
      parts.push_back(AggregateBatch(RandomBatch("p", static_cast<uint64_t>(b + 1), rng)));
    }
    std::vector<const BatchAggregate*> pointers;
    for (const BatchAggregate& part : parts) pointers.push_back(&part);
    absl::StatusOr<BatchAggregate> expected = MergeAggregates(pointers, /*with_usage=*/false);
    ASSERT_THAT(expected, IsOk());
    MergedGroup group;
    ASSERT_THAT(MergeGroup(pointers, &group), IsOk());
    ExpectSameAggregate(Materialize(group), *expected);

    // How many batches feed each cell.
    std::map<std::tuple<KeyText, KeyText, KeyText, absl::Time>, int> feeders;
    for (const BatchAggregate& part : parts) {
      for (const RollupDelta& d : part.rollups) {
        ++feeders[{d.tenant, d.metric, d.series_key, d.bucket}];
      }
    }
    size_t shared = 0;
    for (const RollupDelta* d : group.rollups) {
      const bool in_batch = std::any_of(parts.begin(), parts.end(), [&](const BatchAggregate& b) {
        return Inside(d, b.rollups);
      });
      const bool several = feeders[{d->tenant, d->metric, d->series_key, d->bucket}] > 1;
      EXPECT_EQ(in_batch, !several) << d->metric << "/" << d->series_key;
      shared += several;
    }
    EXPECT_EQ(group.folded.size(), shared);
    if (batches > 1) {
      EXPECT_GT(shared, 0u);  // random batches share some cells
    }
    for (const SeriesRecord* series : group.series) {
      EXPECT_TRUE(std::any_of(parts.begin(), parts.end(),
                              [&](const BatchAggregate& b) { return Inside(series, b.series); }));
    }
  }
}

// A cell several batches feed is folded in batch order (the first batch's
// delta, then the others'), and a series several batches hold is the first
// batch's record, whether the batches are merged by scanning their heads
// (3) or in a heap (12): sums in another order differ here.
TEST(MergeGroupTest, CellsAreFoldedAndSeriesKeptInBatchOrder) {
  for (int batches : {3, 12}) {
    SCOPED_TRACE(batches);
    std::vector<BatchAggregate> parts(static_cast<size_t>(batches));
    for (int b = 0; b < batches; ++b) {
      const double value = b == 0 ? 1.0 : b == 1 ? 1e16 : b == 2 ? -1e16 : 0.0;
      BatchAggregate& part = parts[static_cast<size_t>(b)];
      part.event_count = 1;
      part.series.push_back({"acme", "custom", "0123456789abcdef0123456789abcdef",
                             std::make_shared<const Labels>()});
      RollupDelta& cell = part.rollups.emplace_back();
      cell.tenant = "acme";
      cell.metric = "custom";
      cell.series_key = "0123456789abcdef0123456789abcdef";
      cell.bucket = absl::FromUnixSeconds(1'700'000'040);
      cell.stats.Add(value);
    }
    std::vector<const BatchAggregate*> pointers;
    for (const BatchAggregate& part : parts) pointers.push_back(&part);
    MergedGroup group;
    ASSERT_THAT(MergeGroup(pointers, &group), IsOk());
    ASSERT_EQ(group.rollups.size(), 1u);
    EXPECT_EQ(group.rollups[0]->stats.count, batches);
    // (1 + 1e16) - 1e16 is 0 in doubles; in the other order it is 1.
    EXPECT_EQ(group.rollups[0]->stats.sum, 0.0);
    ASSERT_EQ(group.series.size(), 1u);
    EXPECT_EQ(group.series[0], &parts[0].series[0]);
  }
}

TEST(MergeGroupTest, UnsortedInputsAndReuseGiveTheSameGroup) {
  std::mt19937_64 rng(23);
  BatchAggregate a = AggregateBatch(RandomBatch("p", 1, rng));
  BatchAggregate b = AggregateBatch(RandomBatch("p", 2, rng));
  absl::StatusOr<BatchAggregate> expected = MergeAggregates({&a, &b}, /*with_usage=*/false);
  ASSERT_THAT(expected, IsOk());
  MergedGroup group;
  ASSERT_THAT(MergeGroup({&b}, &group), IsOk());  // reused below: cleared first
  ASSERT_GT(a.rollups.size(), 2u);
  ASSERT_GT(b.series.size(), 2u);
  std::reverse(a.rollups.begin(), a.rollups.end());
  std::reverse(b.series.begin(), b.series.end());
  ASSERT_THAT(MergeGroup({&a, &b}, &group), IsOk());
  ExpectSameAggregate(Materialize(group), *expected);
}

TEST(MergeGroupTest, SketchesOfDifferentParametersAreAnInternalError) {
  std::mt19937_64 rng(3);
  BatchAggregate a = AggregateBatch(RandomBatch("p", 1, rng));
  BatchAggregate b = a;
  for (RollupDelta& delta : b.rollups) {
    if (!delta.sketch.has_value()) continue;
    absl::StatusOr<QuantileSketch> other = QuantileSketch::Create(0.05, 64);
    ASSERT_THAT(other, IsOk());
    ASSERT_TRUE(other->Add(1.0));
    delta.sketch = *other;
    break;
  }
  MergedGroup group;
  EXPECT_THAT(MergeGroup({&a, &b}, &group),
              StatusIs(absl::StatusCode::kInternal, ::testing::HasSubstr("merging the sketches")));
}

}  // namespace
}  // namespace agentwatch::monitor
