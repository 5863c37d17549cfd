// Listing incidents: filters, newest-first keyset paging and the opaque page
// token that carries the position and a digest of the filters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;

// How a label matcher compares, as in Prometheus (wire values of MatchOp).
enum class MatchOp : int { kUnspecified = 0, kEqual = 1, kNotEqual = 2, kRegex = 3, kNotRegex = 4 };

// `name op value`; an absent label equals "". Regular expressions match the
// whole value.
struct LabelMatcher {
  std::string name;
  MatchOp op = MatchOp::kUnspecified;
  std::string value;
};

// A position in the newest-first order (create_time desc, id desc): the page
// continues with the incidents strictly after it.
struct PageCursor {
  absl::Time create_time = absl::UnixEpoch();
  std::string id;
};

// True when `incident` comes after `cursor` in the newest-first order.
bool IsAfter(const Incident& incident, const PageCursor& cursor);

// True when `a` comes before `b` in the newest-first order.
bool NewestFirst(const Incident& a, const Incident& b);

// A ListIncidents query; filters combine with AND, empty ones match all.
struct IncidentQuery {
  std::vector<IncidentStatus> statuses;
  std::vector<Severity> severities;
  std::string tenant;
  std::optional<absl::Time> created_from;    // inclusive
  std::optional<absl::Time> created_before;  // exclusive
  std::vector<LabelMatcher> matchers;
  std::string owner;
  int page_size = kDefaultPageSize;  // 1..kMaxPageSize
  std::optional<PageCursor> after;
};

// One page of incidents and the position to continue from (unset on the last
// page).
struct IncidentPage {
  std::vector<Incident> incidents;
  std::optional<PageCursor> next;
};

// 0 means kDefaultPageSize; above kMaxPageSize is clamped. INVALID_ARGUMENT
// "page_size: ..." when negative.
absl::StatusOr<int> NormalizePageSize(int64_t requested);

// Checks a matcher's name and operator (the API checks the regular
// expression). INVALID_ARGUMENT naming `field`.name or `field`.op.
absl::Status ValidateMatcher(const LabelMatcher& matcher, absl::string_view field);

// The opaque token for `cursor` under filters whose digest is `filters`.
std::string EncodePageToken(const PageCursor& cursor, uint64_t filters);

// Reads a token made by EncodePageToken. INVALID_ARGUMENT "page_token: ..."
// when it is malformed or was issued for other filters.
absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token, uint64_t filters);

// 64-bit FNV-1a of `data`: a stable digest (same value in every process).
uint64_t Fnv1a64(absl::string_view data);

}  // namespace agentwatch::incident
