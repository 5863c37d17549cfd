#include "incident/api/webhooks.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/utf8.h"
#include "incident/core/lifecycle.h"
#include "incident/core/validation.h"

namespace agentwatch::incident {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr char kJson[] = "application/json";
// Go's zero time, which Alertmanager sends for an unset endsAt.
constexpr int64_t kGoZeroUnixSeconds = -62135596800;
// PagerDuty's limits.
constexpr size_t kMaxSummaryBytes = 1024;
constexpr size_t kMaxDedupKeyBytes = 255;

absl::Status ParseObject(absl::string_view body, Struct* out) {
  if (body.empty()) return common::InvalidField("body", "required");
  const auto status = google::protobuf::util::JsonStringToMessage(std::string(body), out);
  if (!status.ok()) {
    return common::InvalidField("body",
                                absl::StrCat("not a JSON object: ", status.message().ToString()));
  }
  return absl::OkStatus();
}

// The field `key` of `object`, or null when absent or JSON null.
const Value* Find(const Struct& object, const std::string& key) {
  const auto it = object.fields().find(key);
  if (it == object.fields().end() || it->second.kind_case() == Value::kNullValue) return nullptr;
  return &it->second;
}

// An optional string field ("" when absent).
absl::StatusOr<std::string> OptionalString(const Struct& object, const std::string& key,
                                           absl::string_view field) {
  const Value* value = Find(object, key);
  if (value == nullptr) return std::string();
  if (value->kind_case() != Value::kStringValue) {
    return common::InvalidField(field, "must be a string");
  }
  return value->string_value();
}

absl::StatusOr<std::string> RequiredString(const Struct& object, const std::string& key,
                                           absl::string_view field) {
  ASSIGN_OR_RETURN(std::string value, OptionalString(object, key, field));
  if (value.empty()) return common::InvalidField(field, "required");
  return value;
}

// An RFC 3339 time; nullopt when absent, empty or Go's zero time.
absl::StatusOr<std::optional<absl::Time>> ParseOptionalTime(const std::string& text,
                                                            absl::string_view field) {
  if (text.empty()) return std::nullopt;
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return common::InvalidField(field, absl::StrCat("not an RFC 3339 time: ", error));
  }
  if (t == absl::FromUnixSeconds(kGoZeroUnixSeconds)) return std::nullopt;
  if (t < absl::UnixEpoch()) return common::InvalidField(field, "before 1970-01-01");
  return t;
}

absl::StatusOr<std::optional<absl::Time>> OptionalTime(const Struct& object, const std::string& key,
                                                       absl::string_view field) {
  ASSIGN_OR_RETURN(const std::string text, OptionalString(object, key, field));
  return ParseOptionalTime(text, field);
}

// The longest prefix of `text` of at most `max_bytes` that does not split a
// UTF-8 sequence.
std::string CutUtf8(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

std::optional<Severity> ParsePriority(absl::string_view text) {
  const std::string upper = absl::AsciiStrToUpper(text);
  if (upper == "P0") return Severity::kP0;
  if (upper == "P1") return Severity::kP1;
  if (upper == "P2") return Severity::kP2;
  if (upper == "P3") return Severity::kP3;
  return std::nullopt;
}

std::string ToJson(const Struct& object) {
  std::string out;
  google::protobuf::util::MessageToJsonString(object, &out);
  return out;
}

Value StringValue(absl::string_view text) {
  Value value;
  value.set_string_value(std::string(text));
  return value;
}

common::HttpResponse JsonResponse(int status, const Struct& body) {
  return common::HttpResponse{status, kJson, ToJson(body) + "\n", {}};
}

// The HTTP answer to an error of the intake or of authorization.
common::HttpResponse ErrorResponse(const absl::Status& status, absl::string_view path) {
  int code = 500;
  std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      code = 400;
      break;
    case absl::StatusCode::kResourceExhausted:
      code = 413;
      break;
    case absl::StatusCode::kUnauthenticated:
      code = 401;
      break;
    case absl::StatusCode::kPermissionDenied:
      code = 403;
      break;
    case absl::StatusCode::kUnavailable:
      code = 503;
      message = "database unavailable, retry later";
      break;
    default:
      common::LogError("webhook failed",
                       {{"path", std::string(path)}, {"error", status.ToString()}});
      message = "internal error";
      break;
  }
  Struct body;
  (*body.mutable_fields())["status"] = StringValue("error");
  (*body.mutable_fields())["error"] = StringValue(message);
  if (code == 400 || code == 413) {
    const std::vector<absl::string_view> parts = absl::StrSplit(message, absl::MaxSplits(": ", 1));
    if (parts.size() == 2) (*body.mutable_fields())["field"] = StringValue(parts[0]);
  }
  common::HttpResponse response = JsonResponse(code, body);
  if (code == 401) response.headers["WWW-Authenticate"] = "Bearer";
  if (code == 503) response.headers["Retry-After"] = "5";
  return response;
}

