#include "incident/core/paging.h"

#include <re2/re2.h>

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "incident/core/validation.h"

namespace agentwatch::incident {
namespace {

using common::InvalidField;

absl::Status ValidateMatchers(const std::vector<LabelMatcher>& matchers, absl::string_view field) {
  for (size_t i = 0; i < matchers.size(); ++i) {
    const std::string mf = absl::StrCat(field, ".matchers[", i, "]");
    RETURN_IF_ERROR(ValidateMatcher(matchers[i], mf));
    if (matchers[i].op == MatchOp::kRegex || matchers[i].op == MatchOp::kNotRegex) {
      const RE2 re(matchers[i].value, RE2::Quiet);
      if (!re.ok()) {
        return InvalidField(absl::StrCat(mf, ".value"),
                            absl::StrCat("invalid regular expression: ", re.error()));
      }
    }
  }
  return absl::OkStatus();
}

bool IsHttpUrl(absl::string_view url) {
  return (absl::StartsWith(url, "http://") && url.size() > 7) ||
         (absl::StartsWith(url, "https://") && url.size() > 8);
}

bool IsAddress(absl::string_view address) {
  const size_t at = address.find('@');
  return at != absl::string_view::npos && at > 0 && at + 1 < address.size() &&
         address.find_first_of(" \r\n<>,") == absl::string_view::npos;
}

// The index of the participant on duty for a rotation at `at` (at >= start)
// and the bounds of that shift.
struct RotationShift {
  size_t participant = 0;
  absl::Time start;
  absl::Time end;
};

std::optional<RotationShift> ShiftOf(const Rotation& rotation, absl::Time at) {
  if (rotation.participants.empty() || rotation.shift_length <= absl::ZeroDuration() ||
      at < rotation.start_time) {
    return std::nullopt;
  }
  absl::Duration remainder;
  const int64_t index =
      absl::IDivDuration(at - rotation.start_time, rotation.shift_length, &remainder);
  RotationShift shift;
  shift.participant =
      static_cast<size_t>(index % static_cast<int64_t>(rotation.participants.size()));
  shift.start = rotation.start_time + rotation.shift_length * index;
  shift.end = shift.start + rotation.shift_length;
  return shift;
}

bool InRestrictions(const Rotation& rotation, absl::Time at) {
  if (rotation.restrictions.empty()) return true;
  for (const WeeklyWindow& window : rotation.restrictions) {
    if (InWeeklyWindow(window, at)) return true;
  }
  return false;
}

// Instants where a restriction window may open or close within [from, to).
void WindowBoundaries(const WeeklyWindow& window, absl::Time from, absl::Time to,
                      std::set<absl::Time>* out) {
  absl::TimeZone zone;
  if (!LoadWindowZone(window.time_zone, &zone)) return;
  const absl::CivilDay first = absl::CivilDay(absl::ToCivilSecond(from, zone)) - 1;
  const absl::CivilDay last = absl::CivilDay(absl::ToCivilSecond(to, zone)) + 1;
  for (absl::CivilDay day = first; day <= last; ++day) {
    const absl::CivilSecond start = absl::CivilSecond(day) + window.start_minute * 60;
    absl::CivilSecond end = absl::CivilSecond(day) + window.end_minute * 60;
    if (window.end_minute <= window.start_minute) end += 24 * 60 * 60;
    for (const absl::CivilSecond civil : {start, end}) {
      const absl::TimeZone::TimeInfo info = zone.At(civil);
      for (const absl::Time t : {info.pre, info.trans, info.post}) {
        if (t > from && t < to) out->insert(t);
      }
    }
  }
}

std::string Quote(const std::string& s) { return JsonString(s); }

}  // namespace

EscalationPolicy DefaultEscalationPolicy(absl::string_view tenant) {
  EscalationPolicy policy;
  policy.id = std::string(kDefaultPolicyId);
  policy.name = "default";
  policy.tenant = std::string(tenant);
  policy.description =
      "On-call engineer at once, team lead after 15 minutes, engineering manager after 30 "
      "minutes";
  policy.priority = INT32_MAX;
  using Kind = EscalationTarget::Kind;
  policy.tiers = {
      {absl::ZeroDuration(), {{Kind::kPerson, "oncall"}}},
      {absl::Minutes(15), {{Kind::kPerson, "team-lead"}}},
      {absl::Minutes(15), {{Kind::kPerson, "engineering-manager"}}},
  };
  return policy;
}

absl::Status ValidateEscalationPolicy(const EscalationPolicy& policy, absl::string_view field) {
  RETURN_IF_ERROR(ValidateRequired(policy.tenant, absl::StrCat(field, ".tenant"), kMaxTenantBytes));
  RETURN_IF_ERROR(ValidateRequired(policy.name, absl::StrCat(field, ".name"), kMaxNameBytes));
  RETURN_IF_ERROR(ValidateOptional(policy.description, absl::StrCat(field, ".description"),
                                   kMaxDescriptionBytes));
  RETURN_IF_ERROR(ValidateMatchers(policy.matchers, field));
  if (policy.tiers.empty()) return InvalidField(absl::StrCat(field, ".tiers"), "at least one tier");
  if (policy.tiers.size() > kMaxTiers) {
    return InvalidField(absl::StrCat(field, ".tiers"), absl::StrCat("at most ", kMaxTiers));
  }
  for (size_t i = 0; i < policy.tiers.size(); ++i) {
    const EscalationTier& tier = policy.tiers[i];
    const std::string tf = absl::StrCat(field, ".tiers[", i, "]");
    if (tier.delay < absl::ZeroDuration() || tier.delay > absl::Hours(24 * 7)) {
      return InvalidField(absl::StrCat(tf, ".delay"), "must be in [0, 7 days]");
    }
    if (tier.targets.empty()) return InvalidField(absl::StrCat(tf, ".targets"), "at least one");
    if (tier.targets.size() > kMaxTargetsPerTier) {
      return InvalidField(absl::StrCat(tf, ".targets"),
                          absl::StrCat("at most ", kMaxTargetsPerTier));
    }
    for (size_t j = 0; j < tier.targets.size(); ++j) {
      const EscalationTarget& target = tier.targets[j];
      const std::string gf = absl::StrCat(tf, ".targets[", j, "]");
      if (target.kind == EscalationTarget::Kind::kUnspecified) {
        return InvalidField(gf, "one of person, schedule_id, channel_id required");
      }
      RETURN_IF_ERROR(ValidateRequired(target.value, gf, kMaxIdBytes));
    }
  }
  if (policy.repeat_count < 0 || policy.repeat_count > kMaxRepeatCount) {
    return InvalidField(absl::StrCat(field, ".repeat_count"),
                        absl::StrCat("must be in 0..", kMaxRepeatCount));
  }
  if (policy.acknowledge_timeout.has_value() &&
      *policy.acknowledge_timeout <= absl::ZeroDuration()) {
    return InvalidField(absl::StrCat(field, ".acknowledge_timeout"), "must be positive when set");
  }
  return absl::OkStatus();
}

EscalationPolicy SelectPolicy(const std::vector<EscalationPolicy>& policies,
                              absl::string_view tenant, const Labels& labels) {
  const EscalationPolicy* best = nullptr;
  for (const EscalationPolicy& policy : policies) {
    if (policy.tenant != tenant) continue;
    bool matches = true;
    for (const LabelMatcher& matcher : policy.matchers) {
      if (!Matches(matcher, labels)) {
        matches = false;
        break;
      }
    }
    if (!matches) continue;
    if (best == nullptr || policy.priority < best->priority ||
        (policy.priority == best->priority && policy.id < best->id)) {
      best = &policy;
    }
  }
  return best != nullptr ? *best : DefaultEscalationPolicy(tenant);
}

absl::Duration RepeatDelay(const EscalationPolicy& policy) {
  absl::Duration longest = kMinRepeatDelay;
  for (const EscalationTier& tier : policy.tiers) longest = std::max(longest, tier.delay);
  return longest;
}

absl::Status ValidateSchedule(const Schedule& schedule, absl::string_view field) {
  RETURN_IF_ERROR(
      ValidateRequired(schedule.tenant, absl::StrCat(field, ".tenant"), kMaxTenantBytes));
  RETURN_IF_ERROR(ValidateRequired(schedule.name, absl::StrCat(field, ".name"), kMaxNameBytes));
  absl::TimeZone zone;
  if (!LoadWindowZone(schedule.time_zone, &zone)) {
    return InvalidField(absl::StrCat(field, ".time_zone"),
                        absl::StrCat("unknown time zone \"", schedule.time_zone, "\""));
  }
  if (schedule.rotations.empty()) {
    return InvalidField(absl::StrCat(field, ".rotations"), "at least one rotation");
  }
  if (schedule.rotations.size() > kMaxRotations) {
    return InvalidField(absl::StrCat(field, ".rotations"), absl::StrCat("at most ", kMaxRotations));
  }
  for (size_t i = 0; i < schedule.rotations.size(); ++i) {
    const Rotation& r = schedule.rotations[i];
    const std::string rf = absl::StrCat(field, ".rotations[", i, "]");
    RETURN_IF_ERROR(ValidateOptional(r.name, absl::StrCat(rf, ".name"), kMaxNameBytes));
    if (r.participants.empty() || r.participants.size() > kMaxParticipants) {
      return InvalidField(absl::StrCat(rf, ".participants"),
                          absl::StrCat("1 to ", kMaxParticipants, " participants"));
    }
    for (size_t j = 0; j < r.participants.size(); ++j) {
      RETURN_IF_ERROR(ValidateRequired(r.participants[j],
                                       absl::StrCat(rf, ".participants[", j, "]"), kMaxActorBytes));
    }
    if (r.shift_length < absl::Hours(1)) {
      return InvalidField(absl::StrCat(rf, ".shift_length"), "at least 1 hour");
    }
    for (size_t j = 0; j < r.restrictions.size(); ++j) {
      RETURN_IF_ERROR(
          ValidateWeeklyWindow(r.restrictions[j], absl::StrCat(rf, ".restrictions[", j, "]")));
    }
  }
  if (schedule.overrides.size() > kMaxOverrides) {
    return InvalidField(absl::StrCat(field, ".overrides"), absl::StrCat("at most ", kMaxOverrides));
  }
  for (size_t i = 0; i < schedule.overrides.size(); ++i) {
    const ScheduleOverride& o = schedule.overrides[i];
    const std::string of = absl::StrCat(field, ".overrides[", i, "]");
    RETURN_IF_ERROR(ValidateRequired(o.person, absl::StrCat(of, ".person"), kMaxActorBytes));
    if (o.end <= o.start)
      return InvalidField(absl::StrCat(of, ".range"), "end must be after start");
  }
  return absl::OkStatus();
}

bool operator==(const OnCallShift& a, const OnCallShift& b) {
  return a.person == b.person && a.rotation == b.rotation && a.start == b.start && a.end == b.end &&
         a.is_override == b.is_override;
}

std::optional<OnCallShift> OnCallAt(const Schedule& schedule, absl::Time at) {
  for (auto it = schedule.overrides.rbegin(); it != schedule.overrides.rend(); ++it) {
    if (it->start <= at && at < it->end) {
      return OnCallShift{it->person, "override", it->start, it->end, true};
    }
  }
  for (auto it = schedule.rotations.rbegin(); it != schedule.rotations.rend(); ++it) {
    const std::optional<RotationShift> shift = ShiftOf(*it, at);
    if (!shift.has_value() || !InRestrictions(*it, at)) continue;
    return OnCallShift{it->participants[shift->participant], it->name, shift->start, shift->end,
                       false};
  }
  return std::nullopt;
}

absl::Status ValidateOnCallRange(absl::Time start, absl::Time end) {
  if (end <= start) return InvalidField("range.end", "must be after start");
  if (end - start > kMaxOnCallRange) return InvalidField("range", "at most 31 days");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<OnCallShift>> ShiftsBetween(const Schedule& schedule, absl::Time start,
                                                       absl::Time end) {
  RETURN_IF_ERROR(ValidateOnCallRange(start, end));
  std::set<absl::Time> cuts = {start};
  for (const ScheduleOverride& o : schedule.overrides) {
    for (const absl::Time t : {o.start, o.end}) {
      if (t > start && t < end) cuts.insert(t);
    }
  }
  for (const Rotation& r : schedule.rotations) {
    if (r.start_time > start && r.start_time < end) cuts.insert(r.start_time);
    if (std::optional<RotationShift> shift = ShiftOf(r, std::max(start, r.start_time))) {
      for (absl::Time t = shift->end; t < end; t += r.shift_length) cuts.insert(t);
    }
    for (const WeeklyWindow& w : r.restrictions) WindowBoundaries(w, start, end, &cuts);
  }
  std::vector<OnCallShift> out;
  for (auto it = cuts.begin(); it != cuts.end(); ++it) {
    const absl::Time from = *it;
    const absl::Time to = std::next(it) == cuts.end() ? end : *std::next(it);
    std::optional<OnCallShift> who = OnCallAt(schedule, from);
    if (!who.has_value()) continue;
    if (!out.empty() && out.back().end == from && out.back().person == who->person &&
        out.back().rotation == who->rotation && out.back().is_override == who->is_override) {
      out.back().end = to;
      continue;
    }
    who->start = from;
    who->end = to;
    out.push_back(std::move(*who));
  }
  return out;
}

bool IsValidSecretRef(absl::string_view ref) {
  if (absl::StartsWith(ref, "env:")) {
    const absl::string_view name = ref.substr(4);
    return !name.empty() && name.find_first_not_of(
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                                "vwxyz0123456789_") == absl::string_view::npos;
  }
  return absl::StartsWith(ref, "file:/") && ref.size() > 6;
}

absl::Status ValidateChannel(const NotificationChannel& c, absl::string_view field) {
  RETURN_IF_ERROR(ValidateRequired(c.tenant, absl::StrCat(field, ".tenant"), kMaxTenantBytes));
  RETURN_IF_ERROR(ValidateRequired(c.name, absl::StrCat(field, ".name"), kMaxNameBytes));
  RETURN_IF_ERROR(ValidateOptional(c.person, absl::StrCat(field, ".person"), kMaxActorBytes));
  if (c.min_severity != Severity::kUnspecified && !IsValid(c.min_severity)) {
    return InvalidField(absl::StrCat(field, ".min_severity"),
                        absl::StrCat("unknown value ", static_cast<int>(c.min_severity)));
  }
  auto secret = [&](absl::string_view sub, bool required) -> absl::Status {
    if (c.secret_ref.empty() && !required) return absl::OkStatus();
    if (!IsValidSecretRef(c.secret_ref)) {
      return InvalidField(absl::StrCat(field, ".", sub),
                          "must be \"env:NAME\" or \"file:/absolute/path\"");
    }
    return absl::OkStatus();
  };
  switch (c.kind) {
    case ChannelKind::kWebhook:
      if (!IsHttpUrl(c.url) || c.url.size() > kMaxUrlBytes) {
        return InvalidField(absl::StrCat(field, ".webhook.url"), "an http(s) URL required");
      }
      RETURN_IF_ERROR(secret("webhook.hmac_secret_ref", false));
      if (c.headers.size() > kMaxHeaders) {
        return InvalidField(absl::StrCat(field, ".webhook.headers"),
                            absl::StrCat("at most ", kMaxHeaders));
      }
      for (const auto& [name, value] : c.headers) {
        if (name.empty() || name.find_first_of(": \r\n") != std::string::npos ||
            value.find_first_of("\r\n") != std::string::npos) {
          return InvalidField(absl::StrCat(field, ".webhook.headers"),
                              absl::StrCat("bad header \"", name, "\""));
        }
      }
      if (c.timeout <= absl::ZeroDuration() || c.timeout > absl::Minutes(1)) {
        return InvalidField(absl::StrCat(field, ".webhook.timeout"), "must be in (0, 60s]");
      }
      return absl::OkStatus();
    case ChannelKind::kSlack:
      RETURN_IF_ERROR(secret("slack.webhook_url_ref", true));
      return ValidateOptional(c.slack_channel, absl::StrCat(field, ".slack.channel"),
                              kMaxNameBytes);
    case ChannelKind::kPagerDuty:
      RETURN_IF_ERROR(secret("pagerduty.routing_key_ref", true));
      if (!IsHttpUrl(c.url) || c.url.size() > kMaxUrlBytes) {
        return InvalidField(absl::StrCat(field, ".pagerduty.events_url"), "an http(s) URL");
      }
      return absl::OkStatus();
    case ChannelKind::kEmail:
      RETURN_IF_ERROR(
          ValidateRequired(c.smtp_host, absl::StrCat(field, ".email.smtp_host"), kMaxNameBytes));
      if (c.smtp_host.find_first_of(" /:@\r\n") != std::string::npos) {
        return InvalidField(absl::StrCat(field, ".email.smtp_host"), "a host name or address");
      }
      if (c.smtp_port < 1 || c.smtp_port > 65535) {
        return InvalidField(absl::StrCat(field, ".email.smtp_port"), "must be in 1..65535");
      }
      RETURN_IF_ERROR(secret("email.password_ref", !c.username.empty()));
      if (!IsAddress(c.from_address)) {
        return InvalidField(absl::StrCat(field, ".email.from_address"), "an email address");
      }
      if (c.to_addresses.empty() || c.to_addresses.size() > kMaxRecipients) {
        return InvalidField(absl::StrCat(field, ".email.to_addresses"),
                            absl::StrCat("1 to ", kMaxRecipients, " addresses"));
      }
      for (size_t i = 0; i < c.to_addresses.size(); ++i) {
        if (!IsAddress(c.to_addresses[i])) {
          return InvalidField(absl::StrCat(field, ".email.to_addresses[", i, "]"),
                              "an email address");
        }
      }
      return absl::OkStatus();
    case ChannelKind::kUnspecified:
      break;
  }
  return InvalidField(absl::StrCat(field, ".config"), "one of webhook, slack, pagerduty, email");
}

bool ChannelAccepts(const NotificationChannel& channel, Severity severity) {
  if (channel.disabled) return false;
  if (channel.min_severity == Severity::kUnspecified) return true;
  return static_cast<int>(severity) <= static_cast<int>(channel.min_severity);
}

std::string PageKey(absl::string_view incident_id, int epoch, int cycle, int tier,
                    absl::string_view channel_id) {
  return absl::StrCat("page/", incident_id, "/", epoch, "/", cycle, "/", tier, "/", channel_id);
}

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  out += "\"";
  return out;
}

std::string WebhookBody(const NotificationEvent& e) {
  return absl::StrCat(
      "{\"idempotency_key\":", Quote(e.idempotency_key), ",\"event\":", Quote(e.event),
      ",\"tenant\":", Quote(e.tenant), ",\"incident\":{\"id\":", Quote(e.incident_id),
      ",\"title\":", Quote(e.title), ",\"severity\":", Quote(SeverityName(e.severity)),
      ",\"status\":", Quote(StatusName(e.status)), "},\"tier\":", e.tier, ",\"cycle\":", e.cycle,
      ",\"person\":", Quote(e.person), ",\"channel_id\":", Quote(e.channel_id),
      ",\"time\":", Quote(absl::FormatTime(absl::RFC3339_full, e.time, absl::UTCTimeZone())), "}");
}

std::string EmailSubject(const NotificationEvent& e) {
  return absl::StrCat("[", SeverityName(e.severity), "] ", e.event == "test" ? "Test: " : "",
                      e.title);
}

std::string EmailText(const NotificationEvent& e) {
  return absl::StrCat(
      "Incident ", e.incident_id, " (", SeverityName(e.severity), ", ", StatusName(e.status),
      "): ", e.title, "\nTenant: ", e.tenant, "\nEvent: ", e.event, " (tier ", e.tier, ", pass ",
      e.cycle + 1, ")", e.person.empty() ? "" : absl::StrCat("\nPaged: ", e.person),
      "\nAt: ", absl::FormatTime(absl::RFC3339_sec, e.time, absl::UTCTimeZone()), "\n");
}

std::string SlackBody(const NotificationEvent& e, absl::string_view slack_channel) {
  std::string text =
      absl::StrCat(":rotating_light: *", EmailSubject(e), "* (", StatusName(e.status),
                   ")\nIncident `", e.incident_id, "` tenant `", e.tenant, "`",
                   e.person.empty() ? "" : absl::StrCat(", paging ", e.person));
  std::string out = absl::StrCat("{\"text\":", Quote(text));
  if (!slack_channel.empty())
    absl::StrAppend(&out, ",\"channel\":", Quote(std::string(slack_channel)));
  return out + "}";
}

std::string PagerDutyBody(const NotificationEvent& e, absl::string_view routing_key) {
  std::string severity = "warning";
  if (e.severity == Severity::kP0) severity = "critical";
  if (e.severity == Severity::kP1) severity = "error";
  if (e.severity == Severity::kP3) severity = "info";
  return absl::StrCat("{\"routing_key\":", Quote(std::string(routing_key)),
                      ",\"event_action\":\"trigger\",\"dedup_key\":", Quote(e.incident_id),
                      ",\"payload\":{\"summary\":", Quote(EmailSubject(e)),
                      ",\"source\":\"agentwatch\",\"severity\":", Quote(severity),
                      ",\"custom_details\":{\"tenant\":", Quote(e.tenant), ",\"tier\":", e.tier,
                      ",\"person\":", Quote(e.person),
                      ",\"idempotency_key\":", Quote(e.idempotency_key), "}}}");
}

std::string EmailMessage(const NotificationEvent& e, const NotificationChannel& c) {
  std::string to;
  for (size_t i = 0; i < c.to_addresses.size(); ++i) {
    absl::StrAppend(&to, i ? ", " : "", c.to_addresses[i]);
  }
  std::string subject = EmailSubject(e);
  for (char& ch : subject) {
    if (ch == '\r' || ch == '\n') ch = ' ';
  }
  std::string body;
  for (const char ch : EmailText(e)) {
    if (ch == '\n') {
      body += "\r\n";
    } else if (ch != '\r') {
      body += ch;
    }
  }
  return absl::StrCat(
      "From: ", c.from_address, "\r\nTo: ", to, "\r\nSubject: ", subject,
      "\r\nDate: ", absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", e.time, absl::UTCTimeZone()),
      "\r\nMessage-ID: <", absl::StrFormat("%016x", std::hash<std::string>{}(e.idempotency_key)),
      ".", e.incident_id, "@agentwatch>\r\nX-Agentwatch-Idempotency-Key: ", e.idempotency_key,
      "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", body);
}

bool operator==(const EscalationState& a, const EscalationState& b) {
  return a.policy_id == b.policy_id && a.epoch == b.epoch && a.tier == b.tier &&
         a.cycle == b.cycle && a.started_at == b.started_at && a.last_page_at == b.last_page_at;
}

EscalationState EffectiveState(const Incident& incident,
                               const std::optional<EscalationState>& current,
                               const EscalationPolicy& policy, absl::Time now) {
  if (current.has_value() && !(incident.escalation_tier == -1 && current->tier >= 0)) {
    return *current;
  }
  EscalationState state;
  state.policy_id = policy.id;
  if (current.has_value()) {
    state.epoch = current->epoch + 1;
    state.started_at = TruncateToMicros(now);
  } else {
    state.started_at = incident.create_time;
  }
  return state;
}

std::optional<EscalationStep> NextEscalation(const Incident& incident, const EscalationState& state,
                                             const EscalationPolicy& policy,
                                             absl::Duration group_wait) {
  if (policy.tiers.empty()) return std::nullopt;
  if (incident.status == IncidentStatus::kAcknowledged) {
    if (!policy.acknowledge_timeout.has_value() || !incident.acknowledge_time.has_value()) {
      return std::nullopt;
    }
    EscalationStep step;
    step.action = EscalationAction::kAcknowledgeTimeout;
    step.due = *incident.acknowledge_time + *policy.acknowledge_timeout;
    return step;
  }
  if (incident.status != IncidentStatus::kTriggered) return std::nullopt;
  const int tiers = static_cast<int>(policy.tiers.size());
  EscalationStep step;
  if (state.tier < 0 || !state.last_page_at.has_value()) {
    step.tier = 0;
    step.cycle = 0;
    step.due = state.started_at + policy.tiers[0].delay;
    if (state.epoch == 0) step.due = std::max(step.due, incident.create_time + group_wait);
    return step;
  }
  if (state.tier + 1 < tiers) {
    step.tier = state.tier + 1;
    step.cycle = state.cycle;
    step.due = *state.last_page_at + policy.tiers[static_cast<size_t>(step.tier)].delay;
    return step;
  }
  if (state.cycle < policy.repeat_count) {
    step.tier = 0;
    step.cycle = state.cycle + 1;
    step.due = *state.last_page_at + RepeatDelay(policy);
    return step;
  }
  return std::nullopt;
}

AcknowledgeTimeoutChange AcknowledgeTimedOut(const Incident& incident, const EscalationState& state,
                                             absl::Time now) {
  now = TruncateToMicros(now);
  AcknowledgeTimeoutChange change;
  change.incident = incident;
  change.incident.status = IncidentStatus::kTriggered;
  change.incident.escalation_tier = -1;
  change.incident.update_time = now;
  change.state = state;
  change.state.epoch = state.epoch + 1;
  change.state.tier = -1;
  change.state.cycle = 0;
  change.state.started_at = now;
  change.state.last_page_at.reset();
  change.entry.tenant = incident.tenant;
  change.entry.incident_id = incident.id;
  change.entry.time = now;
  change.entry.actor = std::string(kEscalationActor);
  change.entry.kind = std::string(timeline_kind::kEscalated);
  change.entry.text = "Acknowledgement timed out; escalating again from the first tier";
  change.entry.details = {{"reason", "acknowledge_timeout"},
                          {"from", StatusName(IncidentStatus::kAcknowledged)},
                          {"to", StatusName(IncidentStatus::kTriggered)},
                          {"epoch", absl::StrCat(change.state.epoch)}};
  return change;
}

}  // namespace agentwatch::incident
