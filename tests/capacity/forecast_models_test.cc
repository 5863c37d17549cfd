// Unit tests of the seasonal profile model, the backtest shortcuts (no
// look-ahead), ensembles and the backtest-calibrated intervals of the
// capacity forecast core.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "absl/time/time.h"
#include "capacity/core/backtest.h"
#include "capacity/core/forecast.h"
#include "capacity/core/fourier_regression.h"
#include "capacity/core/models.h"
#include "capacity/core/seasonal_profile.h"
#include "common/testing/status_matchers.h"

namespace agentwatch::capacity {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::StartsWith;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const absl::Time kStart = absl::FromUnixSeconds(int64_t{1'700'000'000} / 86400 * 86400);

// Hourly: a level, a daily sine, weekends `weekend` lower (days 5 and 6 of
// each week counted from t = 0), and Gaussian noise.
std::vector<double> Hourly(int64_t points, double level, double weekend, double noise_sd,
                           uint32_t seed) {
  std::mt19937 random(seed);
  std::normal_distribution<double> noise(0, noise_sd);
  std::vector<double> values;
  for (int64_t t = 0; t < points; ++t) {
    const double daily = 20 * std::sin(2 * M_PI * static_cast<double>(t % 24) / 24);
    const double day = (t / 24) % 7 >= 5 ? -weekend : 0;
    values.push_back(level + daily + day + noise(random));
  }
  return values;
}

// ---------------------------------------------------------------------------
// Seasonal profile
// ---------------------------------------------------------------------------

TEST(SeasonalProfileTest, RecoversTheDailyProfileTheWeekendAndTheLevel) {
  const SeasonalProfileModel model(24, 168);
  ASSERT_EQ(model.period(), 24);
  ASSERT_TRUE(model.day_offsets());
  EXPECT_EQ(model.MinHistory(), 24 * 8);
  const std::vector<double> history = Hourly(24 * 28, 100, 14, 1.0, 1);
  auto fit = model.Fit(history, 24);
  ASSERT_THAT(fit, IsOk());
  ASSERT_EQ(fit->profile.size(), 24u);
  for (int j = 0; j < 24; ++j) {
    EXPECT_NEAR(fit->profile[j], 20 * std::sin(2 * M_PI * j / 24.0), 1.0) << j;
  }
  // Weekdays 4 above the weekly mean (14 * 2 / 7), weekend days 10 below.
  ASSERT_EQ(fit->day_offsets.size(), 7u);
  for (int d = 0; d < 7; ++d) EXPECT_NEAR(fit->day_offsets[d], d >= 5 ? -10 : 4, 1.0) << d;
  // 28 days end on a Sunday: the next day is a weekday.
  EXPECT_NEAR(fit->level, 100 - 4, 1.5);

  const std::vector<double> truth = Hourly(24 * 30, 100, 14, 0.0, 1);
  auto forecast = model.Forecast(history, 48);
  ASSERT_THAT(forecast, IsOk());
  for (int h = 1; h <= 48; ++h) {
    EXPECT_NEAR(forecast->mean[h - 1], truth[history.size() + h - 1], 2.5) << h;
    EXPECT_GT(forecast->sd[h - 1], 0.5) << h;
    EXPECT_LT(forecast->sd[h - 1], 4.0) << h;
  }
}

TEST(SeasonalProfileTest, DayLevelsThatWanderGiveNoWeeklyOffsets) {
  // The daily mean wanders at random from day to day, with no weekly cycle:
  // the day-of-week offsets are shrunk towards 0.
  std::mt19937 random(5);
  std::normal_distribution<double> day_noise(0, 10);
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> history;
  for (int d = 0; d < 28; ++d) {
    const double level = 100 + day_noise(random);
    for (int h = 0; h < 24; ++h) {
      history.push_back(level + 20 * std::sin(2 * M_PI * h / 24.0) + noise(random));
    }
  }
  auto fit = SeasonalProfileModel(24, 168).Fit(history, 24);
  ASSERT_THAT(fit, IsOk());
  ASSERT_EQ(fit->day_offsets.size(), 7u);
  double largest = 0;
  for (const double offset : fit->day_offsets) largest = std::max(largest, std::fabs(offset));
  EXPECT_LT(largest, 4.0);  // unshrunk, the noise alone gives offsets around 5
}

TEST(SeasonalProfileTest, FollowsALevelShiftButNotASpike) {
  const SeasonalProfileModel model(24, 1);
  EXPECT_FALSE(model.day_offsets());
  EXPECT_EQ(model.MinHistory(), 48);
  std::vector<double> history = Hourly(24 * 14, 100, 0, 1.0, 7);
  // The level rises by 60 twelve hours before the end.
  std::vector<double> shifted = history;
  for (size_t t = shifted.size() - 12; t < shifted.size(); ++t) shifted[t] += 60;
  auto after_shift = model.Forecast(shifted, 24);
  ASSERT_THAT(after_shift, IsOk());
  const std::vector<double> truth = Hourly(24 * 15, 100, 0, 0.0, 7);
  for (int h = 1; h <= 24; ++h) {
    EXPECT_NEAR(after_shift->mean[h - 1], truth[shifted.size() + h - 1] + 60, 6) << h;
  }
  // One spike of +500 two hours before the end moves nothing much.
  std::vector<double> spiked = history;
  spiked[spiked.size() - 2] += 500;
  auto clean = model.Forecast(history, 24);
  auto robust = model.Forecast(spiked, 24);
  ASSERT_THAT(clean, IsOk());
  ASSERT_THAT(robust, IsOk());
  for (int h = 1; h <= 24; ++h) {
    EXPECT_NEAR(robust->mean[h - 1], clean->mean[h - 1], 3) << h;
    EXPECT_NEAR(robust->mean[h - 1], truth[spiked.size() + h - 1], 4) << h;
  }
}

TEST(SeasonalProfileTest, DailyDataUsesAWeeklyProfile) {
  const SeasonalProfileModel model(1, 7);
  EXPECT_EQ(model.period(), 7);
  EXPECT_FALSE(model.day_offsets());
  std::vector<double> history;
  for (int d = 0; d < 70; ++d) history.push_back(100 + (d % 7 >= 5 ? -40 : 0));
  auto forecast = model.Forecast(history, 7);
  ASSERT_THAT(forecast, IsOk());
  for (int h = 1; h <= 7; ++h) {
    const int d = 70 + h - 1;
    EXPECT_NEAR(forecast->mean[h - 1], 100 + (d % 7 >= 5 ? -40 : 0), 1e-9) << h;
  }
  EXPECT_THAT(model.Forecast(absl::MakeConstSpan(history).subspan(0, 13), 1),
              StatusIs(absl::StatusCode::kFailedPrecondition, StartsWith("history:")));
  EXPECT_THAT(model.Forecast(history, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("horizon:")));
}

// A backtest forecast from origin T must not depend on any value at or after
// T: changing them all leaves it as it was.
template <typename Model>
void ExpectNoLookAhead(const Model& model, const std::vector<double>& history,
                       const std::vector<int64_t>& origins, int64_t horizon) {
  auto reference = model.ForecastFromOrigins(history, origins, horizon);
  ASSERT_THAT(reference, IsOk());
  for (size_t o = 0; o < origins.size(); ++o) {
    std::vector<double> altered = history;
    for (size_t t = static_cast<size_t>(origins[o]); t < altered.size(); ++t) {
      altered[t] = altered[t] * 3 + 1000;
    }
    auto changed = model.ForecastFromOrigins(altered, origins, horizon);
    ASSERT_THAT(changed, IsOk());
    for (size_t p = 0; p <= o; ++p) {
      for (int64_t h = 0; h < horizon; ++h) {
        EXPECT_DOUBLE_EQ((*changed)[p].mean[h], (*reference)[p].mean[h])
            << "origin " << origins[p] << " altered from " << origins[o] << " h " << h;
      }
    }
  }
}

TEST(SeasonalProfileTest, BacktestForecastsUseNoValueAtOrAfterTheirOrigin) {
  const std::vector<double> history = Hourly(24 * 21, 100, 14, 3.0, 9);
  // Origins closer than a day share a decomposition; others redo it.
  ExpectNoLookAhead(SeasonalProfileModel(24, 168), history,
                    {24 * 10, 24 * 10 + 5, 24 * 12 + 3, 24 * 19, 24 * 20 + 1}, 24);
}

TEST(FourierRegressionTest, BacktestForecastsUseNoValueAtOrAfterTheirOrigin) {
  const std::vector<double> history = Hourly(24 * 21, 100, 14, 3.0, 10);
  // Origins closer than a day keep the last fit's coefficients.
  ExpectNoLookAhead(FourierRegressionModel(24, 1), history,
                    {24 * 10, 24 * 10 + 5, 24 * 12 + 3, 24 * 19, 24 * 20 + 1}, 24);
}

TEST(NaiveModelsTest, BacktestForecastsMatchForecastsFromEachPrefix) {
  const std::vector<double> history = Hourly(24 * 10, 100, 0, 3.0, 12);
  const std::vector<int64_t> origins = {30, 31, 100, 200};
  const NaiveModel naive;
  const SeasonalNaiveModel seasonal(24);
  for (const ForecastModel* model : std::vector<const ForecastModel*>{&naive, &seasonal}) {
    auto together = model->ForecastFromOrigins(history, origins, 30);
    ASSERT_THAT(together, IsOk());
    for (size_t o = 0; o < origins.size(); ++o) {
      auto alone = model->Forecast(absl::MakeConstSpan(history).subspan(0, origins[o]), 30);
      ASSERT_THAT(alone, IsOk());
      for (int h = 0; h < 30; ++h) {
        EXPECT_DOUBLE_EQ((*together)[o].mean[h], alone->mean[h]) << model->name() << " " << h;
        EXPECT_NEAR((*together)[o].sd[h], alone->sd[h], 1e-9) << model->name() << " " << h;
      }
    }
    EXPECT_THAT(model->ForecastFromOrigins(history, {20, 10}, 5),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("origins:")));
  }
}

// ---------------------------------------------------------------------------
// Backtest plans and combinations
// ---------------------------------------------------------------------------

TEST(BacktestPlanTest, LongHorizonsTakeFewerOriginsCloseTogether) {
  // Two weeks of 5-minute steps, a day ahead: 6000 / 288 -> 20 origins,
  // spread over the allowed half of the history (2016 steps: 2016 / 19 = 106
  // apart, under the cap of 288 / 2), ending one day before the end.
  auto plan = PlanBacktest(4032, 288, 576, BacktestOptions{});
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->horizon, 288);
  ASSERT_EQ(plan->origins.size(), 20u);
  EXPECT_EQ(plan->origins.back(), 4032 - 288);
  for (size_t i = 1; i < plan->origins.size(); ++i) {
    EXPECT_EQ(plan->origins[i] - plan->origins[i - 1], 106);
  }
  // Ten weeks: the origins are at most half a horizon apart.
  auto long_history = PlanBacktest(20160, 288, 576, BacktestOptions{});
  ASSERT_THAT(long_history, IsOk());
  ASSERT_EQ(long_history->origins.size(), 20u);
  EXPECT_EQ(long_history->origins.back(), 20160 - 288);
  EXPECT_EQ(long_history->origins[1] - long_history->origins[0], 144);
  // Daily data one step ahead: the last 48 days, one after the other.
  auto daily = PlanBacktest(1000, 1, 14, BacktestOptions{});
  ASSERT_THAT(daily, IsOk());
  ASSERT_EQ(daily->origins.size(), 48u);
  EXPECT_EQ(daily->origins.front(), 999 - 47);
  EXPECT_EQ(daily->origins.back(), 999);
  // Never fewer than kMinOrigins when the history has room.
  BacktestOptions tight;
  tight.max_scored_steps = 1;
  auto few = PlanBacktest(4032, 288, 576, tight);
  ASSERT_THAT(few, IsOk());
  EXPECT_EQ(few->origins.size(), static_cast<size_t>(kMinOrigins));
  tight.max_scored_steps = 0;
  EXPECT_THAT(PlanBacktest(4032, 288, 576, tight),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("max_scored_steps:")));
}

