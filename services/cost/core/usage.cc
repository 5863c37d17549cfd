#include "cost/core/usage.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agentwatch::cost {
namespace {

using common::InvalidField;

constexpr std::pair<InfraResource, absl::string_view> kInfraNames[] = {
    {InfraResource::kComputeSeconds, "compute_seconds"},
    {InfraResource::kMemoryGibHours, "memory_gib_hours"},
    {InfraResource::kStorageGibHours, "storage_gib_hours"},
    {InfraResource::kExternalApiCalls, "external_api_calls"},
};

}  // namespace

absl::string_view UsageKindName(UsageKind kind) {
  switch (kind) {
    case UsageKind::kLlm:
      return "llm";
    case UsageKind::kInfra:
      return "infra";
    case UsageKind::kOutcome:
      break;
  }
  return "outcome";
}

bool ParseUsageKind(absl::string_view name, UsageKind* kind) {
  for (UsageKind k : {UsageKind::kOutcome, UsageKind::kLlm, UsageKind::kInfra}) {
    if (UsageKindName(k) == name) {
      *kind = k;
      return true;
    }
  }
  return false;
}

absl::string_view InfraResourceName(InfraResource resource) {
  for (const auto& [r, name] : kInfraNames) {
    if (r == resource) return name;
  }
  return "";
}

bool ParseInfraResource(absl::string_view name, InfraResource* resource) {
  for (const auto& [r, n] : kInfraNames) {
    if (n == name) {
      *resource = r;
      return true;
    }
  }
  return false;
}

absl::string_view InfraResourceUnit(InfraResource resource) {
  switch (resource) {
    case InfraResource::kComputeSeconds:
      return "vcpu_seconds";
    case InfraResource::kMemoryGibHours:
    case InfraResource::kStorageGibHours:
      return "gib_hours";
    case InfraResource::kExternalApiCalls:
      break;
  }
  return "calls";
}

absl::Status ValidateUsageRecord(const UsageRecord& record, absl::string_view prefix) {
  const std::string p(prefix);
  if (record.record_id.empty()) return InvalidField(absl::StrCat(p, ".record_id"), "required");
  if (record.record_id.size() > kMaxRecordIdBytes) {
    return InvalidField(absl::StrCat(p, ".record_id"),
                        absl::StrCat("at most ", kMaxRecordIdBytes, " bytes"));
  }
  if (record.record_id.find('\0') != std::string::npos) {
    return InvalidField(absl::StrCat(p, ".record_id"), "must not contain NUL bytes");
  }
  // Nested field prefixes are built only to name an error (the check runs
  // again with them): a valid record builds none.
  if (!ValidateScope(record.scope, "", true).ok()) {
    RETURN_IF_ERROR(ValidateScope(record.scope, absl::StrCat(p, ".scope"), true));
  }
  if (record.run_id.size() > kMaxRecordIdBytes) {
    return InvalidField(absl::StrCat(p, ".run_id"),
                        absl::StrCat("at most ", kMaxRecordIdBytes, " bytes"));
  }
  if (record.run_id.find('\0') != std::string::npos) {
    return InvalidField(absl::StrCat(p, ".run_id"), "must not contain NUL bytes");
  }
  if (record.run_succeeded.has_value() && record.run_id.empty()) {
    return InvalidField(absl::StrCat(p, ".run_id"), "required with run_succeeded");
  }
  if (record.client_cost_nano_usd.has_value() && *record.client_cost_nano_usd < 0) {
    return InvalidField(absl::StrCat(p, ".client_cost_nano_usd"), "must be >= 0");
  }
  switch (record.kind) {
    case UsageKind::kOutcome:
      if (!record.run_succeeded.has_value()) {
        return InvalidField(p, "llm or infra usage required unless run_succeeded is set");
      }
      break;
    case UsageKind::kLlm:
      if (record.scope.provider.empty()) {
        return InvalidField(absl::StrCat(p, ".llm.provider"), "required");
      }
      if (record.scope.model.empty()) {
        return InvalidField(absl::StrCat(p, ".llm.model"), "required");
      }
      if (!ValidateLlmTokens(record.tokens, "").ok()) {
        RETURN_IF_ERROR(ValidateLlmTokens(record.tokens, absl::StrCat(p, ".llm")));
      }
      if (record.requests < 0) {
        return InvalidField(absl::StrCat(p, ".llm.requests"), "must be >= 0");
      }
      break;
    case UsageKind::kInfra:
      if (record.infra_quantity_milli < 0) {
        return InvalidField(absl::StrCat(p, ".infra.quantity"), "must be >= 0");
      }
      if (record.infra_sku.size() > kMaxScopeValueBytes ||
          record.infra_sku.find('\0') != std::string::npos) {
        return InvalidField(absl::StrCat(p, ".infra.sku"),
                            absl::StrCat("at most ", kMaxScopeValueBytes, " bytes, no NUL"));
      }
      break;
  }
  return absl::OkStatus();
}

