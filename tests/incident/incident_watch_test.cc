// WatchIncidents: the shared poller's fan-out over a fake timeline (filters,
// order, ids committing out of order within and beyond the lag window,
// bounded queues, cancel, stop, snapshot, resume) with a FakeClock and
// PollOnce(), and the streaming RPC through a real in-process gRPC server
// (authorization, validation naming the field, live events, cancel).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/rpc.h"
#include "common/status_macros.h"
#include "common/testing/status_matchers.h"
#include "incident/api/incident_metrics.h"
#include "incident/api/incident_service.h"
#include "incident/api/incident_watcher.h"
#include "incident/store/memory_incident_store.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A timeline whose ids are handed out first and committed later, in any
// order, like bigserial under concurrent transactions.
class FakeSource final : public WatchSource {
 public:
  // Hands out the next id for an entry of `incident` (uncommitted).
  int64_t Allocate(const std::string& tenant, const std::string& incident,
                   const std::string& kind) {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t id = ++last_;
    WatchEntry e;
    e.entry_id = id;
    e.entry.tenant = tenant;
    e.entry.incident_id = incident;
    e.entry.kind = kind;
    e.entry.actor = "tester";
    e.entry.text = absl::StrCat(kind, " ", id);
    e.entry.time = absl::FromUnixSeconds(1'700'000'000 + id);
    pending_[id] = e;
    return id;
  }
  void Commit(int64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    committed_[id] = pending_.at(id);
    pending_.erase(id);
  }
  void Rollback(int64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.erase(id);
  }
  int64_t Add(const std::string& tenant, const std::string& incident, const std::string& kind) {
    const int64_t id = Allocate(tenant, incident, kind);
    Commit(id);
    return id;
  }
  void Put(const Incident& incident) {
    std::lock_guard<std::mutex> lock(mu_);
    incidents_[{incident.tenant, incident.id}] = incident;
  }
  void FailNext() {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = true;
  }

  absl::StatusOr<int64_t> LastEntryId() override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(MaybeFail());
    return last_;
  }
  absl::StatusOr<std::vector<WatchEntry>> EntriesAfter(int64_t after, int64_t upto,
                                                       int limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(MaybeFail());
    std::vector<WatchEntry> out;
    for (auto it = committed_.upper_bound(after);
         it != committed_.end() && it->first <= upto && static_cast<int>(out.size()) < limit;
         ++it) {
      out.push_back(it->second);
    }
    return out;
  }
  absl::StatusOr<std::vector<WatchEntry>> EntriesIn(
      const std::vector<EntryIdRange>& ranges) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(MaybeFail());
    std::vector<WatchEntry> out;
    for (const auto& [id, e] : committed_) {
      for (const EntryIdRange& r : ranges) {
        if (id >= r.first && id <= r.last) out.push_back(e);
      }
    }
    return out;
  }
  absl::StatusOr<std::vector<Incident>> Incidents(const std::vector<IncidentKey>& keys) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(MaybeFail());
    std::vector<Incident> out;
    for (const IncidentKey& key : keys) {
      const auto it = incidents_.find(key);
      if (it != incidents_.end()) out.push_back(it->second);
    }
    return out;
  }
  absl::StatusOr<IncidentPage> ListIncidents(const IncidentQuery& query) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(MaybeFail());
    IncidentPage page;
    for (const auto& [key, incident] : incidents_) {
      if (!query.tenant.empty() && incident.tenant != query.tenant) continue;
      if (!IsOpen(incident.status)) continue;
      page.incidents.push_back(incident);
    }
    std::sort(page.incidents.begin(), page.incidents.end(), NewestFirst);
    return page;
  }

 private:
  absl::Status MaybeFail() {
    if (!fail_) return absl::OkStatus();
    fail_ = false;
    return absl::UnavailableError("database down");
  }

  std::mutex mu_;
  int64_t last_ = 0;
  bool fail_ = false;
  std::map<int64_t, WatchEntry> pending_;
  std::map<int64_t, WatchEntry> committed_;
  std::map<IncidentKey, Incident> incidents_;
};

Incident MakeIncident(const std::string& tenant, const std::string& id, Severity severity,
                      const std::string& service, absl::Time created) {
  Incident i;
  i.tenant = tenant;
  i.id = id;
  i.group_key = id;
  i.title = id;
  i.severity = severity;
  i.labels = {{"alertname", "Down"}, {"service", service}};
  i.create_time = created;
  i.update_time = created;
  i.start_time = created;
  return i;
}

