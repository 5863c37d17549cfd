// The monitor's own Prometheus metrics, declared once over the runtime's
// registry:
//   agentwatch_monitor_events_ingested_total
//   agentwatch_monitor_events_rejected_total{reason}
//   agentwatch_monitor_ingest_batches_total{result}
//   agentwatch_monitor_alerts_transitions_total{status}
//   agentwatch_monitor_alert_evaluation_lag_seconds (histogram)
//   agentwatch_monitor_alert_evaluation_failures_total
//   agentwatch_monitor_active_series (gauge)
//   agentwatch_monitor_outbox_depth (gauge)
//   agentwatch_monitor_ingest_journal_pending_rows (gauge)
//   agentwatch_monitor_rollup_flushes_total{result}
//   agentwatch_monitor_ingest_journal_sweeps_total{result}
//   agentwatch_monitor_ingest_journal_swept_rows_total
//   agentwatch_monitor_ingest_journal_quarantined_rows_total
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <string>

#include "absl/time/time.h"
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
  // Alert rules evaluated `lag` after the batch that fed them arrived.
  void AlertsEvaluated(absl::Duration lag);
  // Alert-rule evaluation after a committed batch failed.
  void AlertEvaluationFailed();
  // The store's figures, refreshed periodically.
  void SetStoreFigures(int64_t active_series, int64_t outbox_depth);
  // A rollup flush of this replica's ingest journal ended (`ok` or not), with
  // `pending_rows` journal rows of this replica still not applied after it.
  void RollupFlushed(bool ok, int64_t pending_rows);
  // A sweep of other writers' journal rows ended; `rows` taken by it, of
  // which `quarantined` could not be decoded and were quarantined.
  void JournalSwept(bool ok, int64_t rows, int64_t quarantined);

  prometheus::Counter& events_ingested;
  prometheus::Family<prometheus::Counter>& events_rejected;
  prometheus::Family<prometheus::Counter>& ingest_batches;
  prometheus::Family<prometheus::Counter>& alert_transitions;
  // From receiving a batch to the end of the alert-rule evaluation it
  // triggered (alert notices enqueued by then).
  prometheus::Histogram& alert_evaluation_lag;
  prometheus::Counter& alert_evaluation_failures;
  // Series of every tenant; outbox messages not yet delivered.
  prometheus::Gauge& active_series;
  prometheus::Gauge& outbox_depth;
  // Ingest journal: rows this replica wrote and has not applied to the
  // rollups yet; flushes and sweeps by result; rows swept.
  prometheus::Gauge& journal_pending_rows;
  prometheus::Family<prometheus::Counter>& rollup_flushes;
  prometheus::Family<prometheus::Counter>& journal_sweeps;
  prometheus::Counter& journal_swept_rows;
  prometheus::Counter& journal_quarantined_rows;
};

}  // namespace agentwatch::monitor
