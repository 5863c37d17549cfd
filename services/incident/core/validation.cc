#include "incident/core/validation.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agentwatch::incident {
namespace {

using common::InvalidField;

absl::Status ValidateMap(const Labels& map, absl::string_view field, size_t max_entries,
                         size_t max_value_bytes) {
  if (map.size() > max_entries) {
    return InvalidField(field, absl::StrCat("at most ", max_entries, " entries, got ", map.size()));
  }
  for (const auto& [name, value] : map) {
    if (!IsValidLabelName(name)) {
      return InvalidField(absl::StrCat(field, "[\"", absl::CHexEscape(name), "\"]"),
                          "name must match [a-zA-Z_][a-zA-Z0-9_]*");
    }
    if (name.size() > kMaxLabelNameBytes) {
      return InvalidField(absl::StrCat(field, "[\"", name, "\"]"),
                          absl::StrCat("name longer than ", kMaxLabelNameBytes, " bytes"));
    }
    RETURN_IF_ERROR(
        ValidateOptional(value, absl::StrCat(field, "[\"", name, "\"]"), max_value_bytes));
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
  if (value.size() > max_bytes) {
    return InvalidField(field, absl::StrCat("longer than ", max_bytes, " bytes"));
  }
  if (absl::StrContains(value, absl::string_view("\0", 1))) {
    return InvalidField(field, "must not contain NUL bytes");
  }
  return absl::OkStatus();
}

absl::Status ValidateRequired(absl::string_view value, absl::string_view field, size_t max_bytes) {
  if (value.empty()) return InvalidField(field, "required");
  return ValidateOptional(value, field, max_bytes);
}

absl::Status ValidateAlertReport(const AlertReport& alert, absl::string_view field) {
  RETURN_IF_ERROR(ValidateRequired(alert.fingerprint, absl::StrCat(field, ".fingerprint"),
                                   kMaxFingerprintBytes));
  RETURN_IF_ERROR(ValidateRequired(alert.name, absl::StrCat(field, ".name"), kMaxAlertNameBytes));
  RETURN_IF_ERROR(ValidateRequired(alert.tenant, absl::StrCat(field, ".tenant"), kMaxTenantBytes));
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
  RETURN_IF_ERROR(
      ValidateMap(alert.labels, absl::StrCat(field, ".labels"), kMaxLabels, kMaxLabelValueBytes));
  RETURN_IF_ERROR(ValidateMap(alert.annotations, absl::StrCat(field, ".annotations"),
                              kMaxAnnotations, kMaxAnnotationValueBytes));
  RETURN_IF_ERROR(ValidateOptional(alert.source, absl::StrCat(field, ".source"), kMaxSourceBytes));
  RETURN_IF_ERROR(
      ValidateOptional(alert.generator_url, absl::StrCat(field, ".generator_url"), kMaxUrlBytes));
  if (alert.status == AlertStatus::kResolved && alert.starts_at.has_value() &&
      alert.ends_at.has_value() && *alert.ends_at < *alert.starts_at) {
    return InvalidField(absl::StrCat(field, ".ends_at"), "before starts_at");
  }
  return absl::OkStatus();
}

}  // namespace agentwatch::incident
