// An in-memory HistorySource for tests: answers from the series it is given,
// or with the error it is told to return. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "capacity/history/history_source.h"

namespace agentwatch::capacity {

class FakeHistorySource final : public HistorySource {
 public:
  // The series every later Fetch answers from.
  void SetSeries(std::vector<HistorySeries> series);
  // A non-OK status makes every later Fetch fail with it; OK clears it.
  void SetError(absl::Status error);

  // The stored series, each restricted to the points in [query.start,
  // query.end); series left without points are still returned, as monitor
  // returns a matching series with no points in range. Records the query.
  absl::StatusOr<std::vector<HistorySeries>> Fetch(const HistoryQuery& query) override;

  // Number of Fetch calls so far.
  int64_t calls() const;
  // The last query, if any.
  std::optional<HistoryQuery> last_query() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<HistorySeries> series_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  int64_t calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<HistoryQuery> last_query_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentwatch::capacity
