#include "incident/store/incident_store.h"

#include "absl/strings/str_cat.h"

namespace agentwatch::incident {

absl::Status IncidentNotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("incident ", id, " not found"));
}

absl::Status RequestIdReused(const RequestKey& request, absl::string_view first_method,
                             absl::string_view first_incident) {
  return absl::InvalidArgumentError(absl::StrCat("request_id: '", request.request_id,
                                                 "' was already used for ", first_method,
                                                 " on incident ", first_incident));
}

absl::Status GroupHasOpenIncident(const Incident& incident, absl::string_view other) {
  return absl::FailedPreconditionError(
      absl::StrCat("incident ", incident.id, " cannot reopen: incident ", other,
                   " of the same group is open; new alerts of the group join that one"));
}

absl::Status SilenceNotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("silence ", id, " not found"));
}

absl::Status InhibitionRuleNotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("inhibition rule ", id, " not found"));
}

absl::Status ConfigNotFound(absl::string_view kind, absl::string_view id) {
  std::string what(kind);
  for (char& c : what) {
    if (c == '_') c = ' ';
  }
  return absl::NotFoundError(absl::StrCat(what, " ", id, " not found"));
}

}  // namespace agentwatch::incident
