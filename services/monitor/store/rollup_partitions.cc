#include "monitor/store/rollup_partitions.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace agentwatch::monitor {
namespace {

constexpr char kPartitionPrefix[] = "rollups_1m_p";

// Serializes partition DDL across replicas (transaction-scoped).
constexpr char kLockSql[] = "SELECT pg_advisory_xact_lock(hashtext('monitor.rollups_1m:partitions'))";

constexpr char kExistsSql[] = "SELECT to_regclass($1::text) IS NOT NULL";

constexpr char kListSql[] = R"sql(
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'monitor.rollups_1m'::regclass
ORDER BY 1)sql";

absl::Time DayStart(int64_t day) { return absl::FromUnixSeconds(day * 86400); }

// "2026-11-25T00:00:00Z": a day boundary as a timestamptz literal.
std::string DayLiteral(int64_t day) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", DayStart(day), absl::UTCTimeZone());
}

// The day of a partition name, or -1 for a name that is not one.
int64_t DayOfPartition(absl::string_view name) {
  if (name.size() != sizeof(kPartitionPrefix) + 7 || !absl::StartsWith(name, kPartitionPrefix)) {
    return -1;
  }
  absl::CivilDay civil;
  if (!absl::ParseCivilTime(absl::StrCat(name.substr(sizeof(kPartitionPrefix) - 1, 4), "-",
                                         name.substr(sizeof(kPartitionPrefix) + 3, 2), "-",
                                         name.substr(sizeof(kPartitionPrefix) + 5)),
                            &civil)) {
    return -1;
  }
  return UtcDay(absl::FromCivil(civil, absl::UTCTimeZone()));
}

// See the header: room on every page for the updates of a minute's rows.
constexpr int kRollupFillfactor = 50;

}  // namespace

int64_t UtcDay(absl::Time t) {
  return absl::ToInt64Seconds(absl::Floor(t - absl::UnixEpoch(), absl::Hours(24))) / 86400;
}

std::string RollupPartitionName(int64_t day) {
  return absl::StrCat(kPartitionPrefix,
                      absl::FormatTime("%Y%m%d", DayStart(day), absl::UTCTimeZone()));
}

RollupPartitions::RollupPartitions(common::PgPool& pool) : pool_(pool) {}

absl::StatusOr<bool> RollupPartitions::Create(int64_t day) {
  const std::string name = RollupPartitionName(day);
  return pool_.Transact<bool>([&](pqxx::work& txn) -> absl::StatusOr<bool> {
    txn.exec(kLockSql);
    if (txn.exec_params(kExistsSql, absl::StrCat("monitor.", name))[0][0].as<bool>()) {
      return false;
    }
    // The name and bounds come from an integer day, never from input.
    txn.exec(absl::StrCat("CREATE TABLE monitor.", name,
                          " PARTITION OF monitor.rollups_1m FOR VALUES FROM ('", DayLiteral(day),
                          "') TO ('", DayLiteral(day + 1), "') WITH (fillfactor = ",
                          kRollupFillfactor, ")"));
    return true;
  });
}

absl::Status RollupPartitions::EnsureDays(const std::vector<int64_t>& days, absl::Time now) {
  const int64_t cacheable_from = UtcDay(now) - kCachedDaysBack;
  for (int64_t day : days) {
    const bool cacheable = day >= cacheable_from;
    if (cacheable) {
      std::lock_guard<std::mutex> lock(mu_);
      if (known_.count(day) > 0) continue;
    }
    ASSIGN_OR_RETURN(const bool created, Create(day));
    if (created) {
      common::LogInfo("rollup partition created", {{"partition", RollupPartitionName(day)}});
    }
    if (cacheable) {
      std::lock_guard<std::mutex> lock(mu_);
      known_.insert(day);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> RollupPartitions::ListDays() {
  return pool_.Transact<std::vector<int64_t>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<int64_t>> {
        std::vector<int64_t> days;
        for (const auto& row : txn.exec(kListSql)) {
          const int64_t day = DayOfPartition(row[0].c_str());
          if (day >= 0) days.push_back(day);
        }
        std::sort(days.begin(), days.end());
        return days;
      });
}

absl::StatusOr<PartitionMaintenance> RollupPartitions::Maintain(absl::Time now,
                                                                absl::Duration retention,
                                                                int64_t days_ahead) {
  if (retention < kMinRetention) {
    return absl::InvalidArgumentError(
        absl::StrCat("rollup_retention: must be at least ", absl::FormatDuration(kMinRetention)));
  }
  if (days_ahead < 0) return absl::InvalidArgumentError("days_ahead: must not be negative");
  PartitionMaintenance done;
  const int64_t today = UtcDay(now);
  for (int64_t day = today; day <= today + days_ahead; ++day) {
    ASSIGN_OR_RETURN(const bool created, Create(day));
    if (created) ++done.created;
  }
  // Days whose end is at or before the retention horizon.
  const int64_t keep_from = UtcDay(now - retention);
  ASSIGN_OR_RETURN(const int64_t dropped,
                   pool_.Transact<int64_t>([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
                     txn.exec(kLockSql);
                     int64_t n = 0;
                     for (const auto& row : txn.exec(kListSql)) {
                       const std::string name = row[0].as<std::string>();
                       const int64_t day = DayOfPartition(name);
                       if (day < 0 || day >= keep_from) continue;
                       txn.exec(absl::StrCat("DROP TABLE monitor.", RollupPartitionName(day)));
                       ++n;
                     }
                     return n;
                   }));
  done.dropped = dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    known_.erase(known_.begin(), known_.lower_bound(keep_from));
  }
  if (done.created > 0 || done.dropped > 0) {
    common::LogInfo("rollup partitions maintained",
                    {{"created", absl::StrCat(done.created)},
                     {"dropped", absl::StrCat(done.dropped)},
                     {"retention", absl::FormatDuration(retention)}});
  }
  return done;
}

}  // namespace agentwatch::monitor
