// The escalation engine over the in-memory store with a FakeClock (pages land
// in the store's in-memory outbox), and the notifier delivering them to a
// local HTTP receiver.
#include "incident/api/escalation_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/clock.h"
#include "common/http_server.h"
#include "common/testing/status_matchers.h"
#include "incident/api/notifier.h"
#include "incident/api/paging_mapping.h"
#include "incident/api/proto_mapping.h"
#include "incident/core/grouping.h"
#include "incident/core/lifecycle.h"
#include "incident/store/memory_grouping_config_store.h"
#include "incident/store/memory_incident_store.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

class EscalationEngineTest : public ::testing::Test {
 protected:
  EscalationEngineTest()
      : clock_(kT0),
        store_(ids_),
        engine_(store_, clock_, absl::Seconds(5), absl::Seconds(1), [this] { ++notified_; }) {}

  void AddChannel(const std::string& id, const std::string& person,
                  common::v1::Severity min_severity = common::v1::SEVERITY_UNSPECIFIED) {
    v1::NotificationChannel c;
    c.set_id(id);
    c.set_name(absl::StrCat("chan ", id));
    c.set_tenant("acme");
    c.set_person(person);
    c.set_min_severity(min_severity);
    c.mutable_webhook()->set_url("http://127.0.0.1:9/hook");
    c.mutable_webhook()->mutable_timeout()->set_seconds(1);
    Put(config_kind::kChannel, id, c.name(), c.SerializeAsString(), person);
  }

  void Put(absl::string_view kind, const std::string& id, const std::string& name,
           const std::string& body, const std::string& person = "", int priority = 0) {
    ConfigRecord r;
    r.tenant = "acme";
    r.kind = std::string(kind);
    r.id = id;
    r.name = name;
    r.person = person;
    r.priority = priority;
    r.body = body;
    r.create_time = kT0;
    r.update_time = kT0;
    ASSERT_THAT(store_.CreateConfig(r), IsOk());
  }

  std::string Open(const std::string& fingerprint, const std::string& name,
                   Severity severity = Severity::kP1, Labels labels = {}) {
    AlertReport report = testing::Firing("acme", fingerprint, name, clock_.Now());
    report.severity = severity;
    report.labels = std::move(labels);
    std::vector<IncomingAlert> alerts = {PrepareAlert(report, grouping_, clock_.Now())};
    auto summary = store_.ReportAlerts(alerts, clock_.Now());
    EXPECT_THAT(summary, IsOk());
    return summary->incident_ids[0];
  }

  void Step(const std::string& id, IncidentStatus target) {
    ASSERT_THAT(store_.MutateIncident(
                    id, RequestKey{},
                    [&](const Incident& incident) {
                      return Transition(incident, target, "alice", "", clock_.Now());
                    },
                    [](const IncidentChange&) { return std::string(); }),
                IsOk());
  }

  // (channel, person, tier) of the pages enqueued since the last call.
  std::vector<std::string> Pages() {
    std::vector<std::string> out;
    for (const PageRequest& page : store_.TakePages()) {
      out.push_back(absl::StrCat(page.event.channel_id, "/", page.event.person, "/",
                                 page.event.tier, "/", page.event.event));
    }
    return out;
  }

  std::vector<std::string> Kinds(const std::string& id) {
    std::vector<std::string> kinds;
    const IncidentDetail detail = *store_.GetIncident(id);
    for (const TimelineEntry& e : detail.timeline) kinds.push_back(e.kind);
    return kinds;
  }

  common::FakeClock clock_;
  testing::SequentialIds ids_;
  MemoryIncidentStore store_;
  GroupingConfig grouping_ = *ParseGroupBy("group_by", "alertname");
  int notified_ = 0;
  EscalationEngine engine_;
};

