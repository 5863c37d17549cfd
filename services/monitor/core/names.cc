#include "monitor/core/names.h"

#include "absl/strings/match.h"

namespace agentwatch::monitor {
namespace {

bool IsLetterOrUnderscore(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool HasQuantileSketch(absl::string_view metric) {
  return metric == kWorkflowDurationSeconds || metric == kAgentExecutionSeconds ||
         metric == kLlmLatencySeconds || metric == kLlmTimeToFirstTokenSeconds ||
         metric == kResourceProcessingLagSeconds;
}

bool IsBuiltinMetric(absl::string_view name) {
  static constexpr const char* kBuiltins[] = {kWorkflowRunsTotal,
                                              kWorkflowDurationSeconds,
                                              kAgentExecutionsTotal,
                                              kAgentExecutionSeconds,
                                              kAgentRetriesTotal,
                                              kLlmCallsTotal,
                                              kLlmLatencySeconds,
                                              kLlmTimeToFirstTokenSeconds,
                                              kLlmInputTokensTotal,
                                              kLlmOutputTokensTotal,
                                              kLlmCachedInputTokensTotal,
                                              kLlmCacheCreationTokensTotal,
                                              kLlmThrottledTotal,
                                              kResourceCpuUtilization,
                                              kResourceMemoryUtilization,
                                              kResourceQueueDepth,
                                              kResourceProcessingLagSeconds,
                                              kQualityScore,
                                              kAnomalyScore};
  for (const char* builtin : kBuiltins) {
    if (name == builtin) return true;
  }
  return false;
}

bool IsReservedLabelName(absl::string_view name) {
  // string_views, so that a comparison does not measure the name (strlen)
  // first: every label of every event is checked against all of them.
  static constexpr absl::string_view kReserved[] = {
      kLabelTenant, kLabelWorkflow,  kLabelTeam,      kLabelStatus, kLabelAgent, kLabelProvider,
      kLabelModel,  kLabelErrorType, kLabelComponent, kLabelPod,    kLabelScore, kLabelMetric};
  if (absl::StartsWith(name, "__")) return true;
  for (const absl::string_view reserved : kReserved) {
    if (name == reserved) return true;
  }
  return false;
}

bool IsValidLabelName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxLabelNameBytes) return false;
  if (!IsLetterOrUnderscore(name[0])) return false;
  for (char c : name) {
    if (!IsLetterOrUnderscore(c) && !IsDigit(c)) return false;
  }
  return true;
}

bool IsValidMetricName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxMetricNameBytes) return false;
  if (!IsLetterOrUnderscore(name[0]) && name[0] != ':') return false;
  for (char c : name) {
    if (!IsLetterOrUnderscore(c) && !IsDigit(c) && c != ':') return false;
  }
  return true;
}

}  // namespace agentwatch::monitor
