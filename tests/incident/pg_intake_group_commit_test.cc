// Group commit of PgIncidentStore::ReportAlerts against the real Postgres
// (AGENTWATCH_TEST_PG_DSN): batches queued while a group transaction runs are
// written together, with exactly the rows and answers of the serial run; a
// batch that cannot be written fails alone; replicas still open one incident
// per group.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/pg.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "incident/store/migrations.h"
#include "incident/store/pg_incident_store.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using testing::Firing;
using testing::Resolved;
using ::testing::ElementsAre;

const absl::Time kT0 = absl::FromUnixMicros(1'700'000'000'123'456);

common::PgPoolOptions PoolOptions(const std::string& dsn) {
  common::PgPoolOptions options;
  options.dsn = dsn;
  options.size = 4;
  return options;
}

// One database with a store over it.
struct Replica {
  Replica(const std::string& dsn, IdGenerator& ids) : pool(PoolOptions(dsn)), store(pool, ids) {}
  common::PgPool pool;
  PgIncidentStore store;
};

struct Database {
  Database() : replica(db.dsn(), ids) {
    EXPECT_THAT(common::ApplyMigrations(replica.pool, "incident", Migrations()), IsOk());
  }

  // Every row intake writes, as text, in a stable order.
  std::vector<std::string> Dump() {
    constexpr const char* kQueries[] = {
        "SELECT concat_ws('|', id, group_key, title, status, severity, labels::text, alert_count, "
        "firing_alert_count, (extract(epoch from start_time) * 1000000)::bigint, auto_resolved) "
        "FROM incident.incidents ORDER BY id",
        "SELECT concat_ws('|', incident_id, fingerprint, name, status, severity, labels::text, "
        "annotations::text, (extract(epoch from starts_at) * 1000000)::bigint, "
        "coalesce((extract(epoch from ends_at) * 1000000)::bigint, -1)) FROM incident.alerts "
        "ORDER BY incident_id, fingerprint",
        "SELECT concat_ws('|', fingerprint, status, (extract(epoch from starts_at) * 1000000)"
        "::bigint, ends_at::text, incident_id) FROM incident.alert_reports "
        "ORDER BY fingerprint, status, starts_at, ends_at",
        "SELECT concat_ws('|', incident_id, kind, entry_text, details::text) "
        "FROM incident.timeline_entries ORDER BY incident_id, entry_id"};
    std::vector<std::string> rows;
    EXPECT_THAT(replica.pool.WithTransaction([&](pqxx::work& txn) {
      for (const char* query : kQueries) {
        rows.push_back("--");
        for (const pqxx::row& row : txn.exec(query)) rows.push_back(row[0].as<std::string>());
      }
      return absl::OkStatus();
    }),
                IsOk());
    return rows;
  }

  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    EXPECT_THAT(replica.pool.WithTransaction([&](pqxx::work& txn) {
      n = txn.exec(sql)[0][0].as<int64_t>();
      return absl::OkStatus();
    }),
                IsOk());
    return n;
  }

  ::agentwatch::testing::TestDatabase db;
  testing::SequentialIds ids;
  Replica replica;
};

AlertReport InService(AlertReport report, const std::string& service) {
  report.labels["service"] = service;
  report.labels["severity"] = "warning";
  report.annotations["summary"] = absl::StrCat(report.name, " on ", service);
  return report;
}

// Batches that exercise every intake rule across batch boundaries: opens,
// joins, repeats inside a batch and across batches, resolves, refires, a
// more severe alert, a resolve of an unknown fingerprint.
std::vector<std::vector<AlertReport>> Scenario() {
  const absl::Time t1 = kT0 + absl::Minutes(1);
  const absl::Time t2 = kT0 + absl::Minutes(2);
  const AlertReport a = InService(Firing("acme", "fp-a", "HighLatency", kT0), "api");
  const AlertReport b = InService(Firing("acme", "fp-b", "HighLatency", kT0), "api");
  const AlertReport c = InService(Firing("acme", "fp-c", "DiskFull", kT0), "db");
  AlertReport d = InService(Firing("acme", "fp-d", "HighLatency", kT0), "api");
  d.severity = Severity::kP1;
  const AlertReport other = InService(Firing("globex", "fp-a", "HighLatency", kT0), "api");
  AlertReport refire_a = a;
  refire_a.starts_at = t2;
  return {
      {a, c},                                        // opens two incidents
      {b, a, b},                                     // joins; a repeat; a repeat inside
      {Resolved(a, t1), other, d},                   // resolves; another tenant; severity up
      {Resolved(a, t1), refire_a, c},                // repeats; a refire; a repeat
      {Resolved(InService(Firing("acme", "ghost", "Nope", kT0), "x"), t1), Resolved(c, t2)},
  };
}

std::vector<IncomingAlert> Prepare(const std::vector<AlertReport>& reports) {
  const GroupingConfig grouping = *ParseGroupBy("group_by", "alertname,service");
  std::vector<IncomingAlert> alerts;
  for (const AlertReport& r : reports) alerts.push_back(PrepareAlert(r, grouping, kT0));
  return alerts;
}

