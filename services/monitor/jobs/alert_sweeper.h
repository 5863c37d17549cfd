// Periodic re-evaluation of firing alerts. Alerts are evaluated as data
// arrives; this catches the ones no new data reaches (traffic stopped), so
// that they resolve once their window no longer holds enough runs, and feeds
// anomaly rules the minutes their series stayed silent (a stop in traffic is
// scored like any other minute); and evaluates the rules of batches whose
// evaluation after their commit failed or never ran (the store's owed
// evaluations). Safe on N replicas: the store skips alerts another replica
// is evaluating.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "monitor/api/monitor_metrics.h"
#include "monitor/store/monitor_store.h"

namespace agentwatch::monitor {

class AlertSweeper {
 public:
  // Every reference must outlive the sweeper. `on_outbox` (may be empty) is
  // called after a sweep that enqueued notices.
  AlertSweeper(MonitorStore& store, common::Clock& clock, MonitorMetrics& metrics,
               std::function<void()> on_outbox, absl::Duration interval, int limit = 500);
  ~AlertSweeper();
  AlertSweeper(const AlertSweeper&) = delete;
  AlertSweeper& operator=(const AlertSweeper&) = delete;

  // Starts / stops the background loop (one sweep every `interval`).
  void Start();
  void Stop();

  // One sweep at clock.Now(); for the loop and for tests.
  absl::StatusOr<SweepResult> SweepOnce();

  // Reads the store's gauges (active series, outbox depth) into the
  // metrics; the loop does it after every sweep.
  absl::Status RefreshGauges();

 private:
  void Run();

  MonitorStore& store_;
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
