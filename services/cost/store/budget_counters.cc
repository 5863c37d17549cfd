#include "cost/store/budget_counters.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace agentwatch::cost {
namespace {

// For each KEYS[i]: SET to ARGV[2i-1] (expiring in ARGV[2i] seconds) when the
// counter is missing or lower (decimal strings of non-negative integers
// compared exactly: by length, then bytewise; Lua numbers are doubles and
// would round above 2^53). Returns how many were set. The keys of one call
// share a tenant (one hash tag, one cluster slot).
constexpr char kRaiseTo[] =
    "local n = 0 "
    "for i, key in ipairs(KEYS) do "
    "local want = ARGV[2 * i - 1] "
    "local v = redis.call('GET', key) "
    "if (not v) or #v < #want or (#v == #want and v < want) then "
    "redis.call('SET', key, want, 'EX', ARGV[2 * i]) n = n + 1 end end "
    "return n";

// SET when the value is still ARGV[1] ("" = still missing).
constexpr char kCompareAndSet[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if (ARGV[1] == '' and not v) or v == ARGV[1] then "
    "redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end return 0";

std::string ExpirySeconds(absl::Time period_end, absl::Time now) {
  return absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(period_end + kCounterGrace - now)));
}

absl::StatusOr<int64_t> ParseCounter(const common::RedisReply& reply) {
  int64_t value = 0;
  if (reply.type == common::RedisReply::Type::kInteger) return reply.integer;
  if (reply.type == common::RedisReply::Type::kString && absl::SimpleAtoi(reply.str, &value)) {
    return value;
  }
  return absl::InternalError("a budget counter in Redis is not an integer");
}

// A new random budgets version token.
std::string NewVersionToken() {
  absl::BitGen gen;
  return absl::StrCat(absl::Uniform<uint64_t>(gen), "-", absl::Uniform<uint64_t>(gen));
}

absl::StatusOr<std::optional<int64_t>> CounterValue(const common::RedisReply& reply) {
  if (reply.type == common::RedisReply::Type::kNil) return std::nullopt;
  auto value = ParseCounter(reply);
  if (!value.ok()) return value.status();
  return std::optional<int64_t>(*value);
}

// One MGET (one command for Redis to run, all keys in the tenant's slot) of
// `tenant`'s budgets version token and `keys`.
std::vector<std::string> VersionedMget(absl::string_view tenant,
                                       const std::vector<CounterKey>& keys) {
  std::vector<std::string> command;
  command.reserve(keys.size() + 2);
  command.push_back("MGET");
  command.push_back(BudgetsVersionRedisKey(tenant));
  for (const CounterKey& k : keys) {
    command.push_back(CounterRedisKey(k.tenant, k.budget_id, k.period_start));
  }
  return command;
}

absl::StatusOr<VersionedCounters> ParseVersionedMget(const common::RedisReply& reply, size_t keys) {
  if (reply.type != common::RedisReply::Type::kArray || reply.elements.size() != keys + 1) {
    return absl::InternalError("MGET of the budget counters answered no list of values");
  }
  VersionedCounters out;
  const common::RedisReply& version = reply.elements[0];
  if (version.type == common::RedisReply::Type::kString) out.version = version.str;
  out.values.reserve(keys);
  for (size_t i = 1; i < reply.elements.size(); ++i) {
    auto value = CounterValue(reply.elements[i]);
    if (!value.ok()) return value.status();
    out.values.push_back(*value);
  }
  return out;
}

}  // namespace

std::string BudgetsVersionRedisKey(absl::string_view tenant) {
  return absl::StrCat("{", tenant, "}:cost:budgets:version");
}

std::string CounterRedisKey(absl::string_view tenant, absl::string_view budget_id,
                            absl::Time period_start) {
  return absl::StrCat("{", tenant, "}:cost:budget:", budget_id, ":",
                      absl::ToUnixMicros(period_start));
}

absl::StatusOr<std::vector<std::optional<int64_t>>> RedisBudgetCounters::Get(
    const std::vector<CounterKey>& keys) {
  std::vector<std::optional<int64_t>> out;
  if (keys.empty()) return out;
  std::vector<std::vector<std::string>> commands;
  commands.reserve(keys.size());
  for (const CounterKey& k : keys) {
    commands.push_back({"GET", CounterRedisKey(k.tenant, k.budget_id, k.period_start)});
  }
  auto replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  for (const common::RedisReply& reply : *replies) {
    if (reply.type == common::RedisReply::Type::kNil) {
      out.push_back(std::nullopt);
      continue;
    }
    auto value = ParseCounter(reply);
    if (!value.ok()) return value.status();
    out.push_back(*value);
  }
  return out;
}

