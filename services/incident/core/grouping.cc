#include "incident/core/grouping.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "incident/core/validation.h"

namespace agentwatch::incident {
namespace {

constexpr absl::string_view kAllLabels = "...";

// Appends `value` in double quotes with \, " and newline escaped, so that a
// key never reads two ways.
void AppendQuoted(std::string* out, absl::string_view value) {
  out->push_back('"');
  for (char c : value) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '"':
        out->append("\\\"");
        break;
      case '\n':
        out->append("\\n");
        break;
      default:
        out->push_back(c);
    }
  }
  out->push_back('"');
}

}  // namespace

absl::StatusOr<GroupingConfig> ParseGroupBy(absl::string_view flag, absl::string_view list) {
  GroupingConfig config;
  config.group_by.clear();
  for (absl::string_view part : absl::StrSplit(list, ',')) {
    const absl::string_view name = absl::StripAsciiWhitespace(part);
    if (name.empty()) continue;
    if (name == kAllLabels) {
      config.by_all_labels = true;
      continue;
    }
    if (!IsValidLabelName(name) || name.size() > kMaxLabelNameBytes) {
      return common::InvalidField(flag, absl::StrCat("'", name, "' is not a label name"));
    }
    config.group_by.emplace_back(name);
  }
  if (config.by_all_labels && !config.group_by.empty()) {
    return common::InvalidField(flag, "'...' (all labels) cannot be combined with label names");
  }
  std::sort(config.group_by.begin(), config.group_by.end());
  config.group_by.erase(std::unique(config.group_by.begin(), config.group_by.end()),
                        config.group_by.end());
  return config;
}

Labels EffectiveLabels(const AlertReport& alert) {
  Labels labels = alert.labels;
  labels[std::string(kAlertNameLabel)] = alert.name;
  return labels;
}

Labels GroupLabels(const Labels& labels, const GroupingConfig& config) {
  if (config.by_all_labels) {
    Labels out;
    for (const auto& [name, value] : labels) {
      if (!value.empty()) out.emplace(name, value);
    }
    return out;
  }
  Labels out;
  for (const std::string& name : config.group_by) {
    auto it = labels.find(name);
    if (it != labels.end() && !it->second.empty()) out.emplace(name, it->second);
  }
  return out;
}

std::string GroupKey(absl::string_view tenant, const Labels& labels, const GroupingConfig& config) {
  std::string key;
  AppendQuoted(&key, tenant);
  key.append(":{");
  bool first = true;
  auto append = [&](absl::string_view name, absl::string_view value) {
    if (!first) key.push_back(',');
    first = false;
    absl::StrAppend(&key, name, "=");
    AppendQuoted(&key, value);
  };
  if (config.by_all_labels) {
    for (const auto& [name, value] : labels) {
      if (!value.empty()) append(name, value);
    }
  } else {
    for (const std::string& name : config.group_by) {
      auto it = labels.find(name);
      append(name, it == labels.end() ? absl::string_view() : absl::string_view(it->second));
    }
  }
  key.push_back('}');
  return key;
}

IncomingAlert PrepareAlert(AlertReport&& report, const GroupingConfig& config, absl::Time now) {
  IncomingAlert alert;
  alert.tenant = std::move(report.tenant);
  alert.fingerprint = std::move(report.fingerprint);
  alert.labels = std::move(report.labels);
  alert.labels[std::string(kAlertNameLabel)] = report.name;
  alert.name = std::move(report.name);
  alert.severity = report.severity == Severity::kUnspecified ? Severity::kP2 : report.severity;
  alert.annotations = std::move(report.annotations);
  alert.status = report.status;
  alert.source = std::move(report.source);
  alert.generator_url = std::move(report.generator_url);
  alert.starts_at_given = report.starts_at.has_value();
  if (report.status == AlertStatus::kResolved) {
    // Defaults never make an alert end before it started.
    if (report.starts_at.has_value()) {
      alert.starts_at = TruncateToMicros(*report.starts_at);
      alert.ends_at = TruncateToMicros(report.ends_at.value_or(std::max(now, *report.starts_at)));
    } else {
      alert.ends_at = TruncateToMicros(report.ends_at.value_or(now));
      alert.starts_at = std::min(TruncateToMicros(now), *alert.ends_at);
    }
  } else {
    alert.starts_at = TruncateToMicros(report.starts_at.value_or(now));
  }
  alert.group_labels = GroupLabels(alert.labels, config);
  alert.group_key = GroupKey(alert.tenant, alert.labels, config);
  return alert;
}

IncomingAlert PrepareAlert(const AlertReport& report, const GroupingConfig& config,
                           absl::Time now) {
  return PrepareAlert(AlertReport(report), config, now);
}

}  // namespace agentwatch::incident