// A sink that counts wake-ups.
class CountingSink final : public WatchSink {
 public:
  void Wake() override { ++wakes; }
  std::atomic<int> wakes{0};
};

struct Drained {
  bool joined = false;
  std::vector<v1::IncidentEvent> events;
  std::optional<absl::Status> end;
};

Drained Drain(Watch& watch) {
  Drained out;
  v1::IncidentEvent event;
  absl::Status end;
  while (true) {
    switch (watch.Pop(&event, &end)) {
      case Watch::Next::kNone:
        return out;
      case Watch::Next::kJoined:
        out.joined = true;
        break;
      case Watch::Next::kEvent:
        out.events.push_back(event);
        break;
      case Watch::Next::kEnded:
        out.end = end;
        return out;
    }
  }
}

std::vector<int64_t> Ids(const std::vector<v1::IncidentEvent>& events) {
  std::vector<int64_t> ids;
  for (const auto& e : events) ids.push_back(e.entry_id());
  return ids;
}

WatchSpec Spec(const std::string& tenant = "") {
  WatchSpec spec;
  spec.filter.tenant = tenant;
  return spec;
}

class WatcherTest : public ::testing::Test {
 protected:
  WatcherTest() : watcher_(source_, clock_, Options()) {
    source_.Put(MakeIncident("acme", "inc-1", Severity::kP1, "api", clock_.Now()));
    source_.Put(MakeIncident("acme", "inc-2", Severity::kP3, "db", clock_.Now()));
    source_.Put(MakeIncident("other", "inc-3", Severity::kP1, "api", clock_.Now()));
  }

  static IncidentWatcherOptions Options() {
    IncidentWatcherOptions options;
    options.queue_limit = 5;
    options.batch_size = 3;
    options.lag_window = absl::Seconds(10);
    return options;
  }

  common::FakeClock clock_;
  FakeSource source_;
  CountingSink sink_;  // outlives watcher_, which wakes it until destroyed
  IncidentWatcher watcher_;
};

