// Alert rules: validation, window values, the pending / firing / resolved
// state machine with `for`, hysteresis and keep-firing (times from a
// FakeClock), and whole-rule evaluation over a fake context.
#include "monitor/core/alert_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/testing/status_matchers.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::StartsWith;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'040);

AlertRule ValidRule() {
  AlertRule rule;
  rule.id = "r1";
  rule.name = "TriageErrors";
  rule.tenant = "acme";
  rule.condition.metric = "workflow_runs_total";
  rule.condition.matchers = {{"status", MatchOp::kRegex, "failed|timed_out"}};
  rule.condition.group_by = {"workflow"};
  rule.condition.comparison = Comparison::kGreaterThan;
  rule.condition.threshold = 5;
  NormalizeAlertRule(&rule);
  return rule;
}

TEST(AlertRuleValidationTest, NormalizesDefaultsAndAcceptsAValidRule) {
  AlertRule rule = ValidRule();
  EXPECT_EQ(rule.condition.aggregation, Aggregation::kSum);
  EXPECT_EQ(rule.condition.window, absl::Minutes(1));
  EXPECT_EQ(rule.severity, Severity::kP2);
  EXPECT_THAT(ValidateAlertRule(rule), IsOk());
  rule.condition.denominator_metric = "workflow_runs_total";
  rule.hysteresis.resolve_threshold = 3;
  rule.hysteresis.keep_firing_for = absl::Minutes(2);
  rule.for_duration = absl::Minutes(1);
  EXPECT_THAT(ValidateAlertRule(rule), IsOk());
}

TEST(AlertRuleValidationTest, RejectsNamingTheField) {
  struct Case {
    std::string message;
    std::function<void(AlertRule&)> mutate;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<Case> cases = {
      {"rule.name: required", [](AlertRule& r) { r.name.clear(); }},
      {"rule.name: longer than 128 bytes", [](AlertRule& r) { r.name = std::string(129, 'n'); }},
      {"rule.tenant: required", [](AlertRule& r) { r.tenant.clear(); }},
      {"rule.threshold.metric: required", [](AlertRule& r) { r.condition.metric.clear(); }},
      {"rule.threshold.metric: must match", [](AlertRule& r) { r.condition.metric = "9bad"; }},
      {"rule.threshold.matchers[0].name: must match",
       [](AlertRule& r) { r.condition.matchers[0].name = "bad-name"; }},
      {"rule.threshold.matchers[0].op: required",
       [](AlertRule& r) { r.condition.matchers[0].op = MatchOp::kUnspecified; }},
      {"rule.threshold.aggregation: unknown value 12",
       [](AlertRule& r) { r.condition.aggregation = static_cast<Aggregation>(12); }},
      {"rule.threshold.aggregation: no quantiles are kept for workflow_runs_total",
       [](AlertRule& r) { r.condition.aggregation = Aggregation::kP95; }},
      {"rule.threshold.aggregation: quantiles cannot be used in ratio rules",
       [](AlertRule& r) {
         r.condition.metric = "llm_latency_seconds";
         r.condition.denominator_metric = "llm_latency_seconds";
         r.condition.aggregation = Aggregation::kP99;
       }},
      {"rule.threshold.window: must be a whole number of minutes",
       [](AlertRule& r) { r.condition.window = absl::Seconds(90); }},
      {"rule.threshold.window: must be a whole number of minutes",
       [](AlertRule& r) { r.condition.window = absl::Hours(25); }},
      {"rule.threshold.group_by[1]: \"workflow\" listed twice",
       [](AlertRule& r) {
         r.condition.group_by = {"workflow", "workflow"};
       }},
      {"rule.threshold.group_by[0]: must match",
       [](AlertRule& r) { r.condition.group_by = {"a-b"}; }},
      {"rule.threshold.comparison: required",
       [](AlertRule& r) { r.condition.comparison = Comparison::kUnspecified; }},
      {"rule.threshold.threshold: must be finite",
       [nan](AlertRule& r) { r.condition.threshold = nan; }},
      {"rule.threshold.denominator_matchers: only allowed with denominator_metric",
       [](AlertRule& r) {
         r.condition.denominator_matchers = {{"a", MatchOp::kEqual, "b"}};
       }},
      {"rule.for_duration: must be from 0 to 24h",
       [](AlertRule& r) { r.for_duration = absl::Seconds(-1); }},
      {"rule.severity: unknown value 7",
       [](AlertRule& r) { r.severity = static_cast<Severity>(7); }},
      {"rule.labels: invalid key \"bad key\"", [](AlertRule& r) { r.labels["bad key"] = "v"; }},
      {"rule.annotations[summary]: longer than 4096 bytes",
       [](AlertRule& r) { r.annotations["summary"] = std::string(4097, 's'); }},
      {"rule.hysteresis.resolve_threshold: must be at or below the threshold 5",
       [](AlertRule& r) { r.hysteresis.resolve_threshold = 6; }},
      {"rule.hysteresis.resolve_threshold: must be at or above the threshold 5",
       [](AlertRule& r) {
         r.condition.comparison = Comparison::kLessThan;
         r.hysteresis.resolve_threshold = 4;
       }},
      {"rule.hysteresis.keep_firing_for: must be from 0 to 24h",
       [](AlertRule& r) { r.hysteresis.keep_firing_for = absl::Hours(48); }},
  };
  for (const Case& c : cases) {
    AlertRule rule = ValidRule();
    c.mutate(rule);
    EXPECT_THAT(ValidateAlertRule(rule),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith(c.message)))
        << c.message;
  }
}