absl::Status Authorize(const common::Authorizer& authorizer, const common::HttpRequest& request) {
  if (!authorizer.enabled()) return absl::OkStatus();
  const auto it = request.headers.find("authorization");
  return authorizer.CheckHeader(it == request.headers.end() ? "" : it->second,
                                common::Role::kOperator);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && HexDigit(text[i + 1]) >= 0 &&
               HexDigit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(text[i + 1]) * 16 + HexDigit(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// --- The Alertmanager payload, read directly ---------------------------------
//
// A strict JSON reader over the body (RFC 8259: one value, no trailing bytes,
// strings valid UTF-8) that keeps only what intake needs: webhook bodies are
// parsed once per notification, and building a google.protobuf.Struct of
// every alert cost more than the intake itself.

// What a member of an alert held.
enum class Kind { kAbsent, kString, kObject, kOther };

// A member whose value is a string, an object of strings, or anything else.
struct RawField {
  Kind kind = Kind::kAbsent;
  std::string text;  // kString
  Labels map;        // kObject: its string members
  std::string bad_member;  // kObject: the first member that is not a string
};

struct RawAlert {
  bool is_object = false;
  RawField status, fingerprint, labels, annotations, starts_at, ends_at, generator_url;
};

class JsonReader {
 public:
  explicit JsonReader(absl::string_view text) : text_(text) {}

  // The error that stopped reading, "" while none.
  const std::string& error() const { return error_; }
  bool ok() const { return error_.empty(); }

  void SkipSpace() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\t' ||
                                  text_[at_] == '\r')) {
      ++at_;
    }
  }

  // The next non-space byte, 0 at the end.
  char Peek() {
    SkipSpace();
    return at_ < text_.size() ? text_[at_] : '\0';
  }

  bool AtEnd() {
    SkipSpace();
    return at_ == text_.size();
  }

  bool Consume(char c) {
    if (Peek() != c) return Fail(absl::StrCat("expected '", std::string(1, c), "' at byte ", at_));
    ++at_;
    return true;
  }

  bool Fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return false;
  }

  // Reads an object member by member: `member(name)` must read the value.
  template <typename Fn>
  bool ReadObject(Fn&& member) {
    if (!Consume('{')) return false;
    if (Peek() == '}') {
      ++at_;
      return true;
    }
    std::string name;
    while (true) {
      if (Peek() != '"') return Fail(absl::StrCat("expected a member name at byte ", at_));
      if (!ReadString(&name) || !Consume(':') || !member(name)) return false;
      const char c = Peek();
      ++at_;
      if (c == ',') continue;
      if (c == '}') return true;
      return Fail(absl::StrCat("expected ',' or '}' at byte ", at_ - 1));
    }
  }

  // Reads an array element by element: `element(index)` must read the value.
  template <typename Fn>
  bool ReadArray(Fn&& element) {
    if (!Consume('[')) return false;
    if (Peek() == ']') {
      ++at_;
      return true;
    }
    for (size_t i = 0;; ++i) {
      if (!element(i)) return false;
      const char c = Peek();
      ++at_;
      if (c == ',') continue;
      if (c == ']') return true;
      return Fail(absl::StrCat("expected ',' or ']' at byte ", at_ - 1));
    }
  }

  // A string at the cursor (which must be at '"'), escapes decoded.
  bool ReadString(std::string* out) {
    out->clear();
    if (Peek() != '"') return Fail(absl::StrCat("expected a string at byte ", at_));
    ++at_;
    while (at_ < text_.size()) {
      const unsigned char c = static_cast<unsigned char>(text_[at_]);
      if (c == '"') {
        ++at_;
        return true;
      }
      if (c < 0x20) return Fail(absl::StrCat("control character in a string at byte ", at_));
      if (c == '\\') {
        if (!ReadEscape(out)) return false;
        continue;
      }
      if (c < 0x80) {
        const size_t end = text_.find_first_of("\"\\", at_);
        size_t plain = at_;
        const size_t stop = end == absl::string_view::npos ? text_.size() : end;
        while (plain < stop && static_cast<unsigned char>(text_[plain]) >= 0x20 &&
               static_cast<unsigned char>(text_[plain]) < 0x80) {
          ++plain;
        }
        out->append(text_.data() + at_, plain - at_);
        at_ = plain;
        continue;
      }
      const size_t n = Utf8Length(at_);
      if (n == 0) return Fail(absl::StrCat("invalid UTF-8 in a string at byte ", at_));
      out->append(text_.data() + at_, n);
      at_ += n;
    }
    return Fail("unterminated string");
  }

  // Skips any value.
  bool SkipValue(int depth = 0) {
    if (depth > 64) return Fail("nested too deeply");
    const char c = Peek();
    if (c == '{') {
      return ReadObject([&](const std::string&) { return SkipValue(depth + 1); });
    }
    if (c == '[') return ReadArray([&](size_t) { return SkipValue(depth + 1); });
    if (c == '"') {
      std::string ignored;
      return ReadString(&ignored);
    }
    return ReadScalar();
  }

  // true, false, null or a number.
  bool ReadScalar() {
    for (absl::string_view word : {"true", "false", "null"}) {
      if (absl::StartsWith(text_.substr(at_), word)) {
        at_ += word.size();
        return true;
      }
    }
    const size_t start = at_;
    if (at_ < text_.size() && text_[at_] == '-') ++at_;
    auto digits = [this]() {
      const size_t from = at_;
      while (at_ < text_.size() && absl::ascii_isdigit(static_cast<unsigned char>(text_[at_]))) {
        ++at_;
      }
      return at_ - from;
    };
    if (at_ < text_.size() && text_[at_] == '0') {
      ++at_;
    } else if (digits() == 0) {
      at_ = start;
      return Fail(absl::StrCat("unexpected value at byte ", start));
    }
    if (at_ < text_.size() && text_[at_] == '.') {
      ++at_;
      if (digits() == 0) return Fail(absl::StrCat("bad number at byte ", start));
    }
    if (at_ < text_.size() && (text_[at_] == 'e' || text_[at_] == 'E')) {
      ++at_;
      if (at_ < text_.size() && (text_[at_] == '+' || text_[at_] == '-')) ++at_;
      if (digits() == 0) return Fail(absl::StrCat("bad number at byte ", start));
    }
    return true;
  }

  // A member value as a string (null: absent; anything else: kOther).
  bool ReadStringField(RawField* field) {
    const char c = Peek();
    if (c == '"') {
      field->kind = Kind::kString;
      return ReadString(&field->text);
    }
    field->kind = IsNull() ? Kind::kAbsent : Kind::kOther;
    return SkipValue();
  }

  // A member value as an object of strings (null: absent).
  bool ReadMapField(RawField* field) {
    const char c = Peek();
    field->map.clear();
    field->bad_member.clear();
    if (c != '{') {
      field->kind = IsNull() ? Kind::kAbsent : Kind::kOther;
      return SkipValue();
    }
    field->kind = Kind::kObject;
    std::string value;
    return ReadObject([&](const std::string& name) {
      if (Peek() == '"') {
        if (!ReadString(&value)) return false;
        field->map.insert_or_assign(name, value);
        return true;
      }
      if (field->bad_member.empty()) field->bad_member = name;
      return SkipValue(1);
    });
  }

 private:
  bool IsNull() { return absl::StartsWith(text_.substr(at_), "null"); }

  // The length of the valid UTF-8 sequence at `i`, 0 when invalid.
  size_t Utf8Length(size_t i) const {
    const auto byte = [this](size_t k) { return static_cast<unsigned char>(text_[k]); };
    const unsigned char c = byte(i);
    size_t n;
    uint32_t code;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
      code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      code = c & 0x07;
    } else {
      return 0;
    }
    if (i + n > text_.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) return 0;
      code = (code << 6) | (byte(i + k) & 0x3F);
    }
    if ((n == 3 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF))) ||
        (n == 4 && (code < 0x10000 || code > 0x10FFFF))) {
      return 0;
    }
    return n;
  }

  static int Hex(char h) {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
  }

  bool Hex4(size_t from, uint32_t* value) const {
    if (from + 4 > text_.size()) return false;
    *value = 0;
    for (size_t k = from; k < from + 4; ++k) {
      const int h = Hex(text_[k]);
      if (h < 0) return false;
      *value = (*value << 4) | static_cast<uint32_t>(h);
    }
    return true;
  }

  bool ReadEscape(std::string* out) {
    if (at_ + 1 >= text_.size()) return Fail("unterminated string");
    const char e = text_[at_ + 1];
    at_ += 2;
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out->push_back(e);
        return true;
      case 'b':
        out->push_back('\b');
        return true;
      case 'f':
        out->push_back('\f');
        return true;
      case 'n':
        out->push_back('\n');
        return true;
      case 'r':
        out->push_back('\r');
        return true;
      case 't':
        out->push_back('\t');
        return true;
      case 'u':
        break;
      default:
        return Fail(absl::StrCat("bad escape at byte ", at_ - 2));
    }
    uint32_t code;
    if (!Hex4(at_, &code)) return Fail(absl::StrCat("bad \\u escape at byte ", at_ - 2));
    at_ += 4;
    if (code >= 0xD800 && code <= 0xDBFF) {
      uint32_t low;
      if (at_ + 6 > text_.size() || text_[at_] != '\\' || text_[at_ + 1] != 'u' ||
          !Hex4(at_ + 2, &low) || low < 0xDC00 || low > 0xDFFF) {
        return Fail(absl::StrCat("unpaired surrogate at byte ", at_ - 6));
      }
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
      at_ += 6;
    } else if (code >= 0xDC00 && code <= 0xDFFF) {
      return Fail(absl::StrCat("unpaired surrogate at byte ", at_ - 6));
    }
    common::AppendUtf8(code, out);
    return true;
  }

  absl::string_view text_;
  size_t at_ = 0;
  std::string error_;
};

