// Conversion of LiteLLM's model_prices_and_context_window.json entries into
// catalog prices. Pure; Abseil only: the JSON itself is parsed elsewhere into
// LiteLlmEntry values that keep each number as decimal text, so conversion is
// exact (see money.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cost/core/price.h"

namespace agentwatch::cost {

// One top-level entry of the LiteLLM document.
struct LiteLlmEntry {
  // The JSON key, e.g. "gpt-4o-mini" or "azure/gpt-4o-mini".
  std::string key;
  // False when the value is not a JSON object (e.g. "last_updated").
  bool is_object = false;
  // String fields `litellm_provider` and `mode`, when present as strings.
  std::optional<std::string> provider;
  std::optional<std::string> mode;
  // Every numeric field of the entry as decimal text, e.g.
  // {"input_cost_per_token", "1.5e-07"}.
  std::map<std::string, std::string> numbers;
};

// An entry that was not imported, and why.
struct LiteLlmIssue {
  std::string key;
  std::string reason;
};

// A price to import: (provider, model) in catalog spelling.
struct CatalogPrice {
  std::string provider;
  std::string model;
  ModelPrice price;
};

// The result of converting a document.
struct LiteLlmConversion {
  std::vector<CatalogPrice> prices;  // sorted by (provider, model), unique
  std::vector<LiteLlmIssue> issues;  // one per skipped entry, by key
  // Entries that looked like LiteLLM models (objects with litellm_provider).
  int64_t model_entries = 0;
};

// Converts entries. Imported: objects with a string litellm_provider, mode
// chat, completion, embedding or responses, and a numeric
// input_cost_per_token or output_cost_per_token. Mapped fields (USD per token
// -> nano-USD per million tokens): input_cost_per_token,
// output_cost_per_token, cache_read_input_token_cost (else
// input_cost_per_token_cache_hit), cache_creation_input_token_cost, and the
// tiers `<those>_above_<N>[k]_tokens` (e.g. input_cost_per_token_above_200k_
// tokens -> tier above 200,000 input tokens). The model is the key without a
// leading "<provider>/" (CanonicalModel); when two keys map to the same
// (provider, model), the one spelled exactly as the model wins, else the
// first by key. `sample_spec` and every other entry are skipped with a reason.
LiteLlmConversion ConvertLiteLlm(const std::vector<LiteLlmEntry>& entries);

}  // namespace agentwatch::cost
