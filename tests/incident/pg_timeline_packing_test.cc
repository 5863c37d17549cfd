// Intake's packed timeline rows (migration 015) against the real Postgres
// (AGENTWATCH_TEST_PG_DSN): the migration keeps every entry written before
// (same ids, same content through incident.timeline_entries, GetIncident and
// the watch source); intake then writes an incident's entries of one
// transaction as one row, and every reader returns what the in-memory store
// (one entry per row) returns for the same batches; the COPY rows split at
// breaks in the entry ids, at a change of actor or time and at
// kMaxPackedEntries, and carry any text; the watch source reads entries
// inside a packed row by id.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/pg.h"
#include "common/status_macros.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "incident/core/grouping.h"
#include "incident/store/memory_incident_store.h"
#include "incident/store/migrations.h"
#include "incident/store/pg_incident_rows.h"
#include "incident/store/pg_incident_store.h"
#include "incident/store/pg_watch_source.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixMicros(1'700'000'000'123'456);
constexpr int kPackedEntries = 15;

common::PgPoolOptions PoolOptions(const std::string& dsn) {
  common::PgPoolOptions options;
  options.dsn = dsn;
  options.size = 2;
  return options;
}

std::vector<common::Migration> MigrationsBefore(int version) {
  std::vector<common::Migration> out;
  for (const common::Migration& m : Migrations()) {
    if (m.version < version) out.push_back(m);
  }
  return out;
}

// An entry as the readers return it, with its id where the reader has one.
struct Entry {
  int64_t id = 0;
  std::string incident_id, actor, kind, text;
  absl::Time time;
  Labels details;
  friend bool operator==(const Entry& a, const Entry& b) {
    return a.id == b.id && a.incident_id == b.incident_id && a.actor == b.actor &&
           a.kind == b.kind && a.text == b.text && a.time == b.time && a.details == b.details;
  }
  friend std::ostream& operator<<(std::ostream& os, const Entry& e) {
    os << e.id << " " << e.incident_id << " " << e.actor << " " << e.kind << " " << e.text << " "
       << e.time << " {";
    for (const auto& [k, v] : e.details) os << k << "=" << v << ",";
    return os << "}";
  }
};

Entry FromTimeline(const TimelineEntry& e, int64_t id = 0) {
  return Entry{id, e.incident_id, e.actor, e.kind, e.text, e.time, e.details};
}

class PgTimelinePackingTest : public ::testing::Test {
 protected:
  PgTimelinePackingTest()
      : pool_(PoolOptions(db_.dsn())),
        grouping_(*ParseGroupBy("group_by", "alertname,service")),
        store_(pool_, ids_),
        source_(pool_, store_),
        memory_(memory_ids_) {}

  std::vector<IncomingAlert> Prepare(const std::vector<AlertReport>& reports, absl::Time now) {
    std::vector<IncomingAlert> alerts;
    for (const AlertReport& r : reports) alerts.push_back(PrepareAlert(r, grouping_, now));
    return alerts;
  }

  // The same batch into Postgres and into the in-memory store.
  void ReportBoth(const std::vector<AlertReport>& reports, absl::Time now) {
    const std::vector<IncomingAlert> alerts = Prepare(reports, now);
    auto pg = store_.ReportAlerts(alerts, now);
    auto memory = memory_.ReportAlerts(alerts, now);
    ASSERT_THAT(pg, IsOk());
    ASSERT_THAT(memory, IsOk());
    EXPECT_EQ(pg->incident_ids, memory->incident_ids);
  }

