#include "monitor/store/pg_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"

namespace agentwatch::monitor {

std::string PgInt64Array(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) absl::StrAppend(&out, i > 0 ? "," : "", values[i]);
  out += '}';
  return out;
}

std::string PgFloat8Array(const std::vector<double>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    absl::StrAppend(&out, i > 0 ? "," : "", absl::StrFormat("%.17g", values[i]));
  }
  out += '}';
  return out;
}

std::string JsonObject(const Labels& labels) {
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    absl::StrAppend(&out, first ? "" : ",", "\"", common::JsonEscape(name), "\":\"",
                    common::JsonEscape(value), "\"");
    first = false;
  }
  out += '}';
  return out;
}

std::vector<std::string> ParseTextArray(const pqxx::field& field) {
  std::vector<std::string> out;
  if (field.is_null()) return out;
  pqxx::array_parser parser = field.as_array();
  while (true) {
    auto [juncture, value] = parser.get_next();
    if (juncture == pqxx::array_parser::done) break;
    if (juncture == pqxx::array_parser::string_value) out.push_back(std::move(value));
    if (juncture == pqxx::array_parser::null_value) out.emplace_back();
  }
  return out;
}

Labels ParseLabelArrays(const pqxx::field& keys, const pqxx::field& values) {
  const std::vector<std::string> k = ParseTextArray(keys);
  const std::vector<std::string> v = ParseTextArray(values);
  Labels labels;
  for (size_t i = 0; i < k.size() && i < v.size(); ++i) labels[k[i]] = v[i];
  return labels;
}

std::optional<absl::Time> ParseMicros(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return absl::FromUnixMicros(field.as<int64_t>());
}

}  // namespace agentwatch::monitor
