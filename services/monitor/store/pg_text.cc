#include "monitor/store/pg_text.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"

namespace agentwatch::monitor {

namespace {

// An array literal of numbers, each as std::to_chars writes it (the shortest
// text that reads back as the same value).
template <typename Number>
std::string NumberArrayLiteral(const std::vector<Number>& values) {
  std::string out;
  out.reserve(2 + 12 * values.size());
  out.push_back('{');
  char buffer[64];
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    const std::to_chars_result done = std::to_chars(buffer, buffer + sizeof(buffer), values[i]);
    out.append(buffer, done.ptr);
  }
  out.push_back('}');
  return out;
}

}  // namespace

std::string PgInt64Array(const std::vector<int64_t>& values) { return NumberArrayLiteral(values); }

std::string PgFloat8Array(const std::vector<double>& values) { return NumberArrayLiteral(values); }

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
