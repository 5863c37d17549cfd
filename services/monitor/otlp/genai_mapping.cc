#include "monitor/otlp/genai_mapping.h"

#include <cmath>
#include <cstddef>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "monitor/api/proto_mapping.h"

namespace agentwatch::monitor::otlp {
namespace {

namespace otcommon = ::opentelemetry::proto::common::v1;
namespace ottrace = ::opentelemetry::proto::trace::v1;
namespace otmetrics = ::opentelemetry::proto::metrics::v1;
using Attributes = google::protobuf::RepeatedPtrField<otcommon::KeyValue>;

constexpr size_t kMaxReasons = 5;
constexpr int kMaxAncestorDepth = 64;

const otcommon::AnyValue* Find(const Attributes& attributes, absl::string_view key) {
  for (const otcommon::KeyValue& kv : attributes) {
    if (kv.key() == key) return &kv.value();
  }
  return nullptr;
}

// The attribute as a string (ints and doubles formatted), or nullopt.
std::optional<std::string> String(const Attributes& attributes, absl::string_view key) {
  const otcommon::AnyValue* v = Find(attributes, key);
  if (v == nullptr) return std::nullopt;
  switch (v->value_case()) {
    case otcommon::AnyValue::kStringValue:
      if (v->string_value().empty()) return std::nullopt;
      return v->string_value();
    case otcommon::AnyValue::kIntValue:
      return absl::StrCat(v->int_value());
    case otcommon::AnyValue::kBoolValue:
      return v->bool_value() ? "true" : "false";
    case otcommon::AnyValue::kDoubleValue:
      return absl::StrCat(v->double_value());
    default:
      return std::nullopt;
  }
}

// First of `keys` present on the span, then on the resource.
std::optional<std::string> Lookup(const Attributes& span, const Attributes& resource,
                                  std::initializer_list<absl::string_view> keys) {
  for (absl::string_view key : keys) {
    if (auto v = String(span, key)) return v;
  }
  for (absl::string_view key : keys) {
    if (auto v = String(resource, key)) return v;
  }
  return std::nullopt;
}

// An integer attribute (ints, integral doubles and numeric strings accepted).
// Sets `*error` when present but not an integer.
std::optional<int64_t> Int(const Attributes& attributes, absl::string_view key,
                           std::string* error) {
  const otcommon::AnyValue* v = Find(attributes, key);
  if (v == nullptr) return std::nullopt;
  switch (v->value_case()) {
    case otcommon::AnyValue::kIntValue:
      return v->int_value();
    case otcommon::AnyValue::kDoubleValue:
      if (std::isfinite(v->double_value()) && std::floor(v->double_value()) == v->double_value() &&
          std::fabs(v->double_value()) < 9e18) {
        return static_cast<int64_t>(v->double_value());
      }
      break;
    case otcommon::AnyValue::kStringValue: {
      int64_t parsed;
      if (absl::SimpleAtoi(v->string_value(), &parsed)) return parsed;
      break;
    }
    default:
      break;
  }
  *error = absl::StrCat(key, ": not an integer");
  return std::nullopt;
}

std::string Hex(const std::string& bytes) { return absl::BytesToHexString(bytes); }

google::protobuf::Timestamp TimestampFromNanos(uint64_t nanos) {
  google::protobuf::Timestamp t;
  t.set_seconds(static_cast<int64_t>(nanos / 1000000000ULL));
  t.set_nanos(static_cast<int32_t>(nanos % 1000000000ULL));
  return t;
}

google::protobuf::Duration DurationFromNanos(uint64_t nanos) {
  google::protobuf::Duration d;
  d.set_seconds(static_cast<int64_t>(nanos / 1000000000ULL));
  d.set_nanos(static_cast<int32_t>(nanos % 1000000000ULL));
  return d;
}

bool IsLlmOperation(absl::string_view op) {
  return op == "chat" || op == "text_completion" || op == "generate_content" ||
         op == "embeddings";
}

bool LooksThrottled(absl::string_view error_type, const std::optional<std::string>& http_status) {
  if (http_status.has_value() && *http_status == "429") return true;
  std::string lower = absl::AsciiStrToLower(error_type);
  return lower == "429" || absl::StrContains(lower, "rate_limit") ||
         absl::StrContains(lower, "ratelimit") || absl::StrContains(lower, "throttl");
}

class Mapper {
 public:
  Mapper(absl::string_view header_tenant, const MappingOptions& options, absl::Time now,
         MappedTelemetry* out)
      : header_tenant_(header_tenant), options_(options), now_(now), out_(out) {}

