#include "monitor/store/batch_merge.h"

#include <algorithm>
#include <functional>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agentwatch::monitor {
namespace {

// Three-way comparisons of the keys BatchAggregate orders its vectors by
// (CompareSeries and CompareCells, core/rollup.h), as lambdas so that the
// merge's template inlines them.
const auto kCompareSeries = [](const SeriesRecord& a, const SeriesRecord& b) {
  return CompareSeries(a, b);
};
const auto kCompareDelta = [](const RollupDelta& a, const RollupDelta& b) {
  return CompareCells(a, b);
};

// Adds `from` into `into` (deltas of one cell).
absl::Status FoldDelta(RollupDelta& into, const RollupDelta& from) {
  into.stats.Merge(from.stats);
  if (!from.sketch.has_value()) return absl::OkStatus();
  if (!into.sketch.has_value()) {
    into.sketch = from.sketch;
    return absl::OkStatus();
  }
  if (absl::Status merged = into.sketch->Merge(*from.sketch); !merged.ok()) {
    return absl::InternalError(absl::StrCat("merging the sketches of ", into.metric.view(), "/",
                                            into.series_key.view(), ": ", merged.message()));
  }
  return absl::OkStatus();
}

// Merges `runs`: `out` gets pointers to the elements in `compare` order, one
// per key; a key several runs hold gets a copy in `owned` (its first element
// in run order, the others folded into it with `fold`; with `owned` null the
// first element is kept as it is). Only `out`'s last element can be folded
// into, so it is the owned one exactly when it is `owned`'s last element.
// Runs sorted by `compare` (as BatchAggregate's vectors are) are merged by
// their heads (scanned, or in a heap for many runs); otherwise the elements
// are stably sorted first.
// Up to this many sorted runs are merged by scanning their heads, more
// through a heap.
constexpr size_t kLinearMergeRuns = 8;

template <typename T, typename Compare, typename Fold>
absl::Status MergeRunPointers(const std::vector<const std::vector<T>*>& runs, Compare compare,
                              Fold fold, std::vector<const T*>* out, std::deque<T>* owned) {
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
    if (out->empty() || compare(*out->back(), item) < 0) {
      out->push_back(&item);
      return absl::OkStatus();
    }
    if (owned == nullptr) return absl::OkStatus();  // keep the first copy
    if (owned->empty() || out->back() != &owned->back()) {
      owned->push_back(*out->back());
      out->back() = &owned->back();
    }
    return fold(owned->back(), item);
  };
  if (!sorted) {
    std::vector<const T*> all;
    all.reserve(total);
    for (const std::vector<T>* run : runs) {
      for (const T& item : *run) all.push_back(&item);
    }
    std::stable_sort(all.begin(), all.end(),
                     [&](const T* a, const T* b) { return compare(*a, *b) < 0; });
    for (const T* item : all) {
      if (absl::Status status = add(*item); !status.ok()) return status;
    }
    return absl::OkStatus();
  }
  // A group holds a few batches: the smallest head is found by comparing
  // the heads in run order (the first of equal heads wins), one comparison
  // per other run and element, without a heap's bookkeeping.
  if (runs.size() <= kLinearMergeRuns) {
    std::vector<size_t> at(runs.size(), 0);
    for (;;) {
      const T* smallest = nullptr;
      size_t from = 0;
      for (size_t r = 0; r < runs.size(); ++r) {
        if (at[r] == runs[r]->size()) continue;
        const T& head = (*runs[r])[at[r]];
        if (smallest == nullptr || compare(head, *smallest) < 0) {
          smallest = &head;
          from = r;
        }
      }
      if (smallest == nullptr) return absl::OkStatus();
      if (absl::Status status = add(*smallest); !status.ok()) return status;
      ++at[from];
    }
  }
  // More runs: (run, position) of each run's next element, in a heap with
  // the smallest element on top, ties in run order: one comparison per heap
  // step.
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

absl::Status MergeGroup(const std::vector<const BatchAggregate*>& batches, MergedGroup* out) {
  out->event_count = 0;
  out->workflows.clear();
  out->folded.clear();
  std::vector<const std::vector<SeriesRecord>*> series;
  std::vector<const std::vector<RollupDelta>*> rollups;
  size_t workflows = 0;
  for (const BatchAggregate* batch : batches) {
    out->event_count += batch->event_count;
    series.push_back(&batch->series);
    rollups.push_back(&batch->rollups);
    workflows += batch->workflows.size();
  }
  out->workflows.reserve(workflows);
  for (const BatchAggregate* batch : batches) {
    out->workflows.insert(out->workflows.end(), batch->workflows.begin(), batch->workflows.end());
  }
  std::sort(out->workflows.begin(), out->workflows.end());
  out->workflows.erase(std::unique(out->workflows.begin(), out->workflows.end()),
                       out->workflows.end());
  std::deque<SeriesRecord>* no_copies = nullptr;
  RETURN_IF_ERROR(MergeRunPointers(
      series, kCompareSeries, [](SeriesRecord&, const SeriesRecord&) { return absl::OkStatus(); },
      &out->series, no_copies));
  return MergeRunPointers(rollups, kCompareDelta, FoldDelta, &out->rollups, &out->folded);
}

absl::StatusOr<BatchAggregate> MergeAggregates(const std::vector<const BatchAggregate*>& batches,
                                               bool with_usage) {
  if (batches.size() == 1) {
    BatchAggregate out = *batches[0];
    if (!with_usage) out.usage.clear();
    return out;
  }
  MergedGroup group;
  RETURN_IF_ERROR(MergeGroup(batches, &group));
  BatchAggregate out;
  out.event_count = group.event_count;
  out.workflows = std::move(group.workflows);
  out.series.reserve(group.series.size());
  for (const SeriesRecord* series : group.series) out.series.push_back(*series);
  out.rollups.reserve(group.rollups.size());
  for (const RollupDelta* delta : group.rollups) out.rollups.push_back(*delta);
  if (with_usage) {
    for (const BatchAggregate* batch : batches) {
      out.usage.insert(out.usage.end(), batch->usage.begin(), batch->usage.end());
    }
  }
  return out;
}

}  // namespace agentwatch::monitor
