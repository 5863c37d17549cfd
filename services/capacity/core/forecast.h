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
// season the history does not cover three times are left out); the seasonal
// profile when it holds more than a week and a day (sub-daily steps) or two
// weeks (daily data); seasonal AR when the history holds the primary season
// and four more points; naive and damped trend always are. Without a named
// model, the mean of the best two or three candidates is chosen when it
// backtests better than each of them.
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
  // A step's interval comes from its backtest errors (see ForecastSeries)
  // when the pool of steps around it holds at least this many errors, else
  // from the model's residual standard deviation with normal quantiles. 39 is
  // the fewest errors whose order statistics reach the 2.5 % and 97.5 %
  // levels (see Quantile).
  int64_t min_errors_for_empirical = 39;
  // Interval calibration (step 5 of ForecastSeries); the defaults are what
  // the service and `agentwatch forecast` use, the switches exist so that
  // tests can compare the methods.
  // Scale-adaptive intervals: each backtest error is divided by the local
  // error scale before its origin (LocalErrorScale over this many primary
  // seasons, at least 28 steps) and the intervals are multiplied by the local
  // scale at the end of the history, so that a level or volatility shift
  // inside the backtest span does not distort them. 0 disables it.
  int64_t local_scale_seasons = 4;
  // An automatic choice is calibrated on cross-fitted errors of the
  // selection (chosen on alternate origins, scored on the others) instead of
  // the winner's own errors, which are optimistic: it won because they are
  // small.
  bool cross_fit = true;
  // Errors are divided by the phase factor of their target step (the spread
  // by hour of day, or by day of week for daily steps, from the whole
  // history) and the intervals multiplied by their step's factor.
  bool phase_profile = true;
  // Widen the calibrated intervals by sqrt(1 + 1 / w), w being the number of
  // non-overlapping backtest windows (the quantiles come from that many
  // nearly independent draws, as a prediction interval from an estimated
  // scale does).
  bool finite_sample_correction = true;
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
  // The model used and its backtest scores: a candidate's name, or
  // kEnsembleModel for the mean of several candidates' forecasts.
  std::string model;
  // The candidates averaged when model is kEnsembleModel, best first; empty
  // otherwise.
  std::vector<std::string> ensemble_members;
  double backtest_mase = 0;
  double backtest_smape = 0;
  // True when the backtest's choice was replaced because it missed a break at
  // the end of the history (a level shift or ramp the backtest cannot score);
  // `model` is then the candidate that followed the break best, and
  // backtest_mase its own score.
  bool recent_break = false;
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

// Whether the seasonal profile model can fit and backtest `points` steps: a
// season of at least two steps, and more points than the model's minimum
// history (two seasons; a week and a day for sub-daily steps, which also
// carry day-of-week offsets).
bool SeasonalProfileApplicable(const SeasonPeriods& periods, int64_t points);

// The local error scale of `filled` before index `end`: the mean absolute
// difference |values[t] - values[t - period]| over the observed pairs with t
// in [end - window, end), floored at `floor`; `floor` when there is no pair.
// `period` >= 1, `window` >= 1.
double LocalErrorScale(const FilledSeries& filled, int64_t end, int64_t period, int64_t window,
                       double floor);

// OK for a model this core implements ("seasonal_naive", "naive",
// "fourier_regression", "damped_trend", "seasonal_profile", "seasonal_ar") or
// for the empty name (automatic choice); UNIMPLEMENTED ("model: ...") for
// "holt_winters", which the API names but this core does not offer;
// INVALID_ARGUMENT ("model: ...") otherwise.
absl::Status CheckModelName(absl::string_view name);

// Forecasts `history` (gaps as NaN) as `spec` says:
// 1. gaps are filled (FillGaps with the daily season, or the weekly one for
//    daily data);
// 2. the candidates are, in this order, seasonal naive and naive, the
//    Fourier regression (when applicable), damped trend and the seasonal
//    profile (when applicable) and seasonal AR (when applicable), or the
//    model the spec names;
// 3. each candidate is backtested on the same rolling origins (PlanBacktest:
//    the most recent part of the history); MASE is scaled by the in-sample
//    seasonal naive MAE of the whole history with the primary season (period
//    1 when there is none);
// 4. the candidate with the lowest backtest MASE wins (ties: the first);
//    when the model was not named, the mean of the forecasts of the best two
//    and of the best three candidates (finite MASE) are backtested too, from
//    the same forecasts, and the lowest MASE of the three wins (a
//    combination must be strictly better): model kEnsembleModel;
// 5. the winner forecasts from the whole history. Intervals come from
//    backtest errors: those of the selection itself, cross-fitted (the
//    choice of step 4 made on every other origin and scored on the origins
//    in between, and the other way round) when the model was not named,
//    else the model's own. Each error is divided by the local error scale
//    before its origin (LocalErrorScale: mean absolute primary-season
//    difference over the last local_scale_seasons seasons, floored at 5 % of
//    the whole history's) and by the phase factor of its target step (the
//    mean absolute seasonal difference of the whole history in that step's
//    hour of day, or day of week for daily steps, relative to all of them;
//    24 buckets at most, 1 where a bucket holds fewer than 10 pairs, at least
//    0.1). A step's error scale is then the root mean square of the
//    normalized errors of the steps within h / 10 of it (widened up to
//    max(2, h / 4) until the pool holds min_errors_for_empirical errors), and
//    its interval is the point plus the 10/90 % and 2.5/97.5 % quantiles of
//    all normalized errors divided by their step's scale, times its scale,
//    the local scale at the end of the history, its phase factor and
//    sqrt(1 + 1 / w), w being the backtest's non-overlapping windows
//    ((last origin - first origin + horizon) / horizon, at most the origins).
//    A step whose pool stays too small (or beyond the backtest horizon) gets
//    the point +- z * the model's standard deviation (z = 1.2816 / 1.96; for
//    an ensemble, the mean of the members' deviations).
// INVALID_ARGUMENT ("step: ...", "horizon: ...", "model: ...") for a bad
// spec; UNIMPLEMENTED for a model not offered yet; FAILED_PRECONDITION
// ("history: ..." or "model: ...") when the history is too short for the
// forecast or for the model named.
absl::StatusOr<ForecastResult> ForecastSeries(const RegularSeries& history,
                                              const ForecastSpec& spec);

}  // namespace agentwatch::capacity
