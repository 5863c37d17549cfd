// The daily partitions of monitor.rollups_1m (migration 007): one partition
// per UTC day, named rollups_1m_pYYYYMMDD, covering [day, day + 1).
//
// Writers call EnsureDays before a transaction writes rollups of those days;
// a maintenance worker calls Maintain now and then to create the coming days
// ahead and drop the days past the retention. Every DDL statement runs under
// one transaction-scoped advisory lock, so any number of replicas may do both
// at once.
//
// Partitions are created with fillfactor 50: a minute's rows are rewritten
// by every ingest group of that minute (count, sum, sketch; no indexed
// column changes), and the free half of each page lets those updates stay
// HOT (a new version on the same page, no new index entries), the old
// versions pruned in place.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/pg.h"

namespace agentwatch::monitor {

// The UTC day (days since 1970-01-01) `t` falls in.
int64_t UtcDay(absl::Time t);

// The name of the partition of `day`: "rollups_1m_pYYYYMMDD".
std::string RollupPartitionName(int64_t day);

// What one maintenance pass did.
struct PartitionMaintenance {
  int64_t created = 0;
  int64_t dropped = 0;
};

// Thread-safe.
class RollupPartitions {
 public:
  // Days a writer may cache as existing: within this many days before `now`
  // (the retention is at least kMinRetention, so the worker never drops a
  // cached day; older days are checked on every write).
  static constexpr int64_t kCachedDaysBack = 1;
  // The shortest retention Maintain accepts.
  static constexpr absl::Duration kMinRetention = absl::Hours(72);

  // `pool` must have the monitor migrations applied and outlive this.
  explicit RollupPartitions(common::PgPool& pool);

  // Makes sure the partition of every day in `days` exists (creating the
  // missing ones, each in a short transaction of its own). Days checked
  // before and recent (see kCachedDaysBack) cost nothing. Errors:
  // UNAVAILABLE; INTERNAL.
  absl::Status EnsureDays(const std::vector<int64_t>& days, absl::Time now);

  // One maintenance pass at `now`: creates the partitions of the days from
  // UtcDay(now) through UtcDay(now) + `days_ahead` that are missing, and
  // drops every partition whose whole day ended at or before now -
  // `retention` (its rollups go with it). Errors: INVALID_ARGUMENT
  // ("rollup_retention") when `retention` < kMinRetention or `days_ahead`
  // is negative; UNAVAILABLE; INTERNAL.
  absl::StatusOr<PartitionMaintenance> Maintain(absl::Time now, absl::Duration retention,
                                                int64_t days_ahead = 2);

  // The days that have a partition, ascending. Errors: UNAVAILABLE;
  // INTERNAL.
  absl::StatusOr<std::vector<int64_t>> ListDays();

 private:
  absl::StatusOr<bool> Create(int64_t day);

  common::PgPool& pool_;
  std::mutex mu_;
  std::set<int64_t> known_;  // days seen to exist
};

}  // namespace agentwatch::monitor
