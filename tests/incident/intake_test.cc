#include "incident/core/intake.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "incident/core/auto_resolve.h"
#include "incident/core/lifecycle.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::testing::ElementsAre;
using testing::Firing;
using ::testing::IsEmpty;
using testing::Resolved;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

// Keeps the state a store would keep between batches and applies plans to it.
class World {
 public:
  explicit World(absl::string_view group_by = "alertname")
      : grouping_(*ParseGroupBy("group_by", group_by)) {}

  IntakePlan Report(const std::vector<AlertReport>& reports, absl::Time now) {
    std::vector<IncomingAlert> alerts;
    for (const AlertReport& report : reports)
      alerts.push_back(PrepareAlert(report, grouping_, now));
    IntakePlan plan = PlanIntake(state_, alerts, now, ids_, reopen_window);
    for (const Incident& incident : plan.created) state_.incidents[incident.id] = incident;
    for (const Incident& incident : plan.updated) state_.incidents[incident.id] = incident;
    for (const AlertState& row : plan.alerts)
      state_.alerts[{row.incident_id, row.fingerprint}] = row;
    for (const ReportRecord& r : plan.reports) state_.known_reports[r.key] = r.incident_id;
    for (const TimelineEntry& e : plan.timeline) timeline_[e.incident_id].push_back(e);
    return plan;
  }

  const Incident& incident(const std::string& id) const { return state_.incidents.at(id); }
  Incident& mutable_incident(const std::string& id) { return state_.incidents.at(id); }
  const AlertState& alert(const std::string& id, const std::string& fp) const {
    return state_.alerts.at({id, fp});
  }
  std::vector<std::string> kinds(const std::string& id) const {
    std::vector<std::string> out;
    auto it = timeline_.find(id);
    if (it != timeline_.end()) {
      for (const TimelineEntry& e : it->second) out.push_back(e.kind);
    }
    return out;
  }
  const std::vector<TimelineEntry>& timeline(const std::string& id) { return timeline_[id]; }
  size_t incident_count() const { return state_.incidents.size(); }

  // Passed to PlanIntake.
  absl::Duration reopen_window = absl::ZeroDuration();

 private:
  GroupingConfig grouping_;
  IntakeState state_;
  testing::SequentialIds ids_;
  std::map<std::string, std::vector<TimelineEntry>> timeline_;
};

TEST(IntakeTest, FirstFiringOpensAnIncident) {
  World world;
  AlertReport report = Firing("acme", "fp1", "HighErrorRate", kT0);
  report.severity = Severity::kP1;
  report.labels = {{"service", "api"}};
  report.annotations = {{"summary", "Error rate above 5%"}};
  const IntakePlan plan = world.Report({report}, kT0 + absl::Seconds(3));

  EXPECT_EQ(plan.summary.accepted, 1);
  EXPECT_EQ(plan.summary.duplicates, 0);
  EXPECT_EQ(plan.summary.incidents_opened, 1);
  EXPECT_EQ(plan.summary.received_firing, 1);
  ASSERT_THAT(plan.summary.incident_ids, ElementsAre("inc-000001"));
  const Incident& incident = world.incident("inc-000001");
  EXPECT_EQ(incident.status, IncidentStatus::kTriggered);
  EXPECT_EQ(incident.title, "Error rate above 5%");
  EXPECT_EQ(incident.severity, Severity::kP1);
  EXPECT_EQ(incident.tenant, "acme");
  EXPECT_EQ(incident.group_key, "\"acme\":{alertname=\"HighErrorRate\"}");
  EXPECT_EQ(incident.labels, (Labels{{"alertname", "HighErrorRate"}, {"service", "api"}}));
  EXPECT_EQ(incident.alert_count, 1);
  EXPECT_EQ(incident.firing_alert_count, 1);
  EXPECT_EQ(incident.start_time, kT0);
  EXPECT_EQ(incident.create_time, kT0 + absl::Seconds(3));
  EXPECT_EQ(incident.escalation_tier, -1);
  EXPECT_THAT(world.kinds("inc-000001"), ElementsAre("created", "alert_firing"));
  EXPECT_EQ(world.timeline("inc-000001")[0].actor, "system");
  EXPECT_EQ(world.alert("inc-000001", "fp1").status, AlertStatus::kFiring);
}

