#include "incident/core/query.h"

#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace agentwatch::incident {
namespace {

constexpr absl::string_view kTokenVersion = "v1";

absl::Status BadToken(absl::string_view why) { return common::InvalidField("page_token", why); }

}  // namespace

bool IsAfter(const Incident& incident, const PageCursor& cursor) {
  return std::tie(incident.create_time, incident.id) < std::tie(cursor.create_time, cursor.id);
}

bool NewestFirst(const Incident& a, const Incident& b) {
  return std::tie(a.create_time, a.id) > std::tie(b.create_time, b.id);
}

absl::StatusOr<int> NormalizePageSize(int64_t requested) {
  if (requested < 0) return common::InvalidField("page_size", "must not be negative");
  if (requested == 0) return kDefaultPageSize;
  if (requested > kMaxPageSize) return kMaxPageSize;
  return static_cast<int>(requested);
}

absl::Status ValidateMatcher(const LabelMatcher& matcher, absl::string_view field) {
  if (matcher.name.empty()) return common::InvalidField(absl::StrCat(field, ".name"), "required");
  const int op = static_cast<int>(matcher.op);
  if (matcher.op == MatchOp::kUnspecified) {
    return common::InvalidField(absl::StrCat(field, ".op"), "required");
  }
  if (op < static_cast<int>(MatchOp::kEqual) || op > static_cast<int>(MatchOp::kNotRegex)) {
    return common::InvalidField(absl::StrCat(field, ".op"), absl::StrCat("unknown value ", op));
  }
  return absl::OkStatus();
}

std::string EncodePageToken(const PageCursor& cursor, uint64_t filters) {
  const std::string plain = absl::StrCat(kTokenVersion, ":", absl::ToUnixMicros(cursor.create_time),
                                         ":", absl::Hex(filters), ":", cursor.id);
  return absl::WebSafeBase64Escape(plain);
}

absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token, uint64_t filters) {
  std::string plain;
  if (!absl::WebSafeBase64Unescape(token, &plain)) return BadToken("not a page token");
  std::vector<absl::string_view> parts = absl::StrSplit(plain, absl::MaxSplits(':', 3));
  if (parts.size() != 4 || parts[0] != kTokenVersion) return BadToken("not a page token");
  int64_t micros = 0;
  uint64_t digest = 0;
  if (!absl::SimpleAtoi(parts[1], &micros) || !absl::SimpleHexAtoi(parts[2], &digest) ||
      parts[3].empty()) {
    return BadToken("not a page token");
  }
  if (digest != filters) {
    return BadToken("the request's filters differ from those the token was issued for");
  }
  return PageCursor{absl::FromUnixMicros(micros), std::string(parts[3])};
}

uint64_t Fnv1a64(absl::string_view data) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

}  // namespace agentwatch::incident
