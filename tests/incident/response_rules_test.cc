// Response rules in the core: validation (exact fields), condition matching,
// the per-incident cooldown and the rolling hourly cap (FakeClock), note
// templates, ids and the webhook body.
#include "incident/core/response_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/testing/status_matchers.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;

ResponseRule ValidRule() {
  ResponseRule rule;
  rule.id = "r1";
  rule.name = "restart api";
  rule.tenant = "acme";
  ResponseAction webhook;
  webhook.kind = ResponseActionKind::kWebhook;
  webhook.url = "http://127.0.0.1:8080/restart";
  rule.actions.push_back(webhook);
  return rule;
}

ResponseSubject Alert(const std::string& name, Severity severity, Labels labels = {}) {
  ResponseSubject alert;
  alert.fingerprint = "fp-" + name;
  alert.name = name;
  alert.severity = severity;
  alert.labels = std::move(labels);
  return alert;
}

TEST(ValidateResponseRuleTest, AcceptsAValidRule) {
  EXPECT_THAT(ValidateResponseRule(ValidRule(), "rule"), IsOk());
}

TEST(ValidateResponseRuleTest, NamesTheOffendingField) {
  struct Case {
    std::function<void(ResponseRule&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](ResponseRule& r) { r.name.clear(); }, "rule.name: required"},
      {[](ResponseRule& r) { r.tenant.clear(); }, "rule.tenant: required"},
      {[](ResponseRule& r) { r.actions.clear(); }, "rule.actions: at least one action"},
      {[](ResponseRule& r) { r.max_per_hour = -1; }, "rule.max_per_hour: must not be negative"},
      {[](ResponseRule& r) { r.max_per_hour = 10001; }, "rule.max_per_hour: at most 10000"},
      {[](ResponseRule& r) { r.cooldown = absl::Seconds(-1); }, "rule.cooldown:"},
      {[](ResponseRule& r) { r.cooldown = absl::Hours(24 * 8); }, "rule.cooldown:"},
      {[](ResponseRule& r) { r.actions[0].url = "ftp://x"; },
       "rule.actions[0].webhook.url: must be an http:// or https:// URL"},
      {[](ResponseRule& r) { r.actions[0].url.clear(); }, "rule.actions[0].webhook.url: required"},
      {[](ResponseRule& r) { r.actions[0].hmac_secret_ref = "plain"; },
       "rule.actions[0].webhook.hmac_secret_ref:"},
      {[](ResponseRule& r) { r.actions[0].timeout = absl::ZeroDuration(); },
       "rule.actions[0].webhook.timeout: must be in (0, 60s]"},
      {[](ResponseRule& r) { r.actions[0].timeout = absl::Seconds(61); },
       "rule.actions[0].webhook.timeout:"},
      {[](ResponseRule& r) { r.actions[0].headers["Bad Name"] = "x"; },
       "rule.actions[0].webhook.headers[Bad Name]: not a valid header name"},
      {[](ResponseRule& r) { r.actions[0].kind = ResponseActionKind::kUnspecified; },
       "rule.actions[0]: exactly one action is required"},
      {[](ResponseRule& r) {
         ResponseAction notify;
         notify.kind = ResponseActionKind::kNotify;
         r.actions.push_back(notify);
       },
       "rule.actions[1].notify.channel_ids: at least one channel id"},
      {[](ResponseRule& r) {
         ResponseAction note;
         note.kind = ResponseActionKind::kAddNote;
         r.actions.push_back(note);
       },
       "rule.actions[1].add_note.text: required"},
      {[](ResponseRule& r) { r.condition.severities = {static_cast<Severity>(9)}; },
       "rule.condition.severities[0]: unknown severity 9"},
      {[](ResponseRule& r) { r.condition.alert_names = {""}; },
       "rule.condition.alert_names[0]: required"},
      {[](ResponseRule& r) {
         r.condition.matchers = {{"service", MatchOp::kRegex, "("}};
       },
       "rule.condition.matchers[0].value: invalid regular expression"},
      {[](ResponseRule& r) {
         r.condition.matchers = {{"", MatchOp::kEqual, "x"}};
       },
       "rule.condition.matchers[0].name: required"},
      {[](ResponseRule& r) {
         r.condition.matchers = {{"a", MatchOp::kUnspecified, "x"}};
       },
       "rule.condition.matchers[0].op: required"},
  };
  for (const Case& c : cases) {
    ResponseRule rule = ValidRule();
    c.edit(rule);
    EXPECT_THAT(ValidateResponseRule(rule, "rule"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.message;
  }
}

TEST(ConditionMatchesTest, EmptyConditionMatchesAnything) {
  EXPECT_TRUE(ConditionMatches({}, Alert("HighLatency", Severity::kP3)));
}

TEST(ConditionMatchesTest, NamesSeveritiesAndMatchersAllMustMatch) {
  ResponseCondition c;
  c.alert_names = {"HighLatency", "ServiceDown"};
  c.severities = {Severity::kP0, Severity::kP1};
  c.matchers = {{"service", MatchOp::kRegex, "api|web"}, {"env", MatchOp::kNotEqual, "dev"}};
  const Labels labels = {{"service", "api"}, {"env", "prod"}};
  EXPECT_TRUE(ConditionMatches(c, Alert("HighLatency", Severity::kP1, labels)));
  EXPECT_FALSE(ConditionMatches(c, Alert("DiskFull", Severity::kP1, labels)));
  EXPECT_FALSE(ConditionMatches(c, Alert("HighLatency", Severity::kP2, labels)));
  EXPECT_FALSE(ConditionMatches(
      c, Alert("HighLatency", Severity::kP1, {{"service", "apix"}, {"env", "prod"}})));
  EXPECT_FALSE(ConditionMatches(
      c, Alert("HighLatency", Severity::kP1, {{"service", "web"}, {"env", "dev"}})));
}

TEST(ConditionMatchesTest, MatchersSeeTheAlertName) {
  ResponseCondition c;
  c.matchers = {{"alertname", MatchOp::kRegex, "High.*"}};
  EXPECT_TRUE(ConditionMatches(c, Alert("HighLatency", Severity::kP2)));
  EXPECT_FALSE(ConditionMatches(c, Alert("LowDisk", Severity::kP2)));
}

TEST(DecideExecutionTest, CooldownHoldsBackTheSameIncidentUntilItEnds) {
  common::FakeClock clock;
  ResponseRule rule = ValidRule();
  rule.cooldown = absl::Minutes(10);
  ExecutionHistory history;
  EXPECT_EQ(DecideExecution(rule, history, clock.Now()), ExecutionDecision::kRun);
  history.last_for_incident = clock.Now();
  history.recent.push_back(clock.Now());
  clock.Advance(absl::Minutes(10) - absl::Microseconds(1));
  EXPECT_EQ(DecideExecution(rule, history, clock.Now()), ExecutionDecision::kCooldown);
  EXPECT_EQ(NextAllowed(rule, history, clock.Now()),
            *history.last_for_incident + absl::Minutes(10));
  clock.Advance(absl::Microseconds(1));
  EXPECT_EQ(DecideExecution(rule, history, clock.Now()), ExecutionDecision::kRun);
}

TEST(DecideExecutionTest, ZeroCooldownNeverHoldsBack) {
  common::FakeClock clock;
  ResponseRule rule = ValidRule();
  rule.cooldown = absl::ZeroDuration();
  ExecutionHistory history;
  history.last_for_incident = clock.Now();
  EXPECT_EQ(DecideExecution(rule, history, clock.Now()), ExecutionDecision::kRun);
}

TEST(DecideExecutionTest, HourlyCapCountsARollingHourAcrossIncidents) {
  common::FakeClock clock;
  ResponseRule rule = ValidRule();
  rule.cooldown = absl::ZeroDuration();
  rule.max_per_hour = 3;
  ExecutionHistory history;
  const absl::Time start = clock.Now();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(DecideExecution(rule, history, clock.Now()), ExecutionDecision::kRun) << i;
    history.recent.push_back(clock.Now());
    clock.Advance(absl::Minutes(10));
  }
  // 20 minutes after the third, 50 after the first: the cap holds.
  clock.Advance(absl::Minutes(20));
  EXPECT_EQ(DecideExecution(rule, history, clock.Now()), ExecutionDecision::kHourlyCap);
  EXPECT_EQ(NextAllowed(rule, history, clock.Now()), start + absl::Hours(1));
  // The first run leaves the window exactly one hour after it started.
  clock.Set(start + absl::Hours(1) - absl::Microseconds(1));
  EXPECT_EQ(DecideExecution(rule, history, clock.Now()), ExecutionDecision::kHourlyCap);
  clock.Set(start + absl::Hours(1));
  EXPECT_EQ(DecideExecution(rule, history, clock.Now()), ExecutionDecision::kRun);
}