TEST_F(EscalationEngineTest, DefaultChainPagesRolesOverTime) {
  AddChannel("c-oncall", "oncall");
  AddChannel("c-lead", "team-lead");
  AddChannel("c-manager", "engineering-manager");
  const std::string id = Open("fp1", "ApiDown");
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(0));  // group wait
  clock_.Advance(absl::Seconds(5));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(1));
  EXPECT_THAT(Pages(), ElementsAre("c-oncall/oncall/0/triggered"));
  EXPECT_EQ(notified_, 1);
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(0));
  clock_.Advance(absl::Minutes(15) - absl::Seconds(1));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(0));
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(1));
  EXPECT_THAT(Pages(), ElementsAre("c-lead/team-lead/1/escalated"));
  EXPECT_EQ(store_.GetIncident(id)->incident.escalation_tier, 1);
  Step(id, IncidentStatus::kAcknowledged);
  clock_.Advance(absl::Hours(1));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(0));
  EXPECT_THAT(Kinds(id),
              ElementsAre("created", "alert_firing", "escalated", "escalated", "acknowledged"));
  const TimelineEntry entry = store_.GetIncident(id)->timeline[2];
  EXPECT_EQ(entry.actor, "escalation");
  EXPECT_THAT(entry.text, HasSubstr("person:oncall"));
  EXPECT_EQ(entry.details.at("policy_id"), "default");
}

TEST_F(EscalationEngineTest, PolicyWithScheduleChannelAndSeverityFilter) {
  AddChannel("c-alice", "alice");
  AddChannel("c-bob", "bob");
  AddChannel("c-p0-only", "", common::v1::SEVERITY_P0);
  AddChannel("c-shared", "");
  v1::Schedule schedule;
  schedule.set_id("s1");
  schedule.set_name("primary");
  schedule.set_tenant("acme");
  v1::Rotation* rotation = schedule.add_rotations();
  rotation->set_name("daily");
  rotation->add_participants("alice");
  rotation->add_participants("bob");
  TimeToProto(kT0 - absl::Hours(1), rotation->mutable_start_time());
  rotation->mutable_shift_length()->set_seconds(24 * 3600);
  Put(config_kind::kSchedule, "s1", "primary", schedule.SerializeAsString());
  v1::EscalationPolicy policy;
  policy.set_id("p1");
  policy.set_name("api");
  policy.set_tenant("acme");
  common::v1::LabelMatcher* m = policy.add_matchers();
  m->set_name("service");
  m->set_op(common::v1::MATCH_OP_EQUAL);
  m->set_value("api");
  v1::EscalationTier* t0 = policy.add_tiers();
  t0->add_targets()->set_schedule_id("s1");
  t0->add_targets()->set_channel_id("c-p0-only");
  v1::EscalationTier* t1 = policy.add_tiers();
  t1->mutable_delay()->set_seconds(600);
  t1->add_targets()->set_channel_id("c-shared");
  t1->add_targets()->set_person("bob");
  policy.set_repeat_count(1);
  Put(config_kind::kEscalationPolicy, "p1", "api", policy.SerializeAsString());

  const std::string id = Open("fp1", "ApiDown", Severity::kP1, {{"service", "api"}});
  clock_.Advance(absl::Seconds(5));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(1));
  // alice is on call; the P0-only channel skips a P1 incident.
  EXPECT_THAT(Pages(), ElementsAre("c-alice/alice/0/triggered"));
  clock_.Advance(absl::Minutes(10));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(2));
  EXPECT_THAT(Pages(), UnorderedElementsAre("c-shared//1/escalated", "c-bob/bob/1/escalated"));
  // The repeat: tier 0 again after the longest delay (10 min).
  clock_.Advance(absl::Minutes(10));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(1));
  EXPECT_THAT(Pages(), ElementsAre("c-alice/alice/0/escalated"));
  clock_.Advance(absl::Minutes(10));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(2));
  Pages();
  clock_.Advance(absl::Hours(2));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(0));
  // Other labels take the default policy.
  const std::string other = Open("fp2", "DbDown", Severity::kP1, {{"service", "db"}});
  clock_.Advance(absl::Seconds(5));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(0));  // nobody owns "oncall" channels here
  EXPECT_THAT(store_.GetIncident(other)->timeline.back().text, HasSubstr("no channel reached"));
}

