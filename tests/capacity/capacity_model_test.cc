// Unit tests of the capacity model's pure core: resource validation, the
// recommendation arithmetic (units, min/max, HPA tolerance and scale-down
// stabilization, scheduled scaling, vertical requests, over-provisioning),
// changepoint detection and usage patterns on synthetic series.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "absl/time/time.h"
#include "capacity/core/breach.h"
#include "capacity/core/changepoint.h"
#include "capacity/core/recommendation.h"
#include "capacity/core/resource.h"
#include "capacity/core/usage_patterns.h"
#include "common/testing/status_matchers.h"

namespace agentwatch::capacity {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Monday 2023-11-13 00:00 UTC.
const absl::Time kMonday = absl::FromUnixSeconds(1'699'833'600);

Resource ValidReplicas() {
  Resource r;
  r.tenant = "acme";
  r.id = "res-1";
  r.name = "planner-workers";
  r.kind = ResourceKind::kReplicas;
  r.metric = "workflow_runs_total";
  r.matchers = {{"workflow", MatchOp::kEqual, "triage"}};
  r.per_unit_capacity = 10;
  r.target_utilization = 0.5;
  r.current = 4;
  r.min = 2;
  r.max = 20;
  return r;
}

// --- Resource validation ----------------------------------------------------

TEST(ValidateResourceTest, AcceptsAValidResourceOfEveryKind) {
  Resource r = ValidReplicas();
  EXPECT_THAT(ValidateResource(r, "resource."), IsOk());
  r.kind = ResourceKind::kTokenQuotaTpm;
  r.current = 150'000.5;
  EXPECT_THAT(ValidateResource(r, "resource."), IsOk());
  r.kind = ResourceKind::kDbConnections;
  r.current = 50;
  EXPECT_THAT(ValidateResource(r, "resource."), IsOk());
}

TEST(ValidateResourceTest, NamesTheOffendingField) {
  struct Case {
    void (*mutate)(Resource&);
    const char* prefix;
  };
  const std::vector<Case> cases = {
      {[](Resource& r) { r.name = ""; }, "resource.name: must not be empty"},
      {[](Resource& r) { r.name = "-bad"; }, "resource.name: must match"},
      {[](Resource& r) { r.tenant = ""; }, "resource.tenant: must not be empty"},
      {[](Resource& r) { r.kind = ResourceKind::kUnspecified; }, "resource.kind: must be set"},
      {[](Resource& r) { r.metric = "9x"; }, "resource.metric: must match"},
      {[](Resource& r) { r.matchers[0].name = ""; }, "resource.matchers[0].name"},
      {[](Resource& r) { r.per_unit_capacity = 0; }, "resource.per_unit_capacity"},
      {[](Resource& r) { r.per_unit_capacity = std::nan(""); }, "resource.per_unit_capacity"},
      {[](Resource& r) { r.target_utilization = 0; }, "resource.target_utilization: must be in"},
      {[](Resource& r) { r.target_utilization = 1.01; }, "resource.target_utilization"},
      {[](Resource& r) { r.current = -1; }, "resource.current"},
      {[](Resource& r) { r.current = 2.5; }, "resource.current: must be a whole number"},
      {[](Resource& r) { r.min = 21; }, "resource.max: must be 0 (no maximum) or at least min"},
      {[](Resource& r) { r.alert_horizon = absl::Hours(-1); }, "resource.alert_horizon"},
      {[](Resource& r) { r.stateful = true; }, "resource.request_unit"},
      {[](Resource& r) { r.request_unit = "cpu_millicores"; }, "resource.request_unit"},
      {[](Resource& r) { r.headroom = -0.1; }, "resource.headroom"},
      {[](Resource& r) {
         r.kind = ResourceKind::kQueue;
         r.stateful = true;
         r.request_unit = "memory_bytes";
       },
       "resource.stateful"},
  };
  for (const Case& c : cases) {
    Resource r = ValidReplicas();
    c.mutate(r);
    EXPECT_THAT(ValidateResource(r, "resource."),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.prefix)))
        << c.prefix;
  }
}

TEST(ValidateResourceTest, MaxZeroMeansNoMaximum) {
  Resource r = ValidReplicas();
  r.max = 0;
  r.min = 100;
  EXPECT_THAT(ValidateResource(r, ""), IsOk());
}

