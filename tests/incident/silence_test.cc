// Silences: validation and IsSilenced (time span, matchers, weekly windows
// across midnight and DST changes).
#include "incident/core/silence.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/testing/status_matchers.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;

// Wednesday 2026-11-25 12:00:00 UTC.
const absl::Time kNoon =
    absl::FromCivil(absl::CivilSecond(2026, 11, 25, 12, 0, 0), absl::UTCTimeZone());

absl::Time Utc(int y, int m, int d, int hh, int mm) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, 0), absl::UTCTimeZone());
}

Silence OneOff() {
  Silence s;
  s.id = "s1";
  s.tenant = "acme";
  s.matchers = {{"alertname", MatchOp::kEqual, "HighLatency"}};
  s.starts_at = kNoon - absl::Hours(1);
  s.ends_at = kNoon + absl::Hours(1);
  s.author = "alice";
  s.comment = "deploy";
  return s;
}

Labels Alert(const std::string& name, Labels labels = {}) {
  return SilenceLabels(labels, name, Severity::kP2);
}

Silence Recurring(WeeklyWindow window) {
  Silence s = OneOff();
  s.starts_at = Utc(2026, 1, 1, 0, 0);
  s.ends_at.reset();
  s.recurrence = std::move(window);
  return s;
}

TEST(IsSilencedTest, PlainWindowMutesMatchingAlertsOnlyInsideIt) {
  const Silence s = OneOff();
  EXPECT_TRUE(IsSilenced(s, Alert("HighLatency"), kNoon));
  EXPECT_TRUE(IsSilenced(s, Alert("HighLatency"), s.starts_at));
  EXPECT_FALSE(IsSilenced(s, Alert("ServiceDown"), kNoon));
  EXPECT_EQ(StateAt(s, kNoon), SilenceState::kActive);
}

TEST(IsSilencedTest, ExpiredSilenceMutesNothing) {
  const Silence s = OneOff();
  EXPECT_FALSE(IsSilenced(s, Alert("HighLatency"), *s.ends_at));
  EXPECT_FALSE(IsSilenced(s, Alert("HighLatency"), kNoon + absl::Hours(2)));
  EXPECT_EQ(StateAt(s, *s.ends_at), SilenceState::kExpired);
}

TEST(IsSilencedTest, DeletedSilenceMutesNothingFromItsExpiry) {
  Silence s = OneOff();
  s.expire_time = kNoon;
  EXPECT_TRUE(IsSilenced(s, Alert("HighLatency"), kNoon - absl::Seconds(1)));
  EXPECT_FALSE(IsSilenced(s, Alert("HighLatency"), kNoon));
  EXPECT_EQ(StateAt(s, kNoon), SilenceState::kExpired);
}

TEST(IsSilencedTest, NotYetStartedSilenceIsPendingAndMutesNothing) {
  Silence s = OneOff();
  s.starts_at = kNoon + absl::Minutes(1);
  EXPECT_FALSE(IsSilenced(s, Alert("HighLatency"), kNoon));
  EXPECT_EQ(StateAt(s, kNoon), SilenceState::kPending);
}

TEST(IsSilencedTest, EqualMatcherTreatsAnAbsentLabelAsEmpty) {
  Silence s = OneOff();
  s.matchers = {{"service", MatchOp::kEqual, "api"}};
  EXPECT_TRUE(IsSilenced(s, Alert("X", {{"service", "api"}}), kNoon));
  EXPECT_FALSE(IsSilenced(s, Alert("X", {{"service", "web"}}), kNoon));
  EXPECT_FALSE(IsSilenced(s, Alert("X"), kNoon));
  s.matchers = {{"team", MatchOp::kEqual, ""}};
  EXPECT_TRUE(IsSilenced(s, Alert("X"), kNoon));
}

TEST(IsSilencedTest, NotEqualMatcher) {
  Silence s = OneOff();
  s.matchers = {{"service", MatchOp::kNotEqual, "api"}};
  EXPECT_FALSE(IsSilenced(s, Alert("X", {{"service", "api"}}), kNoon));
  EXPECT_TRUE(IsSilenced(s, Alert("X", {{"service", "web"}}), kNoon));
  EXPECT_TRUE(IsSilenced(s, Alert("X"), kNoon));
}

TEST(IsSilencedTest, RegexMatcherMatchesTheWholeValue) {
  Silence s = OneOff();
  s.matchers = {{"model", MatchOp::kRegex, "gpt-4.*"}};
  EXPECT_TRUE(IsSilenced(s, Alert("X", {{"model", "gpt-4o"}}), kNoon));
  EXPECT_FALSE(IsSilenced(s, Alert("X", {{"model", "my-gpt-4o"}}), kNoon));
  EXPECT_FALSE(IsSilenced(s, Alert("X"), kNoon));
}

