// A streaming anomaly detector for one time series: one pass, constant state
// per series, an anomaly score in [0, 1] for every point. Pure (Abseil only).
//
// Model. The baseline is additive, Holt-Winters-like: a fast level (EWMA
// of the deseasonalized value, alpha `level_alpha` per typical interval) plus
// a seasonal offset learned online per hour-of-week slot (168 slots) and per
// hour-of-day slot (24 slots), each relative to a slow level (time constant
// `slow_level_window`, a day by default) so the offsets hold the cycle rather
// than the fast level. Offsets interpolate linearly between neighbouring slot
// centres; a slot's offset fades in as it gains visits (full weight at
// `min_slot_visits`), the weekly slots taking over from the daily ones, and
// with no trusted slot the prediction is the fast level alone (a short-term
// EWMA). Updates are time-aware: smoothing constants are per typical
// sampling interval (an EWMA of the observed intervals), so irregular
// timestamps weigh by elapsed time, and the slots learn per visit, not per
// sample.
//
// Signals, each in robust units (mean absolute deviation scaled to a
// Gaussian sigma, updated with residuals clipped by a Huber-style bound):
//   - residual: value minus the seasonal baseline;
//   - level shift: a short-term EWMA of the residual, standardized;
//   - spike: the first difference of the residual.
// The combined z (their largest magnitude) is turned into a probability-like
// surprise: a logistic of z multiplied by a tail factor from an online,
// exponentially decayed histogram of past z's (with a Gaussian prior), so a
// z that is routine for this series does not score high. Points within the
// probationary period score 0 while the model learns. Finally, repeat
// suppression lowers the scores that follow a reported score without
// exceeding it for a few points, so one anomaly raises one alert (the
// Numenta Anomaly Benchmark rewards the earliest detection in a window and
// charges every false positive).
//
// Gaps and missing values: a non-finite value is reported as missing, scores
// 0 and leaves the model untouched; the next point skips the spike signal. A
// gap longer than `gap_intervals` typical intervals resets the short-term
// signals and caps the catch-up of the smoothing. A timestamp earlier than
// the previous one is treated as equal to it (no error: the point is scored
// and learned with a zero interval).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace agentwatch::monitor::anomaly {

// Tuning of the detector. The defaults suit operational series sampled every
// few seconds to an hour; every field is validated by Validate().
struct DetectorOptions {
  // Points scored 0 at the start while the model learns (NAB's probationary
  // period). >= 0.
  int64_t probationary_points = 300;
  // Smoothing of the level per typical interval, in (0, 1].
  double level_alpha = 0.05;
  // Smoothing of the residual scale per typical interval, in (0, 1].
  double scale_alpha = 0.02;
  // Smoothing of the short-term residual mean (level-shift signal), in (0, 1].
  double shift_alpha = 0.25;
  // Smoothing of a seasonal slot per visit of the slot, in (0, 1].
  double season_alpha = 0.25;
  // Time constant of the slow level the seasonal offsets are learned
  // against: the larger of this window and `slow_level_intervals` typical
  // sampling intervals. Positive; >= 1.
  absl::Duration slow_level_window = absl::Hours(24);
  double slow_level_intervals = 50;
  // Visits a slot needs before its offset is fully trusted (it fades in
  // linearly before). > 0.
  double min_slot_visits = 2;
  // Huber bound: residuals beyond this many scales are clipped when learning
  // (widened while a level shift persists, so the model re-adapts). > 0.
  double clip_scales = 3;
  // A gap longer than this many typical intervals resets short-term signals. > 1.
  double gap_intervals = 10;
  // The logistic part of the score: 0.5 at `z_center`, steepness 1/`z_width`.
  double z_center = 5.0;
  double z_width = 0.5;
  // Points over which the z histogram forgets (its decay horizon). >= 10.
  double histogram_horizon = 3000;
  // The tail factor rises from 0 at this surprise (-log10 of the tail
  // probability) to 1 at `surprise_full`; 0 < surprise_zero < surprise_full.
  double surprise_zero = 0.75;
  double surprise_full = 2.0;
  // Repeat suppression: for `suppression_points` points after a reported
  // score, a score that does not exceed it is multiplied by
  // `suppression_share`, so a lasting anomaly alerts at its start (and again
  // only if it grows, or once the hold expires) instead of at every point;
  // points within the probationary period are not held. suppression_points
  // >= 0 (0 disables), suppression_share in [0, 1].
  double suppression_points = 20;
  double suppression_share = 0.3;

