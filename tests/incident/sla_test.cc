// SLA core rules: defaults, validation naming the field, "next business day"
// across weekends, time zones and DST, policy versions, and breach detection
// at the deadline boundary and across severity changes.
#include "incident/core/sla.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/testing/status_matchers.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

absl::Time At(const char* zone_name, int y, int mo, int d, int h, int mi) {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone(zone_name, &zone)) << zone_name;
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), zone);
}

absl::Time Utc(int y, int mo, int d, int h, int mi) { return At("UTC", y, mo, d, h, mi); }

WeeklyWindow Hours(const std::string& zone) {
  WeeklyWindow hours = DefaultSlaPolicy("").business_hours;
  hours.time_zone = zone;
  return hours;
}

SlaSubject Subject(Severity severity, absl::Time created) {
  SlaSubject subject;
  subject.tenant = "acme";
  subject.id = "inc-1";
  subject.severity = severity;
  subject.create_time = created;
  return subject;
}

TEST(SlaDefaultsTest, TargetsPerSeverity) {
  const SlaPolicy policy = DefaultSlaPolicy("acme");
  ASSERT_THAT(policy.targets, SizeIs(4));
  EXPECT_EQ(TargetFor(policy, Severity::kP0).acknowledge_within, absl::Minutes(15));
  EXPECT_EQ(TargetFor(policy, Severity::kP1).acknowledge_within, absl::Minutes(30));
  EXPECT_EQ(TargetFor(policy, Severity::kP2).acknowledge_within, absl::Hours(2));
  EXPECT_TRUE(TargetFor(policy, Severity::kP3).next_business_day);
  EXPECT_FALSE(TargetFor(policy, Severity::kP0).resolve_within.has_value());
  EXPECT_THAT(ValidateSlaPolicy(policy, "policy"), IsOk());
}

// 2026-11-23 is a Monday.
TEST(NextBusinessDayTest, WithinTheWeek) {
  const WeeklyWindow hours = Hours("UTC");
  // Before the window opens: that same day's window.
  EXPECT_EQ(EndOfNextBusinessDay(Utc(2026, 11, 23, 8, 0), hours), Utc(2026, 11, 23, 17, 0));
  // Exactly when it opens: still that day's window.
  EXPECT_EQ(EndOfNextBusinessDay(Utc(2026, 11, 23, 9, 0), hours), Utc(2026, 11, 23, 17, 0));
  // During the window: the next day's.
  EXPECT_EQ(EndOfNextBusinessDay(Utc(2026, 11, 23, 10, 0), hours), Utc(2026, 11, 24, 17, 0));
  EXPECT_EQ(EndOfNextBusinessDay(Utc(2026, 11, 23, 23, 59), hours), Utc(2026, 11, 24, 17, 0));
}

TEST(NextBusinessDayTest, AcrossTheWeekend) {
  const WeeklyWindow hours = Hours("UTC");
  EXPECT_EQ(EndOfNextBusinessDay(Utc(2026, 11, 27, 10, 0), hours), Utc(2026, 11, 30, 17, 0));
  EXPECT_EQ(EndOfNextBusinessDay(Utc(2026, 11, 27, 18, 0), hours), Utc(2026, 11, 30, 17, 0));
  EXPECT_EQ(EndOfNextBusinessDay(Utc(2026, 11, 28, 12, 0), hours), Utc(2026, 11, 30, 17, 0));
  EXPECT_EQ(EndOfNextBusinessDay(Utc(2026, 11, 29, 23, 0), hours), Utc(2026, 11, 30, 17, 0));
}

TEST(NextBusinessDayTest, LocalTimeZone) {
  const WeeklyWindow hours = Hours("America/New_York");
  // Friday 20:00 in New York is already Saturday 01:00 UTC; the deadline is
  // Monday 17:00 New York (22:00 UTC in winter).
  const absl::Time created = At("America/New_York", 2026, 11, 27, 20, 0);
  EXPECT_EQ(created, Utc(2026, 11, 28, 1, 0));
  EXPECT_EQ(EndOfNextBusinessDay(created, hours), Utc(2026, 11, 30, 22, 0));
  // Monday 03:00 UTC is still Sunday in New York: Monday's window.
  EXPECT_EQ(EndOfNextBusinessDay(Utc(2026, 11, 30, 3, 0), hours), Utc(2026, 11, 30, 22, 0));
  // Tokyo is ahead: Monday 01:00 UTC is Monday 10:00 there, inside the window.
  EXPECT_EQ(EndOfNextBusinessDay(Utc(2026, 11, 30, 1, 0), Hours("Asia/Tokyo")),
            At("Asia/Tokyo", 2026, 12, 1, 17, 0));
}

