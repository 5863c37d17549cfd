#include "monitor/store/batch_merge.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace agentwatch::monitor {
namespace {

bool SeriesLess(const SeriesRecord& a, const SeriesRecord& b) {
  return std::tie(a.tenant, a.metric, a.series_key) < std::tie(b.tenant, b.metric, b.series_key);
}

bool DeltaLess(const RollupDelta& a, const RollupDelta& b) {
  return std::tie(a.tenant, a.metric, a.series_key, a.bucket) <
         std::tie(b.tenant, b.metric, b.series_key, b.bucket);
}

// Adds `from` into `into` (deltas of one cell).
absl::Status FoldDelta(RollupDelta& into, const RollupDelta& from) {
  into.stats.Merge(from.stats);
  if (!from.sketch.has_value()) return absl::OkStatus();
  if (!into.sketch.has_value()) {
    into.sketch = from.sketch;
    return absl::OkStatus();
  }
  if (absl::Status merged = into.sketch->Merge(*from.sketch); !merged.ok()) {
    return absl::InternalError(absl::StrCat("merging the sketches of ", into.metric, "/",
                                            into.series_key, ": ", merged.message()));
  }
  return absl::OkStatus();
}

// Merges `runs` into `out`: every element in `less` order, elements of one
// key folded (`fold(into, from)`) into the first one in run order, so each
// element is copied at most once. Runs sorted by `less` (as BatchAggregate's
// vectors are) are merged through a heap; otherwise everything is copied and
// stably sorted first.
template <typename T, typename Less, typename Fold>
absl::Status MergeRuns(const std::vector<const std::vector<T>*>& runs, Less less, Fold fold,
                       std::vector<T>* out) {
  size_t total = 0;
  bool sorted = true;
  for (const std::vector<T>* run : runs) {
    total += run->size();
    sorted = sorted && std::is_sorted(run->begin(), run->end(), less);
  }
  out->clear();
  out->reserve(total);
  auto add = [&](const T& item) -> absl::Status {
    if (!out->empty() && !less(out->back(), item)) return fold(out->back(), item);
    out->push_back(item);
    return absl::OkStatus();
  };
  if (!sorted) {
    std::vector<T> all;
    all.reserve(total);
    for (const std::vector<T>* run : runs) all.insert(all.end(), run->begin(), run->end());
    std::stable_sort(all.begin(), all.end(), less);
    for (const T& item : all) {
      if (absl::Status status = add(item); !status.ok()) return status;
    }
    return absl::OkStatus();
  }
  // (run, position) of each run's next element; the smallest element on
  // top, ties in run order.
  using Head = std::pair<size_t, size_t>;
  auto after = [&](const Head& a, const Head& b) {
    const T& x = (*runs[a.first])[a.second];
    const T& y = (*runs[b.first])[b.second];
    if (less(y, x)) return true;
    if (less(x, y)) return false;
    return a.first > b.first;
  };
  std::priority_queue<Head, std::vector<Head>, decltype(after)> heads(after);
  for (size_t r = 0; r < runs.size(); ++r) {
    if (!runs[r]->empty()) heads.push({r, 0});
  }
  while (!heads.empty()) {
    const Head head = heads.top();
    heads.pop();
    if (absl::Status status = add((*runs[head.first])[head.second]); !status.ok()) return status;
    if (head.second + 1 < runs[head.first]->size()) heads.push({head.first, head.second + 1});
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BatchAggregate> MergeAggregates(const std::vector<const BatchAggregate*>& batches) {
  if (batches.size() == 1) return *batches[0];
  BatchAggregate out;
  std::vector<const std::vector<SeriesRecord>*> series;
  std::vector<const std::vector<RollupDelta>*> rollups;
  size_t workflows = 0, usage = 0;
  for (const BatchAggregate* batch : batches) {
    out.event_count += batch->event_count;
    series.push_back(&batch->series);
    rollups.push_back(&batch->rollups);
    workflows += batch->workflows.size();
    usage += batch->usage.size();
  }
  out.workflows.reserve(workflows);
  out.usage.reserve(usage);
  for (const BatchAggregate* batch : batches) {
    out.workflows.insert(out.workflows.end(), batch->workflows.begin(), batch->workflows.end());
    out.usage.insert(out.usage.end(), batch->usage.begin(), batch->usage.end());
  }
  std::sort(out.workflows.begin(), out.workflows.end());
  out.workflows.erase(std::unique(out.workflows.begin(), out.workflows.end()), out.workflows.end());

  // Series: united (the first copy of each kept).
  const absl::Status series_merged = MergeRuns(
      series, SeriesLess, [](SeriesRecord&, const SeriesRecord&) { return absl::OkStatus(); },
      &out.series);
  if (!series_merged.ok()) return series_merged;
  // Rollups: the deltas of one cell added in batch order.
  const absl::Status rollups_merged = MergeRuns(rollups, DeltaLess, FoldDelta, &out.rollups);
  if (!rollups_merged.ok()) return rollups_merged;
  return out;
}

}  // namespace agentwatch::monitor