TEST(DemandScaleTest, CountersBecomeRatesGaugesStay) {
  Resource r = ValidReplicas();
  EXPECT_DOUBLE_EQ(DemandScale(r, absl::Minutes(5)), 1.0 / 300);
  r.kind = ResourceKind::kTokenQuotaTpm;
  r.metric = "llm_tokens_total";
  EXPECT_DOUBLE_EQ(DemandScale(r, absl::Minutes(5)), 1.0 / 5);
  r.metric = "queue_depth";
  EXPECT_DOUBLE_EQ(DemandScale(r, absl::Minutes(5)), 1.0);
}

// --- Arithmetic --------------------------------------------------------------

TEST(UnitsForTest, CeilOfPeakOverCapacityTimesTarget) {
  // 123 / (10 x 0.5) = 24.6 -> 25.
  EXPECT_EQ(UnitsFor(123, 10, 0.5, true), 25);
  // Exactly 24 (up to rounding error) stays 24: 0.1 x 3 / 0.1 is not 3.
  EXPECT_EQ(UnitsFor(0.1 * 3 * 8, 0.1, 1.0, true), 24);
  EXPECT_EQ(UnitsFor(120, 10, 0.5, true), 24);
  EXPECT_DOUBLE_EQ(UnitsFor(123, 10, 0.5, false), 24.6);
  EXPECT_EQ(UnitsFor(0, 10, 0.5, true), 0);
  EXPECT_EQ(UnitsFor(-5, 10, 0.5, true), 0);
  EXPECT_EQ(UnitsFor(std::nan(""), 10, 0.5, true), 0);
}

TEST(ClampAllocationTest, MinMaxAndNoMaximum) {
  EXPECT_EQ(ClampAllocation(1, 2, 20), 2);
  EXPECT_EQ(ClampAllocation(25, 2, 20), 20);
  EXPECT_EQ(ClampAllocation(7, 2, 20), 7);
  EXPECT_EQ(ClampAllocation(500, 2, 0), 500);
}

TEST(HpaDesiredReplicasTest, ToleranceEdges) {
  // 4 replicas, target 10 per replica. Ratio = total / 4 / 10.
  EXPECT_EQ(HpaDesiredReplicas(4, 43.9, 10, 0.1), 4);  // ratio 1.0975: within
  EXPECT_EQ(HpaDesiredReplicas(4, 36.1, 10, 0.1), 4);  // ratio 0.9025: within
  EXPECT_EQ(HpaDesiredReplicas(4, 44.4, 10, 0.1), 5);  // ratio 1.11: ceil(4.44)
  EXPECT_EQ(HpaDesiredReplicas(4, 35.6, 10, 0.1), 4);  // ratio 0.89: ceil(3.56) = 4
  EXPECT_EQ(HpaDesiredReplicas(4, 29, 10, 0.1), 3);    // ceil(2.9)
  EXPECT_EQ(HpaDesiredReplicas(4, 200, 10, 0.1), 20);
  EXPECT_EQ(HpaDesiredReplicas(0, 25, 10, 0.1), 3);  // from zero
  EXPECT_EQ(HpaDesiredReplicas(4, 25, 0, 0.1), 4);   // no target: unchanged
}

std::vector<ForecastPoint> Demand(absl::Time start, absl::Duration step,
                                  const std::vector<double>& values) {
  std::vector<ForecastPoint> out;
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    out.push_back({start + static_cast<int64_t>(i) * step, v, v, v, v, v});
  }
  return out;
}

TEST(SimulateHpaTest, ScalesUpAtOnceAndDownOnlyAfterTheStabilizationWindow) {
  HpaSpec spec;
  spec.target = 10;
  spec.min_replicas = 1;
  spec.max_replicas = 8;
  // One point a minute: demand 20, then 100 (needs 10, capped at 8), then 20.
  std::vector<double> values = {20, 20, 100, 20, 20, 20, 20, 20, 20, 20};
  const HpaSimulation sim = SimulateHpa(Demand(kMonday, absl::Minutes(1), values), 2, spec);
  // The scale-down waits until the 100's recommendation (at minute 2) is
  // older than 5 minutes: it still counts at minute 6 (6 - 5 = 1 < 2) and no
  // longer at minute 7.
  EXPECT_THAT(sim.replicas, ElementsAre(2, 2, 8, 8, 8, 8, 8, 2, 2, 2));
  EXPECT_EQ(sim.peak_replicas, 8);
  EXPECT_EQ(sim.saturated_points, 1);  // 100 / 8 = 12.5 > 11 at max
}

