#include "capacity/api/resource_convert.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

constexpr int64_t kMaxDurationSeconds = 315'576'000'000;

absl::StatusOr<MatchOp> MatchOpFromProto(common::v1::MatchOp op, const std::string& field) {
  switch (op) {
    case common::v1::MATCH_OP_EQUAL:
      return MatchOp::kEqual;
    case common::v1::MATCH_OP_NOT_EQUAL:
      return MatchOp::kNotEqual;
    case common::v1::MATCH_OP_REGEX:
      return MatchOp::kRegex;
    case common::v1::MATCH_OP_NOT_REGEX:
      return MatchOp::kNotRegex;
    default:
      return common::InvalidField(field, "must be one of EQUAL, NOT_EQUAL, REGEX, NOT_REGEX");
  }
}

common::v1::MatchOp MatchOpToProto(MatchOp op) {
  switch (op) {
    case MatchOp::kNotEqual:
      return common::v1::MATCH_OP_NOT_EQUAL;
    case MatchOp::kRegex:
      return common::v1::MATCH_OP_REGEX;
    case MatchOp::kNotRegex:
      return common::v1::MATCH_OP_NOT_REGEX;
    default:
      return common::v1::MATCH_OP_EQUAL;
  }
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t seconds = absl::ToInt64Seconds(d);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>((d - absl::Seconds(seconds)) / absl::Nanoseconds(1)));
}

const std::set<std::string>& WritablePaths() {
  static const auto* paths = new std::set<std::string>{
      "name",     "kind",         "metric",  "matchers", "per_unit_capacity", "target_utilization",
      "current",  "min",          "max",     "labels",   "alert_horizon",     "alert_severity",
      "stateful", "request_unit", "headroom"};
  return *paths;
}

void CopyPath(const std::string& path, const Resource& from, Resource* to) {
  if (path == "name") to->name = from.name;
  if (path == "kind") to->kind = from.kind;
  if (path == "metric") to->metric = from.metric;
  if (path == "matchers") to->matchers = from.matchers;
  if (path == "per_unit_capacity") to->per_unit_capacity = from.per_unit_capacity;
  if (path == "target_utilization") to->target_utilization = from.target_utilization;
  if (path == "current") to->current = from.current;
  if (path == "min") to->min = from.min;
  if (path == "max") to->max = from.max;
  if (path == "labels") to->labels = from.labels;
  if (path == "alert_horizon") to->alert_horizon = from.alert_horizon;
  if (path == "alert_severity") to->alert_severity = from.alert_severity;
  if (path == "stateful") to->stateful = from.stateful;
  if (path == "request_unit") to->request_unit = from.request_unit;
  if (path == "headroom") to->headroom = from.headroom;
}

}  // namespace

void SetProtoTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1'000'000;
  int64_t rest = micros % 1'000'000;
  if (rest < 0) {
    rest += 1'000'000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest * 1000));
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

absl::StatusOr<Resource> ResourceFromProto(const v1::Resource& in, absl::string_view prefix) {
  const auto field = [prefix](absl::string_view name) { return absl::StrCat(prefix, name); };
  Resource r;
  r.tenant = in.tenant();
  r.name = in.name();
  switch (in.kind()) {
    case v1::RESOURCE_KIND_UNSPECIFIED:
    case v1::RESOURCE_KIND_REPLICAS:
    case v1::RESOURCE_KIND_TOKEN_QUOTA_TPM:
    case v1::RESOURCE_KIND_REQUEST_QUOTA_RPM:
    case v1::RESOURCE_KIND_DB_CONNECTIONS:
    case v1::RESOURCE_KIND_QUEUE:
      r.kind = static_cast<ResourceKind>(in.kind());
      break;
    default:
      return common::InvalidField(field("kind"), "is not a known ResourceKind");
  }
  r.metric = in.metric();
  for (int i = 0; i < in.matchers_size(); ++i) {
    const std::string name = field(absl::StrCat("matchers[", i, "]"));
    ASSIGN_OR_RETURN(const MatchOp op,
                     MatchOpFromProto(in.matchers(i).op(), absl::StrCat(name, ".op")));
    r.matchers.push_back({in.matchers(i).name(), op, in.matchers(i).value()});
  }
  r.per_unit_capacity = in.per_unit_capacity();
  r.target_utilization = in.target_utilization();
  r.current = in.current();
  r.min = in.min();
  r.max = in.max();
  r.labels.insert(in.labels().begin(), in.labels().end());
  if (in.has_alert_horizon()) {
    const google::protobuf::Duration& d = in.alert_horizon();
    if (d.seconds() < 0 || d.seconds() > kMaxDurationSeconds || d.nanos() < 0 ||
        d.nanos() >= 1'000'000'000) {
      return common::InvalidField(field("alert_horizon"), "must be a non-negative duration");
    }
    r.alert_horizon = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  }
  switch (in.alert_severity()) {
    case common::v1::SEVERITY_UNSPECIFIED:
      r.alert_severity = Severity::kP2;
      break;
    case common::v1::SEVERITY_P0:
    case common::v1::SEVERITY_P1:
    case common::v1::SEVERITY_P2:
    case common::v1::SEVERITY_P3:
      r.alert_severity = static_cast<Severity>(in.alert_severity());
      break;
    default:
      return common::InvalidField(field("alert_severity"), "is not a known Severity");
  }
  r.stateful = in.stateful();
  r.request_unit = in.request_unit();
  if (in.has_headroom()) r.headroom = in.headroom();
  return r;
}

