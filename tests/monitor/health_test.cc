#include "monitor/core/health.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/testing/status_matchers.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;

const IndicatorThreshold& Threshold(const std::string& name) {
  const IndicatorThreshold* threshold = FindDefaultThreshold(name);
  EXPECT_NE(threshold, nullptr) << name;
  return *threshold;
}

TEST(DefaultThresholdsTest, MatchTheApi) {
  struct Expected {
    const char* name;
    const char* unit;
    double warning;
    double critical;
    Direction direction;
  };
  const std::vector<Expected> expected = {
      {"latency_p95", "s", 0.5, 2, Direction::kHigherIsWorse},
      {"error_rate", "ratio", 0.01, 0.05, Direction::kHigherIsWorse},
      {"cpu_utilization", "ratio", 0.70, 0.85, Direction::kHigherIsWorse},
      {"memory_utilization", "ratio", 0.80, 0.90, Direction::kHigherIsWorse},
      {"processing_lag", "s", 60, 300, Direction::kHigherIsWorse},
      {"workflow_success_rate", "ratio", 0.95, 0.90, Direction::kLowerIsWorse},
      {"workflow_duration_p95", "s", 300, 600, Direction::kHigherIsWorse},
      {"agent_execution_time_p95", "s", 30, 60, Direction::kHigherIsWorse},
      {"agent_retry_rate", "ratio", 0.10, 0.20, Direction::kHigherIsWorse},
      {"model_latency_p95", "s", 10, 20, Direction::kHigherIsWorse},
      {"throttling_rate", "ratio", 0.01, 0.05, Direction::kHigherIsWorse},
      {"model_error_rate", "ratio", 0.02, 0.05, Direction::kHigherIsWorse},
  };
  ASSERT_EQ(DefaultIndicatorThresholds().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const IndicatorThreshold& t = DefaultIndicatorThresholds()[i];
    EXPECT_EQ(t.name, expected[i].name);
    EXPECT_EQ(t.unit, expected[i].unit) << t.name;
    EXPECT_EQ(t.warning, expected[i].warning) << t.name;
    EXPECT_EQ(t.critical, expected[i].critical) << t.name;
    EXPECT_EQ(t.direction, expected[i].direction) << t.name;
  }
  EXPECT_EQ(FindDefaultThreshold("nonsense"), nullptr);
}

TEST(StatusOfTest, EveryIndicatorAtAndAroundItsThresholds) {
  for (const IndicatorThreshold& t : DefaultIndicatorThresholds()) {
    const double span = std::abs(t.critical - t.warning);
    const double eps = span * 1e-6;
    if (t.direction == Direction::kHigherIsWorse) {
      EXPECT_EQ(StatusOf(t.warning - eps, t), HealthStatus::kHealthy) << t.name;
      EXPECT_EQ(StatusOf(t.warning, t), HealthStatus::kWarning) << t.name;
      EXPECT_EQ(StatusOf(t.warning + eps, t), HealthStatus::kWarning) << t.name;
      EXPECT_EQ(StatusOf(t.critical - eps, t), HealthStatus::kWarning) << t.name;
      EXPECT_EQ(StatusOf(t.critical, t), HealthStatus::kCritical) << t.name;
      EXPECT_EQ(StatusOf(t.critical + eps, t), HealthStatus::kCritical) << t.name;
    } else {
      EXPECT_EQ(StatusOf(t.warning + eps, t), HealthStatus::kHealthy) << t.name;
      EXPECT_EQ(StatusOf(t.warning, t), HealthStatus::kWarning) << t.name;
      EXPECT_EQ(StatusOf(t.critical + eps, t), HealthStatus::kWarning) << t.name;
      EXPECT_EQ(StatusOf(t.critical, t), HealthStatus::kCritical) << t.name;
      EXPECT_EQ(StatusOf(t.critical - eps, t), HealthStatus::kCritical) << t.name;
    }
  }
}

TEST(StatusOfTest, RatiosOfCountsHitDecimalThresholdsExactly) {
  // 1 of 100 is exactly the 1 % warning level; 5 of 100 the 5 % critical.
  EXPECT_EQ(StatusOf(1.0 / 100, Threshold("error_rate")), HealthStatus::kWarning);
  EXPECT_EQ(StatusOf(5.0 / 100, Threshold("error_rate")), HealthStatus::kCritical);
  EXPECT_EQ(StatusOf(95.0 / 100, Threshold("workflow_success_rate")), HealthStatus::kWarning);
  EXPECT_EQ(StatusOf(9.0 / 10, Threshold("workflow_success_rate")), HealthStatus::kCritical);
  EXPECT_EQ(StatusOf(2.0 / 100, Threshold("model_error_rate")), HealthStatus::kWarning);
}

