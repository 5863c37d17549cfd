// The incident repository: the one place incidents, their alerts, alert
// reports and timelines are read and written. Implementations: Postgres
// (PgIncidentStore) and in memory (MemoryIncidentStore, for unit tests). Both
// apply the rules of core/intake.h and core/lifecycle.h the same way.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "incident/core/grouping.h"
#include "incident/core/inhibition.h"
#include "incident/core/intake.h"
#include "incident/core/lifecycle.h"
#include "incident/core/paging.h"
#include "incident/core/query.h"
#include "incident/core/silence.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

// An incident with its alerts (latest state of each fingerprint, in the
// order they joined) and its whole timeline, oldest first.
struct IncidentDetail {
  Incident incident;
  std::vector<AlertState> alerts;
  std::vector<TimelineEntry> timeline;
};

// Makes a change idempotent: a second call with the same non-empty
// request_id returns the first call's response. `method` names the call
// ("AcknowledgeIncident"); reusing a request_id for another method or
// incident is INVALID_ARGUMENT.
struct RequestKey {
  std::string request_id;  // empty: not idempotent
  std::string method;
};

// Computes a change from the incident's current state (a core lifecycle
// function); its error aborts the change.
using IncidentMutator = std::function<absl::StatusOr<IncidentChange>(const Incident&)>;

// Turns the applied change into the response bytes the caller returns; they
// are stored with the request_id so that a retry gets the same answer.
using ResponseEncoder = std::function<std::string(const IncidentChange&)>;

// A ListSilences query.
struct SilenceQuery {
  std::string tenant;  // empty: every tenant
  bool include_expired = false;
  absl::Time now = absl::UnixEpoch();  // what "expired" is judged at
  int page_size = kDefaultPageSize;    // 1..kMaxPageSize
  std::optional<PageCursor> after;     // newest first: (create_time, id) desc
};

// One page of silences and the position to continue from (unset on the last
// page).
struct SilencePage {
  std::vector<Silence> silences;
  std::optional<PageCursor> next;
};

// Kinds of paging configuration kept as ConfigRecords.
namespace config_kind {
inline constexpr absl::string_view kEscalationPolicy = "escalation_policy";
inline constexpr absl::string_view kSchedule = "schedule";
inline constexpr absl::string_view kChannel = "channel";
}  // namespace config_kind

// One paging configuration object (escalation policy, schedule, notification
// channel). The store keeps `body` (the API's serialized message) opaque and
// indexes the other fields. Ids are unique across tenants and kinds.
struct ConfigRecord {
  std::string tenant;
  std::string kind;
  std::string id;
  std::string name;      // unique per (tenant, kind)
  std::string person;    // channels: owner handle; "" otherwise
  int32_t priority = 0;  // list order: priority, then name
  // Ids of other records this one uses (a policy's schedules and channels);
  // a referenced record cannot be deleted.
  std::vector<std::string> refs;
  std::string body;
  absl::Time create_time = absl::UnixEpoch();
  absl::Time update_time = absl::UnixEpoch();
};

// A position in the (priority, name, tenant, id) order of configs.
struct ConfigCursor {
  int32_t priority = 0;
  std::string name;
  std::string tenant;
  std::string id;
};

// A ListConfigs query.
struct ConfigQuery {
  std::string kind;
  std::string tenant;  // empty: every tenant
  std::string person;  // empty: any
  int page_size = kDefaultPageSize;
  std::optional<ConfigCursor> after;
};

struct ConfigPage {
  std::vector<ConfigRecord> records;
  std::optional<ConfigCursor> next;
};

// An open incident the escalation engine looks at, with its state (unset
// before its first escalation step).
struct EscalationCandidate {
  Incident incident;
  std::optional<EscalationState> state;
};

// One notification to deliver through the outbox (destination
// kNotifyDestination), idempotent by `event.idempotency_key`.
struct PageRequest {
  NotificationEvent event;
};

// The outbox destination of notifications.
inline constexpr absl::string_view kNotifyDestination = "incident.notify";

// What one escalation step writes, all in one transaction.
struct EscalationWrite {
  bool incident_changed = false;  // write `incident` (status, tier, update_time)
  Incident incident;
  bool state_changed = false;  // write `state`
  EscalationState state;
  std::vector<TimelineEntry> entries;
  std::vector<PageRequest> pages;
};

// Decides an escalation step from the locked incident and its stored state.
using EscalationPlanner = std::function<absl::StatusOr<EscalationWrite>(
    const Incident&, const std::optional<EscalationState>&)>;

// A delivered (or deliberately skipped) notification, with the timeline
// entry that records it.
struct DeliveryRecord {
  std::string tenant;
  std::string idempotency_key;
  std::string incident_id;
  std::string channel_id;
  std::string person;
  absl::Time time = absl::UnixEpoch();
  TimelineEntry entry;
};

