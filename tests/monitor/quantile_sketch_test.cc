// The quantile sketch: its relative-error bound against exact quantiles on
// several distributions, explicit zero / negative / NaN handling, bounded
// memory, exact merges, and its serialization (round trip and corrupt input).
#include "monitor/core/quantile_sketch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;

constexpr double kAlpha = QuantileSketch::kDefaultRelativeAccuracy;
// Slack for the rounding of log/exp at bucket edges only.
constexpr double kRounding = 1e-12;

// The exact value at the rank the sketch estimates.
double ExactQuantile(std::vector<double> sorted, double q) {
  const auto n = static_cast<int64_t>(sorted.size());
  const auto rank = static_cast<int64_t>(std::floor(q * static_cast<double>(n - 1)));
  return sorted[static_cast<size_t>(std::min(rank, n - 1))];
}

std::vector<double> Quantiles() {
  std::vector<double> qs;
  for (int i = 0; i <= 1000; ++i) qs.push_back(i / 1000.0);
  for (double q : {0.0001, 0.9995, 0.9999}) qs.push_back(q);
  return qs;
}

// The largest relative error of the sketch over a grid of quantiles.
double MaxRelativeError(const std::vector<double>& values, const QuantileSketch& sketch) {
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  double worst = 0;
  for (double q : Quantiles()) {
    const double exact = ExactQuantile(sorted, q);
    const std::optional<double> estimate = sketch.Quantile(q);
    EXPECT_TRUE(estimate.has_value()) << q;
    if (!estimate.has_value()) return std::numeric_limits<double>::infinity();
    const double error =
        exact == 0 ? std::fabs(*estimate) : std::fabs(*estimate - exact) / std::fabs(exact);
    worst = std::max(worst, error);
  }
  return worst;
}

QuantileSketch SketchOf(const std::vector<double>& values) {
  QuantileSketch sketch;
  for (double v : values) EXPECT_TRUE(sketch.Add(v));
  return sketch;
}

struct Distribution {
  const char* name;
  std::function<double(std::mt19937_64&)> draw;
};

std::vector<Distribution> Distributions() {
  return {
      {"uniform",
       [](std::mt19937_64& rng) { return std::uniform_real_distribution<double>(0.001, 10)(rng); }},
      {"lognormal",
       [](std::mt19937_64& rng) { return std::lognormal_distribution<double>(-1, 1.5)(rng); }},
      {"bimodal",
       [](std::mt19937_64& rng) {
         // Fast cache hits around 80 ms and slow calls around 6 s.
         if (std::bernoulli_distribution(0.9)(rng)) {
           return std::fabs(std::normal_distribution<double>(0.08, 0.01)(rng));
         }
         return std::fabs(std::normal_distribution<double>(6, 1)(rng));
       }},
      {"constant", [](std::mt19937_64&) { return 0.4217; }},
      {"pareto_heavy_tail",
       [](std::mt19937_64& rng) {
         return 0.01 / std::pow(std::uniform_real_distribution<double>(1e-9, 1)(rng), 1 / 1.2);
       }},
      {"signed_with_zeros",
       [](std::mt19937_64& rng) {
         const int kind = std::uniform_int_distribution<int>(0, 3)(rng);
         if (kind == 0) return 0.0;
         const double magnitude = std::lognormal_distribution<double>(0, 2)(rng);
         return kind == 1 ? -magnitude : magnitude;
       }},
  };
}

TEST(QuantileSketchTest, RelativeErrorBoundHoldsOnEveryDistribution) {
  for (const Distribution& distribution : Distributions()) {
    for (int n : {1, 2, 7, 100, 100000}) {
      std::mt19937_64 rng(42 + n);
      std::vector<double> values;
      for (int i = 0; i < n; ++i) values.push_back(distribution.draw(rng));
      const QuantileSketch sketch = SketchOf(values);
      ASSERT_EQ(sketch.count(), n);
      const double worst = MaxRelativeError(values, sketch);
      EXPECT_LE(worst, kAlpha * (1 + kRounding)) << distribution.name << " n=" << n;
      if (n == 100000) {
        RecordProperty(std::string(distribution.name) + "_max_relative_error",
                       std::to_string(worst));
        std::cout << distribution.name << ": max relative error " << worst << " over "
                  << Quantiles().size() << " quantiles of " << n << " values\n";
      }
    }
  }
}

