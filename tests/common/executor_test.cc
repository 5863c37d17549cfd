#include "common/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace agentwatch::common {
namespace {

TEST(BlockingExecutorTest, RunsEverythingQueuedBeforeDestruction) {
  std::atomic<int> ran{0};
  {
    BlockingExecutor executor(2, 100);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(executor.Submit([&ran] { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 50);
}

TEST(BlockingExecutorTest, RefusesWhenTheQueueIsFull) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  bool started = false;
  BlockingExecutor executor(1, 1);
  ASSERT_TRUE(executor.Submit([&] {
    std::unique_lock<std::mutex> lock(mu);
    started = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  }));
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return started; });
  }
  EXPECT_TRUE(executor.Submit([] {}));   // fills the queue of one
  EXPECT_FALSE(executor.Submit([] {}));  // refused
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
}

}  // namespace
}  // namespace agentwatch::common
