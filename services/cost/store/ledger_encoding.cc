#include "cost/store/ledger_encoding.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace agentwatch::cost {

void AppendDimsCacheKey(std::string* out, const UsageRecord& r) {
  auto field = [out](absl::string_view value) {
    char digits[absl::numbers_internal::kFastToBufferSize];
    out->append(digits, absl::numbers_internal::FastIntToBuffer(static_cast<uint64_t>(value.size()),
                                                                digits) -
                            digits);
    out->push_back(':');
    out->append(value.data(), value.size());
  };
  field(r.scope.tenant);
  field(UsageKindName(r.kind));
  field(r.scope.team);
  field(r.scope.workflow);
  field(r.scope.agent);
  field(r.scope.model);
  field(r.scope.provider);
  field(r.scope.service);
  field(r.kind == UsageKind::kInfra ? InfraResourceName(r.infra_resource) : "");
  field(r.infra_sku);
  absl::StrAppend(out, r.scope.tags.size(), "#");
  for (const auto& [k, v] : r.scope.tags) {
    field(k);
    field(v);
  }
}

std::string DimsCacheKey(const UsageRecord& r) {
  std::string key;
  key.reserve(96 + r.scope.tenant.size() + r.scope.team.size() + r.scope.workflow.size() +
              r.scope.agent.size() + r.scope.model.size() + r.scope.provider.size() +
              r.scope.service.size() + r.infra_sku.size() + 16 * r.scope.tags.size());
  AppendDimsCacheKey(&key, r);
  return key;
}

}  // namespace agentwatch::cost