  void Reject(std::string reason) {
    ++out_->rejected;
    if (out_->reasons.size() < kMaxReasons) out_->reasons.push_back(std::move(reason));
  }

  // The tenant of telemetry of `resource` (and `attributes` of the item).
  std::optional<std::string> Tenant(const Attributes& item, const Attributes& resource) const {
    if (auto t = Lookup(item, resource, {"agentwatch.tenant"})) return t;
    if (!header_tenant_.empty()) return std::string(header_tenant_);
    if (!options_.default_tenant.empty()) return options_.default_tenant;
    return std::nullopt;
  }

  // Validates `event` as Ingest would; keeps it or rejects it as `what`.
  void Keep(v1::Event event, absl::string_view what) {
    absl::StatusOr<Event> core = EventFromProto(event, 0);
    absl::Status status = core.ok() ? ValidateEvent(*core, 0, options_.limits, now_)
                                    : core.status();
    if (!status.ok()) {
      absl::string_view message = status.message();
      absl::ConsumePrefix(&message, "events[0].");
      Reject(absl::StrCat(what, ": ", message));
      return;
    }
    out_->events.push_back(std::move(event));
  }

 private:
  absl::string_view header_tenant_;
  const MappingOptions& options_;
  absl::Time now_;
  MappedTelemetry* out_;
};

// The spans of one request by span id, for ancestor lookups.
using SpanIndex = absl::flat_hash_map<std::string, const ottrace::Span*>;

// The nearest ancestor of `span` (not itself) whose operation is `op`.
const ottrace::Span* Ancestor(const SpanIndex& index, const ottrace::Span& span,
                              absl::string_view op) {
  const ottrace::Span* current = &span;
  for (int depth = 0; depth < kMaxAncestorDepth && !current->parent_span_id().empty(); ++depth) {
    auto it = index.find(current->parent_span_id());
    if (it == index.end()) return nullptr;
    current = it->second;
    if (String(current->attributes(), "gen_ai.operation.name") == std::string(op)) {
      return current;
    }
  }
  return nullptr;
}

std::string WorkflowNameOf(const ottrace::Span& span) {
  if (auto name = String(span.attributes(), "gen_ai.workflow.name")) return *name;
  absl::string_view name = span.name();
  absl::ConsumePrefix(&name, "invoke_workflow ");
  return std::string(name);
}

void MapSpan(const ottrace::Span& span, const Attributes& resource, const SpanIndex& index,
             const std::string& what, Mapper& mapper, MappedTelemetry& out) {
  const Attributes& attrs = span.attributes();
  std::optional<std::string> op = String(attrs, "gen_ai.operation.name");
  if (!op.has_value() || !(IsLlmOperation(*op) || *op == "invoke_agent" ||
                           *op == "invoke_workflow" || *op == "execute_tool")) {
    ++out.ignored;
    return;
  }
  if (span.trace_id().size() != 16 || span.span_id().size() != 8) {
    mapper.Reject(absl::StrCat(what, ": trace_id must be 16 bytes and span_id 8 bytes"));
    return;
  }
  if (span.end_time_unix_nano() == 0 || span.end_time_unix_nano() < span.start_time_unix_nano()) {
    mapper.Reject(absl::StrCat(what, ": end_time_unix_nano must be set and not before the start"));
    return;
  }
  std::optional<std::string> tenant = mapper.Tenant(attrs, resource);
  if (!tenant.has_value()) {
    mapper.Reject(absl::StrCat(what, ": no tenant (set the resource attribute agentwatch.tenant, "
                                     "the x-agentwatch-tenant header or --otlp_default_tenant)"));
    return;
  }
  const std::string trace_hex = Hex(span.trace_id());
  const uint64_t duration_nanos = span.end_time_unix_nano() - span.start_time_unix_nano();

  v1::Event event;
  event.set_event_id(absl::StrCat("otlp:", trace_hex, ":", Hex(span.span_id())));
  *event.mutable_time() = TimestampFromNanos(span.end_time_unix_nano());
  event.set_tenant(*tenant);

  std::optional<std::string> error_type = String(attrs, "error.type");
  const bool failed =
      span.status().code() == ottrace::Status::STATUS_CODE_ERROR || error_type.has_value();
  const v1::RunStatus status = failed ? v1::RUN_STATUS_FAILED : v1::RUN_STATUS_SUCCEEDED;
  std::optional<std::string> team = Lookup(attrs, resource, {"agentwatch.team"});

  std::string agent;
  if (auto a = String(attrs, "gen_ai.agent.name")) {
    agent = *a;
  } else if (const ottrace::Span* parent = Ancestor(index, span, "invoke_agent")) {
    agent = String(parent->attributes(), "gen_ai.agent.name").value_or("");
  }
  std::string workflow;
  if (auto w = String(attrs, "gen_ai.workflow.name")) {
    workflow = *w;
  } else if (*op != "invoke_workflow") {
    if (const ottrace::Span* parent = Ancestor(index, span, "invoke_workflow")) {
      workflow = WorkflowNameOf(*parent);
    }
  }

  if (IsLlmOperation(*op)) {
    std::optional<std::string> provider =
        Lookup(attrs, resource, {"gen_ai.provider.name", "gen_ai.system"});
    std::optional<std::string> model =
        Lookup(attrs, resource, {"gen_ai.response.model", "gen_ai.request.model"});
    if (!provider.has_value()) {
      mapper.Reject(absl::StrCat(what, ": gen_ai.provider.name (or gen_ai.system) is required"));
      return;
    }
    if (!model.has_value()) {
      mapper.Reject(
          absl::StrCat(what, ": gen_ai.response.model (or gen_ai.request.model) is required"));
      return;
    }
    std::string error;
    auto tokens = [&](absl::string_view key) { return Int(attrs, key, &error).value_or(0); };
    v1::LlmCall* call = event.mutable_llm_call();
    call->set_provider(*provider);
    call->set_model(*model);
    call->set_workflow(workflow);
    call->set_agent(agent);
    call->set_run_id(trace_hex);
    if (team.has_value()) call->set_team(*team);
    *call->mutable_latency() = DurationFromNanos(duration_nanos);
    call->set_input_tokens(tokens("gen_ai.usage.input_tokens"));
    call->set_output_tokens(tokens("gen_ai.usage.output_tokens"));
    call->set_cached_input_tokens(tokens("gen_ai.usage.cache_read.input_tokens"));
    call->set_cache_creation_tokens(tokens("gen_ai.usage.cache_creation.input_tokens"));
    if (!error.empty()) {
      mapper.Reject(absl::StrCat(what, ": ", error));
      return;
    }
    call->set_status(status);
    if (failed) {
      call->set_error_type(error_type.value_or("error"));
      call->set_throttled(LooksThrottled(call->error_type(),
                                         String(attrs, "http.response.status_code")));
    }
  } else if (*op == "invoke_agent") {
    if (agent.empty()) {
      mapper.Reject(absl::StrCat(what, ": gen_ai.agent.name is required for invoke_agent"));
      return;
    }
    v1::AgentExecution* execution = event.mutable_agent_execution();
    execution->set_agent(agent);
    execution->set_workflow(workflow);
    execution->set_run_id(trace_hex);
    execution->set_status(status);
    *execution->mutable_duration() = DurationFromNanos(duration_nanos);
  } else if (*op == "invoke_workflow") {
    std::string name = WorkflowNameOf(span);
    if (name.empty()) {
      mapper.Reject(absl::StrCat(what, ": gen_ai.workflow.name (or a span name) is required"));
      return;
    }
    int32_t steps = 0;
    for (const auto& [id, other] : index) {
      if (other->parent_span_id() == span.span_id()) ++steps;
    }
    v1::WorkflowRun* run = event.mutable_workflow_run();
    run->set_workflow(name);
    run->set_run_id(trace_hex);
    if (team.has_value()) run->set_team(*team);
    run->set_status(status);
    *run->mutable_duration() = DurationFromNanos(duration_nanos);
    run->set_step_count(steps);
  } else {  // execute_tool
    std::optional<std::string> tool = String(attrs, "gen_ai.tool.name");
    if (!tool.has_value()) {
      mapper.Reject(absl::StrCat(what, ": gen_ai.tool.name is required for execute_tool"));
      return;
    }
    v1::MetricSample* sample = event.mutable_metric_sample();
    sample->set_name("tool_call_seconds");
    sample->set_value(static_cast<double>(duration_nanos) / 1e9);
    auto& labels = *event.mutable_labels();
    labels["tool"] = *tool;
    // "agent", "workflow" and "status" are monitor's built-in label names.
    if (!agent.empty()) labels["agent_name"] = agent;
    if (!workflow.empty()) labels["workflow_name"] = workflow;
    labels["outcome"] = failed ? "failed" : "succeeded";
  }
  mapper.Keep(std::move(event), what);
}

// Point attributes as event labels. False (and a rejection) on a name clash.
bool PointLabels(const Attributes& attributes, v1::Event* event, const std::string& what,
                 Mapper& mapper) {
  for (const otcommon::KeyValue& kv : attributes) {
    std::optional<std::string> value = String(attributes, kv.key());
    if (!value.has_value()) continue;
    std::string name = SanitizeName(kv.key(), /*allow_colon=*/false);
    auto [it, inserted] = event->mutable_labels()->insert({name, *value});
    if (!inserted) {
      mapper.Reject(absl::StrCat(what, ": attributes ", kv.key(), " and another one map to the ",
                                 "same label name ", name));
      return false;
    }
  }
  return true;
}

}  // namespace

std::string SanitizeName(absl::string_view name, bool allow_colon) {
  std::string out;
  out.reserve(name.size() + 1);
  for (char c : name) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                    (allow_colon && c == ':');
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || absl::ascii_isdigit(static_cast<unsigned char>(out[0]))) {
    out.insert(out.begin(), '_');
  }
  return out;
}

