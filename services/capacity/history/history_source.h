// Where capacity reads metric history from. The production implementation
// asks monitor.QuerySeries; tests use FakeHistorySource.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "capacity/core/selector.h"
#include "capacity/core/series.h"

namespace agentwatch::capacity {

// How the source aggregates samples within a step and across the series the
// matchers select.
enum class HistoryAggregation {
  // Sum (event counters: *_total).
  kSum,
  // Mean (gauges).
  kAvg,
};

// A history request: one metric, its matchers and tenant, over [start, end)
// at `step`; start and end are multiples of step since the Unix epoch.
struct HistoryQuery {
  std::string metric;
  std::vector<LabelMatcher> matchers;
  // Empty means every tenant the caller may see.
  std::string tenant;
  absl::Time start;
  absl::Time end;
  absl::Duration step;
  HistoryAggregation aggregation = HistoryAggregation::kSum;
};

// One series of the answer. Steps without data are absent from `points`.
struct HistorySeries {
  std::map<std::string, std::string> labels;
  std::vector<TimedValue> points;
};

// A source of metric history. Implementations are thread-safe.
class HistorySource {
 public:
  virtual ~HistorySource() = default;

  // The series `query` selects, points in time order (possibly none).
  // UNAVAILABLE (retryable) when the source is down or does not answer within
  // its deadline; INVALID_ARGUMENT when it rejects the query (the message
  // names the field); RESOURCE_EXHAUSTED when the answer would exceed its
  // limits; INTERNAL for anything else.
  virtual absl::StatusOr<std::vector<HistorySeries>> Fetch(const HistoryQuery& query) = 0;
};

}  // namespace agentwatch::capacity
