#include "capacity/store/redis_forecast_cache.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

uint64_t Fnv1a64(absl::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace

std::string ForecastCacheRedisKey(const ForecastCacheKey& key) {
  return absl::StrFormat("{%s}:capacity:forecast:%016x", key.tenant, Fnv1a64(key.canonical));
}

absl::StatusOr<std::optional<std::string>> RedisForecastCache::Get(const ForecastCacheKey& key) {
  ASSIGN_OR_RETURN(const common::RedisReply reply,
                   redis_.Command({"GET", ForecastCacheRedisKey(key)}));
  if (reply.type != common::RedisReply::Type::kString) return std::nullopt;
  const absl::string_view stored = reply.str;
  const size_t colon = stored.find(':');
  size_t length = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(stored.substr(0, colon), &length) ||
      stored.size() - colon - 1 < length || stored.substr(colon + 1, length) != key.canonical) {
    return std::nullopt;
  }
  return std::string(stored.substr(colon + 1 + length));
}

absl::Status RedisForecastCache::Put(const ForecastCacheKey& key, const std::string& value,
                                     absl::Duration ttl) {
  const int64_t ttl_ms = absl::ToInt64Milliseconds(absl::Ceil(ttl, absl::Milliseconds(1)));
  if (ttl_ms <= 0) return common::InvalidField("ttl", "must be positive");
  const std::string stored = absl::StrCat(key.canonical.size(), ":", key.canonical, value);
  return redis_.Command({"SET", ForecastCacheRedisKey(key), stored, "PX", absl::StrCat(ttl_ms)})
      .status();
}

}  // namespace agentwatch::capacity
