// CapacityServiceImpl: the capacity model's resources, recommendations and
// usage patterns.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capacity/api/capacity_service.h"
#include "capacity/api/demand.h"
#include "capacity/api/forecast_request.h"
#include "capacity/api/resource_convert.h"
#include "capacity/core/recommendation.h"
#include "capacity/core/usage_patterns.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

constexpr size_t kMaxRequestIdBytes = 128;
constexpr absl::Duration kDefaultRecommendationHorizon = absl::Hours(24 * 7);
constexpr absl::Duration kDefaultPatternHistory = absl::Hours(24 * 28);

absl::StatusOr<absl::Duration> OptionalDuration(bool has, const google::protobuf::Duration& d,
                                                absl::string_view field, absl::Duration fallback,
                                                absl::Duration max) {
  if (!has) return fallback;
  if (d.seconds() < 0 || d.nanos() < 0 || d.nanos() >= 1'000'000'000 ||
      (d.seconds() == 0 && d.nanos() == 0)) {
    return common::InvalidField(field, "must be positive");
  }
  const absl::Duration value = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  if (value > max) {
    return common::InvalidField(field, absl::StrCat("must be at most ", absl::FormatDuration(max)));
  }
  return value;
}

absl::StatusOr<int> PageSize(int32_t requested) {
  if (requested < 0) return common::InvalidField("page_size", "must not be negative");
  if (requested == 0) return kDefaultResourcePageSize;
  return std::min<int>(requested, kMaxResourcePageSize);
}

absl::Status CheckId(const std::string& id, absl::string_view field) {
  if (id.empty()) return common::InvalidField(field, "must not be empty");
  return absl::OkStatus();
}

// Whether `r` is in `scope`: its tenant (when set) and every tag and named
// dimension as a label of the same name.
bool InScope(const Resource& r, const common::v1::Scope& scope) {
  if (!scope.tenant().empty() && r.tenant != scope.tenant()) return false;
  const auto has = [&r](const std::string& key, const std::string& value) {
    if (value.empty()) return true;
    const auto it = r.labels.find(key);
    return it != r.labels.end() && it->second == value;
  };
  for (const auto& [key, value] : scope.tags()) {
    const auto it = r.labels.find(key);
    if (it == r.labels.end() || it->second != value) return false;
  }
  return has("team", scope.team()) && has("workflow", scope.workflow()) &&
         has("agent", scope.agent()) && has("model", scope.model()) &&
         has("provider", scope.provider()) && has("service", scope.service());
}

}  // namespace

