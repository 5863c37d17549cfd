// OTLP/gRPC intake on monitor: opentelemetry.proto.collector.trace.v1.
// TraceService/Export and opentelemetry.proto.collector.metrics.v1.
// MetricsService/Export, so that an OpenTelemetry SDK or Collector exporting
// GenAI spans can point at monitor's gRPC port. The telemetry is mapped onto
// monitor events (genai_mapping.h) and ingested exactly as Ingest would
// ingest them (so LLM calls flow on to cost as usual).
//
// Idempotency: an exporter retries a failed export with the same content.
// Each export becomes batches with producer id "otlp/<service.name>" and a
// sequence derived from the SHA-256 of the request's deterministic
// serialization (and the batch's index), so a retried export is acknowledged
// as a replay and counted once.
//
// Answers: OK with partial_success {rejected count, reasons} when some spans
// or points could not be mapped; OK with no partial_success when all went in
// or were ignored (not GenAI); the ingest's status (UNAVAILABLE, retryable by
// OTLP exporters) when the store fails, in which case nothing was written.
// Authorization: operator role, like Ingest.
#pragma once

#include <functional>
#include <string>

#include <grpcpp/grpcpp.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "absl/status/status.h"
#include "agentwatch/monitor/v1/monitor.pb.h"
#include "common/clock.h"
#include "common/rpc.h"
#include "monitor/otlp/genai_mapping.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

namespace agentwatch::monitor::otlp {

// Ingests one batch as monitor's Ingest does (validation, limits,
// idempotency by (producer_id, sequence), durable before it returns).
using IngestSink = std::function<absl::Status(const v1::IngestRequest&, v1::IngestResponse*)>;

// agentwatch_monitor_otlp_items_total{signal="spans"|"data_points",
// result="accepted"|"rejected"|"ignored"}.
class OtlpMetrics {
 public:
  explicit OtlpMetrics(prometheus::Registry& registry);
  void Count(const char* signal, const MappedTelemetry& mapped);

 private:
  prometheus::Family<prometheus::Counter>& items_;
};

// Splits `mapped` into IngestRequests of at most `max_events` events with
// the producer id and sequences described above. `request_bytes` is the
// deterministic serialization of the export request.
std::vector<v1::IngestRequest> BatchesFor(const MappedTelemetry& mapped,
                                          const std::string& request_bytes, size_t max_events);

// Maps, ingests and answers one export; shared by both services.
class OtlpIntake {
 public:
  OtlpIntake(IngestSink sink, common::Clock& clock, MappingOptions options, OtlpMetrics& metrics)
      : sink_(std::move(sink)), clock_(clock), options_(std::move(options)), metrics_(metrics) {}

  absl::Status Traces(
      const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request,
      const std::string& header_tenant,
      opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse* response);
  absl::Status Metrics(
      const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& request,
      const std::string& header_tenant,
      opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceResponse* response);

 private:
  absl::Status IngestAll(const MappedTelemetry& mapped, const std::string& request_bytes);

  IngestSink sink_;
  common::Clock& clock_;
  MappingOptions options_;
  OtlpMetrics& metrics_;
};

class OtlpTraceService final
    : public opentelemetry::proto::collector::trace::v1::TraceService::CallbackService {
 public:
  OtlpTraceService(OtlpIntake& intake, common::RpcRunner& rpc) : intake_(intake), rpc_(rpc) {}
  grpc::ServerUnaryReactor* Export(
      grpc::CallbackServerContext* context,
      const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest* request,
      opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse* response) override;

 private:
  OtlpIntake& intake_;
  common::RpcRunner& rpc_;
};

class OtlpMetricsService final
    : public opentelemetry::proto::collector::metrics::v1::MetricsService::CallbackService {
 public:
  OtlpMetricsService(OtlpIntake& intake, common::RpcRunner& rpc) : intake_(intake), rpc_(rpc) {}
  grpc::ServerUnaryReactor* Export(
      grpc::CallbackServerContext* context,
      const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest* request,
      opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceResponse* response)
      override;

 private:
  OtlpIntake& intake_;
  common::RpcRunner& rpc_;
};

// The x-agentwatch-tenant header of a call, or "".
std::string HeaderTenant(const grpc::CallbackServerContext& context);

}  // namespace agentwatch::monitor::otlp
