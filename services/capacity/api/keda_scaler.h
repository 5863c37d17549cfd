// KEDA's external scaler (externalscaler.ExternalScaler) on the capacity
// service's port: a ScaledObject scales a workload on agentwatch's forecast,
// before the peak instead of after it.
//
// scalerMetadata keys:
//   resourceId           the resource (required);
//   lookahead            Go-style duration, 1m..24h, default "10m": the metric
//                        is the forecast peak over this window;
//   activationThreshold  number, default 0: active while the metric exceeds
//                        it.
// The metric value is max(latest demand, forecast peak over the lookahead),
// in demand units (see DemandScale); the target (averageValue per replica)
// is per_unit_capacity x target_utilization, so KEDA's HPA sets
// ceil(peak / (per_unit_capacity x target_utilization)) replicas. With too
// short a history to forecast, the latest demand alone is the metric.
#pragma once

#include <grpcpp/support/server_callback.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "capacity/history/history_source.h"
#include "capacity/store/forecast_cache.h"
#include "capacity/store/resource_store.h"
#include "common/clock.h"
#include "common/rpc.h"
#include "externalscaler/externalscaler.grpc.pb.h"

namespace agentwatch::capacity {

// The ScaledObject's metadata, parsed.
struct ScalerMetadata {
  std::string resource_id;
  absl::Duration lookahead = absl::Minutes(10);
  double activation_threshold = 0;
};

// Parses a ScaledObjectRef's scalerMetadata. INVALID_ARGUMENT naming the key
// ("scalerMetadata.resourceId: must be set", "scalerMetadata.lookahead: ...").
absl::StatusOr<ScalerMetadata> ParseScalerMetadata(const externalscaler::ScaledObjectRef& ref);

// The metric name of a resource: "agentwatch-forecast-" and the resource's
// name with characters other than [a-z0-9-] replaced by '-', lower-cased.
std::string ScalerMetricName(absl::string_view resource_name);

struct KedaScalerOptions {
  // How often StreamIsActive re-evaluates (real time; it paces polling).
  absl::Duration stream_interval = absl::Seconds(30);
};

// The scaler. Dependencies are borrowed and must outlive it. Every RPC
// needs role viewer when authentication is on. Errors: INVALID_ARGUMENT
// (metadata); NOT_FOUND (resource, or no data for its series); UNAVAILABLE
// (Postgres or monitor). Thread-safe.
class KedaScalerImpl final : public externalscaler::ExternalScaler::CallbackService {
 public:
  KedaScalerImpl(common::RpcRunner& rpc, const common::Clock& clock, HistorySource& history,
                 ResourceStore& resources, ForecastCache& cache, KedaScalerOptions options);

  // Active while the metric exceeds activationThreshold.
  grpc::ServerUnaryReactor* IsActive(grpc::CallbackServerContext* context,
                                     const externalscaler::ScaledObjectRef* request,
                                     externalscaler::IsActiveResponse* response) override;

  // Sends the activity now and again whenever it changes (checked every
  // stream_interval) until the client cancels; ends with the error of a
  // failed evaluation.
  grpc::ServerWriteReactor<externalscaler::IsActiveResponse>* StreamIsActive(
      grpc::CallbackServerContext* context,
      const externalscaler::ScaledObjectRef* request) override;

  // One metric: ScalerMetricName, target per_unit_capacity x
  // target_utilization (targetSize: that rounded, at least 1).
  grpc::ServerUnaryReactor* GetMetricSpec(grpc::CallbackServerContext* context,
                                          const externalscaler::ScaledObjectRef* request,
                                          externalscaler::GetMetricSpecResponse* response) override;

  // The metric's value under the name asked for (ScalerMetricName when
  // empty).
  grpc::ServerUnaryReactor* GetMetrics(grpc::CallbackServerContext* context,
                                       const externalscaler::GetMetricsRequest* request,
                                       externalscaler::GetMetricsResponse* response) override;

  // The metric value for `ref` (what GetMetrics answers), for the stream and
  // tests.
  absl::StatusOr<double> MetricValue(const externalscaler::ScaledObjectRef& ref);

 private:
  class ActivityStream;

  absl::StatusOr<bool> Active(const externalscaler::ScaledObjectRef& ref);

  common::RpcRunner& rpc_;
  const common::Clock& clock_;
  HistorySource& history_;
  ResourceStore& resources_;
  ForecastCache& cache_;
  KedaScalerOptions options_;
};

}  // namespace agentwatch::capacity
