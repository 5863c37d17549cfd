#include "common/thread_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agentwatch::common {
namespace {

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

}  // namespace agentwatch::common
