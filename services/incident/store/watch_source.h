// What WatchIncidents reads: the timeline by entry_id (a global, increasing
// id every replica sees the same) and the incidents its entries belong to.
// Implementations: Postgres (PgWatchSource) and fakes in tests.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "incident/core/query.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

// One committed timeline entry with its id.
struct WatchEntry {
  int64_t entry_id = 0;
  TimelineEntry entry;  // tenant and incident_id set
};

// An inclusive range of entry ids.
struct EntryIdRange {
  int64_t first = 0;
  int64_t last = 0;
};

// (tenant, incident id).
using IncidentKey = std::pair<std::string, std::string>;

// Thread-safe. Every call may answer UNAVAILABLE (nothing changed).
class WatchSource {
 public:
  virtual ~WatchSource() = default;

  // The greatest entry id handed out so far (committed or not; 0 before the
  // first). Every entry committed later has a greater id or one handed out
  // already.
  virtual absl::StatusOr<int64_t> LastEntryId() = 0;

  // Up to `limit` committed entries with `after` < entry_id <= `upto`,
  // ascending.
  virtual absl::StatusOr<std::vector<WatchEntry>> EntriesAfter(int64_t after, int64_t upto,
                                                               int limit) = 0;

  // The committed entries whose ids lie in `ranges` (disjoint), ascending.
  virtual absl::StatusOr<std::vector<WatchEntry>> EntriesIn(
      const std::vector<EntryIdRange>& ranges) = 0;

  // The current state of the incidents in `keys` (unknown keys are left
  // out), in any order.
  virtual absl::StatusOr<std::vector<Incident>> Incidents(const std::vector<IncidentKey>& keys) = 0;

  // One page of incidents (ListIncidents' query and order): the snapshot of
  // WatchIncidents' send_initial.
  virtual absl::StatusOr<IncidentPage> ListIncidents(const IncidentQuery& query) = 0;
};

}  // namespace agentwatch::incident
