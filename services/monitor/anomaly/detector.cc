#include "monitor/anomaly/detector.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agentwatch::monitor::anomaly {
namespace {

using ::agentwatch::common::InvalidField;

// Mean absolute deviation to a Gaussian sigma: sigma = sqrt(pi/2) * MAD.
constexpr double kMadToSigma = 1.2533141373155;
constexpr double kSlotSeconds = 3600;
// Residual z's feeding the level-shift mean are clipped to this magnitude so
// one spike cannot look like a shift.
constexpr double kShiftClipZ = 6;
// Pseudo-counts of the Gaussian prior of the z histogram.
constexpr double kPriorCounts = 10;
// Finite points before the scales are meaningful enough to compute a z.
constexpr int64_t kMinPointsForZ = 3;
// The largest z reported; keeps histogram indexing finite.
constexpr double kMaxZ = 1e6;
// Finite points before z's enter the calibration histogram: the z's of the
// first points come from scales estimated on a handful of samples.
constexpr int64_t kMinPointsForHistogram = 50;
// The share of the score that keeps growing with z past saturation, and its
// z scale.
constexpr double kOrderShare = 0.01;
constexpr double kOrderScaleZ = 20;
// Samples at which a weekly slot's offset gets half of the weight it would
// have from its visits alone.
constexpr double kWeeklyShrinkSamples = 4;

// The per-step smoothing `alpha` applied over `steps` typical intervals.
double Smoothing(double alpha, double steps) {
  if (steps == 1) return alpha;
  return 1 - std::pow(1 - alpha, steps);
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

bool InRange01(double v) { return v > 0 && v <= 1; }

constexpr char kMagic[] = "AWAD";
constexpr size_t kMagicBytes = 4;

// Little-endian writer of the serialized state.
class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void F64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof(bits));
    U64(bits);
  }
  void F32(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof(bits));
    U32(bits);
  }

 private:
  std::string* out_;
};

// Little-endian reader; the caller checks the total length first.
class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}
  uint8_t U8() { return static_cast<uint8_t>(in_[pos_++]); }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(U8()) << (8 * i);
    return v;
  }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(U8()) << (8 * i);
    return v;
  }
  int64_t I64() { return static_cast<int64_t>(U64()); }
  double F64() {
    const uint64_t bits = U64();
    double v;
    std::memcpy(&v, &bits, sizeof(v));
    finite_ = finite_ && std::isfinite(v);
    return v;
  }
  float F32() {
    const uint32_t bits = U32();
    float v;
    std::memcpy(&v, &bits, sizeof(v));
    finite_ = finite_ && std::isfinite(v);
    return v;
  }
  bool finite() const { return finite_; }
  size_t position() const { return pos_; }

 private:
  absl::string_view in_;
  size_t pos_ = 0;
  bool finite_ = true;
};

}  // namespace

absl::Status DetectorOptions::Validate() const {
  if (probationary_points < 0) return InvalidField("probationary_points", "must be >= 0");
  if (!InRange01(level_alpha)) return InvalidField("level_alpha", "must be in (0, 1]");
  if (!InRange01(scale_alpha)) return InvalidField("scale_alpha", "must be in (0, 1]");
  if (!InRange01(shift_alpha)) return InvalidField("shift_alpha", "must be in (0, 1]");
  if (!InRange01(season_alpha)) return InvalidField("season_alpha", "must be in (0, 1]");
  if (slow_level_window <= absl::ZeroDuration()) {
    return InvalidField("slow_level_window", "must be positive");
  }
  if (!(slow_level_intervals >= 1)) return InvalidField("slow_level_intervals", "must be >= 1");
  if (!(min_slot_visits > 0)) return InvalidField("min_slot_visits", "must be > 0");
  if (!(clip_scales > 0)) return InvalidField("clip_scales", "must be > 0");
  if (!(gap_intervals > 1)) return InvalidField("gap_intervals", "must be > 1");
  if (!std::isfinite(z_center)) return InvalidField("z_center", "must be finite");
  if (!(z_width > 0) || !std::isfinite(z_width)) return InvalidField("z_width", "must be > 0");
  if (!(histogram_horizon >= 10) || !std::isfinite(histogram_horizon)) {
    return InvalidField("histogram_horizon", "must be >= 10");
  }
  if (!(surprise_zero > 0)) return InvalidField("surprise_zero", "must be > 0");
  if (!(surprise_full > surprise_zero) || !std::isfinite(surprise_full)) {
    return InvalidField("surprise_full", "must be finite and > surprise_zero");
  }
  if (!(suppression_points >= 0) || !std::isfinite(suppression_points)) {
    return InvalidField("suppression_points", "must be finite and >= 0");
  }
  if (!(suppression_share >= 0 && suppression_share <= 1)) {
    return InvalidField("suppression_share", "must be in [0, 1]");
  }
  return absl::OkStatus();
}

