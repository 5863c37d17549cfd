// Storage of SLOs and of their burn-rate alerts: the SloStore interface
// with a Postgres implementation (pg_slo_store.h) and an in-memory fake
// (in_memory_slo_store.h). The SLI data itself is read from the
// MonitorStore's rollups (slo_engine.h). Burn-rate alerts live next to the
// other alerts (monitor.alert_state, rule = "slo_burn_rate", rule_id = the
// SLO id) and their notices go through the same outbox.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "monitor/core/slo.h"
#include "monitor/store/monitor_store.h"

namespace agentwatch::monitor {

// A page of SLOs, ordered by (name, id).
struct SloPage {
  std::vector<Slo> slos;
  // (name, id) of the last SLO when more may follow.
  std::optional<std::pair<std::string, std::string>> next;
};

// Thread-safe.
class SloStore {
 public:
  virtual ~SloStore() = default;

  // Creates a validated, normalized SLO (id and times assigned here). With a
  // non-empty `request_id`, a retry returns the SLO the first call created.
  // Errors: ALREADY_EXISTS (an SLO of that name in the tenant);
  // RESOURCE_EXHAUSTED (kMaxSlosPerTenant); UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<Slo> CreateSlo(const Slo& slo, const std::string& request_id,
                                        absl::Time now) = 0;

  // The SLO `id`. Errors: NOT_FOUND; UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<Slo> GetSlo(const std::string& id) = 0;

  // Replaces SLO `slo.id` (validated, normalized) and stamps update_time.
  // Errors: NOT_FOUND; INVALID_ARGUMENT naming "slo.scope.tenant" when the
  // tenant would change; ALREADY_EXISTS (name taken); UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<Slo> UpdateSlo(const Slo& slo, absl::Time now) = 0;

  // Deletes SLO `id` and, in the same transaction, resolves its firing
  // burn-rate alerts at `now`. Errors: NOT_FOUND; UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<SweepResult> DeleteSlo(const std::string& id, absl::Time now) = 0;

  // SLOs ordered by (name, id), only `tenant`'s when non-empty, after
  // `after`, at most `page_size`. Errors: UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<SloPage> ListSlos(
      const std::string& tenant, const std::optional<std::pair<std::string, std::string>>& after,
      int page_size) = 0;

  // The SLOs whose SLI metric (SliSourceOf) is one of `tenant_metrics`
  // (tenant, metric), ordered by (tenant, id). Errors: UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<std::vector<Slo>> SlosOfMetrics(
      const std::vector<std::pair<std::string, std::string>>& tenant_metrics) = 0;

  // Up to `limit` SLOs with a firing burn-rate alert, ordered by (tenant,
  // id). Errors: UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<std::vector<Slo>> SlosWithFiringAlerts(int limit) = 0;

  // The firing burn-rate alerts of an SLO, ordered by fingerprint. Errors:
  // UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<std::vector<AlertState>> SloAlerts(const std::string& tenant,
                                                            const std::string& slo_id) = 0;

  // In one transaction: takes the SLO's lock (serializing evaluations,
  // updates and deletes of it across replicas), and unless the SLO was
  // deleted or changed since `slo` was read (then nothing happens), runs
  // EvaluateSloAlerts over `buckets` at `now`, its notices enqueued for
  // incident.ReportAlerts in the same transaction. Errors: UNAVAILABLE;
  // ABORTED; INTERNAL.
  virtual absl::StatusOr<SweepResult> EvaluateSlo(const Slo& slo,
                                                  const std::vector<SliBucket>& buckets,
                                                  absl::Time now) = 0;
};

}  // namespace agentwatch::monitor
