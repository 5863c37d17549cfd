#include "monitor/jobs/rollup_flush_worker.h"

#include <algorithm>
#include <chrono>

#include "common/log.h"

namespace agentwatch::monitor {

RollupFlushWorker::RollupFlushWorker(PgMonitorStore& store, common::Clock& clock,
                                     absl::Duration flush_interval, absl::Duration sweep_age,
                                     MonitorMetrics* metrics)
    : store_(store),
      clock_(clock),
      flush_interval_(flush_interval),
      sweep_age_(sweep_age),
      metrics_(metrics) {}

RollupFlushWorker::~RollupFlushWorker() { Stop(); }

void RollupFlushWorker::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void RollupFlushWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (!thread_.joinable()) return;
  thread_.join();
  Flush("final rollup flush failed; the journal rows stay for the sweepers");
}

void RollupFlushWorker::Flush(const char* failure_message) {
  const absl::StatusOr<int64_t> flushed = store_.FlushRollups(clock_.Now());
  if (metrics_ != nullptr) {
    metrics_->RollupFlushed(flushed.ok(), static_cast<int64_t>(store_.PendingJournalRows()));
  }
  if (!flushed.ok()) {
    common::LogWarning(failure_message, {{"error", flushed.status().ToString()}});
  }
}

absl::StatusOr<int64_t> RollupFlushWorker::SweepOnce(int64_t* quarantined) {
  int64_t total = 0;
  if (quarantined != nullptr) *quarantined = 0;
  while (true) {
    int64_t bad = 0;
    absl::StatusOr<int64_t> swept =
        store_.SweepJournal(clock_.Now(), sweep_age_, kSweepLimit, &bad);
    if (!swept.ok()) return swept.status();
    total += *swept;
    if (quarantined != nullptr) *quarantined += bad;
    if (*swept < kSweepLimit) return total;
  }
}

void RollupFlushWorker::Run() {
  const absl::Duration sweep_every = std::max(flush_interval_, sweep_age_ / 4);
  // The first sweep runs at once: rows a previous process of this replica
  // (or a dead one) left are applied as soon as they are old enough.
  auto next_sweep = std::chrono::steady_clock::now();
  while (true) {
    if (std::chrono::steady_clock::now() >= next_sweep) {
      next_sweep = std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(sweep_every);
      int64_t quarantined = 0;
      const absl::StatusOr<int64_t> swept = SweepOnce(&quarantined);
      if (metrics_ != nullptr) {
        metrics_->JournalSwept(swept.ok(), swept.ok() ? *swept : 0, quarantined);
      }
      if (quarantined > 0) {
        common::LogError(
            "ingest journal rows could not be decoded; moved to monitor.ingest_journal_quarantine",
            {{"rows", std::to_string(quarantined)}});
      }
      if (!swept.ok()) {
        common::LogWarning("ingest journal sweep failed", {{"error", swept.status().ToString()}});
      } else if (*swept > 0) {
        common::LogInfo("ingest journal rows of other writers applied",
                        {{"rows", std::to_string(*swept)}});
      }
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait_for(lock, absl::ToChronoMilliseconds(flush_interval_),
                     [this] { return stopping_; });
      if (stopping_) return;
    }
    Flush("rollup flush failed");
  }
}

}  // namespace agentwatch::monitor