absl::Status RedisBudgetCounters::RaiseTo(const std::vector<BudgetIncrement>& increments,
                                          absl::Time now) {
  // One script call per tenant (a batch touches a few tenants and many
  // budgets of each), all in one pipeline.
  std::vector<std::vector<std::string>> commands;
  std::map<absl::string_view, size_t> command_of_tenant;  // index into commands
  for (const BudgetIncrement& inc : increments) {
    if (inc.spent_nano_usd < 0) continue;
    auto [it, inserted] = command_of_tenant.try_emplace(inc.tenant, commands.size());
    if (inserted) commands.push_back({"EVAL", kRaiseTo, ""});
    commands[it->second].push_back(CounterRedisKey(inc.tenant, inc.budget_id, inc.period_start));
  }
  if (commands.empty()) return absl::OkStatus();
  for (std::vector<std::string>& command : commands) {
    command[2] = absl::StrCat(command.size() - 3);  // the number of keys
  }
  for (const BudgetIncrement& inc : increments) {
    if (inc.spent_nano_usd < 0) continue;
    std::vector<std::string>& command = commands[command_of_tenant.at(inc.tenant)];
    command.push_back(absl::StrCat(inc.spent_nano_usd));
    command.push_back(ExpirySeconds(inc.period_end, now));
  }
  return redis_.Pipeline(commands).status();
}

absl::StatusOr<int64_t> RedisBudgetCounters::SeedIfAbsent(const CounterKey& key, int64_t value,
                                                          absl::Time now) {
  const std::string redis_key = CounterRedisKey(key.tenant, key.budget_id, key.period_start);
  auto replies = redis_.Pipeline(
      {{"SET", redis_key, absl::StrCat(value), "NX", "EX", ExpirySeconds(key.period_end, now)},
       {"GET", redis_key}});
  if (!replies.ok()) return replies.status();
  if ((*replies)[1].type == common::RedisReply::Type::kNil) return value;
  return ParseCounter((*replies)[1]);
}

absl::StatusOr<bool> RedisBudgetCounters::CompareAndSet(const CounterKey& key,
                                                        std::optional<int64_t> expected,
                                                        int64_t value, absl::Time now) {
  auto reply = redis_.Command({"EVAL", kCompareAndSet, "1",
                               CounterRedisKey(key.tenant, key.budget_id, key.period_start),
                               expected.has_value() ? absl::StrCat(*expected) : "",
                               absl::StrCat(value), ExpirySeconds(key.period_end, now)});
  if (!reply.ok()) return reply.status();
  return reply->type == common::RedisReply::Type::kInteger && reply->integer == 1;
}

absl::StatusOr<std::string> RedisBudgetCounters::BudgetsVersion(absl::string_view tenant) {
  const std::string key = BudgetsVersionRedisKey(tenant);
  auto replies = redis_.Pipeline({{"SET", key, NewVersionToken(), "NX"}, {"GET", key}});
  if (!replies.ok()) return replies.status();
  if ((*replies)[1].type != common::RedisReply::Type::kString) {
    return absl::InternalError("the budgets version token in Redis is not a string");
  }
  return (*replies)[1].str;
}

absl::Status RedisBudgetCounters::BumpBudgetsVersion(absl::string_view tenant) {
  return redis_.Command({"SET", BudgetsVersionRedisKey(tenant), NewVersionToken()}).status();
}

absl::StatusOr<std::vector<VersionedCounters>> BudgetCounters::GetManyWithVersion(
    const std::vector<TenantCounterKeys>& reads) {
  std::vector<VersionedCounters> out;
  out.reserve(reads.size());
  for (const TenantCounterKeys& read : reads) {
    absl::StatusOr<VersionedCounters> one = GetWithVersion(read.tenant, read.keys);
    if (!one.ok()) return one.status();
    out.push_back(*std::move(one));
  }
  return out;
}

absl::StatusOr<VersionedCounters> RedisBudgetCounters::GetWithVersion(
    absl::string_view tenant, const std::vector<CounterKey>& keys) {
  auto reply = redis_.Command(VersionedMget(tenant, keys));
  if (!reply.ok()) return reply.status();
  return ParseVersionedMget(*reply, keys.size());
}

