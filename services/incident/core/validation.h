// Validation of what clients send, with the limits of the API. Every error is
// INVALID_ARGUMENT naming the field ("alerts[2].fingerprint: required"),
// except batch size, which is RESOURCE_EXHAUSTED.
#pragma once

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

// Limits of ReportAlerts.
inline constexpr size_t kMaxAlertsPerBatch = 10000;
inline constexpr size_t kMaxFingerprintBytes = 256;
inline constexpr size_t kMaxAlertNameBytes = 512;
inline constexpr size_t kMaxTenantBytes = 128;
inline constexpr size_t kMaxLabels = 64;
inline constexpr size_t kMaxLabelNameBytes = 256;
inline constexpr size_t kMaxLabelValueBytes = 4096;
inline constexpr size_t kMaxAnnotations = 64;
inline constexpr size_t kMaxAnnotationValueBytes = size_t{64} * 1024;
inline constexpr size_t kMaxSourceBytes = 256;
inline constexpr size_t kMaxUrlBytes = 4096;

// Limits of the lifecycle calls.
inline constexpr size_t kMaxActorBytes = 256;
inline constexpr size_t kMaxNoteBytes = size_t{64} * 1024;
inline constexpr size_t kMaxRequestIdBytes = 128;
inline constexpr size_t kMaxIdBytes = 128;

// INVALID_ARGUMENT "alerts: at least one alert required" for an empty batch,
// RESOURCE_EXHAUSTED above kMaxAlertsPerBatch.
absl::Status ValidateBatchSize(size_t alerts);

// Checks one alert; `field` prefixes the field names in errors, e.g.
// "alerts[2]". Required: fingerprint, name, tenant, status FIRING or
// RESOLVED. Severity may be UNSPECIFIED (P2) but not an unknown number. Label
// and annotation names follow Prometheus ([a-zA-Z_][a-zA-Z0-9_]*). No string
// may hold a NUL byte (Postgres text cannot). A resolved alert's ends_at may
// not precede its starts_at.
absl::Status ValidateAlertReport(const AlertReport& alert, absl::string_view field);

// True for a Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool IsValidLabelName(absl::string_view name);

// A required string of at most `max_bytes` without NUL bytes.
absl::Status ValidateRequired(absl::string_view value, absl::string_view field, size_t max_bytes);

// An optional string (empty allowed) of at most `max_bytes` without NUL bytes.
absl::Status ValidateOptional(absl::string_view value, absl::string_view field, size_t max_bytes);

}  // namespace agentwatch::incident
