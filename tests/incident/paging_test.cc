// Paging rules: escalation timing (tiers, repeats, acknowledgement timeout,
// restarts), policy selection, on-call schedules and channel validation and
// rendering.
#include "incident/core/paging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/testing/status_matchers.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Kind = EscalationTarget::Kind;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);  // 2023-11-14 22:13:20 UTC

Incident Triggered(absl::Time created) {
  Incident incident;
  incident.id = "inc-1";
  incident.tenant = "acme";
  incident.title = "API down";
  incident.status = IncidentStatus::kTriggered;
  incident.severity = Severity::kP1;
  incident.create_time = created;
  incident.update_time = created;
  return incident;
}

EscalationPolicy ThreeTiers() {
  EscalationPolicy p;
  p.id = "pol-1";
  p.name = "api";
  p.tenant = "acme";
  p.tiers = {{absl::ZeroDuration(), {{Kind::kPerson, "alice"}}},
             {absl::Minutes(10), {{Kind::kSchedule, "sched-1"}}},
             {absl::Minutes(20), {{Kind::kChannel, "chan-1"}}}};
  return p;
}

// Drives the escalation of one incident the way the engine does, with a
// FakeClock, and records when each tier paged.
struct Simulation {
  Incident incident;
  EscalationPolicy policy;
  absl::Duration group_wait = absl::Seconds(30);
  std::optional<EscalationState> state;
  std::vector<std::pair<absl::Duration, int>> pages;  // (offset from kT0, tier)

  void RunUntil(common::FakeClock& clock, absl::Time end, absl::Duration step) {
    while (clock.Now() <= end) {
      EscalationState s = EffectiveState(incident, state, policy, clock.Now());
      for (int round = 0; round < 2; ++round) {
        std::optional<EscalationStep> next = NextEscalation(incident, s, policy, group_wait);
        if (!next || next->due > clock.Now()) break;
        if (next->action == EscalationAction::kAcknowledgeTimeout) {
          AcknowledgeTimeoutChange change = AcknowledgeTimedOut(incident, s, clock.Now());
          incident = change.incident;
          s = change.state;
          continue;
        }
        pages.emplace_back(clock.Now() - kT0, next->tier);
        s.tier = next->tier;
        s.cycle = next->cycle;
        s.last_page_at = clock.Now();
        incident.escalation_tier = next->tier;
      }
      state = s;
      clock.Advance(step);
    }
  }
};

TEST(EscalationTest, PagesTierByTierAfterGroupWait) {
  common::FakeClock clock(kT0);
  Simulation sim{Triggered(kT0), ThreeTiers()};
  sim.RunUntil(clock, kT0 + absl::Hours(2), absl::Seconds(10));
  // Tier 0 waits for group_wait (30 s), then tier 1 10 min and tier 2 20 min
  // after the previous page; no repeat.
  using P = std::pair<absl::Duration, int>;
  EXPECT_THAT(sim.pages, ElementsAre(P{absl::Seconds(30), 0}, P{absl::Seconds(630), 1},
                                     P{absl::Seconds(1830), 2}));
}

TEST(EscalationTest, DefaultChainPagesLeadAfter15AndManagerAfter30Minutes) {
  common::FakeClock clock(kT0);
  Simulation sim{Triggered(kT0), DefaultEscalationPolicy("acme")};
  sim.group_wait = absl::ZeroDuration();
  sim.RunUntil(clock, kT0 + absl::Hours(3), absl::Seconds(1));
  using P = std::pair<absl::Duration, int>;
  EXPECT_THAT(sim.pages, ElementsAre(P{absl::ZeroDuration(), 0}, P{absl::Minutes(15), 1},
                                     P{absl::Minutes(30), 2}));
  const EscalationPolicy d = DefaultEscalationPolicy("acme");
  EXPECT_EQ(d.tiers[0].targets[0].value, "oncall");
  EXPECT_EQ(d.tiers[1].targets[0].value, "team-lead");
  EXPECT_EQ(d.tiers[2].targets[0].value, "engineering-manager");
  EXPECT_THAT(ValidateEscalationPolicy(d, "policy"), IsOk());
}

