#include "incident/core/sla.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "incident/core/validation.h"

namespace agentwatch::incident {
namespace {

using common::InvalidField;

constexpr Severity kSeverities[] = {Severity::kP0, Severity::kP1, Severity::kP2, Severity::kP3};

// The instant of a local time: a skipped local time is the transition; a
// repeated one the earlier instant, or the later one when `late`.
absl::Time Instant(const absl::TimeZone& zone, absl::CivilSecond civil, bool late) {
  const absl::TimeZone::TimeInfo info = zone.At(civil);
  switch (info.kind) {
    case absl::TimeZone::TimeInfo::SKIPPED:
      return info.trans;
    case absl::TimeZone::TimeInfo::REPEATED:
      return late ? info.post : info.pre;
    case absl::TimeZone::TimeInfo::UNIQUE:
      break;
  }
  return info.pre;
}

// Monday = 1 .. Sunday = 7, as DayOfWeek.
int IsoWeekday(absl::CivilDay day) {
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::monday:
      return 1;
    case absl::Weekday::tuesday:
      return 2;
    case absl::Weekday::wednesday:
      return 3;
    case absl::Weekday::thursday:
      return 4;
    case absl::Weekday::friday:
      return 5;
    case absl::Weekday::saturday:
      return 6;
    case absl::Weekday::sunday:
      return 7;
  }
  return 0;
}

bool IsBusinessDay(const WeeklyWindow& hours, absl::CivilDay day) {
  if (hours.days.empty()) return true;
  const int weekday = IsoWeekday(day);
  return std::any_of(hours.days.begin(), hours.days.end(),
                     [&](DayOfWeek d) { return static_cast<int>(d) == weekday; });
}

bool SameWindow(const WeeklyWindow& a, const WeeklyWindow& b) {
  return a.days == b.days && a.start_minute == b.start_minute && a.end_minute == b.end_minute &&
         a.time_zone == b.time_zone;
}

std::optional<absl::Time> Earliest(std::initializer_list<std::optional<absl::Time>> times) {
  std::optional<absl::Time> out;
  for (const std::optional<absl::Time>& t : times) {
    if (t.has_value() && (!out.has_value() || *t < *out)) out = t;
  }
  return out;
}

}  // namespace

bool operator==(const SlaTarget& a, const SlaTarget& b) {
  return a.severity == b.severity && a.acknowledge_within == b.acknowledge_within &&
         a.resolve_within == b.resolve_within && a.next_business_day == b.next_business_day;
}

bool operator==(const SlaPolicy& a, const SlaPolicy& b) {
  return a.tenant == b.tenant && a.targets == b.targets &&
         SameWindow(a.business_hours, b.business_hours) && a.update_time == b.update_time;
}

bool operator==(const SlaBreach& a, const SlaBreach& b) {
  return std::tie(a.tenant, a.incident_id, a.kind, a.severity, a.due_time, a.detect_time) ==
         std::tie(b.tenant, b.incident_id, b.kind, b.severity, b.due_time, b.detect_time);
}

SlaPolicy DefaultSlaPolicy(absl::string_view tenant) {
  SlaPolicy policy;
  policy.tenant = std::string(tenant);
  policy.targets = {
      SlaTarget{Severity::kP0, absl::Minutes(15), std::nullopt, false},
      SlaTarget{Severity::kP1, absl::Minutes(30), std::nullopt, false},
      SlaTarget{Severity::kP2, absl::Hours(2), std::nullopt, false},
      SlaTarget{Severity::kP3, absl::ZeroDuration(), std::nullopt, true},
  };
  policy.business_hours.days = {DayOfWeek::kMonday, DayOfWeek::kTuesday, DayOfWeek::kWednesday,
                                DayOfWeek::kThursday, DayOfWeek::kFriday};
  policy.business_hours.start_minute = 9 * 60;
  policy.business_hours.end_minute = 17 * 60;
  policy.business_hours.time_zone = "UTC";
  return policy;
}

const SlaTarget& TargetFor(const SlaPolicy& policy, Severity severity) {
  for (const SlaTarget& target : policy.targets) {
    if (target.severity == severity) return target;
  }
  for (const SlaTarget& target : policy.targets) {
    if (target.severity == Severity::kP2) return target;
  }
  static const SlaPolicy* const kDefault = new SlaPolicy(DefaultSlaPolicy(""));
  return kDefault->targets[2];
}

