#include "incident/api/paging_mapping.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "incident/api/proto_mapping.h"

namespace agentwatch::incident {
namespace {

using common::InvalidField;

WeeklyWindow WindowFromProto(const common::v1::WeeklyWindow& w) {
  WeeklyWindow out;
  for (int d : w.days()) out.days.push_back(static_cast<DayOfWeek>(d));
  out.start_minute = w.start_minute();
  out.end_minute = w.end_minute();
  out.time_zone = w.time_zone();
  return out;
}

std::vector<LabelMatcher> MatchersFromProto(
    const google::protobuf::RepeatedPtrField<common::v1::LabelMatcher>& matchers) {
  std::vector<LabelMatcher> out;
  for (const common::v1::LabelMatcher& m : matchers) {
    out.push_back(LabelMatcher{m.name(), static_cast<MatchOp>(m.op()), m.value()});
  }
  return out;
}

Severity SeverityFromName(const std::string& name) {
  for (Severity s : {Severity::kP0, Severity::kP1, Severity::kP2, Severity::kP3}) {
    if (name == SeverityName(s)) return s;
  }
  return Severity::kUnspecified;
}

IncidentStatus StatusFromName(const std::string& name) {
  for (IncidentStatus s :
       {IncidentStatus::kTriggered, IncidentStatus::kAcknowledged, IncidentStatus::kMitigated,
        IncidentStatus::kResolved, IncidentStatus::kClosed}) {
    if (name == StatusName(s)) return s;
  }
  return IncidentStatus::kUnspecified;
}

}  // namespace

absl::StatusOr<absl::Duration> DurationFromProto(const google::protobuf::Duration& d,
                                                 absl::string_view field) {
  if (d.nanos() <= -1'000'000'000 || d.nanos() >= 1'000'000'000 ||
      (d.seconds() > 0 && d.nanos() < 0) || (d.seconds() < 0 && d.nanos() > 0) ||
      d.seconds() > 315'576'000'000 || d.seconds() < -315'576'000'000) {
    return InvalidField(field, "not a valid duration");
  }
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

void DurationToProto(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  out->set_seconds(nanos / 1'000'000'000);
  out->set_nanos(static_cast<int32_t>(nanos % 1'000'000'000));
}

absl::StatusOr<EscalationPolicy> PolicyFromProto(const v1::EscalationPolicy& p,
                                                 absl::string_view field) {
  EscalationPolicy out;
  out.id = p.id();
  out.name = p.name();
  out.tenant = p.tenant();
  out.description = p.description();
  out.matchers = MatchersFromProto(p.matchers());
  out.priority = p.priority();
  out.repeat_count = p.repeat_count();
  for (int i = 0; i < p.tiers_size(); ++i) {
    const v1::EscalationTier& t = p.tiers(i);
    const std::string tf = absl::StrCat(field, ".tiers[", i, "]");
    EscalationTier tier;
    ASSIGN_OR_RETURN(tier.delay, DurationFromProto(t.delay(), absl::StrCat(tf, ".delay")));
    for (const v1::EscalationTarget& target : t.targets()) {
      using Kind = EscalationTarget::Kind;
      switch (target.target_case()) {
        case v1::EscalationTarget::kPerson:
          tier.targets.push_back({Kind::kPerson, target.person()});
          break;
        case v1::EscalationTarget::kScheduleId:
          tier.targets.push_back({Kind::kSchedule, target.schedule_id()});
          break;
        case v1::EscalationTarget::kChannelId:
          tier.targets.push_back({Kind::kChannel, target.channel_id()});
          break;
        case v1::EscalationTarget::TARGET_NOT_SET:
          tier.targets.push_back({Kind::kUnspecified, ""});
          break;
      }
    }
    out.tiers.push_back(std::move(tier));
  }
  if (p.has_acknowledge_timeout()) {
    ASSIGN_OR_RETURN(
        out.acknowledge_timeout,
        DurationFromProto(p.acknowledge_timeout(), absl::StrCat(field, ".acknowledge_timeout")));
  }
  return out;
}

absl::StatusOr<Schedule> ScheduleFromProto(const v1::Schedule& s, absl::string_view field) {
  Schedule out;
  out.id = s.id();
  out.name = s.name();
  out.tenant = s.tenant();
  out.time_zone = s.time_zone();
  for (int i = 0; i < s.rotations_size(); ++i) {
    const v1::Rotation& r = s.rotations(i);
    const std::string rf = absl::StrCat(field, ".rotations[", i, "]");
    Rotation rotation;
    rotation.name = r.name();
    rotation.participants.assign(r.participants().begin(), r.participants().end());
    if (!r.has_start_time()) return InvalidField(absl::StrCat(rf, ".start_time"), "required");
    ASSIGN_OR_RETURN(rotation.start_time,
                     TimeFromProto(r.start_time(), absl::StrCat(rf, ".start_time")));
    if (!r.has_shift_length()) return InvalidField(absl::StrCat(rf, ".shift_length"), "required");
    ASSIGN_OR_RETURN(rotation.shift_length,
                     DurationFromProto(r.shift_length(), absl::StrCat(rf, ".shift_length")));
    for (const common::v1::WeeklyWindow& w : r.restrictions()) {
      rotation.restrictions.push_back(WindowFromProto(w));
    }
    out.rotations.push_back(std::move(rotation));
  }
  for (int i = 0; i < s.overrides_size(); ++i) {
    const v1::ScheduleOverride& o = s.overrides(i);
    const std::string of = absl::StrCat(field, ".overrides[", i, "]");
    ScheduleOverride item;
    item.id = o.id();
    item.person = o.person();
    if (!o.range().has_start() || !o.range().has_end()) {
      return InvalidField(absl::StrCat(of, ".range"), "start and end required");
    }
    ASSIGN_OR_RETURN(item.start,
                     TimeFromProto(o.range().start(), absl::StrCat(of, ".range.start")));
    ASSIGN_OR_RETURN(item.end, TimeFromProto(o.range().end(), absl::StrCat(of, ".range.end")));
    out.overrides.push_back(std::move(item));
  }
  return out;
}

void ApplyChannelDefaults(v1::NotificationChannel* c) {
  switch (c->config_case()) {
    case v1::NotificationChannel::kWebhook:
      if (!c->webhook().has_timeout()) c->mutable_webhook()->mutable_timeout()->set_seconds(5);
      break;
    case v1::NotificationChannel::kPagerduty:
      if (c->pagerduty().events_url().empty()) {
        c->mutable_pagerduty()->set_events_url(std::string(kPagerDutyEventsUrl));
      }
      break;
    case v1::NotificationChannel::kEmail:
      if (c->email().smtp_port() == 0) c->mutable_email()->set_smtp_port(587);
      break;
    default:
      break;
  }
}

absl::StatusOr<NotificationChannel> ChannelFromProto(const v1::NotificationChannel& in,
                                                     absl::string_view field) {
  v1::NotificationChannel c = in;
  ApplyChannelDefaults(&c);
  NotificationChannel out;
  out.id = c.id();
  out.name = c.name();
  out.tenant = c.tenant();
  out.person = c.person();
  out.min_severity = static_cast<Severity>(c.min_severity());
  out.disabled = c.disabled();
  switch (c.config_case()) {
    case v1::NotificationChannel::kWebhook: {
      out.kind = ChannelKind::kWebhook;
      out.url = c.webhook().url();
      out.secret_ref = c.webhook().hmac_secret_ref();
      out.headers.insert(c.webhook().headers().begin(), c.webhook().headers().end());
      ASSIGN_OR_RETURN(out.timeout, DurationFromProto(c.webhook().timeout(),
                                                      absl::StrCat(field, ".webhook.timeout")));
      break;
    }
    case v1::NotificationChannel::kSlack:
      out.kind = ChannelKind::kSlack;
      out.secret_ref = c.slack().webhook_url_ref();
      out.slack_channel = c.slack().channel();
      break;
    case v1::NotificationChannel::kPagerduty:
      out.kind = ChannelKind::kPagerDuty;
      out.secret_ref = c.pagerduty().routing_key_ref();
      out.url = c.pagerduty().events_url();
      break;
    case v1::NotificationChannel::kEmail:
      out.kind = ChannelKind::kEmail;
      out.smtp_host = c.email().smtp_host();
      out.smtp_port = c.email().smtp_port();
      out.starttls = c.email().starttls();
      out.username = c.email().username();
      out.secret_ref = c.email().password_ref();
      out.from_address = c.email().from_address();
      out.to_addresses.assign(c.email().to_addresses().begin(), c.email().to_addresses().end());
      break;
    case v1::NotificationChannel::CONFIG_NOT_SET:
      out.kind = ChannelKind::kUnspecified;
      break;
  }
  return out;
}

void ShiftToProto(const OnCallShift& shift, v1::OnCallShift* out) {
  out->set_person(shift.person);
  out->set_rotation(shift.rotation);
  TimeToProto(shift.start, out->mutable_start_time());
  TimeToProto(shift.end, out->mutable_end_time());
  out->set_is_override(shift.is_override);
}

absl::StatusOr<NotificationEvent> ParseNotificationEvent(absl::string_view json) {
  google::protobuf::Struct object;
  const auto status = google::protobuf::util::JsonStringToMessage(std::string(json), &object);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("bad notification payload: ", status.ToString()));
  }
  const auto& f = object.fields();
  auto text = [&](const std::string& name) -> std::string {
    auto it = f.find(name);
    return it == f.end() ? std::string() : it->second.string_value();
  };
  auto number = [&](const std::string& name) -> int32_t {
    auto it = f.find(name);
    return it == f.end() ? 0 : static_cast<int32_t>(it->second.number_value());
  };
  NotificationEvent e;
  e.idempotency_key = text("idempotency_key");
  e.event = text("event");
  e.tenant = text("tenant");
  e.tier = number("tier");
  e.cycle = number("cycle");
  e.person = text("person");
  e.channel_id = text("channel_id");
  auto incident = f.find("incident");
  if (incident == f.end() || e.idempotency_key.empty() || e.channel_id.empty()) {
    return absl::InternalError("notification payload lacks incident, key or channel");
  }
  const auto& i = incident->second.struct_value().fields();
  auto itext = [&](const std::string& name) -> std::string {
    auto it = i.find(name);
    return it == i.end() ? std::string() : it->second.string_value();
  };
  e.incident_id = itext("id");
  e.title = itext("title");
  e.severity = SeverityFromName(itext("severity"));
  e.status = StatusFromName(itext("status"));
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text("time"), &e.time, &error)) {
    return absl::InternalError(absl::StrCat("bad notification time: ", error));
  }
  return e;
}

}  // namespace agentwatch::incident