TEST_F(EscalationEngineTest, AcknowledgementTimeoutAndReopenRestartEscalation) {
  AddChannel("c-oncall", "oncall");
  v1::EscalationPolicy policy;
  policy.set_id("p1");
  policy.set_name("short");
  policy.set_tenant("acme");
  policy.add_tiers()->add_targets()->set_person("oncall");
  policy.mutable_acknowledge_timeout()->set_seconds(1800);
  Put(config_kind::kEscalationPolicy, "p1", "short", policy.SerializeAsString());
  const std::string id = Open("fp1", "ApiDown");
  clock_.Advance(absl::Seconds(5));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(1));
  auto first = store_.TakePages();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].event.idempotency_key, PageKey(id, 0, 0, 0, "c-oncall"));
  Step(id, IncidentStatus::kAcknowledged);
  clock_.Advance(absl::Minutes(30) - absl::Seconds(1));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(0));
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(1));
  auto second = store_.TakePages();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].event.idempotency_key, PageKey(id, 1, 0, 0, "c-oncall"));
  EXPECT_EQ(store_.GetIncident(id)->incident.status, IncidentStatus::kTriggered);
  const std::vector<TimelineEntry> timeline = store_.GetIncident(id)->timeline;
  EXPECT_EQ(timeline[timeline.size() - 2].details.at("reason"), "acknowledge_timeout");

  Step(id, IncidentStatus::kResolved);
  clock_.Advance(absl::Minutes(1));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(0));
  Step(id, IncidentStatus::kTriggered);  // reopen
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(1));
  auto third = store_.TakePages();
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].event.idempotency_key, PageKey(id, 2, 0, 0, "c-oncall"));
}

TEST_F(EscalationEngineTest, TwoEnginesPageEachStepOnce) {
  AddChannel("c-oncall", "oncall");
  EscalationEngine replica(store_, clock_, absl::Seconds(5), absl::Seconds(1), [] {});
  for (int i = 0; i < 20; ++i) Open(absl::StrCat("fp", i), absl::StrCat("Alert", i));
  clock_.Advance(absl::Seconds(5));
  auto a = engine_.RunOnce();
  auto b = replica.RunOnce();
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(*a + *b, 20);
  EXPECT_EQ(store_.TakePages().size(), 20u);
}

// A tenant's group_wait from its grouping config replaces --group_wait (5 s
// here) for its incidents' first page; a cached value changes at once when
// this replica invalidates it.
TEST_F(EscalationEngineTest, TenantGroupWaitFromItsGroupingConfig) {
  MemoryGroupingConfigStore grouping_store;
  GroupingResolver resolver(grouping_store, clock_, TenantGrouping{grouping_, absl::Seconds(5)});
  engine_.SetGroupingResolver(&resolver);
  GroupingConfigRecord record;
  record.tenant = "acme";
  record.group_wait = absl::Seconds(30);
  GroupingConfigFields fields;
  fields.group_wait = true;
  ASSERT_THAT(grouping_store.PutGroupingConfig(record, fields).status(), IsOk());
  AddChannel("c-oncall", "oncall");
  Open("fp1", "ApiDown");
  clock_.Advance(absl::Seconds(5));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(0));  // the flag's wait would page now
  clock_.Advance(absl::Seconds(25) - absl::Microseconds(1));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(0));
  clock_.Advance(absl::Microseconds(1));
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(1));
  EXPECT_THAT(Pages(), ElementsAre("c-oncall/oncall/0/triggered"));

  // group_wait 0 for the tenant: a new incident pages on the next scan.
  record.group_wait = absl::ZeroDuration();
  ASSERT_THAT(grouping_store.PutGroupingConfig(record, fields).status(), IsOk());
  resolver.Invalidate();
  Open("fp2", "DiskFull");
  EXPECT_THAT(engine_.RunOnce(), IsOkAndHolds(1));
  EXPECT_THAT(Pages(), ElementsAre("c-oncall/oncall/0/triggered"));
}

TEST_F(EscalationEngineTest, StartsAndStopsCleanly) {
  EscalationEngine worker(store_, clock_, absl::Seconds(5), absl::Milliseconds(10), [] {});
  worker.Start();
  worker.Stop();
  worker.Stop();
}

