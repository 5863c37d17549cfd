#include "store_contract.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/testing/status_matchers.h"
#include "incident/core/lifecycle.h"

namespace agentwatch::incident::testing {

absl::StatusOr<std::string> IncidentStoreContractTest::Step(const std::string& id,
                                                            IncidentStatus target, absl::Time now,
                                                            const std::string& request_id,
                                                            const std::string& method) {
  return store().MutateIncident(
      id, RequestKey{request_id, method},
      [&](const Incident& incident) { return Transition(incident, target, "alice", "", now); },
      [](const IncidentChange& change) { return std::string(StatusName(change.incident.status)); });
}

std::vector<std::string> IncidentStoreContractTest::Kinds(const std::string& id) {
  std::vector<std::string> kinds;
  auto detail = store().GetIncident(id);
  EXPECT_TRUE(detail.ok()) << detail.status();
  if (!detail.ok()) return kinds;
  for (const TimelineEntry& e : detail->timeline) kinds.push_back(e.kind);
  return kinds;
}

namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixMicros(1'700'000'000'123'456);

TEST_P(IncidentStoreContractTest, ReplayIsADuplicateAndChangesNothing) {
  AlertReport a = Firing("acme", "fp1", "HighErrorRate", kT0);
  a.labels = {{"service", "api"}};
  auto first = Report({a, Resolved(Firing("acme", "ghost", "X", kT0), kT0)}, kT0);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->accepted, 2);
  EXPECT_EQ(first->incidents_opened, 1);
  ASSERT_THAT(first->incident_ids, ElementsAre("inc-000001", ""));
  auto before = store().GetIncident("inc-000001");
  ASSERT_THAT(before, IsOk());
  EXPECT_THAT(before->timeline, SizeIs(2));

  auto replay =
      Report({a, Resolved(Firing("acme", "ghost", "X", kT0), kT0)}, kT0 + absl::Minutes(1));
  ASSERT_THAT(replay, IsOk());
  EXPECT_EQ(replay->accepted, 0);
  EXPECT_EQ(replay->duplicates, 2);
  EXPECT_EQ(replay->incidents_opened, 0);
  EXPECT_THAT(replay->incident_ids, ElementsAre("inc-000001", ""));
  auto after = store().GetIncident("inc-000001");
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->incident, before->incident);
  EXPECT_EQ(after->timeline, before->timeline);
  EXPECT_EQ(after->alerts, before->alerts);
  auto all = store().ListIncidents(IncidentQuery{});
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(all->incidents, SizeIs(1));
}

TEST_P(IncidentStoreContractTest, FindOpenIncidentByFingerprint) {
  EXPECT_THAT(store().FindOpenIncident("acme", "fp1"), IsOkAndHolds(""));
  ASSERT_THAT(Report({Firing("acme", "fp1", "HighErrorRate", kT0)}, kT0), IsOk());
  EXPECT_THAT(store().FindOpenIncident("acme", "fp1"), IsOkAndHolds("inc-000001"));
  EXPECT_THAT(store().FindOpenIncident("other", "fp1"), IsOkAndHolds(""));
  EXPECT_THAT(store().FindOpenIncident("acme", "fp2"), IsOkAndHolds(""));
  // Still held while acknowledged; no longer once resolved.
  ASSERT_THAT(Step("inc-000001", IncidentStatus::kAcknowledged, kT0 + absl::Seconds(1)), IsOk());
  EXPECT_THAT(store().FindOpenIncident("acme", "fp1"), IsOkAndHolds("inc-000001"));
  ASSERT_THAT(Step("inc-000001", IncidentStatus::kResolved, kT0 + absl::Seconds(2)), IsOk());
  EXPECT_THAT(store().FindOpenIncident("acme", "fp1"), IsOkAndHolds(""));
  // A refire opens a new incident, which now holds it.
  const absl::Time later = kT0 + absl::Minutes(5);
  ASSERT_THAT(Report({Firing("acme", "fp1", "HighErrorRate", later)}, later), IsOk());
  EXPECT_THAT(store().FindOpenIncident("acme", "fp1"), IsOkAndHolds("inc-000002"));
}