TEST(SimulateHpaTest, StaysWithinToleranceAndRespectsMin) {
  HpaSpec spec;
  spec.target = 10;
  spec.min_replicas = 3;
  const HpaSimulation sim =
      SimulateHpa(Demand(kMonday, absl::Minutes(1), {40, 43, 37, 0}), 4, spec);
  // 43 / 4 = 10.75 and 37 / 4 = 9.25 are within 10 %; 0 goes to min 3 (after
  // the window, but the raw 4s are within it: stays 4).
  EXPECT_THAT(sim.replicas, ElementsAre(4, 4, 4, 4));
  const HpaSimulation later = SimulateHpa(Demand(kMonday, absl::Minutes(10), {40, 0, 0}), 4, spec);
  EXPECT_THAT(later.replicas, ElementsAre(4, 3, 3));
}

TEST(RecommendationConfidenceTest, FromMaseAndIntervalWidth) {
  ForecastPoint peak{kMonday, 100, 90, 110, 80, 120};
  peak.lower_80 = 90;
  peak.upper_80 = 110;
  // 1 / (1 + 0.5) x (1 - 20 / 200) = 0.6.
  EXPECT_NEAR(RecommendationConfidence(0.5, peak), 0.6, 1e-12);
  EXPECT_NEAR(RecommendationConfidence(std::nan(""), peak), 0.45, 1e-12);
  peak.upper_80 = 1000;
  EXPECT_NEAR(RecommendationConfidence(0, peak), 0.05, 1e-12);
}

// --- Recommend ----------------------------------------------------------------

RecommendationInput FlatInput(const Resource& r, double history_value,
                              const std::vector<double>& forecast) {
  RecommendationInput in;
  in.resource = r;
  in.history.start = kMonday - absl::Hours(24);
  in.history.step = absl::Hours(1);
  in.history.values.assign(24, history_value);
  in.forecast = Demand(kMonday, absl::Hours(1), forecast);
  for (ForecastPoint& p : in.forecast) {
    p.lower_80 = p.value * 0.9;
    p.upper_80 = p.value * 1.1;
    p.lower_95 = p.value * 0.8;
    p.upper_95 = p.value * 1.2;
  }
  in.model = "seasonal_naive";
  in.backtest_mase = 0.5;
  in.now = kMonday;
  return in;
}

const Recommendation* Find(const std::vector<Recommendation>& recs, RecommendationKind kind) {
  for (const Recommendation& r : recs) {
    if (r.kind == kind) return &r;
  }
  return nullptr;
}

TEST(RecommendTest, ReplicasFromThePeakWithBreachAndUtilization) {
  Resource r = ValidReplicas();  // 4 x 10 at 0.5
  const auto recs = Recommend(FlatInput(r, 16, {20, 30, 62, 25}));
  const Recommendation* scale = Find(recs, RecommendationKind::kScaleReplicas);
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(scale->current, 4);
  EXPECT_EQ(scale->recommended, 13);  // ceil(62 / 5)
  EXPECT_EQ(scale->unit, "replicas");
  EXPECT_DOUBLE_EQ(scale->forecast_peak, 62);
  EXPECT_EQ(scale->peak_time, kMonday + absl::Hours(2));
  ASSERT_TRUE(scale->breach_time.has_value());  // capacity 40
  EXPECT_EQ(*scale->breach_time, kMonday + absl::Hours(2));
  EXPECT_DOUBLE_EQ(scale->utilization, 16.0 / 40);
  EXPECT_NEAR(scale->confidence, 0.6, 1e-12);
  EXPECT_EQ(scale->valid_until, kMonday + absl::Hours(1));
  EXPECT_THAT(scale->reason, HasSubstr("forecast peak 62"));
  const Recommendation* hpa = Find(recs, RecommendationKind::kHpaTarget);
  ASSERT_NE(hpa, nullptr);
  EXPECT_DOUBLE_EQ(hpa->recommended, 5);  // 10 x 0.5 per replica
  EXPECT_DOUBLE_EQ(hpa->current, 4);      // 16 / 4 replicas now
  EXPECT_THAT(hpa->reason, HasSubstr("reaches 13"));
  EXPECT_EQ(Find(recs, RecommendationKind::kOverProvisioned), nullptr);
}

