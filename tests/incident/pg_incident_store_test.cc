// PgIncidentStore against the real Postgres (AGENTWATCH_TEST_PG_DSN), each
// test in a fresh database.
#include "incident/store/pg_incident_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/pg.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "incident/core/lifecycle.h"
#include "incident/store/migrations.h"
#include "incident/store/pg_incident_rows.h"
#include "store_contract.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using testing::Firing;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Resolved;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixMicros(1'700'000'000'123'456);

// Releases `parties` threads together, round after round.
class CyclicBarrier {
 public:
  explicit CyclicBarrier(int parties) : parties_(parties) {}
  void ArriveAndWait() {
    std::unique_lock<std::mutex> lock(mu_);
    const int64_t round = round_;
    if (++waiting_ == parties_) {
      waiting_ = 0;
      ++round_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return round_ != round; });
  }

 private:
  const int parties_;
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  int64_t round_ = 0;
};

common::PgPoolOptions PoolOptions(const std::string& dsn, int size = 4) {
  common::PgPoolOptions options;
  options.dsn = dsn;
  options.size = size;
  return options;
}

class PgIncidentStoreTest : public ::testing::Test {
 protected:
  PgIncidentStoreTest()
      : pool_(PoolOptions(db_.dsn())),
        grouping_(*ParseGroupBy("group_by", "alertname,service")),
        store_(pool_, ids_) {
    EXPECT_THAT(common::ApplyMigrations(pool_, "incident", Migrations()), IsOk());
  }

  IncomingAlert Prepare(const AlertReport& report, absl::Time now) {
    return PrepareAlert(report, grouping_, now);
  }

  absl::StatusOr<IntakeSummary> Report(const std::vector<AlertReport>& reports, absl::Time now) {
    std::vector<IncomingAlert> alerts;
    for (const AlertReport& r : reports) alerts.push_back(Prepare(r, now));
    return store_.ReportAlerts(alerts, now);
  }

  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    EXPECT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
      n = txn.exec(sql)[0][0].as<int64_t>();
      return absl::OkStatus();
    }),
                IsOk());
    return n;
  }

  ::agentwatch::testing::TestDatabase db_;
  common::PgPool pool_;
  GroupingConfig grouping_;
  testing::SequentialIds ids_;
  PgIncidentStore store_;
};

// The contract every store keeps, against Postgres.
class PgHarness final : public testing::StoreHarness {
 public:
  explicit PgHarness(IdGenerator& ids) : pool_(PoolOptions(db_.dsn())), store_(pool_, ids) {
    EXPECT_THAT(common::ApplyMigrations(pool_, "incident", Migrations()), IsOk());
  }
  IncidentStore& store() override { return store_; }

 private:
  ::agentwatch::testing::TestDatabase db_;
  common::PgPool pool_;
  PgIncidentStore store_;
};

using testing::IncidentStoreContractTest;
INSTANTIATE_TEST_SUITE_P(Postgres, IncidentStoreContractTest,
                         ::testing::Values(testing::StoreKind{
                             "Postgres",
                             [](IdGenerator& ids) { return std::make_unique<PgHarness>(ids); }}),
                         testing::StoreKindName);

TEST_F(PgIncidentStoreTest, MigrationsAreIdempotent) {
  EXPECT_THAT(common::ApplyMigrations(pool_, "incident", Migrations()), IsOk());
  EXPECT_EQ(Count("SELECT count(*) FROM incident.schema_migrations WHERE component = 'service'"),
            static_cast<int64_t>(Migrations().size()));
}

// Migration 013: a report costs one btree insert (its key); GetStats finds
// reports by time through a BRIN index.
TEST_F(PgIncidentStoreTest, ReportsAreIndexedByKeyAndByTimeRanges) {
  EXPECT_EQ(Count("SELECT count(*) FROM pg_indexes WHERE schemaname = 'incident' AND "
                  "tablename = 'alert_reports' AND indexdef LIKE '%USING btree%'"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM pg_indexes WHERE schemaname = 'incident' AND "
                  "tablename = 'alert_reports' AND indexname = 'alert_reports_pkey'"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM pg_indexes WHERE schemaname = 'incident' AND "
                  "tablename = 'alert_reports' AND indexdef LIKE "
                  "'%USING brin (tenant_id, received_at)%'"),
            1);
}

TEST_F(PgIncidentStoreTest, ReplayWritesNoRows) {
  const AlertReport a = Firing("acme", "fp1", "A", kT0);
  const AlertReport ghost = Resolved(Firing("acme", "ghost", "X", kT0), kT0);
  ASSERT_THAT(Report({a, ghost}, kT0), IsOk());
  const char* kTables[] = {"incidents", "alerts", "alert_reports", "timeline", "timeline_entries"};
  std::vector<int64_t> before;
  for (const char* table : kTables) {
    before.push_back(Count(absl::StrCat("SELECT count(*) FROM incident.", table)));
  }
  EXPECT_EQ(before, (std::vector<int64_t>{1, 1, 2, 1, 2}));  // one packed timeline row
  auto replay = Report({a, ghost, a}, kT0 + absl::Minutes(1));
  ASSERT_THAT(replay, IsOk());
  EXPECT_EQ(replay->duplicates, 3);
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM incident.", kTables[i])), before[i])
        << kTables[i];
  }
  EXPECT_EQ(Count("SELECT (extract(epoch from update_time) * 1000000)::bigint "
                  "FROM incident.incidents"),
            absl::ToUnixMicros(kT0));
}

