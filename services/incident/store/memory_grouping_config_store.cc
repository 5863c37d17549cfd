#include "incident/store/memory_grouping_config_store.h"

namespace agentwatch::incident {

absl::StatusOr<std::vector<GroupingConfigRecord>> MemoryGroupingConfigStore::GetGroupingConfigs(
    const std::vector<std::string>& tenants) {
  absl::MutexLock lock(&mu_);
  ++reads_;
  if (!failure_.ok()) return failure_;
  std::vector<GroupingConfigRecord> out;
  for (const std::string& tenant : tenants) {
    auto it = records_.find(tenant);
    if (it != records_.end()) out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<GroupingConfigRecord> MemoryGroupingConfigStore::PutGroupingConfig(
    const GroupingConfigRecord& record, GroupingConfigFields fields) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  GroupingConfigRecord& stored = records_[record.tenant];
  stored.tenant = record.tenant;
  if (fields.group_by) stored.group_by = record.group_by;
  if (fields.group_wait) {
    stored.group_wait = record.group_wait;
    if (stored.group_wait.has_value()) {
      stored.group_wait = absl::Microseconds(absl::ToInt64Microseconds(*stored.group_wait));
    }
  }
  stored.update_time = absl::FromUnixMicros(absl::ToUnixMicros(record.update_time));
  return stored;
}

int MemoryGroupingConfigStore::reads() const {
  absl::MutexLock lock(&mu_);
  return reads_;
}

void MemoryGroupingConfigStore::SetFailure(absl::Status status) {
  absl::MutexLock lock(&mu_);
  failure_ = std::move(status);
}

}  // namespace agentwatch::incident
