// ForecastRunStore on Postgres: table capacity.forecast_runs.
#pragma once

#include "capacity/store/forecast_run_store.h"
#include "common/pg.h"

namespace agentwatch::capacity {

// Thread-safe (the pool is). Prepares its statements on the pool's
// connections.
class PgForecastRunStore final : public ForecastRunStore {
 public:
  explicit PgForecastRunStore(common::PgPool& pool);

  absl::StatusOr<std::string> SaveRun(const ForecastRun& run) override;
  absl::StatusOr<ForecastRun> GetRun(absl::string_view tenant, absl::string_view id) override;
  absl::StatusOr<int64_t> DeleteRunsBefore(absl::Time cutoff, int64_t limit) override;

 private:
  common::PgPool& pool_;
};

// True for the canonical textual form of a UUID (8-4-4-4-12 hex digits).
bool IsUuid(absl::string_view text);

}  // namespace agentwatch::capacity
