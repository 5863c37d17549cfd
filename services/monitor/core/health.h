// Health indicators: default thresholds, status rules and the health report
// of a scope, computed from rollup counts. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "monitor/core/quantile_sketch.h"
#include "monitor/core/types.h"

namespace agentwatch::monitor {

class ThresholdResolver;

// Which way an indicator gets worse; values equal agentwatch.monitor.v1.Direction.
enum class Direction : int { kUnspecified = 0, kHigherIsWorse = 1, kLowerIsWorse = 2 };

// Thresholds of one indicator.
struct IndicatorThreshold {
  std::string name;
  std::string unit;  // "s" or "ratio"
  double warning = 0;
  double critical = 0;
  Direction direction = Direction::kHigherIsWorse;
};

// The defaults of every indicator of the Indicator comment in monitor.proto,
// in that order.
const std::vector<IndicatorThreshold>& DefaultIndicatorThresholds();

// The default thresholds of `name`; nullptr for an unknown indicator.
const IndicatorThreshold* FindDefaultThreshold(absl::string_view name);

// The status of `value` against `threshold`. A value equal to a threshold
// counts as past it: for higher-is-worse, >= critical is CRITICAL and
// >= warning is WARNING; for lower-is-worse, <= critical and <= warning.
HealthStatus StatusOf(double value, const IndicatorThreshold& threshold);

// The worse of two statuses: CRITICAL > WARNING > HEALTHY; UNKNOWN (no data)
// and UNSPECIFIED lose to any judged status.
HealthStatus WorseStatus(HealthStatus a, HealthStatus b);

// The window a health report covers: default 5 minutes, from 1 minute to 24
// hours (INVALID_ARGUMENT naming "window" otherwise).
absl::StatusOr<absl::Duration> HealthWindow(std::optional<absl::Duration> requested);

// A scope; empty fields mean any (agentwatch.common.v1.Scope).
struct HealthScope {
  std::string tenant;
  std::string team;
  std::string workflow;
  std::string agent;
  std::string model;
  std::string provider;
  std::string service;
  Labels tags;
};

// INVALID_ARGUMENT naming the field ("scope.tags"...) when a field holds a NUL
// character or is longer than 256 bytes, or there are more than 16 tags or a
// tag key is not [a-zA-Z_][a-zA-Z0-9_]*.
absl::Status ValidateHealthScope(const HealthScope& scope);

// The label equalities a series must satisfy to lie in `scope`: each
// non-empty field as the label of the same name (service as "service") and
// every tag.
Labels ScopeLabelFilter(const HealthScope& scope);

// Rollup counts of the window by the labels health indicators split on. The
// store returns one row per distinct (tenant, metric, workflow, agent,
// provider, model, status, component) among the series of
// workflow_runs_total, agent_executions_total, agent_retries_total,
// llm_calls_total, llm_throttled_total, resource_cpu_utilization and
// resource_memory_utilization inside the scope.
struct HealthRow {
  std::string tenant;
  std::string metric;
  std::string workflow;
  std::string agent;
  std::string provider;
  std::string model;
  std::string status;
  std::string component;
  int64_t count = 0;
  double sum = 0;
};

// The metrics HealthRow covers.
const std::vector<std::string>& HealthMetrics();

// The merged quantile sketch of one latency metric over the window, by the
// labels health indicators split on. The store returns one row per distinct
// (tenant, metric, workflow, agent, provider, model) among the series of
// HealthSketchMetrics() inside the scope, merging their sketches.
struct HealthSketchRow {
  std::string tenant;
  std::string metric;
  std::string workflow;
  std::string agent;
  std::string provider;
  std::string model;
  QuantileSketch sketch;
};

// The metrics HealthSketchRow covers: llm_time_to_first_token_seconds,
// workflow_duration_seconds, agent_execution_seconds, llm_latency_seconds,
// resource_processing_lag_seconds.
const std::vector<std::string>& HealthSketchMetrics();

// One computed indicator.
struct IndicatorValue {
  IndicatorThreshold threshold;
  double value = 0;
  HealthStatus status = HealthStatus::kUnknown;
  int64_t sample_count = 0;
};

// Health of one scope.
struct ScopeHealth {
  HealthScope scope;
  std::string kind;  // "overall", "agent", "workflow" or "model"
  HealthStatus status = HealthStatus::kUnknown;
  std::vector<IndicatorValue> indicators;
};

// Health of a scope at a moment.
struct HealthReport {
  HealthStatus overall_status = HealthStatus::kUnknown;
  std::vector<ScopeHealth> scopes;
  absl::Time as_of;
};

// Computes the indicators from `rows` and `sketches` (both already
// restricted to `scope` and the window). Errors are failed and timed-out
// outcomes; cancelled ones are not. Latency indicators are the 95th
// percentile of the merged sketches (within the sketch's 1 % relative error):
// latency_p95 of LLM time to first token (the latency users wait for),
// workflow_duration_p95 of workflow run durations, agent_execution_time_p95
// of agent execution times, model_latency_p95 of LLM call latencies, and
// processing_lag of the components' reported event processing lag (also
// its 95th percentile over the window, robust to one stray sample).
// - overall: error_rate (workflow runs, agent executions and LLM calls
//   together), workflow_success_rate, agent_retry_rate (retries per
//   execution), model_error_rate and throttling_rate (both over LLM calls),
//   latency_p95, workflow_duration_p95, agent_execution_time_p95,
//   model_latency_p95, processing_lag, cpu_utilization and
//   memory_utilization (each the highest, among the (tenant, component)
//   pairs with samples, of the component's mean utilization over the
//   window: the hottest component decides; sample_count counts every
//   sample);
// - one "agent" entry per agent with executions: error_rate (its
//   executions), agent_retry_rate, agent_execution_time_p95;
// - one "workflow" entry per workflow with runs: error_rate (its runs),
//   workflow_success_rate, workflow_duration_p95;
// - one "model" entry per (provider, model) with calls: model_error_rate,
//   throttling_rate, model_latency_p95, latency_p95.
// Entries follow the overall one in that order (agents, workflows, models),
// each sorted; when `scope.tenant` is empty they are per tenant. An
// indicator without samples is UNKNOWN with value 0; a scope's status is the
// worst of its indicators with data, the report's the worst of its scopes.
// Every entry's indicators are judged against the thresholds `thresholds`
// resolves for the entry's scope (the request scope narrowed to the agent,
// workflow or model); an indicator disabled there is left out of the entry.
HealthReport ComputeHealth(const HealthScope& scope, const std::vector<HealthRow>& rows,
                           const std::vector<HealthSketchRow>& sketches,
                           const ThresholdResolver& thresholds, absl::Time as_of);

// ComputeHealth with the default thresholds everywhere.
HealthReport ComputeHealth(const HealthScope& scope, const std::vector<HealthRow>& rows,
                           const std::vector<HealthSketchRow>& sketches, absl::Time as_of);

// ComputeHealth without latency data: the latency indicators are UNKNOWN.
HealthReport ComputeHealth(const HealthScope& scope, const std::vector<HealthRow>& rows,
                           absl::Time as_of);

}  // namespace agentwatch::monitor
