#include "monitor/core/paging.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "monitor/core/hash.h"

namespace agentwatch::monitor {
namespace {

constexpr char kTokenVersion[] = "m1";

// Length-prefixed parts: "<size>:<bytes>" each.
std::string Pack(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) absl::StrAppend(&out, part.size(), ":", part);
  return out;
}

bool Unpack(absl::string_view data, std::vector<std::string>* parts) {
  while (!data.empty()) {
    const size_t colon = data.find(':');
    if (colon == absl::string_view::npos) return false;
    size_t size = 0;
    if (!absl::SimpleAtoi(data.substr(0, colon), &size)) return false;
    data.remove_prefix(colon + 1);
    if (size > data.size()) return false;
    parts->emplace_back(data.substr(0, size));
    data.remove_prefix(size);
  }
  return true;
}

}  // namespace

absl::StatusOr<int> PageSize(int requested) {
  if (requested < 0) return common::InvalidField("page_size", "must be >= 0");
  if (requested == 0) return kDefaultPageSize;
  return requested > kMaxPageSize ? kMaxPageSize : requested;
}

std::string EncodePageToken(absl::string_view list, absl::string_view filter,
                            const std::vector<std::string>& key) {
  std::vector<std::string> parts = {kTokenVersion, std::string(list), StableHash({list, filter})};
  parts.insert(parts.end(), key.begin(), key.end());
  return absl::WebSafeBase64Escape(Pack(parts));
}

absl::StatusOr<std::vector<std::string>> DecodePageToken(absl::string_view token,
                                                         absl::string_view list,
                                                         absl::string_view filter,
                                                         size_t key_parts) {
  std::string raw;
  std::vector<std::string> parts;
  if (!absl::WebSafeBase64Unescape(token, &raw) || !Unpack(raw, &parts) ||
      parts.size() != 3 + key_parts || parts[0] != kTokenVersion || parts[1] != list) {
    return common::InvalidField("page_token", "malformed");
  }
  if (parts[2] != StableHash({list, filter})) {
    return common::InvalidField("page_token", "was issued for a request with other filters");
  }
  return std::vector<std::string>(parts.begin() + 3, parts.end());
}

}  // namespace agentwatch::monitor
