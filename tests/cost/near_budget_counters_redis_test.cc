// NearBudgetCounters against the dev Redis (AGENTWATCH_TEST_REDIS): two
// instances over connections of their own are two replicas; replica B sees
// replica A's raise and budget change within one refresh, A at once. Also
// the one-round-trip read of several tenants (GetManyWithVersion).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/redis.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "cost/store/budget_counters.h"
#include "cost/store/near_budget_counters.h"

namespace agentwatch::cost {
namespace {

using ::agentwatch::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::Optional;

common::RedisOptions TestRedisOptions() {
  common::RedisOptions options;
  agentwatch::testing::TestRedis(&options.host, &options.port);
  return options;
}

// One replica: its own Redis connections and near cache.
struct Replica {
  explicit Replica(common::Clock& clock)
      : redis(TestRedisOptions()),
        check_redis(TestRedisOptions()),
        counters(redis),
        check_counters(check_redis),
        near(counters, check_counters, clock, NearBudgetCountersOptions{}) {}
  common::RedisClient redis;
  common::RedisClient check_redis;
  RedisBudgetCounters counters;
  RedisBudgetCounters check_counters;
  NearBudgetCounters near;
};

class NearBudgetCountersRedisTest : public ::testing::Test {
 protected:
  NearBudgetCountersRedisTest()
      : tenant_(absl::StrCat("near-", absl::Uniform<uint64_t>(absl::BitGen()))),
        a_(clock_),
        b_(clock_) {}

  CounterKey Key(const std::string& budget) const {
    const absl::Time start = absl::FromUnixSeconds(1'800'000'000);
    return {tenant_, budget, start, start + absl::Hours(24)};
  }
  BudgetIncrement Raise(const std::string& budget, int64_t spent) const {
    const CounterKey key = Key(budget);
    return {key.tenant, key.budget_id, key.period_start, 0, key.period_end, spent};
  }

  common::FakeClock clock_{absl::FromUnixSeconds(1'800'000'100)};
  std::string tenant_;
  Replica a_;
  Replica b_;
};

TEST_F(NearBudgetCountersRedisTest, BSeesARaiseWithinOneRefreshAndAAtOnce) {
  ASSERT_THAT(a_.near.RaiseTo({Raise("daily", 100)}, clock_.Now()), IsOk());
  ASSERT_THAT(a_.near.BudgetsVersion(tenant_), IsOk());
  auto a_first = a_.near.GetWithVersion(tenant_, {Key("daily")});
  auto b_first = b_.near.GetWithVersion(tenant_, {Key("daily")});
  ASSERT_THAT(a_first, IsOk());
  ASSERT_THAT(b_first, IsOk());
  EXPECT_THAT(a_first->values, ElementsAre(Optional(100)));
  EXPECT_THAT(b_first->values, ElementsAre(Optional(100)));
  EXPECT_EQ(a_first->version, b_first->version);

  ASSERT_THAT(a_.near.RaiseTo({Raise("daily", 700)}, clock_.Now()), IsOk());
  EXPECT_THAT(a_.near.GetWithVersion(tenant_, {Key("daily")})->values, ElementsAre(Optional(700)));
  EXPECT_THAT(b_.near.GetWithVersion(tenant_, {Key("daily")})->values,
              ElementsAre(Optional(100)));  // within one refresh of B
  clock_.Advance(absl::Milliseconds(10));
  ASSERT_THAT(b_.near.RefreshOnce(), IsOk());
  EXPECT_THAT(b_.near.GetWithVersion(tenant_, {Key("daily")})->values, ElementsAre(Optional(700)));

  // A budget change through A: A reads the new token at once, B after its
  // next refresh.
  ASSERT_THAT(a_.near.BumpBudgetsVersion(tenant_), IsOk());
  auto a_bumped = a_.near.GetWithVersion(tenant_, {Key("daily")});
  ASSERT_THAT(a_bumped, IsOk());
  EXPECT_NE(a_bumped->version, a_first->version);
  EXPECT_EQ(b_.near.GetWithVersion(tenant_, {Key("daily")})->version, b_first->version);
  ASSERT_THAT(b_.near.RefreshOnce(), IsOk());
  EXPECT_EQ(b_.near.GetWithVersion(tenant_, {Key("daily")})->version, a_bumped->version);
}

TEST_F(NearBudgetCountersRedisTest, GetManyWithVersionReadsSeveralTenantsInOrder) {
  const std::string other = tenant_ + "-other";
  ASSERT_THAT(a_.counters.RaiseTo({Raise("x", 5), Raise("y", 6)}, clock_.Now()), IsOk());
  auto reads = a_.counters.GetManyWithVersion(
      {{tenant_, {Key("x"), Key("y"), Key("missing")}},
       {other, {CounterKey{other, "x", Key("x").period_start, Key("x").period_end}}}});
  ASSERT_THAT(reads, IsOk());
  ASSERT_EQ(reads->size(), 2u);
  EXPECT_THAT((*reads)[0].values, ElementsAre(Optional(5), Optional(6), std::nullopt));
  EXPECT_THAT((*reads)[1].values, ElementsAre(std::nullopt));
  EXPECT_FALSE((*reads)[1].version.has_value());
  EXPECT_THAT(a_.counters.GetManyWithVersion({}), IsOk());
}

TEST_F(NearBudgetCountersRedisTest, TheRefresherThreadKeepsTheCacheCurrent) {
  // Real time here: the refresher wakes every 10 ms on its own.
  common::Clock& real = common::RealClock::Get();
  NearBudgetCounters b(b_.counters, b_.check_counters, real, NearBudgetCountersOptions{});
  ASSERT_THAT(a_.near.RaiseTo({Raise("live", 10)}, clock_.Now()), IsOk());
  ASSERT_THAT(b.GetWithVersion(tenant_, {Key("live")}), IsOk());
  b.Start();
  ASSERT_THAT(a_.near.RaiseTo({Raise("live", 20)}, clock_.Now()), IsOk());
  const absl::Time deadline = real.Now() + absl::Seconds(5);
  std::optional<int64_t> seen;
  while (real.Now() < deadline) {
    auto read = b.GetWithVersion(tenant_, {Key("live")});
    ASSERT_THAT(read, IsOk());
    seen = read->values[0];
    if (seen == 20) break;
    absl::SleepFor(absl::Milliseconds(1));
  }
  b.Stop();
  EXPECT_THAT(seen, Optional(20));
}

}  // namespace
}  // namespace agentwatch::cost