// Two replicas (two pools, two stores) and 8 threads report alerts of one
// group at the same moment: exactly one incident holds all of them.
TEST_F(PgIncidentStoreTest, ConcurrentReplicasOpenExactlyOneIncidentPerGroup) {
  common::PgPool pool_a(PoolOptions(db_.dsn()));
  common::PgPool pool_b(PoolOptions(db_.dsn()));
  RandomIdGenerator ids_a;
  RandomIdGenerator ids_b;
  PgIncidentStore replica_a(pool_a, ids_a);
  PgIncidentStore replica_b(pool_b, ids_b);
  constexpr int kThreads = 8;
  constexpr int kRounds = 15;
  CyclicBarrier start(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      PgIncidentStore& store = t % 2 == 0 ? replica_a : replica_b;
      for (int round = 0; round < kRounds; ++round) {
        AlertReport report =
            Firing("acme", absl::StrCat("fp-", round, "-", t), absl::StrCat("Storm", round), kT0);
        report.labels = {{"service", "api"}};
        const std::vector<IncomingAlert> alerts = {PrepareAlert(report, grouping_, kT0)};
        start.ArriveAndWait();
        auto result = store.ReportAlerts(alerts, kT0);
        if (!result.ok() || result->accepted != 1) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.incidents"), kRounds);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.incidents WHERE alert_count = 8 AND "
                  "firing_alert_count = 8"),
            kRounds);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.alerts"), kRounds * kThreads);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.timeline_entries WHERE kind = 'created'"),
            kRounds);
}

// The same alert from 8 threads at once (an HA pair resending): accepted
// once, every other copy is a duplicate.
TEST_F(PgIncidentStoreTest, ConcurrentCopiesOfOneAlertAreAcceptedOnce) {
  common::PgPool pool_b(PoolOptions(db_.dsn()));
  RandomIdGenerator ids_b;
  PgIncidentStore replica_b(pool_b, ids_b);
  constexpr int kThreads = 8;
  CyclicBarrier start(kThreads);
  std::atomic<int64_t> accepted{0};
  std::atomic<int64_t> duplicates{0};
  std::atomic<int> failures{0};
  std::set<std::string> incident_ids;
  std::mutex mu;
  const IncomingAlert alert = Prepare(Firing("acme", "fp-same", "Same", kT0), kT0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      IncidentStore& store = t % 2 == 0 ? static_cast<IncidentStore&>(store_) : replica_b;
      start.ArriveAndWait();
      auto result = store.ReportAlerts({alert}, kT0);
      if (!result.ok()) {
        ++failures;
        return;
      }
      accepted += result->accepted;
      duplicates += result->duplicates;
      std::lock_guard<std::mutex> lock(mu);
      incident_ids.insert(result->incident_ids[0]);
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(accepted.load(), 1);
  EXPECT_EQ(duplicates.load(), kThreads - 1);
  EXPECT_THAT(incident_ids, SizeIs(1));
  EXPECT_EQ(Count("SELECT count(*) FROM incident.timeline_entries"), 2);
}

// Batches naming the same groups in opposite orders never deadlock.
TEST_F(PgIncidentStoreTest, BatchesOverlappingInOppositeOrderDoNotDeadlock) {
  common::PgPool pool_b(PoolOptions(db_.dsn()));
  RandomIdGenerator ids_b;
  PgIncidentStore replica_b(pool_b, ids_b);
  std::atomic<int> failures{0};
  auto run = [&](IncidentStore& store, bool reversed) {
    for (int i = 0; i < 30; ++i) {
      std::vector<IncomingAlert> alerts;
      for (int g = 0; g < 4; ++g) {
        const int group = reversed ? 3 - g : g;
        alerts.push_back(Prepare(Firing("acme", absl::StrCat("fp", reversed, "-", i, "-", g),
                                        absl::StrCat("G", group), kT0),
                                 kT0));
      }
      if (!store.ReportAlerts(alerts, kT0).ok()) ++failures;
    }
  };
  std::thread a([&] { run(store_, false); });
  std::thread b([&] { run(replica_b, true); });
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.incidents"), 4);
  EXPECT_EQ(Count("SELECT sum(alert_count) FROM incident.incidents"), 240);
}

// Two replicas' workers scanning at once resolve each due incident exactly
// once (FOR UPDATE SKIP LOCKED), with one timeline entry each.
TEST_F(PgIncidentStoreTest, ConcurrentAutoResolveResolvesEachIncidentOnce) {
  constexpr int kIncidents = 40;
  const absl::Time ended = kT0 + absl::Minutes(1);
  for (int n = 0; n < kIncidents; ++n) {
    const AlertReport firing = Firing("acme", absl::StrCat("fp-", n), absl::StrCat("A", n), kT0);
    ASSERT_THAT(Report({firing}, kT0), IsOk());
    ASSERT_THAT(Report({Resolved(firing, ended)}, ended), IsOk());
  }
  common::PgPool pool_b(PoolOptions(db_.dsn()));
  RandomIdGenerator ids_b;
  PgIncidentStore replica_b(pool_b, ids_b);
  constexpr int kThreads = 4;
  CyclicBarrier start(kThreads);
  std::atomic<int> resolved{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      PgIncidentStore& store = t % 2 == 0 ? store_ : replica_b;
      start.ArriveAndWait();
      while (true) {
        auto batch = store.AutoResolveDue(ended + absl::Minutes(5), absl::Minutes(5), 3);
        if (!batch.ok()) {
          ++failures;
          return;
        }
        resolved += static_cast<int>(batch->size());
        if (batch->empty()) return;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(resolved.load(), kIncidents);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.incidents WHERE status = 4 AND auto_resolved"),
            kIncidents);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.timeline_entries WHERE kind = 'resolved'"),
            kIncidents);
}

// A report that changed nothing (here: silenced) but would change the
// fingerprint's latest row is not looked up before planning
// (MayBeKnownReport): sent again, alert_reports' key refuses it and the
// batch is planned again with every key looked up, so it is a duplicate.
TEST_F(PgIncidentStoreTest, ASilencedReportSentAgainIsADuplicate) {
  ASSERT_THAT(Report({Firing("acme", "fp1", "A", kT0)}, kT0), IsOk());
  Silence silence;
  silence.id = "sil-1";
  silence.tenant = "acme";
  silence.matchers = {{"alertname", MatchOp::kEqual, "A"}};
  silence.starts_at = kT0;
  silence.ends_at = kT0 + absl::Hours(1);
  silence.author = "alice";
  silence.create_time = kT0;
  silence.update_time = kT0;
  ASSERT_THAT(store_.CreateSilence(silence), IsOk());
  const AlertReport refire = Firing("acme", "fp1", "A", kT0 + absl::Minutes(1));
  auto first = Report({refire}, kT0 + absl::Minutes(1));
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->silenced, 1);
  const int64_t reports = Count("SELECT count(*) FROM incident.alert_reports");
  const int64_t entries = Count("SELECT count(*) FROM incident.timeline_entries");
  EXPECT_EQ(reports, 2);
  // The row still holds the first firing, so the resend skips the look-up.
  EXPECT_EQ(Count("SELECT (extract(epoch from starts_at) * 1000000)::bigint FROM incident.alerts"),
            absl::ToUnixMicros(kT0));

  auto again = Report({refire, Firing("acme", "fp2", "A", kT0)}, kT0 + absl::Minutes(2));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->duplicates, 1);
  EXPECT_EQ(again->accepted, 1);
  EXPECT_EQ(again->silenced, 1);  // fp2, new and silenced
  EXPECT_EQ(Count("SELECT count(*) FROM incident.alert_reports"), reports + 1);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.timeline_entries"), entries);
}

