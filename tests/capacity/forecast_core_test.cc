// Unit tests of the capacity forecast core: alignment, gap filling, models,
// accuracy measures, backtest planning, selection and intervals.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "absl/time/time.h"
#include "capacity/core/accuracy.h"
#include "capacity/core/backtest.h"
#include "capacity/core/damped_trend.h"
#include "capacity/core/forecast.h"
#include "capacity/core/fourier_regression.h"
#include "capacity/core/models.h"
#include "capacity/core/seasonal_ar.h"
#include "capacity/core/series.h"
#include "common/testing/status_matchers.h"

namespace agentwatch::capacity {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::AllOf;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const absl::Time kStart = absl::FromUnixSeconds(int64_t{1'700'000'000} / 86400 * 86400);

// A known daily profile at an hourly step: low at night, a peak at 14:00.
double DailyProfile(int64_t hour_of_day) {
  return 100 + 60 * std::sin(2 * M_PI * static_cast<double>(hour_of_day) / 24.0) +
         (hour_of_day == 14 ? 40 : 0);
}

ForecastSpec Spec(int64_t horizon) {
  ForecastSpec spec;
  spec.horizon = horizon;
  return spec;
}

RegularSeries HourlySeries(int64_t days) {
  RegularSeries series{kStart, absl::Hours(1), {}};
  for (int64_t i = 0; i < days * 24; ++i) series.values.push_back(DailyProfile(i % 24));
  return series;
}

// ---------------------------------------------------------------------------
// AlignAndSum
// ---------------------------------------------------------------------------

TEST(AlignAndSumTest, SumsSeriesOnTheGridAndFillsMissingStepsByPolicy) {
  const absl::Duration step = absl::Minutes(5);
  const std::vector<std::vector<TimedValue>> series = {
      {{kStart, 1}, {kStart + 2 * step, 3}, {kStart + 5 * step, 100}},  // last is out of range
      {{kStart, 10}, {kStart + 2 * step + absl::Minutes(1), 30}},       // off-grid: its step
  };
  const absl::Time end = kStart + 4 * step;
  auto counters = AlignAndSum(series, kStart, end, step, MissingStep::kZero);
  ASSERT_THAT(counters, IsOk());
  EXPECT_EQ(counters->start, kStart);
  EXPECT_EQ(counters->step, step);
  EXPECT_THAT(counters->values, ElementsAre(11, 0, 33, 0));

  auto gauges = AlignAndSum(series, kStart, end, step, MissingStep::kGap);
  ASSERT_THAT(gauges, IsOk());
  ASSERT_EQ(gauges->values.size(), 4u);
  EXPECT_EQ(gauges->values[0], 11);
  EXPECT_TRUE(std::isnan(gauges->values[1]));
  EXPECT_EQ(gauges->values[2], 33);
  EXPECT_TRUE(std::isnan(gauges->values[3]));
}

TEST(AlignAndSumTest, CountersAreGapsBeforeTheirFirstObservation) {
  const absl::Duration step = absl::Minutes(5);
  auto counters = AlignAndSum({{{kStart + 2 * step, 4}, {kStart + 4 * step, 6}}}, kStart,
                              kStart + 5 * step, step, MissingStep::kZero);
  ASSERT_THAT(counters, IsOk());
  ASSERT_EQ(counters->values.size(), 5u);
  EXPECT_TRUE(std::isnan(counters->values[0]));
  EXPECT_TRUE(std::isnan(counters->values[1]));
  EXPECT_EQ(counters->values[2], 4);
  EXPECT_EQ(counters->values[3], 0);
  EXPECT_EQ(counters->values[4], 6);
}

TEST(AlignAndSumTest, PartialLastStepCountsAndNonFiniteValuesAreGaps) {
  const absl::Duration step = absl::Minutes(5);
  auto series = AlignAndSum({{{kStart, kNaN}, {kStart + step, 2}}}, kStart,
                            kStart + step + absl::Minutes(1), step, MissingStep::kGap);
  ASSERT_THAT(series, IsOk());
  ASSERT_EQ(series->values.size(), 2u);
  EXPECT_TRUE(std::isnan(series->values[0]));
  EXPECT_EQ(series->values[1], 2);
}

TEST(AlignAndSumTest, RejectsZeroStepAndReversedRange) {
  EXPECT_THAT(
      AlignAndSum({}, kStart, kStart + absl::Hours(1), absl::ZeroDuration(), MissingStep::kZero),
      StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("step:")));
  EXPECT_THAT(
      AlignAndSum({}, kStart, kStart - absl::Hours(1), absl::Minutes(1), MissingStep::kZero),
      StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("range:")));
}

// ---------------------------------------------------------------------------
// FillGaps
// ---------------------------------------------------------------------------

TEST(FillGapsTest, TrimsLeadingGapsAndFillsSeasonallyThenLinearlyThenByLastValue) {
  const absl::Duration step = absl::Hours(1);
  // Season 3. Index (after trimming two leading gaps):
  //  0  1  2  3    4    5  6    7    8
  //  1  2  3  NaN  5    6  NaN  NaN  NaN
  // 3: seasonal from 0 -> 1. 6: seasonal from 3? imputed, not a source; from 9?
  // outside; no later observation -> last observed (6). 7: seasonal from 4 -> 5.
  // 8: seasonal from 5 -> 6.
  const RegularSeries series{kStart, step, {kNaN, kNaN, 1, 2, 3, kNaN, 5, 6, kNaN, kNaN, kNaN}};
  auto filled = FillGaps(series, 3);
  ASSERT_THAT(filled, IsOk());
  EXPECT_EQ(filled->start, kStart + 2 * step);
  EXPECT_EQ(filled->trimmed, 2);
  EXPECT_EQ(filled->imputed, 4);
  EXPECT_EQ(filled->observed_count, 5);
  EXPECT_THAT(filled->values, ElementsAre(1, 2, 3, 1, 5, 6, 6, 5, 6));
  EXPECT_THAT(filled->observed, ElementsAre(1, 1, 1, 0, 1, 1, 0, 0, 0));
}

TEST(FillGapsTest, UsesTheNextSeasonWhenThePreviousIsMissingAndInterpolatesWithoutSeason) {
  const absl::Duration step = absl::Hours(1);
  // Season 2: index 1 has no value one season before, index 3 has one after.
  auto seasonal = FillGaps({kStart, step, {10, kNaN, 30, 40}}, 2);
  ASSERT_THAT(seasonal, IsOk());
  EXPECT_THAT(seasonal->values, ElementsAre(10, 40, 30, 40));

  // No season: linear interpolation across a two-step gap.
  auto linear = FillGaps({kStart, step, {10, kNaN, kNaN, 40}}, 1);
  ASSERT_THAT(linear, IsOk());
  EXPECT_THAT(linear->values, ElementsAre(10, 20, 30, 40));
  EXPECT_EQ(linear->imputed, 2);
}

TEST(FillGapsTest, NothingObservedIsFailedPrecondition) {
  EXPECT_THAT(FillGaps({kStart, absl::Hours(1), {kNaN, kNaN}}, 1),
              StatusIs(absl::StatusCode::kFailedPrecondition, StartsWith("history:")));
  EXPECT_THAT(FillGaps({kStart, absl::Hours(1), {}}, 1),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(FillGaps({kStart, absl::ZeroDuration(), {1}}, 1),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("step:")));
}

// ---------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------

TEST(ModelsTest, NaiveRepeatsTheLastValueWithSqrtHSpread) {
  const std::vector<double> history = {1, 3, 2, 4};  // differences 2, -1, 2: RMS sqrt(3)
  auto forecast = NaiveModel().Forecast(history, 4);
  ASSERT_THAT(forecast, IsOk());
  EXPECT_THAT(forecast->mean, ElementsAre(4, 4, 4, 4));
  ASSERT_EQ(forecast->sd.size(), 4u);
  for (int h = 1; h <= 4; ++h) {
    EXPECT_NEAR(forecast->sd[h - 1], std::sqrt(3.0) * std::sqrt(h), 1e-12) << h;
  }
}

TEST(ModelsTest, SeasonalNaiveRepeatsTheLastSeasonWithSqrtSeasonsSpread) {
  // Period 3; lag-3 differences 1, 2, 0: RMS sqrt(5/3).
  const std::vector<double> history = {1, 2, 3, 2, 4, 3};
  SeasonalNaiveModel model(3);
  EXPECT_EQ(model.MinHistory(), 4);
  auto forecast = model.Forecast(history, 7);
  ASSERT_THAT(forecast, IsOk());
  EXPECT_THAT(forecast->mean, ElementsAre(2, 4, 3, 2, 4, 3, 2));
  const double sigma = std::sqrt(5.0 / 3.0);
  EXPECT_NEAR(forecast->sd[0], sigma, 1e-12);
  EXPECT_NEAR(forecast->sd[2], sigma, 1e-12);
  EXPECT_NEAR(forecast->sd[3], sigma * std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(forecast->sd[6], sigma * std::sqrt(3.0), 1e-12);
}

TEST(ModelsTest, BadInputs) {
  EXPECT_THAT(NaiveModel().Forecast(std::vector<double>{1}, 3),
              StatusIs(absl::StatusCode::kFailedPrecondition, StartsWith("history:")));
  EXPECT_THAT(SeasonalNaiveModel(4).Forecast(std::vector<double>{1, 2, 3, 4}, 3),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("at least 5")));
  EXPECT_THAT(NaiveModel().Forecast(std::vector<double>{1, 2}, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("horizon:")));
}

// ---------------------------------------------------------------------------
// Accuracy measures, on hand-computed examples
// ---------------------------------------------------------------------------

TEST(AccuracyTest, MaseOnAHandComputedExample) {
  // In-sample lag-2 differences: |3-1|, |4-2|, |5-3|, |6-4| = 2 each: scale 2.
  const std::vector<double> insample = {1, 2, 3, 4, 5, 6};
  // Errors |7-5| = 2 and |8-8| = 0: MAE 1, MASE 0.5.
  auto mase = Mase(std::vector<double>{7, 8}, std::vector<double>{5, 8}, insample, 2);
  ASSERT_THAT(mase, IsOk());
  EXPECT_DOUBLE_EQ(*mase, 0.5);
  // Lag 1: differences all 1, so MASE = MAE = 1.
  EXPECT_THAT(Mase(std::vector<double>{7, 8}, std::vector<double>{5, 8}, insample, 1),
              ::agentwatch::testing::IsOkAndHolds(DoubleNear(1.0, 1e-12)));
}

TEST(AccuracyTest, ScaleSkipsPairsWithAnImputedValue) {
  // Lag 1 pairs: (1,3) imputed 3 skipped, (3,4) skipped, (4,8): |8-4| = 4 only.
  const std::vector<double> values = {1, 3, 4, 8};
  const std::vector<uint8_t> observed = {1, 0, 1, 1};
  EXPECT_THAT(SeasonalNaiveMae(values, observed, 1),
              ::agentwatch::testing::IsOkAndHolds(DoubleNear(4.0, 1e-12)));
  EXPECT_THAT(SeasonalNaiveMae(values, std::vector<uint8_t>{1, 0, 1, 0}, 2),
              ::agentwatch::testing::IsOkAndHolds(DoubleNear(3.0, 1e-12)));
  EXPECT_THAT(SeasonalNaiveMae(values, std::vector<uint8_t>{0, 1, 0, 1}, 2),
              ::agentwatch::testing::IsOkAndHolds(DoubleNear(5.0, 1e-12)));
  EXPECT_THAT(SeasonalNaiveMae(values, std::vector<uint8_t>{1, 0, 0, 1}, 2),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(AccuracyTest, ZeroScale) {
  const std::vector<double> flat = {5, 5, 5};
  EXPECT_THAT(Mase(std::vector<double>{5}, std::vector<double>{5}, flat, 1),
              ::agentwatch::testing::IsOkAndHolds(0.0));
  auto infinite = Mase(std::vector<double>{6}, std::vector<double>{5}, flat, 1);
  ASSERT_THAT(infinite, IsOk());
  EXPECT_TRUE(std::isinf(*infinite));
}

TEST(AccuracyTest, SmapeOnAHandComputedExample) {
  // Terms: 200*10/210 = 9.5238..., 0 (both zero), 200*50/50 = 200.
  auto smape = Smape(std::vector<double>{100, 0, 50}, std::vector<double>{110, 0, 0});
  ASSERT_THAT(smape, IsOk());
  EXPECT_NEAR(*smape, (200.0 * 10.0 / 210.0 + 0.0 + 200.0) / 3.0, 1e-12);
  EXPECT_NEAR(*smape, 69.84126984126985, 1e-9);
}

TEST(AccuracyTest, BadInputs) {
  EXPECT_THAT(Smape(std::vector<double>{1, 2}, std::vector<double>{1}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Smape(std::vector<double>{}, std::vector<double>{}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Mase(std::vector<double>{1}, std::vector<double>{1}, std::vector<double>{1, 2}, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("m:")));
  EXPECT_THAT(Mase(std::vector<double>{1}, std::vector<double>{1}, std::vector<double>{1, 2}, 2),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(AccuracyTest, QuantileUsesWeibullPlottingPositions) {
  // The k-th of n = 4 values is the k/5 quantile.
  EXPECT_DOUBLE_EQ(Quantile({4, 1, 3, 2}, 0.2), 1);
  EXPECT_DOUBLE_EQ(Quantile({4, 1, 3, 2}, 0.4), 2);
  EXPECT_DOUBLE_EQ(Quantile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Quantile({4, 1, 3, 2}, 0.7), 3.5);
  // Clamped beyond the first and last positions.
  EXPECT_DOUBLE_EQ(Quantile({4, 1, 3, 2}, 0.1), 1);
  EXPECT_DOUBLE_EQ(Quantile({4, 1, 3, 2}, 0.0), 1);
  EXPECT_DOUBLE_EQ(Quantile({4, 1, 3, 2}, 0.9), 4);
  EXPECT_DOUBLE_EQ(Quantile({7}, 0.975), 7);
  // 39 values 1..39: the 2.5 % and 97.5 % quantiles are exactly the extremes.
  std::vector<double> values;
  for (int i = 1; i <= 39; ++i) values.push_back(i);
  EXPECT_DOUBLE_EQ(Quantile(values, 0.025), 1);
  EXPECT_DOUBLE_EQ(Quantile(values, 0.975), 39);
  EXPECT_DOUBLE_EQ(Quantile(values, 0.10), 4);
}

// ---------------------------------------------------------------------------
// Backtest
// ---------------------------------------------------------------------------

TEST(BacktestTest, PlansOriginsOverTheLastPartOfTheHistory) {
  // 14 days hourly, one-day horizon, seasonal naive needs 25 points.
  auto plan = PlanBacktest(336, 24, 25, BacktestOptions{});
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->horizon, 24);
  // The span allows origins from 336 - 24 - 168 = 144 on; 48 of them fit
  // 3 steps apart (at most ceil(24 / 6) = 4), ending at the last one.
  ASSERT_EQ(plan->origins.size(), 48u);
  EXPECT_EQ(plan->origins.front(), 336 - 24 - 47 * 3);
  EXPECT_EQ(plan->origins.back(), 336 - 24);
  for (size_t i = 1; i < plan->origins.size(); ++i) {
    EXPECT_EQ(plan->origins[i] - plan->origins[i - 1], 3);
  }
}

TEST(BacktestTest, ShortHistoryCapsTheScoredHorizonAndTheOrigins) {
  // 30 points, min_train 25: 5 spare points, scored horizon 2, origins 25..28.
  auto plan = PlanBacktest(30, 24, 25, BacktestOptions{});
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->horizon, 2);
  EXPECT_THAT(plan->origins, ElementsAre(25, 26, 27, 28));
  // One spare point: a single origin scoring one step.
  auto tight = PlanBacktest(26, 24, 25, BacktestOptions{});
  ASSERT_THAT(tight, IsOk());
  EXPECT_EQ(tight->horizon, 1);
  EXPECT_THAT(tight->origins, ElementsAre(25));
}

TEST(BacktestTest, BadPlans) {
  EXPECT_THAT(PlanBacktest(25, 24, 25, BacktestOptions{}),
              StatusIs(absl::StatusCode::kFailedPrecondition, StartsWith("history:")));
  EXPECT_THAT(PlanBacktest(100, 0, 25, BacktestOptions{}),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("horizon:")));
  EXPECT_THAT(PlanBacktest(100, 5, 25, BacktestOptions{0, 0.5}),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("max_origins:")));
  EXPECT_THAT(PlanBacktest(100, 5, 25, BacktestOptions{10, 0}),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("origin_span_fraction:")));
}

TEST(BacktestTest, ScoresHandComputedErrorsOnObservedPointsOnly) {
  // Naive on 0, 1, 2, ..., 9 with origins 6 and 8, two steps each: forecasts
  // 5,5 for actuals 6,7 (errors 1, 2) and 7,7 for actuals 8,9 (errors 1, 2).
  FilledSeries history;
  history.step = absl::Hours(1);
  for (int i = 0; i < 10; ++i) history.values.push_back(i);
  history.observed.assign(10, 1);
  history.observed[9] = 0;  // imputed: not scored
  const BacktestPlan plan{2, {6, 8}};
  auto score = Backtest(NaiveModel(), history, plan, /*scale=*/2.0);
  ASSERT_THAT(score, IsOk());
  EXPECT_EQ(score->evaluated, 3);
  EXPECT_DOUBLE_EQ(score->mase, (1.0 + 2.0 + 1.0) / 3.0 / 2.0);
  EXPECT_NEAR(score->smape, (200.0 / 11 + 400.0 / 12 + 200.0 / 15) / 3.0, 1e-12);
  EXPECT_THAT(score->errors_by_step[0], ElementsAre(1, 1));
  EXPECT_THAT(score->errors_by_step[1], ElementsAre(2));
}

// ---------------------------------------------------------------------------
// ForecastSeries
// ---------------------------------------------------------------------------

// Three days of a small daily cycle at a 5-minute step (a few runs per step,
// deterministic noise), and optionally a ramp over its last two hours (33 to
// 192 per step): the shape of agentwatch demo's traffic ramp.
RegularSeries QuietDaysThenRamp(bool ramp) {
  RegularSeries series{kStart, absl::Minutes(5), {}};
  uint64_t state = 12345;
  for (int64_t i = 0; i < 864; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const double noise = static_cast<double>(state >> 33) / static_cast<double>(1ULL << 31);
    series.values.push_back(
        std::round(std::max(0.0, 2 + 2 * std::sin(2 * M_PI * static_cast<double>(i) / 288) +
                                     2 * (noise - 0.5))));
  }
  if (ramp) {
    for (int64_t k = 0; k < 24; ++k) series.values[840 + k] = 33 + std::round(159.0 * k / 23);
  }
  return series;
}

TEST(ForecastSeriesTest, ABreakAfterTheBacktestsReachReplacesTheBacktestsChoice) {
  auto result = ForecastSeries(QuietDaysThenRamp(true), Spec(72));
  ASSERT_THAT(result, IsOk());
  // The backtest alone (its origins end 72 steps before the ramp's end) would
  // choose a model that forecasts the quiet days.
  const auto best_on_backtest = std::min_element(
      result->candidates.begin(), result->candidates.end(),
      [](const ModelScore& a, const ModelScore& b) { return a.mase < b.mase; });
  ASSERT_NE(best_on_backtest, result->candidates.end());
  EXPECT_NE(best_on_backtest->model, result->model);
  EXPECT_TRUE(result->recent_break);
  // The forecast follows the ramp instead: it starts near its last value.
  ASSERT_FALSE(result->points.empty());
  EXPECT_GT(result->points[0].value, 150);
}

TEST(ForecastSeriesTest, NoBreakKeepsTheBacktestsChoice) {
  auto result = ForecastSeries(QuietDaysThenRamp(false), Spec(72));
  ASSERT_THAT(result, IsOk());
  EXPECT_FALSE(result->recent_break);
  ASSERT_FALSE(result->points.empty());
  EXPECT_LT(result->points[0].value, 20);
}

TEST(ForecastSeriesTest, SeasonalNaiveRecoversAKnownDailySeasonalityExactly) {
  const RegularSeries history = HourlySeries(7);
  auto result = ForecastSeries(history, Spec(48));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->model, kSeasonalNaiveModel);
  EXPECT_EQ(result->season_period, 24);
  EXPECT_EQ(result->history_points, 168);
  EXPECT_EQ(result->imputed_points, 0);
  EXPECT_DOUBLE_EQ(result->backtest_mase, 0);
  EXPECT_DOUBLE_EQ(result->backtest_smape, 0);
  ASSERT_EQ(result->candidates.size(), 5u);
  EXPECT_EQ(result->candidates[0].model, kSeasonalNaiveModel);
  EXPECT_EQ(result->candidates[0].mase, 0);
  EXPECT_EQ(result->candidates[1].model, kNaiveModel);
  EXPECT_GT(result->candidates[1].mase, 0.5);
  EXPECT_GT(result->candidates[1].smape, 1);
  // Six harmonics cannot draw the one-hour spike: close, not exact.
  EXPECT_EQ(result->candidates[2].model, kFourierRegressionModel);
  EXPECT_GT(result->candidates[2].mase, 0);  // infinite: the scale is 0
  EXPECT_EQ(result->candidates[3].model, kDampedTrendModel);
  // Seasonal AR adds nothing to an exact repetition (the differences are 0).
  EXPECT_EQ(result->candidates[4].model, kSeasonalArModel);
  EXPECT_EQ(result->candidates[4].mase, 0);

  ASSERT_EQ(result->points.size(), 48u);
  for (int64_t h = 1; h <= 48; ++h) {
    const ForecastPoint& point = result->points[static_cast<size_t>(h - 1)];
    const int64_t index = 168 + h - 1;
    EXPECT_EQ(point.time, kStart + index * absl::Hours(1)) << h;
    EXPECT_DOUBLE_EQ(point.value, DailyProfile(index % 24)) << h;
    // A perfect fit: zero-width intervals, whichever way they are computed.
    EXPECT_DOUBLE_EQ(point.lower_95, point.value) << h;
    EXPECT_DOUBLE_EQ(point.upper_95, point.value) << h;
  }
}

TEST(ForecastSeriesTest, GapsAndNaNsAreFilledAndReported) {
  RegularSeries history = HourlySeries(7);
  // Leading gap of 5 hours (trimmed), scattered gaps, and the last 3 hours missing.
  for (int i = 0; i < 5; ++i) history.values[i] = kNaN;
  for (int i : {30, 31, 32, 77, 100, 140}) history.values[i] = kNaN;
  for (int i = 165; i < 168; ++i) history.values[i] = kNaN;
  auto result = ForecastSeries(history, Spec(24));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->trimmed_points, 5);
  EXPECT_EQ(result->history_points, 163);
  EXPECT_EQ(result->imputed_points, 9);
  EXPECT_EQ(result->model, kSeasonalNaiveModel);
  EXPECT_DOUBLE_EQ(result->backtest_mase, 0);
  ASSERT_EQ(result->points.size(), 24u);
  for (int64_t h = 1; h <= 24; ++h) {
    const int64_t index = 168 + h - 1;
    EXPECT_EQ(result->points[h - 1].time, kStart + index * absl::Hours(1));
    EXPECT_DOUBLE_EQ(result->points[h - 1].value, DailyProfile(index % 24)) << h;
  }
}

