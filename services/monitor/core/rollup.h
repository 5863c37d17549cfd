// Samples -> 1-minute rollups: the second stage of the ingest pipeline. A
// batch is reduced to one delta per (tenant, metric, series, minute) holding
// count, sum, min and max (and, for the metrics HasQuantileSketch names, a
// quantile sketch of the values), which the store adds to what is already
// stored.
// The deltas are mergeable, so N replicas writing concurrently end up with
// what one would have written.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "monitor/core/event_view.h"
#include "monitor/core/key_text.h"
#include "monitor/core/quantile_sketch.h"
#include "monitor/core/samples.h"
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
// The keys are KeyTexts: a batch's series and cells share one copy of each
// tenant, metric and series key (see key_text.h).
struct SeriesRecord {
  KeyText tenant;
  KeyText metric;
  KeyText series_key;
  // Never null. Immutable and shared: the series of one label set (one per
  // metric) and the LabelSetCache hold the same labels, so a batch does not
  // copy a label map per series.
  std::shared_ptr<const Labels> labels;
};

// What a batch adds to one rollup row.
struct RollupDelta {
  KeyText tenant;
  KeyText metric;
  KeyText series_key;
  absl::Time bucket;  // start of the minute
  RollupStats stats;
  // The batch's values of this cell, for metrics with HasQuantileSketch;
  // empty for the others. The store merges it into the stored sketch.
  std::optional<QuantileSketch> sketch;
};

// Three-way comparison of two strings (negative, 0, positive), in
// std::string::compare's order (bytes as unsigned), without a library call
// for keys of 8 to 64 bytes: the common length m of the two is compared 8
// bytes at a time as big-endian integers, the last (partial) word read
// ending at m (it overlaps bytes already found equal), then the lengths
// decide. The keys of rollup cells (tenant, metric, series key) are such
// keys, and the merges of a group and of a flush compare them per cell;
// keys of one tenant or metric share a prefix longer than 8 bytes (the
// bench's "bench-tenant-N", "workflow_..."), which memcmp used to finish.
inline int CompareKeyText(absl::string_view a, absl::string_view b) {
  const size_t m = a.size() < b.size() ? a.size() : b.size();
  if (m < 8 || m > 64) {
    if (m >= 8) {
      uint64_t x, y;
      std::memcpy(&x, a.data(), 8);
      std::memcpy(&y, b.data(), 8);
      if (x != y) return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
    }
    return a.compare(b);
  }
  const auto word = [m](size_t at) { return at + 8 <= m ? at : m - 8; };
  for (size_t at = 0; at < m; at += 8) {
    const size_t from = word(at);
    uint64_t x, y;
    std::memcpy(&x, a.data() + from, 8);
    std::memcpy(&y, b.data() + from, 8);
    if (x != y) return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
  }
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}
// The same for KeyTexts: one copy, or named copies of one text
// (KeyText::Named), are equal without reading them.
inline int CompareKeyText(const KeyText& a, const KeyText& b) {
  return a.KnownEqual(b) ? 0 : CompareKeyText(a.view(), b.view());
}
inline int CompareKeyText(const std::string& a, const std::string& b) {
  return CompareKeyText(absl::string_view(a), absl::string_view(b));
}

// Three-way comparisons by BatchAggregate's orders: series by (tenant,
// metric, series_key), cells by (tenant, metric, series_key, bucket), a
// cell against a series by the series' key.
inline int CompareSeries(const SeriesRecord& a, const SeriesRecord& b) {
  if (const int c = CompareKeyText(a.tenant, b.tenant); c != 0) return c;
  if (const int c = CompareKeyText(a.metric, b.metric); c != 0) return c;
  return CompareKeyText(a.series_key, b.series_key);
}
inline int CompareCells(const RollupDelta& a, const RollupDelta& b) {
  if (const int c = CompareKeyText(a.tenant, b.tenant); c != 0) return c;
  if (const int c = CompareKeyText(a.metric, b.metric); c != 0) return c;
  if (const int c = CompareKeyText(a.series_key, b.series_key); c != 0) return c;
  return a.bucket < b.bucket ? -1 : (b.bucket < a.bucket ? 1 : 0);
}
inline int CompareSeriesToCell(const SeriesRecord& a, const RollupDelta& b) {
  if (const int c = CompareKeyText(a.tenant, b.tenant); c != 0) return c;
  if (const int c = CompareKeyText(a.metric, b.metric); c != 0) return c;
  return CompareKeyText(a.series_key, b.series_key);
}

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
// deterministic: the same batch always gives the same aggregate. Equals
// feeding every event, in order, to a BatchAggregator.
BatchAggregate AggregateBatch(const Batch& batch);

