// NearBudgetCounters over in-memory counters (the "Redis"): checks served
// from memory after the first inline read, other replicas' writes seen after
// one refresh, this process's writes seen at once, idle counters dropped, a
// version bump forgetting the token, a refresh racing a raise, Redis down.
#include "cost/store/near_budget_counters.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "common/clock.h"
#include "common/testing/status_matchers.h"
#include "cost/store/budget_counters.h"

namespace agentwatch::cost {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Optional;

// Counts the reads that reach the "Redis"; `during_read` runs inside a
// refresh read, after the values were read and before they are returned.
class CountingCounters final : public BudgetCounters {
 public:
  explicit CountingCounters(MemoryBudgetCounters& inner) : inner_(inner) {}
  absl::StatusOr<std::vector<std::optional<int64_t>>> Get(
      const std::vector<CounterKey>& keys) override {
    return inner_.Get(keys);
  }
  absl::Status RaiseTo(const std::vector<BudgetIncrement>& increments, absl::Time now) override {
    return inner_.RaiseTo(increments, now);
  }
  absl::StatusOr<int64_t> SeedIfAbsent(const CounterKey& key, int64_t value,
                                       absl::Time now) override {
    return inner_.SeedIfAbsent(key, value, now);
  }
  absl::StatusOr<bool> CompareAndSet(const CounterKey& key, std::optional<int64_t> expected,
                                     int64_t value, absl::Time now) override {
    return inner_.CompareAndSet(key, expected, value, now);
  }
  absl::StatusOr<std::string> BudgetsVersion(absl::string_view tenant) override {
    return inner_.BudgetsVersion(tenant);
  }
  absl::Status BumpBudgetsVersion(absl::string_view tenant) override {
    return inner_.BumpBudgetsVersion(tenant);
  }
  absl::StatusOr<VersionedCounters> GetWithVersion(absl::string_view tenant,
                                                   const std::vector<CounterKey>& keys) override {
    ++inline_reads;
    return inner_.GetWithVersion(tenant, keys);
  }
  absl::StatusOr<std::vector<VersionedCounters>> GetManyWithVersion(
      const std::vector<TenantCounterKeys>& reads) override {
    ++refresh_reads;
    auto out = inner_.GetManyWithVersion(reads);
    if (during_read) during_read();
    return out;
  }

  int inline_reads = 0;
  int refresh_reads = 0;
  std::function<void()> during_read;

 private:
  MemoryBudgetCounters& inner_;
};

constexpr absl::Duration kRefresh = absl::Milliseconds(10);
constexpr absl::Duration kMaxAge = absl::Milliseconds(100);
constexpr absl::Duration kIdle = absl::Seconds(10);

class NearBudgetCountersTest : public ::testing::Test {
 protected:
  NearBudgetCountersTest()
      : counting_(redis_), near_(counting_, counting_, clock_, {kRefresh, kMaxAge, kIdle}) {}

  static CounterKey Key(const std::string& budget) {
    const absl::Time start = absl::FromCivil(absl::CivilDay(2026, 11, 26), absl::UTCTimeZone());
    return {"acme", budget, start, start + absl::Hours(24)};
  }
  static BudgetIncrement Raise(const std::string& budget, int64_t spent) {
    const CounterKey key = Key(budget);
    return {key.tenant, key.budget_id, key.period_start, 0, key.period_end, spent};
  }
  // What a check of budgets `a` (and `b`) reads.
  absl::StatusOr<VersionedCounters> Check() { return near_.GetWithVersion("acme", {Key("a")}); }
  // A write of another replica: straight to Redis.
  void OtherReplicaRaises(const std::string& budget, int64_t spent) {
    ASSERT_THAT(redis_.RaiseTo({Raise(budget, spent)}, clock_.Now()), IsOk());
  }

