#include "incident/core/types.h"

#include <tuple>

namespace agentwatch::incident {

bool IsValid(AlertStatus status) {
  return status == AlertStatus::kFiring || status == AlertStatus::kResolved;
}

bool IsValid(Severity severity) {
  const int value = static_cast<int>(severity);
  return value >= static_cast<int>(Severity::kP0) && value <= static_cast<int>(Severity::kP3);
}

bool IsValid(IncidentStatus status) {
  const int value = static_cast<int>(status);
  return value >= static_cast<int>(IncidentStatus::kTriggered) &&
         value <= static_cast<int>(IncidentStatus::kClosed);
}

bool MoreSevere(Severity a, Severity b) { return static_cast<int>(a) < static_cast<int>(b); }

bool IsOpen(IncidentStatus status) {
  return status == IncidentStatus::kTriggered || status == IncidentStatus::kAcknowledged ||
         status == IncidentStatus::kMitigated;
}

const char* StatusName(IncidentStatus status) {
  switch (status) {
    case IncidentStatus::kTriggered:
      return "TRIGGERED";
    case IncidentStatus::kAcknowledged:
      return "ACKNOWLEDGED";
    case IncidentStatus::kMitigated:
      return "MITIGATED";
    case IncidentStatus::kResolved:
      return "RESOLVED";
    case IncidentStatus::kClosed:
      return "CLOSED";
    case IncidentStatus::kUnspecified:
      break;
  }
  return "UNSPECIFIED";
}

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kP0:
      return "P0";
    case Severity::kP1:
      return "P1";
    case Severity::kP2:
      return "P2";
    case Severity::kP3:
      return "P3";
    case Severity::kUnspecified:
      break;
  }
  return "UNSPECIFIED";
}

const char* AlertStatusName(AlertStatus status) {
  switch (status) {
    case AlertStatus::kFiring:
      return "firing";
    case AlertStatus::kResolved:
      return "resolved";
    case AlertStatus::kUnspecified:
      break;
  }
  return "unspecified";
}

namespace {

auto Tie(const AlertState& a) {
  return std::tie(a.tenant, a.incident_id, a.fingerprint, a.name, a.severity, a.labels,
                  a.annotations, a.status, a.starts_at, a.ends_at, a.source, a.generator_url,
                  a.joined_at, a.update_time);
}

auto Tie(const Incident& i) {
  return std::tie(i.id, i.tenant, i.group_key, i.title, i.status, i.severity, i.severity_pinned,
                  i.labels, i.alert_count, i.firing_alert_count, i.owner, i.start_time,
                  i.create_time, i.update_time, i.acknowledge_time, i.mitigate_time, i.resolve_time,
                  i.close_time, i.escalation_tier, i.auto_resolved, i.postmortem_id,
                  i.postmortem_published);
}

auto Tie(const TimelineEntry& e) {
  return std::tie(e.tenant, e.incident_id, e.time, e.actor, e.kind, e.text, e.details);
}

}  // namespace

bool operator==(const AlertState& a, const AlertState& b) { return Tie(a) == Tie(b); }
bool operator==(const Incident& a, const Incident& b) { return Tie(a) == Tie(b); }
bool operator==(const TimelineEntry& a, const TimelineEntry& b) { return Tie(a) == Tie(b); }

absl::Time TruncateToMicros(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

}  // namespace agentwatch::incident