std::string Describe(const IntakeSummary& s) {
  return absl::StrCat("accepted=", s.accepted, " duplicates=", s.duplicates,
                      " firing=", s.received_firing, " resolved=", s.received_resolved,
                      " opened=", s.incidents_opened, " silenced=", s.silenced,
                      " inhibited=", s.inhibited, " ids=", absl::StrJoin(s.incident_ids, ","));
}

// Runs `batches` from one thread each against `store`, in order: the first
// leads a group alone and holds it (in the hook) until all others queued
// behind it, so they share the next group transaction. Returns each batch's
// answer, and the group sizes the store ran.
std::vector<absl::StatusOr<IntakeSummary>> RunQueued(
    PgIncidentStore& store, const std::vector<std::vector<IncomingAlert>>& batches,
    std::vector<size_t>* group_sizes) {
  absl::Mutex mu;
  std::atomic<bool> first{true};
  std::atomic<bool> leading{false};
  store.SetMaxConcurrentIntakeGroups(1);
  store.SetIntakeGroupHook([&](size_t n) {
    {
      absl::MutexLock lock(&mu);
      group_sizes->push_back(n);
    }
    if (!first.exchange(false)) return;
    leading = true;
    while (store.QueuedIntakeBatches() < batches.size() - 1) std::this_thread::yield();
  });
  std::vector<absl::StatusOr<IntakeSummary>> results(batches.size(),
                                                     absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < batches.size(); ++i) {
    // Batch i leaves once batch 0 leads and batches 1..i-1 queued.
    while (i > 0 && (!leading || store.QueuedIntakeBatches() < i - 1)) std::this_thread::yield();
    threads.emplace_back([&, i] { results[i] = store.ReportAlerts(batches[i], kT0); });
  }
  for (std::thread& thread : threads) thread.join();
  return results;
}

TEST(PgIntakeGroupCommitTest, GroupedBatchesWriteExactlyWhatTheSerialRunWrites) {
  std::vector<std::vector<IncomingAlert>> batches;
  for (const std::vector<AlertReport>& reports : Scenario()) batches.push_back(Prepare(reports));

  Database serial;
  std::vector<std::string> serial_answers;
  std::vector<size_t> serial_groups;
  serial.replica.store.SetIntakeGroupHook([&](size_t n) { serial_groups.push_back(n); });
  for (const std::vector<IncomingAlert>& batch : batches) {
    auto summary = serial.replica.store.ReportAlerts(batch, kT0);
    ASSERT_THAT(summary, IsOk());
    serial_answers.push_back(Describe(*summary));
  }
  EXPECT_EQ(serial_groups, std::vector<size_t>(batches.size(), 1));

  Database grouped;
  std::vector<size_t> group_sizes;
  const auto results = RunQueued(grouped.replica.store, batches, &group_sizes);
  EXPECT_THAT(group_sizes, ElementsAre(1, batches.size() - 1));
  std::vector<std::string> grouped_answers;
  for (const auto& result : results) {
    ASSERT_THAT(result, IsOk());
    grouped_answers.push_back(Describe(*result));
  }
  EXPECT_EQ(grouped_answers, serial_answers);
  EXPECT_EQ(grouped.Dump(), serial.Dump());

  // Not vacuous: the scenario opened incidents, found duplicates inside and
  // across batches of the group, and refired.
  EXPECT_EQ(grouped.Count("SELECT count(*) FROM incident.incidents"), 3);
  EXPECT_EQ(results[1]->duplicates, 2);  // a (from batch 0) and b repeated inside
  EXPECT_EQ(results[3]->duplicates, 2);  // the resolve of a and c, both from earlier batches
  EXPECT_EQ(grouped.Count("SELECT count(*) FROM incident.timeline_entries WHERE "
                          "details->>'refire' = 'true'"),
            1);
  EXPECT_EQ(grouped.Count("SELECT count(*) FROM incident.timeline_entries WHERE kind = "
                          "'severity_changed'"),
            1);
}

TEST(PgIntakeGroupCommitTest, ABatchThatCannotBeWrittenFailsAlone) {
  AlertReport bad = InService(Firing("acme", "fp-bad", "Broken", kT0), "api");
  // Postgres text cannot hold NUL: the write of this batch fails in the
  // database (the API would have refused it; the store must still isolate it).
  bad.labels["note"] = std::string("a\0b", 3);
  const std::vector<std::vector<IncomingAlert>> batches = {
      Prepare({InService(Firing("acme", "fp-0", "Warmup", kT0), "api")}),
      Prepare({InService(Firing("acme", "fp-1", "HighLatency", kT0), "api")}),
      Prepare({bad}),
      Prepare({InService(Firing("acme", "fp-2", "HighLatency", kT0), "api")})};
  Database db;
  std::vector<size_t> group_sizes;
  const auto results = RunQueued(db.replica.store, batches, &group_sizes);
  // The group of three failed as a whole, then each ran alone.
  EXPECT_THAT(group_sizes, ElementsAre(1, 3, 1, 1, 1));
  EXPECT_THAT(results[0], IsOk());
  EXPECT_THAT(results[1], IsOk());
  EXPECT_FALSE(results[2].ok());
  EXPECT_THAT(results[3], IsOk());
  EXPECT_EQ(results[3]->incident_ids, results[1]->incident_ids);
  EXPECT_EQ(db.Count("SELECT count(*) FROM incident.alert_reports"), 3);
  EXPECT_EQ(db.Count("SELECT count(*) FROM incident.alert_reports WHERE fingerprint = 'fp-bad'"),
            0);
  EXPECT_EQ(db.Count("SELECT count(*) FROM incident.timeline_entries WHERE kind = 'alert_firing'"),
            3);
}

