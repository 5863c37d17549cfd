// RecomputeStore on Postgres: table capacity.resource_results and the
// capacity.outbox.
#pragma once

#include "capacity/store/recompute_store.h"
#include "common/pg.h"

namespace agentwatch::capacity {

// The serialized agentwatch.incident.v1.Alert of `alert` (source
// "capacity").
std::string SerializeBreachAlert(const BreachAlert& alert);

// Thread-safe (the pool is).
class PgRecomputeStore final : public RecomputeStore {
 public:
  explicit PgRecomputeStore(common::PgPool& pool);

  absl::StatusOr<std::vector<std::string>> ClaimDue(absl::Time now, absl::Duration lease, int limit,
                                                    const std::string& runner) override;
  absl::StatusOr<BreachTransition> SaveOutcome(const Resource& resource,
                                               const RecomputeOutcome& outcome) override;
  absl::StatusOr<RecomputeState> GetState(const std::string& tenant,
                                          const std::string& resource_id) override;

 private:
  common::PgPool& pool_;
};

}  // namespace agentwatch::capacity
