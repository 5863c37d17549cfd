// Recommendations for a resource from its demand history and forecast:
// replicas from the forecast peak, HPA-compatible targets, scheduled scaling
// ahead of predictable peaks, vertical requests for stateful components,
// quota and pool sizes, and over-provisioned resources; plus the Kubernetes
// HPA arithmetic they rest on. Pure and deterministic: no I/O, no clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "capacity/core/forecast.h"
#include "capacity/core/resource.h"
#include "capacity/core/series.h"

namespace agentwatch::capacity {

// Kubernetes HPA defaults: a usage ratio within 10 % of 1 changes nothing; a
// scale-down takes the highest recommendation of the last 5 minutes.
inline constexpr double kHpaTolerance = 0.1;
inline constexpr absl::Duration kHpaScaleDownStabilization = absl::Minutes(5);

// A scheduled-scaling recommendation is made when the history's seasonal
// profile explains at least this share of its variance.
inline constexpr double kMinSeasonalStrength = 0.5;

// Over-provisioned: the forecast's upper 95 % peak stays below this share of
// the target utilization of the current capacity.
inline constexpr double kOverProvisionedShare = 0.5;

// What a recommendation asks for. Values match
// agentwatch.capacity.v1.RecommendationKind.
enum class RecommendationKind {
  kScaleReplicas = 1,
  kHpaTarget = 2,
  kScheduledScaling = 3,
  kVerticalRequests = 4,
  kOverProvisioned = 5,
  kQuotaIncrease = 6,
  kConnectionPool = 7,
};

// A weekly window (UTC) and the allocation during it.
struct ScheduleStep {
  // ISO days the window starts on, 1 = Monday .. 7 = Sunday; empty means
  // every day.
  std::vector<int> days;
  // Minutes after midnight: start in [0, 1440), end in (start, 1440].
  int start_minute = 0;
  int end_minute = 0;
  double value = 0;
};

// One recommendation.
struct Recommendation {
  std::string resource_id;
  std::string resource_name;
  RecommendationKind kind = RecommendationKind::kScaleReplicas;
  double current = 0;
  double recommended = 0;
  std::string reason;
  // In [0, 1].
  double confidence = 0;
  absl::Time valid_until;
  // Latest demand / capacity; 0 when the capacity is 0.
  double utilization = 0;
  std::string unit;
  double forecast_peak = 0;
  absl::Time peak_time;
  std::optional<absl::Time> breach_time;
  // SCHEDULED_SCALING only; outside its windows the allocation is
  // `recommended`.
  std::vector<ScheduleStep> schedule;
};

// Units needed to serve `demand` at `target_utilization` of `per_unit`
// capacity: demand / (per_unit x target), rounded up to a whole number when
// `whole`; never negative (a negative or NaN demand needs 0).
double UnitsFor(double demand, double per_unit, double target_utilization, bool whole);

// `units` within [min, max]; max 0 means no maximum.
double ClampAllocation(double units, double min, double max);

// The HPA's replica count for an AverageValue target: with ratio = (total /
// current_replicas) / target, `current_replicas` when |ratio - 1| <=
// tolerance, else ceil(current_replicas x ratio) = ceil(total / target).
// From 0 replicas, ceil(total / target). A non-positive target or a negative
// total gives current_replicas.
int64_t HpaDesiredReplicas(int64_t current_replicas, double total, double target, double tolerance);

// An HPA over a demand series.
struct HpaSpec {
  // averageValue target per replica, > 0.
  double target = 0;
  int64_t min_replicas = 1;
  // 0: no maximum.
  int64_t max_replicas = 0;
  double tolerance = kHpaTolerance;
  absl::Duration scale_down_stabilization = kHpaScaleDownStabilization;
};

// What an HPA would do over a demand series.
struct HpaSimulation {
  // Replicas after each point.
  std::vector<int64_t> replicas;
  int64_t peak_replicas = 0;
  // Points at which the HPA sits at max_replicas while the demand per replica
  // exceeds the target by more than the tolerance.
  int64_t saturated_points = 0;
};

// Runs the HPA algorithm once per point of `demand` (values, in time order),
// starting from `initial_replicas`: raw = HpaDesiredReplicas clamped to
// [min, max]; up = raw (no scale-up stabilization); down = the highest raw of
// the points within the stabilization window before it (exclusive: points
// more recent than time - window) and itself; the replicas become up when
// above the current, down when below it, else stay.
HpaSimulation SimulateHpa(const std::vector<ForecastPoint>& demand, int64_t initial_replicas,
                          const HpaSpec& spec);

// The confidence of a recommendation from the model's backtest MASE and the
// forecast's 80 % interval at the peak: 1 / (1 + mase) x clamp(1 - (upper_80
// - lower_80) / (2 x value), 0.05, 1); the interval factor is 0.5 when the
// peak is not positive, the MASE factor 0.5 when the MASE is not finite.
double RecommendationConfidence(double backtest_mase, const ForecastPoint& peak);

// The history's seasonal strength in [0, 1]: 1 - var(residual) / var(value)
// of the finite values around their hour-of-week means (hour-of-day means
// when the history covers less than two weeks). 0 with fewer than two days
// of finite values or no variance.
double SeasonalStrength(const RegularSeries& history);

// The q-quantile (q in [0, 1], linear interpolation) of the finite values;
// nullopt when there is none.
std::optional<double> FiniteQuantile(const std::vector<double>& values, double q);

// What Recommend works from: the resource, its demand history (demand units,
// NaN gaps) and its demand forecast (demand units, one point per step).
struct RecommendationInput {
  Resource resource;
  RegularSeries history;
  std::vector<ForecastPoint> forecast;
  std::string model;
  double backtest_mase = 0;
  absl::Time now;
  // valid_until = now + valid_for.
  absl::Duration valid_for = absl::Hours(1);
};

// The recommendations for one resource, in kind order:
// - replicas and queue consumers (not stateful): SCALE_REPLICAS to the units
//   the forecast peak needs at the target utilization, within min/max, left
//   at current when the peak's usage ratio is within the HPA tolerance;
//   HPA_TARGET (averageValue per unit = per_unit_capacity x target, current =
//   the latest demand per unit) with what an HPA would do over the forecast;
//   SCHEDULED_SCALING when the profile repeats (SeasonalStrength at least
//   kMinSeasonalStrength) and the units needed vary by at least one over the
//   day or week;
// - stateful replicas: VERTICAL_REQUESTS from p95 of the demand per replica
//   plus headroom (millicores rounded up to 1, bytes to 1 MiB);
// - TPM / RPM quotas: QUOTA_INCREASE when the peak needs more than current;
// - connection pools: CONNECTION_POOL when the peak needs a size outside the
//   tolerance of current;
// - every kind but stateful replicas: OVER_PROVISIONED when the upper 95 %
//   peak stays below kOverProvisionedShare x target of the capacity and
//   fewer units would do.
// An empty forecast gives no recommendation.
std::vector<Recommendation> Recommend(const RecommendationInput& input);

}  // namespace agentwatch::capacity
