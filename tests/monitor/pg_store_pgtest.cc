// The Postgres store (and the Redis health cache) against the real servers
// scripts/test starts: rollups, idempotent replays, all-or-nothing batches,
// exactly-once alert transitions across replicas, queries, health.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <stdlib.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "agentwatch/cost/v1/cost.pb.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "agentwatch/monitor/v1/monitor.grpc.pb.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/outbox.h"
#include "common/pg.h"
#include "common/redis.h"
#include "common/rpc.h"
#include "common/status_macros.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "common/testing/test_pool.h"
#include "monitor/api/monitor_metrics.h"
#include "monitor/api/monitor_service.h"
#include "monitor/core/alert_rules.h"
#include "monitor/core/names.h"
#include "monitor/core/quantile_sketch.h"
#include "monitor/core/query.h"
#include "monitor/core/rollup.h"
#include "monitor/core/rules.h"
#include "monitor/jobs/outbox_delivery.h"
#include "monitor/store/health_cache.h"
#include "monitor/store/migrations.h"
#include "monitor/store/pg_monitor_store.h"
#include "proto_events.h"
#include "test_events.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::FreePort;
using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::agentwatch::testing::TestDatabase;
using ::agentwatch::testing::TestPool;
using fixtures::MakeCall;
using fixtures::MakeEvent;
using fixtures::MakeRun;
using ::testing::ElementsAre;
using ::testing::Pair;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'040);  // a whole minute

class PgStoreTest : public ::testing::Test {
 protected:
  PgStoreTest() : clock_(kStart), rule_(ErrorRateAlertConfig{}) {}

  void SetUp() override {
    pool_ = TestPool(db_.dsn());
    ASSERT_THAT(common::ApplyMigrations(*pool_, kOutboxSchema, Migrations()), IsOk());
    store_ = std::make_unique<PgMonitorStore>(*pool_, limits_,
                                              std::vector<const RuleEvaluator*>{&rule_});
  }

  absl::StatusOr<CommitResult> Commit(const Batch& batch, PgMonitorStore* store = nullptr) {
    return (store ? store : store_.get())
        ->CommitBatch(batch.producer_id, batch.sequence, AggregateBatch(batch), clock_.Now());
  }

  // The single value of a query without parameters.
  int64_t Scalar(const std::string& sql) {
    absl::StatusOr<int64_t> value =
        pool_->Transact<int64_t>([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
          return txn.exec(sql)[0][0].as<int64_t>(0);
        });
    EXPECT_THAT(value, IsOk()) << sql;
    return value.value_or(-1);
  }

  std::vector<std::string> Payloads(const std::string& destination) {
    absl::StatusOr<std::vector<std::string>> payloads = pool_->Transact<std::vector<std::string>>(
        [&](pqxx::work& txn) -> absl::StatusOr<std::vector<std::string>> {
          std::vector<std::string> out;
          for (const auto& row : txn.exec_params(
                   "SELECT payload FROM monitor.outbox WHERE destination = $1 ORDER BY id",
                   destination)) {
            out.push_back(pqxx::binarystring(row[0]).str());
          }
          return out;
        });
    EXPECT_THAT(payloads, IsOk());
    return payloads.value_or(std::vector<std::string>{});
  }

  static Batch FailingRuns(const std::string& producer, uint64_t sequence,
                           const std::string& workflow, int n, absl::Time time,
                           const std::string& team = "search") {
    Batch batch;
    batch.producer_id = producer;
    batch.sequence = sequence;
    for (int i = 0; i < n; ++i) {
      WorkflowRun run = MakeRun(workflow, RunStatus::kFailed);
      run.team = team;
      batch.events.push_back(MakeEvent(run, time));
    }
    return batch;
  }

  TestDatabase db_;
  common::FakeClock clock_;
  WorkflowErrorRateRule rule_;
  StoreLimits limits_;
  std::unique_ptr<common::PgPool> pool_;
  std::unique_ptr<PgMonitorStore> store_;
};

TEST_F(PgStoreTest, MigrationsAreIdempotent) {
  EXPECT_THAT(common::ApplyMigrations(*pool_, kOutboxSchema, Migrations()), IsOk());
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.schema_migrations WHERE component = 'service'"),
            static_cast<int64_t>(Migrations().size()));
}

TEST_F(PgStoreTest, RollupsAreWrittenAndSummedAcrossBatches) {
  Batch first;
  first.producer_id = "p";
  first.sequence = 1;
  first.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kSucceeded, absl::Seconds(1))));
  first.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kSucceeded, absl::Seconds(4)),
                                   kStart + absl::Seconds(30)));
  Batch second = first;
  second.sequence = 2;
  second.events[1] = MakeEvent(MakeRun("triage", RunStatus::kSucceeded, absl::Seconds(10)));
  absl::StatusOr<CommitResult> r1 = Commit(first);
  ASSERT_THAT(r1, IsOk());
  EXPECT_FALSE(r1->duplicate);
  EXPECT_EQ(r1->accepted, 2);
  ASSERT_THAT(Commit(second), IsOk());

  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.rollups_1m"), 2);  // 2 metrics, 1 minute
  EXPECT_EQ(Scalar("SELECT count FROM monitor.rollups_1m WHERE metric = 'workflow_runs_total'"), 4);
  EXPECT_EQ(Scalar("SELECT sum::bigint FROM monitor.rollups_1m "
                   "WHERE metric = 'workflow_duration_seconds'"),
            1 + 4 + 1 + 10);
  EXPECT_EQ(Scalar("SELECT min::bigint FROM monitor.rollups_1m "
                   "WHERE metric = 'workflow_duration_seconds'"),
            1);
  EXPECT_EQ(Scalar("SELECT max::bigint FROM monitor.rollups_1m "
                   "WHERE metric = 'workflow_duration_seconds'"),
            10);
  EXPECT_EQ(Scalar("SELECT extract(epoch FROM bucket)::bigint FROM monitor.rollups_1m LIMIT 1"),
            absl::ToUnixSeconds(kStart));
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.series WHERE labels @> "
                   "'{\"tenant\":\"acme\",\"workflow\":\"triage\",\"status\":\"succeeded\","
                   "\"team\":\"search\"}'"),
            2);
  EXPECT_EQ(Scalar("SELECT series_count FROM monitor.tenant_series WHERE tenant_id = 'acme'"), 2);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.ingest_batches"), 2);
}

TEST_F(PgStoreTest, ReplayWritesNothingTwice) {
  Batch batch;
  batch.producer_id = "platform-a";
  batch.sequence = ~uint64_t{0};  // the largest sequence round-trips
  batch.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kSucceeded)));
  batch.events.push_back(MakeEvent(MakeCall("gpt-4o")));
  ASSERT_THAT(Commit(batch), IsOk());
  const int64_t outbox = Scalar("SELECT count(*) FROM monitor.outbox");
  EXPECT_EQ(outbox, 1);  // the LLM call's usage

  absl::StatusOr<CommitResult> replay = Commit(batch);
  ASSERT_THAT(replay, IsOk());
  EXPECT_TRUE(replay->duplicate);
  EXPECT_EQ(replay->accepted, 0);
  EXPECT_EQ(replay->outbox_enqueued, 0);
  EXPECT_EQ(Scalar("SELECT count FROM monitor.rollups_1m WHERE metric = 'workflow_runs_total'"), 1);
  EXPECT_EQ(Scalar("SELECT count FROM monitor.rollups_1m WHERE metric = 'llm_calls_total'"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.outbox"), outbox);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.ingest_batches"), 1);

  // Concurrent replays of one new batch: exactly one commits it.
  Batch fresh = batch;
  fresh.sequence = 5;
  std::atomic<int> duplicates{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<CommitResult> result = Commit(fresh);
      ASSERT_THAT(result, IsOk());
      if (result->duplicate) ++duplicates;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(duplicates.load(), 3);
  EXPECT_EQ(Scalar("SELECT count FROM monitor.rollups_1m WHERE metric = 'workflow_runs_total'"), 2);
}

TEST_F(PgStoreTest, ARejectedBatchWritesNothing) {
  limits_.max_series_per_tenant = 8;
  store_ =
      std::make_unique<PgMonitorStore>(*pool_, limits_, std::vector<const RuleEvaluator*>{&rule_});
  Batch small;
  small.producer_id = "p";
  small.sequence = 1;
  small.events.push_back(MakeEvent(MakeCall("gpt-4o")));  // 8 series: exactly the limit
  ASSERT_THAT(Commit(small), IsOk());
  EXPECT_EQ(Scalar("SELECT series_count FROM monitor.tenant_series"), 8);

  Batch big;
  big.producer_id = "p";
  big.sequence = 2;
  big.events.push_back(MakeEvent(MakeCall("gpt-4o")));  // existing series
  for (int i = 0; i < 10; ++i) {
    big.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kFailed)));  // 2 new series
  }
  EXPECT_THAT(Commit(big), StatusIs(absl::StatusCode::kResourceExhausted,
                                    "events: tenant \"acme\" would have 10 active series, at "
                                    "most 8"));
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.ingest_batches"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.series"), 8);
  EXPECT_EQ(Scalar("SELECT series_count FROM monitor.tenant_series"), 8);
  EXPECT_EQ(Scalar("SELECT count FROM monitor.rollups_1m WHERE metric = 'llm_calls_total'"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.rollups_1m WHERE metric LIKE 'workflow%'"), 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.outbox"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state"), 0);
  // The producer may retry the same sequence once the batch fits.
  big.events.resize(1);
  absl::StatusOr<CommitResult> retried = Commit(big);
  ASSERT_THAT(retried, IsOk());
  EXPECT_FALSE(retried->duplicate);
}

// --forward_usage=false (PgMonitorStoreOptions::forward_usage): a group
// commit writes no cost.* outbox row, and everything else as before: the
// claim, series, journal and rollups, the alert and its incident notice.
// The same database through a default store still forwards.
TEST_F(PgStoreTest, WithoutUsageForwardingNoCostRowIsWrittenAndEverythingElseIs) {
  PgMonitorStoreOptions options;
  options.journal_rollups = true;  // as deployed
  options.forward_usage = false;
  PgMonitorStore quiet(*pool_, limits_, std::vector<const RuleEvaluator*>{&rule_}, options);
  Batch batch = FailingRuns("platform-a", 1, "triage", 10, kStart);  // fires the built-in alert
  batch.events.push_back(MakeEvent(MakeCall("gpt-4o")));
  batch.events.push_back(MakeEvent(MakeCall("gpt-4o-mini"), kStart, "globex"));
  absl::StatusOr<CommitResult> result = Commit(batch, &quiet);
  ASSERT_THAT(result, IsOk());
  EXPECT_FALSE(result->duplicate);
  EXPECT_EQ(result->accepted, 12);
  EXPECT_EQ(result->alerts.fired, 1);
  EXPECT_EQ(result->outbox_enqueued, 1);  // the alert notice alone
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.outbox WHERE destination LIKE 'cost.%'"), 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.outbox WHERE destination = "
                   "'incident.ReportAlerts'"),
            1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.outbox"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE firing"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.ingest_batches"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.ingest_journal"), 2);  // one per tenant
  EXPECT_GT(Scalar("SELECT count(*) FROM monitor.series WHERE metric = 'llm_calls_total'"), 0);
  ASSERT_THAT(quiet.FlushRollups(kStart), IsOk());
  EXPECT_EQ(Scalar("SELECT sum(count)::bigint FROM monitor.rollups_1m "
                   "WHERE metric = 'llm_calls_total'"),
            2);
  EXPECT_EQ(Scalar("SELECT sum(count)::bigint FROM monitor.rollups_1m "
                   "WHERE metric = 'workflow_runs_total'"),
            10);
  // A replay is a duplicate and writes nothing.
  absl::StatusOr<CommitResult> replay = Commit(batch, &quiet);
  ASSERT_THAT(replay, IsOk());
  EXPECT_TRUE(replay->duplicate);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.outbox"), 1);

  // The default (forwarding) store on the same database: one packed row per
  // tenant, counted in outbox_enqueued.
  Batch next;
  next.producer_id = "platform-a";
  next.sequence = 2;
  next.events.push_back(MakeEvent(MakeCall("gpt-4o")));
  next.events.push_back(MakeEvent(MakeCall("gpt-4o-mini"), kStart, "globex"));
  absl::StatusOr<CommitResult> forwarded = Commit(next);
  ASSERT_THAT(forwarded, IsOk());
  EXPECT_EQ(forwarded->outbox_enqueued, 2);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.outbox WHERE destination = "
                   "'cost.RecordUsageBatch'"),
            2);
  EXPECT_EQ(Payloads(kCostBatchDestination).size(), 2u);
}

