// WatchSource over Postgres: the timeline tail by entry_id (BRIN index of
// migration 011) and the incidents it touches; the snapshot through the
// incident store's ListIncidents.
#pragma once

#include <cstdint>
#include <vector>

#include "common/pg.h"
#include "incident/store/incident_store.h"
#include "incident/store/watch_source.h"

namespace agentwatch::incident {

// Thread-safe; `pool` and `store` must outlive it.
class PgWatchSource final : public WatchSource {
 public:
  PgWatchSource(common::PgPool& pool, IncidentStore& store) : pool_(pool), store_(store) {}

  absl::StatusOr<int64_t> LastEntryId() override;
  absl::StatusOr<std::vector<WatchEntry>> EntriesAfter(int64_t after, int64_t upto,
                                                       int limit) override;
  absl::StatusOr<std::vector<WatchEntry>> EntriesIn(
      const std::vector<EntryIdRange>& ranges) override;
  absl::StatusOr<std::vector<Incident>> Incidents(const std::vector<IncidentKey>& keys) override;
  absl::StatusOr<IncidentPage> ListIncidents(const IncidentQuery& query) override;

 private:
  common::PgPool& pool_;
  IncidentStore& store_;
};

}  // namespace agentwatch::incident
