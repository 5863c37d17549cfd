// SloStore in memory: the fake behind unit and api tests, with the same
// semantics as the Postgres store; one mutex stands in for the transaction
// and the SLO lock. Its burn-rate alerts and notices are kept here (not in
// an InMemoryMonitorStore).
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "monitor/store/slo_store.h"

namespace agentwatch::monitor {

class InMemorySloStore final : public SloStore {
 public:
  InMemorySloStore() = default;

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

  // Every notice enqueued for the incident service, in order.
  std::vector<AlertNotice> EnqueuedAlerts() const;

 private:
  class Context;

  mutable absl::Mutex mu_;
  std::map<std::string, Slo> slos_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, std::string> requests_ ABSL_GUARDED_BY(mu_);
  // (tenant, fingerprint) -> firing alert.
  std::map<std::pair<std::string, std::string>, AlertState> alerts_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> outbox_keys_ ABSL_GUARDED_BY(mu_);
  std::vector<AlertNotice> notices_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace agentwatch::monitor
