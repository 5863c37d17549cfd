// The payloads the monitor enqueues in its outbox: serialized
// agentwatch.incident.v1.Alert (destination incident.ReportAlerts) and
// agentwatch.cost.v1.UsageRecord (destination cost.RecordUsage).
#pragma once

#include <string>

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

}  // namespace agentwatch::monitor
