// Integration tests of the periodic recompute against the real Postgres:
// two job runners (each with its own connection pool, as two replicas) on
// the same database never compute a resource twice; results are stored;
// breach alerts are enqueued once when predicted and resolved once when no
// longer predicted; a dead runner's claims come back after the lease.
#include "capacity/jobs/recompute_job.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <cmath>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agentwatch/capacity/v1/capacity.pb.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "capacity/history/fake_history_source.h"
#include "capacity/store/migrations.h"
#include "capacity/store/pg_recompute_store.h"
#include "capacity/store/pg_resource_store.h"
#include "common/clock.h"
#include "common/pg.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"

namespace agentwatch::capacity {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

common::PgPoolOptions PoolOptions(const std::string& dsn) {
  common::PgPoolOptions options;
  options.dsn = dsn;
  options.size = 3;
  return options;
}

// Five-minute gauge points over the week before `now` with a daily cycle
// between 50 and 150.
HistorySeries Daily(absl::Time now, double scale) {
  HistorySeries series;
  const absl::Time end = absl::UnixEpoch() + absl::Floor(now - absl::UnixEpoch(), absl::Minutes(5));
  for (absl::Time t = end - absl::Hours(24 * 7); t < end; t += absl::Minutes(5)) {
    const double hour = static_cast<double>(absl::ToUnixSeconds(t) % 86400) / 3600;
    series.points.push_back({t, scale * (100 + 50 * std::sin(2 * M_PI * hour / 24))});
  }
  return series;
}

Resource Sample(const std::string& name, double current) {
  Resource r;
  r.tenant = "acme";
  r.name = name;
  r.kind = ResourceKind::kReplicas;
  r.metric = "agent_inflight_requests";
  r.per_unit_capacity = 10;
  r.target_utilization = 0.5;
  r.current = current;
  r.min = 1;
  r.max = 100;
  r.alert_horizon = absl::Hours(24);
  return r;
}

double Counter(prometheus::Registry& registry, const std::string& name, const std::string& value) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      for (const prometheus::ClientMetric::Label& label : metric.label) {
        if (label.value == value) return metric.counter.value;
      }
    }
  }
  return 0;
}

// One replica: its own pool, stores and job.
struct Runner {
  Runner(const std::string& dsn, HistorySource& history, const common::Clock& clock,
         const std::string& id)
      : pool(PoolOptions(dsn)), resources(pool), store(pool) {
    RecomputeOptions options;
    options.runner_id = id;
    options.interval = absl::Minutes(15);
    options.lease = absl::Minutes(5);
    options.batch = 2;
    job = std::make_unique<RecomputeJob>(
        store, resources, history, clock, options, [this] { ++alerts; }, &metrics);
  }
  prometheus::Registry registry;
  CapacityMetrics metrics{registry};
  common::PgPool pool;
  PgResourceStore resources;
  PgRecomputeStore store;
  std::unique_ptr<RecomputeJob> job;
  std::atomic<int> alerts{0};
};

class RecomputeJobTest : public ::testing::Test {
 protected:
  RecomputeJobTest()
      : pool_(PoolOptions(db_.dsn())), resources_(pool_), store_(pool_), clock_(kNow) {}
  void SetUp() override {
    ASSERT_THAT(common::ApplyMigrations(pool_, "capacity", Migrations()), IsOk());
  }

  // Outbox entries as (status, fingerprint).
  std::vector<std::pair<int, std::string>> Outbox() {
    pqxx::connection conn(db_.dsn());
    pqxx::work txn(conn);
    std::vector<std::pair<int, std::string>> out;
    for (const pqxx::row& row :
         txn.exec("SELECT payload FROM capacity.outbox WHERE destination = 'incident.ReportAlerts' "
                  "ORDER BY id")) {
      incident::v1::Alert alert;
      EXPECT_TRUE(alert.ParseFromString(pqxx::binarystring(row[0]).str()));
      out.emplace_back(alert.status(), alert.fingerprint());
    }
    return out;
  }

  agentwatch::testing::TestDatabase db_;
  common::PgPool pool_;
  PgResourceStore resources_;
  PgRecomputeStore store_;
  common::FakeClock clock_;
  FakeHistorySource history_;
};

