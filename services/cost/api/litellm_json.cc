#include "cost/api/litellm_json.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "cost/core/money.h"

namespace agentwatch::cost {

absl::StatusOr<std::vector<LiteLlmEntry>> ParseLiteLlmJson(absl::string_view json,
                                                           absl::string_view field) {
  if (json.size() > kMaxLiteLlmDocumentBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(field, ": the document exceeds ", kMaxLiteLlmDocumentBytes >> 20, " MiB"));
  }
  google::protobuf::Struct document;
  const auto status = google::protobuf::util::JsonStringToMessage(std::string(json), &document);
  if (!status.ok()) {
    return common::InvalidField(field,
                                absl::StrCat("not a JSON object: ", std::string(status.message())));
  }
  std::vector<LiteLlmEntry> entries;
  entries.reserve(document.fields_size());
  for (const auto& [key, value] : document.fields()) {
    LiteLlmEntry entry;
    entry.key = key;
    if (value.kind_case() == google::protobuf::Value::kStructValue) {
      entry.is_object = true;
      for (const auto& [name, v] : value.struct_value().fields()) {
        if (v.kind_case() == google::protobuf::Value::kStringValue) {
          if (name == "litellm_provider") entry.provider = v.string_value();
          if (name == "mode") entry.mode = v.string_value();
        } else if (v.kind_case() == google::protobuf::Value::kNumberValue &&
                   std::isfinite(v.number_value())) {
          entry.numbers[name] = ShortestDecimal(v.number_value());
        }
      }
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<LiteLlmConversion> ConvertLiteLlmJson(absl::string_view json,
                                                     absl::string_view field) {
  ASSIGN_OR_RETURN(std::vector<LiteLlmEntry> entries, ParseLiteLlmJson(json, field));
  LiteLlmConversion conversion = ConvertLiteLlm(entries);
  if (conversion.model_entries == 0) {
    return common::InvalidField(field,
                                "not LiteLLM's model_prices_and_context_window.json format (no "
                                "entry has a litellm_provider)");
  }
  return conversion;
}

}  // namespace agentwatch::cost