TEST(NextBusinessDayTest, AcrossADstChange) {
  // Berlin moves to summer time on Sunday 2026-03-29: created Friday 18:00
  // CET (17:00 UTC), due Monday 17:00 CEST (15:00 UTC).
  const WeeklyWindow hours = Hours("Europe/Berlin");
  const absl::Time created = At("Europe/Berlin", 2026, 3, 27, 18, 0);
  EXPECT_EQ(created, Utc(2026, 3, 27, 17, 0));
  EXPECT_EQ(EndOfNextBusinessDay(created, hours), Utc(2026, 3, 30, 15, 0));
}

TEST(NextBusinessDayTest, EveryDayAndOvernightWindows) {
  WeeklyWindow hours = Hours("UTC");
  hours.days.clear();  // every day
  EXPECT_EQ(EndOfNextBusinessDay(Utc(2026, 11, 28, 12, 0), hours), Utc(2026, 11, 29, 17, 0));
  hours.start_minute = 22 * 60;
  hours.end_minute = 6 * 60;  // crosses midnight
  EXPECT_EQ(EndOfNextBusinessDay(Utc(2026, 11, 28, 12, 0), hours), Utc(2026, 11, 29, 6, 0));
  hours.days = {DayOfWeek::kSunday};
  EXPECT_EQ(EndOfNextBusinessDay(Utc(2026, 11, 30, 12, 0), hours), Utc(2026, 12, 7, 6, 0));
}