// With a minimum to overlap (--intake_overlap_alerts), a batch that arrives
// while a group runs waits although a second transaction may run, until
// that many alerts wait: then they start one group together, while the first
// still runs. With 0 the first waiting batch starts its own group at once
// (group sizes 1, 1, 1).
TEST(PgIntakeGroupCommitTest, ASecondGroupStartsOnlyOnceEnoughAlertsWait) {
  Database db;
  common::PgPool pool(PoolOptions(db.db.dsn()));
  PgIncidentStore store(pool, db.ids, absl::ZeroDuration(), /*min_alerts_to_overlap=*/3);
  const std::vector<std::vector<IncomingAlert>> batches = {
      Prepare({InService(Firing("acme", "fp-0", "Warmup", kT0), "api")}),
      Prepare({InService(Firing("acme", "fp-1", "HighLatency", kT0), "api")}),
      Prepare({InService(Firing("acme", "fp-2", "HighLatency", kT0), "api"),
               InService(Firing("acme", "fp-3", "DiskFull", kT0), "db")})};
  absl::Mutex mu;
  std::vector<size_t> group_sizes;
  std::atomic<int> groups{0};
  store.SetIntakeGroupHook([&](size_t n) {
    {
      absl::MutexLock lock(&mu);
      group_sizes.push_back(n);
    }
    // The first group runs until a second one started.
    if (groups.fetch_add(1) == 0) {
      while (groups.load() < 2) std::this_thread::yield();
    }
  });
  std::vector<absl::StatusOr<IntakeSummary>> results(batches.size(),
                                                     absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  threads.emplace_back([&] { results[0] = store.ReportAlerts(batches[0], kT0); });
  while (groups.load() < 1) std::this_thread::yield();
  threads.emplace_back([&] { results[1] = store.ReportAlerts(batches[1], kT0); });
  // Batch 2 leaves once batch 1 waits (or, without the minimum, ran).
  while (store.QueuedIntakeBatches() < 1 && groups.load() < 2) std::this_thread::yield();
  threads.emplace_back([&] { results[2] = store.ReportAlerts(batches[2], kT0); });
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(group_sizes, ElementsAre(1, 2));
  for (const auto& result : results) EXPECT_THAT(result, IsOk());
  EXPECT_EQ(db.Count("SELECT count(*) FROM incident.alert_reports"), 4);
}

// Two replicas, eight threads, multi-alert batches over the same groups,
// round after round: one incident per group, every report stored once with
// its timeline entry, and batches did share transactions.
TEST(PgIntakeGroupCommitTest, ReplicasStillOpenOneIncidentPerGroup) {
  Database db;
  RandomIdGenerator ids_b;
  Replica replica_b(db.db.dsn(), ids_b);
  std::atomic<int> grouped{0};
  db.replica.store.SetIntakeGroupHook([&](size_t n) {
    if (n > 1) ++grouped;
  });
  replica_b.store.SetIntakeGroupHook([&](size_t n) {
    if (n > 1) ++grouped;
  });
  constexpr int kThreads = 8;
  constexpr int kRounds = 12;
  constexpr int kGroups = 5;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      PgIncidentStore& store = t % 2 == 0 ? db.replica.store : replica_b.store;
      for (int round = 0; round < kRounds; ++round) {
        std::vector<AlertReport> reports;
        for (int g = 0; g < kGroups; ++g) {
          reports.push_back(InService(
              Firing("acme", absl::StrCat("fp-", t, "-", g, "-", round % 3), "Storm",
                     kT0 + absl::Seconds(round)),
              absl::StrCat("svc-", g)));
        }
        auto result = store.ReportAlerts(Prepare(reports), kT0);
        if (!result.ok() || result->accepted != kGroups) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(db.Count("SELECT count(*) FROM incident.incidents"), kGroups);
  EXPECT_EQ(db.Count("SELECT count(DISTINCT group_key) FROM incident.incidents"), kGroups);
  EXPECT_EQ(db.Count("SELECT count(*) FROM incident.alert_reports"),
            kThreads * kRounds * kGroups);
  EXPECT_EQ(db.Count("SELECT count(*) FROM incident.timeline_entries WHERE kind = 'alert_firing'"),
            kThreads * kRounds * kGroups);
  EXPECT_EQ(db.Count("SELECT sum(alert_count) FROM incident.incidents"), kThreads * kGroups * 3);
  EXPECT_GT(grouped.load(), 0);
}

}  // namespace
}  // namespace agentwatch::incident