// A ListInhibitionRules query: newest first, (create_time, id) desc.
struct InhibitionRuleQuery {
  std::string tenant;  // empty: every tenant
  int page_size = kDefaultPageSize;
  std::optional<PageCursor> after;
};

struct InhibitionRulePage {
  std::vector<InhibitionRule> rules;
  std::optional<PageCursor> next;
};

class PostmortemStore;
class StatsStore;

// Thread-safe.
class IncidentStore {
 public:
  virtual ~IncidentStore() = default;

  // The postmortems kept next to these incidents (store/postmortem_store.h),
  // or nullptr when this store keeps none (the postmortem RPCs then answer
  // UNIMPLEMENTED).
  virtual PostmortemStore* postmortems() { return nullptr; }

  // The aggregate queries of GetStats over this store
  // (store/stats_store.h), or null when it has none.
  virtual StatsStore* stats() { return nullptr; }

  // Applies a batch of prepared alerts received at `now` atomically with the
  // intake rules, serialized per group so that concurrent batches (also from
  // other replicas) never open two incidents for one group. UNAVAILABLE
  // when the database is unreachable (nothing was written).
  virtual absl::StatusOr<IntakeSummary> ReportAlerts(const std::vector<IncomingAlert>& alerts,
                                                     absl::Time now) = 0;

  // Locks incident `id`, applies `mutate` to it and records the change and
  // its timeline entries, all in one transaction; returns `encode`'s bytes
  // (or, for a repeated request_id, those stored the first time). NOT_FOUND
  // for an unknown id; the mutator's error (FAILED_PRECONDITION, ...);
  // FAILED_PRECONDITION when reopening while the group has another open
  // incident; INVALID_ARGUMENT "request_id: ..." for a reused request_id;
  // UNAVAILABLE.
  virtual absl::StatusOr<std::string> MutateIncident(absl::string_view id,
                                                     const RequestKey& request,
                                                     const IncidentMutator& mutate,
                                                     const ResponseEncoder& encode) = 0;

  // The incident with its alerts and timeline. NOT_FOUND; UNAVAILABLE.
  virtual absl::StatusOr<IncidentDetail> GetIncident(absl::string_view id) = 0;

  // One page of incidents matching `query`, newest first. UNAVAILABLE.
  virtual absl::StatusOr<IncidentPage> ListIncidents(const IncidentQuery& query) = 0;

  // The id of the open incident (triggered, acknowledged or mitigated) that
  // holds `tenant`'s alert `fingerprint` (the latest to take it in), or ""
  // when no open incident holds it. UNAVAILABLE.
  virtual absl::StatusOr<std::string> FindOpenIncident(absl::string_view tenant,
                                                       absl::string_view fingerprint) = 0;

  // Resolves automatically up to `limit` open incidents that are due at
  // `now` after a `quiet` period (core/auto_resolve.h), each in the same
  // transaction as its timeline entry. Incidents another transaction holds
  // (another replica's worker, an intake) are skipped, so no incident is
  // resolved twice. Returns the ids resolved. UNAVAILABLE.
  virtual absl::StatusOr<std::vector<std::string>> AutoResolveDue(absl::Time now,
                                                                  absl::Duration quiet,
                                                                  int limit) = 0;

  // Stores a new silence (id, create_time and update_time set by the
  // caller) and returns it; when a silence with the same tenant and id
  // exists already (a retried create), returns that one unchanged.
  // UNAVAILABLE.
  virtual absl::StatusOr<Silence> CreateSilence(const Silence& silence) = 0;

  // The silence `id`. NOT_FOUND; UNAVAILABLE.
  virtual absl::StatusOr<Silence> GetSilence(absl::string_view id) = 0;

  // Replaces silence `id` by update(current) atomically (the current row is
  // locked while `update` runs) and returns the stored result; `update`'s
  // error is returned unchanged and nothing is written. NOT_FOUND;
  // UNAVAILABLE.
  virtual absl::StatusOr<Silence> UpdateSilence(
      absl::string_view id,
      const std::function<absl::StatusOr<Silence>(const Silence&)>& update) = 0;

  // Expires silence `id` at `now` (keeps an earlier expiry). NOT_FOUND;
  // UNAVAILABLE.
  virtual absl::Status DeleteSilence(absl::string_view id, absl::Time now) = 0;

  // One page of silences, newest first; expired ones (at query.now) only
  // with include_expired. UNAVAILABLE.
  virtual absl::StatusOr<SilencePage> ListSilences(const SilenceQuery& query) = 0;

  // --- Inhibition rules (applied by ReportAlerts, core/intake.h) ---