// A label set in canonical form: what a BatchAggregator derives from an
// event's raw labels. Immutable once built; shared between the aggregators
// (and the LabelSetCache) that use it.
struct CanonicalLabelSet {
  KeyText tenant;  // the copy every cell and series of the set refers to
  Labels labels;
  std::string canonical;  // CanonicalLabelText(labels)
  KeyText series_key;     // SeriesKey(labels), shared as `tenant`
  // absl::Hash of `canonical`, computed once with it: the aggregators find
  // a batch's label sets by it without hashing the text again per batch.
  size_t canonical_hash = 0;
};

// Raw label bytes with their hash (LabelSetCache::KeyHash), computed once
// per event and used by every map the bytes are looked up in.
struct PrehashedView {
  absl::string_view bytes;
  size_t hash;
};

// Raw label bytes kept as a hash-map key, with their hash: a map's growth
// does not hash the bytes again.
struct PrehashedKey {
  std::string bytes;
  size_t hash;
};

// Hash and equality of PrehashedKey maps, looked up by PrehashedView.
struct PrehashedHash {
  using is_transparent = void;
  size_t operator()(const PrehashedKey& key) const { return key.hash; }
  size_t operator()(const PrehashedView& view) const { return view.hash; }
};
struct PrehashedEq {
  using is_transparent = void;
  bool operator()(const PrehashedKey& a, const PrehashedKey& b) const {
    return a.hash == b.hash && a.bytes == b.bytes;
  }
  bool operator()(const PrehashedKey& a, const PrehashedView& b) const {
    return a.hash == b.hash && absl::string_view(a.bytes) == b.bytes;
  }
  bool operator()(const PrehashedView& a, const PrehashedKey& b) const { return (*this)(b, a); }
  bool operator()(const PrehashedView& a, const PrehashedView& b) const {
    return a.hash == b.hash && a.bytes == b.bytes;
  }
};

// A bounded, thread-safe memo across batches: the raw label bytes of an
// event (its tenant and its samples' labels in extraction order, length-
// prefixed; see BatchAggregator) -> its CanonicalLabelSet. The same series
// come back batch after batch; with the cache a batch canonicalizes only the
// label sets no recent batch had. Entries are a pure function of their key,
// so any eviction keeps results exact: evicting only costs recomputation.
// Memory: two generations of entries; when the current one's estimated size
// passes max_bytes / 2, it becomes the previous one and the previous one is
// dropped; a hit in the previous generation moves the entry forward. So at
// most ~max_bytes are held, and a label set used in every batch stays.
class LabelSetCache {
 public:
  // The default bound: 64 MiB holds ~35,000 label sets of ~10 labels
  // (~1.8 KB each, estimated), several times the bench's working set.
  static constexpr size_t kDefaultMaxBytes = size_t{64} << 20;

  explicit LabelSetCache(size_t max_bytes = kDefaultMaxBytes);
  LabelSetCache(const LabelSetCache&) = delete;
  LabelSetCache& operator=(const LabelSetCache&) = delete;

  // The hash the cache keys raw label bytes by.
  static size_t KeyHash(absl::string_view raw_key) {
    return absl::Hash<absl::string_view>()(raw_key);
  }

  // The label set cached for `raw_key`, or null.
  std::shared_ptr<const CanonicalLabelSet> Find(absl::string_view raw_key) {
    return Find(PrehashedView{raw_key, KeyHash(raw_key)});
  }
  // The same with the key's hash given (KeyHash of its bytes).
  std::shared_ptr<const CanonicalLabelSet> Find(const PrehashedView& raw_key);

  // Caches `set` for `raw_key` unless another thread cached one first; returns
  // the cached entry (`set` or the earlier one, which is equal).
  std::shared_ptr<const CanonicalLabelSet> Insert(absl::string_view raw_key,
                                                  std::shared_ptr<const CanonicalLabelSet> set) {
    return Insert(PrehashedView{raw_key, KeyHash(raw_key)}, std::move(set));
  }
  std::shared_ptr<const CanonicalLabelSet> Insert(const PrehashedView& raw_key,
                                                  std::shared_ptr<const CanonicalLabelSet> set);

  // Counters since construction, for tests and metrics.
  struct Stats {
    int64_t hits = 0;
    int64_t misses = 0;
    int64_t evicted = 0;  // entries dropped with an old generation
    size_t entries = 0;
    size_t bytes = 0;  // estimated, both generations
  };
  Stats GetStats() const;

