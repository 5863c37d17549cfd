#include "cost/core/paging.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agentwatch::cost {
namespace {

constexpr absl::string_view kVersion = "p1";

}  // namespace

absl::StatusOr<int32_t> EffectivePageSize(int32_t requested) {
  if (requested < 0) return common::InvalidField("page_size", "must be >= 0");
  if (requested == 0) return kDefaultPageSize;
  return requested > kMaxPageSize ? kMaxPageSize : requested;
}

uint64_t Fingerprint(absl::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string EncodePageToken(uint64_t fingerprint, absl::string_view position) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(kVersion, ":", absl::Hex(fingerprint, absl::kZeroPad16), ":", position));
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view token, uint64_t fingerprint) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() < kVersion.size() + 18 ||
      absl::string_view(raw).substr(0, kVersion.size()) != kVersion ||
      raw[kVersion.size()] != ':' || raw[kVersion.size() + 17] != ':') {
    return common::InvalidField("page_token", "malformed");
  }
  uint64_t stored = 0;
  if (!absl::SimpleHexAtoi(absl::string_view(raw).substr(kVersion.size() + 1, 16), &stored) ||
      stored != fingerprint) {
    return common::InvalidField("page_token",
                                "belongs to a different request (other fields must not change)");
  }
  return raw.substr(kVersion.size() + 18);
}

std::string PackPosition(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) absl::StrAppend(&out, part.size(), ":", part);
  return out;
}

absl::StatusOr<std::vector<std::string>> UnpackPosition(absl::string_view position, size_t parts) {
  std::vector<std::string> out;
  while (!position.empty()) {
    const size_t colon = position.find(':');
    size_t length = 0;
    if (colon == absl::string_view::npos || !absl::SimpleAtoi(position.substr(0, colon), &length) ||
        length > position.size() - colon - 1) {
      return common::InvalidField("page_token", "malformed");
    }
    out.emplace_back(position.substr(colon + 1, length));
    position.remove_prefix(colon + 1 + length);
  }
  if (out.size() != parts) return common::InvalidField("page_token", "malformed");
  return out;
}

}  // namespace agentwatch::cost