  // Stores a new rule (id and times set by the caller); a rule with the same
  // id (a retried create) is returned unchanged. UNAVAILABLE.
  virtual absl::StatusOr<InhibitionRule> CreateInhibitionRule(const InhibitionRule& rule) = 0;

  // The rule `id`. NOT_FOUND; UNAVAILABLE.
  virtual absl::StatusOr<InhibitionRule> GetInhibitionRule(absl::string_view id) = 0;

  // Replaces rule `rule.id` (all but tenant and create_time) and returns it.
  // NOT_FOUND; UNAVAILABLE.
  virtual absl::StatusOr<InhibitionRule> UpdateInhibitionRule(const InhibitionRule& rule) = 0;

  // Deletes rule `id`. NOT_FOUND; UNAVAILABLE.
  virtual absl::Status DeleteInhibitionRule(absl::string_view id) = 0;

  // One page of rules, newest first. UNAVAILABLE.
  virtual absl::StatusOr<InhibitionRulePage> ListInhibitionRules(
      const InhibitionRuleQuery& query) = 0;

  // --- Paging configuration (escalation policies, schedules, channels) ---

  // Stores a new record. When a record with the same id exists (a retried
  // create) returns that one unchanged. ALREADY_EXISTS when another record of
  // the kind has the name in the tenant; UNAVAILABLE.
  virtual absl::StatusOr<ConfigRecord> CreateConfig(const ConfigRecord& record) = 0;

  // The record `id` of `kind`. NOT_FOUND; UNAVAILABLE.
  virtual absl::StatusOr<ConfigRecord> GetConfig(absl::string_view kind, absl::string_view id) = 0;

  // Replaces record `record.id` of its kind when its update_time still equals
  // `expected_update_time` (ABORTED otherwise: a concurrent update won), and
  // returns it. NOT_FOUND; ALREADY_EXISTS (name taken); UNAVAILABLE.
  virtual absl::StatusOr<ConfigRecord> UpdateConfig(const ConfigRecord& record,
                                                    absl::Time expected_update_time) = 0;

  // Deletes record `id` of `kind`. NOT_FOUND; FAILED_PRECONDITION when
  // another record refers to it, or (a policy) an open incident escalates on
  // it; UNAVAILABLE.
  virtual absl::Status DeleteConfig(absl::string_view kind, absl::string_view id) = 0;

  // One page of records in (priority, name, tenant, id) order. UNAVAILABLE.
  virtual absl::StatusOr<ConfigPage> ListConfigs(const ConfigQuery& query) = 0;

  // --- Escalation ---

  // Up to `limit` TRIGGERED or ACKNOWLEDGED incidents with their escalation
  // state, by (tenant, id). Unlocked snapshot. UNAVAILABLE.
  virtual absl::StatusOr<std::vector<EscalationCandidate>> ListEscalationCandidates(int limit) = 0;

  // Locks incident (`tenant`, `id`) unless another transaction holds it
  // (then returns false: another replica or a lifecycle call is on it), calls
  // `plan` with its current state and writes the outcome: the incident, the
  // state, the timeline entries and one outbox message per page (ignored
  // when its idempotency key was enqueued before). NOT_FOUND; the planner's
  // error; UNAVAILABLE.
  virtual absl::StatusOr<bool> Escalate(absl::string_view tenant, absl::string_view id,
                                        const EscalationPlanner& plan) = 0;

  // Whether a delivery with this key was recorded. UNAVAILABLE.
  virtual absl::StatusOr<bool> WasDelivered(absl::string_view tenant,
                                            absl::string_view idempotency_key) = 0;

  // Records a delivery and its timeline entry once (a repeat is ignored).
  // UNAVAILABLE.
  virtual absl::Status RecordDelivery(const DeliveryRecord& record) = 0;

  // Appends one timeline entry to an existing incident. NOT_FOUND;
  // UNAVAILABLE.
  virtual absl::Status AppendTimeline(const TimelineEntry& entry) = 0;
};

// The NOT_FOUND for an unknown inhibition rule.
absl::Status InhibitionRuleNotFound(absl::string_view id);

// The NOT_FOUND for an unknown config record.
absl::Status ConfigNotFound(absl::string_view kind, absl::string_view id);

// The NOT_FOUND for an unknown silence id.
absl::Status SilenceNotFound(absl::string_view id);

// The NOT_FOUND for an unknown incident id.
absl::Status IncidentNotFound(absl::string_view id);

// The INVALID_ARGUMENT for a request_id already used by another call.
absl::Status RequestIdReused(const RequestKey& request, absl::string_view first_method,
                             absl::string_view first_incident);

// The FAILED_PRECONDITION for reopening `incident` while `other` is open in
// its group.
absl::Status GroupHasOpenIncident(const Incident& incident, absl::string_view other);

}  // namespace agentwatch::incident
