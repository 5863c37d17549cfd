#include "monitor/store/health_cache.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace agentwatch::monitor {

std::optional<std::string> RedisHealthCache::Get(const std::string& key) {
  absl::StatusOr<common::RedisReply> reply = redis_.Command({"GET", key});
  if (!reply.ok()) {
    common::LogDebug("health cache read failed", {{"error", reply.status().ToString()}});
    return std::nullopt;
  }
  if (reply->type != common::RedisReply::Type::kString) return std::nullopt;
  return std::move(reply->str);
}

void RedisHealthCache::Put(const std::string& key, const std::string& value, absl::Duration ttl) {
  absl::StatusOr<common::RedisReply> reply =
      redis_.Command({"SET", key, value, "PX", absl::StrCat(absl::ToInt64Milliseconds(ttl))});
  if (!reply.ok()) {
    common::LogDebug("health cache write failed", {{"error", reply.status().ToString()}});
  }
}

std::optional<std::string> InMemoryHealthCache::Get(const std::string& key) {
  absl::MutexLock lock(&mu_);
  const auto it = entries_.find(key);
  if (it == entries_.end() || it->second.second <= clock_.Now()) return std::nullopt;
  ++hits_;
  return it->second.first;
}

void InMemoryHealthCache::Put(const std::string& key, const std::string& value,
                              absl::Duration ttl) {
  absl::MutexLock lock(&mu_);
  entries_[key] = {value, clock_.Now() + ttl};
}

int64_t InMemoryHealthCache::hits() const {
  absl::MutexLock lock(&mu_);
  return hits_;
}

}  // namespace agentwatch::monitor
