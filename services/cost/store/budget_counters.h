// Hot budget counters: the spend of each daily, weekly or monthly budget in
// its current period, kept in Redis so that CheckBudget answers in one round
// trip without Postgres. Postgres (the ledger) is the truth; a counter is a
// cache of one ledger sum and may always be rebuilt from it.
//
// Why spend is never double-counted or lost for good: a counter only ever
// holds a ledger sum, and within a period a budget's spend only grows (costs
// are >= 0 and ledger rows are never removed), so the larger of two ledger
// sums is the later one.
// - After each committed batch, RaiseTo sets every touched budget's counter
//   to the period's whole spend as that batch's transaction computed it
//   (cost.budget_period_spend, kept in the transaction that writes the
//   ledger, under the budget's lock): the counter becomes max(counter,
//   spend), created when missing (one script call per tenant raises all of
//   its counters, each compared on its own). Raises commute and repeat
//   harmlessly, so raises arriving out of order, twice, or after a seed
//   leave the latest spend; a raise lost to a Redis error is made good by
//   the next batch's.
// - SeedIfAbsent (SET NX) writes a ledger sum read in one Postgres snapshot;
//   CompareAndSet (Reconcile, a scope change) overwrites with one only if the
//   counter did not change since it was read.
// - The one way a counter can be too high: a budget's scope changed (the
//   counter is rewritten from the ledger under the new scope) and a raise
//   computed under the old scope lands after that rewrite; Reconcile compares
//   every counter with the ledger and rewrites drifted ones, periodically, so
//   such drift lives at most one reconcile interval; a flushed or lost Redis
//   only costs re-creating counters (by the next batch or a seed).
// - ROLLING budgets have no counter (their window moves every instant):
//   CheckBudget reads their spend from Postgres.
//
// Beside the counters, each tenant has a budgets version token
// ("{<tenant>}:cost:budgets:version"): a random value replaced whenever one
// of the tenant's budgets is created, changed or deleted (through any
// replica), so that a replica's cached budget list is known current by
// comparing tokens in the same round trip that reads the counters. A missing
// token (first use, Redis flushed) is created at random on its next read, so
// it never equals a token cached before the loss.
//
// CheckBudget reads the tokens and counters through a near cache in process
// memory (store/near_budget_counters.h), refreshed from Redis periodically.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "cost/store/cost_store.h"

namespace agentwatch::cost {

// Which counter: a budget's period.
struct CounterKey {
  std::string tenant;
  std::string budget_id;
  absl::Time period_start;
  absl::Time period_end;  // for the expiry only
};

// The Redis key of a counter: "{<tenant>}:cost:budget:<id>:<period start in
// Unix microseconds>"; the hash tag keeps a tenant's keys on one cluster
// slot.
std::string CounterRedisKey(absl::string_view tenant, absl::string_view budget_id,
                            absl::Time period_start);

// The Redis key of a tenant's budgets version token.
std::string BudgetsVersionRedisKey(absl::string_view tenant);

// A tenant's budgets version token and counter values, read together.
struct VersionedCounters {
  std::optional<std::string> version;  // nullopt: no token (yet)
  std::vector<std::optional<int64_t>> values;
};

// One tenant's share of a GetManyWithVersion: its keys (all of `tenant`).
struct TenantCounterKeys {
  std::string tenant;
  std::vector<CounterKey> keys;
};

// Counters expire this long after their period ends.
inline constexpr absl::Duration kCounterGrace = absl::Hours(24);

class BudgetCounters {
 public:
  virtual ~BudgetCounters() = default;

  // The values of `keys` in one round trip; nullopt for a missing counter.
  // UNAVAILABLE when the counters cannot be reached.
  virtual absl::StatusOr<std::vector<std::optional<int64_t>>> Get(
      const std::vector<CounterKey>& keys) = 0;

  // Raises each increment's counter to its spent_nano_usd (creating it when
  // missing, expiring kCounterGrace after period_end), in one round trip;
  // a counter already higher stays. UNAVAILABLE when the counters cannot be
  // reached.
  virtual absl::Status RaiseTo(const std::vector<BudgetIncrement>& increments,
                               absl::Time now) = 0;

  // Creates the counter with `value` unless it exists (SET NX); returns the
  // counter's value afterwards.
  virtual absl::StatusOr<int64_t> SeedIfAbsent(const CounterKey& key, int64_t value,
                                               absl::Time now) = 0;

