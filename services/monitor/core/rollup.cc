#include "monitor/core/rollup.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "monitor/core/hash.h"
#include "monitor/core/names.h"
#include "monitor/core/samples.h"

namespace agentwatch::monitor {

void RollupStats::Add(double value) {
  ++count;
  sum += value;
  min = std::min(min, value);
  max = std::max(max, value);
}

void RollupStats::Merge(const RollupStats& other) {
  count += other.count;
  sum += other.sum;
  min = std::min(min, other.min);
  max = std::max(max, other.max);
}

bool RollupStats::operator==(const RollupStats& other) const {
  return count == other.count && sum == other.sum && min == other.min && max == other.max;
}

absl::Time MinuteBucket(absl::Time t) {
  return absl::UnixEpoch() + absl::Floor(t - absl::UnixEpoch(), absl::Minutes(1));
}

std::string CanonicalLabelText(const Labels& labels) {
  std::string text;
  for (const auto& [name, value] : labels) {
    absl::StrAppend(&text, name.size(), ":", name, value.size(), ":", value);
  }
  return text;
}

std::string SeriesKey(const Labels& labels) { return StableHash({CanonicalLabelText(labels)}); }

bool WorkflowKey::operator<(const WorkflowKey& other) const {
  return std::tie(tenant, workflow) < std::tie(other.tenant, other.workflow);
}

bool WorkflowKey::operator==(const WorkflowKey& other) const {
  return tenant == other.tenant && workflow == other.workflow;
}

std::string RecordId(const Event& event, const std::string& producer_id, uint64_t sequence,
                     size_t index) {
  if (!event.event_id.empty()) return event.event_id;
  return absl::StrCat(producer_id, ":", sequence, ":", index);
}

namespace {

// Floor division: the start of the minute of Unix second `seconds`.
int64_t MinuteStartSeconds(int64_t seconds) {
  int64_t minutes = seconds / 60;
  if (seconds % 60 < 0) --minutes;
  return minutes * 60;
}

void AppendRaw(std::string& out, absl::string_view bytes) {
  const uint32_t size = static_cast<uint32_t>(bytes.size());
  out.append(reinterpret_cast<const char*>(&size), sizeof(size));
  out.append(bytes.data(), bytes.size());
}

// The estimated memory of a cache entry: its key, the label map's nodes and
// strings, the canonical text, the series key and the hash slots.
size_t EntryBytes(absl::string_view key, const CanonicalLabelSet& set) {
  size_t bytes = 2 * key.size() + set.canonical.size() + set.series_key.size() + 256;
  for (const auto& [name, value] : set.labels) bytes += name.size() + value.size() + 96;
  return bytes;
}

}  // namespace

LabelSetCache::LabelSetCache(size_t max_bytes)
    : generation_bytes_(std::max<size_t>(max_bytes / 2, 1)) {}

std::shared_ptr<const CanonicalLabelSet> LabelSetCache::Find(const PrehashedView& raw_key) {
  Map dropped;
  std::shared_ptr<const CanonicalLabelSet> found;
  {
    absl::MutexLock lock(&mu_);
    if (const auto it = current_.find(raw_key); it != current_.end()) {
      ++stats_.hits;
      return it->second;
    }
    const auto it = previous_.find(raw_key);
    if (it == previous_.end()) {
      ++stats_.misses;
      return nullptr;
    }
    ++stats_.hits;
    // Still in use: move it into the current generation.
    found = it->second;
    const size_t bytes = EntryBytes(raw_key.bytes, *found);
    previous_bytes_ -= std::min(previous_bytes_, bytes);
    auto node = previous_.extract(it);
    dropped = AddCurrent(std::move(node.key()), found);
  }
  return found;
}

std::shared_ptr<const CanonicalLabelSet> LabelSetCache::Insert(
    const PrehashedView& raw_key, std::shared_ptr<const CanonicalLabelSet> set) {
  Map dropped;
  {
    absl::MutexLock lock(&mu_);
    if (const auto it = current_.find(raw_key); it != current_.end()) return it->second;
    if (const auto it = previous_.find(raw_key); it != previous_.end()) return it->second;
    dropped = AddCurrent(PrehashedKey{std::string(raw_key.bytes), raw_key.hash}, set);
  }
  return set;
}

LabelSetCache::Map LabelSetCache::AddCurrent(PrehashedKey key,
                                             std::shared_ptr<const CanonicalLabelSet> set) {
  const size_t bytes = EntryBytes(key.bytes, *set);
  current_.emplace(std::move(key), std::move(set));
  current_bytes_ += bytes;
  if (current_bytes_ <= generation_bytes_) return Map();
  // The current generation is full: it becomes the previous one.
  Map dropped = std::move(previous_);
  stats_.evicted += static_cast<int64_t>(dropped.size());
  previous_ = std::move(current_);
  previous_bytes_ = current_bytes_;
  current_ = Map();
  current_bytes_ = 0;
  return dropped;
}

LabelSetCache::Stats LabelSetCache::GetStats() const {
  absl::MutexLock lock(&mu_);
  Stats stats = stats_;
  stats.entries = current_.size() + previous_.size();
  stats.bytes = current_bytes_ + previous_bytes_;
  return stats;
}

BatchAggregator::BatchAggregator(absl::string_view producer_id, uint64_t sequence,
                                 size_t expected_events, LabelSetCache* cache)
    : producer_id_(producer_id), sequence_(sequence), cache_(cache) {
  // Up to ~2 cells per event (fewer as label sets repeat) and an LLM call in
  // every other event: reserving once saves the growth copies.
  cells_.reserve(2 * expected_events);
  cell_index_.reserve(2 * expected_events);
  // About one label set per event in the worst case (a bench batch): no
  // rehash while the batch's label sets arrive.
  by_raw_labels_.reserve(expected_events);
  by_set_.reserve(expected_events);
  usage_.reserve(expected_events / 2);
}

uint32_t BatchAggregator::LabelSetOf(absl::string_view tenant) {
  // The raw bytes AppendRaw would give, sized once and written in place
  // (not two appends per label).
  size_t size = sizeof(uint32_t) + tenant.size();
  for (const LabelView& label : samples_.labels) {
    size += 2 * sizeof(uint32_t) + label.name.size() + label.value.size();
  }
  raw_labels_.resize(size);
  char* out = raw_labels_.data();
  const auto put = [&out](absl::string_view bytes) {
    const uint32_t length = static_cast<uint32_t>(bytes.size());
    std::memcpy(out, &length, sizeof(length));
    if (!bytes.empty()) std::memcpy(out + sizeof(length), bytes.data(), bytes.size());
    out += sizeof(length) + bytes.size();
  };
  put(tenant);
  for (const LabelView& label : samples_.labels) {
    put(label.name);
    put(label.value);
  }
  // Hashed once, for the batch's map and the cache.
  const PrehashedView raw{raw_labels_, LabelSetCache::KeyHash(raw_labels_)};
  if (const auto it = by_raw_labels_.find(raw); it != by_raw_labels_.end()) return it->second;
  // A label set not seen in this batch in this form: from the cache, or
  // canonicalized here.
  std::shared_ptr<const CanonicalLabelSet> set;
  if (cache_ != nullptr) set = cache_->Find(raw);
  if (set == nullptr) {
    auto made = std::make_shared<CanonicalLabelSet>();
    made->tenant = KeyText::Named(tenant);  // equal to other sets' tenants without a compare
    for (const LabelView& label : samples_.labels) {
      made->labels[std::string(label.name)] = std::string(label.value);
    }
    made->canonical = CanonicalLabelText(made->labels);
    made->series_key = StableHash({made->canonical});
    made->canonical_hash = absl::Hash<absl::string_view>()(made->canonical);
    set = std::move(made);
    if (cache_ != nullptr) set = cache_->Insert(raw, std::move(set));
  }
  auto [it, inserted] = by_set_.emplace(set.get(), static_cast<uint32_t>(label_sets_.size()));
  if (inserted) label_sets_.push_back(std::move(set));
  by_raw_labels_.emplace(PrehashedView{KeepRaw(raw_labels_), raw.hash}, it->second);
  return it->second;
}

absl::string_view BatchAggregator::KeepRaw(absl::string_view bytes) {
  constexpr size_t kChunkBytes = 64 << 10;
  if (bytes.size() > raw_left_) {
    // A new chunk (the rest of the last one stays unused); a key larger
    // than a chunk gets one of its own.
    const size_t size = std::max(kChunkBytes, bytes.size());
    raw_chunks_.push_back(std::unique_ptr<char[]>(new char[size]));
    raw_free_ = raw_chunks_.back().get();
    raw_left_ = size;
  }
  char* const copy = raw_free_;
  if (!bytes.empty()) std::memcpy(copy, bytes.data(), bytes.size());
  raw_free_ += bytes.size();
  raw_left_ -= bytes.size();
  return absl::string_view(copy, bytes.size());
}

uint32_t BatchAggregator::MetricOf(absl::string_view metric) {
  // The built-in metrics' names are constants: the same pointer comes back
  // event after event. The hint only says which id to check; the name is
  // compared, so a pointer reused for another name finds its own id below.
  MetricHint& hint =
      metric_hints_[(reinterpret_cast<uintptr_t>(metric.data()) * 0x9E3779B97F4A7C15u) >>
                    (64 - kMetricHintBits)];
  if (hint.data != nullptr && hint.data == metric.data() &&
      absl::string_view(metrics_[hint.id]) == metric) {
    return hint.id;
  }
  uint32_t id;
  if (const auto it = metric_ids_.find(metric); it != metric_ids_.end()) {
    id = it->second;
  } else {
    id = static_cast<uint32_t>(metrics_.size());
    metrics_.push_back(KeyText::Named(metric));  // equal to other batches' copies at once
    metric_sketched_.push_back(HasQuantileSketch(metric));
    metric_ids_.emplace(metrics_.back(), id);
  }
  hint = {metric.data(), id};
  return id;
}

void BatchAggregator::Add(const EventView& event, size_t index) {
  ++event_count_;
  SampleViewsOfEvent(event, &samples_);
  const uint32_t label_set = LabelSetOf(event.tenant);
  const int64_t bucket = MinuteStartSeconds(absl::ToUnixSeconds(*event.time));
  for (const auto& [metric, value] : samples_.values) {
    const CellKey key{label_set, MetricOf(metric), bucket};
    auto [it, inserted] = cell_index_.emplace(key, static_cast<uint32_t>(cells_.size()));
    if (inserted) cells_.push_back(Cell{key, RollupStats{}, -1});
    Cell& cell = cells_[it->second];
    cell.stats.Add(value);
    if (metric_sketched_[key.metric]) {
      if (cell.sketch < 0) {
        cell.sketch = static_cast<int32_t>(sketches_.size());
        sketches_.emplace_back();
      }
      sketches_[static_cast<size_t>(cell.sketch)].Add(value);
    }
  }

  if (const auto* run = std::get_if<WorkflowRunView>(&event.kind)) {
    workflow_key_.clear();
    AppendRaw(workflow_key_, event.tenant);
    AppendRaw(workflow_key_, run->workflow);
    if (workflows_seen_.insert(workflow_key_).second) {
      workflows_.push_back({std::string(event.tenant), std::string(run->workflow)});
    }
  } else if (const auto* call = std::get_if<LlmCallView>(&event.kind)) {
    LlmUsageRecord& record = usage_.emplace_back();
    record.record_id = event.event_id.empty()
                           ? absl::StrCat(producer_id_, ":", sequence_, ":", index)
                           : std::string(event.event_id);
    record.time = *event.time;
    record.tenant = std::string(event.tenant);
    record.team = std::string(call->team);
    record.workflow = std::string(call->workflow);
    record.agent = std::string(call->agent);
    record.provider = std::string(call->provider);
    record.model = std::string(call->model);
    record.run_id = std::string(call->run_id);
    record.input_tokens = call->input_tokens;
    record.output_tokens = call->output_tokens;
    record.cached_input_tokens = call->cached_input_tokens;
    record.cache_creation_tokens = call->cache_creation_tokens;
  }
}

BatchAggregate BatchAggregator::Finish() {
  BatchAggregate out;
  out.event_count = event_count_;

  // Ranks instead of string comparisons: label sets by (tenant, series key),
  // metrics by name. Distinct label sets have distinct canonical texts, so
  // the rank order is the order of (tenant, series_key).
  std::vector<uint32_t> set_order(label_sets_.size());
  for (uint32_t i = 0; i < set_order.size(); ++i) set_order[i] = i;
  std::sort(set_order.begin(), set_order.end(), [this](uint32_t a, uint32_t b) {
    const CanonicalLabelSet& x = *label_sets_[a];
    const CanonicalLabelSet& y = *label_sets_[b];
    const int tenant = CompareKeyText(x.tenant, y.tenant);
    return tenant != 0 ? tenant < 0 : CompareKeyText(x.series_key, y.series_key) < 0;
  });
  // tenant_rank[set] orders tenants; set_rank[set] orders (tenant, key).
  std::vector<uint32_t> set_rank(label_sets_.size()), tenant_rank(label_sets_.size());
  uint32_t tenant = 0;
  for (uint32_t r = 0; r < set_order.size(); ++r) {
    if (r > 0 && label_sets_[set_order[r]]->tenant != label_sets_[set_order[r - 1]]->tenant) {
      ++tenant;
    }
    set_rank[set_order[r]] = r;
    tenant_rank[set_order[r]] = tenant;
  }
  std::vector<uint32_t> metric_order(metrics_.size());
  for (uint32_t i = 0; i < metric_order.size(); ++i) metric_order[i] = i;
  std::sort(metric_order.begin(), metric_order.end(),
            [this](uint32_t a, uint32_t b) { return metrics_[a] < metrics_[b]; });
  std::vector<uint32_t> metric_rank(metrics_.size());
  for (uint32_t r = 0; r < metric_order.size(); ++r) metric_rank[metric_order[r]] = r;

  // Cells in (tenant, metric, series_key, bucket) order: sorted by one
  // integer of the three ranks (mixed radix: tenant, metric, label set) and
  // the bucket, held next to the cell's index, so a comparison reads no
  // other array. The radix product fits 64 bits for any batch the limits
  // admit; were it larger, the ranks are compared one by one.
  const unsigned __int128 radix = static_cast<unsigned __int128>(tenant + 1) *
                                  metrics_.size() * std::max<size_t>(label_sets_.size(), 1);
  struct Ordered {
    uint64_t rank;
    int64_t bucket;
    uint32_t cell;
  };
  std::vector<Ordered> ordered(cells_.size());
  const bool packed = radix <= std::numeric_limits<uint64_t>::max();
  for (uint32_t i = 0; i < ordered.size(); ++i) {
    const CellKey& key = cells_[i].key;
    ordered[i].rank =
        packed ? (uint64_t{tenant_rank[key.label_set]} * metrics_.size() + metric_rank[key.metric]) *
                         label_sets_.size() +
                     set_rank[key.label_set]
               : 0;
    ordered[i].bucket = key.bucket;
    ordered[i].cell = i;
  }
  if (packed) {
    std::sort(ordered.begin(), ordered.end(), [](const Ordered& a, const Ordered& b) {
      return a.rank != b.rank ? a.rank < b.rank : a.bucket < b.bucket;
    });
  } else {
    auto rank = [&](const CellKey& key) {
      return std::make_tuple(tenant_rank[key.label_set], metric_rank[key.metric],
                             set_rank[key.label_set], key.bucket);
    };
    std::sort(ordered.begin(), ordered.end(), [&](const Ordered& a, const Ordered& b) {
      return rank(cells_[a.cell].key) < rank(cells_[b.cell].key);
    });
  }
  std::vector<uint32_t> order(cells_.size());
  for (size_t r = 0; r < order.size(); ++r) order[r] = ordered[r].cell;

  out.rollups.reserve(cells_.size());
  size_t series = 0;
  for (size_t r = 0; r < order.size(); ++r) {
    const CellKey& key = cells_[order[r]].key;
    const CellKey* previous = r == 0 ? nullptr : &cells_[order[r - 1]].key;
    if (previous == nullptr || previous->label_set != key.label_set ||
        previous->metric != key.metric) {
      ++series;
    }
  }
  out.series.reserve(series);
  const Cell* previous = nullptr;
  for (const uint32_t i : order) {
    const Cell& cell = cells_[i];
    const CanonicalLabelSet& set = *label_sets_[cell.key.label_set];
    const KeyText& metric = metrics_[cell.key.metric];
    RollupDelta& delta = out.rollups.emplace_back();
    delta.tenant = set.tenant;
    delta.metric = metric;
    delta.series_key = set.series_key;
    delta.bucket = absl::FromUnixSeconds(cell.key.bucket);
    delta.stats = cell.stats;
    if (cell.sketch >= 0) delta.sketch = std::move(sketches_[static_cast<size_t>(cell.sketch)]);
    // A series' cells are consecutive: one record per run of them.
    if (previous == nullptr || previous->key.label_set != cell.key.label_set ||
        previous->key.metric != cell.key.metric) {
      out.series.push_back({set.tenant, metric, set.series_key,
                            std::shared_ptr<const Labels>(label_sets_[cell.key.label_set],
                                                          &set.labels)});
    }
    previous = &cell;
  }

  std::sort(workflows_.begin(), workflows_.end());
  out.workflows = std::move(workflows_);
  out.usage = std::move(usage_);
  return out;
}

BatchAggregate AggregateBatch(const Batch& batch) {
  BatchAggregator aggregator(batch.producer_id, batch.sequence, batch.events.size());
  for (size_t i = 0; i < batch.events.size(); ++i) aggregator.Add(ViewOf(batch.events[i]), i);
  return aggregator.Finish();
}

}  // namespace agentwatch::monitor
