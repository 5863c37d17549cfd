// How alerts group into incidents: by the tenant plus the values of the
// group_by labels, as Alertmanager's group_by does.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

// The grouping of one tenant (today: of the whole service, from --group_by).
struct GroupingConfig {
  // Label names, sorted and unique. Empty groups all of a tenant's alerts.
  std::vector<std::string> group_by = {std::string(kAlertNameLabel)};
  // True for "...": every label of the alert is part of the key.
  bool by_all_labels = false;
};

// Parses a comma-separated list ("alertname,service"); blanks around names
// are ignored. "..." alone groups by all labels. INVALID_ARGUMENT naming
// `flag` for a bad label name or "..." mixed with names.
absl::StatusOr<GroupingConfig> ParseGroupBy(absl::string_view flag, absl::string_view list);

// The labels an alert carries for grouping and matching: its labels with
// "alertname" set to its name.
Labels EffectiveLabels(const AlertReport& alert);

// The group labels of an alert with those effective `labels`: each group_by
// label that the alert carries with a non-empty value (a missing label
// groups as "", as in Alertmanager).
Labels GroupLabels(const Labels& labels, const GroupingConfig& config);

// The group key: the quoted tenant and the group_by names with their quoted
// values, e.g. `"acme":{alertname="HighErrorRate",service="api"}`. Distinct
// (tenant, values) always give distinct keys.
std::string GroupKey(absl::string_view tenant, const Labels& labels, const GroupingConfig& config);

// An alert ready for intake: validated, defaults applied (severity P2, times
// of receipt), times truncated to microseconds, and its group computed.
struct IncomingAlert {
  std::string tenant;
  std::string fingerprint;
  std::string name;
  Severity severity = Severity::kP2;
  Labels labels;  // effective labels (with alertname)
  Labels annotations;
  AlertStatus status = AlertStatus::kFiring;
  absl::Time starts_at = absl::UnixEpoch();
  // Whether the sender gave starts_at. Without it a firing report cannot tell
  // a new firing from a repeat, so it never counts as a refire.
  bool starts_at_given = false;
  std::optional<absl::Time> ends_at;  // resolved alerts only
  std::string source;
  std::string generator_url;
  std::string group_key;
  Labels group_labels;
};

// Applies defaults to a validated report received at `now` and computes its
// group under `config`.
IncomingAlert PrepareAlert(const AlertReport& report, const GroupingConfig& config, absl::Time now);

// As above, taking the report's strings and maps over instead of copying them
// (intake prepares every alert of a batch once).
IncomingAlert PrepareAlert(AlertReport&& report, const GroupingConfig& config, absl::Time now);

}  // namespace agentwatch::incident
