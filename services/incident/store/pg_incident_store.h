// The Postgres IncidentStore (schema "incident", see migrations/).
//
// Intake runs one transaction per batch: it takes a transaction-scoped
// advisory lock per group (pg_advisory_xact_lock(kGroupLockSpace,
// hashtext(group_key)), in hash order so that batches never deadlock), locks
// the incidents involved (SELECT ... FOR UPDATE), loads their state (each
// fingerprint's latest alert row; without labels and annotations for the
// fingerprints the batch only resolves), looks up the report keys that may
// have been accepted before (core MayBeKnownReport: not those that change
// their fingerprint's latest row), plans with core PlanIntake and writes the
// plan with multi-row statements (alert reports first and timeline entries
// appended with COPY, an incident's entries of the transaction in one row on
// consecutive entry ids, migration 015, read back one entry per row through
// incident.timeline_entries; alert rows whose labels did not change updated
// in their state columns only). A report key recorded before that was not looked
// up fails the COPY on alert_reports' primary key: the transaction rolls back
// and runs again with every key looked up, so a replay stays a duplicate.
// Timeline entries and alert rows carry no foreign key (migration 010): every
// writer inserts or locks their incident in the same transaction, and
// incidents are never deleted. The partial unique index on open incidents per
// (tenant_id, group_key) backs the lock up. Lifecycle calls take the group
// lock, then the incident row lock, in the same order. Escalation steps lock
// only the incident row, with SKIP LOCKED (they never wait), and enqueue their
// pages in the outbox of the same transaction (schema "incident", destination
// kNotifyDestination). Serialization failures and deadlocks are retried a few
// times before ABORTED reaches the caller.
//
// Group commit: ReportAlerts batches that arrive while kMaxConcurrentIntakeGroups
// intake transactions run queue up; the next free caller leads one
// transaction for all queued batches (planned in arrival order with
// PlanIntakeGroup, exactly as if written one after the other) while the others
// wait; every batch is answered only after that transaction committed. When
// the group's transaction fails, each of its batches is written again alone,
// so a batch that cannot be written fails alone.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/group_commit.h"
#include "common/pg.h"
#include "incident/core/ids.h"
#include "incident/store/incident_store.h"
#include "incident/store/postmortem_store.h"
#include "incident/store/stats_store.h"

namespace agentwatch::incident {

class PgIncidentStore final : public IncidentStore,
                              public PostmortemStore,
                              public StatsStore {
 public:
  // The first key of the two-key advisory locks on groups ("in" + "cd").
  static constexpr int kGroupLockSpace = 0x696e6364;

  // `pool` must reach a database migrated with Migrations(); `ids` makes the
  // ids of new incidents. Both must outlive the store. A refire within
  // `reopen_window` of an automatic resolution re-opens the incident
  // (core/intake.h); zero never does. While an intake transaction runs,
  // another starts only once `min_alerts_to_overlap` alerts wait (0: at
  // once; GroupCommitter's min_size_to_overlap).
  // Prepares the intake statements on the pool's connections.
  PgIncidentStore(common::PgPool& pool, IdGenerator& ids,
                  absl::Duration reopen_window = absl::ZeroDuration(),
                  int64_t min_alerts_to_overlap = 0);

  absl::StatusOr<IntakeSummary> ReportAlerts(const std::vector<IncomingAlert>& alerts,
                                             absl::Time now) override;

  // Intake transactions running at once; more batches wait and share the next.
  static constexpr int kMaxConcurrentIntakeGroups = 2;
  // Most alerts in one group transaction (a larger batch still goes alone).
  static constexpr size_t kMaxGroupAlerts = 10000;

  // Test hook: called by a group's leader before its transaction with the
  // number of batches in the group. Set before the first ReportAlerts.
  void SetIntakeGroupHook(std::function<void(size_t)> hook);

  // Test hook: called in an intake transaction just before it updates alert
  // rows by the ctids its latest-row read answered. Set before the first
  // ReportAlerts.
  void SetIntakeBeforeTidUpdateHook(std::function<void(pqxx::work&)> hook);

  // Sets how many intake transactions may run at once (>= 1; default
  // kMaxConcurrentIntakeGroups). Tests use 1 to make groups deterministic.
  void SetMaxConcurrentIntakeGroups(int groups);

  // ReportAlerts batches queued for the next group transaction (for tests).
  size_t QueuedIntakeBatches();
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
  absl::StatusOr<Silence> UpdateSilence(
      absl::string_view id,
      const std::function<absl::StatusOr<Silence>(const Silence&)>& update) override;
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

  // PostmortemStore (pg_postmortem_store.cc).
  PostmortemStore* postmortems() override { return this; }
  absl::StatusOr<Postmortem> CreatePostmortem(const Postmortem& postmortem) override;
  absl::StatusOr<Postmortem> GetPostmortem(absl::string_view id) override;
  absl::StatusOr<Postmortem> GetPostmortemOfIncident(absl::string_view incident_id) override;
  absl::StatusOr<Postmortem> UpdatePostmortem(absl::string_view id,
                                              const PostmortemMutator& mutate) override;
  absl::StatusOr<PostmortemPage> ListPostmortems(const PostmortemQuery& query) override;

  // StatsStore (pg_stats_store.cc).
  StatsStore* stats() override { return this; }
  absl::StatusOr<StatsAggregates> AggregateStats(const StatsQuery& query) override;

 private:
  struct PendingIntake;
  // Writes `group` in one transaction and sets each batch's result; when that
  // fails, each batch again alone.
  void RunIntakeGroup(const std::vector<PendingIntake*>& group);
  // Plans and writes `batches` (in order) in one transaction; one summary
  // per batch.
  absl::StatusOr<std::vector<IntakeSummary>> WriteIntake(
      const std::vector<const std::vector<IncomingAlert>*>& batches, absl::Time now);

  common::PgPool& pool_;
  IdGenerator& ids_;
  const absl::Duration reopen_window_;
  std::function<void(size_t)> intake_group_hook_;
  std::function<void(pqxx::work&)> intake_before_tid_update_hook_;
  common::GroupCommitter<PendingIntake> intake_committer_;
};

// Whether incident (`tenant`, `incident_id`) has a PUBLISHED postmortem, read
// in `txn` (MutateIncident derives Incident::postmortem_published with it
// while it holds the incident's lock).
bool PgPostmortemPublished(pqxx::work& txn, absl::string_view tenant,
                           absl::string_view incident_id);

}  // namespace agentwatch::incident
