// Unit tests of budgets: validation, period boundaries (month ends, leap
// days, ISO weeks, time zones, DST), the pre-flight decision, ids.
#include "cost/core/budget.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "absl/time/civil_time.h"
#include "common/testing/status_matchers.h"

namespace agentwatch::cost {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::Time Utc(int y, int m, int d, int h = 0, int min = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, h, min, s), absl::UTCTimeZone());
}

absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone(name, &zone)) << name;
  return zone;
}

Period Of(BudgetPeriod period, const std::string& zone, absl::Time now) {
  return CurrentPeriod(period, absl::ZeroDuration(), Zone(zone), now);
}

TEST(CurrentPeriodTest, DailyInUtcAndInAZone) {
  Period p = Of(BudgetPeriod::kDaily, "UTC", Utc(2026, 3, 15, 13, 45));
  EXPECT_EQ(p.start, Utc(2026, 3, 15));
  EXPECT_EQ(p.end, Utc(2026, 3, 16));
  // 01:00 UTC is still the previous day in New York (UTC-5 in winter).
  p = Of(BudgetPeriod::kDaily, "America/New_York", Utc(2026, 1, 10, 1));
  EXPECT_EQ(p.start, Utc(2026, 1, 9, 5));
  EXPECT_EQ(p.end, Utc(2026, 1, 10, 5));
  // The exact start belongs to the period; the end to the next one.
  p = Of(BudgetPeriod::kDaily, "UTC", Utc(2026, 3, 16));
  EXPECT_EQ(p.start, Utc(2026, 3, 16));
}

TEST(CurrentPeriodTest, DailyAcrossDaylightSavingChanges) {
  // 2026-03-08 in New York lasts 23 hours, 2026-11-01 lasts 25.
  Period p = Of(BudgetPeriod::kDaily, "America/New_York", Utc(2026, 3, 8, 12));
  EXPECT_EQ(p.start, Utc(2026, 3, 8, 5));
  EXPECT_EQ(p.end, Utc(2026, 3, 9, 4));
  EXPECT_EQ(p.end - p.start, absl::Hours(23));
  p = Of(BudgetPeriod::kDaily, "America/New_York", Utc(2026, 11, 1, 12));
  EXPECT_EQ(p.end - p.start, absl::Hours(25));
  // Chile skips local midnight when DST starts (2024-09-08 00:00 does not
  // exist): the day starts at the first instant after the gap.
  p = Of(BudgetPeriod::kDaily, "America/Santiago", Utc(2024, 9, 8, 12));
  EXPECT_EQ(p.start, Utc(2024, 9, 8, 4));
  EXPECT_EQ(p.end, Utc(2024, 9, 9, 3));
}

TEST(CurrentPeriodTest, MonthlyAcrossMonthEndsAndLeapDays) {
  Period p = Of(BudgetPeriod::kMonthly, "UTC", Utc(2026, 1, 31, 23, 59, 59));
  EXPECT_EQ(p.start, Utc(2026, 1, 1));
  EXPECT_EQ(p.end, Utc(2026, 2, 1));
  p = Of(BudgetPeriod::kMonthly, "UTC", Utc(2026, 2, 1));
  EXPECT_EQ(p.start, Utc(2026, 2, 1));
  EXPECT_EQ(p.end, Utc(2026, 3, 1));
  // Leap year: February 29th is in February, which has 29 days.
  p = Of(BudgetPeriod::kMonthly, "UTC", Utc(2024, 2, 29, 12));
  EXPECT_EQ(p.start, Utc(2024, 2, 1));
  EXPECT_EQ(p.end, Utc(2024, 3, 1));
  EXPECT_EQ(p.end - p.start, absl::Hours(29 * 24));
  EXPECT_EQ(Of(BudgetPeriod::kMonthly, "UTC", Utc(2025, 2, 10)).end, Utc(2025, 3, 1));
  // December rolls into the next year.
  p = Of(BudgetPeriod::kMonthly, "UTC", Utc(2025, 12, 31, 18));
  EXPECT_EQ(p.end, Utc(2026, 1, 1));
  // In Tokyo (UTC+9) 2026-01-31T20:00Z is already February.
  p = Of(BudgetPeriod::kMonthly, "Asia/Tokyo", Utc(2026, 1, 31, 20));
  EXPECT_EQ(p.start, Utc(2026, 1, 31, 15));
  EXPECT_EQ(p.end, Utc(2026, 2, 28, 15));
  // In Los Angeles (UTC-8) 2026-03-01T05:00Z is still February.
  p = Of(BudgetPeriod::kMonthly, "America/Los_Angeles", Utc(2026, 3, 1, 5));
  EXPECT_EQ(p.start, Utc(2026, 2, 1, 8));
  EXPECT_EQ(p.end, Utc(2026, 3, 1, 8));
}

