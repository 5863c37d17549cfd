#include "capacity/core/usage_patterns.h"

#include <algorithm>
#include <cmath>

#include "absl/time/civil_time.h"
#include "capacity/core/changepoint.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

// 0 = Monday .. 6 = Sunday.
int WeekdayIndex(absl::Weekday day) {
  switch (day) {
    case absl::Weekday::monday:
      return 0;
    case absl::Weekday::tuesday:
      return 1;
    case absl::Weekday::wednesday:
      return 2;
    case absl::Weekday::thursday:
      return 3;
    case absl::Weekday::friday:
      return 4;
    case absl::Weekday::saturday:
      return 5;
    default:
      return 6;
  }
}

// Slope of the least-squares line through (x[i], y[i]).
double Slope(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  double mx = 0;
  double my = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    mx += x[i] / n;
    my += y[i] / n;
  }
  double sxy = 0;
  double sxx = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  return sxx > 0 ? sxy / sxx : 0;
}

// The least-squares slope of (x, y) with a separate intercept per segment
// between `changes`.
double PooledSlope(const std::vector<double>& x, const std::vector<double>& y,
                   const std::vector<LevelChange>& changes) {
  double sxy = 0;
  double sxx = 0;
  size_t begin = 0;
  for (size_t c = 0; c <= changes.size(); ++c) {
    const size_t end = c < changes.size() ? static_cast<size_t>(changes[c].index) : x.size();
    if (end > begin) {
      double mx = 0;
      double my = 0;
      for (size_t i = begin; i < end; ++i) {
        mx += x[i];
        my += y[i];
      }
      mx /= static_cast<double>(end - begin);
      my /= static_cast<double>(end - begin);
      for (size_t i = begin; i < end; ++i) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
      }
    }
    begin = end;
  }
  return sxx > 0 ? sxy / sxx : 0;
}

}  // namespace

