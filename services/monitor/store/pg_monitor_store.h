// MonitorStore over Postgres (schema "monitor", see migrations/). Every batch
// is one transaction: claim, series, rollups (one multi-row upsert),
// outbox, rule evaluation.
#pragma once

#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/pg.h"
#include "monitor/core/rules.h"
#include "monitor/store/monitor_store.h"
#include "monitor/store/rollup_partitions.h"

namespace agentwatch::monitor {

class PgMonitorStore final : public MonitorStore {
 public:
  // `pool` must have the monitor migrations applied and, like every
  // evaluator, outlive the store.
  PgMonitorStore(common::PgPool& pool, StoreLimits limits,
                 std::vector<const RuleEvaluator*> evaluators);

  // The daily partitions of the rollups: CommitBatch creates a missing day
  // before writing into it; the maintenance worker uses this for the rest.
  RollupPartitions& partitions() { return partitions_; }

  absl::StatusOr<CommitResult> CommitBatch(const std::string& producer_id, uint64_t sequence,
                                           const BatchAggregate& aggregate,
                                           absl::Time now) override;
  absl::StatusOr<SweepResult> SweepAlerts(absl::Time now, int limit) override;
  absl::StatusOr<std::vector<HealthRow>> ReadHealthRows(const HealthScope& scope,
                                                        const BucketRange& range) override;
  absl::StatusOr<std::vector<HealthSketchRow>> ReadHealthSketches(
      const HealthScope& scope, const BucketRange& range) override;
  absl::StatusOr<std::vector<StepRow>> QuerySteps(const SeriesQuery& query) override;
  absl::StatusOr<ScopeThresholds> SetThresholds(const ScopeThresholds& thresholds,
                                                absl::Time now) override;
  absl::Status DeleteThresholds(const HealthScope& scope) override;
  absl::StatusOr<std::vector<ScopeThresholds>> ReadThresholds(const std::string& tenant) override;
  absl::StatusOr<ThresholdPage> ListThresholds(
      const std::string& tenant, const std::optional<std::pair<std::string, std::string>>& after,
      int page_size) override;
  absl::StatusOr<RuleWriteResult> CreateAlertRule(const AlertRule& rule,
                                                  const std::string& request_id,
                                                  absl::Time now) override;
  absl::StatusOr<AlertRule> GetAlertRule(const std::string& id) override;
  absl::StatusOr<RuleWriteResult> UpdateAlertRule(const AlertRule& rule, absl::Time now) override;
  absl::StatusOr<SweepResult> DeleteAlertRule(const std::string& id, absl::Time now) override;
  absl::StatusOr<AlertRulePage> ListAlertRules(
      const std::string& tenant, const std::optional<std::pair<std::string, std::string>>& after,
      int page_size) override;
  absl::StatusOr<SweepResult> EvaluateAlertRules(const BatchAggregate& aggregate,
                                                 absl::Time now) override;
  absl::StatusOr<SeriesPage> ListSeries(
      const SeriesListQuery& query, const std::optional<std::pair<std::string, std::string>>& after,
      int page_size) override;
  absl::StatusOr<StoreGauges> ReadGauges() override;
  absl::StatusOr<ActiveAlertPage> ListActiveAlerts(const ActiveAlertFilter& filter,
                                                   const std::optional<ActiveAlertCursor>& after,
                                                   int page_size) override;

 private:
  absl::StatusOr<SweepResult> SweepAlertRules(absl::Time now, int limit);

  // One attempt of CommitBatch; `new_series` are the batch's series not
  // known to be stored.
  absl::StatusOr<CommitResult> CommitOnce(const std::string& producer_id, uint64_t sequence,
                                          const BatchAggregate& aggregate,
                                          const std::vector<const SeriesRecord*>& new_series,
                                          absl::Time now);
  static std::string KnownSeriesKey(const SeriesRecord& series);

  // Series this process saw committed, bounded (cleared when full).
  static constexpr size_t kMaxKnownSeries = 1'000'000;

  common::PgPool& pool_;
  StoreLimits limits_;
  std::vector<const RuleEvaluator*> evaluators_;
  RollupPartitions partitions_;
  std::mutex series_mu_;
  std::unordered_set<std::string> known_series_;
};

}  // namespace agentwatch::monitor