// A local webhook receiver.
class Receiver {
 public:
  Receiver() : server_("127.0.0.1:0") {
    server_.Handle("/hook", [this](const common::HttpRequest& request) {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(request);
      common::HttpResponse response;
      response.status = status_;
      response.body = "ok";
      return response;
    });
    EXPECT_THAT(server_.Start(), IsOk());
  }
  ~Receiver() { server_.Stop(); }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", server_.port(), "/hook"); }
  void set_status(int status) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
  }
  std::vector<common::HttpRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  common::HttpServer server_;
  std::mutex mu_;
  std::vector<common::HttpRequest> requests_;
  int status_ = 200;
};

TEST_F(EscalationEngineTest, NotifierDeliversSignedWebhooksOnce) {
  Receiver receiver;
  setenv("AW_TEST_HOOK_SECRET", "s3cret", 1);
  v1::NotificationChannel c;
  c.set_id("c-hook");
  c.set_name("hook");
  c.set_tenant("acme");
  c.set_person("oncall");
  c.mutable_webhook()->set_url(receiver.url());
  c.mutable_webhook()->set_hmac_secret_ref("env:AW_TEST_HOOK_SECRET");
  (*c.mutable_webhook()->mutable_headers())["X-Team"] = "sre";
  c.mutable_webhook()->mutable_timeout()->set_seconds(5);
  Put(config_kind::kChannel, "c-hook", "hook", c.SerializeAsString(), "oncall");
  const std::string id = Open("fp1", "ApiDown");
  clock_.Advance(absl::Seconds(5));
  ASSERT_THAT(engine_.RunOnce(), IsOkAndHolds(1));
  std::vector<common::OutboxEntry> entries;
  for (const PageRequest& page : store_.TakePages()) {
    common::OutboxEntry entry;
    entry.tenant = page.event.tenant;
    entry.idempotency_key = page.event.idempotency_key;
    entry.payload = WebhookBody(page.event);
    entries.push_back(entry);
  }
  Notifier notifier(store_, clock_);
  // The receiver fails first: the batch is retried, the failure noted once.
  receiver.set_status(503);
  EXPECT_FALSE(notifier.Deliver(entries).ok());
  entries[0].attempts = 1;
  EXPECT_FALSE(notifier.Deliver(entries).ok());
  receiver.set_status(200);
  EXPECT_THAT(notifier.Deliver(entries), IsOk());
  EXPECT_THAT(notifier.Deliver(entries), IsOk());  // a replayed batch sends nothing
  const std::vector<common::HttpRequest> got = receiver.requests();
  ASSERT_EQ(got.size(), 3u);
  const common::HttpRequest& last = got.back();
  EXPECT_EQ(last.headers.at("x-agentwatch-signature"),
            absl::StrCat("sha256=", HmacSha256Hex("s3cret", last.body)));
  EXPECT_EQ(last.headers.at("idempotency-key"), PageKey(id, 0, 0, 0, "c-hook"));
  EXPECT_EQ(last.headers.at("x-team"), "sre");
  EXPECT_THAT(last.body, HasSubstr(absl::StrCat("\"id\":\"", id, "\"")));
  auto event = ParseNotificationEvent(last.body);
  ASSERT_THAT(event, IsOk());
  EXPECT_EQ(event->person, "oncall");
  EXPECT_EQ(event->severity, Severity::kP1);
  int failed = 0;
  int notified = 0;
  for (const std::string& kind : Kinds(id)) {
    failed += kind == "notification_failed";
    notified += kind == "notified";
  }
  EXPECT_EQ(failed, 1) << absl::StrJoin(Kinds(id), ",");
  EXPECT_EQ(notified, 1);
}