TEST(CombineBacktestsTest, TheMeanForecastHasTheMeanError) {
  BacktestScore a;
  a.errors_by_step = {{2, -4}, {6}};
  a.actuals_by_step = {{10, 10}, {20}};
  BacktestScore b;
  b.errors_by_step = {{-2, 0}, {2}};
  b.actuals_by_step = {{10, 10}, {20}};
  const std::vector<const BacktestScore*> both = {&a, &b};
  auto combined = CombineBacktests(both, /*scale=*/2.0);
  ASSERT_THAT(combined, IsOk());
  EXPECT_THAT(combined->errors_by_step[0], ElementsAre(0, -2));
  EXPECT_THAT(combined->errors_by_step[1], ElementsAre(4));
  EXPECT_EQ(combined->evaluated, 3);
  EXPECT_DOUBLE_EQ(combined->mase, (0 + 2 + 4) / 3.0 / 2.0);
  // Forecasts 10, 12 and 16 for actuals 10, 10 and 20.
  EXPECT_NEAR(combined->smape, (0 + 400.0 / 22 + 800.0 / 36) / 3.0, 1e-12);

  BacktestScore other;
  other.errors_by_step = {{1}, {1}};
  other.actuals_by_step = {{1}, {1}};
  const std::vector<const BacktestScore*> mismatched = {&a, &other};
  EXPECT_THAT(CombineBacktests(mismatched, 1.0),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("members:")));
  EXPECT_THAT(CombineBacktests({}, 1.0),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("members:")));
}

