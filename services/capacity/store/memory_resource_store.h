// An in-memory ResourceStore for unit tests: the Postgres store's contract,
// plus failure injection.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "capacity/store/resource_store.h"

namespace agentwatch::capacity {

// Thread-safe.
class MemoryResourceStore final : public ResourceStore {
 public:
  absl::StatusOr<Resource> CreateResource(const Resource& resource, absl::string_view request_id,
                                          absl::Time now) override;
  absl::StatusOr<Resource> GetResource(absl::string_view id) override;
  absl::StatusOr<Resource> UpdateResource(absl::string_view id,
                                          const std::function<absl::Status(Resource*)>& mutate,
                                          absl::Time now) override;
  absl::Status DeleteResource(absl::string_view id) override;
  absl::StatusOr<ResourcePage> ListResources(const ResourceListQuery& query) override;

  // A non-OK status makes every later call fail with it; OK clears it.
  void SetError(absl::Status error);

 private:
  bool NameTaken(const std::string& tenant, const std::string& name,
                 const std::string& except_id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  // By id.
  std::map<std::string, Resource> resources_ ABSL_GUARDED_BY(mu_);
  // (tenant, request id) -> resource id.
  std::map<std::pair<std::string, std::string>, std::string> requests_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentwatch::capacity
