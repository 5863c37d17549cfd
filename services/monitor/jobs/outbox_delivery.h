// Outbox handlers that deliver the monitor's messages to its peers: alerts
// as one incident.ReportAlerts call per outbox batch, usage records as one
// cost.RecordUsage call per outbox batch.
#pragma once

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
// CostService.RecordUsage.
common::OutboxHandler MakeRecordUsageHandler(cost::v1::CostService::StubInterface& stub,
                                             absl::Duration deadline);

}  // namespace agentwatch::monitor