TEST_F(PgStoreTest, LlmUsageIsEnqueuedForTheCostService) {
  Batch batch;
  batch.producer_id = "platform-a";
  batch.sequence = 9;
  Event with_id = MakeEvent(MakeCall("gpt-4o"));
  with_id.event_id = "call-1";
  batch.events.push_back(with_id);
  batch.events.push_back(MakeEvent(MakeCall("gpt-4o-mini"), kStart, "globex"));
  batch.events.push_back(with_id);  // the same call again: sent once
  batch.events.push_back(MakeEvent(MakeCall("gpt-4o"), kStart + absl::Seconds(1)));
  ASSERT_THAT(Commit(batch), IsOk());
  // One row per tenant, keyed by the batch that carried the records.
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.outbox WHERE destination = "
                   "'cost.RecordUsageBatch' AND idempotency_key IN "
                   "('4:acme/10:platform-a:9#0', '6:globex/10:platform-a:9#0')"),
            2);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.outbox"), 2);
  std::vector<std::string> payloads = Payloads(kCostBatchDestination);
  ASSERT_EQ(payloads.size(), 2u);
  cost::v1::RecordUsageRequest acme, globex;
  ASSERT_TRUE(acme.ParseFromString(payloads[0]));
  ASSERT_TRUE(globex.ParseFromString(payloads[1]));
  if (acme.records(0).scope().tenant() != "acme") std::swap(acme, globex);
  ASSERT_EQ(globex.records_size(), 1);
  EXPECT_EQ(globex.records(0).record_id(), "platform-a:9:1");
  EXPECT_EQ(globex.records(0).scope().tenant(), "globex");
  ASSERT_EQ(acme.records_size(), 2);
  EXPECT_EQ(acme.records(1).record_id(), "platform-a:9:3");
  const cost::v1::UsageRecord& record = acme.records(0);
  EXPECT_EQ(record.record_id(), "call-1");
  EXPECT_EQ(record.time().seconds(), absl::ToUnixSeconds(kStart));
  EXPECT_EQ(record.scope().tenant(), "acme");
  EXPECT_EQ(record.scope().team(), "search");
  EXPECT_EQ(record.scope().workflow(), "triage");
  EXPECT_EQ(record.scope().agent(), "planner");
  EXPECT_EQ(record.scope().model(), "gpt-4o");
  EXPECT_EQ(record.scope().provider(), "openai");
  EXPECT_EQ(record.run_id(), "run-1");
  EXPECT_EQ(record.llm().provider(), "openai");
  EXPECT_EQ(record.llm().model(), "gpt-4o");
  EXPECT_EQ(record.llm().input_tokens(), 1000);
  EXPECT_EQ(record.llm().output_tokens(), 200);
  EXPECT_EQ(record.llm().cached_input_tokens(), 300);
  EXPECT_EQ(record.llm().cache_creation_tokens(), 100);
  EXPECT_EQ(record.llm().requests(), 1);
}

// Migration 008: the packed usage rows are compressed with lz4, and read
// back whole.
TEST_F(PgStoreTest, PackedUsagePayloadsAreStoredWithLz4AndReadBackWhole) {
  Batch batch;
  batch.producer_id = "platform-a";
  batch.sequence = 10;
  constexpr int kCalls = 600;
  for (int i = 0; i < kCalls; ++i) {
    batch.events.push_back(MakeEvent(MakeCall(i % 2 == 0 ? "gpt-4o" : "gpt-4o-mini")));
  }
  ASSERT_THAT(Commit(batch), IsOk());
  EXPECT_EQ(Scalar("SELECT count(*) FROM pg_attribute WHERE attrelid = 'monitor.outbox'::regclass "
                   "AND attname = 'payload' AND attcompression = 'l'"),
            1);
  // Large enough to be compressed (over 2 KB), and compressed with lz4.
  EXPECT_GT(Scalar("SELECT octet_length(payload) FROM monitor.outbox"), 8 * 1024);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.outbox WHERE pg_column_compression(payload) = "
                   "'lz4'"),
            1);
  std::vector<std::string> payloads = Payloads(kCostBatchDestination);
  ASSERT_EQ(payloads.size(), 1u);
  cost::v1::RecordUsageRequest request;
  ASSERT_TRUE(request.ParseFromString(payloads[0]));
  ASSERT_EQ(request.records_size(), kCalls);
  EXPECT_EQ(request.records(0).record_id(), "platform-a:10:0");
  EXPECT_EQ(request.records(kCalls - 1).record_id(), absl::StrCat("platform-a:10:", kCalls - 1));
  EXPECT_EQ(request.records(kCalls - 1).llm().model(), "gpt-4o-mini");
}

// The group transaction's statements are prepared on the connection, and the
// plans the server caches for them (generic after five executions) still
// route rows into a daily partition created after they were planned.
TEST_F(PgStoreTest, PreparedGroupStatementsWriteIntoAPartitionCreatedLater) {
  common::PgPoolOptions options;
  options.dsn = db_.dsn();
  options.size = 1;  // one connection: the checks below see its statements
  common::PgPool pool(options);
  PgMonitorStore store(pool, limits_, {&rule_});
  constexpr int kBatches = 8;
  for (int i = 0; i < kBatches; ++i) {
    ASSERT_THAT(store.CommitBatch("prepared", i + 1,
                                  AggregateBatch(FailingRuns("prepared", i + 1, "triage", 3,
                                                             kStart + absl::Seconds(i))),
                                  kStart),
                IsOk());
  }
  const absl::Time next_day = kStart + absl::Hours(24);
  ASSERT_THAT(
      store.CommitBatch(
          "prepared", kBatches + 1,
          AggregateBatch(FailingRuns("prepared", kBatches + 1, "triage", 5, next_day)), next_day),
      IsOk());
  absl::StatusOr<int64_t> prepared =
      pool.Transact<int64_t>([](pqxx::work& txn) -> absl::StatusOr<int64_t> {
        return txn
            .exec(
                "SELECT count(*) FROM pg_prepared_statements WHERE name IN "
                "('monitor_claim_batches', 'monitor_upsert_rollups', "
                "'monitor_sum_workflow_rollups', 'monitor_lock_alert_states')")[0][0]
            .as<int64_t>();
      });
  ASSERT_THAT(prepared, IsOk());
  EXPECT_EQ(*prepared, 4);
  EXPECT_EQ(Scalar(absl::StrCat("SELECT count FROM monitor.rollups_1m WHERE metric = "
                                "'workflow_runs_total' AND bucket = to_timestamp(",
                                absl::ToUnixSeconds(kStart), ")")),
            3 * kBatches);
  EXPECT_EQ(Scalar(absl::StrCat("SELECT count FROM monitor.rollups_1m WHERE metric = "
                                "'workflow_runs_total' AND bucket = to_timestamp(",
                                absl::ToUnixSeconds(next_day), ")")),
            5);
  EXPECT_EQ(
      Scalar(absl::StrCat("SELECT count(*) FROM monitor.", RollupPartitionName(UtcDay(next_day)))),
      2);  // runs and duration of the one series
}

TEST_F(PgStoreTest, AlertTransitionsAreEnqueuedWithTheBatch) {
  absl::StatusOr<CommitResult> fired = Commit(FailingRuns("p", 1, "triage", 10, kStart));
  ASSERT_THAT(fired, IsOk());
  EXPECT_EQ(fired->alerts.fired, 1);
  std::vector<std::string> payloads = Payloads(kIncidentDestination);
  ASSERT_EQ(payloads.size(), 1u);
  incident::v1::Alert alert;
  ASSERT_TRUE(alert.ParseFromString(payloads[0]));
  EXPECT_EQ(alert.fingerprint(), WorkflowErrorRateFingerprint("acme", "triage"));
  EXPECT_EQ(alert.name(), "WorkflowErrorRateHigh");
  EXPECT_EQ(alert.severity(), common::v1::SEVERITY_P1);
  EXPECT_EQ(alert.tenant(), "acme");
  EXPECT_EQ(alert.status(), incident::v1::ALERT_STATUS_FIRING);
  EXPECT_EQ(alert.source(), "agentwatch-monitor");
  EXPECT_EQ(alert.starts_at().seconds(), absl::ToUnixSeconds(kStart));
  EXPECT_FALSE(alert.has_ends_at());
  EXPECT_THAT(alert.labels(),
              ::testing::UnorderedElementsAre(Pair("alertname", "WorkflowErrorRateHigh"),
                                              Pair("tenant", "acme"), Pair("workflow", "triage")));
  EXPECT_THAT(alert.annotations().at("description"), ::testing::HasSubstr("10 of 10 runs"));
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE firing"), 1);

  // Still failing: no new transition.
  clock_.Advance(absl::Minutes(1));
  ASSERT_THAT(Commit(FailingRuns("p", 2, "triage", 5, clock_.Now())), IsOk());
  EXPECT_EQ(Payloads(kIncidentDestination).size(), 1u);

  // The window empties; the sweep resolves it.
  clock_.Advance(absl::Minutes(6));
  absl::StatusOr<SweepResult> swept = store_->SweepAlerts(clock_.Now(), 100);
  ASSERT_THAT(swept, IsOk());
  EXPECT_EQ(swept->alerts.resolved, 1);
  payloads = Payloads(kIncidentDestination);
  ASSERT_EQ(payloads.size(), 2u);
  ASSERT_TRUE(alert.ParseFromString(payloads[1]));
  EXPECT_EQ(alert.status(), incident::v1::ALERT_STATUS_RESOLVED);
  EXPECT_EQ(alert.starts_at().seconds(), absl::ToUnixSeconds(kStart));
  EXPECT_EQ(alert.ends_at().seconds(), absl::ToUnixSeconds(clock_.Now()));
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE firing"), 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE ends_at IS NOT NULL"), 1);
  absl::StatusOr<SweepResult> again = store_->SweepAlerts(clock_.Now(), 100);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->alerts.resolved, 0);
}

