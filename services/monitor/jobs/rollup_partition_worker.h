// Maintenance of the rollups' daily partitions: creates the coming days
// ahead and drops the days past the retention, at start and then every
// `interval`. Safe on N replicas (RollupPartitions serializes its DDL under
// an advisory lock; a second replica finds the work done).
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "monitor/store/rollup_partitions.h"

namespace agentwatch::monitor {

class RollupPartitionWorker {
 public:
  // Every reference must outlive the worker. `retention` must be at least
  // RollupPartitions::kMinRetention (passes fail with INVALID_ARGUMENT
  // otherwise).
  RollupPartitionWorker(RollupPartitions& partitions, common::Clock& clock,
                        absl::Duration retention, absl::Duration interval = absl::Hours(1),
                        int64_t days_ahead = 2);
  ~RollupPartitionWorker();
  RollupPartitionWorker(const RollupPartitionWorker&) = delete;
  RollupPartitionWorker& operator=(const RollupPartitionWorker&) = delete;

  // Starts / stops the background loop (a pass at start, then one every
  // `interval`; a failed pass is logged and retried a minute later).
  void Start();
  void Stop();

  // One pass at clock.Now(); for the loop and for tests.
  absl::StatusOr<PartitionMaintenance> RunOnce();

 private:
  void Run();

  RollupPartitions& partitions_;
  common::Clock& clock_;
  absl::Duration retention_;
  absl::Duration interval_;
  int64_t days_ahead_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace agentwatch::monitor
