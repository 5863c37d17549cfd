// capacity's own Prometheus metrics, over an injected registry.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

#include "absl/strings/string_view.h"

namespace agentwatch::capacity {

// agentwatch_capacity_forecasts_total{model}: forecasts computed (cache hits
// excluded), by the model used.
// agentwatch_capacity_forecast_seconds: time to compute a forecast (history
// fetch, fit, backtest and storage), cache hits excluded.
// agentwatch_capacity_forecast_cache_requests_total{result}: cache lookups by
// result: "hit", "miss" or "error" (cache unreachable; computed anyway).
// agentwatch_capacity_recomputes_total{result}: resources recomputed by the
// periodic job, by result: "ok", or "error" (no data, short history, monitor
// down).
// agentwatch_capacity_breach_alerts_total{transition}: breach alerts
// enqueued for incident, by transition: "firing" or "resolved".
// Thread-safe.
class CapacityMetrics {
 public:
  explicit CapacityMetrics(prometheus::Registry& registry);

  void RecordForecast(const std::string& model, double seconds);
  void RecordCacheLookup(absl::string_view result);
  void RecordRecompute(absl::string_view result);
  void RecordBreachAlert(absl::string_view transition);

 private:
  prometheus::Family<prometheus::Counter>& forecasts_;
  prometheus::Histogram& forecast_seconds_;
  prometheus::Family<prometheus::Counter>& cache_lookups_;
  prometheus::Family<prometheus::Counter>& recomputes_;
  prometheus::Family<prometheus::Counter>& breach_alerts_;
};

}  // namespace agentwatch::capacity
