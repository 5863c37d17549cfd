// GroupingConfigStore in memory, for unit tests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "incident/store/grouping_config_store.h"

namespace agentwatch::incident {

// Thread-safe. Counts the reads, so tests can check caching.
class MemoryGroupingConfigStore final : public GroupingConfigStore {
 public:
  absl::StatusOr<std::vector<GroupingConfigRecord>> GetGroupingConfigs(
      const std::vector<std::string>& tenants) override;
  absl::StatusOr<GroupingConfigRecord> PutGroupingConfig(const GroupingConfigRecord& record,
                                                         GroupingConfigFields fields) override;

  // How many times GetGroupingConfigs ran.
  int reads() const;
  // Makes every later call fail with `status` (OK restores service).
  void SetFailure(absl::Status status);

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, GroupingConfigRecord> records_ ABSL_GUARDED_BY(mu_);
  int reads_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentwatch::incident