TEST(IsSilencedTest, NotRegexMatcher) {
  Silence s = OneOff();
  s.matchers = {{"model", MatchOp::kNotRegex, "gpt-4.*"}};
  EXPECT_FALSE(IsSilenced(s, Alert("X", {{"model", "gpt-4o"}}), kNoon));
  EXPECT_TRUE(IsSilenced(s, Alert("X", {{"model", "claude"}}), kNoon));
  EXPECT_TRUE(IsSilenced(s, Alert("X"), kNoon));
}

TEST(IsSilencedTest, EveryMatcherMustMatchIncludingAlertnameAndSeverity) {
  Silence s = OneOff();
  s.matchers = {{"alertname", MatchOp::kRegex, "High.*"},
                {"severity", MatchOp::kEqual, "P3"},
                {"service", MatchOp::kEqual, "api"}};
  Labels labels = SilenceLabels({{"service", "api"}}, "HighLatency", Severity::kP3);
  EXPECT_TRUE(IsSilenced(s, labels, kNoon));
  labels = SilenceLabels({{"service", "api"}}, "HighLatency", Severity::kP0);
  EXPECT_FALSE(IsSilenced(s, labels, kNoon));
  labels = SilenceLabels({{"service", "web"}}, "HighLatency", Severity::kP3);
  EXPECT_FALSE(IsSilenced(s, labels, kNoon));
}

TEST(IsSilencedTest, RecurringWindowCrossingMidnightRunsIntoTheNextDay) {
  // Fridays 22:00 to 02:00 (Saturday) in Europe/Berlin (CET, UTC+1, in
  // November).
  const Silence s = Recurring({{DayOfWeek::kFriday}, 22 * 60, 2 * 60, "Europe/Berlin"});
  const Labels alert = Alert("HighLatency");
  // Friday 2026-11-27.
  EXPECT_FALSE(IsSilenced(s, alert, Utc(2026, 11, 27, 20, 59)));  // Fri 21:59 local
  EXPECT_TRUE(IsSilenced(s, alert, Utc(2026, 11, 27, 21, 0)));    // Fri 22:00
  EXPECT_TRUE(IsSilenced(s, alert, Utc(2026, 11, 27, 23, 30)));   // Sat 00:30
  EXPECT_TRUE(IsSilenced(s, alert, Utc(2026, 11, 28, 0, 59)));    // Sat 01:59
  EXPECT_FALSE(IsSilenced(s, alert, Utc(2026, 11, 28, 1, 0)));    // Sat 02:00
  // Saturday night is not a Friday.
  EXPECT_FALSE(IsSilenced(s, alert, Utc(2026, 11, 28, 22, 0)));  // Sat 23:00
  // Thursday night 00:30 (Friday) is not inside: the window starts Friday.
  EXPECT_FALSE(IsSilenced(s, alert, Utc(2026, 11, 26, 23, 30)));
  // The state of a recurring silence stays active outside its windows.
  EXPECT_EQ(StateAt(s, Utc(2026, 11, 28, 12, 0)), SilenceState::kActive);
}

TEST(IsSilencedTest, RecurringWindowEndsWithTheSilence) {
  Silence s = Recurring({{}, 0, 1440, ""});
  EXPECT_TRUE(IsSilenced(s, Alert("HighLatency"), kNoon));
  s.ends_at = kNoon;
  EXPECT_FALSE(IsSilenced(s, Alert("HighLatency"), kNoon));
}

TEST(IsSilencedTest, SpringForwardDayKeepsLocalTimesInBerlin) {
  // 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC). Sundays 01:30 to
  // 03:30 local is 00:30 to 01:30 UTC that day: one hour.
  const Silence s = Recurring({{DayOfWeek::kSunday}, 90, 210, "Europe/Berlin"});
  const Labels alert = Alert("HighLatency");
  EXPECT_FALSE(IsSilenced(s, alert, Utc(2026, 3, 29, 0, 29)));
  EXPECT_TRUE(IsSilenced(s, alert, Utc(2026, 3, 29, 0, 30)));
  EXPECT_TRUE(IsSilenced(s, alert, Utc(2026, 3, 29, 1, 29)));
  EXPECT_FALSE(IsSilenced(s, alert, Utc(2026, 3, 29, 1, 30)));
  // The Sunday before (CET): 00:30 to 02:30 UTC.
  EXPECT_TRUE(IsSilenced(s, alert, Utc(2026, 3, 22, 2, 29)));
  // The Sunday after (CEST): 23:30 (Saturday) to 01:30 UTC.
  EXPECT_TRUE(IsSilenced(s, alert, Utc(2026, 4, 4, 23, 30)));
  EXPECT_FALSE(IsSilenced(s, alert, Utc(2026, 4, 5, 1, 30)));
}

