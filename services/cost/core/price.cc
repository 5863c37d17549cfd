#include "cost/core/price.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "cost/core/money.h"

namespace agentwatch::cost {
namespace {

using common::InvalidField;

constexpr size_t kMaxNameBytes = 256;

absl::Status CheckPrices(const TokenPrices& prices, absl::string_view prefix) {
  const std::pair<const char*, int64_t> fields[] = {
      {"input_per_million_nano_usd", prices.input},
      {"output_per_million_nano_usd", prices.output},
      {"cache_read_per_million_nano_usd", prices.cache_read},
      {"cache_creation_per_million_nano_usd", prices.cache_creation},
  };
  for (const auto& [name, value] : fields) {
    if (value < 0) return InvalidField(absl::StrCat(prefix, name), "must be >= 0");
  }
  return absl::OkStatus();
}

absl::Status CheckName(absl::string_view field, const std::string& value) {
  if (value.empty()) return InvalidField(field, "required");
  if (value.size() > kMaxNameBytes) {
    return InvalidField(field, absl::StrCat("at most ", kMaxNameBytes, " bytes"));
  }
  if (value.find('\0') != std::string::npos) {
    return InvalidField(field, "must not contain NUL bytes");
  }
  return absl::OkStatus();
}

int64_t OrElse(int64_t value, int64_t fallback) { return value != 0 ? value : fallback; }

}  // namespace

absl::Status ValidateModelPrice(const ModelPrice& price, absl::string_view prefix) {
  const std::string dot = prefix.empty() ? "" : absl::StrCat(prefix, ".");
  RETURN_IF_ERROR(CheckPrices(price.base, dot));
  if (price.unit_price_nano_usd < 0) {
    return InvalidField(absl::StrCat(dot, "unit_price_nano_usd"), "must be >= 0");
  }
  for (size_t i = 0; i < price.tiers.size(); ++i) {
    const std::string tier = absl::StrCat(dot, "tiers[", i, "]");
    if (price.tiers[i].above_input_tokens < 0) {
      return InvalidField(absl::StrCat(tier, ".above_input_tokens"), "must be >= 0");
    }
    if (i > 0 && price.tiers[i].above_input_tokens <= price.tiers[i - 1].above_input_tokens) {
      return InvalidField(absl::StrCat(tier, ".above_input_tokens"),
                          "tiers must be strictly ascending");
    }
    RETURN_IF_ERROR(CheckPrices(price.tiers[i].prices, absl::StrCat(tier, ".")));
  }
  return absl::OkStatus();
}

absl::Status ValidatePriceVersion(const PriceVersion& version, absl::string_view prefix) {
  const std::string dot = prefix.empty() ? "" : absl::StrCat(prefix, ".");
  RETURN_IF_ERROR(CheckName(absl::StrCat(dot, "provider"), version.provider));
  RETURN_IF_ERROR(CheckName(absl::StrCat(dot, "model"), version.model));
  if (version.tenant.size() > kMaxNameBytes) {
    return InvalidField(absl::StrCat(dot, "tenant"),
                        absl::StrCat("at most ", kMaxNameBytes, " bytes"));
  }
  if (version.source != kSourceDefault && version.source != kSourceLiteLlm &&
      version.source != kSourceManual) {
    return InvalidField(absl::StrCat(dot, "source"), "must be default, litellm or manual");
  }
  return ValidateModelPrice(version.price, prefix);
}

absl::string_view CanonicalModelView(absl::string_view provider, absl::string_view model) {
  if (!provider.empty() && model.size() > provider.size() + 1 &&
      absl::StartsWith(model, provider) && model[provider.size()] == '/') {
    return model.substr(provider.size() + 1);
  }
  return model;
}

std::string CanonicalModel(absl::string_view provider, absl::string_view model) {
  return std::string(CanonicalModelView(provider, model));
}

const PriceVersion* SelectPriceVersion(absl::Span<const PriceVersion> versions,
                                       absl::string_view tenant, absl::Time at) {
  const PriceVersion* own = nullptr;
  const PriceVersion* global = nullptr;
  for (const PriceVersion& v : versions) {
    if (v.effective_time > at) continue;
    if (!tenant.empty() && v.tenant == tenant) {
      if (own == nullptr || v.effective_time > own->effective_time) own = &v;
    } else if (v.tenant.empty()) {
      if (global == nullptr || v.effective_time > global->effective_time) global = &v;
    }
  }
  return own != nullptr ? own : global;
}

absl::Status ValidateLlmTokens(const LlmTokens& tokens, absl::string_view prefix) {
  const std::string dot = prefix.empty() ? "" : absl::StrCat(prefix, ".");
  const std::pair<const char*, int64_t> fields[] = {
      {"input_tokens", tokens.input},
      {"output_tokens", tokens.output},
      {"cached_input_tokens", tokens.cached_input},
      {"cache_creation_tokens", tokens.cache_creation},
  };
  for (const auto& [name, value] : fields) {
    if (value < 0) return InvalidField(absl::StrCat(dot, name), "must be >= 0");
  }
  if (tokens.cached_input > tokens.input) {
    return InvalidField(absl::StrCat(dot, "cached_input_tokens"),
                        "must not exceed input_tokens (cached tokens are part of the input)");
  }
  if (tokens.cache_creation > tokens.input - tokens.cached_input) {
    return InvalidField(absl::StrCat(dot, "cache_creation_tokens"),
                        "cached_input_tokens + cache_creation_tokens must not exceed "
                        "input_tokens (both are part of the input)");
  }
  return absl::OkStatus();
}

TokenPrices EffectiveTokenPrices(const ModelPrice& price, int64_t input_tokens) {
  TokenPrices p = price.base;
  for (auto it = price.tiers.rbegin(); it != price.tiers.rend(); ++it) {
    if (input_tokens > it->above_input_tokens) {
      p.input = OrElse(it->prices.input, p.input);
      p.output = OrElse(it->prices.output, p.output);
      p.cache_read = OrElse(it->prices.cache_read, p.cache_read);
      p.cache_creation = OrElse(it->prices.cache_creation, p.cache_creation);
      break;
    }
  }
  p.cache_read = OrElse(p.cache_read, p.input);
  p.cache_creation = OrElse(p.cache_creation, p.input);
  return p;
}

absl::StatusOr<int64_t> LlmCost(const ModelPrice& price, const LlmTokens& tokens) {
  const TokenPrices p = EffectiveTokenPrices(price, tokens.input);
  using U = unsigned __int128;
  const int64_t uncached = tokens.input - tokens.cached_input - tokens.cache_creation;
  // Each product is below 2^126, so the sum of four is below 2^128: no overflow.
  const U amount = static_cast<U>(uncached) * static_cast<U>(p.input) +
                   static_cast<U>(tokens.cached_input) * static_cast<U>(p.cache_read) +
                   static_cast<U>(tokens.cache_creation) * static_cast<U>(p.cache_creation) +
                   static_cast<U>(tokens.output) * static_cast<U>(p.output);
  return RoundHalfAwayFromZero(amount, kTokensPerPriceUnit);
}

absl::StatusOr<int64_t> InfraCost(int64_t unit_price_nano_usd, int64_t quantity_milli) {
  if (unit_price_nano_usd < 0 || quantity_milli < 0) {
    return absl::InvalidArgumentError("infrastructure price and quantity must be >= 0");
  }
  using U = unsigned __int128;
  return RoundHalfAwayFromZero(static_cast<U>(unit_price_nano_usd) * static_cast<U>(quantity_milli),
                               kMilliPerUnit);
}

}  // namespace agentwatch::cost