TEST(QuantileSketchTest, ExtremesAreExactAndConstantIsExact) {
  const QuantileSketch sketch = SketchOf({3.5, 0.25, 17, 2});
  EXPECT_EQ(sketch.Quantile(0), 0.25);
  EXPECT_EQ(sketch.Quantile(1), 17);
  EXPECT_EQ(sketch.min(), 0.25);
  EXPECT_EQ(sketch.max(), 17);
  // Clamping to [min, max] makes a constant series exact at every rank.
  const QuantileSketch constant = SketchOf(std::vector<double>(1000, 1.2345));
  for (double q : {0.0, 0.5, 0.95, 0.99, 1.0}) EXPECT_EQ(constant.Quantile(q), 1.2345) << q;
}

TEST(QuantileSketchTest, ZeroNegativeNanAndInfinity) {
  QuantileSketch sketch;
  EXPECT_FALSE(sketch.Add(std::nan("")));
  EXPECT_FALSE(sketch.Add(std::numeric_limits<double>::infinity()));
  EXPECT_FALSE(sketch.Add(-std::numeric_limits<double>::infinity()));
  EXPECT_TRUE(sketch.empty());
  EXPECT_EQ(sketch.Quantile(0.5), std::nullopt);

  EXPECT_TRUE(sketch.Add(0));
  EXPECT_TRUE(sketch.Add(-0.0));
  EXPECT_TRUE(sketch.Add(DBL_MIN / 4));  // subnormal: counts as zero
  EXPECT_TRUE(sketch.Add(-5));
  EXPECT_TRUE(sketch.Add(-2));
  EXPECT_TRUE(sketch.Add(3));
  EXPECT_EQ(sketch.count(), 6);
  // Sorted: -5 -2 0 0 ~0 3.
  EXPECT_EQ(sketch.Quantile(0), -5);
  EXPECT_NEAR(*sketch.Quantile(0.2), -2, 2 * kAlpha);
  EXPECT_EQ(sketch.Quantile(0.5), 0);
  EXPECT_EQ(sketch.Quantile(0.7), 0);
  EXPECT_EQ(sketch.Quantile(1), 3);
  // Out-of-range quantiles answer nothing.
  EXPECT_EQ(sketch.Quantile(-0.1), std::nullopt);
  EXPECT_EQ(sketch.Quantile(1.1), std::nullopt);
  EXPECT_EQ(sketch.Quantile(std::nan("")), std::nullopt);
}

TEST(QuantileSketchTest, CreateValidatesParameters) {
  EXPECT_THAT(QuantileSketch::Create(0, 2048).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("relative_accuracy")));
  EXPECT_THAT(QuantileSketch::Create(std::nan(""), 2048).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("relative_accuracy")));
  EXPECT_THAT(QuantileSketch::Create(0.01, 8).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_buckets")));
  EXPECT_THAT(QuantileSketch::Create(0.001, 4096).status(), IsOk());
}

TEST(QuantileSketchTest, CustomAccuracyHoldsItsBound) {
  absl::StatusOr<QuantileSketch> sketch = QuantileSketch::Create(0.002, 8192);
  ASSERT_THAT(sketch.status(), IsOk());
  std::mt19937_64 rng(7);
  std::vector<double> values;
  for (int i = 0; i < 20000; ++i) {
    values.push_back(std::lognormal_distribution<double>(0, 1)(rng));
    sketch->Add(values.back());
  }
  EXPECT_LE(MaxRelativeError(values, *sketch), 0.002 * (1 + kRounding));
}

TEST(QuantileSketchTest, MemoryIsBoundedAndCollapsingKeepsTheHighQuantiles) {
  absl::StatusOr<QuantileSketch> sketch = QuantileSketch::Create(0.01, 64);
  ASSERT_THAT(sketch.status(), IsOk());
  // Magnitudes from 1e-12 to 1e3: far more than 64 buckets of 2 %.
  std::vector<double> values;
  for (int i = 0; i <= 1500; ++i) {
    values.push_back(std::pow(10.0, -12 + i / 100.0));
    sketch->Add(values.back());
  }
  // At most 64 non-empty buckets are serialized (plus fixed overhead).
  EXPECT_LE(sketch->Serialize().size(), 64u * 4 + 40);
  std::sort(values.begin(), values.end());
  // The top of the range (above max * gamma^-62, about 3.4x below the max)
  // keeps the bound.
  const double gamma = (1 + kAlpha) / (1 - kAlpha);
  const double kept_from = values.back() * std::pow(gamma, -62);
  int checked = 0;
  for (int i = 900; i <= 1000; ++i) {
    const double q = i / 1000.0;
    const double exact = ExactQuantile(values, q);
    if (exact < kept_from) continue;
    ++checked;
    EXPECT_LE(std::fabs(*sketch->Quantile(q) - exact) / exact, kAlpha * (1 + kRounding)) << q;
  }
  EXPECT_GT(checked, 20);
  // Values below the kept range are overestimated (collapsed upwards), never
  // below the exact minimum.
  EXPECT_GT(*sketch->Quantile(0.5), ExactQuantile(values, 0.5));
  EXPECT_EQ(sketch->Quantile(0), values.front());
}

