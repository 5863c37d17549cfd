// Merging the aggregates of several batches into the one aggregate a group
// commit writes (see PgMonitorStore): rollup deltas of one (tenant, metric,
// series, bucket) are added (count, sum, min, max and sketch merge), series
// and workflows are united, LLM usage records are concatenated in batch
// order. The result keeps BatchAggregate's orderings, so the store writes
// and locks rows in key order as it does for a single batch.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "monitor/core/rollup.h"

namespace agentwatch::monitor {

// The aggregate equal to committing `batches` one after the other: the same
// rollup totals, series, workflows and (with `with_usage`; otherwise the
// result's usage is empty, for a caller that reads the batches' own) usage
// records. Errors: INTERNAL when two sketches of one cell cannot be merged
// (different parameters).
absl::StatusOr<BatchAggregate> MergeAggregates(const std::vector<const BatchAggregate*>& batches,
                                               bool with_usage = true);

// A group's merged aggregate that points into its batches instead of copying
// them (what a group commit writes; MergeAggregates without usage, less the
// copies): a series or rollup cell that one batch holds is used in place,
// and only the cells several batches feed are folded (in batch order) into
// `folded`. The batches must outlive it and stay unchanged.
struct MergedGroup {
  int64_t event_count = 0;
  // United, in BatchAggregate's order (the first batch's copy of each).
  std::vector<const SeriesRecord*> series;
  // One per cell, in BatchAggregate's order: into a batch or into `folded`.
  std::vector<const RollupDelta*> rollups;
  // Sorted, without duplicates.
  std::vector<WorkflowKey> workflows;
  // The cells several batches feed, merged (a deque: pointers stay valid).
  std::deque<RollupDelta> folded;
};

// Fills `out` (cleared first) with the merge of `batches`. Errors: INTERNAL
// when two sketches of one cell cannot be merged (different parameters).
absl::Status MergeGroup(const std::vector<const BatchAggregate*>& batches, MergedGroup* out);

}  // namespace agentwatch::monitor
