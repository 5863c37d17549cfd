#include "monitor/jobs/rollup_partition_worker.h"

#include <algorithm>

#include "common/log.h"

namespace agentwatch::monitor {

RollupPartitionWorker::RollupPartitionWorker(RollupPartitions& partitions, common::Clock& clock,
                                             absl::Duration retention, absl::Duration interval,
                                             int64_t days_ahead)
    : partitions_(partitions),
      clock_(clock),
      retention_(retention),
      interval_(interval),
      days_ahead_(days_ahead) {}

RollupPartitionWorker::~RollupPartitionWorker() { Stop(); }

void RollupPartitionWorker::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void RollupPartitionWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<PartitionMaintenance> RollupPartitionWorker::RunOnce() {
  return partitions_.Maintain(clock_.Now(), retention_, days_ahead_);
}

void RollupPartitionWorker::Run() {
  absl::Duration wait = absl::ZeroDuration();
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait_for(lock, absl::ToChronoMilliseconds(wait), [this] { return stopping_; });
      if (stopping_) return;
    }
    wait = interval_;
    if (absl::StatusOr<PartitionMaintenance> done = RunOnce(); !done.ok()) {
      common::LogWarning("rollup partition maintenance failed",
                         {{"error", done.status().ToString()}});
      wait = std::min(interval_, absl::Minutes(1));
    }
  }
}

}  // namespace agentwatch::monitor