TEST_P(IncidentStoreContractTest, AutoResolvesQuietIncidentsOnce) {
  const absl::Duration quiet = absl::Minutes(5);
  const AlertReport a = Firing("acme", "fp1", "HighErrorRate", kT0);
  const AlertReport b = Firing("acme", "fp2", "DiskFull", kT0);
  ASSERT_THAT(Report({a, b}, kT0), IsOk());  // inc-000001 and inc-000002
  const absl::Time ended = kT0 + absl::Minutes(1);
  ASSERT_THAT(Report({Resolved(a, ended)}, ended), IsOk());
  // Not quiet long enough yet; inc-000002 still fires.
  EXPECT_THAT(store().AutoResolveDue(ended + quiet - absl::Seconds(1), quiet, 10),
              IsOkAndHolds(SizeIs(0)));
  EXPECT_THAT(store().AutoResolveDue(ended + quiet, quiet, 10),
              IsOkAndHolds(ElementsAre("inc-000001")));
  auto detail = store().GetIncident("inc-000001");
  ASSERT_THAT(detail, IsOk());
  EXPECT_EQ(detail->incident.status, IncidentStatus::kResolved);
  EXPECT_TRUE(detail->incident.auto_resolved);
  EXPECT_EQ(detail->incident.resolve_time, ended + quiet);
  ASSERT_FALSE(detail->timeline.empty());
  EXPECT_EQ(detail->timeline.back().kind, "resolved");
  EXPECT_EQ(detail->timeline.back().details.at("auto_resolved"), "true");
  // Once only.
  EXPECT_THAT(store().AutoResolveDue(ended + quiet + absl::Minutes(1), quiet, 10),
              IsOkAndHolds(SizeIs(0)));
  EXPECT_EQ(store().GetIncident("inc-000002")->incident.status, IncidentStatus::kTriggered);
}

TEST_P(IncidentStoreContractTest, GroupsAlertsIntoOneIncidentAcrossBatches) {
  AlertReport a = Firing("acme", "fp1", "HighLatency", kT0);
  a.labels = {{"service", "api"}, {"pod", "p1"}};
  AlertReport b = Firing("acme", "fp2", "HighLatency", kT0 - absl::Seconds(30));
  b.labels = {{"service", "api"}, {"pod", "p2"}};
  b.severity = Severity::kP0;
  AlertReport other = Firing("acme", "fp3", "HighLatency", kT0);
  other.labels = {{"service", "web"}};
  ASSERT_THAT(Report({a}, kT0), IsOk());
  auto second = Report({b, other}, kT0 + absl::Seconds(5));
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(second->incident_ids, ElementsAre("inc-000001", "inc-000002"));

  auto detail = store().GetIncident("inc-000001");
  ASSERT_THAT(detail, IsOk());
  const Incident& incident = detail->incident;
  EXPECT_EQ(incident.alert_count, 2);
  EXPECT_EQ(incident.firing_alert_count, 2);
  EXPECT_EQ(incident.severity, Severity::kP0);
  EXPECT_EQ(incident.start_time, kT0 - absl::Seconds(30));
  EXPECT_EQ(incident.create_time, kT0);
  EXPECT_EQ(incident.update_time, kT0 + absl::Seconds(5));
  EXPECT_EQ(incident.group_key, "\"acme\":{alertname=\"HighLatency\",service=\"api\"}");
  EXPECT_EQ(incident.labels, (Labels{{"alertname", "HighLatency"}, {"service", "api"}}));
  EXPECT_THAT(Kinds("inc-000001"),
              ElementsAre("created", "alert_firing", "alert_firing", "severity_changed"));
  ASSERT_THAT(detail->alerts, SizeIs(2));
  EXPECT_EQ(detail->alerts[0].fingerprint, "fp1");
  EXPECT_EQ(detail->alerts[1].fingerprint, "fp2");
  EXPECT_EQ(detail->alerts[1].severity, Severity::kP0);
}

