// Rolling-origin backtest: a model is refitted on the history up to each of
// several origins in the last part of the history and scored on the steps
// that follow. Pure.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "capacity/core/models.h"
#include "capacity/core/series.h"

namespace agentwatch::capacity {

// Where the origins go.
struct BacktestOptions {
  // At most this many origins (>= 1).
  int64_t max_origins = 48;
  // Origins are spread over at most this fraction of the history (0 < f <= 1),
  // ending at the last origin.
  double origin_span_fraction = 0.5;
  // Long horizons take fewer origins: at most max(kMinOrigins,
  // max_scored_steps / horizon) of them (>= 1), which bounds the work of a
  // backtest while the many steps per origin keep the error sample large.
  int64_t max_scored_steps = 6000;
};

// Fewest origins max_scored_steps leaves (when max_origins allows them).
inline constexpr int64_t kMinOrigins = 16;

// Origins are at most ceil(horizon / kOriginsPerHorizon) steps apart, so that
// the backtest scores the most recent behaviour of the series (after a
// regime change, the windows of a year ago say little about tomorrow), while
// the windows of a long horizon still reach back over several horizons: the
// intervals are calibrated on them, and windows that mostly overlap are
// nearly one draw (with origins a sixth of a day apart, a day-ahead backtest
// of 20 origins held little more than three independent days).
inline constexpr int64_t kOriginsPerHorizon = 2;

// The origins of a backtest. An origin T trains on points [0, T) and is scored
// on points [T, T + horizon).
struct BacktestPlan {
  // Steps scored after each origin: the forecast horizon, capped to half of
  // the points beyond the minimum training length so that origins keep room.
  int64_t horizon = 0;
  // Ascending, distinct, evenly spaced; the last is history_points - horizon,
  // so that every window ends inside the history. The spacing is the largest
  // that fits max_origins into the allowed span, but at most
  // ceil(horizon / kOriginsPerHorizon) (and at least 1).
  std::vector<int64_t> origins;
};

// Plans a backtest of `history_points` points for forecasts of `horizon`
// steps by models needing `min_train` points. INVALID_ARGUMENT for horizon < 1,
// min_train < 1 or bad options; FAILED_PRECONDITION ("history: ...") when the
// history has no point beyond min_train.
absl::StatusOr<BacktestPlan> PlanBacktest(int64_t history_points, int64_t horizon,
                                          int64_t min_train, const BacktestOptions& options);

// A model's backtest result.
struct BacktestScore {
  // Mean absolute error over every scored point divided by the scale (the
  // in-sample seasonal naive MAE); see ScaledError.
  double mase = 0;
  // sMAPE over every scored point, in percent.
  double smape = 0;
  // Number of (origin, step) points scored: only observed actual values are
  // scored, imputed ones are skipped.
  int64_t evaluated = 0;
  // errors_by_step[h - 1]: actual - forecast h steps after each origin.
  std::vector<std::vector<double>> errors_by_step;
  // actuals_by_step[h - 1]: the actual values those errors were scored on,
  // in the same order (so that forecasts of several models on the same plan
  // can be combined: a mean of forecasts has the mean of their errors).
  std::vector<std::vector<double>> actuals_by_step;
};

// Runs `model` over `plan` on `history`. Errors of the model's Forecast are
// returned as they are; FAILED_PRECONDITION ("history: ...") when no observed
// value falls in any window; INVALID_ARGUMENT when an origin lies outside the
// history.
absl::StatusOr<BacktestScore> Backtest(const ForecastModel& model, const FilledSeries& history,
                                       const BacktestPlan& plan, double scale);

// The backtest score of the mean of the members' forecasts. The members must
// have been scored on the same plan and history, so that their errors line up
// point by point: the mean forecast's error is then the mean of theirs.
// INVALID_ARGUMENT ("members: ...") when there is none or they were scored on
// different points, ("scale: ...") for a negative scale.
absl::StatusOr<BacktestScore> CombineBacktests(absl::Span<const BacktestScore* const> members,
                                               double scale);

}  // namespace agentwatch::capacity
