#include "monitor/core/types.h"

namespace agentwatch::monitor {

const char* RunStatusLabel(RunStatus status) {
  switch (status) {
    case RunStatus::kSucceeded:
      return "succeeded";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kCancelled:
      return "cancelled";
    case RunStatus::kTimedOut:
      return "timed_out";
    case RunStatus::kUnspecified:
      break;
  }
  return "unspecified";
}

bool IsErrorStatus(RunStatus status) {
  return status == RunStatus::kFailed || status == RunStatus::kTimedOut;
}

}  // namespace agentwatch::monitor