TEST_F(PgStoreTest, TwoReplicasNeverFireTwice) {
  // A second store on its own pool plays a second replica.
  std::unique_ptr<common::PgPool> other_pool = TestPool(db_.dsn());
  PgMonitorStore other(*other_pool, limits_, {&rule_});
  constexpr int kWorkflows = 12;
  for (int w = 0; w < kWorkflows; ++w) {
    const std::string workflow = absl::StrCat("wf-", w);
    // Half the workflows already have their series and a resting alert
    // state (2 failed of 42 runs, under the threshold). For those, the race
    // below takes no common row lock except the alert state's; the others
    // race to create it.
    if (w % 2 == 0) {
      Batch seed;
      seed.producer_id = "seed";
      seed.sequence = w;
      for (const std::string team : {"team-a", "team-b"}) {
        for (int i = 0; i < 21; ++i) {
          WorkflowRun run = MakeRun(workflow, i == 0 ? RunStatus::kFailed : RunStatus::kSucceeded);
          run.team = team;
          seed.events.push_back(MakeEvent(run, kStart));
        }
      }
      absl::StatusOr<CommitResult> seeded = Commit(seed);
      ASSERT_THAT(seeded, IsOk());
      ASSERT_EQ(seeded->alerts.fired, 0);
    }
    // Each batch alone has 10 failed runs: enough to fire. Different teams
    // keep their rollup rows apart, so only the alert-state lock orders the
    // two transactions.
    const Batch a = FailingRuns("replica-a", w, workflow, 10, kStart, "team-a");
    const Batch b = FailingRuns("replica-b", w, workflow, 10, kStart, "team-b");
    absl::Barrier* barrier = new absl::Barrier(2);
    std::atomic<int> fired{0};
    auto run = [&](const Batch& batch, PgMonitorStore* store) {
      if (barrier->Block()) delete barrier;
      absl::StatusOr<CommitResult> result = Commit(batch, store);
      ASSERT_THAT(result, IsOk());
      fired += result->alerts.fired;
    };
    std::thread ta(run, std::cref(a), store_.get());
    std::thread tb(run, std::cref(b), &other);
    ta.join();
    tb.join();
    EXPECT_EQ(fired.load(), 1) << workflow;
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.outbox WHERE destination = "
                   "'incident.ReportAlerts'"),
            kWorkflows);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE firing"), kWorkflows);
  EXPECT_EQ(Scalar("SELECT sum(count) FROM monitor.rollups_1m "
                   "WHERE metric = 'workflow_runs_total'"),
            20 * kWorkflows + 42 * (kWorkflows / 2));
}

// Runs, in every group transaction, SumRollupsMany over the built-in
// alert's selectors (one statement) and over selectors of another label
// (one SumRollups each), and SumRollups of each selector alone.
class SumComparingEvaluator final : public RuleEvaluator {
 public:
  absl::Status OnBatch(const BatchAggregate&, RuleContext& context, absl::Time now,
                       RuleOutcome*) const override {
    const BucketRange range = WindowBuckets(now, absl::Minutes(5));
    std::vector<RollupSelector> by_workflow;
    for (const std::string workflow : {"wf-2", "none", "wf-0", "wf-2", "wf-1"}) {
      by_workflow.push_back({"acme", kWorkflowRunsTotal, kLabelWorkflow, workflow, kLabelStatus});
    }
    by_workflow.push_back({"globex", kWorkflowRunsTotal, kLabelWorkflow, "wf-0", "team"});
    std::vector<RollupSelector> by_team = {
        {"acme", kWorkflowRunsTotal, "team", "team-b", kLabelStatus},
        {"acme", kWorkflowRunsTotal, kLabelWorkflow, "wf-1", kLabelStatus}};
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto* selectors : {&by_workflow, &by_team}) {
      ASSIGN_OR_RETURN(auto many, context.SumRollupsMany(*selectors, range));
      std::vector<std::map<std::string, RollupStats>> each;
      for (const RollupSelector& selector : *selectors) {
        ASSIGN_OR_RETURN(each.emplace_back(), context.SumRollups(selector, range));
      }
      many_.push_back(std::move(many));
      each_.push_back(std::move(each));
    }
    return absl::OkStatus();
  }
  absl::Status OnSweep(RuleContext&, absl::Time, int, RuleOutcome*) const override {
    return absl::OkStatus();
  }

  mutable std::mutex mu_;
  mutable std::vector<std::vector<std::map<std::string, RollupStats>>> many_;
  mutable std::vector<std::vector<std::map<std::string, RollupStats>>> each_;
};

TEST_F(PgStoreTest, SumRollupsManyAnswersAsEachSumRollupsWould) {
  SumComparingEvaluator evaluator;
  PgMonitorStore store(*pool_, limits_, {&evaluator});
  Batch batch;
  batch.producer_id = "p";
  batch.sequence = 1;
  for (int w = 0; w < 3; ++w) {
    for (int i = 0; i < 7 + w; ++i) {
      WorkflowRun run = MakeRun(absl::StrCat("wf-", w),
                                i % 3 == 0 ? RunStatus::kFailed : RunStatus::kSucceeded);
      run.team = i % 2 == 0 ? "team-a" : "team-b";
      batch.events.push_back(MakeEvent(run, kStart - absl::Minutes(i % 4)));
    }
  }
  WorkflowRun other = MakeRun("wf-0", RunStatus::kTimedOut);
  other.team = "team-z";
  batch.events.push_back(MakeEvent(other, kStart, "globex"));
  ASSERT_THAT(Commit(batch, &store), IsOk());
  ASSERT_EQ(evaluator.many_.size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    ASSERT_EQ(evaluator.many_[k].size(), evaluator.each_[k].size());
    for (size_t i = 0; i < evaluator.many_[k].size(); ++i) {
      EXPECT_EQ(evaluator.many_[k][i], evaluator.each_[k][i]) << k << " " << i;
    }
  }
  // The sums are real: wf-2 has 9 runs, 3 of them failed, in the window;
  // "none" has nothing; globex's wf-0 is grouped by team.
  const auto& by_workflow = evaluator.many_[0];
  EXPECT_EQ(by_workflow[0].at("failed").count, 3);
  EXPECT_EQ(by_workflow[0].at("succeeded").count, 6);
  EXPECT_TRUE(by_workflow[1].empty());
  EXPECT_EQ(by_workflow[0], by_workflow[3]);
  EXPECT_NE(by_workflow[0], by_workflow[2]);
  EXPECT_THAT(by_workflow[5], ElementsAre(Pair("team-z", RollupStats{1, 1, 1, 1})));
}

TEST_F(PgStoreTest, ABatchOfManyWorkflowsAlertsEachAndTwoReplicasFireOnce) {
  std::unique_ptr<common::PgPool> other_pool = TestPool(db_.dsn());
  PgMonitorStore other(*other_pool, limits_, {&rule_});
  constexpr int kWorkflows = 24;
  // Each replica's batch covers every workflow (different teams, so only
  // the alert states are shared rows): the two group transactions lock the
  // same 24 states at once and must neither deadlock nor fire twice. Every
  // third workflow fails (10 of 10 per batch), the others succeed.
  auto make = [&](const std::string& producer, const std::string& team, uint64_t sequence) {
    Batch batch;
    batch.producer_id = producer;
    batch.sequence = sequence;
    for (int w = kWorkflows - 1; w >= 0; --w) {
      for (int i = 0; i < 10; ++i) {
        WorkflowRun run = MakeRun(absl::StrCat("wf-", w),
                                  w % 3 == 0 ? RunStatus::kFailed : RunStatus::kSucceeded);
        run.team = team;
        batch.events.push_back(MakeEvent(run, clock_.Now()));
      }
    }
    return batch;
  };
  for (uint64_t round = 0; round < 3; ++round) {
    const Batch a = make("replica-a", "team-a", round);
    const Batch b = make("replica-b", "team-b", round);
    absl::Barrier* barrier = new absl::Barrier(2);
    std::atomic<int> fired{0};
    auto run = [&](const Batch& batch, PgMonitorStore* store) {
      if (barrier->Block()) delete barrier;
      absl::StatusOr<CommitResult> result = Commit(batch, store);
      ASSERT_THAT(result, IsOk());
      fired += result->alerts.fired;
    };
    std::thread ta(run, std::cref(a), store_.get());
    std::thread tb(run, std::cref(b), &other);
    ta.join();
    tb.join();
    EXPECT_EQ(fired.load(), round == 0 ? kWorkflows / 3 : 0) << round;
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE firing"), kWorkflows / 3);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state"), kWorkflows);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.outbox WHERE destination = "
                   "'incident.ReportAlerts'"),
            kWorkflows / 3);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE firing AND "
                   "substring(labels->>'workflow' from 4)::int % 3 <> 0"),
            0);

  // Seven minutes on, one batch of successes for every workflow resolves
  // all the firing ones at once.
  clock_.Advance(absl::Minutes(7));
  Batch healthy;
  healthy.producer_id = "replica-a";
  healthy.sequence = 10;
  for (int w = 0; w < kWorkflows; ++w) {
    for (int i = 0; i < 10; ++i) {
      healthy.events.push_back(MakeEvent(MakeRun(absl::StrCat("wf-", w), RunStatus::kSucceeded),
                                         clock_.Now()));
    }
  }
  absl::StatusOr<CommitResult> resolved = Commit(healthy);
  ASSERT_THAT(resolved, IsOk());
  EXPECT_EQ(resolved->alerts.resolved, kWorkflows / 3);
  EXPECT_EQ(resolved->alerts.fired, 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE firing"), 0);
}

