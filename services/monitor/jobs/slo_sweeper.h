// Periodic re-evaluation of SLOs with firing burn-rate alerts. SLOs are
// evaluated as data arrives; this resolves the alerts whose burn stopped
// while no new data of the SLO arrives (their short window empties). Safe on
// N replicas: evaluations of one SLO are serialized by the store's lock.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "monitor/api/monitor_metrics.h"
#include "monitor/store/slo_engine.h"

namespace agentwatch::monitor {

class SloSweeper {
 public:
  // Every reference must outlive the sweeper. `on_outbox` (may be empty) is
  // called after a sweep that enqueued notices.
  SloSweeper(SloEngine& engine, common::Clock& clock, MonitorMetrics& metrics,
             std::function<void()> on_outbox, absl::Duration interval, int limit = 500);
  ~SloSweeper();
  SloSweeper(const SloSweeper&) = delete;
  SloSweeper& operator=(const SloSweeper&) = delete;

  // Starts / stops the background loop (one sweep every `interval`).
  void Start();
  void Stop();

  // One sweep at clock.Now(); for the loop and for tests.
  absl::StatusOr<SweepResult> SweepOnce();

 private:
  void Run();

  SloEngine& engine_;
  common::Clock& clock_;
  MonitorMetrics& metrics_;
  std::function<void()> on_outbox_;
  absl::Duration interval_;
  int limit_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace agentwatch::monitor
