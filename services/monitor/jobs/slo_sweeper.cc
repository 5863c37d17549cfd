#include "monitor/jobs/slo_sweeper.h"

#include "common/log.h"

namespace agentwatch::monitor {

SloSweeper::SloSweeper(SloEngine& engine, common::Clock& clock, MonitorMetrics& metrics,
                       std::function<void()> on_outbox, absl::Duration interval, int limit)
    : engine_(engine),
      clock_(clock),
      metrics_(metrics),
      on_outbox_(std::move(on_outbox)),
      interval_(interval),
      limit_(limit) {}

SloSweeper::~SloSweeper() { Stop(); }

void SloSweeper::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void SloSweeper::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<SweepResult> SloSweeper::SweepOnce() {
  absl::StatusOr<SweepResult> result = engine_.Sweep(clock_.Now(), limit_);
  if (!result.ok()) return result;
  metrics_.AlertTransitions(result->alerts);
  if (result->outbox_enqueued > 0 && on_outbox_) on_outbox_();
  return result;
}

void SloSweeper::Run() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait_for(lock, absl::ToChronoMilliseconds(interval_), [this] { return stopping_; });
      if (stopping_) return;
    }
    if (absl::StatusOr<SweepResult> result = SweepOnce(); !result.ok()) {
      common::LogWarning("SLO sweep failed", {{"error", result.status().ToString()}});
    }
  }
}

}  // namespace agentwatch::monitor