absl::StatusOr<StreamingDetector> StreamingDetector::Create(const DetectorOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  return StreamingDetector(options);
}

double StreamingDetector::TailProbability(double z) const {
  int bin = static_cast<int>(z / kHistogramBinWidth);
  bin = std::clamp(bin, 0, kHistogramBins - 1);
  double at_or_above = 0.5 * histogram_[bin];
  for (int b = bin + 1; b < kHistogramBins; ++b) at_or_above += histogram_[b];
  const double prior = std::erfc(z / std::sqrt(2.0));
  const double p = (at_or_above + kPriorCounts * prior) / (histogram_total_ + kPriorCounts);
  return std::max(p, 1e-300);
}

void StreamingDetector::AddToHistogram(double z, double weight) {
  const double keep = 1 - 1 / options_.histogram_horizon;
  for (float& count : histogram_) count = static_cast<float>(count * keep);
  histogram_total_ = histogram_total_ * keep + weight;
  const int bin = std::clamp(static_cast<int>(z / kHistogramBinWidth), 0, kHistogramBins - 1);
  histogram_[bin] += static_cast<float>(weight);
}

double StreamingDetector::Calibrate(double z) const {
  const double logistic = 1 / (1 + std::exp(-(z - options_.z_center) / options_.z_width));
  const double surprise = -std::log10(TailProbability(z));
  const double tail = std::clamp(
      (surprise - options_.surprise_zero) / (options_.surprise_full - options_.surprise_zero), 0.0,
      1.0);
  // Saturated scores keep ordering by z (a 1 % share), so a threshold near 1
  // still separates a 6-sigma point from a 60-sigma one.
  const double order = 1 - kOrderShare * std::exp(-z / kOrderScaleZ);
  return std::clamp(logistic * tail * order, 0.0, 1.0);
}

double StreamingDetector::Suppress(double score) {
  if (options_.suppression_points <= 0) return score;
  ++held_age_;
  if (score > held_score_ || static_cast<double>(held_age_) > options_.suppression_points) {
    held_score_ = score;
    held_age_ = 0;
    return score;
  }
  return score * options_.suppression_share;
}

