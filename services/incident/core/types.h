// The incident domain: alerts, incidents and their timelines, as plain values.
// No I/O and no proto, pg or gRPC types; enum values equal the wire values of
// agentwatch.incident.v1 so the API maps them with a cast and core validation
// catches unknown numbers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace agentwatch::incident {

// Label (or annotation, or detail) name -> value, ordered by name.
using Labels = std::map<std::string, std::string>;

// Whether an alert fires. kUnspecified (and any other number) is invalid input.
enum class AlertStatus : int { kUnspecified = 0, kFiring = 1, kResolved = 2 };

// Incident and alert severity; P0 is the most severe (the smallest number).
enum class Severity : int { kUnspecified = 0, kP0 = 1, kP1 = 2, kP2 = 3, kP3 = 4 };

// Lifecycle state of an incident.
enum class IncidentStatus : int {
  kUnspecified = 0,
  kTriggered = 1,
  kAcknowledged = 2,
  kMitigated = 3,
  kResolved = 4,
  kClosed = 5,
};

// True for a known, specified value.
bool IsValid(AlertStatus status);
bool IsValid(Severity severity);
bool IsValid(IncidentStatus status);

// True when `a` is strictly more severe than `b` (P0 beats P1). Both valid.
bool MoreSevere(Severity a, Severity b);

// Open incidents (triggered, acknowledged, mitigated) collect the alerts of
// their group; resolved and closed ones do not.
bool IsOpen(IncidentStatus status);

// "TRIGGERED", "P1", "firing": names for messages and timeline text.
const char* StatusName(IncidentStatus status);
const char* SeverityName(Severity severity);
const char* AlertStatusName(AlertStatus status);

// The label holding the alert name, as in Alertmanager.
inline constexpr absl::string_view kAlertNameLabel = "alertname";
// The annotation an incident takes its title from, when present.
inline constexpr absl::string_view kSummaryAnnotation = "summary";
// The actor of changes made by the service itself.
inline constexpr absl::string_view kSystemActor = "system";

// One alert report as a client sends it, before defaults are applied.
struct AlertReport {
  std::string fingerprint;
  std::string name;
  Severity severity = Severity::kUnspecified;  // kUnspecified means P2
  std::string tenant;
  Labels labels;
  Labels annotations;
  std::optional<absl::Time> starts_at;  // unset means the time of receipt
  std::optional<absl::Time> ends_at;    // resolved only; unset means receipt
  AlertStatus status = AlertStatus::kUnspecified;
  std::string source;
  std::string generator_url;
};

// The state of one alert (fingerprint) within one incident.
struct AlertState {
  std::string tenant;
  std::string incident_id;
  std::string fingerprint;
  std::string name;
  Severity severity = Severity::kP2;
  Labels labels;  // includes alertname
  Labels annotations;
  AlertStatus status = AlertStatus::kFiring;
  absl::Time starts_at = absl::UnixEpoch();
  std::optional<absl::Time> ends_at;  // set while resolved
  std::string source;
  std::string generator_url;
  absl::Time joined_at = absl::UnixEpoch();  // when it joined this incident
  absl::Time update_time = absl::UnixEpoch();

  friend bool operator==(const AlertState& a, const AlertState& b);
};

// An incident: a group of related alerts that people act on.
struct Incident {
  std::string id;
  std::string tenant;
  std::string group_key;
  std::string title;
  IncidentStatus status = IncidentStatus::kTriggered;
  Severity severity = Severity::kP2;
  // True once a person set the severity: alerts no longer raise it.
  bool severity_pinned = false;
  // The group labels and the labels common to all its alerts.
  Labels labels;
  int64_t alert_count = 0;
  int64_t firing_alert_count = 0;
  std::string owner;
  absl::Time start_time = absl::UnixEpoch();  // earliest starts_at of its alerts
  absl::Time create_time = absl::UnixEpoch();
  absl::Time update_time = absl::UnixEpoch();
  std::optional<absl::Time> acknowledge_time;  // last acknowledgement
  std::optional<absl::Time> mitigate_time;     // last mitigation
  std::optional<absl::Time> resolve_time;      // last resolution
  std::optional<absl::Time> close_time;
  int32_t escalation_tier = -1;  // tier notified last; -1 before the first
  bool auto_resolved = false;
  std::string postmortem_id;
  // Whether its postmortem is published (P0/P1 need one to close). Derived by
  // the store from the postmortem, never stored on the incident.
  bool postmortem_published = false;

  friend bool operator==(const Incident& a, const Incident& b);
  friend bool operator!=(const Incident& a, const Incident& b) { return !(a == b); }
};

// One entry of an incident's timeline.
struct TimelineEntry {
  std::string tenant;
  std::string incident_id;
  absl::Time time = absl::UnixEpoch();
  std::string actor;  // person handle, "system", "escalation", "response_rule:<id>"
  std::string kind;   // "created", "alert_firing", "acknowledged", ...
  std::string text;
  Labels details;

  friend bool operator==(const TimelineEntry& a, const TimelineEntry& b);
};

// Timeline entry kinds (TimelineEntry.kind), as the API documents them.
namespace timeline_kind {
inline constexpr absl::string_view kCreated = "created";
inline constexpr absl::string_view kAlertFiring = "alert_firing";
inline constexpr absl::string_view kAlertResolved = "alert_resolved";
inline constexpr absl::string_view kAcknowledged = "acknowledged";
inline constexpr absl::string_view kMitigated = "mitigated";
inline constexpr absl::string_view kResolved = "resolved";
inline constexpr absl::string_view kClosed = "closed";
inline constexpr absl::string_view kReopened = "reopened";
inline constexpr absl::string_view kNote = "note";
inline constexpr absl::string_view kOwnerChanged = "owner_changed";
inline constexpr absl::string_view kSeverityChanged = "severity_changed";
}  // namespace timeline_kind

// Truncates to whole microseconds, the precision Postgres keeps, so that the
// stores and the idempotency keys agree on every timestamp.
absl::Time TruncateToMicros(absl::Time t);

}  // namespace agentwatch::incident
