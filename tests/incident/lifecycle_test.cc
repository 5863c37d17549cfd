#include "incident/core/lifecycle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "common/testing/status_matchers.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;
using S = IncidentStatus;

Incident MakeIncident(IncidentStatus status, Severity severity = Severity::kP2) {
  Incident incident;
  incident.id = "inc-1";
  incident.tenant = "acme";
  incident.group_key = "\"acme\":{alertname=\"X\"}";
  incident.title = "X";
  incident.status = status;
  incident.severity = severity;
  incident.create_time = absl::FromUnixSeconds(1000);
  incident.update_time = incident.create_time;
  return incident;
}

const std::vector<IncidentStatus> kAllStates = {S::kTriggered, S::kAcknowledged, S::kMitigated,
                                                S::kResolved, S::kClosed};

// Every (from, to) pair: whether the step is allowed and whether it is a no-op.
struct Step {
  IncidentStatus from;
  IncidentStatus to;
  bool allowed;
};

std::vector<Step> AllSteps() {
  const std::vector<std::pair<IncidentStatus, IncidentStatus>> allowed = {
      {S::kTriggered, S::kAcknowledged}, {S::kAcknowledged, S::kAcknowledged},
      {S::kTriggered, S::kMitigated},    {S::kAcknowledged, S::kMitigated},
      {S::kTriggered, S::kResolved},     {S::kAcknowledged, S::kResolved},
      {S::kMitigated, S::kResolved},     {S::kResolved, S::kClosed},
      {S::kResolved, S::kTriggered},
  };
  std::vector<Step> steps;
  for (IncidentStatus from : kAllStates) {
    for (IncidentStatus to : kAllStates) {
      bool ok = false;
      for (const auto& [f, t] : allowed) ok = ok || (f == from && t == to);
      steps.push_back({from, to, ok});
    }
  }
  return steps;
}

class TransitionTableTest : public ::testing::TestWithParam<Step> {};

TEST_P(TransitionTableTest, AllowsExactlyTheDocumentedSteps) {
  const Step step = GetParam();
  const Incident before = MakeIncident(step.from);
  const absl::Time now = absl::FromUnixSeconds(2000);
  auto change = Transition(before, step.to, "alice", "", now);
  if (!step.allowed) {
    EXPECT_THAT(change,
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(StatusName(step.from))));
    return;
  }
  ASSERT_THAT(change, IsOk());
  if (step.from == step.to) {  // acknowledge twice: unchanged, nothing recorded
    EXPECT_EQ(change->incident, before);
    EXPECT_TRUE(change->entries.empty());
    return;
  }
  EXPECT_EQ(change->incident.status, step.to);
  EXPECT_EQ(change->incident.update_time, now);
  ASSERT_EQ(change->entries.size(), 1u);
  const TimelineEntry& entry = change->entries[0];
  EXPECT_EQ(entry.actor, "alice");
  EXPECT_EQ(entry.time, now);
  EXPECT_EQ(entry.incident_id, "inc-1");
  EXPECT_EQ(entry.tenant, "acme");
  EXPECT_EQ(entry.details.at("from"), StatusName(step.from));
  EXPECT_EQ(entry.details.at("to"), StatusName(step.to));
}

std::string StepName(const ::testing::TestParamInfo<Step>& info) {
  return std::string(StatusName(info.param.from)) + "_to_" + StatusName(info.param.to);
}

INSTANTIATE_TEST_SUITE_P(Lifecycle, TransitionTableTest, ::testing::ValuesIn(AllSteps()), StepName);

