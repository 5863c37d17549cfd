// The SLA repository: versioned per-tenant SLA policies, the breaches
// recorded per incident (once per incident and target, across replicas), and
// the per-incident facts reads add to an incident (its breaches and the
// escalation policy it escalates on). Implementations: Postgres (PgSlaStore)
// and in memory over any IncidentStore (MemorySlaStore, for unit tests).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "incident/core/sla.h"
#include "incident/core/stats.h"

namespace agentwatch::incident {

// One stored version of a tenant's policy; the store keeps `body` (the API's
// serialized SlaPolicy) opaque.
struct SlaPolicyRecord {
  std::string tenant;
  absl::Time update_time = absl::UnixEpoch();  // when the version took effect
  std::string body;
};

// An open incident breach detection looks at, with the breaches recorded so
// far. Candidates are listed in (tenant, group_key) order (unique among open
// incidents).
struct SlaCandidate {
  SlaSubject subject;
  std::string group_key;
  std::vector<SlaBreach> breaches;
};

// A position in the (tenant, group_key) order of candidates.
struct SlaCandidateCursor {
  std::string tenant;
  std::string group_key;
};

// Decides the breaches to record from the locked incident and the breaches
// already recorded (core FindBreaches).
using SlaBreachPlanner =
    std::function<std::vector<SlaBreach>(const SlaSubject&, const std::vector<SlaBreach>&)>;

// (tenant, incident id).
using IncidentKey = std::pair<std::string, std::string>;

// What a read adds to an incident.
struct IncidentSlaInfo {
  std::vector<SlaBreach> breaches;   // by due time
  std::string escalation_policy_id;  // "" before its first escalation step
};

// Incidents with at least one breach, by the groups of GetStats.
struct SlaBreachCounts {
  int64_t overall = 0;
  std::map<Severity, int64_t> by_severity;
  std::map<std::string, int64_t> by_service;
};

// Thread-safe.
class SlaStore {
 public:
  virtual ~SlaStore() = default;

  // Every stored version of the policies of `tenants` ("" is the global
  // default), by (tenant, update_time) ascending. UNAVAILABLE.
  virtual absl::StatusOr<std::vector<SlaPolicyRecord>> ListSlaPolicyVersions(
      const std::vector<std::string>& tenants) = 0;

  // Stores a new version of `record.tenant`'s policy. Its update_time is
  // raised to 1 µs after the tenant's latest version when not later (versions
  // are strictly ordered even when clocks disagree); returns the stored
  // record. UNAVAILABLE.
  virtual absl::StatusOr<SlaPolicyRecord> PutSlaPolicy(const SlaPolicyRecord& record) = 0;

  // Up to `limit` open incidents (triggered, acknowledged, mitigated) after
  // `after`, with their recorded breaches. Unlocked snapshot. UNAVAILABLE.
  virtual absl::StatusOr<std::vector<SlaCandidate>> ListSlaCandidates(
      const std::optional<SlaCandidateCursor>& after, int limit) = 0;

  // Locks incident (`tenant`, `id`) unless another transaction holds it
  // (then returns 0: a lifecycle call, intake or another replica is on it),
  // calls `plan` with its current state and recorded breaches, and records
  // each planned breach not recorded yet with its timeline entry
  // (core BreachEntry) in the same transaction. Returns how many were
  // recorded (0 for an unknown incident). UNAVAILABLE.
  virtual absl::StatusOr<int> RecordSlaBreaches(absl::string_view tenant, absl::string_view id,
                                                const SlaBreachPlanner& plan) = 0;

  // The breaches and escalation policy of each of `keys` (keys with neither
  // are absent). UNAVAILABLE.
  virtual absl::StatusOr<std::map<IncidentKey, IncidentSlaInfo>> GetIncidentSlaInfo(
      const std::vector<IncidentKey>& keys) = 0;

  // Incidents created in [query.start, query.end) (of query.tenant, every
  // tenant when empty) with at least one breach, overall, per current
  // severity and per service (the incident label query.service_label).
  // UNAVAILABLE.
  virtual absl::StatusOr<SlaBreachCounts> CountSlaBreaches(const StatsQuery& query) = 0;
};

}  // namespace agentwatch::incident
