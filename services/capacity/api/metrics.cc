#include "capacity/api/metrics.h"

namespace agentwatch::capacity {

CapacityMetrics::CapacityMetrics(prometheus::Registry& registry)
    : forecasts_(prometheus::BuildCounter()
                     .Name("agentwatch_capacity_forecasts_total")
                     .Help("Forecasts computed (cache hits excluded), by the model used")
                     .Register(registry)),
      forecast_seconds_(
          prometheus::BuildHistogram()
              .Name("agentwatch_capacity_forecast_seconds")
              .Help("Time to fetch history, fit, backtest and store a forecast")
              .Register(registry)
              .Add({},
                   prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})),
      cache_lookups_(prometheus::BuildCounter()
                         .Name("agentwatch_capacity_forecast_cache_requests_total")
                         .Help("Forecast cache lookups, by result: hit, miss or error")
                         .Register(registry)),
      recomputes_(prometheus::BuildCounter()
                      .Name("agentwatch_capacity_recomputes_total")
                      .Help("Resources recomputed by the periodic job, by result: ok or error")
                      .Register(registry)),
      breach_alerts_(prometheus::BuildCounter()
                         .Name("agentwatch_capacity_breach_alerts_total")
                         .Help("Capacity breach alerts enqueued, by transition: firing or resolved")
                         .Register(registry)) {}

void CapacityMetrics::RecordForecast(const std::string& model, double seconds) {
  forecasts_.Add({{"model", model}}).Increment();
  forecast_seconds_.Observe(seconds);
}

void CapacityMetrics::RecordCacheLookup(absl::string_view result) {
  cache_lookups_.Add({{"result", std::string(result)}}).Increment();
}

void CapacityMetrics::RecordRecompute(absl::string_view result) {
  recomputes_.Add({{"result", std::string(result)}}).Increment();
}

void CapacityMetrics::RecordBreachAlert(absl::string_view transition) {
  breach_alerts_.Add({{"transition", std::string(transition)}}).Increment();
}

}  // namespace agentwatch::capacity
