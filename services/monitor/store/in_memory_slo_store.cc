#include "monitor/store/in_memory_slo_store.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agentwatch::monitor {

// SloAlertContext over the store's maps; runs under mu_.
class InMemorySloStore::Context final : public SloAlertContext {
 public:
  explicit Context(InMemorySloStore& store) : store_(store) {}

  absl::StatusOr<std::vector<AlertState>> LockSloAlerts(const std::string& tenant,
                                                        const std::string& slo_id) override {
    std::vector<AlertState> out;
    for (const auto& [key, state] : store_.alerts_) {
      if (key.first == tenant && state.rule_id == slo_id) out.push_back(state);
    }
    return out;
  }
  absl::Status SaveSloAlert(const AlertState& state) override {
    store_.alerts_[{state.tenant, state.fingerprint}] = state;
    return absl::OkStatus();
  }
  absl::Status DeleteSloAlert(const std::string& tenant, const std::string& fingerprint) override {
    store_.alerts_.erase({tenant, fingerprint});
    return absl::OkStatus();
  }
  absl::Status EmitAlert(const AlertNotice& notice) override {
    if (store_.outbox_keys_.insert(notice.IdempotencyKey()).second) {
      store_.notices_.push_back(notice);
      ++emitted_;
    }
    return absl::OkStatus();
  }
  int64_t emitted() const { return emitted_; }

 private:
  InMemorySloStore& store_;
  int64_t emitted_ = 0;
};

absl::StatusOr<Slo> InMemorySloStore::CreateSlo(const Slo& slo, const std::string& request_id,
                                                absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (!request_id.empty()) {
    if (auto it = requests_.find({slo.tenant(), request_id}); it != requests_.end()) {
      return slos_.at(it->second);
    }
  }
  int64_t count = 0;
  for (const auto& [id, stored] : slos_) {
    if (stored.tenant() != slo.tenant()) continue;
    if (stored.name == slo.name) {
      return absl::AlreadyExistsError(absl::StrCat("an SLO named \"", slo.name, "\" exists"));
    }
    ++count;
  }
  if (count >= kMaxSlosPerTenant) {
    return absl::ResourceExhaustedError(
        absl::StrCat("tenant has ", kMaxSlosPerTenant, " SLOs, the most allowed"));
  }
  Slo created = slo;
  created.id = absl::StrCat("s", ++next_id_);
  created.create_time = now;
  created.update_time = now;
  slos_[created.id] = created;
  if (!request_id.empty()) requests_[{slo.tenant(), request_id}] = created.id;
  return created;
}

absl::StatusOr<Slo> InMemorySloStore::GetSlo(const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = slos_.find(id);
  if (it == slos_.end()) return absl::NotFoundError(absl::StrCat("no SLO ", id));
  return it->second;
}

absl::StatusOr<Slo> InMemorySloStore::UpdateSlo(const Slo& slo, absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = slos_.find(slo.id);
  if (it == slos_.end()) return absl::NotFoundError(absl::StrCat("no SLO ", slo.id));
  if (it->second.tenant() != slo.tenant()) {
    return common::InvalidField("slo.scope.tenant", "cannot change");
  }
  for (const auto& [id, stored] : slos_) {
    if (id != slo.id && stored.tenant() == slo.tenant() && stored.name == slo.name) {
      return absl::AlreadyExistsError(absl::StrCat("an SLO named \"", slo.name, "\" exists"));
    }
  }
  Slo updated = slo;
  updated.create_time = it->second.create_time;
  updated.update_time = now;
  it->second = updated;
  return updated;
}

absl::StatusOr<SweepResult> InMemorySloStore::DeleteSlo(const std::string& id, absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = slos_.find(id);
  if (it == slos_.end()) return absl::NotFoundError(absl::StrCat("no SLO ", id));
  Context context(*this);
  SweepResult result;
  RETURN_IF_ERROR(ResolveSloAlerts(it->second, context, now, &result.alerts));
  result.outbox_enqueued = context.emitted();
  for (auto r = requests_.begin(); r != requests_.end();) {
    r = r->second == id ? requests_.erase(r) : std::next(r);
  }
  slos_.erase(it);
  return result;
}

absl::StatusOr<SloPage> InMemorySloStore::ListSlos(
    const std::string& tenant, const std::optional<std::pair<std::string, std::string>>& after,
    int page_size) {
  absl::MutexLock lock(&mu_);
  std::map<std::pair<std::string, std::string>, const Slo*> ordered;
  for (const auto& [id, slo] : slos_) {
    if (!tenant.empty() && slo.tenant() != tenant) continue;
    const std::pair<std::string, std::string> key{slo.name, id};
    if (after.has_value() && key <= *after) continue;
    ordered[key] = &slo;
  }
  SloPage page;
  for (const auto& [key, slo] : ordered) {
    if (static_cast<int>(page.slos.size()) == page_size) {
      page.next = std::make_pair(page.slos.back().name, page.slos.back().id);
      break;
    }
    page.slos.push_back(*slo);
  }
  return page;
}

absl::StatusOr<std::vector<Slo>> InMemorySloStore::SlosOfMetrics(
    const std::vector<std::pair<std::string, std::string>>& tenant_metrics) {
  absl::MutexLock lock(&mu_);
  const std::set<std::pair<std::string, std::string>> wanted(tenant_metrics.begin(),
                                                             tenant_metrics.end());
  std::map<std::pair<std::string, std::string>, Slo> ordered;
  for (const auto& [id, slo] : slos_) {
    if (wanted.count({slo.tenant(), SliSourceOf(slo).metric}) > 0) {
      ordered[{slo.tenant(), id}] = slo;
    }
  }
  std::vector<Slo> out;
  for (auto& [key, slo] : ordered) out.push_back(std::move(slo));
  return out;
}

absl::StatusOr<std::vector<Slo>> InMemorySloStore::SlosWithFiringAlerts(int limit) {
  absl::MutexLock lock(&mu_);
  std::set<std::pair<std::string, std::string>> keys;
  for (const auto& [key, state] : alerts_) {
    if (state.firing) keys.insert({state.tenant, state.rule_id});
  }
  std::vector<Slo> out;
  for (const auto& [tenant, id] : keys) {
    if (static_cast<int>(out.size()) == limit) break;
    if (auto it = slos_.find(id); it != slos_.end()) out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<std::vector<AlertState>> InMemorySloStore::SloAlerts(const std::string& tenant,
                                                                    const std::string& slo_id) {
  absl::MutexLock lock(&mu_);
  std::vector<AlertState> out;
  for (const auto& [key, state] : alerts_) {
    if (key.first == tenant && state.rule_id == slo_id && state.firing) out.push_back(state);
  }
  return out;
}

absl::StatusOr<SweepResult> InMemorySloStore::EvaluateSlo(const Slo& slo,
                                                          const std::vector<SliBucket>& buckets,
                                                          absl::Time now) {
  absl::MutexLock lock(&mu_);
  SweepResult result;
  auto it = slos_.find(slo.id);
  if (it == slos_.end() || it->second.update_time != slo.update_time) return result;
  Context context(*this);
  RETURN_IF_ERROR(EvaluateSloAlerts(it->second, buckets, context, now, &result.alerts));
  result.outbox_enqueued = context.emitted();
  return result;
}

std::vector<AlertNotice> InMemorySloStore::EnqueuedAlerts() const {
  absl::MutexLock lock(&mu_);
  return notices_;
}

}  // namespace agentwatch::monitor