// Reads one element of `alerts` (any value; only objects are alerts).
bool ReadRawAlert(JsonReader& reader, RawAlert* alert) {
  if (reader.Peek() != '{') {
    alert->is_object = false;
    return reader.SkipValue(1);
  }
  alert->is_object = true;
  return reader.ReadObject([&](const std::string& name) {
    if (name == "status") return reader.ReadStringField(&alert->status);
    if (name == "fingerprint") return reader.ReadStringField(&alert->fingerprint);
    if (name == "labels") return reader.ReadMapField(&alert->labels);
    if (name == "annotations") return reader.ReadMapField(&alert->annotations);
    if (name == "startsAt") return reader.ReadStringField(&alert->starts_at);
    if (name == "endsAt") return reader.ReadStringField(&alert->ends_at);
    if (name == "generatorURL") return reader.ReadStringField(&alert->generator_url);
    return reader.SkipValue(2);
  });
}

absl::StatusOr<std::string> RawString(const RawField& raw, absl::string_view field) {
  if (raw.kind == Kind::kAbsent) return std::string();
  if (raw.kind != Kind::kString) return common::InvalidField(field, "must be a string");
  return raw.text;
}

absl::StatusOr<std::string> RawRequiredString(const RawField& raw, absl::string_view field) {
  ASSIGN_OR_RETURN(std::string value, RawString(raw, field));
  if (value.empty()) return common::InvalidField(field, "required");
  return value;
}

