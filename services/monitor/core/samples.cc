#include "monitor/core/samples.h"

#include "monitor/core/names.h"

namespace agentwatch::monitor {
namespace {

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

// Fills the kind's labels and values.
class KindSamples {
 public:
  explicit KindSamples(EventSampleViews& out) : out_(out) {}

  void operator()(const std::monostate&) {}

  void operator()(const WorkflowRunView& run) {
    Label(kLabelWorkflow, run.workflow);
    Label(kLabelTeam, run.team);
    Label(kLabelStatus, RunStatusLabel(run.status));
    Add(kWorkflowRunsTotal, 1);
    if (run.duration) Add(kWorkflowDurationSeconds, Seconds(*run.duration));
  }

  void operator()(const AgentExecutionView& execution) {
    Label(kLabelAgent, execution.agent);
    Label(kLabelWorkflow, execution.workflow);
    Label(kLabelStatus, RunStatusLabel(execution.status));
    Add(kAgentExecutionsTotal, 1);
    if (execution.duration) Add(kAgentExecutionSeconds, Seconds(*execution.duration));
    Add(kAgentRetriesTotal, execution.retries);
  }

  void operator()(const LlmCallView& call) {
    Label(kLabelProvider, call.provider);
    Label(kLabelModel, call.model);
    Label(kLabelAgent, call.agent);
    Label(kLabelWorkflow, call.workflow);
    Label(kLabelTeam, call.team);
    Label(kLabelStatus, RunStatusLabel(call.status));
    Label(kLabelErrorType, call.error_type);
    Add(kLlmCallsTotal, 1);
    if (call.latency) Add(kLlmLatencySeconds, Seconds(*call.latency));
    if (call.time_to_first_token) {
      Add(kLlmTimeToFirstTokenSeconds, Seconds(*call.time_to_first_token));
    }
    Add(kLlmInputTokensTotal, static_cast<double>(call.input_tokens));
    Add(kLlmOutputTokensTotal, static_cast<double>(call.output_tokens));
    Add(kLlmCachedInputTokensTotal, static_cast<double>(call.cached_input_tokens));
    Add(kLlmCacheCreationTokensTotal, static_cast<double>(call.cache_creation_tokens));
    Add(kLlmThrottledTotal, call.throttled ? 1 : 0);
  }

  void operator()(const ResourceSampleView& sample) {
    Label(kLabelComponent, sample.component);
    Label(kLabelPod, sample.pod);
    if (sample.cpu_utilization) Add(kResourceCpuUtilization, *sample.cpu_utilization);
    if (sample.memory_utilization) Add(kResourceMemoryUtilization, *sample.memory_utilization);
    if (sample.queue_depth) Add(kResourceQueueDepth, static_cast<double>(*sample.queue_depth));
    if (sample.processing_lag) Add(kResourceProcessingLagSeconds, Seconds(*sample.processing_lag));
  }

  void operator()(const MetricSampleView& sample) { Add(sample.name, sample.value); }

  void operator()(const QualityScoreView& score) {
    Label(kLabelScore, score.name);
    Label(kLabelWorkflow, score.workflow);
    Label(kLabelAgent, score.agent);
    Add(kQualityScore, score.value);
  }

  void Label(absl::string_view name, absl::string_view value) {
    if (!value.empty()) out_.labels.push_back({name, value});
  }

 private:
  void Add(absl::string_view metric, double value) { out_.values.emplace_back(metric, value); }

  EventSampleViews& out_;
};

}  // namespace

void SampleViewsOfEvent(const EventView& event, EventSampleViews* out) {
  out->labels.clear();
  out->values.clear();
  // The event's own labels first: validation keeps them off the built-in
  // names, so the kind's labels never collide with them.
  KindSamples kind(*out);
  for (const LabelView& label : event.labels) kind.Label(label.name, label.value);
  kind.Label(kLabelTenant, event.tenant);
  std::visit(kind, event.kind);
}

EventSamples SamplesOfEvent(const Event& event) {
  EventSampleViews views;
  SampleViewsOfEvent(ViewOf(event), &views);
  EventSamples out;
  // Later labels win, as the kind's labels did over the event's own.
  for (const LabelView& label : views.labels) {
    out.labels[std::string(label.name)] = std::string(label.value);
  }
  out.values.assign(views.values.begin(), views.values.end());
  return out;
}

}  // namespace agentwatch::monitor