  void Exec(const std::string& sql) {
    EXPECT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
      txn.exec(sql);
      return absl::OkStatus();
    }),
                IsOk())
        << sql;
  }

  int64_t Count(const std::string& sql) {
    int64_t out = -1;
    EXPECT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
      out = txn.exec1(sql)[0].as<int64_t>();
      return absl::OkStatus();
    }),
                IsOk())
        << sql;
    return out;
  }

  // The entries of `sql` (entry_id, incident_id, actor, kind, entry_text,
  // entry_time in microseconds, details as text).
  std::vector<Entry> Rows(const std::string& sql) {
    std::vector<Entry> out;
    EXPECT_THAT(pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
      for (const pqxx::row& row : txn.exec(sql)) {
        Entry e;
        e.id = row[0].as<int64_t>();
        e.incident_id = row[1].as<std::string>();
        e.actor = row[2].as<std::string>();
        e.kind = row[3].as<std::string>();
        e.text = row[4].as<std::string>();
        e.time = absl::FromUnixMicros(row[5].as<int64_t>());
        ASSIGN_OR_RETURN(e.details, pg_rows::ParseJsonMap(row[6]));
        out.push_back(std::move(e));
      }
      return absl::OkStatus();
    }),
                IsOk())
        << sql;
    return out;
  }

  static std::string EntriesSql(absl::string_view relation) {
    return absl::StrCat(
        "SELECT entry_id, incident_id, actor, kind, entry_text, "
        "(extract(epoch from entry_time) * 1000000)::bigint, details::text FROM ",
        relation, " ORDER BY entry_id");
  }

  std::vector<Entry> Watched(const absl::StatusOr<std::vector<WatchEntry>>& read) {
    std::vector<Entry> out;
    EXPECT_THAT(read, IsOk());
    if (!read.ok()) return out;
    for (const WatchEntry& w : *read) out.push_back(FromTimeline(w.entry, w.entry_id));
    return out;
  }

  std::vector<Entry> PgTimeline(const std::string& id) {
    std::vector<Entry> out;
    auto detail = store_.GetIncident(id);
    EXPECT_THAT(detail, IsOk()) << id;
    if (detail.ok()) {
      for (const TimelineEntry& e : detail->timeline) out.push_back(FromTimeline(e));
    }
    return out;
  }

  std::vector<Entry> MemoryTimeline(const std::string& id) {
    std::vector<Entry> out;
    auto detail = memory_.GetIncident(id);
    EXPECT_THAT(detail, IsOk()) << id;
    if (detail.ok()) {
      for (const TimelineEntry& e : detail->timeline) out.push_back(FromTimeline(e));
    }
    return out;
  }

  ::agentwatch::testing::TestDatabase db_;
  common::PgPool pool_;
  GroupingConfig grouping_;
  testing::SequentialIds ids_;
  PgIncidentStore store_;
  PgWatchSource source_;
  testing::SequentialIds memory_ids_;
  MemoryIncidentStore memory_;
};

// A group of `count` alerts of HighErrorRate on `service`.
std::vector<AlertReport> Group(const std::string& service, int count, absl::Time starts_at) {
  std::vector<AlertReport> out;
  for (int i = 0; i < count; ++i) {
    AlertReport a =
        testing::Firing("acme", absl::StrCat(service, "-", i), "HighErrorRate", starts_at);
    a.labels = {{"service", service}, {"instance", absl::StrCat("10.0.0.", i, ":9090")}};
    a.annotations = {{"summary", "errors \"high\"\ton\nC:\\ \xc3\xa9t\xc3\xa9"}};
    out.push_back(std::move(a));
  }
  return out;
}