TEST_F(PgStoreTest, ConcurrentWritersOfTheSameSeriesAllCommit) {
  constexpr int kThreads = 4;
  constexpr int kBatches = 10;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        Batch batch;
        batch.producer_id = absl::StrCat("writer-", t);
        batch.sequence = b;
        // Opposite event orders per thread; the store sorts its writes.
        for (int i = 0; i < 20; ++i) {
          const int k = t % 2 ? i : 19 - i;
          batch.events.push_back(MakeEvent(MakeCall(absl::StrCat("model-", k % 5)),
                                           kStart + absl::Minutes(k % 3),
                                           k % 2 ? "acme" : "globex"));
        }
        if (!Commit(batch).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Scalar("SELECT sum(count) FROM monitor.rollups_1m WHERE metric = 'llm_calls_total'"),
            kThreads * kBatches * 20);
  EXPECT_EQ(Scalar("SELECT sum(series_count) FROM monitor.tenant_series"),
            Scalar("SELECT count(*) FROM monitor.series"));
}

// The sketch stored for one rollup row of `metric` (all its rows merged).
absl::StatusOr<QuantileSketch> StoredSketch(common::PgPool& pool, const std::string& metric) {
  return pool.Transact<QuantileSketch>([&](pqxx::work& txn) -> absl::StatusOr<QuantileSketch> {
    QuantileSketch merged;
    for (const auto& row : txn.exec_params(
             "SELECT sketch FROM monitor.rollups_1m WHERE metric = $1 AND sketch IS NOT NULL",
             metric)) {
      const pqxx::binarystring bytes(row[0]);
      ASSIGN_OR_RETURN(QuantileSketch sketch,
                       QuantileSketch::Deserialize(absl::string_view(
                           reinterpret_cast<const char*>(bytes.data()), bytes.size())));
      RETURN_IF_ERROR(merged.Merge(sketch));
    }
    return merged;
  });
}

TEST_F(PgStoreTest, TwoPoolsWritingOneSeriesMinuteMergeSketchesExactly) {
  // Two replicas (two pools, two stores) write batches of the same series and
  // minute at once; the stored sketch must equal one sketch of every value.
  constexpr int kBatches = 25;
  constexpr int kCallsPerBatch = 40;
  auto pool_b = TestPool(db_.dsn());
  PgMonitorStore store_b(*pool_b, limits_, {&rule_});
  std::vector<std::vector<double>> latencies(2);
  std::vector<Batch> batches[2];
  for (int w = 0; w < 2; ++w) {
    std::mt19937_64 rng(100 + w);
    std::lognormal_distribution<double> latency(-0.5, 1.0);
    for (int b = 0; b < kBatches; ++b) {
      Batch batch;
      batch.producer_id = absl::StrCat("replica-", w);
      batch.sequence = b;
      for (int i = 0; i < kCallsPerBatch; ++i) {
        LlmCall call = MakeCall("gpt-4o");
        const absl::Duration d = absl::Microseconds(1 + static_cast<int64_t>(latency(rng) * 1e6));
        call.latency = d;
        latencies[w].push_back(absl::ToDoubleSeconds(d));
        batch.events.push_back(MakeEvent(call, kStart + absl::Seconds(i % 60)));
      }
      batches[w].push_back(std::move(batch));
    }
  }
  absl::Barrier* start = new absl::Barrier(2);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      if (start->Block()) delete start;
      for (const Batch& batch : batches[w]) {
        if (!Commit(batch, w == 0 ? store_.get() : &store_b).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);

  QuantileSketch expected;
  for (const auto& values : latencies) {
    for (double v : values) expected.Add(v);
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.rollups_1m WHERE metric = 'llm_latency_seconds'"),
            1);
  absl::StatusOr<QuantileSketch> stored = StoredSketch(*pool_, kLlmLatencySeconds);
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->count(), 2 * kBatches * kCallsPerBatch);
  EXPECT_TRUE(*stored == expected);
  for (double q : {0.5, 0.95, 0.99}) EXPECT_EQ(stored->Quantile(q), expected.Quantile(q)) << q;
  // Counters carry no sketch.
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.rollups_1m WHERE sketch IS NOT NULL AND metric "
                   "= 'llm_calls_total'"),
            0);
}

TEST_F(PgStoreTest, QueryStepsQuantilesFromSketches) {
  // Minute 0: latencies 1..100 ms over two models and two batches; minute 1:
  // 200 ms only.
  for (int b = 0; b < 2; ++b) {
    Batch batch;
    batch.producer_id = "p";
    batch.sequence = b;
    for (int ms = 1 + 50 * b; ms <= 50 * (b + 1); ++ms) {
      LlmCall call = MakeCall(ms % 2 ? "gpt-4o" : "gpt-4o-mini");
      call.latency = absl::Milliseconds(ms);
      batch.events.push_back(MakeEvent(call, kStart + absl::Seconds(ms % 60)));
    }
    LlmCall later = MakeCall("gpt-4o");
    later.latency = absl::Milliseconds(200);
    batch.events.push_back(MakeEvent(later, kStart + absl::Minutes(1)));
    ASSERT_THAT(Commit(batch), IsOk());
  }
  auto query = [&](Aggregation aggregation, std::vector<std::string> group_by,
                   absl::Duration step) -> absl::StatusOr<std::vector<SeriesResult>> {
    SeriesQueryRequest request;
    request.metric = kLlmLatencySeconds;
    request.tenant = "acme";
    request.start = kStart;
    request.end = kStart + absl::Minutes(2);
    request.aggregation = static_cast<int>(aggregation);
    request.group_by = std::move(group_by);
    request.step = step;
    ASSIGN_OR_RETURN(SeriesQuery q, NormalizeSeriesQuery(request, kStart));
    ASSIGN_OR_RETURN(std::vector<StepRow> rows, store_->QuerySteps(q));
    return AssembleSeries(q, std::move(rows));
  };
  // One series, 1-minute steps: p50 / p95 / p99 of 1..100 ms are 50 / 95 / 99 ms
  // (ranks 49 / 94 / 98), each within 1 %; the second minute is 200 ms.
  for (const auto& [aggregation, exact] : std::vector<std::pair<Aggregation, double>>{
           {Aggregation::kP50, 0.050}, {Aggregation::kP95, 0.095}, {Aggregation::kP99, 0.099}}) {
    absl::StatusOr<std::vector<SeriesResult>> series = query(aggregation, {}, absl::Minutes(1));
    ASSERT_THAT(series, IsOk());
    ASSERT_EQ(series->size(), 1u);
    ASSERT_EQ((*series)[0].points.size(), 2u);
    EXPECT_EQ((*series)[0].points[0].time, kStart);
    EXPECT_NEAR((*series)[0].points[0].value, exact, 0.01 * exact);
    EXPECT_NEAR((*series)[0].points[1].value, 0.2, 1e-12);
  }
  // Per model (odd / even milliseconds) in one 2-minute step that also merges
  // the second minute: gpt-4o has 1, 3, ..., 99 and 200, 200.
  absl::StatusOr<std::vector<SeriesResult>> by_model =
      query(Aggregation::kP99, {"model"}, absl::Minutes(2));
  ASSERT_THAT(by_model, IsOk());
  ASSERT_EQ(by_model->size(), 2u);
  EXPECT_EQ((*by_model)[0].labels.at("model"), "gpt-4o");
  ASSERT_EQ((*by_model)[0].points.size(), 1u);
  EXPECT_NEAR((*by_model)[0].points[0].value, 0.2, 0.002);  // rank floor(.99 * 51) = 50: 200 ms
  EXPECT_EQ((*by_model)[1].labels.at("model"), "gpt-4o-mini");
  EXPECT_NEAR((*by_model)[1].points[0].value, 0.098, 0.00098);  // rank 48 of 2..100 ms: 98 ms
}

TEST_F(PgStoreTest, HealthSketchesMergeTheWindowPerLabels) {
  Batch batch;
  batch.producer_id = "p";
  for (int i = 0; i < 100; ++i) {
    LlmCall call = MakeCall("gpt-4o");
    call.latency = absl::Seconds(i < 94 ? 1 : 15);  // p95 = rank 94 = 15 s: warning
    call.time_to_first_token = absl::Milliseconds(300);
    batch.events.push_back(MakeEvent(call, kStart + absl::Minutes(i % 3)));
  }
  ASSERT_THAT(Commit(batch), IsOk());
  HealthScope scope;
  scope.tenant = "acme";
  absl::StatusOr<std::vector<HealthSketchRow>> sketches =
      store_->ReadHealthSketches(scope, {kStart, kStart + absl::Minutes(5)});
  ASSERT_THAT(sketches, IsOk());
  ASSERT_EQ(sketches->size(), 2u);  // latency and time to first token of one model
  const HealthReport report =
      ComputeHealth(scope, *store_->ReadHealthRows(scope, {kStart, kStart + absl::Minutes(5)}),
                    *sketches, kStart + absl::Minutes(5));
  const ScopeHealth& overall = report.scopes[0];
  auto find = [&](const std::string& name) -> const IndicatorValue& {
    for (const IndicatorValue& i : overall.indicators) {
      if (i.threshold.name == name) return i;
    }
    ADD_FAILURE() << name;
    return overall.indicators[0];
  };
  EXPECT_NEAR(find("model_latency_p95").value, 15, 0.15);
  EXPECT_EQ(find("model_latency_p95").status, HealthStatus::kWarning);
  EXPECT_EQ(find("model_latency_p95").sample_count, 100);
  EXPECT_NEAR(find("latency_p95").value, 0.3, 1e-12);
  EXPECT_EQ(find("latency_p95").status, HealthStatus::kHealthy);
  // A window that misses the first minute sees fewer samples.
  sketches =
      store_->ReadHealthSketches(scope, {kStart + absl::Minutes(1), kStart + absl::Minutes(5)});
  ASSERT_THAT(sketches, IsOk());
  int64_t samples = 0;
  for (const HealthSketchRow& row : *sketches) {
    if (row.metric == kLlmLatencySeconds) samples += row.sketch.count();
  }
  EXPECT_EQ(samples, 66);
}

