// The cost service's own Prometheus metrics.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

namespace agentwatch::cost {

// agentwatch_cost_usage_records_total{result}: records of RecordUsage by what
// became of them: "accepted" (newly recorded with a price), "unpriced" (newly
// recorded without one), "duplicate" (already recorded); and
// agentwatch_cost_recorded_nano_usd_total: cost of newly recorded records.
struct CostMetrics {
  explicit CostMetrics(prometheus::Registry& registry);

  prometheus::Family<prometheus::Counter>& records;
  prometheus::Counter& accepted_records;
  prometheus::Counter& unpriced_records;
  prometheus::Counter& duplicate_records;
  prometheus::Counter& recorded_nano_usd;
};

}  // namespace agentwatch::cost