PointScore StreamingDetector::Update(absl::Time time, double value) {
  ++points_;
  PointScore out;
  out.learning = points_ <= options_.probationary_points;

  // Slots are centred on the half hour; a point's offset interpolates
  // linearly between the two nearest slot centres, so a steep part of the
  // cycle is not a staircase with a jump at every hour.
  const double hours = absl::ToDoubleSeconds(time - absl::UnixEpoch()) / kSlotSeconds - 0.5;
  const double hour_floor = std::floor(hours);
  const double next_weight = hours - hour_floor;
  const int64_t hour = static_cast<int64_t>(hour_floor);
  Slot& daily = daily_[FloorMod(hour, kDailySlots)];
  Slot& daily_next = daily_[FloorMod(hour + 1, kDailySlots)];
  Slot& weekly = weekly_[FloorMod(hour, kWeeklySlots)];
  Slot& weekly_next = weekly_[FloorMod(hour + 1, kWeeklySlots)];
  auto blend = [&](const Slot& a, const Slot& b, float Slot::*field) {
    return (1 - next_weight) * (a.*field) + next_weight * (b.*field);
  };
  // The seasonal offset fades in as slots gain visits (no jump when a slot
  // becomes trusted); the weekly slots take over from the daily ones.
  const double daily_weight =
      std::min(1.0, blend(daily, daily_next, &Slot::visits) / options_.min_slot_visits);
  // The weekly slots are also shrunk toward the daily ones by the samples
  // they hold (a week of hourly data gives a weekly slot one sample, of
  // 5-minute data twelve), so a sparse series does not trade its daily
  // profile for a noisy weekly one.
  const double weekly_visits = blend(weekly, weekly_next, &Slot::visits);
  const double weekly_samples =
      weekly_visits * std::max(1.0, kSlotSeconds / std::max(typical_interval_s_, 1e-9));
  const double weekly_weight = std::min(1.0, weekly_visits / options_.min_slot_visits) *
                               weekly_samples / (weekly_samples + kWeeklyShrinkSamples);
  const double offset =
      weekly_weight * blend(weekly, weekly_next, &Slot::offset) +
      (1 - weekly_weight) * daily_weight * blend(daily, daily_next, &Slot::offset);

  if (!std::isfinite(value)) {
    out.missing = true;
    out.expected = learned_ > 0 ? level_ + offset : std::numeric_limits<double>::quiet_NaN();
    has_previous_residual_ = false;
    return out;
  }
  if (learned_ == 0) {
    out.expected = std::numeric_limits<double>::quiet_NaN();
    level_ = value;
    slow_level_ = value;
    last_time_ = time;
    learned_ = 1;
    return out;
  }

  // Elapsed time in typical intervals; out-of-order points count as no time.
  const double dt = std::max(0.0, absl::ToDoubleSeconds(time - last_time_));
  if (time > last_time_) last_time_ = time;
  if (typical_interval_s_ == 0 && dt > 0) typical_interval_s_ = dt;
  const double steps = typical_interval_s_ > 0 ? dt / typical_interval_s_ : 1;
  const bool gap = steps > options_.gap_intervals;
  const double learn_steps = std::clamp(steps, 0.1, options_.gap_intervals);
  if (dt > 0) {
    typical_interval_s_ += 0.05 * (std::min(dt, 4 * typical_interval_s_) - typical_interval_s_);
  }
  if (gap) {
    shift_mean_ = 0;
    has_previous_residual_ = false;
  }

  // Score against the model as it was before this point.
  const double expected = level_ + offset;
  const double residual = value - expected;
  const double slot_dev =
      weekly_weight * blend(weekly, weekly_next, &Slot::dev) +
      (1 - weekly_weight) *
          (daily_weight * blend(daily, daily_next, &Slot::dev) + (1 - daily_weight) * scale_);
  const double scale = std::max(slot_dev, 0.5 * scale_);
  const double epsilon = 1e-9 * std::max(1.0, std::abs(level_));
  const double sigma = kMadToSigma * scale + epsilon;
  const double z_residual = residual / sigma;
  const double shift_alpha = Smoothing(options_.shift_alpha, learn_steps);
  const double shift_mean =
      shift_mean_ + shift_alpha * (std::clamp(z_residual, -kShiftClipZ, kShiftClipZ) - shift_mean_);
  const double shift_sd = std::sqrt(options_.shift_alpha / (2 - options_.shift_alpha));
  const double z_shift = shift_mean / shift_sd;
  double z_spike = 0;
  double residual_diff = 0;
  if (has_previous_residual_) {
    residual_diff = residual - previous_residual_;
    const double diff_sigma = kMadToSigma * diff_scale_ + epsilon;
    // A jump counts only as far as it leads away from the baseline: the
    // point after a spike jumps back to normal and is not itself anomalous.
    const double away = std::abs(residual) / diff_sigma;
    z_spike = std::clamp(residual_diff / diff_sigma, -away, away);
  }
  double z = 0;
  if (learned_ >= kMinPointsForZ) {
    z = std::max({std::abs(z_residual), std::abs(z_shift), std::abs(z_spike)});
    // Overflowing values (or a NaN from inf - inf) are as surprising as it gets.
    if (!(z < kMaxZ)) z = kMaxZ;
  }
  out.expected = expected;
  out.z = z;
  out.score = out.learning ? 0 : Suppress(Calibrate(z));

  // Learn. Residuals are clipped (Huber) so outliers barely move the model;
  // the bound widens while the residual mean stays away from 0 (a level
  // shift), so the model re-adapts to a new level within tens of points.
  ++learned_;
  const double warm = 1.0 / static_cast<double>(learned_);
  // No clipping while the scales are still being estimated from a handful
  // of points: they start at 0 and would clip every residual.
  const double bound = learned_ <= kMinPointsForHistogram
                           ? std::numeric_limits<double>::infinity()
                           : options_.clip_scales * sigma * std::max(1.0, std::abs(shift_mean) - 1);
  const double clipped = std::clamp(residual, -bound, bound);
  level_ += std::max(Smoothing(options_.level_alpha, learn_steps), warm) * clipped;
  const double scale_alpha = std::max(Smoothing(options_.scale_alpha, learn_steps), warm);
  scale_ += scale_alpha * (std::min(std::abs(residual), bound) - scale_);
  if (has_previous_residual_) {
    diff_scale_ += scale_alpha * (std::min(std::abs(residual_diff), 2 * bound) - diff_scale_);
  } else if (diff_scale_ == 0) {
    diff_scale_ = scale_;
  }
  shift_mean_ = shift_mean;
  previous_residual_ = residual;
  has_previous_residual_ = true;

  // The seasonal offsets are learned against the slow level (a time constant
  // of about a day, or `slow_level_intervals` samples when sampling is
  // sparser), which does not follow the cycle itself; the fast level above
  // then only tracks what the cycle does not explain.
  const double elapsed =
      dt > 0 ? std::min(dt, typical_interval_s_ * options_.gap_intervals) : typical_interval_s_;
  const double slow_seconds = std::max(absl::ToDoubleSeconds(options_.slow_level_window),
                                       options_.slow_level_intervals * typical_interval_s_);
  const double slow_alpha = std::max(1 - std::exp(-elapsed / slow_seconds), warm);
  const double deseasonalized = value - offset;
  const double slow_error = deseasonalized - slow_level_;
  slow_level_ += slow_alpha * std::clamp(slow_error, -bound, bound);
  const double visit = std::min(elapsed, kSlotSeconds) / kSlotSeconds;
  const double clipped_abs_residual = std::min(std::abs(residual), bound);
  const std::pair<Slot*, double> updates[] = {{&daily, visit * (1 - next_weight)},
                                              {&daily_next, visit * next_weight},
                                              {&weekly, visit * (1 - next_weight)},
                                              {&weekly_next, visit * next_weight}};
  for (const auto& [slot, slot_visit] : updates) {
    double alpha = Smoothing(options_.season_alpha, slot_visit);
    // The first visit of a slot averages its samples.
    if (slot->visits < 1 && slot_visit > 0) {
      alpha = std::max(alpha, slot_visit / (slot->visits + slot_visit));
    }
    const double error = std::clamp(value - slow_level_ - slot->offset, -bound, bound);
    slot->offset = static_cast<float>(slot->offset + alpha * error);
    const double dev_target = slot->visits > 0 ? clipped_abs_residual : scale_;
    slot->dev = static_cast<float>(slot->dev + alpha * (dev_target - slot->dev));
    slot->visits = static_cast<float>(slot->visits + slot_visit);
  }

  if (learned_ > kMinPointsForHistogram) AddToHistogram(z, 1);
  return out;
}

