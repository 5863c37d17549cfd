// Budgets: validation, period boundaries and the pre-flight decision. Pure;
// Abseil only.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cost/core/scope.h"

namespace agentwatch::cost {

// How a budget's period is laid out.
enum class BudgetPeriod { kDaily, kWeekly, kMonthly, kRolling };

// Stored names: "daily", "weekly", "monthly", "rolling".
absl::string_view BudgetPeriodName(BudgetPeriod period);
bool ParseBudgetPeriod(absl::string_view name, BudgetPeriod* period);

// Soft budgets alert only; hard ones make CheckBudget deny.
enum class Enforcement { kSoft, kHard };

// Stored names: "soft", "hard".
absl::string_view EnforcementName(Enforcement enforcement);
bool ParseEnforcement(absl::string_view name, Enforcement* enforcement);

// Limits of a budget's fields.
inline constexpr int kMaxBudgetsPerTenant = 1'000;
inline constexpr size_t kMaxBudgetNameBytes = 200;
inline constexpr absl::Duration kMinRollingWindow = absl::Hours(1);
inline constexpr absl::Duration kMaxRollingWindow = absl::Hours(24 * 90);

// A spend budget. Severity is the agentwatch.common.v1.Severity number.
struct Budget {
  std::string id;
  std::string name;
  Scope scope;  // scope.tenant required
  BudgetPeriod period = BudgetPeriod::kMonthly;
  absl::Duration rolling_window = absl::ZeroDuration();  // kRolling only
  int64_t limit_nano_usd = 0;
  std::vector<int32_t> threshold_percents;
  Enforcement enforcement = Enforcement::kSoft;
  std::string time_zone = "UTC";
  bool alert_on_projected_overrun = false;
  int32_t alert_severity = 3;  // P2
  std::string request_id;
  absl::Time create_time = absl::InfinitePast();
  absl::Time update_time = absl::InfinitePast();
};

// Checks a budget to create and fills defaults (thresholds [80, 100] when
// empty, sorted): name 1..200 bytes, scope valid with tenant, limit > 0,
// rolling_window in [1h, 90d] for kRolling and unset otherwise, thresholds in
// 1..1000 without duplicates, a known time zone. INVALID_ARGUMENT naming
// budget.<field>.
absl::Status NormalizeBudget(Budget* budget);

// A budget id: the tenant (URL-safe base64) and 16 hex digits of `random`,
// so every lookup by id can lead with the tenant.
std::string MakeBudgetId(absl::string_view tenant, uint64_t random);

// The tenant of a budget id made by MakeBudgetId. INVALID_ARGUMENT naming
// `field` when the id is malformed.
absl::StatusOr<std::string> TenantOfBudgetId(absl::string_view id, absl::string_view field);

// A half-open period [start, end).
struct Period {
  absl::Time start;
  absl::Time end;
};

// The period of a budget containing `now`: the calendar day, ISO week (from
// Monday 00:00) or month in `zone`, or [now - window, now) for kRolling. A
// local midnight skipped by a DST change starts at the first instant after
// it.
Period CurrentPeriod(BudgetPeriod period, absl::Duration rolling_window, const absl::TimeZone& zone,
                     absl::Time now);

// One applicable budget with its spend in the current period.
struct BudgetSpend {
  const Budget* budget = nullptr;
  Period period;
  int64_t spent_nano_usd = 0;
};

// The pre-flight decision over every budget whose scope covers the call.
struct BudgetDecision {
  bool allowed = true;
  int64_t remaining_nano_usd = std::numeric_limits<int64_t>::max();
  std::string budget_id;
  std::string reason;
  std::optional<Enforcement> enforcement;
  double percent_used = 0;
  std::optional<absl::Time> period_end;
  bool soft_limit_exceeded = false;
  std::vector<std::string> matched_budget_ids;
};

// Decides a call of `estimated_cost_nano_usd` against the applicable budgets:
// denied when a HARD budget's spent + estimate would exceed its limit (the
// first such budget by remaining, then id, is reported); otherwise the most
// constraining budget (least remaining, then id) is reported, with
// soft_limit_exceeded when a SOFT budget would be exceeded. Without budgets:
// allowed with remaining = int64 max.
BudgetDecision DecideBudgets(absl::Span<const BudgetSpend> spends, int64_t estimated_cost_nano_usd);

}  // namespace agentwatch::cost
