// The response engine over the in-memory stores with a FakeClock: claims
// (exactly once, cooldown per incident, hourly cap per rule), the webhook
// action (signature, idempotency key, retries), capacity, notify (through a
// real Notifier to a local receiver), note and escalate actions, and every
// result on the timeline.
#include "incident/api/response_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/clock.h"
#include "common/http_server.h"
#include "common/testing/status_matchers.h"
#include "incident/api/escalation_engine.h"
#include "incident/api/notifier.h"
#include "incident/api/paging_mapping.h"
#include "incident/api/response_mapping.h"
#include "incident/core/grouping.h"
#include "incident/core/lifecycle.h"
#include "incident/store/memory_incident_store.h"
#include "incident/store/memory_response_store.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);
constexpr char kSecretVar[] = "AW_RESPONSE_TEST_SECRET";

struct Call {
  std::string url;
  std::vector<std::string> headers;
  std::string body;
};

class FakeCapacity final : public CapacityAdvisor {
 public:
  absl::StatusOr<CapacityAdvice> Recommend(absl::string_view tenant, absl::string_view resource_id,
                                           const ResponseSubject& alert, absl::Duration) override {
    asked.push_back(absl::StrCat(tenant, "/", resource_id, "/", alert.name));
    return answer;
  }
  absl::StatusOr<CapacityAdvice> answer = absl::UnavailableError("capacity is down");
  std::vector<std::string> asked;
};

class ResponseEngineTest : public ::testing::Test {
 protected:
  ResponseEngineTest()
      : clock_(kT0), incidents_(ids_), responses_(incidents_), engine_(MakeEngine()) {
    setenv(kSecretVar, "s3cret", 1);
  }

  std::unique_ptr<ResponseEngine> MakeEngine() {
    ResponseEngineOptions options;
    options.retry_delay = absl::Seconds(5);
    options.lease = absl::Seconds(90);
    return std::make_unique<ResponseEngine>(
        incidents_, responses_, clock_, nullptr, &capacity_,
        [this](const std::string& url, const std::vector<std::string>& headers,
               const std::string& body, absl::Duration) {
          std::lock_guard<std::mutex> lock(mu_);
          calls_.push_back({url, headers, body});
          if (!answers_.empty()) {
            SendResult r = answers_.front();
            answers_.erase(answers_.begin());
            return r;
          }
          return SendResult{absl::OkStatus(), "HTTP 200"};
        },
        options);
  }

  // Stores a rule; `edit` adjusts the default (webhook to /hook, signed).
  std::string AddRule(const std::string& id, const std::function<void(v1::ResponseRule&)>& edit) {
    v1::ResponseRule rule;
    rule.set_id(id);
    rule.set_name(absl::StrCat("rule ", id));
    rule.set_tenant("acme");
    v1::WebhookAction* hook = rule.add_actions()->mutable_webhook();
    hook->set_url("http://127.0.0.1:1/hook");
    hook->set_hmac_secret_ref(absl::StrCat("env:", kSecretVar));
    edit(rule);
    ApplyResponseRuleDefaults(&rule);
    EXPECT_THAT(ValidateResponseRule(*ResponseRuleFromProto(rule, "rule"), "rule"), IsOk());
    ConfigRecord r;
    r.tenant = "acme";
    r.kind = std::string(config_kind::kResponseRule);
    r.id = id;
    r.name = rule.name();
    r.body = rule.SerializeAsString();
    r.create_time = kT0;
    r.update_time = kT0;
    EXPECT_THAT(incidents_.CreateConfig(r), IsOk());
    return id;
  }

