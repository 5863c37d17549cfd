#include "monitor/core/alerting.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "monitor/core/hash.h"
#include "monitor/core/rollup.h"

namespace agentwatch::monitor {

BucketRange WindowBuckets(absl::Time now, absl::Duration window) {
  return {MinuteBucket(now - window), MinuteBucket(now) + absl::Minutes(1)};
}

absl::Status ValidateErrorRateAlertConfig(const ErrorRateAlertConfig& config) {
  if (!(config.threshold > 0 && config.threshold <= 1)) {
    return common::InvalidField("error_rate_threshold", "must be in (0, 1]");
  }
  absl::Duration remainder;
  absl::IDivDuration(config.window, absl::Minutes(1), &remainder);
  if (config.window < absl::Minutes(1) || config.window > absl::Hours(24) ||
      remainder != absl::ZeroDuration()) {
    return common::InvalidField("error_rate_window",
                                "must be a whole number of minutes from 1m to 24h");
  }
  if (config.min_runs < 1) return common::InvalidField("error_rate_min_runs", "must be >= 1");
  return absl::OkStatus();
}

ErrorRateDecision DecideErrorRate(const ErrorRateAlertConfig& config, int64_t runs, int64_t errors,
                                  bool firing) {
  ErrorRateDecision decision;
  decision.firing = firing;
  decision.rate = runs > 0 ? static_cast<double>(errors) / static_cast<double>(runs) : 0;
  // Scaling by 2 is exact in binary floating point, so a rate of exactly
  // twice a decimal threshold compares equal to it.
  decision.severity = decision.rate >= 2 * config.threshold ? Severity::kP1 : Severity::kP2;
  if (runs < config.min_runs) {
    if (firing) {
      decision.action = AlertAction::kResolve;
      decision.firing = false;
    }
    return decision;
  }
  if (!firing) {
    if (decision.rate >= config.threshold) {
      decision.action = AlertAction::kFire;
      decision.firing = true;
    }
    return decision;
  }
  // rate < 0.8 x threshold, written as 5 x rate < 4 x threshold: 4 x threshold
  // is exact and 5 x rate rounds once, so rates of exactly 0.8 x a decimal
  // threshold (0.04 for 0.05) stay firing instead of depending on how 0.8 x
  // threshold happens to round.
  if (5 * decision.rate < 4 * config.threshold) {
    decision.action = AlertAction::kResolve;
    decision.firing = false;
  }
  return decision;
}

std::string WorkflowErrorRateFingerprint(const std::string& tenant, const std::string& workflow) {
  return StableHash({"workflow_error_rate", tenant, workflow});
}

std::string AlertNotice::IdempotencyKey() const {
  return absl::StrCat(fingerprint, ":", firing ? "firing" : "resolved", ":",
                      absl::ToUnixMicros(starts_at));
}

}  // namespace agentwatch::monitor
