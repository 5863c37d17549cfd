// The rollups' daily partitions (migration 007, RollupPartitions, the
// maintenance worker) against the real Postgres: existing rollups survive the
// conversion, a batch creates the partition of its day, maintenance creates
// days ahead and drops the days past the retention (and only those), and two
// replicas maintaining at once agree.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/pg.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "common/testing/test_pool.h"
#include "monitor/core/rollup.h"
#include "monitor/core/rules.h"
#include "monitor/jobs/rollup_partition_worker.h"
#include "monitor/store/migrations.h"
#include "monitor/store/pg_monitor_store.h"
#include "monitor/store/rollup_partitions.h"
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
using ::testing::ElementsAre;

// 2023-11-14 22:14:00 UTC (fixtures::TestNow()).
const absl::Time kNow = fixtures::TestNow();
const int64_t kToday = UtcDay(kNow);

std::vector<common::Migration> MigrationsBefore(int version) {
  std::vector<common::Migration> out;
  for (const common::Migration& m : Migrations()) {
    if (m.version < version) out.push_back(m);
  }
  return out;
}

template <typename T>
T Scalar(common::PgPool& pool, const std::string& sql) {
  absl::StatusOr<T> value = pool.Transact<T>(
      [&](pqxx::work& txn) -> absl::StatusOr<T> { return txn.exec(sql)[0][0].as<T>(); });
  EXPECT_THAT(value.status(), IsOk());
  return value.value_or(T{});
}

Batch RunsAt(const std::string& producer, uint64_t sequence, std::vector<absl::Time> times) {
  Batch batch;
  batch.producer_id = producer;
  batch.sequence = sequence;
  for (absl::Time t : times) {
    batch.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kSucceeded), t));
  }
  return batch;
}

TEST(RollupPartitionNames, DaysAndNames) {
  EXPECT_EQ(UtcDay(absl::FromUnixSeconds(0)), 0);
  EXPECT_EQ(UtcDay(absl::FromUnixSeconds(86399)), 0);
  EXPECT_EQ(UtcDay(absl::FromUnixSeconds(86400)), 1);
  EXPECT_EQ(UtcDay(absl::FromUnixSeconds(-1)), -1);
  EXPECT_EQ(RollupPartitionName(UtcDay(kNow)), "rollups_1m_p20231114");
}

TEST(RollupPartitionsTest, ExistingRollupsSurviveTheMigration) {
  TestDatabase db;
  auto pool = TestPool(db.dsn());
  ASSERT_THAT(common::ApplyMigrations(*pool, kOutboxSchema, MigrationsBefore(7)), IsOk());
  ASSERT_THAT(pool->WithTransaction([](pqxx::work& txn) {
    txn.exec(R"sql(
INSERT INTO monitor.rollups_1m (tenant_id, metric, series_key, bucket, count, sum, min, max, sketch)
VALUES ('acme', 'workflow_runs_total', 'k1', '2023-11-13T23:59:00Z', 3, 3, 1, 1, NULL),
       ('acme', 'workflow_runs_total', 'k1', '2023-11-14T00:00:00Z', 2, 2, 1, 1, NULL),
       ('acme', 'workflow_duration_seconds', 'k1', '2023-11-14T22:14:00Z', 1, 2.5, 2.5, 2.5,
        '\x0102'::bytea))sql");
    return absl::OkStatus();
  }), IsOk());
  ASSERT_THAT(common::ApplyMigrations(*pool, kOutboxSchema, Migrations()), IsOk());

  EXPECT_EQ(Scalar<std::string>(*pool, "SELECT relkind::text FROM pg_class "
                                       "WHERE oid = 'monitor.rollups_1m'::regclass"),
            "p");
  EXPECT_EQ(Scalar<int64_t>(*pool, "SELECT count(*) FROM monitor.rollups_1m"), 3);
  EXPECT_EQ(Scalar<int64_t>(*pool, "SELECT sum(count) FROM monitor.rollups_1m"), 6);
  EXPECT_EQ(Scalar<std::string>(*pool, "SELECT encode(sketch, 'hex') FROM monitor.rollups_1m "
                                       "WHERE metric = 'workflow_duration_seconds'"),
            "0102");
  // Each row in the partition of its UTC day.
  EXPECT_EQ(Scalar<int64_t>(*pool, "SELECT count(*) FROM monitor.rollups_1m_p20231113"), 1);
  EXPECT_EQ(Scalar<int64_t>(*pool, "SELECT count(*) FROM monitor.rollups_1m_p20231114"), 2);
  RollupPartitions partitions(*pool);
  EXPECT_THAT(partitions.ListDays(), IsOkAndHolds(ElementsAre(kToday - 1, kToday)));
  // The old table is gone and the key still merges upserts.
  EXPECT_EQ(Scalar<bool>(*pool, "SELECT to_regclass('monitor.rollups_1m_unpartitioned') IS NULL"),
            true);
  ErrorRateAlertConfig config;
  WorkflowErrorRateRule rule(config);
  PgMonitorStore store(*pool, StoreLimits{}, {&rule});
  ASSERT_THAT(store.CommitBatch("p", 1, AggregateBatch(RunsAt("p", 1, {kNow})), kNow).status(),
              IsOk());
  EXPECT_EQ(Scalar<int64_t>(*pool, "SELECT count(*) FROM monitor.rollups_1m_p20231114"), 4);
}

