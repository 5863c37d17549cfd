// The stats part of the store contract (store_contract.h): the GetStats
// aggregates over incidents, timelines, alert reports and delivery records.
// Both the in-memory and the Postgres test binaries run it, so the fake's
// figures are held to the SQL's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "incident/store/stats_store.h"
#include "store_contract.h"

namespace agentwatch::incident::testing {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::testing::ElementsAre;
using ::testing::SizeIs;

// Wednesday 2026-11-25 10:00:00 UTC.
const absl::Time kT = absl::FromUnixSeconds(1'795'600'800);

AlertReport WithService(AlertReport report, const std::string& service, Severity severity) {
  report.labels["service"] = service;
  report.severity = severity;
  return report;
}

class StatsContract {
 public:
  static DeliveryRecord Delivery(const std::string& tenant, const std::string& key,
                                 const std::string& incident_id, const std::string& person,
                                 absl::Time at) {
    DeliveryRecord record;
    record.tenant = tenant;
    record.idempotency_key = key;
    record.incident_id = incident_id;
    record.channel_id = "c1";
    record.person = person;
    record.time = at;
    record.entry.tenant = tenant;
    record.entry.incident_id = incident_id;
    record.entry.time = at;
    record.entry.actor = "escalation";
    record.entry.kind = "notified";
    record.entry.text = "Notified";
    return record;
  }
};

TEST_P(IncidentStoreContractTest, StatsAggregateTheIncidentsOfTheRange) {
  ASSERT_NE(store().stats(), nullptr);
  const absl::Duration quiet = absl::Minutes(5);
  // Outside the range (created two days before).
  ASSERT_THAT(Report({Firing("acme", "fp7", "Old", kT - absl::Hours(48))}, kT - absl::Hours(48)),
              IsOk());
  // A: P0 api, detected after 2 min, acknowledged after 1 min, resolved by a
  // person after 10 min.
  auto a = Report(
      {WithService(Firing("acme", "fp1", "ApiDown", kT - absl::Minutes(2)), "api", Severity::kP0)},
      kT);
  ASSERT_THAT(a, IsOk());
  const std::string a_id = a->incident_ids.at(0);
  // Another tenant.
  ASSERT_THAT(
      Report({WithService(Firing("globex", "fp5", "ApiDown", kT), "api", Severity::kP0)}, kT),
      IsOk());
  ASSERT_THAT(Step(a_id, IncidentStatus::kAcknowledged, kT + absl::Minutes(1)), IsOk());
  ASSERT_THAT(Step(a_id, IncidentStatus::kResolved, kT + absl::Minutes(10)), IsOk());
  // B: P2 web, two alerts started before kT but reported an hour later (MTTD
  // 61 min), auto-resolved 6 min after creation; only a response rule touched it.
  const AlertReport b1 = WithService(Firing("acme", "fp2", "HighLatency", kT - absl::Minutes(1)),
                                     "web", Severity::kP2);
  const AlertReport b2 = WithService(Firing("acme", "fp3", "HighLatency", kT - absl::Seconds(30)),
                                     "web", Severity::kP2);
  const absl::Time b_at = kT + absl::Hours(1);
  auto b = Report({b1, b2}, b_at);
  ASSERT_THAT(b, IsOk());
  const std::string b_id = b->incident_ids.at(0);
  const absl::Time b_end = b_at + absl::Minutes(1);
  ASSERT_THAT(Report({Resolved(b1, b_end), Resolved(b2, b_end)}, b_end), IsOk());
  ASSERT_THAT(store().AutoResolveDue(b_end + quiet, quiet, 10), IsOkAndHolds(SizeIs(1)));
  TimelineEntry rule_note;
  rule_note.tenant = "acme";
  rule_note.incident_id = b_id;
  rule_note.time = b_end + quiet;
  rule_note.actor = "response_rule:r1";
  rule_note.kind = "note";
  rule_note.text = "restarted";
  ASSERT_THAT(store().AppendTimeline(rule_note), IsOk());
  // F: P2 web, auto-resolved, but a person wrote a note.
  const AlertReport f1 =
      WithService(Firing("acme", "fp6", "QueueBacklog", kT + absl::Hours(2)), "web", Severity::kP2);
  auto f = Report({f1}, kT + absl::Hours(2));
  ASSERT_THAT(f, IsOk());
  const absl::Time f_end = kT + absl::Hours(2) + absl::Minutes(1);
  ASSERT_THAT(Report({Resolved(f1, f_end)}, f_end), IsOk());
  ASSERT_THAT(store().AutoResolveDue(f_end + quiet, quiet, 10), IsOkAndHolds(SizeIs(1)));
  TimelineEntry person_note = rule_note;
  person_note.incident_id = f->incident_ids.at(0);
  person_note.actor = "carol";
  ASSERT_THAT(store().AppendTimeline(person_note), IsOk());
  // C: no service label, the next day, detected after 30 s, still open.
  ASSERT_THAT(Report({Firing("acme", "fp4", "DiskFull", kT + absl::Hours(24))},
                     kT + absl::Hours(24) + absl::Seconds(30)),
              IsOk());
  // Deliveries: two pages to alice, one channel notification, one elsewhere.
  ASSERT_THAT(store().RecordDelivery(StatsContract::Delivery("acme", "k1", a_id, "alice", kT)),
              IsOk());
  ASSERT_THAT(store().RecordDelivery(
                  StatsContract::Delivery("acme", "k2", a_id, "alice", kT + absl::Minutes(5))),
              IsOk());
  ASSERT_THAT(store().RecordDelivery(StatsContract::Delivery("acme", "k2", a_id, "alice", kT)),
              IsOk());  // a retry: recorded once
  ASSERT_THAT(store().RecordDelivery(StatsContract::Delivery("acme", "k3", a_id, "", kT)), IsOk());
  ASSERT_THAT(store().RecordDelivery(
                  StatsContract::Delivery("acme", "k4", a_id, "bob", kT - absl::Hours(3))),
              IsOk());  // before the range

  StatsQuery query;
  query.tenant = "acme";
  query.start = kT - absl::Hours(1);
  query.end = kT + absl::Hours(47);
  auto got = store().stats()->AggregateStats(query);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->overall.incident_count, 4);
  EXPECT_EQ(got->overall.mttd, absl::Milliseconds(952'500));  // (120 + 3660 + 0 + 30) / 4
  EXPECT_EQ(got->overall.mtta, absl::Seconds(60));            // A only
  EXPECT_EQ(got->overall.mttr, absl::Seconds(440));           // (600 + 360 + 360) / 3
  ASSERT_THAT(got->by_severity, SizeIs(2));
  EXPECT_EQ(got->by_severity[0].severity, Severity::kP0);
  EXPECT_EQ(got->by_severity[0].incident_count, 1);
  EXPECT_EQ(got->by_severity[0].mttd, absl::Seconds(120));
  EXPECT_EQ(got->by_severity[0].mttr, absl::Seconds(600));
  EXPECT_EQ(got->by_severity[1].severity, Severity::kP2);
  EXPECT_EQ(got->by_severity[1].incident_count, 3);
  EXPECT_EQ(got->by_severity[1].mttd, absl::Seconds(1230));
  EXPECT_EQ(got->by_severity[1].mtta, absl::ZeroDuration());
  EXPECT_EQ(got->by_severity[1].mttr, absl::Seconds(360));
  ASSERT_THAT(got->by_service, SizeIs(2));
  EXPECT_EQ(got->by_service[0].service, "api");
  EXPECT_EQ(got->by_service[0].incident_count, 1);
  EXPECT_EQ(got->by_service[1].service, "web");
  EXPECT_EQ(got->by_service[1].incident_count, 2);
  EXPECT_EQ(got->by_service[1].mttd, absl::Seconds(1830));
  EXPECT_EQ(got->by_service[1].mttr, absl::Seconds(360));
  ASSERT_THAT(got->days, SizeIs(2));
  EXPECT_EQ(got->days[0].day_start, kT - absl::Hours(10));
  EXPECT_EQ(got->days[0].count, 3);
  EXPECT_EQ(got->days[1].day_start, kT + absl::Hours(14));
  EXPECT_EQ(got->days[1].count, 1);
  EXPECT_EQ(got->alert_total, 5);
  EXPECT_EQ(got->unattended_auto_resolved, 1);
  EXPECT_EQ(got->alerts_received, 5);
  EXPECT_EQ(got->notifications, 3);
  ASSERT_THAT(got->pages, SizeIs(1));
  EXPECT_EQ(got->pages[0].person, "alice");
  EXPECT_EQ(got->pages[0].pages, 2);

  // Frequency days in another zone: 10:00 UTC is 19:00 in Tokyo, 11:00 and
  // 12:00 are 20:00 and 21:00; the next day's 10:00:30 is 19:00:30.
  query.time_zone = "Asia/Tokyo";
  got = store().stats()->AggregateStats(query);
  ASSERT_THAT(got, IsOk());
  ASSERT_THAT(got->days, SizeIs(2));
  EXPECT_EQ(got->days[0].day_start, kT - absl::Hours(19));
  EXPECT_EQ(got->days[0].count, 3);

  // Every tenant.
  query.tenant = "";
  got = store().stats()->AggregateStats(query);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->overall.incident_count, 5);
  ASSERT_THAT(got->by_service, SizeIs(2));
  EXPECT_EQ(got->by_service[0].incident_count, 2);

  // An empty range.
  query.start = kT + absl::Hours(100);
  query.end = kT + absl::Hours(101);
  got = store().stats()->AggregateStats(query);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->overall.incident_count, 0);
  EXPECT_EQ(got->overall.mttd, absl::ZeroDuration());
  EXPECT_THAT(got->by_severity, SizeIs(0));
  EXPECT_THAT(got->days, SizeIs(0));
  EXPECT_EQ(got->alerts_received, 0);
  EXPECT_THAT(got->pages, SizeIs(0));
}

}  // namespace
}  // namespace agentwatch::incident::testing
