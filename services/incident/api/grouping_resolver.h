// Per-tenant grouping for intake and escalation: each field (group_by,
// group_wait) of a tenant's stored grouping config (UpdateGroupingConfig),
// else the global default's (tenant ""), else the service flag's (--group_by,
// --group_wait). Lookups are served
// from a cache whose entries live `ttl` (default 1 s): a cache hit is one hash
// lookup under a reader lock, so intake never queries the database per alert.
// An update through this replica invalidates the cache at once; another
// replica's update applies here within the TTL.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "incident/core/grouping.h"
#include "incident/store/grouping_config_store.h"

namespace agentwatch::incident {

// The most group_by labels a stored config may name.
inline constexpr size_t kMaxGroupByLabels = 16;

// Checks a group_by list as given on the API (`field` names it, e.g.
// "config.group_by") and returns it as a GroupingConfig. INVALID_ARGUMENT
// naming `field` or `field[i]`: more than kMaxGroupByLabels names, a name
// that is not a label name, a duplicate, or "..." (all labels) not alone.
absl::StatusOr<GroupingConfig> GroupingFromLabels(const std::vector<std::string>& group_by,
                                                  absl::string_view field);

// The most a group_wait may be.
inline constexpr absl::Duration kMaxGroupWait = absl::Hours(1);

// The lifecycle timings GetGroupingConfig reports that are not configurable
// per tenant yet: the service's (flags), which UpdateGroupingConfig refuses
// to change.
struct GroupingTimings {
  absl::Duration group_interval = absl::Minutes(5);        // no flag, no use yet
  absl::Duration resolve_quiet_period = absl::Minutes(5);  // --auto_resolve_quiet
  absl::Duration reopen_window = absl::Minutes(30);        // --reopen_window
};

// What a tenant's grouping config resolves to.
struct TenantGrouping {
  GroupingConfig grouping;
  absl::Duration group_wait = absl::Seconds(5);
};

// Resolves `tenant`'s grouping from `records` (its own and the global
// default's, in any order): per field the tenant's, else the global's, else
// `defaults`. INTERNAL when a stored group_by is invalid.
absl::StatusOr<TenantGrouping> ResolveGrouping(const std::vector<GroupingConfigRecord>& records,
                                               absl::string_view tenant,
                                               const TenantGrouping& defaults);

// The stored form of a grouping: sorted names, or {"..."}.
std::vector<std::string> GroupingToLabels(const GroupingConfig& grouping);

// Thread-safe; `store` and `clock` must outlive it.
class GroupingResolver {
 public:
  static constexpr absl::Duration kDefaultTtl = absl::Seconds(1);
  // Above this many cached tenants the cache starts over.
  static constexpr size_t kMaxCachedTenants = 100000;

  GroupingResolver(GroupingConfigStore& store, const common::Clock& clock,
                   TenantGrouping flag_default, absl::Duration ttl = kDefaultTtl);

  // The grouping of `tenant`. Reads the store on a miss or an expired entry;
  // when that read fails an expired entry is still used, else the error
  // (UNAVAILABLE) is returned.
  absl::StatusOr<std::shared_ptr<const TenantGrouping>> For(absl::string_view tenant);

  // Drops every cached entry (after this replica's own update; an update of
  // the global default concerns every tenant).
  void Invalidate();

  // The grouping when nothing is stored (the flags).
  const TenantGrouping& flag_default() const { return *flag_default_; }

 private:
  struct Entry {
    std::shared_ptr<const TenantGrouping> grouping;
    absl::Time expires = absl::InfinitePast();
  };

  // Reads `tenant`'s grouping from the store.
  absl::StatusOr<std::shared_ptr<const TenantGrouping>> Load(const std::string& tenant);

  GroupingConfigStore& store_;
  const common::Clock& clock_;
  const std::shared_ptr<const TenantGrouping> flag_default_;
  const absl::Duration ttl_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> cache_ ABSL_GUARDED_BY(mu_);
  // Bumped by Invalidate: a read that began before it does not fill the cache.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

// The grouping of each alert of one intake batch: the resolver's per tenant
// (remembering the last tenant, as a batch is usually one tenant's), or
// `fallback` without a resolver. Not thread-safe; one per batch.
class BatchGrouping {
 public:
  BatchGrouping(GroupingResolver* resolver, const GroupingConfig& fallback)
      : resolver_(resolver), fallback_(fallback) {}

  // UNAVAILABLE when the tenant's grouping cannot be read.
  absl::StatusOr<const GroupingConfig*> For(absl::string_view tenant);

 private:
  GroupingResolver* const resolver_;
  const GroupingConfig& fallback_;
  bool have_ = false;
  std::string tenant_;
  std::shared_ptr<const TenantGrouping> grouping_;
};

}  // namespace agentwatch::incident