TEST(EscalationTest, RepeatsTheChainAfterTheLongestDelay) {
  common::FakeClock clock(kT0);
  EscalationPolicy p = ThreeTiers();
  p.repeat_count = 2;
  Simulation sim{Triggered(kT0), p};
  sim.group_wait = absl::ZeroDuration();
  sim.RunUntil(clock, kT0 + absl::Hours(5), absl::Seconds(10));
  ASSERT_EQ(sim.pages.size(), 9u);
  // Cycle 1 starts 20 min (the longest delay) after the last tier of cycle 0.
  EXPECT_EQ(sim.pages[3], std::make_pair(absl::Minutes(50), 0));
  EXPECT_EQ(sim.pages[8], std::make_pair(absl::Minutes(130), 2));
}

TEST(EscalationTest, OneTierWithoutDelayRepeatsNoFasterThanOneMinute) {
  EscalationPolicy p = ThreeTiers();
  p.tiers.resize(1);
  p.repeat_count = 3;
  EXPECT_EQ(RepeatDelay(p), kMinRepeatDelay);
  common::FakeClock clock(kT0);
  Simulation sim{Triggered(kT0), p};
  sim.group_wait = absl::ZeroDuration();
  sim.RunUntil(clock, kT0 + absl::Minutes(10), absl::Seconds(1));
  using P = std::pair<absl::Duration, int>;
  EXPECT_THAT(sim.pages, ElementsAre(P{absl::ZeroDuration(), 0}, P{absl::Minutes(1), 0},
                                     P{absl::Minutes(2), 0}, P{absl::Minutes(3), 0}));
}

TEST(EscalationTest, AcknowledgementStopsEscalation) {
  common::FakeClock clock(kT0);
  Simulation sim{Triggered(kT0), ThreeTiers()};
  sim.group_wait = absl::ZeroDuration();
  sim.RunUntil(clock, kT0 + absl::Minutes(5), absl::Seconds(10));
  sim.incident.status = IncidentStatus::kAcknowledged;
  sim.incident.acknowledge_time = clock.Now();
  sim.RunUntil(clock, kT0 + absl::Hours(3), absl::Seconds(10));
  ASSERT_EQ(sim.pages.size(), 1u);
}

TEST(EscalationTest, AcknowledgementTimeoutReescalatesFromTierZero) {
  common::FakeClock clock(kT0);
  EscalationPolicy p = ThreeTiers();
  p.acknowledge_timeout = absl::Minutes(30);
  Simulation sim{Triggered(kT0), p};
  sim.group_wait = absl::ZeroDuration();
  sim.RunUntil(clock, kT0 + absl::Minutes(12), absl::Seconds(10));
  ASSERT_EQ(sim.pages.size(), 2u);  // tiers 0 and 1
  sim.incident.status = IncidentStatus::kAcknowledged;
  sim.incident.acknowledge_time = clock.Now();
  const absl::Time acked = clock.Now();
  sim.RunUntil(clock, acked + absl::Minutes(29), absl::Seconds(10));
  EXPECT_EQ(sim.pages.size(), 2u);
  sim.RunUntil(clock, acked + absl::Minutes(31), absl::Seconds(10));
  ASSERT_EQ(sim.pages.size(), 3u);
  EXPECT_EQ(sim.pages[2].second, 0);
  EXPECT_GE(sim.pages[2].first, acked + absl::Minutes(30) - kT0);
  EXPECT_EQ(sim.incident.status, IncidentStatus::kTriggered);
  EXPECT_EQ(sim.state->epoch, 1);
}

TEST(EscalationTest, ReopenRestartsWithANewEpoch) {
  Incident incident = Triggered(kT0);
  EscalationState paged;
  paged.policy_id = "pol-1";
  paged.tier = 2;
  paged.started_at = kT0;
  paged.last_page_at = kT0 + absl::Minutes(30);
  incident.escalation_tier = 2;
  EXPECT_EQ(EffectiveState(incident, paged, ThreeTiers(), kT0 + absl::Hours(1)), paged);
  incident.escalation_tier = -1;  // what a reopen does
  const EscalationState restarted =
      EffectiveState(incident, paged, ThreeTiers(), kT0 + absl::Hours(1));
  EXPECT_EQ(restarted.epoch, 1);
  EXPECT_EQ(restarted.tier, -1);
  EXPECT_EQ(restarted.started_at, kT0 + absl::Hours(1));
  auto step = NextEscalation(incident, restarted, ThreeTiers(), absl::Minutes(5));
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(step->tier, 0);
  // group_wait applies to a new incident only.
  EXPECT_EQ(step->due, kT0 + absl::Hours(1));
  EXPECT_NE(PageKey("inc-1", 0, 0, 0, "c"), PageKey("inc-1", 1, 0, 0, "c"));
}

