// OpenTelemetry (OTLP) telemetry as monitor events.
//
// Spans that follow the GenAI semantic conventions become monitor events,
// chosen by `gen_ai.operation.name`:
//   chat, text_completion, generate_content, embeddings -> llm_call
//   invoke_agent                                       -> agent_execution
//   invoke_workflow                                    -> workflow_run
//   execute_tool                                       -> metric sample
//                                 `tool_call_seconds` (the duration) with
//                                 labels tool, agent_name, workflow_name and
//                                 outcome (succeeded / failed)
// Spans without `gen_ai.operation.name`, or with another operation, are
// ignored (counted, not rejected). A GenAI span that cannot be mapped (no
// provider or model, a negative token count, an end before its start, no
// tenant, ...) is rejected with a reason; the rest of the request still goes
// in (OTLP partial success).
//
// Attributes read (span first, then the resource):
//   provider  gen_ai.provider.name, else the older gen_ai.system
//   model     gen_ai.response.model, else gen_ai.request.model
//   tokens    gen_ai.usage.input_tokens, gen_ai.usage.output_tokens,
//             gen_ai.usage.cache_read.input_tokens,
//             gen_ai.usage.cache_creation.input_tokens
//   agent     gen_ai.agent.name, else that of the nearest invoke_agent ancestor
//   workflow  gen_ai.workflow.name, else that of the nearest invoke_workflow
//             ancestor (its attribute, else its span name without the
//             "invoke_workflow " prefix)
//   tool      gen_ai.tool.name
//   errors    span status ERROR or error.type set -> FAILED with error_type =
//             error.type (else "error"); throttled when error.type or
//             http.response.status_code says 429 / rate limit
//   tenant    agentwatch.tenant, else the x-agentwatch-tenant request header,
//             else the configured default tenant
//   team      agentwatch.team
// Ancestors are looked up among the spans of the same export request. The
// run id is the trace id (hex). Event ids are "otlp:<trace id>:<span id>", so
// a re-exported span is the same event (and the same cost record).
//
// Metrics: gauge and sum points become metric samples named after the metric
// with every character outside [a-zA-Z0-9_:] replaced by '_' (e.g.
// gen_ai.client.token.usage -> gen_ai_client_token_usage); explicit-bucket
// histogram points become <name>_count and, when present, <name>_sum.
// Point attributes become labels (keys sanitized the same way). Exponential
// histograms and summaries are rejected as unsupported.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agentwatch/monitor/v1/monitor.pb.h"
#include "monitor/core/validation.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace agentwatch::monitor::otlp {

struct MappingOptions {
  // Tenant for telemetry that names none (no agentwatch.tenant attribute, no
  // x-agentwatch-tenant header). Empty: such telemetry is rejected.
  std::string default_tenant;
  // Limits each mapped event is validated against (as Ingest would).
  IngestLimits limits;
};

// The events of one export request and what was left out.
struct MappedTelemetry {
  std::vector<v1::Event> events;
  // Spans or data points refused, with the first reasons (at most 5).
  int64_t rejected = 0;
  std::vector<std::string> reasons;
  // Spans that are not GenAI operations.
  int64_t ignored = 0;
  // service.name of the first resource (for the producer id), or "unknown".
  std::string service_name = "unknown";
};

// Maps the spans of `request`. `header_tenant` is the x-agentwatch-tenant
// request header (may be empty). Every returned event passed Ingest's
// validation at `now`.
MappedTelemetry MapTraces(
    const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request,
    absl::string_view header_tenant, const MappingOptions& options, absl::Time now);

// Maps the data points of `request`, like MapTraces.
MappedTelemetry MapMetrics(
    const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& request,
    absl::string_view header_tenant, const MappingOptions& options, absl::Time now);

// "<n> rejected: reason; reason; ..." for the partial-success message, or ""
// when nothing was rejected.
std::string RejectionMessage(const MappedTelemetry& mapped);

// Replaces every character outside [a-zA-Z0-9_:] by '_' and prefixes '_'
// when the result starts with a digit ("gen_ai.client.token.usage" ->
// "gen_ai_client_token_usage"). `allow_colon` false also replaces ':' (label
// names).
std::string SanitizeName(absl::string_view name, bool allow_colon);

}  // namespace agentwatch::monitor::otlp