MappedTelemetry MapTraces(
    const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request,
    absl::string_view header_tenant, const MappingOptions& options, absl::Time now) {
  MappedTelemetry out;
  Mapper mapper(header_tenant, options, now, &out);
  SpanIndex index;
  for (const ottrace::ResourceSpans& rs : request.resource_spans()) {
    for (const ottrace::ScopeSpans& ss : rs.scope_spans()) {
      for (const ottrace::Span& span : ss.spans()) index.emplace(span.span_id(), &span);
    }
  }
  bool named = false;
  for (int r = 0; r < request.resource_spans_size(); ++r) {
    const ottrace::ResourceSpans& rs = request.resource_spans(r);
    if (!named) {
      if (auto name = String(rs.resource().attributes(), "service.name")) {
        out.service_name = *name;
        named = true;
      }
    }
    for (int s = 0; s < rs.scope_spans_size(); ++s) {
      const ottrace::ScopeSpans& ss = rs.scope_spans(s);
      for (int i = 0; i < ss.spans_size(); ++i) {
        MapSpan(ss.spans(i), rs.resource().attributes(), index,
                absl::StrCat("resource_spans[", r, "].scope_spans[", s, "].spans[", i, "] (",
                             ss.spans(i).name(), ")"),
                mapper, out);
      }
    }
  }
  return out;
}

