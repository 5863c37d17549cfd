#include "capacity/core/models.h"

#include <cassert>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {

absl::Status CheckForecastInputs(const ForecastModel& model, absl::Span<const double> history,
                                 int64_t horizon) {
  if (horizon < 1) return common::InvalidField("horizon", "must be at least one step");
  if (static_cast<int64_t>(history.size()) < model.MinHistory()) {
    return absl::FailedPreconditionError(absl::StrCat("history: ", model.name(), " needs at least ",
                                                      model.MinHistory(), " points, got ",
                                                      history.size()));
  }
  return absl::OkStatus();
}

absl::Status CheckOrigins(absl::Span<const int64_t> origins, int64_t history_size) {
  int64_t previous = 0;
  for (const int64_t origin : origins) {
    if (origin < 1 || origin > history_size || origin < previous) {
      return common::InvalidField("origins",
                                  absl::StrCat(origin, " is outside the history or out of order"));
    }
    previous = origin;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ModelForecast>> ForecastModel::ForecastFromOrigins(
    absl::Span<const double> history, absl::Span<const int64_t> origins, int64_t horizon) const {
  RETURN_IF_ERROR(CheckOrigins(origins, static_cast<int64_t>(history.size())));
  std::vector<ModelForecast> out;
  out.reserve(origins.size());
  for (const int64_t origin : origins) {
    ASSIGN_OR_RETURN(ModelForecast forecast,
                     Forecast(history.subspan(0, static_cast<size_t>(origin)), horizon));
    out.push_back(std::move(forecast));
  }
  return out;
}

double LagDifferenceRms(absl::Span<const double> history, int64_t lag) {
  const int64_t n = static_cast<int64_t>(history.size());
  if (lag < 1 || n <= lag) return 0;
  double sum_squares = 0;
  for (int64_t i = lag; i < n; ++i) {
    const double d = history[static_cast<size_t>(i)] - history[static_cast<size_t>(i - lag)];
    sum_squares += d * d;
  }
  return std::sqrt(sum_squares / static_cast<double>(n - lag));
}

namespace {

// Forecasts of a naive model (seasonal with period `lag`, or lag 1) from each
// origin, sigma being the root mean square of the lag differences before the
// origin, carried as a running sum.
absl::StatusOr<std::vector<ModelForecast>> LagForecastsFromOrigins(
    const ForecastModel& model, absl::Span<const double> history, absl::Span<const int64_t> origins,
    int64_t horizon, int64_t lag) {
  RETURN_IF_ERROR(CheckOrigins(origins, static_cast<int64_t>(history.size())));
  std::vector<ModelForecast> out;
  if (origins.empty()) return out;
  RETURN_IF_ERROR(CheckForecastInputs(
      model, history.subspan(0, static_cast<size_t>(origins.front())), horizon));
  out.reserve(origins.size());
  double sum_squares = 0;
  int64_t next = lag;
  for (const int64_t origin : origins) {
    for (; next < origin; ++next) {
      const double d =
          history[static_cast<size_t>(next)] - history[static_cast<size_t>(next - lag)];
      sum_squares += d * d;
    }
    const double sigma = std::sqrt(sum_squares / static_cast<double>(origin - lag));
    ModelForecast forecast;
    forecast.mean.resize(static_cast<size_t>(horizon));
    forecast.sd.resize(static_cast<size_t>(horizon));
    for (int64_t h = 1; h <= horizon; ++h) {
      const int64_t phase = (h - 1) % lag;
      const int64_t seasons_ahead = lag == 1 ? h : (h - 1) / lag + 1;
      forecast.mean[static_cast<size_t>(h - 1)] =
          history[static_cast<size_t>(origin - lag + phase)];
      forecast.sd[static_cast<size_t>(h - 1)] =
          sigma * std::sqrt(static_cast<double>(seasons_ahead));
    }
    out.push_back(std::move(forecast));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<ModelForecast>> NaiveModel::ForecastFromOrigins(
    absl::Span<const double> history, absl::Span<const int64_t> origins, int64_t horizon) const {
  return LagForecastsFromOrigins(*this, history, origins, horizon, 1);
}

absl::StatusOr<std::vector<ModelForecast>> SeasonalNaiveModel::ForecastFromOrigins(
    absl::Span<const double> history, absl::Span<const int64_t> origins, int64_t horizon) const {
  return LagForecastsFromOrigins(*this, history, origins, horizon, period_);
}

absl::StatusOr<ModelForecast> NaiveModel::Forecast(absl::Span<const double> history,
                                                   int64_t horizon) const {
  RETURN_IF_ERROR(CheckForecastInputs(*this, history, horizon));
  const double sigma = LagDifferenceRms(history, 1);
  ModelForecast out;
  out.mean.assign(static_cast<size_t>(horizon), history.back());
  out.sd.resize(static_cast<size_t>(horizon));
  for (int64_t h = 1; h <= horizon; ++h) {
    out.sd[static_cast<size_t>(h - 1)] = sigma * std::sqrt(static_cast<double>(h));
  }
  return out;
}

SeasonalNaiveModel::SeasonalNaiveModel(int64_t period) : period_(period) { assert(period >= 2); }

absl::StatusOr<ModelForecast> SeasonalNaiveModel::Forecast(absl::Span<const double> history,
                                                           int64_t horizon) const {
  RETURN_IF_ERROR(CheckForecastInputs(*this, history, horizon));
  const int64_t n = static_cast<int64_t>(history.size());
  const double sigma = LagDifferenceRms(history, period_);
  ModelForecast out;
  out.mean.resize(static_cast<size_t>(horizon));
  out.sd.resize(static_cast<size_t>(horizon));
  for (int64_t h = 1; h <= horizon; ++h) {
    const int64_t phase = (h - 1) % period_;
    const int64_t seasons_ahead = (h - 1) / period_ + 1;
    out.mean[static_cast<size_t>(h - 1)] = history[static_cast<size_t>(n - period_ + phase)];
    out.sd[static_cast<size_t>(h - 1)] = sigma * std::sqrt(static_cast<double>(seasons_ahead));
  }
  return out;
}

}  // namespace agentwatch::capacity
