// A resource's demand: its history from the HistorySource and its forecast
// from the forecast core, both in demand units (see DemandScale).
#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "capacity/core/forecast.h"
#include "capacity/core/resource.h"
#include "capacity/core/series.h"
#include "capacity/history/history_source.h"

namespace agentwatch::capacity {

// History read for recommendations and patterns.
inline constexpr absl::Duration kDemandHistory = absl::Hours(24 * 28);

// The step demand is planned at for a horizon: 5 minutes up to a day, 15
// minutes up to a week, an hour beyond.
absl::Duration DemandStep(absl::Duration horizon);

// A resource's demand history and forecast.
struct Demand {
  // Regular history over [end - history, end) (NaN gaps), `end` the start of
  // the step in progress at `now`.
  RegularSeries history;
  // Forecast of the `horizon` after the history, the model chosen by
  // backtest.
  ForecastResult forecast;
};

// Reads `history` of `resource`'s demand series at `step` up to `now` and
// forecasts `horizon` (> 0, at most 35 days) ahead, values scaled by
// DemandScale. Errors: those of ParseForecastRequest for the derived request
// (INVALID_ARGUMENT, RESOURCE_EXHAUSTED); the source's (UNAVAILABLE, ...);
// NOT_FOUND ("no data for metric ...") when it has no point in range;
// FAILED_PRECONDITION ("history: ...") when the history is too short.
absl::StatusOr<Demand> ForecastDemand(HistorySource& source, const Resource& resource,
                                      absl::Duration horizon, absl::Duration step,
                                      absl::Duration history, absl::Time now);

// Reads the history only (no forecast); NOT_FOUND when it has no point.
absl::StatusOr<RegularSeries> DemandHistory(HistorySource& source, const Resource& resource,
                                            absl::Duration step, absl::Duration history,
                                            absl::Time now);

}  // namespace agentwatch::capacity
