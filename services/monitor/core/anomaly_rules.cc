#include "monitor/core/anomaly_rules.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/status_macros.h"
#include "monitor/core/hash.h"
#include "monitor/core/names.h"
#include "monitor/core/rollup.h"

namespace agentwatch::monitor {
namespace {

std::string FormatValue(double value) { return absl::StrFormat("%.6g", value); }

// The labels identifying a group: the group_by labels with values.
Labels GroupLabels(const std::vector<std::string>& group_by,
                   const std::vector<std::string>& values) {
  Labels labels;
  for (size_t i = 0; i < group_by.size() && i < values.size(); ++i) {
    if (!values[i].empty()) labels[group_by[i]] = values[i];
  }
  return labels;
}

// What one evaluation learned about a group.
struct GroupResult {
  bool fed = false;        // minutes were fed in this evaluation
  bool forgotten = false;  // the group was dropped (no data to learn from, or idle)
  double score = 0;        // the highest score of the minutes fed
  double value = std::numeric_limits<double>::quiet_NaN();     // of the top-scoring minute
  double expected = std::numeric_limits<double>::quiet_NaN();  // its baseline
};

AlertNotice NoticeOf(const AlertRule& rule, const AlertState& state, bool firing, absl::Time now,
                     const std::string& summary) {
  AlertNotice notice;
  notice.fingerprint = state.fingerprint;
  notice.name = state.name;
  notice.severity = state.severity;
  notice.tenant = state.tenant;
  notice.labels = state.labels;
  notice.annotations = state.annotations;
  notice.annotations.try_emplace("summary", summary);
  notice.annotations.try_emplace("rule_id", rule.id);
  notice.firing = firing;
  notice.starts_at = state.starts_at.value_or(now);
  if (!firing) notice.ends_at = now;
  return notice;
}

absl::Status Apply(const AlertRule& rule, AlertState& state, AlertAction action,
                   const GroupResult& result, AlertRuleContext& context, absl::Time now,
                   RuleOutcome* outcome) {
  const ThresholdCondition& c = rule.condition;
  if (action == AlertAction::kFire) {
    std::string summary = absl::StrCat(rule.name, ": ", c.metric, " anomaly score ",
                                       FormatValue(state.value), " >= ", FormatValue(c.threshold));
    if (std::isfinite(result.value) && std::isfinite(result.expected)) {
      absl::StrAppend(&summary, " (value ", FormatValue(result.value), ", expected ",
                      FormatValue(result.expected), ")");
    }
    RETURN_IF_ERROR(context.EmitAlert(NoticeOf(rule, state, true, now, summary)));
    ++outcome->fired;
  } else if (action == AlertAction::kResolve) {
    RETURN_IF_ERROR(context.EmitAlert(
        NoticeOf(rule, state, false, now,
                 absl::StrCat(rule.name, ": ", c.metric, " back to normal (anomaly score ",
                              FormatValue(state.value), ")"))));
    ++outcome->resolved;
  }
  if (IsActive(state)) return context.SaveRuleAlert(state);
  return context.DeleteRuleAlert(state.tenant, state.fingerprint);
}

}  // namespace

anomaly::DetectorOptions AnomalyRuleDetectorOptions() {
  anomaly::DetectorOptions options;
  options.probationary_points = 0;
  // An alert rule has its own `for` and hysteresis: a lasting anomaly must keep
  // scoring high so the alert stays firing, not be damped after its onset the
  // way the offline NAB-style scoring wants.
  options.suppression_points = 0;
  return options;
}

void MakeAnomalyRule(double score_threshold, std::optional<absl::Duration> min_history,
                     AlertRule* rule) {
  rule->anomaly.enabled = true;
  rule->anomaly.min_history = min_history.value_or(absl::Hours(24));
  rule->condition.comparison = Comparison::kGreaterOrEqual;
  rule->condition.threshold =
      score_threshold == 0 ? kDefaultAnomalyScoreThreshold : score_threshold;
  rule->condition.window = absl::Minutes(1);
}

absl::Status ValidateAnomalyRule(const AlertRule& rule) {
  const ThresholdCondition& c = rule.condition;
  if (!(c.threshold > 0 && c.threshold <= 1)) {
    return common::InvalidField("rule.anomaly.score_threshold", "must be in (0, 1]");
  }
  if (rule.anomaly.min_history < absl::ZeroDuration() ||
      rule.anomaly.min_history > kMaxAnomalyMinHistory) {
    return common::InvalidField("rule.anomaly.min_history", "must be from 0 to 14 days");
  }
  if (!c.denominator_metric.empty() || !c.denominator_matchers.empty()) {
    return common::InvalidField("rule.anomaly", "anomaly rules have no denominator");
  }
  if (c.comparison != Comparison::kGreaterOrEqual || c.window != absl::Minutes(1)) {
    return common::InvalidField("rule.anomaly", "fires on score >= score_threshold per minute");
  }
  if (rule.hysteresis.resolve_threshold.has_value() && *rule.hysteresis.resolve_threshold < 0) {
    return common::InvalidField("rule.hysteresis.resolve_threshold",
                                "must be in [0, score_threshold] for anomaly rules");
  }
  const absl::Status status = ValidateThresholdAlertRule(rule);
  if (status.ok()) return status;
  std::string message = absl::StrReplaceAll(
      status.message(), {{"rule.threshold.threshold", "rule.anomaly.score_threshold"},
                         {"rule.threshold.", "rule.anomaly."}});
  return absl::Status(status.code(), message);
}

std::string AnomalyConditionHash(const AlertRule& rule) {
  const ThresholdCondition& c = rule.condition;
  std::vector<std::string> matchers;
  for (const LabelMatcher& m : c.matchers) {
    matchers.push_back(absl::StrCat(m.name.size(), ":", m.name, static_cast<int>(m.op), ":",
                                    m.value.size(), ":", m.value));
  }
  std::vector<std::string> group_by;
  for (const std::string& g : c.group_by) group_by.push_back(absl::StrCat(g.size(), ":", g));
  return StableHash({"anomaly_condition", c.metric, absl::StrJoin(matchers, ","),
                     absl::StrCat(static_cast<int>(c.aggregation)), absl::StrJoin(group_by, ",")});
}

double AnomalyMinuteValue(Aggregation aggregation, const GroupStats* minute) {
  const bool counting = aggregation == Aggregation::kSum || aggregation == Aggregation::kCount ||
                        aggregation == Aggregation::kRate;
  if (minute == nullptr) {
    return counting ? 0.0 : std::numeric_limits<double>::quiet_NaN();
  }
  const std::optional<double> value =
      WindowValue(aggregation, minute->stats, minute->sketch, absl::Minutes(1));
  if (!value.has_value()) return counting ? 0.0 : std::numeric_limits<double>::quiet_NaN();
  return *value;
}

absl::Status DropAnomalyStates(const AlertRule& rule, AlertRuleContext& context) {
  ASSIGN_OR_RETURN(const std::vector<AnomalySeriesState> states,
                   context.LoadAnomalyStates(rule.tenant, rule.id));
  for (const AnomalySeriesState& state : states) {
    RETURN_IF_ERROR(context.DeleteAnomalyState(rule.tenant, rule.id, state.fingerprint));
  }
  return absl::OkStatus();
}

absl::Status EvaluateAnomalyRule(const AlertRule& rule, AlertRuleContext& context, absl::Time now,
                                 RuleOutcome* outcome) {
  RETURN_IF_ERROR(context.LockRule(rule.tenant, rule.id));
  const ThresholdCondition& c = rule.condition;
  const absl::Time end = MinuteBucket(now);  // minutes before it are complete
  const absl::Time earliest = end - kAnomalyBackfill;
  const std::string hash = AnomalyConditionHash(rule);
  const anomaly::DetectorOptions options = AnomalyRuleDetectorOptions();

  ASSIGN_OR_RETURN(std::vector<AnomalySeriesState> loaded,
                   context.LoadAnomalyStates(rule.tenant, rule.id));
  std::map<std::vector<std::string>, AnomalySeriesState> states;
  bool full_backfill = loaded.empty();
  absl::Time from = end;
  for (AnomalySeriesState& state : loaded) {
    if (state.condition_hash != hash) full_backfill = true;
    from = std::min(from, std::max(state.last_minute + absl::Minutes(1), earliest));
    std::vector<std::string> group = state.group;
    states.emplace(std::move(group), std::move(state));
  }
  if (full_backfill) from = earliest;
  std::map<std::vector<std::string>, std::map<absl::Time, GroupStats>> minutes;
  if (from < end) {
    ASSIGN_OR_RETURN(
        minutes, context.MinuteGroups(rule.tenant, c.metric, c.matchers, c.group_by, {from, end},
                                      IsQuantileAggregation(c.aggregation)));
  }
  for (const auto& [group, unused] : minutes) {
    if (states.count(group) == 0) {
      AnomalySeriesState& state = states[group];
      state.tenant = rule.tenant;
      state.rule_id = rule.id;
      state.group = group;
      state.fingerprint =
          AlertRuleFingerprint(rule.tenant, rule.id, GroupLabels(c.group_by, group));
    }
  }

  std::map<std::string, GroupResult> results;  // by fingerprint
  for (auto& [group, state] : states) {
    const auto group_minutes = minutes.find(group);
    const std::map<absl::Time, GroupStats>* data =
        group_minutes == minutes.end() ? nullptr : &group_minutes->second;
    std::optional<anomaly::StreamingDetector> detector;
    if (!state.detector.empty() && state.condition_hash == hash) {
      absl::StatusOr<anomaly::StreamingDetector> restored =
          anomaly::StreamingDetector::Deserialize(options, state.detector);
      // An unreadable state (another version, corruption) starts afresh.
      if (restored.ok()) detector.emplace(*std::move(restored));
    }
    absl::Time start;
    if (detector.has_value()) {
      start = std::max(state.last_minute + absl::Minutes(1), earliest);
    } else {
      if (data == nullptr || data->empty()) {
        // Nothing to learn from: forget the group.
        RETURN_IF_ERROR(context.DeleteAnomalyState(rule.tenant, rule.id, state.fingerprint));
        results[state.fingerprint].forgotten = true;
        continue;
      }
      ASSIGN_OR_RETURN(detector, anomaly::StreamingDetector::Create(options));
      start = data->begin()->first;
      state.first_minute = start;
      state.last_data = start;
      state.condition_hash = hash;
    }
    GroupResult result;
    double top = -1;
    int64_t fed = 0;
    for (absl::Time minute = start; minute < end; minute += absl::Minutes(1)) {
      const GroupStats* stats = nullptr;
      if (data != nullptr) {
        const auto it = data->find(minute);
        if (it != data->end()) stats = &it->second;
      }
      const double value = AnomalyMinuteValue(c.aggregation, stats);
      const anomaly::PointScore point = detector->Update(minute, value);
      if (stats != nullptr) state.last_data = minute;
      const bool learned = minute - state.first_minute >= rule.anomaly.min_history;
      const double score = learned ? point.score : 0.0;
      if (score > top) {
        top = score;
        result.value = value;
        result.expected = point.expected;
      }
      ++fed;
    }
    if (fed > 0) {
      state.last_minute = end - absl::Minutes(1);
      state.last_score = top;
      state.detector = detector->Serialize();
    }
    if (end - absl::Minutes(1) - state.last_data >= kAnomalyIdleExpiry) {
      RETURN_IF_ERROR(context.DeleteAnomalyState(rule.tenant, rule.id, state.fingerprint));
      results[state.fingerprint].forgotten = true;
      continue;
    }
    if (fed > 0) RETURN_IF_ERROR(context.SaveAnomalyState(state));
    result.fed = fed > 0;
    result.score = fed > 0 ? top : state.last_score;
    results[state.fingerprint] = result;
  }

  ASSIGN_OR_RETURN(std::vector<AlertState> stored, context.LockRuleAlerts(rule.tenant, rule.id));
  std::map<std::string, AlertState> by_fingerprint;
  for (AlertState& state : stored) by_fingerprint[state.fingerprint] = std::move(state);
  for (const auto& [group, series] : states) {
    const auto found = results.find(series.fingerprint);
    if (found == results.end()) continue;
    GroupResult result = found->second;
    auto it = by_fingerprint.find(series.fingerprint);
    AlertState alert;
    if (it != by_fingerprint.end()) {
      alert = std::move(it->second);
      by_fingerprint.erase(it);
    } else {
      alert.tenant = rule.tenant;
      alert.fingerprint = series.fingerprint;
      alert.rule = kAlertRuleEvaluator;
      alert.rule_id = rule.id;
    }
    const bool was_active = IsActive(alert);
    // Without a new minute only an active alert is re-stepped (its `for` and
    // keep-firing advance), with the last score.
    if (!result.fed && !result.forgotten && !was_active) continue;
    const std::optional<double> score =
        result.forgotten ? std::nullopt : std::optional<double>(result.score);
    alert.name = rule.name;
    alert.severity = rule.severity;
    alert.labels = rule.labels;
    for (const auto& [name, label] : GroupLabels(c.group_by, group)) alert.labels[name] = label;
    alert.labels["alertname"] = rule.name;
    alert.labels[kLabelTenant] = rule.tenant;
    alert.annotations = rule.annotations;
    const AlertAction action = StepRuleAlert(rule, score, now, &alert);
    if (!was_active && !IsActive(alert) && action == AlertAction::kNone) continue;
    RETURN_IF_ERROR(Apply(rule, alert, action, result, context, now, outcome));
  }
  // Stored alerts of groups the detector no longer follows.
  for (auto& [fingerprint, alert] : by_fingerprint) {
    const AlertAction action = StepRuleAlert(rule, std::nullopt, now, &alert);
    RETURN_IF_ERROR(Apply(rule, alert, action, GroupResult{}, context, now, outcome));
  }
  return absl::OkStatus();
}

}  // namespace agentwatch::monitor