absl::Status ValidateSlaPolicy(const SlaPolicy& policy, absl::string_view field) {
  RETURN_IF_ERROR(ValidateOptional(policy.tenant, absl::StrCat(field, ".tenant"), kMaxTenantBytes));
  std::vector<Severity> seen;
  for (size_t i = 0; i < policy.targets.size(); ++i) {
    const SlaTarget& target = policy.targets[i];
    const std::string tf = absl::StrCat(field, ".targets[", i, "]");
    if (target.severity == Severity::kUnspecified) {
      return InvalidField(absl::StrCat(tf, ".severity"), "required");
    }
    if (!IsValid(target.severity)) {
      return InvalidField(absl::StrCat(tf, ".severity"),
                          absl::StrCat("unknown value ", static_cast<int>(target.severity)));
    }
    if (std::find(seen.begin(), seen.end(), target.severity) != seen.end()) {
      return InvalidField(absl::StrCat(tf, ".severity"),
                          absl::StrCat(SeverityName(target.severity), " appears twice"));
    }
    seen.push_back(target.severity);
    if (target.acknowledge_within < absl::ZeroDuration() ||
        (!target.next_business_day && target.acknowledge_within == absl::ZeroDuration())) {
      return InvalidField(absl::StrCat(tf, ".acknowledge_within"),
                          "must be positive unless next_business_day is set");
    }
    if (target.acknowledge_within > kMaxAcknowledgeTarget) {
      return InvalidField(absl::StrCat(tf, ".acknowledge_within"), "must be at most 30 days");
    }
    if (target.resolve_within.has_value()) {
      if (*target.resolve_within <= absl::ZeroDuration()) {
        return InvalidField(absl::StrCat(tf, ".resolve_within"), "must be positive when set");
      }
      if (*target.resolve_within > kMaxResolveTarget) {
        return InvalidField(absl::StrCat(tf, ".resolve_within"), "must be at most 366 days");
      }
    }
  }
  RETURN_IF_ERROR(
      ValidateWeeklyWindow(policy.business_hours, absl::StrCat(field, ".business_hours")));
  return absl::OkStatus();
}

std::vector<SlaTarget> NormalizeSlaTargets(const std::vector<SlaTarget>& targets) {
  const SlaPolicy defaults = DefaultSlaPolicy("");
  std::vector<SlaTarget> out;
  for (Severity severity : kSeverities) {
    auto given = std::find_if(targets.begin(), targets.end(),
                              [&](const SlaTarget& t) { return t.severity == severity; });
    out.push_back(given != targets.end() ? *given : TargetFor(defaults, severity));
  }
  return out;
}

const SlaPolicy* PolicyInForce(const std::vector<SlaPolicy>& versions, absl::Time at) {
  const SlaPolicy* out = nullptr;
  for (const SlaPolicy& version : versions) {
    if (version.update_time <= at) out = &version;
  }
  return out;
}

SlaPolicy EffectivePolicy(absl::string_view tenant, const std::vector<SlaPolicy>& tenant_versions,
                          const std::vector<SlaPolicy>& global_versions, absl::Time at) {
  if (const SlaPolicy* own = PolicyInForce(tenant_versions, at)) return *own;
  if (const SlaPolicy* global = PolicyInForce(global_versions, at)) {
    SlaPolicy out = *global;
    out.tenant = std::string(tenant);
    return out;
  }
  return DefaultSlaPolicy(tenant);
}

absl::Time EndOfNextBusinessDay(absl::Time t, const WeeklyWindow& hours) {
  absl::TimeZone zone;
  if (!LoadWindowZone(hours.time_zone, &zone)) zone = absl::UTCTimeZone();
  const absl::CivilDay today = absl::CivilDay(absl::ToCivilSecond(t, zone));
  // Every weekday occurs within 7 days; one more covers a window of today
  // that already started.
  for (absl::CivilDay day = today; day <= today + 8; ++day) {
    if (!IsBusinessDay(hours, day)) continue;
    const absl::Time start =
        Instant(zone, absl::CivilSecond(day) + hours.start_minute * 60, /*late=*/false);
    if (start < t) continue;
    absl::CivilSecond end_civil = absl::CivilSecond(day) + hours.end_minute * 60;
    if (hours.end_minute <= hours.start_minute) end_civil += 24 * 60 * 60;
    return Instant(zone, end_civil, /*late=*/true);
  }
  // Unreachable for a valid window (every day or at least one weekday).
  return t + absl::Hours(24);
}

