#include "capacity/store/memory_forecast_cache.h"

#include "common/status_macros.h"

namespace agentwatch::capacity {

absl::StatusOr<std::optional<std::string>> MemoryForecastCache::Get(const ForecastCacheKey& key) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  const auto it = entries_.find({key.tenant, key.canonical});
  if (it == entries_.end() || it->second.expires <= clock_.Now()) return std::nullopt;
  return it->second.value;
}

absl::Status MemoryForecastCache::Put(const ForecastCacheKey& key, const std::string& value,
                                      absl::Duration ttl) {
  if (ttl <= absl::ZeroDuration()) return common::InvalidField("ttl", "must be positive");
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  entries_[{key.tenant, key.canonical}] = Entry{value, clock_.Now() + ttl};
  last_ttl_ = ttl;
  return absl::OkStatus();
}

void MemoryForecastCache::SetError(absl::Status error) {
  absl::MutexLock lock(&mu_);
  error_ = std::move(error);
}

absl::Duration MemoryForecastCache::last_ttl() const {
  absl::MutexLock lock(&mu_);
  return last_ttl_;
}

}  // namespace agentwatch::capacity
