// ResourceStore on Postgres: table capacity.resources.
#pragma once

#include "capacity/store/resource_store.h"
#include "common/pg.h"

namespace agentwatch::capacity {

// Thread-safe (the pool is). Creates of one tenant are serialized by a
// transaction-scoped advisory lock, so the per-tenant limit and request-id
// idempotency hold across replicas.
class PgResourceStore final : public ResourceStore {
 public:
  explicit PgResourceStore(common::PgPool& pool);

  absl::StatusOr<Resource> CreateResource(const Resource& resource, absl::string_view request_id,
                                          absl::Time now) override;
  absl::StatusOr<Resource> GetResource(absl::string_view id) override;
  absl::StatusOr<Resource> UpdateResource(absl::string_view id,
                                          const std::function<absl::Status(Resource*)>& mutate,
                                          absl::Time now) override;
  absl::Status DeleteResource(absl::string_view id) override;
  absl::StatusOr<ResourcePage> ListResources(const ResourceListQuery& query) override;

 private:
  common::PgPool& pool_;
};

}  // namespace agentwatch::capacity
