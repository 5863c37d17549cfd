#include "incident/store/memory_incident_store.h"

#include <re2/re2.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "common/status_macros.h"
#include "incident/core/auto_resolve.h"

namespace agentwatch::incident {
namespace {

bool Matches(const Labels& labels, const LabelMatcher& matcher) {
  auto it = labels.find(matcher.name);
  const std::string value = it == labels.end() ? "" : it->second;
  switch (matcher.op) {
    case MatchOp::kEqual:
      return value == matcher.value;
    case MatchOp::kNotEqual:
      return value != matcher.value;
    case MatchOp::kRegex:
    case MatchOp::kNotRegex: {
      const RE2 re(matcher.value, RE2::Quiet);
      const bool full = re.ok() && RE2::FullMatch(value, re);
      return matcher.op == MatchOp::kRegex ? full : !full;
    }
    case MatchOp::kUnspecified:
      break;
  }
  return false;
}

template <typename T>
bool InOrEmpty(const std::vector<T>& set, T value) {
  return set.empty() || std::find(set.begin(), set.end(), value) != set.end();
}

bool Selects(const IncidentQuery& query, const Incident& incident) {
  if (!query.tenant.empty() && incident.tenant != query.tenant) return false;
  if (!InOrEmpty(query.statuses, incident.status)) return false;
  if (!InOrEmpty(query.severities, incident.severity)) return false;
  if (query.created_from && incident.create_time < *query.created_from) return false;
  if (query.created_before && incident.create_time >= *query.created_before) return false;
  if (!query.owner.empty() && incident.owner != query.owner) return false;
  if (query.after && !IsAfter(incident, *query.after)) return false;
  for (const LabelMatcher& matcher : query.matchers) {
    if (!Matches(incident.labels, matcher)) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<IntakeSummary> MemoryIncidentStore::ReportAlerts(
    const std::vector<IncomingAlert>& alerts, absl::Time now) {
  absl::MutexLock lock(&mu_);
  IntakeState state;
  std::set<std::pair<std::string, std::string>> fingerprints;
  std::set<std::string> groups;
  for (const IncomingAlert& alert : alerts) {
    const ReportKey key = KeyOf(alert);
    if (auto it = reports_.find(key); it != reports_.end()) {
      state.known_reports.emplace(key, it->second);
    }
    fingerprints.emplace(alert.tenant, alert.fingerprint);
    groups.insert(alert.group_key);
  }
  for (const auto& [id, incident] : incidents_) {
    if (IsOpen(incident.status) && groups.count(incident.group_key) > 0) {
      state.incidents.emplace(id, incident);
    }
  }
  for (const auto& [key, row] : alerts_) {
    if (fingerprints.count({row.tenant, row.fingerprint}) > 0) {
      state.alerts.emplace(key, row);
      state.incidents.emplace(row.incident_id, incidents_.at(row.incident_id));
    }
  }
  std::set<std::string> tenants;
  for (const IncomingAlert& alert : alerts) tenants.insert(alert.tenant);
  for (const auto& [id, silence] : silences_) {
    if (tenants.count(silence.tenant) > 0 && StateAt(silence, now) == SilenceState::kActive) {
      state.silences.push_back(silence);
    }
  }
  for (const auto& [id, rule] : inhibition_rules_) {
    if (tenants.count(rule.tenant) > 0) state.inhibition_rules.push_back(rule);
  }
  if (!state.inhibition_rules.empty()) {
    for (const auto& [key, row] : alerts_) {
      if (tenants.count(row.tenant) > 0 && row.status == AlertStatus::kFiring &&
          IsOpen(incidents_.at(row.incident_id).status)) {
        state.firing_alerts.push_back(row);
      }
    }
  }
  IntakePlan plan = PlanIntake(state, alerts, now, ids_, reopen_window_);
  for (const Incident& incident : plan.created) incidents_[incident.id] = incident;
  for (const Incident& incident : plan.updated) incidents_[incident.id] = incident;
  for (const AlertState& row : plan.alerts) alerts_[{row.incident_id, row.fingerprint}] = row;
  for (const ReportRecord& report : plan.reports) reports_[report.key] = report.incident_id;
  report_log_.insert(report_log_.end(), plan.reports.begin(), plan.reports.end());
  for (const TimelineEntry& entry : plan.timeline) timelines_[entry.incident_id].push_back(entry);
  return plan.summary;
}

absl::StatusOr<std::string> MemoryIncidentStore::MutateIncident(absl::string_view id,
                                                                const RequestKey& request,
                                                                const IncidentMutator& mutate,
                                                                const ResponseEncoder& encode) {
  absl::MutexLock lock(&mu_);
  auto it = incidents_.find(std::string(id));
  if (it == incidents_.end()) return IncidentNotFound(id);
  const Incident& current = it->second;
  const std::pair<std::string, std::string> request_key{current.tenant, request.request_id};
  if (!request.request_id.empty()) {
    if (auto stored = requests_.find(request_key); stored != requests_.end()) {
      if (stored->second.method != request.method || stored->second.incident_id != id) {
        return RequestIdReused(request, stored->second.method, stored->second.incident_id);
      }
      return stored->second.response;
    }
  }
  ASSIGN_OR_RETURN(IncidentChange change, mutate(current));
  if (!IsOpen(current.status) && IsOpen(change.incident.status)) {
    for (const auto& [other_id, other] : incidents_) {
      if (other_id != current.id && other.tenant == current.tenant &&
          other.group_key == current.group_key && IsOpen(other.status)) {
        return GroupHasOpenIncident(current, other_id);
      }
    }
  }
  std::string response = encode(change);
  std::vector<TimelineEntry>& timeline = timelines_[current.id];
  timeline.insert(timeline.end(), change.entries.begin(), change.entries.end());
  if (!request.request_id.empty()) {
    requests_[request_key] = StoredRequest{request.method, current.id, response};
  }
  it->second = std::move(change.incident);
  return response;
}

absl::StatusOr<IncidentDetail> MemoryIncidentStore::GetIncident(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = incidents_.find(std::string(id));
  if (it == incidents_.end()) return IncidentNotFound(id);
  IncidentDetail detail;
  detail.incident = it->second;
  for (auto row = alerts_.lower_bound({it->first, ""});
       row != alerts_.end() && row->first.first == it->first; ++row) {
    detail.alerts.push_back(row->second);
  }
  std::stable_sort(
      detail.alerts.begin(), detail.alerts.end(),
      [](const AlertState& a, const AlertState& b) { return a.joined_at < b.joined_at; });
  if (auto timeline = timelines_.find(it->first); timeline != timelines_.end()) {
    detail.timeline = timeline->second;
  }
  return detail;
}

absl::StatusOr<IncidentPage> MemoryIncidentStore::ListIncidents(const IncidentQuery& query) {
  absl::MutexLock lock(&mu_);
  std::vector<Incident> selected;
  for (const auto& [id, incident] : incidents_) {
    if (Selects(query, incident)) selected.push_back(incident);
  }
  std::sort(selected.begin(), selected.end(), NewestFirst);
  IncidentPage page;
  const size_t size = static_cast<size_t>(query.page_size);
  if (selected.size() > size) {
    selected.resize(size);
    page.next = PageCursor{selected.back().create_time, selected.back().id};
  }
  page.incidents = std::move(selected);
  return page;
}

absl::StatusOr<std::string> MemoryIncidentStore::FindOpenIncident(absl::string_view tenant,
                                                                  absl::string_view fingerprint) {
  absl::MutexLock lock(&mu_);
  const AlertState* latest = nullptr;
  for (const auto& [key, alert] : alerts_) {
    if (alert.tenant != tenant || alert.fingerprint != fingerprint) continue;
    if (!IsOpen(incidents_.at(alert.incident_id).status)) continue;
    if (latest == nullptr || alert.joined_at > latest->joined_at) latest = &alert;
  }
  return latest == nullptr ? std::string() : latest->incident_id;
}

absl::StatusOr<std::vector<std::string>> MemoryIncidentStore::AutoResolveDue(absl::Time now,
                                                                             absl::Duration quiet,
                                                                             int limit) {
  absl::MutexLock lock(&mu_);
  std::map<std::string, absl::Time> last_end;  // incident id -> greatest ends_at
  for (const auto& [key, alert] : alerts_) {
    if (!alert.ends_at.has_value()) continue;
    auto [it, inserted] = last_end.emplace(alert.incident_id, *alert.ends_at);
    if (!inserted) it->second = std::max(it->second, *alert.ends_at);
  }
  std::vector<std::string> resolved;
  for (auto& [id, incident] : incidents_) {
    if (static_cast<int>(resolved.size()) >= limit) break;
    const auto end = last_end.find(id);
    std::optional<IncidentChange> change = DecideAutoResolve(
        incident, end == last_end.end() ? std::nullopt : std::optional<absl::Time>(end->second),
        quiet, now);
    if (!change.has_value()) continue;
    incident = change->incident;
    std::vector<TimelineEntry>& timeline = timelines_[id];
    timeline.insert(timeline.end(), change->entries.begin(), change->entries.end());
    resolved.push_back(id);
  }
  return resolved;
}

absl::StatusOr<Silence> MemoryIncidentStore::CreateSilence(const Silence& silence) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = silences_.emplace(silence.id, silence);
  return it->second;
}

absl::StatusOr<Silence> MemoryIncidentStore::GetSilence(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = silences_.find(std::string(id));
  if (it == silences_.end()) return SilenceNotFound(id);
  return it->second;
}

absl::StatusOr<Silence> MemoryIncidentStore::UpdateSilence(
    absl::string_view id, const std::function<absl::StatusOr<Silence>(const Silence&)>& update) {
  absl::MutexLock lock(&mu_);
  auto it = silences_.find(std::string(id));
  if (it == silences_.end()) return SilenceNotFound(id);
  ASSIGN_OR_RETURN(Silence next, update(it->second));
  next.id = it->second.id;
  next.tenant = it->second.tenant;
  next.create_time = it->second.create_time;
  next.expire_time = it->second.expire_time;
  it->second = std::move(next);
  return it->second;
}

absl::Status MemoryIncidentStore::DeleteSilence(absl::string_view id, absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = silences_.find(std::string(id));
  if (it == silences_.end()) return SilenceNotFound(id);
  Silence& silence = it->second;
  const absl::Time at = TruncateToMicros(now);
  if (!silence.expire_time.has_value() || *silence.expire_time > at) {
    silence.expire_time = at;
    silence.update_time = at;
  }
  return absl::OkStatus();
}

absl::StatusOr<SilencePage> MemoryIncidentStore::ListSilences(const SilenceQuery& query) {
  absl::MutexLock lock(&mu_);
  std::vector<const Silence*> matching;
  for (const auto& [id, silence] : silences_) {
    if (!query.tenant.empty() && silence.tenant != query.tenant) continue;
    if (!query.include_expired && StateAt(silence, query.now) == SilenceState::kExpired) continue;
    if (query.after && std::tie(silence.create_time, silence.id) >=
                           std::tie(query.after->create_time, query.after->id)) {
      continue;
    }
    matching.push_back(&silence);
  }
  std::sort(matching.begin(), matching.end(), [](const Silence* a, const Silence* b) {
    return std::tie(a->create_time, a->id) > std::tie(b->create_time, b->id);
  });
  SilencePage page;
  for (const Silence* silence : matching) {
    if (static_cast<int>(page.silences.size()) == query.page_size) {
      page.next = PageCursor{page.silences.back().create_time, page.silences.back().id};
      break;
    }
    page.silences.push_back(*silence);
  }
  return page;
}

}  // namespace agentwatch::incident
