// CPU scheduling hints for the calling thread (Linux). Bulk work (queued RPC
// work, batch writes) can step back, and threads that answer latency-critical
// calls inline can ask to be run soon after they wake, so that those calls keep
// their latency while the CPU is saturated by the bulk work.
#pragma once

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace agentwatch::common {

// Adds `increment` (0..19) to the calling thread's nice value; only this
// thread changes. INVALID_ARGUMENT out of range; INTERNAL when the kernel
// refuses.
absl::Status LowerCurrentThreadPriority(int increment);

// Asks for a time slice of `slice` (kernel range 0.1 ms .. 100 ms) for the
// calling thread under the EEVDF scheduler (Linux 6.6+; custom slices from
// 6.12): a thread with a shorter slice gets an earlier deadline, so when it
// wakes it preempts a thread running a longer slice instead of waiting for
// it. The thread's policy and nice value are kept. UNIMPLEMENTED when the
// kernel has no custom slices; INVALID_ARGUMENT out of range.
absl::Status RequestCurrentThreadSlice(absl::Duration slice);

}  // namespace agentwatch::common
