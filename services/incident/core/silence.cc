#include "incident/core/silence.h"

#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "incident/core/validation.h"
#include "re2/re2.h"

namespace agentwatch::incident {
namespace {

using common::InvalidField;

DayOfWeek DayOf(absl::CivilDay day) {
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::monday:
      return DayOfWeek::kMonday;
    case absl::Weekday::tuesday:
      return DayOfWeek::kTuesday;
    case absl::Weekday::wednesday:
      return DayOfWeek::kWednesday;
    case absl::Weekday::thursday:
      return DayOfWeek::kThursday;
    case absl::Weekday::friday:
      return DayOfWeek::kFriday;
    case absl::Weekday::saturday:
      return DayOfWeek::kSaturday;
    case absl::Weekday::sunday:
      return DayOfWeek::kSunday;
  }
  return DayOfWeek::kUnspecified;
}

bool StartsOn(const WeeklyWindow& window, absl::CivilDay day) {
  if (window.days.empty()) return true;
  const DayOfWeek weekday = DayOf(day);
  for (DayOfWeek d : window.days) {
    if (d == weekday) return true;
  }
  return false;
}

// The instant local time `civil` denotes in `zone`; `late` picks the later
// of a repeated local time. A skipped local time maps to the transition.
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

}  // namespace

bool LoadWindowZone(absl::string_view name, absl::TimeZone* zone) {
  if (name.empty()) {
    *zone = absl::UTCTimeZone();
    return true;
  }
  return name.size() <= 64 && absl::LoadTimeZone(std::string(name), zone);
}

absl::Status ValidateWeeklyWindow(const WeeklyWindow& window, absl::string_view field) {
  for (size_t i = 0; i < window.days.size(); ++i) {
    const int day = static_cast<int>(window.days[i]);
    if (day < 1 || day > 7) {
      return InvalidField(absl::StrCat(field, ".days[", i, "]"), absl::StrCat("unknown day ", day));
    }
  }
  if (window.start_minute < 0 || window.start_minute > 1439) {
    return InvalidField(absl::StrCat(field, ".start_minute"), "must be in 0..1439");
  }
  if (window.end_minute < 0 || window.end_minute > 1440) {
    return InvalidField(absl::StrCat(field, ".end_minute"), "must be in 0..1440");
  }
  absl::TimeZone zone;
  if (!LoadWindowZone(window.time_zone, &zone)) {
    return InvalidField(absl::StrCat(field, ".time_zone"),
                        absl::StrCat("unknown time zone \"", window.time_zone, "\""));
  }
  return absl::OkStatus();
}

bool operator==(const Silence& a, const Silence& b) {
  auto matchers = [](const Silence& s) {
    std::vector<std::tuple<std::string, int, std::string>> out;
    for (const LabelMatcher& m : s.matchers)
      out.emplace_back(m.name, static_cast<int>(m.op), m.value);
    return out;
  };
  auto window = [](const Silence& s) {
    std::optional<std::tuple<std::vector<DayOfWeek>, int, int, std::string>> out;
    if (s.recurrence) {
      out.emplace(s.recurrence->days, s.recurrence->start_minute, s.recurrence->end_minute,
                  s.recurrence->time_zone);
    }
    return out;
  };
  return std::tie(a.id, a.tenant, a.starts_at, a.ends_at, a.author, a.comment, a.expire_time,
                  a.create_time, a.update_time) == std::tie(b.id, b.tenant, b.starts_at, b.ends_at,
                                                            b.author, b.comment, b.expire_time,
                                                            b.create_time, b.update_time) &&
         matchers(a) == matchers(b) && window(a) == window(b);
}

absl::Status ValidateSilence(const Silence& silence, absl::string_view field) {
  RETURN_IF_ERROR(
      ValidateRequired(silence.tenant, absl::StrCat(field, ".tenant"), kMaxTenantBytes));
  const std::string matchers_field = absl::StrCat(field, ".matchers");
  if (silence.matchers.empty()) return InvalidField(matchers_field, "at least one required");
  if (silence.matchers.size() > kMaxSilenceMatchers) {
    return InvalidField(matchers_field, absl::StrCat("at most ", kMaxSilenceMatchers));
  }
  for (size_t i = 0; i < silence.matchers.size(); ++i) {
    const LabelMatcher& matcher = silence.matchers[i];
    const std::string item = absl::StrCat(matchers_field, "[", i, "]");
    RETURN_IF_ERROR(ValidateMatcher(matcher, item));
    RETURN_IF_ERROR(
        ValidateOptional(matcher.name, absl::StrCat(item, ".name"), kMaxLabelNameBytes));
    RETURN_IF_ERROR(
        ValidateOptional(matcher.value, absl::StrCat(item, ".value"), kMaxLabelValueBytes));
    if (matcher.op == MatchOp::kRegex || matcher.op == MatchOp::kNotRegex) {
      const RE2 re(matcher.value, RE2::Quiet);
      if (!re.ok()) {
        return InvalidField(absl::StrCat(item, ".value"),
                            absl::StrCat("invalid regular expression: ", re.error()));
      }
    }
  }
  if (!silence.ends_at.has_value()) {
    if (!silence.recurrence.has_value()) {
      return InvalidField(absl::StrCat(field, ".ends_at"), "required for a one-off silence");
    }
  } else if (*silence.ends_at <= silence.starts_at) {
    return InvalidField(absl::StrCat(field, ".ends_at"), "must be after starts_at");
  }
  RETURN_IF_ERROR(ValidateRequired(silence.author, absl::StrCat(field, ".author"), kMaxActorBytes));
  RETURN_IF_ERROR(
      ValidateRequired(silence.comment, absl::StrCat(field, ".comment"), kMaxSilenceCommentBytes));
  if (silence.recurrence.has_value()) {
    RETURN_IF_ERROR(
        ValidateWeeklyWindow(*silence.recurrence, absl::StrCat(field, ".recurrence")));
  }
  return absl::OkStatus();
}

