// GetForecast requests: validation, defaults and limits, the history query
// they imply, and the mapping of a forecast back to the response message.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agentwatch/capacity/v1/capacity.pb.h"
#include "capacity/core/forecast.h"
#include "capacity/core/series.h"
#include "capacity/history/history_source.h"

namespace agentwatch::capacity {

// Defaults and limits of GetForecast (see capacity.proto).
inline constexpr absl::Duration kDefaultHorizon = absl::Hours(24);
inline constexpr absl::Duration kMaxHorizon = absl::Hours(24 * 35);
inline constexpr absl::Duration kDefaultStep = absl::Minutes(5);
inline constexpr absl::Duration kMaxStep = absl::Hours(24);
inline constexpr absl::Duration kDefaultHistory = absl::Hours(24 * 28);
inline constexpr absl::Duration kMaxHistory = absl::Hours(24 * 90);
inline constexpr int64_t kMaxForecastPoints = 10'000;
// Cached responses live min(step, kMaxCacheTtl).
inline constexpr absl::Duration kMaxCacheTtl = absl::Minutes(5);

// A validated GetForecast request with its defaults applied.
struct ForecastQuery {
  // What to read: metric, matchers, tenant, the range [end - history, end)
  // with `end` the start of the current (incomplete) step, the step, and the
  // aggregation (SUM for *_total counters, AVG otherwise).
  HistoryQuery history;
  absl::Duration horizon;
  absl::Duration history_length;
  // ceil(horizon / step).
  int64_t horizon_points = 0;
  // Model asked for; empty for the automatic choice.
  std::string model;
  // For *_total counters a step without data means 0 events, otherwise a gap;
  // counters are also forecast non-negative.
  MissingStep missing = MissingStep::kGap;
  bool non_negative = false;
};

// Validates `request` and applies the defaults, at time `now`:
// metric required, [a-zA-Z_:][a-zA-Z0-9_:]*; matchers need a name and an op;
// horizon default 1 day, positive, at most 35 days; step default 5 minutes,
// a whole number of minutes from 1 minute to 1 day; history default 28 days,
// positive, at most 90 days; model as CheckModelName. INVALID_ARGUMENT naming
// the field ("horizon: must be positive"); RESOURCE_EXHAUSTED ("horizon: ...")
// when horizon / step exceeds 10,000 points; UNIMPLEMENTED ("model: ...") for
// a model not offered yet.
absl::StatusOr<ForecastQuery> ParseForecastRequest(const v1::GetForecastRequest& request,
                                                   absl::Time now);

// The canonical encoding of everything a forecast depends on (including the
// range end, so a new step never reads an older step's forecast); the cache
// key of the response.
std::string CanonicalForecastKey(const ForecastQuery& query);

// How long a response may be cached: min(step, 5 minutes).
absl::Duration ForecastCacheTtl(const ForecastQuery& query);

// Fills `response` from `result`.
void ToResponse(const ForecastResult& result, v1::GetForecastResponse* response);

}  // namespace agentwatch::capacity
