// Runs the hot-counter reconciliation periodically, so drift between the
// Redis counters and the ledger (see store/budget_counters.h) lives at most
// one interval.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace agentwatch::cost {

class ReconcileLoop {
 public:
  // Calls `run` every `interval` (> 0) from Start until Stop; a failure is
  // logged and retried at the next tick.
  ReconcileLoop(std::function<absl::Status()> run, absl::Duration interval);
  ~ReconcileLoop();

  void Start();
  // Stops and joins; idempotent.
  void Stop();

 private:
  void Loop();

  std::function<absl::Status()> run_;
  absl::Duration interval_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace agentwatch::cost