TEST_F(WatcherTest, JoinsThenDeliversLaterChangesInIdOrderWithTypes) {
  source_.Add("acme", "inc-1", "created");  // before the watch: not delivered
  CountingSink& sink = sink_;
  auto watch = watcher_.Add(Spec(), &sink);
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  Drained first = Drain(*watch);
  EXPECT_TRUE(first.joined);
  EXPECT_THAT(first.events, IsEmpty());
  EXPECT_GE(sink.wakes.load(), 1);

  const int64_t a = source_.Add("acme", "inc-2", "created");
  const int64_t b = source_.Add("acme", "inc-1", "acknowledged");
  const int64_t c = source_.Add("other", "inc-3", "created");
  const int64_t d = source_.Add("acme", "inc-1", "note");  // more than one batch of 3
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  Drained got = Drain(*watch);
  EXPECT_FALSE(got.joined);
  ASSERT_THAT(Ids(got.events), ElementsAre(a, b, c, d));
  EXPECT_EQ(got.events[0].type(), v1::INCIDENT_EVENT_TYPE_CREATED);
  EXPECT_EQ(got.events[1].type(), v1::INCIDENT_EVENT_TYPE_UPDATED);
  EXPECT_EQ(got.events[1].entry().kind(), "acknowledged");
  EXPECT_EQ(got.events[1].incident().id(), "inc-1");
  EXPECT_EQ(got.events[1].incident().severity(), common::v1::SEVERITY_P1);
  EXPECT_EQ(got.events[2].incident().tenant(), "other");
  EXPECT_EQ(got.events[3].cursor(), EncodeWatchCursor(d));
  EXPECT_EQ(got.events[0].time().seconds(), 1'700'000'000 + a);
}

TEST_F(WatcherTest, FiltersOnTenantSeverityAndLabels) {
  CountingSink& sink = sink_;
  auto by_tenant = watcher_.Add(Spec("acme"), &sink);
  WatchSpec p1 = Spec();
  p1.filter.severities = {Severity::kP1};
  auto by_severity = watcher_.Add(p1, &sink);
  WatchSpec api = Spec();
  api.filter.matchers = {{"service", MatchOp::kRegex, "ap."}};
  auto by_label = watcher_.Add(api, &sink);
  WatchSpec not_api = Spec("acme");
  not_api.filter.matchers = {{"service", MatchOp::kNotEqual, "api"},
                             {"missing", MatchOp::kEqual, ""}};
  auto by_both = watcher_.Add(not_api, &sink);
  ASSERT_THAT(watcher_.PollOnce(), IsOk());

  const int64_t a = source_.Add("acme", "inc-1", "created");   // acme P1 api
  const int64_t b = source_.Add("acme", "inc-2", "created");   // acme P3 db
  const int64_t c = source_.Add("other", "inc-3", "created");  // other P1 api
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  EXPECT_THAT(Ids(Drain(*by_tenant).events), ElementsAre(a, b));
  EXPECT_THAT(Ids(Drain(*by_severity).events), ElementsAre(a, c));
  EXPECT_THAT(Ids(Drain(*by_label).events), ElementsAre(a, c));
  EXPECT_THAT(Ids(Drain(*by_both).events), ElementsAre(b));
}

TEST_F(WatcherTest, LateCommitWithinTheLagWindowIsDeliveredOnce) {
  CountingSink& sink = sink_;
  auto watch = watcher_.Add(Spec(), &sink);
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  Drain(*watch);

  const int64_t slow = source_.Allocate("acme", "inc-1", "note");
  const int64_t fast = source_.Add("acme", "inc-2", "note");
  const int64_t aborted = source_.Allocate("acme", "inc-2", "note");
  const int64_t after = source_.Add("acme", "inc-2", "note");
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  Drained first = Drain(*watch);
  ASSERT_THAT(Ids(first.events), ElementsAre(fast, after));
  // The cursor never passes the missing id: resuming from it redelivers.
  EXPECT_EQ(first.events[0].cursor(), EncodeWatchCursor(slow - 1));
  EXPECT_EQ(first.events[1].cursor(), EncodeWatchCursor(slow - 1));

  clock_.Advance(absl::Seconds(5));
  source_.Commit(slow);
  source_.Rollback(aborted);
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  Drained second = Drain(*watch);
  ASSERT_THAT(Ids(second.events), ElementsAre(slow));
  EXPECT_EQ(second.events[0].cursor(), EncodeWatchCursor(slow));  // `aborted` still open

  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  EXPECT_THAT(Drain(*watch).events, IsEmpty());  // once

  // Past the window the rolled back id is forgotten: the cursor moves on.
  clock_.Advance(absl::Seconds(6));
  const int64_t next = source_.Add("acme", "inc-1", "note");
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  Drained third = Drain(*watch);
  ASSERT_THAT(Ids(third.events), ElementsAre(next));
  EXPECT_EQ(third.events[0].cursor(), EncodeWatchCursor(next));
}

TEST_F(WatcherTest, CommitLaterThanTheLagWindowIsNotDeliveredLive) {
  CountingSink& sink = sink_;
  auto watch = watcher_.Add(Spec(), &sink);
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  const int64_t very_slow = source_.Allocate("acme", "inc-1", "note");
  const int64_t fast = source_.Add("acme", "inc-1", "note");
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  EXPECT_THAT(Ids(Drain(*watch).events), ElementsAre(fast));
  clock_.Advance(absl::Seconds(11));
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  source_.Commit(very_slow);
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  EXPECT_THAT(Drain(*watch).events, IsEmpty());
}

TEST_F(WatcherTest, IdsInFlightAtTheFirstPollAreDeliveredWhenTheyCommit) {
  const int64_t before = source_.Add("acme", "inc-1", "created");
  const int64_t in_flight = source_.Allocate("acme", "inc-1", "note");
  CountingSink& sink = sink_;
  auto watch = watcher_.Add(Spec(), &sink);
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  EXPECT_THAT(Drain(*watch).events, IsEmpty());
  source_.Commit(in_flight);
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  EXPECT_THAT(Ids(Drain(*watch).events), ElementsAre(in_flight));
  EXPECT_LT(before, in_flight);
}

TEST_F(WatcherTest, FullQueueEndsTheWatchWithResourceExhaustedAndItsCursor) {
  CountingSink& sink = sink_;
  auto slow = watcher_.Add(Spec(), &sink);
  auto fast = watcher_.Add(Spec(), &sink);
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  Drain(*slow);
  Drain(*fast);
  const int64_t first = source_.Add("acme", "inc-1", "note");
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  v1::IncidentEvent event;
  absl::Status end;
  ASSERT_EQ(slow->Pop(&event, &end), Watch::Next::kEvent);  // the client took one
  EXPECT_EQ(event.entry_id(), first);
  EXPECT_EQ(Drain(*fast).events.size(), 1u);

  for (int i = 0; i < 4; ++i) source_.Add("acme", "inc-1", "note");
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  EXPECT_EQ(slow->queued(), 4u);
  EXPECT_EQ(Drain(*fast).events.size(), 4u);
  for (int i = 0; i < 2; ++i) source_.Add("acme", "inc-1", "note");  // limit is 5
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  Drained ended = Drain(*slow);
  EXPECT_THAT(ended.events, IsEmpty());  // dropped: the client resumes
  ASSERT_TRUE(ended.end.has_value());
  EXPECT_THAT(*ended.end,
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr(absl::StrCat("watcher fell behind; resume with cursor ",
                                              EncodeWatchCursor(first)))));
  // The other watch is not held back, and the slow one is gone.
  EXPECT_EQ(Drain(*fast).events.size(), 2u);
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  EXPECT_EQ(watcher_.watch_count(), 1u);
  const int64_t more = source_.Add("acme", "inc-1", "note");
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  EXPECT_THAT(Ids(Drain(*fast).events), ElementsAre(more));
}

