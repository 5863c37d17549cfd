#include "capacity/core/damped_trend.h"

#include <algorithm>
#include <cmath>

#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

constexpr double kAlphas[] = {0.05, 0.2, 0.4, 0.6, 0.8, 1.0};
constexpr double kBetas[] = {0.02, 0.15};
constexpr double kPhis[] = {0.9, 0.98};

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
  DampedTrendParams best;
  double best_sse = -1;
  for (const double alpha : kAlphas) {
    for (const double beta : kBetas) {
      for (const double phi : kPhis) {
        const DampedTrendParams params{alpha, beta, phi};
        State state = Start(history);
        for (size_t i = 2; i < history.size(); ++i) Step(params, history[i], &state);
        if (best_sse < 0 || state.sum_squares < best_sse) {
          best_sse = state.sum_squares;
          best = params;
        }
      }
    }
  }
  return best;
}

absl::StatusOr<ModelForecast> DampedTrendModel::Forecast(absl::Span<const double> history,
                                                         int64_t horizon) const {
  RETURN_IF_ERROR(CheckForecastInputs(*this, history, horizon));
  const DampedTrendParams params = ChooseParams(history);
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
      ChooseParams(history.subspan(0, static_cast<size_t>(origins.front())));
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