TEST_F(RecomputeJobTest, TwoRunnersNeverComputeAResourceTwice) {
  history_.SetSeries({Daily(kNow, 1.0)});
  std::vector<Resource> created;
  for (int i = 0; i < 12; ++i) {
    // Even ones have capacity 200 (no breach), odd ones 40 (breach).
    auto r = resources_.CreateResource(Sample(absl::StrCat("r", i), i % 2 == 0 ? 20 : 4), "", kNow);
    ASSERT_THAT(r, IsOk());
    created.push_back(*r);
  }
  Runner a(db_.dsn(), history_, clock_, "runner-a");
  Runner b(db_.dsn(), history_, clock_, "runner-b");
  std::atomic<int> claimed{0};
  const auto drain = [&claimed](Runner& runner) {
    while (true) {
      const absl::StatusOr<int> n = runner.job->RunOnce();
      ASSERT_THAT(n, IsOk());
      if (*n == 0) return;
      claimed += *n;
    }
  };
  std::thread ta([&] { drain(a); });
  std::thread tb([&] { drain(b); });
  ta.join();
  tb.join();
  EXPECT_EQ(claimed.load(), 12);
  for (const Resource& r : created) {
    const absl::StatusOr<RecomputeState> state = store_.GetState(r.tenant, r.id);
    ASSERT_THAT(state, IsOk());
    EXPECT_EQ(state->runs, 1) << r.name;
    EXPECT_TRUE(state->computed_by == "runner-a" || state->computed_by == "runner-b");
    EXPECT_EQ(state->error, "");
    EXPECT_FALSE(state->model.empty());
    v1::GetRecommendationsResponse recs;
    ASSERT_TRUE(recs.ParseFromString(state->recommendations));
    EXPECT_GT(recs.recommendations_size(), 0);
    EXPECT_EQ(recs.recommendations(0).resource(), r.id);
    const bool breach = r.current == 4;
    EXPECT_EQ(state->breach_firing, breach) << r.name;
    EXPECT_EQ(state->breach_time.has_value(), breach) << r.name;
  }
  // One firing alert per breaching resource, none for the others.
  const auto outbox = Outbox();
  EXPECT_EQ(outbox.size(), 6u);
  for (const auto& [status, fingerprint] : outbox) {
    EXPECT_EQ(status, incident::v1::ALERT_STATUS_FIRING);
  }
  EXPECT_GT(a.alerts + b.alerts, 0);
  // Nothing is due until the interval has passed.
  EXPECT_THAT(a.job->RunOnce(), IsOkAndHolds(0));
  clock_.Advance(absl::Minutes(15));
  EXPECT_THAT(b.job->RunOnce(), IsOkAndHolds(2));
}

TEST_F(RecomputeJobTest, FiresOnceAndResolvesOnce) {
  auto r = resources_.CreateResource(Sample("planner", 4), "", kNow);
  ASSERT_THAT(r, IsOk());
  Runner runner(db_.dsn(), history_, clock_, "runner");
  history_.SetSeries({Daily(kNow, 1.0)});
  ASSERT_THAT(runner.job->RunOnce(), IsOkAndHolds(1));
  clock_.Advance(absl::Minutes(15));
  history_.SetSeries({Daily(clock_.Now(), 1.0)});
  ASSERT_THAT(runner.job->RunOnce(), IsOkAndHolds(1));  // still predicted: nothing new
  EXPECT_EQ(Outbox().size(), 1u);
  // Demand falls to a fifth: capacity 40 is no longer crossed.
  clock_.Advance(absl::Minutes(15));
  history_.SetSeries({Daily(clock_.Now(), 0.2)});
  ASSERT_THAT(runner.job->RunOnce(), IsOkAndHolds(1));
  const auto outbox = Outbox();
  ASSERT_EQ(outbox.size(), 2u);
  EXPECT_EQ(outbox[0].first, incident::v1::ALERT_STATUS_FIRING);
  EXPECT_EQ(outbox[1].first, incident::v1::ALERT_STATUS_RESOLVED);
  EXPECT_EQ(outbox[0].second, absl::StrCat("capacity-breach/acme/", r->id));
  EXPECT_EQ(outbox[1].second, outbox[0].second);
  EXPECT_EQ(Counter(runner.registry, "agentwatch_capacity_breach_alerts_total", "firing"), 1);
  EXPECT_EQ(Counter(runner.registry, "agentwatch_capacity_breach_alerts_total", "resolved"), 1);
  EXPECT_EQ(Counter(runner.registry, "agentwatch_capacity_recomputes_total", "ok"), 3);
  const absl::StatusOr<RecomputeState> state = store_.GetState("acme", r->id);
  ASSERT_THAT(state, IsOk());
  EXPECT_FALSE(state->breach_firing);
  EXPECT_EQ(state->runs, 3);

  // Monitor down: the error is stored, the alert state is kept.
  clock_.Advance(absl::Minutes(15));
  history_.SetError(absl::UnavailableError("monitor down"));
  ASSERT_THAT(runner.job->RunOnce(), IsOkAndHolds(1));
  EXPECT_THAT(store_.GetState("acme", r->id)->error, ::testing::HasSubstr("monitor down"));
  EXPECT_EQ(Outbox().size(), 2u);
  EXPECT_EQ(Counter(runner.registry, "agentwatch_capacity_recomputes_total", "error"), 1);
}

TEST_F(RecomputeJobTest, ADeadRunnersClaimsReturnAfterTheLease) {
  auto r = resources_.CreateResource(Sample("planner", 20), "", kNow);
  ASSERT_THAT(r, IsOk());
  history_.SetSeries({Daily(kNow, 1.0)});
  // Runner "dead" claims and never saves.
  ASSERT_THAT(store_.ClaimDue(kNow, absl::Minutes(5), 10, "dead"),
              IsOkAndHolds(::testing::ElementsAre(r->id)));
  Runner live(db_.dsn(), history_, clock_, "live");
  EXPECT_THAT(live.job->RunOnce(), IsOkAndHolds(0));
  clock_.Advance(absl::Minutes(5));
  EXPECT_THAT(live.job->RunOnce(), IsOkAndHolds(1));
  EXPECT_EQ(store_.GetState("acme", r->id)->computed_by, "live");
  // A deleted resource's schedule goes with it.
  ASSERT_THAT(resources_.DeleteResource(r->id), IsOk());
  EXPECT_EQ(store_.GetState("acme", r->id).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace agentwatch::capacity