absl::StatusOr<UsagePatterns> AnalyzeUsage(const RegularSeries& history, absl::TimeZone zone) {
  if (history.step <= absl::ZeroDuration()) {
    return common::InvalidField("step", "must be positive");
  }
  UsagePatterns out;
  out.start = history.start;
  out.end = history.start + static_cast<int64_t>(history.values.size()) * history.step;
  std::array<double, 24> hour_sum{};
  std::array<int64_t, 24> hour_count{};
  std::array<double, 7> day_sum{};
  std::array<int64_t, 7> day_count{};
  // Local day -> (sum, count), in order.
  std::vector<absl::CivilDay> days;
  std::vector<double> day_totals;
  std::vector<int64_t> day_points;
  std::vector<int> hour_of(history.values.size(), 0);
  std::vector<int> weekday_of(history.values.size(), 0);
  double total = 0;
  for (size_t i = 0; i < history.values.size(); ++i) {
    const absl::Time t = history.start + static_cast<int64_t>(i) * history.step;
    const absl::CivilSecond local = zone.At(t).cs;
    hour_of[i] = local.hour();
    const absl::CivilDay day(local);
    const int weekday = WeekdayIndex(absl::GetWeekday(day));
    weekday_of[i] = weekday;
    const double v = history.values[i];
    if (!std::isfinite(v)) continue;
    hour_sum[local.hour()] += v;
    ++hour_count[local.hour()];
    day_sum[weekday] += v;
    ++day_count[weekday];
    if (days.empty() || days.back() != day) {
      days.push_back(day);
      day_totals.push_back(0);
      day_points.push_back(0);
    }
    day_totals.back() += v;
    ++day_points.back();
    total += v;
    ++out.points;
  }
  if (out.points == 0) return absl::NotFoundError("history: no finite value to analyse");
  for (int h = 0; h < 24; ++h) {
    out.hour_of_day[h] = hour_count[h] > 0 ? hour_sum[h] / static_cast<double>(hour_count[h]) : 0;
  }
  for (int d = 0; d < 7; ++d) {
    out.day_of_week[d] = day_count[d] > 0 ? day_sum[d] / static_cast<double>(day_count[d]) : 0;
  }
  const double top_hour = *std::max_element(out.hour_of_day.begin(), out.hour_of_day.end());
  if (top_hour > 0) {
    for (int h = 0; h < 24; ++h) {
      if (hour_count[h] > 0 && out.hour_of_day[h] >= kPeakHourShare * top_hour) {
        out.peak_hours.push_back(h);
      }
    }
    std::stable_sort(out.peak_hours.begin(), out.peak_hours.end(),
                     [&out](int a, int b) { return out.hour_of_day[a] > out.hour_of_day[b]; });
  }
  int busiest = 0;
  for (int d = 1; d < 7; ++d) {
    if (day_count[d] > 0 &&
        (day_count[busiest] == 0 || out.day_of_week[d] > out.day_of_week[busiest])) {
      busiest = d;
    }
  }
  out.peak_day = busiest + 1;

  // Growth: daily means of days at least half observed.
  const int64_t steps_per_day = std::max<int64_t>(absl::Hours(24) / history.step, 1);
  std::vector<double> x;
  std::vector<double> y;
  std::vector<int> weekday;
  for (size_t i = 0; i < days.size(); ++i) {
    if (2 * day_points[i] < steps_per_day) continue;
    x.push_back(static_cast<double>(days[i] - days.front()));
    y.push_back(day_totals[i] / static_cast<double>(day_points[i]));
    weekday.push_back(WeekdayIndex(absl::GetWeekday(days[i])));
  }
  if (x.size() >= 2) {
    double level = 0;
    for (double v : y) level += v / static_cast<double>(y.size());
    if (x.back() - x.front() >= 14) {
      std::array<double, 7> effect_sum{};
      std::array<int64_t, 7> effect_count{};
      for (size_t i = 0; i < y.size(); ++i) {
        effect_sum[weekday[i]] += y[i] - level;
        ++effect_count[weekday[i]];
      }
      for (size_t i = 0; i < y.size(); ++i) {
        y[i] -= effect_sum[weekday[i]] / static_cast<double>(effect_count[weekday[i]]);
      }
    }
    if (level > 0) out.growth_rate_per_week = Slope(x, y) * 7 / level;
  }

  // Changepoints of the level. The series is modelled as seasonal profile
  // (hour of week when two weeks are covered, else hour of day) + piecewise
  // constant level + linear trend, fitted by backfitting: the profile from
  // the values without the current levels and trend, the trend pooled within
  // the current segments, the changepoints again on what remains, until they
  // settle. A steady growth is then no change of level, and a level shift
  // does not leak into the profile of the weekdays it covers more often.
  const bool weekly = days.size() >= 14;
  const size_t buckets = weekly ? 168 : 24;
  std::vector<size_t> bucket;
  std::vector<double> value;
  std::vector<double> position;
  std::vector<size_t> index_of;
  for (size_t i = 0; i < history.values.size(); ++i) {
    if (!std::isfinite(history.values[i])) continue;
    bucket.push_back(weekly ? static_cast<size_t>(weekday_of[i] * 24 + hour_of[i])
                            : static_cast<size_t>(hour_of[i]));
    value.push_back(history.values[i]);
    position.push_back(static_cast<double>(i));
    index_of.push_back(i);
  }
  const size_t m = value.size();
  const double mean = total / static_cast<double>(out.points);
  ChangepointOptions options;
  options.min_segment = std::max<int64_t>(12, absl::Hours(6) / history.step);
  std::vector<LevelChange> changes;
  std::vector<double> fitted_level(m, 0);  // level + trend of the current fit
  std::vector<double> level(m);            // value - profile
  std::vector<double> detrended(m);
  for (int round = 0; round < 6; ++round) {
    std::vector<double> profile_sum(buckets, 0);
    std::vector<int64_t> profile_count(buckets, 0);
    double profile_mean = 0;
    for (size_t i = 0; i < m; ++i) {
      profile_sum[bucket[i]] += value[i] - fitted_level[i];
      ++profile_count[bucket[i]];
    }
    for (size_t b = 0; b < buckets; ++b) {
      if (profile_count[b] > 0) profile_sum[b] /= static_cast<double>(profile_count[b]);
    }
    for (size_t i = 0; i < m; ++i) profile_mean += profile_sum[bucket[i]] / static_cast<double>(m);
    for (size_t i = 0; i < m; ++i) level[i] = value[i] - (profile_sum[bucket[i]] - profile_mean);
    const double slope = PooledSlope(position, level, changes);
    for (size_t i = 0; i < m; ++i) {
      detrended[i] = level[i] - slope * (position[i] - position.front());
    }
    std::vector<LevelChange> next = DetectChangepoints(detrended, options);
    const bool settled =
        next.size() == changes.size() &&
        std::equal(next.begin(), next.end(), changes.begin(),
                   [](const LevelChange& a, const LevelChange& b) { return a.index == b.index; });
    changes = std::move(next);
    // The level of each segment (mean of the detrended values) plus the trend.
    size_t begin = 0;
    for (size_t c = 0; c <= changes.size(); ++c) {
      const size_t end = c < changes.size() ? static_cast<size_t>(changes[c].index) : m;
      double sum = 0;
      for (size_t i = begin; i < end; ++i) sum += detrended[i];
      const double mean_level = end > begin ? sum / static_cast<double>(end - begin) : 0;
      for (size_t i = begin; i < end; ++i) {
        fitted_level[i] = mean_level + slope * (position[i] - position.front()) - mean;
      }
      begin = end;
    }
    if (settled) break;
  }
  const auto segment_mean = [&level](size_t begin, size_t end) {
    double sum = 0;
    for (size_t i = begin; i < end; ++i) sum += level[i];
    return end > begin ? sum / static_cast<double>(end - begin) : 0.0;
  };
  for (size_t c = 0; c < changes.size(); ++c) {
    const size_t at = static_cast<size_t>(changes[c].index);
    const size_t begin = c == 0 ? 0 : static_cast<size_t>(changes[c - 1].index);
    const size_t end =
        c + 1 == changes.size() ? level.size() : static_cast<size_t>(changes[c + 1].index);
    out.changepoints.push_back({history.start + static_cast<int64_t>(index_of[at]) * history.step,
                                segment_mean(begin, at), segment_mean(at, end)});
  }
  return out;
}

}  // namespace agentwatch::capacity
