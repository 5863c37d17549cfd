#include "monitor/api/proto_mapping.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "monitor/store/proto_time.h"

namespace agentwatch::monitor {
namespace {

// Maps an optional Duration field.
absl::Status OptionalDuration(bool present, const google::protobuf::Duration& proto,
                              const std::string& field, std::optional<absl::Duration>* out) {
  if (!present) return absl::OkStatus();
  ASSIGN_OR_RETURN(*out, FromProtoDuration(proto, field));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Event> EventFromProto(const v1::Event& proto, size_t index) {
  const std::string prefix = absl::StrCat("events[", index, "]");
  Event event;
  event.event_id = proto.event_id();
  if (proto.has_time()) {
    ASSIGN_OR_RETURN(event.time, FromProtoTimestamp(proto.time(), absl::StrCat(prefix, ".time")));
  }
  event.tenant = proto.tenant();
  event.labels.insert(proto.labels().begin(), proto.labels().end());
  switch (proto.kind_case()) {
    case v1::Event::kWorkflowRun: {
      const v1::WorkflowRun& in = proto.workflow_run();
      WorkflowRun run;
      run.workflow = in.workflow();
      run.run_id = in.run_id();
      run.team = in.team();
      run.status = static_cast<RunStatus>(in.status());
      RETURN_IF_ERROR(OptionalDuration(in.has_duration(), in.duration(),
                                       prefix + ".workflow_run.duration", &run.duration));
      run.step_count = in.step_count();
      event.kind = std::move(run);
      break;
    }
    case v1::Event::kAgentExecution: {
      const v1::AgentExecution& in = proto.agent_execution();
      AgentExecution execution;
      execution.agent = in.agent();
      execution.workflow = in.workflow();
      execution.run_id = in.run_id();
      execution.status = static_cast<RunStatus>(in.status());
      RETURN_IF_ERROR(OptionalDuration(in.has_duration(), in.duration(),
                                       prefix + ".agent_execution.duration", &execution.duration));
      execution.retries = in.retries();
      event.kind = std::move(execution);
      break;
    }
    case v1::Event::kLlmCall: {
      const v1::LlmCall& in = proto.llm_call();
      LlmCall call;
      call.provider = in.provider();
      call.model = in.model();
      call.workflow = in.workflow();
      call.run_id = in.run_id();
      call.agent = in.agent();
      call.team = in.team();
      RETURN_IF_ERROR(OptionalDuration(in.has_latency(), in.latency(), prefix + ".llm_call.latency",
                                       &call.latency));
      RETURN_IF_ERROR(OptionalDuration(in.has_time_to_first_token(), in.time_to_first_token(),
                                       prefix + ".llm_call.time_to_first_token",
                                       &call.time_to_first_token));
      call.input_tokens = in.input_tokens();
      call.output_tokens = in.output_tokens();
      call.cached_input_tokens = in.cached_input_tokens();
      call.cache_creation_tokens = in.cache_creation_tokens();
      call.status = static_cast<RunStatus>(in.status());
      call.error_type = in.error_type();
      call.throttled = in.throttled();
      event.kind = std::move(call);
      break;
    }
    case v1::Event::kResourceSample: {
      const v1::ResourceSample& in = proto.resource_sample();
      ResourceSample sample;
      sample.component = in.component();
      sample.pod = in.pod();
      if (in.has_cpu_utilization()) sample.cpu_utilization = in.cpu_utilization();
      if (in.has_memory_utilization()) sample.memory_utilization = in.memory_utilization();
      if (in.has_queue_depth()) sample.queue_depth = in.queue_depth();
      RETURN_IF_ERROR(OptionalDuration(in.has_processing_lag(), in.processing_lag(),
                                       prefix + ".resource_sample.processing_lag",
                                       &sample.processing_lag));
      event.kind = std::move(sample);
      break;
    }
    case v1::Event::kMetricSample:
      event.kind = MetricSample{proto.metric_sample().name(), proto.metric_sample().value()};
      break;
    case v1::Event::kQualityScore: {
      const v1::QualityScore& in = proto.quality_score();
      event.kind = QualityScore{in.name(), in.value(), in.workflow(), in.agent(), in.run_id()};
      break;
    }
    case v1::Event::KIND_NOT_SET:
      break;
  }
  return event;
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
