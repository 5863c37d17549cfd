#include "capacity/api/capacity_service.h"

#include <chrono>
#include <cmath>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capacity/api/forecast_request.h"
#include "capacity/core/forecast.h"
#include "capacity/core/series.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {

CapacityServiceImpl::CapacityServiceImpl(common::RpcRunner& rpc, const common::Clock& clock,
                                         HistorySource& history, ForecastRunStore& runs,
                                         ForecastCache& cache, CapacityMetrics& metrics,
                                         ResourceStore& resources)
    : rpc_(rpc),
      clock_(clock),
      history_(history),
      runs_(runs),
      cache_(cache),
      metrics_(metrics),
      resources_(resources) {}

grpc::ServerUnaryReactor* CapacityServiceImpl::GetForecast(grpc::CallbackServerContext* context,
                                                           const v1::GetForecastRequest* request,
                                                           v1::GetForecastResponse* response) {
  return rpc_.Unary(context, common::Role::kViewer,
                    [this, request, response] { return Forecast(*request, response); });
}

absl::Status CapacityServiceImpl::Forecast(const v1::GetForecastRequest& request,
                                           v1::GetForecastResponse* response) {
  ASSIGN_OR_RETURN(const ForecastQuery query, ParseForecastRequest(request, clock_.Now()));
  const ForecastCacheKey cache_key{query.history.tenant, CanonicalForecastKey(query)};

  const absl::StatusOr<std::optional<std::string>> cached = cache_.Get(cache_key);
  if (!cached.ok()) {
    metrics_.RecordCacheLookup("error");
    common::LogWarning("forecast cache unavailable; computing without it",
                       {{"error", cached.status().ToString()}});
  } else if (cached->has_value() && response->ParseFromString(**cached)) {
    metrics_.RecordCacheLookup("hit");
    return absl::OkStatus();
  } else {
    metrics_.RecordCacheLookup("miss");
  }

  const auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(const std::vector<HistorySeries> series, history_.Fetch(query.history));
  // Several series (monitor answers one per label set) are summed into one.
  std::vector<std::vector<TimedValue>> points;
  int64_t in_range = 0;
  for (const HistorySeries& one : series) {
    for (const TimedValue& point : one.points) {
      if (point.time >= query.history.start && point.time < query.history.end &&
          std::isfinite(point.value)) {
        ++in_range;
      }
    }
    points.push_back(one.points);
  }
  if (in_range == 0) {
    return absl::NotFoundError(absl::StrCat("no data for metric ", query.history.metric,
                                            " with the given matchers and tenant in the ",
                                            absl::FormatDuration(query.history_length), " before ",
                                            absl::FormatTime(query.history.end)));
  }
  ASSIGN_OR_RETURN(const RegularSeries regular,
                   AlignAndSum(points, query.history.start, query.history.end, query.history.step,
                               query.missing));
  ForecastSpec spec;
  spec.horizon = query.horizon_points;
  spec.model = query.model;
  spec.non_negative = query.non_negative;
  ASSIGN_OR_RETURN(const ForecastResult result, ForecastSeries(regular, spec));
  ToResponse(result, response);

  ForecastRun run;
  run.tenant = query.history.tenant;
  run.metric = query.history.metric;
  run.matchers = query.history.matchers;
  run.created_at = clock_.Now();
  run.horizon = query.horizon;
  run.step = query.history.step;
  run.history = query.history_length;
  run.requested_model = query.model;
  run.model = result.model;
  run.mase = result.backtest_mase;
  run.smape = result.backtest_smape;
  run.history_points = result.history_points;
  run.response = response->SerializeAsString();
  ASSIGN_OR_RETURN(const std::string run_id, runs_.SaveRun(run));

  if (const absl::Status put = cache_.Put(cache_key, run.response, ForecastCacheTtl(query));
      !put.ok()) {
    common::LogWarning("forecast cache unavailable; response not cached",
                       {{"error", put.ToString()}});
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics_.RecordForecast(result.model, seconds);
  common::LogInfo("forecast computed", {{"run_id", run_id},
                                        {"tenant", run.tenant},
                                        {"metric", run.metric},
                                        {"model", result.model},
                                        {"backtest_mase", absl::StrCat(result.backtest_mase)},
                                        {"history_points", absl::StrCat(result.history_points)},
                                        {"imputed_points", absl::StrCat(result.imputed_points)},
                                        {"recent_break", result.recent_break ? "true" : "false"},
                                        {"points", absl::StrCat(result.points.size())},
                                        {"seconds", absl::StrCat(seconds)}});
  return absl::OkStatus();
}

}  // namespace agentwatch::capacity