TEST(TransitionTest, EachStepSetsItsTimestampAndKind) {
  const absl::Time t1 = absl::FromUnixSeconds(2000);
  const absl::Time t2 = t1 + absl::Minutes(1);
  const absl::Time t3 = t2 + absl::Minutes(1);
  const absl::Time t4 = t3 + absl::Minutes(1);
  Incident incident = MakeIncident(S::kTriggered);

  auto ack = Transition(incident, S::kAcknowledged, "alice", "", t1);
  ASSERT_THAT(ack, IsOk());
  EXPECT_EQ(ack->incident.acknowledge_time, t1);
  EXPECT_EQ(ack->entries[0].kind, "acknowledged");
  EXPECT_EQ(ack->entries[0].text, "Acknowledged by alice");

  auto mitigate = Transition(ack->incident, S::kMitigated, "bob", "rolled back", t2);
  ASSERT_THAT(mitigate, IsOk());
  EXPECT_EQ(mitigate->incident.mitigate_time, t2);
  EXPECT_EQ(mitigate->incident.acknowledge_time, t1);
  EXPECT_EQ(mitigate->entries[0].kind, "mitigated");
  EXPECT_EQ(mitigate->entries[0].text, "rolled back");  // the note is the text

  auto resolve = Transition(mitigate->incident, S::kResolved, "bob", "", t3);
  ASSERT_THAT(resolve, IsOk());
  EXPECT_EQ(resolve->incident.resolve_time, t3);
  EXPECT_FALSE(resolve->incident.auto_resolved);
  EXPECT_EQ(resolve->entries[0].kind, "resolved");

  auto close = Transition(resolve->incident, S::kClosed, "carol", "", t4);
  ASSERT_THAT(close, IsOk());
  EXPECT_EQ(close->incident.close_time, t4);
  EXPECT_EQ(close->entries[0].kind, "closed");
}

TEST(TransitionTest, ReopenRestartsEscalationAndKeepsHistory) {
  Incident incident = MakeIncident(S::kResolved);
  incident.resolve_time = absl::FromUnixSeconds(1500);
  incident.escalation_tier = 2;
  auto reopen = Transition(incident, S::kTriggered, "alice", "", absl::FromUnixSeconds(2000));
  ASSERT_THAT(reopen, IsOk());
  EXPECT_EQ(reopen->incident.status, S::kTriggered);
  EXPECT_EQ(reopen->incident.escalation_tier, -1);
  EXPECT_EQ(reopen->incident.resolve_time, absl::FromUnixSeconds(1500));
  EXPECT_EQ(reopen->entries[0].kind, "reopened");
}

TEST(TransitionTest, ClosedIncidentCannotReopen) {
  EXPECT_THAT(
      Transition(MakeIncident(S::kClosed), S::kTriggered, "alice", "", absl::FromUnixSeconds(2000)),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("cannot reopen")));
}

TEST(TransitionTest, ResolvedCannotBeAcknowledged) {
  EXPECT_THAT(Transition(MakeIncident(S::kResolved), S::kAcknowledged, "alice", "",
                         absl::FromUnixSeconds(2000)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is RESOLVED; cannot acknowledge")));
}

TEST(TransitionTest, AcknowledgeTwiceKeepsTheFirstTimeAndRecordsTheNote) {
  Incident incident = MakeIncident(S::kAcknowledged);
  incident.acknowledge_time = absl::FromUnixSeconds(1500);
  auto again =
      Transition(incident, S::kAcknowledged, "bob", "still on it", absl::FromUnixSeconds(2000));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->incident, incident);
  ASSERT_EQ(again->entries.size(), 1u);
  EXPECT_EQ(again->entries[0].kind, "note");
  EXPECT_EQ(again->entries[0].text, "still on it");
  EXPECT_EQ(again->entries[0].actor, "bob");
}

TEST(TransitionTest, HighSeverityNeedsAPublishedPostmortemToClose) {
  for (Severity severity : {Severity::kP0, Severity::kP1}) {
    Incident incident = MakeIncident(S::kResolved, severity);
    EXPECT_THAT(Transition(incident, S::kClosed, "alice", "", absl::FromUnixSeconds(2000)),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("postmortem")));
    incident.postmortem_published = true;
    EXPECT_THAT(Transition(incident, S::kClosed, "alice", "", absl::FromUnixSeconds(2000)), IsOk());
  }
  for (Severity severity : {Severity::kP2, Severity::kP3}) {
    EXPECT_THAT(Transition(MakeIncident(S::kResolved, severity), S::kClosed, "alice", "",
                           absl::FromUnixSeconds(2000)),
                IsOk());
  }
}

