#include "monitor/store/batch_merge.h"

#include <algorithm>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace agentwatch::monitor {
namespace {

bool SeriesLess(const SeriesRecord& a, const SeriesRecord& b) {
  return std::tie(a.tenant, a.metric, a.series_key) < std::tie(b.tenant, b.metric, b.series_key);
}

bool SeriesSame(const SeriesRecord& a, const SeriesRecord& b) {
  return a.tenant == b.tenant && a.metric == b.metric && a.series_key == b.series_key;
}

bool DeltaLess(const RollupDelta& a, const RollupDelta& b) {
  return std::tie(a.tenant, a.metric, a.series_key, a.bucket) <
         std::tie(b.tenant, b.metric, b.series_key, b.bucket);
}

bool DeltaSame(const RollupDelta& a, const RollupDelta& b) {
  return a.tenant == b.tenant && a.metric == b.metric && a.series_key == b.series_key &&
         a.bucket == b.bucket;
}

}  // namespace

absl::StatusOr<BatchAggregate> MergeAggregates(const std::vector<const BatchAggregate*>& batches) {
  BatchAggregate out;
  if (batches.size() == 1) return *batches[0];
  size_t series = 0, rollups = 0, workflows = 0, usage = 0;
  for (const BatchAggregate* batch : batches) {
    out.event_count += batch->event_count;
    series += batch->series.size();
    rollups += batch->rollups.size();
    workflows += batch->workflows.size();
    usage += batch->usage.size();
  }
  out.series.reserve(series);
  out.rollups.reserve(rollups);
  out.workflows.reserve(workflows);
  out.usage.reserve(usage);
  for (const BatchAggregate* batch : batches) {
    out.series.insert(out.series.end(), batch->series.begin(), batch->series.end());
    out.rollups.insert(out.rollups.end(), batch->rollups.begin(), batch->rollups.end());
    out.workflows.insert(out.workflows.end(), batch->workflows.begin(), batch->workflows.end());
    out.usage.insert(out.usage.end(), batch->usage.begin(), batch->usage.end());
  }
  std::stable_sort(out.series.begin(), out.series.end(), SeriesLess);
  out.series.erase(std::unique(out.series.begin(), out.series.end(), SeriesSame), out.series.end());
  std::sort(out.workflows.begin(), out.workflows.end());
  out.workflows.erase(std::unique(out.workflows.begin(), out.workflows.end()), out.workflows.end());

  // Rollups: sorted by cell, then each run of one cell folded into its first.
  std::stable_sort(out.rollups.begin(), out.rollups.end(), DeltaLess);
  size_t kept = 0;
  for (size_t i = 0; i < out.rollups.size(); ++i) {
    if (kept > 0 && DeltaSame(out.rollups[kept - 1], out.rollups[i])) {
      RollupDelta& into = out.rollups[kept - 1];
      RollupDelta& from = out.rollups[i];
      into.stats.Merge(from.stats);
      if (from.sketch.has_value()) {
        if (!into.sketch.has_value()) {
          into.sketch = std::move(from.sketch);
        } else if (absl::Status merged = into.sketch->Merge(*from.sketch); !merged.ok()) {
          return absl::InternalError(absl::StrCat("merging the sketches of ", into.metric, "/",
                                                  into.series_key, ": ", merged.message()));
        }
      }
      continue;
    }
    if (kept != i) out.rollups[kept] = std::move(out.rollups[i]);
    ++kept;
  }
  out.rollups.resize(kept);
  return out;
}

}  // namespace agentwatch::monitor