grpc::ServerUnaryReactor* CapacityServiceImpl::CreateResource(
    grpc::CallbackServerContext* context, const v1::CreateResourceRequest* request,
    v1::Resource* response) {
  return rpc_.Unary(context, common::Role::kOperator, [this, request, response]() -> absl::Status {
    if (!request->has_resource()) return common::InvalidField("resource", "must be set");
    if (request->request_id().size() > kMaxRequestIdBytes) {
      return common::InvalidField("request_id",
                                  absl::StrCat("must be at most ", kMaxRequestIdBytes, " bytes"));
    }
    ASSIGN_OR_RETURN(const Resource resource, ResourceFromProto(request->resource(), "resource."));
    RETURN_IF_ERROR(ValidateResource(resource, "resource."));
    ASSIGN_OR_RETURN(const Resource created,
                     resources_.CreateResource(resource, request->request_id(), clock_.Now()));
    ResourceToProto(created, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CapacityServiceImpl::GetResource(grpc::CallbackServerContext* context,
                                                           const v1::GetResourceRequest* request,
                                                           v1::Resource* response) {
  return rpc_.Unary(context, common::Role::kViewer, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(CheckId(request->id(), "id"));
    ASSIGN_OR_RETURN(const Resource resource, resources_.GetResource(request->id()));
    ResourceToProto(resource, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CapacityServiceImpl::UpdateResource(
    grpc::CallbackServerContext* context, const v1::UpdateResourceRequest* request,
    v1::Resource* response) {
  return rpc_.Unary(context, common::Role::kOperator,
                    [this, request, response] { return DoUpdateResource(*request, response); });
}

absl::Status CapacityServiceImpl::DoUpdateResource(const v1::UpdateResourceRequest& request,
                                                   v1::Resource* response) {
  if (!request.has_resource()) return common::InvalidField("resource", "must be set");
  RETURN_IF_ERROR(CheckId(request.resource().id(), "resource.id"));
  ASSIGN_OR_RETURN(const Resource patch, ResourceFromProto(request.resource(), "resource."));
  const std::vector<std::string> paths(request.update_mask().paths().begin(),
                                       request.update_mask().paths().end());
  // A bad mask is reported before the resource is looked up.
  Resource probe;
  RETURN_IF_ERROR(ApplyResourceMask(patch, paths, &probe));
  ASSIGN_OR_RETURN(const Resource updated,
                   resources_.UpdateResource(
                       request.resource().id(),
                       [&](Resource* target) -> absl::Status {
                         if (!patch.tenant.empty() && patch.tenant != target->tenant) {
                           return common::InvalidField("resource.tenant", "cannot be changed");
                         }
                         RETURN_IF_ERROR(ApplyResourceMask(patch, paths, target));
                         return ValidateResource(*target, "resource.");
                       },
                       clock_.Now()));
  ResourceToProto(updated, response);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CapacityServiceImpl::DeleteResource(
    grpc::CallbackServerContext* context, const v1::DeleteResourceRequest* request,
    google::protobuf::Empty* /*response*/) {
  return rpc_.Unary(context, common::Role::kOperator, [this, request]() -> absl::Status {
    RETURN_IF_ERROR(CheckId(request->id(), "id"));
    return resources_.DeleteResource(request->id());
  });
}

grpc::ServerUnaryReactor* CapacityServiceImpl::ListResources(
    grpc::CallbackServerContext* context, const v1::ListResourcesRequest* request,
    v1::ListResourcesResponse* response) {
  return rpc_.Unary(context, common::Role::kViewer,
                    [this, request, response] { return DoListResources(*request, response); });
}

absl::Status CapacityServiceImpl::DoListResources(const v1::ListResourcesRequest& request,
                                                  v1::ListResourcesResponse* response) {
  ResourceListQuery query;
  query.tenant = request.tenant();
  if (request.kind() < v1::RESOURCE_KIND_UNSPECIFIED || request.kind() > v1::RESOURCE_KIND_QUEUE) {
    return common::InvalidField("kind", "is not a known ResourceKind");
  }
  query.kind = static_cast<ResourceKind>(request.kind());
  ASSIGN_OR_RETURN(query.page_size, PageSize(request.page_size()));
  RETURN_IF_ERROR(DecodeResourcePageToken(request.page_token(), &query));
  ASSIGN_OR_RETURN(const ResourcePage page, resources_.ListResources(query));
  for (const Resource& r : page.resources) ResourceToProto(r, response->add_resources());
  if (page.more && !page.resources.empty()) {
    response->set_next_page_token(
        EncodeResourcePageToken(page.resources.back().tenant, page.resources.back().name));
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CapacityServiceImpl::GetRecommendations(
    grpc::CallbackServerContext* context, const v1::GetRecommendationsRequest* request,
    v1::GetRecommendationsResponse* response) {
  return rpc_.Unary(context, common::Role::kViewer,
                    [this, request, response] { return DoGetRecommendations(*request, response); });
}

absl::Status CapacityServiceImpl::DoGetRecommendations(const v1::GetRecommendationsRequest& request,
                                                       v1::GetRecommendationsResponse* response) {
  ASSIGN_OR_RETURN(const absl::Duration horizon,
                   OptionalDuration(request.has_horizon(), request.horizon(), "horizon",
                                    kDefaultRecommendationHorizon, kMaxHorizon));
  ASSIGN_OR_RETURN(const int page_size, PageSize(request.page_size()));
  const absl::Time now = clock_.Now();
  const absl::Duration step = DemandStep(horizon);

  std::vector<Resource> selected;
  if (!request.resource_id().empty()) {
    ASSIGN_OR_RETURN(Resource resource, resources_.GetResource(request.resource_id()));
    selected.push_back(std::move(resource));
  } else {
    ResourceListQuery query;
    query.tenant = request.scope().tenant();
    query.page_size = page_size;
    RETURN_IF_ERROR(DecodeResourcePageToken(request.page_token(), &query));
    bool more = true;
    std::string last_tenant;
    std::string last_name;
    while (more && static_cast<int>(selected.size()) < page_size) {
      ASSIGN_OR_RETURN(const ResourcePage page, resources_.ListResources(query));
      more = page.more;
      for (size_t i = 0; i < page.resources.size(); ++i) {
        const Resource& r = page.resources[i];
        last_tenant = r.tenant;
        last_name = r.name;
        if (InScope(r, request.scope())) selected.push_back(r);
        if (static_cast<int>(selected.size()) == page_size) {
          more = more || i + 1 < page.resources.size();
          break;
        }
      }
      query.after_tenant = last_tenant;
      query.after_name = last_name;
    }
    if (more && !last_name.empty()) {
      response->set_next_page_token(EncodeResourcePageToken(last_tenant, last_name));
    }
  }

  for (const Resource& resource : selected) {
    absl::StatusOr<Demand> demand =
        ForecastDemand(history_, resource, horizon, step, kDemandHistory, now);
    if (!demand.ok()) {
      const bool skippable =
          absl::IsNotFound(demand.status()) || absl::IsFailedPrecondition(demand.status());
      if (!request.resource_id().empty() || !skippable) return demand.status();
      common::LogInfo("no recommendation for a resource without enough history",
                      {{"resource", resource.id}, {"error", demand.status().ToString()}});
      continue;
    }
    RecommendationInput input;
    input.resource = resource;
    input.history = std::move(demand->history);
    input.forecast = std::move(demand->forecast.points);
    input.model = demand->forecast.model;
    input.backtest_mase = demand->forecast.backtest_mase;
    input.now = now;
    input.valid_for = std::min(horizon, absl::Hours(1));
    for (const Recommendation& rec : Recommend(input)) {
      RecommendationToProto(rec, response->add_recommendations());
    }
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CapacityServiceImpl::GetUsagePatterns(
    grpc::CallbackServerContext* context, const v1::GetUsagePatternsRequest* request,
    v1::UsagePatterns* response) {
  return rpc_.Unary(context, common::Role::kViewer,
                    [this, request, response] { return DoGetUsagePatterns(*request, response); });
}

absl::Status CapacityServiceImpl::DoGetUsagePatterns(const v1::GetUsagePatternsRequest& request,
                                                     v1::UsagePatterns* response) {
  ASSIGN_OR_RETURN(const absl::Duration history,
                   OptionalDuration(request.has_history(), request.history(), "history",
                                    kDefaultPatternHistory, kMaxHistory));
  absl::TimeZone zone = absl::UTCTimeZone();
  if (!request.time_zone().empty() && !absl::LoadTimeZone(request.time_zone(), &zone)) {
    return common::InvalidField("time_zone", "is not a known IANA time zone");
  }
  Resource resource;
  if (!request.resource_id().empty()) {
    ASSIGN_OR_RETURN(resource, resources_.GetResource(request.resource_id()));
  } else {
    v1::Resource series;
    series.set_metric(request.metric());
    *series.mutable_matchers() = request.matchers();
    ASSIGN_OR_RETURN(resource, ResourceFromProto(series, ""));
    resource.tenant = request.tenant();
    resource.kind = ResourceKind::kReplicas;
  }
  const absl::Duration step = history > absl::Hours(24 * 7) ? absl::Minutes(15) : absl::Minutes(5);
  ASSIGN_OR_RETURN(const RegularSeries series,
                   DemandHistory(history_, resource, step, history, clock_.Now()));
  ASSIGN_OR_RETURN(const UsagePatterns patterns, AnalyzeUsage(series, zone));
  UsagePatternsToProto(patterns, response);
  return absl::OkStatus();
}

}  // namespace agentwatch::capacity
