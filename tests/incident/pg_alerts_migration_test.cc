// Migration 014 (incident.alerts rebuilt with its state columns last) against
// the real Postgres (AGENTWATCH_TEST_PG_DSN): applied to a database that
// intake already wrote alert rows to, it keeps every row, index, check,
// storage parameter, owner and grant, and intake goes on over the rebuilt
// table. Migration 016 (fillfactor 30): every alert row's page holds two
// more versions of each of its rows, so two state updates of every row stay
// on its page (HOT) while a snapshot keeps the old versions. Migration 017:
// intake's latest-row probe reads alerts_fingerprint_idx in its own order,
// with no Sort node. Migration 018: alert_reports' key in time order keeps
// every report recorded before it a duplicate.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/pg.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "incident/core/grouping.h"
#include "incident/store/migrations.h"
#include "incident/store/pg_incident_store.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using testing::Firing;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;
using testing::Resolved;
using ::testing::SizeIs;

MATCHER_P(Accepted, n, "") { return arg.accepted == n && arg.duplicates == 0; }

const absl::Time kT0 = absl::FromUnixMicros(1'700'000'000'123'456);
constexpr int kStateColumnsLast = 14;
constexpr int kTimelinePackedEntries = 15;
constexpr int kAlertsFillfactor30 = 16;
constexpr int kAlertsLatestIndex = 17;
constexpr int kAlertReportsKeyInTimeOrder = 18;

common::PgPoolOptions PoolOptions(const std::string& dsn) {
  common::PgPoolOptions options;
  options.dsn = dsn;
  options.size = 2;
  return options;
}

// The migrations before version `version`, and the timeline's packed rows
// (migration 015), which the store's intake writes.
std::vector<common::Migration> MigrationsBefore(int version) {
  std::vector<common::Migration> out;
  for (const common::Migration& m : Migrations()) {
    if (m.version < version || m.version == kTimelinePackedEntries) out.push_back(m);
  }
  return out;
}

class PgAlertsMigrationTest : public ::testing::Test {
 protected:
  PgAlertsMigrationTest()
      : pool_(PoolOptions(db_.dsn())),
        grouping_(*ParseGroupBy("group_by", "alertname,service")),
        store_(pool_, ids_),
        role_(absl::StrCat("aw_alerts_reader_", getpid())) {}

  // Roles belong to the cluster, not to the test's database: the one a test
  // created goes with it.
  ~PgAlertsMigrationTest() override {
    Exec(absl::StrCat("DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '", role_,
                      "') THEN EXECUTE 'DROP OWNED BY ", role_, "'; EXECUTE 'DROP ROLE ", role_,
                      "'; END IF; END $$"));
  }

  absl::StatusOr<IntakeSummary> Report(const std::vector<AlertReport>& reports, absl::Time now) {
    std::vector<IncomingAlert> alerts;
    for (const AlertReport& r : reports) alerts.push_back(PrepareAlert(r, grouping_, now));
    return store_.ReportAlerts(alerts, now);
  }

  void Exec(const std::string& sql) {
    EXPECT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
      txn.exec(sql);
      return absl::OkStatus();
    }),
                IsOk())
        << sql;
  }

  // The first column of the first row of `sql` as text ("" for NULL).
  std::string Text(const std::string& sql) {
    std::string out;
    EXPECT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
      const pqxx::result r = txn.exec(sql);
      if (!r.empty() && !r[0][0].is_null()) out = r[0][0].as<std::string>();
      return absl::OkStatus();
    }),
                IsOk())
        << sql;
    return out;
  }

  // What the migration must keep: the rows (every column, by name), the
  // indexes, the constraints, the storage parameters, the owner and the ACL.
  struct Snapshot {
    std::string rows, indexes, constraints, options, owner, acl;
  };
  Snapshot Take() {
    Snapshot s;
    s.rows = Text(
        "SELECT string_agg(concat_ws('|', tenant_id, incident_id, fingerprint, name, severity, "
        "status, labels::text, annotations::text, starts_at, coalesce(ends_at::text, 'null'), "
        "source, generator_url, joined_at, update_time), E'\\n' ORDER BY tenant_id, incident_id, "
        "fingerprint) FROM incident.alerts");
    s.indexes = Text(
        "SELECT string_agg(indexname || ' ' || indexdef, E'\\n' ORDER BY indexname) "
        "FROM pg_indexes WHERE schemaname = 'incident' AND tablename = 'alerts'");
    s.constraints = Text(
        "SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), E'\\n' ORDER BY conname) "
        "FROM pg_constraint WHERE conrelid = 'incident.alerts'::regclass");
    s.options = Text(
        "SELECT array_to_string(reloptions, ',') FROM pg_class "
        "WHERE oid = 'incident.alerts'::regclass");
    s.owner = Text(
        "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'incident.alerts'::regclass");
    s.acl = Text("SELECT relacl::text FROM pg_class WHERE oid = 'incident.alerts'::regclass");
    return s;
  }

  std::string Columns() {
    return Text(
        "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute "
        "WHERE attrelid = 'incident.alerts'::regclass AND attnum > 0 AND NOT attisdropped");
  }

  ::agentwatch::testing::TestDatabase db_;
  common::PgPool pool_;
  GroupingConfig grouping_;
  testing::SequentialIds ids_;
  PgIncidentStore store_;
  const std::string role_;
};

