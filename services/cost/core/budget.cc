#include "cost/core/budget.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "common/status_macros.h"

namespace agentwatch::cost {
namespace {

using common::InvalidField;

absl::Time FirstInstant(const absl::CivilSecond& civil, const absl::TimeZone& zone) {
  const absl::TimeZone::TimeInfo info = zone.At(civil);
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

int64_t Remaining(const BudgetSpend& s) {
  const __int128 remaining = static_cast<__int128>(s.budget->limit_nano_usd) - s.spent_nano_usd;
  if (remaining < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(remaining);
}

bool WouldExceed(const BudgetSpend& s, int64_t estimate) {
  return static_cast<__int128>(s.spent_nano_usd) + estimate > s.budget->limit_nano_usd;
}

double PercentUsed(const BudgetSpend& s) {
  return static_cast<double>(s.spent_nano_usd) * 100.0 /
         static_cast<double>(s.budget->limit_nano_usd);
}

}  // namespace

absl::string_view BudgetPeriodName(BudgetPeriod period) {
  switch (period) {
    case BudgetPeriod::kDaily:
      return "daily";
    case BudgetPeriod::kWeekly:
      return "weekly";
    case BudgetPeriod::kRolling:
      return "rolling";
    case BudgetPeriod::kMonthly:
      break;
  }
  return "monthly";
}

bool ParseBudgetPeriod(absl::string_view name, BudgetPeriod* period) {
  for (BudgetPeriod p : {BudgetPeriod::kDaily, BudgetPeriod::kWeekly, BudgetPeriod::kMonthly,
                         BudgetPeriod::kRolling}) {
    if (BudgetPeriodName(p) == name) {
      *period = p;
      return true;
    }
  }
  return false;
}

absl::string_view EnforcementName(Enforcement enforcement) {
  return enforcement == Enforcement::kHard ? "hard" : "soft";
}

bool ParseEnforcement(absl::string_view name, Enforcement* enforcement) {
  if (name == "hard") {
    *enforcement = Enforcement::kHard;
  } else if (name == "soft") {
    *enforcement = Enforcement::kSoft;
  } else {
    return false;
  }
  return true;
}

std::string MakeBudgetId(absl::string_view tenant, uint64_t random) {
  return absl::StrCat(absl::WebSafeBase64Escape(tenant), ".", absl::Hex(random, absl::kZeroPad16));
}

absl::StatusOr<std::string> TenantOfBudgetId(absl::string_view id, absl::string_view field) {
  const size_t dot = id.rfind('.');
  std::string tenant;
  uint64_t random = 0;
  if (dot == absl::string_view::npos || dot == 0 || id.size() - dot - 1 != 16 ||
      !absl::SimpleHexAtoi(id.substr(dot + 1), &random) ||
      !absl::WebSafeBase64Unescape(id.substr(0, dot), &tenant) || tenant.empty() ||
      MakeBudgetId(tenant, random) != id) {
    return InvalidField(field, "not a budget id");
  }
  return tenant;
}

absl::Status NormalizeBudget(Budget* budget) {
  if (budget->name.empty()) return InvalidField("budget.name", "required");
  if (budget->name.size() > kMaxBudgetNameBytes) {
    return InvalidField("budget.name", absl::StrCat("at most ", kMaxBudgetNameBytes, " bytes"));
  }
  RETURN_IF_ERROR(ValidateScope(budget->scope, "budget.scope", true));
  if (budget->limit_nano_usd <= 0) return InvalidField("budget.limit_nano_usd", "must be > 0");
  if (budget->period == BudgetPeriod::kRolling) {
    if (budget->rolling_window < kMinRollingWindow || budget->rolling_window > kMaxRollingWindow) {
      return InvalidField("budget.rolling_window",
                          "required with BUDGET_PERIOD_ROLLING, from 1 hour to 90 days");
    }
  } else if (budget->rolling_window != absl::ZeroDuration()) {
    return InvalidField("budget.rolling_window", "only with BUDGET_PERIOD_ROLLING");
  }
  if (budget->threshold_percents.empty()) budget->threshold_percents = {80, 100};
  std::sort(budget->threshold_percents.begin(), budget->threshold_percents.end());
  for (size_t i = 0; i < budget->threshold_percents.size(); ++i) {
    const int32_t t = budget->threshold_percents[i];
    if (t < 1 || t > 1000) {
      return InvalidField("budget.threshold_percents", "each must be in 1..1000");
    }
    if (i > 0 && t == budget->threshold_percents[i - 1]) {
      return InvalidField("budget.threshold_percents", absl::StrCat("duplicate ", t));
    }
  }
  if (budget->time_zone.empty()) budget->time_zone = "UTC";
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(budget->time_zone, &zone)) {
    return InvalidField("budget.time_zone",
                        absl::StrCat("unknown time zone '", budget->time_zone, "'"));
  }
  return absl::OkStatus();
}

Period CurrentPeriod(BudgetPeriod period, absl::Duration rolling_window, const absl::TimeZone& zone,
                     absl::Time now) {
  const absl::CivilDay today = absl::ToCivilDay(now, zone);
  switch (period) {
    case BudgetPeriod::kDaily:
      return {FirstInstant(absl::CivilSecond(today), zone),
              FirstInstant(absl::CivilSecond(today + 1), zone)};
    case BudgetPeriod::kWeekly: {
      // Days since Monday: GetWeekday orders Monday..Sunday as 0..6.
      const int since_monday = static_cast<int>(absl::GetWeekday(today));
      const absl::CivilDay monday = today - since_monday;
      return {FirstInstant(absl::CivilSecond(monday), zone),
              FirstInstant(absl::CivilSecond(monday + 7), zone)};
    }
    case BudgetPeriod::kMonthly: {
      const absl::CivilMonth month(today);
      return {FirstInstant(absl::CivilSecond(month), zone),
              FirstInstant(absl::CivilSecond(month + 1), zone)};
    }
    case BudgetPeriod::kRolling:
      break;
  }
  return {now - rolling_window, now};
}

BudgetDecision DecideBudgets(absl::Span<const BudgetSpend> spends,
                             int64_t estimated_cost_nano_usd) {
  BudgetDecision decision;
  if (spends.empty()) {
    decision.reason = "no budget applies";
    return decision;
  }
  std::vector<const BudgetSpend*> ordered;
  for (const BudgetSpend& s : spends) {
    ordered.push_back(&s);
    decision.matched_budget_ids.push_back(s.budget->id);
  }
  std::sort(ordered.begin(), ordered.end(), [](const BudgetSpend* a, const BudgetSpend* b) {
    const int64_t ra = Remaining(*a);
    const int64_t rb = Remaining(*b);
    if (ra != rb) return ra < rb;
    return a->budget->id < b->budget->id;
  });
  const BudgetSpend* reported = ordered.front();
  const BudgetSpend* first_soft_exceeded = nullptr;
  for (const BudgetSpend* s : ordered) {
    if (!WouldExceed(*s, estimated_cost_nano_usd)) continue;
    if (s->budget->enforcement == Enforcement::kHard) {
      decision.allowed = false;
      reported = s;
      break;
    }
    decision.soft_limit_exceeded = true;
    if (first_soft_exceeded == nullptr) first_soft_exceeded = s;
  }
  decision.budget_id = reported->budget->id;
  decision.remaining_nano_usd = Remaining(*reported);
  decision.enforcement = reported->budget->enforcement;
  decision.percent_used = PercentUsed(*reported);
  decision.period_end = reported->period.end;
  if (!decision.allowed) {
    decision.reason = absl::StrFormat(
        "budget '%s' would exceed its limit: spent %d + estimate %d > limit %d nano-USD",
        reported->budget->name, reported->spent_nano_usd, estimated_cost_nano_usd,
        reported->budget->limit_nano_usd);
  } else if (first_soft_exceeded != nullptr) {
    decision.reason = absl::StrFormat(
        "allowed; soft budget '%s' would exceed its limit: spent %d + estimate %d > limit %d "
        "nano-USD",
        first_soft_exceeded->budget->name, first_soft_exceeded->spent_nano_usd,
        estimated_cost_nano_usd, first_soft_exceeded->budget->limit_nano_usd);
  } else {
    decision.reason = absl::StrFormat("within every budget; budget '%s' has %d nano-USD left",
                                      reported->budget->name, decision.remaining_nano_usd);
  }
  return decision;
}

}  // namespace agentwatch::cost