TEST_F(PgStoreTest, QueryStepsSelectsGroupsAndAligns) {
  Batch batch;
  batch.producer_id = "p";
  auto call = [&](const std::string& model, const std::string& tenant, absl::Time time,
                  const Labels& labels = {}) {
    Event event = MakeEvent(MakeCall(model), time, tenant);
    event.labels = labels;
    batch.events.push_back(event);
  };
  call("gpt-4o", "acme", kStart, {{"env", "prod"}});
  call("gpt-4o", "acme", kStart + absl::Minutes(1), {{"env", "prod"}});
  call("gpt-4o-mini", "acme", kStart, {{"env", "staging"}});
  call("claude \"3\" \\ é", "acme", kStart + absl::Minutes(2));
  call("gpt-4o", "globex", kStart);
  ASSERT_THAT(Commit(batch), IsOk());

  auto query = [&](SeriesQueryRequest request) -> absl::StatusOr<std::vector<SeriesResult>> {
    request.start = kStart - absl::Minutes(30);
    request.end = kStart + absl::Minutes(30);
    ASSIGN_OR_RETURN(SeriesQuery q, NormalizeSeriesQuery(request, kStart));
    ASSIGN_OR_RETURN(std::vector<StepRow> rows, store_->QuerySteps(q));
    return AssembleSeries(q, std::move(rows));
  };

  SeriesQueryRequest by_model;
  by_model.metric = kLlmCallsTotal;
  by_model.tenant = "acme";
  by_model.group_by = {"model"};
  absl::StatusOr<std::vector<SeriesResult>> series = query(by_model);
  ASSERT_THAT(series, IsOk());
  ASSERT_EQ(series->size(), 3u);
  EXPECT_EQ((*series)[0].labels.at("model"), "claude \"3\" \\ é");
  EXPECT_EQ((*series)[1].labels.at("model"), "gpt-4o");
  ASSERT_EQ((*series)[1].points.size(), 2u);
  EXPECT_EQ((*series)[1].points[0].time, kStart);
  EXPECT_EQ((*series)[1].points[0].value, 1);
  EXPECT_EQ((*series)[1].points[1].time, kStart + absl::Minutes(1));

  // All tenants, one series, 5-minute steps aligned to the epoch.
  SeriesQueryRequest total;
  total.metric = kLlmCallsTotal;
  total.step = absl::Minutes(5);
  series = query(total);
  ASSERT_THAT(series, IsOk());
  ASSERT_EQ(series->size(), 1u);
  EXPECT_THAT((*series)[0].labels, ElementsAre(Pair("__name__", "llm_calls_total")));
  int64_t calls = 0;
  for (const SeriesPoint& point : (*series)[0].points) {
    EXPECT_EQ(absl::ToUnixSeconds(point.time) % 300, 0);
    calls += static_cast<int64_t>(point.value);
  }
  EXPECT_EQ(calls, 5);

  // Matchers: =~ anchored, !~, != and absent labels matching "".
  SeriesQueryRequest regex;
  regex.metric = kLlmCallsTotal;
  regex.group_by = {"model", "tenant"};
  regex.matchers = {{"model", MatchOp::kRegex, "gpt-4o"}};  // not gpt-4o-mini
  series = query(regex);
  ASSERT_THAT(series, IsOk());
  ASSERT_EQ(series->size(), 2u);
  EXPECT_EQ((*series)[0].labels.at("tenant"), "acme");
  EXPECT_EQ((*series)[1].labels.at("tenant"), "globex");

  SeriesQueryRequest not_regex = regex;
  not_regex.matchers = {{"model", MatchOp::kNotRegex, "gpt.*"}};
  series = query(not_regex);
  ASSERT_THAT(series, IsOk());
  ASSERT_EQ(series->size(), 1u);
  EXPECT_EQ((*series)[0].labels.at("model"), "claude \"3\" \\ é");

  SeriesQueryRequest no_env = regex;
  no_env.matchers = {{"env", MatchOp::kEqual, ""}};
  series = query(no_env);
  ASSERT_THAT(series, IsOk());
  EXPECT_EQ(series->size(), 2u);  // claude (acme) and gpt-4o (globex)

  SeriesQueryRequest not_prod = regex;
  not_prod.matchers = {{"env", MatchOp::kNotEqual, "prod"}, {"tenant", MatchOp::kEqual, "acme"}};
  series = query(not_prod);
  ASSERT_THAT(series, IsOk());
  EXPECT_EQ(series->size(), 2u);  // gpt-4o-mini (staging) and claude (no env)

  // Aggregations over latency (0.8 s per call).
  SeriesQueryRequest latency;
  latency.metric = kLlmLatencySeconds;
  latency.tenant = "acme";
  latency.step = absl::Hours(1);
  for (auto [aggregation, expected] :
       std::vector<std::pair<Aggregation, double>>{{Aggregation::kSum, 3.2},
                                                   {Aggregation::kAvg, 0.8},
                                                   {Aggregation::kMin, 0.8},
                                                   {Aggregation::kMax, 0.8},
                                                   {Aggregation::kCount, 4},
                                                   {Aggregation::kRate, 3.2 / 3600}}) {
    latency.aggregation = static_cast<int>(aggregation);
    series = query(latency);
    ASSERT_THAT(series, IsOk());
    ASSERT_EQ(series->size(), 1u);
    ASSERT_EQ((*series)[0].points.size(), 1u) << static_cast<int>(aggregation);
    EXPECT_DOUBLE_EQ((*series)[0].points[0].value, expected) << static_cast<int>(aggregation);
  }

  SeriesQueryRequest bad_regex;
  bad_regex.metric = kLlmCallsTotal;
  bad_regex.matchers = {{"model", MatchOp::kEqual, "x"}, {"model", MatchOp::kRegex, "(open"}};
  EXPECT_THAT(query(bad_regex),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::StartsWith("matchers[1].value: invalid regular expression")));
  // Unbalanced in a way the anchoring wrapper would hide.
  bad_regex.matchers = {{"model", MatchOp::kRegex, "a)|(b"}};
  EXPECT_THAT(query(bad_regex), StatusIs(absl::StatusCode::kInvalidArgument));
}

// GetHealth through the real service over the Postgres store.
class HealthServiceTest : public PgStoreTest {
 protected:
  void StartService(common::RedisClient& redis) {
    cache_ = std::make_unique<RedisHealthCache>(redis);
    metrics_ = std::make_unique<MonitorMetrics>(registry_, "agentwatch_monitor");
    service_ = std::make_unique<MonitorServiceImpl>(*store_, *cache_, runner_, executor_, clock_,
                                                    *metrics_, MonitorServiceOptions{}, nullptr);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    stub_ = v1::MonitorService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  void IngestMix() {
    v1::IngestRequest request;
    request.set_producer_id("p");
    request.set_sequence(1);
    for (int i = 0; i < 19; ++i) {
      *request.add_events() =
          fixtures::ProtoRun("acme", "triage", v1::RUN_STATUS_SUCCEEDED, kStart);
    }
    *request.add_events() = fixtures::ProtoRun("acme", "triage", v1::RUN_STATUS_FAILED, kStart);
    *request.add_events() = fixtures::ProtoCall("acme", "gpt-4o", v1::RUN_STATUS_SUCCEEDED, kStart);
    *request.add_events() = fixtures::ProtoCall("globex", "gpt-4o", v1::RUN_STATUS_FAILED, kStart);
    grpc::ClientContext context;
    v1::IngestResponse response;
    ASSERT_TRUE(stub_->Ingest(&context, request, &response).ok());
  }

  v1::HealthReport Health(const std::string& tenant) {
    v1::GetHealthRequest request;
    request.mutable_scope()->set_tenant(tenant);
    grpc::ClientContext context;
    v1::HealthReport report;
    const grpc::Status status = stub_->GetHealth(&context, request, &report);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return report;
  }

  common::Authorizer authorizer_;
  common::BlockingExecutor executor_{4, 100};
  common::RpcRunner runner_{authorizer_, executor_};
  prometheus::Registry registry_;
  std::unique_ptr<RedisHealthCache> cache_;
  std::unique_ptr<MonitorMetrics> metrics_;
  std::unique_ptr<MonitorServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::MonitorService::Stub> stub_;
};

void ExpectAcmeHealth(const v1::HealthReport& report) {
  ASSERT_EQ(report.scopes_size(), 3);  // overall, workflow triage, model gpt-4o
  const v1::ScopeHealth& overall = report.scopes(0);
  EXPECT_EQ(overall.scope().tenant(), "acme");
  for (const v1::Indicator& indicator : overall.indicators()) {
    if (indicator.name() == "error_rate") {
      EXPECT_DOUBLE_EQ(indicator.value(), 1.0 / 21);
      EXPECT_EQ(indicator.sample_count(), 21);
      EXPECT_EQ(indicator.status(), common::v1::HEALTH_STATUS_WARNING);
    }
    if (indicator.name() == "workflow_success_rate") {
      EXPECT_DOUBLE_EQ(indicator.value(), 0.95);
      EXPECT_EQ(indicator.status(), common::v1::HEALTH_STATUS_WARNING);
    }
    if (indicator.name() == "model_error_rate") {
      EXPECT_EQ(indicator.value(), 0);
      EXPECT_EQ(indicator.status(), common::v1::HEALTH_STATUS_HEALTHY);
    }
  }
  // The workflow alone: 1 of 20 runs failed, exactly the critical 5 %.
  const v1::ScopeHealth& triage = report.scopes(1);
  EXPECT_EQ(triage.kind(), "workflow");
  EXPECT_EQ(triage.scope().workflow(), "triage");
  EXPECT_EQ(triage.indicators(0).name(), "error_rate");
  EXPECT_DOUBLE_EQ(triage.indicators(0).value(), 0.05);
  EXPECT_EQ(triage.status(), common::v1::HEALTH_STATUS_CRITICAL);
  EXPECT_EQ(report.scopes(2).kind(), "model");
  EXPECT_EQ(report.scopes(2).status(), common::v1::HEALTH_STATUS_HEALTHY);
  EXPECT_EQ(overall.status(), common::v1::HEALTH_STATUS_WARNING);
  EXPECT_EQ(report.overall_status(), common::v1::HEALTH_STATUS_CRITICAL);
}

TEST_F(HealthServiceTest, AnswersFromPostgresWhenRedisIsDown) {
  common::RedisOptions options;
  options.port = FreePort();  // nothing listens there
  common::RedisClient redis(options);
  ASSERT_THAT(redis.Ping(), StatusIs(absl::StatusCode::kUnavailable));
  StartService(redis);
  IngestMix();
  ExpectAcmeHealth(Health("acme"));
  // The other tenant's failed call is in its own report only.
  const v1::HealthReport globex = Health("globex");
  ASSERT_EQ(globex.scopes_size(), 2);
  EXPECT_EQ(globex.overall_status(), common::v1::HEALTH_STATUS_CRITICAL);
}

TEST_F(HealthServiceTest, CachesTheReportInRedisForOneSecond) {
  common::RedisOptions options;
  ::agentwatch::testing::TestRedis(&options.host, &options.port);
  common::RedisClient redis(options);
  ASSERT_THAT(redis.Ping(), IsOk());
  StartService(redis);
  IngestMix();
  // A tenant of its own, so that keys of other runs never collide.
  const std::string tenant = "acme";
  const v1::HealthReport report = Health(tenant);
  ExpectAcmeHealth(report);
  absl::StatusOr<common::RedisReply> keys =
      redis.Command({"KEYS", absl::StrCat("{", tenant, "}:monitor:health:*")});
  ASSERT_THAT(keys, IsOk());
  ASSERT_FALSE(keys->elements.empty());
  bool found = false;
  for (const common::RedisReply& key : keys->elements) {
    absl::StatusOr<common::RedisReply> value = redis.Command({"GET", key.str});
    ASSERT_THAT(value, IsOk());
    v1::HealthReport cached;
    if (cached.ParseFromString(value->str) &&
        cached.SerializeAsString() == report.SerializeAsString()) {
      found = true;
      absl::StatusOr<common::RedisReply> ttl = redis.Command({"PTTL", key.str});
      ASSERT_THAT(ttl, IsOk());
      EXPECT_GT(ttl->integer, 0);
      EXPECT_LE(ttl->integer, 1000);
    }
  }
  EXPECT_TRUE(found);
}

// ---------------------------------------------------------------------------
// Alert rules in Postgres.

AlertRule FailedRunsRule(const std::string& name = "TriageFailing") {
  AlertRule rule;
  rule.name = name;
  rule.tenant = "acme";
  rule.description = "failed runs";
  rule.condition.metric = "workflow_runs_total";
  rule.condition.matchers = {{"status", MatchOp::kRegex, "failed|timed_out"}};
  rule.condition.group_by = {"workflow"};
  rule.condition.comparison = Comparison::kGreaterOrEqual;
  rule.condition.threshold = 5;
  rule.condition.window = absl::Minutes(2);
  rule.severity = Severity::kP1;
  rule.labels = {{"team", "search"}};
  rule.annotations = {{"runbook_url", "https://runbooks/x?a=\"b\""}};
  rule.hysteresis.resolve_threshold = 2.5;
  rule.hysteresis.keep_firing_for = absl::Seconds(90);
  rule.for_duration = absl::Seconds(0);
  NormalizeAlertRule(&rule);
  return rule;
}

std::vector<incident::v1::Alert> RuleAlerts(const std::vector<std::string>& payloads,
                                            const std::string& name) {
  std::vector<incident::v1::Alert> out;
  for (const std::string& payload : payloads) {
    incident::v1::Alert alert;
    if (alert.ParseFromString(payload) && alert.name() == name) out.push_back(alert);
  }
  return out;
}

TEST_F(PgStoreTest, AlertRulesRoundTripAndCrud) {
  AlertRule rule = FailedRunsRule();
  rule.condition.denominator_metric = "workflow_runs_total";
  rule.condition.denominator_matchers = {{"team", MatchOp::kNotEqual, "x"}};
  rule.condition.threshold = 0.25;
  rule.hysteresis.resolve_threshold = 0.1;
  absl::StatusOr<RuleWriteResult> created = store_->CreateAlertRule(rule, "req-1", kStart);
  ASSERT_THAT(created, IsOk());
  const std::string id = created->rule.id;
  EXPECT_FALSE(id.empty());
  absl::StatusOr<AlertRule> read = store_->GetAlertRule(id);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->name, rule.name);
  EXPECT_EQ(read->tenant, "acme");
  EXPECT_EQ(read->description, rule.description);
  EXPECT_EQ(read->condition.metric, rule.condition.metric);
  ASSERT_EQ(read->condition.matchers.size(), 1u);
  EXPECT_EQ(read->condition.matchers[0].op, MatchOp::kRegex);
  EXPECT_EQ(read->condition.matchers[0].value, "failed|timed_out");
  EXPECT_EQ(read->condition.group_by, rule.condition.group_by);
  EXPECT_EQ(read->condition.window, absl::Minutes(2));
  EXPECT_EQ(read->condition.comparison, Comparison::kGreaterOrEqual);
  EXPECT_EQ(read->condition.threshold, 0.25);
  EXPECT_EQ(read->condition.denominator_metric, "workflow_runs_total");
  ASSERT_EQ(read->condition.denominator_matchers.size(), 1u);
  EXPECT_EQ(read->condition.denominator_matchers[0].op, MatchOp::kNotEqual);
  EXPECT_EQ(read->severity, Severity::kP1);
  EXPECT_EQ(read->labels, rule.labels);
  EXPECT_EQ(read->annotations, rule.annotations);
  EXPECT_EQ(read->hysteresis.resolve_threshold, 0.1);
  EXPECT_EQ(read->hysteresis.keep_firing_for, absl::Seconds(90));
  EXPECT_EQ(read->create_time, kStart);

