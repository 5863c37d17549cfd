#include "monitor/api/proto_mapping.h"

#include "common/status_macros.h"
#include "monitor/api/ingest_batch.h"
#include "monitor/core/anomaly_rules.h"
#include "monitor/store/proto_time.h"

namespace agentwatch::monitor {
namespace {

void ToProtoDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

std::vector<LabelMatcher> MatchersFromProto(
    const google::protobuf::RepeatedPtrField<agentwatch::common::v1::LabelMatcher>& proto) {
  std::vector<LabelMatcher> out;
  for (const auto& matcher : proto) {
    out.push_back({matcher.name(), static_cast<MatchOp>(matcher.op()), matcher.value()});
  }
  return out;
}

void MatchersToProto(
    const std::vector<LabelMatcher>& matchers,
    google::protobuf::RepeatedPtrField<agentwatch::common::v1::LabelMatcher>* proto) {
  for (const LabelMatcher& matcher : matchers) {
    auto* out = proto->Add();
    out->set_name(matcher.name);
    out->set_op(static_cast<agentwatch::common::v1::MatchOp>(matcher.op));
    out->set_value(matcher.value);
  }
}

}  // namespace

absl::StatusOr<Event> EventFromProto(const v1::Event& proto, size_t index) {
  EventView view;
  RETURN_IF_ERROR(EventViewFromProto(proto, index, &view));
  return ToEvent(view);
}

HealthScope ScopeFromProto(const agentwatch::common::v1::Scope& proto) {
  HealthScope scope;
  scope.tenant = proto.tenant();
  scope.team = proto.team();
  scope.workflow = proto.workflow();
  scope.agent = proto.agent();
  scope.model = proto.model();
  scope.provider = proto.provider();
  scope.service = proto.service();
  scope.tags.insert(proto.tags().begin(), proto.tags().end());
  return scope;
}

void ScopeToProto(const HealthScope& scope, agentwatch::common::v1::Scope* proto) {
  proto->set_tenant(scope.tenant);
  proto->set_team(scope.team);
  proto->set_workflow(scope.workflow);
  proto->set_agent(scope.agent);
  proto->set_model(scope.model);
  proto->set_provider(scope.provider);
  proto->set_service(scope.service);
  proto->mutable_tags()->insert(scope.tags.begin(), scope.tags.end());
}

ScopeThresholds ThresholdsFromProto(const v1::HealthThresholds& proto) {
  ScopeThresholds out;
  out.scope = ScopeFromProto(proto.scope());
  for (const v1::IndicatorThreshold& entry : proto.thresholds()) {
    out.thresholds.push_back(
        {entry.indicator(), entry.warning(), entry.critical(), entry.disabled()});
  }
  return out;
}

void StoredThresholdsToProto(const ScopeThresholds& stored, v1::HealthThresholds* proto) {
  ScopeToProto(stored.scope, proto->mutable_scope());
  for (const ThresholdOverride& entry : stored.thresholds) {
    v1::IndicatorThreshold* out = proto->add_thresholds();
    out->set_indicator(entry.indicator);
    out->set_warning(entry.warning);
    out->set_critical(entry.critical);
    out->set_disabled(entry.disabled);
    if (const IndicatorThreshold* defaults = FindDefaultThreshold(entry.indicator)) {
      out->set_direction(static_cast<v1::Direction>(defaults->direction));
    }
  }
  ToProtoTimestamp(stored.update_time, proto->mutable_update_time());
}

void EffectiveThresholdsToProto(const HealthScope& scope,
                                const std::vector<EffectiveThreshold>& effective,
                                std::optional<absl::Time> update_time,
                                v1::HealthThresholds* proto) {
  ScopeToProto(scope, proto->mutable_scope());
  for (const EffectiveThreshold& entry : effective) {
    v1::IndicatorThreshold* out = proto->add_thresholds();
    out->set_indicator(entry.threshold.name);
    out->set_warning(entry.threshold.warning);
    out->set_critical(entry.threshold.critical);
    out->set_direction(static_cast<v1::Direction>(entry.threshold.direction));
    out->set_disabled(entry.disabled);
  }
  if (update_time.has_value()) ToProtoTimestamp(*update_time, proto->mutable_update_time());
}

absl::StatusOr<AlertRule> AlertRuleFromProto(const v1::AlertRule& proto) {
  if (!proto.has_threshold() && !proto.has_anomaly()) {
    return common::InvalidField("rule.threshold", "required");
  }
  AlertRule rule;
  rule.id = proto.id();
  rule.name = proto.name();
  rule.tenant = proto.tenant();
  rule.description = proto.description();
  ThresholdCondition& c = rule.condition;
  if (proto.has_anomaly()) {
    const v1::AnomalyCondition& in = proto.anomaly();
    c.metric = in.metric();
    c.matchers = MatchersFromProto(in.matchers());
    c.aggregation = static_cast<Aggregation>(in.aggregation());
    c.group_by.assign(in.group_by().begin(), in.group_by().end());
    std::optional<absl::Duration> min_history;
    if (in.has_min_history()) {
      ASSIGN_OR_RETURN(min_history,
                       FromProtoDuration(in.min_history(), "rule.anomaly.min_history"));
    }
    MakeAnomalyRule(in.score_threshold(), min_history, &rule);
  } else {
    const v1::ThresholdCondition& in = proto.threshold();
    c.metric = in.metric();
    c.matchers = MatchersFromProto(in.matchers());
    c.aggregation = static_cast<Aggregation>(in.aggregation());
    if (in.has_window()) {
      ASSIGN_OR_RETURN(c.window, FromProtoDuration(in.window(), "rule.threshold.window"));
    } else {
      c.window = absl::ZeroDuration();
    }
    c.group_by.assign(in.group_by().begin(), in.group_by().end());
    c.comparison = static_cast<Comparison>(in.comparison());
    c.threshold = in.threshold();
    c.denominator_metric = in.denominator_metric();
    c.denominator_matchers = MatchersFromProto(in.denominator_matchers());
    if (in.has_baseline_window()) {
      ASSIGN_OR_RETURN(c.baseline_window,
                       FromProtoDuration(in.baseline_window(), "rule.threshold.baseline_window"));
    }
  }
  if (proto.has_for_duration()) {
    ASSIGN_OR_RETURN(rule.for_duration,
                     FromProtoDuration(proto.for_duration(), "rule.for_duration"));
  }
  rule.severity = static_cast<Severity>(proto.severity());
  rule.labels.insert(proto.labels().begin(), proto.labels().end());
  rule.annotations.insert(proto.annotations().begin(), proto.annotations().end());
  if (proto.hysteresis().has_resolve_threshold()) {
    rule.hysteresis.resolve_threshold = proto.hysteresis().resolve_threshold();
  }
  if (proto.hysteresis().has_keep_firing_for()) {
    ASSIGN_OR_RETURN(
        rule.hysteresis.keep_firing_for,
        FromProtoDuration(proto.hysteresis().keep_firing_for(), "rule.hysteresis.keep_firing_for"));
  }
  rule.disabled = proto.disabled();
  return rule;
}

void AlertRuleToProto(const AlertRule& rule, v1::AlertRule* proto) {
  proto->set_id(rule.id);
  proto->set_name(rule.name);
  proto->set_tenant(rule.tenant);
  proto->set_description(rule.description);
  const ThresholdCondition& c = rule.condition;
  if (rule.anomaly.enabled) {
    v1::AnomalyCondition* anomaly = proto->mutable_anomaly();
    anomaly->set_metric(c.metric);
    MatchersToProto(c.matchers, anomaly->mutable_matchers());
    anomaly->set_aggregation(static_cast<v1::Aggregation>(c.aggregation));
    for (const std::string& label : c.group_by) anomaly->add_group_by(label);
    anomaly->set_score_threshold(c.threshold);
    ToProtoDuration(rule.anomaly.min_history, anomaly->mutable_min_history());
  } else {
    v1::ThresholdCondition* out = proto->mutable_threshold();
    out->set_metric(c.metric);
    MatchersToProto(c.matchers, out->mutable_matchers());
    out->set_aggregation(static_cast<v1::Aggregation>(c.aggregation));
    ToProtoDuration(c.window, out->mutable_window());
    for (const std::string& label : c.group_by) out->add_group_by(label);
    out->set_comparison(static_cast<v1::Comparison>(c.comparison));
    out->set_threshold(c.threshold);
    out->set_denominator_metric(c.denominator_metric);
    MatchersToProto(c.denominator_matchers, out->mutable_denominator_matchers());
    if (c.baseline_window > absl::ZeroDuration()) {
      ToProtoDuration(c.baseline_window, out->mutable_baseline_window());
    }
  }
  ToProtoDuration(rule.for_duration, proto->mutable_for_duration());
  proto->set_severity(static_cast<agentwatch::common::v1::Severity>(rule.severity));
  proto->mutable_labels()->insert(rule.labels.begin(), rule.labels.end());
  proto->mutable_annotations()->insert(rule.annotations.begin(), rule.annotations.end());
  if (rule.hysteresis.resolve_threshold.has_value()) {
    proto->mutable_hysteresis()->set_resolve_threshold(*rule.hysteresis.resolve_threshold);
  }
  ToProtoDuration(rule.hysteresis.keep_firing_for,
                  proto->mutable_hysteresis()->mutable_keep_firing_for());
  proto->set_disabled(rule.disabled);
  ToProtoTimestamp(rule.create_time, proto->mutable_create_time());
  ToProtoTimestamp(rule.update_time, proto->mutable_update_time());
}

void ActiveAlertToProto(const AlertState& state, v1::ActiveAlert* proto) {
  proto->set_fingerprint(state.fingerprint);
  proto->set_rule_id(state.rule_id.empty() ? state.rule : state.rule_id);
  proto->set_name(state.name);
  proto->set_tenant(state.tenant);
  proto->set_severity(static_cast<agentwatch::common::v1::Severity>(state.severity));
  proto->mutable_labels()->insert(state.labels.begin(), state.labels.end());
  proto->mutable_annotations()->insert(state.annotations.begin(), state.annotations.end());
  proto->set_state(state.firing ? v1::ACTIVE_ALERT_STATE_FIRING : v1::ACTIVE_ALERT_STATE_PENDING);
  proto->set_value(state.value);
  const std::optional<absl::Time> since =
      state.active_since.has_value() ? state.active_since : state.starts_at;
  if (since.has_value()) ToProtoTimestamp(*since, proto->mutable_active_since());
  if (state.firing && state.starts_at.has_value()) {
    ToProtoTimestamp(*state.starts_at, proto->mutable_starts_at());
  }
  if (state.last_evaluation.has_value()) {
    ToProtoTimestamp(*state.last_evaluation, proto->mutable_last_evaluation_time());
  }
}

void HealthReportToProto(const HealthReport& report, v1::HealthReport* proto) {
  proto->set_overall_status(
      static_cast<agentwatch::common::v1::HealthStatus>(report.overall_status));
  ToProtoTimestamp(report.as_of, proto->mutable_as_of());
  for (const ScopeHealth& scope : report.scopes) {
    v1::ScopeHealth* out = proto->add_scopes();
    ScopeToProto(scope.scope, out->mutable_scope());
    out->set_kind(scope.kind);
    out->set_status(static_cast<agentwatch::common::v1::HealthStatus>(scope.status));
    for (const IndicatorValue& indicator : scope.indicators) {
      v1::Indicator* i = out->add_indicators();
      i->set_name(indicator.threshold.name);
      i->set_value(indicator.value);
      i->set_unit(indicator.threshold.unit);
      i->set_status(static_cast<agentwatch::common::v1::HealthStatus>(indicator.status));
      i->set_warning_threshold(indicator.threshold.warning);
      i->set_critical_threshold(indicator.threshold.critical);
      i->set_direction(static_cast<v1::Direction>(indicator.threshold.direction));
      i->set_sample_count(indicator.sample_count);
    }
  }
}

absl::StatusOr<SeriesQueryRequest> SeriesQueryFromProto(const v1::QuerySeriesRequest& proto) {
  SeriesQueryRequest request;
  request.metric = proto.metric();
  for (const auto& matcher : proto.matchers()) {
    request.matchers.push_back(
        {matcher.name(), static_cast<MatchOp>(matcher.op()), matcher.value()});
  }
  if (proto.range().has_start()) {
    ASSIGN_OR_RETURN(request.start, FromProtoTimestamp(proto.range().start(), "range.start"));
  }
  if (proto.range().has_end()) {
    ASSIGN_OR_RETURN(request.end, FromProtoTimestamp(proto.range().end(), "range.end"));
  }
  if (proto.has_step()) {
    ASSIGN_OR_RETURN(request.step, FromProtoDuration(proto.step(), "step"));
  }
  request.aggregation = proto.aggregation();
  request.group_by.assign(proto.group_by().begin(), proto.group_by().end());
  request.tenant = proto.tenant();
  return request;
}

void SeriesToProto(const std::vector<SeriesResult>& series, v1::QuerySeriesResponse* proto) {
  for (const SeriesResult& result : series) {
    v1::Series* out = proto->add_series();
    out->mutable_labels()->insert(result.labels.begin(), result.labels.end());
    for (const SeriesPoint& point : result.points) {
      v1::Point* p = out->add_points();
      ToProtoTimestamp(point.time, p->mutable_time());
      p->set_value(point.value);
    }
  }
}

}  // namespace agentwatch::monitor
