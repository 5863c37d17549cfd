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
                            .Add({})) {}

}  // namespace agentwatch::cost