 private:
  using Map = absl::flat_hash_map<PrehashedKey, std::shared_ptr<const CanonicalLabelSet>,
                                  PrehashedHash, PrehashedEq>;
  // Adds an entry to current_; returns the generation it pushed out (to be
  // destroyed outside the lock), or an empty map.
  Map AddCurrent(PrehashedKey key, std::shared_ptr<const CanonicalLabelSet> set)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t generation_bytes_;
  mutable absl::Mutex mu_;
  Map current_ ABSL_GUARDED_BY(mu_);
  Map previous_ ABSL_GUARDED_BY(mu_);
  size_t current_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t previous_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

// Reduces a batch to its BatchAggregate one event at a time, so that the
// ingest path aggregates events where they lie (as EventViews of the parsed
// request) instead of first copying them into a Batch. The result equals
// AggregateBatch's on the same events (the same sums, added in the same
// order). Work per event: the event's samples as views, one hash lookup of
// its raw label bytes in an in-batch cache of label sets (canonical labels
// and the series key are computed once per distinct label set), one hash
// lookup per sample for its (label set, metric, minute) cell, a sketch add
// for the latency metrics; no allocation once the batch's label sets and
// cells are known. With a LabelSetCache (optional, shared by concurrent
// aggregators) a label set new to the batch is looked up there before it is
// canonicalized; the aggregate is the same with or without it.
// Not thread-safe; one aggregator per batch.
class BatchAggregator {
 public:
  // The batch's idempotency key, for the record ids of LLM calls without an
  // event id; `expected_events` (a hint) sizes the reservations; `cache`
  // (optional, not owned) must outlive the aggregator.
  BatchAggregator(absl::string_view producer_id, uint64_t sequence, size_t expected_events = 0,
                  LabelSetCache* cache = nullptr);

  // Adds event `index` of the batch, which must be valid (see ValidateEvent).
  // Copies whatever the aggregate keeps: `event` may go away afterwards.
  void Add(const EventView& event, size_t index);

  // The aggregate of the events added so far. Call once; the aggregator is
  // spent afterwards.
  BatchAggregate Finish();

 private:
  struct CellKey {
    uint32_t label_set;
    uint32_t metric;
    int64_t bucket;  // Unix seconds of the minute's start
    bool operator==(const CellKey& other) const {
      return label_set == other.label_set && metric == other.metric && bucket == other.bucket;
    }
    template <typename H>
    friend H AbslHashValue(H h, const CellKey& key) {
      return H::combine(std::move(h), key.label_set, key.metric, key.bucket);
    }
  };
  struct Cell {
    CellKey key;
    RollupStats stats;
    int32_t sketch = -1;  // index in sketches_, for metrics with a sketch
  };

  // The index of the event's label set in label_sets_ (samples_ holds its
  // labels).
  uint32_t LabelSetOf(absl::string_view tenant);
  uint32_t MetricOf(absl::string_view metric);
  // A copy of `bytes` in raw_chunks_, valid as long as the aggregator.
  absl::string_view KeepRaw(absl::string_view bytes);

  std::string producer_id_;
  uint64_t sequence_;
  LabelSetCache* cache_;
  int64_t event_count_ = 0;
  // Scratch, reused from event to event.
  EventSampleViews samples_;
  std::string raw_labels_;
  std::string workflow_key_;

  // A batch's label sets by their canonical text, through the hash each
  // CanonicalLabelSet carries: the keys are label_sets_' entries (alive as
  // long as the aggregator), a lookup may pass another object of equal text
  // (found by text; the same object by its address first).
  struct SetHash {
    size_t operator()(const CanonicalLabelSet* set) const { return set->canonical_hash; }
  };
  struct SetEq {
    bool operator()(const CanonicalLabelSet* a, const CanonicalLabelSet* b) const {
      return a == b || (a->canonical_hash == b->canonical_hash && a->canonical == b->canonical);
    }
  };

  // Raw label bytes (the tenant, then the samples' labels in their
  // extraction order, length-prefixed) -> label set; different raw forms of
  // one label set (another order) meet in by_set_.
  // Its keys view copies in raw_chunks_ (no allocation per key).
  absl::flat_hash_map<PrehashedView, uint32_t, PrehashedHash, PrehashedEq> by_raw_labels_;
  std::vector<std::unique_ptr<char[]>> raw_chunks_;
  char* raw_free_ = nullptr;  // the unused rest of raw_chunks_.back()
  size_t raw_left_ = 0;
  absl::flat_hash_map<const CanonicalLabelSet*, uint32_t, SetHash, SetEq> by_set_;
  std::vector<std::shared_ptr<const CanonicalLabelSet>> label_sets_;
  absl::flat_hash_map<absl::string_view, uint32_t> metric_ids_;  // views metrics_
  // MetricOf's memo of recent names by their data pointer (a hint, checked
  // against the name): 2^kMetricHintBits slots.
  static constexpr int kMetricHintBits = 7;
  struct MetricHint {
    const char* data = nullptr;  // null: empty slot
    uint32_t id = 0;
  };
  std::array<MetricHint, size_t{1} << kMetricHintBits> metric_hints_{};
  std::vector<KeyText> metrics_;  // one copy per name, shared by the cells
  std::vector<bool> metric_sketched_;
  absl::flat_hash_map<CellKey, uint32_t> cell_index_;
  std::vector<Cell> cells_;
  std::vector<QuantileSketch> sketches_;
  absl::flat_hash_set<std::string> workflows_seen_;
  std::vector<WorkflowKey> workflows_;
  std::vector<LlmUsageRecord> usage_;
};

}  // namespace agentwatch::monitor
