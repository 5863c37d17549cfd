// agentwatch.monitor.v1 messages <-> the core's types. Only wire-level
// problems (malformed Timestamp / Duration) are reported here; every domain
// rule is checked by the core.
#pragma once

#include <cstddef>
#include <vector>

#include "absl/status/statusor.h"
#include "agentwatch/common/v1/common.pb.h"
#include "agentwatch/monitor/v1/monitor.pb.h"
#include "monitor/core/alert_rules.h"
#include "monitor/core/alerting.h"
#include "monitor/core/health.h"
#include "monitor/core/query.h"
#include "monitor/core/thresholds.h"
#include "monitor/core/types.h"

namespace agentwatch::monitor {

// Event `index` of a batch: EventViewFromProto's view (ingest_batch.h),
// copied. INVALID_ARGUMENT naming the field ("events[3].llm_call.latency")
// for a malformed Timestamp or Duration.
absl::StatusOr<Event> EventFromProto(const v1::Event& proto, size_t index);

// A Scope as a HealthScope and back.
HealthScope ScopeFromProto(const agentwatch::common::v1::Scope& proto);
void ScopeToProto(const HealthScope& scope, agentwatch::common::v1::Scope* proto);

// The overrides of a SetHealthThresholds request (read-only fields ignored).
ScopeThresholds ThresholdsFromProto(const v1::HealthThresholds& proto);

// Stored overrides as a HealthThresholds message (directions from the
// defaults, update_time set).
void StoredThresholdsToProto(const ScopeThresholds& stored, v1::HealthThresholds* proto);

// The effective thresholds of `scope` as a HealthThresholds message, one
// entry per indicator in the defaults' order; update_time when set.
void EffectiveThresholdsToProto(const HealthScope& scope,
                                const std::vector<EffectiveThreshold>& effective,
                                std::optional<absl::Time> update_time, v1::HealthThresholds* proto);

// An AlertRule message as the core's rule (not yet normalized or
// validated). INVALID_ARGUMENT naming the field for a malformed Duration or
// a missing condition ("rule.threshold: required"). An anomaly condition
// makes an anomaly rule (MakeAnomalyRule).
absl::StatusOr<AlertRule> AlertRuleFromProto(const v1::AlertRule& proto);

// Fills `proto` from `rule`.
void AlertRuleToProto(const AlertRule& rule, v1::AlertRule* proto);

// Fills `proto` from an active (pending or firing) alert.
void ActiveAlertToProto(const AlertState& state, v1::ActiveAlert* proto);

// Fills `proto` from `report`.
void HealthReportToProto(const HealthReport& report, v1::HealthReport* proto);

// The QuerySeries request as the core takes it. INVALID_ARGUMENT naming
// "range.start", "range.end" or "step" when malformed.
absl::StatusOr<SeriesQueryRequest> SeriesQueryFromProto(const v1::QuerySeriesRequest& proto);

// Fills `proto` with `series`.
void SeriesToProto(const std::vector<SeriesResult>& series, v1::QuerySeriesResponse* proto);

}  // namespace agentwatch::monitor
