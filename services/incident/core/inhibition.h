// Inhibition rules, as in Alertmanager: while an alert matching the source
// matchers fires, new firing alerts matching the target matchers whose
// `equal` labels have the same values as the source's are muted (e.g.
// "service down" mutes "latency high" on the same service). A muted alert is
// recorded but opens, joins and pages nothing (core/intake.h). Pure: no I/O.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "incident/core/query.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

inline constexpr size_t kMaxInhibitionMatchers = 64;
inline constexpr size_t kMaxInhibitionEqual = 32;

struct InhibitionRule {
  std::string id;
  std::string name;
  std::string tenant;
  std::vector<LabelMatcher> source_matchers;  // at least one
  std::vector<LabelMatcher> target_matchers;  // at least one
  std::vector<std::string> equal;             // label names
  absl::Time create_time = absl::UnixEpoch();
  absl::Time update_time = absl::UnixEpoch();

  friend bool operator==(const InhibitionRule& a, const InhibitionRule& b);
};

// Checks a rule as a client sends it: tenant, name (may be empty), 1 to
// kMaxInhibitionMatchers source and target matchers (name, operator, valid
// RE2), equal label names (Prometheus syntax, at most kMaxInhibitionEqual).
// INVALID_ARGUMENT naming the field under `field` ("rule.source_matchers[0]").
absl::Status ValidateInhibitionRule(const InhibitionRule& rule, absl::string_view field);

// Whether a firing `source` mutes `target` under `rule`; both label sets as
// SilenceLabels makes them (labels plus alertname and severity). The target
// matches every target matcher, the source every source matcher, and each
// `equal` label has the same value in both (absent equals absent).
bool Inhibits(const InhibitionRule& rule, const Labels& source, const Labels& target);

}  // namespace agentwatch::incident
