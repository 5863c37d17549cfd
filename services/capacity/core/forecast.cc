#include "capacity/core/forecast.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "capacity/core/accuracy.h"
#include "capacity/core/damped_trend.h"
#include "capacity/core/fourier_regression.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

constexpr const char* kPlannedModels[] = {"holt_winters"};
constexpr const char* kOfferedModels[] = {kSeasonalNaiveModel, kNaiveModel, kFourierRegressionModel,
                                          kDampedTrendModel};

// The models to backtest, in tie-breaking order: the simplest first, so that
// a more complex model must be strictly better to be chosen.
absl::StatusOr<std::vector<std::unique_ptr<ForecastModel>>> Candidates(absl::string_view requested,
                                                                       const SeasonPeriods& periods,
                                                                       int64_t points) {
  const int64_t season = periods.Primary(points);
  const bool fourier_applicable = FourierApplicable(periods, points);
  std::vector<std::unique_ptr<ForecastModel>> models;
  const auto fourier = [&] {
    return std::make_unique<FourierRegressionModel>(
        points >= 3 * periods.daily ? periods.daily : 1,
        points >= 3 * periods.weekly ? periods.weekly : 1);
  };
  if (requested.empty()) {
    if (season >= 2) models.push_back(std::make_unique<SeasonalNaiveModel>(season));
    models.push_back(std::make_unique<NaiveModel>());
    if (fourier_applicable) models.push_back(fourier());
    models.push_back(std::make_unique<DampedTrendModel>());
  } else if (requested == kSeasonalNaiveModel || requested == kFourierRegressionModel) {
    if (periods.daily < 2 && periods.weekly < 2) {
      return absl::FailedPreconditionError(
          absl::StrCat("model: ", requested,
                       " needs a step that divides one day (or one week) into at least two steps"));
    }
    const bool seasonal_naive = requested == kSeasonalNaiveModel;
    if (seasonal_naive ? season < 2 : !fourier_applicable) {
      // Seasonal naive repeats a season and scores it on the next; the
      // regression fits two and is backtested on a third.
      const int64_t seasons = seasonal_naive ? 2 : 3;
      const int64_t needed = seasons * (periods.daily >= 2 ? periods.daily : periods.weekly);
      return absl::FailedPreconditionError(
          absl::StrCat("model: ", requested, " needs at least ", seasonal_naive ? "two" : "three",
                       " ", periods.daily >= 2 ? "days" : "weeks", " of history (", needed,
                       " points at this step), got ", points));
    }
    if (requested == kSeasonalNaiveModel) {
      models.push_back(std::make_unique<SeasonalNaiveModel>(season));
    } else {
      models.push_back(fourier());
    }
  } else if (requested == kDampedTrendModel) {
    models.push_back(std::make_unique<DampedTrendModel>());
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

int64_t WeeklySeasonPeriod(absl::Duration step) {
  if (step <= absl::ZeroDuration() || step > absl::Hours(84)) return 1;
  absl::Duration remainder;
  const int64_t period = absl::IDivDuration(absl::Hours(24 * 7), step, &remainder);
  return remainder == absl::ZeroDuration() ? period : 1;
}

SeasonPeriods SeasonPeriodsFor(absl::Duration step) {
  return {DailySeasonPeriod(step), WeeklySeasonPeriod(step)};
}

int64_t SeasonPeriods::Primary(int64_t points) const {
  if (daily >= 2 && points >= 2 * daily) return daily;
  if (daily < 2 && weekly >= 2 && points >= 2 * weekly) return weekly;
  return 1;
}

bool FourierApplicable(const SeasonPeriods& periods, int64_t points) {
  const int64_t daily = points >= 3 * periods.daily ? periods.daily : 1;
  const int64_t weekly = points >= 3 * periods.weekly ? periods.weekly : 1;
  if (daily < 3 && weekly < 3) return false;
  return points > FourierRegressionModel(daily, weekly).MinHistory();
}

absl::Status CheckModelName(absl::string_view name) {
  if (name.empty()) return absl::OkStatus();
  for (const char* offered : kOfferedModels) {
    if (name == offered) return absl::OkStatus();
  }
  for (const char* planned : kPlannedModels) {
    if (name == planned) {
      return absl::UnimplementedError(absl::StrCat("model: ", name,
                                                   " is not available yet; use one of ",
                                                   absl::StrJoin(kOfferedModels, ", ")));
    }
  }
  return common::InvalidField(
      "model", absl::StrCat("unknown model '", name, "'; expected one of ",
                            absl::StrJoin(kOfferedModels, ", "), " or empty for automatic"));
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

  const SeasonPeriods periods = SeasonPeriodsFor(history.step);
  ASSIGN_OR_RETURN(const FilledSeries filled,
                   FillGaps(history, periods.daily >= 2 ? periods.daily : periods.weekly));
  if (filled.observed_count < kMinObservedPoints) {
    return absl::FailedPreconditionError(absl::StrCat("history: ", filled.observed_count,
                                                      " observed points; at least ",
                                                      kMinObservedPoints, " are needed"));
  }
  const int64_t n = static_cast<int64_t>(filled.values.size());
  ASSIGN_OR_RETURN(std::vector<std::unique_ptr<ForecastModel>> models,
                   Candidates(spec.model, periods, n));

  ForecastResult result;
  result.history_points = n;
  result.imputed_points = filled.imputed;
  result.trimmed_points = filled.trimmed;
  result.season_period = periods.Primary(n);

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
