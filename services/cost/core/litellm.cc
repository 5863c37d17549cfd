#include "cost/core/litellm.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cost/core/money.h"

namespace agentwatch::cost {
namespace {

// The four token kinds and their LiteLLM field names.
enum class Kind { kInput, kOutput, kCacheRead, kCacheCreation };

struct KindField {
  Kind kind;
  absl::string_view field;
};

constexpr KindField kBaseFields[] = {
    {Kind::kInput, "input_cost_per_token"},
    {Kind::kOutput, "output_cost_per_token"},
    {Kind::kCacheRead, "cache_read_input_token_cost"},
    {Kind::kCacheCreation, "cache_creation_input_token_cost"},
};

constexpr absl::string_view kCacheHitAlias = "input_cost_per_token_cache_hit";

int64_t& Slot(TokenPrices& prices, Kind kind) {
  switch (kind) {
    case Kind::kInput:
      return prices.input;
    case Kind::kOutput:
      return prices.output;
    case Kind::kCacheRead:
      return prices.cache_read;
    case Kind::kCacheCreation:
      break;
  }
  return prices.cache_creation;
}

bool IsTokenMode(absl::string_view mode) {
  return mode == "chat" || mode == "completion" || mode == "embedding" || mode == "responses";
}

// Parses "200k" / "128000" of "<field>_above_<N>_tokens"; false otherwise.
bool ParseThreshold(absl::string_view text, int64_t* tokens) {
  int64_t scale = 1;
  if (absl::ConsumeSuffix(&text, "k")) scale = 1000;
  if (text.empty() || text.size() > 12) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) return false;
  *tokens = value * scale;
  return true;
}

// Converts the entry's prices; returns an error text when it cannot.
std::optional<std::string> ConvertPrices(const LiteLlmEntry& entry, ModelPrice* price) {
  std::map<int64_t, TokenPrices> tiers;
  for (const auto& [name, text] : entry.numbers) {
    for (const KindField& kf : kBaseFields) {
      std::optional<int64_t> tier_above;  // unset: the base price
      if (name != kf.field) {
        constexpr size_t kAbove = 7;   // "_above_"
        constexpr size_t kTokens = 7;  // "_tokens"
        if (name.size() <= kf.field.size() + kAbove + kTokens ||
            !absl::StartsWith(name, absl::StrCat(kf.field, "_above_")) ||
            !absl::EndsWith(name, "_tokens")) {
          continue;
        }
        absl::string_view middle = name;
        middle.remove_prefix(kf.field.size() + kAbove);
        middle.remove_suffix(kTokens);
        int64_t above = 0;
        if (!ParseThreshold(middle, &above)) continue;
        tier_above = above;
      }
      absl::StatusOr<int64_t> value = UsdPerTokenTextToNanoPerMillion(text);
      if (!value.ok()) return absl::StrCat(name, ": ", value.status().message());
      if (tier_above.has_value()) {
        Slot(tiers[*tier_above], kf.kind) = *value;
      } else {
        Slot(price->base, kf.kind) = *value;
      }
    }
  }
  if (price->base.cache_read == 0) {
    auto alias = entry.numbers.find(std::string(kCacheHitAlias));
    if (alias != entry.numbers.end()) {
      absl::StatusOr<int64_t> value = UsdPerTokenTextToNanoPerMillion(alias->second);
      if (!value.ok()) return absl::StrCat(kCacheHitAlias, ": ", value.status().message());
      price->base.cache_read = *value;
    }
  }
  for (const auto& [above, prices] : tiers) price->tiers.push_back({above, prices});
  return std::nullopt;
}

}  // namespace

LiteLlmConversion ConvertLiteLlm(const std::vector<LiteLlmEntry>& entries) {
  LiteLlmConversion out;
  std::vector<const LiteLlmEntry*> sorted;
  sorted.reserve(entries.size());
  for (const LiteLlmEntry& e : entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(),
            [](const LiteLlmEntry* a, const LiteLlmEntry* b) { return a->key < b->key; });

  struct Candidate {
    const LiteLlmEntry* entry;
    CatalogPrice price;
  };
  std::map<std::pair<std::string, std::string>, std::vector<Candidate>> by_model;
  std::vector<LiteLlmIssue> issues;
  auto skip = [&issues](const LiteLlmEntry& e, std::string reason) {
    issues.push_back({e.key, std::move(reason)});
  };
  for (const LiteLlmEntry* e : sorted) {
    if (e->key == "sample_spec") {
      skip(*e, "the format's sample entry");
      continue;
    }
    if (!e->is_object) {
      skip(*e, "not a model entry (not an object)");
      continue;
    }
    if (!e->provider.has_value() || e->provider->empty()) {
      skip(*e, "no litellm_provider");
      continue;
    }
    ++out.model_entries;
    if (!e->mode.has_value()) {
      skip(*e, "no mode");
      continue;
    }
    if (!IsTokenMode(*e->mode)) {
      skip(*e, absl::StrCat("mode ", *e->mode, " is not priced per token"));
      continue;
    }
    if (e->numbers.count("input_cost_per_token") == 0 &&
        e->numbers.count("output_cost_per_token") == 0) {
      skip(*e, "no token prices");
      continue;
    }
    CatalogPrice price;
    price.provider = *e->provider;
    price.model = CanonicalModel(*e->provider, e->key);
    if (std::optional<std::string> error = ConvertPrices(*e, &price.price)) {
      skip(*e, *error);
      continue;
    }
    std::pair<std::string, std::string> key(price.provider, price.model);
    by_model[std::move(key)].push_back({e, std::move(price)});
  }
  for (auto& [key, candidates] : by_model) {
    size_t winner = 0;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (candidates[i].entry->key == key.second) {
        winner = i;
        break;
      }
    }
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (i == winner) continue;
      skip(*candidates[i].entry, absl::StrCat("same provider and model as '",
                                              candidates[winner].entry->key, "', which wins"));
    }
    out.prices.push_back(std::move(candidates[winner].price));
  }
  std::sort(issues.begin(), issues.end(),
            [](const LiteLlmIssue& a, const LiteLlmIssue& b) { return a.key < b.key; });
  out.issues = std::move(issues);
  return out;
}

}  // namespace agentwatch::cost
