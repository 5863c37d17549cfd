// MemoryIncidentStore: the PostmortemStore half.
#include <algorithm>

#include "common/status_macros.h"
#include "incident/store/memory_incident_store.h"

namespace agentwatch::incident {

absl::StatusOr<Postmortem> MemoryIncidentStore::CreatePostmortem(const Postmortem& postmortem) {
  absl::MutexLock lock(&mu_);
  auto it = incidents_.find(postmortem.incident_id);
  if (it == incidents_.end()) return IncidentNotFound(postmortem.incident_id);
  Incident& incident = it->second;
  if (!incident.postmortem_id.empty()) {
    const Postmortem& existing = postmortems_.at(incident.postmortem_id);
    if (existing.id == postmortem.id) return existing;
    return PostmortemExists(incident.id, existing.id);
  }
  Postmortem stored = postmortem;
  stored.tenant = incident.tenant;
  if (stored.title.empty()) stored.title = incident.title;
  incident.postmortem_id = stored.id;
  incident.postmortem_published = stored.status == PostmortemStatus::kPublished;
  timelines_[incident.id].push_back(PostmortemCreatedEntry(stored));
  postmortems_[stored.id] = stored;
  return stored;
}

absl::StatusOr<Postmortem> MemoryIncidentStore::GetPostmortem(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = postmortems_.find(std::string(id));
  if (it == postmortems_.end()) return PostmortemNotFound(id);
  return it->second;
}

absl::StatusOr<Postmortem> MemoryIncidentStore::GetPostmortemOfIncident(
    absl::string_view incident_id) {
  absl::MutexLock lock(&mu_);
  auto it = incidents_.find(std::string(incident_id));
  if (it == incidents_.end()) return IncidentNotFound(incident_id);
  if (it->second.postmortem_id.empty()) return IncidentHasNoPostmortem(incident_id);
  return postmortems_.at(it->second.postmortem_id);
}

absl::StatusOr<Postmortem> MemoryIncidentStore::UpdatePostmortem(absl::string_view id,
                                                                 const PostmortemMutator& mutate) {
  absl::MutexLock lock(&mu_);
  auto it = postmortems_.find(std::string(id));
  if (it == postmortems_.end()) return PostmortemNotFound(id);
  const Postmortem& current = it->second;
  Incident& incident = incidents_.at(current.incident_id);
  ASSIGN_OR_RETURN(Postmortem next, mutate(current, incident));
  RETURN_IF_ERROR(CheckPostmortemStatusChange(incident, current.status, next.status));
  next.id = current.id;
  next.incident_id = current.incident_id;
  next.tenant = current.tenant;
  next.create_time = current.create_time;
  if (next.status != current.status) {
    timelines_[incident.id].push_back(PostmortemStatusEntry(next, current.status));
  }
  incident.postmortem_published = next.status == PostmortemStatus::kPublished;
  it->second = next;
  return next;
}

absl::StatusOr<PostmortemPage> MemoryIncidentStore::ListPostmortems(const PostmortemQuery& query) {
  absl::MutexLock lock(&mu_);
  std::vector<const Postmortem*> selected;
  for (const auto& [id, p] : postmortems_) {
    if (!query.tenant.empty() && p.tenant != query.tenant) continue;
    if (!query.statuses.empty() &&
        std::find(query.statuses.begin(), query.statuses.end(), p.status) == query.statuses.end()) {
      continue;
    }
    if (query.after && !PostmortemIsAfter(p, *query.after)) continue;
    selected.push_back(&p);
  }
  std::sort(selected.begin(), selected.end(), [](const Postmortem* a, const Postmortem* b) {
    if (a->create_time != b->create_time) return a->create_time > b->create_time;
    return a->id > b->id;
  });
  PostmortemPage page;
  for (const Postmortem* p : selected) {
    if (static_cast<int>(page.postmortems.size()) == query.page_size) {
      page.next = PageCursor{page.postmortems.back().create_time, page.postmortems.back().id};
      break;
    }
    page.postmortems.push_back(*p);
  }
  return page;
}

}  // namespace agentwatch::incident