absl::StatusOr<Labels> RawMap(RawField& raw, absl::string_view field) {
  if (raw.kind == Kind::kAbsent) return Labels();
  if (raw.kind != Kind::kObject) return common::InvalidField(field, "must be an object of strings");
  if (!raw.bad_member.empty()) {
    return common::InvalidField(absl::StrCat(field, ".", raw.bad_member), "must be a string");
  }
  return std::move(raw.map);
}

// An RFC 3339 time; nullopt when absent, empty or Go's zero time.
absl::StatusOr<std::optional<absl::Time>> RawTime(const RawField& raw, absl::string_view field) {
  ASSIGN_OR_RETURN(const std::string text, RawString(raw, field));
  return ParseOptionalTime(text, field);
}

// One Alertmanager alert as a report; the checks in the order they always
// ran, so that the first problem is the one named.
absl::StatusOr<AlertReport> AlertmanagerAlert(RawAlert& alert, absl::string_view field,
                                              absl::string_view default_tenant) {
  if (!alert.is_object) return common::InvalidField(field, "must be an object");
  AlertReport report;
  report.source = "alertmanager";
  ASSIGN_OR_RETURN(const std::string status,
                   RawRequiredString(alert.status, absl::StrCat(field, ".status")));
  if (status == "firing") {
    report.status = AlertStatus::kFiring;
  } else if (status == "resolved") {
    report.status = AlertStatus::kResolved;
  } else {
    return common::InvalidField(absl::StrCat(field, ".status"),
                                absl::StrCat("must be firing or resolved, not \"", status, "\""));
  }
  ASSIGN_OR_RETURN(report.fingerprint,
                   RawRequiredString(alert.fingerprint, absl::StrCat(field, ".fingerprint")));
  ASSIGN_OR_RETURN(report.labels, RawMap(alert.labels, absl::StrCat(field, ".labels")));
  ASSIGN_OR_RETURN(report.annotations,
                   RawMap(alert.annotations, absl::StrCat(field, ".annotations")));
  const auto name = report.labels.find(std::string(kAlertNameLabel));
  if (name == report.labels.end() || name->second.empty()) {
    return common::InvalidField(absl::StrCat(field, ".labels.alertname"), "required");
  }
  report.name = name->second;
  const auto tenant = report.labels.find("tenant");
  report.tenant = tenant != report.labels.end() && !tenant->second.empty()
                      ? tenant->second
                      : std::string(default_tenant);
  report.severity = SeverityFromLabels(report.labels);
  ASSIGN_OR_RETURN(report.starts_at, RawTime(alert.starts_at, absl::StrCat(field, ".startsAt")));
  ASSIGN_OR_RETURN(const std::optional<absl::Time> ends_at,
                   RawTime(alert.ends_at, absl::StrCat(field, ".endsAt")));
  if (report.status == AlertStatus::kResolved) report.ends_at = ends_at;
  ASSIGN_OR_RETURN(report.generator_url,
                   RawString(alert.generator_url, absl::StrCat(field, ".generatorURL")));
  return report;
}