TEST(CompareTest, AtAndAroundTheThreshold) {
  EXPECT_FALSE(Compares(5, Comparison::kGreaterThan, 5));
  EXPECT_TRUE(Compares(5.0001, Comparison::kGreaterThan, 5));
  EXPECT_TRUE(Compares(5, Comparison::kGreaterOrEqual, 5));
  EXPECT_FALSE(Compares(4.9999, Comparison::kGreaterOrEqual, 5));
  EXPECT_FALSE(Compares(5, Comparison::kLessThan, 5));
  EXPECT_TRUE(Compares(4.9999, Comparison::kLessThan, 5));
  EXPECT_TRUE(Compares(5, Comparison::kLessOrEqual, 5));
  EXPECT_FALSE(Compares(5.0001, Comparison::kLessOrEqual, 5));
  EXPECT_FALSE(Compares(5, Comparison::kUnspecified, 0));
}

TEST(WindowValueTest, Aggregations) {
  RollupStats stats;
  for (double v : {1.0, 2.0, 6.0}) stats.Add(v);
  const absl::Duration window = absl::Minutes(2);
  EXPECT_EQ(WindowValue(Aggregation::kSum, stats, std::nullopt, window), 9);
  EXPECT_EQ(WindowValue(Aggregation::kCount, stats, std::nullopt, window), 3);
  EXPECT_EQ(WindowValue(Aggregation::kAvg, stats, std::nullopt, window), 3);
  EXPECT_EQ(WindowValue(Aggregation::kMin, stats, std::nullopt, window), 1);
  EXPECT_EQ(WindowValue(Aggregation::kMax, stats, std::nullopt, window), 6);
  EXPECT_EQ(WindowValue(Aggregation::kRate, stats, std::nullopt, window), 9.0 / 120);
  EXPECT_FALSE(WindowValue(Aggregation::kP95, stats, std::nullopt, window).has_value());
  QuantileSketch sketch;
  for (int i = 0; i < 100; ++i) sketch.Add(2);
  EXPECT_EQ(WindowValue(Aggregation::kP95, stats, sketch, window), 2);
  EXPECT_FALSE(WindowValue(Aggregation::kSum, RollupStats{}, std::nullopt, window).has_value());
}

