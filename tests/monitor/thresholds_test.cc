// Health-threshold overrides: validation, scope coverage, resolution (the
// most specific scope wins) and every indicator judged at and around its
// thresholds through ComputeHealth, with defaults and with overrides.
#include "monitor/core/thresholds.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "monitor/core/health.h"
#include "monitor/core/names.h"
#include "monitor/core/paging.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

HealthScope Scope(std::string tenant, std::string workflow = "", std::string agent = "",
                  std::string model = "") {
  HealthScope scope;
  scope.tenant = std::move(tenant);
  scope.workflow = std::move(workflow);
  scope.agent = std::move(agent);
  scope.model = std::move(model);
  return scope;
}

ScopeThresholds Overrides(HealthScope scope, std::vector<ThresholdOverride> thresholds) {
  ScopeThresholds out;
  out.scope = std::move(scope);
  out.thresholds = std::move(thresholds);
  return out;
}

TEST(ValidateScopeThresholdsTest, AcceptsAValidSet) {
  EXPECT_THAT(
      ValidateScopeThresholds(Overrides(Scope("acme"), {{"error_rate", 0.02, 0.1, false},
                                                        {"workflow_success_rate", 0.99, 0.9, false},
                                                        {"cpu_utilization", 0.5, 0.6, true}})),
      IsOk());
}

TEST(ValidateScopeThresholdsTest, RejectsNamingTheField) {
  struct Case {
    std::string name;
    ScopeThresholds thresholds;
    std::string message;
  };
  HealthScope bad_scope = Scope("acme");
  bad_scope.tags["bad-key"] = "x";
  std::vector<ThresholdOverride> too_many;
  for (const IndicatorThreshold& t : DefaultIndicatorThresholds()) {
    too_many.push_back({t.name, t.warning, t.critical, false});
  }
  too_many.push_back({"error_rate", 0.1, 0.2, false});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<Case> cases = {
      {"bad scope", Overrides(bad_scope, {{"error_rate", 0.1, 0.2, false}}), "scope.tags:"},
      {"empty", Overrides(Scope("acme"), {}), "thresholds: required"},
      {"too many", Overrides(Scope("acme"), too_many), "thresholds: 13 entries, at most 12"},
      {"unknown",
       Overrides(Scope("acme"), {{"error_rate", 0.1, 0.2, false}, {"nope", 1, 2, false}}),
       "thresholds[1].indicator: unknown indicator \"nope\""},
      {"twice",
       Overrides(Scope("acme"), {{"error_rate", 0.1, 0.2, false}, {"error_rate", 0.1, 0.3, false}}),
       "thresholds[1].indicator: \"error_rate\" listed twice"},
      {"nan warning", Overrides(Scope("acme"), {{"error_rate", nan, 0.2, false}}),
       "thresholds[0].warning: must be a finite number >= 0"},
      {"infinite critical", Overrides(Scope("acme"), {{"error_rate", 0.1, inf, false}}),
       "thresholds[0].critical: must be a finite number >= 0"},
      {"negative", Overrides(Scope("acme"), {{"latency_p95", -1, 2, false}}),
       "thresholds[0].warning: must be a finite number >= 0"},
      {"higher is worse, critical below",
       Overrides(Scope("acme"), {{"latency_p95", 2, 0.5, false}}),
       "thresholds[0].critical: must be above warning for latency_p95"},
      {"higher is worse, equal", Overrides(Scope("acme"), {{"latency_p95", 1, 1, false}}),
       "thresholds[0].critical: must be above warning"},
      {"lower is worse, critical above",
       Overrides(Scope("acme"), {{"workflow_success_rate", 0.9, 0.95, false}}),
       "thresholds[0].critical: must be below warning for workflow_success_rate"},
      {"disabled entries are checked too",
       Overrides(Scope("acme"), {{"cpu_utilization", 0.9, 0.8, true}}),
       "thresholds[0].critical: must be above warning"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ValidateScopeThresholds(c.thresholds),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith(c.message)))
        << c.name;
  }
}

