#include "capacity/jobs/recompute_job.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentwatch/capacity/v1/capacity.pb.h"
#include "capacity/api/demand.h"
#include "capacity/api/resource_convert.h"
#include "capacity/core/recommendation.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {

RecomputeJob::RecomputeJob(RecomputeStore& store, ResourceStore& resources, HistorySource& history,
                           const common::Clock& clock, RecomputeOptions options,
                           std::function<void()> on_alert, CapacityMetrics* metrics)
    : store_(store),
      resources_(resources),
      history_(history),
      clock_(clock),
      options_(std::move(options)),
      on_alert_(std::move(on_alert)),
      metrics_(metrics) {}

RecomputeJob::~RecomputeJob() { Stop(); }

RecomputeOutcome RecomputeJob::Compute(const Resource& resource, absl::Time now) {
  RecomputeOutcome outcome;
  outcome.runner = options_.runner_id;
  outcome.computed_at = now;
  outcome.next_run_at = now + options_.interval;
  const absl::Duration horizon =
      resource.alert_horizon > absl::ZeroDuration() ? resource.alert_horizon : absl::Hours(24);
  absl::StatusOr<Demand> demand =
      ForecastDemand(history_, resource, horizon, DemandStep(horizon), kDemandHistory, now);
  if (!demand.ok()) {
    outcome.error = demand.status().ToString();
    return outcome;
  }
  outcome.model = demand->forecast.model;
  outcome.breach = PredictBreach(resource, demand->forecast.points, now);
  RecommendationInput input;
  input.resource = resource;
  input.history = std::move(demand->history);
  input.forecast = std::move(demand->forecast.points);
  input.model = demand->forecast.model;
  input.backtest_mase = demand->forecast.backtest_mase;
  input.now = now;
  input.valid_for = options_.interval;
  v1::GetRecommendationsResponse recommendations;
  for (const Recommendation& rec : Recommend(input)) {
    RecommendationToProto(rec, recommendations.add_recommendations());
  }
  outcome.recommendations = recommendations.SerializeAsString();
  return outcome;
}

absl::StatusOr<int> RecomputeJob::RunOnce() {
  const absl::Time now = clock_.Now();
  ASSIGN_OR_RETURN(const std::vector<std::string> ids,
                   store_.ClaimDue(now, options_.lease, options_.batch, options_.runner_id));
  bool alerted = false;
  for (const std::string& id : ids) {
    const absl::StatusOr<Resource> resource = resources_.GetResource(id);
    if (absl::IsNotFound(resource.status())) continue;  // deleted meanwhile
    if (!resource.ok()) return resource.status();
    const RecomputeOutcome outcome = Compute(*resource, clock_.Now());
    if (!outcome.error.empty()) {
      common::LogInfo(
          "resource not recomputed",
          {{"resource", resource->id}, {"tenant", resource->tenant}, {"error", outcome.error}});
    }
    const absl::StatusOr<BreachTransition> saved = store_.SaveOutcome(*resource, outcome);
    if (absl::IsNotFound(saved.status())) continue;
    if (!saved.ok()) return saved.status();
    if (metrics_ != nullptr) {
      metrics_->RecordRecompute(outcome.error.empty() ? "ok" : "error");
      if (*saved != BreachTransition::kNone) {
        metrics_->RecordBreachAlert(*saved == BreachTransition::kFire ? "firing" : "resolved");
      }
    }
    if (*saved != BreachTransition::kNone) {
      alerted = true;
      common::LogInfo(*saved == BreachTransition::kFire ? "capacity breach predicted"
                                                        : "capacity breach no longer predicted",
                      {{"resource", resource->id}, {"tenant", resource->tenant}});
    }
  }
  if (alerted && on_alert_) on_alert_();
  return static_cast<int>(ids.size());
}

void RecomputeJob::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void RecomputeJob::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RecomputeJob::Loop() {
  while (true) {
    const absl::StatusOr<int> claimed = RunOnce();
    if (!claimed.ok()) {
      common::LogWarning("resource recompute pass failed; retrying",
                         {{"error", claimed.status().ToString()}});
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) return;
    // A full batch means more may be due: go on at once.
    if (claimed.ok() && *claimed == options_.batch) continue;
    // The pause between polls is real time: it paces background work.
    if (wake_.wait_for(lock, absl::ToChronoMilliseconds(options_.poll),
                       [this] { return stopping_; })) {
      return;
    }
  }
}

}  // namespace agentwatch::capacity