TEST_F(EscalationEngineTest, NotifierRecordsPermanentFailuresAndDeletedChannels) {
  Receiver receiver;
  receiver.set_status(404);
  v1::NotificationChannel c;
  c.set_id("c-hook");
  c.set_name("hook");
  c.set_tenant("acme");
  c.mutable_webhook()->set_url(receiver.url());
  c.mutable_webhook()->mutable_timeout()->set_seconds(5);
  Put(config_kind::kChannel, "c-hook", "hook", c.SerializeAsString());
  const std::string id = Open("fp1", "ApiDown");
  NotificationEvent e;
  e.tenant = "acme";
  e.incident_id = id;
  e.title = "t";
  e.event = "triggered";
  e.channel_id = "c-hook";
  e.idempotency_key = "k1";
  e.time = kT0;
  common::OutboxEntry entry;
  entry.payload = WebhookBody(e);
  Notifier notifier(store_, clock_);
  EXPECT_THAT(notifier.Deliver({entry}), IsOk());  // 404 will not get better
  EXPECT_THAT(store_.WasDelivered("acme", "k1"), IsOkAndHolds(true));
  e.idempotency_key = "k2";
  e.channel_id = "gone";
  entry.payload = WebhookBody(e);
  EXPECT_THAT(notifier.Deliver({entry}), IsOk());
  const std::vector<TimelineEntry> timeline = store_.GetIncident(id)->timeline;
  EXPECT_EQ(timeline[timeline.size() - 2].kind, "notification_failed");
  EXPECT_THAT(timeline.back().text, HasSubstr("deleted"));
  EXPECT_EQ(receiver.requests().size(), 1u);
}

TEST(NotifierTest, HmacMatchesKnownVector) {
  // RFC 4231 test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(NotifierTest, ResolvesSecrets) {
  setenv("AW_TEST_SECRET_X", "v", 1);
  EXPECT_THAT(ResolveSecret("env:AW_TEST_SECRET_X"), IsOkAndHolds("v"));
  EXPECT_THAT(ResolveSecret("env:AW_TEST_SECRET_UNSET_Y").status().code(),
              absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ResolveSecret("file:/nonexistent/secret").status().code(),
              absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace agentwatch::incident

namespace agentwatch::incident {
namespace {

TEST(NotifierTest, SlackAndPagerDutyFormats) {
  Receiver receiver;
  setenv("AW_TEST_SLACK_URL", receiver.url().c_str(), 1);
  setenv("AW_TEST_PD_KEY", "routing-123", 1);
  common::FakeClock clock(kT0);
  testing::SequentialIds ids;
  MemoryIncidentStore store(ids);
  Notifier notifier(store, clock);
  NotificationEvent e;
  e.tenant = "acme";
  e.incident_id = "inc-9";
  e.title = "Queue backlog";
  e.severity = Severity::kP0;
  e.event = "triggered";
  e.person = "alice";
  e.channel_id = "c";
  e.idempotency_key = "k-slack";
  e.time = kT0;
  NotificationChannel slack;
  slack.kind = ChannelKind::kSlack;
  slack.secret_ref = "env:AW_TEST_SLACK_URL";
  slack.slack_channel = "#oncall";
  EXPECT_THAT(notifier.Send(slack, e).status, IsOk());
  NotificationChannel pagerduty;
  pagerduty.kind = ChannelKind::kPagerDuty;
  pagerduty.secret_ref = "env:AW_TEST_PD_KEY";
  pagerduty.url = receiver.url();
  e.idempotency_key = "k-pd";
  EXPECT_THAT(notifier.Send(pagerduty, e).status, IsOk());
  NotificationChannel unreadable = pagerduty;
  unreadable.secret_ref = "env:AW_TEST_UNSET_KEY_Z";
  EXPECT_EQ(notifier.Send(unreadable, e).status.code(), absl::StatusCode::kFailedPrecondition);
  const std::vector<common::HttpRequest> got = receiver.requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_THAT(got[0].body, HasSubstr("\"channel\":\"#oncall\""));
  EXPECT_THAT(got[0].body, HasSubstr("Queue backlog"));
  EXPECT_EQ(got[0].headers.at("idempotency-key"), "k-slack");
  EXPECT_THAT(got[1].body, HasSubstr("\"routing_key\":\"routing-123\""));
  EXPECT_THAT(got[1].body, HasSubstr("\"event_action\":\"trigger\""));
  EXPECT_THAT(got[1].body, HasSubstr("\"severity\":\"critical\""));
  EXPECT_EQ(got[1].headers.count("x-agentwatch-signature"), 0u);
}

}  // namespace
}  // namespace agentwatch::incident