TEST_P(IncidentStoreContractTest, StoredValuesRoundTripExactly) {
  AlertReport a = Firing("acme", "fp\"1\\", "Ünïcode \"alert\"", kT0);
  a.labels = {{"service", "a\"b\\c\nd"}, {"emoji", "🔥"}, {"empty", ""}};
  a.annotations = {{"summary", "line1\nline2\t\"q\""}, {"ctl", std::string("\x01\x1f", 2)}};
  a.generator_url = "https://prom/graph?g0.expr=rate(x[5m])";
  a.severity = Severity::kP3;
  const absl::Time now = kT0 + absl::Nanoseconds(999);  // truncated to micros
  const IncomingAlert prepared = PrepareAlert(a, grouping_, now);
  ASSERT_THAT(store().ReportAlerts({prepared}, now), IsOk());
  auto detail = store().GetIncident("inc-000001");
  ASSERT_THAT(detail, IsOk());
  ASSERT_THAT(detail->alerts, SizeIs(1));
  const AlertState& alert = detail->alerts[0];
  EXPECT_EQ(alert.fingerprint, a.fingerprint);
  EXPECT_EQ(alert.name, a.name);
  EXPECT_EQ(alert.labels, prepared.labels);
  EXPECT_EQ(alert.annotations, a.annotations);
  EXPECT_EQ(alert.generator_url, a.generator_url);
  EXPECT_EQ(alert.starts_at, kT0);
  EXPECT_EQ(alert.joined_at, kT0);
  EXPECT_EQ(alert.severity, Severity::kP3);
  EXPECT_FALSE(alert.ends_at.has_value());
  EXPECT_EQ(detail->incident.title, a.annotations.at("summary"));
  EXPECT_EQ(detail->incident.labels, prepared.labels);
  EXPECT_EQ(detail->timeline[0].details.at("group_key"), prepared.group_key);
}

TEST_P(IncidentStoreContractTest, RefireJoinsAndResolvedMarksTheAlert) {
  const AlertReport a = Firing("acme", "fp1", "A", kT0);
  ASSERT_THAT(Report({a, Firing("acme", "fp2", "A", kT0)}, kT0), IsOk());
  auto resolved = Report({Resolved(a, kT0 + absl::Minutes(2))}, kT0 + absl::Minutes(3));
  ASSERT_THAT(resolved, IsOk());
  EXPECT_THAT(resolved->incident_ids, ElementsAre("inc-000001"));
  auto detail = store().GetIncident("inc-000001");
  ASSERT_THAT(detail, IsOk());
  EXPECT_EQ(detail->incident.status, IncidentStatus::kTriggered);
  EXPECT_EQ(detail->incident.firing_alert_count, 1);
  EXPECT_EQ(detail->alerts[0].status, AlertStatus::kResolved);
  EXPECT_EQ(detail->alerts[0].ends_at, kT0 + absl::Minutes(2));

  auto refire =
      Report({Firing("acme", "fp1", "A", kT0 + absl::Minutes(10))}, kT0 + absl::Minutes(10));
  ASSERT_THAT(refire, IsOk());
  EXPECT_THAT(refire->incident_ids, ElementsAre("inc-000001"));
  EXPECT_EQ(refire->incidents_opened, 0);
  detail = store().GetIncident("inc-000001");
  ASSERT_THAT(detail, IsOk());
  EXPECT_EQ(detail->incident.alert_count, 2);
  EXPECT_EQ(detail->incident.firing_alert_count, 2);
  EXPECT_EQ(detail->alerts[0].status, AlertStatus::kFiring);
  EXPECT_FALSE(detail->alerts[0].ends_at.has_value());
  EXPECT_EQ(detail->alerts[0].starts_at, kT0 + absl::Minutes(10));
  EXPECT_THAT(Kinds("inc-000001"), ElementsAre("created", "alert_firing", "alert_firing",
                                               "alert_resolved", "alert_firing"));
  EXPECT_EQ(detail->timeline.back().details.at("refire"), "true");
}