TEST(ScopeCoversTest, FieldsAndTags) {
  HealthScope general;
  EXPECT_TRUE(ScopeCovers(general, Scope("acme", "triage")));
  EXPECT_TRUE(ScopeCovers(Scope("acme"), Scope("acme", "triage")));
  EXPECT_TRUE(ScopeCovers(Scope("acme", "triage"), Scope("acme", "triage")));
  EXPECT_FALSE(ScopeCovers(Scope("acme", "triage"), Scope("acme")));
  EXPECT_FALSE(ScopeCovers(Scope("acme"), Scope("globex")));
  EXPECT_FALSE(ScopeCovers(Scope("acme", "triage"), Scope("acme", "report")));
  HealthScope prod = Scope("acme");
  prod.tags["env"] = "prod";
  HealthScope prod_eu = Scope("acme", "triage");
  prod_eu.tags = {{"env", "prod"}, {"region", "eu"}};
  EXPECT_TRUE(ScopeCovers(prod, prod_eu));
  EXPECT_FALSE(ScopeCovers(prod_eu, prod));
  HealthScope staging = prod_eu;
  staging.tags["env"] = "staging";
  EXPECT_FALSE(ScopeCovers(prod, staging));
  EXPECT_EQ(ScopeSpecificity(HealthScope{}), 0);
  EXPECT_EQ(ScopeSpecificity(prod_eu), 4);
}

TEST(ScopeKeyTest, StableAndDistinct) {
  EXPECT_EQ(ScopeKey(Scope("acme", "triage")), ScopeKey(Scope("acme", "triage")));
  EXPECT_EQ(ScopeKey(Scope("acme", "triage")).size(), 32u);
  EXPECT_NE(ScopeKey(Scope("acme", "triage")), ScopeKey(Scope("acme", "", "triage")));
  EXPECT_NE(ScopeKey(Scope("acme")), ScopeKey(Scope("")));
}

TEST(ThresholdResolverTest, DefaultsWithoutOverrides) {
  const ThresholdResolver resolver;
  const std::vector<EffectiveThreshold> effective = resolver.Resolve(Scope("acme"));
  ASSERT_EQ(effective.size(), DefaultIndicatorThresholds().size());
  for (size_t i = 0; i < effective.size(); ++i) {
    EXPECT_EQ(effective[i].threshold.name, DefaultIndicatorThresholds()[i].name);
    EXPECT_EQ(effective[i].threshold.warning, DefaultIndicatorThresholds()[i].warning);
    EXPECT_FALSE(effective[i].overridden);
    EXPECT_FALSE(effective[i].disabled);
  }
  EXPECT_FALSE(resolver.LatestUpdate(Scope("acme")).has_value());
  EXPECT_FALSE(resolver.Resolve(Scope("acme"), "nope").has_value());
}

TEST(ThresholdResolverTest, MostSpecificScopeWinsPerIndicator) {
  ScopeThresholds global =
      Overrides(HealthScope{}, {{"error_rate", 0.02, 0.2, false}, {"latency_p95", 1, 3, false}});
  global.update_time = absl::FromUnixSeconds(100);
  ScopeThresholds tenant = Overrides(Scope("acme"), {{"error_rate", 0.03, 0.3, false}});
  tenant.update_time = absl::FromUnixSeconds(300);
  ScopeThresholds workflow =
      Overrides(Scope("acme", "triage"),
                {{"error_rate", 0.04, 0.4, false}, {"workflow_success_rate", 0.5, 0.4, true}});
  workflow.update_time = absl::FromUnixSeconds(200);
  ScopeThresholds other = Overrides(Scope("globex"), {{"error_rate", 0.5, 0.6, false}});
  // Given in the wrong order on purpose: resolution sorts by specificity.
  const ThresholdResolver resolver({workflow, other, tenant, global});

  auto error_rate = [&](const HealthScope& scope) {
    return resolver.Resolve(scope, "error_rate")->threshold;
  };
  EXPECT_EQ(error_rate(Scope("initech")).warning, 0.02);  // global only
  EXPECT_EQ(error_rate(Scope("acme")).warning, 0.03);     // tenant beats global
  EXPECT_EQ(error_rate(Scope("acme", "triage")).warning, 0.04);
  EXPECT_EQ(error_rate(Scope("acme", "triage")).critical, 0.4);
  EXPECT_EQ(error_rate(Scope("acme", "report")).warning, 0.03);
  EXPECT_EQ(error_rate(Scope("globex")).warning, 0.5);
  // Indicators the specific scope does not list come from broader scopes.
  EXPECT_EQ(resolver.Resolve(Scope("acme", "triage"), "latency_p95")->threshold.critical, 3);
  EXPECT_TRUE(resolver.Resolve(Scope("acme", "triage"), "latency_p95")->overridden);
  EXPECT_FALSE(resolver.Resolve(Scope("acme", "triage"), "cpu_utilization")->overridden);
  EXPECT_TRUE(resolver.Resolve(Scope("acme", "triage"), "workflow_success_rate")->disabled);
  EXPECT_FALSE(resolver.Resolve(Scope("acme"), "workflow_success_rate")->disabled);
  // Direction and unit always come from the defaults.
  EXPECT_EQ(resolver.Resolve(Scope("acme", "triage"), "workflow_success_rate")->threshold.direction,
            Direction::kLowerIsWorse);
  EXPECT_EQ(resolver.LatestUpdate(Scope("acme", "triage")), absl::FromUnixSeconds(300));
  EXPECT_EQ(resolver.LatestUpdate(Scope("initech")), absl::FromUnixSeconds(100));
}

