#include "capacity/core/recommendation.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace agentwatch::capacity {
namespace {

constexpr int64_t kHoursPerWeek = 24 * 7;
constexpr double kMiB = 1024.0 * 1024.0;

std::string Num(double value) { return absl::StrFormat("%.4g", value); }

std::string When(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// Hours since the Unix epoch of `t` (floor).
int64_t EpochHour(absl::Time t) {
  return absl::ToInt64Hours(absl::Floor(t - absl::UnixEpoch(), absl::Hours(1)));
}

// Hour of the week, 0 = Monday 00:00 UTC. The epoch was a Thursday.
int64_t HourOfWeek(absl::Time t) {
  return ((EpochHour(t) + 3 * 24) % kHoursPerWeek + kHoursPerWeek) % kHoursPerWeek;
}

// ceil(x), except that a value a rounding error above a whole number is that
// number.
double CeilTolerant(double x) {
  const double rounded = std::round(x);
  if (std::abs(x - rounded) <= 1e-9 * std::max(1.0, std::abs(rounded))) return rounded;
  return std::ceil(x);
}

double LastFinite(const std::vector<double>& values) {
  for (auto it = values.rbegin(); it != values.rend(); ++it) {
    if (std::isfinite(*it)) return *it;
  }
  return 0;
}

bool Scalable(const Resource& r) {
  return (r.kind == ResourceKind::kReplicas && !r.stateful) || r.kind == ResourceKind::kQueue;
}

// The runs of consecutive hours of `units` (one value per hour of a day)
// above `baseline`, as (start hour, end hour, max units).
std::vector<std::tuple<int, int, double>> RunsAbove(const std::array<double, 24>& units,
                                                    double baseline) {
  std::vector<std::tuple<int, int, double>> runs;
  int h = 0;
  while (h < 24) {
    if (units[h] <= baseline) {
      ++h;
      continue;
    }
    const int start = h;
    const double value = units[h];
    while (h < 24 && units[h] == value) ++h;
    runs.emplace_back(start, h, value);
  }
  return runs;
}

// The SCHEDULED_SCALING steps from the units each forecast hour needs:
// weekly when the forecast covers a week, else daily. Empty when the units
// do not vary by one or more.
std::vector<ScheduleStep> ScheduleFor(const RecommendationInput& in, double* baseline) {
  const Resource& r = in.resource;
  const absl::Duration covered =
      in.forecast.back().time - in.forecast.front().time + in.history.step;
  const bool weekly = covered >= absl::Hours(kHoursPerWeek);
  if (covered < absl::Hours(24)) return {};
  // Highest units needed per hour bucket (of the week, or of the day).
  std::vector<double> need(weekly ? kHoursPerWeek : 24, -1);
  for (const ForecastPoint& point : in.forecast) {
    const int64_t bucket = weekly ? HourOfWeek(point.time) : HourOfWeek(point.time) % 24;
    const double units = ClampAllocation(
        UnitsFor(point.value, r.per_unit_capacity, r.target_utilization, true), r.min, r.max);
    need[bucket] = std::max(need[bucket], units);
  }
  double low = -1;
  double high = -1;
  for (double units : need) {
    if (units < 0) continue;
    low = low < 0 ? units : std::min(low, units);
    high = std::max(high, units);
  }
  if (low < 0 || high - low < 1) return {};
  for (double& units : need) {
    if (units < 0) units = low;
  }
  *baseline = low;
  // Windows per day, then identical windows merged across days.
  std::map<std::tuple<int, int, double>, std::vector<int>> days_of;
  const int days = weekly ? 7 : 1;
  for (int d = 0; d < days; ++d) {
    std::array<double, 24> day{};
    for (int h = 0; h < 24; ++h) day[h] = need[d * 24 + h];
    for (const auto& run : RunsAbove(day, low)) days_of[run].push_back(d + 1);
  }
  std::vector<ScheduleStep> steps;
  for (const auto& [run, on_days] : days_of) {
    ScheduleStep step;
    if (weekly && on_days.size() < 7) step.days = on_days;
    step.start_minute = std::get<0>(run) * 60;
    step.end_minute = std::get<1>(run) * 60;
    step.value = std::get<2>(run);
    steps.push_back(std::move(step));
  }
  std::sort(steps.begin(), steps.end(), [](const ScheduleStep& a, const ScheduleStep& b) {
    const int a_day = a.days.empty() ? 0 : a.days.front();
    const int b_day = b.days.empty() ? 0 : b.days.front();
    return std::tie(a_day, a.start_minute) < std::tie(b_day, b.start_minute);
  });
  return steps;
}

}  // namespace

double UnitsFor(double demand, double per_unit, double target_utilization, bool whole) {
  if (!(demand > 0) || !(per_unit > 0) || !(target_utilization > 0)) return 0;
  const double units = demand / (per_unit * target_utilization);
  // A ratio that is a whole number up to rounding error needs that many.
  return whole ? CeilTolerant(units) : units;
}

double ClampAllocation(double units, double min, double max) {
  double clamped = std::max(units, min);
  if (max > 0) clamped = std::min(clamped, max);
  return clamped;
}

int64_t HpaDesiredReplicas(int64_t current_replicas, double total, double target,
                           double tolerance) {
  if (!(target > 0) || !(total >= 0)) return current_replicas;
  if (current_replicas <= 0) return static_cast<int64_t>(UnitsFor(total, target, 1.0, true));
  const double ratio = total / static_cast<double>(current_replicas) / target;
  if (std::abs(ratio - 1.0) <= tolerance) return current_replicas;
  return static_cast<int64_t>(UnitsFor(total, target, 1.0, true));
}

HpaSimulation SimulateHpa(const std::vector<ForecastPoint>& demand, int64_t initial_replicas,
                          const HpaSpec& spec) {
  HpaSimulation sim;
  sim.replicas.reserve(demand.size());
  int64_t current = initial_replicas;
  std::deque<std::pair<absl::Time, int64_t>> recent;  // raw recommendations
  for (const ForecastPoint& point : demand) {
    int64_t raw =
        HpaDesiredReplicas(current, std::max(point.value, 0.0), spec.target, spec.tolerance);
    raw = std::max(raw, spec.min_replicas);
    if (spec.max_replicas > 0) raw = std::min(raw, spec.max_replicas);
    const absl::Time cutoff = point.time - spec.scale_down_stabilization;
    while (!recent.empty() && !(recent.front().first > cutoff)) recent.pop_front();
    recent.emplace_back(point.time, raw);
    int64_t down = raw;
    for (const auto& [time, replicas] : recent) down = std::max(down, replicas);
    if (raw > current) {
      current = raw;
    } else if (down < current) {
      current = down;
    }
    sim.replicas.push_back(current);
    sim.peak_replicas = std::max(sim.peak_replicas, current);
    if (spec.max_replicas > 0 && current == spec.max_replicas &&
        point.value / static_cast<double>(current) > spec.target * (1 + spec.tolerance)) {
      ++sim.saturated_points;
    }
  }
  return sim;
}

double RecommendationConfidence(double backtest_mase, const ForecastPoint& peak) {
  const double model =
      std::isfinite(backtest_mase) && backtest_mase >= 0 ? 1.0 / (1.0 + backtest_mase) : 0.5;
  double interval = 0.5;
  if (peak.value > 0) {
    interval = std::clamp(1.0 - (peak.upper_80 - peak.lower_80) / (2.0 * peak.value), 0.05, 1.0);
  }
  return model * interval;
}

double SeasonalStrength(const RegularSeries& history) {
  const int64_t steps_per_day = absl::Hours(24) / history.step;
  int64_t finite = 0;
  for (double v : history.values) finite += std::isfinite(v) ? 1 : 0;
  if (steps_per_day < 1 || finite < 2 * steps_per_day) return 0;
  const bool weekly = static_cast<int64_t>(history.values.size()) >= 14 * steps_per_day;
  const int64_t buckets = weekly ? kHoursPerWeek : 24;
  std::vector<double> sum(buckets, 0);
  std::vector<int64_t> count(buckets, 0);
  double total = 0;
  for (size_t i = 0; i < history.values.size(); ++i) {
    const double v = history.values[i];
    if (!std::isfinite(v)) continue;
    const int64_t hour = HourOfWeek(history.start + static_cast<int64_t>(i) * history.step);
    const int64_t bucket = weekly ? hour : hour % 24;
    sum[bucket] += v;
    ++count[bucket];
    total += v;
  }
  const double mean = total / static_cast<double>(finite);
  double var_total = 0;
  double var_residual = 0;
  for (size_t i = 0; i < history.values.size(); ++i) {
    const double v = history.values[i];
    if (!std::isfinite(v)) continue;
    const int64_t hour = HourOfWeek(history.start + static_cast<int64_t>(i) * history.step);
    const int64_t bucket = weekly ? hour : hour % 24;
    const double bucket_mean = sum[bucket] / static_cast<double>(count[bucket]);
    var_total += (v - mean) * (v - mean);
    var_residual += (v - bucket_mean) * (v - bucket_mean);
  }
  if (!(var_total > 0)) return 0;
  return std::clamp(1.0 - var_residual / var_total, 0.0, 1.0);
}

std::optional<double> FiniteQuantile(const std::vector<double>& values, double q) {
  std::vector<double> finite;
  finite.reserve(values.size());
  for (double v : values) {
    if (std::isfinite(v)) finite.push_back(v);
  }
  if (finite.empty()) return std::nullopt;
  std::sort(finite.begin(), finite.end());
  const double position = std::clamp(q, 0.0, 1.0) * static_cast<double>(finite.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, finite.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return finite[below] + fraction * (finite[above] - finite[below]);
}

std::vector<Recommendation> Recommend(const RecommendationInput& in) {
  std::vector<Recommendation> out;
  if (in.forecast.empty()) return out;
  const Resource& r = in.resource;
  const bool whole = WholeUnits(r.kind);
  const double capacity = Capacity(r);
  const double latest = LastFinite(in.history.values);

  const ForecastPoint* peak = &in.forecast.front();
  double upper_95_peak = in.forecast.front().upper_95;
  std::optional<absl::Time> breach;
  for (const ForecastPoint& point : in.forecast) {
    if (point.value > peak->value) peak = &point;
    upper_95_peak = std::max(upper_95_peak, point.upper_95);
    if (!breach.has_value() && point.value > capacity) breach = point.time;
  }
  const double confidence = RecommendationConfidence(in.backtest_mase, *peak);
  const double raw_units = UnitsFor(peak->value, r.per_unit_capacity, r.target_utilization, whole);
  const double needed = ClampAllocation(raw_units, r.min, r.max);
  const std::string peak_text =
      absl::StrCat("forecast peak ", Num(peak->value), " at ", When(peak->time), " (model ",
                   in.model, ", backtest MASE ", Num(in.backtest_mase), ")");
  std::string clamp_text;
  if (needed > raw_units) clamp_text = absl::StrCat("; raised to min ", Num(r.min));
  if (needed < raw_units) clamp_text = absl::StrCat("; capped at max ", Num(r.max));
  const std::string needs_text =
      absl::StrCat(peak_text, " needs ", Num(raw_units), " ", AllocationUnit(r), " at ",
                   Num(r.per_unit_capacity), " per unit and target utilization ",
                   Num(r.target_utilization), clamp_text);

  const auto make = [&](RecommendationKind kind, double current, double recommended,
                        std::string reason, const char* unit) {
    Recommendation rec;
    rec.resource_id = r.id;
    rec.resource_name = r.name;
    rec.kind = kind;
    rec.current = current;
    rec.recommended = recommended;
    rec.reason = std::move(reason);
    rec.confidence = confidence;
    rec.valid_until = in.now + in.valid_for;
    rec.utilization = capacity > 0 ? latest / capacity : 0;
    rec.unit = unit;
    rec.forecast_peak = peak->value;
    rec.peak_time = peak->time;
    rec.breach_time = breach;
    return rec;
  };
  const double peak_ratio = capacity > 0 ? peak->value / (capacity * r.target_utilization) : 0;
  const bool within_tolerance = r.current > 0 && std::abs(peak_ratio - 1.0) <= kHpaTolerance;

  if (Scalable(r)) {
    const double recommended = within_tolerance ? ClampAllocation(r.current, r.min, r.max) : needed;
    std::string reason = needs_text;
    if (within_tolerance) {
      absl::StrAppend(&reason, "; usage ratio ", Num(peak_ratio),
                      " is within the HPA tolerance 0.1 of current");
    }
    out.push_back(make(RecommendationKind::kScaleReplicas, r.current, recommended,
                       std::move(reason), AllocationUnit(r)));

    HpaSpec hpa;
    hpa.target = r.per_unit_capacity * r.target_utilization;
    hpa.min_replicas = std::max<int64_t>(static_cast<int64_t>(r.min), 1);
    hpa.max_replicas = static_cast<int64_t>(r.max);
    const HpaSimulation sim =
        SimulateHpa(in.forecast, std::max<int64_t>(static_cast<int64_t>(r.current), 0), hpa);
    std::string hpa_reason = absl::StrCat(
        "averageValue target ", Num(hpa.target), " per ", AllocationUnit(r),
        " (per-unit capacity x target utilization); over the forecast an HPA with min ",
        hpa.min_replicas, ", max ",
        hpa.max_replicas == 0 ? std::string("none") : absl::StrCat(hpa.max_replicas),
        ", tolerance 0.1 and 5m scale-down stabilization reaches ", sim.peak_replicas,
        " at the peak; current is the latest demand per unit");
    if (sim.saturated_points > 0) {
      absl::StrAppend(&hpa_reason, "; at max and over target in ", sim.saturated_points, " of ",
                      in.forecast.size(), " forecast steps: raise max");
    }
    const double per_unit_now = r.current > 0 ? latest / r.current : latest;
    out.push_back(make(RecommendationKind::kHpaTarget, per_unit_now, hpa.target,
                       std::move(hpa_reason), "metric_per_unit"));

    const double strength = SeasonalStrength(in.history);
    if (strength >= kMinSeasonalStrength) {
      double baseline = 0;
      std::vector<ScheduleStep> schedule = ScheduleFor(in, &baseline);
      if (!schedule.empty()) {
        double top = baseline;
        for (const ScheduleStep& step : schedule) top = std::max(top, step.value);
        Recommendation rec =
            make(RecommendationKind::kScheduledScaling, r.current, baseline,
                 absl::StrCat("the demand repeats (seasonal strength ", Num(strength),
                              "): ", schedule.size(), " UTC windows need up to ", Num(top), " ",
                              AllocationUnit(r), "; ", Num(baseline),
                              " outside them; scale at the start of each window"),
                 AllocationUnit(r));
        rec.confidence = confidence * strength;
        rec.schedule = std::move(schedule);
        out.push_back(std::move(rec));
      }
    }
  }

  if (r.kind == ResourceKind::kReplicas && r.stateful) {
    std::vector<double> per_replica;
    per_replica.reserve(in.history.values.size());
    const double replicas = std::max(r.current, 1.0);
    for (double v : in.history.values) per_replica.push_back(v / replicas);
    const std::optional<double> p95 = FiniteQuantile(per_replica, 0.95);
    if (p95.has_value()) {
      const double wanted = std::max(*p95, 0.0) * (1 + r.headroom);
      const double recommended = r.request_unit == "memory_bytes"
                                     ? CeilTolerant(wanted / kMiB) * kMiB
                                     : CeilTolerant(wanted);
      out.push_back(make(RecommendationKind::kVerticalRequests, r.per_unit_capacity, recommended,
                         absl::StrCat("p95 usage per replica ", Num(*p95), " ", r.request_unit,
                                      " plus ", Num(r.headroom * 100), " % headroom; ", peak_text,
                                      " is ", Num(peak->value / replicas), " per replica"),
                         r.request_unit.c_str()));
    }
  }

  if ((r.kind == ResourceKind::kTokenQuotaTpm || r.kind == ResourceKind::kRequestQuotaRpm) &&
      needed > r.current) {
    std::string reason = needs_text;
    if (breach.has_value()) absl::StrAppend(&reason, "; the quota runs out at ", When(*breach));
    out.push_back(make(RecommendationKind::kQuotaIncrease, r.current, needed, std::move(reason),
                       AllocationUnit(r)));
  }

  if (r.kind == ResourceKind::kDbConnections && needed != r.current && !within_tolerance) {
    out.push_back(make(RecommendationKind::kConnectionPool, r.current, needed, needs_text,
                       AllocationUnit(r)));
  }

  if (!(r.kind == ResourceKind::kReplicas && r.stateful) && capacity > 0 &&
      upper_95_peak < kOverProvisionedShare * r.target_utilization * capacity) {
    const double enough = ClampAllocation(
        UnitsFor(upper_95_peak, r.per_unit_capacity, r.target_utilization, whole), r.min, r.max);
    if (enough < r.current) {
      out.push_back(
          make(RecommendationKind::kOverProvisioned, r.current, enough,
               absl::StrCat("the forecast's upper 95 % bound peaks at ", Num(upper_95_peak), ", ",
                            Num(100 * upper_95_peak / capacity), " % of capacity ", Num(capacity),
                            "; ", Num(enough), " ", AllocationUnit(r), " keep it under target ",
                            Num(r.target_utilization)),
               AllocationUnit(r)));
    }
  }
  return out;
}

}  // namespace agentwatch::capacity
