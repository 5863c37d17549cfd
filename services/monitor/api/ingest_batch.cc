#include "monitor/api/ingest_batch.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "monitor/store/proto_time.h"

namespace agentwatch::monitor {
namespace {

constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
constexpr int64_t kMaxDurationSeconds = 315576000000;

// The field path of event `index`'s `suffix`; built for errors only.
std::string Field(size_t index, absl::string_view suffix) {
  return absl::StrCat("events[", index, "].", suffix);
}

// FromProtoTimestamp / FromProtoDuration without building the field name of
// a well-formed value: the checks are the same, and a malformed value gets
// their very error.
absl::Status Timestamp(const google::protobuf::Timestamp& proto, size_t index,
                       std::optional<absl::Time>* out) {
  if (proto.seconds() < kMinTimestampSeconds || proto.seconds() > kMaxTimestampSeconds ||
      proto.nanos() < 0 || proto.nanos() > 999999999) {
    return FromProtoTimestamp(proto, Field(index, "time")).status();
  }
  *out = absl::FromUnixSeconds(proto.seconds()) + absl::Nanoseconds(proto.nanos());
  return absl::OkStatus();
}

absl::Status OptionalDuration(bool present, const google::protobuf::Duration& proto, size_t index,
                              absl::string_view field, std::optional<absl::Duration>* out) {
  if (!present) return absl::OkStatus();
  const int64_t seconds = proto.seconds();
  const int32_t nanos = proto.nanos();
  if (seconds < -kMaxDurationSeconds || seconds > kMaxDurationSeconds || nanos <= -1000000000 ||
      nanos >= 1000000000 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    return FromProtoDuration(proto, Field(index, field)).status();
  }
  *out = absl::Seconds(seconds) + absl::Nanoseconds(nanos);
  return absl::OkStatus();
}

}  // namespace

absl::Status EventViewFromProto(const v1::Event& proto, size_t index, EventView* out) {
  out->event_id = proto.event_id();
  out->time.reset();
  if (proto.has_time()) RETURN_IF_ERROR(Timestamp(proto.time(), index, &out->time));
  out->tenant = proto.tenant();
  out->labels.clear();
  for (const auto& [name, value] : proto.labels()) out->labels.push_back({name, value});
  if (out->labels.size() > 1) SortLabels(out->labels);
  switch (proto.kind_case()) {
    case v1::Event::kWorkflowRun: {
      const v1::WorkflowRun& in = proto.workflow_run();
      WorkflowRunView run;
      run.workflow = in.workflow();
      run.run_id = in.run_id();
      run.team = in.team();
      run.status = static_cast<RunStatus>(in.status());
      RETURN_IF_ERROR(OptionalDuration(in.has_duration(), in.duration(), index,
                                       "workflow_run.duration", &run.duration));
      run.step_count = in.step_count();
      out->kind = run;
      break;
    }
    case v1::Event::kAgentExecution: {
      const v1::AgentExecution& in = proto.agent_execution();
      AgentExecutionView execution;
      execution.agent = in.agent();
      execution.workflow = in.workflow();
      execution.run_id = in.run_id();
      execution.status = static_cast<RunStatus>(in.status());
      RETURN_IF_ERROR(OptionalDuration(in.has_duration(), in.duration(), index,
                                       "agent_execution.duration", &execution.duration));
      execution.retries = in.retries();
      out->kind = execution;
      break;
    }
    case v1::Event::kLlmCall: {
      const v1::LlmCall& in = proto.llm_call();
      LlmCallView call;
      call.provider = in.provider();
      call.model = in.model();
      call.workflow = in.workflow();
      call.run_id = in.run_id();
      call.agent = in.agent();
      call.team = in.team();
      RETURN_IF_ERROR(OptionalDuration(in.has_latency(), in.latency(), index, "llm_call.latency",
                                       &call.latency));
      RETURN_IF_ERROR(OptionalDuration(in.has_time_to_first_token(), in.time_to_first_token(),
                                       index, "llm_call.time_to_first_token",
                                       &call.time_to_first_token));
      call.input_tokens = in.input_tokens();
      call.output_tokens = in.output_tokens();
      call.cached_input_tokens = in.cached_input_tokens();
      call.cache_creation_tokens = in.cache_creation_tokens();
      call.status = static_cast<RunStatus>(in.status());
      call.error_type = in.error_type();
      call.throttled = in.throttled();
      out->kind = call;
      break;
    }
    case v1::Event::kResourceSample: {
      const v1::ResourceSample& in = proto.resource_sample();
      ResourceSampleView sample;
      sample.component = in.component();
      sample.pod = in.pod();
      if (in.has_cpu_utilization()) sample.cpu_utilization = in.cpu_utilization();
      if (in.has_memory_utilization()) sample.memory_utilization = in.memory_utilization();
      if (in.has_queue_depth()) sample.queue_depth = in.queue_depth();
      RETURN_IF_ERROR(OptionalDuration(in.has_processing_lag(), in.processing_lag(), index,
                                       "resource_sample.processing_lag", &sample.processing_lag));
      out->kind = sample;
      break;
    }
    case v1::Event::kMetricSample:
      out->kind = MetricSampleView{proto.metric_sample().name(), proto.metric_sample().value()};
      break;
    case v1::Event::kQualityScore: {
      const v1::QualityScore& in = proto.quality_score();
      out->kind = QualityScoreView{in.name(), in.value(), in.workflow(), in.agent(), in.run_id()};
      break;
    }
    case v1::Event::KIND_NOT_SET:
      out->kind = std::monostate{};
      break;
  }
  return absl::OkStatus();
}

absl::StatusOr<BatchAggregate> PrepareIngestBatch(const v1::IngestRequest& request,
                                                  const IngestLimits& limits, absl::Time now,
                                                  RejectReason* reason,
                                                  LabelSetCache* label_cache) {
  RejectReason ignored;
  if (reason == nullptr) reason = &ignored;
  RETURN_IF_ERROR(
      ValidateBatchHeader(request.producer_id(), request.events_size(), limits, reason));
  BatchAggregator aggregator(request.producer_id(), request.sequence(),
                             static_cast<size_t>(request.events_size()), label_cache);
  EventView event;
  for (int i = 0; i < request.events_size(); ++i) {
    const size_t index = static_cast<size_t>(i);
    if (absl::Status wire = EventViewFromProto(request.events(i), index, &event); !wire.ok()) {
      *reason = RejectReason::kInvalid;
      return wire;
    }
    RETURN_IF_ERROR(ValidateEvent(event, index, limits, now, reason));
    aggregator.Add(event, index);
  }
  return aggregator.Finish();
}

}  // namespace agentwatch::monitor