TEST(RollupPartitionsTest, BatchesCreateThePartitionsOfTheirDays) {
  TestDatabase db;
  auto pool = TestPool(db.dsn());
  ASSERT_THAT(common::ApplyMigrations(*pool, kOutboxSchema, Migrations()), IsOk());
  ErrorRateAlertConfig config;
  WorkflowErrorRateRule rule(config);
  PgMonitorStore store(*pool, StoreLimits{}, {&rule});
  EXPECT_THAT(store.partitions().ListDays(), IsOkAndHolds(ElementsAre()));

  // Today and an event 10 days old: both days get their partition.
  const Batch batch = RunsAt("p", 1, {kNow, kNow - absl::Hours(240), kNow});
  ASSERT_THAT(store.CommitBatch("p", 1, AggregateBatch(batch), kNow).status(), IsOk());
  EXPECT_THAT(store.partitions().ListDays(), IsOkAndHolds(ElementsAre(kToday - 10, kToday)));
  EXPECT_EQ(Scalar<int64_t>(*pool, "SELECT sum(count) FROM monitor.rollups_1m "
                                   "WHERE metric = 'workflow_runs_total'"),
            3);
  // Both leave half of each page for HOT updates of their rows.
  EXPECT_EQ(Scalar<int64_t>(*pool, "SELECT count(*) FROM pg_class c "
                                   "JOIN pg_inherits i ON i.inhrelid = c.oid "
                                   "WHERE i.inhparent = 'monitor.rollups_1m'::regclass "
                                   "AND 'fillfactor=50' = ANY(c.reloptions)"),
            2);
  // A replay writes nothing more.
  absl::StatusOr<CommitResult> replay = store.CommitBatch("p", 1, AggregateBatch(batch), kNow);
  ASSERT_THAT(replay.status(), IsOk());
  EXPECT_TRUE(replay->duplicate);
  EXPECT_EQ(Scalar<int64_t>(*pool, "SELECT sum(count) FROM monitor.rollups_1m "
                                   "WHERE metric = 'workflow_runs_total'"),
            3);
}

