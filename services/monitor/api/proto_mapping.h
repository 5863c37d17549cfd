// agentwatch.monitor.v1 messages <-> the core's types. Only wire-level
// problems (malformed Timestamp / Duration) are reported here; every domain
// rule is checked by the core.
#pragma once

#include <cstddef>
#include <vector>

#include "absl/status/statusor.h"
#include "agentwatch/common/v1/common.pb.h"
#include "agentwatch/monitor/v1/monitor.pb.h"
#include "monitor/core/health.h"
#include "monitor/core/query.h"
#include "monitor/core/types.h"

namespace agentwatch::monitor {

// Event `index` of a batch. INVALID_ARGUMENT naming the field
// ("events[3].llm_call.latency") for a malformed Timestamp or Duration.
absl::StatusOr<Event> EventFromProto(const v1::Event& proto, size_t index);

// A Scope as a HealthScope and back.
HealthScope ScopeFromProto(const agentwatch::common::v1::Scope& proto);
void ScopeToProto(const HealthScope& scope, agentwatch::common::v1::Scope* proto);

// Fills `proto` from `report`.
void HealthReportToProto(const HealthReport& report, v1::HealthReport* proto);

// The QuerySeries request as the core takes it. INVALID_ARGUMENT naming
// "range.start", "range.end" or "step" when malformed.
absl::StatusOr<SeriesQueryRequest> SeriesQueryFromProto(const v1::QuerySeriesRequest& proto);

// Fills `proto` with `series`.
void SeriesToProto(const std::vector<SeriesResult>& series, v1::QuerySeriesResponse* proto);

}  // namespace agentwatch::monitor
