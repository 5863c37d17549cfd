// User-defined alert rules (CreateAlertRule ...): the rule model, its
// validation, the value of a threshold condition over a rolling window, and
// the per-alert state machine with `for`, hysteresis and keep-firing. Rules
// are evaluated as data arrives: right after a batch commits, every enabled
// rule of the batch's tenants over one of the batch's metrics is evaluated
// (EvaluateAlertRule) in one transaction of its own; a periodic sweep
// re-evaluates rules with pending or firing alerts that no new data touches.
// All state lives behind AlertRuleContext (Postgres in production), so any
// number of replicas evaluate as one would.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "monitor/core/alerting.h"
#include "monitor/core/quantile_sketch.h"
#include "monitor/core/query.h"
#include "monitor/core/rollup.h"
#include "monitor/core/rules.h"
#include "monitor/core/types.h"

namespace agentwatch::monitor {

// Limits.
inline constexpr int64_t kMaxAlertRulesPerTenant = 1000;
inline constexpr size_t kMaxRuleMatchers = 16;
inline constexpr size_t kMaxRuleGroupBy = 8;
inline constexpr size_t kMaxRuleLabels = 32;
inline constexpr size_t kMaxAnnotationBytes = 4096;
inline constexpr size_t kMaxRuleNameBytes = 128;
inline constexpr size_t kMaxDescriptionBytes = 4096;

// The AlertState.rule of alerts raised by alert rules.
inline constexpr char kAlertRuleEvaluator[] = "alert_rule";

// Values equal agentwatch.monitor.v1.Comparison.
enum class Comparison : int {
  kUnspecified = 0,
  kGreaterThan = 1,
  kGreaterOrEqual = 2,
  kLessThan = 3,
  kLessOrEqual = 4,
};

// Fire when an aggregated value over a rolling window crosses a threshold.
struct ThresholdCondition {
  std::string metric;
  std::vector<LabelMatcher> matchers;
  Aggregation aggregation = Aggregation::kSum;  // kUnspecified is normalized to kSum
  absl::Duration window = absl::Minutes(1);
  std::vector<std::string> group_by;
  Comparison comparison = Comparison::kUnspecified;
  double threshold = 0;
  // When set, the value is metric / denominator_metric, both aggregated
  // with `aggregation` over the window per group.
  std::string denominator_metric;
  std::vector<LabelMatcher> denominator_matchers;
  // Regression rules (quality.h): when positive, the value is the relative
  // change against the same aggregate over this window just before
  // `window`.
  absl::Duration baseline_window = absl::ZeroDuration();
};

// How a firing alert resolves.
struct Hysteresis {
  // Resolve only once the value is back past this level; unset: the firing
  // threshold itself.
  std::optional<double> resolve_threshold;
  // Stay firing this long after the condition stops holding.
  absl::Duration keep_firing_for = absl::ZeroDuration();
};

// Anomaly rules (anomaly_rules.h): with `enabled`, the rule's condition
// selects and aggregates the series fed to the streaming anomaly detector,
// one point per complete minute per group (metric, matchers, aggregation,
// group_by), and fires when the score is >= condition.threshold (comparison
// kGreaterOrEqual, window 1 minute; denominators are not allowed).
struct AnomalySettings {
  bool enabled = false;
  // No alert before the group's detector has learned this much history.
  absl::Duration min_history = absl::Hours(24);
};

// The persisted detector of one group of an anomaly rule, keyed by
// (tenant, rule_id, fingerprint); the fingerprint is the group's alert
// fingerprint (AlertRuleFingerprint).
struct AnomalySeriesState {
  std::string tenant;
  std::string rule_id;
  std::string fingerprint;
  std::vector<std::string> group;  // the group_by values
  // Hash of what the detector is fed (metric, matchers, aggregation,
  // group_by): a rule update that changes it starts the detector afresh.
  std::string condition_hash;
  absl::Time first_minute;  // the first minute bucket fed
  absl::Time last_minute;   // the last minute bucket fed (each is fed once)
  absl::Time last_data;     // the last minute bucket that had data
  double last_score = 0;    // the score of the last evaluation that fed minutes
  std::string detector;     // anomaly::StreamingDetector::Serialize()
};

// An alert rule.
struct AlertRule {
  std::string id;  // server-assigned
  std::string name;
  std::string tenant;
  std::string description;
  ThresholdCondition condition;
  absl::Duration for_duration = absl::ZeroDuration();
  Severity severity = Severity::kP2;  // kUnspecified is normalized to kP2
  Labels labels;
  Labels annotations;
  Hysteresis hysteresis;
  AnomalySettings anomaly;
  bool disabled = false;
  absl::Time create_time = absl::UnixEpoch();
  absl::Time update_time = absl::UnixEpoch();
};

// Applies the defaults (aggregation SUM, severity P2, window 1 minute when
// zero) to a rule as received.
void NormalizeAlertRule(AlertRule* rule);

// INVALID_ARGUMENT naming the field ("rule.name", "rule.threshold.window",
// "rule.labels[team]" ...) for a normalized rule: name and tenant required
// (at most 128 / 256 bytes, no NUL); description at most 4096 bytes;
// threshold.metric a valid metric name; at most 16 matchers (each with a
// valid label name, a known op and a value without NUL), at most 8 distinct,
// valid group_by labels; aggregation known, quantiles only for metrics with
// sketches and not for ratio rules; window a whole number of minutes from
// 1 minute to 24 hours; comparison set; threshold finite; denominator
// matchers only with a denominator metric; for_duration and
// hysteresis.keep_firing_for from 0 to 24 hours; severity P0..P3; at most 32
// labels and 32 annotations with valid names (annotation values at most
// 4096 bytes); hysteresis.resolve_threshold finite and not past the firing
// threshold (at or below it for > / >=, at or above it for < / <=).
// Regular expressions are checked by the store. Anomaly rules
// (anomaly.enabled) are checked by ValidateAnomalyRule (anomaly_rules.h).
absl::Status ValidateAlertRule(const AlertRule& rule);

// The checks of ValidateAlertRule for the rule's threshold condition,
// whatever its kind (anomaly rules reuse them).
absl::Status ValidateThresholdAlertRule(const AlertRule& rule);

// True when `value` satisfies `comparison` against `threshold`.
bool Compares(double value, Comparison comparison, double threshold);

// The aggregated value of one group over a window: SUM sum, COUNT count,
// AVG sum / count, MIN min, MAX max, RATE sum / window seconds, P50 / P95 /
// P99 the sketch's quantile. nullopt without samples (or without a sketch
// for a quantile).
std::optional<double> WindowValue(Aggregation aggregation, const RollupStats& stats,
                                  const std::optional<QuantileSketch>& sketch,
                                  absl::Duration window);

// The stable fingerprint of a rule's alert for one group: a 128-bit hex
// hash of ("alert_rule", tenant, rule id, canonical group labels).
std::string AlertRuleFingerprint(const std::string& tenant, const std::string& rule_id,
                                 const Labels& group);

// Applies one evaluation of `value` (nullopt: no data, which never holds)
// at `now` to the alert's `state` (a fresh state is inactive):
// - inactive: when the condition holds, fires at once if for_duration is 0,
//   else becomes pending since now;
// - pending: fires once the condition has held for for_duration (since
//   active_since); back to inactive when it stops holding (no notice);
// - firing: stays while the value is not back past the resolve level
//   (hysteresis.resolve_threshold, else the threshold); once it is, resolves
//   at once, or after keep_firing_for without the condition holding again
//   (clear_since marks when it stopped; a refire within it is the same
//   alert, with the same starts_at).
// Returns kFire or kResolve when a notice must be sent, kNone otherwise.
// Updates value and last_evaluation too.
AlertAction StepRuleAlert(const AlertRule& rule, std::optional<double> value, absl::Time now,
                          AlertState* state);

// True when the alert is pending or firing (it must be stored).
inline bool IsActive(const AlertState& state) { return state.firing || state.pending; }

// One group of a window query: merged stats of its series and, when asked
// for, their merged sketch.
struct GroupStats {
  RollupStats stats;
  std::optional<QuantileSketch> sketch;
};

// What alert-rule evaluation reads and writes, inside one transaction.
class AlertRuleContext {
 public:
  virtual ~AlertRuleContext() = default;

