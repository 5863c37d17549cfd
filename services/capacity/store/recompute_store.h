// The schedule and results of the periodic recompute of every resource, and
// its breach alerts to the incident service through the outbox.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "capacity/core/breach.h"
#include "capacity/core/resource.h"

namespace agentwatch::capacity {

// Outbox destination of breach alerts (payload: agentwatch.incident.v1.Alert).
inline constexpr char kIncidentDestination[] = "incident.ReportAlerts";
// The outbox lives in the capacity schema.
inline constexpr char kOutboxSchema[] = "capacity";

// The result of recomputing one resource.
struct RecomputeOutcome {
  std::string runner;
  absl::Time computed_at;
  // Empty when the forecast was computed; why not otherwise (the alert state
  // is then left as it is).
  std::string error;
  std::string model;
  // A serialized agentwatch.capacity.v1.GetRecommendationsResponse.
  std::string recommendations;
  // The predicted breach within the alert horizon, if any.
  std::optional<BreachPrediction> breach;
  // When the resource is due again.
  absl::Time next_run_at;
};

// The stored state of one resource's recompute.
struct RecomputeState {
  int64_t runs = 0;
  std::string computed_by;
  std::string error;
  std::string model;
  std::string recommendations;
  bool breach_firing = false;
  std::optional<absl::Time> breach_time;
};

// Implementations are thread-safe; every error is UNAVAILABLE when the
// database is unreachable.
class RecomputeStore {
 public:
  virtual ~RecomputeStore() = default;

  // Claims up to `limit` resources due at `now` (oldest due first) for
  // `runner`, skipping rows another runner holds, by moving them to
  // now + lease; returns their ids. A runner that dies loses its claims when
  // the lease ends.
  virtual absl::StatusOr<std::vector<std::string>> ClaimDue(absl::Time now, absl::Duration lease,
                                                            int limit,
                                                            const std::string& runner) = 0;

  // Stores `outcome` for `resource` and, in the same transaction, the breach
  // alert's transition (DecideBreachTransition from the stored state) into
  // the outbox for incident.ReportAlerts. Returns the transition. NOT_FOUND
  // when the resource was deleted meanwhile (nothing is stored).
  virtual absl::StatusOr<BreachTransition> SaveOutcome(const Resource& resource,
                                                       const RecomputeOutcome& outcome) = 0;

  // The stored state of `resource_id`. NOT_FOUND.
  virtual absl::StatusOr<RecomputeState> GetState(const std::string& tenant,
                                                  const std::string& resource_id) = 0;
};

}  // namespace agentwatch::capacity
