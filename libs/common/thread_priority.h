// CPU scheduling of the calling thread (Linux): bulk work (queued RPC work,
// batch writes) can step back, so that threads answering latency-critical
// calls inline run first while the CPU is saturated by the bulk work.
#pragma once

#include "absl/status/status.h"

namespace agentwatch::common {

// Adds `increment` (0..19) to the calling thread's nice value; only this
// thread changes. INVALID_ARGUMENT out of range; INTERNAL when the kernel
// refuses.
absl::Status LowerCurrentThreadPriority(int increment);

}  // namespace agentwatch::common