TEST(WorseStatusTest, UnknownLosesToJudgedStatuses) {
  EXPECT_EQ(WorseStatus(HealthStatus::kHealthy, HealthStatus::kWarning), HealthStatus::kWarning);
  EXPECT_EQ(WorseStatus(HealthStatus::kCritical, HealthStatus::kWarning), HealthStatus::kCritical);
  EXPECT_EQ(WorseStatus(HealthStatus::kUnknown, HealthStatus::kHealthy), HealthStatus::kHealthy);
  EXPECT_EQ(WorseStatus(HealthStatus::kCritical, HealthStatus::kUnknown), HealthStatus::kCritical);
  EXPECT_EQ(WorseStatus(HealthStatus::kUnknown, HealthStatus::kUnknown), HealthStatus::kUnknown);
}

TEST(HealthWindowTest, DefaultAndBounds) {
  EXPECT_THAT(HealthWindow(std::nullopt), IsOkAndHolds(absl::Minutes(5)));
  EXPECT_THAT(HealthWindow(absl::Minutes(1)), IsOkAndHolds(absl::Minutes(1)));
  EXPECT_THAT(HealthWindow(absl::Hours(24)), IsOkAndHolds(absl::Hours(24)));
  EXPECT_THAT(HealthWindow(absl::Seconds(59)),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::StartsWith("window:")));
  EXPECT_THAT(HealthWindow(absl::Hours(24) + absl::Seconds(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::StartsWith("window:")));
}

TEST(ValidateHealthScopeTest, Fields) {
  HealthScope scope;
  scope.tenant = "acme";
  scope.tags = {{"env", "prod"}};
  EXPECT_THAT(ValidateHealthScope(scope), IsOk());
  HealthScope bad = scope;
  bad.tags["bad-key"] = "x";
  EXPECT_THAT(ValidateHealthScope(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::StartsWith("scope.tags:")));
  bad = scope;
  for (int i = 0; i < 17; ++i) bad.tags["t" + std::to_string(i)] = "v";
  EXPECT_THAT(ValidateHealthScope(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                                 ::testing::StartsWith("scope.tags: 18 tags")));
  bad = scope;
  bad.workflow = std::string(257, 'w');
  EXPECT_THAT(ValidateHealthScope(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                                 ::testing::StartsWith("scope.workflow:")));
  bad = scope;
  bad.model = std::string("m\0", 2);
  EXPECT_THAT(ValidateHealthScope(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::StartsWith("scope.model:")));
}

TEST(ScopeLabelFilterTest, NonEmptyFieldsAndTags) {
  HealthScope scope;
  scope.tenant = "acme";
  scope.model = "gpt-4o";
  scope.service = "router";
  scope.tags = {{"env", "prod"}};
  EXPECT_EQ(
      ScopeLabelFilter(scope),
      (Labels{{"env", "prod"}, {"model", "gpt-4o"}, {"service", "router"}, {"tenant", "acme"}}));
  EXPECT_TRUE(ScopeLabelFilter(HealthScope{}).empty());
}

HealthRow Row(std::string metric, std::string status, int64_t count, double sum = -1,
              std::string tenant = "acme") {
  HealthRow row;
  row.tenant = std::move(tenant);
  row.metric = std::move(metric);
  row.status = std::move(status);
  row.count = count;
  row.sum = sum < 0 ? static_cast<double>(count) : sum;
  return row;
}

const IndicatorValue* Find(const ScopeHealth& scope, const std::string& name) {
  for (const IndicatorValue& indicator : scope.indicators) {
    if (indicator.threshold.name == name) return &indicator;
  }
  return nullptr;
}

TEST(ComputeHealthTest, NoDataIsUnknown) {
  HealthScope scope;
  scope.tenant = "acme";
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  const HealthReport report = ComputeHealth(scope, {}, now);
  EXPECT_EQ(report.overall_status, HealthStatus::kUnknown);
  EXPECT_EQ(report.as_of, now);
  ASSERT_EQ(report.scopes.size(), 1u);
  EXPECT_EQ(report.scopes[0].kind, "overall");
  EXPECT_EQ(report.scopes[0].status, HealthStatus::kUnknown);
  EXPECT_EQ(report.scopes[0].scope.tenant, "acme");
  for (const IndicatorValue& indicator : report.scopes[0].indicators) {
    EXPECT_EQ(indicator.status, HealthStatus::kUnknown) << indicator.threshold.name;
    EXPECT_EQ(indicator.sample_count, 0);
    EXPECT_EQ(indicator.value, 0);
  }
}

