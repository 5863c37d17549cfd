// The SLA store and breach tracker against the real Postgres
// (AGENTWATCH_TEST_PG_DSN): policy versions, candidates paging, breaches
// recorded exactly once by two replicas racing (each its own pool, stores and
// tracker), a locked incident skipped, breach counts for GetStats and the
// escalation policy of an incident.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/clock.h"
#include "common/pg.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "incident/api/sla_mapping.h"
#include "incident/api/sla_tracker.h"
#include "incident/core/grouping.h"
#include "incident/core/intake.h"
#include "incident/store/migrations.h"
#include "incident/store/pg_incident_store.h"
#include "incident/store/pg_sla_store.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::testing::ElementsAre;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixMicros(1'700'000'000'123'456);

common::PgPoolOptions PoolOptions(const std::string& dsn) {
  common::PgPoolOptions options;
  options.dsn = dsn;
  options.size = 4;
  return options;
}

struct Replica {
  Replica(const std::string& dsn, IdGenerator& ids, const common::Clock& clock)
      : pool(PoolOptions(dsn)),
        store(pool, ids),
        sla(pool),
        tracker(sla, clock, absl::Seconds(1)) {}
  common::PgPool pool;
  PgIncidentStore store;
  PgSlaStore sla;
  SlaTracker tracker;
};

class PgSlaTest : public ::testing::Test {
 protected:
  PgSlaTest() : clock_(kT0) {
    {
      common::PgPool pool(PoolOptions(db_.dsn()));
      EXPECT_THAT(common::ApplyMigrations(pool, "incident", Migrations()), IsOk());
    }
    a_ = std::make_unique<Replica>(db_.dsn(), ids_, clock_);
    b_ = std::make_unique<Replica>(db_.dsn(), ids_, clock_);
  }

  std::string Open(const std::string& fingerprint, Severity severity,
                   const std::string& tenant = "acme") {
    AlertReport report = testing::Firing(tenant, fingerprint, "Alert" + fingerprint, clock_.Now());
    report.severity = severity;
    report.labels["service"] = "svc-" + fingerprint.substr(0, 1);
    std::vector<IncomingAlert> alerts = {PrepareAlert(report, grouping_, clock_.Now())};
    auto summary = a_->store.ReportAlerts(alerts, clock_.Now());
    EXPECT_THAT(summary, IsOk());
    return summary.ok() ? summary->incident_ids[0] : "";
  }

  int64_t Count(const std::string& sql) {
    pqxx::connection connection(db_.dsn());
    pqxx::work txn(connection);
    return txn.exec1(sql)[0].as<int64_t>();
  }

  SlaPolicyRecord Record(const std::string& tenant, absl::Time at, const std::string& body) {
    SlaPolicyRecord record;
    record.tenant = tenant;
    record.update_time = at;
    record.body = body;
    return record;
  }

  agentwatch::testing::TestDatabase db_;
  common::FakeClock clock_;
  testing::SequentialIds ids_;
  GroupingConfig grouping_ = *ParseGroupBy("group_by", "alertname");
  std::unique_ptr<Replica> a_;
  std::unique_ptr<Replica> b_;
};

TEST_F(PgSlaTest, PolicyVersionsAreStrictlyOrdered) {
  const std::string binary("\x00\x01\xff body", 9);
  EXPECT_THAT(a_->sla.PutSlaPolicy(Record("acme", kT0, binary)), IsOk());
  // Same time from another replica: stored 1 µs later.
  auto second = b_->sla.PutSlaPolicy(Record("acme", kT0, "v2"));
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->update_time, kT0 + absl::Microseconds(1));
  // An earlier clock also lands after the latest version.
  auto third = a_->sla.PutSlaPolicy(Record("acme", kT0 - absl::Hours(1), "v3"));
  ASSERT_THAT(third, IsOk());
  EXPECT_EQ(third->update_time, kT0 + absl::Microseconds(2));
  EXPECT_THAT(a_->sla.PutSlaPolicy(Record("", kT0, "global")), IsOk());
  EXPECT_THAT(a_->sla.PutSlaPolicy(Record("other", kT0, "other")), IsOk());

  auto versions = b_->sla.ListSlaPolicyVersions({"acme", ""});
  ASSERT_THAT(versions, IsOk());
  std::vector<std::string> bodies;
  for (const SlaPolicyRecord& r : *versions) bodies.push_back(r.tenant + ":" + r.body);
  EXPECT_THAT(bodies, ElementsAre(":global", "acme:" + binary, "acme:v2", "acme:v3"));
}

