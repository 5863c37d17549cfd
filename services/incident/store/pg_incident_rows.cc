#include "incident/store/pg_incident_rows.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "common/utf8.h"

namespace agentwatch::incident::pg_rows {
namespace {

// 2000-01-01 00:00:00 UTC, the origin of Postgres' timestamps.
const absl::Time kPgEpoch = absl::FromUnixSeconds(946'684'800);

// Reads a JSON string starting at text[*at] == '"' into `out` (escapes
// decoded, \u escapes as UTF-8) and moves *at past it; false when malformed.
bool ReadJsonString(absl::string_view text, size_t* at, std::string* out) {
  size_t i = *at + 1;
  out->clear();
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"') {
      *at = i + 1;
      return true;
    }
    if (c != '\\') {
      const size_t end = text.find_first_of("\"\\", i);
      if (end == absl::string_view::npos) return false;
      out->append(text.data() + i, end - i);
      i = end;
      continue;
    }
    if (i + 1 >= text.size()) return false;
    const char e = text[i + 1];
    i += 2;
    switch (e) {
      case '"':
        out->push_back('"');
        break;
      case '\\':
        out->push_back('\\');
        break;
      case '/':
        out->push_back('/');
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'u': {
        auto hex4 = [&text](size_t from, uint32_t* value) {
          if (from + 4 > text.size()) return false;
          *value = 0;
          for (size_t k = from; k < from + 4; ++k) {
            const char h = text[k];
            *value <<= 4;
            if (h >= '0' && h <= '9') {
              *value |= static_cast<uint32_t>(h - '0');
            } else if (h >= 'a' && h <= 'f') {
              *value |= static_cast<uint32_t>(h - 'a' + 10);
            } else if (h >= 'A' && h <= 'F') {
              *value |= static_cast<uint32_t>(h - 'A' + 10);
            } else {
              return false;
            }
          }
          return true;
        };
        uint32_t code;
        if (!hex4(i, &code)) return false;
        i += 4;
        if (code >= 0xD800 && code <= 0xDBFF && i + 6 <= text.size() && text[i] == '\\' &&
            text[i + 1] == 'u') {
          uint32_t low;
          if (hex4(i + 2, &low) && low >= 0xDC00 && low <= 0xDFFF) {
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
        }
        common::AppendUtf8(code, out);
        break;
      }
      default:
        return false;
    }
  }
  return false;
}

}  // namespace

// Parsed by hand: intake reads thousands of these per batch.
absl::StatusOr<Labels> ParseJsonMap(const pqxx::field& field) {
  const absl::string_view text(field.c_str(), field.size());
  auto bad = [&field](absl::string_view why) {
    return absl::InternalError(absl::StrCat("column ", field.name(), " holds bad JSON: ", why));
  };
  auto skip_space = [&text](size_t* at) {
    while (*at < text.size() &&
           (text[*at] == ' ' || text[*at] == '\n' || text[*at] == '\t' || text[*at] == '\r')) {
      ++*at;
    }
  };
  Labels out;
  size_t at = 0;
  skip_space(&at);
  if (at >= text.size() || text[at] != '{') return bad("not an object");
  ++at;
  skip_space(&at);
  if (at < text.size() && text[at] == '}') return out;
  std::string name;
  std::string value;
  while (true) {
    skip_space(&at);
    if (at >= text.size() || text[at] != '"' || !ReadJsonString(text, &at, &name)) {
      return bad("expected a member name");
    }
    skip_space(&at);
    if (at >= text.size() || text[at] != ':') return bad("expected ':'");
    ++at;
    skip_space(&at);
    if (at >= text.size() || text[at] != '"') {
      return absl::InternalError(
          absl::StrCat("column ", field.name(), " holds a non-string value for ", name));
    }
    if (!ReadJsonString(text, &at, &value)) return bad("unterminated string");
    out.insert_or_assign(name, value);
    skip_space(&at);
    if (at < text.size() && text[at] == ',') {
      ++at;
      continue;
    }
    if (at < text.size() && text[at] == '}') return out;
    return bad("expected ',' or '}'");
  }
}

absl::Time TimeOf(const pqxx::field& field) { return absl::FromUnixMicros(field.as<int64_t>()); }

std::optional<absl::Time> OptionalTimeOf(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return TimeOf(field);
}

absl::Time HexTimeOf(const pqxx::field& field) {
  const char* text = field.c_str();
  if (field.size() != 16) {
    throw pqxx::conversion_error(
        absl::StrCat("column ", field.name(), ": '", text, "' is not a timestamptz in hex"));
  }
  uint64_t v = 0;
  for (int i = 0; i < 16; ++i) {
    const char c = text[i];
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      throw pqxx::conversion_error(
          absl::StrCat("column ", field.name(), ": '", text, "' is not a timestamptz in hex"));
    }
    v = (v << 4) | static_cast<uint64_t>(digit);
  }
  const int64_t micros = static_cast<int64_t>(v);  // since 2000-01-01
  if (micros == std::numeric_limits<int64_t>::min()) return absl::InfinitePast();
  if (micros == std::numeric_limits<int64_t>::max()) return absl::InfiniteFuture();
  return kPgEpoch + absl::Microseconds(micros);
}

std::optional<absl::Time> OptionalHexTimeOf(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return HexTimeOf(field);
}

absl::StatusOr<Incident> ParseIncident(const pqxx::row& row) {
  Incident i;
  i.tenant = row[0].as<std::string>();
  i.id = row[1].as<std::string>();
  i.group_key = row[2].as<std::string>();
  i.title = row[3].as<std::string>();
  i.status = static_cast<IncidentStatus>(row[4].as<int>());
  i.severity = static_cast<Severity>(row[5].as<int>());
  i.severity_pinned = row[6].as<bool>();
  ASSIGN_OR_RETURN(i.labels, ParseJsonMap(row[7]));
  i.alert_count = row[8].as<int64_t>();
  i.firing_alert_count = row[9].as<int64_t>();
  i.owner = row[10].as<std::string>();
  i.start_time = HexTimeOf(row[11]);
  i.create_time = HexTimeOf(row[12]);
  i.update_time = HexTimeOf(row[13]);
  i.acknowledge_time = OptionalHexTimeOf(row[14]);
  i.mitigate_time = OptionalHexTimeOf(row[15]);
  i.resolve_time = OptionalHexTimeOf(row[16]);
  i.close_time = OptionalHexTimeOf(row[17]);
  i.escalation_tier = row[18].as<int32_t>();
  i.auto_resolved = row[19].as<bool>();
  i.postmortem_id = row[20].as<std::string>();
  return i;
}

}  // namespace agentwatch::incident::pg_rows
