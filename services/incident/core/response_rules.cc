#include "incident/core/response_rules.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "incident/core/ids.h"
#include "incident/core/paging.h"
#include "incident/core/silence.h"
#include "incident/core/validation.h"
#include "re2/re2.h"

namespace agentwatch::incident {
namespace {

using common::InvalidField;

bool IsHttpUrl(absl::string_view url) {
  return (absl::StartsWith(url, "http://") && url.size() > 7) ||
         (absl::StartsWith(url, "https://") && url.size() > 8);
}

absl::Status ValidateAction(const ResponseAction& action, const std::string& at) {
  switch (action.kind) {
    case ResponseActionKind::kWebhook: {
      const std::string f = absl::StrCat(at, ".webhook");
      RETURN_IF_ERROR(ValidateRequired(action.url, absl::StrCat(f, ".url"), kMaxUrlBytes));
      if (!IsHttpUrl(action.url)) {
        return InvalidField(absl::StrCat(f, ".url"), "must be an http:// or https:// URL");
      }
      if (!action.hmac_secret_ref.empty() && !IsValidSecretRef(action.hmac_secret_ref)) {
        return InvalidField(absl::StrCat(f, ".hmac_secret_ref"),
                            "must be \"env:NAME\" or \"file:/absolute/path\"");
      }
      if (action.headers.size() > kMaxResponseHeaders) {
        return InvalidField(absl::StrCat(f, ".headers"),
                            absl::StrCat("at most ", kMaxResponseHeaders, " headers"));
      }
      for (const auto& [name, value] : action.headers) {
        const std::string h = absl::StrCat(f, ".headers[", name, "]");
        if (name.empty() || name.find_first_of(":\r\n \t") != std::string::npos) {
          return InvalidField(h, "not a valid header name");
        }
        if (value.find_first_of("\r\n") != std::string::npos) {
          return InvalidField(h, "value must not hold line breaks");
        }
        RETURN_IF_ERROR(ValidateOptional(value, h, kMaxLabelValueBytes));
      }
      if (action.timeout <= absl::ZeroDuration() || action.timeout > kMaxResponseWebhookTimeout) {
        return InvalidField(absl::StrCat(f, ".timeout"), "must be in (0, 60s]");
      }
      return absl::OkStatus();
    }
    case ResponseActionKind::kCapacityRecommendation:
      return ValidateOptional(action.resource_id,
                              absl::StrCat(at, ".capacity_recommendation.resource_id"),
                              kMaxIdBytes);
    case ResponseActionKind::kNotify: {
      const std::string f = absl::StrCat(at, ".notify.channel_ids");
      if (action.channel_ids.empty()) return InvalidField(f, "at least one channel id");
      if (action.channel_ids.size() > kMaxNotifyChannels) {
        return InvalidField(f, absl::StrCat("at most ", kMaxNotifyChannels, " channels"));
      }
      for (size_t i = 0; i < action.channel_ids.size(); ++i) {
        RETURN_IF_ERROR(
            ValidateRequired(action.channel_ids[i], absl::StrCat(f, "[", i, "]"), kMaxIdBytes));
      }
      return absl::OkStatus();
    }
    case ResponseActionKind::kEscalate:
      return absl::OkStatus();
    case ResponseActionKind::kAddNote:
      return ValidateRequired(action.text, absl::StrCat(at, ".add_note.text"), kMaxNoteBytes);
    case ResponseActionKind::kUnspecified:
      break;
  }
  return InvalidField(at, "exactly one action is required");
}

absl::Status ValidateCondition(const ResponseCondition& condition, const std::string& at) {
  if (condition.alert_names.size() > kMaxResponseNames) {
    return InvalidField(absl::StrCat(at, ".alert_names"),
                        absl::StrCat("at most ", kMaxResponseNames, " names"));
  }
  for (size_t i = 0; i < condition.alert_names.size(); ++i) {
    RETURN_IF_ERROR(ValidateRequired(
        condition.alert_names[i], absl::StrCat(at, ".alert_names[", i, "]"), kMaxAlertNameBytes));
  }
  if (condition.matchers.size() > kMaxResponseMatchers) {
    return InvalidField(absl::StrCat(at, ".matchers"),
                        absl::StrCat("at most ", kMaxResponseMatchers, " matchers"));
  }
  for (size_t i = 0; i < condition.matchers.size(); ++i) {
    const LabelMatcher& m = condition.matchers[i];
    const std::string f = absl::StrCat(at, ".matchers[", i, "]");
    RETURN_IF_ERROR(ValidateMatcher(m, f));
    RETURN_IF_ERROR(ValidateOptional(m.name, absl::StrCat(f, ".name"), kMaxLabelNameBytes));
    RETURN_IF_ERROR(ValidateOptional(m.value, absl::StrCat(f, ".value"), kMaxLabelValueBytes));
    if (m.op == MatchOp::kRegex || m.op == MatchOp::kNotRegex) {
      const RE2 re(m.value, RE2::Quiet);
      if (!re.ok()) {
        return InvalidField(absl::StrCat(f, ".value"),
                            absl::StrCat("invalid regular expression: ", re.error()));
      }
    }
  }
  for (size_t i = 0; i < condition.severities.size(); ++i) {
    if (!IsValid(condition.severities[i])) {
      return InvalidField(
          absl::StrCat(at, ".severities[", i, "]"),
          absl::StrCat("unknown severity ", static_cast<int>(condition.severities[i])));
    }
  }
  return absl::OkStatus();
}

void AppendJsonLabels(std::string* out, const Labels& labels) {
  out->push_back('{');
  bool first = true;
  for (const auto& [name, value] : labels) {
    absl::StrAppend(out, first ? "" : ",", JsonString(name), ":", JsonString(value));
    first = false;
  }
  out->push_back('}');
}

}  // namespace

const char* ResponseActionName(ResponseActionKind kind) {
  switch (kind) {
    case ResponseActionKind::kWebhook:
      return "webhook";
    case ResponseActionKind::kCapacityRecommendation:
      return "capacity_recommendation";
    case ResponseActionKind::kNotify:
      return "notify";
    case ResponseActionKind::kEscalate:
      return "escalate";
    case ResponseActionKind::kAddNote:
      return "add_note";
    case ResponseActionKind::kUnspecified:
      break;
  }
  return "unspecified";
}

absl::Status ValidateResponseRule(const ResponseRule& rule, absl::string_view field) {
  RETURN_IF_ERROR(ValidateRequired(rule.name, absl::StrCat(field, ".name"), kMaxActorBytes));
  RETURN_IF_ERROR(ValidateRequired(rule.tenant, absl::StrCat(field, ".tenant"), kMaxTenantBytes));
  RETURN_IF_ERROR(ValidateCondition(rule.condition, absl::StrCat(field, ".condition")));
  if (rule.actions.empty()) {
    return InvalidField(absl::StrCat(field, ".actions"), "at least one action");
  }
  if (rule.actions.size() > kMaxResponseActions) {
    return InvalidField(absl::StrCat(field, ".actions"),
                        absl::StrCat("at most ", kMaxResponseActions, " actions"));
  }
  for (size_t i = 0; i < rule.actions.size(); ++i) {
    RETURN_IF_ERROR(ValidateAction(rule.actions[i], absl::StrCat(field, ".actions[", i, "]")));
  }
  if (rule.cooldown < absl::ZeroDuration() || rule.cooldown > kMaxResponseCooldown) {
    return InvalidField(absl::StrCat(field, ".cooldown"), "must be between 0 and 7 days");
  }
  if (rule.max_per_hour < 0) {
    return InvalidField(absl::StrCat(field, ".max_per_hour"), "must not be negative");
  }
  if (rule.max_per_hour > kMaxResponsePerHour) {
    return InvalidField(absl::StrCat(field, ".max_per_hour"),
                        absl::StrCat("at most ", kMaxResponsePerHour));
  }
  return absl::OkStatus();
}

bool ConditionMatches(const ResponseCondition& condition, const ResponseSubject& alert) {
  if (!condition.alert_names.empty() &&
      std::find(condition.alert_names.begin(), condition.alert_names.end(), alert.name) ==
          condition.alert_names.end()) {
    return false;
  }
  if (!condition.severities.empty() &&
      std::find(condition.severities.begin(), condition.severities.end(), alert.severity) ==
          condition.severities.end()) {
    return false;
  }
  if (condition.matchers.empty()) return true;
  Labels labels = alert.labels;
  labels[std::string(kAlertNameLabel)] = alert.name;
  for (const LabelMatcher& matcher : condition.matchers) {
    if (!Matches(matcher, labels)) return false;
  }
  return true;
}

const char* DecisionName(ExecutionDecision decision) {
  switch (decision) {
    case ExecutionDecision::kRun:
      return "run";
    case ExecutionDecision::kCooldown:
      return "cooldown";
    case ExecutionDecision::kHourlyCap:
      return "hourly_cap";
  }
  return "unknown";
}

namespace {

// Start times in (now - window, now], sorted.
std::vector<absl::Time> InWindow(const ExecutionHistory& history, absl::Time now) {
  std::vector<absl::Time> out;
  for (absl::Time t : history.recent) {
    if (t > now - kResponseCapWindow && t <= now) out.push_back(t);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

ExecutionDecision DecideExecution(const ResponseRule& rule, const ExecutionHistory& history,
                                  absl::Time now) {
  if (rule.cooldown > absl::ZeroDuration() && history.last_for_incident.has_value() &&
      now < *history.last_for_incident + rule.cooldown) {
    return ExecutionDecision::kCooldown;
  }
  if (rule.max_per_hour > 0 &&
      InWindow(history, now).size() >= static_cast<size_t>(rule.max_per_hour)) {
    return ExecutionDecision::kHourlyCap;
  }
  return ExecutionDecision::kRun;
}

absl::Time NextAllowed(const ResponseRule& rule, const ExecutionHistory& history, absl::Time now) {
  absl::Time next = now;
  if (rule.cooldown > absl::ZeroDuration() && history.last_for_incident.has_value()) {
    next = std::max(next, *history.last_for_incident + rule.cooldown);
  }
  if (rule.max_per_hour > 0) {
    const std::vector<absl::Time> window = InWindow(history, now);
    if (window.size() >= static_cast<size_t>(rule.max_per_hour)) {
      // The run that must leave the window for one slot to free up.
      const absl::Time leaving = window[window.size() - static_cast<size_t>(rule.max_per_hour)];
      next = std::max(next, leaving + kResponseCapWindow);
    }
  }
  return next;
}

std::string ResponseActor(absl::string_view rule_id) {
  return absl::StrCat("response_rule:", rule_id);
}

TimelineEntry ClaimEntry(const ResponseRule& rule, absl::string_view tenant,
                         absl::string_view incident_id, const ResponseSubject& alert,
                         ExecutionDecision decision, absl::string_view execution_id, absl::Time now,
                         absl::Time next_allowed) {
  TimelineEntry entry;
  entry.tenant = std::string(tenant);
  entry.incident_id = std::string(incident_id);
  entry.time = now;
  entry.actor = ResponseActor(rule.id);
  entry.kind = std::string(timeline_kind::kResponseRule);
  entry.details = {{"rule_id", rule.id},
                   {"rule_name", rule.name},
                   {"execution_id", std::string(execution_id)},
                   {"fingerprint", alert.fingerprint},
                   {"alertname", alert.name},
                   {"decision", DecisionName(decision)}};
  switch (decision) {
    case ExecutionDecision::kRun:
      entry.text = absl::StrCat("Response rule ", rule.name, " triggered by alert ", alert.name,
                                ": running ", rule.actions.size(), " action",
                                rule.actions.size() == 1 ? "" : "s");
      entry.details["outcome"] = "started";
      break;
    case ExecutionDecision::kCooldown:
    case ExecutionDecision::kHourlyCap:
      entry.text = absl::StrCat(
          "Response rule ", rule.name, " matched alert ", alert.name, " but did not run: ",
          decision == ExecutionDecision::kCooldown
              ? absl::StrCat("cooldown of ", absl::FormatDuration(rule.cooldown))
              : absl::StrCat("at most ", rule.max_per_hour, " executions per hour"),
          "; next allowed at ",
          absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ", next_allowed, absl::UTCTimeZone()));
      entry.details["outcome"] = "skipped";
      break;
  }
  return entry;
}

std::string RenderNoteTemplate(absl::string_view text, const ResponseSubject& alert,
                               absl::string_view incident_id) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == absl::string_view::npos) break;
    const size_t close = text.find("}}", open + 2);
    if (close == absl::string_view::npos) break;
    absl::StrAppend(&out, text.substr(pos, open - pos));
    const absl::string_view key = text.substr(open + 2, close - open - 2);
    constexpr absl::string_view kLabelPrefix = "alert.labels.";
    if (key == "alert.name") {
      absl::StrAppend(&out, alert.name);
    } else if (key == "alert.fingerprint") {
      absl::StrAppend(&out, alert.fingerprint);
    } else if (key == "alert.severity") {
      absl::StrAppend(&out, SeverityName(alert.severity));
    } else if (key == "incident.id") {
      absl::StrAppend(&out, incident_id);
    } else if (absl::StartsWith(key, kLabelPrefix)) {
      auto it = alert.labels.find(std::string(key.substr(kLabelPrefix.size())));
      if (it != alert.labels.end()) absl::StrAppend(&out, it->second);
    } else {
      absl::StrAppend(&out, text.substr(open, close + 2 - open));
    }
    pos = close + 2;
  }
  absl::StrAppend(&out, text.substr(std::min(pos, text.size())));
  return out;
}

std::string ExecutionId(absl::string_view tenant, absl::string_view rule_id,
                        absl::string_view trigger_key) {
  return FormatUuid(Fnv1a64(absl::StrCat("response\n", tenant, "\n", rule_id, "\n", trigger_key)),
                    Fnv1a64(absl::StrCat(trigger_key, "\n", rule_id, "\n", tenant, "\nresponse")));
}

std::string ActionIdempotencyKey(absl::string_view execution_id, int index) {
  return absl::StrCat("response/", execution_id, "/", index);
}

std::string ResponseWebhookBody(const ResponseWebhookEvent& e) {
  std::string out = absl::StrCat(
      "{\"event\":\"response_action\",\"idempotency_key\":", JsonString(e.idempotency_key),
      ",\"tenant\":", JsonString(e.tenant), ",\"rule\":{\"id\":", JsonString(e.rule_id),
      ",\"name\":", JsonString(e.rule_name), "},\"execution_id\":", JsonString(e.execution_id),
      ",\"action_index\":", e.action_index, ",\"incident\":{\"id\":", JsonString(e.incident_id),
      ",\"title\":", JsonString(e.incident_title),
      ",\"severity\":", JsonString(SeverityName(e.incident_severity)),
      ",\"status\":", JsonString(StatusName(e.incident_status)),
      "},\"alert\":{\"fingerprint\":", JsonString(e.alert.fingerprint),
      ",\"name\":", JsonString(e.alert.name),
      ",\"severity\":", JsonString(SeverityName(e.alert.severity)), ",\"labels\":");
  AppendJsonLabels(&out, e.alert.labels);
  absl::StrAppend(
      &out, "},\"time\":",
      JsonString(absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ", e.time, absl::UTCTimeZone())), "}");
  return out;
}

}  // namespace agentwatch::incident
