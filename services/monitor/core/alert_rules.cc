#include "monitor/core/alert_rules.h"

#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "monitor/core/anomaly_rules.h"
#include "monitor/core/hash.h"
#include "monitor/core/names.h"
#include "monitor/core/quality.h"

namespace agentwatch::monitor {
namespace {

absl::Status CheckText(const std::string& field, const std::string& value, size_t max_bytes,
                       bool required) {
  if (required && value.empty()) return common::InvalidField(field, "required");
  if (value.size() > max_bytes) {
    return common::InvalidField(field, absl::StrCat("longer than ", max_bytes, " bytes"));
  }
  if (value.find('\0') != std::string::npos) {
    return common::InvalidField(field, "must not contain NUL characters");
  }
  return absl::OkStatus();
}

absl::Status CheckDuration(const std::string& field, absl::Duration d) {
  if (d < absl::ZeroDuration() || d > absl::Hours(24)) {
    return common::InvalidField(field, "must be from 0 to 24h");
  }
  return absl::OkStatus();
}

absl::Status CheckMatchers(const std::string& field, const std::vector<LabelMatcher>& matchers) {
  if (matchers.size() > kMaxRuleMatchers) {
    return common::InvalidField(
        field, absl::StrCat(matchers.size(), " matchers, at most ", kMaxRuleMatchers));
  }
  for (size_t i = 0; i < matchers.size(); ++i) {
    const std::string prefix = absl::StrCat(field, "[", i, "]");
    if (!IsValidLabelName(matchers[i].name)) {
      return common::InvalidField(prefix + ".name", "must match [a-zA-Z_][a-zA-Z0-9_]*");
    }
    const int op = static_cast<int>(matchers[i].op);
    if (op < 1 || op > 4) {
      return common::InvalidField(prefix + ".op",
                                  op == 0 ? "required" : absl::StrCat("unknown value ", op));
    }
    RETURN_IF_ERROR(CheckText(prefix + ".value", matchers[i].value, 4096, false));
  }
  return absl::OkStatus();
}

absl::Status CheckLabels(const std::string& field, const Labels& labels, size_t max_value) {
  if (labels.size() > kMaxRuleLabels) {
    return common::InvalidField(field,
                                absl::StrCat(labels.size(), " entries, at most ", kMaxRuleLabels));
  }
  for (const auto& [key, value] : labels) {
    if (!IsValidLabelName(key)) {
      return common::InvalidField(
          field, absl::StrCat("invalid key \"", key, "\" (must match [a-zA-Z_][a-zA-Z0-9_]*)"));
    }
    RETURN_IF_ERROR(CheckText(absl::StrCat(field, "[", key, "]"), value, max_value, false));
  }
  return absl::OkStatus();
}

const char* ComparisonText(Comparison comparison) {
  switch (comparison) {
    case Comparison::kGreaterThan:
      return ">";
    case Comparison::kGreaterOrEqual:
      return ">=";
    case Comparison::kLessThan:
      return "<";
    case Comparison::kLessOrEqual:
      return "<=";
    case Comparison::kUnspecified:
      break;
  }
  return "?";
}

bool HigherFires(Comparison comparison) {
  return comparison == Comparison::kGreaterThan || comparison == Comparison::kGreaterOrEqual;
}

// True while a firing alert must stay firing for `value`.
bool StillFiring(const AlertRule& rule, std::optional<double> value) {
  if (!value.has_value()) return false;
  const ThresholdCondition& c = rule.condition;
  if (!rule.hysteresis.resolve_threshold.has_value()) {
    return Compares(*value, c.comparison, c.threshold);
  }
  // Back past the resolve level means strictly beyond it.
  const double resolve = *rule.hysteresis.resolve_threshold;
  return HigherFires(c.comparison) ? *value >= resolve : *value <= resolve;
}

std::string FormatValue(double value) { return absl::StrFormat("%.6g", value); }

}  // namespace

void NormalizeAlertRule(AlertRule* rule) {
  if (rule->condition.aggregation == Aggregation::kUnspecified) {
    rule->condition.aggregation = Aggregation::kSum;
  }
  if (rule->condition.window == absl::ZeroDuration()) rule->condition.window = absl::Minutes(1);
  if (rule->severity == Severity::kUnspecified) rule->severity = Severity::kP2;
}

absl::Status ValidateAlertRule(const AlertRule& rule) {
  if (rule.anomaly.enabled) return ValidateAnomalyRule(rule);
  return ValidateThresholdAlertRule(rule);
}

absl::Status ValidateThresholdAlertRule(const AlertRule& rule) {
  RETURN_IF_ERROR(CheckText("rule.name", rule.name, kMaxRuleNameBytes, true));
  RETURN_IF_ERROR(CheckText("rule.tenant", rule.tenant, kMaxLabelValueBytes, true));
  RETURN_IF_ERROR(CheckText("rule.description", rule.description, kMaxDescriptionBytes, false));
  const ThresholdCondition& c = rule.condition;
  if (c.metric.empty()) return common::InvalidField("rule.threshold.metric", "required");
  if (!IsValidMetricName(c.metric)) {
    return common::InvalidField("rule.threshold.metric",
                                "must match [a-zA-Z_:][a-zA-Z0-9_:]* (at most 256 bytes)");
  }
  RETURN_IF_ERROR(CheckMatchers("rule.threshold.matchers", c.matchers));
  const int aggregation = static_cast<int>(c.aggregation);
  if (aggregation < 1 || aggregation > 9) {
    return common::InvalidField("rule.threshold.aggregation",
                                absl::StrCat("unknown value ", aggregation));
  }
  if (IsQuantileAggregation(c.aggregation)) {
    if (!c.denominator_metric.empty()) {
      return common::InvalidField("rule.threshold.aggregation",
                                  "quantiles cannot be used in ratio rules");
    }
    if (!HasQuantileSketch(c.metric)) {
      return common::InvalidField("rule.threshold.aggregation",
                                  absl::StrCat("no quantiles are kept for ", c.metric));
    }
  }
  absl::Duration remainder;
  absl::IDivDuration(c.window, absl::Minutes(1), &remainder);
  if (c.window < absl::Minutes(1) || c.window > absl::Hours(24) ||
      remainder != absl::ZeroDuration()) {
    return common::InvalidField("rule.threshold.window",
                                "must be a whole number of minutes from 1m to 24h");
  }
  if (c.group_by.size() > kMaxRuleGroupBy) {
    return common::InvalidField(
        "rule.threshold.group_by",
        absl::StrCat(c.group_by.size(), " labels, at most ", kMaxRuleGroupBy));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < c.group_by.size(); ++i) {
    const std::string field = absl::StrCat("rule.threshold.group_by[", i, "]");
    if (!IsValidLabelName(c.group_by[i])) {
      return common::InvalidField(field, "must match [a-zA-Z_][a-zA-Z0-9_]*");
    }
    if (!seen.insert(c.group_by[i]).second) {
      return common::InvalidField(field, absl::StrCat("\"", c.group_by[i], "\" listed twice"));
    }
  }
  const int comparison = static_cast<int>(c.comparison);
  if (comparison < 1 || comparison > 4) {
    return common::InvalidField(
        "rule.threshold.comparison",
        comparison == 0 ? "required" : absl::StrCat("unknown value ", comparison));
  }
  if (!std::isfinite(c.threshold)) {
    return common::InvalidField("rule.threshold.threshold", "must be finite");
  }
  if (!c.denominator_metric.empty() && !IsValidMetricName(c.denominator_metric)) {
    return common::InvalidField("rule.threshold.denominator_metric",
                                "must match [a-zA-Z_:][a-zA-Z0-9_:]* (at most 256 bytes)");
  }
  if (c.denominator_metric.empty() && !c.denominator_matchers.empty()) {
    return common::InvalidField("rule.threshold.denominator_matchers",
                                "only allowed with denominator_metric");
  }
  RETURN_IF_ERROR(CheckMatchers("rule.threshold.denominator_matchers", c.denominator_matchers));
  RETURN_IF_ERROR(ValidateBaselineWindow(c.baseline_window, !c.denominator_metric.empty(),
                                         "rule.threshold.baseline_window"));
  RETURN_IF_ERROR(CheckDuration("rule.for_duration", rule.for_duration));
  const int severity = static_cast<int>(rule.severity);
  if (severity < 1 || severity > 4) {
    return common::InvalidField("rule.severity", absl::StrCat("unknown value ", severity));
  }
  RETURN_IF_ERROR(CheckLabels("rule.labels", rule.labels, kMaxLabelValueBytes));
  RETURN_IF_ERROR(CheckLabels("rule.annotations", rule.annotations, kMaxAnnotationBytes));
  if (rule.hysteresis.resolve_threshold.has_value()) {
    const double resolve = *rule.hysteresis.resolve_threshold;
    if (!std::isfinite(resolve)) {
      return common::InvalidField("rule.hysteresis.resolve_threshold", "must be finite");
    }
    if (HigherFires(c.comparison) ? resolve > c.threshold : resolve < c.threshold) {
      return common::InvalidField(
          "rule.hysteresis.resolve_threshold",
          absl::StrCat("must be ", HigherFires(c.comparison) ? "at or below" : "at or above",
                       " the threshold ", FormatValue(c.threshold)));
    }
  }
  RETURN_IF_ERROR(
      CheckDuration("rule.hysteresis.keep_firing_for", rule.hysteresis.keep_firing_for));
  return absl::OkStatus();
}

bool Compares(double value, Comparison comparison, double threshold) {
  switch (comparison) {
    case Comparison::kGreaterThan:
      return value > threshold;
    case Comparison::kGreaterOrEqual:
      return value >= threshold;
    case Comparison::kLessThan:
      return value < threshold;
    case Comparison::kLessOrEqual:
      return value <= threshold;
    case Comparison::kUnspecified:
      break;
  }
  return false;
}

std::optional<double> WindowValue(Aggregation aggregation, const RollupStats& stats,
                                  const std::optional<QuantileSketch>& sketch,
                                  absl::Duration window) {
  if (IsQuantileAggregation(aggregation)) {
    if (!sketch.has_value()) return std::nullopt;
    return sketch->Quantile(QuantileOf(aggregation));
  }
  if (stats.count <= 0) return std::nullopt;
  switch (aggregation) {
    case Aggregation::kRate:
      return stats.sum / absl::ToDoubleSeconds(window);
    default:
      return PointValue(aggregation, stats, window);
  }
}

std::string AlertRuleFingerprint(const std::string& tenant, const std::string& rule_id,
                                 const Labels& group) {
  return StableHash({kAlertRuleEvaluator, tenant, rule_id, CanonicalLabelText(group)});
}

AlertAction StepRuleAlert(const AlertRule& rule, std::optional<double> value, absl::Time now,
                          AlertState* state) {
  const ThresholdCondition& c = rule.condition;
  const bool holds = value.has_value() && Compares(*value, c.comparison, c.threshold);
  if (value.has_value()) state->value = *value;
  state->last_evaluation = now;
  if (state->firing) {
    if (StillFiring(rule, value)) {
      state->clear_since.reset();
      return AlertAction::kNone;
    }
    if (!state->clear_since.has_value()) state->clear_since = now;
    if (now - *state->clear_since < rule.hysteresis.keep_firing_for) return AlertAction::kNone;
    state->firing = false;
    state->pending = false;
    state->ends_at = now;
    state->clear_since.reset();
    state->active_since.reset();
    return AlertAction::kResolve;
  }
  if (!holds) {
    state->pending = false;
    state->active_since.reset();
    return AlertAction::kNone;
  }
  if (!state->pending) {
    state->pending = true;
    state->active_since = now;
  }
  if (now - *state->active_since < rule.for_duration) return AlertAction::kNone;
  state->pending = false;
  state->firing = true;
  state->starts_at = now;
  state->ends_at.reset();
  state->clear_since.reset();
  return AlertAction::kFire;
}

namespace {

// The notice of a transition of `state`.
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

// The labels identifying a group: the group_by labels with values.
Labels GroupLabels(const std::vector<std::string>& group_by,
                   const std::vector<std::string>& values) {
  Labels labels;
  for (size_t i = 0; i < group_by.size() && i < values.size(); ++i) {
    if (!values[i].empty()) labels[group_by[i]] = values[i];
  }
  return labels;
}

absl::Status Apply(const AlertRule& rule, AlertState& state, AlertAction action,
                   AlertRuleContext& context, absl::Time now, RuleOutcome* outcome) {
  const ThresholdCondition& c = rule.condition;
  if (action == AlertAction::kFire) {
    RETURN_IF_ERROR(context.EmitAlert(
        NoticeOf(rule, state, true, now,
                 absl::StrCat(rule.name, ": ", c.metric, " ", FormatValue(state.value), " ",
                              ComparisonText(c.comparison), " ", FormatValue(c.threshold), " over ",
                              absl::FormatDuration(c.window)))));
    ++outcome->fired;
  } else if (action == AlertAction::kResolve) {
    RETURN_IF_ERROR(
        context.EmitAlert(NoticeOf(rule, state, false, now,
                                   absl::StrCat(rule.name, ": ", c.metric, " back to normal (",
                                                FormatValue(state.value), ")"))));
    ++outcome->resolved;
  }
  if (IsActive(state)) return context.SaveRuleAlert(state);
  return context.DeleteRuleAlert(state.tenant, state.fingerprint);
}

}  // namespace

absl::StatusOr<std::map<std::vector<std::string>, std::map<absl::Time, GroupStats>>>
AlertRuleContext::MinuteGroups(const std::string& tenant, const std::string& metric,
                               const std::vector<LabelMatcher>& matchers,
                               const std::vector<std::string>& group_by, const BucketRange& range,
                               bool with_sketch) {
  std::map<std::vector<std::string>, std::map<absl::Time, GroupStats>> out;
  for (absl::Time minute = range.from; minute < range.to; minute += absl::Minutes(1)) {
    ASSIGN_OR_RETURN(auto groups, WindowGroups(tenant, metric, matchers, group_by,
                                               {minute, minute + absl::Minutes(1)}, with_sketch));
    for (auto& [group, stats] : groups) out[group][minute] = std::move(stats);
  }
  return out;
}

absl::StatusOr<std::vector<AnomalySeriesState>> AlertRuleContext::LoadAnomalyStates(
    const std::string&, const std::string&) {
  return absl::UnimplementedError("anomaly rules: this store keeps no detector state");
}

absl::Status AlertRuleContext::SaveAnomalyState(const AnomalySeriesState&) {
  return absl::UnimplementedError("anomaly rules: this store keeps no detector state");
}

absl::Status AlertRuleContext::DeleteAnomalyState(const std::string&, const std::string&,
                                                  const std::string&) {
  return absl::UnimplementedError("anomaly rules: this store keeps no detector state");
}

absl::Status EvaluateAlertRule(const AlertRule& rule, AlertRuleContext& context, absl::Time now,
                               RuleOutcome* outcome) {
  if (rule.disabled) return ResolveAlertRule(rule, context, now, outcome);
  if (rule.anomaly.enabled) return EvaluateAnomalyRule(rule, context, now, outcome);
  RETURN_IF_ERROR(context.LockRule(rule.tenant, rule.id));
  const ThresholdCondition& c = rule.condition;
  const BucketRange range = WindowBuckets(now, c.window);
  ASSIGN_OR_RETURN(auto numerator,
                   context.WindowGroups(rule.tenant, c.metric, c.matchers, c.group_by, range,
                                        IsQuantileAggregation(c.aggregation)));
  std::map<std::vector<std::string>, std::optional<double>> values;
  if (c.denominator_metric.empty()) {
    for (const auto& [group, stats] : numerator) {
      values[group] = WindowValue(c.aggregation, stats.stats, stats.sketch, c.window);
    }
  } else {
    ASSIGN_OR_RETURN(const auto denominator,
                     context.WindowGroups(rule.tenant, c.denominator_metric, c.denominator_matchers,
                                          c.group_by, range, false));
    for (const auto& [group, stats] : denominator) {
      const std::optional<double> below =
          WindowValue(c.aggregation, stats.stats, std::nullopt, c.window);
      if (!below.has_value() || *below == 0) {
        values[group] = std::nullopt;
        continue;
      }
      const auto above = numerator.find(group);
      const std::optional<double> top =
          above == numerator.end()
              ? std::optional<double>(0)
              : WindowValue(c.aggregation, above->second.stats, std::nullopt, c.window);
      values[group] = top.value_or(0) / *below;
    }
  }

  if (c.baseline_window > absl::ZeroDuration()) {
    // Regression rule: each group's value relative to its baseline.
    ASSIGN_OR_RETURN(const auto baseline,
                     context.WindowGroups(rule.tenant, c.metric, c.matchers, c.group_by,
                                          BaselineBuckets(now, c.window, c.baseline_window),
                                          IsQuantileAggregation(c.aggregation)));
    for (auto& [group, value] : values) {
      const auto it = baseline.find(group);
      value = RelativeChange(value, it == baseline.end()
                                        ? std::nullopt
                                        : WindowValue(c.aggregation, it->second.stats,
                                                      it->second.sketch, c.baseline_window));
    }
  }

  ASSIGN_OR_RETURN(std::vector<AlertState> stored, context.LockRuleAlerts(rule.tenant, rule.id));
  std::map<std::string, AlertState> by_fingerprint;
  for (AlertState& state : stored) by_fingerprint[state.fingerprint] = std::move(state);

  for (const auto& [group, value] : values) {
    const Labels group_labels = GroupLabels(c.group_by, group);
    const std::string fingerprint = AlertRuleFingerprint(rule.tenant, rule.id, group_labels);
    auto it = by_fingerprint.find(fingerprint);
    AlertState state;
    if (it != by_fingerprint.end()) {
      state = std::move(it->second);
      by_fingerprint.erase(it);
    } else {
      state.tenant = rule.tenant;
      state.fingerprint = fingerprint;
      state.rule = kAlertRuleEvaluator;
      state.rule_id = rule.id;
    }
    // The rule may have changed since the alert was stored.
    state.name = rule.name;
    state.severity = rule.severity;
    state.labels = rule.labels;
    for (const auto& [name, label] : group_labels) state.labels[name] = label;
    state.labels["alertname"] = rule.name;
    state.labels[kLabelTenant] = rule.tenant;
    state.annotations = rule.annotations;
    const bool was_active = IsActive(state);
    const AlertAction action = StepRuleAlert(rule, value, now, &state);
    if (!was_active && !IsActive(state) && action == AlertAction::kNone) continue;
    RETURN_IF_ERROR(Apply(rule, state, action, context, now, outcome));
  }
  // Stored alerts of groups without data in the window.
  for (auto& [fingerprint, state] : by_fingerprint) {
    const AlertAction action = StepRuleAlert(rule, std::nullopt, now, &state);
    RETURN_IF_ERROR(Apply(rule, state, action, context, now, outcome));
  }
  return absl::OkStatus();
}

absl::Status ResolveAlertRule(const AlertRule& rule, AlertRuleContext& context, absl::Time now,
                              RuleOutcome* outcome) {
  RETURN_IF_ERROR(context.LockRule(rule.tenant, rule.id));
  if (rule.anomaly.enabled) RETURN_IF_ERROR(DropAnomalyStates(rule, context));
  ASSIGN_OR_RETURN(std::vector<AlertState> stored, context.LockRuleAlerts(rule.tenant, rule.id));
  for (AlertState& state : stored) {
    AlertAction action = AlertAction::kNone;
    if (state.firing) {
      state.firing = false;
      state.ends_at = now;
      action = AlertAction::kResolve;
    }
    state.pending = false;
    state.last_evaluation = now;
    RETURN_IF_ERROR(Apply(rule, state, action, context, now, outcome));
  }
  return absl::OkStatus();
}

}  // namespace agentwatch::monitor
