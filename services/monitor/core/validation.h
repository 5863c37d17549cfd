// Validation of ingest batches: every field rule of IngestRequest / Event in
// monitor.proto, and the per-batch limits. Pure: `now` is an argument.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "monitor/core/event_view.h"
#include "monitor/core/types.h"

namespace agentwatch::monitor {

// Byte limits on identifiers (label values are bounded by
// kMaxLabelValueBytes in names.h).
inline constexpr size_t kMaxProducerIdBytes = 128;
inline constexpr size_t kMaxTenantBytes = 128;
// The event id becomes the cost service's record_id, which allows 256 bytes.
inline constexpr size_t kMaxEventIdBytes = 256;
inline constexpr size_t kMaxRunIdBytes = 256;

// Limits of one batch. Defaults are the API's documented limits.
struct IngestLimits {
  // Events per batch (the API allows at most 10,000).
  int64_t max_batch_events = 10000;
  // Labels per event.
  int64_t max_labels_per_event = 32;
  // How far in the future an event time may lie.
  absl::Duration max_future = absl::Hours(1);
  // How far in the past an event time may lie (the retention period).
  absl::Duration retention = absl::Hours(24 * 90);
};

// Why a batch was rejected; the label of
// agentwatch_monitor_events_rejected_total.
enum class RejectReason {
  kInvalid,        // INVALID_ARGUMENT: a bad field
  kBatchTooLarge,  // RESOURCE_EXHAUSTED: more than max_batch_events
  kTooManyLabels,  // RESOURCE_EXHAUSTED: more than max_labels_per_event
  kSeriesLimit,    // RESOURCE_EXHAUSTED: the tenant's active-series limit
  kStoreError,     // the store failed (UNAVAILABLE, ABORTED, INTERNAL)
};

// "invalid", "batch_too_large", "too_many_labels", "series_limit",
// "store_error".
const char* RejectReasonLabel(RejectReason reason);

// Checks `batch` against the field rules and `limits` at time `now`, and
// returns the first problem in field order:
// - RESOURCE_EXHAUSTED naming "events" when the batch holds more than
//   max_batch_events events, or "events[i].labels" when an event carries
//   more than max_labels_per_event labels;
// - INVALID_ARGUMENT naming the field ("events[3].llm_call.model: required")
//   for everything else: producer_id required and at most 128 bytes; 1+
//   events; per event: event_id at most 256 bytes, time required, at most
//   max_future ahead of `now` and not older than `retention`, tenant required
//   and at most 128 bytes, label names [a-zA-Z_][a-zA-Z0-9_]* and not
//   reserved (IsReservedLabelName), label values at most 256 bytes, exactly
//   one kind with its required fields, statuses known, durations, counts and
//   tokens >= 0, cached_input_tokens + cache_creation_tokens <=
//   input_tokens, measurements finite, names and label-valued strings at
//   most 256 bytes.
// `reason` (optional) receives the RejectReason when the batch is rejected.
absl::Status ValidateBatch(const Batch& batch, const IngestLimits& limits, absl::Time now,
                           RejectReason* reason = nullptr);

// The batch-level part of ValidateBatch: producer_id and the event count.
absl::Status ValidateBatchHeader(const std::string& producer_id, int64_t event_count,
                                 const IngestLimits& limits, RejectReason* reason = nullptr);

// The event-level part of ValidateBatch for event `index` of a batch.
absl::Status ValidateEvent(const Event& event, size_t index, const IngestLimits& limits,
                           absl::Time now, RejectReason* reason = nullptr);

// The same checks on a view (labels sorted by name, see event_view.h): the
// ingest path validates events where they lie. Builds no string unless the
// event is rejected.
absl::Status ValidateEvent(const EventView& event, size_t index, const IngestLimits& limits,
                           absl::Time now, RejectReason* reason = nullptr);

}  // namespace agentwatch::monitor
