#include "monitor/anomaly/detector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/time/time.h"
#include "common/testing/status_matchers.h"

namespace agentwatch::monitor::anomaly {
namespace {

using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;

constexpr double kPi = 3.14159265358979323846;
// A Monday, 00:00 UTC.
const absl::Time kStart = absl::FromUnixSeconds(1396224000);

StreamingDetector MakeDetector(int64_t probationary_points = 300) {
  DetectorOptions options;
  options.probationary_points = probationary_points;
  absl::StatusOr<StreamingDetector> detector = StreamingDetector::Create(options);
  EXPECT_TRUE(detector.ok()) << detector.status();
  return *detector;
}

// Gaussian noise with a fixed seed: every run sees the same series.
class Noise {
 public:
  explicit Noise(uint32_t seed) : engine_(seed) {}
  double operator()(double sigma) { return std::normal_distribution<double>(0, sigma)(engine_); }

 private:
  std::mt19937 engine_;
};

// The largest score over [begin, end) of `scores`.
double MaxScore(const std::vector<double>& scores, size_t begin, size_t end) {
  double max = 0;
  for (size_t i = begin; i < end && i < scores.size(); ++i) max = std::max(max, scores[i]);
  return max;
}

TEST(DetectorOptionsTest, RejectsOutOfRangeFieldsNamingThem) {
  DetectorOptions options;
  EXPECT_TRUE(options.Validate().ok());
  options.level_alpha = 0;
  EXPECT_THAT(StreamingDetector::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("level_alpha")));
  options = DetectorOptions();
  options.probationary_points = -1;
  EXPECT_THAT(options.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("probationary_points")));
  options = DetectorOptions();
  options.surprise_full = options.surprise_zero;
  EXPECT_THAT(options.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("surprise_full")));
  options = DetectorOptions();
  options.season_alpha = 1.5;
  EXPECT_THAT(options.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("season_alpha")));
  options = DetectorOptions();
  options.gap_intervals = 1;
  EXPECT_THAT(options.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("gap_intervals")));
  options = DetectorOptions();
  options.suppression_points = -1;
  EXPECT_THAT(options.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("suppression_points")));
  options.suppression_points = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(options.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("suppression_points")));
  options = DetectorOptions();
  options.suppression_share = 1.5;
  EXPECT_THAT(options.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("suppression_share")));
  options.suppression_share = -0.1;
  EXPECT_THAT(options.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("suppression_share")));
  options = DetectorOptions();
  options.suppression_points = 0;  // disabled
  options.suppression_share = 0;
  EXPECT_TRUE(options.Validate().ok());
}

TEST(DetectorTest, SpikeScoresHighAndNormalPointsLow) {
  StreamingDetector detector = MakeDetector();
  Noise noise(7);
  std::vector<double> scores;
  constexpr int kSpike = 1500;
  for (int i = 0; i < 2500; ++i) {
    double value = 100 + noise(2);
    if (i == kSpike) value += 30;  // 15 sigma
    scores.push_back(detector.Update(kStart + absl::Minutes(i), value).score);
  }
  EXPECT_GT(scores[kSpike], 0.9);
  EXPECT_LT(MaxScore(scores, 400, kSpike), 0.3);
  EXPECT_LT(MaxScore(scores, kSpike + 3, scores.size()), 0.3);
  for (double score : scores) {
    EXPECT_GE(score, 0);
    EXPECT_LE(score, 1);
  }
}

TEST(DetectorTest, DownwardSpikeIsAnomalousToo) {
  StreamingDetector detector = MakeDetector();
  Noise noise(11);
  double spike_score = 0;
  for (int i = 0; i < 1200; ++i) {
    const double value = 50 + noise(1) - (i == 1000 ? 12 : 0);
    const PointScore point = detector.Update(kStart + absl::Seconds(10 * i), value);
    if (i == 1000) spike_score = point.score;
  }
  EXPECT_GT(spike_score, 0.9);
}