TEST_F(PgAlertsMigrationTest, RebuildKeepsRowsIndexesChecksOptionsAndGrants) {
  ASSERT_THAT(common::ApplyMigrations(pool_, "incident", MigrationsBefore(kStateColumnsLast)),
              IsOk());
  EXPECT_EQ(Columns(),
            "tenant_id,incident_id,fingerprint,name,severity,status,labels,annotations,starts_at,"
            "ends_at,source,generator_url,joined_at,update_time");

  // Rows written by intake over the old layout: firing, resolved, two
  // tenants, labels, annotations, a generator URL.
  AlertReport a = Firing("acme", "fp1", "HighErrorRate", kT0);
  a.labels = {{"service", "api"}, {"instance", "host-1"}};
  a.annotations = {{"summary", "a \"quoted\" summary"}, {"runbook", "https://r/1"}};
  a.generator_url = "https://prom/graph?g0.expr=up";
  a.severity = Severity::kP1;
  AlertReport b = Firing("acme", "fp2", "HighErrorRate", kT0);
  b.labels = {{"service", "api"}, {"instance", "host-2"}};
  AlertReport c = Firing("globex", "fp1", "DiskFull", kT0);
  c.labels = {{"service", "db"}};
  ASSERT_THAT(Report({a, b, c}, kT0), IsOk());
  ASSERT_THAT(Report({Resolved(b, kT0 + absl::Seconds(30))}, kT0 + absl::Minutes(1)), IsOk());
  ASSERT_EQ(Text("SELECT count(*) FROM incident.alerts"), "3");
  ASSERT_EQ(Text("SELECT count(*) FROM incident.alerts WHERE ends_at IS NOT NULL"), "1");

  Exec("GRANT SELECT ON incident.alerts TO PUBLIC");
  Exec(absl::StrCat("CREATE ROLE ", role_));
  Exec(absl::StrCat("GRANT SELECT, UPDATE ON incident.alerts TO ", role_, " WITH GRANT OPTION"));
  const Snapshot before = Take();
  ASSERT_THAT(before.acl, HasSubstr(role_));
  const std::string acme_incident =
      Text("SELECT id FROM incident.incidents WHERE tenant_id = 'acme'");
  auto detail_before = store_.GetIncident(acme_incident);
  ASSERT_THAT(detail_before, IsOk());
  ASSERT_THAT(detail_before->alerts, SizeIs(2));

  ASSERT_THAT(
      common::ApplyMigrations(pool_, "incident", MigrationsBefore(kAlertsFillfactor30)),
      IsOk());

  EXPECT_EQ(Columns(),
            "tenant_id,incident_id,fingerprint,name,severity,labels,annotations,source,"
            "generator_url,joined_at,starts_at,ends_at,update_time,status");
  const Snapshot after = Take();
  EXPECT_EQ(after.rows, before.rows);
  EXPECT_EQ(after.indexes, before.indexes);
  EXPECT_EQ(after.constraints, before.constraints);
  EXPECT_EQ(after.options, "fillfactor=50");
  EXPECT_EQ(after.options, before.options);
  EXPECT_EQ(after.owner, before.owner);
  EXPECT_EQ(after.acl, before.acl);
  EXPECT_EQ(Text("SELECT coalesce(to_regclass('incident.alerts_013')::text, '')"), "");
  EXPECT_EQ(Text("SELECT count(*) FROM pg_class WHERE relname LIKE 'alerts_013%'"), "0");
  auto detail_after = store_.GetIncident(acme_incident);
  ASSERT_THAT(detail_after, IsOk());
  EXPECT_EQ(detail_after->alerts, detail_before->alerts);

  // Intake goes on over the rebuilt table: a resolve and a refire update the
  // state columns and keep the labels and annotations; a new fingerprint
  // joins.
  AlertReport d = Firing("acme", "fp3", "HighErrorRate", kT0 + absl::Minutes(2));
  d.labels = {{"service", "api"}, {"instance", "host-3"}};
  AlertReport refire_b = b;
  refire_b.starts_at = kT0 + absl::Minutes(2);
  auto batch = Report({Resolved(a, kT0 + absl::Minutes(2)), refire_b, d}, kT0 + absl::Minutes(3));
  ASSERT_THAT(batch, IsOk());
  EXPECT_EQ(batch->accepted, 3);
  EXPECT_EQ(batch->duplicates, 0);
  auto detail = store_.GetIncident(acme_incident);
  ASSERT_THAT(detail, IsOk());
  ASSERT_THAT(detail->alerts, SizeIs(3));
  const AlertState* fp1 = nullptr;
  const AlertState* fp2 = nullptr;
  for (const AlertState& alert : detail->alerts) {
    if (alert.fingerprint == "fp1") fp1 = &alert;
    if (alert.fingerprint == "fp2") fp2 = &alert;
  }
  ASSERT_NE(fp1, nullptr);
  ASSERT_NE(fp2, nullptr);
  EXPECT_EQ(fp1->status, AlertStatus::kResolved);
  EXPECT_THAT(fp1->ends_at, Optional(kT0 + absl::Minutes(2)));
  ASSERT_EQ(detail_before->alerts[0].fingerprint, "fp1");
  EXPECT_EQ(fp1->labels, detail_before->alerts[0].labels);
  EXPECT_EQ(fp1->labels.at("instance"), "host-1");
  EXPECT_EQ(fp1->annotations.at("summary"), "a \"quoted\" summary");
  EXPECT_EQ(fp1->generator_url, "https://prom/graph?g0.expr=up");
  EXPECT_EQ(fp1->severity, Severity::kP1);
  EXPECT_EQ(fp2->status, AlertStatus::kFiring);
  EXPECT_EQ(fp2->starts_at, kT0 + absl::Minutes(2));
  EXPECT_EQ(fp2->ends_at, std::nullopt);
  EXPECT_EQ(fp2->labels.at("instance"), "host-2");

  // A replay of a report accepted before the migration is still a duplicate.
  auto replay = Report({c}, kT0 + absl::Minutes(4));
  ASSERT_THAT(replay, IsOk());
  EXPECT_EQ(replay->duplicates, 1);
  EXPECT_EQ(replay->accepted, 0);

  // The later migrations (016: fillfactor 30) change no row; applying them
  // again changes nothing.
  const Snapshot settled = Take();
  ASSERT_THAT(common::ApplyMigrations(pool_, "incident", Migrations()), IsOk());
  EXPECT_EQ(Take().rows, settled.rows);
  EXPECT_EQ(Take().options, "fillfactor=30");
  ASSERT_THAT(common::ApplyMigrations(pool_, "incident", Migrations()), IsOk());
  EXPECT_EQ(Take().rows, settled.rows);
  EXPECT_EQ(Text("SELECT count(*) FROM incident.alerts"), "4");
}

