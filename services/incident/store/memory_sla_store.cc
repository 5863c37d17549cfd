#include "incident/store/memory_sla_store.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "common/status_macros.h"

namespace agentwatch::incident {
namespace {

bool Before(const SlaBreach& a, const SlaBreach& b) {
  return std::tie(a.due_time, a.kind) < std::tie(b.due_time, b.kind);
}

}  // namespace

absl::StatusOr<std::vector<SlaPolicyRecord>> MemorySlaStore::ListSlaPolicyVersions(
    const std::vector<std::string>& tenants) {
  absl::MutexLock lock(&mu_);
  std::vector<SlaPolicyRecord> out;
  for (const auto& [tenant, versions] : policies_) {
    if (std::find(tenants.begin(), tenants.end(), tenant) == tenants.end()) continue;
    out.insert(out.end(), versions.begin(), versions.end());
  }
  return out;
}

absl::StatusOr<SlaPolicyRecord> MemorySlaStore::PutSlaPolicy(const SlaPolicyRecord& record) {
  absl::MutexLock lock(&mu_);
  std::vector<SlaPolicyRecord>& versions = policies_[record.tenant];
  SlaPolicyRecord stored = record;
  stored.update_time = TruncateToMicros(record.update_time);
  if (!versions.empty() && stored.update_time <= versions.back().update_time) {
    stored.update_time = versions.back().update_time + absl::Microseconds(1);
  }
  versions.push_back(stored);
  return stored;
}

absl::StatusOr<std::vector<Incident>> MemorySlaStore::OpenIncidents() {
  std::vector<Incident> out;
  IncidentQuery query;
  query.statuses = {IncidentStatus::kTriggered, IncidentStatus::kAcknowledged,
                    IncidentStatus::kMitigated};
  query.page_size = kMaxPageSize;
  while (true) {
    ASSIGN_OR_RETURN(IncidentPage page, incidents_.ListIncidents(query));
    for (Incident& incident : page.incidents) out.push_back(std::move(incident));
    if (!page.next.has_value()) return out;
    query.after = page.next;
  }
}

absl::StatusOr<std::vector<SlaCandidate>> MemorySlaStore::ListSlaCandidates(
    const std::optional<SlaCandidateCursor>& after, int limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::vector<Incident> open, OpenIncidents());
  std::sort(open.begin(), open.end(), [](const Incident& a, const Incident& b) {
    return std::tie(a.tenant, a.group_key) < std::tie(b.tenant, b.group_key);
  });
  std::vector<SlaCandidate> out;
  for (const Incident& incident : open) {
    if (after.has_value() && std::tie(incident.tenant, incident.group_key) <=
                                 std::tie(after->tenant, after->group_key)) {
      continue;
    }
    if (static_cast<int>(out.size()) >= limit) break;
    SlaCandidate candidate;
    candidate.subject = SubjectOf(incident);
    candidate.group_key = incident.group_key;
    const auto recorded = breaches_.find(IncidentKey{incident.tenant, incident.id});
    if (recorded != breaches_.end()) candidate.breaches = recorded->second;
    out.push_back(std::move(candidate));
  }
  return out;
}

absl::StatusOr<int> MemorySlaStore::RecordSlaBreaches(absl::string_view tenant,
                                                      absl::string_view id,
                                                      const SlaBreachPlanner& plan) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<IncidentDetail> detail = incidents_.GetIncident(id);
  if (absl::IsNotFound(detail.status())) return 0;
  if (!detail.ok()) return detail.status();
  if (detail->incident.tenant != tenant) return 0;
  std::vector<SlaBreach>& recorded = breaches_[IncidentKey{std::string(tenant), std::string(id)}];
  int inserted = 0;
  for (const SlaBreach& breach : plan(SubjectOf(detail->incident), recorded)) {
    const bool known = std::any_of(recorded.begin(), recorded.end(),
                                   [&](const SlaBreach& b) { return b.kind == breach.kind; });
    if (known) continue;
    RETURN_IF_ERROR(incidents_.AppendTimeline(BreachEntry(breach)));
    recorded.push_back(breach);
    std::sort(recorded.begin(), recorded.end(), Before);
    ++inserted;
  }
  return inserted;
}

absl::StatusOr<std::map<IncidentKey, IncidentSlaInfo>> MemorySlaStore::GetIncidentSlaInfo(
    const std::vector<IncidentKey>& keys) {
  absl::MutexLock lock(&mu_);
  std::map<IncidentKey, IncidentSlaInfo> out;
  for (const IncidentKey& key : keys) {
    const auto it = breaches_.find(key);
    if (it != breaches_.end() && !it->second.empty()) out[key].breaches = it->second;
  }
  ASSIGN_OR_RETURN(const std::vector<EscalationCandidate> escalating,
                   incidents_.ListEscalationCandidates(1 << 30));
  for (const EscalationCandidate& candidate : escalating) {
    if (!candidate.state.has_value()) continue;
    const IncidentKey key{candidate.incident.tenant, candidate.incident.id};
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) continue;
    out[key].escalation_policy_id = candidate.state->policy_id;
  }
  return out;
}

absl::StatusOr<SlaBreachCounts> MemorySlaStore::CountSlaBreaches(const StatsQuery& query) {
  absl::MutexLock lock(&mu_);
  SlaBreachCounts out;
  for (const auto& [key, breaches] : breaches_) {
    if (breaches.empty()) continue;
    ASSIGN_OR_RETURN(const IncidentDetail detail, incidents_.GetIncident(key.second));
    const Incident& incident = detail.incident;
    if (!query.tenant.empty() && incident.tenant != query.tenant) continue;
    if (incident.create_time < query.start || incident.create_time >= query.end) continue;
    ++out.overall;
    ++out.by_severity[incident.severity];
    const auto service = incident.labels.find(query.service_label);
    if (service != incident.labels.end()) ++out.by_service[service->second];
  }
  return out;
}

}  // namespace agentwatch::incident
