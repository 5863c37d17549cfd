// Prices and the pricing rule of one usage record. Pure; Abseil only.
// Units and rounding: see money.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace agentwatch::cost {

// Prices of the token kinds, nano-USD per million tokens. In a ModelPrice a
// cache price of 0 means "the input price"; in a PriceTier any 0 means "the
// base price of that kind" (see EffectiveTokenPrices).
struct TokenPrices {
  int64_t input = 0;
  int64_t output = 0;
  int64_t cache_read = 0;
  int64_t cache_creation = 0;

  bool operator==(const TokenPrices& other) const {
    return input == other.input && output == other.output && cache_read == other.cache_read &&
           cache_creation == other.cache_creation;
  }
  bool operator!=(const TokenPrices& other) const { return !(*this == other); }
};

// Long-context pricing: applies to the whole call when its input tokens
// exceed above_input_tokens.
struct PriceTier {
  int64_t above_input_tokens = 0;
  TokenPrices prices;

  bool operator==(const PriceTier& other) const {
    return above_input_tokens == other.above_input_tokens && prices == other.prices;
  }
};

// The price of one model (or infrastructure price key).
struct ModelPrice {
  TokenPrices base;
  // Strictly ascending by above_input_tokens.
  std::vector<PriceTier> tiers;
  // Infrastructure: nano-USD per canonical unit.
  int64_t unit_price_nano_usd = 0;

  bool operator==(const ModelPrice& other) const {
    return base == other.base && tiers == other.tiers &&
           unit_price_nano_usd == other.unit_price_nano_usd;
  }
  bool operator!=(const ModelPrice& other) const { return !(*this == other); }
};

// Where a price came from.
inline constexpr absl::string_view kSourceDefault = "default";
inline constexpr absl::string_view kSourceLiteLlm = "litellm";
inline constexpr absl::string_view kSourceManual = "manual";

// The provider of infrastructure prices.
inline constexpr absl::string_view kInfraProvider = "infra";

// One version of a price: in effect from effective_time until the next
// version of the same (tenant, provider, model). tenant "" is global.
struct PriceVersion {
  std::string tenant;
  std::string provider;
  std::string model;
  absl::Time effective_time = absl::UnixEpoch();
  ModelPrice price;
  std::string source = std::string(kSourceManual);
  // When stored; InfinitePast() before.
  absl::Time create_time = absl::InfinitePast();
};

// Checks a price: every amount >= 0, tiers strictly ascending with
// above_input_tokens >= 0. INVALID_ARGUMENT naming `prefix`.<field>.
absl::Status ValidateModelPrice(const ModelPrice& price, absl::string_view prefix);

// Checks a whole version: provider, model and source set and sized, plus
// ValidateModelPrice. INVALID_ARGUMENT naming `prefix`.<field>.
absl::Status ValidatePriceVersion(const PriceVersion& version, absl::string_view prefix);

// The catalog spelling of a model: "openai/gpt-4o" under provider "openai" is
// "gpt-4o"; any other spelling is kept. Prices are stored and looked up by
// (provider, CanonicalModel(provider, model)).
std::string CanonicalModel(absl::string_view provider, absl::string_view model);
// CanonicalModel as a view into `model` (no copy).
absl::string_view CanonicalModelView(absl::string_view provider, absl::string_view model);

// Among `versions` of one (provider, model), the one in effect at `at` for
// `tenant`: the latest of the tenant's own versions with effective_time <= at,
// else the latest global one (tenant "") with effective_time <= at; nullptr
// when none. A price change thus never affects usage before it.
const PriceVersion* SelectPriceVersion(absl::Span<const PriceVersion> versions,
                                       absl::string_view tenant, absl::Time at);

// Tokens of one LLM usage record. cached_input and cache_creation are parts of
// input; the rest of input is priced at the input price.
struct LlmTokens {
  int64_t input = 0;
  int64_t output = 0;
  int64_t cached_input = 0;
  int64_t cache_creation = 0;
};

// Checks token counts: all >= 0 and cached_input + cache_creation <= input.
// INVALID_ARGUMENT naming `prefix`.<field> (input_tokens, output_tokens,
// cached_input_tokens, cache_creation_tokens).
absl::Status ValidateLlmTokens(const LlmTokens& tokens, absl::string_view prefix);

// The prices that apply to a call with `input_tokens` input tokens: the
// highest tier whose above_input_tokens is below input_tokens, if any, with
// each 0 of the tier taken from the base; then a cache price still 0 is the
// (tier's) input price.
TokenPrices EffectiveTokenPrices(const ModelPrice& price, int64_t input_tokens);

// The exact cost of an LLM record in nano-USD:
//   round_half_away( sum_k tokens_k x price_k / 1,000,000 )
// over k = uncached input (input - cached_input - cache_creation), cache read,
// cache creation and output, with EffectiveTokenPrices; rounded once.
// Tokens must be valid (ValidateLlmTokens). OUT_OF_RANGE when the cost does
// not fit int64 nano-USD.
absl::StatusOr<int64_t> LlmCost(const ModelPrice& price, const LlmTokens& tokens);

// The exact cost of `quantity_milli` milli-units at `unit_price_nano_usd` per
// unit: round_half_away(quantity_milli x unit_price / 1000). Both >= 0.
// OUT_OF_RANGE when the cost does not fit int64.
absl::StatusOr<int64_t> InfraCost(int64_t unit_price_nano_usd, int64_t quantity_milli);

}  // namespace agentwatch::cost