absl::StatusOr<std::vector<VersionedCounters>> RedisBudgetCounters::GetManyWithVersion(
    const std::vector<TenantCounterKeys>& reads) {
  std::vector<VersionedCounters> out;
  if (reads.empty()) return out;
  std::vector<std::vector<std::string>> commands;
  commands.reserve(reads.size());
  for (const TenantCounterKeys& read : reads) {
    commands.push_back(VersionedMget(read.tenant, read.keys));
  }
  auto replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  if (replies->size() != reads.size()) {
    return absl::InternalError("the pipeline of budget counter reads answered too few replies");
  }
  out.reserve(reads.size());
  for (size_t i = 0; i < reads.size(); ++i) {
    auto one = ParseVersionedMget((*replies)[i], reads[i].keys.size());
    if (!one.ok()) return one.status();
    out.push_back(*std::move(one));
  }
  return out;
}

absl::Status MemoryBudgetCounters::CheckAvailable() const {
  if (!available_) return absl::UnavailableError("counters are down");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::optional<int64_t>>> MemoryBudgetCounters::Get(
    const std::vector<CounterKey>& keys) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckAvailable(); !s.ok()) return s;
  std::vector<std::optional<int64_t>> out;
  for (const CounterKey& k : keys) {
    auto it = values_.find(CounterRedisKey(k.tenant, k.budget_id, k.period_start));
    out.push_back(it == values_.end() ? std::nullopt : std::optional<int64_t>(it->second));
  }
  return out;
}

absl::Status MemoryBudgetCounters::RaiseTo(const std::vector<BudgetIncrement>& increments,
                                           absl::Time) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckAvailable(); !s.ok()) return s;
  for (const BudgetIncrement& inc : increments) {
    if (inc.spent_nano_usd < 0) continue;
    int64_t& value =
        values_.emplace(CounterRedisKey(inc.tenant, inc.budget_id, inc.period_start), 0)
            .first->second;
    value = std::max(value, inc.spent_nano_usd);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> MemoryBudgetCounters::SeedIfAbsent(const CounterKey& key, int64_t value,
                                                           absl::Time) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckAvailable(); !s.ok()) return s;
  return values_.emplace(CounterRedisKey(key.tenant, key.budget_id, key.period_start), value)
      .first->second;
}

absl::StatusOr<bool> MemoryBudgetCounters::CompareAndSet(const CounterKey& key,
                                                         std::optional<int64_t> expected,
                                                         int64_t value, absl::Time) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckAvailable(); !s.ok()) return s;
  const std::string k = CounterRedisKey(key.tenant, key.budget_id, key.period_start);
  auto it = values_.find(k);
  const std::optional<int64_t> current =
      it == values_.end() ? std::nullopt : std::optional<int64_t>(it->second);
  if (current != expected) return false;
  values_[k] = value;
  return true;
}

absl::StatusOr<std::string> MemoryBudgetCounters::BudgetsVersion(absl::string_view tenant) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckAvailable(); !s.ok()) return s;
  return versions_.emplace(std::string(tenant), NewVersionToken()).first->second;
}

absl::Status MemoryBudgetCounters::BumpBudgetsVersion(absl::string_view tenant) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckAvailable(); !s.ok()) return s;
  versions_[std::string(tenant)] = NewVersionToken();
  return absl::OkStatus();
}

absl::StatusOr<VersionedCounters> MemoryBudgetCounters::GetWithVersion(
    absl::string_view tenant, const std::vector<CounterKey>& keys) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckAvailable(); !s.ok()) return s;
  VersionedCounters out;
  auto version = versions_.find(std::string(tenant));
  if (version != versions_.end()) out.version = version->second;
  for (const CounterKey& k : keys) {
    auto it = values_.find(CounterRedisKey(k.tenant, k.budget_id, k.period_start));
    out.values.push_back(it == values_.end() ? std::nullopt : std::optional<int64_t>(it->second));
  }
  return out;
}

void MemoryBudgetCounters::SetAvailable(bool available) {
  absl::MutexLock lock(&mu_);
  available_ = available;
}

void MemoryBudgetCounters::Put(const std::string& redis_key, int64_t value) {
  absl::MutexLock lock(&mu_);
  values_[redis_key] = value;
}

void MemoryBudgetCounters::Clear() {
  absl::MutexLock lock(&mu_);
  values_.clear();
  versions_.clear();
}

std::map<std::string, int64_t> MemoryBudgetCounters::Values() const {
  absl::MutexLock lock(&mu_);
  return values_;
}

}  // namespace agentwatch::cost
