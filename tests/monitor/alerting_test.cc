// The workflow error-rate alert: the pure decision at and around its
// thresholds, and the rule's transitions over time with a FakeClock.
#include "monitor/core/alerting.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "common/testing/status_matchers.h"
#include "monitor/core/names.h"
#include "monitor/core/rules.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Pair;

ErrorRateAlertConfig Config() {
  ErrorRateAlertConfig config;
  config.threshold = 0.05;
  config.window = absl::Minutes(5);
  config.min_runs = 10;
  return config;
}

TEST(DecideErrorRateTest, FiresAtTheThresholdNotBelow) {
  const ErrorRateAlertConfig config = Config();
  // 5 of 100 is exactly the threshold: counts as past it.
  ErrorRateDecision at = DecideErrorRate(config, 100, 5, false);
  EXPECT_EQ(at.action, AlertAction::kFire);
  EXPECT_TRUE(at.firing);
  EXPECT_DOUBLE_EQ(at.rate, 0.05);
  EXPECT_EQ(at.severity, Severity::kP2);
  // 49 of 1000 is just below.
  ErrorRateDecision below = DecideErrorRate(config, 1000, 49, false);
  EXPECT_EQ(below.action, AlertAction::kNone);
  EXPECT_FALSE(below.firing);
  // 51 of 1000 is just above.
  EXPECT_EQ(DecideErrorRate(config, 1000, 51, false).action, AlertAction::kFire);
}

TEST(DecideErrorRateTest, SeverityP1FromTwiceTheThreshold) {
  const ErrorRateAlertConfig config = Config();
  EXPECT_EQ(DecideErrorRate(config, 100, 9, false).severity, Severity::kP2);
  EXPECT_EQ(DecideErrorRate(config, 100, 10, false).severity, Severity::kP1);
  EXPECT_EQ(DecideErrorRate(config, 1000, 99, false).severity, Severity::kP2);
  EXPECT_EQ(DecideErrorRate(config, 100, 100, false).severity, Severity::kP1);
}

TEST(DecideErrorRateTest, HysteresisResolvesOnlyBelowEightyPercentOfTheThreshold) {
  const ErrorRateAlertConfig config = Config();
  // Firing; 0.8 x 0.05 = 0.04.
  EXPECT_EQ(DecideErrorRate(config, 100, 5, true).action, AlertAction::kNone);
  EXPECT_TRUE(DecideErrorRate(config, 100, 5, true).firing);
  // Below the firing threshold but not below the resolve level: stays.
  EXPECT_EQ(DecideErrorRate(config, 1000, 45, true).action, AlertAction::kNone);
  // Exactly 0.04: not below, stays.
  const ErrorRateDecision at_resolve = DecideErrorRate(config, 100, 4, true);
  EXPECT_EQ(at_resolve.action, AlertAction::kNone);
  EXPECT_TRUE(at_resolve.firing);
  // Just below 0.04: resolves.
  const ErrorRateDecision below = DecideErrorRate(config, 1000, 39, true);
  EXPECT_EQ(below.action, AlertAction::kResolve);
  EXPECT_FALSE(below.firing);
  EXPECT_EQ(DecideErrorRate(config, 100, 0, true).action, AlertAction::kResolve);
}

TEST(DecideErrorRateTest, ResolveLevelIsExactForOtherThresholds) {
  for (const auto& [threshold, runs, at_level] : std::vector<std::tuple<double, int64_t, int64_t>>{
           {0.1, 100, 8}, {0.01, 1000, 8}, {0.2, 100, 16}, {0.25, 100, 20}, {0.5, 10, 4}}) {
    ErrorRateAlertConfig config = Config();
    config.threshold = threshold;
    EXPECT_EQ(DecideErrorRate(config, runs, at_level, true).action, AlertAction::kNone)
        << threshold;
    EXPECT_EQ(DecideErrorRate(config, runs * 10, at_level * 10 - 1, true).action,
              AlertAction::kResolve)
        << threshold;
  }
}

