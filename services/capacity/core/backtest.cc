#include "capacity/core/backtest.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "capacity/core/accuracy.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

// Running sums of absolute and symmetric percentage errors.
struct ErrorSums {
  double absolute = 0;
  double percentage = 0;
  int64_t count = 0;

  void Add(double actual, double forecast) {
    const double error = std::fabs(actual - forecast);
    absolute += error;
    const double denominator = std::fabs(actual) + std::fabs(forecast);
    if (denominator > 0) percentage += 200.0 * error / denominator;
    ++count;
  }

  // MASE as ScaledError and sMAPE as Smape compute them (count > 0).
  void Finish(double scale, BacktestScore* score) const {
    const double mae = absolute / static_cast<double>(count);
    score->mase = mae == 0     ? 0.0
                  : scale == 0 ? std::numeric_limits<double>::infinity()
                               : mae / scale;
    score->smape = percentage / static_cast<double>(count);
    score->evaluated = count;
  }
};

}  // namespace

absl::StatusOr<BacktestPlan> PlanBacktest(int64_t history_points, int64_t horizon,
                                          int64_t min_train, const BacktestOptions& options) {
  if (horizon < 1) return common::InvalidField("horizon", "must be at least one step");
  if (min_train < 1) return common::InvalidField("min_train", "must be at least 1");
  if (options.max_origins < 1) return common::InvalidField("max_origins", "must be at least 1");
  if (options.max_scored_steps < 1) {
    return common::InvalidField("max_scored_steps", "must be at least 1");
  }
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
  if (first >= last) {
    plan.origins.push_back(last);
    return plan;
  }
  const int64_t most =
      std::min(options.max_origins, std::max(kMinOrigins, options.max_scored_steps / plan.horizon));
  const int64_t widest = (plan.horizon + kOriginsPerHorizon - 1) / kOriginsPerHorizon;
  const int64_t fitting = most > 1 ? (last - first) / (most - 1) : last - first;
  const int64_t spacing = std::max<int64_t>(1, std::min(widest, fitting));
  const int64_t count = std::min(most, (last - first) / spacing + 1);
  plan.origins.reserve(static_cast<size_t>(count));
  for (int64_t i = count - 1; i >= 0; --i) plan.origins.push_back(last - i * spacing);
  return plan;
}

absl::StatusOr<BacktestScore> Backtest(const ForecastModel& model, const FilledSeries& history,
                                       const BacktestPlan& plan, double scale) {
  const int64_t n = static_cast<int64_t>(history.values.size());
  const absl::Span<const double> values(history.values);
  BacktestScore score;
  score.errors_by_step.resize(static_cast<size_t>(plan.horizon));
  score.actuals_by_step.resize(static_cast<size_t>(plan.horizon));
  for (int64_t h = 0; h < plan.horizon; ++h) {
    score.errors_by_step[static_cast<size_t>(h)].reserve(plan.origins.size());
    score.actuals_by_step[static_cast<size_t>(h)].reserve(plan.origins.size());
  }
  for (const int64_t origin : plan.origins) {
    if (origin < 1 || origin + plan.horizon > n) {
      return common::InvalidField("origins", absl::StrCat(origin, " is outside the history"));
    }
  }
  if (!(scale >= 0)) return common::InvalidField("scale", "must not be negative");
  ASSIGN_OR_RETURN(const std::vector<ModelForecast> forecasts_by_origin,
                   model.ForecastFromOrigins(values, plan.origins, plan.horizon));
  ErrorSums sums;
  for (size_t o = 0; o < plan.origins.size(); ++o) {
    const int64_t origin = plan.origins[o];
    const ModelForecast& forecast = forecasts_by_origin[o];
    for (int64_t h = 1; h <= plan.horizon; ++h) {
      const size_t at = static_cast<size_t>(origin + h - 1);
      if (!history.observed[at]) continue;
      const double actual = values[at];
      const double predicted = forecast.mean[static_cast<size_t>(h - 1)];
      sums.Add(actual, predicted);
      score.errors_by_step[static_cast<size_t>(h - 1)].push_back(actual - predicted);
      score.actuals_by_step[static_cast<size_t>(h - 1)].push_back(actual);
    }
  }
  if (sums.count == 0) {
    return absl::FailedPreconditionError(
        "history: no observed value in the backtest windows to score the models on");
  }
  sums.Finish(scale, &score);
  return score;
}

absl::StatusOr<BacktestScore> CombineBacktests(absl::Span<const BacktestScore* const> members,
                                               double scale) {
  if (members.empty()) return common::InvalidField("members", "must not be empty");
  if (!(scale >= 0)) return common::InvalidField("scale", "must not be negative");
  const BacktestScore& first = *members.front();
  BacktestScore combined;
  combined.errors_by_step.resize(first.errors_by_step.size());
  combined.actuals_by_step = first.actuals_by_step;
  const double weight = 1.0 / static_cast<double>(members.size());
  ErrorSums sums;
  for (size_t k = 0; k < first.errors_by_step.size(); ++k) {
    std::vector<double>& errors = combined.errors_by_step[k];
    errors.assign(first.errors_by_step[k].size(), 0);
    for (const BacktestScore* member : members) {
      if (member->errors_by_step.size() != first.errors_by_step.size() ||
          member->errors_by_step[k].size() != errors.size()) {
        return common::InvalidField("members", "were not scored on the same points");
      }
      const std::vector<double>& theirs = member->errors_by_step[k];
      for (size_t j = 0; j < errors.size(); ++j) errors[j] += weight * theirs[j];
    }
    const std::vector<double>& actuals = first.actuals_by_step[k];
    for (size_t j = 0; j < errors.size(); ++j) sums.Add(actuals[j], actuals[j] - errors[j]);
  }
  if (sums.count == 0) return common::InvalidField("members", "scored no point");
  sums.Finish(scale, &combined);
  return combined;
}

}  // namespace agentwatch::capacity
