#include "incident/api/auto_resolver.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"

namespace agentwatch::incident {
namespace {

constexpr int kBatch = 100;

}  // namespace

AutoResolver::AutoResolver(IncidentStore& store, const common::Clock& clock,
                           IncidentMetrics& metrics, absl::Duration quiet, absl::Duration interval)
    : store_(store), clock_(clock), metrics_(metrics), quiet_(quiet), interval_(interval) {}

AutoResolver::~AutoResolver() { Stop(); }

void AutoResolver::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void AutoResolver::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<int> AutoResolver::RunOnce() {
  int total = 0;
  while (true) {
    absl::StatusOr<std::vector<std::string>> resolved =
        store_.AutoResolveDue(clock_.Now(), quiet_, kBatch);
    if (!resolved.ok()) return resolved.status();
    if (!resolved->empty()) {
      common::LogInfo(
          "incidents resolved automatically",
          {{"count", absl::StrCat(resolved->size())}, {"ids", absl::StrJoin(*resolved, ",")}});
    }
    metrics_.RecordAutoResolved(static_cast<int64_t>(resolved->size()));
    total += static_cast<int>(resolved->size());
    if (static_cast<int>(resolved->size()) < kBatch) return total;
  }
}

void AutoResolver::Loop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    mu_.Unlock();
    const absl::StatusOr<int> result = RunOnce();
    if (!result.ok()) {
      common::LogWarning("auto-resolve scan failed", {{"error", result.status().ToString()}});
    }
    mu_.Lock();
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_);
  }
}

}  // namespace agentwatch::incident
