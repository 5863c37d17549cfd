#include "monitor/core/event_view.h"

#include <algorithm>

namespace agentwatch::monitor {
namespace {

struct KindViewer {
  EventKindView operator()(const std::monostate&) const { return std::monostate{}; }
  EventKindView operator()(const WorkflowRun& in) const {
    return WorkflowRunView{in.workflow, in.run_id, in.team, in.status, in.duration, in.step_count};
  }
  EventKindView operator()(const AgentExecution& in) const {
    return AgentExecutionView{in.agent, in.workflow, in.run_id, in.status, in.duration, in.retries};
  }
  EventKindView operator()(const LlmCall& in) const {
    LlmCallView out;
    out.provider = in.provider;
    out.model = in.model;
    out.workflow = in.workflow;
    out.run_id = in.run_id;
    out.agent = in.agent;
    out.team = in.team;
    out.latency = in.latency;
    out.time_to_first_token = in.time_to_first_token;
    out.input_tokens = in.input_tokens;
    out.output_tokens = in.output_tokens;
    out.cached_input_tokens = in.cached_input_tokens;
    out.cache_creation_tokens = in.cache_creation_tokens;
    out.status = in.status;
    out.error_type = in.error_type;
    out.throttled = in.throttled;
    return out;
  }
  EventKindView operator()(const ResourceSample& in) const {
    return ResourceSampleView{in.component,          in.pod,         in.cpu_utilization,
                              in.memory_utilization, in.queue_depth, in.processing_lag};
  }
  EventKindView operator()(const MetricSample& in) const {
    return MetricSampleView{in.name, in.value};
  }
  EventKindView operator()(const QualityScore& in) const {
    return QualityScoreView{in.name, in.value, in.workflow, in.agent, in.run_id};
  }
};

struct KindCopier {
  EventKind operator()(const std::monostate&) const { return std::monostate{}; }
  EventKind operator()(const WorkflowRunView& in) const {
    return WorkflowRun{std::string(in.workflow), std::string(in.run_id), std::string(in.team),
                       in.status, in.duration, in.step_count};
  }
  EventKind operator()(const AgentExecutionView& in) const {
    return AgentExecution{std::string(in.agent),  std::string(in.workflow),
                          std::string(in.run_id), in.status,
                          in.duration,            in.retries};
  }
  EventKind operator()(const LlmCallView& in) const {
    LlmCall out;
    out.provider = std::string(in.provider);
    out.model = std::string(in.model);
    out.workflow = std::string(in.workflow);
    out.run_id = std::string(in.run_id);
    out.agent = std::string(in.agent);
    out.team = std::string(in.team);
    out.latency = in.latency;
    out.time_to_first_token = in.time_to_first_token;
    out.input_tokens = in.input_tokens;
    out.output_tokens = in.output_tokens;
    out.cached_input_tokens = in.cached_input_tokens;
    out.cache_creation_tokens = in.cache_creation_tokens;
    out.status = in.status;
    out.error_type = std::string(in.error_type);
    out.throttled = in.throttled;
    return out;
  }
  EventKind operator()(const ResourceSampleView& in) const {
    return ResourceSample{std::string(in.component), std::string(in.pod),
                          in.cpu_utilization,        in.memory_utilization,
                          in.queue_depth,            in.processing_lag};
  }
  EventKind operator()(const MetricSampleView& in) const {
    return MetricSample{std::string(in.name), in.value};
  }
  EventKind operator()(const QualityScoreView& in) const {
    return QualityScore{std::string(in.name), in.value, std::string(in.workflow),
                        std::string(in.agent), std::string(in.run_id)};
  }
};

}  // namespace

Event ToEvent(const EventView& view) {
  Event event;
  event.event_id = std::string(view.event_id);
  event.time = view.time;
  event.tenant = std::string(view.tenant);
  for (const LabelView& label : view.labels) {
    event.labels.emplace(std::string(label.name), std::string(label.value));
  }
  event.kind = std::visit(KindCopier{}, view.kind);
  return event;
}

EventView ViewOf(const Event& event) {
  EventView view;
  view.event_id = event.event_id;
  view.time = event.time;
  view.tenant = event.tenant;
  for (const auto& [name, value] : event.labels) view.labels.push_back({name, value});
  view.kind = std::visit(KindViewer{}, event.kind);
  return view;
}

void SortLabels(LabelViews& labels) {
  std::sort(labels.begin(), labels.end(),
            [](const LabelView& a, const LabelView& b) { return a.name < b.name; });
}

}  // namespace agentwatch::monitor
