// The incident service's own metrics, over an injected registry:
//   agentwatch_incident_alerts_received_total{status="firing"|"resolved"}
//   agentwatch_incident_incidents_opened_total
//   agentwatch_incident_alert_duplicates_total
#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <string>

#include "incident/core/intake.h"

namespace agentwatch::incident {

// Thread-safe (prometheus counters are).
class IncidentMetrics {
 public:
  // `prefix` is the service's metric prefix, "agentwatch_incident".
  IncidentMetrics(prometheus::Registry& registry, const std::string& prefix);

  // Counts a committed ReportAlerts batch.
  void RecordIntake(const IntakeSummary& summary);

  // Counts incidents the auto-resolve worker resolved.
  void RecordAutoResolved(int64_t incidents);

 private:
  prometheus::Family<prometheus::Counter>& received_;
  prometheus::Counter& received_firing_;
  prometheus::Counter& received_resolved_;
  prometheus::Counter& incidents_opened_;
  prometheus::Counter& duplicates_;
  prometheus::Counter& silenced_;
  prometheus::Counter& auto_resolved_;
};

}  // namespace agentwatch::incident