TEST(EscalationTest, NothingForMitigatedOrResolved) {
  Incident incident = Triggered(kT0);
  EscalationState state;
  state.started_at = kT0;
  for (IncidentStatus s :
       {IncidentStatus::kMitigated, IncidentStatus::kResolved, IncidentStatus::kClosed}) {
    incident.status = s;
    EXPECT_FALSE(NextEscalation(incident, state, ThreeTiers(), absl::ZeroDuration()).has_value());
  }
}

TEST(EscalationPolicyTest, SelectsLowestPriorityMatch) {
  EscalationPolicy a = ThreeTiers();
  a.id = "a";
  a.priority = 5;
  a.matchers = {{"service", MatchOp::kEqual, "api"}};
  EscalationPolicy b = ThreeTiers();
  b.id = "b";
  b.priority = 1;
  b.matchers = {{"service", MatchOp::kRegex, "api|web"}};
  EscalationPolicy other = ThreeTiers();
  other.id = "c";
  other.tenant = "globex";
  EXPECT_EQ(SelectPolicy({a, b, other}, "acme", {{"service", "api"}}).id, "b");
  EXPECT_EQ(SelectPolicy({a, b}, "acme", {{"service", "db"}}).id, kDefaultPolicyId);
  EXPECT_EQ(SelectPolicy({other}, "acme", {}).id, kDefaultPolicyId);
}