TEST(QuantileSketchTest, MergeEqualsSinglePassInAnyGroupingAndOrder) {
  for (int max_buckets : {QuantileSketch::kDefaultMaxBuckets, 32}) {
    std::mt19937_64 rng(max_buckets);
    std::vector<double> values;
    for (int i = 0; i < 50000; ++i) {
      const double magnitude = std::pow(10.0, std::uniform_real_distribution<double>(-6, 6)(rng));
      values.push_back(i % 5 == 0 ? -magnitude : (i % 17 == 0 ? 0 : magnitude));
    }
    const QuantileSketch empty = *QuantileSketch::Create(0.01, max_buckets);
    QuantileSketch whole = empty;
    std::vector<QuantileSketch> parts(5, empty);
    for (size_t i = 0; i < values.size(); ++i) {
      whole.Add(values[i]);
      parts[std::uniform_int_distribution<size_t>(0, 4)(rng)].Add(values[i]);
    }
    // ((p0 + p1) + p2) + (p3 + p4)
    QuantileSketch left = parts[0];
    ASSERT_THAT(left.Merge(parts[1]), IsOk());
    ASSERT_THAT(left.Merge(parts[2]), IsOk());
    QuantileSketch right = parts[3];
    ASSERT_THAT(right.Merge(parts[4]), IsOk());
    ASSERT_THAT(left.Merge(right), IsOk());
    EXPECT_TRUE(left == whole) << max_buckets;
    // p4 + p3 + p2 + p1 + p0, starting from an empty sketch.
    QuantileSketch reversed = empty;
    for (size_t i = parts.size(); i-- > 0;) ASSERT_THAT(reversed.Merge(parts[i]), IsOk());
    EXPECT_TRUE(reversed == whole) << max_buckets;
    EXPECT_EQ(reversed.Quantile(0.99), whole.Quantile(0.99));
    EXPECT_EQ(reversed.count(), static_cast<int64_t>(values.size()));
  }
}

