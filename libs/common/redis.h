// A Redis client over hiredis with reconnect and pipelining. Redis is a cache
// and a coordinator in agentwatch, never the only copy of anything, so callers
// treat UNAVAILABLE from here as "fall back to Postgres".
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct redisContext;

namespace agentwatch::common {

// A decoded Redis reply.
struct RedisReply {
  enum class Type { kNil, kString, kInteger, kArray, kStatus };
  Type type = Type::kNil;
  std::string str;  // kString and kStatus
  int64_t integer = 0;
  std::vector<RedisReply> elements;  // kArray
};

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  absl::Duration connect_timeout = absl::Milliseconds(500);
  absl::Duration command_timeout = absl::Milliseconds(500);
  // After a failure, no reconnect is tried for this long (calls fail fast),
  // doubled after each further failure in a row up to max_reconnect_backoff.
  // A Redis that accepts connections but answers nothing (paused, stuck)
  // costs each attempt a command_timeout under the client's mutex, so every
  // caller waits behind it: retrying it every 200 ms stalled callers most of
  // the time, at most once per max_reconnect_backoff it stalls them little.
  absl::Duration reconnect_backoff = absl::Milliseconds(200);
  absl::Duration max_reconnect_backoff = absl::Seconds(5);
};

// The wait before the next connection attempt after `failures` failures in a
// row (>= 1): base, 2 x base, 4 x base, ... capped at `max`.
absl::Duration RedisReconnectBackoff(absl::Duration base, absl::Duration max, int failures);

// One connection, serialized by a mutex; reconnects on the next call after an
// I/O error. Error replies from the server are INTERNAL (a bug in the
// command), I/O errors are UNAVAILABLE. A failed call is never retried here,
// so non-idempotent commands (INCRBY) are never applied twice.
class RedisClient {
 public:
  explicit RedisClient(RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  absl::StatusOr<RedisReply> Command(const std::vector<std::string>& args);

  // Sends all commands in one round trip; the replies are in order. Fails as
  // a whole on an I/O error; a per-command error reply is INTERNAL.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);

  // PING.
  absl::Status Ping();

 private:
  absl::Status EnsureConnectedLocked();
  void DropLocked();
  // Records a failure in a row: no attempt before the backoff has passed.
  void BackOffLocked(absl::Time now);

  RedisOptions options_;
  std::mutex mu_;
  redisContext* ctx_ = nullptr;
  absl::Time retry_after_ = absl::InfinitePast();
  int failures_in_a_row_ = 0;
};

}  // namespace agentwatch::common
