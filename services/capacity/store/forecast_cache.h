// A short-lived cache of forecast responses, so that repeated dashboard calls
// do not refit. A cache only: callers compute when it is down.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace agentwatch::capacity {

// What a cached response is keyed by.
struct ForecastCacheKey {
  // Tenant of the request (the Redis hash tag); may be empty.
  std::string tenant;
  // A canonical encoding of everything the response depends on; two requests
  // share an entry exactly when their canonical encodings are equal.
  std::string canonical;
};

// Forecast response cache. Implementations are thread-safe.
class ForecastCache {
 public:
  virtual ~ForecastCache() = default;

  // The value cached under `key`, or nullopt on a miss. UNAVAILABLE when the
  // cache cannot be reached.
  virtual absl::StatusOr<std::optional<std::string>> Get(const ForecastCacheKey& key) = 0;

  // Caches `value` under `key` for `ttl` (> 0, rounded up to a millisecond).
  // UNAVAILABLE when the cache cannot be reached.
  virtual absl::Status Put(const ForecastCacheKey& key, const std::string& value,
                           absl::Duration ttl) = 0;
};

}  // namespace agentwatch::capacity
