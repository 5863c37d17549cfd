// Samples -> 1-minute rollups: the second stage of the ingest pipeline. A
// batch is reduced to one delta per (tenant, metric, series, minute) holding
// count, sum, min and max (and, for the metrics HasQuantileSketch names, a
// quantile sketch of the values), which the store adds to what is already
// stored.
// The deltas are mergeable, so N replicas writing concurrently end up with
// what one would have written.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "monitor/core/quantile_sketch.h"
#include "monitor/core/types.h"

namespace agentwatch::monitor {

// Count, sum, min and max of the samples of one series in one bucket.
// Mergeable: Merge(a, b) equals adding the samples of both.
struct RollupStats {
  int64_t count = 0;
  double sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();

  void Add(double value);
  void Merge(const RollupStats& other);
  bool operator==(const RollupStats& other) const;
};

// The start of the minute `t` falls in.
absl::Time MinuteBucket(absl::Time t);

// The canonical text of a label set: every (name, value) length-prefixed, in
// name order. Two label sets are equal exactly when their texts are.
std::string CanonicalLabelText(const Labels& labels);

// The stable key of a label set within (tenant, metric): a 128-bit hash of
// its canonical text in hex (32 characters).
std::string SeriesKey(const Labels& labels);

// A series a batch feeds: its identity and labels.
struct SeriesRecord {
  std::string tenant;
  std::string metric;
  std::string series_key;
  Labels labels;
};

// What a batch adds to one rollup row.
struct RollupDelta {
  std::string tenant;
  std::string metric;
  std::string series_key;
  absl::Time bucket;  // start of the minute
  RollupStats stats;
  // The batch's values of this cell, for metrics with HasQuantileSketch;
  // empty for the others. The store merges it into the stored sketch.
  std::optional<QuantileSketch> sketch;
};

// A (tenant, workflow) whose runs a batch reports; rule evaluation runs for
// each after the batch is written.
struct WorkflowKey {
  std::string tenant;
  std::string workflow;
  bool operator<(const WorkflowKey& other) const;
  bool operator==(const WorkflowKey& other) const;
};

// The usage of one LLM call, forwarded to cost.RecordUsage.
struct LlmUsageRecord {
  // The event's id, or "<producer_id>:<sequence>:<index in batch>".
  std::string record_id;
  absl::Time time;
  std::string tenant;
  std::string team;
  std::string workflow;
  std::string agent;
  std::string provider;
  std::string model;
  std::string run_id;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cached_input_tokens = 0;
  int64_t cache_creation_tokens = 0;
};

// Everything one batch writes.
struct BatchAggregate {
  int64_t event_count = 0;
  // Distinct series, sorted by (tenant, metric, series_key).
  std::vector<SeriesRecord> series;
  // One delta per (tenant, metric, series_key, bucket), sorted by that key,
  // so that concurrent writers lock rows in the same order.
  std::vector<RollupDelta> rollups;
  // Distinct (tenant, workflow) pairs with workflow runs, sorted.
  std::vector<WorkflowKey> workflows;
  // One record per LLM call, in batch order.
  std::vector<LlmUsageRecord> usage;
};

// The record id of event `index` of a batch: its event_id when set, else
// "<producer_id>:<sequence>:<index>".
std::string RecordId(const Event& event, const std::string& producer_id, uint64_t sequence,
                     size_t index);

// Reduces a valid batch (see ValidateBatch) to what it writes. Pure and
// deterministic: the same batch always gives the same aggregate.
BatchAggregate AggregateBatch(const Batch& batch);

}  // namespace agentwatch::monitor
