// The postmortem repository. PgIncidentStore and MemoryIncidentStore
// implement it next to IncidentStore (IncidentStore::postmortems() returns
// it), because a postmortem and its incident change together: creating one
// sets Incident::postmortem_id and both write the incident's timeline, and
// CloseIncident reads whether the postmortem is PUBLISHED under the same
// incident lock a status change of the postmortem takes, so a P0/P1 incident
// never closes on a postmortem that is being unpublished.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "incident/core/postmortem.h"
#include "incident/core/query.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

// A ListPostmortems query: newest first, (create_time, id) desc.
struct PostmortemQuery {
  std::string tenant;                      // empty: every tenant
  std::vector<PostmortemStatus> statuses;  // empty: any
  int page_size = kDefaultPageSize;        // 1..kMaxPageSize
  std::optional<PageCursor> after;
};

struct PostmortemPage {
  std::vector<Postmortem> postmortems;
  std::optional<PageCursor> next;
};

// Computes the new version of a postmortem from the stored one and its
// (locked) incident; its error aborts the update.
using PostmortemMutator =
    std::function<absl::StatusOr<Postmortem>(const Postmortem& current, const Incident& incident)>;

// Thread-safe.
class PostmortemStore {
 public:
  virtual ~PostmortemStore() = default;

  // Stores `postmortem` (id, status, times and the writable fields set by
  // the caller) for incident `postmortem.incident_id`, taking the tenant
  // from the incident and the incident's title when `title` is empty; sets
  // the incident's postmortem_id and appends PostmortemCreatedEntry, all in
  // one transaction, and returns what was stored. When the incident already
  // has a postmortem with the same id (a retried create) returns it
  // unchanged. NOT_FOUND (incident); ALREADY_EXISTS (the incident has
  // another postmortem); UNAVAILABLE.
  virtual absl::StatusOr<Postmortem> CreatePostmortem(const Postmortem& postmortem) = 0;

  // The postmortem `id`. NOT_FOUND; UNAVAILABLE.
  virtual absl::StatusOr<Postmortem> GetPostmortem(absl::string_view id) = 0;

  // The postmortem of incident `incident_id`. NOT_FOUND (no such incident,
  // or it has no postmortem); UNAVAILABLE.
  virtual absl::StatusOr<Postmortem> GetPostmortemOfIncident(absl::string_view incident_id) = 0;

  // Locks the incident of postmortem `id`, then the postmortem, applies
  // `mutate`, checks the status change (CheckPostmortemStatusChange), stores
  // the result (id, incident, tenant and create_time kept) and appends
  // PostmortemStatusEntry when the status changed. NOT_FOUND; the mutator's
  // or the check's error; UNAVAILABLE.
  virtual absl::StatusOr<Postmortem> UpdatePostmortem(absl::string_view id,
                                                      const PostmortemMutator& mutate) = 0;

  // One page of postmortems, newest first. UNAVAILABLE.
  virtual absl::StatusOr<PostmortemPage> ListPostmortems(const PostmortemQuery& query) = 0;
};

// The NOT_FOUND for an unknown postmortem id.
absl::Status PostmortemNotFound(absl::string_view id);

// The NOT_FOUND for an incident without a postmortem.
absl::Status IncidentHasNoPostmortem(absl::string_view incident_id);

// The ALREADY_EXISTS for a second postmortem of an incident.
absl::Status PostmortemExists(absl::string_view incident_id, absl::string_view existing_id);

// True when `p` comes after `cursor` in the newest-first order.
bool PostmortemIsAfter(const Postmortem& p, const PageCursor& cursor);

}  // namespace agentwatch::incident
