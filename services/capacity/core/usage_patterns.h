// Usage patterns of a demand series: hour-of-day and day-of-week profiles in
// a time zone, peak hours and day, weekly growth rate and level changepoints.
// Pure and deterministic.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "capacity/core/series.h"

namespace agentwatch::capacity {

// Hours whose mean is within this share of the busiest hour's are peak hours.
inline constexpr double kPeakHourShare = 0.9;

// A changepoint in time.
struct UsageChange {
  absl::Time time;
  double level_before = 0;
  double level_after = 0;
};

// The patterns of a series.
struct UsagePatterns {
  // Mean per local hour of day (0 first) and per local day of week (Monday
  // first) over the finite values; 0 for a bucket without any.
  std::array<double, 24> hour_of_day{};
  std::array<double, 7> day_of_week{};
  // Hours (0..23) whose mean is at least kPeakHourShare x the highest hour
  // mean, busiest first (ties: earlier hour first); empty when every mean is
  // <= 0.
  std::vector<int> peak_hours;
  // ISO day of the busiest day, 1 = Monday .. 7 = Sunday.
  int peak_day = 1;
  // Least-squares slope of the daily means (with the day-of-week effect
  // removed when two weeks are covered) x 7, over the mean daily level; 0
  // with fewer than two days or a level <= 0.
  double growth_rate_per_week = 0;
  // Level changepoints of the series with its seasonal profile (hour of week
  // when it covers two weeks, else hour of day) and linear trend removed;
  // the levels are the means of the deseasonalized series between
  // neighbouring changepoints.
  std::vector<UsageChange> changepoints;
  // Range analysed: [start, end) and the number of finite points.
  absl::Time start;
  absl::Time end;
  int64_t points = 0;
};

// Analyses `history` (NaN gaps skipped) in `zone`. NOT_FOUND ("history: ...")
// when it holds no finite value; INVALID_ARGUMENT ("step: ...") when its step
// is not positive.
absl::StatusOr<UsagePatterns> AnalyzeUsage(const RegularSeries& history, absl::TimeZone zone);

}  // namespace agentwatch::capacity
