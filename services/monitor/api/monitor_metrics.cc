#include "monitor/api/monitor_metrics.h"

namespace agentwatch::monitor {

MonitorMetrics::MonitorMetrics(prometheus::Registry& registry, const std::string& prefix)
    : events_ingested(prometheus::BuildCounter()
                          .Name(prefix + "_events_ingested_total")
                          .Help("Events committed from accepted batches")
                          .Register(registry)
                          .Add({})),
      events_rejected(prometheus::BuildCounter()
                          .Name(prefix + "_events_rejected_total")
                          .Help("Events of rejected batches, by reason")
                          .Register(registry)),
      ingest_batches(prometheus::BuildCounter()
                         .Name(prefix + "_ingest_batches_total")
                         .Help("Ingest batches by result: accepted, duplicate, rejected, error")
                         .Register(registry)),
      alert_transitions(prometheus::BuildCounter()
                            .Name(prefix + "_alerts_transitions_total")
                            .Help("Alert transitions by status: firing, resolved")
                            .Register(registry)) {}

void MonitorMetrics::BatchAccepted(int64_t events) {
  ingest_batches.Add({{"result", "accepted"}}).Increment();
  events_ingested.Increment(static_cast<double>(events));
}

void MonitorMetrics::BatchDuplicate() { ingest_batches.Add({{"result", "duplicate"}}).Increment(); }

void MonitorMetrics::BatchRejected(RejectReason reason, int64_t events) {
  ingest_batches.Add({{"result", reason == RejectReason::kStoreError ? "error" : "rejected"}})
      .Increment();
  events_rejected.Add({{"reason", RejectReasonLabel(reason)}})
      .Increment(static_cast<double>(events));
}

void MonitorMetrics::AlertTransitions(const RuleOutcome& outcome) {
  if (outcome.fired > 0) {
    alert_transitions.Add({{"status", "firing"}}).Increment(outcome.fired);
  }
  if (outcome.resolved > 0) {
    alert_transitions.Add({{"status", "resolved"}}).Increment(outcome.resolved);
  }
}

}  // namespace agentwatch::monitor