SlaDeadlines ComputeDeadlines(const SlaPolicy& policy, Severity severity, absl::Time create_time) {
  const SlaTarget& target = TargetFor(policy, severity);
  SlaDeadlines out;
  out.acknowledge_due = target.next_business_day
                            ? EndOfNextBusinessDay(create_time, policy.business_hours)
                            : create_time + target.acknowledge_within;
  out.acknowledge_due = TruncateToMicros(out.acknowledge_due);
  out.response_target = out.acknowledge_due - create_time;
  if (target.resolve_within.has_value()) {
    out.resolve_due = TruncateToMicros(create_time + *target.resolve_within);
  }
  return out;
}

const char* SlaTargetKindName(SlaTargetKind kind) {
  return kind == SlaTargetKind::kResolve ? "resolve" : "acknowledge";
}

SlaSubject SubjectOf(const Incident& incident) {
  SlaSubject out;
  out.tenant = incident.tenant;
  out.id = incident.id;
  out.severity = incident.severity;
  out.status = incident.status;
  out.create_time = incident.create_time;
  out.acknowledge_time = incident.acknowledge_time;
  out.mitigate_time = incident.mitigate_time;
  out.resolve_time = incident.resolve_time;
  return out;
}

std::vector<SlaBreach> FindBreaches(const SlaSubject& subject, const SlaDeadlines& deadlines,
                                    const std::vector<SlaBreach>& recorded, absl::Time now) {
  auto has = [&](SlaTargetKind kind) {
    return std::any_of(recorded.begin(), recorded.end(),
                       [&](const SlaBreach& b) { return b.kind == kind; });
  };
  auto breach = [&](SlaTargetKind kind, absl::Time due) {
    SlaBreach out;
    out.tenant = subject.tenant;
    out.incident_id = subject.id;
    out.kind = kind;
    out.severity = subject.severity;
    out.due_time = due;
    out.detect_time = TruncateToMicros(now);
    return out;
  };
  std::vector<SlaBreach> out;
  if (!has(SlaTargetKind::kAcknowledge)) {
    const std::optional<absl::Time> response =
        Earliest({subject.acknowledge_time, subject.mitigate_time, subject.resolve_time});
    const absl::Time due = deadlines.acknowledge_due;
    if (response.has_value() ? *response > due : now > due) {
      out.push_back(breach(SlaTargetKind::kAcknowledge, due));
    }
  }
  if (deadlines.resolve_due.has_value() && !has(SlaTargetKind::kResolve)) {
    const absl::Time due = *deadlines.resolve_due;
    const bool late_resolution = subject.resolve_time.has_value() && *subject.resolve_time > due;
    if (late_resolution || (IsOpen(subject.status) && now > due)) {
      out.push_back(breach(SlaTargetKind::kResolve, due));
    }
  }
  return out;
}

TimelineEntry BreachEntry(const SlaBreach& breach) {
  TimelineEntry entry;
  entry.tenant = breach.tenant;
  entry.incident_id = breach.incident_id;
  entry.time = breach.detect_time;
  entry.actor = std::string(kSystemActor);
  entry.kind = std::string(timeline_kind::kSlaBreached);
  const std::string due =
      absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", breach.due_time, absl::UTCTimeZone());
  entry.text = breach.kind == SlaTargetKind::kAcknowledge
                   ? absl::StrCat("Response target missed: ", SeverityName(breach.severity),
                                  " incident not acknowledged by ", due)
                   : absl::StrCat("Resolve target missed: ", SeverityName(breach.severity),
                                  " incident not resolved by ", due);
  entry.details["target"] = SlaTargetKindName(breach.kind);
  entry.details["severity"] = SeverityName(breach.severity);
  entry.details["due_time"] = due;
  entry.details["late_by"] = absl::FormatDuration(breach.detect_time - breach.due_time);
  return entry;
}

}  // namespace agentwatch::incident
