// MemoryIncidentStore: paging configuration, escalation and deliveries.
#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "incident/store/memory_incident_store.h"

namespace agentwatch::incident {
namespace {

std::tuple<int32_t, const std::string&, const std::string&, const std::string&> Order(
    const ConfigRecord& r) {
  return {r.priority, r.name, r.tenant, r.id};
}

std::tuple<int32_t, const std::string&, const std::string&, const std::string&> Order(
    const ConfigCursor& c) {
  return {c.priority, c.name, c.tenant, c.id};
}

absl::Status NameTaken(const ConfigRecord& record) {
  return absl::AlreadyExistsError(
      absl::StrCat("name: \"", record.name, "\" is already used in tenant ", record.tenant));
}

}  // namespace

absl::StatusOr<ConfigRecord> MemoryIncidentStore::CreateConfig(const ConfigRecord& record) {
  absl::MutexLock lock(&mu_);
  if (auto it = configs_.find(record.id); it != configs_.end()) return it->second;
  for (const auto& [id, other] : configs_) {
    if (other.tenant == record.tenant && other.kind == record.kind && other.name == record.name) {
      return NameTaken(record);
    }
  }
  configs_[record.id] = record;
  return record;
}

absl::StatusOr<ConfigRecord> MemoryIncidentStore::GetConfig(absl::string_view kind,
                                                            absl::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = configs_.find(std::string(id));
  if (it == configs_.end() || it->second.kind != kind) return ConfigNotFound(kind, id);
  return it->second;
}

absl::StatusOr<ConfigRecord> MemoryIncidentStore::UpdateConfig(const ConfigRecord& record,
                                                               absl::Time expected_update_time) {
  absl::MutexLock lock(&mu_);
  auto it = configs_.find(record.id);
  if (it == configs_.end() || it->second.kind != record.kind) {
    return ConfigNotFound(record.kind, record.id);
  }
  if (it->second.update_time != expected_update_time) {
    return absl::AbortedError(absl::StrCat(record.id, " was updated concurrently; retry"));
  }
  for (const auto& [id, other] : configs_) {
    if (id != record.id && other.tenant == record.tenant && other.kind == record.kind &&
        other.name == record.name) {
      return NameTaken(record);
    }
  }
  it->second = record;
  return record;
}

absl::Status MemoryIncidentStore::DeleteConfig(absl::string_view kind, absl::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = configs_.find(std::string(id));
  if (it == configs_.end() || it->second.kind != kind) return ConfigNotFound(kind, id);
  for (const auto& [other_id, other] : configs_) {
    if (std::find(other.refs.begin(), other.refs.end(), id) != other.refs.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat(id, " is used by ", other.kind, " ", other_id));
    }
  }
  for (const auto& [incident_id, state] : escalations_) {
    const Incident& incident = incidents_.at(incident_id);
    if (state.policy_id == id && IsOpen(incident.status)) {
      return absl::FailedPreconditionError(
          absl::StrCat("open incident ", incident_id, " escalates on ", id));
    }
  }
  configs_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<ConfigPage> MemoryIncidentStore::ListConfigs(const ConfigQuery& query) {
  absl::MutexLock lock(&mu_);
  std::vector<ConfigRecord> selected;
  for (const auto& [id, record] : configs_) {
    if (record.kind != query.kind) continue;
    if (!query.tenant.empty() && record.tenant != query.tenant) continue;
    if (!query.person.empty() && record.person != query.person) continue;
    if (query.after.has_value() && !(Order(*query.after) < Order(record))) continue;
    selected.push_back(record);
  }
  std::sort(selected.begin(), selected.end(),
            [](const ConfigRecord& a, const ConfigRecord& b) { return Order(a) < Order(b); });
  ConfigPage page;
  const size_t size = static_cast<size_t>(query.page_size);
  if (selected.size() > size) {
    selected.resize(size);
    const ConfigRecord& last = selected.back();
    page.next = ConfigCursor{last.priority, last.name, last.tenant, last.id};
  }
  page.records = std::move(selected);
  return page;
}

absl::StatusOr<std::vector<EscalationCandidate>> MemoryIncidentStore::ListEscalationCandidates(
    int limit) {
  absl::MutexLock lock(&mu_);
  std::vector<EscalationCandidate> out;
  for (const auto& [id, incident] : incidents_) {
    if (incident.status != IncidentStatus::kTriggered &&
        incident.status != IncidentStatus::kAcknowledged) {
      continue;
    }
    EscalationCandidate candidate{incident, std::nullopt};
    if (auto it = escalations_.find(id); it != escalations_.end()) candidate.state = it->second;
    out.push_back(std::move(candidate));
    if (static_cast<int>(out.size()) >= limit) break;
  }
  std::sort(out.begin(), out.end(), [](const EscalationCandidate& a, const EscalationCandidate& b) {
    return std::tie(a.incident.tenant, a.incident.id) < std::tie(b.incident.tenant, b.incident.id);
  });
  return out;
}

absl::StatusOr<bool> MemoryIncidentStore::Escalate(absl::string_view tenant, absl::string_view id,
                                                   const EscalationPlanner& plan) {
  absl::MutexLock lock(&mu_);
  auto it = incidents_.find(std::string(id));
  if (it == incidents_.end() || it->second.tenant != tenant) return IncidentNotFound(id);
  std::optional<EscalationState> state;
  if (auto s = escalations_.find(it->first); s != escalations_.end()) state = s->second;
  absl::StatusOr<EscalationWrite> write = plan(it->second, state);
  if (!write.ok()) return write.status();
  if (write->incident_changed) it->second = write->incident;
  if (write->state_changed) escalations_[it->first] = write->state;
  auto& timeline = timelines_[it->first];
  for (const TimelineEntry& entry : write->entries) timeline.push_back(entry);
  for (const PageRequest& page : write->pages) {
    if (page_keys_.insert(page.event.idempotency_key).second) pages_.push_back(page);
  }
  return true;
}

absl::StatusOr<bool> MemoryIncidentStore::WasDelivered(absl::string_view tenant,
                                                       absl::string_view idempotency_key) {
  absl::MutexLock lock(&mu_);
  return deliveries_.count({std::string(tenant), std::string(idempotency_key)}) > 0;
}

absl::Status MemoryIncidentStore::RecordDelivery(const DeliveryRecord& record) {
  absl::MutexLock lock(&mu_);
  if (!deliveries_.insert({record.tenant, record.idempotency_key}).second) {
    return absl::OkStatus();
  }
  delivery_log_.push_back(record);
  if (incidents_.count(record.entry.incident_id) > 0) {
    timelines_[record.entry.incident_id].push_back(record.entry);
  }
  return absl::OkStatus();
}

absl::Status MemoryIncidentStore::AppendTimeline(const TimelineEntry& entry) {
  absl::MutexLock lock(&mu_);
  auto it = incidents_.find(entry.incident_id);
  if (it == incidents_.end() || it->second.tenant != entry.tenant) {
    return IncidentNotFound(entry.incident_id);
  }
  timelines_[entry.incident_id].push_back(entry);
  return absl::OkStatus();
}

std::vector<PageRequest> MemoryIncidentStore::TakePages() {
  absl::MutexLock lock(&mu_);
  std::vector<PageRequest> out = std::move(pages_);
  pages_.clear();
  return out;
}

}  // namespace agentwatch::incident