// On an empty database the migration builds the same table.
TEST_F(PgAlertsMigrationTest, FreshDatabaseGetsTheStateColumnsLast) {
  ASSERT_THAT(common::ApplyMigrations(pool_, "incident", Migrations()), IsOk());
  EXPECT_EQ(Columns(),
            "tenant_id,incident_id,fingerprint,name,severity,labels,annotations,source,"
            "generator_url,joined_at,starts_at,ends_at,update_time,status");
  EXPECT_EQ(Text("SELECT array_to_string(reloptions, ',') FROM pg_class "
                 "WHERE oid = 'incident.alerts'::regclass"),
            "fillfactor=30");
  EXPECT_EQ(Text("SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes "
                 "WHERE schemaname = 'incident' AND tablename = 'alerts'"),
            "alerts_fingerprint_idx,alerts_pkey");
  EXPECT_EQ(Text("SELECT string_agg(pg_get_constraintdef(oid), ';' ORDER BY conname) "
                 "FROM pg_constraint WHERE conrelid = 'incident.alerts'::regclass "
                 "AND contype = 'c'"),
            "CHECK (((severity >= 1) AND (severity <= 4)));CHECK (((status >= 1) AND "
            "(status <= 2)))");
}

// Intake writes the firing alerts of one group (bench-sized rows, ~600 bytes),
// then resolves and refires every one of them while another transaction's
// snapshot keeps every old version from being pruned. Returns how many rows
// left the page they were first written to (a non-HOT update) and how many
// rows there are.
class PgAlertsFillfactorTest : public PgAlertsMigrationTest {
 protected:
  std::pair<int, int> MovedRowsAfterTwoRounds() {
    std::vector<AlertReport> firing;
    for (int i = 0; i < 24; ++i) {
      AlertReport a = Firing("acme", absl::StrCat("fp", i), "HighErrorRate", kT0);
      a.labels = {{"service", "api"}, {"instance", absl::StrCat("host-", i)}};
      a.annotations = {{"summary", std::string(420, 'x')}};
      firing.push_back(a);
    }
    EXPECT_THAT(Report(firing, kT0), IsOk());
    const std::map<std::string, std::string> pages = Pages();
    EXPECT_EQ(pages.size(), firing.size());

    pqxx::connection holder(db_.dsn());
    pqxx::work snapshot(holder);
    snapshot.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    EXPECT_EQ(snapshot.exec("SELECT count(*) FROM incident.alerts")[0][0].as<int>(), 24);

    std::vector<AlertReport> resolved, refired;
    for (const AlertReport& a : firing) {
      resolved.push_back(Resolved(a, kT0 + absl::Minutes(1)));
      AlertReport again = a;
      again.starts_at = kT0 + absl::Minutes(2);
      refired.push_back(again);
    }
    EXPECT_THAT(Report(resolved, kT0 + absl::Minutes(1)), IsOkAndHolds(Accepted(24)));
    EXPECT_THAT(Report(refired, kT0 + absl::Minutes(2)), IsOkAndHolds(Accepted(24)));

    int moved = 0;
    for (const auto& [fingerprint, page] : Pages()) {
      auto it = pages.find(fingerprint);
      if (it == pages.end() || it->second != page) ++moved;
    }
    EXPECT_EQ(Text("SELECT count(*) FROM incident.alerts WHERE status = 1"), "24");
    RecordProperty("moved_rows", moved);
    return {moved, static_cast<int>(pages.size())};
  }