TEST(DecideExecutionTest, ZeroMaxPerHourMeansNoLimit) {
  common::FakeClock clock;
  ResponseRule rule = ValidRule();
  rule.cooldown = absl::ZeroDuration();
  ExecutionHistory history;
  for (int i = 0; i < 500; ++i) history.recent.push_back(clock.Now());
  EXPECT_EQ(DecideExecution(rule, history, clock.Now()), ExecutionDecision::kRun);
}

TEST(DecideExecutionTest, CooldownIsCheckedBeforeTheCapAndNextAllowedTakesTheLater) {
  common::FakeClock clock;
  ResponseRule rule = ValidRule();
  rule.cooldown = absl::Minutes(90);
  rule.max_per_hour = 1;
  ExecutionHistory history;
  history.last_for_incident = clock.Now();
  history.recent.push_back(clock.Now());
  clock.Advance(absl::Minutes(5));
  EXPECT_EQ(DecideExecution(rule, history, clock.Now()), ExecutionDecision::kCooldown);
  EXPECT_EQ(NextAllowed(rule, history, clock.Now()),
            *history.last_for_incident + absl::Minutes(90));
  // Another incident (no cooldown of its own) is held back by the cap only.
  ExecutionHistory other;
  other.recent = history.recent;
  EXPECT_EQ(DecideExecution(rule, other, clock.Now()), ExecutionDecision::kHourlyCap);
}

