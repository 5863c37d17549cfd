// The aggregate queries behind GetStats, over the stored incidents, their
// timelines, alert reports and notification delivery records.
#pragma once

#include "absl/status/statusor.h"
#include "incident/core/stats.h"

namespace agentwatch::incident {

// Thread-safe.
class StatsStore {
 public:
  virtual ~StatsStore() = default;

  // The aggregates of the incidents created in [query.start, query.end) (of
  // query.tenant, or every tenant when empty): per group (overall, per
  // severity, per service = the incident label query.service_label;
  // incidents without it are in no service group) the count and the MTTD /
  // MTTA / MTTR means (each duration clamped at 0, rounded half away from
  // zero to the microsecond; MTTA over acknowledged incidents, MTTR over
  // resolved ones); incidents per local day in query.time_zone; the sum of
  // their alert counts; those auto-resolved with no person
  // (core IsHumanActor) on their timeline. Over the same range by receipt or
  // send time: firing alert reports received, and delivery records (all, and
  // per paged person). UNAVAILABLE.
  virtual absl::StatusOr<StatsAggregates> AggregateStats(const StatsQuery& query) = 0;
};

}  // namespace agentwatch::incident
