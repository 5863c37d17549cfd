// Seasonal naive with a decaying correction: an AR(1) model of the seasonal
// differences (SARIMA(1,0,0)(0,1,0)m without a constant). Pure.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "capacity/core/models.h"

namespace agentwatch::capacity {

// Model name as the API reports and accepts it.
inline constexpr char kSeasonalArModel[] = "seasonal_ar";

// With y[t] = x[t] - x[t - m], the seasonal difference with period m >= 2,
// assumes y[t] = phi * y[t - 1] + noise: step h ahead repeats the value one
// season earlier (itself a forecast beyond the history) plus phi^h times the
// last seasonal difference, so that how far the latest values stand above or
// below last season's carries into the forecast and fades. phi is the least
// squares estimate over the history, clamped to [-0.99, 0.999]; the error
// standard deviation h steps ahead is sigma * sqrt(sum of psi_j^2, j < h), sigma
// being the root mean square residual and psi the model's MA(infinity)
// weights. Needs m + 3 points (two pairs of consecutive differences).
class SeasonalArModel final : public ForecastModel {
 public:
  // `period` must be >= 2 (asserted in debug).
  explicit SeasonalArModel(int64_t period);
  absl::string_view name() const override { return kSeasonalArModel; }
  int64_t MinHistory() const override { return period_ + 3; }
  absl::StatusOr<ModelForecast> Forecast(absl::Span<const double> history,
                                         int64_t horizon) const override;
  // As Forecast() on each prefix, the least squares sums carried from one
  // origin to the next.
  absl::StatusOr<std::vector<ModelForecast>> ForecastFromOrigins(absl::Span<const double> history,
                                                                 absl::Span<const int64_t> origins,
                                                                 int64_t horizon) const override;
  int64_t period() const { return period_; }

 private:
  int64_t period_;
};

}  // namespace agentwatch::capacity