Severity PagerDutySeverity(absl::string_view severity) {
  if (severity == "critical") return Severity::kP1;
  if (severity == "error") return Severity::kP2;
  return Severity::kP3;  // warning, info
}

// Collects the first error of `status` into `errors`; true when OK.
template <typename T>
bool Collect(absl::StatusOr<T> value, T* out, std::vector<std::string>* errors) {
  if (!value.ok()) {
    errors->push_back(std::string(value.status().message()));
    return false;
  }
  *out = *std::move(value);
  return true;
}

// The trigger's payload into `event->alert`.
void PagerDutyTrigger(const Struct& event_json, PagerDutyEvent* event,
                      std::vector<std::string>* errors) {
  const Value* payload_value = Find(event_json, "payload");
  if (payload_value == nullptr) {
    errors->push_back("payload: required for a trigger");
    return;
  }
  if (payload_value->kind_case() != Value::kStructValue) {
    errors->push_back("payload: must be an object");
    return;
  }
  const Struct& payload = payload_value->struct_value();
  AlertReport& alert = event->alert;
  std::string summary;
  std::string source;
  std::string severity;
  if (Collect(RequiredString(payload, "summary", "payload.summary"), &summary, errors) &&
      summary.size() > kMaxSummaryBytes) {
    errors->push_back(absl::StrCat("payload.summary: longer than ", kMaxSummaryBytes, " bytes"));
  }
  Collect(RequiredString(payload, "source", "payload.source"), &source, errors);
  if (Collect(RequiredString(payload, "severity", "payload.severity"), &severity, errors) &&
      severity != "critical" && severity != "error" && severity != "warning" &&
      severity != "info") {
    errors->push_back(absl::StrCat(
        "payload.severity: must be critical, error, warning or info, not \"", severity, "\""));
  }
  std::string component;
  std::string group;
  std::string klass;
  Collect(OptionalString(payload, "component", "payload.component"), &component, errors);
  Collect(OptionalString(payload, "group", "payload.group"), &group, errors);
  Collect(OptionalString(payload, "class", "payload.class"), &klass, errors);
  Collect(OptionalTime(payload, "timestamp", "payload.timestamp"), &alert.starts_at, errors);
  Collect(OptionalString(event_json, "client_url", "client_url"), &alert.generator_url, errors);
  alert.status = AlertStatus::kFiring;
  alert.name = klass.empty() ? CutUtf8(summary, kMaxAlertNameBytes) : klass;
  alert.severity = PagerDutySeverity(severity);
  const std::pair<const char*, const std::string*> labels[] = {{"severity", &severity},
                                                               {"source", &source},
                                                               {"component", &component},
                                                               {"group", &group},
                                                               {"class", &klass}};
  for (const auto& [name, value] : labels) {
    if (!value->empty()) alert.labels[name] = *value;
  }
  if (!summary.empty()) alert.annotations["summary"] = summary;
  if (const Value* details = Find(payload, "custom_details"); details != nullptr) {
    std::string text;
    if (details->kind_case() == Value::kStringValue) {
      text = details->string_value();
    } else {
      google::protobuf::util::MessageToJsonString(*details, &text);
    }
    alert.annotations["custom_details"] = text;
  }
}

}  // namespace