absl::Status ApplyResourceMask(const Resource& patch, const std::vector<std::string>& paths,
                               Resource* target) {
  if (paths.empty()) {
    for (const std::string& path : WritablePaths()) CopyPath(path, patch, target);
    return absl::OkStatus();
  }
  for (const std::string& path : paths) {
    if (path == "id" || path == "tenant" || path == "create_time" || path == "update_time") {
      return common::InvalidField("update_mask", absl::StrCat(path, " is read-only"));
    }
    if (WritablePaths().count(path) == 0) {
      return common::InvalidField("update_mask",
                                  absl::StrCat("unknown field \"", path, "\" of Resource"));
    }
  }
  for (const std::string& path : paths) CopyPath(path, patch, target);
  return absl::OkStatus();
}

void ResourceToProto(const Resource& r, v1::Resource* out) {
  out->Clear();
  out->set_id(r.id);
  out->set_name(r.name);
  out->set_tenant(r.tenant);
  out->set_kind(static_cast<v1::ResourceKind>(r.kind));
  out->set_metric(r.metric);
  for (const LabelMatcher& m : r.matchers) {
    common::v1::LabelMatcher* matcher = out->add_matchers();
    matcher->set_name(m.name);
    matcher->set_op(MatchOpToProto(m.op));
    matcher->set_value(m.value);
  }
  out->set_per_unit_capacity(r.per_unit_capacity);
  out->set_target_utilization(r.target_utilization);
  out->set_current(r.current);
  out->set_min(r.min);
  out->set_max(r.max);
  out->mutable_labels()->insert(r.labels.begin(), r.labels.end());
  SetDuration(r.alert_horizon, out->mutable_alert_horizon());
  out->set_alert_severity(static_cast<common::v1::Severity>(r.alert_severity));
  SetProtoTime(r.create_time, out->mutable_create_time());
  SetProtoTime(r.update_time, out->mutable_update_time());
  out->set_stateful(r.stateful);
  out->set_request_unit(r.request_unit);
  out->set_headroom(r.headroom);
}

void RecommendationToProto(const Recommendation& r, v1::Recommendation* out) {
  out->Clear();
  out->set_resource(r.resource_id);
  out->set_resource_name(r.resource_name);
  out->set_kind(static_cast<v1::RecommendationKind>(r.kind));
  out->set_current(r.current);
  out->set_recommended(r.recommended);
  out->set_reason(r.reason);
  out->set_confidence(r.confidence);
  SetProtoTime(r.valid_until, out->mutable_valid_until());
  out->set_utilization(r.utilization);
  out->set_unit(r.unit);
  out->set_forecast_peak(r.forecast_peak);
  SetProtoTime(r.peak_time, out->mutable_peak_time());
  if (r.breach_time.has_value()) SetProtoTime(*r.breach_time, out->mutable_breach_time());
  for (const ScheduleStep& step : r.schedule) {
    v1::ScheduledScalingStep* s = out->add_schedule();
    for (int day : step.days)
      s->mutable_window()->add_days(static_cast<common::v1::DayOfWeek>(day));
    s->mutable_window()->set_start_minute(step.start_minute);
    s->mutable_window()->set_end_minute(step.end_minute);
    s->mutable_window()->set_time_zone("UTC");
    s->set_value(step.value);
  }
}

void UsagePatternsToProto(const UsagePatterns& p, v1::UsagePatterns* out) {
  out->Clear();
  for (double v : p.hour_of_day) out->add_hour_of_day(v);
  for (double v : p.day_of_week) out->add_day_of_week(v);
  for (int h : p.peak_hours) out->add_peak_hours(h);
  out->set_peak_day(static_cast<common::v1::DayOfWeek>(p.peak_day));
  out->set_growth_rate_per_week(p.growth_rate_per_week);
  for (const UsageChange& c : p.changepoints) {
    v1::Changepoint* change = out->add_changepoints();
    SetProtoTime(c.time, change->mutable_time());
    change->set_level_before(c.level_before);
    change->set_level_after(c.level_after);
  }
  SetProtoTime(p.start, out->mutable_range()->mutable_start());
  SetProtoTime(p.end, out->mutable_range()->mutable_end());
  out->set_history_points(p.points);
}

}  // namespace agentwatch::capacity
