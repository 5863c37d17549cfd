#include "cost/core/budget_alert.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cost/core/money.h"
#include "cost/core/paging.h"

namespace agentwatch::cost {
namespace {

constexpr int64_t kMicrosPerHour = int64_t{3'600'000'000};

int64_t Saturate(__int128 value) {
  if (value > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (value < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(value);
}

// a x b / c rounded half up, for a, b >= 0 and c > 0.
__int128 MulDiv(__int128 a, __int128 b, __int128 c) { return (a * b + c / 2) / c; }

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string AlertFingerprint(const Budget& budget, absl::Time period_start, BudgetAlertKind kind,
                             int32_t threshold) {
  const std::string key = absl::StrCat(budget.id, "\n", absl::ToUnixMicros(period_start), "\n",
                                       BudgetAlertKindName(kind), "\n", threshold);
  return absl::StrCat("cost-budget-", BudgetAlertKindName(kind), "-",
                      absl::Hex(Fingerprint(key), absl::kZeroPad16));
}

BudgetAlert BaseAlert(const Budget& budget, const BudgetWindow& window, BudgetAlertKind kind,
                      int32_t threshold, int64_t spent, const Projection& projection,
                      absl::Time now) {
  BudgetAlert alert;
  alert.kind = kind;
  alert.budget_id = budget.id;
  alert.period_start = window.alert_period.start;
  alert.threshold_percent = threshold;
  alert.fingerprint = AlertFingerprint(budget, window.alert_period.start, kind, threshold);
  alert.name = kind == BudgetAlertKind::kThreshold ? kThresholdAlertName : kProjectedAlertName;
  alert.tenant = budget.scope.tenant;
  alert.starts_at = now;
  alert.labels = {{"alertname", alert.name},
                  {"tenant", budget.scope.tenant},
                  {"budget_id", budget.id},
                  {"budget_name", budget.name},
                  {"threshold", absl::StrCat(threshold)}};
  alert.annotations = {
      {"percent_used", PercentText(spent, budget.limit_nano_usd)},
      {"spent_usd", FormatUsd(spent)},
      {"limit_usd", FormatUsd(budget.limit_nano_usd)},
      {"projected_spend_usd", FormatUsd(projection.projected_spend_nano_usd)},
      {"burn_rate_usd_per_hour", FormatUsd(projection.burn_rate_nano_usd_per_hour)},
      {"period_start", TimeText(window.spend_period.start)},
      {"period_end", TimeText(window.spend_period.end)},
  };
  if (projection.exhaustion_time.has_value()) {
    alert.annotations["projected_exhaustion_time"] = TimeText(*projection.exhaustion_time);
  }
  return alert;
}

}  // namespace

Projection ProjectSpend(int64_t spent_nano_usd, int64_t limit_nano_usd, const Period& period,
                        absl::Time now) {
  Projection p;
  const int64_t length_us = absl::ToInt64Microseconds(period.end - period.start);
  const int64_t elapsed_us =
      std::clamp<int64_t>(absl::ToInt64Microseconds(now - period.start), 0, length_us);
  p.projected_spend_nano_usd = spent_nano_usd;
  if (length_us > 0) {
    p.elapsed_basis_points = static_cast<int64_t>(MulDiv(elapsed_us, 10'000, length_us));
  }
  const int64_t spent = std::max<int64_t>(spent_nano_usd, 0);
  if (elapsed_us > 0) {
    p.burn_rate_nano_usd_per_hour = Saturate(MulDiv(spent, kMicrosPerHour, elapsed_us));
    p.projected_spend_nano_usd = Saturate(MulDiv(spent, length_us, elapsed_us));
    if (spent > 0) {
      const __int128 reach_us = MulDiv(elapsed_us, limit_nano_usd, spent);
      if (reach_us < length_us) {
        p.exhaustion_time = period.start + absl::Microseconds(static_cast<int64_t>(reach_us));
      }
    }
  }
  p.projected_to_exceed = p.projected_spend_nano_usd > limit_nano_usd;
  return p;
}

std::vector<int32_t> ThresholdsReached(const std::vector<int32_t>& thresholds,
                                       int64_t spent_nano_usd, int64_t limit_nano_usd) {
  std::vector<int32_t> reached;
  for (int32_t t : thresholds) {
    if (static_cast<__int128>(spent_nano_usd) * 100 >= static_cast<__int128>(limit_nano_usd) * t) {
      reached.push_back(t);
    }
  }
  std::sort(reached.begin(), reached.end());
  return reached;
}

BudgetWindow BudgetWindowAt(const Budget& budget, absl::Time now) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(budget.time_zone, &zone)) zone = absl::UTCTimeZone();
  BudgetWindow window;
  window.spend_period = CurrentPeriod(budget.period, budget.rolling_window, zone, now);
  window.alert_period = window.spend_period;
  if (budget.period == BudgetPeriod::kRolling && budget.rolling_window > absl::ZeroDuration()) {
    const int64_t window_us = absl::ToInt64Microseconds(budget.rolling_window);
    const int64_t now_us = absl::ToUnixMicros(now);
    int64_t k = now_us / window_us;
    if (now_us < 0 && now_us % window_us != 0) --k;
    window.alert_period.start = absl::FromUnixMicros(k * window_us);
    window.alert_period.end = window.alert_period.start + budget.rolling_window;
  }
  return window;
}

absl::string_view BudgetAlertKindName(BudgetAlertKind kind) {
  return kind == BudgetAlertKind::kProjected ? "projected" : "threshold";
}

int32_t ThresholdSeverity(int32_t budget_severity, int32_t threshold_percent) {
  if (threshold_percent < 100) return budget_severity;
  return std::max(1, budget_severity - 1);
}

std::vector<BudgetAlert> DueBudgetAlerts(const Budget& budget, const BudgetWindow& window,
                                         int64_t spent_nano_usd, absl::Time now) {
  std::vector<BudgetAlert> alerts;
  const Projection projection =
      ProjectSpend(spent_nano_usd, budget.limit_nano_usd, window.spend_period, now);
  const std::string percent = PercentText(spent_nano_usd, budget.limit_nano_usd);
  for (int32_t t :
       ThresholdsReached(budget.threshold_percents, spent_nano_usd, budget.limit_nano_usd)) {
    BudgetAlert alert =
        BaseAlert(budget, window, BudgetAlertKind::kThreshold, t, spent_nano_usd, projection, now);
    alert.severity = ThresholdSeverity(budget.alert_severity, t);
    alert.annotations["summary"] =
        absl::StrFormat("Budget '%s' of tenant '%s' crossed %d%%: %s%% used, %s of %s USD spent",
                        budget.name, budget.scope.tenant, t, percent, FormatUsd(spent_nano_usd),
                        FormatUsd(budget.limit_nano_usd));
    alerts.push_back(std::move(alert));
  }
  const bool under_limit = spent_nano_usd < budget.limit_nano_usd;
  const bool guard = projection.elapsed_basis_points >= kProjectionMinElapsedPercent * 100 &&
                     static_cast<__int128>(spent_nano_usd) * 100 >=
                         static_cast<__int128>(budget.limit_nano_usd) * kProjectionMinSpentPercent;
  if (budget.alert_on_projected_overrun && projection.projected_to_exceed && under_limit && guard) {
    BudgetAlert alert = BaseAlert(budget, window, BudgetAlertKind::kProjected, 100, spent_nano_usd,
                                  projection, now);
    alert.severity = budget.alert_severity;
    alert.annotations["summary"] = absl::StrFormat(
        "Budget '%s' of tenant '%s' is projected to reach %s USD against a limit of %s USD "
        "before its period ends",
        budget.name, budget.scope.tenant, FormatUsd(projection.projected_spend_nano_usd),
        FormatUsd(budget.limit_nano_usd));
    alerts.push_back(std::move(alert));
  }
  return alerts;
}

bool RecordsTouchBudget(const Budget& budget, const BudgetWindow& window,
                        const std::vector<const UsageRecord*>& records) {
  for (const UsageRecord* r : records) {
    if (r->time >= window.spend_period.start && r->time < window.spend_period.end &&
        ScopeCovers(budget.scope, r->scope)) {
      return true;
    }
  }
  return false;
}

std::string PercentText(int64_t spent_nano_usd, int64_t limit_nano_usd) {
  if (limit_nano_usd <= 0) return "0.00";
  const __int128 spent = spent_nano_usd;
  const bool negative = spent < 0;
  const __int128 magnitude = negative ? -spent : spent;
  const __int128 hundredths = MulDiv(magnitude, 10'000, limit_nano_usd);
  return absl::StrFormat("%s%d.%02d", negative ? "-" : "", static_cast<int64_t>(hundredths / 100),
                         static_cast<int64_t>(hundredths % 100));
}

}  // namespace agentwatch::cost