TEST_F(PgSlaTest, CandidatesArePagedOpenIncidentsWithTheirBreaches) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Open(absl::StrCat("f", i), Severity::kP1));
  const std::string other = Open("g0", Severity::kP1, "beta");
  ASSERT_THAT(a_->store.MutateIncident(
                  ids[4], RequestKey{},
                  [&](const Incident& incident) {
                    return Transition(incident, IncidentStatus::kResolved, "alice", "",
                                      clock_.Now());
                  },
                  [](const IncidentChange&) { return std::string(); }),
              IsOk());
  clock_.Advance(absl::Minutes(31));
  ASSERT_THAT(a_->tracker.RunOnce(), IsOkAndHolds(5));  // 4 open of acme + beta's

  std::vector<std::string> seen;
  std::optional<SlaCandidateCursor> after;
  while (true) {
    auto page = b_->sla.ListSlaCandidates(after, 2);
    ASSERT_THAT(page, IsOk());
    for (const SlaCandidate& c : *page) {
      seen.push_back(c.subject.id);
      ASSERT_THAT(c.breaches, SizeIs(1));
      EXPECT_EQ(c.breaches[0].due_time, kT0 + absl::Minutes(30));
      EXPECT_EQ(c.breaches[0].detect_time, kT0 + absl::Minutes(31));
      EXPECT_EQ(c.breaches[0].kind, SlaTargetKind::kAcknowledge);
    }
    if (page->size() < 2) break;
    after = SlaCandidateCursor{page->back().subject.tenant, page->back().group_key};
  }
  EXPECT_THAT(seen, ElementsAre(ids[0], ids[1], ids[2], ids[3], other));
}

TEST_F(PgSlaTest, TwoReplicasRecordEachBreachExactlyOnce) {
  constexpr int kIncidents = 30;
  for (int i = 0; i < kIncidents; ++i) Open(absl::StrCat("f", i), Severity::kP0);
  clock_.Advance(absl::Minutes(16));
  std::atomic<int> recorded{0};
  for (int round = 0; round < 3; ++round) {
    std::vector<std::thread> threads;
    for (Replica* replica : {a_.get(), b_.get(), a_.get(), b_.get()}) {
      threads.emplace_back([&, replica] {
        absl::StatusOr<int> n = replica->tracker.RunOnce();
        EXPECT_THAT(n, IsOk());
        if (n.ok()) recorded += *n;
      });
    }
    for (std::thread& t : threads) t.join();
  }
  EXPECT_EQ(recorded.load(), kIncidents);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.sla_breaches"), kIncidents);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.timeline_entries WHERE kind = 'sla_breached'"),
            kIncidents);
  EXPECT_EQ(Count("SELECT count(DISTINCT incident_id) FROM incident.timeline_entries "
                  "WHERE kind = 'sla_breached'"),
            kIncidents);
}

TEST_F(PgSlaTest, ALockedIncidentIsSkippedAndDecidedLater) {
  const std::string id = Open("f1", Severity::kP0);
  clock_.Advance(absl::Minutes(20));
  {
    pqxx::connection connection(db_.dsn());
    pqxx::work holder(connection);
    holder.exec_params("SELECT 1 FROM incident.incidents WHERE id = $1 FOR UPDATE", id);
    EXPECT_THAT(a_->tracker.RunOnce(), IsOkAndHolds(0));
  }
  EXPECT_THAT(a_->tracker.RunOnce(), IsOkAndHolds(1));
  EXPECT_THAT(b_->tracker.RunOnce(), IsOkAndHolds(0));
}

