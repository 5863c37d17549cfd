// ForecastCache on Redis: one string key per request with a TTL.
#pragma once

#include "capacity/store/forecast_cache.h"
#include "common/redis.h"

namespace agentwatch::capacity {

// The Redis key of `key`: "{<tenant>}:capacity:forecast:<hash>", <hash> being
// the 16 hex digits of the 64-bit FNV-1a hash of the canonical encoding. The
// tenant hash tag keeps a tenant's keys in one Redis Cluster slot.
std::string ForecastCacheRedisKey(const ForecastCacheKey& key);

// Stores "<length of canonical>:<canonical><value>" so that a hash collision
// reads as a miss, never as another request's response. Thread-safe (the
// client is).
class RedisForecastCache final : public ForecastCache {
 public:
  explicit RedisForecastCache(common::RedisClient& redis) : redis_(redis) {}

  absl::StatusOr<std::optional<std::string>> Get(const ForecastCacheKey& key) override;
  absl::Status Put(const ForecastCacheKey& key, const std::string& value,
                   absl::Duration ttl) override;

 private:
  common::RedisClient& redis_;
};

}  // namespace agentwatch::capacity
