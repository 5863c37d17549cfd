// A short-lived cache of computed health reports. Redis in production; the
// cache is an optimization only: a miss or an unreachable Redis means the
// report is computed from Postgres.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/redis.h"

namespace agentwatch::monitor {

// Thread-safe.
class HealthCache {
 public:
  virtual ~HealthCache() = default;
  // The cached value of `key`; empty on a miss or when the cache is
  // unreachable.
  virtual std::optional<std::string> Get(const std::string& key) = 0;
  // Stores `value` under `key` for `ttl`; failures are ignored (logged).
  virtual void Put(const std::string& key, const std::string& value, absl::Duration ttl) = 0;
};

// HealthCache over Redis (GET, SET PX).
class RedisHealthCache final : public HealthCache {
 public:
  explicit RedisHealthCache(common::RedisClient& redis) : redis_(redis) {}
  std::optional<std::string> Get(const std::string& key) override;
  void Put(const std::string& key, const std::string& value, absl::Duration ttl) override;

 private:
  common::RedisClient& redis_;
};

// HealthCache in memory, expiring by an injected clock; for tests.
class InMemoryHealthCache final : public HealthCache {
 public:
  explicit InMemoryHealthCache(common::Clock& clock) : clock_(clock) {}
  std::optional<std::string> Get(const std::string& key) override;
  void Put(const std::string& key, const std::string& value, absl::Duration ttl) override;
  // Number of Get calls that hit.
  int64_t hits() const;

 private:
  common::Clock& clock_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::pair<std::string, absl::Time>> entries_ ABSL_GUARDED_BY(mu_);
  int64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace agentwatch::monitor