  // Opens (or joins) the incident of alert `name` and queues its trigger.
  std::string Fire(const std::string& fingerprint, const std::string& name,
                   Labels labels = {{"service", "api"}}) {
    AlertReport report = testing::Firing("acme", fingerprint, name, clock_.Now());
    report.severity = Severity::kP1;
    report.labels = labels;
    std::vector<IncomingAlert> alerts = {PrepareAlert(report, grouping_, clock_.Now())};
    auto summary = incidents_.ReportAlerts(alerts, clock_.Now());
    EXPECT_THAT(summary, IsOk());
    const std::string id = summary->incident_ids[0];
    ResponseTrigger trigger;
    trigger.tenant = "acme";
    trigger.incident_id = id;
    trigger.entry_id = ++entry_id_;
    trigger.time = clock_.Now();
    trigger.alert.fingerprint = fingerprint;
    trigger.alert.name = name;
    trigger.alert.severity = Severity::kP1;
    trigger.alert.labels = labels;
    responses_.EnqueueTrigger(trigger);
    last_trigger_ = trigger;
    return id;
  }

  std::vector<TimelineEntry> Entries(const std::string& id, absl::string_view actor_prefix) {
    std::vector<TimelineEntry> out;
    const absl::StatusOr<IncidentDetail> detail = incidents_.GetIncident(id);
    EXPECT_THAT(detail, IsOk());
    if (!detail.ok()) return out;
    for (const TimelineEntry& e : detail->timeline) {
      if (absl::StartsWith(e.actor, actor_prefix)) out.push_back(e);
    }
    return out;
  }

  std::vector<std::string> Kinds(const std::string& id) {
    std::vector<std::string> out;
    for (const TimelineEntry& e : Entries(id, "response_rule:")) {
      out.push_back(
          absl::StrCat(e.kind, ":", (e.details.count("outcome") ? e.details.at("outcome") : "")));
    }
    return out;
  }

  static std::string Header(const Call& call, absl::string_view name) {
    for (const std::string& h : call.headers) {
      if (absl::StartsWith(h, absl::StrCat(name, ": "))) return h.substr(name.size() + 2);
    }
    return "";
  }

  common::FakeClock clock_;
  testing::SequentialIds ids_;
  MemoryIncidentStore incidents_;
  MemoryResponseStore responses_;
  FakeCapacity capacity_;
  GroupingConfig grouping_ = *ParseGroupBy("group_by", "alertname");
  std::mutex mu_;
  std::vector<Call> calls_;
  std::vector<SendResult> answers_;
  int64_t entry_id_ = 0;
  ResponseTrigger last_trigger_;
  std::unique_ptr<ResponseEngine> engine_;
};

TEST_F(ResponseEngineTest, WebhookIsCalledOnceSignedWithAnIdempotencyKey) {
  AddRule("r1", [](v1::ResponseRule& r) {
    r.mutable_actions(0)->mutable_webhook()->mutable_headers()->insert({"X-Team", "sre"});
    r.add_actions()->mutable_add_note()->set_text("restarted {{alert.labels.service}}");
  });
  const std::string id = Fire("fp1", "ApiDown");
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(1));
  EXPECT_EQ(responses_.QueuedTriggers(), 0u);
  EXPECT_THAT(engine_->RunOnce(), IsOkAndHolds(2));
  EXPECT_THAT(engine_->RunOnce(), IsOkAndHolds(0));
  ASSERT_EQ(calls_.size(), 1u);
  const Call& call = calls_[0];
  EXPECT_EQ(call.url, "http://127.0.0.1:1/hook");
  const std::string execution = ExecutionId("acme", "r1", "entry:1");
  EXPECT_EQ(Header(call, "Idempotency-Key"), ActionIdempotencyKey(execution, 0));
  EXPECT_EQ(Header(call, "X-Agentwatch-Signature"),
            absl::StrCat("sha256=", HmacSha256Hex("s3cret", call.body)));
  EXPECT_EQ(Header(call, "X-Team"), "sre");
  EXPECT_THAT(call.body, HasSubstr(absl::StrCat("\"incident\":{\"id\":\"", id, "\"")));
  EXPECT_THAT(call.body, HasSubstr("\"labels\":{\"service\":\"api\"}"));
  EXPECT_THAT(Kinds(id), ElementsAre("response_rule:started", "response_action:succeeded",
                                     "note:succeeded", "response_rule:succeeded"));
  const std::vector<TimelineEntry> entries = Entries(id, "response_rule:r1");
  EXPECT_EQ(entries[2].text, "restarted api");
  EXPECT_EQ(entries[1].details.at("execution_id"), execution);
  auto executions = responses_.ListExecutions("acme", "r1");
  ASSERT_THAT(executions, IsOk());
  ASSERT_EQ(executions->size(), 1u);
  EXPECT_EQ((*executions)[0].state, ExecutionState::kSucceeded);
}

