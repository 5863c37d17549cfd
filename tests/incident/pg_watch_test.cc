// WatchIncidents against the real Postgres (AGENTWATCH_TEST_PG_DSN): two
// replicas (each its own pool, store and poller); a change written through
// replica A is delivered by replica B's poller, in order, with the incident's
// state; a transaction committing an older entry id late is delivered once;
// resuming from a cursor redelivers what came after it; the snapshot.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/clock.h"
#include "common/pg.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "incident/api/incident_watcher.h"
#include "incident/core/grouping.h"
#include "incident/core/intake.h"
#include "incident/core/lifecycle.h"
#include "incident/store/migrations.h"
#include "incident/store/pg_incident_store.h"
#include "incident/store/pg_watch_source.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

const absl::Time kT0 = absl::FromUnixMicros(1'700'000'000'123'456);

common::PgPoolOptions PoolOptions(const std::string& dsn) {
  common::PgPoolOptions options;
  options.dsn = dsn;
  options.size = 4;
  return options;
}

class NullSink final : public WatchSink {
 public:
  void Wake() override {}
};

struct Replica {
  Replica(const std::string& dsn, IdGenerator& ids, const common::Clock& clock)
      : pool(PoolOptions(dsn)),
        store(pool, ids),
        source(pool, store),
        watcher(source, clock, IncidentWatcherOptions()) {}
  common::PgPool pool;
  PgIncidentStore store;
  PgWatchSource source;
  IncidentWatcher watcher;
};

std::vector<v1::IncidentEvent> Drain(Watch& watch, bool* ended = nullptr) {
  std::vector<v1::IncidentEvent> out;
  v1::IncidentEvent event;
  absl::Status end;
  while (true) {
    const Watch::Next next = watch.Pop(&event, &end);
    if (next == Watch::Next::kNone) return out;
    if (next == Watch::Next::kEnded) {
      if (ended != nullptr) *ended = true;
      return out;
    }
    if (next == Watch::Next::kEvent) out.push_back(event);
  }
}

std::vector<std::string> Kinds(const std::vector<v1::IncidentEvent>& events) {
  std::vector<std::string> kinds;
  for (const auto& e : events) kinds.push_back(e.entry().kind());
  return kinds;
}

class PgWatchTest : public ::testing::Test {
 protected:
  PgWatchTest() : clock_(kT0) {
    {
      common::PgPool pool(PoolOptions(db_.dsn()));
      EXPECT_THAT(common::ApplyMigrations(pool, "incident", Migrations()), IsOk());
    }
    a_ = std::make_unique<Replica>(db_.dsn(), ids_, clock_);
    b_ = std::make_unique<Replica>(db_.dsn(), ids_, clock_);
  }

  std::string Open(const std::string& fingerprint, const std::string& tenant = "acme") {
    AlertReport report = testing::Firing(tenant, fingerprint, "Alert" + fingerprint, clock_.Now());
    report.severity = Severity::kP1;
    report.labels["service"] = "api";
    std::vector<IncomingAlert> alerts = {PrepareAlert(report, grouping_, clock_.Now())};
    auto summary = a_->store.ReportAlerts(alerts, clock_.Now());
    EXPECT_THAT(summary, IsOk());
    return summary.ok() ? summary->incident_ids[0] : "";
  }

  void Step(const std::string& id, IncidentStatus target) {
    auto result = a_->store.MutateIncident(
        id, RequestKey{},
        [&](const Incident& incident) {
          return Transition(incident, target, "alice", "", clock_.Now());
        },
        [](const IncidentChange&) { return std::string(); });
    EXPECT_THAT(result.status(), IsOk());
  }

  agentwatch::testing::TestDatabase db_;
  common::FakeClock clock_;
  testing::SequentialIds ids_;
  GroupingConfig grouping_ = *ParseGroupBy("group_by", "alertname");
  NullSink sink_;
  std::unique_ptr<Replica> a_;
  std::unique_ptr<Replica> b_;
};

TEST_F(PgWatchTest, ChangesThroughOneReplicaReachTheOthersWatchers) {
  WatchSpec spec;
  spec.filter.tenant = "acme";
  auto watch = b_->watcher.Add(spec, &sink_);
  ASSERT_THAT(b_->watcher.PollOnce(), IsOk());
  EXPECT_THAT(Drain(*watch), IsEmpty());

  const std::string id = Open("f1");
  Open("f2", "other");  // another tenant: filtered
  clock_.Advance(absl::Seconds(1));
  Step(id, IncidentStatus::kAcknowledged);
  clock_.Advance(absl::Seconds(1));
  Step(id, IncidentStatus::kResolved);
  ASSERT_THAT(b_->watcher.PollOnce(), IsOk());
  const std::vector<v1::IncidentEvent> events = Drain(*watch);
  ASSERT_THAT(Kinds(events), ElementsAre("created", "alert_firing", "acknowledged", "resolved"));
  EXPECT_EQ(events[0].type(), v1::INCIDENT_EVENT_TYPE_CREATED);
  EXPECT_EQ(events[2].type(), v1::INCIDENT_EVENT_TYPE_UPDATED);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].incident().id(), id);
    EXPECT_EQ(events[i].incident().tenant(), "acme");
    EXPECT_EQ(events[i].incident().labels().at("service"), "api");
    if (i > 0) {
      EXPECT_GT(events[i].entry_id(), events[i - 1].entry_id());
    }
  }
  // Read with the poll, after the changes: the latest state.
  EXPECT_EQ(events[3].incident().status(), v1::INCIDENT_STATUS_RESOLVED);
  EXPECT_EQ(events[3].entry().actor(), "alice");
  EXPECT_EQ(events[3].time().seconds(), absl::ToUnixSeconds(kT0 + absl::Seconds(2)));

  // Resume from the cursor of the "created" event: the rest again.
  WatchSpec resume = spec;
  resume.resume_after = *DecodeWatchCursor(events[0].cursor(), "resume_cursor");
  auto resumed = a_->watcher.Add(resume, &sink_);
  ASSERT_THAT(a_->watcher.PollOnce(), IsOk());
  EXPECT_THAT(Kinds(Drain(*resumed)), ElementsAre("alert_firing", "acknowledged", "resolved"));
  a_->watcher.Stop();
  b_->watcher.Stop();
}

