// The CPU side of Ingest: an IngestRequest validated and reduced to the
// BatchAggregate the store commits, without copying its events. Events are
// viewed where they lie in the parsed request (EventViewFromProto),
// validated by the core's rules (ValidateEvent on the view) and fed to a
// BatchAggregator; the result, statuses and messages equal those of
// EventFromProto + ValidateBatch + AggregateBatch.
#pragma once

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agentwatch/monitor/v1/monitor.pb.h"
#include "monitor/core/event_view.h"
#include "monitor/core/rollup.h"
#include "monitor/core/validation.h"

namespace agentwatch::monitor {

// Fills `out` with a view of event `index` of a batch; its strings point into
// `proto`, which must outlive it. Labels are sorted by name. INVALID_ARGUMENT
// naming the field ("events[3].llm_call.latency: not a valid duration") for
// a malformed Timestamp or Duration, as EventFromProto.
absl::Status EventViewFromProto(const v1::Event& proto, size_t index, EventView* out);

// Validates `request` at `now` against `limits` and reduces it to what it
// writes. Errors, in the order they are checked: the batch header
// (ValidateBatchHeader), then per event its wire form (EventViewFromProto)
// and its fields (ValidateEvent); the first problem is returned and `reason`
// (optional) receives its RejectReason. `label_cache` (optional, shared
// across batches and threads) spares recanonicalizing the label sets of
// earlier batches; the result is the same with or without it.
absl::StatusOr<BatchAggregate> PrepareIngestBatch(const v1::IngestRequest& request,
                                                  const IngestLimits& limits, absl::Time now,
                                                  RejectReason* reason = nullptr,
                                                  LabelSetCache* label_cache = nullptr);

}  // namespace agentwatch::monitor
