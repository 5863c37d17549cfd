// Budget projections and budget alerts: burn rate, projected end-of-period
// spend and exhaustion time, thresholds crossed, and the alerts sent to the
// incident service. Pure; Abseil only.
//
// Projection model (documented once, here): the burn rate is LINEAR FROM THE
// PERIOD START: rate = spent / elapsed, elapsed = now - period.start clamped
// to [0, period length]. Projected end-of-period spend = spent x period length
// / elapsed; projected exhaustion = period.start + elapsed x limit / spent
// (the instant the line reaches the limit; in the past when already spent).
// A ROLLING budget's period is [now - window, now), so elapsed is the whole
// window and the projection equals the spend.
//
// Alerts: each threshold fires at most once per ALERT PERIOD: the budget's
// period for daily/weekly/monthly budgets, and for ROLLING budgets the
// window-long interval [epoch + k x window, epoch + (k+1) x window) holding
// now (a rolling window has no fixed start to key on).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cost/core/budget.h"
#include "cost/core/usage.h"

namespace agentwatch::cost {

// Alert names, the `alertname` label.
inline constexpr char kThresholdAlertName[] = "BudgetThresholdCrossed";
inline constexpr char kProjectedAlertName[] = "BudgetProjectedToExceed";
// The alerts' source.
inline constexpr char kAlertSource[] = "agentwatch-cost";

// Guard of the projected-overrun alert: it fires only once at least this
// share of the period has elapsed AND at least this share of the limit is
// spent, so that one early call cannot extrapolate into an alert.
inline constexpr int kProjectionMinElapsedPercent = 10;
inline constexpr int kProjectionMinSpentPercent = 10;

// Where a budget's current period is heading.
struct Projection {
  int64_t burn_rate_nano_usd_per_hour = 0;
  int64_t projected_spend_nano_usd = 0;  // saturates at int64 max
  // Unset when the line does not reach the limit before period.end (or
  // nothing is spent).
  std::optional<absl::Time> exhaustion_time;
  bool projected_to_exceed = false;  // projected_spend > limit
  // Share of the period elapsed, in basis points (0..10000).
  int64_t elapsed_basis_points = 0;
};

// The linear projection of `spent` against `limit` (> 0) over `period` at
// `now` (see the file comment). Integer arithmetic, rounded half up.
Projection ProjectSpend(int64_t spent_nano_usd, int64_t limit_nano_usd, const Period& period,
                        absl::Time now);

// The thresholds (percent, ascending) reached by `spent`: spent x 100 >=
// limit x threshold, exactly.
std::vector<int32_t> ThresholdsReached(const std::vector<int32_t>& thresholds,
                                       int64_t spent_nano_usd, int64_t limit_nano_usd);

// A budget's windows at `now`: the period its spend is measured over and the
// alert period its alerts fire once in.
struct BudgetWindow {
  Period spend_period;
  Period alert_period;
};

// The windows of `budget` at `now`, in its time zone (UTC when the stored
// zone cannot be loaded).
BudgetWindow BudgetWindowAt(const Budget& budget, absl::Time now);

// What kind of budget alert; part of the exactly-once key.
enum class BudgetAlertKind { kThreshold, kProjected };

// Stored names: "threshold", "projected".
absl::string_view BudgetAlertKindName(BudgetAlertKind kind);

// An alert for the incident service (agentwatch.incident.v1.Alert without
// the proto): always FIRING, source kAlertSource.
struct BudgetAlert {
  BudgetAlertKind kind = BudgetAlertKind::kThreshold;
  std::string budget_id;
  absl::Time period_start;
  int32_t threshold_percent = 0;  // kThreshold; 100 for kProjected
  // Stable per (budget, alert period, kind, threshold).
  std::string fingerprint;
  std::string name;
  int32_t severity = 3;  // agentwatch.common.v1.Severity number
  std::string tenant;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  absl::Time starts_at;
};

// The severity of a threshold alert: the budget's alert_severity (default
// P2) below 100 %, one step more severe (P2 -> P1; P0 stays P0) at 100 % and
// above. The projected-overrun alert has the budget's alert_severity.
int32_t ThresholdSeverity(int32_t budget_severity, int32_t threshold_percent);

// Every alert whose condition holds for `budget` with `spent` in `window` at
// `now`: one per threshold reached, plus the projected-overrun alert when the
// budget asks for it (alert_on_projected_overrun), the projection exceeds the
// limit, the limit is not yet reached and the guard holds. The caller fires
// each at most once per (budget, alert period, kind, threshold).
//
// Labels: alertname, tenant, budget_id, budget_name, threshold (percent; "100"
// for the projection). Annotations: summary, percent_used ("81.25"),
// spent_usd, limit_usd, projected_spend_usd (USD with 9 decimals),
// burn_rate_usd_per_hour, period_start, period_end, and
// projected_exhaustion_time when known.
std::vector<BudgetAlert> DueBudgetAlerts(const Budget& budget, const BudgetWindow& window,
                                         int64_t spent_nano_usd, absl::Time now);

// True when one of `records` is inside the budget's scope and its spend
// period, so that it changed the budget's current spend.
bool RecordsTouchBudget(const Budget& budget, const BudgetWindow& window,
                        const std::vector<const UsageRecord*>& records);

// spent / limit in percent with two decimals, exactly rounded half up:
// "81.25".
std::string PercentText(int64_t spent_nano_usd, int64_t limit_nano_usd);

}  // namespace agentwatch::cost