TEST(CurrentPeriodTest, WeeklyFromMonday) {
  // 2024-12-31 is a Tuesday: the week started Monday 2024-12-30.
  Period p = Of(BudgetPeriod::kWeekly, "UTC", Utc(2024, 12, 31, 9));
  EXPECT_EQ(p.start, Utc(2024, 12, 30));
  EXPECT_EQ(p.end, Utc(2025, 1, 6));
  // Sunday belongs to the week that started six days before.
  p = Of(BudgetPeriod::kWeekly, "UTC", Utc(2026, 3, 15, 23));
  EXPECT_EQ(p.start, Utc(2026, 3, 9));
  // Monday 00:00 starts a new week.
  p = Of(BudgetPeriod::kWeekly, "UTC", Utc(2026, 3, 16));
  EXPECT_EQ(p.start, Utc(2026, 3, 16));
  // Sunday 23:30 UTC is Monday in Berlin.
  p = Of(BudgetPeriod::kWeekly, "Europe/Berlin", Utc(2026, 3, 15, 23, 30));
  EXPECT_EQ(p.start, Utc(2026, 3, 15, 23));
  // A week containing the spring DST change is an hour short.
  p = Of(BudgetPeriod::kWeekly, "Europe/Berlin", Utc(2026, 3, 25));
  EXPECT_EQ(p.end - p.start, absl::Hours(7 * 24 - 1));
}

TEST(CurrentPeriodTest, RollingWindowEndsNow) {
  const absl::Time now = Utc(2026, 3, 1, 12);
  Period p = CurrentPeriod(BudgetPeriod::kRolling, absl::Hours(24), absl::UTCTimeZone(), now);
  EXPECT_EQ(p.start, Utc(2026, 2, 28, 12));
  EXPECT_EQ(p.end, now);
}

Budget Valid() {
  Budget b;
  b.name = "team-a monthly";
  b.scope.tenant = "acme";
  b.scope.team = "a";
  b.period = BudgetPeriod::kMonthly;
  b.limit_nano_usd = 1'000'000'000;
  return b;
}

TEST(NormalizeBudgetTest, FillsDefaults) {
  Budget b = Valid();
  ASSERT_THAT(NormalizeBudget(&b), IsOk());
  EXPECT_THAT(b.threshold_percents, ElementsAre(80, 100));
  EXPECT_EQ(b.time_zone, "UTC");
  b.threshold_percents = {100, 50, 90};
  ASSERT_THAT(NormalizeBudget(&b), IsOk());
  EXPECT_THAT(b.threshold_percents, ElementsAre(50, 90, 100));
}

TEST(NormalizeBudgetTest, NamesTheField) {
  struct Case {
    std::function<void(Budget&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](Budget& b) { b.name.clear(); }, "budget.name"},
      {[](Budget& b) { b.name = std::string(201, 'n'); }, "budget.name"},
      {[](Budget& b) { b.scope.tenant.clear(); }, "budget.scope.tenant"},
      {[](Budget& b) { b.limit_nano_usd = 0; }, "budget.limit_nano_usd"},
      {[](Budget& b) { b.limit_nano_usd = -5; }, "budget.limit_nano_usd"},
      {[](Budget& b) { b.period = BudgetPeriod::kRolling; }, "budget.rolling_window"},
      {[](Budget& b) {
         b.period = BudgetPeriod::kRolling;
         b.rolling_window = absl::Minutes(59);
       },
       "budget.rolling_window"},
      {[](Budget& b) {
         b.period = BudgetPeriod::kRolling;
         b.rolling_window = absl::Hours(24 * 91);
       },
       "budget.rolling_window"},
      {[](Budget& b) { b.rolling_window = absl::Hours(2); }, "budget.rolling_window"},
      {[](Budget& b) { b.threshold_percents = {0}; }, "budget.threshold_percents"},
      {[](Budget& b) { b.threshold_percents = {1001}; }, "budget.threshold_percents"},
      {[](Budget& b) {
         b.threshold_percents = {80, 80};
       },
       "budget.threshold_percents"},
      {[](Budget& b) { b.time_zone = "Nowhere/Land"; }, "budget.time_zone"},
  };
  for (const Case& c : cases) {
    Budget b = Valid();
    c.mutate(b);
    EXPECT_THAT(NormalizeBudget(&b),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.field)))
        << c.field;
  }
  Budget rolling = Valid();
  rolling.period = BudgetPeriod::kRolling;
  rolling.rolling_window = absl::Hours(1);
  EXPECT_THAT(NormalizeBudget(&rolling), IsOk());
}

