#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "capacity/store/resource_store.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

constexpr absl::string_view kTokenVersion = "r1";

}  // namespace

std::string EncodeResourcePageToken(absl::string_view tenant, absl::string_view name) {
  std::string raw = absl::StrCat(kTokenVersion, ":", tenant.size(), ":", tenant, name);
  std::string token;
  absl::WebSafeBase64Escape(raw, &token);
  return token;
}

absl::Status DecodeResourcePageToken(absl::string_view token, ResourceListQuery* query) {
  if (token.empty()) {
    query->after_tenant.clear();
    query->after_name.clear();
    return absl::OkStatus();
  }
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) {
    return common::InvalidField("page_token", "is not a token from a previous response");
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(raw, absl::MaxSplits(':', 2));
  size_t tenant_size = 0;
  if (parts.size() != 3 || parts[0] != kTokenVersion || !absl::SimpleAtoi(parts[1], &tenant_size) ||
      tenant_size > parts[2].size()) {
    return common::InvalidField("page_token", "is not a token from a previous response");
  }
  query->after_tenant = std::string(parts[2].substr(0, tenant_size));
  query->after_name = std::string(parts[2].substr(tenant_size));
  if (query->after_name.empty()) {
    return common::InvalidField("page_token", "is not a token from a previous response");
  }
  return absl::OkStatus();
}

}  // namespace agentwatch::capacity
