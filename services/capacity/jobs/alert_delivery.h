// Delivery of the capacity service's outbox: breach alerts to the incident
// service as one ReportAlerts call per outbox batch.
#pragma once

#include "absl/time/time.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/outbox.h"

namespace agentwatch::capacity {

// Delivers entries whose payloads are serialized agentwatch.incident.v1.Alert
// in one ReportAlerts call with `deadline`. OK when the peer accepted them;
// the peer's error otherwise (the dispatcher retries with backoff; incident
// is idempotent by fingerprint, status and start time, so a resend is a
// duplicate there). When the peer rejects the batch as INVALID_ARGUMENT, the
// alerts are resent one by one and those rejected on their own are dropped
// (logged), so one bad message cannot block the rest; so are payloads that do
// not parse. `stub` must outlive the handler.
common::OutboxHandler MakeReportAlertsHandler(incident::v1::IncidentService::StubInterface& stub,
                                              absl::Duration deadline);

}  // namespace agentwatch::capacity
