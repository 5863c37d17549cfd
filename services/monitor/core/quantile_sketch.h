// A mergeable quantile sketch with a relative-error guarantee, after
// DDSketch (Masson, Rim, Lee: "DDSketch: A Fast and Fully-Mergeable Quantile
// Sketch with Relative-Error Guarantees", VLDB 2019). Pure.
//
// Values are counted in logarithmic buckets: with gamma = (1 + a) / (1 - a)
// for the relative accuracy `a`, bucket i holds the magnitudes in
// (gamma^(i-1), gamma^i] and stands for 2 gamma^i / (gamma + 1), which is
// within `a` relative error of every magnitude in the bucket.
//
// Guarantee: for q in [0, 1], Quantile(q) estimates the value of 0-based
// rank floor(q * (count - 1)) among the added values in ascending order, and
// is within relative error `a` of it (|estimate - x| <= a * |x|), as long as
// that value's bucket was not collapsed (below). The exact minimum and
// maximum are kept: Quantile(0) and Quantile(1) are exact, and every
// estimate is clamped to [min, max].
//
// Inputs: positive and negative values are counted in separate bucket sets
// (negative ones by magnitude); zero and magnitudes below DBL_MIN (the
// subnormals) count as zero and are estimated as exactly 0; NaN and
// infinities are rejected (Add returns false and changes nothing).
//
// Memory is bounded: each sign keeps at most `max_buckets` consecutive
// buckets. When the magnitudes of one sign span more, the buckets of the
// smallest magnitudes are collapsed into the lowest kept one, so the
// estimates of values with magnitude below max|x| * gamma^-(max_buckets - 1)
// lose the guarantee (they are overestimated in magnitude); the large
// values, which latency indicators watch, keep it. With the defaults (1 %,
// 2048 buckets) a sign covers a dynamic range of about 5.8e17 (nanoseconds
// to centuries) before anything collapses; the memory is at most 16 KiB per
// sign, usually a few hundred bytes.
//
// Merge is exact: the state of a sketch is a function of the multiset of
// values added (collapsing included), so merging partial sketches in any
// grouping and order gives a sketch equal (operator==) to one built from all
// the values.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agentwatch::monitor {

class QuantileSketch {
 public:
  // Default relative accuracy (1 %) and bucket limit per sign.
  static constexpr double kDefaultRelativeAccuracy = 0.01;
  static constexpr int kDefaultMaxBuckets = 2048;
  // Accepted parameter ranges.
  static constexpr double kMinRelativeAccuracy = 1e-4;
  static constexpr double kMaxRelativeAccuracy = 0.5;
  static constexpr int kMinMaxBuckets = 16;
  static constexpr int kMaxMaxBuckets = 1 << 16;
  // Version byte of Serialize's format.
  static constexpr uint8_t kFormatVersion = 1;

  // An empty sketch with the defaults.
  QuantileSketch();

  // An empty sketch with the given parameters; INVALID_ARGUMENT naming
  // "relative_accuracy" or "max_buckets" outside the accepted ranges.
  static absl::StatusOr<QuantileSketch> Create(double relative_accuracy, int max_buckets);

  // Counts `value`. Returns false, leaving the sketch unchanged, for NaN and
  // infinities.
  bool Add(double value);

  // Adds every value counted by `other`. FAILED_PRECONDITION when the two
  // sketches have different parameters (nothing changes then).
  absl::Status Merge(const QuantileSketch& other);

  // The estimate of quantile `q` (see the guarantee above); empty when the
  // sketch is empty or q is not in [0, 1].
  std::optional<double> Quantile(double q) const;

  // Number of values counted.
  int64_t count() const { return zero_count_ + positive_.total + negative_.total; }
  bool empty() const { return count() == 0; }
  // Exact extremes; +inf / -inf when empty.
  double min() const { return min_; }
  double max() const { return max_; }
  double relative_accuracy() const { return relative_accuracy_; }
  int max_buckets() const { return max_buckets_; }

  // Compact binary form: a version byte, the parameters, the zero count,
  // the non-empty buckets of each sign as varint (index delta, count) pairs,
  // then min and max. Typically a few bytes per distinct bucket.
  std::string Serialize() const;
  // Appends Serialize()'s bytes to `*out` (a reused buffer: no allocation
  // once it is large enough).
  void AppendSerialized(std::string* out) const;

  // Parses Serialize's output. INVALID_ARGUMENT (never a crash) for an
  // unknown version, truncated or trailing bytes, parameters out of range,
  // bucket indices out of order or range, zero counts, a count overflow, or
  // min / max inconsistent with the buckets.
  static absl::StatusOr<QuantileSketch> Deserialize(absl::string_view bytes);

  // Same parameters and same counts, min and max.
  bool operator==(const QuantileSketch& other) const;
  bool operator!=(const QuantileSketch& other) const { return !(*this == other); }

 private:
  // Consecutive buckets [offset, offset + counts.size()) of one sign; the
  // first and last are non-empty when any is.
  struct Store {
    int32_t offset = 0;
    std::vector<int64_t> counts;
    int64_t total = 0;

    bool operator==(const Store& other) const {
      return offset == other.offset && counts == other.counts && total == other.total;
    }
    // Makes the store cover [lo, hi], folding the buckets below
    // hi - max_buckets + 1 into that one when the span is too wide.
    void Cover(int32_t lo, int32_t hi, int max_buckets);
    void Add(int32_t index, int64_t n, int max_buckets);
    void MergeFrom(const Store& other, int max_buckets);
  };

  QuantileSketch(double relative_accuracy, int max_buckets);

  int32_t IndexOf(double magnitude) const;
  double ValueOf(int32_t index) const;
  static absl::Status ReadStore(absl::string_view& in, int32_t min_index, int32_t max_index,
                                int max_buckets, Store* store);

  double relative_accuracy_;
  int max_buckets_;
  double gamma_;
  double log_gamma_;
  int64_t zero_count_ = 0;
  Store positive_;
  Store negative_;  // by magnitude
  double min_ = std::numeric_limits<double>::infinity();
  double max_ = -std::numeric_limits<double>::infinity();
};

}  // namespace agentwatch::monitor
