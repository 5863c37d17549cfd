// Forecast models behind one interface, so that the backtest, the model
// selection and the prediction intervals treat every model alike. Pure: no
// I/O. Models are immutable after construction and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace agentwatch::capacity {

// Model names as the API reports and accepts them.
inline constexpr char kNaiveModel[] = "naive";
inline constexpr char kSeasonalNaiveModel[] = "seasonal_naive";
inline constexpr char kDampedTrendModel[] = "damped_trend";
inline constexpr char kFourierRegressionModel[] = "fourier_regression";
inline constexpr char kSeasonalProfileModel[] = "seasonal_profile";
// Not a model of its own: the mean of the forecasts of the best two or three
// candidates by backtest, reported when it backtests better than each of them.
inline constexpr char kEnsembleModel[] = "ensemble";

// A model's forecast for the steps following a history.
struct ModelForecast {
  // Point forecast per step; mean[h - 1] is h steps after the history.
  std::vector<double> mean;
  // Model-based standard deviation of the forecast error per step, from the
  // in-sample residuals; used for intervals where the backtest holds too few
  // errors.
  std::vector<double> sd;
};

// A forecasting method. Implementations are stateless apart from their
// parameters (e.g. the seasonal period), hence thread-safe.
class ForecastModel {
 public:
  virtual ~ForecastModel() = default;

  // The model's name, e.g. "seasonal_naive".
  virtual absl::string_view name() const = 0;

  // Fewest history points Forecast() accepts.
  virtual int64_t MinHistory() const = 0;

  // Forecasts the `horizon` steps that follow `history` (finite values, gaps
  // already filled). INVALID_ARGUMENT ("horizon: ...") when horizon < 1;
  // FAILED_PRECONDITION ("history: ...") when the history has fewer than
  // MinHistory() points.
  virtual absl::StatusOr<ModelForecast> Forecast(absl::Span<const double> history,
                                                 int64_t horizon) const = 0;

  // Forecasts `horizon` steps from each origin T of `origins` (ascending), as
  // if Forecast() had been given history[0, T): what a rolling-origin
  // backtest needs. The default calls Forecast() on every prefix; models
  // override it to share work between origins (parameters chosen once on the
  // data before the first origin, states or sums carried forward), which must
  // use no value at or after an origin for that origin's forecast. Errors as
  // Forecast(); INVALID_ARGUMENT ("origins: ...") for an origin outside
  // [1, history.size()] or out of order.
  virtual absl::StatusOr<std::vector<ModelForecast>> ForecastFromOrigins(
      absl::Span<const double> history, absl::Span<const int64_t> origins, int64_t horizon) const;
};

// Checks the arguments every Forecast() takes: INVALID_ARGUMENT ("horizon:
// ...") when horizon < 1, FAILED_PRECONDITION ("history: ...") when the
// history is shorter than the model's MinHistory().
absl::Status CheckForecastInputs(const ForecastModel& model, absl::Span<const double> history,
                                 int64_t horizon);

// Checks that `origins` are ascending and inside [1, history_size].
absl::Status CheckOrigins(absl::Span<const int64_t> origins, int64_t history_size);

// Naive: every future step repeats the last value. The error standard
// deviation h steps ahead is sigma * sqrt(h), sigma being the root mean square
// of the lag-1 differences of the history. Needs 2 points.
class NaiveModel final : public ForecastModel {
 public:
  absl::string_view name() const override { return kNaiveModel; }
  int64_t MinHistory() const override { return 2; }
  absl::StatusOr<ModelForecast> Forecast(absl::Span<const double> history,
                                         int64_t horizon) const override;
  // As Forecast() on each prefix, the sums of squared differences carried
  // from one origin to the next.
  absl::StatusOr<std::vector<ModelForecast>> ForecastFromOrigins(absl::Span<const double> history,
                                                                 absl::Span<const int64_t> origins,
                                                                 int64_t horizon) const override;
};

// Seasonal naive with period m >= 2: step h repeats the value of the same
// phase in the last season, history[n - m + (h - 1) mod m]. The error standard
// deviation h steps ahead is sigma * sqrt(k), k = ceil(h / m) being the number
// of seasons ahead and sigma the root mean square of the lag-m differences of
// the history. Needs m + 1 points (one season to repeat, one residual).
class SeasonalNaiveModel final : public ForecastModel {
 public:
  // `period` must be >= 2 (checked by MakeModel; asserted here in debug).
  explicit SeasonalNaiveModel(int64_t period);
  absl::string_view name() const override { return kSeasonalNaiveModel; }
  int64_t MinHistory() const override { return period_ + 1; }
  absl::StatusOr<ModelForecast> Forecast(absl::Span<const double> history,
                                         int64_t horizon) const override;
  // As Forecast() on each prefix, the sums of squared differences carried
  // from one origin to the next.
  absl::StatusOr<std::vector<ModelForecast>> ForecastFromOrigins(absl::Span<const double> history,
                                                                 absl::Span<const int64_t> origins,
                                                                 int64_t horizon) const override;
  int64_t period() const { return period_; }

 private:
  int64_t period_;
};

// Root mean square of history[i] - history[i - lag] over i >= lag; 0 when
// there is no such pair. Exposed for tests.
double LagDifferenceRms(absl::Span<const double> history, int64_t lag);

}  // namespace agentwatch::capacity