TEST(IsSilencedTest, WindowStartingInTheSkippedHourStartsAtTheTransition) {
  // 02:30 does not exist on 2026-03-29 in Berlin: the window starts at 03:00
  // CEST (01:00 UTC) and ends at 04:00 CEST (02:00 UTC).
  const Silence s = Recurring({{DayOfWeek::kSunday}, 150, 240, "Europe/Berlin"});
  const Labels alert = Alert("HighLatency");
  EXPECT_FALSE(IsSilenced(s, alert, Utc(2026, 3, 29, 0, 59)));
  EXPECT_TRUE(IsSilenced(s, alert, Utc(2026, 3, 29, 1, 0)));
  EXPECT_FALSE(IsSilenced(s, alert, Utc(2026, 3, 29, 2, 0)));
}

TEST(IsSilencedTest, FallBackDayLengthensTheWindowInBerlin) {
  // 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00 UTC). Sundays 02:00 to
  // 04:00 local is 00:00 (02:00 CEST) to 03:00 UTC (04:00 CET): three hours.
  const Silence s = Recurring({{DayOfWeek::kSunday}, 120, 240, "Europe/Berlin"});
  const Labels alert = Alert("HighLatency");
  EXPECT_FALSE(IsSilenced(s, alert, Utc(2026, 10, 24, 23, 59)));
  EXPECT_TRUE(IsSilenced(s, alert, Utc(2026, 10, 25, 0, 0)));
  EXPECT_TRUE(IsSilenced(s, alert, Utc(2026, 10, 25, 2, 59)));
  EXPECT_FALSE(IsSilenced(s, alert, Utc(2026, 10, 25, 3, 0)));
}

TEST(ValidateSilenceTest, AcceptsOneOffAndRecurring) {
  EXPECT_THAT(ValidateSilence(OneOff(), "silence"), IsOk());
  EXPECT_THAT(ValidateSilence(Recurring({{DayOfWeek::kSunday}, 0, 60, "Europe/Berlin"}), "silence"),
              IsOk());
}

TEST(ValidateSilenceTest, RefusesBadInputNamingTheField) {
  const auto refused = [](Silence s, const std::string& field) {
    EXPECT_THAT(ValidateSilence(s, "silence"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field + ":")))
        << field;
  };
  Silence s = OneOff();
  s.matchers.clear();
  refused(s, "silence.matchers");
  s = OneOff();
  s.ends_at = s.starts_at - absl::Seconds(1);
  refused(s, "silence.ends_at");
  s = OneOff();
  s.ends_at = s.starts_at;
  refused(s, "silence.ends_at");
  s = OneOff();
  s.ends_at.reset();
  refused(s, "silence.ends_at");
  s = OneOff();
  s.matchers.push_back({"model", MatchOp::kRegex, "gpt-(4"});
  refused(s, "silence.matchers[1].value");
  s = OneOff();
  s.matchers[0].op = MatchOp::kUnspecified;
  refused(s, "silence.matchers[0].op");
  s = OneOff();
  s.matchers[0].name.clear();
  refused(s, "silence.matchers[0].name");
  s = OneOff();
  s.author.clear();
  refused(s, "silence.author");
  s = OneOff();
  s.comment.clear();
  refused(s, "silence.comment");
  s = OneOff();
  s.tenant.clear();
  refused(s, "silence.tenant");
  refused(Recurring({{}, 0, 60, "Mars/Olympus_Mons"}), "silence.recurrence.time_zone");
  refused(Recurring({{}, 1440, 60, ""}), "silence.recurrence.start_minute");
  refused(Recurring({{}, 0, 1441, ""}), "silence.recurrence.end_minute");
  refused(Recurring({{static_cast<DayOfWeek>(8)}, 0, 60, ""}), "silence.recurrence.days[0]");
}

}  // namespace
}  // namespace agentwatch::incident

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;

Silence UpdateBase() {
  Silence s;
  s.id = "s1";
  s.tenant = "acme";
  s.matchers = {{"alertname", MatchOp::kEqual, "HighLatency"}};
  s.starts_at = absl::FromUnixSeconds(1'800'000'000);
  s.ends_at = s.starts_at + absl::Hours(2);
  s.author = "alice";
  s.comment = "deploy";
  s.create_time = s.starts_at;
  s.update_time = s.starts_at;
  return s;
}

TEST(ApplySilenceUpdateTest, ReplacesOnlyTheMaskedFields) {
  const Silence current = UpdateBase();
  const absl::Time now = current.starts_at + absl::Minutes(10);
  Silence patch;
  patch.comment = "extended deploy";
  patch.author = "mallory";  // not in the mask: ignored
  patch.ends_at = current.starts_at + absl::Hours(5);
  SilenceUpdateMask mask;
  mask.comment = true;
  mask.ends_at = true;
  auto next = ApplySilenceUpdate(current, patch, mask, now, "silence");
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->comment, "extended deploy");
  EXPECT_EQ(next->author, "alice");
  EXPECT_EQ(next->ends_at, current.starts_at + absl::Hours(5));
  ASSERT_EQ(next->matchers.size(), 1u);
  EXPECT_EQ(next->matchers[0].value, "HighLatency");
  EXPECT_EQ(next->starts_at, current.starts_at);
  EXPECT_EQ(next->create_time, current.create_time);
  EXPECT_EQ(next->update_time, now);
}