TEST(ForecastSeriesTest, ChoosesTheLowestBacktestMase) {
  // A straight trend, no seasonality: the regression's trend term draws it
  // exactly; naive lags by h steps of slope, seasonal naive by a whole day.
  RegularSeries history{kStart, absl::Hours(1), {}};
  for (int i = 0; i < 96; ++i) history.values.push_back(2.0 * i);
  auto result = ForecastSeries(history, Spec(6));
  ASSERT_THAT(result, IsOk());
  ASSERT_EQ(result->candidates.size(), 5u);
  EXPECT_EQ(result->model, kFourierRegressionModel);
  for (const ModelScore& score : result->candidates) {
    EXPECT_LE(result->backtest_mase, score.mase) << score.model;
  }
  EXPECT_LT(result->backtest_mase, 1e-5);
  // Naive backtest errors at h = 1..6 are 2h; the scale is the lag-24 MAE, 48.
  EXPECT_NEAR(result->candidates[1].mase, 7.0 / 48.0, 1e-12);
  EXPECT_LT(result->candidates[3].mase, result->candidates[1].mase);  // damped beats naive
  EXPECT_NEAR(result->points[0].value, 192, 1e-4);
  EXPECT_NEAR(result->points[5].value, 202, 1e-4);
}

TEST(ForecastSeriesTest, ShortHistoryFallsBackToNonSeasonalModels) {
  // 30 hours: less than two days, so neither seasonal naive nor the
  // regression is a candidate.
  RegularSeries history{kStart, absl::Hours(1), {}};
  for (int i = 0; i < 30; ++i) history.values.push_back(DailyProfile(i % 24));
  auto result = ForecastSeries(history, Spec(5));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->season_period, 1);
  ASSERT_EQ(result->candidates.size(), 2u);
  EXPECT_EQ(result->candidates[0].model, kNaiveModel);
  EXPECT_EQ(result->candidates[1].model, kDampedTrendModel);

  // Asking for a seasonal model explicitly is a failed precondition naming it.
  ForecastSpec seasonal = Spec(5);
  seasonal.model = kSeasonalNaiveModel;
  EXPECT_THAT(ForecastSeries(history, seasonal),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(StartsWith("model: seasonal_naive"), HasSubstr("two days"))));
  seasonal.model = kFourierRegressionModel;
  EXPECT_THAT(ForecastSeries(history, seasonal),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(StartsWith("model: fourier_regression"), HasSubstr("three days"))));
}

