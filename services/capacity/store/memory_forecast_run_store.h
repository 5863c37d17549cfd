// An in-memory ForecastRunStore for unit tests: same contract as the
// Postgres one, plus inspection and failure injection.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "capacity/store/forecast_run_store.h"

namespace agentwatch::capacity {

// Thread-safe.
class MemoryForecastRunStore final : public ForecastRunStore {
 public:
  absl::StatusOr<std::string> SaveRun(const ForecastRun& run) override;
  absl::StatusOr<ForecastRun> GetRun(absl::string_view tenant, absl::string_view id) override;
  absl::StatusOr<int64_t> DeleteRunsBefore(absl::Time cutoff, int64_t limit) override;

  // Every stored run, by (tenant, id).
  std::vector<ForecastRun> runs() const;
  // A non-OK status makes every later call fail with it; OK clears it.
  void SetError(absl::Status error);

 private:
  mutable absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, ForecastRun> runs_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentwatch::capacity
