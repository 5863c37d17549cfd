// Response targets (SLA) per severity and breach detection. Pure: no I/O.
//
// A tenant's SlaPolicy gives every severity an acknowledge target (a
// duration, or "the next business day") and an optional resolve target.
// Policies are versioned: an incident is held to the policy version in force
// when it was created (the tenant's latest version at or before create_time,
// else the global default's, else DefaultSlaPolicy), so updating a policy
// never moves the due times of existing incidents. A severity change
// recomputes the due times from create_time with the new severity's target
// (raising the severity of an incident that already went unanswered longer
// than the new target is an immediate breach).
//
// Targets:
//   acknowledge  met when the first response (acknowledge, mitigate or
//                resolve, whichever came first) is at or before
//                acknowledge_due; missed when it came later, or when none
//                came and `now` is after acknowledge_due.
//   resolve      (only when the severity has a resolve target) met while the
//                incident's last resolution is at or before resolve_due and
//                it is not open after it; missed otherwise once `now` is
//                after resolve_due.
// Exactly at the due time is still in time; a breach is recorded once per
// (incident, target) and stays recorded when the severity is lowered later.
//
// Business days (next_business_day targets): the policy's business_hours is
// a weekly window in an IANA time zone (default Monday-Friday 09:00-17:00
// UTC). A business day is a local date whose weekday is in `days` (every day
// when empty); its business hours run from start_minute to end_minute local
// time (into the next day when end_minute <= start_minute). The "next
// business day" deadline is the END of the first business-hours window that
// STARTS at or after the incident's creation: created Monday 08:00 -> Monday
// 17:00; created Monday 10:00 -> Tuesday 17:00; created Friday 18:00 or on
// the weekend -> Monday 17:00 (local). Local times skipped by a DST change
// map to the transition instant; repeated ones to the earlier instant for a
// start and the later one for an end.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "incident/core/silence.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

// Longest acknowledge target and resolve target accepted.
inline constexpr absl::Duration kMaxAcknowledgeTarget = absl::Hours(24 * 30);
inline constexpr absl::Duration kMaxResolveTarget = absl::Hours(24 * 366);

// The response targets of one severity.
struct SlaTarget {
  Severity severity = Severity::kUnspecified;
  // Acknowledge within this; ignored when next_business_day.
  absl::Duration acknowledge_within = absl::ZeroDuration();
  // Resolve within this; unset: no resolve target.
  std::optional<absl::Duration> resolve_within;
  // The acknowledge deadline is the end of the next business day.
  bool next_business_day = false;

  friend bool operator==(const SlaTarget& a, const SlaTarget& b);
};

// A tenant's response targets ("" is the global default).
struct SlaPolicy {
  std::string tenant;
  // One target per severity P0..P3, in that order, once normalized
  // (NormalizeSlaTargets); a client may send fewer.
  std::vector<SlaTarget> targets;
  WeeklyWindow business_hours;
  // When this version took effect; unset (epoch) for the built-in defaults.
  absl::Time update_time = absl::UnixEpoch();

  friend bool operator==(const SlaPolicy& a, const SlaPolicy& b);
};

// The built-in policy: P0 15 min, P1 30 min, P2 2 h, P3 the next business
// day, no resolve targets; business hours Monday-Friday 09:00-17:00 UTC.
SlaPolicy DefaultSlaPolicy(absl::string_view tenant);

// The target of `severity` in a normalized policy (P2's for an invalid
// severity).
const SlaTarget& TargetFor(const SlaPolicy& policy, Severity severity);

// Checks a policy as a client sends it; `field` prefixes the names in errors
// ("policy"). INVALID_ARGUMENT naming the field: tenant too long
// ("policy.tenant"), a target's severity unspecified or unknown or repeated
// ("policy.targets[1].severity"), acknowledge_within not positive (unless
// next_business_day) or over 30 days ("policy.targets[0].acknowledge_within"),
// resolve_within not positive or over 366 days, business hours with an unknown
// day ("policy.business_hours.days[2]"), start_minute outside 0..1439,
// end_minute outside 0..1440, or an unknown time zone
// ("policy.business_hours.time_zone").
absl::Status ValidateSlaPolicy(const SlaPolicy& policy, absl::string_view field);

// `targets` completed to one per severity, P0..P3 in order: a severity
// missing from `targets` takes the built-in default's target.
std::vector<SlaTarget> NormalizeSlaTargets(const std::vector<SlaTarget>& targets);

// The version of `versions` (one tenant's, by update_time ascending) in force
// at `at`: the latest with update_time <= at; null when none.
const SlaPolicy* PolicyInForce(const std::vector<SlaPolicy>& versions, absl::Time at);

// The policy an incident of `tenant` created at `at` is held to: the
// tenant's version in force, else the global default's, else
// DefaultSlaPolicy(tenant).
SlaPolicy EffectivePolicy(absl::string_view tenant, const std::vector<SlaPolicy>& tenant_versions,
                          const std::vector<SlaPolicy>& global_versions, absl::Time at);

// The end of the first business-hours window of `hours` starting at or after
// `t` (see the header comment). `hours` must be valid (an unknown zone is
// treated as UTC).
absl::Time EndOfNextBusinessDay(absl::Time t, const WeeklyWindow& hours);

// The due times of an incident of `severity` created at `create_time`.
struct SlaDeadlines {
  // acknowledge_due - create_time (the acknowledge target).
  absl::Duration response_target = absl::ZeroDuration();
  absl::Time acknowledge_due = absl::UnixEpoch();
  std::optional<absl::Time> resolve_due;
};
SlaDeadlines ComputeDeadlines(const SlaPolicy& policy, Severity severity, absl::Time create_time);

// Which target a breach missed.
enum class SlaTargetKind : int { kAcknowledge = 1, kResolve = 2 };
const char* SlaTargetKindName(SlaTargetKind kind);  // "acknowledge", "resolve"

// What breach detection needs of an incident.
struct SlaSubject {
  std::string tenant;
  std::string id;
  Severity severity = Severity::kP2;
  IncidentStatus status = IncidentStatus::kTriggered;
  absl::Time create_time = absl::UnixEpoch();
  std::optional<absl::Time> acknowledge_time;
  std::optional<absl::Time> mitigate_time;
  std::optional<absl::Time> resolve_time;
};
SlaSubject SubjectOf(const Incident& incident);

// A missed target.
struct SlaBreach {
  std::string tenant;
  std::string incident_id;
  SlaTargetKind kind = SlaTargetKind::kAcknowledge;
  Severity severity = Severity::kP2;           // the severity whose target was missed
  absl::Time due_time = absl::UnixEpoch();     // the deadline missed (the breach time)
  absl::Time detect_time = absl::UnixEpoch();  // when it was recorded

  friend bool operator==(const SlaBreach& a, const SlaBreach& b);
};

// The breaches of `subject` at `now` under `deadlines` that `recorded` does
// not hold yet (at most one per target kind), acknowledge first.
std::vector<SlaBreach> FindBreaches(const SlaSubject& subject, const SlaDeadlines& deadlines,
                                    const std::vector<SlaBreach>& recorded, absl::Time now);

// The timeline entry recording `breach` (actor "system", kind
// "sla_breached", at breach.detect_time; details target, severity, due_time).
TimelineEntry BreachEntry(const SlaBreach& breach);

namespace timeline_kind {
inline constexpr absl::string_view kSlaBreached = "sla_breached";
}  // namespace timeline_kind

}  // namespace agentwatch::incident
