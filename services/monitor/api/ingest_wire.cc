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

// One field of a kind, of the wire type its member needs; false for any
// other type or a value the generated parser would not read the same way.
bool StringField(WireReader& r, uint32_t type, absl::string_view* out) {
  return type == kLength && r.String(out);
}

bool DurationField(WireReader& r, uint32_t type, std::optional<absl::Duration>* out) {
  absl::string_view value;
  return type == kLength && r.Bytes(&value) && ReadDuration(value, out);
}

bool Int32Field(WireReader& r, uint32_t type, int32_t* out) {
  uint64_t v = 0;
  return type == kVarint && r.Varint(&v) && Int32Of(v, out);
}

bool StatusField(WireReader& r, uint32_t type, RunStatus* out) {
  int32_t value = 0;
  if (!Int32Field(r, type, &value)) return false;
  *out = static_cast<RunStatus>(value);
  return true;
}

// An int64 (or optional int64) member from its varint.
template <typename T>
bool Int64Field(WireReader& r, uint32_t type, T* out) {
  uint64_t v = 0;
  if (type != kVarint || !r.Varint(&v)) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

bool BoolField(WireReader& r, uint32_t type, bool* out) {
  uint64_t v = 0;
  if (type != kVarint || !r.Varint(&v) || v > 1) return false;
  *out = v == 1;
  return true;
}

// A double (or optional double) member from its fixed64.
template <typename T>
bool DoubleField(WireReader& r, uint32_t type, T* out) {
  uint64_t bits = 0;
  if (type != kFixed64 || !r.Fixed64(&bits)) return false;
  double value;
  std::memcpy(&value, &bits, sizeof(value));
  *out = value;
  return true;
}

// A kind's message: every field numbered 1..max_field at most once, each
// read by `field(r, number, type)` (false: not a message this reader takes).
template <typename ReadField>
bool ReadFields(absl::string_view bytes, uint32_t max_field, const ReadField& field) {
  WireReader r(bytes);
  uint32_t seen = 0;
  while (!r.Done()) {
    uint32_t number = 0, type = 0;
    if (!r.Tag(&number, &type) || number > max_field || !FirstTime(&seen, number) ||
        !field(r, number, type)) {
      return false;
    }
  }
  return true;
}

// The kinds: each lists its fields, with their wire types, in one switch.
bool ReadWorkflowRun(absl::string_view bytes, WorkflowRunView* out) {
  return ReadFields(bytes, 6, [out](WireReader& r, uint32_t field, uint32_t type) {
    switch (field) {
      case 1:
        return StringField(r, type, &out->workflow);
      case 2:
        return StringField(r, type, &out->run_id);
      case 3:
        return StringField(r, type, &out->team);
      case 4:
        return StatusField(r, type, &out->status);
      case 5:
        return DurationField(r, type, &out->duration);
      case 6:
        return Int32Field(r, type, &out->step_count);
      default:
        return false;
    }
  });
}

bool ReadAgentExecution(absl::string_view bytes, AgentExecutionView* out) {
  return ReadFields(bytes, 6, [out](WireReader& r, uint32_t field, uint32_t type) {
    switch (field) {
      case 1:
        return StringField(r, type, &out->agent);
      case 2:
        return StringField(r, type, &out->workflow);
      case 3:
        return StringField(r, type, &out->run_id);
      case 4:
        return StatusField(r, type, &out->status);
      case 5:
        return DurationField(r, type, &out->duration);
      case 6:
        return Int32Field(r, type, &out->retries);
      default:
        return false;
    }
  });
}

bool ReadLlmCall(absl::string_view bytes, LlmCallView* out) {
  return ReadFields(bytes, 15, [out](WireReader& r, uint32_t field, uint32_t type) {
    switch (field) {
      case 1:
        return StringField(r, type, &out->provider);
      case 2:
        return StringField(r, type, &out->model);
      case 3:
        return StringField(r, type, &out->workflow);
      case 4:
        return StringField(r, type, &out->run_id);
      case 5:
        return StringField(r, type, &out->agent);
      case 6:
        return StringField(r, type, &out->team);
      case 7:
        return DurationField(r, type, &out->latency);
      case 8:
        return DurationField(r, type, &out->time_to_first_token);
      case 9:
        return Int64Field(r, type, &out->input_tokens);
      case 10:
        return Int64Field(r, type, &out->output_tokens);
      case 11:
        return Int64Field(r, type, &out->cached_input_tokens);
      case 12:
        return Int64Field(r, type, &out->cache_creation_tokens);
      case 13:
        return StatusField(r, type, &out->status);
      case 14:
        return StringField(r, type, &out->error_type);
      case 15:
        return BoolField(r, type, &out->throttled);
      default:
        return false;
    }
  });
}

bool ReadResourceSample(absl::string_view bytes, ResourceSampleView* out) {
  return ReadFields(bytes, 6, [out](WireReader& r, uint32_t field, uint32_t type) {
    switch (field) {
      case 1:
        return StringField(r, type, &out->component);
      case 2:
        return StringField(r, type, &out->pod);
      case 3:
        return DoubleField(r, type, &out->cpu_utilization);
      case 4:
        return DoubleField(r, type, &out->memory_utilization);
      case 5:
        return Int64Field(r, type, &out->queue_depth);
      case 6:
        return DurationField(r, type, &out->processing_lag);
      default:
        return false;
    }
  });
}

bool ReadMetricSample(absl::string_view bytes, MetricSampleView* out) {
  return ReadFields(bytes, 2, [out](WireReader& r, uint32_t field, uint32_t type) {
    return field == 1 ? StringField(r, type, &out->name) : DoubleField(r, type, &out->value);
  });
}

bool ReadQualityScore(absl::string_view bytes, QualityScoreView* out) {
  return ReadFields(bytes, 5, [out](WireReader& r, uint32_t field, uint32_t type) {
    switch (field) {
      case 1:
        return StringField(r, type, &out->name);
      case 2:
        return DoubleField(r, type, &out->value);
      case 3:
        return StringField(r, type, &out->workflow);
      case 4:
        return StringField(r, type, &out->agent);
      case 5:
        return StringField(r, type, &out->run_id);
      default:
        return false;
    }
  });
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
