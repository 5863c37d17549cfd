#include "incident/core/auto_resolve.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace agentwatch::incident {

std::optional<absl::Time> AutoResolveDueAt(const Incident& incident,
                                           std::optional<absl::Time> last_alert_end,
                                           absl::Duration quiet) {
  if (!IsOpen(incident.status) || incident.alert_count <= 0 || incident.firing_alert_count != 0 ||
      !last_alert_end.has_value()) {
    return std::nullopt;
  }
  return *last_alert_end + quiet;
}

std::optional<IncidentChange> DecideAutoResolve(const Incident& incident,
                                                std::optional<absl::Time> last_alert_end,
                                                absl::Duration quiet, absl::Time now) {
  const std::optional<absl::Time> due = AutoResolveDueAt(incident, last_alert_end, quiet);
  if (!due.has_value() || now < *due) return std::nullopt;
  absl::StatusOr<IncidentChange> change =
      Transition(incident, IncidentStatus::kResolved, kAutoResolveActor, "", now);
  if (!change.ok()) return std::nullopt;
  change->incident.auto_resolved = true;
  for (TimelineEntry& entry : change->entries) {
    if (entry.kind != timeline_kind::kResolved) continue;
    entry.text = absl::StrCat("Resolved automatically: every alert resolved and none fired for ",
                              absl::FormatDuration(quiet));
    entry.details["auto_resolved"] = "true";
  }
  return *std::move(change);
}

}  // namespace agentwatch::incident
