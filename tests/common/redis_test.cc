// The Redis client against real servers: the shared test server, and a
// private one this test stops and restarts.
#include "common/redis.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"

namespace agentwatch::common {
namespace {

using ::agentwatch::testing::FreePort;
using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;

std::string UniqueKey() {
  absl::BitGen gen;
  return absl::StrCat("{redis_test}:", absl::Uniform<uint64_t>(gen));
}

TEST(RedisClientTest, CommandsAndPipelines) {
  RedisOptions options;
  ::agentwatch::testing::TestRedis(&options.host, &options.port);
  RedisClient redis(options);
  ASSERT_THAT(redis.Ping(), IsOk());
  const std::string key = UniqueKey();
  auto set = redis.Command({"SET", key, "value with spaces\r\n and binary \x01"});
  ASSERT_THAT(set, IsOk());
  EXPECT_EQ(set->type, RedisReply::Type::kStatus);
  auto replies = redis.Pipeline({{"GET", key},
                                 {"INCRBY", key + "n", "5"},
                                 {"INCRBY", key + "n", "-2"},
                                 {"HSET", key + "h", "a", "1", "b", "2"},
                                 {"HGETALL", key + "h"},
                                 {"GET", key + "missing"},
                                 {"DEL", key, key + "n", key + "h"}});
  ASSERT_THAT(replies, IsOk());
  ASSERT_EQ(replies->size(), 7u);
  EXPECT_EQ((*replies)[0].str, "value with spaces\r\n and binary \x01");
  EXPECT_EQ((*replies)[1].integer, 5);
  EXPECT_EQ((*replies)[2].integer, 3);
  EXPECT_EQ((*replies)[4].type, RedisReply::Type::kArray);
  EXPECT_EQ((*replies)[4].elements.size(), 4u);
  EXPECT_EQ((*replies)[5].type, RedisReply::Type::kNil);
  EXPECT_EQ((*replies)[6].integer, 3);
}

TEST(RedisClientTest, ErrorReplyIsInternalAndTheConnectionStaysUsable) {
  RedisOptions options;
  ::agentwatch::testing::TestRedis(&options.host, &options.port);
  RedisClient redis(options);
  EXPECT_THAT(redis.Command({"NOSUCHCOMMAND"}), StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(redis.Ping(), IsOk());
}

TEST(RedisClientTest, DownServerIsUnavailableAndReconnects) {
  const int port = FreePort();
  char dir_pattern[] = "/tmp/aw_redis_XXXXXX";
  const std::string dir = mkdtemp(dir_pattern);
  const std::string start = absl::StrCat(
      "redis-server --bind 127.0.0.1 --port ", port, " --save '' --appendonly no --dir ", dir,
      " --daemonize yes --pidfile ", dir, "/redis.pid >/dev/null");
  const std::string stop = absl::StrCat("redis-cli -p ", port, " shutdown nosave >/dev/null 2>&1");
  RedisOptions options;
  options.host = "127.0.0.1";
  options.port = port;
  options.reconnect_backoff = absl::ZeroDuration();
  RedisClient redis(options);
  EXPECT_THAT(redis.Ping(), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_EQ(std::system(start.c_str()), 0);
  absl::Status status;
  for (int i = 0; i < 100; ++i) {  // wait until the daemon accepts connections
    status = redis.Ping();
    if (status.ok()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_THAT(status, IsOk());
  ASSERT_EQ(std::system(stop.c_str()), 0);
  EXPECT_THAT(redis.Command({"GET", "k"}), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_EQ(std::system(start.c_str()), 0);
  for (int i = 0; i < 100; ++i) {
    status = redis.Ping();
    if (status.ok()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_THAT(status, IsOk());
  std::system(stop.c_str());
  std::system(absl::StrCat("rm -rf ", dir).c_str());
}

TEST(RedisReconnectBackoffTest, DoublesFromTheBaseUpToTheCap) {
  const absl::Duration base = absl::Milliseconds(200);
  const absl::Duration max = absl::Seconds(5);
  EXPECT_EQ(RedisReconnectBackoff(base, max, 1), absl::Milliseconds(200));
  EXPECT_EQ(RedisReconnectBackoff(base, max, 2), absl::Milliseconds(400));
  EXPECT_EQ(RedisReconnectBackoff(base, max, 5), absl::Milliseconds(3200));
  EXPECT_EQ(RedisReconnectBackoff(base, max, 6), max);
  EXPECT_EQ(RedisReconnectBackoff(base, max, 1000), max);
  EXPECT_EQ(RedisReconnectBackoff(absl::ZeroDuration(), max, 7), absl::ZeroDuration());
}

// A server that accepts connections and never answers (paused, stuck): each
// attempt costs a command timeout, so after one the client stands aside, and
// longer after each further failure, failing calls at once meanwhile.
TEST(RedisClientTest, ASilentServerIsTriedLessAndLessOften) {
  ::agentwatch::testing::SilentListener silent;
  RedisOptions options;
  options.host = "127.0.0.1";
  options.port = silent.port();
  options.command_timeout = absl::Milliseconds(50);
  options.reconnect_backoff = absl::Milliseconds(100);
  options.max_reconnect_backoff = absl::Milliseconds(400);
  RedisClient redis(options);
  EXPECT_THAT(redis.Ping(),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::HasSubstr("read failed")));
  EXPECT_THAT(redis.Ping(),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::HasSubstr("backing off")));
  // Count the attempts that reach the server (each a read that times out)
  // over 1.5 s: with a fixed 100 ms backoff about 10, doubling to 400 ms 4-5.
  int attempts = 0;
  const absl::Time end = absl::Now() + absl::Milliseconds(1500);
  while (absl::Now() < end) {
    const absl::Status status = redis.Ping();
    if (absl::StrContains(status.message(), "read failed")) ++attempts;
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_GE(attempts, 1);
  EXPECT_LE(attempts, 6);
}

}  // namespace
}  // namespace agentwatch::common
