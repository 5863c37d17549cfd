// Outbox handlers that deliver the monitor's messages to its peers: alerts
// as one incident.ReportAlerts call per outbox batch, usage records in
// cost.RecordUsage calls.
#pragma once

#include <cstddef>

#include "absl/time/time.h"
#include "agentwatch/cost/v1/cost.grpc.pb.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/outbox.h"

namespace agentwatch::monitor {

// Delivers entries whose payloads are serialized agentwatch.incident.v1.Alert
// in one ReportAlerts call with `deadline`. OK when the peer accepted them;
// the peer's error otherwise (the dispatcher retries with backoff). When the
// peer rejects the batch as INVALID_ARGUMENT, the entries are resent one by
// one and those it rejects on their own are dropped (logged) so that one bad
// message cannot block the rest forever; so are payloads that do not parse.
// `stub` must outlive the handler.
common::OutboxHandler MakeReportAlertsHandler(incident::v1::IncidentService::StubInterface& stub,
                                              absl::Duration deadline);

// The same for serialized agentwatch.cost.v1.UsageRecord payloads and
// CostService.RecordUsage (destination cost.RecordUsage, written by monitors
// before usage was packed).
common::OutboxHandler MakeRecordUsageHandler(cost::v1::CostService::StubInterface& stub,
                                             absl::Duration deadline);

// Most usage records MakeRecordUsageBatchHandler sends in one RecordUsage
// call (the cost service takes up to 10,000).
inline constexpr size_t kUsageRecordsPerCall = 5000;

// Delivers entries whose payloads are serialized
// agentwatch.cost.v1.RecordUsageRequest (destination cost.RecordUsageBatch,
// see PackUsage): the records of all entries, in order, in RecordUsage calls
// of at most kUsageRecordsPerCall records with `deadline`. OK when the peer
// accepted every call; the first failing call's error otherwise (the
// dispatcher retries the entries; the cost service counts a record once by
// tenant and record_id, so records of calls that succeeded before are not
// counted again). A call rejected as INVALID_ARGUMENT is resent record by
// record and the records rejected on their own are dropped (logged); so are
// payloads that do not parse. `stub` must outlive the handler.
common::OutboxHandler MakeRecordUsageBatchHandler(cost::v1::CostService::StubInterface& stub,
                                                  absl::Duration deadline);

}  // namespace agentwatch::monitor