TEST(ComputeHealthTest, IndicatorsPerScope) {
  std::vector<HealthRow> rows;
  // Workflow "triage": 95 succeeded, 3 failed, 1 timed out, 1 cancelled.
  for (auto [status, n] : std::vector<std::pair<std::string, int>>{
           {"succeeded", 95}, {"failed", 3}, {"timed_out", 1}, {"cancelled", 1}}) {
    HealthRow row = Row("workflow_runs_total", status, n);
    row.workflow = "triage";
    rows.push_back(row);
  }
  // Workflow "report": 10 succeeded.
  HealthRow report_runs = Row("workflow_runs_total", "succeeded", 10);
  report_runs.workflow = "report";
  rows.push_back(report_runs);
  // Agent "planner": 18 succeeded, 2 failed; 5 retries over 20 executions.
  HealthRow planner_ok = Row("agent_executions_total", "succeeded", 18);
  planner_ok.agent = "planner";
  HealthRow planner_failed = Row("agent_executions_total", "failed", 2);
  planner_failed.agent = "planner";
  HealthRow planner_retries = Row("agent_retries_total", "succeeded", 20, 5);
  planner_retries.agent = "planner";
  rows.insert(rows.end(), {planner_ok, planner_failed, planner_retries});
  // Model openai/gpt-4o: 49 succeeded + 1 failed; 1 throttled of 50.
  HealthRow calls_ok = Row("llm_calls_total", "succeeded", 49);
  HealthRow calls_failed = Row("llm_calls_total", "failed", 1);
  HealthRow throttled = Row("llm_throttled_total", "succeeded", 50, 1);
  for (HealthRow* row : {&calls_ok, &calls_failed, &throttled}) {
    row->provider = "openai";
    row->model = "gpt-4o";
    rows.push_back(*row);
  }

  HealthScope scope;
  scope.tenant = "acme";
  const HealthReport report = ComputeHealth(scope, rows, absl::UnixEpoch());
  ASSERT_EQ(report.scopes.size(), 5u);
  const ScopeHealth& overall = report.scopes[0];
  EXPECT_EQ(overall.kind, "overall");
  // Errors: 4 runs + 2 executions + 1 call of 110 + 20 + 50.
  EXPECT_DOUBLE_EQ(Find(overall, "error_rate")->value, 7.0 / 180);
  EXPECT_EQ(Find(overall, "error_rate")->sample_count, 180);
  EXPECT_EQ(Find(overall, "error_rate")->status, HealthStatus::kWarning);
  EXPECT_DOUBLE_EQ(Find(overall, "workflow_success_rate")->value, 106.0 / 110);
  EXPECT_EQ(Find(overall, "workflow_success_rate")->status, HealthStatus::kHealthy);
  EXPECT_DOUBLE_EQ(Find(overall, "agent_retry_rate")->value, 0.25);
  EXPECT_EQ(Find(overall, "agent_retry_rate")->status, HealthStatus::kCritical);
  EXPECT_DOUBLE_EQ(Find(overall, "model_error_rate")->value, 0.02);
  EXPECT_EQ(Find(overall, "model_error_rate")->status, HealthStatus::kWarning);
  EXPECT_DOUBLE_EQ(Find(overall, "throttling_rate")->value, 0.02);
  EXPECT_EQ(Find(overall, "throttling_rate")->status, HealthStatus::kWarning);
  // No latency data: the latency indicators are there, UNKNOWN.
  EXPECT_EQ(Find(overall, "latency_p95")->status, HealthStatus::kUnknown);
  EXPECT_EQ(Find(overall, "latency_p95")->sample_count, 0);
  EXPECT_EQ(overall.status, HealthStatus::kCritical);

  const ScopeHealth& agent = report.scopes[1];
  EXPECT_EQ(agent.kind, "agent");
  EXPECT_EQ(agent.scope.agent, "planner");
  EXPECT_EQ(agent.scope.tenant, "acme");
  EXPECT_DOUBLE_EQ(Find(agent, "error_rate")->value, 0.1);
  EXPECT_EQ(Find(agent, "error_rate")->status, HealthStatus::kCritical);
  EXPECT_EQ(Find(agent, "agent_retry_rate")->sample_count, 20);

  const ScopeHealth& report_wf = report.scopes[2];
  EXPECT_EQ(report_wf.kind, "workflow");
  EXPECT_EQ(report_wf.scope.workflow, "report");
  EXPECT_EQ(report_wf.status, HealthStatus::kHealthy);
  const ScopeHealth& triage = report.scopes[3];
  EXPECT_EQ(triage.scope.workflow, "triage");
  // 4 of 100 runs failed or timed out; the cancelled one is not an error.
  EXPECT_DOUBLE_EQ(Find(triage, "error_rate")->value, 0.04);
  EXPECT_EQ(Find(triage, "error_rate")->status, HealthStatus::kWarning);
  EXPECT_DOUBLE_EQ(Find(triage, "workflow_success_rate")->value, 0.96);
  EXPECT_EQ(Find(triage, "workflow_success_rate")->status, HealthStatus::kHealthy);

  const ScopeHealth& model = report.scopes[4];
  EXPECT_EQ(model.kind, "model");
  EXPECT_EQ(model.scope.model, "gpt-4o");
  EXPECT_EQ(model.scope.provider, "openai");
  EXPECT_EQ(model.indicators.size(), 4u);
  EXPECT_EQ(model.status, HealthStatus::kWarning);

  EXPECT_EQ(report.overall_status, HealthStatus::kCritical);
}

