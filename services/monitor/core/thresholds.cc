#include "monitor/core/thresholds.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "monitor/core/hash.h"
#include "monitor/core/rollup.h"

namespace agentwatch::monitor {

bool ThresholdOverride::operator==(const ThresholdOverride& other) const {
  return indicator == other.indicator && warning == other.warning && critical == other.critical &&
         disabled == other.disabled;
}

absl::Status ValidateScopeThresholds(const ScopeThresholds& thresholds) {
  RETURN_IF_ERROR(ValidateHealthScope(thresholds.scope));
  const size_t known = DefaultIndicatorThresholds().size();
  if (thresholds.thresholds.empty()) {
    return common::InvalidField("thresholds", "required (at least one indicator)");
  }
  if (thresholds.thresholds.size() > known) {
    return common::InvalidField(
        "thresholds", absl::StrCat(thresholds.thresholds.size(), " entries, at most ", known));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < thresholds.thresholds.size(); ++i) {
    const ThresholdOverride& entry = thresholds.thresholds[i];
    const std::string field = absl::StrCat("thresholds[", i, "]");
    const IndicatorThreshold* defaults = FindDefaultThreshold(entry.indicator);
    if (defaults == nullptr) {
      return common::InvalidField(field + ".indicator",
                                  absl::StrCat("unknown indicator \"", entry.indicator, "\""));
    }
    if (!seen.insert(entry.indicator).second) {
      return common::InvalidField(field + ".indicator",
                                  absl::StrCat("\"", entry.indicator, "\" listed twice"));
    }
    if (!std::isfinite(entry.warning) || entry.warning < 0) {
      return common::InvalidField(field + ".warning", "must be a finite number >= 0");
    }
    if (!std::isfinite(entry.critical) || entry.critical < 0) {
      return common::InvalidField(field + ".critical", "must be a finite number >= 0");
    }
    if (defaults->direction == Direction::kLowerIsWorse) {
      if (!(entry.critical < entry.warning)) {
        return common::InvalidField(
            field + ".critical",
            absl::StrCat("must be below warning for ", entry.indicator, " (lower is worse)"));
      }
    } else if (!(entry.critical > entry.warning)) {
      return common::InvalidField(
          field + ".critical",
          absl::StrCat("must be above warning for ", entry.indicator, " (higher is worse)"));
    }
  }
  return absl::OkStatus();
}

std::string ScopeKey(const HealthScope& scope) {
  return StableHash({scope.tenant, scope.team, scope.workflow, scope.agent, scope.model,
                     scope.provider, scope.service, CanonicalLabelText(scope.tags)});
}

bool ScopeCovers(const HealthScope& general, const HealthScope& specific) {
  auto field = [](const std::string& g, const std::string& s) { return g.empty() || g == s; };
  if (!field(general.tenant, specific.tenant) || !field(general.team, specific.team) ||
      !field(general.workflow, specific.workflow) || !field(general.agent, specific.agent) ||
      !field(general.model, specific.model) || !field(general.provider, specific.provider) ||
      !field(general.service, specific.service)) {
    return false;
  }
  for (const auto& [key, value] : general.tags) {
    const auto it = specific.tags.find(key);
    if (it == specific.tags.end() || it->second != value) return false;
  }
  return true;
}

int ScopeSpecificity(const HealthScope& scope) {
  int n = static_cast<int>(scope.tags.size());
  for (const std::string* field : {&scope.tenant, &scope.team, &scope.workflow, &scope.agent,
                                   &scope.model, &scope.provider, &scope.service}) {
    if (!field->empty()) ++n;
  }
  return n;
}

ThresholdResolver::ThresholdResolver(std::vector<ScopeThresholds> overrides)
    : overrides_(std::move(overrides)) {
  std::vector<std::pair<std::pair<int, std::string>, ScopeThresholds>> keyed;
  keyed.reserve(overrides_.size());
  for (ScopeThresholds& entry : overrides_) {
    keyed.push_back({{ScopeSpecificity(entry.scope), ScopeKey(entry.scope)}, std::move(entry)});
  }
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  overrides_.clear();
  for (auto& [key, entry] : keyed) overrides_.push_back(std::move(entry));
}

std::vector<EffectiveThreshold> ThresholdResolver::Resolve(const HealthScope& scope) const {
  std::vector<EffectiveThreshold> out;
  out.reserve(DefaultIndicatorThresholds().size());
  for (const IndicatorThreshold& defaults : DefaultIndicatorThresholds()) {
    out.push_back({defaults, false, false});
  }
  for (const ScopeThresholds& entry : overrides_) {
    if (!ScopeCovers(entry.scope, scope)) continue;
    for (const ThresholdOverride& override : entry.thresholds) {
      for (EffectiveThreshold& effective : out) {
        if (effective.threshold.name != override.indicator) continue;
        effective.threshold.warning = override.warning;
        effective.threshold.critical = override.critical;
        effective.disabled = override.disabled;
        effective.overridden = true;
      }
    }
  }
  return out;
}

std::optional<EffectiveThreshold> ThresholdResolver::Resolve(const HealthScope& scope,
                                                             absl::string_view indicator) const {
  for (EffectiveThreshold& effective : Resolve(scope)) {
    if (effective.threshold.name == indicator) return effective;
  }
  return std::nullopt;
}

std::optional<absl::Time> ThresholdResolver::LatestUpdate(const HealthScope& scope) const {
  std::optional<absl::Time> latest;
  for (const ScopeThresholds& entry : overrides_) {
    if (!ScopeCovers(entry.scope, scope)) continue;
    if (!latest.has_value() || entry.update_time > *latest) latest = entry.update_time;
  }
  return latest;
}

}  // namespace agentwatch::monitor
