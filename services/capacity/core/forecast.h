// The forecast core: from a regular history with gaps to point forecasts
// with 80 % / 95 % prediction intervals, the model chosen by rolling-origin
// backtest. Pure and deterministic: no I/O, no clock, no randomness.
//
// Minimum history: at least kMinObservedPoints observed values, and more
// points (after leading gaps are removed) than the candidates' minimum
// training length. The season of seasonal naive is one day when the step
// divides a day into at least two steps, else one week when the step divides
// a week so (daily data); it is a candidate when the history holds two such
// seasons. The Fourier regression is a candidate when the history holds three
// days or three weeks (two to fit, one more to backtest in; the terms of a
// season the history does not cover three times are left out); naive and
// damped trend always are.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "capacity/core/backtest.h"
#include "capacity/core/models.h"
#include "capacity/core/series.h"

namespace agentwatch::capacity {

// Fewest observed history values a forecast accepts.
inline constexpr int64_t kMinObservedPoints = 12;

// Normal quantiles of the two-sided 80 % and 95 % intervals.
inline constexpr double kZ80 = 1.2816;
inline constexpr double kZ95 = 1.96;

// What to forecast.
struct ForecastSpec {
  // Steps to forecast, >= 1.
  int64_t horizon = 0;
  // Model name; empty chooses by backtest among the applicable candidates.
  std::string model;
  // Clamp the forecast and its bounds at 0 (counts cannot be negative).
  bool non_negative = false;
  // Origins of the backtest.
  BacktestOptions backtest;
  // A step's interval comes from the empirical quantiles of its backtest
  // errors when it has at least this many, else from the model's residual
  // standard deviation with normal quantiles. 39 is the fewest errors whose
  // order statistics reach the 2.5 % and 97.5 % levels (see Quantile).
  int64_t min_errors_for_empirical = 39;
};

// One forecast step.
struct ForecastPoint {
  // Start of the step.
  absl::Time time;
  double value = 0;
  double lower_80 = 0;
  double upper_80 = 0;
  double lower_95 = 0;
  double upper_95 = 0;
};

// Backtest score of one model.
struct ModelScore {
  std::string model;
  double mase = 0;
  double smape = 0;
};

// A forecast with how it was made.
struct ForecastResult {
  // One point per step, the first one step after the last history point.
  std::vector<ForecastPoint> points;
  // The model used and its backtest scores.
  std::string model;
  double backtest_mase = 0;
  double backtest_smape = 0;
  // Every candidate's score, in candidate order (seasonal naive first); empty
  // when the spec named the model.
  std::vector<ModelScore> candidates;
  // History points used (after leading gaps were removed), of which imputed.
  int64_t history_points = 0;
  int64_t imputed_points = 0;
  // Leading gap steps removed.
  int64_t trimmed_points = 0;
  // Season of seasonal naive and of the MASE scale in steps
  // (SeasonPeriods::Primary); 1 when there is none.
  int64_t season_period = 1;
  // Backtest origins and scored horizon.
  int64_t backtest_origins = 0;
  int64_t backtest_horizon = 0;
  // Forecast steps whose intervals come from empirical backtest errors; the
  // others use the residual standard deviation.
  int64_t empirical_interval_steps = 0;
};

// One day in steps when `step` divides a day into at least two steps, else 1.
int64_t DailySeasonPeriod(absl::Duration step);

// One week in steps when `step` divides a week into at least two steps, else 1.
int64_t WeeklySeasonPeriod(absl::Duration step);

// The seasons a step can carry, in steps (1 when the step cannot).
struct SeasonPeriods {
  int64_t daily = 1;
  int64_t weekly = 1;

  // The season of seasonal naive and of the MASE scale for a history of
  // `points` steps: daily when it holds two days, else (for steps of a day or
  // more) weekly when it holds two weeks, else 1.
  int64_t Primary(int64_t points) const;
};

// DailySeasonPeriod and WeeklySeasonPeriod of `step`.
SeasonPeriods SeasonPeriodsFor(absl::Duration step);

// Whether the Fourier regression can fit and backtest `points` steps: a season
// of at least three steps covered three times, and more points than the
// model's minimum history.
bool FourierApplicable(const SeasonPeriods& periods, int64_t points);

// OK for a model this core implements ("seasonal_naive", "naive",
// "fourier_regression", "damped_trend") or for the empty name (automatic
// choice); UNIMPLEMENTED ("model: ...") for "holt_winters", which the API
// names but this core does not offer; INVALID_ARGUMENT ("model: ...")
// otherwise.
absl::Status CheckModelName(absl::string_view name);

// Forecasts `history` (gaps as NaN) as `spec` says:
// 1. gaps are filled (FillGaps with the daily season, or the weekly one for
//    daily data);
// 2. the candidates are, in this order, seasonal naive and naive, the
//    Fourier regression (when applicable) and damped trend, or the model the
//    spec names;
// 3. each candidate is backtested on the same rolling origins; MASE is
//    scaled by the in-sample seasonal naive MAE of the whole history with the
//    primary season (period 1 when there is none);
// 4. the candidate with the lowest backtest MASE wins (ties: the first);
// 5. the winner forecasts from the whole history; each step's interval is the
//    point plus the 10/90 % and 2.5/97.5 % quantiles of that step's backtest
//    errors when it has min_errors_for_empirical of them, else the point
//    +- z * the model's standard deviation (z = 1.2816 / 1.96).
// INVALID_ARGUMENT ("step: ...", "horizon: ...", "model: ...") for a bad
// spec; UNIMPLEMENTED for a model not offered yet; FAILED_PRECONDITION
// ("history: ..." or "model: ...") when the history is too short for the
// forecast or for the model named.
absl::StatusOr<ForecastResult> ForecastSeries(const RegularSeries& history,
                                              const ForecastSpec& spec);

}  // namespace agentwatch::capacity