TEST(FingerprintTest, StablePerRuleAndGroup) {
  const std::string a = AlertRuleFingerprint("acme", "r1", {{"workflow", "triage"}});
  EXPECT_EQ(a, AlertRuleFingerprint("acme", "r1", {{"workflow", "triage"}}));
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, AlertRuleFingerprint("acme", "r2", {{"workflow", "triage"}}));
  EXPECT_NE(a, AlertRuleFingerprint("acme", "r1", {{"workflow", "report"}}));
  EXPECT_NE(a, AlertRuleFingerprint("globex", "r1", {{"workflow", "triage"}}));
}

// ---------------------------------------------------------------------------
// The state machine, driven by a FakeClock.

class StepTest : public ::testing::Test {
 protected:
  AlertAction Step(std::optional<double> value) {
    return StepRuleAlert(rule_, value, clock_.Now(), &state_);
  }
  AlertRule rule_ = ValidRule();
  AlertState state_;
  common::FakeClock clock_{kStart};
};

TEST_F(StepTest, FiresAtOnceWithoutFor) {
  EXPECT_EQ(Step(5), AlertAction::kNone);  // 5 > 5 does not hold
  EXPECT_FALSE(IsActive(state_));
  EXPECT_EQ(Step(6), AlertAction::kFire);
  EXPECT_TRUE(state_.firing);
  EXPECT_EQ(state_.starts_at, kStart);
  EXPECT_EQ(state_.active_since, kStart);
  EXPECT_EQ(Step(7), AlertAction::kNone);  // stays firing, no second page
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Step(5), AlertAction::kResolve);
  EXPECT_FALSE(IsActive(state_));
  EXPECT_EQ(state_.ends_at, kStart + absl::Seconds(10));
  EXPECT_EQ(state_.last_evaluation, clock_.Now());
}

TEST_F(StepTest, ForDurationKeepsTheAlertPendingUntilItElapses) {
  rule_.for_duration = absl::Minutes(2);
  EXPECT_EQ(Step(6), AlertAction::kNone);
  EXPECT_TRUE(state_.pending);
  EXPECT_EQ(state_.active_since, kStart);
  clock_.Advance(absl::Minutes(2) - absl::Milliseconds(1));
  EXPECT_EQ(Step(6), AlertAction::kNone);  // 1 ms short
  EXPECT_TRUE(state_.pending);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(Step(6), AlertAction::kFire);  // exactly `for`
  EXPECT_TRUE(state_.firing);
  EXPECT_FALSE(state_.pending);
  EXPECT_EQ(state_.starts_at, kStart + absl::Minutes(2));
  EXPECT_EQ(state_.active_since, kStart);
}

TEST_F(StepTest, ConditionBreakingWhilePendingRestartsTheClock) {
  rule_.for_duration = absl::Minutes(2);
  EXPECT_EQ(Step(6), AlertAction::kNone);
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(Step(std::nullopt), AlertAction::kNone);  // no data: does not hold
  EXPECT_FALSE(IsActive(state_));
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(Step(6), AlertAction::kNone);
  EXPECT_EQ(state_.active_since, kStart + absl::Seconds(90));
  clock_.Advance(absl::Minutes(2) - absl::Seconds(1));
  EXPECT_EQ(Step(6), AlertAction::kNone);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Step(6), AlertAction::kFire);
}

TEST_F(StepTest, ResolveThresholdStopsAFlappingSeriesFromPagingAgain) {
  rule_.hysteresis.resolve_threshold = 3;
  int fired = 0;
  int resolved = 0;
  // The series flaps around the threshold 5 between 4 and 6 for an hour.
  for (int i = 0; i < 60; ++i) {
    const AlertAction action = Step(i % 2 == 0 ? 6 : 4);
    fired += action == AlertAction::kFire;
    resolved += action == AlertAction::kResolve;
    clock_.Advance(absl::Minutes(1));
  }
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(resolved, 0);
  EXPECT_TRUE(state_.firing);
  EXPECT_EQ(Step(3), AlertAction::kNone);  // at the resolve level: not back past it
  EXPECT_EQ(Step(2.999), AlertAction::kResolve);
  // Without hysteresis the same flapping pages every other minute.
  AlertRule plain = ValidRule();
  AlertState state;
  int pages = 0;
  for (int i = 0; i < 60; ++i) {
    pages += StepRuleAlert(plain, i % 2 == 0 ? 6 : 4, kStart + absl::Minutes(i), &state) ==
             AlertAction::kFire;
  }
  EXPECT_EQ(pages, 30);
}

