// Error-budget and burn-rate arithmetic of SLOs (see slo.h), after the
// Google SRE workbook ("Alerting on SLOs"): the error budget of an SLO with
// objective o over N events is (1 - o) N bad events; the burn rate over a
// window is the window's error rate divided by (1 - o), so a burn rate of 1
// spends exactly the whole budget over the SLO window. A multi-window alert
// burns when both its long and its short window burn at or above its
// factor: the long window gives significance, the short one makes the alert
// resolve soon after the burn stops. Pure; time comes in as arguments.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "monitor/core/alerting.h"
#include "monitor/core/types.h"

namespace agentwatch::monitor {

// Good and total events of an SLO over some time.
struct SliCounts {
  int64_t good = 0;
  int64_t total = 0;

  int64_t bad() const { return total - good; }
  SliCounts& operator+=(const SliCounts& other) {
    good += other.good;
    total += other.total;
    return *this;
  }
  bool operator==(const SliCounts& other) const {
    return good == other.good && total == other.total;
  }
};

// The counts of one span of rollups: [start, start + length). Spans are
// whole minutes (recent data) or whole hours (older data), see slo.h.
struct SliBucket {
  absl::Time start;
  absl::Duration length;
  SliCounts counts;
};

// good / total; 1 when total is 0 (no events spend no budget).
double SliOf(const SliCounts& counts);

// (bad / total) / (1 - objective); 0 when total is 0. `objective` in (0, 1).
double BurnRateOf(const SliCounts& counts, double objective);

// An SLO's error budget over its window.
struct ErrorBudget {
  // Bad events the objective allows: (1 - objective) * total.
  double allowed = 0;
  // Bad events so far.
  int64_t consumed = 0;
  // consumed / allowed (0 without events; may exceed 1).
  double consumed_ratio = 0;
  // 1 - consumed_ratio: 1 untouched, 0 spent, negative when overspent.
  double remaining = 1;
};
ErrorBudget ErrorBudgetOf(const SliCounts& counts, double objective);

// The counts of the buckets in [from, to). A bucket that overlaps the range
// only in part counts pro rata of the overlap (rounded to the nearest
// event, good never above total): older data is kept in hourly spans, so a
// window starting inside an hour takes that hour's share.
SliCounts CountsInRange(const std::vector<SliBucket>& buckets, absl::Time from, absl::Time to);

// The counts of a rolling window ending at `now`, with the rollup-bucket
// semantics of WindowBuckets (alerting.h): minute buckets starting in
// [MinuteBucket(now - window), MinuteBucket(now) + 1 minute).
SliCounts CountsInWindow(const std::vector<SliBucket>& buckets, absl::Time now,
                         absl::Duration window);

// One multi-window burn-rate alert.
struct BurnRateWindow {
  absl::Duration long_window;
  absl::Duration short_window;
  // Fires when both windows burn at or above this factor.
  double burn_rate = 1;
  Severity severity = Severity::kP2;
};

// The SRE workbook's defaults for a 30-day SLO: 14.4x over 1 h and 5 min
// (P1: 2 % of the budget in an hour), 6x over 6 h and 30 min (P1: 5 % in 6
// hours), 1x over 3 days and 6 h (P3, a ticket: 10 % in 3 days).
std::vector<BurnRateWindow> DefaultBurnRateWindows();

// One window's burn at a moment.
struct BurnRateEvaluation {
  SliCounts long_counts;
  SliCounts short_counts;
  double long_rate = 0;
  double short_rate = 0;
  // long_rate >= burn_rate and short_rate >= burn_rate (a rate equal to the
  // factor counts as burning); never without events in the short window.
  bool burning = false;
};
BurnRateEvaluation EvaluateBurnRate(const BurnRateWindow& window,
                                    const std::vector<SliBucket>& buckets, double objective,
                                    absl::Time now);

// Applies one evaluation at `now` to a burn-rate alert's state (fresh:
// inactive). Not firing and burning: fires (starts_at = active_since = now).
// Firing and no longer burning (either window below the factor): resolves
// at once (ends_at = now). Returns kFire / kResolve when a notice must be
// sent. Always updates value (the long window's rate) and last_evaluation.
AlertAction StepBurnRateAlert(const BurnRateEvaluation& evaluation, absl::Time now,
                              AlertState* state);

}  // namespace agentwatch::monitor
