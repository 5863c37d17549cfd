#include "capacity/core/resource.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

bool IsNameChar(char c, bool first) {
  const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  if (first) return alnum;
  return alnum || c == '.' || c == '_' || c == '/' || c == '-';
}

absl::Status CheckAllocation(double value, bool whole, const std::string& field) {
  if (!std::isfinite(value) || value < 0) {
    return common::InvalidField(field, "must be a finite number >= 0");
  }
  if (whole && value != std::floor(value)) {
    return common::InvalidField(field, "must be a whole number for this kind");
  }
  return absl::OkStatus();
}

}  // namespace

bool IsValidMetricName(absl::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

absl::Status ValidateResource(const Resource& r, absl::string_view prefix) {
  const auto field = [prefix](absl::string_view name) { return absl::StrCat(prefix, name); };
  if (r.tenant.empty()) return common::InvalidField(field("tenant"), "must not be empty");
  if (r.tenant.size() > kMaxTenantBytes) {
    return common::InvalidField(field("tenant"),
                                absl::StrCat("must be at most ", kMaxTenantBytes, " bytes"));
  }
  if (r.name.empty()) return common::InvalidField(field("name"), "must not be empty");
  if (r.name.size() > kMaxResourceNameBytes) {
    return common::InvalidField(field("name"),
                                absl::StrCat("must be at most ", kMaxResourceNameBytes, " bytes"));
  }
  for (size_t i = 0; i < r.name.size(); ++i) {
    if (!IsNameChar(r.name[i], i == 0)) {
      return common::InvalidField(field("name"), "must match [A-Za-z0-9][A-Za-z0-9._/-]*");
    }
  }
  switch (r.kind) {
    case ResourceKind::kReplicas:
    case ResourceKind::kTokenQuotaTpm:
    case ResourceKind::kRequestQuotaRpm:
    case ResourceKind::kDbConnections:
    case ResourceKind::kQueue:
      break;
    default:
      return common::InvalidField(field("kind"), "must be set");
  }
  if (r.metric.empty()) return common::InvalidField(field("metric"), "must not be empty");
  if (!IsValidMetricName(r.metric)) {
    return common::InvalidField(field("metric"), "must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  if (r.matchers.size() > kMaxResourceMatchers) {
    return common::InvalidField(field("matchers"),
                                absl::StrCat("at most ", kMaxResourceMatchers, " are allowed"));
  }
  for (size_t i = 0; i < r.matchers.size(); ++i) {
    if (r.matchers[i].name.empty()) {
      return common::InvalidField(field(absl::StrCat("matchers[", i, "].name")),
                                  "must not be empty");
    }
  }
  if (!std::isfinite(r.per_unit_capacity) || r.per_unit_capacity <= 0) {
    return common::InvalidField(field("per_unit_capacity"), "must be a finite number > 0");
  }
  if (!std::isfinite(r.target_utilization) || r.target_utilization <= 0 ||
      r.target_utilization > 1) {
    return common::InvalidField(field("target_utilization"), "must be in (0, 1]");
  }
  const bool whole = WholeUnits(r.kind);
  RETURN_IF_ERROR(CheckAllocation(r.current, whole, field("current")));
  RETURN_IF_ERROR(CheckAllocation(r.min, whole, field("min")));
  RETURN_IF_ERROR(CheckAllocation(r.max, whole, field("max")));
  if (r.max != 0 && r.max < r.min) {
    return common::InvalidField(field("max"), "must be 0 (no maximum) or at least min");
  }
  if (r.labels.size() > kMaxResourceLabels) {
    return common::InvalidField(field("labels"),
                                absl::StrCat("at most ", kMaxResourceLabels, " are allowed"));
  }
  for (const auto& [key, value] : r.labels) {
    if (key.empty() || key.size() > kMaxLabelKeyBytes) {
      return common::InvalidField(field("labels"),
                                  absl::StrCat("keys must be 1 to ", kMaxLabelKeyBytes, " bytes"));
    }
    if (value.size() > kMaxLabelValueBytes) {
      return common::InvalidField(field(absl::StrCat("labels[", key, "]")),
                                  absl::StrCat("must be at most ", kMaxLabelValueBytes, " bytes"));
    }
  }
  if (r.alert_horizon < absl::ZeroDuration() || r.alert_horizon > kMaxAlertHorizon) {
    return common::InvalidField(field("alert_horizon"), "must be between 0 and 35 days");
  }
  if (r.alert_severity < Severity::kP0 || r.alert_severity > Severity::kP3) {
    return common::InvalidField(field("alert_severity"), "must be P0, P1, P2 or P3");
  }
  if (r.stateful) {
    if (r.kind != ResourceKind::kReplicas) {
      return common::InvalidField(field("stateful"), "is only allowed for RESOURCE_KIND_REPLICAS");
    }
    if (r.request_unit != "cpu_millicores" && r.request_unit != "memory_bytes") {
      return common::InvalidField(field("request_unit"),
                                  "must be \"cpu_millicores\" or \"memory_bytes\" when stateful");
    }
  } else if (!r.request_unit.empty()) {
    return common::InvalidField(field("request_unit"), "is only allowed when stateful");
  }
  if (!std::isfinite(r.headroom) || r.headroom < 0 || r.headroom > kMaxHeadroom) {
    return common::InvalidField(field("headroom"), "must be in [0, 10]");
  }
  return absl::OkStatus();
}

const char* AllocationUnit(const Resource& resource) {
  switch (resource.kind) {
    case ResourceKind::kTokenQuotaTpm:
      return "tokens_per_minute";
    case ResourceKind::kRequestQuotaRpm:
      return "requests_per_minute";
    case ResourceKind::kDbConnections:
      return "connections";
    case ResourceKind::kQueue:
      return "consumers";
    default:
      return "replicas";
  }
}

bool WholeUnits(ResourceKind kind) {
  return kind == ResourceKind::kReplicas || kind == ResourceKind::kDbConnections ||
         kind == ResourceKind::kQueue;
}

double Capacity(const Resource& resource) { return resource.current * resource.per_unit_capacity; }

double DemandScale(const Resource& resource, absl::Duration step) {
  if (!absl::EndsWith(resource.metric, "_total")) return 1.0;
  const bool per_minute = resource.kind == ResourceKind::kTokenQuotaTpm ||
                          resource.kind == ResourceKind::kRequestQuotaRpm;
  const double step_units = per_minute ? absl::ToDoubleMinutes(step) : absl::ToDoubleSeconds(step);
  return step_units > 0 ? 1.0 / step_units : 1.0;
}

}  // namespace agentwatch::capacity
