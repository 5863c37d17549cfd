// The Postgres SlaStore (tables incident.sla_policies and
// incident.sla_breaches, migrations/009_sla.sql). Breach detection locks the
// incident row with SKIP LOCKED (never waits on intake or a lifecycle call)
// and the (tenant, incident, target) primary key backs the lock up, so two
// replicas never record one breach twice.
#pragma once

#include "common/pg.h"
#include "incident/store/sla_store.h"

namespace agentwatch::incident {

class PgSlaStore final : public SlaStore {
 public:
  // The first key of the two-key advisory locks on a tenant's policy
  // versions ("in" + "sl").
  static constexpr int kPolicyLockSpace = 0x696e736c;

  // `pool` must reach a database migrated with Migrations() and outlive the
  // store.
  explicit PgSlaStore(common::PgPool& pool) : pool_(pool) {}

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
  common::PgPool& pool_;
};

}  // namespace agentwatch::incident