  // Idempotent by request id; names are unique per tenant.
  absl::StatusOr<RuleWriteResult> retry = store_->CreateAlertRule(rule, "req-1", kStart);
  ASSERT_THAT(retry, IsOk());
  EXPECT_EQ(retry->rule.id, id);
  EXPECT_THAT(store_->CreateAlertRule(rule, "req-2", kStart),
              StatusIs(absl::StatusCode::kAlreadyExists));
  AlertRule bad_regex = FailedRunsRule("Other");
  bad_regex.condition.matchers[0].value = "(unclosed";
  EXPECT_THAT(store_->CreateAlertRule(bad_regex, "", kStart),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::StartsWith("rule.threshold.matchers[0].value: invalid")));
  AlertRule globex = FailedRunsRule();
  globex.tenant = "globex";
  ASSERT_THAT(store_->CreateAlertRule(globex, "", kStart), IsOk());
  ASSERT_THAT(store_->CreateAlertRule(FailedRunsRule("Another"), "", kStart), IsOk());

  absl::StatusOr<AlertRulePage> page = store_->ListAlertRules("acme", std::nullopt, 1);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->rules.size(), 1u);
  EXPECT_EQ(page->rules[0].name, "Another");
  ASSERT_TRUE(page->next.has_value());
  page = store_->ListAlertRules("acme", page->next, 1);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->rules.size(), 1u);
  EXPECT_EQ(page->rules[0].name, "TriageFailing");
  EXPECT_FALSE(page->next.has_value());
  absl::StatusOr<AlertRulePage> all = store_->ListAlertRules("", std::nullopt, 10);
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->rules.size(), 3u);

  AlertRule renamed = *read;
  renamed.name = "Another";
  EXPECT_THAT(store_->UpdateAlertRule(renamed, kStart), StatusIs(absl::StatusCode::kAlreadyExists));
  renamed.name = "Renamed";
  renamed.tenant = "globex";
  EXPECT_THAT(store_->UpdateAlertRule(renamed, kStart),
              StatusIs(absl::StatusCode::kInvalidArgument, "rule.tenant: cannot change"));
  renamed.tenant = "acme";
  absl::StatusOr<RuleWriteResult> updated =
      store_->UpdateAlertRule(renamed, kStart + absl::Seconds(1));
  ASSERT_THAT(updated, IsOk());
  EXPECT_EQ(store_->GetAlertRule(id)->name, "Renamed");
  EXPECT_EQ(store_->GetAlertRule(id)->update_time, kStart + absl::Seconds(1));
  ASSERT_THAT(store_->DeleteAlertRule(id, kStart), IsOk());
  EXPECT_THAT(store_->DeleteAlertRule(id, kStart), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->GetAlertRule(id), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(PgStoreTest, AlertRuleFiresAfterTheBatchAndResolvesWithHysteresis) {
  absl::StatusOr<RuleWriteResult> created = store_->CreateAlertRule(FailedRunsRule(), "", kStart);
  ASSERT_THAT(created, IsOk());
  // 4 failures: under 5, nothing.
  Batch first = FailingRuns("p", 1, "triage", 4, kStart);
  ASSERT_THAT(Commit(first), IsOk());
  absl::StatusOr<SweepResult> evaluated =
      store_->EvaluateAlertRules(AggregateBatch(first), clock_.Now());
  ASSERT_THAT(evaluated, IsOk());
  EXPECT_EQ(evaluated->alerts.fired, 0);
  // A fifth: fires.
  Batch second = FailingRuns("p", 2, "triage", 1, kStart);
  ASSERT_THAT(Commit(second), IsOk());
  evaluated = store_->EvaluateAlertRules(AggregateBatch(second), clock_.Now());
  ASSERT_THAT(evaluated, IsOk());
  EXPECT_EQ(evaluated->alerts.fired, 1);
  EXPECT_EQ(evaluated->outbox_enqueued, 1);
  std::vector<incident::v1::Alert> alerts =
      RuleAlerts(Payloads(kIncidentDestination), "TriageFailing");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].status(), incident::v1::ALERT_STATUS_FIRING);
  EXPECT_EQ(alerts[0].fingerprint(),
            AlertRuleFingerprint("acme", created->rule.id, {{"workflow", "triage"}}));
  EXPECT_EQ(alerts[0].severity(), common::v1::SEVERITY_P1);
  EXPECT_EQ(alerts[0].labels().at("team"), "search");
  EXPECT_EQ(alerts[0].annotations().at("runbook_url"), "https://runbooks/x?a=\"b\"");

  // Listed as active, with its value.
  ActiveAlertFilter filter;
  filter.matchers = {{"workflow", MatchOp::kRegex, "tri.*"}};
  absl::StatusOr<ActiveAlertPage> active = store_->ListActiveAlerts(filter, std::nullopt, 10);
  ASSERT_THAT(active, IsOk());
  // Only the rule's: 5 runs are too few for the built-in error-rate alert.
  ASSERT_EQ(active->alerts.size(), 1u);
  const AlertState& mine = active->alerts[0];
  EXPECT_EQ(mine.rule, kAlertRuleEvaluator);
  EXPECT_TRUE(mine.firing);
  EXPECT_EQ(mine.starts_at, kStart);
  EXPECT_EQ(mine.value, 5);
  EXPECT_EQ(mine.rule_id, created->rule.id);
  EXPECT_EQ(mine.annotations.at("runbook_url"), "https://runbooks/x?a=\"b\"");
  filter.matchers = {{"workflow", MatchOp::kEqual, "report"}};
  EXPECT_TRUE(store_->ListActiveAlerts(filter, std::nullopt, 10)->alerts.empty());
  filter.matchers = {{"workflow", MatchOp::kRegex, "("}};
  EXPECT_THAT(store_->ListActiveAlerts(filter, std::nullopt, 10),
              StatusIs(absl::StatusCode::kInvalidArgument));

  // The window (2 minutes) empties: the value (no data) no longer holds,
  // keep_firing_for (90 s) keeps it firing, then it resolves.
  clock_.Advance(absl::Minutes(3));
  absl::StatusOr<SweepResult> swept = store_->SweepAlerts(clock_.Now(), 100);
  ASSERT_THAT(swept, IsOk());
  EXPECT_EQ(RuleAlerts(Payloads(kIncidentDestination), "TriageFailing").size(), 1u);
  clock_.Advance(absl::Seconds(90));
  swept = store_->SweepAlerts(clock_.Now(), 100);
  ASSERT_THAT(swept, IsOk());
  alerts = RuleAlerts(Payloads(kIncidentDestination), "TriageFailing");
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[1].status(), incident::v1::ALERT_STATUS_RESOLVED);
  EXPECT_EQ(alerts[1].fingerprint(), alerts[0].fingerprint());
  EXPECT_EQ(alerts[1].ends_at().seconds(), absl::ToUnixSeconds(clock_.Now()));
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE rule = 'alert_rule'"), 0);
}

