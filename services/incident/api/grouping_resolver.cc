#include "incident/api/grouping_resolver.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "incident/core/validation.h"

namespace agentwatch::incident {
namespace {

constexpr absl::string_view kAllLabels = "...";

}  // namespace

absl::StatusOr<GroupingConfig> GroupingFromLabels(const std::vector<std::string>& group_by,
                                                  absl::string_view field) {
  if (group_by.size() > kMaxGroupByLabels) {
    return common::InvalidField(field, absl::StrCat("at most ", kMaxGroupByLabels, " labels"));
  }
  GroupingConfig grouping;
  grouping.group_by.clear();
  absl::flat_hash_set<absl::string_view> seen;
  for (size_t i = 0; i < group_by.size(); ++i) {
    const std::string& name = group_by[i];
    const std::string item = absl::StrCat(field, "[", i, "]");
    if (name == kAllLabels) {
      if (group_by.size() != 1) {
        return common::InvalidField(item, "'...' (all labels) cannot be combined with label names");
      }
      grouping.by_all_labels = true;
      continue;
    }
    if (!IsValidLabelName(name) || name.size() > kMaxLabelNameBytes) {
      return common::InvalidField(item, absl::StrCat("'", name, "' is not a label name"));
    }
    if (!seen.insert(name).second) {
      return common::InvalidField(item, absl::StrCat("duplicate label '", name, "'"));
    }
    grouping.group_by.push_back(name);
  }
  std::sort(grouping.group_by.begin(), grouping.group_by.end());
  return grouping;
}

std::vector<std::string> GroupingToLabels(const GroupingConfig& grouping) {
  if (grouping.by_all_labels) return {std::string(kAllLabels)};
  return grouping.group_by;
}

absl::StatusOr<TenantGrouping> ResolveGrouping(const std::vector<GroupingConfigRecord>& records,
                                               absl::string_view tenant,
                                               const TenantGrouping& defaults) {
  const GroupingConfigRecord* own = nullptr;
  const GroupingConfigRecord* global = nullptr;
  for (const GroupingConfigRecord& record : records) {
    if (record.tenant == tenant) {
      own = &record;
    } else if (record.tenant.empty()) {
      global = &record;
    }
  }
  TenantGrouping out = defaults;
  for (const GroupingConfigRecord* record : {global, own}) {
    if (record == nullptr) continue;
    if (record->group_by.has_value()) {
      absl::StatusOr<GroupingConfig> grouping = GroupingFromLabels(*record->group_by, "group_by");
      if (!grouping.ok()) {
        return absl::InternalError(absl::StrCat("stored grouping config of tenant \"",
                                                record->tenant,
                                                "\" is invalid: ", grouping.status().message()));
      }
      out.grouping = *std::move(grouping);
    }
    if (record->group_wait.has_value()) out.group_wait = *record->group_wait;
  }
  return out;
}

GroupingResolver::GroupingResolver(GroupingConfigStore& store, const common::Clock& clock,
                                   TenantGrouping flag_default, absl::Duration ttl)
    : store_(store),
      clock_(clock),
      flag_default_(std::make_shared<const TenantGrouping>(std::move(flag_default))),
      ttl_(ttl) {}

absl::StatusOr<std::shared_ptr<const TenantGrouping>> GroupingResolver::For(
    absl::string_view tenant) {
  const absl::Time now = clock_.Now();
  std::shared_ptr<const TenantGrouping> stale;
  uint64_t generation = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = cache_.find(tenant);
    if (it != cache_.end()) {
      if (now < it->second.expires) return it->second.grouping;
      stale = it->second.grouping;
    }
    generation = generation_;
  }
  const std::string key(tenant);
  absl::StatusOr<std::shared_ptr<const TenantGrouping>> loaded = Load(key);
  if (!loaded.ok()) {
    if (stale == nullptr) return loaded.status();
    common::LogWarning("grouping config read failed; using the expired cached one",
                       {{"tenant", key}, {"error", loaded.status().ToString()}});
    return stale;
  }
  absl::MutexLock lock(&mu_);
  if (generation == generation_) {
    if (cache_.size() >= kMaxCachedTenants && cache_.find(key) == cache_.end()) cache_.clear();
    cache_[key] = Entry{*loaded, now + ttl_};
  }
  return *loaded;
}

void GroupingResolver::Invalidate() {
  absl::MutexLock lock(&mu_);
  cache_.clear();
  ++generation_;
}

absl::StatusOr<std::shared_ptr<const TenantGrouping>> GroupingResolver::Load(
    const std::string& tenant) {
  std::vector<std::string> tenants = {tenant};
  if (!tenant.empty()) tenants.emplace_back();
  ASSIGN_OR_RETURN(const std::vector<GroupingConfigRecord> records,
                   store_.GetGroupingConfigs(tenants));
  if (records.empty()) return flag_default_;
  ASSIGN_OR_RETURN(TenantGrouping grouping, ResolveGrouping(records, tenant, *flag_default_));
  return std::make_shared<const TenantGrouping>(std::move(grouping));
}

absl::StatusOr<const GroupingConfig*> BatchGrouping::For(absl::string_view tenant) {
  if (resolver_ == nullptr) return &fallback_;
  if (!have_ || tenant != tenant_) {
    ASSIGN_OR_RETURN(grouping_, resolver_->For(tenant));
    tenant_ = std::string(tenant);
    have_ = true;
  }
  return &grouping_->grouping;
}

}  // namespace agentwatch::incident