// ---------------------------------------------------------------------------
// ForecastSeries: the profile candidate, ensembles, intervals, bad history
// ---------------------------------------------------------------------------

TEST(ForecastSeriesTest, TheProfileIsACandidateFromEightDaysOfSubDailyData) {
  ForecastSpec spec;
  spec.horizon = 24;
  const RegularSeries week{kStart, absl::Hours(1), Hourly(24 * 8, 100, 10, 2.0, 3)};
  EXPECT_FALSE(SeasonalProfileApplicable(SeasonPeriodsFor(absl::Hours(1)), 24 * 8));
  auto short_result = ForecastSeries(week, spec);
  ASSERT_THAT(short_result, IsOk());
  EXPECT_EQ(short_result->candidates.size(), 5u);  // seasonal AR is, the profile not yet

  const RegularSeries month{kStart, absl::Hours(1), Hourly(24 * 28, 100, 10, 2.0, 3)};
  auto result = ForecastSeries(month, spec);
  ASSERT_THAT(result, IsOk());
  ASSERT_EQ(result->candidates.size(), 6u);
  EXPECT_EQ(result->candidates[4].model, kSeasonalProfileModel);
  // Far better than seasonal naive, which misses every Saturday and Monday.
  EXPECT_LT(result->candidates[4].mase, 0.8 * result->candidates[0].mase);

  ForecastSpec named = spec;
  named.model = kSeasonalProfileModel;
  EXPECT_THAT(CheckModelName(kSeasonalProfileModel), IsOk());
  auto chosen = ForecastSeries(month, named);
  ASSERT_THAT(chosen, IsOk());
  EXPECT_EQ(chosen->model, kSeasonalProfileModel);
  EXPECT_TRUE(chosen->candidates.empty());
  EXPECT_THAT(ForecastSeries(week, named), StatusIs(absl::StatusCode::kFailedPrecondition,
                                                    StartsWith("model: seasonal_profile")));
}

