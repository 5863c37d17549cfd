#include "monitor/store/journal_cells.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/proto_wire.h"

namespace agentwatch::monitor {
namespace {

using common::wire::AppendVarint;
using common::wire::kMaxVarintBytes;
using common::wire::WriteVarint;

// In-place forms of a double's 8 bytes and of PutString (common::wire::WriteVarint
// is the varint's): write at `p`, return the end.
char* WriteDouble(double value, char* p) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((bits >> (8 * i)) & 0xff);
  return p + 8;
}

char* WriteBytes(absl::string_view s, char* p) {
  p = WriteVarint(s.size(), p);
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

void PutString(std::string& out, absl::string_view s) {
  AppendVarint(s.size(), &out);
  out.append(s.data(), s.size());
}

// Reads from the front of `in`; every Get fails (false) past its end.
class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}

  bool Varint(uint64_t* value) {
    *value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return false;
      const uint8_t byte = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }
  bool Double(double* value) {
    if (in_.size() < 8) return false;
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i)
      bits |= static_cast<uint64_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
    in_.remove_prefix(8);
    std::memcpy(value, &bits, sizeof(bits));
    return true;
  }
  bool String(absl::string_view* s) {
    uint64_t size = 0;
    if (!Varint(&size) || size > in_.size()) return false;
    *s = in_.substr(0, size);
    in_.remove_prefix(size);
    return true;
  }
  bool empty() const { return in_.empty(); }
  size_t left() const { return in_.size(); }

 private:
  absl::string_view in_;
};

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("ingest journal cells: ", what));
}

}  // namespace

std::string EncodeJournalCells(const std::vector<const RollupDelta*>& cells) {
  // Cells usually come in runs of one metric (a group's are in (metric,
  // series_key, bucket) order): the map is consulted once per run.
  std::map<absl::string_view, uint64_t> metric_index;
  std::vector<absl::string_view> metrics;
  std::vector<uint64_t> cell_metric(cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    const KeyText& metric = cells[i]->metric;
    if (i > 0 && metric == cells[i - 1]->metric) {
      cell_metric[i] = cell_metric[i - 1];
      continue;
    }
    const auto [it, inserted] = metric_index.emplace(metric.view(), metrics.size());
    if (inserted) metrics.push_back(metric);
    cell_metric[i] = it->second;
  }
  std::string out;
  out.reserve(16 + cells.size() * 72);
  out.push_back(kJournalCellsVersion);
  AppendVarint(metrics.size(), &out);
  for (absl::string_view metric : metrics) PutString(out, metric);
  AppendVarint(cells.size(), &out);
  // The cells are written in place (not a push_back per byte): `out` grows
  // ahead of `used` by at least a cell's largest encoding and is cut to
  // `used` at the end.
  size_t used = out.size();
  std::string sketch;  // reused: one serialization buffer for every cell
  for (size_t i = 0; i < cells.size(); ++i) {
    const RollupDelta* cell = cells[i];
    sketch.clear();
    if (cell->sketch.has_value()) cell->sketch->AppendSerialized(&sketch);
    const absl::string_view key = cell->series_key;
    // Four varints with a length prefix each for key and sketch, 3 doubles.
    const size_t most = 6 * kMaxVarintBytes + 3 * 8 + key.size() + sketch.size();
    if (out.size() < used + most) out.resize(std::max(2 * out.size(), used + most));
    char* const start = out.data() + used;
    char* p = start;
    p = WriteVarint(cell_metric[i], p);
    p = WriteBytes(key, p);
    p = WriteVarint(static_cast<uint64_t>(absl::ToUnixSeconds(cell->bucket)), p);
    p = WriteVarint(static_cast<uint64_t>(cell->stats.count), p);
    p = WriteDouble(cell->stats.sum, p);
    p = WriteDouble(cell->stats.min, p);
    p = WriteDouble(cell->stats.max, p);
    p = WriteBytes(sketch, p);
    used += static_cast<size_t>(p - start);
  }
  out.resize(used);
  return out;
}

absl::StatusOr<std::vector<RollupDelta>> DecodeJournalCells(const std::string& tenant,
                                                            absl::string_view bytes) {
  if (bytes.empty() || bytes[0] != kJournalCellsVersion) return Corrupt("unknown version");
  Reader in(bytes.substr(1));
  uint64_t metric_count = 0;
  if (!in.Varint(&metric_count) || metric_count > in.left()) return Corrupt("truncated metrics");
  // One copy of each name and of the tenant, shared by the cells.
  const KeyText tenant_text(tenant);
  std::vector<KeyText> metrics;
  metrics.reserve(metric_count);
  for (uint64_t i = 0; i < metric_count; ++i) {
    absl::string_view metric;
    if (!in.String(&metric)) return Corrupt("truncated metric name");
    metrics.emplace_back(metric);
  }
  uint64_t cell_count = 0;
  // A cell takes at least 28 bytes (three doubles and four varints).
  if (!in.Varint(&cell_count) || cell_count > in.left() / 28) return Corrupt("bad cell count");
  std::vector<RollupDelta> cells(cell_count);
  for (RollupDelta& cell : cells) {
    uint64_t metric = 0, bucket = 0, count = 0;
    absl::string_view key, sketch;
    if (!in.Varint(&metric) || !in.String(&key) || !in.Varint(&bucket) || !in.Varint(&count) ||
        !in.Double(&cell.stats.sum) || !in.Double(&cell.stats.min) || !in.Double(&cell.stats.max) ||
        !in.String(&sketch)) {
      return Corrupt("truncated cell");
    }
    if (metric >= metrics.size()) return Corrupt("metric index out of range");
    if (count > static_cast<uint64_t>(INT64_MAX) || bucket > static_cast<uint64_t>(INT64_MAX)) {
      return Corrupt("count or bucket out of range");
    }
    cell.tenant = tenant_text;
    cell.metric = metrics[metric];
    cell.series_key = KeyText(key);
    cell.bucket = absl::FromUnixSeconds(static_cast<int64_t>(bucket));
    cell.stats.count = static_cast<int64_t>(count);
    if (!sketch.empty()) {
      absl::StatusOr<QuantileSketch> parsed = QuantileSketch::Deserialize(sketch);
      if (!parsed.ok()) return Corrupt(absl::StrCat("sketch: ", parsed.status().message()));
      cell.sketch = std::move(*parsed);
    }
  }
  if (!in.empty()) return Corrupt("trailing bytes");
  return cells;
}

}  // namespace agentwatch::monitor