TEST_F(WatcherTest, ResumeCatchesUpFromTheCursorThenGoesLive) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(source_.Add("acme", "inc-1", "note"));
  CountingSink& sink = sink_;
  auto other = watcher_.Add(Spec(), &sink);  // the poller is at the head
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  WatchSpec spec = Spec();
  ASSERT_THAT(DecodeWatchCursor(EncodeWatchCursor(ids[1]), "resume_cursor"),
              ::agentwatch::testing::IsOkAndHolds(ids[1]));
  spec.resume_after = ids[1];
  spec.send_initial = true;  // ignored with a cursor
  auto resumed = watcher_.Add(spec, &sink);
  std::vector<int64_t> got;
  bool joined = false;
  for (int poll = 0; poll < 4; ++poll) {  // batches of at most limit/2 + 1
    ASSERT_THAT(watcher_.PollOnce(), IsOk());
    Drained d = Drain(*resumed);
    joined = joined || d.joined;
    for (const auto& e : d.events) {
      EXPECT_NE(e.type(), v1::INCIDENT_EVENT_TYPE_SNAPSHOT);
      got.push_back(e.entry_id());
    }
  }
  EXPECT_TRUE(joined);
  EXPECT_EQ(got, std::vector<int64_t>(ids.begin() + 2, ids.end()));
  const int64_t live = source_.Add("acme", "inc-2", "created");
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  EXPECT_THAT(Ids(Drain(*resumed).events), ElementsAre(live));
}

TEST_F(WatcherTest, ResumeFarBackReadsBoundedWindowsUntilItIsLive) {
  const int64_t first = source_.Add("acme", "inc-2", "created");
  for (int i = 0; i < 200; ++i) source_.Add("acme", "inc-1", "note");
  const int64_t rare = source_.Add("acme", "inc-2", "acknowledged");
  WatchSpec spec = Spec();
  spec.filter.severities = {Severity::kP3};  // inc-2 only
  spec.resume_after = 0;
  auto watch = watcher_.Add(spec, &sink_);
  std::vector<int64_t> got;
  for (int poll = 0; poll < 5; ++poll) {  // up to 20 reads of 3 a poll
    ASSERT_THAT(watcher_.PollOnce(), IsOk());
    for (const auto& e : Drain(*watch).events) got.push_back(e.entry_id());
  }
  EXPECT_THAT(got, ElementsAre(first, rare));
  const int64_t live = source_.Add("acme", "inc-2", "note");
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  EXPECT_THAT(Ids(Drain(*watch).events), ElementsAre(live));
}

TEST_F(WatcherTest, SnapshotComesFirstThenChangesWithoutAGap) {
  Incident closed = MakeIncident("acme", "inc-9", Severity::kP1, "api", clock_.Now());
  closed.status = IncidentStatus::kClosed;
  source_.Put(closed);
  CountingSink& sink = sink_;
  WatchSpec spec = Spec("acme");
  spec.send_initial = true;
  auto watch = watcher_.Add(spec, &sink);
  const int64_t during = source_.Add("acme", "inc-1", "note");  // before the first poll
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  Drained got = Drain(*watch);
  EXPECT_TRUE(got.joined);
  ASSERT_EQ(got.events.size(), 2u);  // inc-1, inc-2 open; inc-9 closed; "other" filtered
  for (const auto& e : got.events) {
    EXPECT_EQ(e.type(), v1::INCIDENT_EVENT_TYPE_SNAPSHOT);
    EXPECT_EQ(e.entry_id(), 0);
    EXPECT_FALSE(e.has_entry());
  }
  const int64_t after = source_.Add("acme", "inc-2", "acknowledged");
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  EXPECT_THAT(Ids(Drain(*watch).events), ElementsAre(after));
  EXPECT_LT(during, after);
}