TEST(ThresholdResolverTest, TagScopesApplyToTaggedScopesOnly) {
  HealthScope prod = Scope("acme");
  prod.tags["env"] = "prod";
  const ThresholdResolver resolver({Overrides(prod, {{"latency_p95", 0.1, 0.2, false}})});
  HealthScope prod_triage = Scope("acme", "triage");
  prod_triage.tags["env"] = "prod";
  EXPECT_EQ(resolver.Resolve(prod_triage, "latency_p95")->threshold.warning, 0.1);
  EXPECT_EQ(resolver.Resolve(Scope("acme", "triage"), "latency_p95")->threshold.warning, 0.5);
}

// ---------------------------------------------------------------------------
// Every indicator at and around its thresholds through ComputeHealth.

HealthRow Row(std::string metric, std::string status, int64_t count, double sum) {
  HealthRow row;
  row.tenant = "acme";
  row.metric = std::move(metric);
  row.status = std::move(status);
  row.count = count;
  row.sum = sum;
  return row;
}

struct Data {
  std::vector<HealthRow> rows;
  std::vector<HealthSketchRow> sketches;
};

// Data whose overall `indicator` is `numerator` / `denominator` for the
// ratios, and `numerator` itself for latencies and utilizations.
Data DataFor(const std::string& indicator, int64_t numerator, int64_t denominator,
             double value = 0) {
  Data data;
  auto sketch = [&](const char* metric) {
    HealthSketchRow row;
    row.tenant = "acme";
    row.metric = metric;
    for (int i = 0; i < 20; ++i) row.sketch.Add(value);
    data.sketches.push_back(row);
  };
  if (indicator == "error_rate") {
    data.rows = {
        Row(kWorkflowRunsTotal, "failed", numerator, numerator),
        Row(kWorkflowRunsTotal, "succeeded", denominator - numerator, denominator - numerator)};
  } else if (indicator == "workflow_success_rate") {
    data.rows = {
        Row(kWorkflowRunsTotal, "succeeded", numerator, numerator),
        Row(kWorkflowRunsTotal, "failed", denominator - numerator, denominator - numerator)};
  } else if (indicator == "agent_retry_rate") {
    data.rows = {Row(kAgentRetriesTotal, "succeeded", denominator, numerator)};
  } else if (indicator == "model_error_rate") {
    data.rows = {
        Row(kLlmCallsTotal, "failed", numerator, numerator),
        Row(kLlmCallsTotal, "succeeded", denominator - numerator, denominator - numerator)};
  } else if (indicator == "throttling_rate") {
    data.rows = {Row(kLlmThrottledTotal, "succeeded", denominator, numerator)};
  } else if (indicator == "cpu_utilization" || indicator == "memory_utilization") {
    HealthRow row =
        Row(indicator == "cpu_utilization" ? kResourceCpuUtilization : kResourceMemoryUtilization,
            "", 1, value);
    row.component = "api";
    data.rows = {row};
  } else if (indicator == "latency_p95") {
    sketch(kLlmTimeToFirstTokenSeconds);
  } else if (indicator == "workflow_duration_p95") {
    sketch(kWorkflowDurationSeconds);
  } else if (indicator == "agent_execution_time_p95") {
    sketch(kAgentExecutionSeconds);
  } else if (indicator == "model_latency_p95") {
    sketch(kLlmLatencySeconds);
  } else if (indicator == "processing_lag") {
    sketch(kResourceProcessingLagSeconds);
  }
  return data;
}

const IndicatorValue* Find(const ScopeHealth& scope, const std::string& name) {
  for (const IndicatorValue& indicator : scope.indicators) {
    if (indicator.threshold.name == name) return &indicator;
  }
  return nullptr;
}

HealthStatus OverallStatusOf(const std::string& indicator, const Data& data,
                             const ThresholdResolver& resolver = ThresholdResolver()) {
  const HealthReport report =
      ComputeHealth(Scope("acme"), data.rows, data.sketches, resolver, absl::UnixEpoch());
  const IndicatorValue* value = Find(report.scopes[0], indicator);
  EXPECT_NE(value, nullptr) << indicator;
  return value == nullptr ? HealthStatus::kUnspecified : value->status;
}

