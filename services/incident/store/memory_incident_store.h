// An in-memory IncidentStore with the same behaviour as the Postgres one, for
// unit and API tests. One mutex serializes every call. Regular-expression
// matchers use RE2.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "incident/core/ids.h"
#include "incident/store/incident_store.h"
#include "incident/store/postmortem_store.h"
#include "incident/store/stats_store.h"

namespace agentwatch::incident {

class MemoryIncidentStore final : public IncidentStore,
                                  public PostmortemStore,
                                  public StatsStore {
 public:
  // `ids` makes the ids of new incidents; it must outlive the store. A refire
  // within `reopen_window` of an automatic resolution re-opens the incident
  // (core/intake.h); zero never does.
  explicit MemoryIncidentStore(IdGenerator& ids,
                               absl::Duration reopen_window = absl::ZeroDuration())
      : ids_(ids), reopen_window_(reopen_window) {}

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

  // StatsStore (memory_stats_store.cc).
  StatsStore* stats() override { return this; }
  absl::StatusOr<StatsAggregates> AggregateStats(const StatsQuery& query) override;

  // PostmortemStore (memory_postmortem_store.cc).
  PostmortemStore* postmortems() override { return this; }
  absl::StatusOr<Postmortem> CreatePostmortem(const Postmortem& postmortem) override;
  absl::StatusOr<Postmortem> GetPostmortem(absl::string_view id) override;
  absl::StatusOr<Postmortem> GetPostmortemOfIncident(absl::string_view incident_id) override;
  absl::StatusOr<Postmortem> UpdatePostmortem(absl::string_view id,
                                              const PostmortemMutator& mutate) override;
  absl::StatusOr<PostmortemPage> ListPostmortems(const PostmortemQuery& query) override;

  // The pages enqueued so far (the in-memory outbox), oldest first; each
  // idempotency key once. Takes them: a second call returns only newer ones.
  std::vector<PageRequest> TakePages();

 private:
  struct StoredRequest {
    std::string method;
    std::string incident_id;
    std::string response;
  };

  IdGenerator& ids_;
  const absl::Duration reopen_window_;
  absl::Mutex mu_;
  std::map<std::string, Incident> incidents_ ABSL_GUARDED_BY(mu_);
  // (incident id, fingerprint) -> alert.
  std::map<std::pair<std::string, std::string>, AlertState> alerts_ ABSL_GUARDED_BY(mu_);
  std::map<ReportKey, std::string> reports_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<TimelineEntry>> timelines_ ABSL_GUARDED_BY(mu_);
  // (tenant, request id) -> first call.
  std::map<std::pair<std::string, std::string>, StoredRequest> requests_ ABSL_GUARDED_BY(mu_);
  // id -> inhibition rule (ids are unique across tenants).
  std::map<std::string, InhibitionRule> inhibition_rules_ ABSL_GUARDED_BY(mu_);
  // id -> config record (ids are unique across tenants and kinds).
  std::map<std::string, ConfigRecord> configs_ ABSL_GUARDED_BY(mu_);
  // incident id -> escalation state.
  std::map<std::string, EscalationState> escalations_ ABSL_GUARDED_BY(mu_);
  // The in-memory outbox and the idempotency keys ever enqueued.
  std::vector<PageRequest> pages_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> page_keys_ ABSL_GUARDED_BY(mu_);
  // (tenant, idempotency key) of recorded deliveries.
  std::set<std::pair<std::string, std::string>> deliveries_ ABSL_GUARDED_BY(mu_);
  // Every accepted alert report and every recorded delivery, for the stats.
  std::vector<ReportRecord> report_log_ ABSL_GUARDED_BY(mu_);
  std::vector<DeliveryRecord> delivery_log_ ABSL_GUARDED_BY(mu_);
  // id -> silence (ids are unique across tenants).
  std::map<std::string, Silence> silences_ ABSL_GUARDED_BY(mu_);
  // id -> postmortem (ids are unique across tenants).
  std::map<std::string, Postmortem> postmortems_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentwatch::incident
