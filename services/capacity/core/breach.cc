#include "capacity/core/breach.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace agentwatch::capacity {
namespace {

const char* KindName(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::kReplicas:
      return "replicas";
    case ResourceKind::kTokenQuotaTpm:
      return "token_quota_tpm";
    case ResourceKind::kRequestQuotaRpm:
      return "request_quota_rpm";
    case ResourceKind::kDbConnections:
      return "db_connections";
    case ResourceKind::kQueue:
      return "queue";
    default:
      return "unspecified";
  }
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::map<std::string, std::string> BaseLabels(const Resource& resource) {
  std::map<std::string, std::string> labels = resource.labels;
  labels["alertname"] = kBreachAlertName;
  labels["resource"] = resource.id;
  labels["resource_name"] = resource.name;
  labels["kind"] = KindName(resource.kind);
  return labels;
}

}  // namespace

double ExceedanceProbability(double mean, double sigma, double threshold) {
  if (!(sigma > 0)) return mean > threshold ? 1.0 : 0.0;
  return 0.5 * std::erfc((threshold - mean) / (sigma * std::sqrt(2.0)));
}

std::optional<BreachPrediction> PredictBreach(const Resource& resource,
                                              const std::vector<ForecastPoint>& forecast,
                                              absl::Time now) {
  if (resource.alert_horizon <= absl::ZeroDuration()) return std::nullopt;
  const double capacity = Capacity(resource);
  const absl::Time until = now + resource.alert_horizon;
  std::optional<BreachPrediction> out;
  double probability = 0;
  double peak = -INFINITY;
  double peak_upper = -INFINITY;
  for (const ForecastPoint& p : forecast) {
    if (p.time > until) break;
    const double sigma = (p.upper_80 - p.lower_80) / (2 * kZ80);
    probability = std::max(probability, ExceedanceProbability(p.value, sigma, capacity));
    if (p.value > peak) {
      peak = p.value;
      peak_upper = p.upper_95;
    }
    if (!out.has_value() && p.value > capacity) {
      out = BreachPrediction{};
      out->breach_time = p.time;
      out->capacity = capacity;
      out->value_at_breach = p.value;
    }
  }
  if (out.has_value()) {
    out->probability = probability;
    out->peak = peak;
    out->peak_upper_95 = peak_upper;
  }
  return out;
}

BreachTransition DecideBreachTransition(bool firing, bool predicted) {
  if (predicted && !firing) return BreachTransition::kFire;
  if (!predicted && firing) return BreachTransition::kResolve;
  return BreachTransition::kNone;
}

std::string BreachFingerprint(const Resource& resource) {
  return absl::StrCat("capacity-breach/", resource.tenant, "/", resource.id);
}

BreachAlert FiringBreachAlert(const Resource& resource, const BreachPrediction& prediction,
                              absl::Time now) {
  BreachAlert alert;
  alert.fingerprint = BreachFingerprint(resource);
  alert.severity = resource.alert_severity;
  alert.tenant = resource.tenant;
  alert.firing = true;
  alert.labels = BaseLabels(resource);
  alert.annotations["summary"] = absl::StrFormat(
      "%s: demand forecast %.4g exceeds capacity %.4g at %s (in %s), probability %.0f %%",
      resource.name, prediction.value_at_breach, prediction.capacity,
      Rfc3339(prediction.breach_time),
      absl::FormatDuration(absl::Trunc(prediction.breach_time - now, absl::Minutes(1))),
      100 * prediction.probability);
  alert.annotations["breach_time"] = Rfc3339(prediction.breach_time);
  alert.annotations["probability"] = absl::StrFormat("%.3f", prediction.probability);
  alert.annotations["capacity"] = absl::StrFormat("%.6g", prediction.capacity);
  alert.annotations["forecast_peak"] = absl::StrFormat("%.6g", prediction.peak);
  alert.annotations["forecast_peak_upper_95"] = absl::StrFormat("%.6g", prediction.peak_upper_95);
  alert.annotations["interval"] = "normal fit of the forecast's 80 % interval";
  alert.starts_at = now;
  return alert;
}

BreachAlert ResolvedBreachAlert(const Resource& resource, absl::Time fired_at, absl::Time now) {
  BreachAlert alert;
  alert.fingerprint = BreachFingerprint(resource);
  alert.severity = resource.alert_severity;
  alert.tenant = resource.tenant;
  alert.firing = false;
  alert.labels = BaseLabels(resource);
  alert.annotations["summary"] =
      absl::StrCat(resource.name, ": the forecast no longer crosses capacity");
  alert.starts_at = fired_at;
  alert.ends_at = now;
  return alert;
}

}  // namespace agentwatch::capacity