TEST(ForecastSeriesTest, NamedModelHasNoCandidates) {
  ForecastSpec spec = Spec(24);
  spec.model = kNaiveModel;
  auto result = ForecastSeries(HourlySeries(3), spec);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->model, kNaiveModel);
  EXPECT_TRUE(result->candidates.empty());
  EXPECT_GT(result->backtest_mase, 0);
}

TEST(ForecastSeriesTest, StepThatDoesNotDivideADayHasNoSeasonalModel) {
  EXPECT_EQ(DailySeasonPeriod(absl::Minutes(5)), 288);
  EXPECT_EQ(DailySeasonPeriod(absl::Hours(1)), 24);
  EXPECT_EQ(DailySeasonPeriod(absl::Minutes(7)), 1);
  EXPECT_EQ(DailySeasonPeriod(absl::Hours(24)), 1);
  EXPECT_EQ(DailySeasonPeriod(absl::Hours(48)), 1);
  EXPECT_EQ(WeeklySeasonPeriod(absl::Hours(24)), 7);
  EXPECT_EQ(WeeklySeasonPeriod(absl::Minutes(7)), 1440);
  EXPECT_EQ(WeeklySeasonPeriod(absl::Minutes(11)), 1);
  EXPECT_EQ(WeeklySeasonPeriod(absl::Hours(96)), 1);
  RegularSeries history{kStart, absl::Minutes(11), std::vector<double>(1000, 1.0)};
  ForecastSpec spec = Spec(10);
  spec.model = kSeasonalNaiveModel;
  EXPECT_THAT(ForecastSeries(history, spec),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("divides one day")));
}