TEST_F(ResponseEngineTest, ATriggerProcessedTwiceClaimsOnce) {
  AddRule("r1", [](v1::ResponseRule&) {});
  Fire("fp1", "ApiDown");
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(1));
  responses_.EnqueueTrigger(last_trigger_);  // e.g. a lease that expired mid-way
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(0));
  EXPECT_THAT(engine_->RunOnce(), IsOkAndHolds(1));
  EXPECT_EQ(calls_.size(), 1u);
  EXPECT_EQ(responses_.ListExecutions("acme", "r1")->size(), 1u);
}

TEST_F(ResponseEngineTest, CooldownHoldsBackTheSameIncidentOnly) {
  AddRule("r1", [](v1::ResponseRule& r) { r.mutable_cooldown()->set_seconds(600); });
  const std::string a = Fire("fp1", "ApiDown");
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(1));
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(Fire("fp2", "ApiDown"), a);  // joins the same incident
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(0));
  const std::string b = Fire("fp3", "DbDown");  // another incident
  EXPECT_NE(b, a);
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(1));
  clock_.Advance(absl::Minutes(5));  // 10 min after the first execution
  Fire("fp4", "ApiDown");
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(1));
  EXPECT_THAT(engine_->RunOnce(), IsOkAndHolds(3));
  EXPECT_EQ(calls_.size(), 3u);
  EXPECT_THAT(Kinds(a), Contains("response_rule:skipped"));
  const std::vector<TimelineEntry> entries = Entries(a, "response_rule:r1");
  EXPECT_THAT(entries[1].text, HasSubstr("cooldown of 10m"));
  EXPECT_EQ(entries[1].details.at("decision"), "cooldown");
}

TEST_F(ResponseEngineTest, HourlyCapLimitsExecutionsAcrossIncidents) {
  AddRule("r1", [](v1::ResponseRule& r) {
    r.mutable_cooldown()->set_seconds(0);
    r.set_max_per_hour(2);
  });
  Fire("fp1", "A");
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(1));
  clock_.Advance(absl::Minutes(1));
  Fire("fp2", "B");
  clock_.Advance(absl::Minutes(1));
  const std::string c = Fire("fp3", "C");
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(1));  // B runs, C is over the cap
  EXPECT_THAT(Kinds(c), ElementsAre("response_rule:skipped"));
  EXPECT_EQ(Entries(c, "response_rule:")[0].details.at("decision"), "hourly_cap");
  clock_.Set(kT0 + absl::Hours(1));  // the first execution leaves the window
  Fire("fp4", "C");
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(1));
  Fire("fp5", "D");
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(0));
}

TEST_F(ResponseEngineTest, ConditionAndDisabledRulesSelectWhatRuns) {
  AddRule("r1", [](v1::ResponseRule& r) {
    r.mutable_condition()->add_alert_names("ApiDown");
    auto* m = r.mutable_condition()->add_matchers();
    m->set_name("service");
    m->set_op(common::v1::MATCH_OP_EQUAL);
    m->set_value("api");
  });
  AddRule("r2", [](v1::ResponseRule& r) { r.set_disabled(true); });
  Fire("fp1", "ApiDown", {{"service", "web"}});
  Fire("fp2", "Other", {{"service", "api"}});
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(0));
  Fire("fp3", "ApiDown", {{"service", "api"}});
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(1));
  EXPECT_EQ(responses_.ListExecutions("acme", "r2")->size(), 0u);
}