TEST(ComputeHealthTest, EntriesArePerTenantWhenTheScopeSpansTenants) {
  HealthRow a = Row("workflow_runs_total", "succeeded", 10, -1, "t1");
  a.workflow = "triage";
  HealthRow b = Row("workflow_runs_total", "failed", 10, -1, "t2");
  b.workflow = "triage";
  const HealthReport report = ComputeHealth(HealthScope{}, {a, b}, absl::UnixEpoch());
  ASSERT_EQ(report.scopes.size(), 3u);
  EXPECT_EQ(report.scopes[0].scope.tenant, "");
  EXPECT_DOUBLE_EQ(Find(report.scopes[0], "error_rate")->value, 0.5);
  EXPECT_EQ(report.scopes[1].scope.tenant, "t1");
  EXPECT_EQ(report.scopes[1].status, HealthStatus::kHealthy);
  EXPECT_EQ(report.scopes[2].scope.tenant, "t2");
  EXPECT_EQ(report.scopes[2].status, HealthStatus::kCritical);
}

// A sketch row of `metric` holding `n` copies of `value`.
HealthSketchRow SketchRow(const std::string& metric, double value, int n = 100) {
  HealthSketchRow row;
  row.tenant = "acme";
  row.metric = metric;
  for (int i = 0; i < n; ++i) row.sketch.Add(value);
  return row;
}

TEST(ComputeHealthTest, LatencyIndicatorsAtAndAroundTheirThresholds) {
  struct Case {
    const char* indicator;
    const char* metric;
  };
  const std::vector<Case> cases = {
      {"latency_p95", "llm_time_to_first_token_seconds"},
      {"workflow_duration_p95", "workflow_duration_seconds"},
      {"agent_execution_time_p95", "agent_execution_seconds"},
      {"model_latency_p95", "llm_latency_seconds"},
      {"processing_lag", "resource_processing_lag_seconds"},
  };
  HealthScope scope;
  scope.tenant = "acme";
  for (const Case& c : cases) {
    const IndicatorThreshold& t = Threshold(c.indicator);
    // A constant series has an exact p95 (the sketch clamps to [min, max]).
    const std::vector<std::pair<double, HealthStatus>> points = {
        {t.warning * (1 - 1e-9), HealthStatus::kHealthy},
        {t.warning, HealthStatus::kWarning},
        {t.warning * (1 + 1e-9), HealthStatus::kWarning},
        {t.critical * (1 - 1e-9), HealthStatus::kWarning},
        {t.critical, HealthStatus::kCritical},
        {t.critical * (1 + 1e-9), HealthStatus::kCritical},
    };
    for (const auto& [value, expected] : points) {
      const HealthReport report =
          ComputeHealth(scope, {}, {SketchRow(c.metric, value)}, absl::UnixEpoch());
      const IndicatorValue* indicator = Find(report.scopes[0], c.indicator);
      ASSERT_NE(indicator, nullptr) << c.indicator;
      EXPECT_EQ(indicator->threshold.unit, "s");
      EXPECT_EQ(indicator->threshold.direction, Direction::kHigherIsWorse);
      EXPECT_EQ(indicator->value, value) << c.indicator;
      EXPECT_EQ(indicator->sample_count, 100);
      EXPECT_EQ(indicator->status, expected) << c.indicator << " at " << value;
      EXPECT_EQ(report.overall_status, expected) << c.indicator;
    }
  }
}

