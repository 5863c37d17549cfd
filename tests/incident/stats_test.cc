// GetStats arithmetic and query validation (core/stats.h).
#include "incident/core/stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/status_matchers.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kNow = absl::FromUnixSeconds(1'795'600'800);  // 2026-11-25 10:00 UTC

TEST(StatsTest, RoundedMeanRoundsHalfAwayFromZero) {
  EXPECT_EQ(RoundedMeanMicros(0, 0), 0);
  EXPECT_EQ(RoundedMeanMicros(7, 0), 0);
  EXPECT_EQ(RoundedMeanMicros(10, 4), 3);  // 2.5 -> 3
  EXPECT_EQ(RoundedMeanMicros(9, 4), 2);   // 2.25 -> 2
  EXPECT_EQ(RoundedMeanMicros(11, 4), 3);  // 2.75 -> 3
  EXPECT_EQ(RoundedMeanMicros(-10, 4), -3);
  EXPECT_EQ(RoundedMeanMicros(6, 3), 2);
  // Sums beyond int64 (many long durations) stay exact.
  const absl::int128 big = absl::int128(INT64_MAX) * 4;
  EXPECT_EQ(RoundedMeanMicros(big, 4), INT64_MAX);
}

TEST(StatsTest, RatiosAndWeeklyRates) {
  EXPECT_EQ(Ratio(1, 0), 0);
  EXPECT_DOUBLE_EQ(Ratio(5, 4), 1.25);
  EXPECT_DOUBLE_EQ(PerWeek(3, absl::Hours(24 * 14)), 1.5);
  EXPECT_DOUBLE_EQ(PerWeek(2, absl::Hours(24)), 14);
  EXPECT_EQ(PerWeek(2, absl::ZeroDuration()), 0);
}

TEST(StatsTest, HumanActors) {
  EXPECT_TRUE(IsHumanActor("alice"));
  EXPECT_TRUE(IsHumanActor("pagerduty-user"));
  EXPECT_FALSE(IsHumanActor("system"));
  EXPECT_FALSE(IsHumanActor("escalation"));
  EXPECT_FALSE(IsHumanActor("auto_resolve"));
  EXPECT_FALSE(IsHumanActor("response_rule:r1"));
}

TEST(StatsTest, LocalDayStartFollowsTheZoneAcrossDst) {
  absl::TimeZone berlin;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Berlin", &berlin));
  // 2026-03-29 is 23 hours long in Berlin (02:00 -> 03:00).
  const absl::Time noon = absl::FromCivil(absl::CivilSecond(2026, 3, 29, 12, 0, 0), berlin);
  const absl::Time start = LocalDayStart(noon, berlin);
  EXPECT_EQ(start, absl::FromCivil(absl::CivilSecond(2026, 3, 29, 0, 0, 0), berlin));
  EXPECT_EQ(LocalDayStart(start + absl::Hours(23), berlin), start + absl::Hours(23));
  EXPECT_EQ(LocalDayStart(start + absl::Hours(23) - absl::Seconds(1), berlin), start);
}

TEST(StatsTest, MakeStatsQueryDefaultsAndRefusals) {
  auto query = MakeStatsQuery("", kNow - absl::Hours(24), std::nullopt, "", "", kNow);
  ASSERT_THAT(query, IsOk());
  EXPECT_EQ(query->end, kNow);
  EXPECT_EQ(query->service_label, "service");
  EXPECT_EQ(query->time_zone, "UTC");
  query = MakeStatsQuery("acme", kNow - absl::Hours(24), kNow - absl::Hours(1), "team",
                         "Europe/Berlin", kNow);
  ASSERT_THAT(query, IsOk());
  EXPECT_EQ(query->tenant, "acme");
  EXPECT_EQ(query->service_label, "team");
  EXPECT_EQ(query->time_zone, "Europe/Berlin");

  EXPECT_THAT(MakeStatsQuery("", std::nullopt, std::nullopt, "", "", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("range.start")));
  EXPECT_THAT(MakeStatsQuery("", kNow, kNow, "", "", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("range.end")));
  EXPECT_THAT(MakeStatsQuery("", kNow + absl::Hours(1), std::nullopt, "", "", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("range.end")));
  EXPECT_THAT(MakeStatsQuery("", kNow - absl::Hours(24 * 401), std::nullopt, "", "", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("range")));
  EXPECT_THAT(MakeStatsQuery("", kNow - absl::Hours(24 * 400), std::nullopt, "", "", kNow), IsOk());
  EXPECT_THAT(MakeStatsQuery("", kNow - absl::Hours(1), std::nullopt, "", "Nowhere/Atlantis", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("time_zone")));
  EXPECT_THAT(
      MakeStatsQuery(std::string(200, 't'), kNow - absl::Hours(1), std::nullopt, "", "", kNow),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tenant")));
  EXPECT_THAT(
      MakeStatsQuery("", kNow - absl::Hours(1), std::nullopt, std::string(300, 'l'), "", kNow),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("service_label")));
}

TEST(StatsTest, FinishStatsFillsEveryDayAndComputesFatigue) {
  StatsQuery query;
  query.start = kNow - absl::Hours(60);  // 2026-11-22 22:00 UTC
  query.end = kNow;                      // 2026-11-25 10:00 UTC
  StatsAggregates aggregates;
  aggregates.overall.incident_count = 4;
  aggregates.alert_total = 10;
  aggregates.unattended_auto_resolved = 1;
  aggregates.notifications = 7;
  aggregates.pages = {{"alice", 5}};
  const absl::Time nov23 = absl::FromCivil(absl::CivilDay(2026, 11, 23), absl::UTCTimeZone());
  aggregates.days = {{nov23, 3}, {nov23 + absl::Hours(48), 1}};
  const IncidentStatsReport report = FinishStats(query, aggregates);
  ASSERT_THAT(report.frequency, SizeIs(4));  // Nov 22, 23, 24, 25
  EXPECT_EQ(report.frequency[0].day_start, nov23 - absl::Hours(24));
  EXPECT_EQ(report.frequency[0].count, 0);
  EXPECT_EQ(report.frequency[1].count, 3);
  EXPECT_EQ(report.frequency[2].count, 0);
  EXPECT_EQ(report.frequency[3].day_start, nov23 + absl::Hours(48));
  EXPECT_EQ(report.frequency[3].count, 1);
  EXPECT_DOUBLE_EQ(report.alerts_per_incident, 2.5);
  EXPECT_DOUBLE_EQ(report.auto_resolved_share, 0.25);
  EXPECT_EQ(report.notifications_sent, 7);
  ASSERT_THAT(report.pages_per_person, SizeIs(1));
  EXPECT_DOUBLE_EQ(report.pages_per_person[0].pages_per_week, 5 * 168.0 / 60.0);

  // A range ending at a local midnight has no bucket for that day; a DST
  // zone's days are 23 or 25 hours long.
  query.time_zone = "Europe/Berlin";
  absl::TimeZone berlin;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Berlin", &berlin));
  query.start = absl::FromCivil(absl::CivilSecond(2026, 10, 24, 12, 0, 0), berlin);
  query.end = absl::FromCivil(absl::CivilSecond(2026, 10, 27, 0, 0, 0), berlin);
  const IncidentStatsReport dst = FinishStats(query, StatsAggregates{});
  ASSERT_THAT(dst.frequency, SizeIs(3));  // Oct 24, 25 (25 hours), 26
  EXPECT_EQ(dst.frequency[2].day_start - dst.frequency[1].day_start, absl::Hours(25));
}

}  // namespace
}  // namespace agentwatch::incident