TEST_F(ResponseEngineTest, RetryableWebhookFailureIsRetriedWithTheSameKey) {
  AddRule("r1", [](v1::ResponseRule&) {});
  const std::string id = Fire("fp1", "ApiDown");
  answers_ = {{absl::UnavailableError("HTTP 503"), "HTTP 503"}};
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(1));
  EXPECT_THAT(engine_->RunOnce(), IsOkAndHolds(1));
  EXPECT_THAT(engine_->RunOnce(), IsOkAndHolds(0));  // waits for the retry delay
  clock_.Advance(absl::Seconds(5));
  EXPECT_THAT(engine_->RunOnce(), IsOkAndHolds(1));
  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_EQ(Header(calls_[0], "Idempotency-Key"), Header(calls_[1], "Idempotency-Key"));
  EXPECT_THAT(Kinds(id), ElementsAre("response_rule:started", "response_action:succeeded",
                                     "response_rule:succeeded"));
  EXPECT_EQ(Entries(id, "response_rule:")[1].details.at("attempts"), "2");
}

TEST_F(ResponseEngineTest, FailureStopsTheRuleUnlessContinueOnError) {
  AddRule("r1",
          [](v1::ResponseRule& r) { r.add_actions()->mutable_add_note()->set_text("after"); });
  const std::string id = Fire("fp1", "ApiDown");
  answers_ = {{absl::FailedPreconditionError("HTTP 404"), "HTTP 404"}};
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(1));
  EXPECT_THAT(engine_->RunOnce(), IsOkAndHolds(1));
  EXPECT_EQ(calls_.size(), 1u);
  EXPECT_THAT(Kinds(id), ElementsAre("response_rule:started", "response_action:failed",
                                     "response_rule:failed"));
  EXPECT_THAT(Entries(id, "response_rule:")[2].text, HasSubstr("(1 action not run)"));
  EXPECT_EQ((*responses_.ListExecutions("acme", "r1"))[0].state, ExecutionState::kFailed);
}

TEST_F(ResponseEngineTest, OutOfAttemptsTheFailureIsRecorded) {
  AddRule("r1", [](v1::ResponseRule&) {});
  const std::string id = Fire("fp1", "ApiDown");
  const SendResult down{absl::UnavailableError("connection refused"), "connection refused"};
  answers_ = {down, down, down};
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(1));
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(engine_->RunOnce(), IsOkAndHolds(1));
    clock_.Advance(absl::Seconds(5));
  }
  EXPECT_EQ(calls_.size(), 3u);
  EXPECT_THAT(Kinds(id), ElementsAre("response_rule:started", "response_action:failed",
                                     "response_rule:failed"));
}

TEST_F(ResponseEngineTest, CapacityDownRecordsAFailedResultAndContinues) {
  AddRule("r1", [](v1::ResponseRule& r) {
    r.clear_actions();
    auto* a = r.add_actions();
    a->mutable_capacity_recommendation();
    a->set_continue_on_error(true);
    r.add_actions()->mutable_add_note()->set_text("checked {{alert.name}}");
  });
  const std::string id = Fire("fp1", "ApiDown");
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(1));
  EXPECT_THAT(engine_->RunOnce(), IsOkAndHolds(2));
  EXPECT_THAT(capacity_.asked, ElementsAre("acme//ApiDown"));
  EXPECT_THAT(Kinds(id), ElementsAre("response_rule:started", "response_action:failed",
                                     "note:succeeded", "response_rule:failed"));
  EXPECT_THAT(Entries(id, "response_rule:")[1].text, HasSubstr("capacity is down"));
}

TEST_F(ResponseEngineTest, CapacityRecommendationIsAttached) {
  capacity_.answer = CapacityAdvice{"api: RECOMMENDATION_KIND_SCALE_REPLICAS 2 -> 4 replicas",
                                    {{"recommendations", "1"}}};
  AddRule("r1", [](v1::ResponseRule& r) {
    r.clear_actions();
    r.add_actions()->mutable_capacity_recommendation()->set_resource_id("res-1");
  });
  const std::string id = Fire("fp1", "ApiDown");
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(1));
  EXPECT_THAT(engine_->RunOnce(), IsOkAndHolds(1));
  EXPECT_THAT(capacity_.asked, ElementsAre("acme/res-1/ApiDown"));
  const std::vector<TimelineEntry> entries = Entries(id, "response_rule:");
  EXPECT_THAT(entries[1].text, HasSubstr("2 -> 4 replicas"));
  EXPECT_EQ(entries[1].details.at("recommendations"), "1");
  EXPECT_EQ(entries[1].details.at("resource_id"), "res-1");
}