TEST_F(StepTest, LessThanRulesResolveAboveTheResolveLevel) {
  rule_.condition.comparison = Comparison::kLessThan;
  rule_.condition.threshold = 0.9;
  rule_.hysteresis.resolve_threshold = 0.95;
  EXPECT_EQ(Step(0.8), AlertAction::kFire);
  EXPECT_EQ(Step(0.92), AlertAction::kNone);
  EXPECT_EQ(Step(0.95), AlertAction::kNone);
  EXPECT_EQ(Step(0.951), AlertAction::kResolve);
}

TEST_F(StepTest, KeepFiringForAbsorbsShortDipsAndRefiresAsTheSameAlert) {
  rule_.hysteresis.keep_firing_for = absl::Minutes(5);
  EXPECT_EQ(Step(6), AlertAction::kFire);
  const absl::Time starts_at = *state_.starts_at;
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(Step(4), AlertAction::kNone);  // dip: still firing
  EXPECT_EQ(state_.clear_since, clock_.Now());
  clock_.Advance(absl::Minutes(4) - absl::Seconds(1));
  EXPECT_EQ(Step(std::nullopt), AlertAction::kNone);
  clock_.Advance(absl::Seconds(1) / 2);
  EXPECT_EQ(Step(6), AlertAction::kNone);  // holds again within keep_firing_for
  EXPECT_FALSE(state_.clear_since.has_value());
  EXPECT_EQ(state_.starts_at, starts_at);  // the same alert
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(Step(4), AlertAction::kNone);
  const absl::Time cleared = clock_.Now();
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(Step(4), AlertAction::kResolve);
  EXPECT_EQ(state_.ends_at, cleared + absl::Minutes(5));
}

// ---------------------------------------------------------------------------
// Whole-rule evaluation over a fake context.

class FakeContext final : public AlertRuleContext {
 public:
  absl::Status LockRule(const std::string& tenant, const std::string& rule_id) override {
    locked.push_back(tenant + "/" + rule_id);
    return absl::OkStatus();
  }
  absl::StatusOr<std::map<std::vector<std::string>, GroupStats>> WindowGroups(
      const std::string&, const std::string& metric, const std::vector<LabelMatcher>&,
      const std::vector<std::string>&, const BucketRange& range, bool) override {
    last_range = range;
    return groups[metric];
  }
  absl::StatusOr<std::vector<AlertState>> LockRuleAlerts(const std::string&,
                                                         const std::string&) override {
    std::vector<AlertState> out;
    for (const auto& [fingerprint, state] : states) out.push_back(state);
    return out;
  }
  absl::Status SaveRuleAlert(const AlertState& state) override {
    states[state.fingerprint] = state;
    return absl::OkStatus();
  }
  absl::Status DeleteRuleAlert(const std::string&, const std::string& fingerprint) override {
    states.erase(fingerprint);
    return absl::OkStatus();
  }
  absl::Status EmitAlert(const AlertNotice& notice) override {
    notices.push_back(notice);
    return absl::OkStatus();
  }

  std::map<std::string, std::map<std::vector<std::string>, GroupStats>> groups;
  std::map<std::string, AlertState> states;
  std::vector<AlertNotice> notices;
  std::vector<std::string> locked;
  BucketRange last_range;
};

GroupStats Count(int64_t n) {
  GroupStats group;
  for (int64_t i = 0; i < n; ++i) group.stats.Add(1);
  return group;
}

