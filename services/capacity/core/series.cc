#include "capacity/core/series.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

// Bounds the memory one aligned series may take; far above what the API
// allows (90 days at one minute is 129,600 steps).
constexpr int64_t kMaxSteps = 2'000'000;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

absl::StatusOr<RegularSeries> AlignAndSum(const std::vector<std::vector<TimedValue>>& series,
                                          absl::Time start, absl::Time end, absl::Duration step,
                                          MissingStep missing) {
  if (step <= absl::ZeroDuration()) return common::InvalidField("step", "must be positive");
  if (end < start) return common::InvalidField("range", "end must not be before start");
  absl::Duration remainder;
  int64_t steps = absl::IDivDuration(end - start, step, &remainder);
  if (remainder > absl::ZeroDuration()) ++steps;
  if (steps > kMaxSteps) {
    return common::InvalidField("range", absl::StrCat("more than ", kMaxSteps, " steps"));
  }
  RegularSeries out{start, step, std::vector<double>(static_cast<size_t>(steps), kNaN)};
  for (const std::vector<TimedValue>& one : series) {
    for (const TimedValue& point : one) {
      if (point.time < start || point.time >= end || !std::isfinite(point.value)) continue;
      const int64_t index = absl::IDivDuration(point.time - start, step, &remainder);
      double& slot = out.values[static_cast<size_t>(index)];
      slot = std::isnan(slot) ? point.value : slot + point.value;
    }
  }
  if (missing == MissingStep::kZero) {
    // Steps before the first observation stay gaps: the series did not exist
    // yet, and counting them as zero demand would invent a regime change.
    bool observed = false;
    for (double& value : out.values) {
      observed = observed || !std::isnan(value);
      if (observed && std::isnan(value)) value = 0;
    }
  }
  return out;
}

absl::StatusOr<FilledSeries> FillGaps(const RegularSeries& series, int64_t season) {
  if (series.step <= absl::ZeroDuration()) return common::InvalidField("step", "must be positive");
  const int64_t total = static_cast<int64_t>(series.values.size());
  int64_t first = 0;
  while (first < total && !std::isfinite(series.values[static_cast<size_t>(first)])) ++first;
  if (first == total) {
    return absl::FailedPreconditionError("history: no observed value in the range");
  }

  FilledSeries out;
  out.start = series.start + first * series.step;
  out.step = series.step;
  out.trimmed = first;
  const int64_t n = total - first;
  out.values.assign(series.values.begin() + first, series.values.end());
  out.observed.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const bool seen = std::isfinite(out.values[static_cast<size_t>(i)]);
    out.observed[static_cast<size_t>(i)] = seen ? 1 : 0;
    if (seen) ++out.observed_count;
  }

  // next_seen[i]: index of the first observed value at or after i, or n.
  std::vector<int64_t> next_seen(static_cast<size_t>(n) + 1, n);
  for (int64_t i = n - 1; i >= 0; --i) {
    next_seen[static_cast<size_t>(i)] =
        out.observed[static_cast<size_t>(i)] ? i : next_seen[static_cast<size_t>(i) + 1];
  }
  const std::vector<double> source = out.values;
  const auto seen = [&](int64_t i) {
    return i >= 0 && i < n && out.observed[static_cast<size_t>(i)] != 0;
  };
  int64_t previous_seen = 0;  // index 0 is observed after trimming
  for (int64_t i = 0; i < n; ++i) {
    const size_t at = static_cast<size_t>(i);
    if (out.observed[at]) {
      previous_seen = i;
      continue;
    }
    ++out.imputed;
    if (season >= 2 && seen(i - season)) {
      out.values[at] = source[static_cast<size_t>(i - season)];
    } else if (season >= 2 && seen(i + season)) {
      out.values[at] = source[static_cast<size_t>(i + season)];
    } else if (const int64_t next = next_seen[at]; next < n) {
      const double left = source[static_cast<size_t>(previous_seen)];
      const double right = source[static_cast<size_t>(next)];
      const double fraction =
          static_cast<double>(i - previous_seen) / static_cast<double>(next - previous_seen);
      out.values[at] = left + (right - left) * fraction;
    } else {
      out.values[at] = source[static_cast<size_t>(previous_seen)];
    }
  }
  return out;
}

}  // namespace agentwatch::capacity