  // Each alert row's heap page, by fingerprint.
  std::map<std::string, std::string> Pages() {
    std::map<std::string, std::string> out;
    EXPECT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
      for (const auto& row : txn.exec("SELECT fingerprint, ((ctid::text::point)[0])::bigint "
                                      "FROM incident.alerts")) {
        out[row[0].as<std::string>()] = row[1].as<std::string>();
      }
      return absl::OkStatus();
    }),
                IsOk());
    return out;
  }
};

TEST_F(PgAlertsFillfactorTest, TwoUpdatesOfEveryRowStayOnItsPage) {
  ASSERT_THAT(common::ApplyMigrations(pool_, "incident", Migrations()), IsOk());
  const auto [moved, rows] = MovedRowsAfterTwoRounds();
  EXPECT_EQ(rows, 24);
  EXPECT_EQ(moved, 0);
}

// The same with the fillfactor before migration 016: the second round finds
// the pages full and moves most rows (what the test above would catch).
TEST_F(PgAlertsFillfactorTest, FillfactorFiftyMovesRowsOnTheSecondUpdate) {
  ASSERT_THAT(
      common::ApplyMigrations(pool_, "incident", MigrationsBefore(kAlertsFillfactor30)),
      IsOk());
  ASSERT_EQ(Take().options, "fillfactor=50");
  const auto [moved, rows] = MovedRowsAfterTwoRounds();
  EXPECT_EQ(rows, 24);
  EXPECT_GE(moved, 12);
}

}  // namespace
}  // namespace agentwatch::incident