// Intake updates existing alert rows in place (the row read back, changed,
// written again): a resolve keeps the labels and annotations the alert fired
// with, escapes included, and a refire replaces them with its own.
TEST_P(IncidentStoreContractTest, UpdatedAlertRowsKeepOrReplaceTheirValues) {
  AlertReport a = Firing("acme", "fp1", "A", kT0);
  a.labels = {{"service", "a\"b\\c\nd"}, {"emoji", "\xF0\x9F\x94\xA5"}};
  a.annotations = {{"summary", "s\t\"q\""}, {"ctl", std::string("\x01\x1f", 2)}};
  ASSERT_THAT(Report({a}, kT0), IsOk());
  ASSERT_THAT(Report({Resolved(a, kT0 + absl::Minutes(1))}, kT0 + absl::Minutes(1)), IsOk());
  auto detail = store().GetIncident("inc-000001");
  ASSERT_THAT(detail, IsOk());
  ASSERT_THAT(detail->alerts, SizeIs(1));
  EXPECT_EQ(detail->alerts[0].status, AlertStatus::kResolved);
  EXPECT_EQ(detail->alerts[0].labels, PrepareAlert(a, grouping_, kT0).labels);
  EXPECT_EQ(detail->alerts[0].annotations, a.annotations);

  AlertReport again = a;
  again.starts_at = kT0 + absl::Minutes(5);
  again.annotations = {{"summary", "\u00e9t\u00e9"}};
  ASSERT_THAT(Report({again}, kT0 + absl::Minutes(5)), IsOk());
  detail = store().GetIncident("inc-000001");
  ASSERT_THAT(detail, IsOk());
  ASSERT_THAT(detail->alerts, SizeIs(1));
  EXPECT_EQ(detail->alerts[0].status, AlertStatus::kFiring);
  EXPECT_EQ(detail->alerts[0].annotations, again.annotations);
  EXPECT_EQ(detail->alerts[0].starts_at, kT0 + absl::Minutes(5));
  EXPECT_EQ(detail->incident.firing_alert_count, 1);
}

TEST_P(IncidentStoreContractTest, NewIncidentAfterResolutionAndSupersededFiring) {
  ASSERT_THAT(Report({Firing("acme", "fp1", "A", kT0)}, kT0), IsOk());
  ASSERT_THAT(Step("inc-000001", IncidentStatus::kResolved, kT0 + absl::Minutes(1)), IsOk());
  auto next = Report({Firing("acme", "fp1", "A", kT0 + absl::Minutes(5))}, kT0 + absl::Minutes(5));
  ASSERT_THAT(next, IsOk());
  EXPECT_THAT(next->incident_ids, ElementsAre("inc-000002"));
  auto old = store().GetIncident("inc-000001");
  ASSERT_THAT(old, IsOk());
  EXPECT_EQ(old->incident.status, IncidentStatus::kResolved);
  EXPECT_EQ(old->incident.firing_alert_count, 0);
  EXPECT_EQ(old->alerts[0].status, AlertStatus::kResolved);
  EXPECT_EQ(old->alerts[0].ends_at, kT0 + absl::Minutes(5));
  // The resolve now lands in the new incident.
  auto resolve =
      Report({Resolved(Firing("acme", "fp1", "A", kT0 + absl::Minutes(5)), kT0 + absl::Minutes(6))},
             kT0 + absl::Minutes(6));
  ASSERT_THAT(resolve, IsOk());
  EXPECT_THAT(resolve->incident_ids, ElementsAre("inc-000002"));
}

