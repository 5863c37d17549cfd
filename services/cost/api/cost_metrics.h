// The cost service's own Prometheus metrics.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

namespace agentwatch::cost {

// agentwatch_cost_usage_records_total{result}: records of RecordUsage by what
// became of them: "accepted" (newly recorded with a price), "unpriced" (newly
// recorded without one), "duplicate" (already recorded); and
// agentwatch_cost_recorded_nano_usd_total: cost of newly recorded records;
// agentwatch_cost_budget_alerts_total{kind}: budget alerts fired, "threshold"
// or "projected"; agentwatch_cost_budget_spend_reads_total{source}: budget
// spends CheckBudget read from the hot "counter" or the "ledger";
// agentwatch_cost_budget_counter_errors_total: failed hot-counter calls;
// agentwatch_cost_budget_counters_repaired_total: counters Reconcile rewrote;
// agentwatch_cost_performance_unavailable_total: GetCostPerformance answers
// made without monitor's figures.
struct CostMetrics {
  explicit CostMetrics(prometheus::Registry& registry);

  prometheus::Family<prometheus::Counter>& records;
  prometheus::Counter& accepted_records;
  prometheus::Counter& unpriced_records;
  prometheus::Counter& duplicate_records;
  prometheus::Counter& recorded_nano_usd;
  prometheus::Family<prometheus::Counter>& budget_alerts;
  prometheus::Counter& threshold_alerts;
  prometheus::Counter& projected_alerts;
  prometheus::Family<prometheus::Counter>& spend_reads;
  prometheus::Counter& spend_from_counter;
  prometheus::Counter& spend_from_ledger;
  prometheus::Counter& counter_errors;
  prometheus::Counter& counters_repaired;
  prometheus::Counter& performance_unavailable;
};

}  // namespace agentwatch::cost
