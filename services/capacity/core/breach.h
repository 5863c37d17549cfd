// "The forecast crosses capacity within the horizon": when, how sure, and
// the alert's firing / resolved transitions. Pure and deterministic.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "capacity/core/forecast.h"
#include "capacity/core/resource.h"

namespace agentwatch::capacity {

// Name of the alert (Alertmanager's alertname) and its sender.
inline constexpr char kBreachAlertName[] = "CapacityForecastBreach";
inline constexpr char kBreachAlertSource[] = "capacity";

// A predicted breach of a resource's capacity.
struct BreachPrediction {
  // First forecast step whose point forecast exceeds the capacity.
  absl::Time breach_time;
  double capacity = 0;
  double value_at_breach = 0;
  // Highest probability over the steps within the horizon that the demand
  // exceeds the capacity, from a normal distribution fitted to the step's
  // 80 % interval (sigma = (upper_80 - lower_80) / (2 x 1.2816)).
  double probability = 0;
  // Peak point forecast within the horizon and its upper 95 % bound.
  double peak = 0;
  double peak_upper_95 = 0;
};

// The breach of `resource`'s capacity (current x per_unit_capacity) that
// `forecast` (demand units) predicts within [now, now + alert_horizon], if
// any; nullopt when none, or when alert_horizon is 0 (alert disabled).
std::optional<BreachPrediction> PredictBreach(const Resource& resource,
                                              const std::vector<ForecastPoint>& forecast,
                                              absl::Time now);

// P(X > threshold) for X ~ Normal(mean, sigma); a step function at the mean
// when sigma is not positive.
double ExceedanceProbability(double mean, double sigma, double threshold);

// What to send for a resource whose alert was `firing` given the new
// prediction.
enum class BreachTransition {
  kNone,
  kFire,
  kResolve,
};
BreachTransition DecideBreachTransition(bool firing, bool predicted);

// The alert as incident.ReportAlerts takes it, before serialization.
struct BreachAlert {
  // "capacity-breach/<tenant>/<resource id>": stable across firings.
  std::string fingerprint;
  std::string name = kBreachAlertName;
  Severity severity = Severity::kP2;
  std::string tenant;
  bool firing = true;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // When it started firing / resolved.
  absl::Time starts_at;
  absl::Time ends_at;
};

// The fingerprint of a resource's breach alert.
std::string BreachFingerprint(const Resource& resource);

// The firing alert for `prediction` at `now`: labels alertname, resource
// (id), resource_name, kind and the resource's labels; annotations summary,
// breach_time (RFC 3339), probability, capacity, forecast_peak,
// forecast_peak_upper_95, interval ("normal fit of the 80 % interval").
BreachAlert FiringBreachAlert(const Resource& resource, const BreachPrediction& prediction,
                              absl::Time now);

// The resolved alert at `now` (starts_at = `fired_at`).
BreachAlert ResolvedBreachAlert(const Resource& resource, absl::Time fired_at, absl::Time now);

}  // namespace agentwatch::capacity