// Ratios as counts out of 10,000 so that every default threshold is a whole
// count: value k / 10000.
struct RatioCase {
  std::string indicator;
  int64_t warning;   // x 1/10000
  int64_t critical;  // x 1/10000
  bool lower_is_worse = false;
};

TEST(IndicatorThresholdsTest, EveryRatioAtAndAroundItsDefaults) {
  const std::vector<RatioCase> cases = {
      {"error_rate", 100, 500},         {"workflow_success_rate", 9500, 9000, true},
      {"agent_retry_rate", 1000, 2000}, {"model_error_rate", 200, 500},
      {"throttling_rate", 100, 500},
  };
  constexpr int64_t kTotal = 10000;
  for (const RatioCase& c : cases) {
    const int64_t step = c.lower_is_worse ? -1 : 1;
    auto status = [&](int64_t k) {
      return OverallStatusOf(c.indicator, DataFor(c.indicator, k, kTotal));
    };
    EXPECT_EQ(status(c.warning - step), HealthStatus::kHealthy) << c.indicator;
    EXPECT_EQ(status(c.warning), HealthStatus::kWarning) << c.indicator;
    EXPECT_EQ(status(c.warning + step), HealthStatus::kWarning) << c.indicator;
    EXPECT_EQ(status(c.critical - step), HealthStatus::kWarning) << c.indicator;
    EXPECT_EQ(status(c.critical), HealthStatus::kCritical) << c.indicator;
    EXPECT_EQ(status(c.critical + step), HealthStatus::kCritical) << c.indicator;
  }
}

TEST(IndicatorThresholdsTest, EveryLatencyAndUtilizationAtAndAroundItsDefaults) {
  for (const std::string indicator :
       {"latency_p95", "workflow_duration_p95", "agent_execution_time_p95", "model_latency_p95",
        "processing_lag", "cpu_utilization", "memory_utilization"}) {
    const IndicatorThreshold& t = *FindDefaultThreshold(indicator);
    // A constant series is exact (the sketch clamps to min / max).
    auto status = [&](double value) {
      return OverallStatusOf(indicator, DataFor(indicator, 0, 0, value));
    };
    const double below_warning = std::nextafter(t.warning, 0.0);
    const double below_critical = std::nextafter(t.critical, 0.0);
    EXPECT_EQ(status(below_warning * 0.999), HealthStatus::kHealthy) << indicator;
    EXPECT_EQ(status(below_warning), HealthStatus::kHealthy) << indicator;
    EXPECT_EQ(status(t.warning), HealthStatus::kWarning) << indicator;
    EXPECT_EQ(status(below_critical), HealthStatus::kWarning) << indicator;
    EXPECT_EQ(status(t.critical), HealthStatus::kCritical) << indicator;
    EXPECT_EQ(status(t.critical * 1.001), HealthStatus::kCritical) << indicator;
  }
}

TEST(IndicatorThresholdsTest, OverridesMoveEveryIndicatorsThresholds) {
  // Each indicator overridden for the tenant to twice (or, lower-is-worse,
  // half) its defaults: the default warning level is now healthy.
  for (const IndicatorThreshold& t : DefaultIndicatorThresholds()) {
    const bool lower = t.direction == Direction::kLowerIsWorse;
    const ThresholdOverride override{t.name, lower ? t.warning / 2 : t.warning * 2,
                                     lower ? t.critical / 2 : t.critical * 2, false};
    const ThresholdResolver resolver({Overrides(Scope("acme"), {override})});
    Data at_default_warning;
    if (t.unit == "ratio" && t.name != "cpu_utilization" && t.name != "memory_utilization") {
      at_default_warning =
          DataFor(t.name, static_cast<int64_t>(std::llround(t.warning * 10000)), 10000);
    } else {
      at_default_warning = DataFor(t.name, 0, 0, t.warning);
    }
    EXPECT_EQ(OverallStatusOf(t.name, at_default_warning), HealthStatus::kWarning) << t.name;
    EXPECT_EQ(OverallStatusOf(t.name, at_default_warning, resolver), HealthStatus::kHealthy)
        << t.name;
    const HealthReport report =
        ComputeHealth(Scope("acme"), at_default_warning.rows, at_default_warning.sketches, resolver,
                      absl::UnixEpoch());
    const IndicatorValue* value = Find(report.scopes[0], t.name);
    ASSERT_NE(value, nullptr);
    EXPECT_EQ(value->threshold.warning, override.warning) << t.name;
    EXPECT_EQ(value->threshold.critical, override.critical) << t.name;
  }
}