TEST(ComputeHealthTest, LatencyP95IsTheRankOfTheNinetyFifthPercentile) {
  HealthScope scope;
  scope.tenant = "acme";
  // 100 calls: rank floor(0.95 * 99) = 94 decides. 95 fast calls keep p95 fast;
  // one more slow call moves it to the slow mode.
  for (const auto& [slow, expected] : std::vector<std::pair<int, HealthStatus>>{
           {5, HealthStatus::kHealthy}, {6, HealthStatus::kCritical}}) {
    HealthSketchRow row;
    row.tenant = "acme";
    row.metric = "llm_time_to_first_token_seconds";
    for (int i = 0; i < 100 - slow; ++i) row.sketch.Add(0.1);
    for (int i = 0; i < slow; ++i) row.sketch.Add(3.0);
    const HealthReport report = ComputeHealth(scope, {}, {row}, absl::UnixEpoch());
    const IndicatorValue* p95 = Find(report.scopes[0], "latency_p95");
    ASSERT_NE(p95, nullptr);
    EXPECT_EQ(p95->status, expected) << slow;
    const double exact = slow == 5 ? 0.1 : 3.0;
    EXPECT_LE(std::abs(p95->value - exact), 0.01 * exact) << slow;
  }
}

TEST(ComputeHealthTest, LatencyIndicatorsPerAgentWorkflowAndModel) {
  HealthScope scope;
  scope.tenant = "acme";
  HealthRow runs = Row("workflow_runs_total", "succeeded", 10);
  runs.workflow = "triage";
  HealthRow executions = Row("agent_executions_total", "succeeded", 10);
  executions.agent = "planner";
  HealthRow calls = Row("llm_calls_total", "succeeded", 10);
  calls.provider = "openai";
  calls.model = "gpt-4o";
  HealthSketchRow duration = SketchRow("workflow_duration_seconds", 400);
  duration.workflow = "triage";
  HealthSketchRow execution = SketchRow("agent_execution_seconds", 70);
  execution.agent = "planner";
  HealthSketchRow latency = SketchRow("llm_latency_seconds", 12);
  latency.provider = "openai";
  latency.model = "gpt-4o";
  HealthSketchRow first_token = SketchRow("llm_time_to_first_token_seconds", 0.2);
  first_token.provider = "openai";
  first_token.model = "gpt-4o";
  const HealthReport report =
      ComputeHealth(scope, {runs, executions, calls}, {duration, execution, latency, first_token},
                    absl::UnixEpoch());
  ASSERT_EQ(report.scopes.size(), 4u);
  const ScopeHealth& agent = report.scopes[1];
  ASSERT_EQ(agent.kind, "agent");
  EXPECT_EQ(Find(agent, "agent_execution_time_p95")->value, 70);
  EXPECT_EQ(Find(agent, "agent_execution_time_p95")->status, HealthStatus::kCritical);
  EXPECT_EQ(agent.status, HealthStatus::kCritical);
  const ScopeHealth& workflow = report.scopes[2];
  ASSERT_EQ(workflow.kind, "workflow");
  EXPECT_EQ(Find(workflow, "workflow_duration_p95")->status, HealthStatus::kWarning);
  const ScopeHealth& model = report.scopes[3];
  ASSERT_EQ(model.kind, "model");
  EXPECT_EQ(Find(model, "model_latency_p95")->value, 12);
  EXPECT_EQ(Find(model, "model_latency_p95")->status, HealthStatus::kWarning);
  EXPECT_EQ(Find(model, "latency_p95")->value, 0.2);
  EXPECT_EQ(Find(model, "latency_p95")->status, HealthStatus::kHealthy);
  // The overall entry merges everything; processing lag has no samples.
  EXPECT_EQ(Find(report.scopes[0], "agent_execution_time_p95")->status, HealthStatus::kCritical);
  EXPECT_EQ(Find(report.scopes[0], "processing_lag")->status, HealthStatus::kUnknown);
  EXPECT_EQ(report.overall_status, HealthStatus::kCritical);
}

}  // namespace
}  // namespace agentwatch::monitor
