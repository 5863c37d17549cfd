// Ingest straight from the request's wire bytes: an IngestRequest read in
// place into the EventViews the BatchAggregator takes, without building the
// generated messages (about 40 % of the instructions of parse + aggregate
// per event were the generated parser's). The reader accepts only an
// unambiguous subset of the encoding, and only valid batches; for anything
// else it declines and the caller parses the request with the generated
// parser and runs PrepareIngestBatch, which gives the answer (the error
// naming the field, the parse failure) exactly as before. What it accepts
// gives the same aggregate as the generated path, by construction: the same
// ValidateEvent and BatchAggregator run on an EventView of the same values.
//
// The subset: every field known and of its declared wire type; every
// non-repeated field at most once per message (the generated parser lets
// the last one win and merges repeated sub-messages); at most one of the
// event's kinds; map entries with one key and one value each and no label
// name twice in an event; strings ASCII (valid UTF-8, which the generated
// parser checks); varints that fit their field (int32 fields as the
// generated code writes them: 0..2^31-1 or sign-extended negatives; bools 0
// or 1); no more events than the limit allows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "monitor/core/event_view.h"
#include "monitor/core/rollup.h"
#include "monitor/core/validation.h"

namespace agentwatch::monitor {

// The top level of an IngestRequest, read in place: views into the bytes.
struct IngestWire {
  absl::string_view producer_id;
  uint64_t sequence = 0;
  // Each event's bytes (an Event message), in order.
  std::vector<absl::string_view> events;
};

// Reads the top level of `request` into `out`; false (declined) outside the
// subset or with more than `max_events` events.
bool ReadIngestWire(absl::string_view request, int64_t max_events, IngestWire* out);

// Reads one Event's bytes into `out` (labels sorted by name, strings
// pointing into `event`); false (declined) outside the subset, or when the
// time or a duration is malformed (EventViewFromProto's errors).
bool EventViewFromWire(absl::string_view event, EventView* out);

// PrepareIngestBatch on the request's bytes: the aggregate when `request`
// is within the subset and valid at `now` under `limits`, with the request's
// producer_id and sequence in `wire`; nullopt otherwise (declined: the
// caller parses the request and calls PrepareIngestBatch, which decides).
// `label_cache` as for PrepareIngestBatch. `wire`'s views point into
// `request`, and so may the aggregate's inputs while it is built.
std::optional<BatchAggregate> PrepareIngestBatchFromWire(absl::string_view request,
                                                         const IngestLimits& limits, absl::Time now,
                                                         LabelSetCache* label_cache,
                                                         IngestWire* wire);

}  // namespace agentwatch::monitor
