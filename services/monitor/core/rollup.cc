#include "monitor/core/rollup.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>

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

// Distinct label sets of a batch, interned by canonical text so that each is
// hashed once however many events and metrics share it.
struct LabelSetEntry {
  std::string tenant;
  Labels labels;
  std::string series_key;
};

// What a batch adds to one (label set, metric, bucket).
struct Cell {
  RollupStats stats;
  std::optional<QuantileSketch> sketch;
};

}  // namespace

BatchAggregate AggregateBatch(const Batch& batch) {
  BatchAggregate out;
  out.event_count = static_cast<int64_t>(batch.events.size());

  std::unordered_map<std::string, size_t> label_set_index;
  std::vector<LabelSetEntry> label_sets;
  // (label set, metric, bucket) -> stats. Metric names point into static
  // storage or into `batch`, which outlives this function.
  std::map<std::tuple<size_t, absl::string_view, int64_t>, Cell> cells;

  for (size_t i = 0; i < batch.events.size(); ++i) {
    const Event& event = batch.events[i];
    EventSamples samples = SamplesOfEvent(event);
    std::string text = CanonicalLabelText(samples.labels);
    auto [it, inserted] = label_set_index.emplace(std::move(text), label_sets.size());
    if (inserted) {
      label_sets.push_back({event.tenant, std::move(samples.labels), StableHash({it->first})});
    }
    const int64_t bucket = absl::ToUnixSeconds(MinuteBucket(*event.time));
    for (const auto& [metric, value] : samples.values) {
      Cell& cell = cells[{it->second, metric, bucket}];
      cell.stats.Add(value);
      if (HasQuantileSketch(metric)) {
        if (!cell.sketch.has_value()) cell.sketch.emplace();
        cell.sketch->Add(value);
      }
    }

    if (const auto* run = std::get_if<WorkflowRun>(&event.kind)) {
      out.workflows.push_back({event.tenant, run->workflow});
    } else if (const auto* call = std::get_if<LlmCall>(&event.kind)) {
      LlmUsageRecord record;
      record.record_id = RecordId(event, batch.producer_id, batch.sequence, i);
      record.time = *event.time;
      record.tenant = event.tenant;
      record.team = call->team;
      record.workflow = call->workflow;
      record.agent = call->agent;
      record.provider = call->provider;
      record.model = call->model;
      record.run_id = call->run_id;
      record.input_tokens = call->input_tokens;
      record.output_tokens = call->output_tokens;
      record.cached_input_tokens = call->cached_input_tokens;
      record.cache_creation_tokens = call->cache_creation_tokens;
      out.usage.push_back(std::move(record));
    }
  }

  std::sort(out.workflows.begin(), out.workflows.end());
  out.workflows.erase(std::unique(out.workflows.begin(), out.workflows.end()), out.workflows.end());

  std::map<std::tuple<std::string, std::string, std::string>, size_t> series_seen;
  out.rollups.reserve(cells.size());
  for (auto& [id, cell] : cells) {
    const auto& [set, metric, bucket] = id;
    const LabelSetEntry& entry = label_sets[set];
    out.rollups.push_back({entry.tenant, std::string(metric), entry.series_key,
                           absl::FromUnixSeconds(bucket), cell.stats, std::move(cell.sketch)});
    series_seen.emplace(std::make_tuple(entry.tenant, std::string(metric), entry.series_key), set);
  }
  auto key = [](const RollupDelta& d) {
    return std::tie(d.tenant, d.metric, d.series_key, d.bucket);
  };
  std::sort(out.rollups.begin(), out.rollups.end(),
            [&key](const RollupDelta& a, const RollupDelta& b) { return key(a) < key(b); });

  out.series.reserve(series_seen.size());
  for (const auto& [id, set] : series_seen) {
    const auto& [tenant, metric, series_key] = id;
    out.series.push_back({tenant, metric, series_key, label_sets[set].labels});
  }
  return out;
}

}  // namespace agentwatch::monitor