TEST(EscalationPolicyTest, ValidationNamesTheField) {
  EscalationPolicy p = ThreeTiers();
  p.tiers.clear();
  EXPECT_THAT(ValidateEscalationPolicy(p, "policy"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy.tiers")));
  p = ThreeTiers();
  p.tiers[1].delay = -absl::Seconds(1);
  EXPECT_THAT(ValidateEscalationPolicy(p, "policy"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy.tiers[1].delay")));
  p = ThreeTiers();
  p.tiers[2].targets.push_back({Kind::kUnspecified, ""});
  EXPECT_THAT(
      ValidateEscalationPolicy(p, "policy"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy.tiers[2].targets[1]")));
  p = ThreeTiers();
  p.repeat_count = -1;
  EXPECT_THAT(ValidateEscalationPolicy(p, "policy"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy.repeat_count")));
  p = ThreeTiers();
  p.acknowledge_timeout = absl::ZeroDuration();
  EXPECT_THAT(
      ValidateEscalationPolicy(p, "policy"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy.acknowledge_timeout")));
  p = ThreeTiers();
  p.name.clear();
  EXPECT_THAT(ValidateEscalationPolicy(p, "policy"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy.name")));
  p = ThreeTiers();
  p.matchers = {{"service", MatchOp::kRegex, "("}};
  EXPECT_THAT(ValidateEscalationPolicy(p, "policy"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy.matchers[0]")));
}

Schedule WeeklyRotation() {
  Schedule s;
  s.id = "sched-1";
  s.name = "primary";
  s.tenant = "acme";
  s.time_zone = "Europe/Berlin";
  Rotation r;
  r.name = "weekly";
  r.participants = {"alice", "bob", "carol"};
  r.start_time = kT0;
  r.shift_length = absl::Hours(24 * 7);
  s.rotations.push_back(r);
  return s;
}

TEST(ScheduleTest, RotationHandsOffEveryShift) {
  const Schedule s = WeeklyRotation();
  EXPECT_FALSE(OnCallAt(s, kT0 - absl::Seconds(1)).has_value());
  EXPECT_EQ(OnCallAt(s, kT0)->person, "alice");
  EXPECT_EQ(OnCallAt(s, kT0 + absl::Hours(24 * 7) - absl::Seconds(1))->person, "alice");
  EXPECT_EQ(OnCallAt(s, kT0 + absl::Hours(24 * 7))->person, "bob");
  EXPECT_EQ(OnCallAt(s, kT0 + absl::Hours(24 * 21))->person, "alice");
  const OnCallShift shift = *OnCallAt(s, kT0 + absl::Hours(24 * 8));
  EXPECT_EQ(shift.start, kT0 + absl::Hours(24 * 7));
  EXPECT_EQ(shift.end, kT0 + absl::Hours(24 * 14));
  EXPECT_FALSE(shift.is_override);
}

TEST(ScheduleTest, OverridesAndLaterLayersWin) {
  Schedule s = WeeklyRotation();
  Rotation nights;
  nights.name = "business-hours";
  nights.participants = {"dave"};
  nights.start_time = kT0;
  nights.shift_length = absl::Hours(24);
  // Monday-Friday 09:00-17:00 in Berlin.
  nights.restrictions = {
      WeeklyWindow{{DayOfWeek::kMonday, DayOfWeek::kTuesday, DayOfWeek::kWednesday,
                    DayOfWeek::kThursday, DayOfWeek::kFriday},
                   9 * 60,
                   17 * 60,
                   "Europe/Berlin"}};
  s.rotations.push_back(nights);
  absl::TimeZone berlin;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Berlin", &berlin));
  // Wednesday 06:00-08:00 Berlin.
  const absl::Time wed6 = absl::FromCivil(absl::CivilSecond(2023, 11, 15, 6, 0, 0), berlin);
  s.overrides.push_back({"ov-1", "erin", wed6, wed6 + absl::Hours(2)});
  // Wednesday 2023-11-15 10:00 Berlin: business hours -> dave.
  const absl::Time wed10 = absl::FromCivil(absl::CivilSecond(2023, 11, 15, 10, 0, 0), berlin);
  EXPECT_EQ(OnCallAt(s, wed10)->person, "dave");
  // Wednesday 20:00: outside -> the weekly rotation (alice).
  const absl::Time wed20 = absl::FromCivil(absl::CivilSecond(2023, 11, 15, 20, 0, 0), berlin);
  EXPECT_EQ(OnCallAt(s, wed20)->person, "alice");
  const OnCallShift o = *OnCallAt(s, wed6 + absl::Hours(1));
  EXPECT_EQ(o.person, "erin");
  EXPECT_TRUE(o.is_override);
  EXPECT_EQ(o.rotation, "override");

  // Shifts over Wednesday 00:00 .. Thursday 00:00 Berlin.
  const absl::Time wed0 = absl::FromCivil(absl::CivilSecond(2023, 11, 15, 0, 0, 0), berlin);
  auto shifts = ShiftsBetween(s, wed0, wed0 + absl::Hours(24));
  ASSERT_THAT(shifts, IsOk());
  std::vector<std::string> people;
  for (const OnCallShift& shift : *shifts) people.push_back(shift.person);
  EXPECT_THAT(people, ElementsAre("alice", "erin", "alice", "dave", "alice"));
  EXPECT_EQ((*shifts)[3].start, absl::FromCivil(absl::CivilSecond(2023, 11, 15, 9, 0, 0), berlin));
  EXPECT_EQ((*shifts)[3].end, absl::FromCivil(absl::CivilSecond(2023, 11, 15, 17, 0, 0), berlin));
  EXPECT_EQ(shifts->back().end, wed0 + absl::Hours(24));
}

TEST(ScheduleTest, ShiftsBetweenRejectsBadRanges) {
  const Schedule s = WeeklyRotation();
  EXPECT_THAT(ShiftsBetween(s, kT0, kT0), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ShiftsBetween(s, kT0, kT0 + absl::Hours(24 * 32)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("31 days")));
  auto before = ShiftsBetween(s, kT0 - absl::Hours(48), kT0 - absl::Hours(1));
  ASSERT_THAT(before, IsOk());
  EXPECT_THAT(*before, IsEmpty());
}

TEST(ScheduleTest, ValidationNamesTheField) {
  Schedule s = WeeklyRotation();
  s.time_zone = "Mars/Olympus";
  EXPECT_THAT(ValidateSchedule(s, "schedule"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("schedule.time_zone")));
  s = WeeklyRotation();
  s.rotations[0].participants.clear();
  EXPECT_THAT(ValidateSchedule(s, "schedule"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("schedule.rotations[0].participants")));
  s = WeeklyRotation();
  s.rotations[0].shift_length = absl::Minutes(30);
  EXPECT_THAT(ValidateSchedule(s, "schedule"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("schedule.rotations[0].shift_length")));
  s = WeeklyRotation();
  s.overrides.push_back({"o", "x", kT0, kT0});
  EXPECT_THAT(ValidateSchedule(s, "schedule"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                        HasSubstr("schedule.overrides[0].range")));
  s = WeeklyRotation();
  s.rotations.clear();
  EXPECT_THAT(ValidateSchedule(s, "schedule"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("schedule.rotations")));
}

NotificationChannel Webhook() {
  NotificationChannel c;
  c.id = "chan-1";
  c.name = "ops hook";
  c.tenant = "acme";
  c.kind = ChannelKind::kWebhook;
  c.url = "https://hooks.example.com/x";
  c.secret_ref = "env:HOOK_SECRET";
  return c;
}

TEST(ChannelTest, Validation) {
  EXPECT_THAT(ValidateChannel(Webhook(), "channel"), IsOk());
  NotificationChannel c = Webhook();
  c.url = "ftp://x";
  EXPECT_THAT(ValidateChannel(c, "channel"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("channel.webhook.url")));
  c = Webhook();
  c.secret_ref = "plain-secret";
  EXPECT_THAT(
      ValidateChannel(c, "channel"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("channel.webhook.hmac_secret_ref")));
  c = Webhook();
  c.kind = ChannelKind::kSlack;
  c.secret_ref = "";
  EXPECT_THAT(ValidateChannel(c, "channel"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                      HasSubstr("channel.slack.webhook_url_ref")));
  c = Webhook();
  c.kind = ChannelKind::kEmail;
  c.smtp_host = "127.0.0.1";
  c.smtp_port = 2525;
  c.secret_ref = "";
  c.from_address = "aw@example.com";
  c.to_addresses = {"oncall@example.com"};
  EXPECT_THAT(ValidateChannel(c, "channel"), IsOk());
  c.to_addresses = {"not-an-address"};
  EXPECT_THAT(ValidateChannel(c, "channel"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                      HasSubstr("channel.email.to_addresses[0]")));
  c.to_addresses = {"oncall@example.com"};
  c.smtp_port = 70000;
  EXPECT_THAT(ValidateChannel(c, "channel"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("channel.email.smtp_port")));
  c = Webhook();
  c.kind = ChannelKind::kUnspecified;
  EXPECT_THAT(ValidateChannel(c, "channel"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("channel.config")));
}

TEST(ChannelTest, SeverityFilterAndDisabled) {
  NotificationChannel c = Webhook();
  EXPECT_TRUE(ChannelAccepts(c, Severity::kP3));
  c.min_severity = Severity::kP1;
  EXPECT_TRUE(ChannelAccepts(c, Severity::kP0));
  EXPECT_TRUE(ChannelAccepts(c, Severity::kP1));
  EXPECT_FALSE(ChannelAccepts(c, Severity::kP2));
  c.min_severity = Severity::kUnspecified;
  c.disabled = true;
  EXPECT_FALSE(ChannelAccepts(c, Severity::kP0));
}

TEST(ChannelTest, Renderings) {
  NotificationEvent e;
  e.tenant = "acme";
  e.incident_id = "inc-1";
  e.title = "API \"down\"\n";
  e.severity = Severity::kP0;
  e.event = "triggered";
  e.person = "alice";
  e.channel_id = "chan-1";
  e.idempotency_key = PageKey("inc-1", 0, 0, 0, "chan-1");
  e.time = kT0;
  EXPECT_THAT(WebhookBody(e), HasSubstr("\"title\":\"API \\\"down\\\"\\n\""));
  EXPECT_THAT(WebhookBody(e), HasSubstr("\"idempotency_key\":\"page/inc-1/0/0/0/chan-1\""));
  EXPECT_THAT(SlackBody(e, "#oncall"), HasSubstr("\"channel\":\"#oncall\""));
  EXPECT_THAT(PagerDutyBody(e, "rk"), HasSubstr("\"severity\":\"critical\""));
  EXPECT_THAT(PagerDutyBody(e, "rk"), HasSubstr("\"dedup_key\":\"inc-1\""));
  NotificationChannel c = Webhook();
  c.from_address = "aw@example.com";
  c.to_addresses = {"a@example.com", "b@example.com"};
  const std::string mail = EmailMessage(e, c);
  EXPECT_THAT(mail, HasSubstr("To: a@example.com, b@example.com\r\n"));
  EXPECT_THAT(mail, HasSubstr("Subject: [P0] API \"down\" \r\n"));
  EXPECT_THAT(mail, HasSubstr("X-Agentwatch-Idempotency-Key: page/inc-1/0/0/0/chan-1\r\n"));
  EXPECT_EQ(mail.find("\n\n"), std::string::npos);  // CRLF only
}

}  // namespace
}  // namespace agentwatch::incident
