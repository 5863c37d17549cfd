// SLO core: error-budget and burn-rate arithmetic, the window edges of the
// burn-rate windows, the burn-rate alert state machine over a fake context
// with a FakeClock, the latency SLI from a sketch, validation and report
// periods.
#include "monitor/core/slo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/testing/status_matchers.h"
#include "monitor/core/burn_rate.h"
#include "monitor/core/rollup.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'040);  // a whole minute

// ---------------------------------------------------------------------------
// Budget arithmetic.

TEST(BudgetTest, SliIsOneWithoutEvents) {
  EXPECT_EQ(SliOf({0, 0}), 1);
  EXPECT_EQ(BurnRateOf({0, 0}, 0.999), 0);
  const ErrorBudget budget = ErrorBudgetOf({0, 0}, 0.999);
  EXPECT_EQ(budget.consumed, 0);
  EXPECT_EQ(budget.remaining, 1);
}

TEST(BudgetTest, BurnRateIsErrorRateOverAllowedRate) {
  // 1 % errors against a 99.9 % objective: 10x.
  EXPECT_THAT(BurnRateOf({990, 1000}, 0.999), DoubleNear(10, 1e-9));
  // Exactly the allowed rate: 1x.
  EXPECT_THAT(BurnRateOf({999, 1000}, 0.999), DoubleNear(1, 1e-9));
  EXPECT_THAT(SliOf({990, 1000}), DoubleNear(0.99, 1e-12));
}

