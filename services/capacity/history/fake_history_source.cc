#include "capacity/history/fake_history_source.h"

#include <utility>

namespace agentwatch::capacity {

void FakeHistorySource::SetSeries(std::vector<HistorySeries> series) {
  absl::MutexLock lock(&mu_);
  series_ = std::move(series);
}

void FakeHistorySource::SetError(absl::Status error) {
  absl::MutexLock lock(&mu_);
  error_ = std::move(error);
}

absl::StatusOr<std::vector<HistorySeries>> FakeHistorySource::Fetch(const HistoryQuery& query) {
  absl::MutexLock lock(&mu_);
  ++calls_;
  last_query_ = query;
  if (!error_.ok()) return error_;
  std::vector<HistorySeries> out;
  for (const HistorySeries& series : series_) {
    HistorySeries in_range{series.labels, {}};
    for (const TimedValue& point : series.points) {
      if (point.time >= query.start && point.time < query.end) in_range.points.push_back(point);
    }
    out.push_back(std::move(in_range));
  }
  return out;
}

int64_t FakeHistorySource::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

std::optional<HistoryQuery> FakeHistorySource::last_query() const {
  absl::MutexLock lock(&mu_);
  return last_query_;
}

}  // namespace agentwatch::capacity
