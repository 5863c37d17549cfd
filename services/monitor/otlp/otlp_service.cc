#include "monitor/otlp/otlp_service.h"

#include <algorithm>
#include <array>
#include <cstring>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/strings/str_cat.h"
#include "monitor/core/hash.h"

namespace agentwatch::monitor::otlp {
namespace {

namespace ottrace = ::opentelemetry::proto::collector::trace::v1;
namespace otmetrics = ::opentelemetry::proto::collector::metrics::v1;

constexpr size_t kMaxProducerServiceBytes = 100;

std::string DeterministicBytes(const google::protobuf::Message& message) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return bytes;
}

}  // namespace

OtlpMetrics::OtlpMetrics(prometheus::Registry& registry)
    : items_(prometheus::BuildCounter()
                 .Name("agentwatch_monitor_otlp_items_total")
                 .Help("OTLP spans and data points received, by signal and result "
                       "(accepted, rejected, ignored: not a GenAI operation)")
                 .Register(registry)) {}

void OtlpMetrics::Count(const char* signal, const MappedTelemetry& mapped) {
  items_.Add({{"signal", signal}, {"result", "accepted"}})
      .Increment(static_cast<double>(mapped.events.size()));
  items_.Add({{"signal", signal}, {"result", "rejected"}})
      .Increment(static_cast<double>(mapped.rejected));
  items_.Add({{"signal", signal}, {"result", "ignored"}})
      .Increment(static_cast<double>(mapped.ignored));
}

std::vector<v1::IngestRequest> BatchesFor(const MappedTelemetry& mapped,
                                          const std::string& request_bytes, size_t max_events) {
  std::vector<v1::IngestRequest> batches;
  const std::string producer =
      absl::StrCat("otlp/", mapped.service_name.substr(0, kMaxProducerServiceBytes));
  for (size_t start = 0; start < mapped.events.size(); start += max_events) {
    const size_t end = std::min(mapped.events.size(), start + max_events);
    const std::array<uint8_t, 32> digest =
        Sha256(absl::StrCat(request_bytes, "#", start / max_events));
    uint64_t sequence = 0;
    std::memcpy(&sequence, digest.data(), sizeof(sequence));
    sequence &= 0x7fffffffffffffffULL;  // stored as a signed 64-bit number
    v1::IngestRequest& batch = batches.emplace_back();
    batch.set_producer_id(producer);
    batch.set_sequence(sequence);
    for (size_t i = start; i < end; ++i) *batch.add_events() = mapped.events[i];
  }
  return batches;
}

absl::Status OtlpIntake::IngestAll(const MappedTelemetry& mapped,
                                   const std::string& request_bytes) {
  for (const v1::IngestRequest& batch :
       BatchesFor(mapped, request_bytes, static_cast<size_t>(options_.limits.max_batch_events))) {
    v1::IngestResponse ignored;
    absl::Status status = sink_(batch, &ignored);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status OtlpIntake::Traces(const ottrace::ExportTraceServiceRequest& request,
                                const std::string& header_tenant,
                                ottrace::ExportTraceServiceResponse* response) {
  MappedTelemetry mapped = MapTraces(request, header_tenant, options_, clock_.Now());
  if (absl::Status status = IngestAll(mapped, DeterministicBytes(request)); !status.ok()) {
    return status;
  }
  metrics_.Count("spans", mapped);
  if (mapped.rejected > 0) {
    response->mutable_partial_success()->set_rejected_spans(mapped.rejected);
    response->mutable_partial_success()->set_error_message(RejectionMessage(mapped));
  }
  return absl::OkStatus();
}

absl::Status OtlpIntake::Metrics(const otmetrics::ExportMetricsServiceRequest& request,
                                 const std::string& header_tenant,
                                 otmetrics::ExportMetricsServiceResponse* response) {
  MappedTelemetry mapped = MapMetrics(request, header_tenant, options_, clock_.Now());
  if (absl::Status status = IngestAll(mapped, DeterministicBytes(request)); !status.ok()) {
    return status;
  }
  metrics_.Count("data_points", mapped);
  if (mapped.rejected > 0) {
    response->mutable_partial_success()->set_rejected_data_points(mapped.rejected);
    response->mutable_partial_success()->set_error_message(RejectionMessage(mapped));
  }
  return absl::OkStatus();
}

std::string HeaderTenant(const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("x-agentwatch-tenant");
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

grpc::ServerUnaryReactor* OtlpTraceService::Export(
    grpc::CallbackServerContext* context, const ottrace::ExportTraceServiceRequest* request,
    ottrace::ExportTraceServiceResponse* response) {
  std::string tenant = HeaderTenant(*context);
  return rpc_.Unary(context, common::Role::kOperator,
                    [this, request, response, tenant = std::move(tenant)] {
                      return intake_.Traces(*request, tenant, response);
                    });
}

grpc::ServerUnaryReactor* OtlpMetricsService::Export(
    grpc::CallbackServerContext* context, const otmetrics::ExportMetricsServiceRequest* request,
    otmetrics::ExportMetricsServiceResponse* response) {
  std::string tenant = HeaderTenant(*context);
  return rpc_.Unary(context, common::Role::kOperator,
                    [this, request, response, tenant = std::move(tenant)] {
                      return intake_.Metrics(*request, tenant, response);
                    });
}

}  // namespace agentwatch::monitor::otlp