  common::FakeClock clock_;
  MemoryBudgetCounters redis_;
  CountingCounters counting_;
  NearBudgetCounters near_;
};

TEST_F(NearBudgetCountersTest, FirstCheckReadsRedisThenChecksAreServedFromMemory) {
  OtherReplicaRaises("a", 100);
  ASSERT_THAT(redis_.BudgetsVersion("acme"), IsOk());
  auto first = Check();
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(first->values, ElementsAre(Optional(100)));
  EXPECT_TRUE(first->version.has_value());
  EXPECT_EQ(counting_.inline_reads, 1);
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Milliseconds(1));
    auto again = Check();
    ASSERT_THAT(again, IsOk());
    EXPECT_THAT(again->values, ElementsAre(Optional(100)));
    EXPECT_EQ(again->version, first->version);
  }
  EXPECT_EQ(counting_.inline_reads, 1);
  EXPECT_EQ(near_.CachedCounters(), 1u);
}

TEST_F(NearBudgetCountersTest, AnotherReplicasRaiseIsSeenAfterOneRefresh) {
  OtherReplicaRaises("a", 100);
  ASSERT_THAT(Check(), IsOk());
  OtherReplicaRaises("a", 250);
  EXPECT_THAT(Check()->values, ElementsAre(Optional(100)));  // not yet: within one refresh
  clock_.Advance(kRefresh);
  ASSERT_THAT(near_.RefreshOnce(), IsOk());
  EXPECT_EQ(counting_.refresh_reads, 1);
  EXPECT_THAT(Check()->values, ElementsAre(Optional(250)));
  EXPECT_EQ(counting_.inline_reads, 1);
}

TEST_F(NearBudgetCountersTest, OwnRaisesAreSeenAtOnceAndNeverLowerACounter) {
  OtherReplicaRaises("a", 100);
  ASSERT_THAT(Check(), IsOk());
  ASSERT_THAT(near_.RaiseTo({Raise("a", 400)}, clock_.Now()), IsOk());
  EXPECT_THAT(Check()->values, ElementsAre(Optional(400)));
  ASSERT_THAT(near_.RaiseTo({Raise("a", 300)}, clock_.Now()), IsOk());  // an older raise
  EXPECT_THAT(Check()->values, ElementsAre(Optional(400)));
  EXPECT_THAT(redis_.Get({Key("a")}), IsOk());
  EXPECT_THAT(*redis_.Get({Key("a")}), ElementsAre(Optional(400)));
  EXPECT_EQ(counting_.inline_reads, 1);
}

TEST_F(NearBudgetCountersTest, SeedAndCompareAndSetUpdateTheCache) {
  ASSERT_THAT(Check(), IsOk());
  EXPECT_THAT(Check()->values, ElementsAre(std::nullopt));  // missing: the caller seeds it
  ASSERT_THAT(near_.SeedIfAbsent(Key("a"), 70, clock_.Now()), IsOk());
  EXPECT_THAT(Check()->values, ElementsAre(Optional(70)));
  // Reconcile rewrites a drifted counter downwards.
  ASSERT_THAT(near_.CompareAndSet(Key("a"), 70, 60, clock_.Now()), IsOkAndHolds(true));
  EXPECT_THAT(Check()->values, ElementsAre(Optional(60)));
  // A compare that fails changes nothing.
  ASSERT_THAT(near_.CompareAndSet(Key("a"), 999, 5, clock_.Now()), IsOk());
  EXPECT_THAT(Check()->values, ElementsAre(Optional(60)));
  EXPECT_EQ(counting_.inline_reads, 1);
}

TEST_F(NearBudgetCountersTest, AVersionBumpForgetsTheCachedToken) {
  ASSERT_THAT(near_.BudgetsVersion("acme"), IsOk());
  auto before = Check();
  ASSERT_THAT(before, IsOk());
  ASSERT_TRUE(before->version.has_value());
  ASSERT_THAT(near_.BumpBudgetsVersion("acme"), IsOk());
  auto after = Check();  // read inline: the cached budget list no longer matches
  ASSERT_THAT(after, IsOk());
  ASSERT_TRUE(after->version.has_value());
  EXPECT_NE(*after->version, *before->version);
  EXPECT_EQ(*after->version, *redis_.BudgetsVersion("acme"));
  EXPECT_EQ(counting_.inline_reads, 2);
  // Another replica's bump is seen after one refresh.
  ASSERT_THAT(redis_.BumpBudgetsVersion("acme"), IsOk());
  EXPECT_EQ(Check()->version, after->version);
  ASSERT_THAT(near_.RefreshOnce(), IsOk());
  EXPECT_EQ(*Check()->version, *redis_.BudgetsVersion("acme"));
  EXPECT_NE(*Check()->version, *after->version);
}