namespace agentwatch::incident {
namespace {

// The plan of intake's latest-row probe (kSelectLatestAlerts' lateral
// subquery, with kIntakePlanning's settings), one line per plan node.
class PgAlertsLatestIndexTest : public PgAlertsMigrationTest {
 protected:
  std::string LatestProbePlan() {
    std::string plan;
    EXPECT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
      txn.exec(
          "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL enable_hashjoin = off; "
          "SET LOCAL enable_mergejoin = off; SET LOCAL enable_seqscan = off; "
          "SET LOCAL enable_bitmapscan = off");
      for (const auto& row : txn.exec(
               "EXPLAIN (COSTS OFF) SELECT a.incident_id, a.labels FROM unnest("
               "'{acme}'::text[], '{fp1}'::text[]) WITH ORDINALITY AS f(tenant_id, "
               "fingerprint, i) CROSS JOIN LATERAL (SELECT * FROM "
               "incident.alerts l WHERE l.tenant_id = f.tenant_id AND l.fingerprint = "
               "f.fingerprint ORDER BY l.joined_at DESC, l.incident_id DESC LIMIT 1) AS a")) {
        absl::StrAppend(&plan, row[0].as<std::string>(), "\n");
      }
      return absl::OkStatus();
    }),
                IsOk());
    return plan;
  }
};

TEST_F(PgAlertsLatestIndexTest, LatestProbeReadsTheIndexInOrderWithoutASort) {
  ASSERT_THAT(common::ApplyMigrations(pool_, "incident", Migrations()), IsOk());
  EXPECT_EQ(Text("SELECT indexdef FROM pg_indexes WHERE schemaname = 'incident' "
                 "AND indexname = 'alerts_fingerprint_idx'"),
            "CREATE INDEX alerts_fingerprint_idx ON incident.alerts USING btree (tenant_id, "
            "fingerprint, joined_at DESC, incident_id DESC)");
  const std::string plan = LatestProbePlan();
  EXPECT_THAT(plan, HasSubstr("Index Scan using alerts_fingerprint_idx"));
  EXPECT_THAT(plan, Not(HasSubstr("Sort")));

  // The probe still answers the latest row, ties on joined_at broken by the
  // greater incident id.
  Exec("INSERT INTO incident.alerts (tenant_id, incident_id, fingerprint, name, severity, "
       "joined_at, starts_at, update_time, status) VALUES "
       "('acme', 'i1', 'fp1', 'A', 1, '2026-01-01Z', '2026-01-01Z', '2026-01-01Z', 1), "
       "('acme', 'i3', 'fp1', 'A', 1, '2026-01-02Z', '2026-01-02Z', '2026-01-02Z', 1), "
       "('acme', 'i2', 'fp1', 'A', 1, '2026-01-02Z', '2026-01-02Z', '2026-01-02Z', 1)");
  EXPECT_EQ(Text("SET LOCAL enable_seqscan = off; SELECT incident_id FROM incident.alerts "
                 "WHERE tenant_id = 'acme' AND fingerprint = 'fp1' "
                 "ORDER BY joined_at DESC, incident_id DESC LIMIT 1"),
            "i3");
}

// Before migration 017 the index ends at joined_at and the probe sorts (what
// the test above would catch).
TEST_F(PgAlertsLatestIndexTest, BeforeTheMigrationTheProbeSorts) {
  ASSERT_THAT(common::ApplyMigrations(pool_, "incident", MigrationsBefore(kAlertsLatestIndex)),
              IsOk());
  EXPECT_THAT(LatestProbePlan(), HasSubstr("Sort"));
}

}  // namespace
}  // namespace agentwatch::incident

