// An in-memory ForecastCache for unit tests, with TTLs on an injected clock
// and failure injection.
#pragma once

#include <map>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "capacity/store/forecast_cache.h"
#include "common/clock.h"

namespace agentwatch::capacity {

// Thread-safe.
class MemoryForecastCache final : public ForecastCache {
 public:
  explicit MemoryForecastCache(const common::Clock& clock) : clock_(clock) {}

  absl::StatusOr<std::optional<std::string>> Get(const ForecastCacheKey& key) override;
  absl::Status Put(const ForecastCacheKey& key, const std::string& value,
                   absl::Duration ttl) override;

  // A non-OK status makes every later call fail with it; OK clears it.
  void SetError(absl::Status error);
  // The TTL of the last Put.
  absl::Duration last_ttl() const;

 private:
  struct Entry {
    std::string value;
    absl::Time expires;
  };
  const common::Clock& clock_;
  mutable absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, Entry> entries_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  absl::Duration last_ttl_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentwatch::capacity
