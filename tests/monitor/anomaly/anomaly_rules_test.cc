// Anomaly alert rules over a fake AlertRuleContext: the minutes fed to the
// detector (each once), min_history, fire / resolve with a stable
// fingerprint, `for` and keep-firing, replicas re-evaluating, condition
// changes, idle groups, disabled rules and validation.
#include "monitor/core/anomaly_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/time/time.h"
#include "common/clock.h"
#include "common/testing/status_matchers.h"
#include "monitor/core/alert_rules.h"
#include "monitor/core/rollup.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;

// A Monday, 00:00 UTC.
const absl::Time kStart = absl::FromUnixSeconds(1396224000);

// Rollups per (group value of "pod", minute), anomaly states, alerts and
// notices in memory. WindowGroups serves the default MinuteGroups.
class FakeContext : public AlertRuleContext {
 public:
  void Add(const std::string& pod, absl::Time minute, double value) {
    RollupStats& stats = rollups_[{pod, MinuteBucket(minute)}];
    stats.count += 1;
    stats.sum += value;
    stats.min = stats.count == 1 ? value : std::min(stats.min, value);
    stats.max = stats.count == 1 ? value : std::max(stats.max, value);
  }

  absl::Status LockRule(const std::string&, const std::string&) override {
    ++locks_;
    return absl::OkStatus();
  }

  absl::StatusOr<std::map<std::vector<std::string>, GroupStats>> WindowGroups(
      const std::string& tenant, const std::string& metric, const std::vector<LabelMatcher>&,
      const std::vector<std::string>& group_by, const BucketRange& range, bool) override {
    ++window_queries_;
    std::map<std::vector<std::string>, GroupStats> out;
    if (tenant != "acme" || metric != "queue_depth") return out;
    for (const auto& [key, stats] : rollups_) {
      const auto& [pod, minute] = key;
      if (minute < range.from || minute >= range.to) continue;
      std::vector<std::string> group;
      if (!group_by.empty()) group.push_back(pod);
      out[group].stats.Merge(stats);
    }
    return out;
  }

  absl::StatusOr<std::vector<AlertState>> LockRuleAlerts(const std::string& tenant,
                                                         const std::string& rule_id) override {
    std::vector<AlertState> out;
    for (const auto& [fingerprint, state] : alerts_) {
      if (state.tenant == tenant && state.rule_id == rule_id) out.push_back(state);
    }
    return out;
  }

  absl::Status SaveRuleAlert(const AlertState& state) override {
    alerts_[state.fingerprint] = state;
    return absl::OkStatus();
  }

  absl::Status DeleteRuleAlert(const std::string&, const std::string& fingerprint) override {
    alerts_.erase(fingerprint);
    return absl::OkStatus();
  }

