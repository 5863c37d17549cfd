// Where resources are kept: create (idempotent by request id), get, update
// (read-modify-write under a row lock), delete and paged listing.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "capacity/core/resource.h"

namespace agentwatch::capacity {

// Default and largest page of ListResources.
inline constexpr int kDefaultResourcePageSize = 100;
inline constexpr int kMaxResourcePageSize = 1000;

// A ListResources query.
struct ResourceListQuery {
  // Empty: every tenant.
  std::string tenant;
  // kUnspecified: every kind.
  ResourceKind kind = ResourceKind::kUnspecified;
  // In [1, kMaxResourcePageSize].
  int page_size = kDefaultResourcePageSize;
  // Resume after this (tenant, name); both empty for the first page.
  std::string after_tenant;
  std::string after_name;
};

// One page of resources, ordered by (tenant, name).
struct ResourcePage {
  std::vector<Resource> resources;
  // True when more resources follow the last one.
  bool more = false;
};

// The opaque page token of a position: web-safe base64 of a versioned
// encoding of (tenant, name).
std::string EncodeResourcePageToken(absl::string_view tenant, absl::string_view name);

// Decodes EncodeResourcePageToken's output into query->after_tenant /
// after_name. INVALID_ARGUMENT ("page_token: ...") when malformed.
absl::Status DecodeResourcePageToken(absl::string_view token, ResourceListQuery* query);

// Resource storage. Implementations are thread-safe. Every error of the
// backing store is UNAVAILABLE (retryable) when it is unreachable.
class ResourceStore {
 public:
  virtual ~ResourceStore() = default;

  // Stores `resource` (validated by the caller) with a new id and
  // create_time = update_time = now. With a non-empty `request_id`, a repeat
  // of the same (tenant, request_id) returns the resource the first call
  // created (or its current state) without creating another. ALREADY_EXISTS
  // when the tenant has a resource of that name; RESOURCE_EXHAUSTED when it
  // has kMaxResourcesPerTenant.
  virtual absl::StatusOr<Resource> CreateResource(const Resource& resource,
                                                  absl::string_view request_id, absl::Time now) = 0;

  // The resource `id`. NOT_FOUND when there is none (including a malformed
  // id).
  virtual absl::StatusOr<Resource> GetResource(absl::string_view id) = 0;

  // Applies `mutate` to resource `id` and stores the result with update_time
  // = now, atomically with respect to other updates. `mutate` may fail (its
  // status is returned, nothing is written); it must keep id, tenant and
  // create_time. NOT_FOUND; ALREADY_EXISTS when the new name is taken.
  virtual absl::StatusOr<Resource> UpdateResource(
      absl::string_view id, const std::function<absl::Status(Resource*)>& mutate,
      absl::Time now) = 0;

  // Deletes resource `id` and everything stored for it. NOT_FOUND.
  virtual absl::Status DeleteResource(absl::string_view id) = 0;

  // A page of resources as `query` says.
  virtual absl::StatusOr<ResourcePage> ListResources(const ResourceListQuery& query) = 0;
};

}  // namespace agentwatch::capacity
