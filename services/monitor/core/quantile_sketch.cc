#include "monitor/core/quantile_sketch.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/proto_wire.h"
#include "common/status_macros.h"

namespace agentwatch::monitor {
namespace {

using common::wire::AppendVarint;
using common::wire::WriteVarint;

void PutDouble(double v, std::string* out) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

absl::Status Corrupt(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("quantile sketch: ", what));
}

absl::Status GetVarint(absl::string_view& in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return Corrupt("truncated varint");
    const uint8_t byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    if (shift == 63 && (byte & 0x7e) != 0) return Corrupt("varint overflows 64 bits");
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return absl::OkStatus();
    }
  }
  return Corrupt("varint longer than 10 bytes");
}

absl::Status GetDouble(absl::string_view& in, double* v) {
  if (in.size() < 8) return Corrupt("truncated double");
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits |= static_cast<uint64_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  in.remove_prefix(8);
  std::memcpy(v, &bits, sizeof(bits));
  return absl::OkStatus();
}

// The non-empty buckets: their number, then the first index (zigzag) and
// the gaps to the next ones, each with its count. Written in place into
// room for the largest encoding (two 10-byte varints a bucket) instead of
// a push_back per byte: the journal encodes every sketched cell of a group.
void PutStore(int32_t offset, const std::vector<int64_t>& counts, std::string* out) {
  uint64_t nonempty = 0, written = 0;  // counts are never negative: equal
  for (int64_t c : counts) {
    nonempty += c > 0 ? 1 : 0;
    written += c != 0 ? 1 : 0;
  }
  const size_t start = out->size();
  out->resize(start + 10 + 20 * written);
  char* const begin = out->data();
  char* p = WriteVarint(nonempty, begin + start);
  int64_t previous = 0;
  bool first = true;
  // A store spans its lowest to its highest bucket, mostly empty ones in
  // between: they are skipped four at a time.
  const int64_t* const c = counts.data();
  const size_t n = counts.size();
  size_t i = 0;
  for (uint64_t k = 0; k < written; ++k, ++i) {
    while (i + 4 <= n && (c[i] | c[i + 1] | c[i + 2] | c[i + 3]) == 0) i += 4;
    while (c[i] == 0) ++i;  // one of the `written` non-zero counts is ahead
    const int64_t index = offset + static_cast<int64_t>(i);
    // The first index as a signed value, the others as the (positive) gap.
    p = WriteVarint(first ? ZigZag(index) : static_cast<uint64_t>(index - previous), p);
    p = WriteVarint(static_cast<uint64_t>(c[i]), p);
    previous = index;
    first = false;
  }
  out->resize(static_cast<size_t>(p - begin));
}

}  // namespace

QuantileSketch::QuantileSketch() : QuantileSketch(kDefaultRelativeAccuracy, kDefaultMaxBuckets) {}

QuantileSketch::QuantileSketch(double relative_accuracy, int max_buckets)
    : relative_accuracy_(relative_accuracy),
      max_buckets_(max_buckets),
      gamma_((1 + relative_accuracy) / (1 - relative_accuracy)),
      log_gamma_(std::log(gamma_)) {}

absl::StatusOr<QuantileSketch> QuantileSketch::Create(double relative_accuracy, int max_buckets) {
  if (!(relative_accuracy >= kMinRelativeAccuracy && relative_accuracy <= kMaxRelativeAccuracy)) {
    return common::InvalidField(
        "relative_accuracy",
        absl::StrCat("must be in [", kMinRelativeAccuracy, ", ", kMaxRelativeAccuracy, "]"));
  }
  if (max_buckets < kMinMaxBuckets || max_buckets > kMaxMaxBuckets) {
    return common::InvalidField(
        "max_buckets", absl::StrCat("must be in [", kMinMaxBuckets, ", ", kMaxMaxBuckets, "]"));
  }
  return QuantileSketch(relative_accuracy, max_buckets);
}

int32_t QuantileSketch::IndexOf(double magnitude) const {
  return static_cast<int32_t>(std::ceil(std::log(magnitude) / log_gamma_));
}

double QuantileSketch::ValueOf(int32_t index) const {
  return 2 * std::exp(index * log_gamma_) / (gamma_ + 1);
}

void QuantileSketch::Store::Cover(int32_t lo, int32_t hi, int max_buckets) {
  if (hi - lo + 1 > max_buckets) lo = hi - max_buckets + 1;
  if (!counts.empty() && lo == offset && hi == offset + static_cast<int32_t>(counts.size()) - 1) {
    return;
  }
  std::vector<int64_t> resized(static_cast<size_t>(hi - lo + 1), 0);
  for (size_t i = 0; i < counts.size(); ++i) {
    const int32_t index = std::max(offset + static_cast<int32_t>(i), lo);
    resized[static_cast<size_t>(index - lo)] += counts[i];
  }
  counts = std::move(resized);
  offset = lo;
}