TEST(QuantileSketchTest, MergeRejectsDifferentParameters) {
  QuantileSketch a;
  a.Add(1);
  QuantileSketch b = *QuantileSketch::Create(0.02, 2048);
  b.Add(2);
  EXPECT_THAT(a.Merge(b), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(a.count(), 1);
}

TEST(QuantileSketchTest, SerializationRoundTrips) {
  std::mt19937_64 rng(3);
  QuantileSketch sketch;
  EXPECT_EQ(QuantileSketch::Deserialize(sketch.Serialize()).value_or(SketchOf({9})), sketch);
  for (int i = 0; i < 10000; ++i) {
    const double v = std::lognormal_distribution<double>(0, 2)(rng);
    sketch.Add(i % 10 == 0 ? -v : (i % 31 == 0 ? 0 : v));
  }
  const std::string bytes = sketch.Serialize();
  absl::StatusOr<QuantileSketch> parsed = QuantileSketch::Deserialize(bytes);
  ASSERT_THAT(parsed.status(), IsOk());
  EXPECT_TRUE(*parsed == sketch);
  EXPECT_EQ(parsed->Serialize(), bytes);
  // Compact: a few bytes per non-empty bucket, not per value.
  EXPECT_LT(bytes.size(), 4000u);
  std::cout << "10000 values serialize to " << bytes.size() << " bytes\n";
}

// SerializedBytesAreTheFormatsBytes' expectations (see there).
constexpr char kSmallSketchHex[] =
    "0180107b14ae47e17a843f0104000123011401fc0401018c010100000000000010c00000000080842e41";
constexpr size_t kVariedBytes = 1840824;
constexpr uint64_t kVariedDigest = 7881130246397953941u;

// The serialized bytes are fixed by the format: the bytes of a small sketch
// and a digest of 300 varied ones (positive, negative, zeros, wide ranges,
// merged, appended to a non-empty buffer), as the push_back encoder before
// the in-place one wrote them (which also gives the journal's bytes).
TEST(QuantileSketchTest, SerializedBytesAreTheFormatsBytes) {
  QuantileSketch small;
  for (double v : {1.0, 2.0, 3.0, -4.0, 0.0, 1e6}) small.Add(v);
  std::string hex;
  for (unsigned char c : small.Serialize()) absl::StrAppend(&hex, absl::Hex(c, absl::kZeroPad2));
  EXPECT_EQ(hex, kSmallSketchHex);

  std::mt19937_64 rng(11);
  std::string all = "prefix";
  QuantileSketch merged;
  for (int s = 0; s < 300; ++s) {
    QuantileSketch sketch;
    const int n = 1 + static_cast<int>(rng() % 400);
    const double scale = std::pow(10.0, static_cast<double>(rng() % 12) - 6);
    for (int i = 0; i < n; ++i) {
      const double v = std::lognormal_distribution<double>(0, 1 + s % 4)(rng) * scale;
      sketch.Add(i % 7 == 0 ? -v : (i % 13 == 0 ? 0 : v));
    }
    sketch.AppendSerialized(&all);
    ASSERT_THAT(merged.Merge(sketch), IsOk());
    merged.AppendSerialized(&all);
  }
  uint64_t digest = 1469598103934665603u;  // FNV-1a
  for (unsigned char c : all) digest = (digest ^ c) * 1099511628211u;
  EXPECT_EQ(all.size(), kVariedBytes);
  EXPECT_EQ(digest, kVariedDigest);
}

TEST(QuantileSketchTest, CorruptInputIsAnErrorNeverACrash) {
  QuantileSketch sketch;
  for (double v : {0.5, 1.0, 2.0, -3.0, 0.0, 1e-3}) sketch.Add(v);
  const std::string bytes = sketch.Serialize();

  EXPECT_THAT(QuantileSketch::Deserialize("").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  std::string wrong_version = bytes;
  wrong_version[0] = 2;
  EXPECT_THAT(QuantileSketch::Deserialize(wrong_version).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("version")));
  // Every strict prefix is truncated.
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_THAT(QuantileSketch::Deserialize(bytes.substr(0, n)).status(),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << n;
  }
  EXPECT_THAT(QuantileSketch::Deserialize(bytes + '\0').status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("trailing")));

  // A bucket count of zero and an out-of-range accuracy.
  {
    std::string zero_bucket;
    zero_bucket.push_back(1);   // version
    zero_bucket.push_back(16);  // max_buckets
    const double accuracy = 0.01;
    zero_bucket.append(reinterpret_cast<const char*>(&accuracy), 8);
    zero_bucket.push_back(0);  // zeros
    zero_bucket.push_back(1);  // one positive bucket
    zero_bucket.push_back(2);  // index 1
    zero_bucket.push_back(0);  // count 0
    zero_bucket.push_back(0);  // no negative buckets
    EXPECT_THAT(QuantileSketch::Deserialize(zero_bucket).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("count")));
    std::string bad_accuracy = zero_bucket;
    const double nan = std::nan("");
    bad_accuracy.replace(2, 8, reinterpret_cast<const char*>(&nan), 8);
    EXPECT_THAT(QuantileSketch::Deserialize(bad_accuracy).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("relative_accuracy")));
  }

  // Random mutations: each answers a sketch or INVALID_ARGUMENT; parsed ones
  // are usable.
  std::mt19937_64 rng(11);
  int rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string mutated = bytes;
    const int flips = std::uniform_int_distribution<int>(1, 4)(rng);
    for (int f = 0; f < flips; ++f) {
      mutated[std::uniform_int_distribution<size_t>(0, mutated.size() - 1)(rng)] =
          static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    }
    absl::StatusOr<QuantileSketch> parsed = QuantileSketch::Deserialize(mutated);
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
      ++rejected;
      continue;
    }
    for (double q : {0.0, 0.5, 0.99, 1.0}) {
      const std::optional<double> v = parsed->Quantile(q);
      if (v.has_value()) {
        EXPECT_GE(*v, parsed->min());
        EXPECT_LE(*v, parsed->max());
      }
    }
    QuantileSketch copy = *parsed;
    EXPECT_TRUE(copy == *parsed);
  }
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace agentwatch::monitor