TEST(RecommendTest, ClampsToMinAndMax) {
  Resource r = ValidReplicas();
  const auto high = Recommend(FlatInput(r, 10, {500}));
  EXPECT_EQ(Find(high, RecommendationKind::kScaleReplicas)->recommended, 20);
  EXPECT_THAT(Find(high, RecommendationKind::kScaleReplicas)->reason, HasSubstr("capped at max"));
  EXPECT_THAT(Find(high, RecommendationKind::kHpaTarget)->reason, HasSubstr("raise max"));
  const auto low = Recommend(FlatInput(r, 1, {1}));
  EXPECT_EQ(Find(low, RecommendationKind::kScaleReplicas)->recommended, 2);
  EXPECT_THAT(Find(low, RecommendationKind::kScaleReplicas)->reason, HasSubstr("raised to min"));
}

TEST(RecommendTest, PeakWithinHpaToleranceKeepsCurrent) {
  Resource r = ValidReplicas();  // capacity at target: 4 x 10 x 0.5 = 20
  // 21.9 / 20 = 1.095: within 0.1; ceil(21.9 / 5) = 5 would otherwise apply.
  const auto within = Recommend(FlatInput(r, 10, {21.9}));
  EXPECT_EQ(Find(within, RecommendationKind::kScaleReplicas)->recommended, 4);
  EXPECT_THAT(Find(within, RecommendationKind::kScaleReplicas)->reason,
              HasSubstr("within the HPA tolerance"));
  const auto outside = Recommend(FlatInput(r, 10, {22.1}));
  EXPECT_EQ(Find(outside, RecommendationKind::kScaleReplicas)->recommended, 5);
  const auto below = Recommend(FlatInput(r, 10, {17.9}));
  EXPECT_EQ(Find(below, RecommendationKind::kScaleReplicas)->recommended, 4);  // ceil(3.58)
  const auto far_below = Recommend(FlatInput(r, 10, {14}));
  EXPECT_EQ(Find(far_below, RecommendationKind::kScaleReplicas)->recommended, 3);
}

TEST(RecommendTest, OverProvisionedWhenTheUpperBoundStaysFarBelowTarget) {
  Resource r = ValidReplicas();
  r.current = 20;  // capacity 200, target 100; half of target: 50
  const auto recs = Recommend(FlatInput(r, 10, {30, 35}));  // upper 95: 42
  const Recommendation* over = Find(recs, RecommendationKind::kOverProvisioned);
  ASSERT_NE(over, nullptr);
  EXPECT_EQ(over->recommended, 9);  // ceil(42 / 5)
  EXPECT_EQ(over->current, 20);
  const auto busy = Recommend(FlatInput(r, 10, {30, 45}));  // upper 95: 54
  EXPECT_EQ(Find(busy, RecommendationKind::kOverProvisioned), nullptr);
}

