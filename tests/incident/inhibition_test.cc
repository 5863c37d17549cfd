// Inhibition rules: validation, the matching rule (source, target, equal
// labels) and intake muting targets while a source fires.
#include "incident/core/inhibition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "incident/core/intake.h"
#include "incident/core/silence.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

InhibitionRule ServiceDownMutesLatency() {
  InhibitionRule rule;
  rule.id = "r1";
  rule.name = "down mutes latency";
  rule.tenant = "acme";
  rule.source_matchers = {{"alertname", MatchOp::kEqual, "ServiceDown"}};
  rule.target_matchers = {{"alertname", MatchOp::kRegex, "Latency.*"}};
  rule.equal = {"service"};
  return rule;
}

TEST(InhibitionRuleTest, Validation) {
  EXPECT_THAT(ValidateInhibitionRule(ServiceDownMutesLatency(), "rule"), IsOk());
  InhibitionRule r = ServiceDownMutesLatency();
  r.source_matchers.clear();
  EXPECT_THAT(ValidateInhibitionRule(r, "rule"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rule.source_matchers")));
  r = ServiceDownMutesLatency();
  r.target_matchers[0].value = "(";
  EXPECT_THAT(
      ValidateInhibitionRule(r, "rule"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rule.target_matchers[0].value")));
  r = ServiceDownMutesLatency();
  r.target_matchers[0].op = MatchOp::kUnspecified;
  EXPECT_THAT(ValidateInhibitionRule(r, "rule"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                          HasSubstr("rule.target_matchers[0].op")));
  r = ServiceDownMutesLatency();
  r.equal = {"bad-label"};
  EXPECT_THAT(ValidateInhibitionRule(r, "rule"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rule.equal[0]")));
  r = ServiceDownMutesLatency();
  r.tenant.clear();
  EXPECT_THAT(ValidateInhibitionRule(r, "rule"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rule.tenant")));
}

TEST(InhibitionRuleTest, EqualLabelsMustAgree) {
  const InhibitionRule rule = ServiceDownMutesLatency();
  const Labels down = {{"alertname", "ServiceDown"}, {"service", "api"}};
  EXPECT_TRUE(Inhibits(rule, down, {{"alertname", "LatencyHigh"}, {"service", "api"}}));
  EXPECT_FALSE(Inhibits(rule, down, {{"alertname", "LatencyHigh"}, {"service", "web"}}));
  EXPECT_FALSE(Inhibits(rule, down, {{"alertname", "LatencyHigh"}}));
  EXPECT_FALSE(Inhibits(rule, down, {{"alertname", "ErrorRate"}, {"service", "api"}}));
  EXPECT_FALSE(Inhibits(rule, {{"alertname", "Other"}, {"service", "api"}},
                        {{"alertname", "LatencyHigh"}, {"service", "api"}}));
  // Absent on both sides counts as equal.
  EXPECT_TRUE(Inhibits(rule, {{"alertname", "ServiceDown"}}, {{"alertname", "LatencyHigh"}}));
}

class InhibitionIntakeTest : public ::testing::Test {
 protected:
  IntakePlan Plan(const std::vector<AlertReport>& reports, absl::Time now) {
    std::vector<IncomingAlert> alerts;
    for (const AlertReport& r : reports) alerts.push_back(PrepareAlert(r, grouping_, now));
    return PlanIntake(state_, alerts, now, ids_);
  }

  static AlertReport Alert(const std::string& fingerprint, const std::string& name,
                           const std::string& service) {
    AlertReport r = testing::Firing("acme", fingerprint, name, kT0);
    r.labels = {{"service", service}};
    return r;
  }

  GroupingConfig grouping_ = *ParseGroupBy("group_by", "alertname,service");
  testing::SequentialIds ids_;
  IntakeState state_;
};

TEST_F(InhibitionIntakeTest, SourceInTheSameBatchMutesTargets) {
  state_.inhibition_rules = {ServiceDownMutesLatency()};
  const IntakePlan plan =
      Plan({Alert("down", "ServiceDown", "api"), Alert("lat-api", "LatencyHigh", "api"),
            Alert("lat-web", "LatencyHigh", "web")},
           kT0);
  EXPECT_EQ(plan.summary.inhibited, 1);
  EXPECT_EQ(plan.summary.accepted, 3);
  EXPECT_EQ(plan.summary.incidents_opened, 2);
  ASSERT_EQ(plan.summary.incident_ids.size(), 3u);
  EXPECT_FALSE(plan.summary.incident_ids[0].empty());
  EXPECT_TRUE(plan.summary.incident_ids[1].empty());
  EXPECT_FALSE(plan.summary.incident_ids[2].empty());
  ASSERT_EQ(plan.reports.size(), 3u);  // the muted report is recorded
  EXPECT_EQ(plan.reports[1].incident_id, "");
}

TEST_F(InhibitionIntakeTest, FiringSourceFromStateMutesAndResolvedSourceDoesNot) {
  state_.inhibition_rules = {ServiceDownMutesLatency()};
  AlertState source;
  source.tenant = "acme";
  source.incident_id = "inc-x";
  source.fingerprint = "down";
  source.name = "ServiceDown";
  source.labels = {{"alertname", "ServiceDown"}, {"service", "api"}};
  source.status = AlertStatus::kFiring;
  state_.firing_alerts = {source};
  IntakePlan plan = Plan({Alert("lat-api", "LatencyHigh", "api")}, kT0);
  EXPECT_EQ(plan.summary.inhibited, 1);
  // Resolving the source earlier in the batch lifts the inhibition.
  AlertReport resolved = testing::Resolved(Alert("down", "ServiceDown", "api"), kT0);
  plan = Plan({resolved, Alert("lat-api2", "LatencyHigh", "api")}, kT0);
  EXPECT_EQ(plan.summary.inhibited, 0);
  // Another tenant's source never inhibits.
  state_.firing_alerts[0].tenant = "globex";
  plan = Plan({Alert("lat-api3", "LatencyHigh", "api")}, kT0);
  EXPECT_EQ(plan.summary.inhibited, 0);
}

TEST_F(InhibitionIntakeTest, AnAlertNeverInhibitsItself) {
  InhibitionRule rule = ServiceDownMutesLatency();
  rule.source_matchers = {{"service", MatchOp::kEqual, "api"}};
  rule.target_matchers = {{"service", MatchOp::kEqual, "api"}};
  state_.inhibition_rules = {rule};
  IntakePlan plan = Plan({Alert("a", "LatencyHigh", "api")}, kT0);
  EXPECT_EQ(plan.summary.inhibited, 0);
  plan = Plan({Alert("a", "LatencyHigh", "api"), Alert("b", "ErrorRate", "api")}, kT0);
  EXPECT_EQ(plan.summary.inhibited, 1);
}

}  // namespace
}  // namespace agentwatch::incident
