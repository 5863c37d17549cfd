#include "incident/api/proto_mapping.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <re2/re2.h>

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "incident/core/validation.h"

namespace agentwatch::incident {
namespace {

using common::InvalidField;

// 9999-12-31T23:59:59Z, the last second a Timestamp may hold.
constexpr int64_t kMaxTimestampSeconds = 253402300799;

template <typename Map>
Labels MapFromProto(const Map& map) {
  return Labels(map.begin(), map.end());
}

template <typename Map>
void MapToProto(const Labels& labels, Map* out) {
  for (const auto& [name, value] : labels) (*out)[name] = value;
}

}  // namespace

namespace {

// Why `ts` is not a time intake takes; null when it is.
const char* TimeProblem(const google::protobuf::Timestamp& ts) {
  if (ts.nanos() < 0 || ts.nanos() > 999'999'999) return "nanos must be in [0, 999999999]";
  if (ts.seconds() < 0 || ts.seconds() > kMaxTimestampSeconds) {
    return "out of range (1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z)";
  }
  return nullptr;
}

// TimeFromProto for `member` of the alert at `field` (e.g. "alerts[2]"
// ".starts_at"): the field name is built only for an error.
absl::StatusOr<absl::Time> AlertTimeFromProto(const google::protobuf::Timestamp& ts,
                                              absl::string_view field, absl::string_view member) {
  if (const char* problem = TimeProblem(ts); problem != nullptr) {
    return InvalidField(absl::StrCat(field, member), problem);
  }
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace

absl::StatusOr<absl::Time> TimeFromProto(const google::protobuf::Timestamp& ts,
                                         absl::string_view field) {
  if (const char* problem = TimeProblem(ts); problem != nullptr) {
    return InvalidField(field, problem);
  }
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

void TimeToProto(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

absl::StatusOr<AlertReport> AlertFromProto(const v1::Alert& alert, absl::string_view field) {
  AlertReport report;
  report.fingerprint = alert.fingerprint();
  report.name = alert.name();
  report.severity = static_cast<Severity>(alert.severity());
  report.tenant = alert.tenant();
  report.labels = MapFromProto(alert.labels());
  report.annotations = MapFromProto(alert.annotations());
  report.status = static_cast<AlertStatus>(alert.status());
  report.source = alert.source();
  report.generator_url = alert.generator_url();
  if (alert.has_starts_at()) {
    ASSIGN_OR_RETURN(report.starts_at,
                     AlertTimeFromProto(alert.starts_at(), field, ".starts_at"));
  }
  if (alert.has_ends_at() && alert.status() == v1::ALERT_STATUS_RESOLVED) {
    ASSIGN_OR_RETURN(report.ends_at,
                     AlertTimeFromProto(alert.ends_at(), field, ".ends_at"));
  }
  return report;
}

void IncidentToProto(const Incident& incident, v1::Incident* out) {
  out->set_id(incident.id);
  out->set_title(incident.title);
  out->set_status(static_cast<v1::IncidentStatus>(incident.status));
  out->set_severity(static_cast<common::v1::Severity>(incident.severity));
  out->set_tenant(incident.tenant);
  out->set_group_key(incident.group_key);
  MapToProto(incident.labels, out->mutable_labels());
  out->set_alert_count(incident.alert_count);
  out->set_firing_alert_count(incident.firing_alert_count);
  out->set_owner(incident.owner);
  TimeToProto(incident.start_time, out->mutable_start_time());
  TimeToProto(incident.create_time, out->mutable_create_time());
  TimeToProto(incident.update_time, out->mutable_update_time());
  if (incident.acknowledge_time) {
    TimeToProto(*incident.acknowledge_time, out->mutable_acknowledge_time());
  }
  if (incident.mitigate_time) TimeToProto(*incident.mitigate_time, out->mutable_mitigate_time());
  if (incident.resolve_time) TimeToProto(*incident.resolve_time, out->mutable_resolve_time());
  if (incident.close_time) TimeToProto(*incident.close_time, out->mutable_close_time());
  out->set_escalation_tier(incident.escalation_tier);
  out->set_auto_resolved(incident.auto_resolved);
  out->set_postmortem_id(incident.postmortem_id);
}

void AlertToProto(const AlertState& alert, v1::Alert* out) {
  out->set_fingerprint(alert.fingerprint);
  out->set_name(alert.name);
  out->set_severity(static_cast<common::v1::Severity>(alert.severity));
  out->set_tenant(alert.tenant);
  MapToProto(alert.labels, out->mutable_labels());
  MapToProto(alert.annotations, out->mutable_annotations());
  TimeToProto(alert.starts_at, out->mutable_starts_at());
  if (alert.ends_at) TimeToProto(*alert.ends_at, out->mutable_ends_at());
  out->set_status(static_cast<v1::AlertStatus>(alert.status));
  out->set_source(alert.source);
  out->set_generator_url(alert.generator_url);
}

void TimelineEntryToProto(const TimelineEntry& entry, v1::TimelineEntry* out) {
  TimeToProto(entry.time, out->mutable_time());
  out->set_actor(entry.actor);
  out->set_kind(entry.kind);
  out->set_text(entry.text);
  MapToProto(entry.details, out->mutable_details());
}

uint64_t FilterDigest(const v1::ListIncidentsRequest& request) {
  v1::ListIncidentsRequest filters = request;
  filters.clear_page_size();
  filters.clear_page_token();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    filters.SerializeToCodedStream(&coded);
  }
  return Fnv1a64(bytes);
}

absl::StatusOr<IncidentQuery> QueryFromProto(const v1::ListIncidentsRequest& request) {
  IncidentQuery query;
  for (int i = 0; i < request.statuses_size(); ++i) {
    const auto status = static_cast<IncidentStatus>(request.statuses(i));
    if (!IsValid(status)) {
      return InvalidField(absl::StrCat("statuses[", i, "]"),
                          absl::StrCat("not a status: ", request.statuses(i)));
    }
    query.statuses.push_back(status);
  }
  for (int i = 0; i < request.severities_size(); ++i) {
    const auto severity = static_cast<Severity>(request.severities(i));
    if (!IsValid(severity)) {
      return InvalidField(absl::StrCat("severities[", i, "]"),
                          absl::StrCat("not a severity: ", request.severities(i)));
    }
    query.severities.push_back(severity);
  }
  RETURN_IF_ERROR(ValidateOptional(request.tenant(), "tenant", kMaxTenantBytes));
  query.tenant = request.tenant();
  if (request.has_range()) {
    if (request.range().has_start()) {
      ASSIGN_OR_RETURN(query.created_from, TimeFromProto(request.range().start(), "range.start"));
    }
    if (request.range().has_end()) {
      ASSIGN_OR_RETURN(query.created_before, TimeFromProto(request.range().end(), "range.end"));
    }
    if (query.created_from && query.created_before &&
        *query.created_before <= *query.created_from) {
      return InvalidField("range.end", "must be after range.start");
    }
  }
  for (int i = 0; i < request.matchers_size(); ++i) {
    const common::v1::LabelMatcher& m = request.matchers(i);
    const std::string field = absl::StrCat("matchers[", i, "]");
    LabelMatcher matcher{m.name(), static_cast<MatchOp>(m.op()), m.value()};
    RETURN_IF_ERROR(ValidateMatcher(matcher, field));
    RETURN_IF_ERROR(
        ValidateOptional(matcher.name, absl::StrCat(field, ".name"), kMaxLabelNameBytes));
    RETURN_IF_ERROR(
        ValidateOptional(matcher.value, absl::StrCat(field, ".value"), kMaxLabelValueBytes));
    if (matcher.op == MatchOp::kRegex || matcher.op == MatchOp::kNotRegex) {
      const RE2 re(matcher.value, RE2::Quiet);
      if (!re.ok()) {
        return InvalidField(absl::StrCat(field, ".value"),
                            absl::StrCat("invalid regular expression: ", re.error()));
      }
    }
    query.matchers.push_back(std::move(matcher));
  }
  RETURN_IF_ERROR(ValidateOptional(request.owner(), "owner", kMaxActorBytes));
  query.owner = request.owner();
  ASSIGN_OR_RETURN(query.page_size, NormalizePageSize(request.page_size()));
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(query.after, DecodePageToken(request.page_token(), FilterDigest(request)));
  }
  return query;
}

absl::StatusOr<Silence> SilenceFromProto(const v1::Silence& silence, absl::string_view field,
                                         absl::Time now) {
  Silence out;
  out.tenant = silence.tenant();
  for (const common::v1::LabelMatcher& m : silence.matchers()) {
    out.matchers.push_back(LabelMatcher{m.name(), static_cast<MatchOp>(m.op()), m.value()});
  }
  if (silence.has_starts_at()) {
    ASSIGN_OR_RETURN(out.starts_at,
                     TimeFromProto(silence.starts_at(), absl::StrCat(field, ".starts_at")));
  } else {
    out.starts_at = TruncateToMicros(now);
  }
  if (silence.has_ends_at()) {
    ASSIGN_OR_RETURN(out.ends_at,
                     TimeFromProto(silence.ends_at(), absl::StrCat(field, ".ends_at")));
  }
  out.author = silence.author();
  out.comment = silence.comment();
  if (silence.has_recurrence()) {
    const common::v1::WeeklyWindow& w = silence.recurrence();
    WeeklyWindow window;
    std::set<int> days(w.days().begin(), w.days().end());
    for (int day : days) window.days.push_back(static_cast<DayOfWeek>(day));
    window.start_minute = w.start_minute();
    window.end_minute = w.end_minute();
    window.time_zone = w.time_zone();
    out.recurrence = std::move(window);
  }
  return out;
}

void SilenceToProto(const Silence& silence, absl::Time now, v1::Silence* out) {
  out->set_id(silence.id);
  out->set_tenant(silence.tenant);
  for (const LabelMatcher& m : silence.matchers) {
    common::v1::LabelMatcher* matcher = out->add_matchers();
    matcher->set_name(m.name);
    matcher->set_op(static_cast<common::v1::MatchOp>(m.op));
    matcher->set_value(m.value);
  }
  TimeToProto(silence.starts_at, out->mutable_starts_at());
  if (silence.ends_at) TimeToProto(*silence.ends_at, out->mutable_ends_at());
  out->set_author(silence.author);
  out->set_comment(silence.comment);
  if (silence.recurrence) {
    common::v1::WeeklyWindow* w = out->mutable_recurrence();
    for (DayOfWeek day : silence.recurrence->days) {
      w->add_days(static_cast<common::v1::DayOfWeek>(day));
    }
    w->set_start_minute(silence.recurrence->start_minute);
    w->set_end_minute(silence.recurrence->end_minute);
    w->set_time_zone(silence.recurrence->time_zone);
  }
  out->set_state(static_cast<v1::SilenceState>(StateAt(silence, now)));
  TimeToProto(silence.create_time, out->mutable_create_time());
  TimeToProto(silence.update_time, out->mutable_update_time());
}

uint64_t FilterDigest(const v1::ListSilencesRequest& request) {
  return Fnv1a64(
      absl::StrCat("silences\n", request.tenant(), "\n", request.include_expired() ? "1" : "0"));
}

}  // namespace agentwatch::incident
