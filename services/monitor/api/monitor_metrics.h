// The monitor's own Prometheus metrics, declared once over the runtime's
// registry:
//   agentwatch_monitor_events_ingested_total
//   agentwatch_monitor_events_rejected_total{reason}
//   agentwatch_monitor_ingest_batches_total{result}
//   agentwatch_monitor_alerts_transitions_total{status}
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <string>

#include "monitor/core/rules.h"
#include "monitor/core/validation.h"

namespace agentwatch::monitor {

// Thread-safe (prometheus-cpp counters are).
struct MonitorMetrics {
  // `prefix` is the runtime's metric prefix, "agentwatch_monitor".
  MonitorMetrics(prometheus::Registry& registry, const std::string& prefix);

  // A batch committed with `events` events.
  void BatchAccepted(int64_t events);
  // A replayed batch acknowledged without writing.
  void BatchDuplicate();
  // A batch of `events` events rejected for `reason`.
  void BatchRejected(RejectReason reason, int64_t events);
  // Alert transitions made while committing a batch or sweeping.
  void AlertTransitions(const RuleOutcome& outcome);

  prometheus::Counter& events_ingested;
  prometheus::Family<prometheus::Counter>& events_rejected;
  prometheus::Family<prometheus::Counter>& ingest_batches;
  prometheus::Family<prometheus::Counter>& alert_transitions;
};

}  // namespace agentwatch::monitor
