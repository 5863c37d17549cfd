// Page sizes and opaque page tokens of the List RPCs. A token carries the
// list it belongs to, the request's filter and the key of the last entry
// returned, so that a token of another list or filter is refused.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agentwatch::monitor {

inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;

// The page size to use: kDefaultPageSize for 0, the request's value up to
// kMaxPageSize (larger values are capped). INVALID_ARGUMENT naming
// "page_size" when negative.
absl::StatusOr<int> PageSize(int requested);

// An opaque, URL-safe token for `list` (e.g. "alert_rules") with `filter`
// (the request fields that select entries) and the last key `key`.
std::string EncodePageToken(absl::string_view list, absl::string_view filter,
                            const std::vector<std::string>& key);

// The key of a token made by EncodePageToken for the same list and filter,
// with exactly `key_parts` parts. INVALID_ARGUMENT naming "page_token" when
// the token is malformed or was made for another list or filter.
absl::StatusOr<std::vector<std::string>> DecodePageToken(absl::string_view token,
                                                         absl::string_view list,
                                                         absl::string_view filter,
                                                         size_t key_parts);

}  // namespace agentwatch::monitor