TEST(DetectorTest, NoScoresDuringProbation) {
  StreamingDetector detector = MakeDetector(/*probationary_points=*/200);
  Noise noise(3);
  for (int i = 0; i < 200; ++i) {
    // Wild values while learning, including a huge spike.
    const double value = (i == 150 ? 1e6 : 10 + noise(5));
    const PointScore point = detector.Update(kStart + absl::Minutes(i), value);
    EXPECT_TRUE(point.learning) << i;
    EXPECT_EQ(point.score, 0) << i;
  }
  EXPECT_FALSE(detector.Update(kStart + absl::Minutes(200), 10).learning);
}

TEST(DetectorTest, LevelShiftIsDetectedWithinAFewPointsThenLearned) {
  StreamingDetector detector = MakeDetector();
  Noise noise(5);
  std::vector<double> scores;
  constexpr int kShift = 1200;
  for (int i = 0; i < 2400; ++i) {
    const double value = 20 + noise(1) + (i >= kShift ? 6 : 0);
    scores.push_back(detector.Update(kStart + absl::Minutes(5 * i), value).score);
  }
  EXPECT_LT(MaxScore(scores, 400, kShift), 0.3);
  EXPECT_GT(MaxScore(scores, kShift, kShift + 3), 0.9);
  // The new level becomes normal: no alarms long after the shift.
  EXPECT_LT(MaxScore(scores, kShift + 300, scores.size()), 0.3);
}

TEST(DetectorTest, SmallSustainedShiftIsCaughtByTheShiftSignal) {
  StreamingDetector detector = MakeDetector();
  Noise noise(9);
  std::vector<double> scores;
  constexpr int kShift = 1500;
  for (int i = 0; i < 1600; ++i) {
    // 4 sigma: no single point is extreme, the run of them is.
    const double value = noise(1) + (i >= kShift ? 4 : 0);
    scores.push_back(detector.Update(kStart + absl::Minutes(i), value).score);
  }
  EXPECT_LT(MaxScore(scores, 400, kShift), 0.3);
  EXPECT_GT(MaxScore(scores, kShift, kShift + 8), 0.8);
}

// 5-minute samples with a strong daily cycle (and weekends lower).
double Seasonal(int i, Noise& noise) {
  const absl::Time time = kStart + absl::Minutes(5 * i);
  const double hours = absl::ToDoubleHours(time - kStart);
  const int day = static_cast<int>(hours / 24) % 7;
  const double weekend = (day >= 5) ? -15 : 0;
  return 100 + 40 * std::sin(2 * kPi * hours / 24) + weekend + noise(1.5);
}

TEST(DetectorTest, DailyPeaksAreNotAnomaliesOnceLearned) {
  StreamingDetector detector = MakeDetector();
  Noise noise(21);
  std::vector<double> scores;
  constexpr int kPerDay = 288;
  for (int i = 0; i < 5 * kPerDay; ++i) {  // Monday to Friday
    scores.push_back(detector.Update(kStart + absl::Minutes(5 * i), Seasonal(i, noise)).score);
  }
  // Days 3 to 5: every peak and trough scores low.
  EXPECT_LT(MaxScore(scores, 2 * kPerDay, scores.size()), 0.3);
}

TEST(DetectorTest, PeakLevelAtNightIsAnomalous) {
  StreamingDetector detector = MakeDetector();
  Noise noise(22);
  constexpr int kPerDay = 288;
  // Thursday 18:00, the trough of the cycle (sin = -1).
  constexpr int kNight = 3 * kPerDay + 18 * 12;
  double night_score = 0;
  double expected = 0;
  for (int i = 0; i <= kNight; ++i) {
    double value = Seasonal(i, noise);
    if (i == kNight) value = 140;  // the daily peak's level, at the trough
    const PointScore point = detector.Update(kStart + absl::Minutes(5 * i), value);
    night_score = point.score;
    expected = point.expected;
  }
  EXPECT_NEAR(expected, 60, 8);  // the baseline knows the night is low
  EXPECT_GT(night_score, 0.9);
}