TEST(RenderNoteTemplateTest, SubstitutesKnownPlaceholders) {
  const ResponseSubject alert = Alert("HighLatency", Severity::kP1, {{"service", "api"}});
  EXPECT_EQ(RenderNoteTemplate("{{alert.name}} on {{alert.labels.service}} ({{alert.severity}}) "
                               "in {{incident.id}}; {{alert.labels.missing}}|{{other}}",
                               alert, "inc-1"),
            "HighLatency on api (P1) in inc-1; |{{other}}");
  EXPECT_EQ(RenderNoteTemplate("no placeholders {{ unclosed", alert, "i"),
            "no placeholders {{ unclosed");
}

TEST(ExecutionIdTest, StablePerRuleAndTrigger) {
  EXPECT_EQ(ExecutionId("acme", "r1", "entry:5"), ExecutionId("acme", "r1", "entry:5"));
  EXPECT_NE(ExecutionId("acme", "r1", "entry:5"), ExecutionId("acme", "r2", "entry:5"));
  EXPECT_NE(ExecutionId("acme", "r1", "entry:5"), ExecutionId("acme", "r1", "entry:6"));
  EXPECT_EQ(ActionIdempotencyKey("e1", 2), "response/e1/2");
}

TEST(ResponseWebhookBodyTest, RendersTheDocumentedJson) {
  ResponseWebhookEvent e;
  e.idempotency_key = "response/x/0";
  e.tenant = "acme";
  e.rule_id = "r1";
  e.rule_name = "restart \"api\"";
  e.execution_id = "x";
  e.incident_id = "inc-1";
  e.incident_title = "Latency";
  e.incident_severity = Severity::kP1;
  e.alert = Alert("HighLatency", Severity::kP1, {{"service", "api"}});
  e.time = absl::FromUnixSeconds(1'700'000'000);
  EXPECT_EQ(ResponseWebhookBody(e),
            "{\"event\":\"response_action\",\"idempotency_key\":\"response/x/0\",\"tenant\":"
            "\"acme\",\"rule\":{\"id\":\"r1\",\"name\":\"restart \\\"api\\\"\"},\"execution_id\":"
            "\"x\",\"action_index\":0,\"incident\":{\"id\":\"inc-1\",\"title\":\"Latency\","
            "\"severity\":\"P1\",\"status\":\"TRIGGERED\"},\"alert\":{\"fingerprint\":"
            "\"fp-HighLatency\",\"name\":\"HighLatency\",\"severity\":\"P1\",\"labels\":{"
            "\"service\":\"api\"}},\"time\":\"2023-11-14T22:13:20.000000Z\"}");
}

}  // namespace
}  // namespace agentwatch::incident