TEST(RecommendTest, QuotaIncreaseOnlyWhenThePeakNeedsMore) {
  Resource r = ValidReplicas();
  r.kind = ResourceKind::kTokenQuotaTpm;
  r.per_unit_capacity = 1;
  r.target_utilization = 0.8;
  r.current = 100'000;
  r.min = 0;
  r.max = 0;
  const auto recs = Recommend(FlatInput(r, 50'000, {90'000, 120'000}));
  const Recommendation* quota = Find(recs, RecommendationKind::kQuotaIncrease);
  ASSERT_NE(quota, nullptr);
  EXPECT_DOUBLE_EQ(quota->recommended, 150'000);  // 120k / 0.8
  EXPECT_EQ(quota->unit, "tokens_per_minute");
  EXPECT_THAT(quota->reason, HasSubstr("runs out at"));
  EXPECT_EQ(Find(recs, RecommendationKind::kScaleReplicas), nullptr);
  EXPECT_EQ(Find(Recommend(FlatInput(r, 50'000, {60'000})), RecommendationKind::kQuotaIncrease),
            nullptr);
}

TEST(RecommendTest, ConnectionPoolResizedOutsideTolerance) {
  Resource r = ValidReplicas();
  r.kind = ResourceKind::kDbConnections;
  r.metric = "db_connections_in_use";
  r.per_unit_capacity = 1;
  r.target_utilization = 0.8;
  r.current = 50;
  r.min = 10;
  r.max = 200;
  const auto recs = Recommend(FlatInput(r, 30, {60}));
  const Recommendation* pool = Find(recs, RecommendationKind::kConnectionPool);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->recommended, 75);
  EXPECT_EQ(pool->unit, "connections");
  EXPECT_EQ(Find(Recommend(FlatInput(r, 30, {41})), RecommendationKind::kConnectionPool),
            nullptr);  // 41 / 40 within 0.1
}

TEST(RecommendTest, VerticalRequestsForStatefulComponents) {
  Resource r = ValidReplicas();
  r.stateful = true;
  r.request_unit = "cpu_millicores";
  r.metric = "container_cpu_millicores";
  r.per_unit_capacity = 500;  // current request per replica
  r.current = 2;
  r.headroom = 0.2;
  RecommendationInput in = FlatInput(r, 0, {700});
  // Per replica: 0..99 x 4 / 2 -> 0..198; p95 = 188.1; x 1.2 = 225.72 -> 226.
  for (size_t i = 0; i < 100; ++i) in.history.values.push_back(4.0 * static_cast<double>(i));
  in.history.values.erase(in.history.values.begin(), in.history.values.begin() + 24);
  const auto recs = Recommend(in);
  ASSERT_THAT(recs, SizeIs(1));
  EXPECT_EQ(recs[0].kind, RecommendationKind::kVerticalRequests);
  EXPECT_EQ(recs[0].current, 500);
  EXPECT_EQ(recs[0].recommended, 226);
  EXPECT_EQ(recs[0].unit, "cpu_millicores");

  r.request_unit = "memory_bytes";
  in.resource = r;
  in.history.values.assign(10, 2.0 * 300 * 1024 * 1024);  // 300 MiB per replica
  const auto memory = Recommend(in);
  EXPECT_EQ(memory[0].recommended, 360.0 * 1024 * 1024);  // 300 x 1.2 MiB
}

TEST(RecommendTest, ScheduledScalingForARepeatingDailyPeak) {
  Resource r = ValidReplicas();  // 5 per replica at target; min 2
  RecommendationInput in = FlatInput(r, 0, {});
  // Four days of history and a two-day forecast: 10 all day, 40 from 09:00
  // to 12:00 UTC.
  const auto value_at = [](int64_t hour) { return hour >= 9 && hour < 12 ? 40.0 : 10.0; };
  in.history.start = kMonday - absl::Hours(96);
  in.history.values.clear();
  for (int64_t h = 0; h < 96; ++h) in.history.values.push_back(value_at(h % 24));
  std::vector<double> forecast;
  for (int64_t h = 0; h < 48; ++h) forecast.push_back(value_at(h % 24));
  in.forecast = Demand(kMonday, absl::Hours(1), forecast);
  const auto recs = Recommend(in);
  const Recommendation* scheduled = Find(recs, RecommendationKind::kScheduledScaling);
  ASSERT_NE(scheduled, nullptr);
  EXPECT_EQ(scheduled->recommended, 2);  // 10 / 5 outside the window
  ASSERT_THAT(scheduled->schedule, SizeIs(1));
  EXPECT_TRUE(scheduled->schedule[0].days.empty());  // every day
  EXPECT_EQ(scheduled->schedule[0].start_minute, 9 * 60);
  EXPECT_EQ(scheduled->schedule[0].end_minute, 12 * 60);
  EXPECT_EQ(scheduled->schedule[0].value, 8);
  EXPECT_NEAR(scheduled->confidence, RecommendationConfidence(0.5, in.forecast[9]), 1e-9);
}

TEST(RecommendTest, NoScheduleForNoise) {
  Resource r = ValidReplicas();
  RecommendationInput in = FlatInput(r, 0, {});
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> noise(5, 40);
  in.history.start = kMonday - absl::Hours(96);
  in.history.values.clear();
  for (int h = 0; h < 96; ++h) in.history.values.push_back(noise(gen));
  std::vector<double> forecast;
  for (int h = 0; h < 48; ++h) forecast.push_back(noise(gen));
  in.forecast = Demand(kMonday, absl::Hours(1), forecast);
  EXPECT_LT(SeasonalStrength(in.history), kMinSeasonalStrength);
  EXPECT_EQ(Find(Recommend(in), RecommendationKind::kScheduledScaling), nullptr);
}

TEST(RecommendTest, WeeklyScheduleNamesTheDays) {
  Resource r = ValidReplicas();
  r.min = 1;
  RecommendationInput in = FlatInput(r, 0, {});
  // Weekdays 08:00-18:00 at 30, else 4; three weeks of history, one week ahead.
  const auto value_at = [](absl::Time t) {
    const int64_t hours = absl::ToInt64Hours(t - kMonday);
    const int64_t how = ((hours % 168) + 168) % 168;
    const int64_t day = how / 24;
    const int64_t hour = how % 24;
    return day < 5 && hour >= 8 && hour < 18 ? 30.0 : 4.0;
  };
  in.history.start = kMonday - absl::Hours(24 * 21);
  in.history.values.clear();
  for (int64_t h = 0; h < 24 * 21; ++h) {
    in.history.values.push_back(value_at(in.history.start + absl::Hours(h)));
  }
  std::vector<double> forecast;
  for (int64_t h = 0; h < 168; ++h) forecast.push_back(value_at(kMonday + absl::Hours(h)));
  in.forecast = Demand(kMonday, absl::Hours(1), forecast);
  const std::vector<Recommendation> recs = Recommend(in);
  const Recommendation* scheduled = Find(recs, RecommendationKind::kScheduledScaling);
  ASSERT_NE(scheduled, nullptr);
  ASSERT_THAT(scheduled->schedule, SizeIs(1));
  EXPECT_THAT(scheduled->schedule[0].days, ElementsAre(1, 2, 3, 4, 5));
  EXPECT_EQ(scheduled->schedule[0].start_minute, 8 * 60);
  EXPECT_EQ(scheduled->schedule[0].end_minute, 18 * 60);
  EXPECT_EQ(scheduled->schedule[0].value, 6);
  EXPECT_EQ(scheduled->recommended, 1);
}

TEST(RecommendTest, NoForecastNoRecommendation) {
  EXPECT_TRUE(Recommend(FlatInput(ValidReplicas(), 1, {})).empty());
}

// --- Changepoints ----------------------------------------------------------

std::vector<double> Noisy(std::vector<double> levels, int64_t each, double sd, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> noise(0, sd);
  std::vector<double> out;
  for (double level : levels) {
    for (int64_t i = 0; i < each; ++i) out.push_back(level + noise(gen));
  }
  return out;
}

TEST(ChangepointTest, FindsASingleLevelShift) {
  const auto changes = DetectChangepoints(Noisy({100, 150}, 200, 5, 1), ChangepointOptions());
  ASSERT_THAT(changes, SizeIs(1));
  EXPECT_NEAR(changes[0].index, 200, 3);
  EXPECT_NEAR(changes[0].level_before, 100, 2);
  EXPECT_NEAR(changes[0].level_after, 150, 2);
}

TEST(ChangepointTest, FindsSeveralShiftsInOrder) {
  const auto changes =
      DetectChangepoints(Noisy({100, 160, 60, 120}, 150, 6, 2), ChangepointOptions());
  ASSERT_THAT(changes, SizeIs(3));
  EXPECT_NEAR(changes[0].index, 150, 3);
  EXPECT_NEAR(changes[1].index, 300, 3);
  EXPECT_NEAR(changes[2].index, 450, 3);
  EXPECT_NEAR(changes[1].level_before, 160, 3);
  EXPECT_NEAR(changes[1].level_after, 60, 3);
}

TEST(ChangepointTest, NoneInStationaryNoiseOrSmallShifts) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    EXPECT_THAT(DetectChangepoints(Noisy({100}, 800, 10, seed), ChangepointOptions()), SizeIs(0))
        << seed;
  }
  // A 5 % shift is below the relative minimum even though significant.
  EXPECT_THAT(DetectChangepoints(Noisy({100, 105}, 400, 0.5, 3), ChangepointOptions()), SizeIs(0));
}

