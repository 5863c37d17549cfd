// Applies the ingest journal (PgMonitorStore in journal mode): this
// replica's journaled rollup cells every `flush_interval`
// (PgMonitorStore::FlushRollups), and the journal rows of any replica older
// than `sweep_age` (PgMonitorStore::SweepJournal: a replica that died or
// stalled), at start and then every `sweep_age` / 4. Stop flushes once more,
// so a graceful shutdown leaves nothing for the sweepers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "monitor/api/monitor_metrics.h"
#include "monitor/store/pg_monitor_store.h"

namespace agentwatch::monitor {

class RollupFlushWorker {
 public:
  // Journal rows one sweep applies at most (it loops while sweeps are full).
  static constexpr int kSweepLimit = 64;

  // Every reference must outlive the worker; both durations positive.
  // `metrics` (may be null) counts the loop's flushes and sweeps.
  RollupFlushWorker(PgMonitorStore& store, common::Clock& clock, absl::Duration flush_interval,
                    absl::Duration sweep_age, MonitorMetrics* metrics = nullptr);
  ~RollupFlushWorker();
  RollupFlushWorker(const RollupFlushWorker&) = delete;
  RollupFlushWorker& operator=(const RollupFlushWorker&) = delete;

  // Starts / stops the background loop (Stop flushes a last time; failures
  // are logged and retried at the next tick).
  void Start();
  void Stop();

  // One sweep pass (until a sweep takes fewer than kSweepLimit rows) at
  // clock.Now(); returns the journal rows taken (applied or quarantined),
  // the quarantined ones also in `*quarantined` when given. For the loop and
  // tests.
  absl::StatusOr<int64_t> SweepOnce(int64_t* quarantined = nullptr);

 private:
  void Run();
  // FlushRollups now, counted; a failure logged with `failure_message`.
  void Flush(const char* failure_message);

  PgMonitorStore& store_;
  common::Clock& clock_;
  absl::Duration flush_interval_;
  absl::Duration sweep_age_;
  MonitorMetrics* metrics_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace agentwatch::monitor
