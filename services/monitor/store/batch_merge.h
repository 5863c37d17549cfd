// Merging the aggregates of several batches into the one aggregate a group
// commit writes (see PgMonitorStore): rollup deltas of one (tenant, metric,
// series, bucket) are added (count, sum, min, max and sketch merge), series
// and workflows are united, LLM usage records are concatenated in batch
// order. The result keeps BatchAggregate's orderings, so the store writes
// and locks rows in key order as it does for a single batch.
#pragma once

#include <vector>

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

}  // namespace agentwatch::monitor