TEST_F(NearBudgetCountersTest, CountersNotCheckedForAWhileAreDropped) {
  OtherReplicaRaises("a", 1);
  OtherReplicaRaises("b", 2);
  ASSERT_THAT(near_.GetWithVersion("acme", {Key("a"), Key("b")}), IsOk());
  EXPECT_EQ(near_.CachedCounters(), 2u);
  // Only `a` keeps being checked.
  for (absl::Duration t = absl::ZeroDuration(); t < kIdle; t += kRefresh * 50) {
    clock_.Advance(kRefresh * 50);
    ASSERT_THAT(near_.RefreshOnce(), IsOk());
    ASSERT_THAT(Check(), IsOk());
  }
  ASSERT_THAT(near_.RefreshOnce(), IsOk());
  EXPECT_EQ(near_.CachedCounters(), 1u);
  clock_.Advance(kIdle);
  ASSERT_THAT(near_.RefreshOnce(), IsOk());
  EXPECT_EQ(near_.CachedCounters(), 0u);
  // Checked again: read inline once more.
  const int reads = counting_.inline_reads;
  EXPECT_THAT(near_.GetWithVersion("acme", {Key("b")})->values, ElementsAre(Optional(2)));
  EXPECT_EQ(counting_.inline_reads, reads + 1);
}

TEST_F(NearBudgetCountersTest, ARefreshThatStartedBeforeAnOwnRaiseDoesNotUndoIt) {
  OtherReplicaRaises("a", 100);
  ASSERT_THAT(Check(), IsOk());
  counting_.during_read = [this] {
    ASSERT_THAT(near_.RaiseTo({Raise("a", 500)}, clock_.Now()), IsOk());
  };
  ASSERT_THAT(near_.RefreshOnce(), IsOk());  // read 100, then the raise to 500 landed
  counting_.during_read = nullptr;
  EXPECT_THAT(Check()->values, ElementsAre(Optional(500)));
  ASSERT_THAT(near_.RefreshOnce(), IsOk());
  EXPECT_THAT(Check()->values, ElementsAre(Optional(500)));
}

TEST_F(NearBudgetCountersTest, EntriesOlderThanMaxAgeAreReadInline) {
  OtherReplicaRaises("a", 100);
  ASSERT_THAT(Check(), IsOk());
  OtherReplicaRaises("a", 200);
  clock_.Advance(kMaxAge);  // the refresher fell behind
  EXPECT_THAT(Check()->values, ElementsAre(Optional(200)));
  EXPECT_EQ(counting_.inline_reads, 2);
}

TEST_F(NearBudgetCountersTest, RedisDownFailsChecksAsWithoutTheCache) {
  OtherReplicaRaises("a", 100);
  ASSERT_THAT(Check(), IsOk());
  redis_.SetAvailable(false);
  EXPECT_THAT(near_.RefreshOnce(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(near_.CachedCounters(), 0u);
  EXPECT_THAT(Check(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(near_.RaiseTo({Raise("a", 300)}, clock_.Now()),
              StatusIs(absl::StatusCode::kUnavailable));
  redis_.SetAvailable(true);
  EXPECT_THAT(Check()->values, ElementsAre(Optional(100)));  // the raise never landed
}

TEST_F(NearBudgetCountersTest, GetIsNeverServedFromMemory) {
  OtherReplicaRaises("a", 100);
  ASSERT_THAT(Check(), IsOk());
  OtherReplicaRaises("a", 900);
  EXPECT_THAT(*near_.Get({Key("a")}), ElementsAre(Optional(900)));
}

TEST_F(NearBudgetCountersTest, TheRefresherThreadStartsAndStops) {
  near_.Start();
  near_.Start();  // idempotent
  near_.Stop();
  near_.Stop();
}

}  // namespace
}  // namespace agentwatch::cost
