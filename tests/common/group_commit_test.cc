#include "common/group_commit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace agentwatch::common {
namespace {

using ::testing::ElementsAre;

struct TestBatch {
  std::string key;
  int64_t size = 1;
  int group = -1;  // set by run: the index of the group that held it
};

// Waits (bounded) until `committer` has `n` batches queued.
void WaitQueued(GroupCommitter<TestBatch>& committer, size_t n) {
  for (int i = 0; i < 5000 && committer.Queued() != n; ++i) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(committer.Queued(), n);
}

// A first batch holds the only slot until released; the batches queued
// meanwhile form the next groups.
class GroupCommitterTest : public ::testing::Test {
 protected:
  GroupCommitter<TestBatch> committer_{{1, 5},
                                       [](const TestBatch& b) { return b.size; },
                                       [this](const std::vector<TestBatch*>& group) {
                                         const int index = groups_++;
                                         std::vector<std::string> keys;
                                         for (TestBatch* b : group) {
                                           b->group = index;
                                           keys.push_back(b->key);
                                         }
                                         seen_.push_back(keys);
                                         if (index == 0) release_.WaitForNotification();
                                       },
                                       [](const TestBatch& b) { return b.key; }};
  std::atomic<int> groups_{0};
  std::vector<std::vector<std::string>> seen_;  // written by one leader at a time
  absl::Notification release_;
};

TEST_F(GroupCommitterTest, QueuedBatchesShareGroupsUpToTheCapAndKeysWait) {
  TestBatch first{"first"};
  std::thread leader([&] { committer_.Commit(&first); });
  while (groups_.load() == 0) absl::SleepFor(absl::Milliseconds(1));

  // Queued while the slot is busy, in this order: a (2), b (2), a again (1),
  // c (2), big (9, alone).
  std::vector<TestBatch> batches = {{"a", 2}, {"b", 2}, {"a", 1}, {"c", 2}, {"big", 9}};
  std::vector<std::thread> callers;
  for (size_t i = 0; i < batches.size(); ++i) {
    callers.emplace_back([&, i] { committer_.Commit(&batches[i]); });
    WaitQueued(committer_, i + 1);
  }
  release_.Notify();
  leader.join();
  for (std::thread& t : callers) t.join();

  // Group 1: a + b (4 units; the second "a" waits, c would pass the cap of 5).
  // Group 2: the second "a" + c (3); group 3: big alone.
  EXPECT_THAT(seen_, ElementsAre(ElementsAre("first"), ElementsAre("a", "b"), ElementsAre("a", "c"),
                                 ElementsAre("big")));
  EXPECT_EQ(batches[0].group, 1);
  EXPECT_EQ(batches[2].group, 2);
  EXPECT_EQ(batches[4].group, 3);
  EXPECT_EQ(committer_.Queued(), 0u);
}

TEST(GroupCommitterConcurrencyTest, AtMostMaxConcurrentGroupsRun) {
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  GroupCommitter<TestBatch> committer(
      {2, 1}, [](const TestBatch& b) { return b.size; },
      [&](const std::vector<TestBatch*>& group) {
        const int now = ++running;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        absl::SleepFor(absl::Milliseconds(2));
        for (TestBatch* b : group) b->group = 0;
        --running;
      });
  std::vector<TestBatch> batches(40);
  std::vector<std::thread> callers;
  for (TestBatch& b : batches) callers.emplace_back([&committer, &b] { committer.Commit(&b); });
  for (std::thread& t : callers) t.join();
  for (const TestBatch& b : batches) EXPECT_EQ(b.group, 0);
  EXPECT_LE(most.load(), 2);
  EXPECT_GE(most.load(), 1);
}

// With min_size_to_overlap 3: a batch arriving while a group runs waits
// until 3 units wait, then they start a second group at once, while the
// first still runs (with nothing running, a single unit starts at once).
TEST(GroupCommitterOverlapTest, ASecondGroupStartsOnlyOnceEnoughUnitsWait) {
  absl::Notification release_first, second_ran;
  std::vector<std::vector<std::string>> seen;
  absl::Mutex seen_mu;
  std::atomic<int> groups{0};
  GroupCommitter<TestBatch> committer(
      {2, 10, 3}, [](const TestBatch& b) { return b.size; },
      [&](const std::vector<TestBatch*>& group) {
        const int index = groups++;
        {
          absl::MutexLock lock(&seen_mu);
          seen.emplace_back();
          for (TestBatch* b : group) {
            b->group = index;
            seen.back().push_back(b->key);
          }
        }
        if (index == 0) {
          release_first.WaitForNotification();
        } else {
          second_ran.Notify();
        }
      });
  TestBatch first{"first", 1};
  std::thread leader([&] { committer.Commit(&first); });
  while (groups.load() == 0) absl::SleepFor(absl::Milliseconds(1));

  TestBatch a{"a", 1};
  std::thread caller_a([&] { committer.Commit(&a); });
  WaitQueued(committer, 1);  // 1 unit of 3: it waits although a slot is free
  TestBatch b{"b", 2};
  std::thread caller_b([&] { committer.Commit(&b); });
  // 3 units wait: a second group runs while the first is still held.
  EXPECT_TRUE(second_ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_FALSE(release_first.HasBeenNotified());
  release_first.Notify();
  leader.join();
  caller_a.join();
  caller_b.join();
  EXPECT_THAT(seen, ElementsAre(ElementsAre("first"), ElementsAre("a", "b")));
  EXPECT_EQ(committer.Queued(), 0u);
}

}  // namespace
}  // namespace agentwatch::common
