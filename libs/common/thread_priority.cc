#include "common/thread_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agentwatch::common {
namespace {

// The kernel's struct sched_attr (include/uapi/linux/sched/types.h), declared
// here because glibc's <sched.h> and the kernel header clash.
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

id_t CurrentThreadId() { return static_cast<id_t>(syscall(SYS_gettid)); }

}  // namespace

absl::Status LowerCurrentThreadPriority(int increment) {
  if (increment < 0 || increment > 19) return InvalidField("increment", "must be in [0, 19]");
  if (increment == 0) return absl::OkStatus();
  const id_t tid = CurrentThreadId();
  errno = 0;
  const int nice = getpriority(PRIO_PROCESS, tid);
  if (nice == -1 && errno != 0) {
    return absl::InternalError(absl::StrCat("getpriority: ", std::strerror(errno)));
  }
  if (setpriority(PRIO_PROCESS, tid, nice + increment) != 0) {
    return absl::InternalError(absl::StrCat("setpriority: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status RequestCurrentThreadSlice(absl::Duration slice) {
  if (slice < absl::Microseconds(100) || slice > absl::Milliseconds(100)) {
    return InvalidField("slice", "must be in [0.1 ms, 100 ms]");
  }
  const id_t tid = CurrentThreadId();
  SchedAttr attr{};
  if (syscall(SYS_sched_getattr, tid, &attr, sizeof(attr), 0) != 0) {
    return absl::InternalError(absl::StrCat("sched_getattr: ", std::strerror(errno)));
  }
  attr.size = sizeof(attr);
  attr.sched_flags = 0;
  attr.sched_runtime = static_cast<uint64_t>(absl::ToInt64Nanoseconds(slice));
  if (syscall(SYS_sched_setattr, tid, &attr, 0) != 0) {
    return absl::InternalError(absl::StrCat("sched_setattr: ", std::strerror(errno)));
  }
  // Kernels without custom slices accept the call and ignore the runtime of a
  // fair-class thread: read it back.
  SchedAttr check{};
  if (syscall(SYS_sched_getattr, tid, &check, sizeof(check), 0) != 0 ||
      check.sched_runtime != attr.sched_runtime) {
    return absl::UnimplementedError("the kernel does not support custom time slices");
  }
  return absl::OkStatus();
}

}  // namespace agentwatch::common
