#include "monitor/core/query.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "monitor/core/names.h"

namespace agentwatch::monitor {

using common::InvalidField;

absl::Time AlignDown(absl::Time t, absl::Duration step) {
  return absl::UnixEpoch() + absl::Floor(t - absl::UnixEpoch(), step);
}

absl::StatusOr<SeriesQuery> NormalizeSeriesQuery(const SeriesQueryRequest& request,
                                                 absl::Time now) {
  SeriesQuery query;
  if (request.metric.empty()) return InvalidField("metric", "required");
  if (!IsValidMetricName(request.metric)) {
    return InvalidField("metric", "must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  query.metric = request.metric;

  for (size_t i = 0; i < request.matchers.size(); ++i) {
    const LabelMatcher& matcher = request.matchers[i];
    const std::string field = absl::StrCat("matchers[", i, "]");
    if (matcher.name.empty()) return InvalidField(absl::StrCat(field, ".name"), "required");
    if (!IsValidLabelName(matcher.name)) {
      return InvalidField(absl::StrCat(field, ".name"), "must match [a-zA-Z_][a-zA-Z0-9_]*");
    }
    if (matcher.value.find('\0') != std::string::npos) {
      return InvalidField(absl::StrCat(field, ".value"), "must not contain NUL characters");
    }
    switch (matcher.op) {
      case MatchOp::kEqual:
      case MatchOp::kNotEqual:
      case MatchOp::kRegex:
      case MatchOp::kNotRegex:
        break;
      case MatchOp::kUnspecified:
        return InvalidField(absl::StrCat(field, ".op"), "required");
      default:
        return InvalidField(absl::StrCat(field, ".op"),
                            absl::StrCat("unknown value ", static_cast<int>(matcher.op)));
    }
  }
  query.matchers = request.matchers;

  if (!request.start.has_value()) return InvalidField("range.start", "required");
  query.start = *request.start;
  query.end = request.end.value_or(now);
  if (query.end <= query.start) return InvalidField("range.end", "must be after range.start");

  query.step = request.step.value_or(absl::Minutes(1));
  absl::Duration remainder;
  absl::IDivDuration(query.step, absl::Minutes(1), &remainder);
  if (query.step < absl::Minutes(1) || remainder != absl::ZeroDuration()) {
    return InvalidField("step", "must be a whole number of minutes, at least 1m");
  }

  switch (static_cast<Aggregation>(request.aggregation)) {
    case Aggregation::kUnspecified:
      query.aggregation = Aggregation::kSum;
      break;
    case Aggregation::kSum:
    case Aggregation::kAvg:
    case Aggregation::kMin:
    case Aggregation::kMax:
    case Aggregation::kCount:
    case Aggregation::kRate:
      query.aggregation = static_cast<Aggregation>(request.aggregation);
      break;
    case Aggregation::kP50:
    case Aggregation::kP95:
    case Aggregation::kP99:
      if (!HasQuantileSketch(request.metric)) {
        return InvalidField(
            "aggregation",
            absl::StrCat("quantiles are kept for workflow_duration_seconds, "
                         "agent_execution_seconds, llm_latency_seconds, "
                         "llm_time_to_first_token_seconds and resource_processing_lag_seconds, "
                         "not for ",
                         request.metric));
      }
      query.aggregation = static_cast<Aggregation>(request.aggregation);
      break;
    default:
      return InvalidField("aggregation", absl::StrCat("unknown value ", request.aggregation));
  }

  for (size_t i = 0; i < request.group_by.size(); ++i) {
    const std::string& name = request.group_by[i];
    if (!IsValidLabelName(name)) {
      return InvalidField(absl::StrCat("group_by[", i, "]"), "must match [a-zA-Z_][a-zA-Z0-9_]*");
    }
    if (std::find(query.group_by.begin(), query.group_by.end(), name) == query.group_by.end()) {
      query.group_by.push_back(name);
    }
  }
  if (request.tenant.find('\0') != std::string::npos) {
    return InvalidField("tenant", "must not contain NUL characters");
  }
  query.tenant = request.tenant;

  query.bucket_from = MinuteBucket(query.start);
  const absl::Time first_step = AlignDown(query.start, query.step);
  const int64_t steps = absl::IDivDuration(
      query.end - first_step + query.step - absl::Nanoseconds(1), query.step, &remainder);
  if (steps > kMaxPointsPerSeries) {
    return absl::ResourceExhaustedError(
        absl::StrCat("range / step: ", steps, " points per series, at most ", kMaxPointsPerSeries,
                     "; raise the step or narrow the range"));
  }
  return query;
}

bool IsQuantileAggregation(Aggregation aggregation) {
  return aggregation == Aggregation::kP50 || aggregation == Aggregation::kP95 ||
         aggregation == Aggregation::kP99;
}

double QuantileOf(Aggregation aggregation) {
  switch (aggregation) {
    case Aggregation::kP50:
      return 0.5;
    case Aggregation::kP95:
      return 0.95;
    case Aggregation::kP99:
      return 0.99;
    default:
      return 0;
  }
}

double PointValue(Aggregation aggregation, const RollupStats& stats, absl::Duration step) {
  switch (aggregation) {
    case Aggregation::kAvg:
      return stats.count > 0 ? stats.sum / static_cast<double>(stats.count) : 0;
    case Aggregation::kMin:
      return stats.min;
    case Aggregation::kMax:
      return stats.max;
    case Aggregation::kCount:
      return static_cast<double>(stats.count);
    case Aggregation::kRate:
      return stats.sum / absl::ToDoubleSeconds(step);
    case Aggregation::kSum:
    default:
      return stats.sum;
  }
}

absl::StatusOr<std::vector<SeriesResult>> AssembleSeries(const SeriesQuery& query,
                                                         std::vector<StepRow> rows) {
  struct Step {
    RollupStats stats;
    std::optional<QuantileSketch> sketch;
  };
  // group labels -> step start -> merged stats (and sketch).
  std::map<Labels, std::map<absl::Time, Step>> groups;
  for (StepRow& row : rows) {
    Labels labels;
    for (size_t i = 0; i < query.group_by.size() && i < row.group_values.size(); ++i) {
      if (!row.group_values[i].empty()) labels[query.group_by[i]] = std::move(row.group_values[i]);
    }
    labels["__name__"] = query.metric;
    Step& step = groups[std::move(labels)][row.step_start];
    step.stats.Merge(row.stats);
    if (row.sketch.has_value()) {
      if (!step.sketch.has_value()) {
        step.sketch = std::move(row.sketch);
      } else {
        RETURN_IF_ERROR(step.sketch->Merge(*row.sketch));
      }
    }
    if (static_cast<int64_t>(groups.size()) > kMaxSeriesPerAnswer) {
      return absl::ResourceExhaustedError(
          absl::StrCat("more than ", kMaxSeriesPerAnswer,
                       " series in the answer; add matchers or group by fewer labels"));
    }
  }
  const bool quantile = IsQuantileAggregation(query.aggregation);
  std::vector<SeriesResult> out;
  out.reserve(groups.size());
  for (auto& [labels, steps] : groups) {
    SeriesResult series;
    series.labels = labels;
    series.points.reserve(steps.size());
    for (const auto& [time, step] : steps) {
      if (!quantile) {
        series.points.push_back({time, PointValue(query.aggregation, step.stats, query.step)});
        continue;
      }
      if (!step.sketch.has_value()) continue;
      if (const std::optional<double> value = step.sketch->Quantile(QuantileOf(query.aggregation));
          value.has_value()) {
        series.points.push_back({time, *value});
      }
    }
    if (!series.points.empty()) out.push_back(std::move(series));
  }
  return out;
}

}  // namespace agentwatch::monitor
