// Health-threshold overrides per scope: validation, scope coverage and the
// resolution of the effective thresholds of a scope (defaults, then every
// override whose scope covers it, most specific last). Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "monitor/core/health.h"

namespace agentwatch::monitor {

// Limits on stored overrides.
inline constexpr int64_t kMaxThresholdScopesPerTenant = 1000;

// The override of one indicator within a scope.
struct ThresholdOverride {
  std::string indicator;
  double warning = 0;
  double critical = 0;
  // When true the indicator is not evaluated for the scope (and the scopes
  // it covers, unless a more specific override enables it again).
  bool disabled = false;
  bool operator==(const ThresholdOverride& other) const;
};

// The overrides of one scope, as stored.
struct ScopeThresholds {
  HealthScope scope;
  std::vector<ThresholdOverride> thresholds;
  absl::Time update_time = absl::UnixEpoch();
};

// INVALID_ARGUMENT naming the field when:
// - the scope is invalid (ValidateHealthScope, fields "scope.*");
// - "thresholds" is empty or longer than the number of indicators;
// - "thresholds[i].indicator" is unknown or listed twice;
// - "thresholds[i].warning" / ".critical" is not finite, or critical is not
//   strictly past warning in the indicator's direction (greater for
//   higher-is-worse, smaller for lower-is-worse);
// - a ratio threshold is negative, or a duration ("s") threshold negative.
// Disabled entries are checked the same way.
absl::Status ValidateScopeThresholds(const ScopeThresholds& thresholds);

// The stable key of a scope among a tenant's overrides: a 128-bit hash of
// every field and the canonical tag text (32 hex characters).
std::string ScopeKey(const HealthScope& scope);

// True when `general` covers `specific`: every non-empty field of `general`
// equals the same field of `specific`, and every tag of `general` is a tag of
// `specific` with the same value. A scope covers itself; the empty scope
// covers every scope.
bool ScopeCovers(const HealthScope& general, const HealthScope& specific);

// How specific a scope is: its non-empty fields plus its tags.
int ScopeSpecificity(const HealthScope& scope);

// The effective threshold of one indicator for a scope.
struct EffectiveThreshold {
  IndicatorThreshold threshold;  // name, unit and direction from the defaults
  bool disabled = false;
  // True when an override (not the default) set it.
  bool overridden = false;
};

// Resolves effective thresholds from a set of overrides. Immutable after
// construction; thread-compatible.
class ThresholdResolver {
 public:
  // No overrides: the defaults everywhere.
  ThresholdResolver() = default;
  // `overrides` may hold scopes of several tenants; each applies to the
  // scopes it covers.
  explicit ThresholdResolver(std::vector<ScopeThresholds> overrides);

  // The effective thresholds of every indicator for `scope`, in the order of
  // DefaultIndicatorThresholds(): the defaults, then the overrides that cover
  // `scope` from the least to the most specific (ties by scope key), each
  // replacing the indicators it lists.
  std::vector<EffectiveThreshold> Resolve(const HealthScope& scope) const;

  // Resolve(scope) for one indicator; nullopt for an unknown name.
  std::optional<EffectiveThreshold> Resolve(const HealthScope& scope,
                                            absl::string_view indicator) const;

  // The latest update_time among the overrides that cover `scope`; nullopt
  // when none does.
  std::optional<absl::Time> LatestUpdate(const HealthScope& scope) const;

 private:
  std::vector<ScopeThresholds> overrides_;  // least specific first
};

}  // namespace agentwatch::monitor
