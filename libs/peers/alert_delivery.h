// Delivery of outbox alerts to the incident service, shared by every service
// that raises alerts through its outbox (cost's budget alerts, capacity's
// forecast breaches).
#pragma once

#include <string>

#include "absl/time/time.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/outbox.h"

namespace agentwatch::peers {

// Delivers entries whose payloads are serialized agentwatch.incident.v1.Alert
// in one ReportAlerts call with `deadline`. OK when the peer accepted them;
// the peer's error otherwise (the dispatcher retries with backoff; incident
// is idempotent by fingerprint, status and start time, so a resend is a
// duplicate there). When the peer rejects the batch as INVALID_ARGUMENT, the
// alerts are resent one by one and those rejected on their own are dropped
// (logged), so one bad message cannot block the rest; so are payloads that do
// not parse. `what` names the alerts in logs ("budget alert"). `stub` must
// outlive the handler.
common::OutboxHandler MakeReportAlertsHandler(incident::v1::IncidentService::StubInterface& stub,
                                              absl::Duration deadline, std::string what);

}  // namespace agentwatch::peers