TEST_F(PgStoreTest, TwoReplicasEvaluatingOneRuleFireOnce) {
  std::unique_ptr<common::PgPool> other_pool = TestPool(db_.dsn());
  PgMonitorStore other(*other_pool, limits_, {});
  ASSERT_THAT(store_->CreateAlertRule(FailedRunsRule(), "", kStart), IsOk());
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    const std::string workflow = absl::StrCat("wf-", round);
    // Each replica commits 3 failures (under 5 alone, 6 together) and
    // evaluates right after its commit.
    const Batch a = FailingRuns("replica-a", round, workflow, 3, kStart, "team-a");
    const Batch b = FailingRuns("replica-b", round, workflow, 3, kStart, "team-b");
    absl::Barrier* barrier = new absl::Barrier(2);
    std::atomic<int> fired{0};
    auto run = [&](const Batch& batch, PgMonitorStore* store) {
      if (barrier->Block()) delete barrier;
      ASSERT_THAT(Commit(batch, store), IsOk());
      absl::StatusOr<SweepResult> result =
          store->EvaluateAlertRules(AggregateBatch(batch), clock_.Now());
      ASSERT_THAT(result, IsOk());
      fired += result->alerts.fired;
    };
    std::thread ta(run, std::cref(a), store_.get());
    std::thread tb(run, std::cref(b), &other);
    ta.join();
    tb.join();
    EXPECT_EQ(fired.load(), 1) << workflow;
  }
  EXPECT_EQ(RuleAlerts(Payloads(kIncidentDestination), "TriageFailing").size(),
            static_cast<size_t>(kRounds));
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state "
                   "WHERE rule = 'alert_rule' AND firing"),
            kRounds);
}

TEST_F(PgStoreTest, ListSeriesAndGauges) {
  Batch batch;
  batch.producer_id = "p";
  batch.sequence = 1;
  batch.events.push_back(MakeEvent(MakeCall("gpt-4o"), kStart));
  batch.events.push_back(MakeEvent(MakeCall("gpt-4o-mini"), kStart + absl::Minutes(2)));
  batch.events.push_back(MakeEvent(MakeCall("gpt-4o"), kStart, "globex"));
  ASSERT_THAT(Commit(batch), IsOk());

  SeriesListQuery query;
  query.tenant = "acme";
  query.metric = "llm_calls_total";
  std::vector<std::string> models;
  std::optional<std::pair<std::string, std::string>> after;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<SeriesPage> page = store_->ListSeries(query, after, 1);
    ASSERT_THAT(page, IsOk());
    for (const SeriesInfo& info : page->series) {
      EXPECT_EQ(info.tenant, "acme");
      models.push_back(info.labels.at("model"));
      const absl::Time minute =
          info.labels.at("model") == "gpt-4o" ? kStart : kStart + absl::Minutes(2);
      EXPECT_EQ(info.first_time, minute);
      EXPECT_EQ(info.last_time, minute);
    }
    if (!page->next.has_value()) break;
    after = page->next;
  }
  EXPECT_THAT(models, ::testing::UnorderedElementsAre("gpt-4o", "gpt-4o-mini"));

  // A range that holds only the later minute, and matchers.
  query.start = kStart + absl::Minutes(1);
  absl::StatusOr<SeriesPage> later = store_->ListSeries(query, std::nullopt, 10);
  ASSERT_THAT(later, IsOk());
  ASSERT_EQ(later->series.size(), 1u);
  EXPECT_EQ(later->series[0].labels.at("model"), "gpt-4o-mini");
  SeriesListQuery matched;
  matched.matchers = {{"model", MatchOp::kRegex, "gpt-4o"}, {"tenant", MatchOp::kNotEqual, "acme"}};
  absl::StatusOr<SeriesPage> globex = store_->ListSeries(matched, std::nullopt, 100);
  ASSERT_THAT(globex, IsOk());
  ASSERT_FALSE(globex->series.empty());
  for (const SeriesInfo& info : globex->series) EXPECT_EQ(info.tenant, "globex");
  matched.matchers = {{"model", MatchOp::kRegex, "("}};
  EXPECT_THAT(store_->ListSeries(matched, std::nullopt, 10),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::StartsWith("matchers[0].value: invalid regular expression")));

  absl::StatusOr<StoreGauges> gauges = store_->ReadGauges();
  ASSERT_THAT(gauges, IsOk());
  EXPECT_EQ(gauges->active_series, Scalar("SELECT count(*) FROM monitor.series"));
  EXPECT_GT(gauges->active_series, 0);
  // The usage of the calls, one outbox row per tenant and batch.
  EXPECT_EQ(gauges->outbox_depth, Scalar("SELECT count(*) FROM monitor.outbox"));
  EXPECT_EQ(gauges->outbox_depth, 2);
}

// ---------------------------------------------------------------------------
// Health-threshold overrides in Postgres.

ScopeThresholds TenantOverrides(const std::string& tenant, const std::string& workflow,
                                std::vector<ThresholdOverride> thresholds) {
  ScopeThresholds out;
  out.scope.tenant = tenant;
  out.scope.workflow = workflow;
  out.thresholds = std::move(thresholds);
  return out;
}

TEST_F(PgStoreTest, ThresholdsRoundTripReplaceListAndDelete) {
  ScopeThresholds tagged = TenantOverrides(
      "acme", "triage",
      {{"error_rate", 0.1 + 0.2, 0.7, false}, {"workflow_success_rate", 0.99, 0.98, true}});
  tagged.scope.tags = {{"env", "prod"}, {"quote", "a\"b'c"}};
  const absl::Time at = kStart + absl::Microseconds(123);
  absl::StatusOr<ScopeThresholds> stored = store_->SetThresholds(tagged, at);
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->update_time, at);
  ASSERT_THAT(store_->SetThresholds(TenantOverrides("", "", {{"latency_p95", 1, 3, false}}), at),
              IsOk());
  ASSERT_THAT(
      store_->SetThresholds(TenantOverrides("globex", "", {{"latency_p95", 4, 5, false}}), at),
      IsOk());

  absl::StatusOr<std::vector<ScopeThresholds>> acme = store_->ReadThresholds("acme");
  ASSERT_THAT(acme, IsOk());
  ASSERT_EQ(acme->size(), 2u);  // acme's and the tenant-less one
  const ScopeThresholds& read = (*acme)[0].scope.tenant == "acme" ? (*acme)[0] : (*acme)[1];
  EXPECT_EQ(read.scope.workflow, "triage");
  EXPECT_EQ(read.scope.tags, tagged.scope.tags);
  EXPECT_EQ(read.thresholds, tagged.thresholds);  // doubles exactly, order kept
  EXPECT_EQ(read.update_time, at);
  EXPECT_EQ(ScopeKey(read.scope), ScopeKey(tagged.scope));
  absl::StatusOr<std::vector<ScopeThresholds>> all = store_->ReadThresholds("");
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->size(), 3u);

  // Replacing keeps one row per scope.
  ScopeThresholds replaced = tagged;
  replaced.thresholds = {{"cpu_utilization", 0.5, 0.6, false}};
  ASSERT_THAT(store_->SetThresholds(replaced, at + absl::Seconds(1)), IsOk());
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.health_thresholds"), 3);

  // Listing pages in (tenant, scope key) order.
  std::vector<std::string> tenants;
  std::optional<std::pair<std::string, std::string>> after;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<ThresholdPage> page = store_->ListThresholds("", after, 2);
    ASSERT_THAT(page, IsOk());
    for (const ScopeThresholds& entry : page->entries) tenants.push_back(entry.scope.tenant);
    if (!page->next.has_value()) break;
    after = page->next;
  }
  EXPECT_THAT(tenants, ElementsAre("", "acme", "globex"));
  absl::StatusOr<ThresholdPage> only_acme = store_->ListThresholds("acme", std::nullopt, 10);
  ASSERT_THAT(only_acme, IsOk());
  ASSERT_EQ(only_acme->entries.size(), 1u);
  EXPECT_EQ(only_acme->entries[0].thresholds, replaced.thresholds);
  EXPECT_FALSE(only_acme->next.has_value());

  EXPECT_THAT(store_->DeleteThresholds(tagged.scope), IsOk());
  EXPECT_THAT(store_->DeleteThresholds(tagged.scope), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.health_thresholds"), 2);
}

