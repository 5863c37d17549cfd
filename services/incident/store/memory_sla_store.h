// An in-memory SlaStore over any IncidentStore (the incidents, their
// timelines and escalation states live there), for unit and API tests. One
// mutex serializes every call; the incident store is only called under it,
// never the other way round. GetIncidentSlaInfo knows the escalation policy
// of TRIGGERED and ACKNOWLEDGED incidents only (what the in-memory incident
// store exposes through ListEscalationCandidates).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "incident/store/incident_store.h"
#include "incident/store/sla_store.h"

namespace agentwatch::incident {

class MemorySlaStore final : public SlaStore {
 public:
  // `incidents` must outlive this store.
  explicit MemorySlaStore(IncidentStore& incidents) : incidents_(incidents) {}

  absl::StatusOr<std::vector<SlaPolicyRecord>> ListSlaPolicyVersions(
      const std::vector<std::string>& tenants) override;
  absl::StatusOr<SlaPolicyRecord> PutSlaPolicy(const SlaPolicyRecord& record) override;
  absl::StatusOr<std::vector<SlaCandidate>> ListSlaCandidates(
      const std::optional<SlaCandidateCursor>& after, int limit) override;
  absl::StatusOr<int> RecordSlaBreaches(absl::string_view tenant, absl::string_view id,
                                        const SlaBreachPlanner& plan) override;
  absl::StatusOr<std::map<IncidentKey, IncidentSlaInfo>> GetIncidentSlaInfo(
      const std::vector<IncidentKey>& keys) override;
  absl::StatusOr<SlaBreachCounts> CountSlaBreaches(const StatsQuery& query) override;

 private:
  // Every open incident of the incident store.
  absl::StatusOr<std::vector<Incident>> OpenIncidents() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  IncidentStore& incidents_;
  absl::Mutex mu_;
  // tenant -> versions by update_time.
  std::map<std::string, std::vector<SlaPolicyRecord>> policies_ ABSL_GUARDED_BY(mu_);
  // (tenant, incident id) -> breaches in the order recorded.
  std::map<IncidentKey, std::vector<SlaBreach>> breaches_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentwatch::incident