TEST(IntakeTest, TitleFallsBackToTheName) {
  World world;
  world.Report({Firing("acme", "fp1", "DiskFull", kT0)}, kT0);
  EXPECT_EQ(world.incident("inc-000001").title, "DiskFull");
}

TEST(IntakeTest, AlertsOfOneGroupJoinOneIncident) {
  World world("alertname");
  AlertReport a = Firing("acme", "fp1", "HighLatency", kT0);
  a.labels = {{"service", "api"}, {"region", "eu"}};
  AlertReport b = Firing("acme", "fp2", "HighLatency", kT0 - absl::Minutes(1));
  b.labels = {{"service", "web"}, {"region", "eu"}};
  const IntakePlan plan = world.Report({a, b}, kT0);
  EXPECT_THAT(plan.summary.incident_ids, ElementsAre("inc-000001", "inc-000001"));
  EXPECT_EQ(plan.summary.incidents_opened, 1);
  const Incident& incident = world.incident("inc-000001");
  EXPECT_EQ(incident.alert_count, 2);
  EXPECT_EQ(incident.firing_alert_count, 2);
  EXPECT_EQ(incident.start_time, kT0 - absl::Minutes(1));
  // Only the labels common to both remain.
  EXPECT_EQ(incident.labels, (Labels{{"alertname", "HighLatency"}, {"region", "eu"}}));
  EXPECT_THAT(world.kinds("inc-000001"), ElementsAre("created", "alert_firing", "alert_firing"));
}

TEST(IntakeTest, OtherGroupsAndTenantsOpenTheirOwn) {
  World world("alertname");
  const IntakePlan plan =
      world.Report({Firing("acme", "fp1", "A", kT0), Firing("acme", "fp2", "B", kT0),
                    Firing("globex", "fp1", "A", kT0)},
                   kT0);
  EXPECT_THAT(plan.summary.incident_ids, ElementsAre("inc-000001", "inc-000002", "inc-000003"));
  EXPECT_EQ(plan.summary.incidents_opened, 3);
}

TEST(IntakeTest, ReplaysAreDuplicatesAndChangeNothing) {
  World world;
  const AlertReport report = Firing("acme", "fp1", "A", kT0);
  world.Report({report}, kT0);
  const Incident before = world.incident("inc-000001");
  const IntakePlan replay = world.Report({report, report}, kT0 + absl::Minutes(1));
  EXPECT_EQ(replay.summary.duplicates, 2);
  EXPECT_EQ(replay.summary.accepted, 0);
  EXPECT_EQ(replay.summary.received_firing, 2);
  EXPECT_THAT(replay.summary.incident_ids, ElementsAre("inc-000001", "inc-000001"));
  EXPECT_THAT(replay.timeline, IsEmpty());
  EXPECT_THAT(replay.updated, IsEmpty());
  EXPECT_THAT(replay.reports, IsEmpty());
  EXPECT_EQ(world.incident("inc-000001"), before);

  // Twice in one batch: the second is the duplicate.
  const AlertReport other = Firing("acme", "fp2", "A", kT0);
  const IntakePlan batch = world.Report({other, other}, kT0 + absl::Minutes(2));
  EXPECT_EQ(batch.summary.accepted, 1);
  EXPECT_EQ(batch.summary.duplicates, 1);
  EXPECT_EQ(world.incident("inc-000001").alert_count, 2);
}

TEST(IntakeTest, RepeatWithoutStartsAtIsNotARefire) {
  World world;
  world.Report({Firing("acme", "fp1", "A", kT0)}, kT0);
  AlertReport repeat = Firing("acme", "fp1", "A", kT0);
  repeat.starts_at.reset();
  const IntakePlan plan = world.Report({repeat}, kT0 + absl::Minutes(5));
  EXPECT_EQ(plan.summary.accepted, 1);
  EXPECT_THAT(plan.summary.incident_ids, ElementsAre("inc-000001"));
  EXPECT_THAT(plan.timeline, IsEmpty());
  EXPECT_THAT(world.kinds("inc-000001"), ElementsAre("created", "alert_firing"));
}

