// The capacity model: resources whose capacity agentwatch plans (a
// component's replicas, a provider's TPM / RPM quota, a database connection
// pool, a queue's consumers), their validation, and how a resource's demand
// series is expressed in its capacity's unit. Pure: no I/O, no clock.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "capacity/core/selector.h"

namespace agentwatch::capacity {

// What a resource is. Values match agentwatch.capacity.v1.ResourceKind.
enum class ResourceKind {
  kUnspecified = 0,
  // A component's replicas; per_unit_capacity is per replica.
  kReplicas = 1,
  // A provider's tokens-per-minute quota.
  kTokenQuotaTpm = 2,
  // A provider's requests-per-minute quota.
  kRequestQuotaRpm = 3,
  // A pool of database connections.
  kDbConnections = 4,
  // A queue; a unit is one consumer.
  kQueue = 5,
};

// Alert severities. Values match agentwatch.common.v1.Severity.
enum class Severity {
  kP0 = 1,
  kP1 = 2,
  kP2 = 3,
  kP3 = 4,
};

// Limits and defaults of resources.
inline constexpr int64_t kMaxResourcesPerTenant = 10'000;
inline constexpr size_t kMaxResourceNameBytes = 128;
inline constexpr size_t kMaxTenantBytes = 128;
inline constexpr size_t kMaxResourceLabels = 64;
inline constexpr size_t kMaxLabelKeyBytes = 128;
inline constexpr size_t kMaxLabelValueBytes = 256;
inline constexpr size_t kMaxResourceMatchers = 32;
inline constexpr absl::Duration kDefaultAlertHorizon = absl::Hours(24);
inline constexpr absl::Duration kMaxAlertHorizon = absl::Hours(24 * 35);
inline constexpr double kDefaultHeadroom = 0.15;
inline constexpr double kMaxHeadroom = 10.0;

// A resource. The demand is the series `metric` + `matchers` select (summed);
// the capacity is current x per_unit_capacity.
struct Resource {
  std::string tenant;
  // Assigned by the store (a UUID).
  std::string id;
  // Unique per tenant.
  std::string name;
  ResourceKind kind = ResourceKind::kUnspecified;
  std::string metric;
  std::vector<LabelMatcher> matchers;
  // Demand one unit serves at 100 % utilization, > 0.
  double per_unit_capacity = 0;
  // In (0, 1].
  double target_utilization = 0;
  // Allocation in units; min <= max unless max is 0 (no maximum).
  double current = 0;
  double min = 0;
  double max = 0;
  std::map<std::string, std::string> labels;
  // Alert when the forecast crosses capacity within this horizon; 0 disables.
  absl::Duration alert_horizon = kDefaultAlertHorizon;
  Severity alert_severity = Severity::kP2;
  // A stateful component (kind kReplicas only) does not scale out: its
  // recommendations are vertical requests, p95 of the per-replica demand plus
  // `headroom`, in `request_unit` ("cpu_millicores" or "memory_bytes"), which
  // is then also the unit of the metric and of per_unit_capacity (the current
  // request of one replica).
  bool stateful = false;
  std::string request_unit;
  // Fraction added to p95 usage for vertical requests, in [0, 10].
  double headroom = kDefaultHeadroom;
  // Set by the store.
  absl::Time create_time;
  absl::Time update_time;
};

// True for a Prometheus metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool IsValidMetricName(absl::string_view name);

// Validates every writable field of `resource`. INVALID_ARGUMENT naming the
// field with `prefix` (e.g. "resource.target_utilization: must be in (0, 1]"):
// tenant and name required (name [A-Za-z0-9][A-Za-z0-9._/-]*, at most 128
// bytes); kind set; metric a valid name; matchers (at most 32) with names;
// per_unit_capacity > 0 and target_utilization in (0, 1], both finite;
// current, min and max finite and >= 0, whole numbers for replicas,
// connections and consumers; max 0 or >= min; labels at most 64, keys
// non-empty; alert_horizon in [0, 35 days]; stateful only for replicas and
// then request_unit "cpu_millicores" or "memory_bytes"; headroom in [0, 10].
absl::Status ValidateResource(const Resource& resource, absl::string_view prefix);

// The unit allocations of `resource` are counted in: "replicas",
// "tokens_per_minute", "requests_per_minute", "connections", "consumers".
const char* AllocationUnit(const Resource& resource);

// True when allocations of `kind` are whole numbers (replicas, connections,
// consumers).
bool WholeUnits(ResourceKind kind);

// The capacity of `resource` in demand units: current x per_unit_capacity.
double Capacity(const Resource& resource);

// The factor that turns one history step's value into demand: for counters
// (metric ending in "_total", summed per step) the count per step becomes a
// rate, per minute for the TPM / RPM quotas and per second otherwise; gauges
// are taken as they are (factor 1).
double DemandScale(const Resource& resource, absl::Duration step);

}  // namespace agentwatch::capacity
