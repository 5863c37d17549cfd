// Seasonal profile with a smoothed level: a robust, fast-adapting seasonal
// model (in the family of additive Holt-Winters with two seasons) for series
// whose daily shape is stable but whose level wanders from day to day
// (weather, load that moves with the news, a level shift).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "capacity/core/models.h"

namespace agentwatch::capacity {

// Seasons averaged into the profile (at most).
inline constexpr int64_t kProfileSeasons = 7;
// Weeks averaged into the day-of-week offsets (at most).
inline constexpr int64_t kProfileWeeks = 4;

// The fitted parts at one origin, exposed for tests.
struct SeasonalProfileFit {
  // profile[j]: the mean departure of phase j (t mod period) from its
  // season's mean; sums to about 0.
  std::vector<double> profile;
  // day_offsets[d]: the mean departure of day d (floor(t / period) mod 7)
  // from its week's mean; empty without day-of-week offsets.
  std::vector<double> day_offsets;
  // The smoothed level of the deseasonalised series at the origin.
  double level = 0;
  // Level smoothing per step, in (0, 1].
  double alpha = 0;
};

// y_t = level_t + profile(t mod m) + offset(floor(t / m) mod 7) + e_t, m being
// the daily period (the weekly one for daily data, without offsets):
// - the profile is the trimmed mean (the smallest and largest value left out
//   from five seasons on) over the last kProfileSeasons whole seasons before
//   the origin of each phase's departure from its season's mean;
// - with a daily and a weekly period, the day-of-week offsets are the mean
//   departure of each day's mean from its week's mean over the last (at most
//   kProfileWeeks) whole weeks, shrunk towards 0 by how much of their spread
//   the week-to-week noise explains (James-Stein; by half with one week);
// - the level is an exponentially weighted mean of the deseasonalised
//   values whose steps are clipped to 4 robust standard deviations of their
//   step-to-step changes (1.4826 x the median absolute change / sqrt 2; spikes
//   do not move it) unless max(3, m / 24) steps in a row are clipped the same
//   way: a level shift, after which the level restarts at their mean; its
//   smoothing alpha = 1 - 2^(-1 / half_life), the half
//   life chosen among {1, m / 12, m / 4, m, 4 m} steps by the lowest in-sample
//   mean absolute error at four leads spread over the horizon;
// - the forecast is level + profile + offset; the error standard deviation
//   at lead h is the in-sample root mean square error at the nearest
//   evaluated leads, interpolated.
// In a backtest the half life is chosen once, before the first origin, the
// profile and offsets are redone once the origin has moved a season past the
// last decomposition, and the level filter runs once through the origins.
// Needs two seasons (one week and a day with day-of-week offsets).
class SeasonalProfileModel final : public ForecastModel {
 public:
  // `daily_period` and `weekly_period` in steps (1 when the step has no such
  // season); at least one must be >= 2 (asserted in debug).
  SeasonalProfileModel(int64_t daily_period, int64_t weekly_period);

  absl::string_view name() const override { return kSeasonalProfileModel; }
  int64_t MinHistory() const override;
  absl::StatusOr<ModelForecast> Forecast(absl::Span<const double> history,
                                         int64_t horizon) const override;
  absl::StatusOr<std::vector<ModelForecast>> ForecastFromOrigins(absl::Span<const double> history,
                                                                 absl::Span<const int64_t> origins,
                                                                 int64_t horizon) const override;

  // Fits on `history` (at least MinHistory() points) for forecasts of
  // `horizon` steps as Forecast() does.
  absl::StatusOr<SeasonalProfileFit> Fit(absl::Span<const double> history, int64_t horizon) const;

  int64_t period() const { return period_; }
  bool day_offsets() const { return days_per_week_ > 0; }

 private:
  struct Parts;
  // The profile and offsets from history[0, origin).
  Parts Decompose(absl::Span<const double> history, int64_t origin) const;
  // Seasonal part (profile + offset) of step t.
  double Seasonal(const Parts& parts, int64_t t) const;
  // Chooses alpha on history[0, origin) for forecasts of `horizon` steps and
  // fills the in-sample error scale per evaluated lead.
  void ChooseAlpha(absl::Span<const double> history, int64_t origin, int64_t horizon,
                   Parts* parts) const;
  // Runs the level filter over the steps before `origin`.
  void SmoothLevel(absl::Span<const double> history, int64_t origin, Parts* parts) const;
  ModelForecast FromParts(const Parts& parts, int64_t origin, int64_t horizon) const;

  int64_t period_;
  // 7 when day-of-week offsets apply (sub-daily steps with both seasons).
  int64_t days_per_week_;
  // Clipped level steps the same way in a row that make a level shift.
  int64_t shift_run_;
};

}  // namespace agentwatch::capacity