TEST(ForecastSeriesTest, NonNegativeClampsPointsAndBounds) {
  // A noisy series around 1: the lower bounds would go below zero.
  std::mt19937 random(7);
  std::normal_distribution<double> noise(0, 3);
  RegularSeries history{kStart, absl::Hours(1), {}};
  for (int i = 0; i < 24 * 7; ++i) history.values.push_back(1 + noise(random));
  ForecastSpec spec = Spec(24);
  spec.non_negative = true;
  auto result = ForecastSeries(history, spec);
  ASSERT_THAT(result, IsOk());
  bool clamped = false;
  for (const ForecastPoint& point : result->points) {
    EXPECT_GE(point.value, 0);
    EXPECT_GE(point.lower_95, 0);
    EXPECT_GE(point.lower_80, 0);
    clamped = clamped || point.lower_95 == 0;
  }
  EXPECT_TRUE(clamped);
}

TEST(ForecastSeriesTest, BadInputs) {
  EXPECT_THAT(ForecastSeries({kStart, absl::ZeroDuration(), std::vector<double>(100, 1)}, Spec(5)),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("step:")));
  EXPECT_THAT(ForecastSeries(HourlySeries(3), Spec(0)),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("horizon:")));
  // Too short: 11 observed points (the minimum is 12).
  EXPECT_THAT(ForecastSeries({kStart, absl::Hours(1), std::vector<double>(11, 1)}, Spec(5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("at least 12")));
  // Enough points but too few observed.
  std::vector<double> sparse(100, kNaN);
  for (int i = 0; i < 100; i += 10) sparse[i] = i;
  EXPECT_THAT(ForecastSeries({kStart, absl::Hours(1), sparse}, Spec(5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, StartsWith("history:")));
  EXPECT_THAT(ForecastSeries({kStart, absl::Hours(1), {}}, Spec(5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, StartsWith("history:")));
  ForecastSpec unknown = Spec(5);
  unknown.model = "prophet";
  EXPECT_THAT(ForecastSeries(HourlySeries(3), unknown),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("model:")));
  ForecastSpec planned = Spec(5);
  planned.model = "holt_winters";
  EXPECT_THAT(ForecastSeries(HourlySeries(3), planned),
              StatusIs(absl::StatusCode::kUnimplemented, StartsWith("model:")));
}

// Fraction of future actuals inside the 80 % and 95 % intervals, over many
// independent noisy series with a daily profile.
struct Coverage {
  double within_80 = 0;
  double within_95 = 0;
  int64_t empirical_steps = 0;
};

Coverage MeasureCoverage(int64_t min_errors_for_empirical) {
  constexpr int kSeries = 40;
  constexpr int kDays = 14;
  constexpr int kHorizon = 24;
  std::mt19937 random(20240611);
  std::normal_distribution<double> noise(0, 8);
  int inside_80 = 0;
  int inside_95 = 0;
  int total = 0;
  Coverage coverage;
  for (int s = 0; s < kSeries; ++s) {
    RegularSeries history{kStart, absl::Hours(1), {}};
    for (int i = 0; i < kDays * 24; ++i)
      history.values.push_back(DailyProfile(i % 24) + noise(random));
    ForecastSpec spec = Spec(kHorizon);
    spec.model = kSeasonalNaiveModel;
    spec.min_errors_for_empirical = min_errors_for_empirical;
    auto result = ForecastSeries(history, spec);
    EXPECT_THAT(result, IsOk());
    if (!result.ok()) return coverage;
    coverage.empirical_steps += result->empirical_interval_steps;
    for (int h = 0; h < kHorizon; ++h) {
      const double actual = DailyProfile((kDays * 24 + h) % 24) + noise(random);
      const ForecastPoint& point = result->points[h];
      inside_80 += (actual >= point.lower_80 && actual <= point.upper_80) ? 1 : 0;
      inside_95 += (actual >= point.lower_95 && actual <= point.upper_95) ? 1 : 0;
      ++total;
    }
  }
  coverage.within_80 = static_cast<double>(inside_80) / total;
  coverage.within_95 = static_cast<double>(inside_95) / total;
  return coverage;
}

TEST(ForecastSeriesTest, EmpiricalIntervalsCoverNominally) {
  const Coverage coverage = MeasureCoverage(30);
  // Every step of every forecast used the backtest errors (48 origins each).
  EXPECT_EQ(coverage.empirical_steps, 40 * 24);
  EXPECT_GE(coverage.within_80, 0.72);
  EXPECT_LE(coverage.within_80, 0.88);
  EXPECT_GE(coverage.within_95, 0.90);
  EXPECT_LE(coverage.within_95, 0.99);
}

TEST(ForecastSeriesTest, ResidualIntervalsCoverNominally) {
  const Coverage coverage = MeasureCoverage(1000);
  EXPECT_EQ(coverage.empirical_steps, 0);
  EXPECT_GE(coverage.within_80, 0.72);
  EXPECT_LE(coverage.within_80, 0.88);
  EXPECT_GE(coverage.within_95, 0.90);
  EXPECT_LE(coverage.within_95, 0.99);
}

TEST(ForecastSeriesTest, ResidualIntervalsWidenBySeasonsAhead) {
  // Seasonal naive on noisy data, two days ahead, residual-based intervals:
  // the second day's half-width is sqrt(2) times the first day's.
  std::mt19937 random(3);
  std::normal_distribution<double> noise(0, 5);
  RegularSeries history{kStart, absl::Hours(1), {}};
  for (int i = 0; i < 24 * 7; ++i) history.values.push_back(DailyProfile(i % 24) + noise(random));
  ForecastSpec spec = Spec(48);
  spec.model = kSeasonalNaiveModel;
  spec.min_errors_for_empirical = 1000;
  auto result = ForecastSeries(history, spec);
  ASSERT_THAT(result, IsOk());
  const double sigma = LagDifferenceRms(history.values, 24);
  for (int h : {1, 24}) {
    const ForecastPoint& point = result->points[h - 1];
    EXPECT_NEAR(point.upper_80 - point.value, kZ80 * sigma, 1e-9) << h;
    EXPECT_NEAR(point.value - point.lower_95, kZ95 * sigma, 1e-9) << h;
  }
  for (int h : {25, 48}) {
    const ForecastPoint& point = result->points[h - 1];
    EXPECT_NEAR(point.upper_95 - point.value, kZ95 * sigma * std::sqrt(2.0), 1e-9) << h;
  }
}

// ---------------------------------------------------------------------------
// Fourier regression, damped trend, selection among them
// ---------------------------------------------------------------------------

// Trend + daily + weekly seasonality at an hourly step, with noise.
std::vector<double> TrendDailyWeekly(int64_t points, double noise_sd, uint32_t seed) {
  std::mt19937 random(seed);
  std::normal_distribution<double> noise(0, noise_sd);
  std::vector<double> values;
  for (int64_t t = 0; t < points; ++t) {
    const double x = static_cast<double>(t);
    values.push_back(200 + 0.05 * x + 30 * std::sin(2 * M_PI * x / 24) +
                     12 * std::cos(2 * M_PI * x / 168) + noise(random));
  }
  return values;
}

TEST(FourierRegressionTest, RecoversTrendDailyAndWeeklySeasonality) {
  const FourierRegressionModel model(24, 168);
  ASSERT_EQ(model.daily_harmonics(), 6);
  ASSERT_EQ(model.weekly_harmonics(), 3);
  const std::vector<double> history = TrendDailyWeekly(24 * 7 * 6, 1.0, 11);
  auto fit = model.Fit(history);
  ASSERT_THAT(fit, IsOk());
  ASSERT_EQ(fit->coefficients.size(), 2u + 12 + 6);
  EXPECT_NEAR(fit->coefficients[1], 0.05, 0.002);  // trend per step
  EXPECT_NEAR(fit->coefficients[2], 0, 0.2);       // daily cos k=1
  EXPECT_NEAR(fit->coefficients[3], 30, 0.2);      // daily sin k=1
  EXPECT_NEAR(fit->coefficients[14], 12, 0.3);     // weekly cos k=1
  EXPECT_NEAR(fit->coefficients[15], 0, 0.3);      // weekly sin k=1
  EXPECT_NEAR(fit->residual_rms, 1.0, 0.1);
  EXPECT_EQ(fit->outliers, 0);

  // The forecast continues the truth within the noise.
  const std::vector<double> future = TrendDailyWeekly(24 * 7 * 6 + 48, 0.0, 11);
  auto forecast = model.Forecast(history, 48);
  ASSERT_THAT(forecast, IsOk());
  for (int h = 1; h <= 48; ++h) {
    EXPECT_NEAR(forecast->mean[h - 1], future[history.size() + h - 1], 1.0) << h;
    EXPECT_GT(forecast->sd[h - 1], 0.5) << h;
    EXPECT_LT(forecast->sd[h - 1], 2.0) << h;
  }
}

TEST(FourierRegressionTest, OutliersAreLeftOutOfTheRefit) {
  const FourierRegressionModel model(24, 1);
  std::vector<double> history = TrendDailyWeekly(24 * 14, 0.5, 5);
  for (int64_t t = 0; t < 24 * 14; ++t) history[t] -= 12 * std::cos(2 * M_PI * t / 168.0);
  std::vector<double> spiked = history;
  ASSERT_EQ(model.window(), 192);  // eight days: points 144..335
  for (int t : {150, 220, 221, 300}) spiked[t] += 5000;
  auto clean = model.Fit(history);
  auto robust = model.Fit(spiked);
  ASSERT_THAT(clean, IsOk());
  ASSERT_THAT(robust, IsOk());
  EXPECT_EQ(clean->outliers, 0);
  EXPECT_EQ(robust->outliers, 4);
  EXPECT_NEAR(robust->residual_rms, clean->residual_rms, 0.05);
  for (size_t i = 0; i < clean->coefficients.size(); ++i) {
    // The same fit but for the four points left out.
    EXPECT_NEAR(robust->coefficients[i], clean->coefficients[i], 0.05) << i;
  }
}

TEST(FourierRegressionTest, OriginsMatchForecastsFromEachPrefix) {
  const FourierRegressionModel model(24, 168);
  const std::vector<double> history = TrendDailyWeekly(24 * 7 * 12, 3.0, 2);
  const std::vector<int64_t> origins = {24 * 7 * 3, 24 * 7 * 9, 24 * 7 * 12 - 10};
  auto together = model.ForecastFromOrigins(history, origins, 10);
  ASSERT_THAT(together, IsOk());
  ASSERT_EQ(together->size(), origins.size());
  for (size_t o = 0; o < origins.size(); ++o) {
    auto alone = model.Forecast(absl::MakeConstSpan(history).subspan(0, origins[o]), 10);
    ASSERT_THAT(alone, IsOk());
    for (int h = 0; h < 10; ++h) {
      EXPECT_NEAR((*together)[o].mean[h], alone->mean[h], 1e-6) << o << " " << h;
      EXPECT_NEAR((*together)[o].sd[h], alone->sd[h], 1e-6) << o << " " << h;
    }
  }
  EXPECT_THAT(model.ForecastFromOrigins(history, {500, 400}, 5),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("origins:")));
  EXPECT_THAT(model.Forecast(absl::MakeConstSpan(history).subspan(0, 300), 5),
              StatusIs(absl::StatusCode::kFailedPrecondition, StartsWith("history:")));
}

