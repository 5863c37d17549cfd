// Holt's linear method with a damped trend (ETS(A,Ad,N)): a non-seasonal
// candidate for series that drift or grow without a daily or weekly cycle.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "capacity/core/models.h"

namespace agentwatch::capacity {

// Smoothing parameters of the damped trend method.
struct DampedTrendParams {
  // Level smoothing, 0 < alpha <= 1.
  double alpha = 0.5;
  // Trend smoothing as a fraction of alpha (the ETS beta is alpha * beta), 0..1.
  double beta = 0.1;
  // Damping of the trend per step, 0 < phi <= 1.
  double phi = 0.98;
};

// Damped trend: level l and trend b are updated per step by
//   e_t = y_t - (l_{t-1} + phi b_{t-1})
//   l_t = l_{t-1} + phi b_{t-1} + alpha e_t
//   b_t = phi b_{t-1} + alpha beta e_t
// and the h-step forecast is l + (phi + ... + phi^h) b. The parameters are
// chosen from a small grid by the lowest sum of squared in-sample one-step
// errors over the latest (at most 2000) points; the error standard deviation
// h steps ahead is the ETS(A,Ad,N) formula over the one-step error standard
// deviation. In a backtest the parameters are chosen once on the data before
// the first origin and the states are carried forward. Needs 4 points.
class DampedTrendModel final : public ForecastModel {
 public:
  absl::string_view name() const override { return kDampedTrendModel; }
  int64_t MinHistory() const override { return 4; }
  absl::StatusOr<ModelForecast> Forecast(absl::Span<const double> history,
                                         int64_t horizon) const override;
  absl::StatusOr<std::vector<ModelForecast>> ForecastFromOrigins(absl::Span<const double> history,
                                                                 absl::Span<const int64_t> origins,
                                                                 int64_t horizon) const override;

  // The grid point with the lowest one-step squared error on `history`
  // (at least MinHistory() points). Exposed for tests.
  static DampedTrendParams ChooseParams(absl::Span<const double> history);
};

}  // namespace agentwatch::capacity