TEST(IntakeTest, ResolvedMarksTheAlertAndKeepsTheIncidentOpen) {
  World world;
  const AlertReport a = Firing("acme", "fp1", "A", kT0);
  world.Report({a, Firing("acme", "fp2", "A", kT0)}, kT0);
  const IntakePlan plan =
      world.Report({Resolved(a, kT0 + absl::Minutes(10))}, kT0 + absl::Minutes(11));
  EXPECT_THAT(plan.summary.incident_ids, ElementsAre("inc-000001"));
  EXPECT_EQ(plan.summary.received_resolved, 1);
  const AlertState& alert = world.alert("inc-000001", "fp1");
  EXPECT_EQ(alert.status, AlertStatus::kResolved);
  EXPECT_EQ(alert.ends_at, kT0 + absl::Minutes(10));
  const Incident& incident = world.incident("inc-000001");
  EXPECT_EQ(incident.status, IncidentStatus::kTriggered);
  EXPECT_EQ(incident.alert_count, 2);
  EXPECT_EQ(incident.firing_alert_count, 1);
  EXPECT_EQ(incident.update_time, kT0 + absl::Minutes(11));
  EXPECT_EQ(world.kinds("inc-000001").back(), "alert_resolved");

  // The same resolve again is a duplicate; a second, different resolve of an
  // already resolved alert changes nothing.
  EXPECT_EQ(world.Report({Resolved(a, kT0 + absl::Minutes(10))}, kT0).summary.duplicates, 1);
  const IntakePlan again = world.Report({Resolved(a, kT0 + absl::Minutes(12))}, kT0);
  EXPECT_THAT(again.timeline, IsEmpty());
  EXPECT_EQ(world.incident("inc-000001").firing_alert_count, 1);
}

TEST(IntakeTest, RefireAfterResolveJoinsTheOpenIncidentAgain) {
  World world;
  const AlertReport a = Firing("acme", "fp1", "A", kT0);
  world.Report({a}, kT0);
  world.Report({Resolved(a, kT0 + absl::Minutes(1))}, kT0 + absl::Minutes(1));
  EXPECT_EQ(world.incident("inc-000001").firing_alert_count, 0);
  const IntakePlan plan =
      world.Report({Firing("acme", "fp1", "A", kT0 + absl::Minutes(2))}, kT0 + absl::Minutes(2));
  EXPECT_THAT(plan.summary.incident_ids, ElementsAre("inc-000001"));
  EXPECT_EQ(plan.summary.incidents_opened, 0);
  const Incident& incident = world.incident("inc-000001");
  EXPECT_EQ(incident.alert_count, 1);
  EXPECT_EQ(incident.firing_alert_count, 1);
  EXPECT_EQ(world.alert("inc-000001", "fp1").starts_at, kT0 + absl::Minutes(2));
  EXPECT_FALSE(world.alert("inc-000001", "fp1").ends_at.has_value());
  ASSERT_EQ(plan.timeline.size(), 1u);
  EXPECT_EQ(plan.timeline[0].kind, "alert_firing");
  EXPECT_EQ(plan.timeline[0].details.at("refire"), "true");
}

TEST(IntakeTest, LaterStartsAtWhileFiringIsARefireEarlierIsStale) {
  World world;
  world.Report({Firing("acme", "fp1", "A", kT0)}, kT0);
  const IntakePlan later =
      world.Report({Firing("acme", "fp1", "A", kT0 + absl::Minutes(5))}, kT0 + absl::Minutes(5));
  ASSERT_EQ(later.timeline.size(), 1u);
  EXPECT_EQ(world.incident("inc-000001").firing_alert_count, 1);
  const IntakePlan stale =
      world.Report({Firing("acme", "fp1", "A", kT0 - absl::Minutes(5))}, kT0 + absl::Minutes(6));
  EXPECT_EQ(stale.summary.accepted, 1);
  EXPECT_THAT(stale.summary.incident_ids, ElementsAre("inc-000001"));
  EXPECT_THAT(stale.timeline, IsEmpty());
  EXPECT_EQ(world.alert("inc-000001", "fp1").starts_at, kT0 + absl::Minutes(5));
}

