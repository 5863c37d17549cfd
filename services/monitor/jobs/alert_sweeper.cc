#include "monitor/jobs/alert_sweeper.h"

#include "common/log.h"

namespace agentwatch::monitor {

AlertSweeper::AlertSweeper(MonitorStore& store, common::Clock& clock, MonitorMetrics& metrics,
                           std::function<void()> on_outbox, absl::Duration interval, int limit)
    : store_(store),
      clock_(clock),
      metrics_(metrics),
      on_outbox_(std::move(on_outbox)),
      interval_(interval),
      limit_(limit) {}

AlertSweeper::~AlertSweeper() { Stop(); }

void AlertSweeper::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void AlertSweeper::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<SweepResult> AlertSweeper::SweepOnce() {
  absl::StatusOr<SweepResult> result = store_.SweepAlerts(clock_.Now(), limit_);
  if (!result.ok()) return result;
  metrics_.AlertTransitions(result->alerts);
  if (result->outbox_enqueued > 0 && on_outbox_) on_outbox_();
  return result;
}

absl::Status AlertSweeper::RefreshGauges() {
  absl::StatusOr<StoreGauges> gauges = store_.ReadGauges();
  if (!gauges.ok()) return gauges.status();
  metrics_.SetStoreFigures(gauges->active_series, gauges->outbox_depth);
  return absl::OkStatus();
}

void AlertSweeper::Run() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait_for(lock, absl::ToChronoMilliseconds(interval_), [this] { return stopping_; });
      if (stopping_) return;
    }
    if (absl::StatusOr<SweepResult> result = SweepOnce(); !result.ok()) {
      common::LogWarning("alert sweep failed", {{"error", result.status().ToString()}});
    }
    if (absl::Status refreshed = RefreshGauges(); !refreshed.ok()) {
      common::LogWarning("reading the monitor's gauges failed", {{"error", refreshed.ToString()}});
    }
  }
}

}  // namespace agentwatch::monitor
