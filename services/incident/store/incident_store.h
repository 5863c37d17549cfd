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
#include "incident/core/intake.h"
#include "incident/core/lifecycle.h"
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

// Thread-safe.
class IncidentStore {
 public:
  virtual ~IncidentStore() = default;

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

  // Expires silence `id` at `now` (keeps an earlier expiry). NOT_FOUND;
  // UNAVAILABLE.
  virtual absl::Status DeleteSilence(absl::string_view id, absl::Time now) = 0;

  // One page of silences, newest first; expired ones (at query.now) only
  // with include_expired. UNAVAILABLE.
  virtual absl::StatusOr<SilencePage> ListSilences(const SilenceQuery& query) = 0;
};

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