TEST_F(ResponseEngineTest, EscalateMakesTheNextTierDueNow) {
  for (const char* person : {"oncall", "team-lead"}) {
    v1::NotificationChannel c;
    c.set_id(absl::StrCat("c-", person));
    c.set_name(c.id());
    c.set_tenant("acme");
    c.set_person(person);
    c.mutable_webhook()->set_url("http://127.0.0.1:9/hook");
    ConfigRecord r;
    r.tenant = "acme";
    r.kind = std::string(config_kind::kChannel);
    r.id = c.id();
    r.name = c.name();
    r.person = person;
    r.body = c.SerializeAsString();
    ASSERT_THAT(incidents_.CreateConfig(r), IsOk());
  }
  EscalationEngine escalation(incidents_, clock_, absl::Seconds(5), absl::Seconds(1), [] {});
  AddRule("r1", [](v1::ResponseRule& r) {
    r.clear_actions();
    r.add_actions()->mutable_escalate();
  });
  Fire("fp1", "ApiDown");
  clock_.Advance(absl::Seconds(5));
  EXPECT_THAT(escalation.RunOnce(), IsOkAndHolds(1));  // tier 1: on-call
  incidents_.TakePages();
  EXPECT_THAT(escalation.RunOnce(), IsOkAndHolds(0));  // the lead is 15 min away
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(1));
  EXPECT_THAT(engine_->RunOnce(), IsOkAndHolds(1));
  EXPECT_THAT(escalation.RunOnce(), IsOkAndHolds(1));  // tier 2 at once
  const std::vector<PageRequest> pages = incidents_.TakePages();
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_EQ(pages[0].event.person, "team-lead");
}

TEST_F(ResponseEngineTest, TwoEnginesRunEachExecutionOnce) {
  AddRule("r1", [](v1::ResponseRule& r) { r.mutable_cooldown()->set_seconds(0); });
  for (int i = 0; i < 20; ++i) Fire(absl::StrCat("fp", i), absl::StrCat("Alert", i % 5));
  std::unique_ptr<ResponseEngine> other = MakeEngine();
  std::thread t([&] {
    for (int i = 0; i < 5; ++i) {
      EXPECT_THAT(other->EvaluateOnce(), IsOk());
      EXPECT_THAT(other->RunOnce(), IsOk());
    }
  });
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(engine_->EvaluateOnce(), IsOk());
    EXPECT_THAT(engine_->RunOnce(), IsOk());
  }
  t.join();
  EXPECT_EQ(calls_.size(), 20u);
  std::set<std::string> keys;
  for (const Call& call : calls_) keys.insert(Header(call, "Idempotency-Key"));
  EXPECT_EQ(keys.size(), 20u);
}