TEST(IntakeTest, ResolveOfAnUnknownFingerprintBelongsToNoIncident) {
  World world;
  const IntakePlan plan =
      world.Report({Resolved(Firing("acme", "nope", "A", kT0), kT0 + absl::Minutes(1))}, kT0);
  EXPECT_THAT(plan.summary.incident_ids, ElementsAre(""));
  EXPECT_EQ(plan.summary.accepted, 1);
  EXPECT_EQ(world.incident_count(), 0u);
  // Replayed, it is a duplicate.
  EXPECT_EQ(world.Report({Resolved(Firing("acme", "nope", "A", kT0), kT0 + absl::Minutes(1))}, kT0)
                .summary.duplicates,
            1);
}

TEST(IntakeTest, AMoreSevereAlertRaisesTheSeverityUnlessPinned) {
  World world;
  AlertReport p2 = Firing("acme", "fp1", "A", kT0);
  p2.severity = Severity::kP2;
  AlertReport p0 = Firing("acme", "fp2", "A", kT0);
  p0.severity = Severity::kP0;
  AlertReport p3 = Firing("acme", "fp3", "A", kT0);
  p3.severity = Severity::kP3;
  world.Report({p2, p0, p3}, kT0);
  EXPECT_EQ(world.incident("inc-000001").severity, Severity::kP0);
  EXPECT_THAT(world.kinds("inc-000001"), ElementsAre("created", "alert_firing", "alert_firing",
                                                     "severity_changed", "alert_firing"));

  World pinned;
  pinned.Report({p2}, kT0);
  pinned.mutable_incident("inc-000001").severity_pinned = true;
  pinned.Report({p0}, kT0);
  EXPECT_EQ(pinned.incident("inc-000001").severity, Severity::kP2);
}

TEST(IntakeTest, AfterResolutionAFiringOpensANewIncidentAndEndsTheOldFiring) {
  World world;
  world.Report({Firing("acme", "fp1", "A", kT0)}, kT0);
  // A person resolves the incident while fp1 still fires.
  auto resolved = Transition(world.incident("inc-000001"), IncidentStatus::kResolved, "alice", "",
                             kT0 + absl::Minutes(1));
  ASSERT_TRUE(resolved.ok());
  world.mutable_incident("inc-000001") = resolved->incident;

  // The same firing again: still the old incident, nothing new.
  AlertReport repeat = Firing("acme", "fp1", "A", kT0);
  repeat.starts_at.reset();
  EXPECT_THAT(world.Report({repeat}, kT0 + absl::Minutes(2)).summary.incident_ids,
              ElementsAre("inc-000001"));
  EXPECT_EQ(world.incident_count(), 1u);

  // Another alert of the group opens a new incident.
  EXPECT_THAT(
      world.Report({Firing("acme", "fp2", "A", kT0)}, kT0 + absl::Minutes(3)).summary.incident_ids,
      ElementsAre("inc-000002"));

  // fp1 fires anew (later starts_at): it joins the open incident and its old
  // firing ends.
  const IntakePlan plan =
      world.Report({Firing("acme", "fp1", "A", kT0 + absl::Minutes(4))}, kT0 + absl::Minutes(4));
  EXPECT_THAT(plan.summary.incident_ids, ElementsAre("inc-000002"));
  EXPECT_EQ(world.incident("inc-000002").alert_count, 2);
  EXPECT_EQ(world.incident("inc-000001").firing_alert_count, 0);
  EXPECT_EQ(world.incident("inc-000001").status, IncidentStatus::kResolved);
  EXPECT_EQ(world.alert("inc-000001", "fp1").status, AlertStatus::kResolved);
  EXPECT_EQ(world.alert("inc-000001", "fp1").ends_at, kT0 + absl::Minutes(4));
  EXPECT_EQ(world.kinds("inc-000001").back(), "alert_resolved");

  // Its resolve now resolves it in the new incident.
  world.Report(
      {Resolved(Firing("acme", "fp1", "A", kT0 + absl::Minutes(4)), kT0 + absl::Minutes(5))},
      kT0 + absl::Minutes(5));
  EXPECT_EQ(world.alert("inc-000002", "fp1").status, AlertStatus::kResolved);
  EXPECT_EQ(world.incident("inc-000002").firing_alert_count, 1);
}

