#include "common/executor.h"

#include <gtest/gtest.h>

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>

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

TEST(BlockingExecutorTest, ThreadsCarryTheirNameAndTheAddedNice) {
  const int process_nice = getpriority(PRIO_PROCESS, 0);
  if (process_nice > 19 - 7) GTEST_SKIP() << "the test runs at nice " << process_nice;
  ExecutorOptions options;
  options.threads = 1;
  options.name = "test-exec-name";
  options.nice = 7;
  BlockingExecutor executor(options);
  std::promise<std::pair<std::string, int>> seen;
  ASSERT_TRUE(executor.Submit([&seen] {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof(name));
    seen.set_value({name, getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)))});
  }));
  const auto [name, nice] = seen.get_future().get();
  EXPECT_EQ(name, "test-exec-name");
  EXPECT_EQ(nice, process_nice + 7);
  // The caller's thread keeps its priority.
  EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))), process_nice);
}

}  // namespace
}  // namespace agentwatch::common
