#include "capacity/core/forecast.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "capacity/core/accuracy.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

constexpr const char* kPlannedModels[] = {"holt_winters", "fourier_regression", "damped_trend"};

// The models to backtest, in tie-breaking order.
absl::StatusOr<std::vector<std::unique_ptr<ForecastModel>>> Candidates(absl::string_view requested,
                                                                       int64_t daily_period,
                                                                       int64_t points) {
  const bool seasonal_applicable = daily_period >= 2 && points >= 2 * daily_period;
  std::vector<std::unique_ptr<ForecastModel>> models;
  if (requested.empty()) {
    if (seasonal_applicable) models.push_back(std::make_unique<SeasonalNaiveModel>(daily_period));
    models.push_back(std::make_unique<NaiveModel>());
  } else if (requested == kSeasonalNaiveModel) {
    if (daily_period < 2) {
      return absl::FailedPreconditionError(
          "model: seasonal_naive needs a step that divides one day into at least two steps");
    }
    if (!seasonal_applicable) {
      return absl::FailedPreconditionError(
          absl::StrCat("model: seasonal_naive needs at least two days of history (",
                       2 * daily_period, " points at this step), got ", points));
    }
    models.push_back(std::make_unique<SeasonalNaiveModel>(daily_period));
  } else {
    models.push_back(std::make_unique<NaiveModel>());
  }
  return models;
}

// Prefers any number to NaN, then the lower value.
bool Better(double candidate, double best) {
  if (std::isnan(candidate)) return false;
  return std::isnan(best) || candidate < best;
}

}  // namespace

int64_t DailySeasonPeriod(absl::Duration step) {
  if (step <= absl::ZeroDuration() || step > absl::Hours(12)) return 1;
  absl::Duration remainder;
  const int64_t period = absl::IDivDuration(absl::Hours(24), step, &remainder);
  return remainder == absl::ZeroDuration() ? period : 1;
}

absl::Status CheckModelName(absl::string_view name) {
  if (name.empty() || name == kSeasonalNaiveModel || name == kNaiveModel) return absl::OkStatus();
  for (const char* planned : kPlannedModels) {
    if (name == planned) {
      return absl::UnimplementedError(
          absl::StrCat("model: ", name, " is not available yet; use seasonal_naive or naive"));
    }
  }
  return common::InvalidField(
      "model", absl::StrCat("unknown model '", name, "'; expected one of seasonal_naive, naive, ",
                            absl::StrJoin(kPlannedModels, ", "), " or empty for automatic"));
}

absl::StatusOr<ForecastResult> ForecastSeries(const RegularSeries& history,
                                              const ForecastSpec& spec) {
  if (history.step <= absl::ZeroDuration()) {
    return common::InvalidField("step", "must be positive");
  }
  if (spec.horizon < 1) return common::InvalidField("horizon", "must be at least one step");
  if (spec.min_errors_for_empirical < 2) {
    return common::InvalidField("min_errors_for_empirical", "must be at least 2");
  }
  RETURN_IF_ERROR(CheckModelName(spec.model));

  const int64_t daily_period = DailySeasonPeriod(history.step);
  ASSIGN_OR_RETURN(const FilledSeries filled, FillGaps(history, daily_period));
  if (filled.observed_count < kMinObservedPoints) {
    return absl::FailedPreconditionError(absl::StrCat("history: ", filled.observed_count,
                                                      " observed points; at least ",
                                                      kMinObservedPoints, " are needed"));
  }
  const int64_t n = static_cast<int64_t>(filled.values.size());
  ASSIGN_OR_RETURN(std::vector<std::unique_ptr<ForecastModel>> models,
                   Candidates(spec.model, daily_period, n));

  ForecastResult result;
  result.history_points = n;
  result.imputed_points = filled.imputed;
  result.trimmed_points = filled.trimmed;
  result.season_period = (daily_period >= 2 && n >= 2 * daily_period) ? daily_period : 1;

  ASSIGN_OR_RETURN(const double scale,
                   SeasonalNaiveMae(filled.values, filled.observed, result.season_period));
  int64_t min_train = 1;
  for (const auto& model : models) min_train = std::max(min_train, model->MinHistory());
  ASSIGN_OR_RETURN(const BacktestPlan plan,
                   PlanBacktest(n, spec.horizon, min_train, spec.backtest));
  result.backtest_origins = static_cast<int64_t>(plan.origins.size());
  result.backtest_horizon = plan.horizon;

  size_t best = 0;
  std::vector<BacktestScore> scores;
  for (size_t i = 0; i < models.size(); ++i) {
    ASSIGN_OR_RETURN(BacktestScore score, Backtest(*models[i], filled, plan, scale));
    if (i > 0 && Better(score.mase, scores[best].mase)) best = i;
    scores.push_back(std::move(score));
  }
  if (spec.model.empty()) {
    for (size_t i = 0; i < models.size(); ++i) {
      result.candidates.push_back(
          {std::string(models[i]->name()), scores[i].mase, scores[i].smape});
    }
  }
  const ForecastModel& chosen = *models[best];
  const BacktestScore& chosen_score = scores[best];
  result.model = std::string(chosen.name());
  result.backtest_mase = chosen_score.mase;
  result.backtest_smape = chosen_score.smape;

  ASSIGN_OR_RETURN(const ModelForecast forecast, chosen.Forecast(filled.values, spec.horizon));
  const absl::Time last = filled.start + (n - 1) * filled.step;
  result.points.reserve(static_cast<size_t>(spec.horizon));
  for (int64_t h = 1; h <= spec.horizon; ++h) {
    const size_t k = static_cast<size_t>(h - 1);
    ForecastPoint point;
    point.time = last + h * filled.step;
    point.value = forecast.mean[k];
    const bool empirical =
        h <= plan.horizon && static_cast<int64_t>(chosen_score.errors_by_step[k].size()) >=
                                 spec.min_errors_for_empirical;
    if (empirical) {
      const std::vector<double>& errors = chosen_score.errors_by_step[k];
      point.lower_80 = point.value + Quantile(errors, 0.10);
      point.upper_80 = point.value + Quantile(errors, 0.90);
      point.lower_95 = point.value + Quantile(errors, 0.025);
      point.upper_95 = point.value + Quantile(errors, 0.975);
      ++result.empirical_interval_steps;
    } else {
      point.lower_80 = point.value - kZ80 * forecast.sd[k];
      point.upper_80 = point.value + kZ80 * forecast.sd[k];
      point.lower_95 = point.value - kZ95 * forecast.sd[k];
      point.upper_95 = point.value + kZ95 * forecast.sd[k];
    }
    if (spec.non_negative) {
      for (double* v :
           {&point.value, &point.lower_80, &point.upper_80, &point.lower_95, &point.upper_95}) {
        *v = std::max(0.0, *v);
      }
    }
    result.points.push_back(point);
  }
  return result;
}

}  // namespace agentwatch::capacity
