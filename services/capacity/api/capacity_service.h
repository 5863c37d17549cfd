// agentwatch.capacity.v1.CapacityService: forecasts, the resources of the
// capacity model, recommendations and usage patterns.
#pragma once

#include <grpcpp/support/server_callback.h>

#include "absl/status/status.h"
#include "agentwatch/capacity/v1/capacity.grpc.pb.h"
#include "capacity/api/metrics.h"
#include "capacity/history/history_source.h"
#include "capacity/store/forecast_cache.h"
#include "capacity/store/forecast_run_store.h"
#include "capacity/store/resource_store.h"
#include "common/clock.h"
#include "common/rpc.h"

namespace agentwatch::capacity {

// The gRPC service. Dependencies are borrowed and must outlive it. Handlers
// run on the RpcRunner's executor; thread-safe.
class CapacityServiceImpl final : public v1::CapacityService::CallbackService {
 public:
  CapacityServiceImpl(common::RpcRunner& rpc, const common::Clock& clock, HistorySource& history,
                      ForecastRunStore& runs, ForecastCache& cache, CapacityMetrics& metrics,
                      ResourceStore& resources);

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

  // Role operator. Validates the resource (ValidateResource, fields named
  // "resource.<field>"; request_id at most 128 bytes) and stores it;
  // idempotent by (tenant, request_id). Errors: INVALID_ARGUMENT;
  // ALREADY_EXISTS (name); RESOURCE_EXHAUSTED (10,000 per tenant);
  // UNAVAILABLE.
  grpc::ServerUnaryReactor* CreateResource(grpc::CallbackServerContext* context,
                                           const v1::CreateResourceRequest* request,
                                           v1::Resource* response) override;

  // Role viewer. INVALID_ARGUMENT ("id: must not be empty"); NOT_FOUND;
  // UNAVAILABLE.
  grpc::ServerUnaryReactor* GetResource(grpc::CallbackServerContext* context,
                                        const v1::GetResourceRequest* request,
                                        v1::Resource* response) override;

  // Role operator. Applies the update mask (empty: every writable field) and
  // validates the result. Errors: INVALID_ARGUMENT ("resource.id",
  // "update_mask", "resource.tenant" when it would change, or a field);
  // NOT_FOUND; ALREADY_EXISTS (new name taken); UNAVAILABLE.
  grpc::ServerUnaryReactor* UpdateResource(grpc::CallbackServerContext* context,
                                           const v1::UpdateResourceRequest* request,
                                           v1::Resource* response) override;

  // Role operator. Deletes the resource and its stored results. Errors:
  // INVALID_ARGUMENT ("id"); NOT_FOUND; UNAVAILABLE.
  grpc::ServerUnaryReactor* DeleteResource(grpc::CallbackServerContext* context,
                                           const v1::DeleteResourceRequest* request,
                                           google::protobuf::Empty* response) override;

  // Role viewer. By (tenant, name); page_size default 100, larger than 1000
  // is served as 1000. Errors: INVALID_ARGUMENT ("page_size" negative,
  // "page_token", "kind"); UNAVAILABLE.
  grpc::ServerUnaryReactor* ListResources(grpc::CallbackServerContext* context,
                                          const v1::ListResourcesRequest* request,
                                          v1::ListResourcesResponse* response) override;

  // Role viewer. For resource_id, or every resource whose tenant and labels
  // match the scope (tenant; tags, and team / workflow / agent / model /
  // provider / service, against the labels of the same names), paged by
  // resource: each resource's demand history (28 days) and forecast over the
  // horizon (default 7 days, at most 35) at DemandStep, then Recommend.
  // Resources of a scope without data or with too short a history are left
  // out (logged). Errors: INVALID_ARGUMENT ("horizon", "page_size",
  // "page_token"); NOT_FOUND (resource_id, or its series has no data);
  // FAILED_PRECONDITION (its history is too short); UNAVAILABLE.
  grpc::ServerUnaryReactor* GetRecommendations(grpc::CallbackServerContext* context,
                                               const v1::GetRecommendationsRequest* request,
                                               v1::GetRecommendationsResponse* response) override;

  // Role viewer. The series of resource_id, or metric + matchers + tenant;
  // history default 28 days (at most 90) at 5-minute steps up to 7 days,
  // 15-minute steps beyond; time_zone default "UTC". Counters (*_total) are
  // analysed as rates per second. Errors: INVALID_ARGUMENT ("metric",
  // "matchers[i]...", "history", "time_zone"); NOT_FOUND (resource_id, or no
  // data); UNAVAILABLE.
  grpc::ServerUnaryReactor* GetUsagePatterns(grpc::CallbackServerContext* context,
                                             const v1::GetUsagePatternsRequest* request,
                                             v1::UsagePatterns* response) override;

 private:
  absl::Status Forecast(const v1::GetForecastRequest& request, v1::GetForecastResponse* response);
  absl::Status DoUpdateResource(const v1::UpdateResourceRequest& request, v1::Resource* response);
  absl::Status DoListResources(const v1::ListResourcesRequest& request,
                               v1::ListResourcesResponse* response);
  absl::Status DoGetRecommendations(const v1::GetRecommendationsRequest& request,
                                    v1::GetRecommendationsResponse* response);
  absl::Status DoGetUsagePatterns(const v1::GetUsagePatternsRequest& request,
                                  v1::UsagePatterns* response);

  common::RpcRunner& rpc_;
  const common::Clock& clock_;
  HistorySource& history_;
  ForecastRunStore& runs_;
  ForecastCache& cache_;
  CapacityMetrics& metrics_;
  ResourceStore& resources_;
};

}  // namespace agentwatch::capacity