TEST(DetectorTest, WeeklyPatternIsLearned) {
  StreamingDetector detector = MakeDetector();
  Noise noise(23);
  std::vector<double> scores;
  constexpr int kPerDay = 288;
  for (int i = 0; i < 28 * kPerDay; ++i) {
    scores.push_back(detector.Update(kStart + absl::Minutes(5 * i), Seasonal(i, noise)).score);
  }
  // The first weekend surprises; by the fourth (days 26 and 27) the weekly
  // slots know it: almost every point scores low.
  auto high_points = [&](int first_day) {
    int high = 0;
    for (int i = first_day * kPerDay; i < (first_day + 2) * kPerDay; ++i) high += scores[i] > 0.3;
    return high;
  };
  EXPECT_GE(high_points(5), 1);
  EXPECT_LE(high_points(26), 2);
}

TEST(DetectorTest, MissingValuesAreReportedAndDoNotDisturbTheModel) {
  StreamingDetector with_gaps = MakeDetector();
  Noise noise(31);
  std::vector<double> scores;
  for (int i = 0; i < 1500; ++i) {
    const double value = 10 + noise(1);
    const absl::Time time = kStart + absl::Minutes(i);
    if (i % 97 == 0 && i > 500) {
      for (double missing :
           {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
        const PointScore point = with_gaps.Update(time, missing);
        EXPECT_TRUE(point.missing);
        EXPECT_EQ(point.score, 0);
        EXPECT_TRUE(std::isfinite(point.expected));
      }
    }
    scores.push_back(with_gaps.Update(time, value).score);
  }
  EXPECT_LT(MaxScore(scores, 400, scores.size()), 0.3);
  EXPECT_EQ(with_gaps.points(), 1500 + 2 * 10);
}

TEST(DetectorTest, FirstPointIsMissingThenLearns) {
  StreamingDetector detector = MakeDetector(0);
  const PointScore first = detector.Update(kStart, std::numeric_limits<double>::quiet_NaN());
  EXPECT_TRUE(first.missing);
  EXPECT_TRUE(std::isnan(first.expected));
  const PointScore second = detector.Update(kStart + absl::Minutes(1), 5);
  EXPECT_FALSE(second.missing);
  EXPECT_EQ(second.score, 0);
  EXPECT_NEAR(detector.Update(kStart + absl::Minutes(2), 5).expected, 5, 1e-12);
}

TEST(DetectorTest, GapsAndIrregularTimestampsStayQuiet) {
  StreamingDetector detector = MakeDetector();
  Noise noise(41);
  std::mt19937 jitter(41);
  std::vector<double> scores;
  absl::Time time = kStart;
  for (int i = 0; i < 3000; ++i) {
    // Intervals from 10 s to 110 s, and a 6-hour outage at point 1500.
    time += absl::Seconds(10 + static_cast<int>(jitter() % 100));
    if (i == 1500) time += absl::Hours(6);
    scores.push_back(detector.Update(time, 42 + noise(1)).score);
  }
  EXPECT_LT(MaxScore(scores, 400, scores.size()), 0.3);
}

TEST(DetectorTest, OutOfOrderAndDuplicateTimestampsAreScored) {
  StreamingDetector detector = MakeDetector(0);
  Noise noise(43);
  for (int i = 0; i < 500; ++i) detector.Update(kStart + absl::Minutes(i), noise(1));
  for (absl::Time time : {kStart + absl::Minutes(499), kStart + absl::Minutes(100)}) {
    const PointScore point = detector.Update(time, 0.5);
    EXPECT_FALSE(point.missing);
    EXPECT_GE(point.score, 0);
    EXPECT_LE(point.score, 0.3);
  }
  EXPECT_GT(detector.Update(kStart + absl::Minutes(501), 40).score, 0.9);
}

TEST(DetectorTest, ConstantSeriesThenAChangeIsAnomalous) {
  StreamingDetector detector = MakeDetector(100);
  std::vector<double> scores;
  for (int i = 0; i < 600; ++i) {
    scores.push_back(detector.Update(kStart + absl::Minutes(i), i < 500 ? 3.0 : 4.0).score);
  }
  EXPECT_EQ(MaxScore(scores, 100, 500), 0);
  EXPECT_GT(scores[500], 0.9);
}

TEST(DetectorTest, HugeValuesScoreOneAndStayFinite) {
  StreamingDetector detector = MakeDetector(100);
  Noise noise(71);
  for (int i = 0; i < 500; ++i) detector.Update(kStart + absl::Minutes(i), noise(1));
  const PointScore huge = detector.Update(kStart + absl::Minutes(500), 1e300);
  EXPECT_EQ(huge.score, 1);
  EXPECT_LE(huge.z, 1e6);
}

TEST(DetectorTest, StateIsBoundedAndIndependentOfLength) {
  static_assert(std::is_trivially_copyable_v<StreamingDetector>,
                "the detector holds no heap state");
  static_assert(StreamingDetector::StateBytes() <= 4096, "a few KB per series");
  StreamingDetector detector = MakeDetector();
  Noise noise(51);
  for (int i = 0; i < 200000; ++i) detector.Update(kStart + absl::Seconds(i), noise(1));
  EXPECT_EQ(detector.points(), 200000);
  EXPECT_EQ(sizeof(detector), StreamingDetector::StateBytes());
}

TEST(DetectorTest, DeterministicAndSnapshotsContinueIdentically) {
  StreamingDetector a = MakeDetector();
  StreamingDetector b = MakeDetector();
  Noise noise(61);
  std::vector<double> values;
  for (int i = 0; i < 3000; ++i) values.push_back(Seasonal(i, noise) + (i == 2500 ? 30 : 0));
  StreamingDetector snapshot = a;
  for (int i = 0; i < 3000; ++i) {
    const absl::Time time = kStart + absl::Minutes(5 * i);
    const PointScore pa = a.Update(time, values[i]);
    const PointScore pb = b.Update(time, values[i]);
    ASSERT_EQ(pa.score, pb.score) << i;
    if (i > 0) {
      ASSERT_EQ(pa.expected, pb.expected) << i;
    }
    if (i == 1000) snapshot = a;
    if (i > 1000) {
      ASSERT_EQ(snapshot.Update(time, values[i]).score, pa.score) << i;
    }
  }
}

TEST(DetectorTest, SpikeOnALearnedSeasonalPatternScoresHighTheNextPointDoesNot) {
  StreamingDetector detector = MakeDetector();
  Noise noise(24);
  constexpr int kPerDay = 288;
  // Wednesday of the second week, 06:00: the daily peak (sin = 1).
  constexpr int kSpike = 9 * kPerDay + 6 * 12;
  std::vector<double> scores;
  for (int i = 0; i < 10 * kPerDay; ++i) {
    const double value = Seasonal(i, noise) + (i == kSpike ? 25 : 0);  // ~16 sigma on the peak
    scores.push_back(detector.Update(kStart + absl::Minutes(5 * i), value).score);
  }
  EXPECT_GT(scores[kSpike], 0.9);
  EXPECT_LT(scores[kSpike + 1], 0.3);  // back to normal is not an anomaly
  EXPECT_LT(MaxScore(scores, 8 * kPerDay, kSpike), 0.3);
  EXPECT_LT(MaxScore(scores, kSpike + 1, scores.size()), 0.3);
}

TEST(DetectorTest, SaturatedScoresStillOrderByZ) {
  StreamingDetector a = MakeDetector(100);
  Noise noise(81);
  for (int i = 0; i < 1000; ++i) a.Update(kStart + absl::Minutes(i), 10 + noise(1));
  StreamingDetector b = a;
  const double moderate = a.Update(kStart + absl::Minutes(1000), 20).score;
  const double extreme = b.Update(kStart + absl::Minutes(1000), 200).score;
  EXPECT_GT(moderate, 0.95);
  EXPECT_GT(extreme, moderate);
  EXPECT_LE(extreme, 1);
}

// Scores of `values` (one a minute) with repeat suppression on (the
// defaults) or off.
std::vector<double> ScoresOf(const std::vector<double>& values, bool suppress) {
  DetectorOptions options;
  options.probationary_points = 300;
  if (!suppress) options.suppression_points = 0;
  absl::StatusOr<StreamingDetector> detector = StreamingDetector::Create(options);
  EXPECT_TRUE(detector.ok()) << detector.status();
  std::vector<double> scores;
  for (size_t i = 0; i < values.size(); ++i) {
    scores.push_back(
        detector->Update(kStart + absl::Minutes(static_cast<int64_t>(i)), values[i]).score);
  }
  return scores;
}

TEST(DetectorTest, RepeatSuppressionLowersTheScoresThatFollowAnAlert) {
  Noise noise(71);
  std::vector<double> values;
  constexpr int kShift = 1500;
  // A level shift of 25 sigma: the model needs many points to accept it.
  for (int i = 0; i < 2000; ++i) values.push_back(40 + noise(1) + (i >= kShift ? 25 : 0));
  const std::vector<double> held = ScoresOf(values, /*suppress=*/true);
  const std::vector<double> raw = ScoresOf(values, /*suppress=*/false);
  const DetectorOptions defaults;
  ASSERT_GT(defaults.suppression_points, 0);
  int raw_alerts = 0;
  int held_alerts = 0;
  for (int i = kShift; i < kShift + 20; ++i) {
    raw_alerts += raw[i] >= 0.5 ? 1 : 0;
    held_alerts += held[i] >= 0.5 ? 1 : 0;
  }
  EXPECT_GT(held[kShift], 0.9);
  EXPECT_EQ(held[kShift], raw[kShift]);
  EXPECT_GE(raw_alerts, 3);  // without suppression the shift alerts again and again
  EXPECT_LT(held_alerts, raw_alerts);
  // Every score is the unsuppressed one or its suppressed share.
  for (size_t i = 0; i < raw.size(); ++i) {
    const bool same = held[i] == raw[i];
    const bool scaled = std::abs(held[i] - defaults.suppression_share * raw[i]) < 1e-12;
    ASSERT_TRUE(same || scaled) << i << ": " << held[i] << " vs " << raw[i];
  }
}

TEST(DetectorTest, SmallerSpikeDuringTheHoldIsSuppressedAndTheHoldExpires) {
  Noise noise(72);
  std::vector<double> values;
  constexpr int kFirst = 1500;
  constexpr int kSecond = kFirst + 5;   // within the hold, smaller
  constexpr int kThird = kFirst + 200;  // long after, the same size
  for (int i = 0; i < 2000; ++i) {
    double value = 100 + noise(2);
    if (i == kFirst) value += 40;                  // 20 sigma
    if (i == kSecond || i == kThird) value += 24;  // 12 sigma
    values.push_back(value);
  }
  const std::vector<double> held = ScoresOf(values, /*suppress=*/true);
  const std::vector<double> raw = ScoresOf(values, /*suppress=*/false);
  EXPECT_GT(held[kFirst], 0.9);
  EXPECT_GT(raw[kSecond], 0.9);  // on its own the second spike alerts
  EXPECT_LT(held[kSecond], 0.35);
  EXPECT_GT(held[kThird], 0.9);  // the hold has expired
  EXPECT_EQ(held[kThird], raw[kThird]);
}

TEST(DetectorTest, LargerScoreDuringTheHoldIsReported) {
  Noise noise(73);
  std::vector<double> values;
  constexpr int kFirst = 1500;
  constexpr int kSecond = kFirst + 3;
  for (int i = 0; i < 1600; ++i) {
    double value = 100 + noise(2);
    if (i == kFirst) value += 14;   // 7 sigma
    if (i == kSecond) value += 60;  // 30 sigma
    values.push_back(value);
  }
  const std::vector<double> held = ScoresOf(values, /*suppress=*/true);
  const std::vector<double> raw = ScoresOf(values, /*suppress=*/false);
  EXPECT_GT(held[kSecond], held[kFirst]);
  EXPECT_EQ(held[kSecond], raw[kSecond]);
}

TEST(DetectorSerializationTest, RoundTripKeepsTheHold) {
  StreamingDetector original = MakeDetector();
  Noise noise(94);
  std::vector<double> values;
  constexpr int kSpike = 1500;
  for (int i = 0; i < 1600; ++i) {
    values.push_back(100 + noise(2) + (i == kSpike ? 40 : 0) + (i == kSpike + 4 ? 24 : 0));
  }
  for (int i = 0; i <= kSpike; ++i) original.Update(kStart + absl::Minutes(i), values[i]);
  DetectorOptions options;
  options.probationary_points = 300;
  absl::StatusOr<StreamingDetector> restored =
      StreamingDetector::Deserialize(options, original.Serialize());
  ASSERT_TRUE(restored.ok()) << restored.status();
  for (int i = kSpike + 1; i < 1600; ++i) {
    const absl::Time time = kStart + absl::Minutes(i);
    ASSERT_EQ(original.Update(time, values[i]).score, restored->Update(time, values[i]).score) << i;
  }
}

TEST(DetectorSerializationTest, RoundTripContinuesIdentically) {
  StreamingDetector original = MakeDetector();
  Noise noise(91);
  std::vector<double> values;
  for (int i = 0; i < 4000; ++i) values.push_back(Seasonal(i, noise) + (i == 3500 ? 40 : 0));
  std::string bytes;
  for (int i = 0; i < 2000; ++i) original.Update(kStart + absl::Minutes(5 * i), values[i]);
  bytes = original.Serialize();
  DetectorOptions options;
  options.probationary_points = 300;
  absl::StatusOr<StreamingDetector> restored = StreamingDetector::Deserialize(options, bytes);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->Serialize(), bytes);
  EXPECT_EQ(restored->points(), 2000);
  for (int i = 2000; i < 4000; ++i) {
    const absl::Time time = kStart + absl::Minutes(5 * i);
    const PointScore a = original.Update(time, values[i]);
    const PointScore b = restored->Update(time, values[i]);
    ASSERT_EQ(a.score, b.score) << i;
    ASSERT_EQ(a.expected, b.expected) << i;
  }
  EXPECT_EQ(original.Serialize(), restored->Serialize());
}

