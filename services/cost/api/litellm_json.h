// Parses LiteLLM's model_prices_and_context_window.json into LiteLlmEntry
// values with protobuf's JSON parser (google.protobuf.Struct; no other JSON
// library). Struct keeps numbers as doubles; each is turned back into the
// shortest decimal text that reproduces it (ShortestDecimal), which is the
// text LiteLLM's serializer wrote, so prices convert exactly.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cost/core/litellm.h"

namespace agentwatch::cost {

// The largest document ImportPrices accepts.
inline constexpr size_t kMaxLiteLlmDocumentBytes = 64u << 20;

// The top-level entries of the document. INVALID_ARGUMENT naming `field`
// when it is not a JSON object; RESOURCE_EXHAUSTED above
// kMaxLiteLlmDocumentBytes.
absl::StatusOr<std::vector<LiteLlmEntry>> ParseLiteLlmJson(absl::string_view json,
                                                           absl::string_view field);

// Parses and converts a document (ConvertLiteLlm). INVALID_ARGUMENT naming
// `field` also when no entry looks like a LiteLLM model (none has
// litellm_provider).
absl::StatusOr<LiteLlmConversion> ConvertLiteLlmJson(absl::string_view json,
                                                     absl::string_view field);

}  // namespace agentwatch::cost
