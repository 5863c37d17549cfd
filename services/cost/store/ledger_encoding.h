// Encoding helpers of the Postgres usage ledger (see
// migrations/004_narrow_ledger.sql): the in-process key of a record's
// dimension combination.
#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "cost/core/usage.h"

namespace agentwatch::cost {

// A key equal for two records exactly when they have the same tenant and
// the same dimension combination (kind, team, workflow, agent, model,
// provider, service, tags, infra resource and sku): every field prefixed
// with its length (4 bytes), tags in key order. An in-process key only (never
// stored), so its encoding may change between versions.
std::string DimsCacheKey(const UsageRecord& record);
// Appends DimsCacheKey(record) to `out` (no allocation when `out` has room).
void AppendDimsCacheKey(std::string* out, const UsageRecord& record);

// A record's dimension combination, looked up among DimsCacheKey strings
// without building its key (see DimsCacheKeyHash). `record` must outlive it.
struct DimsOf {
  const UsageRecord* record;
};

// Hash and equality of a map keyed by DimsCacheKey strings that also finds a
// DimsOf: the hash of DimsOf{&r} equals that of DimsCacheKey(r), and
// DimsOf{&r} equals a key exactly when DimsCacheKey(r) does. A string that
// is not a DimsCacheKey equals no DimsOf.
struct DimsCacheKeyHash {
  using is_transparent = void;
  size_t operator()(absl::string_view key) const;
  size_t operator()(const DimsOf& dims) const;
};
struct DimsCacheKeyEq {
  using is_transparent = void;
  bool operator()(absl::string_view a, absl::string_view b) const { return a == b; }
  bool operator()(absl::string_view key, const DimsOf& dims) const;
  bool operator()(const DimsOf& dims, absl::string_view key) const { return (*this)(key, dims); }
};

}  // namespace agentwatch::cost
