// MonitorStore over Postgres (schema "monitor", see migrations/). Every batch
// is one transaction: claim, series, rollups (one multi-row upsert),
// outbox, rule evaluation.
#pragma once

#include <vector>

#include "common/pg.h"
#include "monitor/core/rules.h"
#include "monitor/store/monitor_store.h"

namespace agentwatch::monitor {

class PgMonitorStore final : public MonitorStore {
 public:
  // `pool` must have the monitor migrations applied and, like every
  // evaluator, outlive the store.
  PgMonitorStore(common::PgPool& pool, StoreLimits limits,
                 std::vector<const RuleEvaluator*> evaluators);

  absl::StatusOr<CommitResult> CommitBatch(const std::string& producer_id, uint64_t sequence,
                                           const BatchAggregate& aggregate,
                                           absl::Time now) override;
  absl::StatusOr<SweepResult> SweepAlerts(absl::Time now, int limit) override;
  absl::StatusOr<std::vector<HealthRow>> ReadHealthRows(const HealthScope& scope,
                                                        const BucketRange& range) override;
  absl::StatusOr<std::vector<HealthSketchRow>> ReadHealthSketches(
      const HealthScope& scope, const BucketRange& range) override;
  absl::StatusOr<std::vector<StepRow>> QuerySteps(const SeriesQuery& query) override;

 private:
  absl::StatusOr<CommitResult> CommitOnce(const std::string& producer_id, uint64_t sequence,
                                          const BatchAggregate& aggregate, absl::Time now);

  common::PgPool& pool_;
  StoreLimits limits_;
  std::vector<const RuleEvaluator*> evaluators_;
};

}  // namespace agentwatch::monitor
