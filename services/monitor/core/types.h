// The monitor's domain vocabulary: telemetry events as the core sees them,
// independent of protobuf. The api layer maps agentwatch.monitor.v1 messages
// into these types; validation, sample extraction and aggregation work on
// them only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"

namespace agentwatch::monitor {

// Label name -> value. Ordered, so that a label set has one canonical order.
using Labels = std::map<std::string, std::string>;

// Outcome of a workflow run, an agent execution or an LLM call. The integer
// values equal those of agentwatch.monitor.v1.RunStatus; values the core does
// not know are kept as they are and rejected by validation.
enum class RunStatus : int {
  kUnspecified = 0,
  kSucceeded = 1,
  kFailed = 2,
  kCancelled = 3,
  kTimedOut = 4,
};

// The label value of a status: "succeeded", "failed", "cancelled",
// "timed_out"; "unspecified" for anything else.
const char* RunStatusLabel(RunStatus status);

// True for the outcomes that count as errors: FAILED and TIMED_OUT. A
// cancelled run is not an error.
bool IsErrorStatus(RunStatus status);

// A finished workflow run.
struct WorkflowRun {
  std::string workflow;
  std::string run_id;
  std::string team;
  RunStatus status = RunStatus::kUnspecified;
  std::optional<absl::Duration> duration;
  int32_t step_count = 0;
};

// A finished agent execution.
struct AgentExecution {
  std::string agent;
  std::string workflow;
  std::string run_id;
  RunStatus status = RunStatus::kUnspecified;
  std::optional<absl::Duration> duration;
  int32_t retries = 0;
};

// A finished LLM call.
struct LlmCall {
  std::string provider;
  std::string model;
  std::string workflow;
  std::string run_id;
  std::string agent;
  std::string team;
  std::optional<absl::Duration> latency;
  std::optional<absl::Duration> time_to_first_token;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cached_input_tokens = 0;
  int64_t cache_creation_tokens = 0;
  RunStatus status = RunStatus::kUnspecified;
  std::string error_type;
  bool throttled = false;
};

// A resource sample of a component or pod; unmeasured fields are empty.
struct ResourceSample {
  std::string component;
  std::string pod;
  std::optional<double> cpu_utilization;
  std::optional<double> memory_utilization;
  std::optional<int64_t> queue_depth;
  std::optional<absl::Duration> processing_lag;
};

// A sample of a custom metric.
struct MetricSample {
  std::string name;
  double value = 0;
};

// A quality KPI of a run.
struct QualityScore {
  std::string name;
  double value = 0;
  std::string workflow;
  std::string agent;
  std::string run_id;
};

// What an event reports; std::monostate when the producer set nothing.
using EventKind = std::variant<std::monostate, WorkflowRun, AgentExecution, LlmCall, ResourceSample,
                               MetricSample, QualityScore>;

// One telemetry event.
struct Event {
  std::string event_id;            // optional, client-assigned
  std::optional<absl::Time> time;  // required
  std::string tenant;              // required
  Labels labels;                   // extra labels added to every series
  EventKind kind;
};

// One batch of events from one producer, idempotent by (producer_id, sequence).
struct Batch {
  std::string producer_id;
  uint64_t sequence = 0;
  std::vector<Event> events;
};

// Alert severity; the integer values equal those of
// agentwatch.common.v1.Severity.
enum class Severity : int { kUnspecified = 0, kP0 = 1, kP1 = 2, kP2 = 3, kP3 = 4 };

// Traffic-light status; the integer values equal those of
// agentwatch.common.v1.HealthStatus. Ordered by badness for the worst-of
// rule, except that kUnknown is treated as "no data" (see WorseStatus).
enum class HealthStatus : int {
  kUnspecified = 0,
  kHealthy = 1,
  kWarning = 2,
  kCritical = 3,
  kUnknown = 4,
};

}  // namespace agentwatch::monitor
