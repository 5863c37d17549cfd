// agentwatch.capacity.v1.CapacityService: GetForecast. Every other RPC of the
// service answers UNIMPLEMENTED (the generated base class's answer).
#pragma once

#include <grpcpp/support/server_callback.h>

#include "absl/status/status.h"
#include "agentwatch/capacity/v1/capacity.grpc.pb.h"
#include "capacity/api/metrics.h"
#include "capacity/history/history_source.h"
#include "capacity/store/forecast_cache.h"
#include "capacity/store/forecast_run_store.h"
#include "common/clock.h"
#include "common/rpc.h"

namespace agentwatch::capacity {

// The gRPC service. Dependencies are borrowed and must outlive it. Handlers
// run on the RpcRunner's executor; thread-safe.
class CapacityServiceImpl final : public v1::CapacityService::CallbackService {
 public:
  CapacityServiceImpl(common::RpcRunner& rpc, const common::Clock& clock, HistorySource& history,
                      ForecastRunStore& runs, ForecastCache& cache, CapacityMetrics& metrics);

  // Role viewer. A cached response for the same request and the same latest
  // complete step is answered from the cache; otherwise the history is read
  // from the HistorySource (several series are summed into one), forecast by
  // the core, recorded in the run store, cached, and returned. A cache that
  // is down is skipped (logged). Errors: INVALID_ARGUMENT / RESOURCE_EXHAUSTED
  // / UNIMPLEMENTED as ParseForecastRequest; NOT_FOUND when the source has no
  // point for the series in the range; FAILED_PRECONDITION when the history
  // is too short (see forecast.h); UNAVAILABLE when monitor or Postgres is
  // unreachable.
  grpc::ServerUnaryReactor* GetForecast(grpc::CallbackServerContext* context,
                                        const v1::GetForecastRequest* request,
                                        v1::GetForecastResponse* response) override;

 private:
  absl::Status Forecast(const v1::GetForecastRequest& request, v1::GetForecastResponse* response);

  common::RpcRunner& rpc_;
  const common::Clock& clock_;
  HistorySource& history_;
  ForecastRunStore& runs_;
  ForecastCache& cache_;
  CapacityMetrics& metrics_;
};

}  // namespace agentwatch::capacity
