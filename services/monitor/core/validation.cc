#include "monitor/core/validation.h"

#include <cmath>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "monitor/core/names.h"

namespace agentwatch::monitor {
namespace {

using common::InvalidField;

// Postgres text cannot hold NUL characters, so no stored string may.
// memchr itself (string_view::find is an out-of-line call around it): every
// text field of every event is checked.
bool HasNul(absl::string_view value) {
  return !value.empty() && std::memchr(value.data(), '\0', value.size()) != nullptr;
}

absl::Status CheckText(const std::string& field, const std::string& value, size_t max_bytes) {
  if (value.size() > max_bytes) {
    return InvalidField(field, absl::StrCat("longer than ", max_bytes, " bytes"));
  }
  if (HasNul(value)) return InvalidField(field, "must not contain NUL characters");
  return absl::OkStatus();
}

// Checks one event. Field paths ("events[3].llm_call.model") are only built
// for the status of a rejected event: the accepted ones cost no allocation.
class EventChecker {
 public:
  EventChecker(size_t index, const IngestLimits& limits, absl::Time now)
      : index_(index), limits_(limits), now_(now) {}

  absl::Status Check(const EventView& event, RejectReason* reason) {
    *reason = RejectReason::kInvalid;
    RETURN_IF_ERROR(Text("event_id", event.event_id, kMaxEventIdBytes));
    if (!event.time.has_value()) return Invalid("time", "required");
    if (*event.time > now_ + limits_.max_future) {
      return Invalid("time", absl::StrCat("more than ", absl::FormatDuration(limits_.max_future),
                                          " in the future"));
    }
    if (*event.time < now_ - limits_.retention) {
      return Invalid("time", absl::StrCat("older than the retention period (",
                                          absl::FormatDuration(limits_.retention), ")"));
    }
    if (event.tenant.empty()) return Invalid("tenant", "required");
    RETURN_IF_ERROR(Text("tenant", event.tenant, kMaxTenantBytes));
    if (static_cast<int64_t>(event.labels.size()) > limits_.max_labels_per_event) {
      *reason = RejectReason::kTooManyLabels;
      return absl::ResourceExhaustedError(absl::StrCat(Prefix(), ".labels: ", event.labels.size(),
                                                       " labels, at most ",
                                                       limits_.max_labels_per_event));
    }
    for (const LabelView& label : event.labels) {
      if (!IsValidLabelName(label.name)) {
        return Invalid("labels", absl::StrCat("invalid label name \"", label.name,
                                              "\" (must match [a-zA-Z_][a-zA-Z0-9_]*, at most ",
                                              kMaxLabelNameBytes, " bytes)"));
      }
      if (IsReservedLabelName(label.name)) {
        return Invalid("labels", absl::StrCat("label name \"", label.name,
                                              "\" is reserved for a built-in label"));
      }
      if (label.value.size() > kMaxLabelValueBytes || HasNul(label.value)) {
        return Text(absl::StrCat("labels[", label.name, "]"), label.value, kMaxLabelValueBytes);
      }
    }
    return std::visit([this](const auto& kind) { return CheckKind(kind); }, event.kind);
  }

 private:
  std::string Prefix() const { return absl::StrCat("events[", index_, "]"); }

  absl::Status Invalid(absl::string_view field, absl::string_view reason) const {
    return InvalidField(absl::StrCat(Prefix(), ".", field), reason);
  }

  absl::Status Required(absl::string_view field, absl::string_view value) const {
    if (value.empty()) return Invalid(field, "required");
    return LabelValue(field, value);
  }

  absl::Status Text(absl::string_view field, absl::string_view value, size_t max_bytes) const {
    if (value.size() > max_bytes) {
      return Invalid(field, absl::StrCat("longer than ", max_bytes, " bytes"));
    }
    if (HasNul(value)) return Invalid(field, "must not contain NUL characters");
    return absl::OkStatus();
  }

  absl::Status LabelValue(absl::string_view field, absl::string_view value) const {
    return Text(field, value, kMaxLabelValueBytes);
  }

  absl::Status RunId(absl::string_view field, absl::string_view value) const {
    return Text(field, value, kMaxRunIdBytes);
  }

  absl::Status Status(absl::string_view field, RunStatus status) const {
    switch (status) {
      case RunStatus::kSucceeded:
      case RunStatus::kFailed:
      case RunStatus::kCancelled:
      case RunStatus::kTimedOut:
        return absl::OkStatus();
      case RunStatus::kUnspecified:
        return Invalid(field, "required");
    }
    return Invalid(field, absl::StrCat("unknown value ", static_cast<int>(status)));
  }

