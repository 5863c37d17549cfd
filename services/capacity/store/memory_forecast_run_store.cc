#include "capacity/store/memory_forecast_run_store.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace agentwatch::capacity {

absl::StatusOr<std::string> MemoryForecastRunStore::SaveRun(const ForecastRun& run) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  ForecastRun stored = run;
  stored.id = absl::StrFormat("00000000-0000-4000-8000-%012d", next_id_++);
  const std::string id = stored.id;
  runs_[{stored.tenant, id}] = std::move(stored);
  return id;
}

absl::StatusOr<ForecastRun> MemoryForecastRunStore::GetRun(absl::string_view tenant,
                                                           absl::string_view id) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  const auto it = runs_.find({std::string(tenant), std::string(id)});
  if (it == runs_.end()) {
    return absl::NotFoundError(absl::StrFormat("forecast run %s not found", id));
  }
  return it->second;
}

absl::StatusOr<int64_t> MemoryForecastRunStore::DeleteRunsBefore(absl::Time cutoff, int64_t limit) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  std::vector<std::pair<absl::Time, std::pair<std::string, std::string>>> old;
  for (const auto& [key, run] : runs_) {
    if (run.created_at < cutoff) old.push_back({run.created_at, key});
  }
  std::sort(old.begin(), old.end());
  int64_t deleted = 0;
  for (const auto& [created_at, key] : old) {
    if (deleted >= limit) break;
    runs_.erase(key);
    ++deleted;
  }
  return deleted;
}

std::vector<ForecastRun> MemoryForecastRunStore::runs() const {
  absl::MutexLock lock(&mu_);
  std::vector<ForecastRun> out;
  for (const auto& [key, run] : runs_) out.push_back(run);
  return out;
}

void MemoryForecastRunStore::SetError(absl::Status error) {
  absl::MutexLock lock(&mu_);
  error_ = std::move(error);
}

}  // namespace agentwatch::capacity