TEST_F(PgTimelinePackingTest, MigrationKeepsEntriesAndIntakePacksWhatReadersExpand) {
  ASSERT_THAT(common::ApplyMigrations(pool_, "incident", MigrationsBefore(15)), IsOk());
  // Entries written before the migration, one a row, with the writers'
  // default ids: a lifecycle step, a note with characters JSON and COPY
  // escape, a response rule's.
  Exec(
      "INSERT INTO incident.incidents (tenant_id, id, group_key, title, status, severity, "
      "start_time, create_time, update_time) VALUES ('acme', 'old-1', 'g', 'Old', 2, 2, "
      "'2023-11-14T22:13:20Z', '2023-11-14T22:13:20Z', '2023-11-14T22:13:20Z')");
  Exec(
      "INSERT INTO incident.timeline (tenant_id, incident_id, entry_time, actor, kind, "
      "entry_text, details) VALUES "
      "('acme', 'old-1', '2023-11-14T22:13:20.5Z', 'alice', 'acknowledged', 'Acknowledged', "
      "'{}'), "
      "('acme', 'old-1', '2023-11-14T22:13:21Z', 'bob', 'note', E'a \"note\"\\twith\\nlines', "
      "'{\"k\": \"v\\\\\\\\w\"}'), "
      "('acme', 'old-1', '2023-11-14T22:13:22Z', 'response_rule:r1', 'response_rule', 'ran', "
      "'{\"rule\": \"r1\"}')");
  const std::vector<Entry> before = Rows(EntriesSql("incident.timeline"));
  ASSERT_THAT(before, SizeIs(3));
  ASSERT_EQ(before[1].details, (Labels{{"k", "v\\\\w"}}));

  ASSERT_THAT(common::ApplyMigrations(pool_, "incident", Migrations()), IsOk());

  // Every entry kept: same ids, same content, one row each.
  EXPECT_THAT(Rows(EntriesSql("incident.timeline_entries")), ElementsAreArray(before));
  EXPECT_EQ(Count("SELECT count(*) FROM incident.timeline WHERE entry_count = 1 AND "
                  "entries IS NULL"),
            3);
  std::vector<Entry> before_without_ids = before;
  for (Entry& e : before_without_ids) e.id = 0;
  EXPECT_THAT(PgTimeline("old-1"), ElementsAreArray(before_without_ids));
  EXPECT_THAT(Watched(source_.EntriesAfter(0, std::numeric_limits<int64_t>::max(), 100)),
              ElementsAreArray(before));

  // Intake over the migrated table, the same batches into the in-memory
  // store: a new incident of kPackedEntries alerts and one of a single alert
  // in one transaction, then resolves and refires of the first.
  const std::vector<AlertReport> api = Group("api", kPackedEntries, kT0);
  std::vector<AlertReport> batch = api;
  for (const AlertReport& a : Group("db", 1, kT0)) batch.push_back(a);
  ReportBoth(batch, kT0);
  std::vector<AlertReport> changes;
  for (int i = 0; i < kPackedEntries; ++i) {
    if (i % 3 == 0) {
      changes.push_back(testing::Resolved(api[i], kT0 + absl::Seconds(30)));
    } else if (i % 3 == 1) {
      AlertReport refire = api[i];
      refire.starts_at = kT0 + absl::Minutes(1);
      changes.push_back(refire);
    }
  }
  ReportBoth(changes, kT0 + absl::Minutes(2));

  // Packed: each incident's entries of each transaction share a row (the
  // second incident's two, "created" and "alert_firing", too).
  EXPECT_GE(Count("SELECT count(*) FROM incident.timeline WHERE entries IS NOT NULL"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.timeline WHERE entries IS NOT NULL AND "
                  "entry_count < 2"),
            0);
  EXPECT_EQ(Count("SELECT coalesce(sum(entry_count), 0) FROM incident.timeline"),
            Count("SELECT count(*) FROM incident.timeline_entries"));
  EXPECT_LT(Count("SELECT count(*) FROM incident.timeline"),
            Count("SELECT count(*) FROM incident.timeline_entries") - kPackedEntries);

  // GetIncident's timeline is the in-memory store's, entry for entry.
  for (const std::string& id : {std::string("inc-000001"), std::string("inc-000002")}) {
    const std::vector<Entry> pg = PgTimeline(id);
    EXPECT_THAT(pg, ElementsAreArray(MemoryTimeline(id))) << id;
    EXPECT_GE(pg.size(), 2u) << id;
  }
  EXPECT_THAT(PgTimeline("inc-000001"), SizeIs(1 + kPackedEntries + 10));

  // The watch source: every entry once, ids ascending and unique, each
  // incident's entries in GetIncident's order; the old entries first.
  const std::vector<Entry> all =
      Watched(source_.EntriesAfter(0, std::numeric_limits<int64_t>::max(), 1000));
  ASSERT_EQ(static_cast<int64_t>(all.size()),
            Count("SELECT count(*) FROM incident.timeline_entries"));
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i].id, all[i - 1].id);
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(all[i], before[i]);
  std::vector<Entry> first_incident;
  for (Entry e : all) {
    if (e.incident_id != "inc-000001") continue;
    e.id = 0;
    first_incident.push_back(e);
  }
  EXPECT_THAT(first_incident, ElementsAreArray(PgTimeline("inc-000001")));

  // Reads that start, end and cut inside a packed row.
  const int64_t packed_first = Count(
      "SELECT min(entry_id) FROM incident.timeline WHERE incident_id = 'inc-000001' AND "
      "entries IS NOT NULL");
  size_t at = 0;
  while (at < all.size() && all[at].id != packed_first) ++at;
  ASSERT_LT(at + 4, all.size());
  EXPECT_THAT(Watched(source_.EntriesAfter(all[at + 1].id, std::numeric_limits<int64_t>::max(), 2)),
              ElementsAre(all[at + 2], all[at + 3]));
  EXPECT_THAT(Watched(source_.EntriesAfter(all[at].id - 1, all[at + 1].id, 10)),
              ElementsAre(all[at], all[at + 1]));
  EXPECT_THAT(Watched(source_.EntriesIn(
                  {{all[at + 1].id, all[at + 2].id}, {all[at + 4].id, all[at + 4].id}})),
              ElementsAre(all[at + 1], all[at + 2], all[at + 4]));
}