TEST_F(WatcherTest, SnapshotIsNotBoundedByTheQueueLimit) {
  for (int i = 0; i < 8; ++i) {
    source_.Put(MakeIncident("big", absl::StrCat("inc-b", i), Severity::kP2, "x", clock_.Now()));
  }
  CountingSink& sink = sink_;
  WatchSpec spec = Spec("big");
  spec.send_initial = true;
  auto watch = watcher_.Add(spec, &sink);
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  Drained got = Drain(*watch);
  EXPECT_EQ(got.events.size(), 8u);
  EXPECT_FALSE(got.end.has_value());
}

TEST_F(WatcherTest, RemoveCancelsAndStopEndsWithUnavailable) {
  CountingSink& sink = sink_;
  auto cancelled = watcher_.Add(Spec(), &sink);
  auto open = watcher_.Add(Spec(), &sink);
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  Drain(*open);
  const int64_t id = source_.Add("acme", "inc-1", "note");
  watcher_.Remove(cancelled);
  EXPECT_EQ(watcher_.watch_count(), 1u);
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  Drained gone = Drain(*cancelled);
  ASSERT_TRUE(gone.end.has_value());
  EXPECT_THAT(*gone.end, StatusIs(absl::StatusCode::kCancelled));
  ASSERT_EQ(Drain(*open).events.size(), 1u);

  const int wakes = sink.wakes.load();
  watcher_.Stop();
  EXPECT_GT(sink.wakes.load(), wakes);
  Drained stopped = Drain(*open);
  ASSERT_TRUE(stopped.end.has_value());
  EXPECT_THAT(*stopped.end,
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat("resume with cursor ", EncodeWatchCursor(id)))));
  auto late = watcher_.Add(Spec(), &sink);
  Drained refused = Drain(*late);
  ASSERT_TRUE(refused.end.has_value());
  EXPECT_THAT(*refused.end, StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(WatcherTest, AFailedPollLosesNothing) {
  CountingSink& sink = sink_;
  auto watch = watcher_.Add(Spec(), &sink);
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  const int64_t a = source_.Add("acme", "inc-1", "note");
  source_.FailNext();
  EXPECT_THAT(watcher_.PollOnce(), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(watcher_.PollOnce(), IsOk());
  EXPECT_THAT(Ids(Drain(*watch).events), ElementsAre(a));
}

TEST_F(WatcherTest, NoWatchesNoReads) {
  source_.FailNext();  // would fail the first read
  EXPECT_THAT(watcher_.PollOnce(), IsOk());
  CountingSink& sink = sink_;
  auto watch = watcher_.Add(Spec(), &sink);
  EXPECT_THAT(watcher_.PollOnce(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(WatcherTest, ServingTurningFalseEndsEveryWatch) {
  bool serving = true;
  IncidentWatcher watcher(source_, clock_, Options(), [&serving] { return serving; });
  CountingSink sink;
  auto watch = watcher.Add(Spec(), &sink);
  ASSERT_THAT(watcher.PollOnce(), IsOk());
  EXPECT_TRUE(Drain(*watch).joined);
  serving = false;
  ASSERT_THAT(watcher.PollOnce(), IsOk());
  Drained ended = Drain(*watch);
  ASSERT_TRUE(ended.end.has_value());
  EXPECT_THAT(*ended.end, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("resume with")));
}

TEST(WatchSpecTest, ValidationNamesTheField) {
  v1::WatchIncidentsRequest request;
  request.add_severities(static_cast<common::v1::Severity>(9));
  EXPECT_THAT(WatchSpecFromProto(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("severities[0]")));
  request.clear_severities();
  auto* m = request.add_matchers();
  m->set_name("service");
  m->set_op(common::v1::MATCH_OP_REGEX);
  m->set_value("(");
  EXPECT_THAT(WatchSpecFromProto(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("matchers[0].value")));
  m->set_value("api|db");
  m->set_name("");
  EXPECT_THAT(WatchSpecFromProto(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("matchers[0].name")));
  m->set_name("service");
  for (const char* bad : {"12", "e", "e-1", "e+1", "e 1", "e99999999999999999999"}) {
    request.set_resume_cursor(bad);
    EXPECT_THAT(WatchSpecFromProto(request),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("resume_cursor")))
        << bad;
  }
  request.set_resume_cursor("e42");
  request.set_tenant("acme");
  auto spec = WatchSpecFromProto(request);
  ASSERT_THAT(spec.status(), IsOk());
  EXPECT_EQ(spec->resume_after, 42);
  EXPECT_EQ(spec->filter.tenant, "acme");
  ASSERT_EQ(spec->filter.matchers.size(), 1u);
  EXPECT_EQ(EventTypeOfKind("created"), v1::INCIDENT_EVENT_TYPE_CREATED);
  EXPECT_EQ(EventTypeOfKind("resolved"), v1::INCIDENT_EVENT_TYPE_UPDATED);
}

// The RPC through a real in-process server; the poller thread runs.
class WatchRpcTest : public ::testing::Test {
 protected:
  WatchRpcTest()
      : authorizer_(std::map<std::string, common::Role>{{"viewer-token", common::Role::kViewer}}),
        executor_(std::make_unique<common::BlockingExecutor>(4, 100)),
        rpc_(authorizer_, *executor_),
        metrics_(registry_, "agentwatch_incident"),
        store_(ids_),
        service_(store_, rpc_, clock_, metrics_, *ParseGroupBy("group_by", "alertname")),
        watcher_(source_, clock_, RpcOptions()) {
    source_.Put(MakeIncident("acme", "inc-1", Severity::kP1, "api", clock_.Now()));
    service_.SetWatcher(&watcher_);
    watcher_.Start();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::IncidentService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  ~WatchRpcTest() override {
    watcher_.Stop();
    server_->Shutdown();
    executor_.reset();
  }
  static IncidentWatcherOptions RpcOptions() {
    IncidentWatcherOptions options;
    options.poll_interval = absl::Milliseconds(5);
    return options;
  }

  common::FakeClock clock_;
  common::Authorizer authorizer_;
  std::unique_ptr<common::BlockingExecutor> executor_;
  common::RpcRunner rpc_;
  prometheus::Registry registry_;
  IncidentMetrics metrics_;
  testing::SequentialIds ids_;
  MemoryIncidentStore store_;
  IncidentServiceImpl service_;
  FakeSource source_;
  IncidentWatcher watcher_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::IncidentService::Stub> stub_;
};

TEST_F(WatchRpcTest, RefusesWithoutAViewerTokenAndValidates) {
  {
    grpc::ClientContext context;
    auto reader = stub_->WatchIncidents(&context, v1::WatchIncidentsRequest());
    v1::IncidentEvent event;
    EXPECT_FALSE(reader->Read(&event));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer viewer-token");
  v1::WatchIncidentsRequest request;
  request.set_resume_cursor("bogus");
  auto reader = stub_->WatchIncidents(&context, request);
  v1::IncidentEvent event;
  EXPECT_FALSE(reader->Read(&event));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("resume_cursor"));
}

TEST_F(WatchRpcTest, StreamsChangesAndEndsOnCancel) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer viewer-token");
  v1::WatchIncidentsRequest request;
  request.set_tenant("acme");
  request.set_send_initial(true);
  auto reader = stub_->WatchIncidents(&context, request);
  reader->WaitForInitialMetadata();  // live from here on
  v1::IncidentEvent event;
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.type(), v1::INCIDENT_EVENT_TYPE_SNAPSHOT);
  EXPECT_EQ(event.incident().id(), "inc-1");
  const int64_t id = source_.Add("acme", "inc-1", "acknowledged");
  source_.Add("other", "inc-3", "created");  // filtered out (and unknown)
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.entry_id(), id);
  EXPECT_EQ(event.type(), v1::INCIDENT_EVENT_TYPE_UPDATED);
  EXPECT_EQ(event.cursor(), EncodeWatchCursor(id));
  EXPECT_EQ(watcher_.watch_count(), 1u);
  context.TryCancel();
  EXPECT_FALSE(reader->Read(&event));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The server side lets go of the watch (OnCancel / OnDone).
  for (int i = 0; i < 2000 && watcher_.watch_count() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(watcher_.watch_count(), 0u);
}

TEST_F(WatchRpcTest, StopEndsOpenStreamsWithUnavailableAndACursor) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer viewer-token");
  auto reader = stub_->WatchIncidents(&context, v1::WatchIncidentsRequest());
  reader->WaitForInitialMetadata();
  watcher_.Stop();
  v1::IncidentEvent event;
  EXPECT_FALSE(reader->Read(&event));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("resume with cursor e"));
}

}  // namespace
}  // namespace agentwatch::incident