// Fingerprints a batch only resolves are loaded without their labels and
// annotations; their rows keep them, and a fingerprint that fires in the
// same batch gets its new ones.
TEST_F(PgIncidentStoreTest, ResolvesKeepTheLabelsOfTheirRows) {
  AlertReport a = Firing("acme", "fp1", "A", kT0);
  a.labels = {{"service", "api"}, {"instance", "host-1"}};
  a.annotations = {{"summary", "a \"quoted\" summary"}};
  AlertReport b = Firing("acme", "fp2", "A", kT0);
  b.labels = {{"service", "api"}, {"instance", "host-2"}};
  ASSERT_THAT(Report({a, b}, kT0), IsOk());
  const std::string kLabelsOf =
      "SELECT labels::text || ' ' || annotations::text FROM incident.alerts WHERE fingerprint = ";
  auto text = [&](const std::string& fingerprint) {
    std::string out;
    EXPECT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
      out = txn.exec(kLabelsOf + txn.quote(fingerprint))[0][0].as<std::string>();
      return absl::OkStatus();
    }),
                IsOk());
    return out;
  };
  const std::string a_before = text("fp1");
  EXPECT_THAT(a_before, HasSubstr("host-1"));
  EXPECT_THAT(a_before, HasSubstr("quoted"));

  AlertReport b_changed = Firing("acme", "fp2", "A", kT0 + absl::Minutes(1));
  b_changed.labels = {{"service", "api"}, {"instance", "host-2"}, {"zone", "z1"}};
  b_changed.annotations = {{"summary", "moved"}};
  auto batch = Report({Resolved(a, kT0 + absl::Seconds(30)), b_changed}, kT0 + absl::Minutes(1));
  ASSERT_THAT(batch, IsOk());
  EXPECT_EQ(batch->accepted, 2);
  EXPECT_EQ(text("fp1"), a_before);
  EXPECT_THAT(text("fp2"), HasSubstr("\"zone\": \"z1\""));
  EXPECT_THAT(text("fp2"), HasSubstr("moved"));
  EXPECT_EQ(Count("SELECT count(*) FROM incident.alerts WHERE status = 2"), 1);

  // A batch of resolves only keeps them too.
  ASSERT_THAT(Report({Resolved(b_changed, kT0 + absl::Minutes(2))}, kT0 + absl::Minutes(2)),
              IsOk());
  EXPECT_EQ(text("fp1"), a_before);
  EXPECT_THAT(text("fp2"), HasSubstr("moved"));
}

