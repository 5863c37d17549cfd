// Fourier-term regression with a linear trend: the daily and weekly cycles as
// a few sine/cosine pairs, fitted by least squares with one trimmed refit
// against outliers, and an AR(1) correction from the last residual.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "capacity/core/models.h"

namespace agentwatch::capacity {

// Harmonics per season (fewer when the period is too short to hold them).
inline constexpr int kDailyHarmonics = 6;
inline constexpr int kWeeklyHarmonics = 3;

// The fitted coefficients of one fit, exposed for tests.
struct FourierFit {
  // intercept, trend (per step), then cos/sin pairs: daily k = 1..K_d, then
  // weekly k = 1..K_w.
  std::vector<double> coefficients;
  // Lag-1 autocorrelation of the residuals, in [0, 0.995].
  double ar1 = 0;
  // Autocorrelation of the residuals one season apart (the daily season, or
  // the weekly one without it), in [0, 0.95].
  double seasonal_ar = 0;
  // Root mean square of the residuals that were kept.
  double residual_rms = 0;
  // Points left out of the refit as outliers.
  int64_t outliers = 0;
};

// y_t = a + b t + sum_k (c_k cos(2 pi k t / D) + s_k sin(2 pi k t / D))
//               + sum_k (c'_k cos(2 pi k t / W) + s'_k sin(2 pi k t / W)) + r_t,
// D and W being the daily and weekly periods in steps (a period < 3 leaves
// its terms out), fitted by least squares over the last window() points.
// Residuals beyond 4 robust standard deviations (1.4826 x their median
// absolute value) are treated as outliers: the fit is redone without them,
// up to three times, until the set of outliers stops changing (in a
// backtest, each origin starts from the previous origin's outliers).
// The residuals are modelled as (1 - a B)(1 - c B^m) r_t = e_t, a being their
// lag-1 and c their lag-m autocorrelation (m: the daily period, else the
// weekly one), so that today's departure from the fitted profile carries
// into the next hours (a) and into tomorrow (c); the forecast adds the
// residual forecasts of that recursion (from the last residuals, clipped to 4
// robust standard deviations) to the regression, and the error standard
// deviation h steps ahead is sigma_e sqrt(sum_{j<h} psi_j^2), with
// sigma_e^2 = rms(r)^2 (1 - a^2)(1 - c^2). In a backtest, the normal
// equations are accumulated once over the history and differenced per fit,
// and the regression is refitted only once the origin has moved a residual
// season past the last fit (the origins in between keep those coefficients
// and recompute their recent residuals), so that a backtest costs a few
// passes over the window, not one per origin. Needs two periods of
// the longer season, and at least 8 points more than coefficients.
class FourierRegressionModel final : public ForecastModel {
 public:
  // `daily_period` and `weekly_period` in steps; 1 (or any value < 3) when
  // the series has no such season. At least one must be >= 3 (asserted in
  // debug; the forecast core only builds it so).
  FourierRegressionModel(int64_t daily_period, int64_t weekly_period);

  absl::string_view name() const override { return kFourierRegressionModel; }
  int64_t MinHistory() const override;
  // MinHistory() of a model with these periods, without building one.
  static int64_t MinHistoryFor(int64_t daily_period, int64_t weekly_period);
  absl::StatusOr<ModelForecast> Forecast(absl::Span<const double> history,
                                         int64_t horizon) const override;
  absl::StatusOr<std::vector<ModelForecast>> ForecastFromOrigins(absl::Span<const double> history,
                                                                 absl::Span<const int64_t> origins,
                                                                 int64_t horizon) const override;

  // Fits on `history` (at least MinHistory() points) as Forecast() does.
  absl::StatusOr<FourierFit> Fit(absl::Span<const double> history) const;

  // Points of history the fit uses: eight periods of the longer season, at
  // least 168.
  int64_t window() const { return window_; }
  int daily_harmonics() const { return daily_harmonics_; }
  int weekly_harmonics() const { return weekly_harmonics_; }

 private:
  struct Solved;
  int Columns() const { return 2 + 2 * (daily_harmonics_ + weekly_harmonics_); }
  // The seasonal part of the fit (all terms but intercept and trend) at every
  // phase of table_period_ steps.
  std::vector<double> SeasonalTable(const std::vector<double>& beta) const;
  // The regressors of step t (Columns() values).
  void Row(int64_t t, double* x) const;
  ModelForecast FromSolved(const Solved& solved, int64_t origin, int64_t horizon) const;
  // Fits on [origin - window, origin) given the normal equations of that
  // window; `flags` (one per history point) holds the outliers to start from
  // and receives the final ones.
  Solved SolveAt(absl::Span<const double> history, int64_t origin, const std::vector<double>& a,
                 const std::vector<double>& b, std::vector<uint8_t>* flags) const;
  // Fills solved->recent with the residuals just before `origin`.
  void SetRecent(absl::Span<const double> history, int64_t origin, Solved* solved) const;

  int64_t daily_period_;
  int64_t weekly_period_;
  int daily_harmonics_;
  int weekly_harmonics_;
  int64_t window_;
  int64_t residual_season_;
  int64_t table_period_;
  // cos/sin of every harmonic at every phase: [phase * 2K + 2(k - 1) (+1)].
  std::vector<double> daily_table_;
  std::vector<double> weekly_table_;
};

}  // namespace agentwatch::capacity
