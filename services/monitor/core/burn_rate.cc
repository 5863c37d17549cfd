#include "monitor/core/burn_rate.h"

#include <algorithm>
#include <cmath>

#include "monitor/core/rollup.h"

namespace agentwatch::monitor {

double SliOf(const SliCounts& counts) {
  if (counts.total <= 0) return 1;
  return static_cast<double>(counts.good) / static_cast<double>(counts.total);
}

double BurnRateOf(const SliCounts& counts, double objective) {
  if (counts.total <= 0) return 0;
  const double error_rate = static_cast<double>(counts.bad()) / static_cast<double>(counts.total);
  return error_rate / (1 - objective);
}

ErrorBudget ErrorBudgetOf(const SliCounts& counts, double objective) {
  ErrorBudget budget;
  budget.allowed = (1 - objective) * static_cast<double>(counts.total);
  budget.consumed = counts.bad();
  if (counts.total > 0) {
    budget.consumed_ratio = static_cast<double>(budget.consumed) / budget.allowed;
  }
  budget.remaining = 1 - budget.consumed_ratio;
  return budget;
}

SliCounts CountsInRange(const std::vector<SliBucket>& buckets, absl::Time from, absl::Time to) {
  SliCounts out;
  for (const SliBucket& bucket : buckets) {
    const absl::Time end = bucket.start + bucket.length;
    const absl::Time lo = std::max(bucket.start, from);
    const absl::Time hi = std::min(end, to);
    if (hi <= lo) continue;
    if (lo == bucket.start && hi == end) {
      out += bucket.counts;
      continue;
    }
    const double share = absl::FDivDuration(hi - lo, bucket.length);
    SliCounts part;
    part.total =
        static_cast<int64_t>(std::llround(share * static_cast<double>(bucket.counts.total)));
    part.good = std::min(
        part.total,
        static_cast<int64_t>(std::llround(share * static_cast<double>(bucket.counts.good))));
    out += part;
  }
  return out;
}

SliCounts CountsInWindow(const std::vector<SliBucket>& buckets, absl::Time now,
                         absl::Duration window) {
  const BucketRange range = WindowBuckets(now, window);
  return CountsInRange(buckets, range.from, range.to);
}

std::vector<BurnRateWindow> DefaultBurnRateWindows() {
  return {
      {absl::Hours(1), absl::Minutes(5), 14.4, Severity::kP1},
      {absl::Hours(6), absl::Minutes(30), 6, Severity::kP1},
      {absl::Hours(72), absl::Hours(6), 1, Severity::kP3},
  };
}

BurnRateEvaluation EvaluateBurnRate(const BurnRateWindow& window,
                                    const std::vector<SliBucket>& buckets, double objective,
                                    absl::Time now) {
  BurnRateEvaluation out;
  out.long_counts = CountsInWindow(buckets, now, window.long_window);
  out.short_counts = CountsInWindow(buckets, now, window.short_window);
  out.long_rate = BurnRateOf(out.long_counts, objective);
  out.short_rate = BurnRateOf(out.short_counts, objective);
  // A relative tolerance of 1e-9 keeps a rate equal to the factor (e.g. 1 %
  // errors against 99.9 %, 10x) from missing it by a rounding error.
  const double at_least = window.burn_rate * (1 - 1e-9);
  out.burning =
      out.short_counts.total > 0 && out.long_rate >= at_least && out.short_rate >= at_least;
  return out;
}

AlertAction StepBurnRateAlert(const BurnRateEvaluation& evaluation, absl::Time now,
                              AlertState* state) {
  state->value = evaluation.long_rate;
  state->last_evaluation = now;
  state->pending = false;
  if (!state->firing && evaluation.burning) {
    state->firing = true;
    state->starts_at = now;
    state->active_since = now;
    state->ends_at.reset();
    state->clear_since.reset();
    return AlertAction::kFire;
  }
  if (state->firing && !evaluation.burning) {
    state->firing = false;
    state->ends_at = now;
    return AlertAction::kResolve;
  }
  return AlertAction::kNone;
}

}  // namespace agentwatch::monitor