  // INVALID_ARGUMENT naming the first field out of range.
  absl::Status Validate() const;
};

// The result for one point.
struct PointScore {
  // Anomaly score in [0, 1]: near 0 for routine points.
  double score = 0;
  // The baseline's prediction for this point (NaN before the first point).
  double expected = 0;
  // The combined robust z of the point (0 when missing or first).
  double z = 0;
  // True within the probationary period (score is then 0).
  bool learning = false;
  // True when the value was NaN or infinite (score 0, model unchanged).
  bool missing = false;
};

// The detector of one series. Not thread-safe: one owner feeds its points in
// time order. Copyable (copying is a snapshot of the model).
class StreamingDetector {
 public:
  // Number of z-histogram bins and their width in z units (the last bin is
  // open-ended).
  static constexpr int kHistogramBins = 48;
  static constexpr double kHistogramBinWidth = 0.25;
  static constexpr int kDailySlots = 24;
  static constexpr int kWeeklySlots = 168;

  // INVALID_ARGUMENT when `options` is invalid.
  static absl::StatusOr<StreamingDetector> Create(const DetectorOptions& options);

  // Scores the point (`time`, `value`) against the model learned so far, then
  // learns it. Never fails: non-finite values are reported as missing.
  PointScore Update(absl::Time time, double value);

  // Points fed so far, missing ones included.
  int64_t points() const { return points_; }

  // The learned state (not the options) as compact versioned bytes: a
  // 4-byte magic "AWAD", a version byte (kSerializationVersion), then every
  // field little-endian; exactly kSerializedBytes long, whatever the series
  // length. Restoring the bytes with Deserialize and the same options gives a
  // detector that scores every later point exactly as this one would.
  static constexpr uint8_t kSerializationVersion = 2;
  static constexpr size_t kSerializedBytes = 2606;
  std::string Serialize() const;

  // A detector with `options` and the state of `bytes` (from Serialize).
  // INVALID_ARGUMENT when `options` is invalid; DATA_LOSS when the bytes are
  // not a detector state (wrong magic or length, non-finite fields, negative
  // counters); FAILED_PRECONDITION for another serialization version (the
  // caller starts a fresh detector).
  static absl::StatusOr<StreamingDetector> Deserialize(const DetectorOptions& options,
                                                       absl::string_view bytes);

  // The size of a detector's whole state in bytes: constant, independent of
  // the series length (no heap allocation): 2,760 bytes on x86-64 (168 + 24
  // slots of three floats, 48 histogram bins, a few scalars).
  static constexpr size_t StateBytes() { return sizeof(StreamingDetector); }

 private:
  struct Slot {
    float offset = 0;  // seasonal offset from the level
    float dev = 0;     // mean absolute residual in this slot
    float visits = 0;  // visits accumulated (elapsed time / slot length)
  };

  explicit StreamingDetector(const DetectorOptions& options) : options_(options) {}

  double TailProbability(double z) const;
  void AddToHistogram(double z, double weight);
  double Calibrate(double z) const;
  // `score` after repeat suppression; updates the held score.
  double Suppress(double score);

  DetectorOptions options_;
  int64_t points_ = 0;   // all points fed, missing included
  int64_t learned_ = 0;  // finite points learned
  absl::Time last_time_;
  double typical_interval_s_ = 0;  // EWMA of intervals between finite points
  bool has_previous_residual_ = false;
  double previous_residual_ = 0;
  double level_ = 0;       // fast level of the deseasonalized value
  double slow_level_ = 0;  // slow level the seasonal offsets are relative to
  double scale_ = 0;       // mean absolute residual, all slots
  double diff_scale_ = 0;  // mean absolute first difference of the residual
  double shift_mean_ = 0;  // short-term EWMA of the clipped residual z
  double histogram_total_ = 0;
  double held_score_ = 0;  // the last score reported unsuppressed
  int64_t held_age_ = 0;   // points scored since that score
  std::array<float, kHistogramBins> histogram_{};
  std::array<Slot, kDailySlots> daily_{};
  std::array<Slot, kWeeklySlots> weekly_{};
};

}  // namespace agentwatch::monitor::anomaly