TEST_F(PgStoreTest, ThresholdScopesPerTenantAreLimited) {
  ASSERT_THAT(pool_->WithTransaction([](pqxx::work& txn) {
    txn.exec(R"sql(
      INSERT INTO monitor.health_thresholds (tenant_id, scope_key, team, workflow, agent, model,
          provider, service, tags, indicators, warnings, criticals, disabled, update_time)
      SELECT 'acme', 'k' || i, '', 'w' || i, '', '', '', '', '{}', '{error_rate}', '{0.1}',
             '{0.2}', '{false}', now()
      FROM generate_series(1, 1000) AS i)sql");
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_THAT(store_->SetThresholds(
                  TenantOverrides("acme", "one-more", {{"error_rate", 0.1, 0.2, false}}), kStart),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.health_thresholds"), 1000);
  // Another tenant is not affected.
  EXPECT_THAT(store_->SetThresholds(
                  TenantOverrides("globex", "", {{"error_rate", 0.1, 0.2, false}}), kStart),
              IsOk());
}

TEST_F(HealthServiceTest, GetHealthUsesOverridesStoredInPostgres) {
  common::RedisOptions options;
  options.port = FreePort();  // Redis down: computed from Postgres
  common::RedisClient redis(options);
  StartService(redis);
  IngestMix();
  // The workflow alone is at exactly 5 % errors: CRITICAL by default, healthy
  // with a 10 % / 20 % override for it.
  ASSERT_THAT(store_->SetThresholds(
                  TenantOverrides("acme", "triage", {{"error_rate", 0.1, 0.2, false}}), kStart),
              IsOk());
  const v1::HealthReport report = Health("acme");
  ASSERT_EQ(report.scopes_size(), 3);
  const v1::ScopeHealth& triage = report.scopes(1);
  ASSERT_EQ(triage.scope().workflow(), "triage");
  EXPECT_EQ(triage.indicators(0).name(), "error_rate");
  EXPECT_EQ(triage.indicators(0).status(), common::v1::HEALTH_STATUS_HEALTHY);
  EXPECT_EQ(triage.indicators(0).warning_threshold(), 0.1);
  EXPECT_EQ(report.scopes(0).status(), common::v1::HEALTH_STATUS_WARNING);
}

// A Redis of this test's own that it stops and starts again.
class PrivateRedis {
 public:
  PrivateRedis() : port_(FreePort()) {
    char pattern[] = "/tmp/aw_monitor_redis_XXXXXX";
    dir_ = mkdtemp(pattern);
  }
  ~PrivateRedis() {
    Stop();
    std::system(absl::StrCat("rm -rf ", dir_).c_str());
  }
  int port() const { return port_; }
  // Starts the server and waits until `client` reaches it.
  void Start(common::RedisClient& client) {
    ASSERT_EQ(std::system(absl::StrCat("redis-server --bind 127.0.0.1 --port ", port_,
                                       " --save '' --appendonly no --dir ", dir_,
                                       " --daemonize yes --pidfile ", dir_,
                                       "/redis.pid >/dev/null")
                              .c_str()),
              0);
    absl::Status status;
    for (int i = 0; i < 200; ++i) {
      status = client.Ping();
      if (status.ok()) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_THAT(status, IsOk());
  }
  void Stop() {
    std::system(absl::StrCat("redis-cli -p ", port_, " shutdown nosave >/dev/null 2>&1").c_str());
  }

 private:
  int port_;
  std::string dir_;
};

const v1::Indicator* FindIndicator(const v1::ScopeHealth& scope, const std::string& name) {
  for (const v1::Indicator& indicator : scope.indicators()) {
    if (indicator.name() == name) return &indicator;
  }
  return nullptr;
}

// Redis stops while the service runs: GetHealth keeps answering from
// Postgres with the data ingested since (not the report cached before), and
// caches again once Redis is back.
TEST_F(HealthServiceTest, RedisStoppedMidRunAnswersStayCorrect) {
  PrivateRedis server;
  common::RedisOptions options;
  options.host = "127.0.0.1";
  options.port = server.port();
  options.reconnect_backoff = absl::ZeroDuration();
  common::RedisClient redis(options);
  server.Start(redis);
  StartService(redis);
  IngestMix();
  const v1::HealthReport before = Health("acme");
  ExpectAcmeHealth(before);
  absl::StatusOr<common::RedisReply> keys = redis.Command({"KEYS", "*"});
  ASSERT_THAT(keys, IsOk());
  EXPECT_EQ(keys->elements.size(), 1u);  // the report, cached

  server.Stop();
  // Ingest does not need Redis; 20 more failed runs of triage.
  v1::IngestRequest request;
  request.set_producer_id("p");
  request.set_sequence(2);
  for (int i = 0; i < 20; ++i) {
    *request.add_events() = fixtures::ProtoRun("acme", "triage", v1::RUN_STATUS_FAILED, kStart);
  }
  {
    grpc::ClientContext context;
    v1::IngestResponse response;
    ASSERT_TRUE(stub_->Ingest(&context, request, &response).ok());
  }
  const v1::HealthReport during = Health("acme");
  ASSERT_EQ(during.scopes_size(), 3);
  const v1::Indicator* errors = FindIndicator(during.scopes(0), "error_rate");
  ASSERT_NE(errors, nullptr);
  EXPECT_EQ(errors->sample_count(), 41);
  EXPECT_DOUBLE_EQ(errors->value(), 21.0 / 41);
  EXPECT_EQ(errors->status(), common::v1::HEALTH_STATUS_CRITICAL);
  const v1::Indicator* success = FindIndicator(during.scopes(0), "workflow_success_rate");
  ASSERT_NE(success, nullptr);
  EXPECT_DOUBLE_EQ(success->value(), 19.0 / 40);

  // Redis back (empty): the same answer, cached again.
  server.Start(redis);
  const v1::HealthReport after = Health("acme");
  EXPECT_EQ(after.SerializeAsString(), during.SerializeAsString());
  keys = redis.Command({"KEYS", "*"});
  ASSERT_THAT(keys, IsOk());
  EXPECT_EQ(keys->elements.size(), 1u);
}

// Two replicas (each its own pool, store with the ingest journal as
// deployed, and service) each ingest half of a minute's events: once the
// other applied its journal (what its flush worker does every
// --rollup_flush_interval), both answer GetHealth as one replica of all the
// events would, latency quantiles merged from both replicas' sketches.
TEST_F(HealthServiceTest, TwoReplicasGiveTheSameHealth) {
  struct Replica {
    Replica(const std::string& dsn, common::FakeClock& clock, WorkflowErrorRateRule& rule,
            common::RpcRunner& runner, common::BlockingExecutor& executor) {
      pool = TestPool(dsn);
      PgMonitorStoreOptions options;
      options.journal_rollups = true;
      store = std::make_unique<PgMonitorStore>(*pool, StoreLimits{},
                                               std::vector<const RuleEvaluator*>{&rule}, options);
      redis_options.port = FreePort();  // no cache: every answer computed
      redis = std::make_unique<common::RedisClient>(redis_options);
      cache = std::make_unique<RedisHealthCache>(*redis);
      metrics = std::make_unique<MonitorMetrics>(registry, "agentwatch_monitor");
      service = std::make_unique<MonitorServiceImpl>(*store, *cache, runner, executor, clock,
                                                     *metrics, MonitorServiceOptions{}, nullptr);
      grpc::ServerBuilder builder;
      int port = 0;
      builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
      builder.RegisterService(service.get());
      server = builder.BuildAndStart();
      stub = v1::MonitorService::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                                             grpc::InsecureChannelCredentials()));
    }
    ~Replica() { server->Shutdown(); }
    void Ingest(const v1::IngestRequest& request) {
      grpc::ClientContext context;
      v1::IngestResponse response;
      const grpc::Status status = stub->Ingest(&context, request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
    v1::HealthReport Health() {
      v1::GetHealthRequest request;
      request.mutable_scope()->set_tenant("acme");
      grpc::ClientContext context;
      v1::HealthReport report;
      const grpc::Status status = stub->GetHealth(&context, request, &report);
      EXPECT_TRUE(status.ok()) << status.error_message();
      return report;
    }
    std::unique_ptr<common::PgPool> pool;
    std::unique_ptr<PgMonitorStore> store;
    common::RedisOptions redis_options;
    std::unique_ptr<common::RedisClient> redis;
    std::unique_ptr<RedisHealthCache> cache;
    prometheus::Registry registry;
    std::unique_ptr<MonitorMetrics> metrics;
    std::unique_ptr<MonitorServiceImpl> service;
    std::unique_ptr<grpc::Server> server;
    std::unique_ptr<v1::MonitorService::Stub> stub;
  };
  Replica a(db_.dsn(), clock_, rule_, runner_, executor_);
  Replica b(db_.dsn(), clock_, rule_, runner_, executor_);
  // Replica a: 10 succeeded runs, calls of 0.1 .. 1.0 s; replica b: 9
  // succeeded and 1 failed run, calls of 1.1 .. 2.0 s; same minute, series.
  for (int half = 0; half < 2; ++half) {
    v1::IngestRequest request;
    request.set_producer_id(half == 0 ? "producer-a" : "producer-b");
    request.set_sequence(1);
    for (int i = 0; i < 10; ++i) {
      const bool failed = half == 1 && i == 9;
      *request.add_events() = fixtures::ProtoRun(
          "acme", "triage", failed ? v1::RUN_STATUS_FAILED : v1::RUN_STATUS_SUCCEEDED,
          kStart + absl::Seconds(i));
      v1::Event call =
          fixtures::ProtoCall("acme", "gpt-4o", v1::RUN_STATUS_SUCCEEDED, kStart + absl::Seconds(i));
      const int tenths = half * 10 + i + 1;  // 0.1 .. 2.0 s
      call.mutable_llm_call()->mutable_latency()->set_seconds(tenths / 10);
      call.mutable_llm_call()->mutable_latency()->set_nanos(tenths % 10 * 100'000'000);
      *request.add_events() = call;
    }
    (half == 0 ? a : b).Ingest(request);
  }
  // b's flush worker ran; a's own pending cells are applied by its read.
  ASSERT_THAT(b.store->FlushRollups(clock_.Now()), IsOk());
  const v1::HealthReport from_a = a.Health();
  const v1::HealthReport from_b = b.Health();
  EXPECT_EQ(from_a.SerializeAsString(), from_b.SerializeAsString());

  ASSERT_EQ(from_a.scopes_size(), 3);  // overall, workflow triage, model gpt-4o
  const v1::Indicator* errors = FindIndicator(from_a.scopes(0), "error_rate");
  ASSERT_NE(errors, nullptr);
  EXPECT_EQ(errors->sample_count(), 40);
  EXPECT_DOUBLE_EQ(errors->value(), 1.0 / 40);
  const v1::Indicator* success = FindIndicator(from_a.scopes(0), "workflow_success_rate");
  ASSERT_NE(success, nullptr);
  EXPECT_DOUBLE_EQ(success->value(), 19.0 / 20);
  const v1::ScopeHealth& model = from_a.scopes(2);
  ASSERT_EQ(model.scope().model(), "gpt-4o");
  const v1::Indicator* latency = FindIndicator(model, "model_latency_p95");
  ASSERT_NE(latency, nullptr);
  EXPECT_EQ(latency->sample_count(), 20);
  // Rank floor(0.95 * 19) = 18 of 0.1 .. 2.0 s: 1.9 s, within the 1 % bound.
  EXPECT_NEAR(latency->value(), 1.9, 1.9 * 0.01);
}

// Outbox entries written by the store are delivered by the dispatcher with
// the monitor's handlers.
class RecordingIncidentService final : public incident::v1::IncidentService::CallbackService {
 public:
  grpc::ServerUnaryReactor* ReportAlerts(grpc::CallbackServerContext* context,
                                         const incident::v1::ReportAlertsRequest* request,
                                         incident::v1::ReportAlertsResponse* response) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& alert : request->alerts()) alerts.push_back(alert);
    }
    response->set_accepted(request->alerts_size());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  std::mutex mu;
  std::vector<incident::v1::Alert> alerts;
};

TEST_F(PgStoreTest, DispatcherDeliversAlertsToTheIncidentService) {
  RecordingIncidentService incident;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&incident);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto stub = incident::v1::IncidentService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));

  ASSERT_THAT(Commit(FailingRuns("p", 1, "triage", 12, kStart)), IsOk());
  prometheus::Registry registry;
  common::OutboxDispatcherOptions options;
  options.schema = kOutboxSchema;
  common::OutboxDispatcher dispatcher(*pool_, options, registry, "agentwatch_monitor");
  dispatcher.AddHandler(kIncidentDestination, MakeReportAlertsHandler(*stub, absl::Seconds(5)));
  dispatcher.AddHandler(kCostDestination,
                        [](const std::vector<common::OutboxEntry>&) { return absl::OkStatus(); });
  absl::StatusOr<int> delivered = dispatcher.DispatchOnce();
  ASSERT_THAT(delivered, IsOk());
  EXPECT_EQ(*delivered, 1);
  ASSERT_EQ(incident.alerts.size(), 1u);
  EXPECT_EQ(incident.alerts[0].fingerprint(), WorkflowErrorRateFingerprint("acme", "triage"));
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.outbox"), 0);
  server->Shutdown();
}

}  // namespace
}  // namespace agentwatch::monitor