std::string StreamingDetector::Serialize() const {
  std::string out;
  out.reserve(kSerializedBytes);
  out.append(kMagic, kMagicBytes);
  Writer w(&out);
  w.U8(kSerializationVersion);
  w.I64(points_);
  w.I64(learned_);
  w.I64(absl::ToUnixMicros(last_time_));
  w.F64(typical_interval_s_);
  w.U8(has_previous_residual_ ? 1 : 0);
  w.F64(previous_residual_);
  w.F64(level_);
  w.F64(slow_level_);
  w.F64(scale_);
  w.F64(diff_scale_);
  w.F64(shift_mean_);
  w.F64(histogram_total_);
  w.F64(held_score_);
  w.I64(held_age_);
  for (float count : histogram_) w.F32(count);
  auto write_slot = [&w](const Slot& slot) {
    w.F32(slot.offset);
    w.F32(slot.dev);
    w.F32(slot.visits);
  };
  for (const Slot& slot : daily_) write_slot(slot);
  for (const Slot& slot : weekly_) write_slot(slot);
  return out;
}

absl::StatusOr<StreamingDetector> StreamingDetector::Deserialize(const DetectorOptions& options,
                                                                 absl::string_view bytes) {
  RETURN_IF_ERROR(options.Validate());
  if (bytes.size() < kMagicBytes + 1 || bytes.substr(0, kMagicBytes) != kMagic) {
    return absl::DataLossError("detector state: not a serialized detector (bad magic)");
  }
  const uint8_t version = static_cast<uint8_t>(bytes[kMagicBytes]);
  if (version != kSerializationVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "detector state: version ", version, ", this build reads version ", kSerializationVersion));
  }
  if (bytes.size() != kSerializedBytes) {
    return absl::DataLossError(absl::StrCat("detector state: ", bytes.size(), " bytes, version ",
                                            kSerializationVersion, " has ", kSerializedBytes));
  }
  StreamingDetector d(options);
  Reader r(bytes.substr(kMagicBytes + 1));
  d.points_ = r.I64();
  d.learned_ = r.I64();
  d.last_time_ = absl::FromUnixMicros(r.I64());
  d.typical_interval_s_ = r.F64();
  const uint8_t has_previous = r.U8();
  d.has_previous_residual_ = has_previous == 1;
  d.previous_residual_ = r.F64();
  d.level_ = r.F64();
  d.slow_level_ = r.F64();
  d.scale_ = r.F64();
  d.diff_scale_ = r.F64();
  d.shift_mean_ = r.F64();
  d.histogram_total_ = r.F64();
  d.held_score_ = r.F64();
  d.held_age_ = r.I64();
  for (float& count : d.histogram_) count = r.F32();
  auto read_slot = [&r](Slot& slot) {
    slot.offset = r.F32();
    slot.dev = r.F32();
    slot.visits = r.F32();
  };
  for (Slot& slot : d.daily_) read_slot(slot);
  for (Slot& slot : d.weekly_) read_slot(slot);
  if (!r.finite() || d.points_ < 0 || d.learned_ < 0 || d.learned_ > d.points_ ||
      has_previous > 1 || d.typical_interval_s_ < 0 || d.scale_ < 0 || d.diff_scale_ < 0 ||
      d.histogram_total_ < 0 || d.held_score_ < 0 || d.held_age_ < 0) {
    return absl::DataLossError("detector state: corrupt fields");
  }
  return d;
}

}  // namespace agentwatch::monitor::anomaly