Severity SeverityFromLabels(const Labels& labels) {
  if (const auto priority = labels.find("priority"); priority != labels.end()) {
    if (const std::optional<Severity> parsed = ParsePriority(priority->second)) return *parsed;
  }
  const auto severity = labels.find("severity");
  if (severity == labels.end()) return Severity::kUnspecified;
  if (const std::optional<Severity> parsed = ParsePriority(severity->second)) return *parsed;
  const std::string lower = absl::AsciiStrToLower(severity->second);
  if (lower == "critical") return Severity::kP1;
  if (lower == "error") return Severity::kP2;
  if (lower == "warning" || lower == "info") return Severity::kP3;
  return Severity::kUnspecified;
}

absl::StatusOr<std::vector<AlertReport>> AlertsFromAlertmanager(absl::string_view body,
                                                                absl::string_view default_tenant) {
  if (body.empty()) return common::InvalidField("body", "required");
  JsonReader reader(body);
  std::vector<RawAlert> raw;
  // The alerts member: absent (or null), an array, or another value.
  Kind alerts = Kind::kAbsent;
  bool read = reader.Peek() == '{' || reader.Fail("the body is not an object");
  read = read && reader.ReadObject([&](const std::string& name) {
    if (name != "alerts") return reader.SkipValue(1);
    raw.clear();
    if (reader.Peek() == '[') {
      alerts = Kind::kObject;
      return reader.ReadArray([&](size_t i) {
        raw.emplace_back();
        return ReadRawAlert(reader, &raw[i]);
      });
    }
    alerts = reader.Peek() == 'n' ? Kind::kAbsent : Kind::kOther;  // null: absent
    return reader.SkipValue(1);
  });
  if (read && !reader.AtEnd()) reader.Fail("bytes after the JSON value");
  if (!reader.ok()) {
    return common::InvalidField("body", absl::StrCat("not a JSON object: ", reader.error()));
  }
  if (alerts == Kind::kAbsent) return common::InvalidField("alerts", "required");
  if (alerts != Kind::kObject) return common::InvalidField("alerts", "must be an array");
  RETURN_IF_ERROR(ValidateBatchSize(raw.size()));
  std::vector<AlertReport> reports;
  reports.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    ASSIGN_OR_RETURN(AlertReport report,
                     AlertmanagerAlert(raw[i], absl::StrCat("alerts[", i, "]"), default_tenant));
    reports.push_back(std::move(report));
  }
  return reports;
}