  absl::Status NonNegative(absl::string_view field, const std::optional<absl::Duration>& d) const {
    if (d.has_value() && *d < absl::ZeroDuration()) return Invalid(field, "must not be negative");
    return absl::OkStatus();
  }

  absl::Status NonNegative(absl::string_view field, int64_t n) const {
    if (n < 0) return Invalid(field, "must not be negative");
    return absl::OkStatus();
  }

  absl::Status FiniteNonNegative(absl::string_view field, const std::optional<double>& v) const {
    if (v.has_value() && (!std::isfinite(*v) || *v < 0)) {
      return Invalid(field, "must be a finite number >= 0");
    }
    return absl::OkStatus();
  }

  absl::Status CheckKind(const std::monostate&) const {
    return Invalid("kind",
                   "required (one of workflow_run, agent_execution, llm_call, resource_sample, "
                   "metric_sample, quality_score)");
  }

  absl::Status CheckKind(const WorkflowRunView& run) const {
    RETURN_IF_ERROR(Required("workflow_run.workflow", run.workflow));
    if (run.run_id.empty()) return Invalid("workflow_run.run_id", "required");
    RETURN_IF_ERROR(RunId("workflow_run.run_id", run.run_id));
    RETURN_IF_ERROR(LabelValue("workflow_run.team", run.team));
    RETURN_IF_ERROR(Status("workflow_run.status", run.status));
    RETURN_IF_ERROR(NonNegative("workflow_run.duration", run.duration));
    return NonNegative("workflow_run.step_count", run.step_count);
  }

  absl::Status CheckKind(const AgentExecutionView& execution) const {
    RETURN_IF_ERROR(Required("agent_execution.agent", execution.agent));
    RETURN_IF_ERROR(LabelValue("agent_execution.workflow", execution.workflow));
    RETURN_IF_ERROR(RunId("agent_execution.run_id", execution.run_id));
    RETURN_IF_ERROR(Status("agent_execution.status", execution.status));
    RETURN_IF_ERROR(NonNegative("agent_execution.duration", execution.duration));
    return NonNegative("agent_execution.retries", execution.retries);
  }

  absl::Status CheckKind(const LlmCallView& call) const {
    RETURN_IF_ERROR(Required("llm_call.provider", call.provider));
    RETURN_IF_ERROR(Required("llm_call.model", call.model));
    RETURN_IF_ERROR(LabelValue("llm_call.workflow", call.workflow));
    RETURN_IF_ERROR(RunId("llm_call.run_id", call.run_id));
    RETURN_IF_ERROR(LabelValue("llm_call.agent", call.agent));
    RETURN_IF_ERROR(LabelValue("llm_call.team", call.team));
    RETURN_IF_ERROR(NonNegative("llm_call.latency", call.latency));
    RETURN_IF_ERROR(NonNegative("llm_call.time_to_first_token", call.time_to_first_token));
    RETURN_IF_ERROR(NonNegative("llm_call.input_tokens", call.input_tokens));
    RETURN_IF_ERROR(NonNegative("llm_call.output_tokens", call.output_tokens));
    RETURN_IF_ERROR(NonNegative("llm_call.cached_input_tokens", call.cached_input_tokens));
    RETURN_IF_ERROR(NonNegative("llm_call.cache_creation_tokens", call.cache_creation_tokens));
    // Both cache counts are subsets of input_tokens (and disjoint: a token is
    // either read from or written to the cache).
    if (call.cached_input_tokens > call.input_tokens - call.cache_creation_tokens) {
      return Invalid("llm_call.cached_input_tokens",
                     absl::StrCat("cached_input_tokens (", call.cached_input_tokens,
                                  ") + cache_creation_tokens (", call.cache_creation_tokens,
                                  ") exceed input_tokens (", call.input_tokens, ")"));
    }
    RETURN_IF_ERROR(Status("llm_call.status", call.status));
    return LabelValue("llm_call.error_type", call.error_type);
  }

