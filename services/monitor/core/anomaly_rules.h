// Anomaly alert rules: an alert rule whose condition feeds the streaming
// anomaly detector (monitor/anomaly/detector.h) one point per complete
// minute per group, and fires on the detector's score. Evaluated exactly
// like threshold rules (after a batch commits, on create/update and by the
// sweep of rules with active alerts; the sweep also takes anomaly rules whose
// detectors miss the last complete minute, so silent series are scored),
// under the rule's lock: the detector
// states live behind AlertRuleContext (Postgres in production), each minute
// is fed once (the state records the last minute fed), so any number of
// replicas evaluating the same rule compute the same scores and fire once.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "monitor/anomaly/detector.h"
#include "monitor/core/alert_rules.h"

namespace agentwatch::monitor {

// Defaults and limits of anomaly rules.
inline constexpr double kDefaultAnomalyScoreThreshold = 0.9;
inline constexpr absl::Duration kMaxAnomalyMinHistory = absl::Hours(24 * 14);
// History (minutes of rollups) a new group's detector is primed with, and
// the most minutes fed per group in one evaluation; a group whose last fed
// minute is older restarts this far back (the gap counts as a gap).
inline constexpr absl::Duration kAnomalyBackfill = absl::Hours(24);
// A group without data for this long is forgotten (its alert resolves).
inline constexpr absl::Duration kAnomalyIdleExpiry = absl::Hours(24);

// The detector options anomaly rules use (minute steps; no probationary
// period: min_history gates alerts instead).
anomaly::DetectorOptions AnomalyRuleDetectorOptions();

// Makes `rule` an anomaly rule from the proto fields: condition metric,
// matchers, aggregation and group_by as given, comparison >=, threshold
// `score_threshold` (0 means the default 0.9), window 1 minute,
// min_history (nullopt: 1 day).
void MakeAnomalyRule(double score_threshold, std::optional<absl::Duration> min_history,
                     AlertRule* rule);

// INVALID_ARGUMENT naming the field ("rule.anomaly.score_threshold", ...)
// for an anomaly rule (rule.anomaly.enabled): the checks of
// ValidateThresholdAlertRule with "rule.anomaly." field names, plus score_threshold
// in (0, 1], min_history from 0 to 14 days, no denominator, and a
// hysteresis.resolve_threshold (if any) in [0, score_threshold].
absl::Status ValidateAnomalyRule(const AlertRule& rule);

// The hash of what a rule feeds its detectors (metric, matchers,
// aggregation, group_by).
std::string AnomalyConditionHash(const AlertRule& rule);

// The value of one minute fed to the detector: the aggregation of the
// minute's stats; a minute without data is 0 for SUM, COUNT and RATE (no
// events) and missing (NaN) otherwise.
double AnomalyMinuteValue(Aggregation aggregation, const GroupStats* minute);

// Evaluates an anomaly rule at `now` (EvaluateAlertRule calls it for rules
// with anomaly.enabled): locks the rule; per group (with data in the last
// kAnomalyBackfill or a stored state), feeds every complete minute after the
// last one fed (minute buckets before MinuteBucket(now)) to its detector,
// restored from the stored state (a fresh one when absent, unreadable or
// fed by another condition); the group's value is the highest score of the
// minutes fed now (0 until min_history has been learned), stepped through
// StepRuleAlert (`for`, hysteresis, keep-firing) when minutes were fed or
// the alert is active; saves the states, saves/deletes the alerts and emits
// the notices. Groups idle for kAnomalyIdleExpiry are dropped.
absl::Status EvaluateAnomalyRule(const AlertRule& rule, AlertRuleContext& context, absl::Time now,
                                 RuleOutcome* outcome);

// Deletes every detector state of an anomaly rule (deleted or disabled);
// the caller holds the rule's lock.
absl::Status DropAnomalyStates(const AlertRule& rule, AlertRuleContext& context);

}  // namespace agentwatch::monitor