TEST(IntakeTest, FirstFiringAfterResolutionOpensAFreshIncident) {
  World world;
  const AlertReport a = Firing("acme", "fp1", "A", kT0);
  world.Report({a}, kT0);
  world.Report({Resolved(a, kT0 + absl::Minutes(1))}, kT0 + absl::Minutes(1));
  auto resolved = Transition(world.incident("inc-000001"), IncidentStatus::kResolved, "alice", "",
                             kT0 + absl::Minutes(2));
  world.mutable_incident("inc-000001") = resolved->incident;
  const IntakePlan plan =
      world.Report({Firing("acme", "fp1", "A", kT0 + absl::Hours(1))}, kT0 + absl::Hours(1));
  EXPECT_THAT(plan.summary.incident_ids, ElementsAre("inc-000002"));
  EXPECT_EQ(plan.summary.incidents_opened, 1);
  EXPECT_EQ(world.incident("inc-000001").alert_count, 1);
  EXPECT_EQ(world.incident("inc-000002").firing_alert_count, 1);
}

TEST(IntakeTest, ReportKeysIgnoreEndsAtOfFiringAlerts) {
  const GroupingConfig config = *ParseGroupBy("group_by", "alertname");
  AlertReport a = Firing("acme", "fp1", "A", kT0);
  a.ends_at = kT0 + absl::Minutes(4);
  AlertReport b = a;
  b.ends_at = kT0 + absl::Minutes(8);
  EXPECT_EQ(KeyOf(PrepareAlert(a, config, kT0)), KeyOf(PrepareAlert(b, config, kT0)));
  EXPECT_FALSE(KeyOf(PrepareAlert(Resolved(a, kT0 + absl::Minutes(1)), config, kT0)) ==
               KeyOf(PrepareAlert(Resolved(a, kT0 + absl::Minutes(2)), config, kT0)));
}

// Opens an incident with one alert, resolves the alert at kT0 + 1m and the
// incident automatically at kT0 + 6m (quiet 5m); returns its id.
std::string OpenAndAutoResolve(World& world) {
  const AlertReport firing = Firing("acme", "fp1", "HighErrorRate", kT0);
  const std::string id = world.Report({firing}, kT0).summary.incident_ids[0];
  world.Report({Resolved(firing, kT0 + absl::Minutes(1))}, kT0 + absl::Minutes(1));
  std::optional<IncidentChange> change = DecideAutoResolve(
      world.incident(id), kT0 + absl::Minutes(1), absl::Minutes(5), kT0 + absl::Minutes(6));
  EXPECT_TRUE(change.has_value());
  if (change.has_value()) world.mutable_incident(id) = change->incident;
  return id;
}