TEST(DecideErrorRateTest, MinRuns) {
  const ErrorRateAlertConfig config = Config();
  // 9 runs, all failed: never fires.
  EXPECT_EQ(DecideErrorRate(config, 9, 9, false).action, AlertAction::kNone);
  // 10 runs reach min_runs.
  EXPECT_EQ(DecideErrorRate(config, 10, 1, false).action, AlertAction::kFire);
  // A firing alert whose window thins out below min_runs resolves, whatever
  // its rate.
  EXPECT_EQ(DecideErrorRate(config, 9, 9, true).action, AlertAction::kResolve);
  EXPECT_EQ(DecideErrorRate(config, 0, 0, true).action, AlertAction::kResolve);
  EXPECT_EQ(DecideErrorRate(config, 0, 0, false).action, AlertAction::kNone);
  EXPECT_EQ(DecideErrorRate(config, 0, 0, false).rate, 0);
}

TEST(ValidateErrorRateAlertConfigTest, NamesTheFlag) {
  EXPECT_THAT(ValidateErrorRateAlertConfig(Config()), IsOk());
  ErrorRateAlertConfig config = Config();
  config.threshold = 0;
  EXPECT_THAT(
      ValidateErrorRateAlertConfig(config),
      StatusIs(absl::StatusCode::kInvalidArgument, ::testing::StartsWith("error_rate_threshold:")));
  config = Config();
  config.threshold = 1.01;
  EXPECT_THAT(
      ValidateErrorRateAlertConfig(config),
      StatusIs(absl::StatusCode::kInvalidArgument, ::testing::StartsWith("error_rate_threshold:")));
  config = Config();
  config.window = absl::Seconds(90);
  EXPECT_THAT(
      ValidateErrorRateAlertConfig(config),
      StatusIs(absl::StatusCode::kInvalidArgument, ::testing::StartsWith("error_rate_window:")));
  config = Config();
  config.min_runs = 0;
  EXPECT_THAT(
      ValidateErrorRateAlertConfig(config),
      StatusIs(absl::StatusCode::kInvalidArgument, ::testing::StartsWith("error_rate_min_runs:")));
}

