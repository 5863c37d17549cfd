// Retention of forecast runs: every forecast computed is recorded, so old
// runs are deleted periodically to bound the table.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "capacity/store/forecast_run_store.h"
#include "common/clock.h"

namespace agentwatch::capacity {

struct RunRetentionOptions {
  // Runs older than this are deleted; must be positive.
  absl::Duration retention = absl::Hours(24 * 7);
  // Time between two passes.
  absl::Duration interval = absl::Hours(1);
  // Runs deleted per transaction.
  int64_t batch = 5'000;
};

// Deletes old forecast runs. Every replica may run it: a delete is idempotent
// and concurrent passes only find less to do. Start/Stop are not thread-safe
// with each other; RunOnce is thread-safe.
class RunRetention {
 public:
  RunRetention(ForecastRunStore& runs, const common::Clock& clock, RunRetentionOptions options);
  ~RunRetention();
  RunRetention(const RunRetention&) = delete;
  RunRetention& operator=(const RunRetention&) = delete;

  // Deletes every run created before now - retention, batch by batch, and
  // returns how many. The store's error (UNAVAILABLE) stops the pass.
  absl::StatusOr<int64_t> RunOnce();

  // Starts a thread that runs a pass now and then every interval (errors are
  // logged and retried at the next pass).
  void Start();
  // Stops and joins the thread. Idempotent.
  void Stop();

 private:
  void Loop();

  ForecastRunStore& runs_;
  const common::Clock& clock_;
  RunRetentionOptions options_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace agentwatch::capacity