TEST(ForecastSeriesTest, AnEnsembleWinsOnlyWhenItBacktestsBetter) {
  // Noisy daily + weekly series: several candidates are close, and their
  // mean beats each of them.
  ForecastSpec spec;
  spec.horizon = 24;
  int ensembles = 0;
  for (uint32_t seed = 20; seed < 26; ++seed) {
    const RegularSeries history{kStart, absl::Hours(1), Hourly(24 * 28, 100, 10, 6.0, seed)};
    auto result = ForecastSeries(history, spec);
    ASSERT_THAT(result, IsOk());
    for (const ModelScore& score : result->candidates) {
      EXPECT_LE(result->backtest_mase, score.mase) << score.model;
    }
    if (result->model != kEnsembleModel) {
      EXPECT_TRUE(result->ensemble_members.empty());
      continue;
    }
    ++ensembles;
    ASSERT_GE(result->ensemble_members.size(), 2u);
    ASSERT_LE(result->ensemble_members.size(), 3u);
    // Members are the best candidates, best first, and strictly beaten.
    double previous = -1;
    for (const std::string& member : result->ensemble_members) {
      double mase = -1;
      for (const ModelScore& score : result->candidates) {
        if (score.model == member) mase = score.mase;
      }
      ASSERT_GE(mase, 0) << member;
      EXPECT_GE(mase, previous) << member;
      EXPECT_LT(result->backtest_mase, mase) << member;
      previous = mase;
    }
  }
  EXPECT_GT(ensembles, 0);

  // An exact season: seasonal naive is perfect and no mean can beat it.
  std::vector<double> exact = Hourly(24 * 28, 100, 0, 0.0, 1);
  auto perfect = ForecastSeries(RegularSeries{kStart, absl::Hours(1), exact}, spec);
  ASSERT_THAT(perfect, IsOk());
  EXPECT_EQ(perfect->model, kSeasonalNaiveModel);
  EXPECT_TRUE(perfect->ensemble_members.empty());
}

