#include "capacity/core/damped_trend.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>

#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

constexpr double kAlphas[] = {0.05, 0.2, 0.4, 0.6, 0.8, 1.0};
constexpr double kBetas[] = {0.02, 0.15};
constexpr double kPhis[] = {0.9, 0.98};
// The parameters are chosen on at most this many of the latest points.
constexpr size_t kMaxTuningPoints = 2000;

absl::Span<const double> Latest(absl::Span<const double> history) {
  return history.size() > kMaxTuningPoints ? history.subspan(history.size() - kMaxTuningPoints)
                                           : history;
}

// The filter's state after some steps, with its one-step error sums.
struct State {
  double level = 0;
  double trend = 0;
  double sum_squares = 0;
  int64_t errors = 0;
};

State Start(absl::Span<const double> history) {
  State state;
  state.level = history[0];
  state.trend = history[1] - history[0];
  return state;
}

void Step(const DampedTrendParams& p, double y, State* s) {
  const double predicted = s->level + p.phi * s->trend;
  const double error = y - predicted;
  s->level = predicted + p.alpha * error;
  s->trend = p.phi * s->trend + p.alpha * p.beta * error;
  s->sum_squares += error * error;
  ++s->errors;
}

ModelForecast FromState(const DampedTrendParams& p, const State& s, int64_t horizon) {
  const double sigma = s.errors > 0 ? std::sqrt(s.sum_squares / static_cast<double>(s.errors)) : 0;
  ModelForecast out;
  out.mean.resize(static_cast<size_t>(horizon));
  out.sd.resize(static_cast<size_t>(horizon));
  double damped_sum = 0;      // phi + ... + phi^h
  double phi_power = 1;       // phi^h
  double variance_terms = 1;  // 1 + sum_{j<h} c_j^2
  for (int64_t h = 1; h <= horizon; ++h) {
    phi_power *= p.phi;
    damped_sum += phi_power;
    const size_t k = static_cast<size_t>(h - 1);
    out.mean[k] = s.level + damped_sum * s.trend;
    out.sd[k] = sigma * std::sqrt(variance_terms);
    // c_h = alpha (1 + beta (phi + ... + phi^h)), the weight of one error h steps on.
    const double c = p.alpha * (1 + p.beta * damped_sum);
    variance_terms += c * c;
  }
  return out;
}

}  // namespace

DampedTrendParams DampedTrendModel::ChooseParams(absl::Span<const double> history) {
  // Every grid point's filter runs in the same pass (independent chains the
  // processor overlaps), in the grid's order so that ties go to the first.
  constexpr size_t kGrid = std::size(kAlphas) * std::size(kBetas) * std::size(kPhis);
  std::array<DampedTrendParams, kGrid> grid;
  size_t g = 0;
  for (const double alpha : kAlphas) {
    for (const double beta : kBetas) {
      for (const double phi : kPhis) grid[g++] = DampedTrendParams{alpha, beta, phi};
    }
  }
  std::array<double, kGrid> level;
  std::array<double, kGrid> trend;
  std::array<double, kGrid> sse;
  std::array<double, kGrid> gain;   // alpha
  std::array<double, kGrid> slope;  // alpha * beta
  std::array<double, kGrid> damp;   // phi
  const State start = Start(history);
  for (size_t k = 0; k < kGrid; ++k) {
    level[k] = start.level;
    trend[k] = start.trend;
    sse[k] = 0;
    gain[k] = grid[k].alpha;
    slope[k] = grid[k].alpha * grid[k].beta;
    damp[k] = grid[k].phi;
  }
  for (size_t i = 2; i < history.size(); ++i) {
    const double y = history[i];
    for (size_t k = 0; k < kGrid; ++k) {
      const double damped = damp[k] * trend[k];
      const double predicted = level[k] + damped;
      const double error = y - predicted;
      level[k] = predicted + gain[k] * error;
      trend[k] = damped + slope[k] * error;
      sse[k] += error * error;
    }
  }
  size_t best = 0;
  for (size_t k = 1; k < kGrid; ++k) {
    if (sse[k] < sse[best]) best = k;
  }
  return grid[best];
}

absl::StatusOr<ModelForecast> DampedTrendModel::Forecast(absl::Span<const double> history,
                                                         int64_t horizon) const {
  RETURN_IF_ERROR(CheckForecastInputs(*this, history, horizon));
  const DampedTrendParams params = ChooseParams(Latest(history));
  State state = Start(history);
  for (size_t i = 2; i < history.size(); ++i) Step(params, history[i], &state);
  return FromState(params, state, horizon);
}

absl::StatusOr<std::vector<ModelForecast>> DampedTrendModel::ForecastFromOrigins(
    absl::Span<const double> history, absl::Span<const int64_t> origins, int64_t horizon) const {
  RETURN_IF_ERROR(CheckOrigins(origins, static_cast<int64_t>(history.size())));
  std::vector<ModelForecast> out;
  if (origins.empty()) return out;
  RETURN_IF_ERROR(CheckForecastInputs(
      *this, history.subspan(0, static_cast<size_t>(origins.front())), horizon));
  const DampedTrendParams params =
      ChooseParams(Latest(history.subspan(0, static_cast<size_t>(origins.front()))));
  State state = Start(history);
  int64_t next = 2;
  out.reserve(origins.size());
  for (const int64_t origin : origins) {
    for (; next < origin; ++next) Step(params, history[static_cast<size_t>(next)], &state);
    out.push_back(FromState(params, state, horizon));
  }
  return out;
}

}  // namespace agentwatch::capacity
