// Automatic resolution: an open incident whose alerts have all resolved is
// resolved by the service once it has been quiet (no alert firing) for a
// while. Pure: the store finds candidates and locks them, this decides.
#pragma once

#include <optional>

#include "absl/time/time.h"
#include "incident/core/lifecycle.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

// The actor of automatic resolutions in the timeline.
inline constexpr absl::string_view kAutoResolveActor = "auto_resolve";

// When `incident` becomes due: open, holding at least one alert, none of
// them firing, and `quiet` after its last alert ended (`last_alert_end`, the
// greatest ends_at of its alerts). nullopt when it never will in this state.
std::optional<absl::Time> AutoResolveDueAt(const Incident& incident,
                                           std::optional<absl::Time> last_alert_end,
                                           absl::Duration quiet);

// The automatic resolution of `incident` at `now` when it is due (see
// AutoResolveDueAt), else nullopt: RESOLVED with auto_resolved set and a
// "resolved" entry by kAutoResolveActor whose details say
// auto_resolved=true.
std::optional<IncidentChange> DecideAutoResolve(const Incident& incident,
                                                std::optional<absl::Time> last_alert_end,
                                                absl::Duration quiet, absl::Time now);

}  // namespace agentwatch::incident