TEST(ForecastSeriesTest, PooledIntervalsCoverNominallyWithFewOrigins) {
  // 16 origins: fewer errors per step than the tail quantiles need, so
  // neighbouring steps are pooled and the errors standardised by step.
  constexpr int kSeries = 40;
  constexpr int kHorizon = 48;
  constexpr int kPoints = 24 * 21;
  int inside_80 = 0;
  int inside_95 = 0;
  int total = 0;
  for (int s = 0; s < kSeries; ++s) {
    const std::vector<double> all = Hourly(kPoints + kHorizon, 100, 10, 4.0, 300 + s);
    ForecastSpec spec;
    spec.horizon = kHorizon;
    spec.backtest.max_scored_steps = 16 * kHorizon;
    const RegularSeries history{kStart, absl::Hours(1),
                                std::vector<double>(all.begin(), all.begin() + kPoints)};
    auto result = ForecastSeries(history, spec);
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->backtest_origins, 16);
    EXPECT_EQ(result->empirical_interval_steps, kHorizon);
    for (int h = 0; h < kHorizon; ++h) {
      const double actual = all[kPoints + h];
      const ForecastPoint& point = result->points[h];
      EXPECT_LE(point.lower_95, point.lower_80);
      EXPECT_LE(point.lower_80, point.upper_80);
      EXPECT_LE(point.upper_80, point.upper_95);
      inside_80 += (actual >= point.lower_80 && actual <= point.upper_80) ? 1 : 0;
      inside_95 += (actual >= point.lower_95 && actual <= point.upper_95) ? 1 : 0;
      ++total;
    }
  }
  EXPECT_NEAR(static_cast<double>(inside_80) / total, 0.80, 0.06);
  EXPECT_NEAR(static_cast<double>(inside_95) / total, 0.95, 0.04);
}

TEST(ForecastSeriesTest, GapsNaNsAndSpikesInTheHistoryStayOutOfTheForecast) {
  std::vector<double> values = Hourly(24 * 28, 100, 10, 1.0, 40);
  const std::vector<double> truth = Hourly(24 * 29, 100, 10, 0.0, 40);
  // A six-hour gap, scattered NaNs and infinities, and spikes.
  for (int t = 24 * 20; t < 24 * 20 + 6; ++t) values[t] = kNaN;
  for (int t : {100, 333, 500, 641}) values[t] = kNaN;
  values[410] = std::numeric_limits<double>::infinity();
  for (int t : {200, 450, 600, 24 * 27 + 20}) values[t] += 400;
  ForecastSpec spec;
  spec.horizon = 24;
  auto result = ForecastSeries(RegularSeries{kStart, absl::Hours(1), values}, spec);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->imputed_points, 11);
  double absolute = 0;
  for (int h = 0; h < 24; ++h) absolute += std::fabs(result->points[h].value - truth[24 * 28 + h]);
  EXPECT_LT(absolute / 24, 3.0) << result->model;
}

}  // namespace
}  // namespace agentwatch::capacity
