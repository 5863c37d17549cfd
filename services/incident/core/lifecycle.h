// The incident lifecycle as pure functions:
//
//   TRIGGERED -> ACKNOWLEDGED -> MITIGATED -> RESOLVED -> CLOSED
//       |             |     \______________/^   |
//       |             \_______________________/ |
//       \______________(any open state)_____/   |
//   RESOLVED -> TRIGGERED (reopen); CLOSED is final.
//
// Allowed steps (everything else is FAILED_PRECONDITION naming the state):
//   acknowledge  TRIGGERED -> ACKNOWLEDGED; on ACKNOWLEDGED it is a no-op
//                that returns the incident unchanged (idempotent, as the API
//                documents), not an error.
//   mitigate     TRIGGERED | ACKNOWLEDGED -> MITIGATED
//   resolve      TRIGGERED | ACKNOWLEDGED | MITIGATED -> RESOLVED
//   close        RESOLVED -> CLOSED; P0 and P1 need a published postmortem.
//   reopen       RESOLVED -> TRIGGERED (escalation starts again)
// Every step sets its timestamp (the last one wins), update_time, and adds a
// timeline entry with the actor, the kind and the note (or a generated text).
// Times are truncated to microseconds, as the stores keep them.
// A no-op adds no entry for the step, but a given note is still recorded as a
// "note" entry so it is never lost.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

// A change to one incident: its state after the change and the timeline
// entries that record it (in order). `incident` equals the input when only
// entries were added, or nothing changed.
struct IncidentChange {
  Incident incident;
  std::vector<TimelineEntry> entries;
};

// Moves `incident` to `target` for `actor` at `now` (see the table above).
// INVALID_ARGUMENT when `target` is not a valid status; FAILED_PRECONDITION
// for a step the table does not allow.
absl::StatusOr<IncidentChange> Transition(const Incident& incident, IncidentStatus target,
                                          absl::string_view actor, absl::string_view note,
                                          absl::Time now);

// Adds a "note" entry; allowed in every state (notes on closed incidents
// complete the record). INVALID_ARGUMENT "note: required" for empty text.
absl::StatusOr<IncidentChange> AddNote(const Incident& incident, absl::string_view actor,
                                       absl::string_view note, absl::Time now);

// Sets the owner ("" clears it) with an "owner_changed" entry; the same owner
// again is a no-op. FAILED_PRECONDITION on a CLOSED incident.
absl::StatusOr<IncidentChange> AssignOwner(const Incident& incident, absl::string_view actor,
                                           absl::string_view owner, absl::string_view note,
                                           absl::Time now);

// Sets the severity and pins it (alerts no longer raise it) with a
// "severity_changed" entry; the same severity again only pins it.
// INVALID_ARGUMENT "severity: ..." when not P0-P3; FAILED_PRECONDITION on a
// CLOSED incident.
absl::StatusOr<IncidentChange> SetSeverity(const Incident& incident, absl::string_view actor,
                                           Severity severity, absl::string_view note,
                                           absl::Time now);

}  // namespace agentwatch::incident