  // Overwrites the counter with `value` if it still holds `expected`
  // (nullopt: if it is still missing); returns whether it did.
  virtual absl::StatusOr<bool> CompareAndSet(const CounterKey& key, std::optional<int64_t> expected,
                                             int64_t value, absl::Time now) = 0;

  // `tenant`'s budgets version token, created at random when missing.
  // UNAVAILABLE when the counters cannot be reached.
  virtual absl::StatusOr<std::string> BudgetsVersion(absl::string_view tenant) = 0;

  // Replaces `tenant`'s budgets version token with a new random one (call
  // after a budget of the tenant changed and committed). UNAVAILABLE when
  // the counters cannot be reached.
  virtual absl::Status BumpBudgetsVersion(absl::string_view tenant) = 0;

  // `tenant`'s budgets version token (as is: nullopt when missing) and the
  // values of `keys` (all of `tenant`), in one round trip. UNAVAILABLE when
  // the counters cannot be reached.
  virtual absl::StatusOr<VersionedCounters> GetWithVersion(absl::string_view tenant,
                                                           const std::vector<CounterKey>& keys) = 0;

  // GetWithVersion of each entry of `reads` (answers in the same order); the
  // Redis implementation does all of them in one round trip (this default:
  // one call each). UNAVAILABLE when the counters cannot be reached.
  virtual absl::StatusOr<std::vector<VersionedCounters>> GetManyWithVersion(
      const std::vector<TenantCounterKeys>& reads);
};

// BudgetCounters in Redis. Thread-safe (the client is).
class RedisBudgetCounters final : public BudgetCounters {
 public:
  // `redis` must outlive this object.
  explicit RedisBudgetCounters(common::RedisClient& redis) : redis_(redis) {}

  absl::StatusOr<std::vector<std::optional<int64_t>>> Get(
      const std::vector<CounterKey>& keys) override;
  absl::Status RaiseTo(const std::vector<BudgetIncrement>& increments, absl::Time now) override;
  absl::StatusOr<int64_t> SeedIfAbsent(const CounterKey& key, int64_t value,
                                       absl::Time now) override;
  absl::StatusOr<bool> CompareAndSet(const CounterKey& key, std::optional<int64_t> expected,
                                     int64_t value, absl::Time now) override;
  absl::StatusOr<std::string> BudgetsVersion(absl::string_view tenant) override;
  absl::Status BumpBudgetsVersion(absl::string_view tenant) override;
  absl::StatusOr<VersionedCounters> GetWithVersion(absl::string_view tenant,
                                                   const std::vector<CounterKey>& keys) override;
  // One pipeline of one MGET per tenant.
  absl::StatusOr<std::vector<VersionedCounters>> GetManyWithVersion(
      const std::vector<TenantCounterKeys>& reads) override;

 private:
  common::RedisClient& redis_;
};

// BudgetCounters in memory, for unit tests; SetAvailable(false) makes every
// call UNAVAILABLE like a Redis that is down. Thread-safe.
class MemoryBudgetCounters final : public BudgetCounters {
 public:
  absl::StatusOr<std::vector<std::optional<int64_t>>> Get(
      const std::vector<CounterKey>& keys) override;
  absl::Status RaiseTo(const std::vector<BudgetIncrement>& increments, absl::Time now) override;
  absl::StatusOr<int64_t> SeedIfAbsent(const CounterKey& key, int64_t value,
                                       absl::Time now) override;
  absl::StatusOr<bool> CompareAndSet(const CounterKey& key, std::optional<int64_t> expected,
                                     int64_t value, absl::Time now) override;
  absl::StatusOr<std::string> BudgetsVersion(absl::string_view tenant) override;
  absl::Status BumpBudgetsVersion(absl::string_view tenant) override;
  absl::StatusOr<VersionedCounters> GetWithVersion(absl::string_view tenant,
                                                   const std::vector<CounterKey>& keys) override;

  void SetAvailable(bool available);
  // Drops every counter and version token (a flushed Redis).
  void Clear();
  // Test hook: writes a counter directly (drift injection).
  void Put(const std::string& redis_key, int64_t value);
  // Test hook: the counters by Redis key.
  std::map<std::string, int64_t> Values() const;

 private:
  absl::Status CheckAvailable() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  bool available_ ABSL_GUARDED_BY(mu_) = true;
  std::map<std::string, int64_t> values_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> versions_ ABSL_GUARDED_BY(mu_);  // by tenant
};

}  // namespace agentwatch::cost
