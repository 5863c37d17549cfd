#include "monitor/store/batch_merge.h"

#include <algorithm>
#include <functional>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace agentwatch::monitor {
namespace {

// Three-way comparisons (negative, 0, positive) of the keys BatchAggregate
// orders its vectors by: each string is compared once (a lexicographic `<`
// over a tuple compares every equal field twice).
int CompareSeries(const SeriesRecord& a, const SeriesRecord& b) {
  if (const int c = a.tenant.compare(b.tenant); c != 0) return c;
  if (const int c = a.metric.compare(b.metric); c != 0) return c;
  return a.series_key.compare(b.series_key);
}

int CompareDelta(const RollupDelta& a, const RollupDelta& b) {
  if (const int c = a.tenant.compare(b.tenant); c != 0) return c;
  if (const int c = a.metric.compare(b.metric); c != 0) return c;
  if (const int c = a.series_key.compare(b.series_key); c != 0) return c;
  return a.bucket < b.bucket ? -1 : (b.bucket < a.bucket ? 1 : 0);
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

// Merges `runs` into `out`: every element in `compare` order, elements of
// one key folded (`fold(into, from)`) into the first one in run order, so
// each element is copied at most once. Runs sorted by `compare` (as
// BatchAggregate's vectors are) are merged through a heap of the runs'
// heads; otherwise everything is copied and stably sorted first.
template <typename T, typename Compare, typename Fold>
absl::Status MergeRuns(const std::vector<const std::vector<T>*>& runs, Compare compare, Fold fold,
                       std::vector<T>* out) {
  size_t total = 0;
  bool sorted = true;
  for (const std::vector<T>* run : runs) {
    total += run->size();
    for (size_t i = 1; sorted && i < run->size(); ++i) {
      sorted = compare((*run)[i - 1], (*run)[i]) <= 0;
    }
  }
  out->clear();
  out->reserve(total);
  auto add = [&](const T& item) -> absl::Status {
    if (!out->empty() && compare(out->back(), item) >= 0) return fold(out->back(), item);
    out->push_back(item);
    return absl::OkStatus();
  };
  if (!sorted) {
    std::vector<T> all;
    all.reserve(total);
    for (const std::vector<T>* run : runs) all.insert(all.end(), run->begin(), run->end());
    std::stable_sort(all.begin(), all.end(),
                     [&](const T& a, const T& b) { return compare(a, b) < 0; });
    for (const T& item : all) {
      if (absl::Status status = add(item); !status.ok()) return status;
    }
    return absl::OkStatus();
  }
  // (run, position) of each run's next element, in a heap with the smallest
  // element on top, ties in run order: one comparison per heap step.
  using Head = std::pair<size_t, size_t>;
  auto after = [&](const Head& a, const Head& b) {
    const int c = compare((*runs[a.first])[a.second], (*runs[b.first])[b.second]);
    return c != 0 ? c > 0 : a.first > b.first;
  };
  std::vector<Head> heads;
  heads.reserve(runs.size());
  for (size_t r = 0; r < runs.size(); ++r) {
    if (!runs[r]->empty()) heads.push_back({r, 0});
  }
  std::make_heap(heads.begin(), heads.end(), after);
  while (!heads.empty()) {
    std::pop_heap(heads.begin(), heads.end(), after);
    Head& head = heads.back();
    if (absl::Status status = add((*runs[head.first])[head.second]); !status.ok()) return status;
    if (++head.second < runs[head.first]->size()) {
      std::push_heap(heads.begin(), heads.end(), after);
    } else {
      heads.pop_back();
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BatchAggregate> MergeAggregates(const std::vector<const BatchAggregate*>& batches,
                                               bool with_usage) {
  if (batches.size() == 1) {
    BatchAggregate out = *batches[0];
    if (!with_usage) out.usage.clear();
    return out;
  }
  BatchAggregate out;
  std::vector<const std::vector<SeriesRecord>*> series;
  std::vector<const std::vector<RollupDelta>*> rollups;
  size_t workflows = 0, usage = 0;
  for (const BatchAggregate* batch : batches) {
    out.event_count += batch->event_count;
    series.push_back(&batch->series);
    rollups.push_back(&batch->rollups);
    workflows += batch->workflows.size();
    if (with_usage) usage += batch->usage.size();
  }
  out.workflows.reserve(workflows);
  out.usage.reserve(usage);
  for (const BatchAggregate* batch : batches) {
    out.workflows.insert(out.workflows.end(), batch->workflows.begin(), batch->workflows.end());
    if (with_usage) out.usage.insert(out.usage.end(), batch->usage.begin(), batch->usage.end());
  }
  std::sort(out.workflows.begin(), out.workflows.end());
  out.workflows.erase(std::unique(out.workflows.begin(), out.workflows.end()), out.workflows.end());

  // Series: united (the first copy of each kept).
  const absl::Status series_merged = MergeRuns(
      series, CompareSeries, [](SeriesRecord&, const SeriesRecord&) { return absl::OkStatus(); },
      &out.series);
  if (!series_merged.ok()) return series_merged;
  // Rollups: the deltas of one cell added in batch order.
  const absl::Status rollups_merged = MergeRuns(rollups, CompareDelta, FoldDelta, &out.rollups);
  if (!rollups_merged.ok()) return rollups_merged;
  return out;
}

}  // namespace agentwatch::monitor