TEST_F(ResponseEngineTest, ALostLeaseCannotAdvance) {
  AddRule("r1", [](v1::ResponseRule&) {});
  Fire("fp1", "ApiDown");
  EXPECT_THAT(engine_->EvaluateOnce(), IsOkAndHolds(1));
  auto first = responses_.LeaseExecution(clock_.Now(), absl::Seconds(90));
  ASSERT_THAT(first, IsOk());
  ASSERT_TRUE(first->has_value());
  auto second = responses_.LeaseExecution(clock_.Now(), absl::Seconds(90));
  ASSERT_THAT(second, IsOk());
  EXPECT_FALSE(second->has_value());
  clock_.Advance(absl::Seconds(91));  // the first runner died
  EXPECT_THAT(engine_->RunOnce(), IsOkAndHolds(1));
  ActionOutcome outcome;
  outcome.index = 0;
  outcome.stop = true;
  EXPECT_THAT(responses_.AdvanceExecution(**first, outcome, std::nullopt, clock_.Now()),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(calls_.size(), 1u);
}

// A notify action sends through the rule's channels with the real Notifier:
// a retryable failure is retried with the same idempotency key, the delivery
// is recorded once (a "notified" entry), and a channel whose severity filter
// does not accept the incident is skipped and named.
TEST_F(ResponseEngineTest, NotifyActionSendsThroughItsChannelsOnceWithOneKey) {
  common::HttpServer receiver("127.0.0.1:0");
  std::mutex mu;
  std::vector<common::HttpRequest> got;
  int status = 503;
  receiver.Handle("/hook", [&](const common::HttpRequest& request) {
    std::lock_guard<std::mutex> lock(mu);
    got.push_back(request);
    common::HttpResponse response;
    response.status = status;
    response.body = "ok";
    return response;
  });
  ASSERT_THAT(receiver.Start(), IsOk());
  const std::string url = absl::StrCat("http://127.0.0.1:", receiver.port(), "/hook");
  for (const char* id : {"c-ops", "c-p0"}) {
    v1::NotificationChannel c;
    c.set_id(id);
    c.set_name(id);
    c.set_tenant("acme");
    c.set_person("oncall");
    c.mutable_webhook()->set_url(url);
    if (absl::string_view(id) == "c-p0") c.set_min_severity(common::v1::SEVERITY_P0);
    ConfigRecord r;
    r.tenant = "acme";
    r.kind = std::string(config_kind::kChannel);
    r.id = c.id();
    r.name = c.name();
    r.person = c.person();
    r.body = c.SerializeAsString();
    ASSERT_THAT(incidents_.CreateConfig(r), IsOk());
  }
  Notifier notifier(incidents_, clock_);
  ResponseEngineOptions options;
  options.retry_delay = absl::Seconds(5);
  options.lease = absl::Seconds(90);
  ResponseEngine engine(
      incidents_, responses_, clock_, &notifier, &capacity_,
      [](const std::string&, const std::vector<std::string>&, const std::string&, absl::Duration) {
        return SendResult{absl::InternalError("no webhook action here"), ""};
      },
      options);
  AddRule("r1", [](v1::ResponseRule& r) {
    r.clear_actions();
    v1::NotifyAction* notify = r.add_actions()->mutable_notify();
    notify->add_channel_ids("c-ops");
    notify->add_channel_ids("c-p0");
  });
  const std::string id = Fire("fp1", "ApiDown");  // P1
  EXPECT_THAT(engine.EvaluateOnce(), IsOkAndHolds(1));
  EXPECT_THAT(engine.RunOnce(), IsOkAndHolds(1));  // 503: retried later
  EXPECT_THAT(engine.RunOnce(), IsOkAndHolds(0));
  {
    std::lock_guard<std::mutex> lock(mu);
    status = 200;
  }
  clock_.Advance(absl::Seconds(5));
  EXPECT_THAT(engine.RunOnce(), IsOkAndHolds(1));
  clock_.Advance(absl::Minutes(5));
  EXPECT_THAT(engine.RunOnce(), IsOkAndHolds(0));
  receiver.Stop();

  const std::string key =
      absl::StrCat(ActionIdempotencyKey(ExecutionId("acme", "r1", "entry:1"), 0), "/c-ops");
  ASSERT_EQ(got.size(), 2u);
  for (const common::HttpRequest& request : got) {
    EXPECT_EQ(request.headers.at("idempotency-key"), key);
    auto event = ParseNotificationEvent(request.body);
    ASSERT_THAT(event, IsOk());
    EXPECT_EQ(event->incident_id, id);
    EXPECT_EQ(event->event, "response");
    EXPECT_EQ(event->person, "oncall");
  }
  EXPECT_THAT(incidents_.WasDelivered("acme", key), IsOkAndHolds(true));
  ASSERT_THAT(Kinds(id), ElementsAre("response_rule:started", "notified:",
                                     "response_action:succeeded", "response_rule:succeeded"));
  const std::vector<TimelineEntry> entries = Entries(id, "response_rule:r1");
  EXPECT_EQ(entries[1].details.at("idempotency_key"), key);
  EXPECT_THAT(entries[2].text, HasSubstr("notified 1 channel; not accepted: c-p0"));
  EXPECT_EQ(entries[2].details.at("attempts"), "2");
}

}  // namespace
}  // namespace agentwatch::incident
