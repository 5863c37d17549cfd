// Names of the built-in metrics and labels the monitor derives from events
// (see QuerySeriesRequest in monitor.proto), and the syntax rules for label
// and metric names.
#pragma once

#include "absl/strings/string_view.h"

namespace agentwatch::monitor {

// Built-in metrics. Labels in brackets; every series also carries the
// event's labels.
// [tenant, workflow, team, status]
inline constexpr char kWorkflowRunsTotal[] = "workflow_runs_total";
inline constexpr char kWorkflowDurationSeconds[] = "workflow_duration_seconds";
// [tenant, agent, workflow, status]
inline constexpr char kAgentExecutionsTotal[] = "agent_executions_total";
inline constexpr char kAgentExecutionSeconds[] = "agent_execution_seconds";
inline constexpr char kAgentRetriesTotal[] = "agent_retries_total";
// [tenant, provider, model, agent, workflow, team, status, error_type]
inline constexpr char kLlmCallsTotal[] = "llm_calls_total";
inline constexpr char kLlmLatencySeconds[] = "llm_latency_seconds";
inline constexpr char kLlmTimeToFirstTokenSeconds[] = "llm_time_to_first_token_seconds";
inline constexpr char kLlmInputTokensTotal[] = "llm_input_tokens_total";
inline constexpr char kLlmOutputTokensTotal[] = "llm_output_tokens_total";
inline constexpr char kLlmCachedInputTokensTotal[] = "llm_cached_input_tokens_total";
inline constexpr char kLlmCacheCreationTokensTotal[] = "llm_cache_creation_tokens_total";
inline constexpr char kLlmThrottledTotal[] = "llm_throttled_total";
// [tenant, component, pod]
inline constexpr char kResourceCpuUtilization[] = "resource_cpu_utilization";
inline constexpr char kResourceMemoryUtilization[] = "resource_memory_utilization";
inline constexpr char kResourceQueueDepth[] = "resource_queue_depth";
inline constexpr char kResourceProcessingLagSeconds[] = "resource_processing_lag_seconds";
// [tenant, score, workflow, agent]
inline constexpr char kQualityScore[] = "quality_score";
// [the scored series' labels plus `metric`]; produced by anomaly detection.
inline constexpr char kAnomalyScore[] = "anomaly_score";

// Built-in labels.
inline constexpr char kLabelTenant[] = "tenant";
inline constexpr char kLabelWorkflow[] = "workflow";
inline constexpr char kLabelTeam[] = "team";
inline constexpr char kLabelStatus[] = "status";
inline constexpr char kLabelAgent[] = "agent";
inline constexpr char kLabelProvider[] = "provider";
inline constexpr char kLabelModel[] = "model";
inline constexpr char kLabelErrorType[] = "error_type";
inline constexpr char kLabelComponent[] = "component";
inline constexpr char kLabelPod[] = "pod";
inline constexpr char kLabelScore[] = "score";
inline constexpr char kLabelMetric[] = "metric";

// Limits on names and values.
inline constexpr size_t kMaxLabelNameBytes = 128;
inline constexpr size_t kMaxLabelValueBytes = 256;
inline constexpr size_t kMaxMetricNameBytes = 256;

// True for the latency / duration metrics whose rollups also keep a
// quantile sketch (see quantile_sketch.h): workflow_duration_seconds,
// agent_execution_seconds, llm_latency_seconds,
// llm_time_to_first_token_seconds and resource_processing_lag_seconds.
bool HasQuantileSketch(absl::string_view metric);

// True for the names of the built-in metrics above.
bool IsBuiltinMetric(absl::string_view name);

// True for label names events may not set themselves: the built-in labels
// above and every name starting with "__" (Prometheus' reserved prefix).
bool IsReservedLabelName(absl::string_view name);

// [a-zA-Z_][a-zA-Z0-9_]*, at most kMaxLabelNameBytes.
bool IsValidLabelName(absl::string_view name);

// [a-zA-Z_:][a-zA-Z0-9_:]*, at most kMaxMetricNameBytes.
bool IsValidMetricName(absl::string_view name);

}  // namespace agentwatch::monitor
