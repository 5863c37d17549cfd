// Prometheus metrics shared by every service: a server interceptor that
// counts and times every RPC by method and status code, and the text
// exposition for /metrics.
#pragma once

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace agentwatch::common {

// The Prometheus text format of everything in `registry`.
std::string RenderMetrics(const prometheus::Registry& registry);

// agentwatch_<svc>_grpc_requests_total{method,code} and
// agentwatch_<svc>_grpc_request_duration_seconds{method}.
class RpcMetrics {
 public:
  RpcMetrics(prometheus::Registry& registry, const std::string& prefix);
  void Record(const std::string& method, const std::string& code, double seconds);

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
};

// The name of a gRPC status code as Prometheus labels show it ("OK",
// "INVALID_ARGUMENT", ...).
const char* GrpcCodeName(int code);

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(RpcMetrics& metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  RpcMetrics& metrics_;
};

}  // namespace agentwatch::common
