#include "capacity/core/seasonal_ar.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

constexpr double kMinPhi = -0.99;
constexpr double kMaxPhi = 0.999;

// Least squares sums over the pairs (y[t - 1], y[t]) of seasonal differences.
struct Sums {
  double xy = 0;  // sum of y[t] * y[t - 1]
  double xx = 0;  // sum of y[t - 1]^2
  double yy = 0;  // sum of y[t]^2
  int64_t pairs = 0;

  // Adds the pair ending at index t (t >= period + 1) of `history`.
  void Add(absl::Span<const double> history, int64_t period, int64_t t) {
    const size_t i = static_cast<size_t>(t);
    const size_t m = static_cast<size_t>(period);
    const double y = history[i] - history[i - m];
    const double previous = history[i - 1] - history[i - 1 - m];
    xy += y * previous;
    xx += previous * previous;
    yy += y * y;
    ++pairs;
  }
};

// The forecast of `horizon` steps after history[0, n) from the sums of that
// prefix.
ModelForecast ForecastFromSums(absl::Span<const double> history, int64_t n, int64_t period,
                               int64_t horizon, const Sums& sums) {
  const double phi = sums.xx > 0 ? std::clamp(sums.xy / sums.xx, kMinPhi, kMaxPhi) : 0.0;
  const double residual_squares = std::max(0.0, sums.yy - 2 * phi * sums.xy + phi * phi * sums.xx);
  const double sigma =
      sums.pairs > 0 ? std::sqrt(residual_squares / static_cast<double>(sums.pairs)) : 0.0;
  const size_t m = static_cast<size_t>(period);
  const double last = history[static_cast<size_t>(n - 1)] - history[static_cast<size_t>(n - 1) - m];
  ModelForecast out;
  out.mean.resize(static_cast<size_t>(horizon));
  out.sd.resize(static_cast<size_t>(horizon));
  // psi_j of (1 - phi B)(1 - B^m) x = e: psi_j = phi psi_{j-1} + psi_{j-m} - phi psi_{j-m-1}.
  std::vector<double> psi(static_cast<size_t>(horizon), 0);
  double psi_squares = 0;
  double correction = 1;
  for (int64_t h = 1; h <= horizon; ++h) {
    const size_t k = static_cast<size_t>(h - 1);
    correction *= phi;
    const double season_ago =
        h <= period ? history[static_cast<size_t>(n - 1) + k + 1 - m] : out.mean[k - m];
    // The seasonal difference forecast h steps ahead is phi^h * last; a value
    // beyond one season adds it to its (forecast) value one season earlier.
    out.mean[k] = season_ago + correction * last;
    double p = k == 0 ? 1.0 : phi * psi[k - 1];
    if (k >= m) p += psi[k - m];
    if (k >= m + 1) p -= phi * psi[k - m - 1];
    psi[k] = p;
    psi_squares += p * p;
    out.sd[k] = sigma * std::sqrt(psi_squares);
  }
  return out;
}

}  // namespace

SeasonalArModel::SeasonalArModel(int64_t period) : period_(period) { assert(period >= 2); }

absl::StatusOr<ModelForecast> SeasonalArModel::Forecast(absl::Span<const double> history,
                                                        int64_t horizon) const {
  RETURN_IF_ERROR(CheckForecastInputs(*this, history, horizon));
  const int64_t n = static_cast<int64_t>(history.size());
  Sums sums;
  for (int64_t t = period_ + 1; t < n; ++t) sums.Add(history, period_, t);
  return ForecastFromSums(history, n, period_, horizon, sums);
}

absl::StatusOr<std::vector<ModelForecast>> SeasonalArModel::ForecastFromOrigins(
    absl::Span<const double> history, absl::Span<const int64_t> origins, int64_t horizon) const {
  RETURN_IF_ERROR(CheckOrigins(origins, static_cast<int64_t>(history.size())));
  std::vector<ModelForecast> out;
  if (origins.empty()) return out;
  RETURN_IF_ERROR(CheckForecastInputs(
      *this, history.subspan(0, static_cast<size_t>(origins.front())), horizon));
  out.reserve(origins.size());
  Sums sums;
  int64_t next = period_ + 1;
  for (const int64_t origin : origins) {
    for (; next < origin; ++next) sums.Add(history, period_, next);
    out.push_back(ForecastFromSums(history, origin, period_, horizon, sums));
  }
  return out;
}

}  // namespace agentwatch::capacity