TEST(ApplySilenceUpdateTest, FullMaskReplacesEveryWritableField) {
  const Silence current = UpdateBase();
  const absl::Time now = current.starts_at + absl::Minutes(10);
  Silence patch;
  patch.matchers = {{"service", MatchOp::kRegex, "api|web"}};
  patch.starts_at = now;
  patch.author = "bob";
  patch.comment = "weekly window";
  patch.recurrence = WeeklyWindow{{DayOfWeek::kSunday}, 22 * 60, 60, "Europe/Berlin"};
  auto next = ApplySilenceUpdate(current, patch, SilenceUpdateMask::All(), now, "silence");
  ASSERT_THAT(next, IsOk());
  ASSERT_EQ(next->matchers.size(), 1u);
  EXPECT_EQ(next->matchers[0].name, "service");
  EXPECT_EQ(next->matchers[0].op, MatchOp::kRegex);
  EXPECT_FALSE(next->ends_at.has_value());
  ASSERT_TRUE(next->recurrence.has_value());
  EXPECT_EQ(next->recurrence->time_zone, "Europe/Berlin");
  EXPECT_EQ(next->recurrence->start_minute, 22 * 60);
  EXPECT_EQ(next->author, "bob");
}

TEST(ApplySilenceUpdateTest, AnExpiredSilenceCannotBeEdited) {
  const Silence current = UpdateBase();
  Silence patch;
  patch.ends_at = current.starts_at + absl::Hours(10);
  SilenceUpdateMask mask;
  mask.ends_at = true;
  // Ended by time.
  EXPECT_THAT(ApplySilenceUpdate(current, patch, mask, *current.ends_at, "silence"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("expired")));
  // Deleted.
  Silence deleted = current;
  deleted.expire_time = current.starts_at + absl::Minutes(1);
  EXPECT_THAT(ApplySilenceUpdate(deleted, patch, mask, current.starts_at + absl::Minutes(2),
                                 "silence"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(ApplySilenceUpdateTest, EndsAtCannotMoveIntoThePast) {
  const Silence current = UpdateBase();
  const absl::Time now = current.starts_at + absl::Minutes(30);
  Silence patch;
  patch.ends_at = now - absl::Minutes(1);
  SilenceUpdateMask mask;
  mask.ends_at = true;
  EXPECT_THAT(ApplySilenceUpdate(current, patch, mask, now, "silence"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("silence.ends_at")));
  patch.ends_at = now;
  EXPECT_THAT(ApplySilenceUpdate(current, patch, mask, now, "silence"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("silence.ends_at")));
  patch.ends_at = now + absl::Minutes(1);
  EXPECT_THAT(ApplySilenceUpdate(current, patch, mask, now, "silence"), IsOk());
}

TEST(ApplySilenceUpdateTest, ValidatesLikeCreateNamingTheField) {
  const Silence current = UpdateBase();
  const absl::Time now = current.starts_at + absl::Minutes(1);
  SilenceUpdateMask mask;
  mask.matchers = true;
  Silence patch;
  EXPECT_THAT(ApplySilenceUpdate(current, patch, mask, now, "silence"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("silence.matchers")));
  patch.matchers = {{"service", MatchOp::kRegex, "(unclosed"}};
  EXPECT_THAT(
      ApplySilenceUpdate(current, patch, mask, now, "silence"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("silence.matchers[0].value")));
  SilenceUpdateMask ends;
  ends.ends_at = true;
  EXPECT_THAT(ApplySilenceUpdate(current, Silence{}, ends, now, "silence"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("silence.ends_at")));
  SilenceUpdateMask starts;
  starts.starts_at = true;
  Silence late;
  late.starts_at = *current.ends_at + absl::Minutes(1);
  EXPECT_THAT(ApplySilenceUpdate(current, late, starts, now, "silence"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("silence.ends_at")));
  SilenceUpdateMask author;
  author.author = true;
  EXPECT_THAT(ApplySilenceUpdate(current, Silence{}, author, now, "silence"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("silence.author")));
  Silence other_tenant;
  other_tenant.tenant = "globex";
  EXPECT_THAT(ApplySilenceUpdate(current, other_tenant, SilenceUpdateMask{}, now, "silence"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("silence.tenant")));
}

}  // namespace
}  // namespace agentwatch::incident