TEST(BudgetTest, BudgetConsumedAndRemaining) {
  // 1,000,000 events at 99.9 %: 1,000 bad allowed.
  ErrorBudget budget = ErrorBudgetOf({999'750, 1'000'000}, 0.999);
  EXPECT_THAT(budget.allowed, DoubleNear(1000, 1e-6));
  EXPECT_EQ(budget.consumed, 250);
  EXPECT_THAT(budget.consumed_ratio, DoubleNear(0.25, 1e-9));
  EXPECT_THAT(budget.remaining, DoubleNear(0.75, 1e-9));
  // Overspent: negative remaining.
  budget = ErrorBudgetOf({998'000, 1'000'000}, 0.999);
  EXPECT_THAT(budget.remaining, DoubleNear(-1, 1e-9));
}

// ---------------------------------------------------------------------------
// Windows.

std::vector<SliBucket> Minutes(absl::Time from, int count, SliCounts each) {
  std::vector<SliBucket> out;
  for (int i = 0; i < count; ++i) out.push_back({from + absl::Minutes(i), absl::Minutes(1), each});
  return out;
}

TEST(WindowTest, WindowCoversOldestBucketThroughCurrentMinute) {
  // Buckets kStart - 10m ... kStart (11 buckets of 10 events each).
  const std::vector<SliBucket> buckets = Minutes(kStart - absl::Minutes(10), 11, {10, 10});
  const absl::Time now = kStart + absl::Seconds(30);
  // A 5-minute window at now reads buckets starting in [kStart - 5m, kStart + 1m): 6 buckets.
  EXPECT_EQ(CountsInWindow(buckets, now, absl::Minutes(5)).total, 60);
  EXPECT_EQ(CountsInWindow(buckets, now, absl::Minutes(1)).total, 20);
  // Exactly on a minute boundary the oldest bucket starts at now - window.
  EXPECT_EQ(CountsInWindow(buckets, kStart, absl::Minutes(5)).total, 60);
  // Nothing after the data.
  EXPECT_EQ(CountsInWindow(buckets, kStart + absl::Minutes(20), absl::Minutes(5)).total, 0);
}

TEST(WindowTest, PartialHourCountsProRata) {
  const absl::Time hour = absl::FromUnixSeconds(1'700'002'800);  // a whole hour
  const std::vector<SliBucket> buckets = {{hour, absl::Hours(1), {90, 120}}};
  // A quarter of the hour.
  const SliCounts part = CountsInRange(buckets, hour + absl::Minutes(45), hour + absl::Hours(2));
  EXPECT_EQ(part.total, 30);
  EXPECT_EQ(part.good, 23);  // 22.5 rounds to nearest
  EXPECT_EQ(CountsInRange(buckets, hour, hour + absl::Hours(1)), (SliCounts{90, 120}));
  EXPECT_EQ(CountsInRange(buckets, hour + absl::Hours(1), hour + absl::Hours(2)).total, 0);
}

TEST(WindowTest, PlanReadsMinutesForSixHoursAndHoursBefore) {
  const absl::Time now = kStart + absl::Seconds(20);
  const SliReadPlan plan = PlanSliRead(now, absl::Hours(72));
  EXPECT_EQ(plan.to, MinuteBucket(now) + absl::Minutes(1));
  EXPECT_EQ(plan.fine_from, AlignDown(MinuteBucket(now - absl::Hours(6)), absl::Hours(1)));
  EXPECT_LE(plan.fine_from, now - absl::Hours(6));
  EXPECT_EQ(plan.coarse_from, AlignDown(MinuteBucket(now - absl::Hours(72)), absl::Hours(1)));
  // Short windows read no hourly spans.
  const SliReadPlan short_plan = PlanSliRead(now, absl::Hours(1));
  EXPECT_EQ(short_plan.coarse_from, short_plan.fine_from);
}

TEST(BurnRateTest, DefaultsAreTheWorkbooksWindows) {
  const std::vector<BurnRateWindow> windows = DefaultBurnRateWindows();
  ASSERT_THAT(windows, SizeIs(3));
  EXPECT_EQ(windows[0].long_window, absl::Hours(1));
  EXPECT_EQ(windows[0].short_window, absl::Minutes(5));
  EXPECT_EQ(windows[0].burn_rate, 14.4);
  EXPECT_EQ(windows[0].severity, Severity::kP1);
  EXPECT_EQ(windows[1].long_window, absl::Hours(6));
  EXPECT_EQ(windows[1].short_window, absl::Minutes(30));
  EXPECT_EQ(windows[1].burn_rate, 6);
  EXPECT_EQ(windows[2].long_window, absl::Hours(72));
  EXPECT_EQ(windows[2].short_window, absl::Hours(6));
  EXPECT_EQ(windows[2].burn_rate, 1);
  EXPECT_EQ(windows[2].severity, Severity::kP3);
}

TEST(BurnRateTest, BurnsOnlyWhenBothWindowsAreAtOrAboveTheFactor) {
  const BurnRateWindow fast{absl::Hours(1), absl::Minutes(5), 14.4, Severity::kP1};
  // 2 hours of 1000 good events per minute.
  std::vector<SliBucket> buckets = Minutes(kStart - absl::Hours(2), 120, {1000, 1000});
  absl::Time now = kStart - absl::Seconds(1);
  EXPECT_FALSE(EvaluateBurnRate(fast, buckets, 0.999, now).burning);
  // 1 minute of 100 % errors: the short window (6 buckets) burns at
  // 1000 / 6000 / 0.001 = 166x, the long window (61 buckets) at
  // 1000 / 61000 / 0.001 = 16.4x.
  buckets.push_back({kStart, absl::Minutes(1), {0, 1000}});
  now = kStart + absl::Seconds(30);
  BurnRateEvaluation e = EvaluateBurnRate(fast, buckets, 0.999, now);
  EXPECT_THAT(e.short_rate, DoubleNear(1000.0 / 6000 / 0.001, 1e-6));
  EXPECT_THAT(e.long_rate, DoubleNear(1000.0 / 61000 / 0.001, 1e-6));
  EXPECT_TRUE(e.burning);
  // Against 99 %, the long window burns 1.6x only: not burning.
  EXPECT_FALSE(EvaluateBurnRate(fast, buckets, 0.99, now).burning);
  // Six minutes later the short window no longer holds the failures.
  now = kStart + absl::Minutes(6) + absl::Seconds(1);
  for (int i = 1; i <= 6; ++i) {
    buckets.push_back({kStart + absl::Minutes(i), absl::Minutes(1), {1000, 1000}});
  }
  e = EvaluateBurnRate(fast, buckets, 0.999, now);
  EXPECT_EQ(e.short_rate, 0);
  EXPECT_GT(e.long_rate, 14.4);
  EXPECT_FALSE(e.burning);
}

TEST(BurnRateTest, FactorEqualToBurnRateCountsAsBurning) {
  const BurnRateWindow window{absl::Minutes(10), absl::Minutes(1), 10, Severity::kP2};
  // 1 % errors everywhere: 10x against 99.9 %.
  const std::vector<SliBucket> buckets = Minutes(kStart - absl::Minutes(20), 21, {990, 1000});
  EXPECT_TRUE(EvaluateBurnRate(window, buckets, 0.999, kStart).burning);
}

TEST(BurnRateTest, StepFiresOnceAndResolvesWhenTheBurnStops) {
  AlertState state;
  BurnRateEvaluation burning;
  burning.burning = true;
  burning.long_rate = 20;
  EXPECT_EQ(StepBurnRateAlert(burning, kStart, &state), AlertAction::kFire);
  EXPECT_TRUE(state.firing);
  EXPECT_EQ(state.starts_at, kStart);
  EXPECT_EQ(state.value, 20);
  EXPECT_EQ(StepBurnRateAlert(burning, kStart + absl::Minutes(1), &state), AlertAction::kNone);
  EXPECT_EQ(state.starts_at, kStart);
  EXPECT_EQ(state.last_evaluation, kStart + absl::Minutes(1));
  BurnRateEvaluation calm;
  EXPECT_EQ(StepBurnRateAlert(calm, kStart + absl::Minutes(2), &state), AlertAction::kResolve);
  EXPECT_FALSE(state.firing);
  EXPECT_EQ(state.ends_at, kStart + absl::Minutes(2));
  EXPECT_EQ(StepBurnRateAlert(calm, kStart + absl::Minutes(3), &state), AlertAction::kNone);
}

// ---------------------------------------------------------------------------
// Alert evaluation over a fake context.

class FakeSloContext final : public SloAlertContext {
 public:
  absl::StatusOr<std::vector<AlertState>> LockSloAlerts(const std::string& tenant,
                                                        const std::string& slo_id) override {
    std::vector<AlertState> out;
    for (const auto& [key, state] : alerts) {
      if (key.first == tenant && state.rule_id == slo_id) out.push_back(state);
    }
    return out;
  }
  absl::Status SaveSloAlert(const AlertState& state) override {
    alerts[{state.tenant, state.fingerprint}] = state;
    return absl::OkStatus();
  }
  absl::Status DeleteSloAlert(const std::string& tenant, const std::string& fingerprint) override {
    alerts.erase({tenant, fingerprint});
    return absl::OkStatus();
  }
  absl::Status EmitAlert(const AlertNotice& notice) override {
    notices.push_back(notice);
    return absl::OkStatus();
  }

  std::map<std::pair<std::string, std::string>, AlertState> alerts;
  std::vector<AlertNotice> notices;
};

Slo ValidSlo() {
  Slo slo;
  slo.id = "s1";
  slo.name = "triage-availability";
  slo.scope.tenant = "acme";
  slo.scope.workflow = "triage";
  slo.subject = SloSubject::kWorkflowRuns;
  slo.sli_kind = SliKind::kAvailability;
  slo.objective = 0.999;
  slo.labels = {{"team", "support"}};
  NormalizeSlo(&slo);
  return slo;
}

TEST(SloAlertsTest, FastBurnPagesThenResolvesWhenTheBurnStops) {
  common::FakeClock clock(kStart);
  const Slo slo = ValidSlo();
  FakeSloContext context;
  // Two hours of 1000 good runs per minute, then 3 minutes at 50 % errors.
  std::vector<SliBucket> buckets = Minutes(kStart - absl::Hours(2), 120, {1000, 1000});
  RuleOutcome outcome;
  ASSERT_THAT(EvaluateSloAlerts(slo, buckets, context, clock.Now(), &outcome), IsOk());
  EXPECT_EQ(outcome.fired, 0);
  for (int i = 0; i < 3; ++i) {
    buckets.push_back({kStart + absl::Minutes(i), absl::Minutes(1), {500, 1000}});
  }
  clock.Advance(absl::Minutes(2) + absl::Seconds(30));
  ASSERT_THAT(EvaluateSloAlerts(slo, buckets, context, clock.Now(), &outcome), IsOk());
  // 1500 bad of 61,000 over 1 h = 24.6x; of 6000 over 5 m = 250x: the fast
  // burn fires; the 6 h / 30 m one too (1500 / 121,000 = 12.4x >= 6).
  ASSERT_GE(outcome.fired, 1);
  const BurnRateWindow& fast = slo.burn_rate_windows[0];
  const std::string fingerprint = SloAlertFingerprint("acme", "s1", fast);
  ASSERT_TRUE(context.alerts.count({"acme", fingerprint}));
  const AlertState& state = context.alerts.at({"acme", fingerprint});
  EXPECT_TRUE(state.firing);
  EXPECT_EQ(state.severity, Severity::kP1);
  EXPECT_EQ(state.rule, kSloBurnRateEvaluator);
  EXPECT_EQ(state.labels.at("alertname"), "triage-availability");
  EXPECT_EQ(state.labels.at("burn_window"), "1h/5m");
  EXPECT_EQ(state.labels.at("workflow"), "triage");
  EXPECT_EQ(state.labels.at("team"), "support");
  EXPECT_THAT(state.annotations.at("summary"), HasSubstr("error budget burning"));
  const size_t fired_notices = context.notices.size();
  EXPECT_TRUE(context.notices.front().firing);

  // Re-evaluating with the same data fires nothing more.
  outcome = {};
  clock.Advance(absl::Seconds(10));
  ASSERT_THAT(EvaluateSloAlerts(slo, buckets, context, clock.Now(), &outcome), IsOk());
  EXPECT_EQ(outcome.fired, 0);
  EXPECT_EQ(context.notices.size(), fired_notices);

  // Good traffic again: after 6 more minutes the 5 m window is clean and the
  // fast burn resolves; the 6 h / 30 m alert keeps firing.
  for (int i = 3; i < 10; ++i) {
    buckets.push_back({kStart + absl::Minutes(i), absl::Minutes(1), {1000, 1000}});
  }
  clock.Set(kStart + absl::Minutes(9) + absl::Seconds(1));
  outcome = {};
  ASSERT_THAT(EvaluateSloAlerts(slo, buckets, context, clock.Now(), &outcome), IsOk());
  EXPECT_EQ(outcome.resolved, 1);
  EXPECT_FALSE(context.alerts.count({"acme", fingerprint}));
  EXPECT_FALSE(context.notices.back().firing);
  EXPECT_EQ(context.notices.back().fingerprint, fingerprint);
  EXPECT_EQ(context.notices.back().ends_at, clock.Now());
  EXPECT_TRUE(
      context.alerts.count({"acme", SloAlertFingerprint("acme", "s1", slo.burn_rate_windows[1])}));
}

TEST(SloAlertsTest, LaterEvaluationOfAnotherReplicaWins) {
  const Slo slo = ValidSlo();
  FakeSloContext context;
  std::vector<SliBucket> buckets = Minutes(kStart, 5, {0, 1000});
  RuleOutcome outcome;
  ASSERT_THAT(EvaluateSloAlerts(slo, buckets, context, kStart + absl::Minutes(5), &outcome),
              IsOk());
  ASSERT_GE(outcome.fired, 1);
  const auto before = context.alerts;
  // An evaluation with an older clock (and maybe older data) changes nothing.
  outcome = {};
  ASSERT_THAT(EvaluateSloAlerts(slo, {}, context, kStart + absl::Minutes(4), &outcome), IsOk());
  EXPECT_EQ(outcome.resolved, 0);
  EXPECT_EQ(context.alerts.size(), before.size());
}

TEST(SloAlertsTest, RemovedWindowAndDeletedSloResolve) {
  Slo slo = ValidSlo();
  FakeSloContext context;
  const std::vector<SliBucket> buckets = Minutes(kStart, 5, {0, 1000});
  RuleOutcome outcome;
  ASSERT_THAT(EvaluateSloAlerts(slo, buckets, context, kStart + absl::Minutes(5), &outcome),
              IsOk());
  const int fired = outcome.fired;
  ASSERT_GE(fired, 2);
  // Keep only the slow window: the others resolve.
  slo.burn_rate_windows = {slo.burn_rate_windows[2]};
  outcome = {};
  ASSERT_THAT(EvaluateSloAlerts(slo, buckets, context, kStart + absl::Minutes(6), &outcome),
              IsOk());
  EXPECT_EQ(outcome.resolved, fired - 1);
  outcome = {};
  ASSERT_THAT(ResolveSloAlerts(slo, context, kStart + absl::Minutes(7), &outcome), IsOk());
  EXPECT_EQ(outcome.resolved, 1);
  EXPECT_TRUE(context.alerts.empty());
}

TEST(SloAlertsTest, FingerprintIsStableAndPerWindow) {
  const std::vector<BurnRateWindow> windows = DefaultBurnRateWindows();
  EXPECT_EQ(SloAlertFingerprint("acme", "s1", windows[0]),
            SloAlertFingerprint("acme", "s1", windows[0]));
  EXPECT_NE(SloAlertFingerprint("acme", "s1", windows[0]),
            SloAlertFingerprint("acme", "s1", windows[1]));
  EXPECT_NE(SloAlertFingerprint("acme", "s1", windows[0]),
            SloAlertFingerprint("acme", "s2", windows[0]));
  EXPECT_THAT(SloAlertFingerprint("acme", "s1", windows[0]), SizeIs(32));
}

// ---------------------------------------------------------------------------
// SLI sources.

TEST(SliSourceTest, AvailabilityCountsCancelledAsNeither) {
  EXPECT_EQ(AvailabilityCounts("succeeded", 5), (SliCounts{5, 5}));
  EXPECT_EQ(AvailabilityCounts("failed", 5), (SliCounts{0, 5}));
  EXPECT_EQ(AvailabilityCounts("timed_out", 5), (SliCounts{0, 5}));
  EXPECT_EQ(AvailabilityCounts("cancelled", 5), (SliCounts{0, 0}));
}

TEST(SliSourceTest, MetricAndMatchersFollowSubjectKindAndScope) {
  Slo slo = ValidSlo();
  SliSource source = SliSourceOf(slo);
  EXPECT_EQ(source.metric, "workflow_runs_total");
  EXPECT_FALSE(source.latency);
  ASSERT_THAT(source.matchers, SizeIs(1));
  EXPECT_EQ(source.matchers[0].name, "workflow");
  EXPECT_EQ(source.matchers[0].value, "triage");
  slo.sli_kind = SliKind::kLatency;
  slo.subject = SloSubject::kLlmCalls;
  slo.scope.model = "gpt-4o";
  slo.scope.tags = {{"env", "prod"}};
  source = SliSourceOf(slo);
  EXPECT_EQ(source.metric, "llm_latency_seconds");
  EXPECT_TRUE(source.latency);
  EXPECT_THAT(source.matchers, SizeIs(3));
  slo.subject = SloSubject::kAgentExecutions;
  EXPECT_EQ(SliSourceOf(slo).metric, "agent_execution_seconds");
}

TEST(SliSourceTest, CountAtOrBelowIsExactAwayFromTheThreshold) {
  QuantileSketch sketch;
  for (int ms = 1; ms <= 1000; ++ms) sketch.Add(ms / 1000.0);
  EXPECT_EQ(CountAtOrBelow(sketch, 2.0), 1000);
  EXPECT_EQ(CountAtOrBelow(sketch, 0.0005), 0);
  EXPECT_EQ(CountAtOrBelow(QuantileSketch(), 1.0), 0);
  // Exact answer 500; only values within 1 % of the threshold may be
  // misclassified.
  const int64_t good = CountAtOrBelow(sketch, 0.5);
  EXPECT_GE(good, 495);
  EXPECT_LE(good, 505);
  const int64_t good_250 = CountAtOrBelow(sketch, 0.25);
  EXPECT_GE(good_250, 247);
  EXPECT_LE(good_250, 253);
}

// ---------------------------------------------------------------------------
// Validation.

absl::Status Invalid(void (*mutate)(Slo*)) {
  Slo slo = ValidSlo();
  mutate(&slo);
  return ValidateSlo(slo);
}

TEST(ValidateSloTest, AcceptsValidAndDefaults) {
  EXPECT_THAT(ValidateSlo(ValidSlo()), IsOk());
  Slo slo;
  slo.name = "x";
  slo.scope.tenant = "t";
  slo.subject = SloSubject::kLlmCalls;
  slo.sli_kind = SliKind::kLatency;
  slo.latency_threshold = absl::Seconds(2);
  slo.objective = 0.99;
  slo.window = absl::ZeroDuration();
  NormalizeSlo(&slo);
  EXPECT_EQ(slo.window, absl::Hours(24 * 30));
  EXPECT_THAT(slo.burn_rate_windows, SizeIs(3));
  EXPECT_THAT(ValidateSlo(slo), IsOk());
}

TEST(ValidateSloTest, NamesTheField) {
  const auto invalid = [](const char* field) {
    return StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field));
  };
  EXPECT_THAT(Invalid([](Slo* s) { s->name.clear(); }), invalid("slo.name"));
  EXPECT_THAT(Invalid([](Slo* s) { s->scope.tenant.clear(); }), invalid("slo.scope.tenant"));
  EXPECT_THAT(Invalid([](Slo* s) { s->scope.model = "gpt-4o"; }), invalid("slo.scope.model"));
  EXPECT_THAT(Invalid([](Slo* s) { s->scope.service = "api"; }), invalid("slo.scope.service"));
  EXPECT_THAT(Invalid([](Slo* s) {
                s->scope.tags = {{"status", "x"}};
              }),
              invalid("slo.scope.tags[status]"));
  EXPECT_THAT(Invalid([](Slo* s) { s->subject = SloSubject::kUnspecified; }),
              invalid("slo.subject"));
  EXPECT_THAT(Invalid([](Slo* s) { s->subject = static_cast<SloSubject>(9); }),
              invalid("slo.subject"));
  EXPECT_THAT(Invalid([](Slo* s) { s->sli_kind = SliKind::kUnspecified; }),
              invalid("slo.sli_kind"));
  EXPECT_THAT(Invalid([](Slo* s) { s->sli_kind = SliKind::kLatency; }),
              invalid("slo.latency_threshold"));
  EXPECT_THAT(Invalid([](Slo* s) { s->latency_threshold = absl::Seconds(1); }),
              invalid("slo.latency_threshold"));
  EXPECT_THAT(Invalid([](Slo* s) { s->objective = 1; }), invalid("slo.objective"));
  EXPECT_THAT(Invalid([](Slo* s) { s->objective = 0; }), invalid("slo.objective"));
  EXPECT_THAT(Invalid([](Slo* s) { s->objective = std::nan(""); }), invalid("slo.objective"));
  EXPECT_THAT(Invalid([](Slo* s) { s->window = absl::Minutes(30); }), invalid("slo.window"));
  EXPECT_THAT(Invalid([](Slo* s) { s->window = absl::Hours(24 * 30) + absl::Seconds(1); }),
              invalid("slo.window"));
  EXPECT_THAT(Invalid([](Slo* s) { s->burn_rate_windows[1].short_window = absl::Hours(7); }),
              invalid("slo.burn_rate_windows[1].short_window"));
  EXPECT_THAT(Invalid([](Slo* s) { s->burn_rate_windows[0].long_window = absl::Hours(24 * 31); }),
              invalid("slo.burn_rate_windows[0].long_window"));
  EXPECT_THAT(Invalid([](Slo* s) { s->burn_rate_windows[2].burn_rate = 0; }),
              invalid("slo.burn_rate_windows[2].burn_rate"));
  EXPECT_THAT(Invalid([](Slo* s) { s->burn_rate_windows[2].severity = static_cast<Severity>(7); }),
              invalid("slo.burn_rate_windows[2].severity"));
  EXPECT_THAT(Invalid([](Slo* s) { s->burn_rate_windows.push_back(s->burn_rate_windows[0]); }),
              invalid("slo.burn_rate_windows[3]"));
  EXPECT_THAT(Invalid([](Slo* s) {
                s->labels = {{"bad-name", "x"}};
              }),
              invalid("slo.labels[bad-name]"));
}

// ---------------------------------------------------------------------------
// Reports.

TEST(ReportTest, DaysWeeksAndMonthsClippedToTheRange) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  // 2026-03-02 (a Monday) 12:00 to 2026-03-05 00:00.
  const absl::Time start = absl::FromCivil(absl::CivilSecond(2026, 3, 2, 12, 0, 0), utc);
  const absl::Time end = absl::FromCivil(absl::CivilDay(2026, 3, 5), utc);
  auto days = ReportPeriods(start, end, ReportPeriod::kDay, utc);
  ASSERT_THAT(days, IsOk());
  ASSERT_THAT(*days, SizeIs(3));
  EXPECT_EQ((*days)[0].from, start);
  EXPECT_EQ((*days)[0].to, absl::FromCivil(absl::CivilDay(2026, 3, 3), utc));
  EXPECT_EQ((*days)[2].to, end);
  // Unspecified means days.
  EXPECT_THAT(*ReportPeriods(start, end, ReportPeriod::kUnspecified, utc), SizeIs(3));
  // Weeks start on Monday.
  auto weeks =
      ReportPeriods(absl::FromCivil(absl::CivilDay(2026, 3, 1), utc),
                    absl::FromCivil(absl::CivilDay(2026, 3, 17), utc), ReportPeriod::kWeek, utc);
  ASSERT_THAT(weeks, IsOk());
  ASSERT_THAT(*weeks, SizeIs(4));  // Sun 1st; Mon 2nd-8th; 9th-15th; 16th
  EXPECT_EQ((*weeks)[1].from, absl::FromCivil(absl::CivilDay(2026, 3, 2), utc));
  EXPECT_EQ((*weeks)[1].to, absl::FromCivil(absl::CivilDay(2026, 3, 9), utc));
  auto months =
      ReportPeriods(absl::FromCivil(absl::CivilDay(2026, 1, 15), utc),
                    absl::FromCivil(absl::CivilDay(2026, 3, 1), utc), ReportPeriod::kMonth, utc);
  ASSERT_THAT(months, IsOk());
  ASSERT_THAT(*months, SizeIs(2));
  EXPECT_EQ((*months)[1].from, absl::FromCivil(absl::CivilDay(2026, 2, 1), utc));
}

TEST(ReportTest, DaysFollowTheTimeZone) {
  absl::TimeZone berlin;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Berlin", &berlin));
  const absl::Time start = absl::FromCivil(absl::CivilDay(2026, 6, 1), berlin);
  auto days = ReportPeriods(start, start + absl::Hours(48), ReportPeriod::kDay, berlin);
  ASSERT_THAT(days, IsOk());
  ASSERT_THAT(*days, SizeIs(2));
  EXPECT_EQ((*days)[1].from, absl::FromCivil(absl::CivilDay(2026, 6, 2), berlin));
}

TEST(ReportTest, BadRanges) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  EXPECT_THAT(ReportPeriods(kStart, kStart, ReportPeriod::kDay, utc),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("range.end")));
  EXPECT_THAT(ReportPeriods(kStart, kStart + absl::Hours(24 * 401), ReportPeriod::kDay, utc),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("range: more than 400")));
  EXPECT_THAT(ReportPeriods(kStart, kStart + absl::Hours(1), static_cast<ReportPeriod>(8), utc),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("period")));
}

