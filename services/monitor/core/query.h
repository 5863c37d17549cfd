// QuerySeries: request normalization and validation, step alignment, point
// values per aggregation, and assembly of the answer from per-step rollup
// aggregates. Pure; the store does the selection and summing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "monitor/core/quantile_sketch.h"
#include "monitor/core/rollup.h"
#include "monitor/core/types.h"

namespace agentwatch::monitor {

// Limits of one answer.
inline constexpr int64_t kMaxPointsPerSeries = 11000;
inline constexpr int64_t kMaxSeriesPerAnswer = 10000;
inline constexpr int64_t kMaxPointsPerAnswer = 1000000;

// Values equal agentwatch.monitor.v1.Aggregation.
enum class Aggregation : int {
  kUnspecified = 0,
  kSum = 1,
  kAvg = 2,
  kMin = 3,
  kMax = 4,
  kCount = 5,
  kRate = 6,
  kP50 = 7,
  kP95 = 8,
  kP99 = 9,
};

// Values equal agentwatch.common.v1.MatchOp.
enum class MatchOp : int { kUnspecified = 0, kEqual = 1, kNotEqual = 2, kRegex = 3, kNotRegex = 4 };

// A label matcher; an absent label has the value "". Regular expressions are
// anchored at both ends.
struct LabelMatcher {
  std::string name;
  MatchOp op = MatchOp::kUnspecified;
  std::string value;
};

// A QuerySeries request as received (unset fields empty).
struct SeriesQueryRequest {
  std::string metric;
  std::vector<LabelMatcher> matchers;
  std::optional<absl::Time> start;
  std::optional<absl::Time> end;
  std::optional<absl::Duration> step;
  int aggregation = 0;
  std::vector<std::string> group_by;
  std::string tenant;
};

// A validated query with defaults applied.
struct SeriesQuery {
  std::string metric;
  std::vector<LabelMatcher> matchers;
  // Rollup buckets starting in [bucket_from, end) are read: bucket_from is
  // `start` rounded down to the minute.
  absl::Time start;
  absl::Time end;
  absl::Time bucket_from;
  absl::Duration step;
  Aggregation aggregation = Aggregation::kSum;
  // Distinct label names, in request order.
  std::vector<std::string> group_by;
  std::string tenant;  // empty: every tenant
};

// Validates `request` and applies the defaults (end = now, step = 1 minute,
// aggregation SUM). Errors:
// - INVALID_ARGUMENT naming the field: metric missing or malformed;
//   matchers[i].name missing or malformed, matchers[i].op unset or unknown,
//   matchers[i].value or tenant holding a NUL character;
//   range.start missing; range.end not after range.start; step not a whole
//   number of minutes or below 1 minute; aggregation unknown; group_by[i]
//   malformed;
// - INVALID_ARGUMENT naming "aggregation" for P50 / P95 / P99 of a metric
//   without quantile sketches (see HasQuantileSketch);
// - RESOURCE_EXHAUSTED when the range holds more than kMaxPointsPerSeries
//   steps.
// Regular expressions are checked by the store, which runs them.
absl::StatusOr<SeriesQuery> NormalizeSeriesQuery(const SeriesQueryRequest& request, absl::Time now);

// `t` rounded down to a multiple of `step` since the Unix epoch.
absl::Time AlignDown(absl::Time t, absl::Duration step);

// The aggregate of one group over one step, as the store returns it.
struct StepRow {
  // Values of the query's group_by labels, in its order ("" when absent).
  std::vector<std::string> group_values;
  absl::Time step_start;  // AlignDown(bucket, step)
  RollupStats stats;
  // The merged sketch of the step, read for P50 / P95 / P99 queries only.
  std::optional<QuantileSketch> sketch;
};

// True for P50, P95 and P99.
bool IsQuantileAggregation(Aggregation aggregation);

// The quantile (0.5, 0.95, 0.99) of a quantile aggregation; 0 otherwise.
double QuantileOf(Aggregation aggregation);

// The value of a point: SUM sum; AVG sum / count; MIN min; MAX max; COUNT
// count; RATE sum / step seconds.
double PointValue(Aggregation aggregation, const RollupStats& stats, absl::Duration step);

// One point.
struct SeriesPoint {
  absl::Time time;
  double value = 0;
};

// One output series.
struct SeriesResult {
  // The non-empty group_by labels plus "__name__" = metric.
  Labels labels;
  std::vector<SeriesPoint> points;  // in time order
};

// Builds the answer from `rows` (any order): one series per distinct group,
// ordered by labels, points in time order. For P50 / P95 / P99 the rows'
// sketches are merged per group and step and the point is the sketch's
// quantile (within its 1 % relative error); a step without a sketch has no
// point. RESOURCE_EXHAUSTED when there are
// more than kMaxSeriesPerAnswer groups.
absl::StatusOr<std::vector<SeriesResult>> AssembleSeries(const SeriesQuery& query,
                                                         std::vector<StepRow> rows);

// True when `labels` satisfy every matcher whose op is EQUAL or NOT_EQUAL;
// regular-expression matchers are left to `regex_match(value, pattern)`,
// which must report a full (anchored) match.
template <typename RegexMatch>
bool MatchesAll(const std::vector<LabelMatcher>& matchers, const Labels& labels,
                const RegexMatch& regex_match) {
  static const std::string kAbsent;
  for (const LabelMatcher& matcher : matchers) {
    const auto it = labels.find(matcher.name);
    const std::string& value = it == labels.end() ? kAbsent : it->second;
    bool ok = false;
    switch (matcher.op) {
      case MatchOp::kEqual:
        ok = value == matcher.value;
        break;
      case MatchOp::kNotEqual:
        ok = value != matcher.value;
        break;
      case MatchOp::kRegex:
        ok = regex_match(value, matcher.value);
        break;
      case MatchOp::kNotRegex:
        ok = !regex_match(value, matcher.value);
        break;
      case MatchOp::kUnspecified:
        break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace agentwatch::monitor
