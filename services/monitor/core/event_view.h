// Non-owning views of telemetry events: the shape of types.h's Event with
// absl::string_view in place of every std::string, so that the ingest path
// can validate and aggregate the events of a request where they lie (in the
// parsed protobuf message) without copying a string or building a map per
// event. Validation (validation.h), sample extraction (samples.h) and
// aggregation (rollup.h) all work on views; their Event overloads view the
// event first, so both paths apply the very same rules.
#pragma once

#include <cstdint>
#include <optional>
#include <variant>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "monitor/core/types.h"

namespace agentwatch::monitor {

// One (name, value) label.
struct LabelView {
  absl::string_view name;
  absl::string_view value;
};

// Labels of an event, sorted by name, names unique (as in Labels). Up to 8
// live inline, without a heap allocation.
using LabelViews = absl::InlinedVector<LabelView, 8>;

// The kinds of types.h, as views.
struct WorkflowRunView {
  absl::string_view workflow;
  absl::string_view run_id;
  absl::string_view team;
  RunStatus status = RunStatus::kUnspecified;
  std::optional<absl::Duration> duration;
  int32_t step_count = 0;
};

struct AgentExecutionView {
  absl::string_view agent;
  absl::string_view workflow;
  absl::string_view run_id;
  RunStatus status = RunStatus::kUnspecified;
  std::optional<absl::Duration> duration;
  int32_t retries = 0;
};

struct LlmCallView {
  absl::string_view provider;
  absl::string_view model;
  absl::string_view workflow;
  absl::string_view run_id;
  absl::string_view agent;
  absl::string_view team;
  std::optional<absl::Duration> latency;
  std::optional<absl::Duration> time_to_first_token;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cached_input_tokens = 0;
  int64_t cache_creation_tokens = 0;
  RunStatus status = RunStatus::kUnspecified;
  absl::string_view error_type;
  bool throttled = false;
};

struct ResourceSampleView {
  absl::string_view component;
  absl::string_view pod;
  std::optional<double> cpu_utilization;
  std::optional<double> memory_utilization;
  std::optional<int64_t> queue_depth;
  std::optional<absl::Duration> processing_lag;
};

struct MetricSampleView {
  absl::string_view name;
  double value = 0;
};

struct QualityScoreView {
  absl::string_view name;
  double value = 0;
  absl::string_view workflow;
  absl::string_view agent;
  absl::string_view run_id;
};

// What an event reports; std::monostate when the producer set nothing.
using EventKindView = std::variant<std::monostate, WorkflowRunView, AgentExecutionView, LlmCallView,
                                   ResourceSampleView, MetricSampleView, QualityScoreView>;

// One telemetry event, as a view. Valid as long as the strings it points to.
struct EventView {
  absl::string_view event_id;
  std::optional<absl::Time> time;
  absl::string_view tenant;
  LabelViews labels;
  EventKindView kind;
};

// A view of `event`, valid while `event` lives and is not modified.
EventView ViewOf(const Event& event);

// An owning copy of `view` (the inverse of ViewOf).
Event ToEvent(const EventView& view);

// Sorts `labels` by name (for producers whose labels arrive unordered).
void SortLabels(LabelViews& labels);

}  // namespace agentwatch::monitor