TEST(IntakeReopenTest, RefireWithinTheWindowReopensTheAutoResolvedIncident) {
  World world;
  world.reopen_window = absl::Minutes(30);
  const std::string id = OpenAndAutoResolve(world);
  ASSERT_EQ(world.incident(id).status, IncidentStatus::kResolved);
  ASSERT_TRUE(world.incident(id).auto_resolved);

  const absl::Time refire = kT0 + absl::Minutes(36);  // exactly 30m after the resolution
  const IntakePlan plan = world.Report({Firing("acme", "fp1", "HighErrorRate", refire)}, refire);
  EXPECT_THAT(plan.summary.incident_ids, ElementsAre(id));
  EXPECT_EQ(plan.summary.incidents_opened, 0);
  EXPECT_EQ(world.incident_count(), 1u);
  const Incident& reopened = world.incident(id);
  EXPECT_EQ(reopened.status, IncidentStatus::kTriggered);
  EXPECT_FALSE(reopened.auto_resolved);
  EXPECT_EQ(reopened.firing_alert_count, 1);
  EXPECT_EQ(world.alert(id, "fp1").status, AlertStatus::kFiring);
  const std::vector<std::string> kinds = world.kinds(id);
  ASSERT_GE(kinds.size(), 2u);
  EXPECT_EQ(kinds[kinds.size() - 2], "reopened");
  EXPECT_EQ(kinds.back(), "alert_firing");
  // The group's open incident is the reopened one: another alert joins it.
  const IntakePlan other =
      world.Report({Firing("acme", "fp2", "HighErrorRate", refire)}, refire + absl::Seconds(1));
  EXPECT_THAT(other.summary.incident_ids, ElementsAre(id));
}

TEST(IntakeReopenTest, RefireAfterTheWindowOpensANewIncident) {
  World world;
  world.reopen_window = absl::Minutes(30);
  const std::string id = OpenAndAutoResolve(world);
  const absl::Time refire = kT0 + absl::Minutes(36) + absl::Microseconds(1);
  const IntakePlan plan = world.Report({Firing("acme", "fp1", "HighErrorRate", refire)}, refire);
  ASSERT_EQ(plan.summary.incidents_opened, 1);
  EXPECT_NE(plan.summary.incident_ids[0], id);
  EXPECT_EQ(world.incident(id).status, IncidentStatus::kResolved);
}

TEST(IntakeReopenTest, ManualResolutionOrZeroWindowNeverReopens) {
  World world;
  const std::string id = OpenAndAutoResolve(world);
  const absl::Time refire = kT0 + absl::Minutes(7);
  EXPECT_EQ(world.Report({Firing("acme", "fp1", "HighErrorRate", refire)}, refire)
                .summary.incidents_opened,
            1);  // zero window

  World manual;
  manual.reopen_window = absl::Minutes(30);
  const AlertReport firing = Firing("acme", "fp1", "HighErrorRate", kT0);
  const std::string first = manual.Report({firing}, kT0).summary.incident_ids[0];
  manual.Report({Resolved(firing, kT0 + absl::Minutes(1))}, kT0 + absl::Minutes(1));
  absl::StatusOr<IncidentChange> resolved = Transition(
      manual.incident(first), IncidentStatus::kResolved, "alice", "", kT0 + absl::Minutes(2));
  ASSERT_TRUE(resolved.ok());
  manual.mutable_incident(first) = resolved->incident;
  const IntakePlan plan = manual.Report({Firing("acme", "fp1", "HighErrorRate", refire)}, refire);
  EXPECT_EQ(plan.summary.incidents_opened, 1);
  EXPECT_NE(plan.summary.incident_ids[0], first);
}

TEST(AutoResolveTest, DueOnlyWhenEveryAlertResolvedAndQuiet) {
  Incident incident;
  incident.id = "inc-1";
  incident.tenant = "acme";
  incident.status = IncidentStatus::kAcknowledged;
  incident.alert_count = 2;
  incident.firing_alert_count = 0;
  const absl::Duration quiet = absl::Minutes(5);
  const absl::Time end = kT0;
  EXPECT_EQ(AutoResolveDueAt(incident, end, quiet), kT0 + quiet);
  EXPECT_FALSE(DecideAutoResolve(incident, end, quiet, kT0 + quiet - absl::Seconds(1)));
  std::optional<IncidentChange> change = DecideAutoResolve(incident, end, quiet, kT0 + quiet);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->incident.status, IncidentStatus::kResolved);
  EXPECT_TRUE(change->incident.auto_resolved);
  EXPECT_EQ(change->incident.resolve_time, kT0 + quiet);
  ASSERT_EQ(change->entries.size(), 1u);
  EXPECT_EQ(change->entries[0].kind, "resolved");
  EXPECT_EQ(change->entries[0].actor, kAutoResolveActor);
  EXPECT_EQ(change->entries[0].details.at("auto_resolved"), "true");

  Incident firing = incident;
  firing.firing_alert_count = 1;
  EXPECT_FALSE(AutoResolveDueAt(firing, end, quiet).has_value());
  EXPECT_FALSE(DecideAutoResolve(firing, end, quiet, kT0 + absl::Hours(1)));
  Incident empty = incident;
  empty.alert_count = 0;
  EXPECT_FALSE(DecideAutoResolve(empty, end, quiet, kT0 + absl::Hours(1)));
  EXPECT_FALSE(DecideAutoResolve(incident, std::nullopt, quiet, kT0 + absl::Hours(1)));
  Incident closed = incident;
  closed.status = IncidentStatus::kResolved;
  EXPECT_FALSE(DecideAutoResolve(closed, end, quiet, kT0 + absl::Hours(1)));
}

