#include "capacity/core/accuracy.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

absl::Status CheckPairs(absl::Span<const double> actual, absl::Span<const double> forecast) {
  if (actual.size() != forecast.size()) {
    return common::InvalidField("forecast", "must have as many values as actual");
  }
  if (actual.empty()) return common::InvalidField("actual", "must not be empty");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<double> SeasonalNaiveMae(absl::Span<const double> values,
                                        absl::Span<const uint8_t> observed, int64_t m) {
  if (m < 1) return common::InvalidField("m", "must be at least 1");
  if (!observed.empty() && observed.size() != values.size()) {
    return common::InvalidField("observed", "must have one flag per value");
  }
  const auto seen = [&](size_t i) { return observed.empty() || observed[i] != 0; };
  double sum = 0;
  int64_t pairs = 0;
  for (size_t i = static_cast<size_t>(m); i < values.size(); ++i) {
    const size_t j = i - static_cast<size_t>(m);
    if (!seen(i) || !seen(j)) continue;
    sum += std::fabs(values[i] - values[j]);
    ++pairs;
  }
  if (pairs == 0) {
    return absl::FailedPreconditionError(
        "history: no pair of observed values one season apart to scale the error by");
  }
  return sum / static_cast<double>(pairs);
}

absl::StatusOr<double> MeanAbsoluteError(absl::Span<const double> actual,
                                         absl::Span<const double> forecast) {
  RETURN_IF_ERROR(CheckPairs(actual, forecast));
  double sum = 0;
  for (size_t i = 0; i < actual.size(); ++i) sum += std::fabs(actual[i] - forecast[i]);
  return sum / static_cast<double>(actual.size());
}

absl::StatusOr<double> ScaledError(absl::Span<const double> actual,
                                   absl::Span<const double> forecast, double scale) {
  if (!(scale >= 0)) return common::InvalidField("scale", "must not be negative");
  ASSIGN_OR_RETURN(const double mae, MeanAbsoluteError(actual, forecast));
  if (mae == 0) return 0.0;
  if (scale == 0) return std::numeric_limits<double>::infinity();
  return mae / scale;
}

absl::StatusOr<double> Mase(absl::Span<const double> actual, absl::Span<const double> forecast,
                            absl::Span<const double> insample, int64_t m) {
  ASSIGN_OR_RETURN(const double scale, SeasonalNaiveMae(insample, {}, m));
  return ScaledError(actual, forecast, scale);
}

absl::StatusOr<double> Smape(absl::Span<const double> actual, absl::Span<const double> forecast) {
  RETURN_IF_ERROR(CheckPairs(actual, forecast));
  double sum = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double denominator = std::fabs(actual[i]) + std::fabs(forecast[i]);
    if (denominator > 0) sum += 200.0 * std::fabs(actual[i] - forecast[i]) / denominator;
  }
  return sum / static_cast<double>(actual.size());
}

double Quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  return SortedQuantile(values, q);
}

double SortedQuantile(absl::Span<const double> values, double q) {
  assert(!values.empty());
  const double n = static_cast<double>(values.size());
  // 1-based rank, clamped to [1, n].
  const double rank = std::clamp(std::clamp(q, 0.0, 1.0) * (n + 1), 1.0, n);
  const size_t below = static_cast<size_t>(std::floor(rank)) - 1;
  const size_t above = std::min(below + 1, values.size() - 1);
  const double fraction = rank - std::floor(rank);
  return values[below] + (values[above] - values[below]) * fraction;
}

}  // namespace agentwatch::capacity