TEST_F(PgSlaTest, AcknowledgedLateIsStillRecorded) {
  const std::string id = Open("f1", Severity::kP0);
  clock_.Advance(absl::Minutes(16));
  // Acknowledged after the deadline before any tracker looked.
  ASSERT_THAT(a_->store.MutateIncident(
                  id, RequestKey{},
                  [&](const Incident& incident) {
                    return Transition(incident, IncidentStatus::kAcknowledged, "alice", "",
                                      clock_.Now());
                  },
                  [](const IncidentChange&) { return std::string(); }),
              IsOk());
  clock_.Advance(absl::Minutes(1));
  EXPECT_THAT(b_->tracker.RunOnce(), IsOkAndHolds(1));
  auto info = a_->sla.GetIncidentSlaInfo({{"acme", id}});
  ASSERT_THAT(info, IsOk());
  ASSERT_EQ(info->count({"acme", id}), 1u);
  ASSERT_THAT(info->at({"acme", id}).breaches, SizeIs(1));
  EXPECT_EQ(info->at({"acme", id}).breaches[0].due_time, kT0 + absl::Minutes(15));
}

TEST_F(PgSlaTest, IncidentInfoAndStatsCounts) {
  const std::string p0 = Open("a1", Severity::kP0);
  const std::string p1 = Open("b1", Severity::kP1);
  const std::string p2 = Open("a2", Severity::kP2);
  {
    pqxx::connection connection(db_.dsn());
    pqxx::work txn(connection);
    txn.exec_params(
        "INSERT INTO incident.escalations (tenant_id, incident_id, policy_id, started_at) "
        "VALUES ('acme', $1, 'pol-7', now())",
        p2);
    txn.commit();
  }
  clock_.Advance(absl::Minutes(45));
  ASSERT_THAT(a_->tracker.RunOnce(), IsOkAndHolds(2));  // P0 and P1; P2 has 2 h

  auto info = b_->sla.GetIncidentSlaInfo({{"acme", p0}, {"acme", p2}, {"acme", "nope"}});
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->size(), 2u);
  EXPECT_THAT(info->at({"acme", p0}).breaches, SizeIs(1));
  EXPECT_EQ(info->at({"acme", p2}).escalation_policy_id, "pol-7");
  EXPECT_THAT(info->at({"acme", p2}).breaches, SizeIs(0));

  StatsQuery query;
  query.tenant = "acme";
  query.start = kT0 - absl::Hours(1);
  query.end = kT0 + absl::Hours(1);
  auto counts = b_->sla.CountSlaBreaches(query);
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->overall, 2);
  EXPECT_EQ(counts->by_severity.at(Severity::kP0), 1);
  EXPECT_EQ(counts->by_severity.at(Severity::kP1), 1);
  EXPECT_EQ(counts->by_severity.count(Severity::kP2), 0u);
  EXPECT_EQ(counts->by_service.at("svc-a"), 1);
  EXPECT_EQ(counts->by_service.at("svc-b"), 1);
  query.start = kT0 + absl::Minutes(1);
  counts = b_->sla.CountSlaBreaches(query);
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->overall, 0);

  // The API adds the fields from the same rows.
  v1::Incident incident;
  incident.set_tenant("acme");
  incident.set_id(p0);
  incident.set_severity(common::v1::SEVERITY_P0);
  incident.mutable_create_time()->set_seconds(absl::ToUnixSeconds(kT0));
  incident.mutable_create_time()->set_nanos(123'456'000);
  ASSERT_THAT(AddSlaFields(a_->sla, {&incident}), IsOk());
  EXPECT_TRUE(incident.sla_breached());
  EXPECT_EQ(incident.response_target().seconds(), 15 * 60);
}

}  // namespace
}  // namespace agentwatch::incident
