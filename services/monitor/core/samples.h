// Event -> samples: which built-in metrics (see names.h) an event feeds,
// with which labels and values. The first stage of the samples -> rollups
// pipeline (rollup.h aggregates the samples).
#pragma once

#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "monitor/core/event_view.h"
#include "monitor/core/types.h"

namespace agentwatch::monitor {

// The samples of one event. Every metric an event feeds carries the same
// label set, so it is stored once.
struct EventSamples {
  // Canonical labels: "tenant", the kind's built-in labels and the event's
  // own labels; labels with an empty value are left out (an absent label
  // equals "" in matchers, as in Prometheus).
  Labels labels;
  // (metric, value) pairs. Metric names point to static storage or, for a
  // custom metric, into the event, which must outlive this object.
  std::vector<std::pair<absl::string_view, double>> values;
};

// The samples of a valid event (see ValidateBatch):
// - workflow run: workflow_runs_total 1, workflow_duration_seconds (when the
//   duration is set);
// - agent execution: agent_executions_total 1, agent_execution_seconds (when
//   set), agent_retries_total = retries (always, so count = executions);
// - LLM call: llm_calls_total 1, llm_latency_seconds and
//   llm_time_to_first_token_seconds (when set), the four token counters
//   (always), llm_throttled_total = 1 or 0 (always, so sum / count is the
//   throttling rate);
// - resource sample: one resource_* metric per measurement set;
// - metric sample: its name and value;
// - quality score: quality_score with label score = name.
// Statuses become the labels "succeeded", "failed", "cancelled", "timed_out".
EventSamples SamplesOfEvent(const Event& event);

// The samples of an event view, as views (no allocation for up to 16 labels
// and 8 values): the ingest path's form of SamplesOfEvent.
struct EventSampleViews {
  // The event's own labels (sorted by name), then "tenant", then the kind's
  // built-in labels in a fixed order per kind; labels with an empty value
  // are left out. Not canonical: assigning them in this order into a Labels
  // map gives SamplesOfEvent's labels.
  absl::InlinedVector<LabelView, 16> labels;
  // (metric, value) pairs as in EventSamples; a custom metric's name points
  // into the viewed event.
  absl::InlinedVector<std::pair<absl::string_view, double>, 8> values;
};

// Fills `out` (cleared first) with the samples of `event`.
void SampleViewsOfEvent(const EventView& event, EventSampleViews* out);

}  // namespace agentwatch::monitor