namespace agentwatch::incident {
namespace {

constexpr char kReportsKeyDef[] =
    "SELECT indexdef FROM pg_indexes WHERE schemaname = 'incident' "
    "AND indexname = 'alert_reports_pkey'";

// Reports recorded before migration 018 are still refused as duplicates
// after it (firings and resolves, each with its incident), nothing is
// written for them, and new reports are accepted as before.
TEST_F(PgAlertsMigrationTest, ReportsRecordedBeforeTheKeyMigrationStayDuplicates) {
  ASSERT_THAT(
      common::ApplyMigrations(pool_, "incident", MigrationsBefore(kAlertReportsKeyInTimeOrder)),
      IsOk());
  std::vector<AlertReport> history;
  for (int i = 0; i < 40; ++i) {
    AlertReport a = Firing("acme", absl::StrCat("fp", i), "A", kT0 + absl::Seconds(i));
    a.labels = {{"service", i % 2 == 0 ? "api" : "db"}};
    history.push_back(a);
    if (i % 3 == 0) history.push_back(Resolved(a, kT0 + absl::Minutes(1)));
  }
  ASSERT_THAT(Report(history, kT0 + absl::Minutes(2)),
              IsOkAndHolds(Accepted(static_cast<int64_t>(history.size()))));
  const std::string reports_before = Text(
      "SELECT string_agg(concat_ws('|', tenant_id, fingerprint, status, starts_at, ends_at, "
      "incident_id, received_at), E'\\n' ORDER BY fingerprint, status) "
      "FROM incident.alert_reports");

  ASSERT_THAT(common::ApplyMigrations(pool_, "incident", Migrations()), IsOk());
  EXPECT_EQ(Text(kReportsKeyDef),
            "CREATE UNIQUE INDEX alert_reports_pkey ON incident.alert_reports USING btree "
            "(tenant_id, starts_at, fingerprint, status, ends_at)");
  EXPECT_EQ(Text("SELECT string_agg(concat_ws('|', tenant_id, fingerprint, status, starts_at, "
                 "ends_at, incident_id, received_at), E'\\n' ORDER BY fingerprint, status) "
                 "FROM incident.alert_reports"),
            reports_before);

  const std::string timeline = Text("SELECT count(*) FROM incident.timeline_entries");
  auto replay = Report(history, kT0 + absl::Minutes(3));
  ASSERT_THAT(replay, IsOk());
  EXPECT_EQ(replay->duplicates, static_cast<int64_t>(history.size()));
  EXPECT_EQ(replay->accepted, 0);
  EXPECT_EQ(Text("SELECT count(*) FROM incident.timeline_entries"), timeline);
  // A duplicate answers with the incident its report joined (history[1]:
  // fp0's resolve).
  auto first = Report({history[1]}, kT0 + absl::Minutes(4));
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->incident_ids,
            std::vector<std::string>{Text("SELECT incident_id FROM incident.alert_reports "
                                          "WHERE fingerprint = 'fp0' AND status = 2")});

  // A new report after the migration: accepted once, then a duplicate.
  const AlertReport refire = Firing("acme", "fp1", "A", kT0 + absl::Minutes(5));
  EXPECT_THAT(Report({refire}, kT0 + absl::Minutes(5)), IsOkAndHolds(Accepted(1)));
  auto again = Report({refire}, kT0 + absl::Minutes(6));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->duplicates, 1);
}

// Before migration 018 the key leads with the fingerprint (what the test
// above would catch).
TEST_F(PgAlertsMigrationTest, BeforeTheKeyMigrationReportsAreKeyedByFingerprint) {
  ASSERT_THAT(
      common::ApplyMigrations(pool_, "incident", MigrationsBefore(kAlertReportsKeyInTimeOrder)),
      IsOk());
  EXPECT_THAT(Text(kReportsKeyDef), HasSubstr("(tenant_id, fingerprint, status, starts_at"));
}

}  // namespace
}  // namespace agentwatch::incident
