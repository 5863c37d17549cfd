#include "common/thread_priority.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include "common/testing/status_matchers.h"

namespace agentwatch::common {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;

int CurrentThreadNice() {
  return getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
}

TEST(ThreadPriorityTest, LowersOnlyTheCallingThread) {
  const int before = CurrentThreadNice();
  if (before > 19 - 4) GTEST_SKIP() << "the test runs at nice " << before;
  int inside = 0;
  std::thread worker([&] {
    ASSERT_THAT(LowerCurrentThreadPriority(4), IsOk());
    inside = CurrentThreadNice();
  });
  worker.join();
  EXPECT_EQ(inside, before + 4);
  EXPECT_EQ(CurrentThreadNice(), before);
}

TEST(ThreadPriorityTest, RefusesAnIncrementOutOfRange) {
  EXPECT_THAT(LowerCurrentThreadPriority(-1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("increment")));
  EXPECT_THAT(LowerCurrentThreadPriority(20),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("increment")));
  EXPECT_THAT(LowerCurrentThreadPriority(0), IsOk());
}

}  // namespace
}  // namespace agentwatch::common
