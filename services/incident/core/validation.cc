#include "incident/core/validation.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agentwatch::incident {
namespace {

using common::InvalidField;

// Why `value` is not an optional string of at most `max_bytes` without NUL
// bytes; "" when it is. Errors name their field only once one is found, so a
// valid alert builds no field names.
std::string OptionalProblem(absl::string_view value, size_t max_bytes) {
  if (value.size() > max_bytes) return absl::StrCat("longer than ", max_bytes, " bytes");
  if (absl::StrContains(value, absl::string_view("\0", 1))) return "must not contain NUL bytes";
  return std::string();
}

// As OptionalProblem, and "required" for an empty `value`.
std::string RequiredProblem(absl::string_view value, size_t max_bytes) {
  if (value.empty()) return "required";
  return OptionalProblem(value, max_bytes);
}

// Checks a map of labels or annotations; errors name `field` + `member`
// (e.g. "alerts[2]" ".labels") and the entry.
absl::Status ValidateMap(const Labels& map, absl::string_view field, absl::string_view member,
                         size_t max_entries, size_t max_value_bytes) {
  if (map.size() > max_entries) {
    return InvalidField(absl::StrCat(field, member),
                        absl::StrCat("at most ", max_entries, " entries, got ", map.size()));
  }
  for (const auto& [name, value] : map) {
    if (!IsValidLabelName(name)) {
      return InvalidField(absl::StrCat(field, member, "[\"", absl::CHexEscape(name), "\"]"),
                          "name must match [a-zA-Z_][a-zA-Z0-9_]*");
    }
    if (name.size() > kMaxLabelNameBytes) {
      return InvalidField(absl::StrCat(field, member, "[\"", name, "\"]"),
                          absl::StrCat("name longer than ", kMaxLabelNameBytes, " bytes"));
    }
    if (std::string problem = OptionalProblem(value, max_value_bytes); !problem.empty()) {
      return InvalidField(absl::StrCat(field, member, "[\"", name, "\"]"), problem);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateBatchSize(size_t alerts) {
  if (alerts == 0) return InvalidField("alerts", "at least one alert required");
  if (alerts > kMaxAlertsPerBatch) {
    return absl::ResourceExhaustedError(
        absl::StrCat("alerts: at most ", kMaxAlertsPerBatch, " alerts per batch, got ", alerts));
  }
  return absl::OkStatus();
}

bool IsValidLabelName(absl::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

absl::Status ValidateOptional(absl::string_view value, absl::string_view field, size_t max_bytes) {
  if (std::string problem = OptionalProblem(value, max_bytes); !problem.empty()) {
    return InvalidField(field, problem);
  }
  return absl::OkStatus();
}

absl::Status ValidateRequired(absl::string_view value, absl::string_view field, size_t max_bytes) {
  if (std::string problem = RequiredProblem(value, max_bytes); !problem.empty()) {
    return InvalidField(field, problem);
  }
  return absl::OkStatus();
}

absl::Status ValidateAlertReport(const AlertReport& alert, absl::string_view field) {
  // Every field name is built only for the error it names: intake checks
  // every alert of every batch, and nearly all of them pass.
  struct StringField {
    absl::string_view member;
    absl::string_view value;
    size_t max_bytes;
  };
  const StringField leading[] = {
      {".fingerprint", alert.fingerprint, kMaxFingerprintBytes},
      {".name", alert.name, kMaxAlertNameBytes},
      {".tenant", alert.tenant, kMaxTenantBytes},
  };
  for (const StringField& f : leading) {
    if (std::string problem = RequiredProblem(f.value, f.max_bytes); !problem.empty()) {
      return InvalidField(absl::StrCat(field, f.member), problem);
    }
  }
  if (alert.status == AlertStatus::kUnspecified) {
    return InvalidField(absl::StrCat(field, ".status"), "required (FIRING or RESOLVED)");
  }
  if (!IsValid(alert.status)) {
    return InvalidField(absl::StrCat(field, ".status"),
                        absl::StrCat("unknown value ", static_cast<int>(alert.status)));
  }
  if (alert.severity != Severity::kUnspecified && !IsValid(alert.severity)) {
    return InvalidField(absl::StrCat(field, ".severity"),
                        absl::StrCat("unknown value ", static_cast<int>(alert.severity)));
  }
  RETURN_IF_ERROR(ValidateMap(alert.labels, field, ".labels", kMaxLabels, kMaxLabelValueBytes));
  RETURN_IF_ERROR(ValidateMap(alert.annotations, field, ".annotations", kMaxAnnotations,
                              kMaxAnnotationValueBytes));
  const StringField trailing[] = {
      {".source", alert.source, kMaxSourceBytes},
      {".generator_url", alert.generator_url, kMaxUrlBytes},
  };
  for (const StringField& f : trailing) {
    if (std::string problem = OptionalProblem(f.value, f.max_bytes); !problem.empty()) {
      return InvalidField(absl::StrCat(field, f.member), problem);
    }
  }
  if (alert.status == AlertStatus::kResolved && alert.starts_at.has_value() &&
      alert.ends_at.has_value() && *alert.ends_at < *alert.starts_at) {
    return InvalidField(absl::StrCat(field, ".ends_at"), "before starts_at");
  }
  return absl::OkStatus();
}

}  // namespace agentwatch::incident