void QuantileSketch::Store::Add(int32_t index, int64_t n, int max_buckets) {
  // Fast paths (no collapsing involved), leaving the very state Cover would:
  // the index in range; or the range growing by whole buckets at either end,
  // in place with the vector's amortized growth instead of a new vector per
  // extension.
  if (!counts.empty()) {
    const int32_t size = static_cast<int32_t>(counts.size());
    const int64_t span_up = static_cast<int64_t>(index) - offset + 1;
    const int64_t span_down = static_cast<int64_t>(offset) + size - index;
    if (index >= offset && index < offset + size) {
      counts[static_cast<size_t>(index - offset)] += n;
      total += n;
      return;
    }
    if (index >= offset && span_up <= max_buckets) {
      counts.resize(static_cast<size_t>(span_up), 0);
      counts.back() += n;
      total += n;
      return;
    }
    if (index < offset && span_down <= max_buckets) {
      counts.insert(counts.begin(), static_cast<size_t>(offset - index), 0);
      offset = index;
      counts.front() += n;
      total += n;
      return;
    }
  }
  if (counts.empty()) {
    Cover(index, index, max_buckets);
  } else {
    const int32_t hi = offset + static_cast<int32_t>(counts.size()) - 1;
    Cover(std::min(offset, index), std::max(hi, index), max_buckets);
  }
  counts[static_cast<size_t>(std::max(index, offset) - offset)] += n;
  total += n;
}

void QuantileSketch::Store::MergeFrom(const Store& other, int max_buckets) {
  if (other.counts.empty()) return;
  const int32_t other_hi = other.offset + static_cast<int32_t>(other.counts.size()) - 1;
  if (counts.empty()) {
    Cover(other.offset, other_hi, max_buckets);
  } else {
    const int32_t hi = offset + static_cast<int32_t>(counts.size()) - 1;
    Cover(std::min(offset, other.offset), std::max(hi, other_hi), max_buckets);
  }
  for (size_t i = 0; i < other.counts.size(); ++i) {
    const int32_t index = std::max(other.offset + static_cast<int32_t>(i), offset);
    counts[static_cast<size_t>(index - offset)] += other.counts[i];
  }
  total += other.total;
}

bool QuantileSketch::Add(double value) {
  if (!std::isfinite(value)) return false;
  const double magnitude = std::fabs(value);
  if (magnitude < DBL_MIN) {
    ++zero_count_;
  } else if (value > 0) {
    positive_.Add(IndexOf(magnitude), 1, max_buckets_);
  } else {
    negative_.Add(IndexOf(magnitude), 1, max_buckets_);
  }
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  return true;
}

absl::Status QuantileSketch::Merge(const QuantileSketch& other) {
  if (relative_accuracy_ != other.relative_accuracy_ || max_buckets_ != other.max_buckets_) {
    return absl::FailedPreconditionError(
        absl::StrCat("quantile sketch: cannot merge a sketch of relative accuracy ",
                     other.relative_accuracy_, " and ", other.max_buckets_, " buckets into one of ",
                     relative_accuracy_, " and ", max_buckets_));
  }
  zero_count_ += other.zero_count_;
  positive_.MergeFrom(other.positive_, max_buckets_);
  negative_.MergeFrom(other.negative_, max_buckets_);
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  return absl::OkStatus();
}

std::optional<double> QuantileSketch::Quantile(double q) const {
  const int64_t n = count();
  if (n == 0 || !(q >= 0 && q <= 1)) return std::nullopt;
  if (q == 0) return min_;
  if (q == 1) return max_;
  const int64_t rank =
      std::min<int64_t>(n - 1, static_cast<int64_t>(std::floor(q * static_cast<double>(n - 1))));
  double estimate = 0;
  int64_t seen = 0;
  bool found = false;
  // Ascending order: negative values from the largest magnitude down, zero,
  // positive values from the smallest magnitude up.
  for (size_t i = negative_.counts.size(); i-- > 0 && !found;) {
    seen += negative_.counts[i];
    if (seen > rank) {
      estimate = -ValueOf(negative_.offset + static_cast<int32_t>(i));
      found = true;
    }
  }
  if (!found) {
    seen += zero_count_;
    if (seen > rank) {
      estimate = 0;
      found = true;
    }
  }
  for (size_t i = 0; i < positive_.counts.size() && !found; ++i) {
    seen += positive_.counts[i];
    if (seen > rank) {
      estimate = ValueOf(positive_.offset + static_cast<int32_t>(i));
      found = true;
    }
  }
  return std::clamp(estimate, min_, max_);
}

std::string QuantileSketch::Serialize() const {
  std::string out;
  AppendSerialized(&out);
  return out;
}

void QuantileSketch::AppendSerialized(std::string* out) const {
  out->push_back(static_cast<char>(kFormatVersion));
  AppendVarint(static_cast<uint64_t>(max_buckets_), out);
  PutDouble(relative_accuracy_, out);
  AppendVarint(static_cast<uint64_t>(zero_count_), out);
  PutStore(positive_.offset, positive_.counts, out);
  PutStore(negative_.offset, negative_.counts, out);
  if (count() > 0) {
    PutDouble(min_, out);
    PutDouble(max_, out);
  }
}