TEST(DampedTrendTest, FollowsALinearTrendAndWidensWithTheHorizon) {
  std::mt19937 random(9);
  std::normal_distribution<double> noise(0, 0.5);
  std::vector<double> history;
  for (int t = 0; t < 300; ++t) history.push_back(10 + 3.0 * t + noise(random));
  const DampedTrendModel model;
  auto forecast = model.Forecast(history, 10);
  ASSERT_THAT(forecast, IsOk());
  for (int h = 1; h <= 10; ++h) {
    // Damped: up to phi = 0.98 per step short of the line, plus the noise.
    EXPECT_NEAR(forecast->mean[h - 1], 10 + 3.0 * (299 + h), 0.15 * 3.0 * h + 3) << h;
  }
  for (int h = 1; h < 10; ++h) EXPECT_GT(forecast->sd[h], forecast->sd[h - 1]) << h;
  auto from_origins = model.ForecastFromOrigins(history, {100, 300}, 10);
  ASSERT_THAT(from_origins, IsOk());
  EXPECT_NEAR((*from_origins)[1].mean[0], 10 + 3.0 * 300, 3);
  EXPECT_NEAR((*from_origins)[0].mean[0], 10 + 3.0 * 100, 3);
  EXPECT_THAT(model.Forecast(absl::MakeConstSpan(history).subspan(0, 3), 1),
              StatusIs(absl::StatusCode::kFailedPrecondition, StartsWith("history:")));
}

