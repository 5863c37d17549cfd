#include "cost/jobs/reconcile_loop.h"

#include <utility>

#include "common/log.h"

namespace agentwatch::cost {

ReconcileLoop::ReconcileLoop(std::function<absl::Status()> run, absl::Duration interval)
    : run_(std::move(run)), interval_(interval) {}

ReconcileLoop::~ReconcileLoop() { Stop(); }

void ReconcileLoop::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void ReconcileLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReconcileLoop::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (wake_.wait_for(lock, absl::ToChronoMilliseconds(interval_), [this] { return stopping_; })) {
      break;
    }
    lock.unlock();
    if (absl::Status s = run_(); !s.ok() && !absl::IsFailedPrecondition(s)) {
      common::LogWarning("budget counter reconciliation failed", {{"error", s.ToString()}});
    }
    lock.lock();
  }
}

}  // namespace agentwatch::cost