  // Serializes evaluations of one rule across transactions (and replicas)
  // until the transaction ends; taken before anything is read.
  virtual absl::Status LockRule(const std::string& tenant, const std::string& rule_id) = 0;

  // The merged rollups of `metric` of `tenant` in the buckets of `range`,
  // over the series every matcher selects, by the values of `group_by` (""
  // for an absent label). With `with_sketch`, also the merged sketches.
  // INVALID_ARGUMENT for an invalid regular expression.
  virtual absl::StatusOr<std::map<std::vector<std::string>, GroupStats>> WindowGroups(
      const std::string& tenant, const std::string& metric,
      const std::vector<LabelMatcher>& matchers, const std::vector<std::string>& group_by,
      const BucketRange& range, bool with_sketch) = 0;

  // The stored (pending or firing) alerts of a rule, locked.
  virtual absl::StatusOr<std::vector<AlertState>> LockRuleAlerts(const std::string& tenant,
                                                                 const std::string& rule_id) = 0;

  // Stores (inserts or replaces) an active alert.
  virtual absl::Status SaveRuleAlert(const AlertState& state) = 0;

  // Removes an alert that is no longer active.
  virtual absl::Status DeleteRuleAlert(const std::string& tenant,
                                       const std::string& fingerprint) = 0;