TEST(DecideBudgetsTest, NoBudgetAllowsWithUnlimitedRemaining) {
  const BudgetDecision d = DecideBudgets({}, 1'000);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining_nano_usd, std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(d.budget_id.empty());
}

TEST(DecideBudgetsTest, HardDeniesSoftOnlyFlags) {
  Budget hard = Valid();
  hard.id = "h";
  hard.enforcement = Enforcement::kHard;
  hard.limit_nano_usd = 1000;
  Budget soft = Valid();
  soft.id = "s";
  soft.name = "soft";
  soft.limit_nano_usd = 500;
  const Period period{Utc(2026, 3, 1), Utc(2026, 4, 1)};
  std::vector<BudgetSpend> spends = {{&hard, period, 900}, {&soft, period, 450}};
  // 100 more fits the hard budget exactly; the soft one (50 left) is exceeded.
  BudgetDecision d = DecideBudgets(spends, 100);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.soft_limit_exceeded);
  EXPECT_EQ(d.budget_id, "s");  // the most constraining: 50 left
  EXPECT_EQ(d.remaining_nano_usd, 50);
  EXPECT_EQ(d.enforcement, Enforcement::kSoft);
  EXPECT_DOUBLE_EQ(d.percent_used, 90.0);
  EXPECT_EQ(d.period_end, Utc(2026, 4, 1));
  EXPECT_THAT(d.matched_budget_ids, ElementsAre("h", "s"));
  EXPECT_THAT(d.reason, HasSubstr("soft"));
  // One nano-USD more would exceed the hard budget: denied, and it is reported.
  d = DecideBudgets(spends, 101);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.budget_id, "h");
  EXPECT_EQ(d.remaining_nano_usd, 100);
  EXPECT_EQ(d.enforcement, Enforcement::kHard);
  EXPECT_THAT(d.reason, HasSubstr("'team-a monthly' would exceed its limit"));
  // Within every budget.
  d = DecideBudgets(spends, 10);
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.soft_limit_exceeded);
}

TEST(DecideBudgetsTest, OverspentBudgetHasNegativeRemaining) {
  Budget b = Valid();
  b.id = "b";
  b.enforcement = Enforcement::kHard;
  b.limit_nano_usd = 100;
  const BudgetSpend spend{&b, {Utc(2026, 3, 1), Utc(2026, 4, 1)}, 150};
  const BudgetDecision d = DecideBudgets({spend}, 0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining_nano_usd, -50);
  EXPECT_DOUBLE_EQ(d.percent_used, 150.0);
}

TEST(BudgetIdTest, EmbedsTheTenant) {
  const std::string id = MakeBudgetId("acme/eu", 0xabcdef);
  EXPECT_THAT(TenantOfBudgetId(id, "id"), IsOkAndHolds("acme/eu"));
  for (const std::string& bad :
       {std::string(""), std::string("nodot"), std::string(".0000000000abcdef"),
        std::string("YWNtZQ.xyz"), std::string("YWNtZQ.0000000000ABCDEF"),
        std::string("!!!.0000000000abcdef")}) {
    EXPECT_THAT(TenantOfBudgetId(bad, "id"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id")))
        << bad;
  }
}

}  // namespace
}  // namespace agentwatch::cost
