// The grouping config repository: per tenant ("" is the global default), the
// labels whose values group alerts into incidents and the wait before a new
// incident's first page. Implementations: Postgres (PgGroupingConfigStore)
// and in memory (MemoryGroupingConfigStore, for unit tests).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace agentwatch::incident {

// One tenant's stored grouping. An absent field inherits (the global
// default's, then the service flag's).
struct GroupingConfigRecord {
  std::string tenant;
  // Normalized label names (sorted, unique), or {"..."} for all labels;
  // empty groups all of the tenant's alerts together.
  std::optional<std::vector<std::string>> group_by;
  std::optional<absl::Duration> group_wait;  // microsecond precision
  absl::Time update_time = absl::UnixEpoch();
};

// Which fields PutGroupingConfig writes.
struct GroupingConfigFields {
  bool group_by = false;
  bool group_wait = false;
};

// Thread-safe.
class GroupingConfigStore {
 public:
  virtual ~GroupingConfigStore() = default;

  // The stored records of `tenants`, in no particular order; tenants without
  // a record are left out. UNAVAILABLE.
  virtual absl::StatusOr<std::vector<GroupingConfigRecord>> GetGroupingConfigs(
      const std::vector<std::string>& tenants) = 0;

  // Creates or updates `record.tenant`'s record atomically: the `fields`
  // named take `record`'s values (absent = inherit), the others keep theirs
  // (absent on creation); update_time is always set (truncated to
  // microseconds). Returns the record as stored. UNAVAILABLE.
  virtual absl::StatusOr<GroupingConfigRecord> PutGroupingConfig(const GroupingConfigRecord& record,
                                                                 GroupingConfigFields fields) = 0;
};

}  // namespace agentwatch::incident