// The rows CopyTimelineRows writes, read back through
// incident.timeline_entries: a row per incident's run of consecutive ids with
// one time and actor, at most kMaxPackedEntries entries a row.
TEST_F(PgTimelinePackingTest, CopyRowsSplitAtIdBreaksActorsTimesAndTheCap) {
  ASSERT_THAT(common::ApplyMigrations(pool_, "incident", Migrations()), IsOk());
  std::vector<TimelineEntry> entries;
  auto add = [&](const std::string& incident, const std::string& actor, absl::Time time,
                 const std::string& kind) {
    TimelineEntry e;
    e.tenant = "acme";
    e.incident_id = incident;
    e.time = time;
    e.actor = actor;
    e.kind = kind;
    e.text = absl::StrCat(kind, " \"text\"\t\\ \xe2\x9c\x93\n", entries.size());
    e.details = {{"n", absl::StrCat(entries.size())}, {"q\"", "\\\x01"}};
    entries.push_back(std::move(e));
  };
  // A: five entries around one of B; the third id run breaks after three.
  add("a", "system", kT0, "created");
  add("a", "system", kT0, "alert_firing");
  add("b", "system", kT0, "created");
  add("a", "system", kT0, "alert_firing");
  add("a", "system", kT0, "alert_resolved");
  add("a", "system", kT0, "severity_changed");
  // C: an actor and then a time change end a row.
  add("c", "system", kT0, "created");
  add("c", "alice", kT0, "note");
  add("c", "alice", kT0 + absl::Seconds(1), "note");
  add("c", "alice", kT0 + absl::Seconds(1), "note");
  // D: more entries than a row holds.
  const int64_t many = pg_rows::kMaxPackedEntries + 44;
  for (int64_t i = 0; i < many; ++i) add("d", "system", kT0, "alert_firing");
  const std::vector<pg_rows::TimelineIdRun> runs = {
      {100, 3}, {200, 3}, {300, static_cast<int64_t>(entries.size()) - 6}};
  ASSERT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
    pg_rows::CopyTimelineRows(txn, entries, runs);
    return absl::OkStatus();
  }),
              IsOk());

  // Rows: A [100..102], A [200..201], B 202, C 300, C [301] alice at kT0,
  // C [302..303], D [304..559] and [560..603].
  std::vector<std::string> layout;
  EXPECT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
    for (const pqxx::row& row :
         txn.exec("SELECT concat_ws(' ', incident_id, entry_id, entry_count, kind, "
                  "entries IS NULL) FROM incident.timeline ORDER BY entry_id")) {
      layout.push_back(row[0].as<std::string>());
    }
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_THAT(layout, ElementsAre("a 100 3 packed f", "a 200 2 packed f", "b 202 1 created t",
                                  "c 300 1 created t", "c 301 1 note t", "c 302 2 packed f",
                                  "d 304 256 packed f", "d 560 44 packed f"));

  // Read back: each incident's entries in order, every field as written.
  std::vector<Entry> expected;
  const int64_t ids[] = {100, 101, 202, 102, 200, 201, 300, 301, 302, 303};
  for (size_t i = 0; i < 10; ++i) expected.push_back(FromTimeline(entries[i], ids[i]));
  for (int64_t i = 0; i < many; ++i) expected.push_back(FromTimeline(entries[10 + i], 304 + i));
  std::sort(expected.begin(), expected.end(),
            [](const Entry& x, const Entry& y) { return x.id < y.id; });
  EXPECT_THAT(Rows(EntriesSql("incident.timeline_entries")), ElementsAreArray(expected));
  EXPECT_THAT(Watched(source_.EntriesAfter(0, std::numeric_limits<int64_t>::max(), 1000)),
              ElementsAreArray(expected));
  // Across the boundary of D's two rows.
  EXPECT_THAT(
      Watched(source_.EntriesIn({{558, 561}})),
      ElementsAre(expected[expected.size() - many + 254], expected[expected.size() - many + 255],
                  expected[expected.size() - many + 256], expected[expected.size() - many + 257]));
}