MappedTelemetry MapMetrics(
    const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& request,
    absl::string_view header_tenant, const MappingOptions& options, absl::Time now) {
  MappedTelemetry out;
  Mapper mapper(header_tenant, options, now, &out);
  bool named = false;
  for (int r = 0; r < request.resource_metrics_size(); ++r) {
    const otmetrics::ResourceMetrics& rm = request.resource_metrics(r);
    const Attributes& resource = rm.resource().attributes();
    if (!named) {
      if (auto name = String(resource, "service.name")) {
        out.service_name = *name;
        named = true;
      }
    }
    for (int s = 0; s < rm.scope_metrics_size(); ++s) {
      for (int m = 0; m < rm.scope_metrics(s).metrics_size(); ++m) {
        const otmetrics::Metric& metric = rm.scope_metrics(s).metrics(m);
        const std::string base = SanitizeName(metric.name(), /*allow_colon=*/true);
        const std::string where = absl::StrCat("resource_metrics[", r, "].scope_metrics[", s,
                                               "].metrics[", m, "] (", metric.name(), ")");
        // One sample per (name suffix, value) of a point.
        auto emit = [&](const Attributes& attributes, uint64_t time_nanos, int point,
                        std::vector<std::pair<std::string, double>> values) {
          const std::string what = absl::StrCat(where, ".data_points[", point, "]");
          std::optional<std::string> tenant = mapper.Tenant(attributes, resource);
          if (!tenant.has_value()) {
            mapper.Reject(absl::StrCat(what, ": no tenant (set the resource attribute ",
                                       "agentwatch.tenant, the x-agentwatch-tenant header or ",
                                       "--otlp_default_tenant)"));
            return;
          }
          if (time_nanos == 0) {
            mapper.Reject(absl::StrCat(what, ": time_unix_nano is required"));
            return;
          }
          v1::Event event;
          *event.mutable_time() = TimestampFromNanos(time_nanos);
          event.set_tenant(*tenant);
          if (!PointLabels(attributes, &event, what, mapper)) return;
          event.mutable_labels()->erase("agentwatch_tenant");
          for (auto& [name, value] : values) {
            v1::Event one = event;
            one.mutable_metric_sample()->set_name(name);
            one.mutable_metric_sample()->set_value(value);
            mapper.Keep(std::move(one), what);
          }
        };
        switch (metric.data_case()) {
          case otmetrics::Metric::kGauge:
          case otmetrics::Metric::kSum: {
            const auto& points = metric.has_gauge() ? metric.gauge().data_points()
                                                    : metric.sum().data_points();
            for (int p = 0; p < points.size(); ++p) {
              const otmetrics::NumberDataPoint& point = points[p];
              double value = point.value_case() == otmetrics::NumberDataPoint::kAsInt
                                 ? static_cast<double>(point.as_int())
                                 : point.as_double();
              emit(point.attributes(), point.time_unix_nano(), p, {{base, value}});
            }
            break;
          }
          case otmetrics::Metric::kHistogram: {
            const auto& points = metric.histogram().data_points();
            for (int p = 0; p < points.size(); ++p) {
              const otmetrics::HistogramDataPoint& point = points[p];
              std::vector<std::pair<std::string, double>> values = {
                  {base + "_count", static_cast<double>(point.count())}};
              if (point.has_sum()) values.push_back({base + "_sum", point.sum()});
              emit(point.attributes(), point.time_unix_nano(), p, std::move(values));
            }
            break;
          }
          case otmetrics::Metric::kExponentialHistogram:
            for (int p = 0; p < metric.exponential_histogram().data_points_size(); ++p) {
              mapper.Reject(absl::StrCat(where, ".data_points[", p,
                                         "]: exponential histograms are not supported"));
            }
            break;
          case otmetrics::Metric::kSummary:
            for (int p = 0; p < metric.summary().data_points_size(); ++p) {
              mapper.Reject(
                  absl::StrCat(where, ".data_points[", p, "]: summaries are not supported"));
            }
            break;
          case otmetrics::Metric::DATA_NOT_SET:
            break;
        }
      }
    }
  }
  return out;
}

std::string RejectionMessage(const MappedTelemetry& mapped) {
  if (mapped.rejected == 0) return "";
  std::string message = absl::StrCat(mapped.rejected, " rejected: ",
                                     absl::StrJoin(mapped.reasons, "; "));
  if (mapped.rejected > static_cast<int64_t>(mapped.reasons.size())) {
    absl::StrAppend(&message, "; ...");
  }
  return message;
}

}  // namespace agentwatch::monitor::otlp
