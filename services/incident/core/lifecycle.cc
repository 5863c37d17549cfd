#include "incident/core/lifecycle.h"

#include <initializer_list>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace agentwatch::incident {
namespace {

TimelineEntry MakeEntry(const Incident& incident, absl::string_view actor, absl::string_view kind,
                        absl::string_view note, std::string generated, Labels details,
                        absl::Time now) {
  TimelineEntry entry;
  entry.tenant = incident.tenant;
  entry.incident_id = incident.id;
  entry.time = now;
  entry.actor = std::string(actor);
  entry.kind = std::string(kind);
  entry.text = note.empty() ? std::move(generated) : std::string(note);
  entry.details = std::move(details);
  return entry;
}

// The change that only records `note` (when given), for no-op steps.
IncidentChange NoOp(const Incident& incident, absl::string_view actor, absl::string_view note,
                    absl::Time now) {
  IncidentChange change{incident, {}};
  if (!note.empty()) {
    change.entries.push_back(MakeEntry(incident, actor, timeline_kind::kNote, note, "", {}, now));
  }
  return change;
}

absl::Status Refuse(const Incident& incident, absl::string_view verb,
                    std::initializer_list<IncidentStatus> allowed) {
  std::vector<std::string> names;
  for (IncidentStatus status : allowed) names.push_back(StatusName(status));
  return absl::FailedPreconditionError(
      absl::StrCat("incident ", incident.id, " is ", StatusName(incident.status), "; cannot ", verb,
                   " it (allowed from ", absl::StrJoin(names, " or "), ")"));
}

bool In(IncidentStatus status, std::initializer_list<IncidentStatus> allowed) {
  for (IncidentStatus s : allowed) {
    if (s == status) return true;
  }
  return false;
}

absl::Status RefuseClosed(const Incident& incident, absl::string_view verb) {
  if (incident.status != IncidentStatus::kClosed) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("incident ", incident.id, " is CLOSED; cannot ", verb));
}

}  // namespace

absl::StatusOr<IncidentChange> Transition(const Incident& incident, IncidentStatus target,
                                          absl::string_view actor, absl::string_view note,
                                          absl::Time now) {
  now = TruncateToMicros(now);  // the precision the stores keep
  using S = IncidentStatus;
  const S from = incident.status;
  Incident next = incident;
  next.status = target;
  next.update_time = now;
  absl::string_view kind;
  std::string text;
  switch (target) {
    case S::kAcknowledged: {
      if (from == S::kAcknowledged) return NoOp(incident, actor, note, now);
      if (from != S::kTriggered) {
        return Refuse(incident, "acknowledge", {S::kTriggered, S::kAcknowledged});
      }
      next.acknowledge_time = now;
      kind = timeline_kind::kAcknowledged;
      text = absl::StrCat("Acknowledged by ", actor);
      break;
    }
    case S::kMitigated: {
      if (!In(from, {S::kTriggered, S::kAcknowledged})) {
        return Refuse(incident, "mitigate", {S::kTriggered, S::kAcknowledged});
      }
      next.mitigate_time = now;
      kind = timeline_kind::kMitigated;
      text = absl::StrCat("Mitigated by ", actor);
      break;
    }
    case S::kResolved: {
      if (!IsOpen(from)) {
        return Refuse(incident, "resolve", {S::kTriggered, S::kAcknowledged, S::kMitigated});
      }
      next.resolve_time = now;
      next.auto_resolved = false;
      kind = timeline_kind::kResolved;
      text = absl::StrCat("Resolved by ", actor);
      break;
    }
    case S::kClosed: {
      if (from != S::kResolved) return Refuse(incident, "close", {S::kResolved});
      if ((incident.severity == Severity::kP0 || incident.severity == Severity::kP1) &&
          !incident.postmortem_published) {
        return absl::FailedPreconditionError(absl::StrCat(
            "incident ", incident.id, " is ", SeverityName(incident.severity),
            "; P0 and P1 incidents need a published postmortem before closing (",
            incident.postmortem_id.empty()
                ? "it has none: create one with CreatePostmortem and publish it"
                : absl::StrCat("postmortem ", incident.postmortem_id, " is not PUBLISHED yet"),
            ")"));
      }
      next.close_time = now;
      kind = timeline_kind::kClosed;
      text = absl::StrCat("Closed by ", actor);
      break;
    }
    case S::kTriggered: {
      if (from == S::kClosed) {
        return absl::FailedPreconditionError(
            absl::StrCat("incident ", incident.id, " is CLOSED; a closed incident cannot reopen"));
      }
      if (from != S::kResolved) return Refuse(incident, "reopen", {S::kResolved});
      next.escalation_tier = -1;
      next.auto_resolved = false;
      kind = timeline_kind::kReopened;
      text = absl::StrCat("Reopened by ", actor);
      break;
    }
    case S::kUnspecified:
    default:
      return common::InvalidField("status",
                                  absl::StrCat("not a target state: ", static_cast<int>(target)));
  }
  IncidentChange change{std::move(next), {}};
  change.entries.push_back(MakeEntry(change.incident, actor, kind, note, std::move(text),
                                     {{"from", StatusName(from)}, {"to", StatusName(target)}},
                                     now));
  return change;
}