PagerDutyEvent PagerDutyEventFromJson(absl::string_view body, std::vector<std::string>* errors) {
  errors->clear();
  PagerDutyEvent event;
  Struct json;
  if (const absl::Status parsed = ParseObject(body, &json); !parsed.ok()) {
    errors->push_back(std::string(parsed.message()));
    return event;
  }
  if (Collect(RequiredString(json, "routing_key", "routing_key"), &event.tenant, errors) &&
      event.tenant.size() > kMaxTenantBytes) {
    errors->push_back(absl::StrCat("routing_key: longer than ", kMaxTenantBytes, " bytes"));
  }
  std::string action;
  if (Collect(RequiredString(json, "event_action", "event_action"), &action, errors)) {
    if (action == "trigger") {
      event.action = PagerDutyEvent::Action::kTrigger;
    } else if (action == "acknowledge") {
      event.action = PagerDutyEvent::Action::kAcknowledge;
    } else if (action == "resolve") {
      event.action = PagerDutyEvent::Action::kResolve;
    } else {
      errors->push_back(absl::StrCat(
          "event_action: must be trigger, acknowledge or resolve, not \"", action, "\""));
    }
  }
  if (Collect(OptionalString(json, "dedup_key", "dedup_key"), &event.dedup_key, errors) &&
      event.dedup_key.size() > kMaxDedupKeyBytes) {
    errors->push_back(absl::StrCat("dedup_key: longer than ", kMaxDedupKeyBytes, " bytes"));
  }
  if (event.action != PagerDutyEvent::Action::kTrigger && event.dedup_key.empty()) {
    errors->push_back(absl::StrCat("dedup_key: required to ", action));
  }
  std::string source;
  if (const Value* payload = Find(json, "payload");
      payload != nullptr && payload->kind_case() == Value::kStructValue) {
    Collect(OptionalString(payload->struct_value(), "source", "payload.source"), &source, errors);
  }
  event.actor =
      source.empty() ? "pagerduty" : CutUtf8(absl::StrCat("pagerduty:", source), kMaxActorBytes);
  if (event.action == PagerDutyEvent::Action::kTrigger) PagerDutyTrigger(json, &event, errors);
  if (event.action == PagerDutyEvent::Action::kResolve) {
    event.alert.status = AlertStatus::kResolved;
    event.alert.name = "pagerduty";
  }
  event.alert.tenant = event.tenant;
  event.alert.fingerprint = event.dedup_key;
  event.alert.source = "pagerduty";
  return event;
}

std::string QueryParameter(absl::string_view query, absl::string_view name) {
  for (absl::string_view pair : absl::StrSplit(query, '&')) {
    const std::vector<absl::string_view> parts = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (PercentDecode(parts[0]) == name) {
      return parts.size() == 2 ? PercentDecode(parts[1]) : std::string();
    }
  }
  return "";
}

IncidentWebhooks::IncidentWebhooks(IncidentStore& store, const common::Authorizer& authorizer,
                                   const common::Clock& clock, IncidentMetrics& metrics,
                                   GroupingConfig grouping, IdGenerator& dedup_keys)
    : store_(store),
      authorizer_(authorizer),
      clock_(clock),
      metrics_(metrics),
      grouping_(std::move(grouping)),
      dedup_keys_(dedup_keys) {}

void IncidentWebhooks::Register(common::HttpServer& http) {
  http.Handle(kAlertmanagerPath,
              [this](const common::HttpRequest& request) { return Alertmanager(request); });
  http.Handle(kPagerDutyPath,
              [this](const common::HttpRequest& request) { return PagerDuty(request); });
}

absl::StatusOr<IntakeSummary> IncidentWebhooks::Intake(std::vector<AlertReport> reports,
                                                       const std::vector<std::string>& fields,
                                                       absl::Time now) {
  std::vector<IncomingAlert> alerts;
  alerts.reserve(reports.size());
  BatchGrouping groupings(grouping_resolver_, grouping_);
  for (size_t i = 0; i < reports.size(); ++i) {
    RETURN_IF_ERROR(ValidateAlertReport(reports[i], fields[i]));
    ASSIGN_OR_RETURN(const GroupingConfig* grouping, groupings.For(reports[i].tenant));
    alerts.push_back(PrepareAlert(std::move(reports[i]), *grouping, now));
  }
  ASSIGN_OR_RETURN(IntakeSummary summary, store_.ReportAlerts(alerts, now));
  metrics_.RecordIntake(summary);
  return summary;
}