// Reports that change their fingerprint's latest row skip the look-up among
// the accepted reports; every replay of an accepted report, and anything
// that would not change the row, is looked up.
TEST(IntakeTest, OnlyReportsThatChangeTheLatestRowSkipTheDuplicateLookUp) {
  World world;
  const GroupingConfig grouping = *ParseGroupBy("group_by", "alertname");
  auto prepare = [&](const AlertReport& report) { return PrepareAlert(report, grouping, kT0); };
  const AlertReport first = Firing("acme", "fp1", "A", kT0);
  EXPECT_TRUE(MayBeKnownReport(nullptr, prepare(first)));

  world.Report({first}, kT0);
  AlertState row = world.alert("inc-000001", "fp1");
  EXPECT_TRUE(MayBeKnownReport(&row, prepare(first)));  // the replay
  EXPECT_TRUE(MayBeKnownReport(&row, prepare(Firing("acme", "fp1", "A", kT0 - absl::Seconds(1)))));
  AlertReport no_start = first;
  no_start.starts_at.reset();
  EXPECT_TRUE(MayBeKnownReport(&row, prepare(no_start)));
  const AlertReport later = Firing("acme", "fp1", "A", kT0 + absl::Minutes(1));
  EXPECT_FALSE(MayBeKnownReport(&row, prepare(later)));
  const AlertReport resolve = Resolved(first, kT0 + absl::Seconds(30));
  EXPECT_FALSE(MayBeKnownReport(&row, prepare(resolve)));
  EXPECT_TRUE(MayBeKnownReport(
      &row, prepare(Resolved(Firing("acme", "fp1", "A", kT0 - absl::Seconds(1)), kT0))));

  world.Report({resolve}, kT0 + absl::Seconds(30));
  row = world.alert("inc-000001", "fp1");
  EXPECT_TRUE(MayBeKnownReport(&row, prepare(resolve)));  // the replay
  EXPECT_TRUE(MayBeKnownReport(&row, prepare(Resolved(first, kT0 + absl::Seconds(40)))));
  EXPECT_TRUE(MayBeKnownReport(&row, prepare(first)));
  EXPECT_FALSE(MayBeKnownReport(&row, prepare(later)));

  world.Report({later}, kT0 + absl::Minutes(1));
  row = world.alert("inc-000001", "fp1");
  EXPECT_TRUE(MayBeKnownReport(&row, prepare(later)));  // the replay
  EXPECT_TRUE(MayBeKnownReport(&row, prepare(resolve)));
}