// A group's COPYs (here ~270 KB of reports and ~600 KB of timeline rows)
// reach Postgres in pieces of whole rows: every row arrives once, whole, with
// its escaped characters (tab, newline, backslash) intact, whichever piece
// it falls in.
TEST_F(PgIncidentStoreTest, LargeBatchesAreCopiedRowByRowIntact) {
  constexpr int kAlerts = 1500;
  const std::string kOdd = "a\tb\\c\nd";
  std::vector<AlertReport> reports;
  std::set<std::string> fingerprints;
  for (int i = 0; i < kAlerts; ++i) {
    AlertReport r = Firing("acme", absl::StrCat("fp-", i, "-", kOdd), absl::StrCat("A", i % 7),
                           kT0 + absl::Seconds(i));
    r.labels = {{"service", absl::StrCat("svc", i % 3)}};
    r.source = kOdd;
    fingerprints.insert(r.fingerprint);
    reports.push_back(std::move(r));
  }
  auto summary = Report(reports, kT0 + absl::Hours(1));
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->accepted, kAlerts);
  std::set<std::string> reported;
  std::set<std::string> in_timeline;
  int64_t odd_sources = 0;
  ASSERT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
    for (const auto& row : txn.exec("SELECT fingerprint FROM incident.alert_reports")) {
      reported.insert(row[0].as<std::string>());
    }
    for (const auto& row : txn.exec(
             "SELECT details->>'fingerprint', details->>'source' FROM incident.timeline_entries "
             "WHERE kind = 'alert_firing'")) {
      in_timeline.insert(row[0].as<std::string>());
      if (row[1].as<std::string>() == kOdd) ++odd_sources;
    }
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(Count("SELECT count(*) FROM incident.alert_reports"), kAlerts);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.timeline_entries WHERE kind = 'alert_firing'"),
            kAlerts);
  EXPECT_EQ(reported, fingerprints);
  EXPECT_EQ(in_timeline, fingerprints);
  EXPECT_EQ(odd_sources, kAlerts);
}

// A refire within the reopen window re-opens the auto-resolved incident.
TEST_F(PgIncidentStoreTest, RefireReopensTheAutoResolvedIncident) {
  PgIncidentStore store(pool_, ids_, absl::Minutes(30));
  const AlertReport firing = Firing("acme", "fp1", "HighErrorRate", kT0);
  std::vector<IncomingAlert> alerts = {Prepare(firing, kT0)};
  ASSERT_THAT(store.ReportAlerts(alerts, kT0), IsOk());
  const absl::Time ended = kT0 + absl::Minutes(1);
  alerts = {Prepare(Resolved(firing, ended), ended)};
  ASSERT_THAT(store.ReportAlerts(alerts, ended), IsOk());
  ASSERT_THAT(store.AutoResolveDue(ended + absl::Minutes(5), absl::Minutes(5), 10),
              IsOkAndHolds(SizeIs(1)));
  const absl::Time refire = ended + absl::Minutes(10);
  alerts = {Prepare(Firing("acme", "fp1", "HighErrorRate", refire), refire)};
  auto summary = store.ReportAlerts(alerts, refire);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->incidents_opened, 0);
  EXPECT_THAT(summary->incident_ids, ElementsAre("inc-000001"));
  EXPECT_EQ(Count("SELECT count(*) FROM incident.incidents WHERE status = 1 AND NOT auto_resolved"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.incidents"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.timeline_entries WHERE kind = 'reopened'"), 1);
}

}  // namespace
}  // namespace agentwatch::incident

