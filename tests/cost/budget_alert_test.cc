// Unit tests of budget projections and alerts: the linear burn rate from the
// period start, projected spend and exhaustion, exact threshold arithmetic,
// alert periods (rolling budgets), severities, fingerprints and the guard of
// the projected-overrun alert. Time comes from a FakeClock.
#include "cost/core/budget_alert.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "absl/time/civil_time.h"
#include "common/clock.h"

namespace agentwatch::cost {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::SizeIs;

absl::Time Utc(int y, int m, int d, int h = 0, int min = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, h, min, 0), absl::UTCTimeZone());
}

Budget Monthly(int64_t limit) {
  Budget b;
  b.id = MakeBudgetId("acme", 42);
  b.name = "team-a monthly";
  b.scope.tenant = "acme";
  b.scope.team = "a";
  b.period = BudgetPeriod::kMonthly;
  b.limit_nano_usd = limit;
  b.threshold_percents = {80, 100};
  return b;
}

TEST(ProjectSpendTest, LinearFromThePeriodStart) {
  // April has 30 days; 6 days in, 30 USD spent: 5 USD a day, 150 USD at the end.
  common::FakeClock clock(Utc(2026, 4, 7));
  const Period april{Utc(2026, 4, 1), Utc(2026, 5, 1)};
  const Projection p = ProjectSpend(30'000'000'000, 100'000'000'000, april, clock.Now());
  EXPECT_EQ(p.burn_rate_nano_usd_per_hour, 30'000'000'000 / (6 * 24));
  EXPECT_EQ(p.projected_spend_nano_usd, 150'000'000'000);
  EXPECT_TRUE(p.projected_to_exceed);
  EXPECT_EQ(p.elapsed_basis_points, 2000);
  // 100 USD at 5 USD a day: 20 days after the start.
  EXPECT_THAT(p.exhaustion_time, Optional(Utc(2026, 4, 21)));

  // Slower: 10 USD in 6 days reaches 50 USD; no exhaustion inside April.
  const Projection slow = ProjectSpend(10'000'000'000, 100'000'000'000, april, clock.Now());
  EXPECT_EQ(slow.projected_spend_nano_usd, 50'000'000'000);
  EXPECT_FALSE(slow.projected_to_exceed);
  EXPECT_EQ(slow.exhaustion_time, std::nullopt);
}

TEST(ProjectSpendTest, EdgesOfThePeriod) {
  const Period april{Utc(2026, 4, 1), Utc(2026, 5, 1)};
  // At the very start nothing can be extrapolated.
  const Projection start = ProjectSpend(5, 100, april, Utc(2026, 4, 1));
  EXPECT_EQ(start.burn_rate_nano_usd_per_hour, 0);
  EXPECT_EQ(start.projected_spend_nano_usd, 5);
  EXPECT_EQ(start.exhaustion_time, std::nullopt);
  // Nothing spent: no exhaustion.
  EXPECT_EQ(ProjectSpend(0, 100, april, Utc(2026, 4, 10)).exhaustion_time, std::nullopt);
  // Already over: the line reached the limit in the past.
  const Projection over = ProjectSpend(200, 100, april, Utc(2026, 4, 11));
  EXPECT_THAT(over.exhaustion_time, Optional(Utc(2026, 4, 6)));
  // Huge spend early saturates instead of overflowing.
  const Projection huge = ProjectSpend(std::numeric_limits<int64_t>::max(), 1, april,
                                       Utc(2026, 4, 1) + absl::Seconds(1));
  EXPECT_EQ(huge.projected_spend_nano_usd, std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(huge.projected_to_exceed);
}

TEST(ThresholdsReachedTest, ExactIntegerComparison) {
  EXPECT_THAT(ThresholdsReached({80, 100}, 799'999'999, 1'000'000'000), IsEmpty());
  EXPECT_THAT(ThresholdsReached({80, 100}, 800'000'000, 1'000'000'000), ElementsAre(80));
  EXPECT_THAT(ThresholdsReached({100, 80}, 1'000'000'000, 1'000'000'000), ElementsAre(80, 100));
  EXPECT_THAT(ThresholdsReached({50, 150}, 1'500'000'000, 1'000'000'000), ElementsAre(50, 150));
  // 1 nano-USD limit, 80 %: 1 nano-USD reaches it (100 >= 80).
  EXPECT_THAT(ThresholdsReached({80}, 1, 1), ElementsAre(80));
  EXPECT_THAT(ThresholdsReached({80}, std::numeric_limits<int64_t>::max(),
                                std::numeric_limits<int64_t>::max()),
              ElementsAre(80));
}

TEST(PercentTextTest, TwoDecimalsRoundedHalfUp) {
  EXPECT_EQ(PercentText(812'500'000, 1'000'000'000), "81.25");
  EXPECT_EQ(PercentText(1, 3), "33.33");
  EXPECT_EQ(PercentText(2, 3), "66.67");
  EXPECT_EQ(PercentText(3'000, 1'000), "300.00");
  EXPECT_EQ(PercentText(0, 1'000), "0.00");
}

TEST(BudgetWindowTest, CalendarPeriodsAndRollingEpochs) {
  Budget monthly = Monthly(100);
  monthly.time_zone = "America/New_York";
  const BudgetWindow w = BudgetWindowAt(monthly, Utc(2026, 3, 1, 3));
  // 03:00 UTC on March 1st is still February in New York.
  EXPECT_EQ(w.spend_period.start, Utc(2026, 2, 1, 5));
  EXPECT_EQ(w.alert_period.start, w.spend_period.start);

  Budget rolling = Monthly(100);
  rolling.period = BudgetPeriod::kRolling;
  rolling.rolling_window = absl::Hours(24);
  const absl::Time now = Utc(2026, 3, 10, 15, 30);
  const BudgetWindow r = BudgetWindowAt(rolling, now);
  EXPECT_EQ(r.spend_period.start, now - absl::Hours(24));
  EXPECT_EQ(r.spend_period.end, now);
  EXPECT_EQ(r.alert_period.start, Utc(2026, 3, 10));
  EXPECT_EQ(r.alert_period.end, Utc(2026, 3, 11));
  EXPECT_EQ(BudgetWindowAt(rolling, now + absl::Hours(5)).alert_period.start, Utc(2026, 3, 10));
  EXPECT_EQ(BudgetWindowAt(rolling, now + absl::Hours(9)).alert_period.start, Utc(2026, 3, 11));
}

TEST(ThresholdSeverityTest, OneStepMoreSevereAtTheLimit) {
  EXPECT_EQ(ThresholdSeverity(3, 80), 3);   // P2
  EXPECT_EQ(ThresholdSeverity(3, 100), 2);  // P1
  EXPECT_EQ(ThresholdSeverity(3, 150), 2);
  EXPECT_EQ(ThresholdSeverity(1, 100), 1);  // P0 stays P0
  EXPECT_EQ(ThresholdSeverity(4, 100), 3);
}

TEST(DueBudgetAlertsTest, ThresholdAlertsCarryTheFigures) {
  common::FakeClock clock(Utc(2026, 4, 7));
  const Budget b = Monthly(100'000'000'000);
  const BudgetWindow w = BudgetWindowAt(b, clock.Now());
  EXPECT_THAT(DueBudgetAlerts(b, w, 79'999'999'999, clock.Now()), IsEmpty());
  const std::vector<BudgetAlert> alerts = DueBudgetAlerts(b, w, 100'000'000'000, clock.Now());
  ASSERT_THAT(alerts, SizeIs(2));
  const BudgetAlert& at80 = alerts[0];
  EXPECT_EQ(at80.name, "BudgetThresholdCrossed");
  EXPECT_EQ(at80.kind, BudgetAlertKind::kThreshold);
  EXPECT_EQ(at80.threshold_percent, 80);
  EXPECT_EQ(at80.severity, 3);
  EXPECT_EQ(at80.tenant, "acme");
  EXPECT_EQ(at80.period_start, Utc(2026, 4, 1));
  EXPECT_EQ(at80.starts_at, clock.Now());
  EXPECT_EQ(at80.labels.at("alertname"), "BudgetThresholdCrossed");
  EXPECT_EQ(at80.labels.at("tenant"), "acme");
  EXPECT_EQ(at80.labels.at("budget_id"), b.id);
  EXPECT_EQ(at80.labels.at("budget_name"), "team-a monthly");
  EXPECT_EQ(at80.labels.at("threshold"), "80");
  EXPECT_EQ(at80.annotations.at("percent_used"), "100.00");
  EXPECT_EQ(at80.annotations.at("spent_usd"), "100.000000000");
  EXPECT_EQ(at80.annotations.at("limit_usd"), "100.000000000");
  EXPECT_EQ(at80.annotations.at("projected_spend_usd"), "500.000000000");
  EXPECT_EQ(at80.annotations.at("period_start"), "2026-04-01T00:00:00Z");
  EXPECT_EQ(at80.annotations.at("period_end"), "2026-05-01T00:00:00Z");
  EXPECT_THAT(at80.annotations.at("summary"), HasSubstr("crossed 80%"));
  const BudgetAlert& at100 = alerts[1];
  EXPECT_EQ(at100.threshold_percent, 100);
  EXPECT_EQ(at100.severity, 2);
  EXPECT_NE(at100.fingerprint, at80.fingerprint);

  // Fingerprints are stable within a period and differ in the next one.
  clock.Advance(absl::Hours(24));
  const std::vector<BudgetAlert> later =
      DueBudgetAlerts(b, BudgetWindowAt(b, clock.Now()), 100'000'000'000, clock.Now());
  ASSERT_THAT(later, SizeIs(2));
  EXPECT_EQ(later[0].fingerprint, at80.fingerprint);
  clock.Set(Utc(2026, 5, 2));
  const std::vector<BudgetAlert> may =
      DueBudgetAlerts(b, BudgetWindowAt(b, clock.Now()), 100'000'000'000, clock.Now());
  ASSERT_THAT(may, SizeIs(2));
  EXPECT_NE(may[0].fingerprint, at80.fingerprint);
  EXPECT_EQ(may[0].period_start, Utc(2026, 5, 1));
}

TEST(DueBudgetAlertsTest, ProjectedOverrunNeedsOptInAndTheGuard) {
  common::FakeClock clock(Utc(2026, 4, 7));  // 20 % of April elapsed
  Budget b = Monthly(100'000'000'000);
  b.threshold_percents = {100};
  // 30 USD in 6 days heads for 150 USD, but the budget did not opt in.
  EXPECT_THAT(DueBudgetAlerts(b, BudgetWindowAt(b, clock.Now()), 30'000'000'000, clock.Now()),
              IsEmpty());
  b.alert_on_projected_overrun = true;
  std::vector<BudgetAlert> alerts =
      DueBudgetAlerts(b, BudgetWindowAt(b, clock.Now()), 30'000'000'000, clock.Now());
  ASSERT_THAT(alerts, SizeIs(1));
  EXPECT_EQ(alerts[0].name, "BudgetProjectedToExceed");
  EXPECT_EQ(alerts[0].kind, BudgetAlertKind::kProjected);
  EXPECT_EQ(alerts[0].severity, 3);
  EXPECT_EQ(alerts[0].annotations.at("projected_exhaustion_time"), "2026-04-21T00:00:00Z");
  // Guard: under 10 % of the limit spent does not extrapolate.
  EXPECT_THAT(DueBudgetAlerts(b, BudgetWindowAt(b, clock.Now()), 9'999'999'999, clock.Now()),
              IsEmpty());
  // Guard: under 10 % of the period elapsed does not either (2 days of 30).
  clock.Set(Utc(2026, 4, 3));
  EXPECT_THAT(DueBudgetAlerts(b, BudgetWindowAt(b, clock.Now()), 20'000'000'000, clock.Now()),
              IsEmpty());
  // 3 days of 30 elapsed: exactly 10 %, the guard holds.
  clock.Set(Utc(2026, 4, 4));
  EXPECT_THAT(DueBudgetAlerts(b, BudgetWindowAt(b, clock.Now()), 20'000'000'000, clock.Now()),
              SizeIs(1));
  // Once the limit is reached the threshold alert speaks instead.
  alerts = DueBudgetAlerts(b, BudgetWindowAt(b, clock.Now()), 100'000'000'000, clock.Now());
  ASSERT_THAT(alerts, SizeIs(1));
  EXPECT_EQ(alerts[0].kind, BudgetAlertKind::kThreshold);
}

TEST(RecordsTouchBudgetTest, ScopeAndPeriod) {
  const Budget b = Monthly(100);
  const BudgetWindow w = BudgetWindowAt(b, Utc(2026, 4, 7));
  UsageRecord inside;
  inside.time = Utc(2026, 4, 2);
  inside.scope.tenant = "acme";
  inside.scope.team = "a";
  UsageRecord other_team = inside;
  other_team.scope.team = "b";
  UsageRecord last_month = inside;
  last_month.time = Utc(2026, 3, 31, 23, 59);
  EXPECT_TRUE(RecordsTouchBudget(b, w, {&other_team, &inside}));
  EXPECT_FALSE(RecordsTouchBudget(b, w, {&other_team, &last_month}));
  EXPECT_FALSE(RecordsTouchBudget(b, w, {}));
}

}  // namespace
}  // namespace agentwatch::cost