TEST(ForecastSeriesTest, SelectsTheRegressionForTrendDailyAndWeeklySeasonality) {
  const RegularSeries history{kStart, absl::Hours(1), TrendDailyWeekly(24 * 28, 4.0, 3)};
  auto result = ForecastSeries(history, Spec(24));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->model, kFourierRegressionModel);
  ASSERT_EQ(result->candidates.size(), 6u);
  EXPECT_EQ(result->candidates[4].model, kSeasonalProfileModel);
  EXPECT_EQ(result->candidates[5].model, kSeasonalArModel);
  // Well below seasonal naive, which carries a day of trend, two days of noise
  // and a day of the weekly cycle into every error.
  EXPECT_LT(result->backtest_mase, 0.8 * result->candidates[0].mase);
}

TEST(ForecastSeriesTest, TrendModelsBeatTheNaiveOnesOnADriftingSeries) {
  std::mt19937 random(4);
  std::normal_distribution<double> noise(0, 0.2);
  RegularSeries history{kStart, absl::Hours(1), {}};
  double level = 100;
  for (int i = 0; i < 24 * 10; ++i) {
    level += 1.0 + noise(random);
    history.values.push_back(level);
  }
  auto result = ForecastSeries(history, Spec(12));
  ASSERT_THAT(result, IsOk());
  ASSERT_EQ(result->candidates.size(), 6u);
  EXPECT_TRUE(result->model == kDampedTrendModel || result->model == kFourierRegressionModel)
      << result->model;
  EXPECT_LT(result->candidates[3].mase, 0.5 * result->candidates[1].mase);  // damped vs naive
}