TEST_P(IncidentStoreContractTest, LifecycleIsPersistedWithItsTimeline) {
  ASSERT_THAT(Report({Firing("acme", "fp1", "A", kT0)}, kT0), IsOk());
  const absl::Time t1 = kT0 + absl::Minutes(1);
  const absl::Time t2 = kT0 + absl::Minutes(2);
  const absl::Time t3 = kT0 + absl::Minutes(3);
  EXPECT_THAT(Step("inc-000001", IncidentStatus::kAcknowledged, t1), IsOk());
  EXPECT_THAT(Step("inc-000001", IncidentStatus::kMitigated, t2), IsOk());
  EXPECT_THAT(store().MutateIncident(
                  "inc-000001", {},
                  [&](const Incident& i) { return AssignOwner(i, "lead", "bob", "yours", t2); },
                  [](const IncidentChange&) { return std::string("ok"); }),
              IsOk());
  EXPECT_THAT(Step("inc-000001", IncidentStatus::kResolved, t3), IsOk());
  EXPECT_THAT(Step("inc-000001", IncidentStatus::kAcknowledged, t3),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("RESOLVED")));

  auto detail = store().GetIncident("inc-000001");
  ASSERT_THAT(detail, IsOk());
  const Incident& incident = detail->incident;
  EXPECT_EQ(incident.status, IncidentStatus::kResolved);
  EXPECT_EQ(incident.acknowledge_time, t1);
  EXPECT_EQ(incident.mitigate_time, t2);
  EXPECT_EQ(incident.resolve_time, t3);
  EXPECT_FALSE(incident.close_time.has_value());
  EXPECT_EQ(incident.owner, "bob");
  EXPECT_EQ(incident.update_time, t3);
  EXPECT_THAT(Kinds("inc-000001"), ElementsAre("created", "alert_firing", "acknowledged",
                                               "mitigated", "owner_changed", "resolved"));
  EXPECT_EQ(detail->timeline[2].actor, "alice");
  EXPECT_EQ(detail->timeline[2].time, t1);
  EXPECT_EQ(detail->timeline[4].text, "yours");
  EXPECT_EQ(detail->timeline[4].details.at("to"), "bob");

  EXPECT_THAT(Step("missing", IncidentStatus::kAcknowledged, t3),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store().GetIncident("missing"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(IncidentStoreContractTest, RequestIdsReturnTheFirstResponse) {
  ASSERT_THAT(Report({Firing("acme", "fp1", "A", kT0)}, kT0), IsOk());
  auto first = Step("inc-000001", IncidentStatus::kAcknowledged, kT0, "req-1", "Ack");
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(*first, "ACKNOWLEDGED");
  ASSERT_THAT(Step("inc-000001", IncidentStatus::kResolved, kT0), IsOk());
  // The retry answers what the first call answered, and changes nothing.
  auto retry = Step("inc-000001", IncidentStatus::kAcknowledged, kT0, "req-1", "Ack");
  ASSERT_THAT(retry, IsOk());
  EXPECT_EQ(*retry, "ACKNOWLEDGED");
  const std::vector<std::string> kinds = Kinds("inc-000001");
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "acknowledged"), 1);
  EXPECT_THAT(Step("inc-000001", IncidentStatus::kTriggered, kT0, "req-1", "Reopen"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("request_id")));
}

TEST_P(IncidentStoreContractTest, ReopenRefusedWhileTheGroupHasAnotherOpenIncident) {
  ASSERT_THAT(Report({Firing("acme", "fp1", "A", kT0)}, kT0), IsOk());
  ASSERT_THAT(Step("inc-000001", IncidentStatus::kResolved, kT0), IsOk());
  ASSERT_THAT(Report({Firing("acme", "fp2", "A", kT0)}, kT0), IsOk());
  EXPECT_THAT(Step("inc-000001", IncidentStatus::kTriggered, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("inc-000002")));
  ASSERT_THAT(Step("inc-000002", IncidentStatus::kResolved, kT0), IsOk());
  EXPECT_THAT(Step("inc-000001", IncidentStatus::kTriggered, kT0), IsOk());
}