namespace agentwatch::incident {
namespace {

// Tenants and fingerprints that an array literal must quote and escape
// (intake passes its keys to Postgres as text arrays: kSelectLatestAlerts,
// kSelectKnownReports).
const std::vector<std::string>& ArraySyntaxKeys() {
  static const std::vector<std::string> keys = {
      "NULL", "a,b", "{c}", "q\"uote", "back\\slash", " spaced ", "plain", "é,\"\\{}"};
  return keys;
}

// What the test below relies on: a literal that does not quote and escape
// these keys loses them (NULL, split, unbalanced or unescaped elements), so
// a store that passed them unescaped would not find its rows.
TEST_F(PgIncidentStoreTest, UnescapedArrayLiteralsLoseTheKeys) {
  std::string naive = "{";
  for (const std::string& key : ArraySyntaxKeys()) {
    if (naive.size() > 1) naive.push_back(',');
    naive.append(key);
  }
  naive.push_back('}');
  std::vector<std::string> read;
  const absl::Status status = pool_.WithTransaction([&](pqxx::work& txn) {
    for (const auto& row : txn.exec_params("SELECT coalesce(k, '<null>') FROM unnest($1::text[]) "
                                           "AS k",
                                           naive)) {
      read.push_back(row[0].as<std::string>());
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(!status.ok() || read != ArraySyntaxKeys());
}

// Keys that need quoting in an array literal: their rows are found again (a
// resolve keeps the labels of the row it read, a refire updates its row), a
// replay of the whole history is all duplicates and writes nothing, and a
// silenced report sent again (looked up among the recorded reports) is a
// duplicate.
TEST_F(PgIncidentStoreTest, KeysThatNeedQuotingAreReadBackAndLookedUp) {
  std::vector<AlertReport> fired;
  for (const std::string& tenant : {std::string("acme"), std::string("te,\"n\\ant{}")}) {
    for (const std::string& key : ArraySyntaxKeys()) {
      AlertReport r = Firing(tenant, key, "A", kT0);
      r.labels = {{"service", "api"}, {"instance", key}};
      fired.push_back(std::move(r));
    }
  }
  const size_t n = fired.size();
  auto opened = Report(fired, kT0);
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(opened->accepted, static_cast<int64_t>(n));

  // Half resolve, half fire again; one group transaction reads each row.
  std::vector<AlertReport> second;
  for (size_t i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      second.push_back(Resolved(fired[i], kT0 + absl::Minutes(1)));
    } else {
      AlertReport refire = fired[i];
      refire.starts_at = kT0 + absl::Minutes(2);
      second.push_back(std::move(refire));
    }
  }
  auto changed = Report(second, kT0 + absl::Minutes(2));
  ASSERT_THAT(changed, IsOk());
  EXPECT_EQ(changed->accepted, static_cast<int64_t>(n));
  EXPECT_EQ(changed->duplicates, 0);
  // Still one row per fingerprint (found, not inserted again), each with its
  // labels, resolved or refired.
  EXPECT_EQ(Count("SELECT count(*) FROM incident.alerts"), static_cast<int64_t>(n));
  EXPECT_EQ(Count("SELECT count(*) FROM incident.alerts WHERE labels->>'instance' = fingerprint"),
            static_cast<int64_t>(n));
  EXPECT_EQ(Count("SELECT count(*) FROM incident.alerts WHERE status = 2"),
            static_cast<int64_t>(n / 2));

  const char* kTables[] = {"incidents", "alerts", "alert_reports", "timeline_entries"};
  std::vector<int64_t> before;
  for (const char* table : kTables) {
    before.push_back(Count(absl::StrCat("SELECT count(*) FROM incident.", table)));
  }
  std::vector<AlertReport> history = fired;
  history.insert(history.end(), second.begin(), second.end());
  auto replay = Report(history, kT0 + absl::Minutes(3));
  ASSERT_THAT(replay, IsOk());
  EXPECT_EQ(replay->duplicates, static_cast<int64_t>(2 * n));
  EXPECT_EQ(replay->accepted, 0);
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM incident.", kTables[i])), before[i])
        << kTables[i];
  }

  // Silenced reports are recorded without changing their rows: their resend
  // is found only by the look-up of recorded reports (for a new fingerprint
  // at once; for a refire of a row, once alert_reports' key refused it).
  Silence silence;
  silence.id = "sil-1";
  silence.tenant = "te,\"n\\ant{}";
  silence.matchers = {{"alertname", MatchOp::kEqual, "A"}};
  silence.starts_at = kT0;
  silence.ends_at = kT0 + absl::Hours(1);
  silence.author = "alice";
  silence.create_time = kT0;
  silence.update_time = kT0;
  ASSERT_THAT(store_.CreateSilence(silence), IsOk());
  std::vector<AlertReport> silenced;
  for (const std::string& key : ArraySyntaxKeys()) {
    silenced.push_back(Firing(silence.tenant, key, "A", kT0 + absl::Minutes(10)));
    silenced.push_back(Firing(silence.tenant, key + "-new", "A", kT0));
  }
  auto first = Report(silenced, kT0 + absl::Minutes(4));
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->silenced, static_cast<int64_t>(silenced.size()));
  const int64_t reports = Count("SELECT count(*) FROM incident.alert_reports");
  auto again = Report(silenced, kT0 + absl::Minutes(5));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->duplicates, static_cast<int64_t>(silenced.size()));
  EXPECT_EQ(Count("SELECT count(*) FROM incident.alert_reports"), reports);
}

}  // namespace
}  // namespace agentwatch::incident

namespace agentwatch::incident {
namespace {

// The plans intake's statements get under `settings` as generic plans (the
// ones a connection keeps), one "name: node" line per plan node, on the
// tables as they are now.
std::string IntakeGenericPlans(
    common::PgPool& pool, const std::string& settings,
    const std::vector<std::pair<std::string, std::string>>& statements =
        pg_rows::GenericPlannedIntakeStatements()) {
  std::string plans;
  EXPECT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    txn.exec(settings);
    txn.exec("SET LOCAL plan_cache_mode = force_generic_plan");
    for (const auto& [name, sql] : statements) {
      int params = 0;
      for (size_t i = sql.find('$'); i != std::string::npos; i = sql.find('$', i + 1)) {
        int n = 0;
        for (size_t j = i + 1; j < sql.size() && sql[j] >= '0' && sql[j] <= '9'; ++j) {
          n = n * 10 + (sql[j] - '0');
        }
        params = std::max(params, n);
      }
      txn.exec("PREPARE intake_plan_probe AS " + sql);
      std::string execute = "EXPLAIN (COSTS OFF) EXECUTE intake_plan_probe";
      for (int p = 1; p <= params; ++p) execute += p == 1 ? "(NULL" : ", NULL";
      if (params > 0) execute += ")";
      for (const auto& row : txn.exec(execute)) {
        absl::StrAppend(&plans, name, ": ", row[0].as<std::string>(), "\n");
      }
      txn.exec("DEALLOCATE intake_plan_probe");
    }
    return absl::OkStatus();
  }),
              IsOk());
  return plans;
}