TEST(RollupPartitionsTest, MaintenanceCreatesAheadAndDropsPastTheRetention) {
  TestDatabase db;
  auto pool = TestPool(db.dsn());
  ASSERT_THAT(common::ApplyMigrations(*pool, kOutboxSchema, Migrations()), IsOk());
  ErrorRateAlertConfig config;
  WorkflowErrorRateRule rule(config);
  PgMonitorStore store(*pool, StoreLimits{}, {&rule});
  // Data 5, 4 and 3 days old and today.
  const Batch batch = RunsAt("p", 1,
                             {kNow - absl::Hours(5 * 24), kNow - absl::Hours(4 * 24),
                              kNow - absl::Hours(3 * 24), kNow});
  ASSERT_THAT(store.CommitBatch("p", 1, AggregateBatch(batch), kNow).status(), IsOk());

  common::FakeClock clock(kNow);
  RollupPartitionWorker worker(store.partitions(), clock, absl::Hours(4 * 24));
  absl::StatusOr<PartitionMaintenance> done = worker.RunOnce();
  ASSERT_THAT(done.status(), IsOk());
  // Today + 2 ahead: today existed, two created. kNow is 22:14, so now - 4d
  // is day kToday - 4 at 22:14: only day kToday - 5 ended before it.
  EXPECT_EQ(done->created, 2);
  EXPECT_EQ(done->dropped, 1);
  EXPECT_THAT(store.partitions().ListDays(),
              IsOkAndHolds(ElementsAre(kToday - 4, kToday - 3, kToday, kToday + 1, kToday + 2)));
  EXPECT_EQ(Scalar<int64_t>(*pool, "SELECT count(*) FROM monitor.rollups_1m "
                                   "WHERE metric = 'workflow_runs_total'"),
            3);

  // A second pass at the same time does nothing.
  done = worker.RunOnce();
  ASSERT_THAT(done.status(), IsOk());
  EXPECT_EQ(done->created, 0);
  EXPECT_EQ(done->dropped, 0);

  // 26 hours later (00:14 of day kToday + 2): days kToday - 4 and - 3 have
  // ended more than 4 days ago, and days kToday + 3 and + 4 are due.
  clock.Advance(absl::Hours(26));
  done = worker.RunOnce();
  ASSERT_THAT(done.status(), IsOk());
  EXPECT_EQ(done->created, 2);
  EXPECT_EQ(done->dropped, 2);
  EXPECT_THAT(store.partitions().ListDays(),
              IsOkAndHolds(ElementsAre(kToday, kToday + 1, kToday + 2, kToday + 3, kToday + 4)));
  EXPECT_EQ(Scalar<int64_t>(*pool, "SELECT count(*) FROM monitor.rollups_1m "
                                   "WHERE metric = 'workflow_runs_total'"),
            1);
  // Ingest keeps working on the new day.
  const Batch later = RunsAt("p", 2, {clock.Now()});
  ASSERT_THAT(store.CommitBatch("p", 2, AggregateBatch(later), clock.Now()).status(), IsOk());
  EXPECT_EQ(Scalar<int64_t>(*pool, "SELECT count(*) FROM monitor.rollups_1m "
                                   "WHERE metric = 'workflow_runs_total'"),
            2);
}

TEST(RollupPartitionsTest, RetentionBelowTheMinimumIsRefused) {
  TestDatabase db;
  auto pool = TestPool(db.dsn());
  ASSERT_THAT(common::ApplyMigrations(*pool, kOutboxSchema, Migrations()), IsOk());
  RollupPartitions partitions(*pool);
  EXPECT_THAT(partitions.Maintain(kNow, absl::Hours(71)),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("rollup_retention")));
  EXPECT_THAT(partitions.ListDays(), IsOkAndHolds(ElementsAre()));
}

TEST(RollupPartitionsTest, TwoReplicasMaintainingAtOnceAgree) {
  TestDatabase db;
  auto pool_a = TestPool(db.dsn());
  auto pool_b = TestPool(db.dsn());
  ASSERT_THAT(common::ApplyMigrations(*pool_a, kOutboxSchema, Migrations()), IsOk());
  RollupPartitions a(*pool_a), b(*pool_b);
  absl::StatusOr<PartitionMaintenance> done_a, done_b;
  std::thread ta([&] { done_a = a.Maintain(kNow, absl::Hours(24 * 30), 5); });
  std::thread tb([&] { done_b = b.Maintain(kNow, absl::Hours(24 * 30), 5); });
  ta.join();
  tb.join();
  ASSERT_THAT(done_a.status(), IsOk());
  ASSERT_THAT(done_b.status(), IsOk());
  EXPECT_EQ(done_a->created + done_b->created, 6);
  EXPECT_THAT(a.ListDays(), IsOkAndHolds(ElementsAre(kToday, kToday + 1, kToday + 2, kToday + 3,
                                                     kToday + 4, kToday + 5)));
}

}  // namespace
}  // namespace agentwatch::monitor
