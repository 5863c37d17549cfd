// Who a usage record, a report filter or a budget applies to. Pure.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace agentwatch::cost {

// The dimensions of usage. An empty field means "any" in a filter.
struct Scope {
  std::string tenant;
  std::string team;
  std::string workflow;
  std::string agent;
  std::string model;
  std::string provider;
  std::string service;
  std::map<std::string, std::string> tags;

  bool operator==(const Scope& other) const;
};

// At most this many tags per scope.
inline constexpr int kMaxTags = 16;
// At most this many bytes in a tag value and in every scope field.
inline constexpr size_t kMaxScopeValueBytes = 256;

// Checks sizes and tag keys ([a-zA-Z_][a-zA-Z0-9_]*, at most 16 tags, values
// and fields at most 256 bytes); with `require_tenant`, tenant must be set.
// INVALID_ARGUMENT naming `prefix`.<field> otherwise.
absl::Status ValidateScope(const Scope& scope, absl::string_view prefix, bool require_tenant);

// True when `key` is a valid tag key.
bool IsValidTagKey(absl::string_view key);

// True when `filter` covers `subject`: every non-empty field of the filter
// equals the subject's, and every tag of the filter is on the subject with an
// equal value.
bool ScopeCovers(const Scope& filter, const Scope& subject);

// ScopeCovers(filter, subject) for one filter and many subjects: the
// filter's non-empty fields and its tags are listed once, so each subject
// costs one comparison per field the filter sets. With `subjects_of_tenant`
// the caller promises that every subject has the filter's tenant (records
// already grouped by tenant), and the tenant is not compared again (a budget
// of a tenant and a team then costs one comparison). `filter` must outlive
// the matcher.
class ScopeMatcher {
 public:
  explicit ScopeMatcher(const Scope& filter, bool subjects_of_tenant = false);

  // Same answer as ScopeCovers(filter, subject) (for a subject of the
  // filter's tenant when constructed with `subjects_of_tenant`).
  bool Covers(const Scope& subject) const;

 private:
  // The filter's non-empty fields: which one (a member of Scope) and value.
  std::vector<std::pair<std::string Scope::*, absl::string_view>> fields_;
  const std::map<std::string, std::string>* tags_;
};

}  // namespace agentwatch::cost