common::HttpResponse IncidentWebhooks::Alertmanager(const common::HttpRequest& request) {
  if (request.method != "POST") {
    return common::HttpResponse{
        405, kJson, "{\"status\":\"error\",\"error\":\"use POST\"}\n", {{"Allow", "POST"}}};
  }
  if (absl::Status auth = Authorize(authorizer_, request); !auth.ok()) {
    return ErrorResponse(auth, kAlertmanagerPath);
  }
  std::string tenant = QueryParameter(request.query, "tenant");
  if (tenant.empty()) tenant = std::string(kDefaultTenant);
  absl::StatusOr<std::vector<AlertReport>> reports = AlertsFromAlertmanager(request.body, tenant);
  if (!reports.ok()) return ErrorResponse(reports.status(), kAlertmanagerPath);
  std::vector<std::string> fields;
  for (size_t i = 0; i < reports->size(); ++i) fields.push_back(absl::StrCat("alerts[", i, "]"));
  absl::StatusOr<IntakeSummary> summary = Intake(*std::move(reports), fields, clock_.Now());
  if (!summary.ok()) return ErrorResponse(summary.status(), kAlertmanagerPath);
  std::string body = absl::StrCat("{\"status\":\"success\",\"accepted\":", summary->accepted,
                                  ",\"duplicates\":", summary->duplicates, ",\"incident_ids\":[");
  for (size_t i = 0; i < summary->incident_ids.size(); ++i) {
    absl::StrAppend(&body, i == 0 ? "\"" : ",\"", common::JsonEscape(summary->incident_ids[i]),
                    "\"");
  }
  body.append("]}\n");
  return common::HttpResponse{200, kJson, std::move(body), {}};
}

absl::Status IncidentWebhooks::Acknowledge(const PagerDutyEvent& event, absl::Time now) {
  ASSIGN_OR_RETURN(const std::string id, store_.FindOpenIncident(event.tenant, event.dedup_key));
  if (id.empty()) return absl::OkStatus();
  const absl::StatusOr<std::string> applied = store_.MutateIncident(
      id, RequestKey{"", "AcknowledgeIncident"},
      [&](const Incident& incident) {
        return Transition(incident, IncidentStatus::kAcknowledged, event.actor, "", now);
      },
      [](const IncidentChange&) { return std::string(); });
  // Mitigated (past acknowledgement) or resolved meanwhile: nothing to do.
  if (applied.status().code() == absl::StatusCode::kFailedPrecondition) return absl::OkStatus();
  return applied.status();
}

common::HttpResponse IncidentWebhooks::PagerDuty(const common::HttpRequest& request) {
  if (request.method != "POST") {
    return common::HttpResponse{405,
                                kJson,
                                "{\"status\":\"invalid event\",\"message\":\"use POST\"}\n",
                                {{"Allow", "POST"}}};
  }
  if (absl::Status auth = Authorize(authorizer_, request); !auth.ok()) {
    return ErrorResponse(auth, kPagerDutyPath);
  }
  const absl::Time now = clock_.Now();
  std::vector<std::string> errors;
  PagerDutyEvent event = PagerDutyEventFromJson(request.body, &errors);
  if (errors.empty() && event.action == PagerDutyEvent::Action::kTrigger &&
      event.dedup_key.empty()) {
    event.dedup_key = dedup_keys_.NewId(now);
    event.alert.fingerprint = event.dedup_key;
  }
  absl::Status result;
  if (errors.empty()) {
    if (event.action == PagerDutyEvent::Action::kAcknowledge) {
      result = Acknowledge(event, now);
    } else {
      result = Intake({event.alert}, {"event"}, now).status();
    }
    if (result.code() == absl::StatusCode::kInvalidArgument) {
      errors.push_back(std::string(result.message()));
    }
  }
  if (!errors.empty()) {
    Struct body;
    auto& out = *body.mutable_fields();
    out["status"] = StringValue("invalid event");
    out["message"] = StringValue("Event object is invalid");
    ListValue* list = out["errors"].mutable_list_value();
    for (const std::string& error : errors) *list->add_values() = StringValue(error);
    return JsonResponse(400, body);
  }
  if (!result.ok()) return ErrorResponse(result, kPagerDutyPath);
  Struct body;
  auto& out = *body.mutable_fields();
  out["status"] = StringValue("success");
  out["message"] = StringValue("Event processed");
  out["dedup_key"] = StringValue(event.dedup_key);
  return JsonResponse(202, body);
}

}  // namespace agentwatch::incident