TEST(ChangepointTest, RespectsMinSegmentAndShortSeries) {
  ChangepointOptions options;
  options.min_segment = 50;
  // A shift 20 points from the end cannot be placed.
  std::vector<double> values = Noisy({100}, 200, 1, 4);
  for (int i = 0; i < 20; ++i) values.push_back(300);
  for (const LevelChange& c : DetectChangepoints(values, options)) {
    EXPECT_GE(c.index, 50);
    EXPECT_LE(c.index, static_cast<int64_t>(values.size()) - 50);
  }
  EXPECT_THAT(DetectChangepoints({1, 2, 3}, ChangepointOptions()), SizeIs(0));
  // A noiseless step is found exactly.
  std::vector<double> step(60, 10);
  for (size_t i = 30; i < step.size(); ++i) step[i] = 20;
  const auto exact = DetectChangepoints(step, ChangepointOptions());
  ASSERT_THAT(exact, SizeIs(1));
  EXPECT_EQ(exact[0].index, 30);
}

// --- Usage patterns ----------------------------------------------------------

TEST(UsagePatternsTest, ProfilesPeaksGrowthAndAChangepoint) {
  // Four weeks of noisy 15-minute data: a daily curve peaking 14:00 UTC,
  // weekends at half, +5 % per week of linear growth, and a +50 % level
  // shift from day 16 (a Wednesday) on.
  RegularSeries s;
  s.start = kMonday;
  s.step = absl::Minutes(15);
  std::mt19937 gen(11);
  std::normal_distribution<double> noise(0, 3);
  const int64_t n = 28 * 96;
  for (int64_t i = 0; i < n; ++i) {
    const double hours = static_cast<double>(i) / 4;
    const int64_t day = i / 96;
    const double hour = std::fmod(hours, 24);
    double v = 100 + 50 * std::cos(2 * M_PI * (hour - 14) / 24);
    if (day % 7 >= 5) v *= 0.5;
    v *= 1 + 0.05 * hours / 168;
    if (day >= 16) v *= 1.5;
    s.values.push_back(v + noise(gen));
  }
  s.values[100] = std::nan("");  // a gap is skipped
  const absl::StatusOr<UsagePatterns> p = AnalyzeUsage(s, absl::UTCTimeZone());
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->points, n - 1);
  ASSERT_FALSE(p->peak_hours.empty());
  EXPECT_EQ(p->peak_hours.front(), 14);
  for (int h : p->peak_hours) EXPECT_TRUE(h >= 11 && h <= 17) << h;
  EXPECT_GT(p->hour_of_day[14], 2 * p->hour_of_day[2]);
  EXPECT_LT(p->day_of_week[5], 0.7 * p->day_of_week[2]);  // Saturday below Wednesday
  EXPECT_GE(p->peak_day, 1);
  EXPECT_LE(p->peak_day, 5);
  EXPECT_GT(p->growth_rate_per_week, 0.03);
  ASSERT_THAT(p->changepoints, SizeIs(1));
  EXPECT_LE(
      std::abs(absl::ToDoubleHours(p->changepoints[0].time - (kMonday + absl::Hours(24 * 16)))), 6);
  EXPECT_GT(p->changepoints[0].level_after, 1.3 * p->changepoints[0].level_before);
  EXPECT_EQ(p->start, kMonday);
  EXPECT_EQ(p->end, kMonday + n * absl::Minutes(15));
}

