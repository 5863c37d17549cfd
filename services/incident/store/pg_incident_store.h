// The Postgres IncidentStore (schema "incident", see migrations/).
//
// Intake runs one transaction per batch: it takes a transaction-scoped
// advisory lock per group (pg_advisory_xact_lock(kGroupLockSpace,
// hashtext(group_key)), in hash order so that batches never deadlock), locks
// the incidents involved (SELECT ... FOR UPDATE), loads their state, plans
// with core PlanIntake and writes the plan with multi-row statements. The
// partial unique index on open incidents per (tenant_id, group_key) backs the
// lock up. Lifecycle calls take the group lock, then the incident row lock,
// in the same order. Escalation steps lock only the incident row, with SKIP
// LOCKED (they never wait), and enqueue their pages in the outbox of the same
// transaction (schema "incident", destination kNotifyDestination). Serialization failures and
// deadlocks are retried a few times before ABORTED reaches the caller.
#pragma once

#include <string>
#include <vector>

#include "common/pg.h"
#include "incident/core/ids.h"
#include "incident/store/incident_store.h"

namespace agentwatch::incident {

class PgIncidentStore final : public IncidentStore {
 public:
  // The first key of the two-key advisory locks on groups ("in" + "cd").
  static constexpr int kGroupLockSpace = 0x696e6364;

  // `pool` must reach a database migrated with Migrations(); `ids` makes the
  // ids of new incidents. Both must outlive the store. A refire within
  // `reopen_window` of an automatic resolution re-opens the incident
  // (core/intake.h); zero never does.
  PgIncidentStore(common::PgPool& pool, IdGenerator& ids,
                  absl::Duration reopen_window = absl::ZeroDuration())
      : pool_(pool), ids_(ids), reopen_window_(reopen_window) {}

  absl::StatusOr<IntakeSummary> ReportAlerts(const std::vector<IncomingAlert>& alerts,
                                             absl::Time now) override;
  absl::StatusOr<std::string> MutateIncident(absl::string_view id, const RequestKey& request,
                                             const IncidentMutator& mutate,
                                             const ResponseEncoder& encode) override;
  absl::StatusOr<IncidentDetail> GetIncident(absl::string_view id) override;
  absl::StatusOr<IncidentPage> ListIncidents(const IncidentQuery& query) override;
  absl::StatusOr<std::string> FindOpenIncident(absl::string_view tenant,
                                               absl::string_view fingerprint) override;
  absl::StatusOr<std::vector<std::string>> AutoResolveDue(absl::Time now, absl::Duration quiet,
                                                          int limit) override;
  absl::StatusOr<Silence> CreateSilence(const Silence& silence) override;
  absl::StatusOr<Silence> GetSilence(absl::string_view id) override;
  absl::Status DeleteSilence(absl::string_view id, absl::Time now) override;
  absl::StatusOr<SilencePage> ListSilences(const SilenceQuery& query) override;
  absl::StatusOr<InhibitionRule> CreateInhibitionRule(const InhibitionRule& rule) override;
  absl::StatusOr<InhibitionRule> GetInhibitionRule(absl::string_view id) override;
  absl::StatusOr<InhibitionRule> UpdateInhibitionRule(const InhibitionRule& rule) override;
  absl::Status DeleteInhibitionRule(absl::string_view id) override;
  absl::StatusOr<InhibitionRulePage> ListInhibitionRules(const InhibitionRuleQuery& query) override;
  absl::StatusOr<ConfigRecord> CreateConfig(const ConfigRecord& record) override;
  absl::StatusOr<ConfigRecord> GetConfig(absl::string_view kind, absl::string_view id) override;
  absl::StatusOr<ConfigRecord> UpdateConfig(const ConfigRecord& record,
                                            absl::Time expected_update_time) override;
  absl::Status DeleteConfig(absl::string_view kind, absl::string_view id) override;
  absl::StatusOr<ConfigPage> ListConfigs(const ConfigQuery& query) override;
  absl::StatusOr<std::vector<EscalationCandidate>> ListEscalationCandidates(int limit) override;
  absl::StatusOr<bool> Escalate(absl::string_view tenant, absl::string_view id,
                                const EscalationPlanner& plan) override;
  absl::StatusOr<bool> WasDelivered(absl::string_view tenant,
                                    absl::string_view idempotency_key) override;
  absl::Status RecordDelivery(const DeliveryRecord& record) override;
  absl::Status AppendTimeline(const TimelineEntry& entry) override;

 private:
  common::PgPool& pool_;
  IdGenerator& ids_;
  const absl::Duration reopen_window_;
};

}  // namespace agentwatch::incident