TEST(ReportTest, FiguresPerPeriod) {
  const Slo slo = ValidSlo();                                   // 99.9 %
  const absl::Time day = absl::FromUnixSeconds(1'767'225'600);  // 2026-01-01 00:00 UTC
  const std::vector<BucketRange> periods = {{day, day + absl::Hours(24)},
                                            {day + absl::Hours(24), day + absl::Hours(48)},
                                            {day + absl::Hours(48), day + absl::Hours(72)}};
  const std::vector<SliBucket> buckets = {
      {day + absl::Hours(3), absl::Hours(1), {10000, 10000}},
      {day + absl::Hours(30), absl::Hours(1), {9980, 10000}},
  };
  const std::vector<PeriodFigures> report = ComputeSloReport(slo, periods, buckets);
  ASSERT_THAT(report, SizeIs(3));
  EXPECT_TRUE(report[0].met);
  EXPECT_EQ(report[0].sli, 1);
  EXPECT_FALSE(report[1].met);
  EXPECT_THAT(report[1].sli, DoubleNear(0.998, 1e-12));
  EXPECT_THAT(report[1].budget_consumed, DoubleNear(2, 1e-9));
  EXPECT_EQ(report[2].counts.total, 0);
  EXPECT_TRUE(report[2].met);
}

}  // namespace
}  // namespace agentwatch::monitor