TEST(WindowBucketsTest, CoversEveryMinuteOverlappingTheWindow) {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'040) + absl::Seconds(30);
  const BucketRange range = WindowBuckets(now, absl::Minutes(5));
  EXPECT_EQ(range.from, absl::FromUnixSeconds(1'700'000'040) - absl::Minutes(5));
  EXPECT_EQ(range.to, absl::FromUnixSeconds(1'700'000'040) + absl::Minutes(1));
  const absl::Time on_minute = absl::FromUnixSeconds(1'700'000'040);
  EXPECT_EQ(WindowBuckets(on_minute, absl::Minutes(5)).from, on_minute - absl::Minutes(5));
  EXPECT_EQ(WindowBuckets(on_minute, absl::Minutes(5)).to, on_minute + absl::Minutes(1));
}

TEST(FingerprintTest, StablePerTenantAndWorkflow) {
  const std::string fp = WorkflowErrorRateFingerprint("acme", "triage");
  EXPECT_THAT(fp, ::testing::MatchesRegex("[0-9a-f]{32}"));
  EXPECT_EQ(fp, WorkflowErrorRateFingerprint("acme", "triage"));
  EXPECT_NE(fp, WorkflowErrorRateFingerprint("acme", "triage2"));
  EXPECT_NE(fp, WorkflowErrorRateFingerprint("acm", "etriage"));
}

// A RuleContext whose rollups are a fixed table of (bucket, status) -> runs.
class FakeRuleContext final : public RuleContext {
 public:
  void AddRuns(absl::Time bucket, const std::string& status, int64_t runs) {
    runs_.push_back({bucket, status, runs});
  }

  absl::StatusOr<std::map<std::string, RollupStats>> SumRollups(const RollupSelector& selector,
                                                                const BucketRange& range) override {
    last_selector = selector;
    std::map<std::string, RollupStats> out;
    for (const Runs& r : runs_) {
      if (r.bucket < range.from || r.bucket >= range.to) continue;
      out[r.status].count += r.count;
      out[r.status].sum += static_cast<double>(r.count);
    }
    return out;
  }
  absl::StatusOr<AlertState> LockAlertState(const AlertState& initial) override {
    ++locks;
    return states.try_emplace(initial.fingerprint, initial).first->second;
  }
  absl::StatusOr<std::vector<AlertState>> LockFiringAlerts(const std::string& rule,
                                                           int limit) override {
    std::vector<AlertState> out;
    for (const auto& [fp, state] : states) {
      if (state.rule == rule && state.firing && static_cast<int>(out.size()) < limit) {
        out.push_back(state);
      }
    }
    return out;
  }
  absl::Status SaveAlertState(const AlertState& state) override {
    states[state.fingerprint] = state;
    return absl::OkStatus();
  }
  absl::Status EmitAlert(const AlertNotice& notice) override {
    notices.push_back(notice);
    return absl::OkStatus();
  }

  RollupSelector last_selector;
  std::map<std::string, AlertState> states;
  std::vector<AlertNotice> notices;
  int locks = 0;

 private:
  struct Runs {
    absl::Time bucket;
    std::string status;
    int64_t count;
  };
  std::vector<Runs> runs_;
};

class WorkflowErrorRateRuleTest : public ::testing::Test {
 protected:
  WorkflowErrorRateRuleTest() : clock_(absl::FromUnixSeconds(1'700'000'040)), rule_(Config()) {}

  RuleOutcome Evaluate() {
    RuleOutcome outcome;
    EXPECT_THAT(rule_.Evaluate({"acme", "triage"}, context_, clock_.Now(), &outcome), IsOk());
    return outcome;
  }

  absl::Time Minute() const { return MinuteBucket(clock_.Now()); }

  common::FakeClock clock_;
  WorkflowErrorRateRule rule_;
  FakeRuleContext context_;
};

TEST_F(WorkflowErrorRateRuleTest, FiresOnceStaysAndResolvesWithHysteresis) {
  context_.AddRuns(Minute(), "succeeded", 90);
  context_.AddRuns(Minute(), "failed", 4);
  context_.AddRuns(Minute(), "timed_out", 3);
  context_.AddRuns(Minute(), "cancelled", 3);  // not an error
  RuleOutcome outcome = Evaluate();
  EXPECT_EQ(outcome.fired, 1);
  EXPECT_EQ(context_.last_selector.metric, kWorkflowRunsTotal);
  EXPECT_EQ(context_.last_selector.match_label, "workflow");
  EXPECT_EQ(context_.last_selector.match_value, "triage");
  EXPECT_EQ(context_.last_selector.group_label, "status");
  ASSERT_EQ(context_.notices.size(), 1u);
  const AlertNotice fired = context_.notices[0];
  EXPECT_TRUE(fired.firing);
  EXPECT_EQ(fired.fingerprint, WorkflowErrorRateFingerprint("acme", "triage"));
  EXPECT_EQ(fired.name, "WorkflowErrorRateHigh");
  EXPECT_EQ(fired.tenant, "acme");
  EXPECT_EQ(fired.severity, Severity::kP2);  // 7 % < 2 x 5 %
  EXPECT_EQ(fired.source, "agentwatch-monitor");
  EXPECT_EQ(fired.starts_at, clock_.Now());
  EXPECT_FALSE(fired.ends_at.has_value());
  EXPECT_THAT(fired.labels, ElementsAre(Pair("alertname", "WorkflowErrorRateHigh"),
                                        Pair("tenant", "acme"), Pair("workflow", "triage")));
  EXPECT_EQ(fired.annotations.at("summary"), "Workflow triage error rate 7.0% over 5m");
  EXPECT_EQ(fired.annotations.at("description"),
            "Workflow triage of tenant acme: 7 of 100 runs (7.0%) failed or timed out in the "
            "last 5m; threshold 5.0%.");
  const absl::Time started = clock_.Now();

  // Still bad a minute later: stays firing, nothing new is emitted.
  clock_.Advance(absl::Minutes(1));
  context_.AddRuns(Minute(), "succeeded", 20);
  outcome = Evaluate();
  EXPECT_EQ(outcome.fired + outcome.resolved, 0);
  EXPECT_EQ(context_.notices.size(), 1u);

  // 7 of 145 = 4.8 %: below the threshold, above 4 %: stays.
  context_.AddRuns(Minute(), "succeeded", 25);
  EXPECT_EQ(Evaluate().resolved, 0);
  // 7 of 175 = exactly 4 %: stays.
  context_.AddRuns(Minute(), "succeeded", 30);
  EXPECT_EQ(Evaluate().resolved, 0);
  EXPECT_TRUE(context_.states.begin()->second.firing);
  // 7 of 176 < 4 %: resolves.
  context_.AddRuns(Minute(), "succeeded", 1);
  outcome = Evaluate();
  EXPECT_EQ(outcome.resolved, 1);
  ASSERT_EQ(context_.notices.size(), 2u);
  const AlertNotice& resolved = context_.notices[1];
  EXPECT_FALSE(resolved.firing);
  EXPECT_EQ(resolved.starts_at, started);
  EXPECT_EQ(resolved.ends_at, clock_.Now());
  EXPECT_EQ(resolved.fingerprint, fired.fingerprint);
  EXPECT_NE(resolved.IdempotencyKey(), fired.IdempotencyKey());
  EXPECT_FALSE(context_.states.begin()->second.firing);
  EXPECT_EQ(context_.states.begin()->second.ends_at, clock_.Now());
}

TEST_F(WorkflowErrorRateRuleTest, RunsLeavingTheWindowResolve) {
  context_.AddRuns(Minute(), "failed", 10);
  EXPECT_EQ(Evaluate().fired, 1);
  EXPECT_EQ(context_.notices[0].severity, Severity::kP1);  // 100 %
  // Four minutes on, the runs are still inside the 5-minute window.
  clock_.Advance(absl::Minutes(4));
  EXPECT_EQ(Evaluate().resolved, 0);
  // Past the window: fewer than min_runs runs, resolves.
  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(Evaluate().resolved, 1);
  EXPECT_THAT(context_.notices[1].annotations.at("description"),
              ::testing::HasSubstr("fewer than the 10 needed"));
}

TEST_F(WorkflowErrorRateRuleTest, RefiringStartsANewAlert) {
  context_.AddRuns(Minute(), "failed", 10);
  Evaluate();
  clock_.Advance(absl::Minutes(10));
  Evaluate();  // resolves: the window is empty
  context_.AddRuns(Minute(), "failed", 10);
  EXPECT_EQ(Evaluate().fired, 1);
  ASSERT_EQ(context_.notices.size(), 3u);
  EXPECT_EQ(context_.notices[2].starts_at, clock_.Now());
  EXPECT_NE(context_.notices[2].IdempotencyKey(), context_.notices[0].IdempotencyKey());
}

TEST_F(WorkflowErrorRateRuleTest, OnBatchEvaluatesTouchedWorkflowsAndSweepTheFiringOnes) {
  context_.AddRuns(Minute(), "failed", 10);
  BatchAggregate batch;
  batch.workflows = {{"acme", "triage"}};
  RuleOutcome outcome;
  ASSERT_THAT(rule_.OnBatch(batch, context_, clock_.Now(), &outcome), IsOk());
  EXPECT_EQ(outcome.fired, 1);
  EXPECT_EQ(context_.locks, 1);

  // No new data; the sweep re-evaluates the firing alert once its window
  // has emptied.
  clock_.Advance(absl::Minutes(3));
  RuleOutcome swept;
  ASSERT_THAT(rule_.OnSweep(context_, clock_.Now(), 100, &swept), IsOk());
  EXPECT_EQ(swept.resolved, 0);
  clock_.Advance(absl::Minutes(3));
  ASSERT_THAT(rule_.OnSweep(context_, clock_.Now(), 100, &swept), IsOk());
  EXPECT_EQ(swept.resolved, 1);
  // Nothing is firing any more: the next sweep has nothing to do.
  const int locks = context_.locks;
  ASSERT_THAT(rule_.OnSweep(context_, clock_.Now(), 100, &swept), IsOk());
  EXPECT_EQ(context_.locks, locks);
}

// A RuleContext whose rollups are runs per (tenant, workflow, status) in
// the current minute; counts the bulk calls and records the lock order.
class WorkflowRunsContext final : public RuleContext {
 public:
  void AddRuns(const std::string& tenant, const std::string& workflow, const std::string& status,
               int64_t runs) {
    runs_[{tenant, workflow}][status] += runs;
  }

  absl::StatusOr<std::map<std::string, RollupStats>> SumRollups(const RollupSelector& selector,
                                                                const BucketRange&) override {
    std::map<std::string, RollupStats> out;
    const auto it = runs_.find({selector.tenant, selector.match_value});
    if (it == runs_.end()) return out;
    for (const auto& [status, count] : it->second) out[status].count = count;
    return out;
  }
  absl::StatusOr<AlertState> LockAlertState(const AlertState& initial) override {
    lock_order.push_back({initial.tenant, initial.fingerprint});
    return states.try_emplace({initial.tenant, initial.fingerprint}, initial).first->second;
  }
  absl::StatusOr<std::vector<AlertState>> LockFiringAlerts(const std::string&, int) override {
    return std::vector<AlertState>{};
  }
  absl::Status SaveAlertState(const AlertState& state) override {
    states[{state.tenant, state.fingerprint}] = state;
    return absl::OkStatus();
  }
  absl::Status EmitAlert(const AlertNotice& notice) override {
    notices.push_back(notice);
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<AlertState>> LockAlertStates(
      const std::vector<AlertState>& initial) override {
    ++bulk_locks;
    return RuleContext::LockAlertStates(initial);
  }
  absl::StatusOr<std::vector<std::map<std::string, RollupStats>>> SumRollupsMany(
      const std::vector<RollupSelector>& selectors, const BucketRange& range) override {
    ++bulk_sums;
    ASSIGN_OR_RETURN(auto out, RuleContext::SumRollupsMany(selectors, range));
    if (drop_last_sum && !out.empty()) out.pop_back();
    return out;
  }

  std::map<std::pair<std::string, std::string>, AlertState> states;
  std::vector<std::pair<std::string, std::string>> lock_order;
  std::vector<AlertNotice> notices;
  int bulk_locks = 0;
  int bulk_sums = 0;
  bool drop_last_sum = false;

 private:
  std::map<std::pair<std::string, std::string>, std::map<std::string, int64_t>> runs_;
};

// Failing (10 of 10), warning (7 of 97), healthy, too few runs, and a
// firing alert whose runs are gone, in two tenants.
void AddMixedRuns(WorkflowRunsContext& context) {
  context.AddRuns("acme", "failing", "failed", 10);
  context.AddRuns("acme", "warning", "succeeded", 90);
  context.AddRuns("acme", "warning", "timed_out", 7);
  context.AddRuns("acme", "healthy", "succeeded", 100);
  context.AddRuns("globex", "few", "failed", 3);
  context.AddRuns("globex", "failing", "failed", 12);
  AlertState firing;
  firing.tenant = "globex";
  firing.fingerprint = WorkflowErrorRateFingerprint("globex", "quiet");
  firing.rule = WorkflowErrorRateRule::kRule;
  firing.name = WorkflowErrorRateRule::kAlertName;
  firing.labels = {{"alertname", WorkflowErrorRateRule::kAlertName},
                   {"tenant", "globex"},
                   {"workflow", "quiet"}};
  firing.firing = true;
  firing.starts_at = absl::FromUnixSeconds(1'699'999'000);
  context.states[{firing.tenant, firing.fingerprint}] = firing;
}

TEST(WorkflowErrorRateRuleBulkTest, OnBatchEvaluatesAllWorkflowsAtOnceAsEachAloneWould) {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'040);
  const WorkflowErrorRateRule rule(ErrorRateAlertConfig{});
  // Unsorted, with a workflow given twice.
  const std::vector<WorkflowKey> keys = {{"globex", "quiet"}, {"acme", "warning"},
                                         {"globex", "few"},   {"acme", "failing"},
                                         {"acme", "healthy"}, {"globex", "failing"},
                                         {"acme", "failing"}};
  WorkflowRunsContext bulk;
  AddMixedRuns(bulk);
  BatchAggregate batch;
  batch.workflows = keys;
  RuleOutcome bulk_outcome;
  ASSERT_THAT(rule.OnBatch(batch, bulk, now, &bulk_outcome), IsOk());
  EXPECT_EQ(bulk.bulk_locks, 1);
  EXPECT_EQ(bulk.bulk_sums, 1);
  EXPECT_EQ(bulk.lock_order.size(), 6u);  // each distinct workflow once
  EXPECT_TRUE(std::is_sorted(bulk.lock_order.begin(), bulk.lock_order.end()));

  // The same data evaluated one workflow at a time.
  WorkflowRunsContext single;
  AddMixedRuns(single);
  std::set<WorkflowKey> distinct(keys.begin(), keys.end());
  RuleOutcome single_outcome;
  for (const WorkflowKey& key : distinct) {
    ASSERT_THAT(rule.Evaluate(key, single, now, &single_outcome), IsOk());
  }
  EXPECT_EQ(bulk_outcome.fired, 3);  // acme/failing, acme/warning, globex/failing
  EXPECT_EQ(bulk_outcome.resolved, 1);  // globex/quiet
  EXPECT_EQ(bulk_outcome.fired, single_outcome.fired);
  EXPECT_EQ(bulk_outcome.resolved, single_outcome.resolved);
  ASSERT_EQ(bulk.notices.size(), single.notices.size());
  std::map<std::string, std::string> bulk_notices;
  std::map<std::string, std::string> single_notices;
  for (const AlertNotice& n : bulk.notices) {
    bulk_notices[n.fingerprint] = absl::StrCat(n.firing, "/", static_cast<int>(n.severity), "/",
                                               n.annotations.at("description"));
  }
  for (const AlertNotice& n : single.notices) {
    single_notices[n.fingerprint] = absl::StrCat(n.firing, "/", static_cast<int>(n.severity),
                                                 "/", n.annotations.at("description"));
  }
  EXPECT_EQ(bulk_notices, single_notices);
  EXPECT_EQ(bulk_notices.count(WorkflowErrorRateFingerprint("acme", "healthy")), 0u);
  EXPECT_EQ(bulk_notices.count(WorkflowErrorRateFingerprint("globex", "few")), 0u);
  ASSERT_EQ(bulk.states.size(), single.states.size());
  for (const auto& [id, state] : bulk.states) {
    EXPECT_EQ(state.firing, single.states.at(id).firing) << id.second;
    EXPECT_EQ(state.severity, single.states.at(id).severity) << id.second;
  }
}

TEST(WorkflowErrorRateRuleBulkTest, AContextAnsweringFewerWorkflowsIsAnInternalError) {
  const WorkflowErrorRateRule rule(ErrorRateAlertConfig{});
  WorkflowRunsContext context;
  AddMixedRuns(context);
  context.drop_last_sum = true;
  BatchAggregate batch;
  batch.workflows = {{"acme", "failing"}, {"acme", "warning"}};
  RuleOutcome outcome;
  EXPECT_THAT(rule.OnBatch(batch, context, absl::FromUnixSeconds(1'700'000'040), &outcome),
              StatusIs(absl::StatusCode::kInternal));
  EXPECT_TRUE(context.notices.empty());
  EXPECT_EQ(outcome.fired, 0);
}

TEST(AlertNoticeTest, IdempotencyKeyCoversFingerprintStatusAndStart) {
  AlertNotice notice;
  notice.fingerprint = "abc";
  notice.starts_at = absl::FromUnixMicros(1'700'000'000'000'001);
  notice.firing = true;
  EXPECT_EQ(notice.IdempotencyKey(), "abc:firing:1700000000000001");
  notice.firing = false;
  EXPECT_EQ(notice.IdempotencyKey(), "abc:resolved:1700000000000001");
}

}  // namespace
}  // namespace agentwatch::monitor
