#include "monitor/api/ingest_wire.h"

#include <cstring>
#include <string>

#include "common/proto_wire.h"

namespace agentwatch::monitor {
namespace {

// The generated code's bounds of google.protobuf.Timestamp and Duration
// (ingest_batch.cc checks the same ones; a value outside them is declined,
// and the fallback answers its error).
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
constexpr int64_t kMaxDurationSeconds = 315576000000;

// The wire format's pieces shared with cost's RecordUsage reader.
using common::wire::FirstTime;
using common::wire::Int32Of;
using common::wire::kFixed64;
using common::wire::kLength;
using common::wire::kVarint;
using common::wire::ReadSecondsNanos;
using WireReader = common::wire::Reader;

bool ReadTime(absl::string_view bytes, std::optional<absl::Time>* out) {
  int64_t seconds;
  int32_t nanos;
  if (!ReadSecondsNanos(bytes, &seconds, &nanos)) return false;
  if (seconds < kMinTimestampSeconds || seconds > kMaxTimestampSeconds || nanos < 0 ||
      nanos > 999999999) {
    return false;  // malformed: EventViewFromProto's error
  }
  *out = absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos);
  return true;
}

bool ReadDuration(absl::string_view bytes, std::optional<absl::Duration>* out) {
  int64_t seconds;
  int32_t nanos;
  if (!ReadSecondsNanos(bytes, &seconds, &nanos)) return false;
  if (seconds < -kMaxDurationSeconds || seconds > kMaxDurationSeconds || nanos <= -1000000000 ||
      nanos >= 1000000000 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    return false;  // malformed: EventViewFromProto's error
  }
  *out = absl::Seconds(seconds) + absl::Nanoseconds(nanos);
  return true;
}

// One Event.labels map entry: a key and a value, once each.
bool ReadLabel(absl::string_view bytes, LabelViews* labels) {
  WireReader r(bytes);
  absl::string_view kv[2];
  uint32_t seen = 0;
  while (!r.Done()) {
    uint32_t field = 0, type = 0;
    if (!r.Tag(&field, &type) || type != kLength || field > 2 || !FirstTime(&seen, field) ||
        !r.String(&kv[field - 1])) {
      return false;
    }
  }
  if (seen != 6) return false;  // both the key and the value
  labels->push_back({kv[0], kv[1]});
  return true;
}

// The kinds: each lists its fields, with their wire types, in one switch.
bool ReadWorkflowRun(absl::string_view bytes, WorkflowRunView* out) {
  WireReader r(bytes);
  uint32_t seen = 0;
  while (!r.Done()) {
    uint32_t field = 0, type = 0;
    if (!r.Tag(&field, &type) || field > 6 || !FirstTime(&seen, field)) return false;
    uint64_t v = 0;
    absl::string_view value;
    int32_t i32 = 0;
    switch (field) {
      case 1:
        if (type != kLength || !r.String(&out->workflow)) return false;
        break;
      case 2:
        if (type != kLength || !r.String(&out->run_id)) return false;
        break;
      case 3:
        if (type != kLength || !r.String(&out->team)) return false;
        break;
      case 4:
        if (type != kVarint || !r.Varint(&v) || !Int32Of(v, &i32)) return false;
        out->status = static_cast<RunStatus>(i32);
        break;
      case 5:
        if (type != kLength || !r.Bytes(&value) || !ReadDuration(value, &out->duration)) {
          return false;
        }
        break;
      case 6:
        if (type != kVarint || !r.Varint(&v) || !Int32Of(v, &out->step_count)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

bool ReadAgentExecution(absl::string_view bytes, AgentExecutionView* out) {
  WireReader r(bytes);
  uint32_t seen = 0;
  while (!r.Done()) {
    uint32_t field = 0, type = 0;
    if (!r.Tag(&field, &type) || field > 6 || !FirstTime(&seen, field)) return false;
    uint64_t v = 0;
    absl::string_view value;
    int32_t i32 = 0;
    switch (field) {
      case 1:
        if (type != kLength || !r.String(&out->agent)) return false;
        break;
      case 2:
        if (type != kLength || !r.String(&out->workflow)) return false;
        break;
      case 3:
        if (type != kLength || !r.String(&out->run_id)) return false;
        break;
      case 4:
        if (type != kVarint || !r.Varint(&v) || !Int32Of(v, &i32)) return false;
        out->status = static_cast<RunStatus>(i32);
        break;
      case 5:
        if (type != kLength || !r.Bytes(&value) || !ReadDuration(value, &out->duration)) {
          return false;
        }
        break;
      case 6:
        if (type != kVarint || !r.Varint(&v) || !Int32Of(v, &out->retries)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

bool ReadLlmCall(absl::string_view bytes, LlmCallView* out) {
  WireReader r(bytes);
  uint32_t seen = 0;
  while (!r.Done()) {
    uint32_t field = 0, type = 0;
    if (!r.Tag(&field, &type) || field > 15 || !FirstTime(&seen, field)) return false;
    uint64_t v = 0;
    absl::string_view value;
    int32_t i32 = 0;
    switch (field) {
      case 1:
        if (type != kLength || !r.String(&out->provider)) return false;
        break;
      case 2:
        if (type != kLength || !r.String(&out->model)) return false;
        break;
      case 3:
        if (type != kLength || !r.String(&out->workflow)) return false;
        break;
      case 4:
        if (type != kLength || !r.String(&out->run_id)) return false;
        break;
      case 5:
        if (type != kLength || !r.String(&out->agent)) return false;
        break;
      case 6:
        if (type != kLength || !r.String(&out->team)) return false;
        break;
      case 7:
        if (type != kLength || !r.Bytes(&value) || !ReadDuration(value, &out->latency)) {
          return false;
        }
        break;
      case 8:
        if (type != kLength || !r.Bytes(&value) ||
            !ReadDuration(value, &out->time_to_first_token)) {
          return false;
        }
        break;
      case 9:
      case 10:
      case 11:
      case 12: {
        if (type != kVarint || !r.Varint(&v)) return false;
        int64_t* const tokens[] = {&out->input_tokens, &out->output_tokens,
                                   &out->cached_input_tokens, &out->cache_creation_tokens};
        *tokens[field - 9] = static_cast<int64_t>(v);
        break;
      }
      case 13:
        if (type != kVarint || !r.Varint(&v) || !Int32Of(v, &i32)) return false;
        out->status = static_cast<RunStatus>(i32);
        break;
      case 14:
        if (type != kLength || !r.String(&out->error_type)) return false;
        break;
      case 15:
        if (type != kVarint || !r.Varint(&v) || v > 1) return false;
        out->throttled = v == 1;
        break;
      default:
        return false;
    }
  }
  return true;
}

bool ReadDouble(WireReader& r, uint32_t type, double* out) {
  uint64_t bits = 0;
  if (type != kFixed64 || !r.Fixed64(&bits)) return false;
  std::memcpy(out, &bits, sizeof(*out));
  return true;
}

bool ReadResourceSample(absl::string_view bytes, ResourceSampleView* out) {
  WireReader r(bytes);
  uint32_t seen = 0;
  while (!r.Done()) {
    uint32_t field = 0, type = 0;
    if (!r.Tag(&field, &type) || field > 6 || !FirstTime(&seen, field)) return false;
    uint64_t v = 0;
    absl::string_view value;
    double d = 0;
    switch (field) {
      case 1:
        if (type != kLength || !r.String(&out->component)) return false;
        break;
      case 2:
        if (type != kLength || !r.String(&out->pod)) return false;
        break;
      case 3:
        if (!ReadDouble(r, type, &d)) return false;
        out->cpu_utilization = d;
        break;
      case 4:
        if (!ReadDouble(r, type, &d)) return false;
        out->memory_utilization = d;
        break;
      case 5:
        if (type != kVarint || !r.Varint(&v)) return false;
        out->queue_depth = static_cast<int64_t>(v);
        break;
      case 6:
        if (type != kLength || !r.Bytes(&value) || !ReadDuration(value, &out->processing_lag)) {
          return false;
        }
        break;
      default:
        return false;
    }
  }
  return true;
}

bool ReadMetricSample(absl::string_view bytes, MetricSampleView* out) {
  WireReader r(bytes);
  uint32_t seen = 0;
  while (!r.Done()) {
    uint32_t field = 0, type = 0;
    if (!r.Tag(&field, &type) || field > 2 || !FirstTime(&seen, field)) return false;
    if (field == 1) {
      if (type != kLength || !r.String(&out->name)) return false;
    } else if (!ReadDouble(r, type, &out->value)) {
      return false;
    }
  }
  return true;
}

bool ReadQualityScore(absl::string_view bytes, QualityScoreView* out) {
  WireReader r(bytes);
  uint32_t seen = 0;
  while (!r.Done()) {
    uint32_t field = 0, type = 0;
    if (!r.Tag(&field, &type) || field > 5 || !FirstTime(&seen, field)) return false;
    if (field == 2) {
      if (!ReadDouble(r, type, &out->value)) return false;
      continue;
    }
    absl::string_view* const strings[] = {&out->name, nullptr, &out->workflow, &out->agent,
                                          &out->run_id};
    if (type != kLength || !r.String(strings[field - 1])) return false;
  }
  return true;
}

}  // namespace

bool ReadIngestWire(absl::string_view request, int64_t max_events, IngestWire* out) {
  out->producer_id = {};
  out->sequence = 0;
  out->events.clear();
  WireReader r(request);
  uint32_t seen = 0;
  while (!r.Done()) {
    uint32_t field = 0, type = 0;
    if (!r.Tag(&field, &type)) return false;
    if (field == 3) {
      absl::string_view event;
      if (type != kLength || !r.Bytes(&event)) return false;
      if (static_cast<int64_t>(out->events.size()) >= max_events) return false;  // too many
      out->events.push_back(event);
      continue;
    }
    if (field > 2 || !FirstTime(&seen, field)) return false;
    if (field == 1) {
      if (type != kLength || !r.String(&out->producer_id)) return false;
    } else if (type != kVarint || !r.Varint(&out->sequence)) {
      return false;
    }
  }
  return true;
}

bool EventViewFromWire(absl::string_view bytes, EventView* out) {
  out->event_id = {};
  out->time.reset();
  out->tenant = {};
  out->labels.clear();
  out->kind = std::monostate{};
  WireReader r(bytes);
  uint32_t seen = 0;
  bool has_kind = false;
  while (!r.Done()) {
    uint32_t field = 0, type = 0;
    absl::string_view value;
    if (!r.Tag(&field, &type) || type != kLength) return false;
    if (field == 4) {  // a labels entry (repeated)
      if (!r.Bytes(&value) || !ReadLabel(value, &out->labels)) return false;
      continue;
    }
    if (field > 15 || !FirstTime(&seen, field)) return false;
    switch (field) {
      case 1:
        if (!r.String(&out->event_id)) return false;
        continue;
      case 2:
        if (!r.Bytes(&value) || !ReadTime(value, &out->time)) return false;
        continue;
      case 3:
        if (!r.String(&out->tenant)) return false;
        continue;
      default:
        break;
    }
    // One of the oneof's members only (with two, the last would win).
    if (field < 10 || has_kind || !r.Bytes(&value)) return false;
    has_kind = true;
    switch (field) {
      case 10: {
        WorkflowRunView run;
        if (!ReadWorkflowRun(value, &run)) return false;
        out->kind = run;
        break;
      }
      case 11: {
        AgentExecutionView execution;
        if (!ReadAgentExecution(value, &execution)) return false;
        out->kind = execution;
        break;
      }
      case 12: {
        LlmCallView call;
        if (!ReadLlmCall(value, &call)) return false;
        out->kind = call;
        break;
      }
      case 13: {
        ResourceSampleView sample;
        if (!ReadResourceSample(value, &sample)) return false;
        out->kind = sample;
        break;
      }
      case 14: {
        MetricSampleView sample;
        if (!ReadMetricSample(value, &sample)) return false;
        out->kind = sample;
        break;
      }
      default: {
        QualityScoreView score;
        if (!ReadQualityScore(value, &score)) return false;
        out->kind = score;
        break;
      }
    }
  }
  if (out->labels.size() > 1) {
    SortLabels(out->labels);
    // A name twice: the generated map keeps the last value.
    for (size_t i = 1; i < out->labels.size(); ++i) {
      if (out->labels[i].name == out->labels[i - 1].name) return false;
    }
  }
  return true;
}

std::optional<BatchAggregate> PrepareIngestBatchFromWire(absl::string_view request,
                                                         const IngestLimits& limits, absl::Time now,
                                                         LabelSetCache* label_cache,
                                                         IngestWire* wire) {
  if (!ReadIngestWire(request, limits.max_batch_events, wire)) return std::nullopt;
  const int64_t event_count = static_cast<int64_t>(wire->events.size());
  if (!ValidateBatchHeader(std::string(wire->producer_id), event_count, limits).ok()) {
    return std::nullopt;
  }
  BatchAggregator aggregator(wire->producer_id, wire->sequence, wire->events.size(), label_cache);
  EventView event;
  for (size_t i = 0; i < wire->events.size(); ++i) {
    if (!EventViewFromWire(wire->events[i], &event) || !ValidateEvent(event, i, limits, now).ok()) {
      return std::nullopt;
    }
    aggregator.Add(event, i);
  }
  return aggregator.Finish();
}

}  // namespace agentwatch::monitor
