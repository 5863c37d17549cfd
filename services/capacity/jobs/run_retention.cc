#include "capacity/jobs/run_retention.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {

RunRetention::RunRetention(ForecastRunStore& runs, const common::Clock& clock,
                           RunRetentionOptions options)
    : runs_(runs), clock_(clock), options_(options) {}

RunRetention::~RunRetention() { Stop(); }

absl::StatusOr<int64_t> RunRetention::RunOnce() {
  const absl::Time cutoff = clock_.Now() - options_.retention;
  int64_t total = 0;
  while (true) {
    ASSIGN_OR_RETURN(const int64_t deleted, runs_.DeleteRunsBefore(cutoff, options_.batch));
    total += deleted;
    if (deleted < options_.batch) break;
  }
  return total;
}

void RunRetention::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void RunRetention::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RunRetention::Loop() {
  while (true) {
    const absl::StatusOr<int64_t> deleted = RunOnce();
    if (!deleted.ok()) {
      common::LogWarning("forecast run retention pass failed; retrying at the next pass",
                         {{"error", deleted.status().ToString()}});
    } else if (*deleted > 0) {
      common::LogInfo("old forecast runs deleted", {{"count", absl::StrCat(*deleted)}});
    }
    std::unique_lock<std::mutex> lock(mu_);
    // The pause between passes is real time: it paces background work.
    if (wake_.wait_for(lock, absl::ToChronoMilliseconds(options_.interval),
                       [this] { return stopping_; })) {
      return;
    }
  }
}

}  // namespace agentwatch::capacity
