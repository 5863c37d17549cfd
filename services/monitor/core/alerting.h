// Alerting vocabulary and the built-in workflow error-rate alert: its pure
// decision (fire / stay / resolve with hysteresis), its fingerprint, and the
// alert states and notices the rule engine (rules.h) reads and emits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "monitor/core/types.h"

namespace agentwatch::monitor {

// The source every monitor alert carries.
inline constexpr char kAlertSource[] = "agentwatch-monitor";

// The rollup buckets a window ending at `now` reads: every 1-minute bucket
// that overlaps [now - window, now], i.e. buckets starting in
// [MinuteBucket(now - window), MinuteBucket(now) + 1m). The current minute
// counts in full, and the oldest bucket may reach up to a minute before the
// window: rollups cannot be split within a minute.
struct BucketRange {
  absl::Time from;  // inclusive bucket start
  absl::Time to;    // exclusive bucket start
};
BucketRange WindowBuckets(absl::Time now, absl::Duration window);

// Configuration of the built-in workflow error-rate alert.
struct ErrorRateAlertConfig {
  // Fires when errors / runs >= threshold; P1 instead of P2 at twice it.
  double threshold = 0.05;
  // Window the rate is computed over.
  absl::Duration window = absl::Minutes(5);
  // Windows with fewer runs never fire, and resolve a firing alert.
  int64_t min_runs = 10;
};

// INVALID_ARGUMENT naming the flag when threshold is not in (0, 1], window
// is not a whole number of minutes from 1 minute to 24 hours, or min_runs < 1.
absl::Status ValidateErrorRateAlertConfig(const ErrorRateAlertConfig& config);

// What an evaluation does to an alert.
enum class AlertAction { kNone, kFire, kResolve };

// The outcome of one error-rate evaluation.
struct ErrorRateDecision {
  AlertAction action = AlertAction::kNone;
  // Whether the alert fires after the decision.
  bool firing = false;
  // errors / runs; 0 without runs.
  double rate = 0;
  // For a firing alert: P1 when rate >= 2 x threshold, else P2.
  Severity severity = Severity::kP2;
};

// Decides the alert from `runs` (all runs in the window), `errors` (failed
// plus timed out; cancelled runs are not errors) and whether it fires now:
// - runs < min_runs: resolve a firing alert, else nothing;
// - not firing: fire when rate >= threshold (a rate equal to the threshold
//   counts as past it);
// - firing: resolve when rate < 0.8 x threshold, else stay firing.
ErrorRateDecision DecideErrorRate(const ErrorRateAlertConfig& config, int64_t runs, int64_t errors,
                                  bool firing);

// The stable fingerprint of the error-rate alert of (tenant, workflow): a
// 128-bit hex hash of ("workflow_error_rate", tenant, workflow).
std::string WorkflowErrorRateFingerprint(const std::string& tenant, const std::string& workflow);

// The persisted state of one alert, keyed by (tenant, fingerprint).
struct AlertState {
  std::string tenant;
  std::string fingerprint;
  std::string rule;  // the evaluator that owns it, e.g. "workflow_error_rate"
  std::string name;  // alert name, e.g. "WorkflowErrorRateHigh"
  Labels labels;     // identifying labels sent with the alert
  bool firing = false;
  Severity severity = Severity::kP2;
  // When the current (or last) firing started; unset before the first.
  std::optional<absl::Time> starts_at;
  // When the last firing resolved; unset while firing or before any.
  std::optional<absl::Time> ends_at;
  // The value of the latest transition (e.g. the error rate); for alert
  // rules, of the latest evaluation.
  double value = 0;
  // Alert rules only (rule == "alert_rule"): the rule's id, whether the
  // alert is pending (its condition holds, not yet for `for`), since when
  // the condition holds, since when a firing alert's condition no longer
  // holds (keep_firing_for), its annotations and the latest evaluation.
  std::string rule_id;
  bool pending = false;
  std::optional<absl::Time> active_since;
  std::optional<absl::Time> clear_since;
  Labels annotations;
  std::optional<absl::Time> last_evaluation;
};

// A firing or resolved alert to report to the incident service.
struct AlertNotice {
  std::string fingerprint;
  std::string name;
  Severity severity = Severity::kP2;
  std::string tenant;
  Labels labels;
  Labels annotations;
  absl::Time starts_at;
  std::optional<absl::Time> ends_at;  // set when resolved
  bool firing = true;
  std::string source = kAlertSource;

  // The outbox idempotency key: fingerprint, status and starts_at, so that a
  // transition is enqueued once however often it is re-evaluated.
  std::string IdempotencyKey() const;
};

}  // namespace agentwatch::monitor
