// Who a usage record, a report filter or a budget applies to. Pure.
#pragma once

#include <map>
#include <string>

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

}  // namespace agentwatch::cost