TEST(ForecastSeriesTest, DailyDataUsesTheWeeklySeason) {
  RegularSeries history{kStart, absl::Hours(24), {}};
  std::mt19937 random(8);
  std::normal_distribution<double> noise(0, 1);
  for (int d = 0; d < 200; ++d) {
    history.values.push_back(100 + (d % 7 >= 5 ? -30 : 0) + noise(random));
  }
  auto result = ForecastSeries(history, Spec(7));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->season_period, 7);
  ASSERT_EQ(result->candidates.size(), 6u);
  EXPECT_EQ(result->candidates[4].model, kSeasonalProfileModel);
  EXPECT_EQ(result->candidates[0].model, kSeasonalNaiveModel);
  EXPECT_NE(result->model, kNaiveModel);
  EXPECT_NE(result->model, kDampedTrendModel);
  for (int h = 1; h <= 7; ++h) {
    const int d = 200 + h - 1;
    EXPECT_NEAR(result->points[h - 1].value, 100 + (d % 7 >= 5 ? -30 : 0), 4) << h;
  }
}

TEST(ForecastSeriesTest, AutomaticIntervalsCoverNominally) {
  // Noisy trend + daily + weekly series: whichever model wins, its backtest
  // errors give the intervals.
  constexpr int kSeries = 30;
  constexpr int kHorizon = 24;
  constexpr int kPoints = 24 * 28;
  int inside_80 = 0;
  int inside_95 = 0;
  int total = 0;
  for (int s = 0; s < kSeries; ++s) {
    const std::vector<double> all = TrendDailyWeekly(kPoints + kHorizon, 5.0, 100 + s);
    const RegularSeries history{kStart, absl::Hours(1),
                                std::vector<double>(all.begin(), all.begin() + kPoints)};
    auto result = ForecastSeries(history, Spec(kHorizon));
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->empirical_interval_steps, kHorizon);
    for (int h = 0; h < kHorizon; ++h) {
      const double actual = all[kPoints + h];
      const ForecastPoint& point = result->points[h];
      inside_80 += (actual >= point.lower_80 && actual <= point.upper_80) ? 1 : 0;
      inside_95 += (actual >= point.lower_95 && actual <= point.upper_95) ? 1 : 0;
      ++total;
    }
  }
  EXPECT_NEAR(static_cast<double>(inside_80) / total, 0.80, 0.07);
  EXPECT_NEAR(static_cast<double>(inside_95) / total, 0.95, 0.04);
}

}  // namespace
}  // namespace agentwatch::capacity
