// Encoding helpers of the Postgres usage ledger (see
// migrations/004_narrow_ledger.sql): the COPY text of a timestamp and the
// in-process key of a record's dimension combination.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cost/core/usage.h"

namespace agentwatch::cost {

// Appends `t` as common::PgTimestamp formats it ("2026-01-31T23:59:59.123456Z",
// UTC, microseconds truncated toward the past), without its per-call time
// zone machinery: the ledger COPY formats two timestamps per record.
void AppendPgTimestamp(std::string* out, absl::Time t);

// A key equal for two records exactly when they have the same tenant and
// the same dimension combination (kind, team, workflow, agent, model,
// provider, service, tags, infra resource and sku): every field
// length-prefixed, tags in key order.
std::string DimsCacheKey(const UsageRecord& record);
// Appends DimsCacheKey(record) to `out` (no allocation when `out` has room).
void AppendDimsCacheKey(std::string* out, const UsageRecord& record);

}  // namespace agentwatch::cost