absl::StatusOr<IncidentChange> AddNote(const Incident& incident, absl::string_view actor,
                                       absl::string_view note, absl::Time now) {
  now = TruncateToMicros(now);  // the precision the stores keep
  if (note.empty()) return common::InvalidField("note", "required");
  IncidentChange change{incident, {}};
  change.entries.push_back(MakeEntry(incident, actor, timeline_kind::kNote, note, "", {}, now));
  return change;
}

absl::StatusOr<IncidentChange> AssignOwner(const Incident& incident, absl::string_view actor,
                                           absl::string_view owner, absl::string_view note,
                                           absl::Time now) {
  now = TruncateToMicros(now);  // the precision the stores keep
  RETURN_IF_ERROR(RefuseClosed(incident, "change its owner"));
  if (incident.owner == owner) return NoOp(incident, actor, note, now);
  Incident next = incident;
  next.owner = std::string(owner);
  next.update_time = now;
  std::string text = owner.empty()
                         ? absl::StrCat("Owner ", incident.owner, " unassigned by ", actor)
                         : absl::StrCat("Owner set to ", owner, " by ", actor);
  IncidentChange change{std::move(next), {}};
  change.entries.push_back(MakeEntry(change.incident, actor, timeline_kind::kOwnerChanged, note,
                                     std::move(text),
                                     {{"from", incident.owner}, {"to", std::string(owner)}}, now));
  return change;
}

absl::StatusOr<IncidentChange> SetSeverity(const Incident& incident, absl::string_view actor,
                                           Severity severity, absl::string_view note,
                                           absl::Time now) {
  now = TruncateToMicros(now);  // the precision the stores keep
  if (severity == Severity::kUnspecified) return common::InvalidField("severity", "required");
  if (!IsValid(severity)) {
    return common::InvalidField("severity",
                                absl::StrCat("unknown value ", static_cast<int>(severity)));
  }
  RETURN_IF_ERROR(RefuseClosed(incident, "change its severity"));
  Incident next = incident;
  next.severity_pinned = true;
  if (incident.severity == severity) {
    if (incident.severity_pinned) return NoOp(incident, actor, note, now);
    next.update_time = now;
    return NoOp(next, actor, note, now);
  }
  next.severity = severity;
  next.update_time = now;
  IncidentChange change{std::move(next), {}};
  change.entries.push_back(
      MakeEntry(change.incident, actor, timeline_kind::kSeverityChanged, note,
                absl::StrCat("Severity changed from ", SeverityName(incident.severity), " to ",
                             SeverityName(severity), " by ", actor),
                {{"from", SeverityName(incident.severity)}, {"to", SeverityName(severity)}}, now));
  return change;
}

}  // namespace agentwatch::incident