// Tables of a few rows each, analyzed: where a plan made for the table's
// size would scan it whole.
class PgIntakeGenericPlansTest : public PgIncidentStoreTest {
 protected:
  void SetUp() override {
    ASSERT_THAT(Report({Firing("acme", "fp1", "A", kT0), Firing("acme", "fp2", "A", kT0),
                        Firing("acme", "fp3", "B", kT0)},
                       kT0),
                IsOk());
    ASSERT_THAT(pool_.WithTransaction([](pqxx::work& txn) {
      txn.exec("ANALYZE incident.alerts; ANALYZE incident.incidents; "
               "ANALYZE incident.alert_reports");
      return absl::OkStatus();
    }),
                IsOk());
  }
};

// Under intake's settings each statement's generic plan probes indexes per
// key: no scan of a whole table, no hash or merge join, however small the
// tables were when the connection made it.
TEST_F(PgIntakeGenericPlansTest, IntakeStatementsProbeIndexesWhateverTheTableSize) {
  const std::string plans = IntakeGenericPlans(pool_, pg_rows::IntakePlanning());
  EXPECT_THAT(plans, HasSubstr("Index Scan using alerts_fingerprint_idx"));
  EXPECT_THAT(plans, HasSubstr("alert_reports_pkey"));
  EXPECT_THAT(plans, HasSubstr("incidents_open_group_idx"));
  EXPECT_THAT(plans, Not(HasSubstr("Seq Scan")));
  EXPECT_THAT(plans, Not(HasSubstr("Bitmap")));
  EXPECT_THAT(plans, Not(HasSubstr("Hash Join")));
  EXPECT_THAT(plans, Not(HasSubstr("Merge Join")));
  EXPECT_THAT(plans, Not(HasSubstr("Materialize")));
  // Every index scan probes by the statement's keys (an Index Cond), never a
  // whole index.
  const std::vector<std::string> lines = absl::StrSplit(plans, '\n');
  int index_scans = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find("Index Scan") == std::string::npos) continue;
    ++index_scans;
    ASSERT_LT(i + 1, lines.size());
    EXPECT_THAT(lines[i + 1], HasSubstr("Index Cond")) << lines[i];
  }
  EXPECT_GE(index_scans, 4);
  // Intake still works on these connections: a replay is a duplicate.
  auto replay = Report({Firing("acme", "fp1", "A", kT0)}, kT0 + absl::Minutes(1));
  ASSERT_THAT(replay, IsOk());
  EXPECT_EQ(replay->duplicates, 1);
}

// Generic plans without sequential scans turned off (the settings intake had
// with custom plans) scan the small tables whole: what the test above would
// catch.
TEST_F(PgIntakeGenericPlansTest, WithSequentialScansAllowedGenericPlansScanSmallTables) {
  const std::string plans = IntakeGenericPlans(
      pool_, "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off");
  EXPECT_THAT(plans, HasSubstr("Seq Scan on"));
}

// The state UPDATE by ctid, planned generically under intake's settings and
// kTidUpdatePlanning on tables of three rows: a Tid Scan per key, nothing that
// reads the whole table. Under intake's settings alone the same generic plan
// reads all of incident.alerts through an index into a Materialize (cheaper
// on three rows), which it would do at every execution as the table grows.
TEST_F(PgIntakeGenericPlansTest, StateUpdateByCtidIsATidScanWhateverTheTableSize) {
  const std::vector<std::pair<std::string, std::string>> update = {
      {"by_tid", pg_rows::UpdateAlertStatesByTid()}};
  const std::string plans = IntakeGenericPlans(
      pool_, absl::StrCat(pg_rows::IntakePlanning(), "; ", pg_rows::TidUpdatePlanning()),
      update);
  EXPECT_THAT(plans, HasSubstr("Tid Scan on alerts a"));
  EXPECT_THAT(plans, HasSubstr("TID Cond: (ctid = x.t)"));
  EXPECT_THAT(plans, Not(HasSubstr("Index Scan")));
  EXPECT_THAT(plans, Not(HasSubstr("Materialize")));
  EXPECT_THAT(plans, Not(HasSubstr("Seq Scan")));
  EXPECT_THAT(IntakeGenericPlans(pool_, pg_rows::IntakePlanning(), update),
              HasSubstr("Materialize"));
}