TEST(IntakeTest, AlertWritesSayWhetherARowIsNewOrItsLabelsChanged) {
  World world;
  AlertReport a = Firing("acme", "fp1", "A", kT0);
  a.labels = {{"instance", "a"}};
  IntakePlan plan = world.Report({a}, kT0);
  EXPECT_THAT(plan.alert_writes, ElementsAre(AlertWrite::kInsert));

  plan = world.Report({Resolved(a, kT0 + absl::Minutes(1))}, kT0 + absl::Minutes(1));
  EXPECT_THAT(plan.alert_writes, ElementsAre(AlertWrite::kState));

  // A refire with the same labels and annotations changes state columns only.
  a.starts_at = kT0 + absl::Minutes(2);
  plan = world.Report({a}, kT0 + absl::Minutes(2));
  EXPECT_THAT(plan.alert_writes, ElementsAre(AlertWrite::kState));

  // Other labels, and in the same batch a new fingerprint that joins and
  // fires again: still an insert.
  a.starts_at = kT0 + absl::Minutes(3);
  a.labels = {{"instance", "b"}};
  AlertReport b = Firing("acme", "fp2", "A", kT0 + absl::Minutes(3));
  AlertReport b_again = b;
  b_again.starts_at = kT0 + absl::Minutes(4);
  plan = world.Report({a, b, b_again}, kT0 + absl::Minutes(4));
  ASSERT_EQ(plan.alerts.size(), 2u);
  EXPECT_EQ(plan.alerts[0].fingerprint, "fp1");
  EXPECT_EQ(plan.alerts[0].labels.at("instance"), "b");
  EXPECT_EQ(plan.alerts[1].fingerprint, "fp2");
  EXPECT_EQ(plan.alerts[1].starts_at, kT0 + absl::Minutes(4));
  EXPECT_THAT(plan.alert_writes, ElementsAre(AlertWrite::kWhole, AlertWrite::kInsert));

  // Annotations alone count too.
  a.starts_at = kT0 + absl::Minutes(5);
  a.annotations = {{"summary", "now with a summary"}};
  plan = world.Report({a}, kT0 + absl::Minutes(5));
  EXPECT_THAT(plan.alert_writes, ElementsAre(AlertWrite::kWhole));
}

// Timeline details carry times as absl::FormatTime(RFC3339_full, UTC) writes
// them (the planner formats whole microseconds by hand): whole seconds, every
// length of fraction, nanoseconds, the first and last instants of the range.
TEST(IntakeTest, TimelineTimesAreWrittenAsFormatTimeWritesThem) {
  const absl::Duration fractions[] = {
      absl::ZeroDuration(),        absl::Milliseconds(500),        absl::Microseconds(250'000),
      absl::Microseconds(123'456), absl::Microseconds(1),          absl::Microseconds(10),
      absl::Microseconds(999'999), absl::Nanoseconds(123'456'789), absl::Nanoseconds(1)};
  const absl::Time bases[] = {
      kT0, absl::UnixEpoch(), absl::FromUnixSeconds(951'782'400),  // 2000-02-29
      absl::FromCivil(absl::CivilSecond(9999, 12, 31, 23, 59, 59), absl::UTCTimeZone())};
  int checked = 0;
  for (const absl::Time base : bases) {
    for (const absl::Duration fraction : fractions) {
      World world;
      const absl::Time starts = base + fraction;
      const absl::Time ends = starts + absl::Microseconds(1'500'000);
      world.Report({Firing("acme", "fp1", "A", starts)}, starts);
      const IntakePlan plan = world.Report({Resolved(Firing("acme", "fp1", "A", starts), ends)},
                                           ends + absl::Seconds(1));
      ASSERT_EQ(plan.timeline.size(), 1u);
      ASSERT_EQ(plan.alerts.size(), 1u);
      const AlertState& row = plan.alerts[0];
      ASSERT_TRUE(row.ends_at.has_value());
      const std::string incident_id = row.incident_id;
      const std::vector<TimelineEntry>& entries = world.timeline(incident_id);
      ASSERT_EQ(entries.size(), 3u);  // created, alert_firing, alert_resolved
      EXPECT_EQ(entries[1].details.at("starts_at"),
                absl::FormatTime(absl::RFC3339_full, row.starts_at, absl::UTCTimeZone()));
      EXPECT_EQ(entries[2].details.at("ends_at"),
                absl::FormatTime(absl::RFC3339_full, *row.ends_at, absl::UTCTimeZone()));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 36);
}

}  // namespace
}  // namespace agentwatch::incident