absl::Status QuantileSketch::ReadStore(absl::string_view& in, int32_t min_index, int32_t max_index,
                                       int max_buckets, Store* store) {
  uint64_t buckets = 0;
  RETURN_IF_ERROR(GetVarint(in, &buckets));
  if (buckets > static_cast<uint64_t>(max_buckets)) {
    return Corrupt(absl::StrCat(buckets, " buckets, more than max_buckets ", max_buckets));
  }
  std::vector<std::pair<int32_t, int64_t>> entries;
  entries.reserve(buckets);
  int64_t index = 0;
  for (uint64_t i = 0; i < buckets; ++i) {
    uint64_t raw = 0, n = 0;
    RETURN_IF_ERROR(GetVarint(in, &raw));
    RETURN_IF_ERROR(GetVarint(in, &n));
    if (i == 0) {
      index = UnZigZag(raw);
    } else {
      if (raw == 0 || raw > static_cast<uint64_t>(max_buckets)) {
        return Corrupt("bucket indices not increasing within max_buckets");
      }
      index += static_cast<int64_t>(raw);
    }
    if (index < min_index || index > max_index) {
      return Corrupt(absl::StrCat("bucket index ", index, " out of range"));
    }
    if (n == 0 || n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Corrupt("bucket count must be in [1, 2^63)");
    }
    entries.emplace_back(static_cast<int32_t>(index), static_cast<int64_t>(n));
  }
  if (entries.empty()) return absl::OkStatus();
  if (entries.back().first - entries.front().first + 1 > max_buckets) {
    return Corrupt("buckets span more than max_buckets");
  }
  store->offset = entries.front().first;
  store->counts.assign(static_cast<size_t>(entries.back().first - entries.front().first + 1), 0);
  store->total = 0;
  for (const auto& [i, n] : entries) {
    if (n > std::numeric_limits<int64_t>::max() - store->total) return Corrupt("count overflow");
    store->counts[static_cast<size_t>(i - store->offset)] = n;
    store->total += n;
  }
  return absl::OkStatus();
}

absl::StatusOr<QuantileSketch> QuantileSketch::Deserialize(absl::string_view bytes) {
  absl::string_view in = bytes;
  if (in.empty()) return Corrupt("empty input");
  const uint8_t version = static_cast<uint8_t>(in.front());
  in.remove_prefix(1);
  if (version != kFormatVersion) return Corrupt(absl::StrCat("unknown format version ", version));
  uint64_t max_buckets = 0;
  double accuracy = 0;
  RETURN_IF_ERROR(GetVarint(in, &max_buckets));
  RETURN_IF_ERROR(GetDouble(in, &accuracy));
  if (max_buckets > static_cast<uint64_t>(kMaxMaxBuckets)) return Corrupt("max_buckets too large");
  absl::StatusOr<QuantileSketch> created = Create(accuracy, static_cast<int>(max_buckets));
  if (!created.ok()) return Corrupt(created.status().message());
  QuantileSketch sketch = *std::move(created);
  const int32_t min_index = sketch.IndexOf(DBL_MIN) - 1;
  const int32_t max_index = sketch.IndexOf(DBL_MAX) + 1;

  uint64_t zeros = 0;
  RETURN_IF_ERROR(GetVarint(in, &zeros));
  if (zeros > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Corrupt("count overflow");
  }
  sketch.zero_count_ = static_cast<int64_t>(zeros);
  RETURN_IF_ERROR(ReadStore(in, min_index, max_index, sketch.max_buckets_, &sketch.positive_));
  RETURN_IF_ERROR(ReadStore(in, min_index, max_index, sketch.max_buckets_, &sketch.negative_));
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  if (sketch.positive_.total > kMax - sketch.zero_count_ ||
      sketch.negative_.total > kMax - sketch.zero_count_ - sketch.positive_.total) {
    return Corrupt("count overflow");
  }
  if (sketch.count() > 0) {
    RETURN_IF_ERROR(GetDouble(in, &sketch.min_));
    RETURN_IF_ERROR(GetDouble(in, &sketch.max_));
    if (!std::isfinite(sketch.min_) || !std::isfinite(sketch.max_) || sketch.min_ > sketch.max_) {
      return Corrupt("min and max must be finite with min <= max");
    }
    // Magnitudes below DBL_MIN count as zero, so only min <= -DBL_MIN implies
    // a negative bucket and max >= DBL_MIN a positive one.
    if ((sketch.min_ <= -DBL_MIN) != !sketch.negative_.counts.empty() ||
        (sketch.max_ >= DBL_MIN) != !sketch.positive_.counts.empty()) {
      return Corrupt("min / max inconsistent with the buckets");
    }
  }
  if (!in.empty()) return Corrupt(absl::StrCat(in.size(), " trailing bytes"));
  return sketch;
}

bool QuantileSketch::operator==(const QuantileSketch& other) const {
  return relative_accuracy_ == other.relative_accuracy_ && max_buckets_ == other.max_buckets_ &&
         zero_count_ == other.zero_count_ && positive_ == other.positive_ &&
         negative_ == other.negative_ && min_ == other.min_ && max_ == other.max_;
}

}  // namespace agentwatch::monitor
