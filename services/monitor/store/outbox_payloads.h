// The payloads the monitor enqueues in its outbox: serialized
// agentwatch.incident.v1.Alert (destination incident.ReportAlerts) and
// agentwatch.cost.v1.RecordUsageRequest (destination cost.RecordUsageBatch;
// older outboxes may still hold single agentwatch.cost.v1.UsageRecord
// messages of destination cost.RecordUsage).
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/outbox.h"
#include "monitor/core/alerting.h"
#include "monitor/core/rollup.h"

namespace agentwatch::monitor {

// The serialized agentwatch.incident.v1.Alert of `notice`: fingerprint,
// name, severity, tenant, labels, annotations, starts_at, ends_at (when
// resolved), status FIRING / RESOLVED and source.
std::string SerializeAlert(const AlertNotice& notice);

// The serialized agentwatch.cost.v1.UsageRecord of `record`: record_id,
// time, scope {tenant, team, workflow, agent, model, provider}, run_id and
// llm {provider, model, tokens, requests = 1}.
std::string SerializeUsage(const LlmUsageRecord& record);

// The outbox idempotency key of a usage record: tenant and record_id, the
// cost service's own idempotency key.
std::string UsageIdempotencyKey(const LlmUsageRecord& record);

// Most usage records in one packed message (the cost service takes up to
// 10,000 per RecordUsage call).
inline constexpr size_t kMaxUsagePerMessage = 5000;

// The outbox messages (destination kCostBatchDestination) of the usage
// records one transaction commits: per tenant, in order of first appearance,
// its records in their order, at most kMaxUsagePerMessage per message, each
// payload a serialized agentwatch.cost.v1.RecordUsageRequest. A record whose
// UsageIdempotencyKey repeats one before it is left out (the cost service
// counts a record once by tenant and record_id anyway). `origin` names the
// writer uniquely among every transaction that ever packs usage (a claimed
// batch's producer_id and sequence): message i of a tenant has the
// idempotency key "<len>:<tenant>/<origin>#<i>".
std::vector<common::OutboxMessage> PackUsage(const std::vector<LlmUsageRecord>& usage,
                                             absl::string_view origin);

// PackUsage of the concatenation of `runs`, in order (the usage of a group
// commit's batches, without copying it into one vector).
std::vector<common::OutboxMessage> PackGroupUsage(
    const std::vector<const std::vector<LlmUsageRecord>*>& runs, absl::string_view origin);

}  // namespace agentwatch::monitor