  absl::Status EmitAlert(const AlertNotice& notice) override {
    notices_.push_back(notice);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<AnomalySeriesState>> LoadAnomalyStates(
      const std::string& tenant, const std::string& rule_id) override {
    std::vector<AnomalySeriesState> out;
    for (const auto& [key, state] : states_) {
      if (state.tenant == tenant && state.rule_id == rule_id) out.push_back(state);
    }
    return out;
  }

  absl::Status SaveAnomalyState(const AnomalySeriesState& state) override {
    states_[state.fingerprint] = state;
    return absl::OkStatus();
  }

  absl::Status DeleteAnomalyState(const std::string&, const std::string&,
                                  const std::string& fingerprint) override {
    states_.erase(fingerprint);
    return absl::OkStatus();
  }

  std::map<std::tuple<std::string, absl::Time>, RollupStats> rollups_;
  std::map<std::string, AlertState> alerts_;
  std::map<std::string, AnomalySeriesState> states_;
  std::vector<AlertNotice> notices_;
  int locks_ = 0;
  int window_queries_ = 0;
};

AlertRule QueueRule(absl::Duration min_history = absl::Hours(2)) {
  AlertRule rule;
  rule.id = "r1";
  rule.name = "QueueDepthAnomaly";
  rule.tenant = "acme";
  rule.condition.metric = "queue_depth";
  rule.condition.aggregation = Aggregation::kAvg;
  rule.condition.group_by = {"pod"};
  rule.labels = {{"team", "search"}};
  MakeAnomalyRule(0.9, min_history, &rule);
  NormalizeAlertRule(&rule);
  return rule;
}

// Feeds `minutes` steady minutes for pod "a" starting at minute `first`.
void Steady(FakeContext& context, int first, int minutes, uint32_t seed = 1) {
  std::mt19937 engine(seed + first);
  std::normal_distribution<double> noise(0, 1);
  for (int i = first; i < first + minutes; ++i) {
    context.Add("a", kStart + absl::Minutes(i), 50 + noise(engine));
  }
}

// Evaluates at 5 seconds past minute `minute` (minutes before it are complete).
RuleOutcome Evaluate(const AlertRule& rule, FakeContext& context, int minute) {
  RuleOutcome outcome;
  const absl::Status status = EvaluateAnomalyRule(
      rule, context, kStart + absl::Minutes(minute) + absl::Seconds(5), &outcome);
  EXPECT_THAT(status, IsOk());
  return outcome;
}

TEST(AnomalyRuleTest, SteadySeriesThenSpikeFiresOnceWithStableFingerprintThenResolves) {
  const AlertRule rule = QueueRule();
  FakeContext context;
  Steady(context, 0, 360);
  RuleOutcome outcome = Evaluate(rule, context, 360);
  EXPECT_EQ(outcome.fired, 0);
  ASSERT_EQ(context.states_.size(), 1u);
  const AnomalySeriesState& state = context.states_.begin()->second;
  EXPECT_EQ(state.first_minute, kStart);
  EXPECT_EQ(state.last_minute, kStart + absl::Minutes(359));
  EXPECT_EQ(state.detector.size(), anomaly::StreamingDetector::kSerializedBytes);
  EXPECT_LT(state.last_score, 0.5);

  context.Add("a", kStart + absl::Minutes(360), 90);  // the spike
  outcome = Evaluate(rule, context, 361);
  EXPECT_EQ(outcome.fired, 1);
  ASSERT_EQ(context.notices_.size(), 1u);
  const AlertNotice fired = context.notices_[0];
  EXPECT_TRUE(fired.firing);
  EXPECT_EQ(fired.fingerprint, AlertRuleFingerprint("acme", "r1", {{"pod", "a"}}));
  EXPECT_EQ(fired.labels.at("pod"), "a");
  EXPECT_EQ(fired.labels.at("team"), "search");
  EXPECT_EQ(fired.labels.at("alertname"), "QueueDepthAnomaly");
  EXPECT_THAT(fired.annotations.at("summary"), HasSubstr("anomaly score"));
  EXPECT_THAT(fired.annotations.at("summary"), HasSubstr("value 90"));
  ASSERT_EQ(context.alerts_.size(), 1u);
  EXPECT_TRUE(context.alerts_.begin()->second.firing);
  EXPECT_GE(context.alerts_.begin()->second.value, 0.9);

  // Another replica (or a later batch in the same minute) evaluates again:
  // no minute is fed twice and nothing is sent again.
  const std::string detector = context.states_.begin()->second.detector;
  outcome = Evaluate(rule, context, 361);
  EXPECT_EQ(outcome.fired, 0);
  EXPECT_EQ(context.notices_.size(), 1u);
  EXPECT_EQ(context.states_.begin()->second.detector, detector);

  // Back to normal: resolves, same fingerprint.
  Steady(context, 361, 2, 7);
  outcome = Evaluate(rule, context, 363);
  EXPECT_EQ(outcome.resolved, 1);
  ASSERT_EQ(context.notices_.size(), 2u);
  EXPECT_FALSE(context.notices_[1].firing);
  EXPECT_EQ(context.notices_[1].fingerprint, fired.fingerprint);
  EXPECT_EQ(context.notices_[1].starts_at, fired.starts_at);
  EXPECT_TRUE(context.alerts_.empty());
}

TEST(AnomalyRuleTest, IncrementalEvaluationsScoreLikeOneBackfill) {
  const AlertRule rule = QueueRule();
  FakeContext batch;
  FakeContext incremental;
  Steady(batch, 0, 300);
  Steady(incremental, 0, 300);
  Evaluate(rule, batch, 300);
  for (int minute = 1; minute <= 300; minute += 7) Evaluate(rule, incremental, minute);
  Evaluate(rule, incremental, 300);
  ASSERT_EQ(batch.states_.size(), 1u);
  ASSERT_EQ(incremental.states_.size(), 1u);
  EXPECT_EQ(batch.states_.begin()->second.detector, incremental.states_.begin()->second.detector);
}

TEST(AnomalyRuleTest, NoAlertBeforeMinHistory) {
  const AlertRule rule = QueueRule(absl::Hours(2));
  FakeContext context;
  Steady(context, 0, 90);
  context.Add("a", kStart + absl::Minutes(90), 500);
  const RuleOutcome outcome = Evaluate(rule, context, 91);
  EXPECT_EQ(outcome.fired, 0);
  EXPECT_TRUE(context.notices_.empty());
  EXPECT_EQ(context.states_.begin()->second.last_score, 0);
}

TEST(AnomalyRuleTest, MissingMinutesOfAnAverageAreGapsButOfASumAreZeros) {
  EXPECT_TRUE(std::isnan(AnomalyMinuteValue(Aggregation::kAvg, nullptr)));
  EXPECT_EQ(AnomalyMinuteValue(Aggregation::kSum, nullptr), 0);
  EXPECT_EQ(AnomalyMinuteValue(Aggregation::kCount, nullptr), 0);
  GroupStats minute;
  minute.stats.count = 4;
  minute.stats.sum = 10;
  minute.stats.min = 1;
  minute.stats.max = 4;
  EXPECT_EQ(AnomalyMinuteValue(Aggregation::kAvg, &minute), 2.5);
  EXPECT_EQ(AnomalyMinuteValue(Aggregation::kMax, &minute), 4);
  EXPECT_EQ(AnomalyMinuteValue(Aggregation::kRate, &minute), 10.0 / 60);
}

TEST(AnomalyRuleTest, TrafficStoppingIsAnAnomalyForASumRule) {
  AlertRule rule = QueueRule();
  rule.condition.aggregation = Aggregation::kSum;
  FakeContext context;
  Steady(context, 0, 360);
  Evaluate(rule, context, 360);
  // No data at all for minutes 360..362: a SUM rule sees zeros.
  const RuleOutcome outcome = Evaluate(rule, context, 363);
  EXPECT_EQ(outcome.fired, 1);
}

TEST(AnomalyRuleTest, ForDurationKeepsThePointPendingUntilItHolds) {
  AlertRule rule = QueueRule();
  rule.for_duration = absl::Minutes(2);
  FakeContext context;
  Steady(context, 0, 360);
  Evaluate(rule, context, 360);
  context.Add("a", kStart + absl::Minutes(360), 90);
  RuleOutcome outcome = Evaluate(rule, context, 361);
  EXPECT_EQ(outcome.fired, 0);
  ASSERT_EQ(context.alerts_.size(), 1u);
  EXPECT_TRUE(context.alerts_.begin()->second.pending);
  // The next minute is normal: the pending alert is dropped without a notice.
  Steady(context, 361, 1, 9);
  outcome = Evaluate(rule, context, 362);
  EXPECT_EQ(outcome.fired, 0);
  EXPECT_TRUE(context.alerts_.empty());
  EXPECT_TRUE(context.notices_.empty());
}

TEST(AnomalyRuleTest, KeepFiringForHoldsTheAlertThroughAQuietMinute) {
  AlertRule rule = QueueRule();
  rule.hysteresis.keep_firing_for = absl::Minutes(5);
  FakeContext context;
  Steady(context, 0, 360);
  Evaluate(rule, context, 360);
  context.Add("a", kStart + absl::Minutes(360), 90);
  EXPECT_EQ(Evaluate(rule, context, 361).fired, 1);
  Steady(context, 361, 1, 11);
  RuleOutcome outcome = Evaluate(rule, context, 362);
  EXPECT_EQ(outcome.resolved, 0);
  EXPECT_TRUE(context.alerts_.begin()->second.firing);
  Steady(context, 362, 6, 13);
  outcome = Evaluate(rule, context, 368);
  EXPECT_EQ(outcome.resolved, 1);
}

TEST(AnomalyRuleTest, ChangingTheConditionRestartsTheDetector) {
  AlertRule rule = QueueRule();
  FakeContext context;
  Steady(context, 0, 200);
  Evaluate(rule, context, 200);
  const std::string before = context.states_.begin()->second.condition_hash;
  rule.condition.aggregation = Aggregation::kMax;
  Steady(context, 200, 10);
  Evaluate(rule, context, 210);
  const AnomalySeriesState& state = context.states_.begin()->second;
  EXPECT_NE(state.condition_hash, before);
  EXPECT_EQ(state.condition_hash, AnomalyConditionHash(rule));
  EXPECT_EQ(state.first_minute, kStart);  // re-learned from the whole backfill
  EXPECT_EQ(state.last_minute, kStart + absl::Minutes(209));
}

TEST(AnomalyRuleTest, UnreadableStateStartsAfresh) {
  const AlertRule rule = QueueRule();
  FakeContext context;
  Steady(context, 0, 100);
  Evaluate(rule, context, 100);
  context.states_.begin()->second.detector = "garbage";
  Steady(context, 100, 5);
  Evaluate(rule, context, 105);
  const AnomalySeriesState& state = context.states_.begin()->second;
  EXPECT_EQ(state.detector.size(), anomaly::StreamingDetector::kSerializedBytes);
  // Restarted at the first minute with data in the rule's query range.
  EXPECT_EQ(state.last_minute, kStart + absl::Minutes(104));
}

TEST(AnomalyRuleTest, IdleGroupIsForgottenAndItsAlertResolves) {
  const AlertRule rule = QueueRule();
  FakeContext context;
  Steady(context, 0, 360);
  Evaluate(rule, context, 360);
  context.Add("a", kStart + absl::Minutes(360), 90);
  EXPECT_EQ(Evaluate(rule, context, 361).fired, 1);
  // A day without data (AVG: missing minutes): the group is dropped.
  const RuleOutcome outcome = Evaluate(rule, context, 361 + 24 * 60 + 1);
  EXPECT_EQ(outcome.resolved, 1);
  EXPECT_TRUE(context.states_.empty());
  EXPECT_TRUE(context.alerts_.empty());
}

TEST(AnomalyRuleTest, DisabledRuleResolvesAndDropsItsDetectors) {
  AlertRule rule = QueueRule();
  FakeContext context;
  Steady(context, 0, 360);
  Evaluate(rule, context, 360);
  context.Add("a", kStart + absl::Minutes(360), 90);
  EXPECT_EQ(Evaluate(rule, context, 361).fired, 1);
  rule.disabled = true;
  RuleOutcome outcome;
  ASSERT_THAT(EvaluateAlertRule(rule, context, kStart + absl::Minutes(362), &outcome), IsOk());
  EXPECT_EQ(outcome.resolved, 1);
  EXPECT_TRUE(context.states_.empty());
  EXPECT_TRUE(context.alerts_.empty());
}

TEST(AnomalyRuleTest, EvaluateAlertRuleDispatchesAnomalyRules) {
  const AlertRule rule = QueueRule();
  FakeContext context;
  Steady(context, 0, 10);
  RuleOutcome outcome;
  ASSERT_THAT(EvaluateAlertRule(rule, context, kStart + absl::Minutes(10), &outcome), IsOk());
  EXPECT_EQ(context.states_.size(), 1u);
  EXPECT_EQ(context.locks_, 1);
}

// A context that keeps no anomaly state (the AlertRuleContext defaults).
class StatelessContext : public FakeContext {
 public:
  absl::StatusOr<std::vector<AnomalySeriesState>> LoadAnomalyStates(
      const std::string& tenant, const std::string& rule_id) override {
    return AlertRuleContext::LoadAnomalyStates(tenant, rule_id);
  }
};

TEST(AnomalyRuleTest, ContextWithoutStateAnswersUnimplemented) {
  StatelessContext context;
  RuleOutcome outcome;
  EXPECT_THAT(EvaluateAnomalyRule(QueueRule(), context, kStart, &outcome),
              StatusIs(absl::StatusCode::kUnimplemented));
}

TEST(AnomalyRuleValidationTest, DefaultsAndBadFieldsNamed) {
  AlertRule rule;
  rule.name = "x";
  rule.tenant = "acme";
  rule.condition.metric = "queue_depth";
  MakeAnomalyRule(0, std::nullopt, &rule);
  NormalizeAlertRule(&rule);
  EXPECT_EQ(rule.condition.threshold, kDefaultAnomalyScoreThreshold);
  EXPECT_EQ(rule.anomaly.min_history, absl::Hours(24));
  EXPECT_EQ(rule.condition.comparison, Comparison::kGreaterOrEqual);
  EXPECT_THAT(ValidateAlertRule(rule), IsOk());

  AlertRule bad = rule;
  bad.condition.threshold = 1.5;
  EXPECT_THAT(ValidateAlertRule(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                               "rule.anomaly.score_threshold: must be in (0, 1]"));
  bad = rule;
  bad.condition.threshold = -0.1;
  EXPECT_THAT(ValidateAlertRule(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                               HasSubstr("rule.anomaly.score_threshold")));
  bad = rule;
  bad.anomaly.min_history = absl::Hours(24 * 15);
  EXPECT_THAT(ValidateAlertRule(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rule.anomaly.min_history")));
  bad = rule;
  bad.condition.metric = "9bad";
  EXPECT_THAT(ValidateAlertRule(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rule.anomaly.metric")));
  bad = rule;
  bad.condition.denominator_metric = "queue_depth";
  EXPECT_THAT(ValidateAlertRule(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no denominator")));
  bad = rule;
  bad.condition.group_by = {"pod", "pod"};
  EXPECT_THAT(ValidateAlertRule(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rule.anomaly.group_by[1]")));
  bad = rule;
  bad.hysteresis.resolve_threshold = 0.95;
  EXPECT_THAT(ValidateAlertRule(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                               HasSubstr("rule.hysteresis.resolve_threshold")));
  bad = rule;
  bad.hysteresis.resolve_threshold = -1;
  EXPECT_THAT(ValidateAlertRule(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                               HasSubstr("rule.hysteresis.resolve_threshold")));
  bad = rule;
  bad.name = "";
  EXPECT_THAT(ValidateAlertRule(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, "rule.name: required"));
}

}  // namespace
}  // namespace agentwatch::monitor