  absl::Status CheckKind(const ResourceSampleView& sample) const {
    if (sample.component.empty() && sample.pod.empty()) {
      return Invalid("resource_sample.component", "required unless pod is set");
    }
    RETURN_IF_ERROR(LabelValue("resource_sample.component", sample.component));
    RETURN_IF_ERROR(LabelValue("resource_sample.pod", sample.pod));
    RETURN_IF_ERROR(FiniteNonNegative("resource_sample.cpu_utilization", sample.cpu_utilization));
    RETURN_IF_ERROR(
        FiniteNonNegative("resource_sample.memory_utilization", sample.memory_utilization));
    if (sample.queue_depth.has_value()) {
      RETURN_IF_ERROR(NonNegative("resource_sample.queue_depth", *sample.queue_depth));
    }
    RETURN_IF_ERROR(NonNegative("resource_sample.processing_lag", sample.processing_lag));
    if (!sample.cpu_utilization && !sample.memory_utilization && !sample.queue_depth &&
        !sample.processing_lag) {
      return Invalid("resource_sample",
                     "no measurement set (cpu_utilization, memory_utilization, queue_depth or "
                     "processing_lag)");
    }
    return absl::OkStatus();
  }

  absl::Status CheckKind(const MetricSampleView& sample) const {
    if (sample.name.empty()) return Invalid("metric_sample.name", "required");
    if (!IsValidMetricName(sample.name)) {
      return Invalid("metric_sample.name",
                     absl::StrCat("\"", sample.name, "\" must match [a-zA-Z_:][a-zA-Z0-9_:]*",
                                  " and be at most ", kMaxMetricNameBytes, " bytes"));
    }
    if (IsBuiltinMetric(sample.name)) {
      return Invalid("metric_sample.name",
                     absl::StrCat("\"", sample.name, "\" is a built-in metric"));
    }
    if (!std::isfinite(sample.value)) return Invalid("metric_sample.value", "must be finite");
    return absl::OkStatus();
  }

  absl::Status CheckKind(const QualityScoreView& score) const {
    RETURN_IF_ERROR(Required("quality_score.name", score.name));
    if (!std::isfinite(score.value)) return Invalid("quality_score.value", "must be finite");
    RETURN_IF_ERROR(LabelValue("quality_score.workflow", score.workflow));
    RETURN_IF_ERROR(LabelValue("quality_score.agent", score.agent));
    return RunId("quality_score.run_id", score.run_id);
  }

  size_t index_;
  const IngestLimits& limits_;
  absl::Time now_;
};

}  // namespace

const char* RejectReasonLabel(RejectReason reason) {
  switch (reason) {
    case RejectReason::kInvalid:
      return "invalid";
    case RejectReason::kBatchTooLarge:
      return "batch_too_large";
    case RejectReason::kTooManyLabels:
      return "too_many_labels";
    case RejectReason::kSeriesLimit:
      return "series_limit";
    case RejectReason::kStoreError:
      return "store_error";
  }
  return "invalid";
}

absl::Status ValidateBatchHeader(const std::string& producer_id, int64_t event_count,
                                 const IngestLimits& limits, RejectReason* reason) {
  RejectReason ignored;
  if (reason == nullptr) reason = &ignored;
  *reason = RejectReason::kInvalid;
  if (producer_id.empty()) return InvalidField("producer_id", "required");
  RETURN_IF_ERROR(CheckText("producer_id", producer_id, kMaxProducerIdBytes));
  if (event_count == 0) {
    return InvalidField("events", absl::StrCat("required (1 to ", limits.max_batch_events, ")"));
  }
  if (event_count > limits.max_batch_events) {
    *reason = RejectReason::kBatchTooLarge;
    return absl::ResourceExhaustedError(absl::StrCat(
        "events: ", event_count, " events in the batch, at most ", limits.max_batch_events));
  }
  return absl::OkStatus();
}

absl::Status ValidateEvent(const EventView& event, size_t index, const IngestLimits& limits,
                           absl::Time now, RejectReason* reason) {
  RejectReason ignored;
  if (reason == nullptr) reason = &ignored;
  return EventChecker(index, limits, now).Check(event, reason);
}

absl::Status ValidateEvent(const Event& event, size_t index, const IngestLimits& limits,
                           absl::Time now, RejectReason* reason) {
  return ValidateEvent(ViewOf(event), index, limits, now, reason);
}

absl::Status ValidateBatch(const Batch& batch, const IngestLimits& limits, absl::Time now,
                           RejectReason* reason) {
  RETURN_IF_ERROR(ValidateBatchHeader(batch.producer_id, static_cast<int64_t>(batch.events.size()),
                                      limits, reason));
  for (size_t i = 0; i < batch.events.size(); ++i) {
    RETURN_IF_ERROR(ValidateEvent(batch.events[i], i, limits, now, reason));
  }
  return absl::OkStatus();
}

}  // namespace agentwatch::monitor
