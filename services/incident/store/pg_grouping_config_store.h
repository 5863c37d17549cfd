// GroupingConfigStore over Postgres (table incident.grouping_configs,
// migration 012).
#pragma once

#include <string>
#include <vector>

#include "common/pg.h"
#include "incident/store/grouping_config_store.h"

namespace agentwatch::incident {

// Thread-safe; `pool` must outlive it.
class PgGroupingConfigStore final : public GroupingConfigStore {
 public:
  explicit PgGroupingConfigStore(common::PgPool& pool) : pool_(pool) {}

  absl::StatusOr<std::vector<GroupingConfigRecord>> GetGroupingConfigs(
      const std::vector<std::string>& tenants) override;
  absl::StatusOr<GroupingConfigRecord> PutGroupingConfig(const GroupingConfigRecord& record,
                                                         GroupingConfigFields fields) override;

 private:
  common::PgPool& pool_;
};

}  // namespace agentwatch::incident
