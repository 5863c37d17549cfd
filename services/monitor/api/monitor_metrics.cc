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
                            .Register(registry)),
      alert_evaluation_lag(
          prometheus::BuildHistogram()
              .Name(prefix + "_alert_evaluation_lag_seconds")
              .Help("From receiving a batch to the end of the alert-rule evaluation it triggered")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025,
                                                               0.05, 0.1, 0.25, 0.5, 1, 2.5, 5})),
      alert_evaluation_failures(prometheus::BuildCounter()
                                    .Name(prefix + "_alert_evaluation_failures_total")
                                    .Help("Alert-rule evaluations after a committed batch that "
                                          "failed (the sweep catches up)")
                                    .Register(registry)
                                    .Add({})),
      active_series(prometheus::BuildGauge()
                        .Name(prefix + "_active_series")
                        .Help("Series stored for every tenant (refreshed every alert sweep)")
                        .Register(registry)
                        .Add({})),
      outbox_depth(prometheus::BuildGauge()
                       .Name(prefix + "_outbox_depth")
                       .Help("Outbox messages not yet delivered to incident or cost "
                             "(refreshed every alert sweep)")
                       .Register(registry)
                       .Add({})),
      journal_pending_rows(prometheus::BuildGauge()
                               .Name(prefix + "_ingest_journal_pending_rows")
                               .Help("Ingest journal rows this replica acknowledged and has "
                                     "not applied to the rollups yet (after each flush)")
                               .Register(registry)
                               .Add({})),
      rollup_flushes(prometheus::BuildCounter()
                         .Name(prefix + "_rollup_flushes_total")
                         .Help("Flushes of this replica's ingest journal into the rollups, by "
                               "result: ok, error (the rows stay and are retried)")
                         .Register(registry)),
      journal_sweeps(prometheus::BuildCounter()
                         .Name(prefix + "_ingest_journal_sweeps_total")
                         .Help("Sweeps of other writers' old ingest journal rows, by result: "
                               "ok, error")
                         .Register(registry)),
      journal_swept_rows(prometheus::BuildCounter()
                             .Name(prefix + "_ingest_journal_swept_rows_total")
                             .Help("Ingest journal rows of other (dead or stalled) writers this "
                                   "replica applied")
                             .Register(registry)
                             .Add({})),
      journal_quarantined_rows(
          prometheus::BuildCounter()
              .Name(prefix + "_ingest_journal_quarantined_rows_total")
              .Help("Ingest journal rows a sweep could not decode and moved to "
                    "monitor.ingest_journal_quarantine instead of applying them")
              .Register(registry)
              .Add({})) {
  // Both results exist from the start, so that a rate over them (and the
  // AgentwatchRollupsNotApplied alert) sees a replica that never flushed.
  for (const char* result : {"ok", "error"}) {
    rollup_flushes.Add({{"result", result}});
    journal_sweeps.Add({{"result", result}});
  }
}

void MonitorMetrics::RollupFlushed(bool ok, int64_t pending_rows) {
  rollup_flushes.Add({{"result", ok ? "ok" : "error"}}).Increment();
  journal_pending_rows.Set(static_cast<double>(pending_rows));
}

void MonitorMetrics::JournalSwept(bool ok, int64_t rows, int64_t quarantined) {
  journal_sweeps.Add({{"result", ok ? "ok" : "error"}}).Increment();
  if (rows > quarantined) journal_swept_rows.Increment(static_cast<double>(rows - quarantined));
  if (quarantined > 0) journal_quarantined_rows.Increment(static_cast<double>(quarantined));
}

void MonitorMetrics::SetStoreFigures(int64_t series, int64_t depth) {
  active_series.Set(static_cast<double>(series));
  outbox_depth.Set(static_cast<double>(depth));
}

void MonitorMetrics::AlertsEvaluated(absl::Duration lag) {
  alert_evaluation_lag.Observe(absl::ToDoubleSeconds(lag));
}

void MonitorMetrics::AlertEvaluationFailed() { alert_evaluation_failures.Increment(); }

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
