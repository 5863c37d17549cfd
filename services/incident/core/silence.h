// Silences: label matchers over an alert plus a time span and an optional
// weekly recurring window in an IANA time zone. A silenced firing alert is
// recorded but opens or joins no incident (core/intake.h). Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "incident/core/query.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

// Days of the week, wire values of agentwatch.common.v1.DayOfWeek.
enum class DayOfWeek : int {
  kUnspecified = 0,
  kMonday = 1,
  kTuesday = 2,
  kWednesday = 3,
  kThursday = 4,
  kFriday = 5,
  kSaturday = 6,
  kSunday = 7,
};

// A weekly wall-clock window: it starts on each of `days` (all days when
// empty) at `start_minute` local time and ends at `end_minute`, on the next
// day when end_minute <= start_minute. On a DST change day the window keeps
// its local times; a local time skipped by DST is the transition instant, a
// repeated one the earlier instant for the start and the later for the end.
struct WeeklyWindow {
  std::vector<DayOfWeek> days;
  int start_minute = 0;   // 0..1439
  int end_minute = 0;     // 0..1440
  std::string time_zone;  // IANA name; empty means UTC
};

// Loads a WeeklyWindow (or schedule) time zone: empty is UTC; false for an
// unknown name or one over 64 bytes.
bool LoadWindowZone(absl::string_view name, absl::TimeZone* zone);

// INVALID_ARGUMENT naming `field`.days[i], .start_minute, .end_minute or
// .time_zone: days in 1..7, start_minute in 0..1439, end_minute in 0..1440,
// a loadable time zone (LoadWindowZone).
absl::Status ValidateWeeklyWindow(const WeeklyWindow& window, absl::string_view field);

// State of a silence at an instant (wire values of SilenceState).
enum class SilenceState : int { kUnspecified = 0, kPending = 1, kActive = 2, kExpired = 3 };

struct Silence {
  std::string id;
  std::string tenant;
  std::vector<LabelMatcher> matchers;  // at least one; all must match
  absl::Time starts_at = absl::UnixEpoch();
  std::optional<absl::Time> ends_at;  // unset: forever (recurring only)
  std::string author;
  std::string comment;
  std::optional<WeeklyWindow> recurrence;
  std::optional<absl::Time> expire_time;  // set when deleted
  absl::Time create_time = absl::UnixEpoch();
  absl::Time update_time = absl::UnixEpoch();

  friend bool operator==(const Silence& a, const Silence& b);
};

// Limits of a silence's text fields.
inline constexpr size_t kMaxSilenceMatchers = 64;
inline constexpr size_t kMaxSilenceCommentBytes = size_t{16} * 1024;

// Checks a silence as a client sends it (id and times of record aside):
// tenant, at least one matcher, each matcher (name, op, a valid RE2 regular
// expression), ends_at after starts_at (required unless recurring), author,
// comment and the recurrence (days, minutes, a known time zone).
// INVALID_ARGUMENT "<field>: reason" with fields named under `field`
// ("silence.matchers[0].value", "silence.recurrence.time_zone", ...).
absl::Status ValidateSilence(const Silence& silence, absl::string_view field);

// The writable fields of a silence an update replaces (the paths of
// UpdateSilence's field mask: matchers, starts_at, ends_at, author, comment,
// recurrence).
struct SilenceUpdateMask {
  bool matchers = false;
  bool starts_at = false;
  bool ends_at = false;
  bool author = false;
  bool comment = false;
  bool recurrence = false;

  // Every writable field (an empty field mask).
  static SilenceUpdateMask All() { return {true, true, true, true, true, true}; }
};

// Applies an update: `current` with the fields selected by `mask` taken from
// `patch`, update_time = `now`. The rule for time: only a silence that is not
// expired at `now` may be edited (FAILED_PRECONDITION otherwise: an expired
// silence stays a record; create a new one instead), and the result must
// still be in force after `now`: its ends_at, when set, must be after `now`
// (INVALID_ARGUMENT "<field>.ends_at"; ending a silence now is
// DeleteSilence). starts_at may move freely as long as ends_at stays after
// it. `patch.tenant`, when set, must equal the current tenant
// (INVALID_ARGUMENT "<field>.tenant"). The result is checked with
// ValidateSilence, the same rules as a create.
absl::StatusOr<Silence> ApplySilenceUpdate(const Silence& current, const Silence& patch,
                                           const SilenceUpdateMask& mask, absl::Time now,
                                           absl::string_view field);

// The silence's state at `at`: expired once deleted or at/after ends_at,
// pending before starts_at, active otherwise.
SilenceState StateAt(const Silence& silence, absl::Time at);

// Whether `at` falls inside `window` (a valid window; an unknown time zone
// never matches).
bool InWeeklyWindow(const WeeklyWindow& window, absl::Time at);

// Whether `matcher` selects `labels` (an absent label equals ""; regular
// expressions match the whole value; an invalid one never matches).
bool Matches(const LabelMatcher& matcher, const Labels& labels);

// The labels silences match an alert on: its labels plus alertname = `name`
// and severity = "P0".."P3".
Labels SilenceLabels(const Labels& labels, absl::string_view name, Severity severity);

// Whether `silence` mutes an alert with `labels` (as SilenceLabels makes
// them) at `at`: active at `at`, inside its recurrence window if it has
// one, and every matcher matches.
bool IsSilenced(const Silence& silence, const Labels& labels, absl::Time at);

}  // namespace agentwatch::incident
