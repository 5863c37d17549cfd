// The default price catalog shipped inside the agentwatch-cost binary: a copy
// of LiteLLM's model_prices_and_context_window.json (MIT licensed, see
// LICENSE.litellm beside it), embedded at build time so the binary needs no
// data file at run time. Replace the JSON file and rebuild to ship newer
// prices; --default_catalog overrides it at run time.
#pragma once

#include "absl/strings/string_view.h"

namespace agentwatch::cost {

// The embedded JSON document.
absl::string_view DefaultCatalogJson();

}  // namespace agentwatch::cost