TEST(UsagePatternsTest, SteadyGrowthIsNotAChangepoint) {
  RegularSeries s;
  s.start = kMonday;
  s.step = absl::Hours(1);
  for (int64_t h = 0; h < 24 * 28; ++h) {
    s.values.push_back((100 + 30 * std::sin(2 * M_PI * static_cast<double>(h % 24) / 24)) *
                       (1 + 0.2 * static_cast<double>(h) / 168));
  }
  const absl::StatusOr<UsagePatterns> p = AnalyzeUsage(s, absl::UTCTimeZone());
  ASSERT_THAT(p, IsOk());
  EXPECT_THAT(p->changepoints, SizeIs(0));
  EXPECT_GT(p->growth_rate_per_week, 0.1);
}

TEST(UsagePatternsTest, HoursFollowTheTimeZone) {
  RegularSeries s;
  s.start = kMonday;
  s.step = absl::Hours(1);
  for (int64_t h = 0; h < 24 * 3; ++h) s.values.push_back(h % 24 == 14 ? 100 : 10);
  absl::TimeZone tokyo;  // UTC+9, no DST
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Tokyo", &tokyo));
  const absl::StatusOr<UsagePatterns> p = AnalyzeUsage(s, tokyo);
  ASSERT_THAT(p, IsOk());
  EXPECT_THAT(p->peak_hours, ElementsAre(23));
  EXPECT_THAT(p->changepoints, SizeIs(0));
}

TEST(UsagePatternsTest, NoDataIsNotFound) {
  RegularSeries s;
  s.start = kMonday;
  s.step = absl::Hours(1);
  s.values.assign(5, std::numeric_limits<double>::quiet_NaN());
  EXPECT_THAT(AnalyzeUsage(s, absl::UTCTimeZone()), StatusIs(absl::StatusCode::kNotFound));
  s.step = absl::ZeroDuration();
  EXPECT_THAT(AnalyzeUsage(s, absl::UTCTimeZone()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("step")));
}

}  // namespace
}  // namespace agentwatch::capacity

