#include "cost/store/near_budget_counters.h"

#include <algorithm>
#include <utility>

#include "common/log.h"
#include "common/status_macros.h"

namespace agentwatch::cost {
namespace {

// The larger of two counter values; a missing counter is below any value.
std::optional<int64_t> MaxValue(std::optional<int64_t> a, std::optional<int64_t> b) {
  if (!a.has_value()) return b;
  if (!b.has_value()) return a;
  return std::max(*a, *b);
}

}  // namespace

NearBudgetCounters::NearBudgetCounters(BudgetCounters& writes, BudgetCounters& reads,
                                       common::Clock& clock, NearBudgetCountersOptions options)
    : writes_(writes), reads_(reads), clock_(clock), options_(options) {}

NearBudgetCounters::~NearBudgetCounters() { Stop(); }

absl::StatusOr<std::vector<std::optional<int64_t>>> NearBudgetCounters::Get(
    const std::vector<CounterKey>& keys) {
  return writes_.Get(keys);
}

absl::Status NearBudgetCounters::RaiseTo(const std::vector<BudgetIncrement>& increments,
                                         absl::Time now) {
  RETURN_IF_ERROR(writes_.RaiseTo(increments, now));
  absl::MutexLock lock(&mu_);
  for (const BudgetIncrement& inc : increments) {
    if (inc.spent_nano_usd < 0) continue;
    auto tenant = tenants_.find(inc.tenant);
    if (tenant == tenants_.end()) continue;
    ++tenant->second.counter_writes;
    auto counter =
        tenant->second.counters.find(Slot(inc.budget_id, absl::ToUnixMicros(inc.period_start)));
    if (counter == tenant->second.counters.end()) continue;
    counter->second.value = MaxValue(counter->second.value, inc.spent_nano_usd);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> NearBudgetCounters::SeedIfAbsent(const CounterKey& key, int64_t value,
                                                         absl::Time now) {
  absl::StatusOr<int64_t> held = writes_.SeedIfAbsent(key, value, now);
  if (!held.ok()) return held;
  absl::MutexLock lock(&mu_);
  auto tenant = tenants_.find(key.tenant);
  if (tenant != tenants_.end()) {
    ++tenant->second.counter_writes;
    auto counter = tenant->second.counters.find(SlotOf(key));
    if (counter != tenant->second.counters.end()) {
      counter->second.value = MaxValue(counter->second.value, *held);
    }
  }
  return held;
}

absl::StatusOr<bool> NearBudgetCounters::CompareAndSet(const CounterKey& key,
                                                       std::optional<int64_t> expected,
                                                       int64_t value, absl::Time now) {
  absl::StatusOr<bool> set = writes_.CompareAndSet(key, expected, value, now);
  if (!set.ok() || !*set) return set;
  absl::MutexLock lock(&mu_);
  auto tenant = tenants_.find(key.tenant);
  if (tenant != tenants_.end()) {
    ++tenant->second.counter_writes;
    auto counter = tenant->second.counters.find(SlotOf(key));
    if (counter != tenant->second.counters.end()) counter->second.value = value;
  }
  return set;
}

absl::StatusOr<std::string> NearBudgetCounters::BudgetsVersion(absl::string_view tenant) {
  absl::StatusOr<std::string> token = writes_.BudgetsVersion(tenant);
  if (!token.ok()) return token;
  absl::MutexLock lock(&mu_);
  auto it = tenants_.find(tenant);
  if (it != tenants_.end()) {
    ++it->second.version_writes;
    it->second.version_known = true;
    it->second.version = *token;
  }
  return token;
}

absl::Status NearBudgetCounters::BumpBudgetsVersion(absl::string_view tenant) {
  const absl::Status bumped = writes_.BumpBudgetsVersion(tenant);
  // Forgotten even when the bump failed: the next check reads the token.
  absl::MutexLock lock(&mu_);
  auto it = tenants_.find(tenant);
  if (it != tenants_.end()) {
    ++it->second.version_writes;
    it->second.version_known = false;
    it->second.version.reset();
  }
  return bumped;
}

absl::StatusOr<VersionedCounters> NearBudgetCounters::GetWithVersion(
    absl::string_view tenant, const std::vector<CounterKey>& keys) {
  const absl::Time now = clock_.Now();
  uint64_t version_writes = 0;
  uint64_t counter_writes = 0;
  {
    absl::MutexLock lock(&mu_);
    auto it = tenants_.find(tenant);
    if (it != tenants_.end()) {
      CachedTenant& cached = it->second;
      version_writes = cached.version_writes;
      counter_writes = cached.counter_writes;
      if (cached.version_known && now - cached.read_at < options_.max_age) {
        VersionedCounters out;
        out.version = cached.version;
        out.values.reserve(keys.size());
        for (const CounterKey& key : keys) {
          auto counter = cached.counters.find(SlotOf(key));
          if (counter == cached.counters.end()) break;
          counter->second.last_checked = now;
          out.values.push_back(counter->second.value);
        }
        if (out.values.size() == keys.size()) return out;
      }
    }
  }
  absl::StatusOr<VersionedCounters> read = reads_.GetWithVersion(tenant, keys);
  if (!read.ok()) return read.status();
  absl::MutexLock lock(&mu_);
  CachedTenant& cached = tenants_[std::string(tenant)];
  Store(cached, keys, *read, now, version_writes, counter_writes, /*create=*/true);
  // Answer with what is cached now: the read merged with this process's
  // writes made meanwhile.
  VersionedCounters out;
  out.version = cached.version_known ? cached.version : read->version;
  out.values.reserve(keys.size());
  for (const CounterKey& key : keys) out.values.push_back(cached.counters.at(SlotOf(key)).value);
  return out;
}

void NearBudgetCounters::Store(CachedTenant& cached, const std::vector<CounterKey>& keys,
                               const VersionedCounters& read, absl::Time read_at,
                               uint64_t version_writes_before, uint64_t counter_writes_before,
                               bool create) {
  if (cached.version_writes == version_writes_before) {
    cached.version_known = true;
    cached.version = read.version;
  }
  const bool overwrite = cached.counter_writes == counter_writes_before;
  for (size_t i = 0; i < keys.size() && i < read.values.size(); ++i) {
    auto counter = cached.counters.find(SlotOf(keys[i]));
    if (counter == cached.counters.end()) {
      if (!create) continue;  // dropped as idle meanwhile
      cached.counters.emplace(SlotOf(keys[i]), CachedCounter{keys[i], read.values[i], read_at});
      continue;
    }
    // A write of this process since the read started may be newer than
    // what the read saw: keep the larger (raises only grow a counter).
    counter->second.value =
        overwrite ? read.values[i] : MaxValue(counter->second.value, read.values[i]);
  }
  // Only a complete read of the tenant renews it (an inline read of a few
  // keys does not vouch for the others).
  bool complete = keys.size() == cached.counters.size();
  if (complete) cached.read_at = std::max(cached.read_at, read_at);
}

absl::Status NearBudgetCounters::RefreshOnce() {
  const absl::Time now = clock_.Now();
  std::vector<TenantCounterKeys> batch;
  std::vector<std::pair<uint64_t, uint64_t>> writes_before;
  {
    absl::MutexLock lock(&mu_);
    for (auto tenant = tenants_.begin(); tenant != tenants_.end();) {
      CachedTenant& cached = tenant->second;
      for (auto counter = cached.counters.begin(); counter != cached.counters.end();) {
        if (now - counter->second.last_checked >= options_.idle_expiry) {
          counter = cached.counters.erase(counter);
        } else {
          ++counter;
        }
      }
      if (cached.counters.empty()) {
        tenant = tenants_.erase(tenant);
        continue;
      }
      TenantCounterKeys& keys = batch.emplace_back();
      keys.tenant = tenant->first;
      keys.keys.reserve(cached.counters.size());
      for (const auto& [slot, counter] : cached.counters) keys.keys.push_back(counter.key);
      writes_before.emplace_back(cached.version_writes, cached.counter_writes);
      ++tenant;
    }
  }
  if (batch.empty()) return absl::OkStatus();
  absl::StatusOr<std::vector<VersionedCounters>> reads = reads_.GetManyWithVersion(batch);
  absl::MutexLock lock(&mu_);
  if (!reads.ok()) {
    // Redis is unreachable: serve nothing from memory, so that checks see
    // the outage and fall back as they would without this cache.
    tenants_.clear();
    return reads.status();
  }
  for (size_t i = 0; i < batch.size() && i < reads->size(); ++i) {
    auto tenant = tenants_.find(batch[i].tenant);
    if (tenant == tenants_.end()) continue;
    Store(tenant->second, batch[i].keys, (*reads)[i], now, writes_before[i].first,
          writes_before[i].second, /*create=*/false);
  }
  return absl::OkStatus();
}

void NearBudgetCounters::Start() {
  absl::MutexLock lock(&loop_mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void NearBudgetCounters::Stop() {
  {
    absl::MutexLock lock(&loop_mu_);
    stopping_ = true;
    wake_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

void NearBudgetCounters::Loop() {
  bool failing = false;
  absl::MutexLock lock(&loop_mu_);
  while (!stopping_) {
    wake_.WaitWithTimeout(&loop_mu_, options_.refresh);
    if (stopping_) break;
    loop_mu_.Unlock();
    const absl::Status refreshed = RefreshOnce();
    loop_mu_.Lock();
    if (!refreshed.ok() && !failing) {
      common::LogWarning("budget counter near cache: refresh failed; checks read Redis inline",
                         {{"error", refreshed.ToString()}});
    } else if (refreshed.ok() && failing) {
      common::LogInfo("budget counter near cache: refresh works again", {});
    }
    failing = !refreshed.ok();
  }
}

size_t NearBudgetCounters::CachedCounters() const {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [tenant, cached] : tenants_) n += cached.counters.size();
  return n;
}

}  // namespace agentwatch::cost