// The watch source reads incidents and entries with the store's row reader:
// the same values, including what JSON escapes in labels and details
// (quotes, backslashes, control characters, non-ASCII text).
TEST_F(PgWatchTest, ReadsIncidentsAndEntriesAsTheStoreDoes) {
  AlertReport report = testing::Firing("acme", "f\"1", "Disk \"full\" on C:\\", clock_.Now());
  report.severity = Severity::kP1;
  report.labels["service"] = "api \"edge\"\n\tv2";
  report.labels["team"] = "\xC3\xA9quipe \xF0\x9F\x9A\x80";
  report.labels["raw"] = std::string("a\x01z\\");
  report.annotations["summary"] = "Disk \"full\"";
  std::vector<IncomingAlert> alerts = {PrepareAlert(report, grouping_, clock_.Now())};
  auto summary = a_->store.ReportAlerts(alerts, clock_.Now());
  ASSERT_THAT(summary, IsOk());
  const std::string id = summary->incident_ids[0];
  auto detail = a_->store.GetIncident(id);
  ASSERT_THAT(detail, IsOk());

  auto incidents = b_->source.Incidents({{"acme", id}});
  ASSERT_THAT(incidents, IsOk());
  ASSERT_EQ(incidents->size(), 1u);
  EXPECT_EQ((*incidents)[0], detail->incident);
  for (const auto& [name, value] : report.labels) {
    EXPECT_THAT((*incidents)[0].labels, Contains(Pair(name, value)));
  }
  EXPECT_EQ((*incidents)[0].title, "Disk \"full\"");

  auto last = b_->source.LastEntryId();
  ASSERT_THAT(last, IsOk());
  auto entries = b_->source.EntriesAfter(0, *last, 100);
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), detail->timeline.size());
  for (size_t i = 0; i < entries->size(); ++i) {
    const TimelineEntry& read = (*entries)[i].entry;
    EXPECT_EQ(read.incident_id, id);
    EXPECT_EQ(read.kind, detail->timeline[i].kind);
    EXPECT_EQ(read.text, detail->timeline[i].text);
    EXPECT_EQ(read.time, detail->timeline[i].time);
    EXPECT_EQ(read.details, detail->timeline[i].details);
  }
  ASSERT_EQ(entries->back().entry.kind, "alert_firing");
  EXPECT_THAT(entries->back().entry.details, Contains(Pair("alertname", "Disk \"full\" on C:\\")));
  EXPECT_THAT(entries->back().entry.details, Contains(Pair("fingerprint", "f\"1")));
}