// Intake COPYs its reports in Postgres' binary format: each column reads back
// as reported (text that the text format had to escape, both statuses, a
// firing's ends_at -infinity, a resolve's own, the receipt time), and a
// replay finds them as duplicates of the same incident.
TEST_F(PgIncidentStoreTest, ReportsReadBackAsReported) {
  const std::string tenant = "te\tn\\ant\n\"\xc3\xa9";
  const std::string fingerprint = "fp\t1\\N\r";
  const AlertReport firing = Firing(tenant, fingerprint, "A", kT0 + absl::Microseconds(7));
  const AlertReport resolved = Resolved(firing, kT0 + absl::Minutes(3) + absl::Microseconds(9));
  const absl::Time now = kT0 + absl::Minutes(5) + absl::Microseconds(11);
  auto first = Report({firing, resolved}, now);
  ASSERT_THAT(first, IsOk());
  ASSERT_EQ(first->accepted, 2);
  ASSERT_EQ(first->incident_ids.size(), 2u);
  std::vector<std::string> rows;
  ASSERT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
    for (const auto& row : txn.exec(
             "SELECT tenant_id, fingerprint, status, (extract(epoch from starts_at) * "
             "1000000)::bigint, CASE WHEN ends_at = '-infinity' THEN '-inf' ELSE "
             "((extract(epoch from ends_at) * 1000000)::bigint)::text END, incident_id, "
             "(extract(epoch from received_at) * 1000000)::bigint FROM incident.alert_reports "
             "ORDER BY status")) {
      EXPECT_EQ(row[0].as<std::string>(), tenant);
      EXPECT_EQ(row[1].as<std::string>(), fingerprint);
      EXPECT_EQ(row[5].as<std::string>(), first->incident_ids[0]);
      EXPECT_EQ(row[6].as<int64_t>(), absl::ToUnixMicros(now));
      rows.push_back(absl::StrCat(row[2].as<int>(), " ", row[3].as<int64_t>(), " ",
                                  row[4].as<std::string>()));
    }
    return absl::OkStatus();
  }),
              IsOk());
  const int64_t starts = absl::ToUnixMicros(*firing.starts_at);
  EXPECT_THAT(rows, ElementsAre(absl::StrCat("1 ", starts, " -inf"),
                                absl::StrCat("2 ", starts, " ",
                                             absl::ToUnixMicros(*resolved.ends_at))));
  auto replay = Report({firing, resolved}, now + absl::Minutes(1));
  ASSERT_THAT(replay, IsOk());
  EXPECT_EQ(replay->duplicates, 2);
  EXPECT_THAT(replay->incident_ids, ElementsAre(first->incident_ids[0], first->incident_ids[0]));
}

// Intake applies its planning settings inside statements it runs anyway (the
// group locks set kIntakePlanning, the entry-id reservation switches to
// custom plans for the UPDATEs after it when they join keys to the table):
// on its one connection, the key probes and the state UPDATE by ctid were
// only ever planned generically, over more rounds than Postgres' five custom
// plans before it may choose a generic one, and the UPDATE by key never ran.
// Without the settings the probes' first plans are custom; with the UPDATE by
// key it counts custom plans.
TEST_F(PgIncidentStoreTest, IntakePlansProbesGenericallyAndUpdatesPerExecution) {
  common::PgPool pool(PoolOptions(db_.dsn(), 1));
  PgIncidentStore store(pool, ids_);
  std::vector<AlertReport> firing = {Firing("acme", "fp1", "A", kT0),
                                     Firing("acme", "fp2", "A", kT0)};
  for (int round = 0; round < 9; ++round) {
    const absl::Time now = kT0 + absl::Minutes(round + 1);
    std::vector<IncomingAlert> alerts;
    for (AlertReport& report : firing) {
      if (round % 2 == 0) {
        report.starts_at = now;  // fires (again)
        alerts.push_back(Prepare(report, now));
      } else {
        alerts.push_back(Prepare(Resolved(report, now), now));
      }
    }
    auto summary = store.ReportAlerts(alerts, now);
    ASSERT_THAT(summary, IsOk());
    EXPECT_EQ(summary->accepted, 2) << "round " << round;
  }
  std::map<std::string, std::pair<int64_t, int64_t>> plans;  // name -> (generic, custom)
  ASSERT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    for (const auto& row :
         txn.exec("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements "
                  "WHERE name LIKE 'incident_intake_%'")) {
      plans[row[0].as<std::string>()] = {row[1].as<int64_t>(), row[2].as<int64_t>()};
    }
    return absl::OkStatus();
  }),
              IsOk());
  for (const char* probe :
       {"incident_intake_latest_alerts", "incident_intake_lock_open_group_incidents",
        "incident_intake_upsert_incidents_reserve_entry_ids"}) {
    EXPECT_GE(plans[probe].first, 9) << probe;
    EXPECT_EQ(plans[probe].second, 0) << probe;
  }
  EXPECT_GE(plans["incident_intake_update_alert_states_by_tid"].first, 8);
  EXPECT_EQ(plans["incident_intake_update_alert_states_by_tid"].second, 0);
  EXPECT_EQ(plans["incident_intake_update_alert_states"].first, 0);
  EXPECT_EQ(plans["incident_intake_update_alert_states"].second, 0);
}