namespace agentwatch::capacity {
namespace {

// --- Breach prediction --------------------------------------------------------

TEST(BreachTest, FirstCrossingWithinTheHorizonAndItsProbability) {
  Resource r = ValidReplicas();  // capacity 40
  r.alert_horizon = absl::Hours(3);
  std::vector<ForecastPoint> forecast = Demand(kMonday, absl::Hours(1), {30, 38, 45, 60, 90});
  for (ForecastPoint& p : forecast) {
    p.lower_80 = p.value - kZ80 * 5;  // sigma 5
    p.upper_80 = p.value + kZ80 * 5;
  }
  const std::optional<BreachPrediction> breach = PredictBreach(r, forecast, kMonday);
  ASSERT_TRUE(breach.has_value());
  EXPECT_EQ(breach->breach_time, kMonday + absl::Hours(2));
  EXPECT_EQ(breach->capacity, 40);
  EXPECT_EQ(breach->value_at_breach, 45);
  // Within the 3-hour horizon the highest probability is at 60: P(N(60, 5) >
  // 40) = P(Z > -4).
  EXPECT_NEAR(breach->probability, 0.99997, 1e-4);
  EXPECT_EQ(breach->peak, 60);  // 90 is past the horizon

  r.alert_horizon = absl::Hours(1);  // 30 and 38 only
  EXPECT_FALSE(PredictBreach(r, forecast, kMonday).has_value());
  r.alert_horizon = absl::ZeroDuration();  // disabled
  EXPECT_FALSE(PredictBreach(r, forecast, kMonday).has_value());
}

TEST(BreachTest, ExceedanceProbability) {
  EXPECT_NEAR(ExceedanceProbability(40, 5, 40), 0.5, 1e-12);
  EXPECT_NEAR(ExceedanceProbability(50, 5, 40), 0.97725, 1e-5);
  EXPECT_EQ(ExceedanceProbability(50, 0, 40), 1);
  EXPECT_EQ(ExceedanceProbability(30, 0, 40), 0);
}

TEST(BreachTest, TransitionsAndAStableFingerprint) {
  EXPECT_EQ(DecideBreachTransition(false, true), BreachTransition::kFire);
  EXPECT_EQ(DecideBreachTransition(true, true), BreachTransition::kNone);
  EXPECT_EQ(DecideBreachTransition(true, false), BreachTransition::kResolve);
  EXPECT_EQ(DecideBreachTransition(false, false), BreachTransition::kNone);

  Resource r = ValidReplicas();
  r.labels = {{"namespace", "agents"}};
  r.alert_severity = Severity::kP1;
  BreachPrediction p;
  p.breach_time = kMonday + absl::Minutes(90);
  p.capacity = 40;
  p.value_at_breach = 45;
  p.probability = 0.8;
  p.peak = 60;
  const BreachAlert firing = FiringBreachAlert(r, p, kMonday);
  EXPECT_EQ(firing.fingerprint, "capacity-breach/acme/res-1");
  EXPECT_EQ(firing.fingerprint, BreachFingerprint(r));
  EXPECT_EQ(firing.name, "CapacityForecastBreach");
  EXPECT_EQ(firing.severity, Severity::kP1);
  EXPECT_TRUE(firing.firing);
  EXPECT_EQ(firing.labels.at("resource_name"), "planner-workers");
  EXPECT_EQ(firing.labels.at("namespace"), "agents");
  EXPECT_EQ(firing.annotations.at("breach_time"), "2023-11-13T01:30:00Z");
  EXPECT_EQ(firing.annotations.at("probability"), "0.800");
  EXPECT_THAT(firing.annotations.at("summary"), HasSubstr("in 1h30m"));
  const BreachAlert resolved = ResolvedBreachAlert(r, kMonday, kMonday + absl::Hours(2));
  EXPECT_EQ(resolved.fingerprint, firing.fingerprint);
  EXPECT_FALSE(resolved.firing);
  EXPECT_EQ(resolved.starts_at, kMonday);
  EXPECT_EQ(resolved.ends_at, kMonday + absl::Hours(2));
}

}  // namespace
}  // namespace agentwatch::capacity