TEST_F(PgWatchTest, AnOlderIdCommittingLateIsDeliveredOnce) {
  const std::string id = Open("f1");
  auto watch = b_->watcher.Add(WatchSpec(), &sink_);
  ASSERT_THAT(b_->watcher.PollOnce(), IsOk());
  Drain(*watch);

  constexpr char kInsert[] =
      "INSERT INTO incident.timeline (tenant_id, incident_id, entry_time, actor, kind, "
      "entry_text) VALUES ('acme', $1, now(), 'bob', $2, $2) RETURNING entry_id";
  pqxx::connection slow_connection(db_.dsn());
  pqxx::work slow(slow_connection);
  const int64_t slow_id = slow.exec_params1(kInsert, id, "slow").at(0).as<int64_t>();
  int64_t fast_id = 0;
  {
    pqxx::connection connection(db_.dsn());
    pqxx::work fast(connection);
    fast_id = fast.exec_params1(kInsert, id, "fast").at(0).as<int64_t>();
    fast.commit();
  }
  ASSERT_LT(slow_id, fast_id);
  ASSERT_THAT(b_->watcher.PollOnce(), IsOk());
  std::vector<v1::IncidentEvent> first = Drain(*watch);
  ASSERT_THAT(Kinds(first), ElementsAre("fast"));
  EXPECT_EQ(first[0].cursor(), EncodeWatchCursor(slow_id - 1));
  slow.commit();
  ASSERT_THAT(b_->watcher.PollOnce(), IsOk());
  std::vector<v1::IncidentEvent> late = Drain(*watch);
  ASSERT_THAT(Kinds(late), ElementsAre("slow"));
  EXPECT_EQ(late[0].entry_id(), slow_id);
  ASSERT_THAT(b_->watcher.PollOnce(), IsOk());
  EXPECT_THAT(Drain(*watch), IsEmpty());
  b_->watcher.Stop();
  a_->watcher.Stop();
}

TEST_F(PgWatchTest, SnapshotThenLiveChanges) {
  const std::string open_id = Open("f1");
  const std::string closed_id = Open("f2");
  Step(closed_id, IncidentStatus::kResolved);
  WatchSpec spec;
  spec.send_initial = true;
  auto watch = b_->watcher.Add(spec, &sink_);
  ASSERT_THAT(b_->watcher.PollOnce(), IsOk());
  std::vector<v1::IncidentEvent> snapshot = Drain(*watch);
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].type(), v1::INCIDENT_EVENT_TYPE_SNAPSHOT);
  EXPECT_EQ(snapshot[0].incident().id(), open_id);
  Step(open_id, IncidentStatus::kAcknowledged);
  ASSERT_THAT(b_->watcher.PollOnce(), IsOk());
  EXPECT_THAT(Kinds(Drain(*watch)), ElementsAre("acknowledged"));
  b_->watcher.Stop();
  a_->watcher.Stop();
}

}  // namespace
}  // namespace agentwatch::incident
