// Forecast accuracy measures (MASE, sMAPE) and the empirical quantile used
// for backtest-based intervals. Pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace agentwatch::capacity {

// Mean absolute error of the in-sample seasonal naive forecast with period
// `m` (>= 1): the mean of |values[i] - values[i - m]| over every i >= m where
// both values were observed (`observed` holds one flag per value; an empty
// span means all observed). This is the MASE denominator. INVALID_ARGUMENT
// when m < 1 or the sizes differ; FAILED_PRECONDITION when there is no pair.
absl::StatusOr<double> SeasonalNaiveMae(absl::Span<const double> values,
                                        absl::Span<const uint8_t> observed, int64_t m);

// Mean absolute error. INVALID_ARGUMENT when the sizes differ or are 0.
absl::StatusOr<double> MeanAbsoluteError(absl::Span<const double> actual,
                                         absl::Span<const double> forecast);

// Mean absolute error divided by `scale`: 0 when the error is 0, +infinity
// when the scale is 0 and the error is not. INVALID_ARGUMENT as
// MeanAbsoluteError, or for a negative scale.
absl::StatusOr<double> ScaledError(absl::Span<const double> actual,
                                   absl::Span<const double> forecast, double scale);

// Mean absolute scaled error of `forecast` against `actual`, scaled by the
// in-sample seasonal naive MAE of `insample` with period m (all observed).
// Errors as SeasonalNaiveMae and ScaledError.
absl::StatusOr<double> Mase(absl::Span<const double> actual, absl::Span<const double> forecast,
                            absl::Span<const double> insample, int64_t m);

// Symmetric mean absolute percentage error in percent (0..200): the mean of
// 200 * |a - f| / (|a| + |f|), a term with a = f = 0 counting as 0.
// INVALID_ARGUMENT when the sizes differ or are 0.
absl::StatusOr<double> Smape(absl::Span<const double> actual, absl::Span<const double> forecast);

// The q-quantile (0 <= q <= 1) of `values` with the Weibull plotting
// positions (Hyndman-Fan type 6): the k-th smallest of n values is the
// k / (n + 1) quantile, interpolated linearly between and clamped to the
// smallest and largest value. With these positions an interval between the
// q and 1 - q quantiles of n exchangeable errors covers a new error with
// probability 1 - 2q in expectation (when (n + 1) * q >= 1), which is why
// the backtest intervals use them. `values` must not be empty.
double Quantile(std::vector<double> values, double q);

// Quantile() of values already sorted ascending (not empty), without a copy.
double SortedQuantile(absl::Span<const double> sorted, double q);

}  // namespace agentwatch::capacity
