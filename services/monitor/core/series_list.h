// ListSeries: the request as the core sees it, its validation and one
// listed series. Pure; the store selects and pages.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "monitor/core/query.h"
#include "monitor/core/types.h"

namespace agentwatch::monitor {

// Which series to list.
struct SeriesListQuery {
  std::string tenant;  // empty: all
  std::string metric;  // empty: all
  std::vector<LabelMatcher> matchers;
  // Only series with samples in [start, end) when set.
  std::optional<absl::Time> start;
  std::optional<absl::Time> end;
};

// INVALID_ARGUMENT naming the field: tenant holding a NUL character; metric
// malformed; matchers[i].name missing or malformed, matchers[i].op unset or
// unknown, matchers[i].value holding a NUL character; range.end not after
// range.start. Regular expressions are checked by the store.
absl::Status ValidateSeriesListQuery(const SeriesListQuery& query);

// One listed series.
struct SeriesInfo {
  std::string tenant;
  std::string metric;
  Labels labels;
  // Start of the first and of the latest minute with samples.
  absl::Time first_time;
  absl::Time last_time;
};

}  // namespace agentwatch::monitor