std::vector<PriceKey> PriceKeysFor(const UsageRecord& record) {
  if (record.client_cost_nano_usd.has_value()) return {};
  switch (record.kind) {
    case UsageKind::kLlm:
      return {{record.scope.provider, CanonicalModel(record.scope.provider, record.scope.model)}};
    case UsageKind::kInfra: {
      const std::string resource(InfraResourceName(record.infra_resource));
      std::vector<PriceKey> keys;
      if (!record.infra_sku.empty()) {
        keys.emplace_back(std::string(kInfraProvider),
                          absl::StrCat(resource, "/", record.infra_sku));
      }
      keys.emplace_back(std::string(kInfraProvider), resource);
      return keys;
    }
    case UsageKind::kOutcome:
      break;
  }
  return {};
}

void PriceBook::Add(PriceVersion version) {
  PriceKey key(version.provider, version.model);
  versions_[std::move(key)].push_back(std::move(version));
}

const PriceVersion* PriceBook::Find(const PriceKey& key, absl::string_view tenant,
                                    absl::Time at) const {
  auto it = versions_.find(key);
  if (it == versions_.end()) return nullptr;
  return SelectPriceVersion(it->second, tenant, at);
}

absl::StatusOr<UsagePricing> PriceRecord(const UsageRecord& record,
                                         const std::vector<PriceKey>& keys, const PriceBook& book,
                                         absl::string_view prefix) {
  UsagePricing out;
  if (record.client_cost_nano_usd.has_value()) {
    out.cost_nano_usd = *record.client_cost_nano_usd;
    out.priced = true;
    out.client_priced = true;
    return out;
  }
  if (record.kind == UsageKind::kOutcome) {
    out.priced = true;
    return out;
  }
  for (const PriceKey& key : keys) {
    const PriceVersion* version = book.Find(key, record.scope.tenant, record.time);
    if (version == nullptr) continue;
    absl::StatusOr<int64_t> cost =
        record.kind == UsageKind::kLlm
            ? LlmCost(version->price, record.tokens)
            : InfraCost(version->price.unit_price_nano_usd, record.infra_quantity_milli);
    if (!cost.ok()) {
      return absl::OutOfRangeError(absl::StrCat(prefix, ": ", cost.status().message()));
    }
    out.cost_nano_usd = *cost;
    out.priced = true;
    out.price_tenant = version->tenant;
    out.price_effective_time = version->effective_time;
    return out;
  }
  return out;
}

absl::StatusOr<PricedUsage> PriceUsage(const UsageRecord& record, const PriceBook& book,
                                       absl::string_view prefix) {
  ASSIGN_OR_RETURN(UsagePricing pricing, PriceRecord(record, PriceKeysFor(record), book, prefix));
  PricedUsage out;
  static_cast<UsagePricing&>(out) = std::move(pricing);
  out.record = record;
  return out;
}

}  // namespace agentwatch::cost
