// SloStore over Postgres (monitor.slos, migrations/005_slos.sql). Burn-rate
// alerts are rows of monitor.alert_state (rule = 'slo_burn_rate'); their
// notices are enqueued in monitor.outbox in the transaction that makes the
// transition. Evaluations of one SLO are serialized across replicas by a
// transaction-scoped advisory lock on (tenant, SLO id).
//
// SlosOfMetrics (the per-batch lookup) remembers, per tenant, which metrics
// its SLOs read, for kSloMetricsTtl: a batch that feeds none of them needs no
// transaction. SLO writes through this store drop their tenant's reading at
// once (a new SLO takes effect on this replica's next batch); an SLO written
// through another replica takes effect here within kSloMetricsTtl.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "common/pg.h"
#include "monitor/store/slo_store.h"

namespace agentwatch::monitor {

class PgSloStore final : public SloStore {
 public:
  // How long a reading of a tenant's SLO metrics answers SlosOfMetrics.
  static constexpr std::chrono::milliseconds kSloMetricsTtl{1000};

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
  // The metrics one tenant's SLOs read, as read at `read_at`.
  struct SloMetrics {
    std::set<std::string> metrics;
    std::chrono::steady_clock::time_point read_at;
  };
  // Drops the reading of `tenant` (after an SLO write).
  void ForgetSloMetrics(const std::string& tenant);

  common::PgPool& pool_;
  std::mutex metrics_mu_;
  std::map<std::string, SloMetrics> slo_metrics_;
  // Bumped by every SLO write, so that a lookup that read before the write
  // does not install its (stale) reading.
  uint64_t generation_ = 0;
};

}  // namespace agentwatch::monitor