TEST(TransitionTest, UnspecifiedTargetIsInvalid) {
  EXPECT_THAT(Transition(MakeIncident(S::kTriggered), S::kUnspecified, "alice", "",
                         absl::FromUnixSeconds(2000)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Transition(MakeIncident(S::kTriggered), static_cast<IncidentStatus>(9), "alice", "",
                         absl::FromUnixSeconds(2000)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(AddNoteTest, AddsANoteInEveryState) {
  for (IncidentStatus status : kAllStates) {
    auto change = AddNote(MakeIncident(status), "alice", "looking at dashboards",
                          absl::FromUnixSeconds(2000));
    ASSERT_THAT(change, IsOk());
    EXPECT_EQ(change->incident, MakeIncident(status));
    ASSERT_EQ(change->entries.size(), 1u);
    EXPECT_EQ(change->entries[0].kind, "note");
    EXPECT_EQ(change->entries[0].text, "looking at dashboards");
  }
  EXPECT_THAT(AddNote(MakeIncident(S::kTriggered), "alice", "", absl::FromUnixSeconds(2000)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("note")));
}

TEST(AssignOwnerTest, SetsChangesAndClearsTheOwner) {
  const absl::Time now = absl::FromUnixSeconds(2000);
  auto set = AssignOwner(MakeIncident(S::kTriggered), "lead", "alice", "", now);
  ASSERT_THAT(set, IsOk());
  EXPECT_EQ(set->incident.owner, "alice");
  EXPECT_EQ(set->incident.update_time, now);
  ASSERT_EQ(set->entries.size(), 1u);
  EXPECT_EQ(set->entries[0].kind, "owner_changed");
  EXPECT_EQ(set->entries[0].details.at("to"), "alice");

  auto same = AssignOwner(set->incident, "lead", "alice", "", now + absl::Seconds(1));
  ASSERT_THAT(same, IsOk());
  EXPECT_EQ(same->incident, set->incident);
  EXPECT_TRUE(same->entries.empty());

  auto cleared = AssignOwner(set->incident, "lead", "", "", now);
  ASSERT_THAT(cleared, IsOk());
  EXPECT_EQ(cleared->incident.owner, "");
  EXPECT_EQ(cleared->entries[0].details.at("from"), "alice");
}

TEST(AssignOwnerTest, RefusedWhenClosedAllowedWhenResolved) {
  EXPECT_THAT(
      AssignOwner(MakeIncident(S::kClosed), "lead", "alice", "", absl::FromUnixSeconds(2000)),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("CLOSED")));
  EXPECT_THAT(
      AssignOwner(MakeIncident(S::kResolved), "lead", "alice", "", absl::FromUnixSeconds(2000)),
      IsOk());
}

TEST(SetSeverityTest, ChangesAndPinsTheSeverity) {
  const absl::Time now = absl::FromUnixSeconds(2000);
  auto change = SetSeverity(MakeIncident(S::kTriggered), "lead", Severity::kP0, "", now);
  ASSERT_THAT(change, IsOk());
  EXPECT_EQ(change->incident.severity, Severity::kP0);
  EXPECT_TRUE(change->incident.severity_pinned);
  ASSERT_EQ(change->entries.size(), 1u);
  EXPECT_EQ(change->entries[0].kind, "severity_changed");
  EXPECT_EQ(change->entries[0].details.at("from"), "P2");
  EXPECT_EQ(change->entries[0].details.at("to"), "P0");

  // The same severity pins it without an entry; again it is a pure no-op.
  auto pin = SetSeverity(MakeIncident(S::kTriggered), "lead", Severity::kP2, "", now);
  ASSERT_THAT(pin, IsOk());
  EXPECT_TRUE(pin->incident.severity_pinned);
  EXPECT_TRUE(pin->entries.empty());
  auto again = SetSeverity(pin->incident, "lead", Severity::kP2, "", now + absl::Seconds(1));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->incident, pin->incident);
}

TEST(SetSeverityTest, RefusesBadSeverityAndClosedIncidents) {
  EXPECT_THAT(SetSeverity(MakeIncident(S::kTriggered), "lead", Severity::kUnspecified, "",
                          absl::FromUnixSeconds(2000)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("severity: required")));
  EXPECT_THAT(SetSeverity(MakeIncident(S::kTriggered), "lead", static_cast<Severity>(7), "",
                          absl::FromUnixSeconds(2000)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("severity")));
  EXPECT_THAT(
      SetSeverity(MakeIncident(S::kClosed), "lead", Severity::kP1, "", absl::FromUnixSeconds(2000)),
      StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace agentwatch::incident
