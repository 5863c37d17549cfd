// SloStore over Postgres (monitor.slos, migrations/005_slos.sql). Burn-rate
// alerts are rows of monitor.alert_state (rule = 'slo_burn_rate'); their
// notices are enqueued in monitor.outbox in the transaction that makes the
// transition. Evaluations of one SLO are serialized across replicas by a
// transaction-scoped advisory lock on (tenant, SLO id).
#pragma once

#include "common/pg.h"
#include "monitor/store/slo_store.h"

namespace agentwatch::monitor {

class PgSloStore final : public SloStore {
 public:
  // `pool` must have the monitor migrations applied and outlive the store.
  explicit PgSloStore(common::PgPool& pool) : pool_(pool) {}

  absl::StatusOr<Slo> CreateSlo(const Slo& slo, const std::string& request_id,
                                absl::Time now) override;
  absl::StatusOr<Slo> GetSlo(const std::string& id) override;
  absl::StatusOr<Slo> UpdateSlo(const Slo& slo, absl::Time now) override;
  absl::StatusOr<SweepResult> DeleteSlo(const std::string& id, absl::Time now) override;
  absl::StatusOr<SloPage> ListSlos(const std::string& tenant,
                                   const std::optional<std::pair<std::string, std::string>>& after,
                                   int page_size) override;
  absl::StatusOr<std::vector<Slo>> SlosOfMetrics(
      const std::vector<std::pair<std::string, std::string>>& tenant_metrics) override;
  absl::StatusOr<std::vector<Slo>> SlosWithFiringAlerts(int limit) override;
  absl::StatusOr<std::vector<AlertState>> SloAlerts(const std::string& tenant,
                                                    const std::string& slo_id) override;
  absl::StatusOr<SweepResult> EvaluateSlo(const Slo& slo, const std::vector<SliBucket>& buckets,
                                          absl::Time now) override;

 private:
  common::PgPool& pool_;
};

}  // namespace agentwatch::monitor