// Intake's entry-id reservation reads runs of consecutive ids by grouping
// id - n (pg_rows::IdRunsOf over a given list of ids instead of the
// sequence): the runs are the gaps of the ids, and the same as the query it
// replaced (id - row_number() OVER (ORDER BY n)) gives, on fixed lists and
// on random increasing ones. Fails when the runs group by anything else
// (e.g. the id alone: one run per id).
TEST_F(PgTimelinePackingTest, EntryIdRunsAreTheGapsOfTheIds) {
  pqxx::connection connection(db_.dsn());
  auto source = [](const std::vector<int64_t>& ids) {
    return absl::StrCat("SELECT n, id FROM unnest('{", absl::StrJoin(ids, ","),
                        "}'::bigint[]) WITH ORDINALITY AS u(id, n)");
  };
  using Runs = std::vector<std::pair<int64_t, int64_t>>;
  auto runs = [&](const std::string& sql) {
    pqxx::work txn(connection);
    Runs out;
    for (const pqxx::row& row : txn.exec(sql)) {
      out.emplace_back(row[0].as<int64_t>(), row[1].as<int64_t>());
    }
    return out;
  };
  auto before = [&](const std::vector<int64_t>& ids) {
    return runs(
        absl::StrCat("SELECT min(id), count(*) FROM (SELECT id, id - row_number() OVER "
                     "(ORDER BY n) AS run FROM (",
                     source(ids), ") AS s) AS r GROUP BY run ORDER BY 1"));
  };
  auto now = [&](const std::vector<int64_t>& ids) { return runs(pg_rows::IdRunsOf(source(ids))); };
  EXPECT_EQ(now({5, 6, 7, 10, 11, 20}), (Runs{{5, 3}, {10, 2}, {20, 1}}));
  EXPECT_EQ(now({1}), (Runs{{1, 1}}));
  EXPECT_EQ(now({3, 4, 5, 6}), (Runs{{3, 4}}));
  EXPECT_EQ(now({2, 4, 6}), (Runs{{2, 1}, {4, 1}, {6, 1}}));
  EXPECT_EQ(now({7, 9, 10, 11, 12, 14}), (Runs{{7, 1}, {9, 4}, {14, 1}}));
  uint64_t state = 42;
  auto next = [&state]() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<int64_t> ids;
    int64_t id = static_cast<int64_t>(next() % 1000) + 1;
    const int count = 1 + static_cast<int>(next() % 300);
    for (int i = 0; i < count; ++i) {
      ids.push_back(id);
      id += next() % 4 == 0 ? 1 + static_cast<int64_t>(next() % 5) : 1;
    }
    const Runs got = now(ids);
    EXPECT_EQ(got, before(ids)) << trial;
    int64_t total = 0;
    for (const auto& [first, n] : got) total += n;
    EXPECT_EQ(total, count) << trial;
  }
}

}  // namespace
}  // namespace agentwatch::incident