TEST(EvaluateAlertRuleTest, RatioPerGroupFiresResolvesAndDropsGroupsWithoutData) {
  AlertRule rule = ValidRule();
  rule.condition.threshold = 0.2;
  rule.condition.denominator_metric = "all_runs";
  rule.labels = {{"team", "search"}};
  rule.annotations = {{"runbook_url", "https://runbooks/triage"}};
  FakeContext context;
  // triage: 3 of 10 fail (0.3 > 0.2); report: 1 of 10 (0.1); idle: 0 of 0.
  context.groups["workflow_runs_total"] = {{{"triage"}, Count(3)}, {{"report"}, Count(1)}};
  context.groups["all_runs"] = {{{"triage"}, Count(10)}, {{"report"}, Count(10)}};
  RuleOutcome outcome;
  ASSERT_THAT(EvaluateAlertRule(rule, context, kStart, &outcome), IsOk());
  EXPECT_EQ(context.locked, std::vector<std::string>{"acme/r1"});
  EXPECT_EQ(context.last_range.from, kStart - absl::Minutes(1));
  EXPECT_EQ(outcome.fired, 1);
  ASSERT_EQ(context.notices.size(), 1u);
  const AlertNotice& fired = context.notices[0];
  EXPECT_TRUE(fired.firing);
  EXPECT_EQ(fired.name, "TriageErrors");
  EXPECT_EQ(fired.fingerprint, AlertRuleFingerprint("acme", "r1", {{"workflow", "triage"}}));
  EXPECT_EQ(fired.labels, (Labels{{"alertname", "TriageErrors"},
                                  {"team", "search"},
                                  {"tenant", "acme"},
                                  {"workflow", "triage"}}));
  EXPECT_EQ(fired.annotations.at("runbook_url"), "https://runbooks/triage");
  EXPECT_THAT(fired.annotations.at("summary"), StartsWith("TriageErrors: workflow_runs_total 0.3"));
  EXPECT_EQ(fired.severity, Severity::kP2);
  ASSERT_EQ(context.states.size(), 1u);  // only the active group is stored
  EXPECT_DOUBLE_EQ(context.states.begin()->second.value, 0.3);

  // Re-evaluating the same data sends nothing new.
  ASSERT_THAT(EvaluateAlertRule(rule, context, kStart + absl::Seconds(1), &outcome), IsOk());
  EXPECT_EQ(context.notices.size(), 1u);

  // The window empties: the firing group resolves and its state goes away.
  context.groups.clear();
  ASSERT_THAT(EvaluateAlertRule(rule, context, kStart + absl::Minutes(3), &outcome), IsOk());
  EXPECT_EQ(outcome.resolved, 1);
  ASSERT_EQ(context.notices.size(), 2u);
  EXPECT_FALSE(context.notices[1].firing);
  EXPECT_EQ(context.notices[1].starts_at, kStart);
  EXPECT_EQ(context.notices[1].ends_at, kStart + absl::Minutes(3));
  EXPECT_NE(context.notices[0].IdempotencyKey(), context.notices[1].IdempotencyKey());
  EXPECT_TRUE(context.states.empty());
}

TEST(EvaluateAlertRuleTest, DisabledOrDeletedRulesResolveTheirAlerts) {
  AlertRule rule = ValidRule();
  rule.for_duration = absl::Minutes(5);
  FakeContext context;
  context.groups["workflow_runs_total"] = {{{"triage"}, Count(9)}, {{"report"}, Count(7)}};
  RuleOutcome outcome;
  ASSERT_THAT(EvaluateAlertRule(rule, context, kStart, &outcome), IsOk());
  EXPECT_EQ(context.states.size(), 2u);  // both pending
  ASSERT_THAT(EvaluateAlertRule(rule, context, kStart + absl::Minutes(5), &outcome), IsOk());
  EXPECT_EQ(outcome.fired, 2);
  rule.disabled = true;
  ASSERT_THAT(EvaluateAlertRule(rule, context, kStart + absl::Minutes(6), &outcome), IsOk());
  EXPECT_EQ(outcome.resolved, 2);
  EXPECT_TRUE(context.states.empty());
  ASSERT_EQ(context.notices.size(), 4u);
  EXPECT_FALSE(context.notices[3].firing);
}

}  // namespace
}  // namespace agentwatch::monitor
