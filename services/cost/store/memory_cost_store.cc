#include "cost/store/memory_cost_store.h"

#include <algorithm>
#include <array>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "cost/core/money.h"

namespace agentwatch::cost {

void MemoryCostStore::PutPriceLocked(PriceVersion version) {
  version.create_time = clock_.Now();
  PriceId id(version.tenant, version.provider, version.model, version.effective_time);
  prices_[id] = std::move(version);
}

absl::StatusOr<ImportCounts> MemoryCostStore::ImportPrices(absl::string_view tenant,
                                                           absl::Time effective_time,
                                                           absl::string_view source,
                                                           const std::vector<CatalogPrice>& prices,
                                                           bool dry_run) {
  absl::MutexLock lock(&mu_);
  ImportCounts counts;
  std::vector<PriceVersion> changed;
  for (const CatalogPrice& p : prices) {
    const PriceVersion* current = nullptr;
    for (const auto& [id, v] : prices_) {
      if (v.tenant == tenant && v.provider == p.provider && v.model == p.model &&
          v.effective_time <= effective_time &&
          (current == nullptr || v.effective_time > current->effective_time)) {
        current = &v;
      }
    }
    if (current != nullptr && current->price == p.price) {
      ++counts.unchanged;
      continue;
    }
    ++counts.imported;
    PriceVersion version;
    version.tenant = std::string(tenant);
    version.provider = p.provider;
    version.model = p.model;
    version.effective_time = effective_time;
    version.price = p.price;
    version.source = std::string(source);
    changed.push_back(std::move(version));
  }
  if (!dry_run) {
    for (PriceVersion& v : changed) PutPriceLocked(std::move(v));
  }
  return counts;
}

absl::StatusOr<bool> MemoryCostStore::ImportDefaultCatalogIfEmpty(
    const std::vector<CatalogPrice>& prices) {
  absl::MutexLock lock(&mu_);
  for (const auto& [id, v] : prices_) {
    if (v.tenant.empty()) return false;
  }
  for (const CatalogPrice& p : prices) {
    PriceVersion version;
    version.provider = p.provider;
    version.model = p.model;
    version.effective_time = absl::UnixEpoch();
    version.price = p.price;
    version.source = std::string(kSourceDefault);
    PutPriceLocked(std::move(version));
  }
  return true;
}

absl::StatusOr<PriceVersion> MemoryCostStore::UpsertPrice(const PriceVersion& price) {
  absl::MutexLock lock(&mu_);
  PutPriceLocked(price);
  return prices_.at(PriceId(price.tenant, price.provider, price.model, price.effective_time));
}

absl::StatusOr<PriceVersion> MemoryCostStore::GetPrice(absl::string_view tenant,
                                                       absl::string_view provider,
                                                       absl::string_view model, absl::Time at) {
  absl::MutexLock lock(&mu_);
  std::vector<PriceVersion> candidates;
  for (const auto& [id, v] : prices_) {
    if (v.provider == provider && v.model == model && (v.tenant.empty() || v.tenant == tenant)) {
      candidates.push_back(v);
    }
  }
  const PriceVersion* found = SelectPriceVersion(candidates, tenant, at);
  if (found == nullptr) {
    return absl::NotFoundError(absl::StrCat("no price for ", provider, "/", model));
  }
  return *found;
}

absl::StatusOr<std::vector<PriceVersion>> MemoryCostStore::ListPrices(const PriceListQuery& query) {
  absl::MutexLock lock(&mu_);
  std::vector<PriceVersion> selected;
  for (const auto& [id, v] : prices_) {
    if (v.tenant != query.tenant) continue;
    if (!query.provider.empty() && v.provider != query.provider) continue;
    if (!query.model.empty() && v.model != query.model) continue;
    if (!query.include_history) {
      if (v.effective_time > query.now) continue;
      // Only the latest version at `now` of its (provider, model).
      bool superseded = false;
      for (const auto& [other_id, other] : prices_) {
        if (other.tenant == v.tenant && other.provider == v.provider && other.model == v.model &&
            other.effective_time > v.effective_time && other.effective_time <= query.now) {
          superseded = true;
          break;
        }
      }
      if (superseded) continue;
    }
    if (query.after.has_value() &&
        std::tie(v.provider, v.model, v.effective_time) <=
            std::tie(query.after->provider, query.after->model, query.after->effective_time)) {
      continue;
    }
    selected.push_back(v);
  }
  std::sort(selected.begin(), selected.end(), [](const PriceVersion& a, const PriceVersion& b) {
    return std::tie(a.provider, a.model, a.effective_time) <
           std::tie(b.provider, b.model, b.effective_time);
  });
  if (selected.size() > static_cast<size_t>(query.limit)) selected.resize(query.limit);
  return selected;
}

absl::StatusOr<RecordOutcome> MemoryCostStore::RecordUsage(const std::vector<UsageRecord>& records,
                                                           absl::Time now) {
  absl::MutexLock lock(&mu_);
  PriceBook book;
  for (const auto& [id, v] : prices_) book.Add(v);
  RecordOutcome outcome;
  std::vector<PricedUsage> fresh;
  std::set<std::pair<std::string, std::string>> seen;
  NanoSum total;
  std::set<std::string> unknown;
  for (size_t i = 0; i < records.size(); ++i) {
    const UsageRecord& r = records[i];
    std::pair<std::string, std::string> key(r.scope.tenant, r.record_id);
    if (ledger_index_.count(key) > 0 || !seen.insert(key).second) {
      ++outcome.duplicates;
      continue;
    }
    ASSIGN_OR_RETURN(PricedUsage priced, PriceUsage(r, book, absl::StrCat("records[", i, "]")));
    total.Add(priced.cost_nano_usd);
    if (!priced.priced) {
      ++outcome.unpriced;
      if (r.kind == UsageKind::kLlm) {
        unknown.insert(
            absl::StrCat(r.scope.provider, "/", CanonicalModel(r.scope.provider, r.scope.model)));
      }
    }
    fresh.push_back(std::move(priced));
  }
  ASSIGN_OR_RETURN(outcome.total_cost_nano_usd, total.Value());
  outcome.accepted = static_cast<int64_t>(fresh.size());
  outcome.unknown_models.assign(unknown.begin(), unknown.end());
  for (PricedUsage& p : fresh) {
    const UsageRecord& r = p.record;
    if (!p.priced && r.kind == UsageKind::kLlm) {
      const std::string model = CanonicalModel(r.scope.provider, r.scope.model);
      auto [it, added] = unknown_.try_emplace({r.scope.tenant, r.scope.provider, model});
      UnknownModelSummary& u = it->second;
      if (added) {
        u = {r.scope.tenant, r.scope.provider, model, r.time, r.time, 0, 0, 0};
      }
      u.first_seen = std::min(u.first_seen, r.time);
      u.last_seen = std::max(u.last_seen, r.time);
      u.calls += r.requests;
      u.input_tokens += r.tokens.input;
      u.output_tokens += r.tokens.output;
    }
    ledger_index_[{r.scope.tenant, r.record_id}] = ledger_.size();
    ledger_.push_back(std::move(p));
  }
  // Budgets, as PgCostStore evaluates them (the mutex serializes batches).
  std::vector<const UsageRecord*> fresh_records;
  for (size_t i = ledger_.size() - fresh.size(); i < ledger_.size(); ++i) {
    fresh_records.push_back(&ledger_[i].record);
  }
  for (const auto& [key, budget] : budgets_) {
    const BudgetWindow window = BudgetWindowAt(budget, now);
    if (!RecordsTouchBudget(budget, window, fresh_records)) continue;
    NanoSum spent;
    NanoSum added;
    for (size_t i = 0; i < ledger_.size(); ++i) {
      const PricedUsage& e = ledger_[i];
      if (e.record.scope.tenant != budget.scope.tenant) continue;
      if (e.record.time < window.spend_period.start || e.record.time >= window.spend_period.end ||
          !ScopeCovers(budget.scope, e.record.scope)) {
        continue;
      }
      spent.Add(e.cost_nano_usd);
      if (i >= ledger_.size() - fresh.size()) added.Add(e.cost_nano_usd);
    }
    ASSIGN_OR_RETURN(const int64_t spent_value, spent.Value());
    if (budget.period != BudgetPeriod::kRolling) {
      ASSIGN_OR_RETURN(const int64_t added_value, added.Value());
      outcome.increments.push_back({budget.scope.tenant, budget.id, window.spend_period.start,
                                    added_value, window.spend_period.end, spent_value});
    }
    for (BudgetAlert& alert : DueBudgetAlerts(budget, window, spent_value, now)) {
      if (!fired_
               .emplace(budget.scope.tenant, budget.id, alert.period_start, alert.kind,
                        alert.threshold_percent)
               .second) {
        continue;
      }
      outbox_.push_back(alert);
      outcome.alerts.push_back(std::move(alert));
    }
  }
  return outcome;
}

absl::StatusOr<ReportResult> MemoryCostStore::QueryReport(const ReportQuery& query) {
  absl::MutexLock lock(&mu_);
  return AggregateReport(ledger_, query);
}

absl::StatusOr<int64_t> MemoryCostStore::Spend(const Scope& scope, const Period& period) {
  absl::MutexLock lock(&mu_);
  NanoSum sum;
  for (const PricedUsage& e : ledger_) {
    if (e.record.scope.tenant != scope.tenant) continue;
    if (e.record.time < period.start || e.record.time >= period.end) continue;
    if (ScopeCovers(scope, e.record.scope)) sum.Add(e.cost_nano_usd);
  }
  return sum.Value();
}

absl::StatusOr<Budget> MemoryCostStore::CreateBudget(const Budget& budget) {
  absl::MutexLock lock(&mu_);
  const std::string& tenant = budget.scope.tenant;
  int count = 0;
  for (const auto& [key, b] : budgets_) {
    if (key.first != tenant) continue;
    if (!budget.request_id.empty() && b.request_id == budget.request_id) return b;
    if (b.name == budget.name) {
      return absl::AlreadyExistsError(absl::StrCat("budget '", budget.name, "' already exists"));
    }
    ++count;
  }
  if (count >= kMaxBudgetsPerTenant) {
    return absl::ResourceExhaustedError(
        absl::StrCat("tenant has ", kMaxBudgetsPerTenant, " budgets, the maximum"));
  }
  Budget stored = budget;
  stored.id = MakeBudgetId(tenant, absl::Uniform<uint64_t>(random_));
  stored.create_time = clock_.Now();
  stored.update_time = stored.create_time;
  budgets_[{tenant, stored.id}] = stored;
  return stored;
}

absl::StatusOr<Budget> MemoryCostStore::GetBudget(absl::string_view id) {
  ASSIGN_OR_RETURN(std::string tenant, TenantOfBudgetId(id, "id"));
  absl::MutexLock lock(&mu_);
  auto it = budgets_.find({tenant, std::string(id)});
  if (it == budgets_.end()) return absl::NotFoundError(absl::StrCat("no budget ", id));
  return it->second;
}

absl::Status MemoryCostStore::DeleteBudget(absl::string_view id) {
  ASSIGN_OR_RETURN(std::string tenant, TenantOfBudgetId(id, "id"));
  absl::MutexLock lock(&mu_);
  if (budgets_.erase({tenant, std::string(id)}) == 0) {
    return absl::NotFoundError(absl::StrCat("no budget ", id));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int32_t>> MemoryCostStore::FiredThresholds(absl::string_view tenant,
                                                                      absl::string_view budget_id,
                                                                      absl::Time period_start) {
  absl::MutexLock lock(&mu_);
  std::vector<int32_t> out;
  for (const auto& [t, id, start, kind, threshold] : fired_) {
    if (t == tenant && id == budget_id && start == period_start &&
        kind == BudgetAlertKind::kThreshold) {
      out.push_back(threshold);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::vector<Budget>> MemoryCostStore::ListBudgets(
    absl::string_view tenant, const std::optional<BudgetCursor>& after, int32_t limit) {
  absl::MutexLock lock(&mu_);
  std::vector<Budget> out;
  for (const auto& [key, b] : budgets_) {
    if (!tenant.empty() && key.first != tenant) continue;
    if (after.has_value() &&
        std::tie(b.scope.tenant, b.name) <= std::tie(after->tenant, after->name)) {
      continue;
    }
    out.push_back(b);
  }
  std::sort(out.begin(), out.end(), [](const Budget& a, const Budget& b) {
    return std::tie(a.scope.tenant, a.name) < std::tie(b.scope.tenant, b.name);
  });
  if (out.size() > static_cast<size_t>(limit)) out.resize(limit);
  return out;
}

std::vector<PricedUsage> MemoryCostStore::Ledger() const {
  absl::MutexLock lock(&mu_);
  return ledger_;
}

std::vector<BudgetAlert> MemoryCostStore::Outbox() const {
  absl::MutexLock lock(&mu_);
  return outbox_;
}

std::map<std::tuple<std::string, std::string, std::string>, int64_t>
MemoryCostStore::UnknownModelCalls() const {
  absl::MutexLock lock(&mu_);
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> out;
  for (const auto& [key, u] : unknown_) out[key] = u.calls;
  return out;
}

absl::StatusOr<Budget> MemoryCostStore::UpdateBudget(absl::string_view id,
                                                     const BudgetUpdateFn& update, absl::Time now) {
  ASSIGN_OR_RETURN(std::string tenant, TenantOfBudgetId(id, "id"));
  absl::MutexLock lock(&mu_);
  auto it = budgets_.find({tenant, std::string(id)});
  if (it == budgets_.end()) return absl::NotFoundError(absl::StrCat("no budget ", id));
  const Budget& current = it->second;
  ASSIGN_OR_RETURN(Budget next, update(current));
  for (const auto& [key, b] : budgets_) {
    if (key.first == tenant && b.id != current.id && b.name == next.name) {
      return absl::AlreadyExistsError(absl::StrCat("budget '", next.name, "' already exists"));
    }
  }
  next.id = current.id;
  next.scope.tenant = tenant;
  next.request_id = current.request_id;
  next.create_time = current.create_time;
  next.update_time = clock_.Now();
  const absl::Time old_start = BudgetWindowAt(current, now).alert_period.start;
  const absl::Time new_start = BudgetWindowAt(next, now).alert_period.start;
  if (old_start != new_start) {
    std::vector<std::tuple<std::string, std::string, absl::Time, BudgetAlertKind, int32_t>> carry;
    for (const auto& [t, b, start, kind, threshold] : fired_) {
      if (t == tenant && b == current.id && start == old_start) {
        carry.emplace_back(t, b, new_start, kind, threshold);
      }
    }
    fired_.insert(carry.begin(), carry.end());
  }
  it->second = next;
  return next;
}

absl::StatusOr<std::vector<UnknownModelSummary>> MemoryCostStore::ListUnknownModels(
    const UnknownModelQuery& query) {
  absl::MutexLock lock(&mu_);
  using Key = std::tuple<std::string, std::string, std::string>;
  std::map<Key, UnknownModelSummary> models;
  if (!query.range.has_value()) {
    models = unknown_;
  } else {
    std::map<Key, std::array<NanoSum, 3>> sums;
    for (const PricedUsage& e : ledger_) {
      const UsageRecord& r = e.record;
      if (e.priced || r.kind != UsageKind::kLlm) continue;
      if (r.time < query.range->start || r.time >= query.range->end) continue;
      const std::string model = CanonicalModel(r.scope.provider, r.scope.model);
      const Key key{r.scope.tenant, r.scope.provider, model};
      auto [it, added] = models.try_emplace(key);
      if (added) it->second = {r.scope.tenant, r.scope.provider, model, r.time, r.time};
      it->second.first_seen = std::min(it->second.first_seen, r.time);
      it->second.last_seen = std::max(it->second.last_seen, r.time);
      std::array<NanoSum, 3>& s = sums[key];
      s[0].Add(r.requests);
      s[1].Add(r.tokens.input);
      s[2].Add(r.tokens.output);
    }
    for (auto& [key, m] : models) {
      ASSIGN_OR_RETURN(m.calls, sums[key][0].Value());
      ASSIGN_OR_RETURN(m.input_tokens, sums[key][1].Value());
      ASSIGN_OR_RETURN(m.output_tokens, sums[key][2].Value());
    }
  }
  std::vector<UnknownModelSummary> out;
  for (const auto& [key, m] : models) {
    if (!query.tenant.empty() && m.tenant != query.tenant) continue;
    if (query.after.has_value() &&
        key <= Key{query.after->tenant, query.after->provider, query.after->model}) {
      continue;
    }
    if (out.size() >= static_cast<size_t>(query.limit)) break;
    out.push_back(m);
  }
  return out;
}

}  // namespace agentwatch::cost