TEST(SlaValidationTest, NamesTheField) {
  SlaPolicy policy = DefaultSlaPolicy("acme");
  policy.targets[1].severity = Severity::kUnspecified;
  EXPECT_THAT(
      ValidateSlaPolicy(policy, "policy"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy.targets[1].severity")));
  policy = DefaultSlaPolicy("acme");
  policy.targets[1].severity = Severity::kP0;
  EXPECT_THAT(ValidateSlaPolicy(policy, "policy"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("policy.targets[1].severity: P0 appears twice")));
  policy = DefaultSlaPolicy("acme");
  policy.targets[0].acknowledge_within = absl::ZeroDuration();
  EXPECT_THAT(ValidateSlaPolicy(policy, "policy"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("policy.targets[0].acknowledge_within")));
  policy = DefaultSlaPolicy("acme");
  policy.targets[2].acknowledge_within = absl::Hours(24 * 31);
  EXPECT_THAT(ValidateSlaPolicy(policy, "policy"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("policy.targets[2].acknowledge_within")));
  policy = DefaultSlaPolicy("acme");
  policy.targets[3].resolve_within = absl::Seconds(-1);
  EXPECT_THAT(
      ValidateSlaPolicy(policy, "policy"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy.targets[3].resolve_within")));
  policy = DefaultSlaPolicy("acme");
  policy.business_hours.days.push_back(static_cast<DayOfWeek>(8));
  EXPECT_THAT(
      ValidateSlaPolicy(policy, "policy"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy.business_hours.days[5]")));
  policy = DefaultSlaPolicy("acme");
  policy.business_hours.end_minute = 1441;
  EXPECT_THAT(
      ValidateSlaPolicy(policy, "policy"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy.business_hours.end_minute")));
  policy = DefaultSlaPolicy("acme");
  policy.business_hours.time_zone = "Mars/Olympus";
  EXPECT_THAT(
      ValidateSlaPolicy(policy, "policy"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy.business_hours.time_zone")));
  policy = DefaultSlaPolicy(std::string(200, 't'));
  EXPECT_THAT(ValidateSlaPolicy(policy, "policy"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy.tenant")));
}

TEST(SlaPolicyTest, MissingSeveritiesKeepTheDefaults) {
  const std::vector<SlaTarget> targets =
      NormalizeSlaTargets({SlaTarget{Severity::kP1, absl::Minutes(5), absl::Hours(4), false}});
  ASSERT_THAT(targets, SizeIs(4));
  EXPECT_EQ(targets[0], TargetFor(DefaultSlaPolicy(""), Severity::kP0));
  EXPECT_EQ(targets[1].acknowledge_within, absl::Minutes(5));
  EXPECT_EQ(targets[1].resolve_within, absl::Hours(4));
  EXPECT_EQ(targets[3], TargetFor(DefaultSlaPolicy(""), Severity::kP3));
}

TEST(SlaPolicyTest, IncidentsKeepThePolicyInForceAtTheirCreation) {
  const absl::Time t0 = Utc(2026, 11, 23, 10, 0);
  SlaPolicy v1 = DefaultSlaPolicy("acme");
  v1.targets[0].acknowledge_within = absl::Minutes(5);
  v1.update_time = t0;
  SlaPolicy v2 = v1;
  v2.targets[0].acknowledge_within = absl::Minutes(1);
  v2.update_time = t0 + absl::Hours(1);
  SlaPolicy global = DefaultSlaPolicy("");
  global.targets[0].acknowledge_within = absl::Minutes(10);
  global.update_time = t0 - absl::Hours(1);
  const std::vector<SlaPolicy> own = {v1, v2};
  const std::vector<SlaPolicy> globals = {global};

  auto p0_target = [&](absl::Time created) {
    return TargetFor(EffectivePolicy("acme", own, globals, created), Severity::kP0)
        .acknowledge_within;
  };
  EXPECT_EQ(p0_target(t0 - absl::Hours(2)), absl::Minutes(15));    // built-in
  EXPECT_EQ(p0_target(t0 - absl::Minutes(1)), absl::Minutes(10));  // global
  EXPECT_EQ(p0_target(t0), absl::Minutes(5));                      // exactly at v1
  EXPECT_EQ(p0_target(t0 + absl::Minutes(59)), absl::Minutes(5));
  EXPECT_EQ(p0_target(t0 + absl::Hours(2)), absl::Minutes(1));
  EXPECT_EQ(EffectivePolicy("acme", {}, globals, t0).tenant, "acme");
}

TEST(SlaDeadlinesTest, DurationAndBusinessDayTargets) {
  const absl::Time created = Utc(2026, 11, 27, 16, 30);  // Friday
  const SlaPolicy policy = DefaultSlaPolicy("acme");
  const SlaDeadlines p1 = ComputeDeadlines(policy, Severity::kP1, created);
  EXPECT_EQ(p1.acknowledge_due, created + absl::Minutes(30));
  EXPECT_EQ(p1.response_target, absl::Minutes(30));
  EXPECT_FALSE(p1.resolve_due.has_value());
  const SlaDeadlines p3 = ComputeDeadlines(policy, Severity::kP3, created);
  EXPECT_EQ(p3.acknowledge_due, Utc(2026, 11, 30, 17, 0));
  EXPECT_EQ(p3.response_target, Utc(2026, 11, 30, 17, 0) - created);
}

TEST(SlaBreachTest, ExactlyAtTheDeadlineIsInTime) {
  const absl::Time created = Utc(2026, 11, 23, 10, 0);
  const SlaPolicy policy = DefaultSlaPolicy("acme");
  const SlaSubject subject = Subject(Severity::kP0, created);
  const SlaDeadlines deadlines = ComputeDeadlines(policy, Severity::kP0, created);
  const absl::Time due = created + absl::Minutes(15);
  EXPECT_THAT(FindBreaches(subject, deadlines, {}, due), IsEmpty());
  const std::vector<SlaBreach> late =
      FindBreaches(subject, deadlines, {}, due + absl::Microseconds(1));
  ASSERT_THAT(late, SizeIs(1));
  EXPECT_EQ(late[0].kind, SlaTargetKind::kAcknowledge);
  EXPECT_EQ(late[0].due_time, due);
  EXPECT_EQ(late[0].detect_time, due + absl::Microseconds(1));
  EXPECT_EQ(late[0].severity, Severity::kP0);

  // Acknowledged exactly at the deadline: met, however late we look.
  SlaSubject acked = subject;
  acked.status = IncidentStatus::kAcknowledged;
  acked.acknowledge_time = due;
  EXPECT_THAT(FindBreaches(acked, deadlines, {}, due + absl::Hours(5)), IsEmpty());
  // Acknowledged 1 µs late: missed, at the deadline.
  acked.acknowledge_time = due + absl::Microseconds(1);
  const std::vector<SlaBreach> missed = FindBreaches(acked, deadlines, {}, due + absl::Hours(5));
  ASSERT_THAT(missed, SizeIs(1));
  EXPECT_EQ(missed[0].due_time, due);
  // Recorded once: nothing more to record.
  EXPECT_THAT(FindBreaches(acked, deadlines, missed, due + absl::Hours(6)), IsEmpty());
}

TEST(SlaBreachTest, FirstResponseOfAnyKindStopsTheClock) {
  const absl::Time created = Utc(2026, 11, 23, 10, 0);
  const SlaDeadlines deadlines = ComputeDeadlines(DefaultSlaPolicy("acme"), Severity::kP1, created);
  SlaSubject resolved = Subject(Severity::kP1, created);
  resolved.status = IncidentStatus::kResolved;
  resolved.resolve_time = created + absl::Minutes(10);
  EXPECT_THAT(FindBreaches(resolved, deadlines, {}, created + absl::Hours(3)), IsEmpty());
  SlaSubject mitigated = Subject(Severity::kP1, created);
  mitigated.status = IncidentStatus::kMitigated;
  mitigated.mitigate_time = created + absl::Minutes(29);
  mitigated.acknowledge_time = created + absl::Minutes(45);  // a later re-acknowledgement
  EXPECT_THAT(FindBreaches(mitigated, deadlines, {}, created + absl::Hours(3)), IsEmpty());
}

TEST(SlaBreachTest, SeverityChangesRecomputeTheDeadline) {
  const absl::Time created = Utc(2026, 11, 23, 10, 0);
  const SlaPolicy policy = DefaultSlaPolicy("acme");
  const absl::Time now = created + absl::Minutes(20);
  // As P2 (2 h) it is in time after 20 minutes ...
  SlaSubject subject = Subject(Severity::kP2, created);
  EXPECT_THAT(FindBreaches(subject, ComputeDeadlines(policy, subject.severity, created), {}, now),
              IsEmpty());
  // ... raised to P0 (15 min) it has already missed its target, at create + 15 min.
  subject.severity = Severity::kP0;
  const std::vector<SlaBreach> breaches =
      FindBreaches(subject, ComputeDeadlines(policy, subject.severity, created), {}, now);
  ASSERT_THAT(breaches, SizeIs(1));
  EXPECT_EQ(breaches[0].due_time, created + absl::Minutes(15));
  EXPECT_EQ(breaches[0].severity, Severity::kP0);
  // Lowered from P0 to P3 before its deadline: the next business day.
  subject.severity = Severity::kP3;
  const SlaDeadlines p3 = ComputeDeadlines(policy, subject.severity, created);
  EXPECT_EQ(p3.acknowledge_due, Utc(2026, 11, 24, 17, 0));
  EXPECT_THAT(FindBreaches(subject, p3, {}, Utc(2026, 11, 24, 17, 0)), IsEmpty());
  EXPECT_THAT(FindBreaches(subject, p3, {}, Utc(2026, 11, 24, 17, 1)), SizeIs(1));
}

TEST(SlaBreachTest, ResolveTarget) {
  const absl::Time created = Utc(2026, 11, 23, 10, 0);
  SlaPolicy policy = DefaultSlaPolicy("acme");
  policy.targets[1].resolve_within = absl::Hours(4);
  const SlaDeadlines deadlines = ComputeDeadlines(policy, Severity::kP1, created);
  ASSERT_TRUE(deadlines.resolve_due.has_value());
  EXPECT_EQ(*deadlines.resolve_due, created + absl::Hours(4));
  SlaSubject subject = Subject(Severity::kP1, created);
  subject.status = IncidentStatus::kAcknowledged;
  subject.acknowledge_time = created + absl::Minutes(5);
  EXPECT_THAT(FindBreaches(subject, deadlines, {}, created + absl::Hours(4)), IsEmpty());
  const std::vector<SlaBreach> open_late =
      FindBreaches(subject, deadlines, {}, created + absl::Hours(4) + absl::Seconds(1));
  ASSERT_THAT(open_late, SizeIs(1));
  EXPECT_EQ(open_late[0].kind, SlaTargetKind::kResolve);
  subject.status = IncidentStatus::kResolved;
  subject.resolve_time = created + absl::Hours(3);
  EXPECT_THAT(FindBreaches(subject, deadlines, {}, created + absl::Hours(9)), IsEmpty());
}

TEST(SlaBreachTest, BothTargetsMissedAcknowledgeFirst) {
  const absl::Time created = Utc(2026, 11, 23, 10, 0);
  SlaPolicy policy = DefaultSlaPolicy("acme");
  policy.targets[0].resolve_within = absl::Hours(1);
  const std::vector<SlaBreach> breaches =
      FindBreaches(Subject(Severity::kP0, created),
                   ComputeDeadlines(policy, Severity::kP0, created), {}, created + absl::Hours(2));
  ASSERT_THAT(breaches, SizeIs(2));
  EXPECT_EQ(breaches[0].kind, SlaTargetKind::kAcknowledge);
  EXPECT_EQ(breaches[1].kind, SlaTargetKind::kResolve);
}

TEST(SlaBreachTest, TimelineEntry) {
  SlaBreach breach;
  breach.tenant = "acme";
  breach.incident_id = "inc-1";
  breach.severity = Severity::kP1;
  breach.due_time = Utc(2026, 11, 23, 10, 30);
  breach.detect_time = Utc(2026, 11, 23, 10, 31);
  const TimelineEntry entry = BreachEntry(breach);
  EXPECT_EQ(entry.kind, "sla_breached");
  EXPECT_EQ(entry.actor, "system");
  EXPECT_EQ(entry.time, breach.detect_time);
  EXPECT_EQ(entry.details.at("target"), "acknowledge");
  EXPECT_EQ(entry.details.at("severity"), "P1");
  EXPECT_EQ(entry.details.at("due_time"), "2026-11-23T10:30:00Z");
  EXPECT_THAT(entry.text, HasSubstr("not acknowledged by 2026-11-23T10:30:00Z"));
}

}  // namespace
}  // namespace agentwatch::incident