namespace agentwatch::incident {

absl::StatusOr<InhibitionRule> MemoryIncidentStore::CreateInhibitionRule(
    const InhibitionRule& rule) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = inhibition_rules_.emplace(rule.id, rule);
  return it->second;
}

absl::StatusOr<InhibitionRule> MemoryIncidentStore::GetInhibitionRule(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = inhibition_rules_.find(std::string(id));
  if (it == inhibition_rules_.end()) return InhibitionRuleNotFound(id);
  return it->second;
}

absl::StatusOr<InhibitionRule> MemoryIncidentStore::UpdateInhibitionRule(
    const InhibitionRule& rule) {
  absl::MutexLock lock(&mu_);
  auto it = inhibition_rules_.find(rule.id);
  if (it == inhibition_rules_.end()) return InhibitionRuleNotFound(rule.id);
  InhibitionRule next = rule;
  next.tenant = it->second.tenant;
  next.create_time = it->second.create_time;
  it->second = next;
  return next;
}

absl::Status MemoryIncidentStore::DeleteInhibitionRule(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  if (inhibition_rules_.erase(std::string(id)) == 0) return InhibitionRuleNotFound(id);
  return absl::OkStatus();
}

absl::StatusOr<InhibitionRulePage> MemoryIncidentStore::ListInhibitionRules(
    const InhibitionRuleQuery& query) {
  absl::MutexLock lock(&mu_);
  auto newer = [](const InhibitionRule& a, const InhibitionRule& b) {
    return std::tie(a.create_time, a.id) > std::tie(b.create_time, b.id);
  };
  std::vector<InhibitionRule> selected;
  for (const auto& [id, rule] : inhibition_rules_) {
    if (!query.tenant.empty() && rule.tenant != query.tenant) continue;
    if (query.after.has_value() && !(std::tie(rule.create_time, rule.id) <
                                     std::tie(query.after->create_time, query.after->id))) {
      continue;
    }
    selected.push_back(rule);
  }
  std::sort(selected.begin(), selected.end(), newer);
  InhibitionRulePage page;
  const size_t size = static_cast<size_t>(query.page_size);
  if (selected.size() > size) {
    selected.resize(size);
    page.next = PageCursor{selected.back().create_time, selected.back().id};
  }
  page.rules = std::move(selected);
  return page;
}

}  // namespace agentwatch::incident
