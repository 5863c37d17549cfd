#include "capacity/core/backtest.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "capacity/core/accuracy.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {

absl::StatusOr<BacktestPlan> PlanBacktest(int64_t history_points, int64_t horizon,
                                          int64_t min_train, const BacktestOptions& options) {
  if (horizon < 1) return common::InvalidField("horizon", "must be at least one step");
  if (min_train < 1) return common::InvalidField("min_train", "must be at least 1");
  if (options.max_origins < 1) return common::InvalidField("max_origins", "must be at least 1");
  if (!(options.origin_span_fraction > 0 && options.origin_span_fraction <= 1)) {
    return common::InvalidField("origin_span_fraction", "must be in (0, 1]");
  }
  const int64_t spare = history_points - min_train;
  if (spare < 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "history: ", history_points, " points; the backtest needs at least ", min_train + 1));
  }
  BacktestPlan plan;
  plan.horizon = std::min(horizon, std::max<int64_t>(1, spare / 2));
  const int64_t last = history_points - plan.horizon;
  const int64_t span =
      static_cast<int64_t>(options.origin_span_fraction * static_cast<double>(history_points));
  const int64_t first = std::max(min_train, last - span);
  const int64_t count = std::min(options.max_origins, last - first + 1);
  plan.origins.reserve(static_cast<size_t>(count));
  if (count == 1) {
    plan.origins.push_back(last);
  } else {
    // Spacing >= 1, so the floors are strictly increasing; i = count - 1 gives `last`.
    for (int64_t i = 0; i < count; ++i) {
      plan.origins.push_back(first + i * (last - first) / (count - 1));
    }
  }
  return plan;
}

absl::StatusOr<BacktestScore> Backtest(const ForecastModel& model, const FilledSeries& history,
                                       const BacktestPlan& plan, double scale) {
  const int64_t n = static_cast<int64_t>(history.values.size());
  const absl::Span<const double> values(history.values);
  BacktestScore score;
  score.errors_by_step.resize(static_cast<size_t>(plan.horizon));
  std::vector<double> actuals;
  std::vector<double> forecasts;
  for (const int64_t origin : plan.origins) {
    if (origin < 1 || origin + plan.horizon > n) {
      return common::InvalidField("origins", absl::StrCat(origin, " is outside the history"));
    }
  }
  ASSIGN_OR_RETURN(const std::vector<ModelForecast> forecasts_by_origin,
                   model.ForecastFromOrigins(values, plan.origins, plan.horizon));
  for (size_t o = 0; o < plan.origins.size(); ++o) {
    const int64_t origin = plan.origins[o];
    const ModelForecast& forecast = forecasts_by_origin[o];
    for (int64_t h = 1; h <= plan.horizon; ++h) {
      const size_t at = static_cast<size_t>(origin + h - 1);
      if (!history.observed[at]) continue;
      const double predicted = forecast.mean[static_cast<size_t>(h - 1)];
      actuals.push_back(values[at]);
      forecasts.push_back(predicted);
      score.errors_by_step[static_cast<size_t>(h - 1)].push_back(values[at] - predicted);
    }
  }
  if (actuals.empty()) {
    return absl::FailedPreconditionError(
        "history: no observed value in the backtest windows to score the models on");
  }
  score.evaluated = static_cast<int64_t>(actuals.size());
  ASSIGN_OR_RETURN(score.mase, ScaledError(actuals, forecasts, scale));
  ASSIGN_OR_RETURN(score.smape, Smape(actuals, forecasts));
  return score;
}

}  // namespace agentwatch::capacity
