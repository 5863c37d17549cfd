// A near cache of the hot budget counters in the service process, so that
// CheckBudget answers from memory instead of waiting on a Redis round trip
// (and the two extra wake-ups it costs on a busy machine).
//
// What is cached: the budgets version token of each tenant checked recently
// and the counters its checks read (GetWithVersion). A background refresher
// (Start/Stop, or RefreshOnce) reads all of them from Redis every `refresh`
// in one pipelined round trip (one MGET per tenant). A tenant or counter not
// yet cached is read from Redis inline by the check that needs it, then
// cached; a counter no check read for `idle_expiry` is dropped, and a
// tenant with it when none is left (memory bounded by what is checked).
//
// Staleness bound: what this process writes through the cache is seen at
// once (RaiseTo raises cached counters to max(cached, spend) as Redis does;
// SeedIfAbsent and CompareAndSet store what Redis holds afterwards;
// BumpBudgetsVersion forgets the tenant's token, so its next check reads the
// new one inline); what other replicas write to Redis is seen within one
// refresh (`refresh` plus the refresh's round trip). A tenant whose last
// refresh read is older than `max_age` (the refresher is late: a starved
// machine) is read inline again, so nothing served is ever older than
// `max_age`.
//
// Redis down: a failed refresh forgets everything, so checks read inline,
// fail with UNAVAILABLE and the caller falls back exactly as without the
// cache (CheckBudget's executor path over Postgres). Get is never cached
// (Reconcile and the executor path read the truth); the writes go to Redis
// first and touch the cache only when Redis took them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "cost/store/budget_counters.h"

namespace agentwatch::cost {

struct NearBudgetCountersOptions {
  // How often the refresher re-reads every cached token and counter (> 0).
  absl::Duration refresh = absl::Milliseconds(10);
  // A tenant's cached entries are served only while their last refresh read
  // is younger than this (>= refresh); older ones are read inline.
  absl::Duration max_age = absl::Milliseconds(100);
  // A counter no check read for this long is dropped.
  absl::Duration idle_expiry = absl::Seconds(10);
};

// BudgetCounters decorator: GetWithVersion from process memory, every other
// call passed through (see the file comment). Thread-safe.
class NearBudgetCounters final : public BudgetCounters {
 public:
  // Writes (RaiseTo, SeedIfAbsent, CompareAndSet, BudgetsVersion,
  // BumpBudgetsVersion) and Get go to `writes`; inline reads and refreshes
  // to `reads` (e.g. the same Redis over a connection of its own; may be
  // `writes`). All must outlive this object.
  NearBudgetCounters(BudgetCounters& writes, BudgetCounters& reads, common::Clock& clock,
                     NearBudgetCountersOptions options);
  ~NearBudgetCounters() override;

  absl::StatusOr<std::vector<std::optional<int64_t>>> Get(
      const std::vector<CounterKey>& keys) override;
  absl::Status RaiseTo(const std::vector<BudgetIncrement>& increments, absl::Time now) override;
  absl::StatusOr<int64_t> SeedIfAbsent(const CounterKey& key, int64_t value,
                                       absl::Time now) override;
  absl::StatusOr<bool> CompareAndSet(const CounterKey& key, std::optional<int64_t> expected,
                                     int64_t value, absl::Time now) override;
  absl::StatusOr<std::string> BudgetsVersion(absl::string_view tenant) override;
  absl::Status BumpBudgetsVersion(absl::string_view tenant) override;
  // From memory when the tenant's token and every key are cached and fresh
  // (see max_age); else one inline read from `reads`, then cached.
  // UNAVAILABLE (nothing cached) when that read fails.
  absl::StatusOr<VersionedCounters> GetWithVersion(absl::string_view tenant,
                                                   const std::vector<CounterKey>& keys) override;

  // One refresh: drops idle counters, then re-reads every cached tenant's
  // token and counters in one round trip. On a failed read forgets
  // everything and returns its error.
  absl::Status RefreshOnce();
  // Runs RefreshOnce every `refresh` on a thread of its own until Stop;
  // failures are logged once per outage.
  void Start();
  // Stops and joins; idempotent.
  void Stop();

  // The number of cached counters (for tests and bounds).
  size_t CachedCounters() const;

 private:
  // A counter by (budget id, period start in Unix microseconds).
  using Slot = std::pair<std::string, int64_t>;
  struct CachedCounter {
    CounterKey key;
    std::optional<int64_t> value;
    absl::Time last_checked;
  };
  struct CachedTenant {
    bool version_known = false;
    std::optional<std::string> version;
    std::map<Slot, CachedCounter> counters;
    // Start of the last read that covered all of `counters`.
    absl::Time read_at = absl::InfinitePast();
    // Bumped by every write of this process to the token / to a counter, so
    // that a read that started before one never overwrites it with older
    // values (counters merge by max; the token is kept).
    uint64_t version_writes = 0;
    uint64_t counter_writes = 0;
  };

  static Slot SlotOf(const CounterKey& key) {
    return {key.budget_id, absl::ToUnixMicros(key.period_start)};
  }
  // Stores a read of `keys` (and the token) into `cached`; the read started
  // at `read_at` when the tenant's write counts were the given ones.
  // `create`: add keys not cached (else they were dropped: skip them).
  void Store(CachedTenant& cached, const std::vector<CounterKey>& keys,
             const VersionedCounters& read, absl::Time read_at, uint64_t version_writes_before,
             uint64_t counter_writes_before, bool create) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop();

  BudgetCounters& writes_;
  BudgetCounters& reads_;
  common::Clock& clock_;
  const NearBudgetCountersOptions options_;

  mutable absl::Mutex mu_;
  std::map<std::string, CachedTenant, std::less<>> tenants_ ABSL_GUARDED_BY(mu_);

  absl::Mutex loop_mu_;
  absl::CondVar wake_;
  bool stopping_ ABSL_GUARDED_BY(loop_mu_) = false;
  std::thread thread_;
};

}  // namespace agentwatch::cost