TEST_P(IncidentStoreContractTest, ListPagesWithFilters) {
  // 12 incidents over two tenants, a minute apart: incident i+1 from alert i;
  // every third is P0; the even ones are acme's and of service "api", the
  // odd ones globex's and of "web". inc-000006 (web) is resolved.
  for (int i = 0; i < 12; ++i) {
    AlertReport r = Firing(i % 2 == 0 ? "acme" : "globex", absl::StrCat("fp", i),
                           absl::StrCat("Alert", i), kT0);
    r.labels = {{"service", i % 2 == 0 ? "api" : "web"}};
    r.severity = i % 3 == 0 ? Severity::kP0 : Severity::kP2;
    ASSERT_THAT(Report({r}, kT0 + absl::Minutes(i)), IsOk());
  }
  ASSERT_THAT(Step("inc-000006", IncidentStatus::kResolved, kT0 + absl::Hours(1)), IsOk());

  auto list_all = [&](IncidentQuery query) {
    std::vector<std::string> ids;
    for (int pages = 0; pages < 20; ++pages) {
      auto page = store().ListIncidents(query);
      EXPECT_THAT(page, IsOk());
      if (!page.ok()) break;
      EXPECT_LE(page->incidents.size(), static_cast<size_t>(query.page_size));
      for (const Incident& i : page->incidents) ids.push_back(i.id);
      if (!page->next) break;
      query.after = page->next;
    }
    return ids;
  };

  IncidentQuery all;
  all.page_size = 5;
  std::vector<std::string> expected;
  for (int i = 12; i >= 1; --i) expected.push_back(absl::StrFormat("inc-%06d", i));
  EXPECT_EQ(list_all(all), expected);

  IncidentQuery acme_p0;
  acme_p0.page_size = 1;
  acme_p0.tenant = "acme";
  acme_p0.severities = {Severity::kP0};
  // acme: i = 0,2,...,10; P0: i % 3 == 0 -> i = 0, 6 -> incidents 1 and 7.
  EXPECT_THAT(list_all(acme_p0), ElementsAre("inc-000007", "inc-000001"));

  IncidentQuery resolved;
  resolved.statuses = {IncidentStatus::kResolved};
  EXPECT_THAT(list_all(resolved), ElementsAre("inc-000006"));

  IncidentQuery open_web;
  open_web.statuses = {IncidentStatus::kTriggered, IncidentStatus::kAcknowledged};
  open_web.matchers = {{"service", MatchOp::kEqual, "web"}};
  open_web.page_size = 2;
  EXPECT_THAT(list_all(open_web),
              ElementsAre("inc-000012", "inc-000010", "inc-000008", "inc-000004", "inc-000002"));

  IncidentQuery regex;
  regex.matchers = {{"alertname", MatchOp::kRegex, "Alert1[01]?"},
                    {"missing", MatchOp::kEqual, ""},
                    {"service", MatchOp::kNotRegex, "w.b"}};
  // Anchored: "Alert1" and "Alert10" match, "Alert11" is web, "Alert2" does not.
  EXPECT_THAT(list_all(regex), ElementsAre("inc-000011"));

  IncidentQuery not_equal;
  not_equal.matchers = {{"service", MatchOp::kNotEqual, "api"},
                        {"alertname", MatchOp::kRegex, "Alert[0-3]"}};
  EXPECT_THAT(list_all(not_equal), ElementsAre("inc-000004", "inc-000002"));

  IncidentQuery ranged;
  ranged.created_from = kT0 + absl::Minutes(3);
  ranged.created_before = kT0 + absl::Minutes(6);
  EXPECT_THAT(list_all(ranged), ElementsAre("inc-000006", "inc-000005", "inc-000004"));
}

TEST_P(IncidentStoreContractTest, ListFiltersByOwner) {
  ASSERT_THAT(Report({Firing("acme", "fp1", "A", kT0), Firing("acme", "fp2", "B", kT0)}, kT0),
              IsOk());
  ASSERT_THAT(store().MutateIncident(
                  "inc-000002", {},
                  [&](const Incident& i) { return AssignOwner(i, "lead", "bob", "", kT0); },
                  [](const IncidentChange&) { return std::string(); }),
              IsOk());
  IncidentQuery query;
  query.owner = "bob";
  auto page = store().ListIncidents(query);
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(page->incidents, SizeIs(1));
  EXPECT_EQ(page->incidents[0].id, "inc-000002");
  EXPECT_FALSE(page->next.has_value());
}

}  // namespace
}  // namespace agentwatch::incident::testing
