// Unit tests of the forecast intervals on synthetic series whose noise is
// known, so that the true coverage is known: nominal coverage with Gaussian
// noise, coverage by hour of day when the spread depends on the hour, after a
// volatility shift, and the seasonal AR model.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "absl/time/time.h"
#include "capacity/core/forecast.h"
#include "capacity/core/models.h"
#include "capacity/core/seasonal_ar.h"
#include "capacity/core/series.h"
#include "common/testing/status_matchers.h"

namespace agentwatch::capacity {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const absl::Time kStart = absl::FromUnixSeconds(int64_t{1'700'000'000} / 86400 * 86400);

// A daily cycle at an hourly step.
double Cycle(int64_t t) { return 100 + 30 * std::sin(2 * M_PI * static_cast<double>(t % 24) / 24); }

// Hits of the 80 % and 95 % intervals.
struct Hits {
  int64_t inside_80 = 0;
  int64_t inside_95 = 0;
  int64_t total = 0;
  double half_width_80 = 0;  // sum over the scored points

  void Add(const ForecastPoint& point, double actual) {
    inside_80 += (actual >= point.lower_80 && actual <= point.upper_80) ? 1 : 0;
    inside_95 += (actual >= point.lower_95 && actual <= point.upper_95) ? 1 : 0;
    half_width_80 += (point.upper_80 - point.lower_80) / 2;
    ++total;
  }
  double Coverage80() const { return static_cast<double>(inside_80) / static_cast<double>(total); }
  double Coverage95() const { return static_cast<double>(inside_95) / static_cast<double>(total); }
  double MeanHalfWidth80() const { return half_width_80 / static_cast<double>(total); }
};

// Noise standard deviation of hour t: `busy` from 09:00 to 17:59, `quiet`
// otherwise.
double HourlySd(int64_t t, double busy, double quiet) {
  const int64_t hour = t % 24;
  return hour >= 9 && hour <= 17 ? busy : quiet;
}

// Forecasts the next day of `series` independent series of `days` days drawn
// by `draw(t, random)` and scores the intervals against fresh draws; hits of
// the busy hours (09-17) and of the others apart.
template <typename Draw>
void ScoreDayAhead(int series, int days, const ForecastSpec& base, Draw draw, Hits* busy,
                   Hits* quiet) {
  std::mt19937 random(4242);
  for (int s = 0; s < series; ++s) {
    const int64_t points = int64_t{days} * 24;
    RegularSeries history{kStart, absl::Hours(1), {}};
    for (int64_t t = 0; t < points; ++t) history.values.push_back(draw(t, random));
    ForecastSpec spec = base;
    spec.horizon = 24;
    auto result = ForecastSeries(history, spec);
    ASSERT_THAT(result, IsOk());
    ASSERT_EQ(result->empirical_interval_steps, 24);
    for (int64_t h = 0; h < 24; ++h) {
      const int64_t t = points + h;
      const int64_t hour = t % 24;
      (hour >= 9 && hour <= 17 ? busy : quiet)
          ->Add(result->points[static_cast<size_t>(h)], draw(t, random));
    }
  }
}

TEST(ForecastIntervalsTest, GaussianNoiseCoversNominallyWithTheTrueWidth) {
  // Known noise: N(0, 6) around a daily cycle. The best forecast is the cycle,
  // so the true 80 % half-width is 1.2816 * 6; the automatic choice (and its
  // estimation error) should come close, and cover nominally.
  constexpr double kSd = 6;
  Hits busy, quiet;
  ScoreDayAhead(
      60, 28, ForecastSpec{},
      [](int64_t t, std::mt19937& r) { return Cycle(t) + std::normal_distribution<>(0, kSd)(r); },
      &busy, &quiet);
  Hits all = busy;
  all.inside_80 += quiet.inside_80;
  all.inside_95 += quiet.inside_95;
  all.total += quiet.total;
  all.half_width_80 += quiet.half_width_80;
  EXPECT_NEAR(all.Coverage80(), 0.80, 0.05);
  EXPECT_NEAR(all.Coverage95(), 0.95, 0.04);
  EXPECT_NEAR(all.MeanHalfWidth80(), kZ80 * kSd, 0.2 * kZ80 * kSd);
}

TEST(ForecastIntervalsTest, SpreadByHourOfDayIsCalibratedPerHour) {
  // Noise sd 10 in the busy hours and 2 at night: one width for every hour
  // would cover the night almost always and the busy hours far too rarely.
  const auto draw = [](int64_t t, std::mt19937& r) {
    return Cycle(t) + std::normal_distribution<>(0, HourlySd(t, 10, 2))(r);
  };
  Hits busy, quiet;
  ScoreDayAhead(60, 28, ForecastSpec{}, draw, &busy, &quiet);
  EXPECT_NEAR(busy.Coverage80(), 0.80, 0.07);
  EXPECT_NEAR(quiet.Coverage80(), 0.80, 0.07);
  EXPECT_GT(busy.Coverage95(), 0.88);
  EXPECT_GT(quiet.Coverage95(), 0.88);
  EXPECT_NEAR(busy.MeanHalfWidth80() / quiet.MeanHalfWidth80(), 5.0, 1.5);

  // Without the phase profile the same calibration misses both ways.
  ForecastSpec flat;
  flat.phase_profile = false;
  Hits flat_busy, flat_quiet;
  ScoreDayAhead(60, 28, flat, draw, &flat_busy, &flat_quiet);
  EXPECT_LT(flat_busy.Coverage80(), 0.65);
  EXPECT_GT(flat_quiet.Coverage80(), 0.95);
}

// 80 % coverage of the next day over 60 series whose noise sd goes from 2 to 8
// `days_since` days before the end of `days` days, with `spec`.
double CoverageAfterShift(int days, int days_since, const ForecastSpec& spec) {
  const auto draw = [days, days_since](int64_t t, std::mt19937& r) {
    const double sd = t >= int64_t{days - days_since} * 24 ? 8 : 2;
    return Cycle(t) + std::normal_distribution<>(0, sd)(r);
  };
  Hits busy, quiet;
  ScoreDayAhead(60, days, spec, draw, &busy, &quiet);
  return static_cast<double>(busy.inside_80 + quiet.inside_80) /
         static_cast<double>(busy.total + quiet.total);
}

TEST(ForecastIntervalsTest, VolatilityShiftInsideTheBacktestIsFollowed) {
  // The noise quadruples 5 or 12 days before the end of six weeks: the
  // backtest (the last three weeks of origins) holds both regimes. Raw errors
  // mix the quiet weeks in and cover too rarely. Errors in units of the local
  // scale keep the intervals as wide as the present noise; the local scale
  // lags the jump by its window (four days), so the errors of the origins
  // just after it look large and the intervals err on the wide side for a
  // while, not on the narrow one.
  ForecastSpec fixed;
  fixed.local_scale_seasons = 0;
  for (const int days_since : {5, 12}) {
    const double adaptive = CoverageAfterShift(42, days_since, ForecastSpec{});
    const double unadapted = CoverageAfterShift(42, days_since, fixed);
    EXPECT_GE(adaptive, 0.76) << days_since << " days; raw errors: " << unadapted;
    EXPECT_LE(adaptive, 0.92) << days_since << " days; raw errors: " << unadapted;
    EXPECT_LT(unadapted, 0.72) << days_since << " days; adaptive: " << adaptive;
  }
}

TEST(ForecastIntervalsTest, LocalErrorScaleIsTheRecentMeanSeasonalDifference) {
  // Seasonal differences (period 2) of 0, 1, 2, ..., 9 are all 2; of the
  // doubled second half, 4 once both values are doubled.
  FilledSeries filled;
  filled.step = absl::Hours(1);
  for (int i = 0; i < 20; ++i) {
    filled.values.push_back(i < 10 ? i : 2.0 * i);
    filled.observed.push_back(1);
  }
  EXPECT_DOUBLE_EQ(LocalErrorScale(filled, 10, 2, 4, 0), 2);
  EXPECT_DOUBLE_EQ(LocalErrorScale(filled, 20, 2, 4, 0), 4);
  // The pairs straddling the change: |20 - 8| and |22 - 9|... within the window.
  EXPECT_DOUBLE_EQ(LocalErrorScale(filled, 12, 2, 2, 0), (12.0 + 13.0) / 2);
  // Imputed values are not used; no pair leaves the floor.
  filled.observed[18] = 0;
  EXPECT_DOUBLE_EQ(LocalErrorScale(filled, 20, 2, 2, 0), 4);  // only 19 - 17
  EXPECT_DOUBLE_EQ(LocalErrorScale(filled, 1, 2, 4, 0.5), 0.5);
  EXPECT_DOUBLE_EQ(LocalErrorScale(filled, 20, 2, 4, 10), 10);
}

TEST(ForecastIntervalsTest, NamedModelIntervalsAreCalibratedToo) {
  Hits busy, quiet;
  ForecastSpec spec;
  spec.model = kSeasonalNaiveModel;
  ScoreDayAhead(
      60, 21, spec,
      [](int64_t t, std::mt19937& r) { return Cycle(t) + std::normal_distribution<>(0, 4)(r); },
      &busy, &quiet);
  const double coverage = static_cast<double>(busy.inside_80 + quiet.inside_80) /
                          static_cast<double>(busy.total + quiet.total);
  EXPECT_NEAR(coverage, 0.80, 0.06);
  // Seasonal naive's error is the difference of two draws: sd 4 * sqrt(2).
  const double half =
      (busy.half_width_80 + quiet.half_width_80) / static_cast<double>(busy.total + quiet.total);
  EXPECT_NEAR(half, kZ80 * 4 * std::sqrt(2.0), 0.2 * kZ80 * 4 * std::sqrt(2.0));
}

// ---------------------------------------------------------------------------
// Seasonal AR
// ---------------------------------------------------------------------------

TEST(SeasonalArModelTest, ForecastsLastSeasonPlusTheFadingDifference) {
  // Period 4; seasonal differences 1, 0.5, 0.25, ... halve each step, so the
  // least squares phi is exactly 0.5.
  std::vector<double> history = {10, 20, 30, 40};
  double difference = 8;
  for (int t = 4; t < 16; ++t) {
    history.push_back(history[static_cast<size_t>(t - 4)] + difference);
    difference /= 2;
  }
  const SeasonalArModel model(4);
  auto forecast = model.Forecast(history, 6);
  ASSERT_THAT(forecast, IsOk());
  const double last = history[15] - history[11];  // the last seasonal difference
  for (int h = 1; h <= 4; ++h) {
    EXPECT_NEAR(forecast->mean[static_cast<size_t>(h - 1)],
                history[static_cast<size_t>(15 + h - 4)] + std::pow(0.5, h) * last, 1e-9)
        << h;
  }
  // Beyond one season, on top of the forecast one season earlier.
  EXPECT_NEAR(forecast->mean[4], forecast->mean[0] + std::pow(0.5, 5) * last, 1e-9);
  // A perfect fit: no residual, no deviation.
  EXPECT_NEAR(forecast->sd[0], 0, 1e-9);
}

TEST(SeasonalArModelTest, RecoversPhiAndTheErrorGrowth) {
  // y = seasonal difference (period 24) follows AR(1) with phi 0.7, noise sd 1.
  std::mt19937 random(11);
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> x(24);
  for (int t = 0; t < 24; ++t) x[static_cast<size_t>(t)] = Cycle(t);
  double y = 0;
  for (int t = 24; t < 24 * 400; ++t) {
    y = 0.7 * y + noise(random);
    x.push_back(x[static_cast<size_t>(t - 24)] + y);
  }
  const SeasonalArModel model(24);
  auto forecast = model.Forecast(x, 48);
  ASSERT_THAT(forecast, IsOk());
  const double last = x.back() - x[x.size() - 25];
  // phi from the one-step forecast: mean[0] = x[n - 24] + phi * last.
  const double phi = (forecast->mean[0] - x[x.size() - 24]) / last;
  EXPECT_NEAR(phi, 0.7, 0.03);
  EXPECT_NEAR(forecast->sd[0], 1, 0.05);
  // Two steps: psi = 1, phi; the AR(1) variance sum.
  EXPECT_NEAR(forecast->sd[1], forecast->sd[0] * std::sqrt(1 + phi * phi), 1e-9);
  // The deviation keeps growing with the horizon (a seasonal random walk).
  EXPECT_GT(forecast->sd[30], forecast->sd[10]);
}

TEST(SeasonalArModelTest, OriginsMatchPrefixForecastsAndInputsAreChecked) {
  std::mt19937 random(5);
  std::normal_distribution<double> noise(0, 3);
  std::vector<double> x;
  for (int t = 0; t < 24 * 10; ++t) x.push_back(Cycle(t) + noise(random));
  const SeasonalArModel model(24);
  const std::vector<int64_t> origins = {30, 100, 101, 200};
  auto shared = model.ForecastFromOrigins(x, origins, 30);
  ASSERT_THAT(shared, IsOk());
  ASSERT_EQ(shared->size(), origins.size());
  for (size_t o = 0; o < origins.size(); ++o) {
    auto alone = model.Forecast(absl::Span<const double>(x).subspan(0, origins[o]), 30);
    ASSERT_THAT(alone, IsOk());
    for (size_t k = 0; k < 30; ++k) {
      EXPECT_NEAR((*shared)[o].mean[k], alone->mean[k], 1e-9);
      EXPECT_NEAR((*shared)[o].sd[k], alone->sd[k], 1e-9);
    }
  }
  EXPECT_THAT(model.Forecast(absl::Span<const double>(x).subspan(0, 26), 5),
              StatusIs(absl::StatusCode::kFailedPrecondition, StartsWith("history:")));
  EXPECT_THAT(model.Forecast(x, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("horizon:")));
  const std::vector<int64_t> backwards = {100, 50};
  EXPECT_THAT(model.ForecastFromOrigins(x, backwards, 5),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("origins:")));
}

TEST(SeasonalArModelTest, IsACandidateAndCanBeNamed) {
  std::mt19937 random(8);
  std::normal_distribution<double> noise(0, 3);
  RegularSeries history{kStart, absl::Hours(1), {}};
  for (int t = 0; t < 24 * 14; ++t) history.values.push_back(Cycle(t) + noise(random));
  ForecastSpec spec;
  spec.horizon = 24;
  auto automatic = ForecastSeries(history, spec);
  ASSERT_THAT(automatic, IsOk());
  bool listed = false;
  for (const ModelScore& score : automatic->candidates) listed |= score.model == kSeasonalArModel;
  EXPECT_TRUE(listed);
  spec.model = kSeasonalArModel;
  auto named = ForecastSeries(history, spec);
  ASSERT_THAT(named, IsOk());
  EXPECT_EQ(named->model, kSeasonalArModel);
  EXPECT_THAT(CheckModelName(kSeasonalArModel), IsOk());
  // Too short: a day and a bit.
  history.values.resize(30);
  EXPECT_THAT(ForecastSeries(history, spec),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(StartsWith("model: seasonal_ar"), HasSubstr("two days"))));
}

}  // namespace
}  // namespace agentwatch::capacity