TEST(IndicatorThresholdsTest, HottestComponentDecidesUtilization) {
  Data data;
  for (auto [component, value] : std::vector<std::pair<std::string, double>>{
           {"api", 0.5}, {"api", 0.7}, {"worker", 0.9}, {"worker", 0.8}}) {
    HealthRow row = Row(kResourceCpuUtilization, "", 1, value);
    row.component = component;
    data.rows.push_back(row);
  }
  const HealthReport report = ComputeHealth(Scope("acme"), data.rows, data.sketches,
                                            ThresholdResolver(), absl::UnixEpoch());
  const IndicatorValue* cpu = Find(report.scopes[0], "cpu_utilization");
  ASSERT_NE(cpu, nullptr);
  EXPECT_DOUBLE_EQ(cpu->value, 0.85);  // worker's mean
  EXPECT_EQ(cpu->sample_count, 4);
  EXPECT_EQ(cpu->status, HealthStatus::kCritical);
  EXPECT_EQ(Find(report.scopes[0], "memory_utilization")->status, HealthStatus::kUnknown);
}

TEST(IndicatorThresholdsTest, EntriesUseTheirOwnScopesThresholdsAndDisabledAreLeftOut) {
  Data data;
  for (const std::string workflow : {"triage", "report"}) {
    HealthRow failed = Row(kWorkflowRunsTotal, "failed", 3, 3);
    failed.workflow = workflow;
    HealthRow ok = Row(kWorkflowRunsTotal, "succeeded", 97, 97);
    ok.workflow = workflow;
    data.rows.insert(data.rows.end(), {failed, ok});
  }
  // 3 % errors: WARNING by default; triage tolerates 5 % / 10 % and does not
  // judge its success rate at all.
  const ThresholdResolver resolver(
      {Overrides(Scope("acme", "triage"),
                 {{"error_rate", 0.05, 0.1, false}, {"workflow_success_rate", 0.95, 0.9, true}})});
  const HealthReport report =
      ComputeHealth(Scope("acme"), data.rows, data.sketches, resolver, absl::UnixEpoch());
  ASSERT_EQ(report.scopes.size(), 3u);
  const ScopeHealth& report_wf = report.scopes[1];
  const ScopeHealth& triage = report.scopes[2];
  ASSERT_EQ(triage.scope.workflow, "triage");
  EXPECT_EQ(Find(report_wf, "error_rate")->status, HealthStatus::kWarning);
  EXPECT_EQ(Find(triage, "error_rate")->status, HealthStatus::kHealthy);
  EXPECT_EQ(Find(triage, "error_rate")->threshold.warning, 0.05);
  EXPECT_EQ(Find(triage, "workflow_success_rate"), nullptr);
  EXPECT_NE(Find(report_wf, "workflow_success_rate"), nullptr);
  EXPECT_EQ(triage.status, HealthStatus::kHealthy);
  // The overall entry (scope "acme") is not covered by the workflow override.
  EXPECT_EQ(Find(report.scopes[0], "error_rate")->status, HealthStatus::kWarning);
}

// ---------------------------------------------------------------------------
// Paging helpers.

TEST(PagingTest, PageSizeDefaultsAndCaps) {
  EXPECT_THAT(PageSize(0), IsOkAndHolds(kDefaultPageSize));
  EXPECT_THAT(PageSize(7), IsOkAndHolds(7));
  EXPECT_THAT(PageSize(5000), IsOkAndHolds(kMaxPageSize));
  EXPECT_THAT(PageSize(-1), StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("page_size:")));
}

TEST(PagingTest, TokensRoundTripAndAreBoundToListAndFilter) {
  const std::string token = EncodePageToken("rules", "acme", {"a:b", ""});
  EXPECT_THAT(DecodePageToken(token, "rules", "acme", 2), IsOkAndHolds(ElementsAre("a:b", "")));
  EXPECT_THAT(DecodePageToken(token, "rules", "globex", 2),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("other filters")));
  EXPECT_THAT(DecodePageToken(token, "slos", "acme", 2),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("page_token:")));
  EXPECT_THAT(DecodePageToken(token, "rules", "acme", 1),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("page_token:")));
  EXPECT_THAT(DecodePageToken("!!not base64", "rules", "acme", 2),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("page_token:")));
}

}  // namespace
}  // namespace agentwatch::monitor