SilenceState StateAt(const Silence& silence, absl::Time at) {
  if (silence.expire_time.has_value() && at >= *silence.expire_time) return SilenceState::kExpired;
  if (silence.ends_at.has_value() && at >= *silence.ends_at) return SilenceState::kExpired;
  if (at < silence.starts_at) return SilenceState::kPending;
  return SilenceState::kActive;
}

bool InWeeklyWindow(const WeeklyWindow& window, absl::Time at) {
  absl::TimeZone zone;
  if (!LoadWindowZone(window.time_zone, &zone)) return false;
  const absl::CivilDay today = absl::CivilDay(absl::ToCivilSecond(at, zone));
  // A window that started yesterday may still run (it crosses midnight).
  for (const absl::CivilDay day : {today - 1, today}) {
    if (!StartsOn(window, day)) continue;
    const absl::CivilSecond start_civil = absl::CivilSecond(day) + window.start_minute * 60;
    absl::CivilSecond end_civil = absl::CivilSecond(day) + window.end_minute * 60;
    if (window.end_minute <= window.start_minute) end_civil += 24 * 60 * 60;
    const absl::Time start = Instant(zone, start_civil, /*late=*/false);
    const absl::Time end = Instant(zone, end_civil, /*late=*/true);
    if (start <= at && at < end) return true;
  }
  return false;
}

bool Matches(const LabelMatcher& matcher, const Labels& labels) {
  auto it = labels.find(matcher.name);
  const std::string empty;
  const std::string& value = it == labels.end() ? empty : it->second;
  switch (matcher.op) {
    case MatchOp::kEqual:
      return value == matcher.value;
    case MatchOp::kNotEqual:
      return value != matcher.value;
    case MatchOp::kRegex:
    case MatchOp::kNotRegex: {
      const RE2 re(matcher.value, RE2::Quiet);
      if (!re.ok()) return false;
      const bool full = RE2::FullMatch(value, re);
      return matcher.op == MatchOp::kRegex ? full : !full;
    }
    case MatchOp::kUnspecified:
      break;
  }
  return false;
}

Labels SilenceLabels(const Labels& labels, absl::string_view name, Severity severity) {
  Labels out = labels;
  out[std::string(kAlertNameLabel)] = std::string(name);
  out["severity"] = SeverityName(severity);
  return out;
}

bool IsSilenced(const Silence& silence, const Labels& labels, absl::Time at) {
  if (StateAt(silence, at) != SilenceState::kActive) return false;
  if (silence.recurrence.has_value() && !InWeeklyWindow(*silence.recurrence, at)) return false;
  for (const LabelMatcher& matcher : silence.matchers) {
    if (!Matches(matcher, labels)) return false;
  }
  return true;
}

absl::StatusOr<Silence> ApplySilenceUpdate(const Silence& current, const Silence& patch,
                                           const SilenceUpdateMask& mask, absl::Time now,
                                           absl::string_view field) {
  if (StateAt(current, now) == SilenceState::kExpired) {
    return absl::FailedPreconditionError(
        absl::StrCat("silence ", current.id, " has expired and cannot be edited"));
  }
  if (!patch.tenant.empty() && patch.tenant != current.tenant) {
    return InvalidField(absl::StrCat(field, ".tenant"), "cannot be changed");
  }
  Silence next = current;
  if (mask.matchers) next.matchers = patch.matchers;
  if (mask.starts_at) next.starts_at = patch.starts_at;
  if (mask.ends_at) next.ends_at = patch.ends_at;
  if (mask.author) next.author = patch.author;
  if (mask.comment) next.comment = patch.comment;
  if (mask.recurrence) next.recurrence = patch.recurrence;
  RETURN_IF_ERROR(ValidateSilence(next, field));
  if (next.ends_at.has_value() && *next.ends_at <= now) {
    return InvalidField(absl::StrCat(field, ".ends_at"),
                        "must be in the future (use DeleteSilence to end a silence now)");
  }
  next.update_time = now;
  return next;
}

}  // namespace agentwatch::incident
