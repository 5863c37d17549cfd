// MonitorStore in memory: the fake behind unit and api tests. Same
// semantics as the Postgres store (all-or-nothing batches, idempotent
// replays, series limits, rule evaluation with its transitions enqueued
// once), with one mutex standing in for the transaction. Regular
// expressions use std::regex (ECMAScript) instead of Postgres' engine.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "monitor/store/monitor_store.h"

namespace agentwatch::monitor {

class InMemoryMonitorStore final : public MonitorStore {
 public:
  // Evaluators must outlive the store.
  InMemoryMonitorStore(StoreLimits limits, std::vector<const RuleEvaluator*> evaluators);

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

  // Every call fails with `status` until FailWith(absl::OkStatus()).
  void FailWith(absl::Status status);

  // What was enqueued for the incident and cost services, in order.
  std::vector<AlertNotice> EnqueuedAlerts() const;
  std::vector<LlmUsageRecord> EnqueuedUsage() const;

  // The stored rollup of a series in a bucket, if any.
  std::optional<RollupStats> Rollup(const std::string& metric, const Labels& labels,
                                    absl::Time bucket) const;

  // The stored sketch of a series in a bucket, if any.
  std::optional<QuantileSketch> Sketch(const std::string& metric, const Labels& labels,
                                       absl::Time bucket) const;

  // Series stored for `tenant`.
  int64_t SeriesCount(const std::string& tenant) const;

  // Batches committed.
  int64_t BatchCount() const;

  // The stored state of an alert, if any.
  std::optional<AlertState> FindAlertState(const std::string& tenant,
                                           const std::string& fingerprint) const;

 private:
  class Context;
  using SeriesId = std::tuple<std::string, std::string, std::string>;  // tenant, metric, key
  using RollupId = std::tuple<std::string, std::string, std::string, absl::Time>;

  StoreLimits limits_;
  std::vector<const RuleEvaluator*> evaluators_;
  mutable absl::Mutex mu_;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<std::string, uint64_t>> batches_ ABSL_GUARDED_BY(mu_);
  std::map<SeriesId, Labels> series_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> tenant_series_ ABSL_GUARDED_BY(mu_);
  std::map<RollupId, RollupStats> rollups_ ABSL_GUARDED_BY(mu_);
  std::map<RollupId, QuantileSketch> sketches_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, AlertState> alert_states_ ABSL_GUARDED_BY(mu_);
  // Anomaly-rule detector states by (tenant, rule id, fingerprint).
  std::map<std::tuple<std::string, std::string, std::string>, AnomalySeriesState> anomaly_states_
      ABSL_GUARDED_BY(mu_);
  std::set<std::string> outbox_keys_ ABSL_GUARDED_BY(mu_);
  std::vector<AlertNotice> alerts_ ABSL_GUARDED_BY(mu_);
  std::vector<LlmUsageRecord> usage_ ABSL_GUARDED_BY(mu_);
  // Alert rules by id; (tenant, request id) -> rule id.
  std::map<std::string, AlertRule> rules_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, std::string> rule_requests_ ABSL_GUARDED_BY(mu_);
  int64_t next_rule_ = 0 ABSL_GUARDED_BY(mu_);
  // (tenant, scope key) -> overrides.
  std::map<std::pair<std::string, std::string>, ScopeThresholds> thresholds_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentwatch::monitor
