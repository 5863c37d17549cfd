// Outbox handlers that deliver the monitor's messages to its peers: alerts
// as one incident.ReportAlerts call per outbox batch, usage records in
// cost.RecordUsage calls.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <memory>

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
// see PackUsage) to CostService.RecordUsage over `channel` with `deadline`:
// consecutive entries go in one call while it holds at most
// kUsageRecordsPerCall records (an entry holding more, which PackUsage never
// writes, is split), and the call's request is the stored payloads as they
// are (on the wire, concatenated RecordUsageRequests are the request holding
// all their records), so a payload is parsed once to check it and never
// serialized again. OK when the peer accepted every call; the first failing
// call's error otherwise (the dispatcher retries the entries; the cost
// service counts a record once by tenant and record_id, so records of calls
// that succeeded before are not counted again). A call rejected as
// INVALID_ARGUMENT is resent record by record and the records rejected on
// their own are dropped (logged); so are payloads that do not parse.
common::OutboxHandler MakeRecordUsageBatchHandler(std::shared_ptr<grpc::ChannelInterface> channel,
                                                  absl::Duration deadline);

}  // namespace agentwatch::monitor
