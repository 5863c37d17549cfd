#include "incident/store/postmortem_store.h"

#include "absl/strings/str_cat.h"

namespace agentwatch::incident {

absl::Status PostmortemNotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("postmortem ", id, " not found"));
}

absl::Status IncidentHasNoPostmortem(absl::string_view incident_id) {
  return absl::NotFoundError(absl::StrCat("incident ", incident_id, " has no postmortem"));
}

absl::Status PostmortemExists(absl::string_view incident_id, absl::string_view existing_id) {
  return absl::AlreadyExistsError(
      absl::StrCat("incident ", incident_id, " already has postmortem ", existing_id));
}

bool PostmortemIsAfter(const Postmortem& p, const PageCursor& cursor) {
  if (p.create_time != cursor.create_time) return p.create_time < cursor.create_time;
  return p.id < cursor.id;
}

}  // namespace agentwatch::incident