  // Enqueues a notice for the incident service (deduplicated by its
  // IdempotencyKey).
  virtual absl::Status EmitAlert(const AlertNotice& notice) = 0;

  // Anomaly rules. The merged rollups of each minute bucket of `range`, per
  // group (as WindowGroups, which this default calls once per minute;
  // stores override it with one query). Minutes without data are absent.
  virtual absl::StatusOr<std::map<std::vector<std::string>, std::map<absl::Time, GroupStats>>>
  MinuteGroups(const std::string& tenant, const std::string& metric,
               const std::vector<LabelMatcher>& matchers, const std::vector<std::string>& group_by,
               const BucketRange& range, bool with_sketch);

  // The detector states of an anomaly rule (read after LockRule, which
  // serializes their updates). UNIMPLEMENTED by default: contexts without
  // anomaly state cannot evaluate anomaly rules.
  virtual absl::StatusOr<std::vector<AnomalySeriesState>> LoadAnomalyStates(
      const std::string& tenant, const std::string& rule_id);

  // Stores (inserts or replaces) a detector state. UNIMPLEMENTED by default.
  virtual absl::Status SaveAnomalyState(const AnomalySeriesState& state);

  // Removes one detector state. UNIMPLEMENTED by default.
  virtual absl::Status DeleteAnomalyState(const std::string& tenant, const std::string& rule_id,
                                          const std::string& fingerprint);
};

// Evaluates every group of `rule` at `now`: locks the rule, computes the
// value of each group over the window, steps every group that has a value
// or a stored alert, saves or deletes the states and emits the notices. A
// disabled rule resolves its firing alerts and drops its pending ones.
absl::Status EvaluateAlertRule(const AlertRule& rule, AlertRuleContext& context, absl::Time now,
                               RuleOutcome* outcome);

// Resolves every firing alert of the rule `rule` (being deleted) and drops
// its pending ones, at `now`.
absl::Status ResolveAlertRule(const AlertRule& rule, AlertRuleContext& context, absl::Time now,
                              RuleOutcome* outcome);

}  // namespace agentwatch::monitor
