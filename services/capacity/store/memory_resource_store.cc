#include "capacity/store/memory_resource_store.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace agentwatch::capacity {

bool MemoryResourceStore::NameTaken(const std::string& tenant, const std::string& name,
                                    const std::string& except_id) const {
  for (const auto& [id, r] : resources_) {
    if (id != except_id && r.tenant == tenant && r.name == name) return true;
  }
  return false;
}

absl::StatusOr<Resource> MemoryResourceStore::CreateResource(const Resource& resource,
                                                             absl::string_view request_id,
                                                             absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  const auto request_key = std::make_pair(resource.tenant, std::string(request_id));
  if (!request_id.empty()) {
    if (auto it = requests_.find(request_key); it != requests_.end()) {
      if (auto found = resources_.find(it->second); found != resources_.end()) {
        return found->second;
      }
    }
  }
  if (NameTaken(resource.tenant, resource.name, "")) {
    return absl::AlreadyExistsError(absl::StrFormat("resource name \"%s\" exists in tenant %s",
                                                    resource.name, resource.tenant));
  }
  int64_t count = 0;
  for (const auto& [id, r] : resources_) count += r.tenant == resource.tenant ? 1 : 0;
  if (count >= kMaxResourcesPerTenant) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "tenant %s has %d resources, the most allowed", resource.tenant, kMaxResourcesPerTenant));
  }
  Resource stored = resource;
  stored.id = absl::StrFormat("00000000-0000-4000-8000-%012d", next_id_++);
  stored.create_time = now;
  stored.update_time = now;
  resources_[stored.id] = stored;
  if (!request_id.empty()) requests_[request_key] = stored.id;
  return stored;
}

absl::StatusOr<Resource> MemoryResourceStore::GetResource(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  const auto it = resources_.find(std::string(id));
  if (it == resources_.end())
    return absl::NotFoundError(absl::StrCat("resource ", id, " not found"));
  return it->second;
}

absl::StatusOr<Resource> MemoryResourceStore::UpdateResource(
    absl::string_view id, const std::function<absl::Status(Resource*)>& mutate, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  const auto it = resources_.find(std::string(id));
  if (it == resources_.end())
    return absl::NotFoundError(absl::StrCat("resource ", id, " not found"));
  Resource updated = it->second;
  if (absl::Status status = mutate(&updated); !status.ok()) return status;
  updated.id = it->second.id;
  updated.tenant = it->second.tenant;
  updated.create_time = it->second.create_time;
  if (NameTaken(updated.tenant, updated.name, updated.id)) {
    return absl::AlreadyExistsError(
        absl::StrFormat("resource name \"%s\" exists in tenant %s", updated.name, updated.tenant));
  }
  updated.update_time = now;
  it->second = updated;
  return updated;
}

absl::Status MemoryResourceStore::DeleteResource(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  if (resources_.erase(std::string(id)) == 0) {
    return absl::NotFoundError(absl::StrCat("resource ", id, " not found"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ResourcePage> MemoryResourceStore::ListResources(const ResourceListQuery& query) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  std::vector<const Resource*> matching;
  for (const auto& [id, r] : resources_) {
    if (!query.tenant.empty() && r.tenant != query.tenant) continue;
    if (query.kind != ResourceKind::kUnspecified && r.kind != query.kind) continue;
    if (!query.after_name.empty() &&
        std::tie(r.tenant, r.name) <= std::tie(query.after_tenant, query.after_name)) {
      continue;
    }
    matching.push_back(&r);
  }
  std::sort(matching.begin(), matching.end(), [](const Resource* a, const Resource* b) {
    return std::tie(a->tenant, a->name) < std::tie(b->tenant, b->name);
  });
  ResourcePage page;
  for (const Resource* r : matching) {
    if (static_cast<int>(page.resources.size()) == query.page_size) {
      page.more = true;
      break;
    }
    page.resources.push_back(*r);
  }
  return page;
}

void MemoryResourceStore::SetError(absl::Status error) {
  absl::MutexLock lock(&mu_);
  error_ = std::move(error);
}

}  // namespace agentwatch::capacity