TEST(DetectorSerializationTest, SizeIsConstantAndBounded) {
  static_assert(StreamingDetector::kSerializedBytes <= 4096, "a few KB per series");
  StreamingDetector detector = MakeDetector();
  EXPECT_EQ(detector.Serialize().size(), StreamingDetector::kSerializedBytes);
  Noise noise(92);
  for (int i = 0; i < 100000; ++i) {
    const double value = i % 977 == 0 ? std::numeric_limits<double>::quiet_NaN() : noise(1);
    detector.Update(kStart + absl::Seconds(30 * i), value);
    if (i == 10 || i == 99999) {
      EXPECT_EQ(detector.Serialize().size(), StreamingDetector::kSerializedBytes) << i;
    }
  }
}

TEST(DetectorSerializationTest, RejectsBytesThatAreNotAState) {
  StreamingDetector detector = MakeDetector();
  Noise noise(93);
  for (int i = 0; i < 100; ++i) detector.Update(kStart + absl::Minutes(i), noise(1));
  const std::string good = detector.Serialize();
  const DetectorOptions options;
  EXPECT_TRUE(StreamingDetector::Deserialize(options, good).ok());
  EXPECT_THAT(StreamingDetector::Deserialize(options, "").status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("bad magic")));
  std::string bad = good;
  bad[0] = 'X';
  EXPECT_THAT(StreamingDetector::Deserialize(options, bad).status(),
              StatusIs(absl::StatusCode::kDataLoss));
  bad = good;
  bad[4] = 3;  // a future version
  EXPECT_THAT(StreamingDetector::Deserialize(options, bad).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("version 3")));
  bad[4] = 1;  // the version before repeat suppression
  EXPECT_THAT(StreamingDetector::Deserialize(options, bad).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("version 1")));
  EXPECT_THAT(StreamingDetector::Deserialize(options, good.substr(0, good.size() - 1)).status(),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(StreamingDetector::Deserialize(options, good + "x").status(),
              StatusIs(absl::StatusCode::kDataLoss));
  bad = good;
  // The level (a double after the header, counters, time, interval, flag and
  // previous residual) set to NaN.
  const size_t level_offset = 5 + 8 * 3 + 8 + 1 + 8;
  for (size_t i = 0; i < 8; ++i) bad[level_offset + i] = static_cast<char>(0xff);
  EXPECT_THAT(StreamingDetector::Deserialize(options, bad).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("corrupt")));
  DetectorOptions invalid;
  invalid.level_alpha = 0;
  EXPECT_THAT(StreamingDetector::Deserialize(invalid, good).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("level_alpha")));
}

}  // namespace
}  // namespace agentwatch::monitor::anomaly