// Intake updates the alert rows it only changes the state of by the ctids its
// latest-row read answered. When a row is no longer there (moved by an
// update the test makes in the same transaction, just before), the UPDATE by
// ctid misses it, and intake writes the transaction again by key: every row
// ends as reported, each report recorded once.
TEST_F(PgIncidentStoreTest, RowsMovedSinceTheLatestReadAreUpdatedByKey) {
  int moves = 0;
  store_.SetIntakeBeforeTidUpdateHook([&](pqxx::work& txn) {
    ++moves;
    txn.exec("UPDATE incident.alerts SET update_time = update_time");
  });
  const AlertReport a = Firing("acme", "fp1", "A", kT0);
  const AlertReport b = Firing("acme", "fp2", "A", kT0);
  ASSERT_THAT(Report({a, b}, kT0), IsOk());
  EXPECT_EQ(moves, 0);  // new rows: inserted
  const absl::Time later = kT0 + absl::Minutes(2);
  auto resolved = Report({Resolved(a, later), Resolved(b, later)}, later);
  ASSERT_THAT(resolved, IsOk());
  EXPECT_EQ(resolved->accepted, 2);
  EXPECT_EQ(moves, 1);  // the second attempt updates by key
  EXPECT_EQ(Count("SELECT count(*) FROM incident.alerts WHERE status = 2 AND ends_at = "
                  "'" + common::PgTimestamp(later) + "'"),
            2);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.alerts"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.alert_reports"), 4);
  EXPECT_EQ(Count("SELECT firing_alert_count FROM incident.incidents"), 0);
}

// Without the move, the same resolves are written by ctid in one attempt.
TEST_F(PgIncidentStoreTest, StateRowsAreUpdatedWhereTheLatestReadFoundThem) {
  int calls = 0;
  store_.SetIntakeBeforeTidUpdateHook([&](pqxx::work&) { ++calls; });
  const AlertReport a = Firing("acme", "fp1", "A", kT0);
  ASSERT_THAT(Report({a}, kT0), IsOk());
  const absl::Time later = kT0 + absl::Minutes(2);
  ASSERT_THAT(Report({Resolved(a, later)}, later), IsOk());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.alerts WHERE status = 2"), 1);
  // A refire of it, with the same labels: its state again, by ctid.
  AlertReport again = a;
  again.starts_at = later + absl::Minutes(1);
  ASSERT_THAT(Report({again}, later + absl::Minutes(1)), IsOk());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.alerts WHERE status = 1 AND ends_at IS NULL"),
            1);
}


// The escalation engine's statements are prepared on the store's
// connections (planned once, not at every step): each step's statements run
// as the prepared ones, a step on an incident that does not exist too.
TEST_F(PgIncidentStoreTest, EscalationStepsRunPreparedStatements) {
  common::PgPool pool(PoolOptions(db_.dsn(), 1));
  PgIncidentStore store(pool, ids_);
  auto summary = store.ReportAlerts({Prepare(Firing("acme", "fp1", "A", kT0), kT0)}, kT0);
  ASSERT_THAT(summary, IsOk());
  const std::string id = summary->incident_ids[0];
  for (int step = 0; step < 3; ++step) {
    const absl::Time at = kT0 + absl::Seconds(5 * (step + 1));
    ASSERT_THAT(store.Escalate("acme", id,
                               [&](const Incident& incident, const std::optional<EscalationState>&)
                                   -> absl::StatusOr<EscalationWrite> {
                                 EscalationWrite write;
                                 write.incident = incident;
                                 write.incident.escalation_tier = step;
                                 write.incident.update_time = at;
                                 write.incident_changed = true;
                                 write.state.policy_id = "p1";
                                 write.state.tier = step;
                                 write.state.started_at = kT0;
                                 write.state.last_page_at = at;
                                 write.state_changed = true;
                                 TimelineEntry entry;
                                 entry.tenant = "acme";
                                 entry.incident_id = id;
                                 entry.time = at;
                                 entry.actor = "escalation";
                                 entry.kind = "escalated";
                                 entry.text = absl::StrCat("Paging tier ", step + 1);
                                 write.entries.push_back(entry);
                                 return write;
                               }),
                IsOkAndHolds(true));
  }
  EXPECT_THAT(store.Escalate("acme", "nope",
                             [](const Incident&, const std::optional<EscalationState>&)
                                 -> absl::StatusOr<EscalationWrite> { return EscalationWrite{}; }),
              StatusIs(absl::StatusCode::kNotFound));
  std::map<std::string, int64_t> runs;  // name -> plans used (generic + custom)
  ASSERT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    for (const auto& row :
         txn.exec("SELECT name, generic_plans + custom_plans FROM pg_prepared_statements "
                  "WHERE name LIKE 'incident_escalation_%'")) {
      runs[row[0].as<std::string>()] = row[1].as<int64_t>();
    }
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(runs["incident_escalation_lock_incident"], 4);
  EXPECT_EQ(runs["incident_escalation_incident_exists"], 1);
  for (const char* name :
       {"incident_escalation_select_state", "incident_escalation_update_incident",
        "incident_escalation_upsert_state", "incident_escalation_insert_timeline"}) {
    EXPECT_EQ(runs[name], 3) << name;
  }
}

}  // namespace
}  // namespace agentwatch::incident
