#include "cost/api/cost_metrics.h"

namespace agentwatch::cost {

CostMetrics::CostMetrics(prometheus::Registry& registry)
    : records(prometheus::BuildCounter()
                  .Name("agentwatch_cost_usage_records_total")
                  .Help("Usage records received by RecordUsage, by result (accepted, unpriced, "
                        "duplicate)")
                  .Register(registry)),
      accepted_records(records.Add({{"result", "accepted"}})),
      unpriced_records(records.Add({{"result", "unpriced"}})),
      duplicate_records(records.Add({{"result", "duplicate"}})),
      recorded_nano_usd(prometheus::BuildCounter()
                            .Name("agentwatch_cost_recorded_nano_usd_total")
                            .Help("Cost of newly recorded usage, in nano-USD")
                            .Register(registry)
                            .Add({})),
      budget_alerts(prometheus::BuildCounter()
                        .Name("agentwatch_cost_budget_alerts_total")
                        .Help("Budget alerts fired (threshold crossings and projected overruns), "
                              "by kind")
                        .Register(registry)),
      threshold_alerts(budget_alerts.Add({{"kind", "threshold"}})),
      projected_alerts(budget_alerts.Add({{"kind", "projected"}})),
      spend_reads(prometheus::BuildCounter()
                      .Name("agentwatch_cost_budget_spend_reads_total")
                      .Help("Budget spends read by CheckBudget, by source (counter, ledger)")
                      .Register(registry)),
      spend_from_counter(spend_reads.Add({{"source", "counter"}})),
      spend_from_ledger(spend_reads.Add({{"source", "ledger"}})),
      counter_errors(prometheus::BuildCounter()
                         .Name("agentwatch_cost_budget_counter_errors_total")
                         .Help("Failed calls to the hot budget counters in Redis")
                         .Register(registry)
                         .Add({})),
      counters_repaired(prometheus::BuildCounter()
                            .Name("agentwatch_cost_budget_counters_repaired_total")
                            .Help("Hot budget counters rewritten from the ledger by Reconcile")
                            .Register(registry)
                            .Add({})),
      performance_unavailable(
          prometheus::BuildCounter()
              .Name("agentwatch_cost_performance_unavailable_total")
              .Help("GetCostPerformance answers made without monitor's performance figures")
              .Register(registry)
              .Add({})) {}

}  // namespace agentwatch::cost
