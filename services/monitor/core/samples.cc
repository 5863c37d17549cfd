#include "monitor/core/samples.h"

#include "monitor/core/names.h"

namespace agentwatch::monitor {
namespace {

void SetLabel(Labels& labels, const char* name, const std::string& value) {
  if (!value.empty()) labels[name] = value;
}

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

// Fills the kind's labels and values.
class KindSamples {
 public:
  explicit KindSamples(EventSamples& out) : out_(out) {}

  void operator()(const std::monostate&) {}

  void operator()(const WorkflowRun& run) {
    SetLabel(out_.labels, kLabelWorkflow, run.workflow);
    SetLabel(out_.labels, kLabelTeam, run.team);
    SetLabel(out_.labels, kLabelStatus, RunStatusLabel(run.status));
    Add(kWorkflowRunsTotal, 1);
    if (run.duration) Add(kWorkflowDurationSeconds, Seconds(*run.duration));
  }

  void operator()(const AgentExecution& execution) {
    SetLabel(out_.labels, kLabelAgent, execution.agent);
    SetLabel(out_.labels, kLabelWorkflow, execution.workflow);
    SetLabel(out_.labels, kLabelStatus, RunStatusLabel(execution.status));
    Add(kAgentExecutionsTotal, 1);
    if (execution.duration) Add(kAgentExecutionSeconds, Seconds(*execution.duration));
    Add(kAgentRetriesTotal, execution.retries);
  }

  void operator()(const LlmCall& call) {
    SetLabel(out_.labels, kLabelProvider, call.provider);
    SetLabel(out_.labels, kLabelModel, call.model);
    SetLabel(out_.labels, kLabelAgent, call.agent);
    SetLabel(out_.labels, kLabelWorkflow, call.workflow);
    SetLabel(out_.labels, kLabelTeam, call.team);
    SetLabel(out_.labels, kLabelStatus, RunStatusLabel(call.status));
    SetLabel(out_.labels, kLabelErrorType, call.error_type);
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

  void operator()(const ResourceSample& sample) {
    SetLabel(out_.labels, kLabelComponent, sample.component);
    SetLabel(out_.labels, kLabelPod, sample.pod);
    if (sample.cpu_utilization) Add(kResourceCpuUtilization, *sample.cpu_utilization);
    if (sample.memory_utilization) Add(kResourceMemoryUtilization, *sample.memory_utilization);
    if (sample.queue_depth) Add(kResourceQueueDepth, static_cast<double>(*sample.queue_depth));
    if (sample.processing_lag) Add(kResourceProcessingLagSeconds, Seconds(*sample.processing_lag));
  }

  void operator()(const MetricSample& sample) { Add(sample.name, sample.value); }

  void operator()(const QualityScore& score) {
    SetLabel(out_.labels, kLabelScore, score.name);
    SetLabel(out_.labels, kLabelWorkflow, score.workflow);
    SetLabel(out_.labels, kLabelAgent, score.agent);
    Add(kQualityScore, score.value);
  }

 private:
  void Add(absl::string_view metric, double value) { out_.values.emplace_back(metric, value); }

  EventSamples& out_;
};

}  // namespace

EventSamples SamplesOfEvent(const Event& event) {
  EventSamples out;
  // The event's own labels first: validation keeps them off the built-in
  // names, so the kind's labels never collide with them.
  for (const auto& [name, value] : event.labels) {
    if (!value.empty()) out.labels.emplace(name, value);
  }
  SetLabel(out.labels, kLabelTenant, event.tenant);
  std::visit(KindSamples(out), event.kind);
  return out;
}

}  // namespace agentwatch::monitor
