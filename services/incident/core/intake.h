// Alert intake as a pure function: given the state a store loaded (and
// locked) for a batch, decide what the batch changes. Both stores (Postgres
// and in-memory) load, call PlanIntake, and write the plan in one
// transaction, so the rules live here once.
//
// Rules, per alert in request order:
// - A report whose key (tenant, fingerprint, status, starts_at[, ends_at for
//   resolved]) was accepted before is a duplicate: nothing changes, and its
//   incident is the one recorded then.
// - A firing alert joins the open incident that already holds its
//   fingerprint, else the open incident of its group, else opens a new
//   incident (TRIGGERED, titled by its "summary" annotation or name, with
//   its severity). Joining with a new fingerprint, or firing again after a
//   resolve or with a later starts_at (a refire), adds an "alert_firing"
//   entry; a more severe alert raises the incident's severity (unless a
//   person set it) with a "severity_changed" entry.
// - A firing report older than what is known (an earlier starts_at, or the
//   same starts_at after it resolved), or a repeat without starts_at while
//   firing, is recorded but changes nothing.
// - A firing report with a later starts_at for a fingerprint still firing in
//   a resolved or closed incident ends that old firing ("alert_resolved"
//   there) before joining or opening an open incident.
// - A resolved alert resolves the fingerprint's latest alert if it fires
//   ("alert_resolved"); the incident keeps its status. A resolve of an
//   unknown fingerprint belongs to no incident.
// - A new firing of an alert whose latest incident was resolved
//   automatically (auto_resolved) at most `reopen_window` ago, while its
//   group has no open incident and the alert still belongs to that group,
//   re-opens that incident (TRIGGERED, auto_resolved cleared, a "reopened"
//   entry by "system") instead of opening a new one.
// - A new firing report that one of the state's silences mutes at `now`
//   (core/silence.h, over its labels plus alertname and severity) is
//   recorded with no incident ("") and counted as silenced; it opens or joins
//   nothing and changes no incident.
// - Likewise a new firing report that an inhibition rule of its tenant mutes
//   (core/inhibition.h) while a source alert fires (a firing alert of an open
//   incident in the state, or one fired earlier in the batch and not resolved
//   since; never the alert itself) is recorded with no incident and counted
//   as inhibited.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "incident/core/grouping.h"
#include "incident/core/ids.h"
#include "incident/core/inhibition.h"
#include "incident/core/silence.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

// What makes an alert report idempotent.
struct ReportKey {
  std::string tenant;
  std::string fingerprint;
  AlertStatus status = AlertStatus::kFiring;
  absl::Time starts_at = absl::UnixEpoch();
  std::optional<absl::Time> ends_at;  // resolved reports only

  friend bool operator<(const ReportKey& a, const ReportKey& b);
  friend bool operator==(const ReportKey& a, const ReportKey& b);
};

// The key of a prepared alert.
ReportKey KeyOf(const IncomingAlert& alert);

// Whether a store must look `alert`'s report key up among the accepted
// reports before planning it, given its fingerprint's latest alert row
// (`latest`, null when the fingerprint has none). False only when the report
// would change that row: a firing with a given starts_at later than the
// row's, or the resolve (with a given starts_at not before the row's) of the
// firing the row holds. Had such a report been accepted, it would normally
// have changed the row already; it can still have been recorded without
// changing it (silenced, inhibited, or planned against a row since replaced),
// so a store that skips the look-up must refuse a key recorded twice (a
// unique key) and plan again with every key looked up when that happens.
bool MayBeKnownReport(const AlertState* latest, const IncomingAlert& alert);

// An accepted report: its key and the incident it went to ("" for none).
struct ReportRecord {
  ReportKey key;
  std::string incident_id;
  absl::Time received_at = absl::UnixEpoch();
};

// What a store loads for a batch, with the incidents locked.
struct IntakeState {
  // Of the batch's report keys, those accepted before -> their incident id.
  std::map<ReportKey, std::string> known_reports;
  // By id: the open incidents of the batch's groups and every incident that
  // holds a row below.
  std::map<std::string, Incident> incidents;
  // (incident id, fingerprint) -> alert row, for the batch's fingerprints: at
  // least each fingerprint's latest row (greatest joined_at) and its rows in
  // the open incidents above.
  std::map<std::pair<std::string, std::string>, AlertState> alerts;
  // The silences of the batch's tenants that may be active at `now` (others
  // are ignored: each is checked against its tenant and IsSilenced).
  std::vector<Silence> silences;
  // The inhibition rules of the batch's tenants, and (when there are any)
  // the firing alerts of their open incidents, the possible sources.
  std::vector<InhibitionRule> inhibition_rules;
  std::vector<AlertState> firing_alerts;
};

// The outcome a caller reports back.
struct IntakeSummary {
  // One per alert, in request order: its incident id, "" for none.
  std::vector<std::string> incident_ids;
  int64_t accepted = 0;    // new reports (state changes or recorded no-ops)
  int64_t duplicates = 0;  // reports accepted before
  int64_t received_firing = 0;
  int64_t received_resolved = 0;
  int64_t incidents_opened = 0;
  int64_t silenced = 0;   // new firing reports muted by a silence
  int64_t inhibited = 0;  // new firing reports muted by an inhibition rule
};

// How a store writes one of a plan's alert rows.
enum class AlertWrite {
  kInsert,  // a row the state did not hold (a fingerprint joined an incident)
  kState,   // a row of the state whose labels and annotations stayed as loaded
  kWhole,   // a row of the state whose labels or annotations may have changed
};

// What a batch writes.
struct IntakePlan {
  IntakeSummary summary;
  std::vector<Incident> created;         // new incidents, final state, in creation order
  std::vector<Incident> updated;         // changed existing incidents, final state, by id
  std::vector<AlertState> alerts;        // alert rows to insert or replace, final state
  std::vector<AlertWrite> alert_writes;  // per alerts[i]: how it relates to the state
  std::vector<ReportRecord> reports;     // reports to record
  std::vector<TimelineEntry> timeline;   // entries to append, in order
};

// Plans `alerts` (prepared, in request order) received at `now` against
// `state` (taken by value: callers that no longer need it move it in, which
// saves copying every loaded row); `now` is truncated to microseconds. New
// incident ids come from `ids`. A zero `reopen_window` never re-opens. Pure
// apart from `ids`.
IntakePlan PlanIntake(IntakeState state, const std::vector<IncomingAlert>& alerts, absl::Time now,
                      IdGenerator& ids, absl::Duration reopen_window = absl::ZeroDuration());

// Plans several batches as one (group commit): `batches` in order, exactly as
// if each had been planned and written after the previous one, against
// `state` loaded for all of them. (*summaries)[b] is batch b's summary (its
// incident_ids in its request order); the plan's summary holds the totals
// and no incident_ids.
IntakePlan PlanIntakeGroup(IntakeState state,
                           const std::vector<const std::vector<IncomingAlert>*>& batches,
                           absl::Time now, IdGenerator& ids, absl::Duration reopen_window,
                           std::vector<IntakeSummary>* summaries);

}  // namespace agentwatch::incident
