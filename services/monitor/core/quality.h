// Quality KPIs and their regression alerts. Agent runs carry named quality
// scores (QualityScore events: evaluation scores, citation accuracy, any
// name), stored as the built-in series quality_score{score=<name>,
// workflow, agent, ...} so QuerySeries shows their trends. A regression
// alert is a threshold rule with a baseline window
// (ThresholdCondition.baseline_window): its value is the relative change
// of the window's aggregate against the same aggregate over the baseline
// window just before it, e.g. mean faithfulness over the last hour against
// the 7 days before: "fire on a drop of more than 10 %" is comparison
// LESS_THAN, threshold -0.1. Pure.
#pragma once

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "monitor/core/alerting.h"

namespace agentwatch::monitor {

// Longest baseline window of a regression rule.
inline constexpr absl::Duration kMaxBaselineWindow = absl::Hours(24 * 30);

// The rollup buckets of the baseline of a window ending at `now`: the
// `baseline` before the current window (WindowBuckets(now, window)), i.e.
// buckets starting in [MinuteBucket(now - window - baseline),
// MinuteBucket(now - window)). Never overlaps the current window.
BucketRange BaselineBuckets(absl::Time now, absl::Duration window, absl::Duration baseline);

// INVALID_ARGUMENT naming `field` unless `baseline` is zero (no baseline)
// or a whole number of minutes from 1 minute to kMaxBaselineWindow, and not
// used by a ratio rule (`ratio`).
absl::Status ValidateBaselineWindow(absl::Duration baseline, bool ratio, absl::string_view field);

// (current - baseline) / |baseline|: -0.25 is a 25 % drop, 0.1 a 10 %
// rise. nullopt when either is missing or the baseline is 0 (no relative
// change can be defined).
std::optional<double> RelativeChange(std::optional<double> current, std::optional<double> baseline);

}  // namespace agentwatch::monitor
