#include "common/thread_priority.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/testing/status_matchers.h"

namespace agentwatch::common {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;

int CurrentThreadNice() {
  return getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
}

// se.slice of the calling thread from /proc, in nanoseconds; -1 if absent.
int64_t CurrentThreadSliceNs() {
  std::ifstream in("/proc/thread-self/sched");
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "se.slice")) continue;
    const std::vector<absl::string_view> parts = absl::StrSplit(rest, ':');
    int64_t ns;
    if (parts.size() == 2 && absl::SimpleAtoi(absl::StripAsciiWhitespace(parts[1]), &ns)) return ns;
  }
  return -1;
}

// Linux 6.12 brought custom slices for fair-class threads.
bool KernelHasCustomSlices() {
  utsname name;
  if (uname(&name) != 0) return false;
  int major = 0, minor = 0;
  if (std::sscanf(name.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 6 || (major == 6 && minor >= 12);
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

TEST(ThreadPriorityTest, SetsTheSliceOfTheCallingThreadWhereTheKernelCan) {
  absl::Status status;
  int64_t slice_ns = -1;
  std::thread worker([&] {
    status = RequestCurrentThreadSlice(absl::Microseconds(250));
    slice_ns = CurrentThreadSliceNs();
  });
  worker.join();
  if (KernelHasCustomSlices()) {
    ASSERT_THAT(status, IsOk());
    EXPECT_EQ(slice_ns, 250000);
    EXPECT_NE(CurrentThreadSliceNs(), 250000);  // the test's own thread is untouched
  } else {
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnimplemented));
  }
}

TEST(ThreadPriorityTest, RefusesASliceOutOfTheKernelsRange) {
  EXPECT_THAT(RequestCurrentThreadSlice(absl::Microseconds(99)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("slice")));
  EXPECT_THAT(RequestCurrentThreadSlice(absl::Milliseconds(101)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("slice")));
}

}  // namespace
}  // namespace agentwatch::common
