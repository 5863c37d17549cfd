// Encoding helpers of the Postgres usage ledger (see
// migrations/004_narrow_ledger.sql): the in-process key of a record's
// dimension combination. (Timestamps: common::AppendPgTimestamp.)
#pragma once

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

}  // namespace agentwatch::cost
