#include "monitor/core/health.h"

#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "monitor/core/names.h"
#include "monitor/core/thresholds.h"

namespace agentwatch::monitor {
namespace {

constexpr size_t kMaxScopeTags = 16;
constexpr Direction kHigher = Direction::kHigherIsWorse;
constexpr Direction kLower = Direction::kLowerIsWorse;

// Counts behind the rate indicators of one scope.
struct Tally {
  int64_t workflow_runs = 0;
  int64_t workflow_errors = 0;
  int64_t agent_executions = 0;
  int64_t agent_errors = 0;
  int64_t retry_samples = 0;
  double retries = 0;
  int64_t llm_calls = 0;
  int64_t llm_errors = 0;
  int64_t throttle_samples = 0;
  double throttled = 0;
  // Mean utilization per (tenant, component), as count and sum.
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, double>> cpu;
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, double>> memory;

  void Add(const HealthRow& row) {
    const bool error = row.status == RunStatusLabel(RunStatus::kFailed) ||
                       row.status == RunStatusLabel(RunStatus::kTimedOut);
    if (row.metric == kWorkflowRunsTotal) {
      workflow_runs += row.count;
      if (error) workflow_errors += row.count;
    } else if (row.metric == kAgentExecutionsTotal) {
      agent_executions += row.count;
      if (error) agent_errors += row.count;
    } else if (row.metric == kAgentRetriesTotal) {
      retry_samples += row.count;
      retries += row.sum;
    } else if (row.metric == kLlmCallsTotal) {
      llm_calls += row.count;
      if (error) llm_errors += row.count;
    } else if (row.metric == kLlmThrottledTotal) {
      throttle_samples += row.count;
      throttled += row.sum;
    } else if (row.metric == kResourceCpuUtilization) {
      auto& [count, sum] = cpu[{row.tenant, row.component}];
      count += row.count;
      sum += row.sum;
    } else if (row.metric == kResourceMemoryUtilization) {
      auto& [count, sum] = memory[{row.tenant, row.component}];
      count += row.count;
      sum += row.sum;
    }
  }
};

// The thresholds of one entry's indicators.
class Judge {
 public:
  Judge(const ThresholdResolver& resolver, const HealthScope& scope)
      : thresholds_(resolver.Resolve(scope)) {}

  // The effective threshold of `name`; nullptr when disabled.
  const IndicatorThreshold* Find(absl::string_view name) const {
    for (const EffectiveThreshold& effective : thresholds_) {
      if (effective.threshold.name == name) {
        return effective.disabled ? nullptr : &effective.threshold;
      }
    }
    return nullptr;
  }

 private:
  std::vector<EffectiveThreshold> thresholds_;
};

// Latency sketches of one scope, by metric.
struct Latencies {
  QuantileSketch first_token;
  QuantileSketch workflow_duration;
  QuantileSketch agent_execution;
  QuantileSketch llm_latency;
  QuantileSketch processing_lag;

  void Add(const HealthSketchRow& row) {
    QuantileSketch* target = nullptr;
    if (row.metric == kLlmTimeToFirstTokenSeconds) {
      target = &first_token;
    } else if (row.metric == kWorkflowDurationSeconds) {
      target = &workflow_duration;
    } else if (row.metric == kAgentExecutionSeconds) {
      target = &agent_execution;
    } else if (row.metric == kLlmLatencySeconds) {
      target = &llm_latency;
    } else if (row.metric == kResourceProcessingLagSeconds) {
      target = &processing_lag;
    }
    // Sketches of other parameters than the defaults cannot come from the
    // store (it writes defaults only) and are left out.
    if (target != nullptr) target->Merge(row.sketch).IgnoreError();
  }
};

// The 95th percentile of `sketch` as indicator `name`; nullopt when the
// indicator is disabled for the entry.
std::optional<IndicatorValue> P95(const Judge& judge, absl::string_view name,
                                  const QuantileSketch& sketch) {
  const IndicatorThreshold* threshold = judge.Find(name);
  if (threshold == nullptr) return std::nullopt;
  IndicatorValue indicator;
  indicator.threshold = *threshold;
  indicator.sample_count = sketch.count();
  if (const std::optional<double> p95 = sketch.Quantile(0.95); p95.has_value()) {
    indicator.value = *p95;
    indicator.status = StatusOf(indicator.value, indicator.threshold);
  }
  return indicator;
}

std::optional<IndicatorValue> Ratio(const Judge& judge, absl::string_view name, double numerator,
                                    int64_t denominator) {
  const IndicatorThreshold* threshold = judge.Find(name);
  if (threshold == nullptr) return std::nullopt;
  IndicatorValue indicator;
  indicator.threshold = *threshold;
  indicator.sample_count = denominator;
  if (denominator > 0) {
    indicator.value = numerator / static_cast<double>(denominator);
    indicator.status = StatusOf(indicator.value, indicator.threshold);
  }
  return indicator;
}

// The highest mean utilization among components, as indicator `name`.
std::optional<IndicatorValue> HottestComponent(
    const Judge& judge, absl::string_view name,
    const std::map<std::pair<std::string, std::string>, std::pair<int64_t, double>>& components) {
  const IndicatorThreshold* threshold = judge.Find(name);
  if (threshold == nullptr) return std::nullopt;
  IndicatorValue indicator;
  indicator.threshold = *threshold;
  bool any = false;
  for (const auto& [key, tally] : components) {
    const auto& [count, sum] = tally;
    if (count <= 0) continue;
    const double mean = sum / static_cast<double>(count);
    if (!any || mean > indicator.value) indicator.value = mean;
    any = true;
    indicator.sample_count += count;
  }
  if (any) indicator.status = StatusOf(indicator.value, indicator.threshold);
  return indicator;
}

ScopeHealth Finish(HealthScope scope, std::string kind,
                   std::vector<std::optional<IndicatorValue>> indicators) {
  ScopeHealth health;
  health.scope = std::move(scope);
  health.kind = std::move(kind);
  for (std::optional<IndicatorValue>& indicator : indicators) {
    if (indicator.has_value()) health.indicators.push_back(*std::move(indicator));
  }
  health.status = HealthStatus::kUnknown;
  for (const IndicatorValue& indicator : health.indicators) {
    health.status = WorseStatus(health.status, indicator.status);
  }
  return health;
}

}  // namespace

const std::vector<IndicatorThreshold>& DefaultIndicatorThresholds() {
  static const auto* kDefaults = new std::vector<IndicatorThreshold>{
      {"latency_p95", "s", 0.5, 2, kHigher},
      {"error_rate", "ratio", 0.01, 0.05, kHigher},
      {"cpu_utilization", "ratio", 0.70, 0.85, kHigher},
      {"memory_utilization", "ratio", 0.80, 0.90, kHigher},
      {"processing_lag", "s", 60, 300, kHigher},
      {"workflow_success_rate", "ratio", 0.95, 0.90, kLower},
      {"workflow_duration_p95", "s", 300, 600, kHigher},
      {"agent_execution_time_p95", "s", 30, 60, kHigher},
      {"agent_retry_rate", "ratio", 0.10, 0.20, kHigher},
      {"model_latency_p95", "s", 10, 20, kHigher},
      {"throttling_rate", "ratio", 0.01, 0.05, kHigher},
      {"model_error_rate", "ratio", 0.02, 0.05, kHigher},
  };
  return *kDefaults;
}

const IndicatorThreshold* FindDefaultThreshold(absl::string_view name) {
  for (const IndicatorThreshold& threshold : DefaultIndicatorThresholds()) {
    if (threshold.name == name) return &threshold;
  }
  return nullptr;
}

HealthStatus StatusOf(double value, const IndicatorThreshold& threshold) {
  if (threshold.direction == Direction::kLowerIsWorse) {
    if (value <= threshold.critical) return HealthStatus::kCritical;
    if (value <= threshold.warning) return HealthStatus::kWarning;
    return HealthStatus::kHealthy;
  }
  if (value >= threshold.critical) return HealthStatus::kCritical;
  if (value >= threshold.warning) return HealthStatus::kWarning;
  return HealthStatus::kHealthy;
}

HealthStatus WorseStatus(HealthStatus a, HealthStatus b) {
  auto rank = [](HealthStatus s) {
    switch (s) {
      case HealthStatus::kHealthy:
        return 1;
      case HealthStatus::kWarning:
        return 2;
      case HealthStatus::kCritical:
        return 3;
      case HealthStatus::kUnknown:
      case HealthStatus::kUnspecified:
        break;
    }
    return 0;
  };
  if (rank(a) == 0 && rank(b) == 0) {
    return a == HealthStatus::kUnknown || b == HealthStatus::kUnknown ? HealthStatus::kUnknown : a;
  }
  return rank(a) >= rank(b) ? a : b;
}

absl::StatusOr<absl::Duration> HealthWindow(std::optional<absl::Duration> requested) {
  if (!requested.has_value()) return absl::Minutes(5);
  if (*requested < absl::Minutes(1) || *requested > absl::Hours(24)) {
    return common::InvalidField("window", "must be from 1m to 24h");
  }
  return *requested;
}

absl::Status ValidateHealthScope(const HealthScope& scope) {
  auto text = [](const std::string& field, const std::string& value) -> absl::Status {
    if (value.size() > kMaxLabelValueBytes) {
      return common::InvalidField(field,
                                  absl::StrCat("longer than ", kMaxLabelValueBytes, " bytes"));
    }
    if (value.find('\0') != std::string::npos) {
      return common::InvalidField(field, "must not contain NUL characters");
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(text("scope.tenant", scope.tenant));
  RETURN_IF_ERROR(text("scope.team", scope.team));
  RETURN_IF_ERROR(text("scope.workflow", scope.workflow));
  RETURN_IF_ERROR(text("scope.agent", scope.agent));
  RETURN_IF_ERROR(text("scope.model", scope.model));
  RETURN_IF_ERROR(text("scope.provider", scope.provider));
  RETURN_IF_ERROR(text("scope.service", scope.service));
  if (scope.tags.size() > kMaxScopeTags) {
    return common::InvalidField("scope.tags",
                                absl::StrCat(scope.tags.size(), " tags, at most ", kMaxScopeTags));
  }
  for (const auto& [key, value] : scope.tags) {
    if (!IsValidLabelName(key)) {
      return common::InvalidField(
          "scope.tags",
          absl::StrCat("invalid key \"", key, "\" (must match [a-zA-Z_][a-zA-Z0-9_]*)"));
    }
    RETURN_IF_ERROR(text(absl::StrCat("scope.tags[", key, "]"), value));
  }
  return absl::OkStatus();
}

Labels ScopeLabelFilter(const HealthScope& scope) {
  Labels filter = scope.tags;
  auto set = [&filter](const char* name, const std::string& value) {
    if (!value.empty()) filter[name] = value;
  };
  set(kLabelTenant, scope.tenant);
  set(kLabelTeam, scope.team);
  set(kLabelWorkflow, scope.workflow);
  set(kLabelAgent, scope.agent);
  set(kLabelModel, scope.model);
  set(kLabelProvider, scope.provider);
  set("service", scope.service);
  return filter;
}

const std::vector<std::string>& HealthMetrics() {
  static const auto* kMetrics = new std::vector<std::string>{
      kWorkflowRunsTotal, kAgentExecutionsTotal,   kAgentRetriesTotal,        kLlmCallsTotal,
      kLlmThrottledTotal, kResourceCpuUtilization, kResourceMemoryUtilization};
  return *kMetrics;
}

const std::vector<std::string>& HealthSketchMetrics() {
  static const auto* kMetrics = new std::vector<std::string>{
      kLlmTimeToFirstTokenSeconds, kWorkflowDurationSeconds, kAgentExecutionSeconds,
      kLlmLatencySeconds, kResourceProcessingLagSeconds};
  return *kMetrics;
}

HealthReport ComputeHealth(const HealthScope& scope, const std::vector<HealthRow>& rows,
                           absl::Time as_of) {
  return ComputeHealth(scope, rows, {}, ThresholdResolver(), as_of);
}

HealthReport ComputeHealth(const HealthScope& scope, const std::vector<HealthRow>& rows,
                           const std::vector<HealthSketchRow>& sketches, absl::Time as_of) {
  return ComputeHealth(scope, rows, sketches, ThresholdResolver(), as_of);
}

HealthReport ComputeHealth(const HealthScope& scope, const std::vector<HealthRow>& rows,
                           const std::vector<HealthSketchRow>& sketches,
                           const ThresholdResolver& thresholds, absl::Time as_of) {
  // Entries are per tenant only when the request spans tenants.
  const bool per_tenant = scope.tenant.empty();
  Tally overall;
  std::map<std::tuple<std::string, std::string>, Tally> agents;
  std::map<std::tuple<std::string, std::string>, Tally> workflows;
  std::map<std::tuple<std::string, std::string, std::string>, Tally> models;
  for (const HealthRow& row : rows) {
    overall.Add(row);
    const std::string tenant = per_tenant ? row.tenant : scope.tenant;
    if (row.metric == kAgentExecutionsTotal || row.metric == kAgentRetriesTotal) {
      agents[{tenant, row.agent}].Add(row);
    } else if (row.metric == kWorkflowRunsTotal) {
      workflows[{tenant, row.workflow}].Add(row);
    } else if (row.metric == kLlmCallsTotal || row.metric == kLlmThrottledTotal) {
      models[{tenant, row.provider, row.model}].Add(row);
    }
  }
  Latencies overall_latency;
  std::map<std::tuple<std::string, std::string>, Latencies> agent_latency;
  std::map<std::tuple<std::string, std::string>, Latencies> workflow_latency;
  std::map<std::tuple<std::string, std::string, std::string>, Latencies> model_latency;
  for (const HealthSketchRow& row : sketches) {
    overall_latency.Add(row);
    const std::string tenant = per_tenant ? row.tenant : scope.tenant;
    if (row.metric == kAgentExecutionSeconds) {
      agent_latency[{tenant, row.agent}].Add(row);
    } else if (row.metric == kWorkflowDurationSeconds) {
      workflow_latency[{tenant, row.workflow}].Add(row);
    } else if (row.metric == kLlmLatencySeconds || row.metric == kLlmTimeToFirstTokenSeconds) {
      model_latency[{tenant, row.provider, row.model}].Add(row);
    }
  }
  static const Latencies kNoLatency;
  auto latency_of = [](const auto& map, const auto& key) -> const Latencies& {
    const auto it = map.find(key);
    return it == map.end() ? kNoLatency : it->second;
  };

  HealthReport report;
  report.as_of = as_of;
  const Judge overall_judge(thresholds, scope);
  report.scopes.push_back(Finish(
      scope, "overall",
      {Ratio(
           overall_judge, "error_rate",
           static_cast<double>(overall.workflow_errors + overall.agent_errors + overall.llm_errors),
           overall.workflow_runs + overall.agent_executions + overall.llm_calls),
       Ratio(overall_judge, "workflow_success_rate",
             static_cast<double>(overall.workflow_runs - overall.workflow_errors),
             overall.workflow_runs),
       Ratio(overall_judge, "agent_retry_rate", overall.retries, overall.retry_samples),
       Ratio(overall_judge, "model_error_rate", static_cast<double>(overall.llm_errors),
             overall.llm_calls),
       Ratio(overall_judge, "throttling_rate", overall.throttled, overall.throttle_samples),
       P95(overall_judge, "latency_p95", overall_latency.first_token),
       P95(overall_judge, "workflow_duration_p95", overall_latency.workflow_duration),
       P95(overall_judge, "agent_execution_time_p95", overall_latency.agent_execution),
       P95(overall_judge, "model_latency_p95", overall_latency.llm_latency),
       P95(overall_judge, "processing_lag", overall_latency.processing_lag),
       HottestComponent(overall_judge, "cpu_utilization", overall.cpu),
       HottestComponent(overall_judge, "memory_utilization", overall.memory)}));
  for (const auto& [key, tally] : agents) {
    HealthScope entry = scope;
    entry.tenant = std::get<0>(key);
    entry.agent = std::get<1>(key);
    const Judge judge(thresholds, entry);
    report.scopes.push_back(Finish(
        std::move(entry), "agent",
        {Ratio(judge, "error_rate", static_cast<double>(tally.agent_errors),
               tally.agent_executions),
         Ratio(judge, "agent_retry_rate", tally.retries, tally.retry_samples),
         P95(judge, "agent_execution_time_p95", latency_of(agent_latency, key).agent_execution)}));
  }
  for (const auto& [key, tally] : workflows) {
    HealthScope entry = scope;
    entry.tenant = std::get<0>(key);
    entry.workflow = std::get<1>(key);
    const Judge judge(thresholds, entry);
    report.scopes.push_back(
        Finish(std::move(entry), "workflow",
               {Ratio(judge, "error_rate", static_cast<double>(tally.workflow_errors),
                      tally.workflow_runs),
                Ratio(judge, "workflow_success_rate",
                      static_cast<double>(tally.workflow_runs - tally.workflow_errors),
                      tally.workflow_runs),
                P95(judge, "workflow_duration_p95",
                    latency_of(workflow_latency, key).workflow_duration)}));
  }
  for (const auto& [key, tally] : models) {
    HealthScope entry = scope;
    entry.tenant = std::get<0>(key);
    entry.provider = std::get<1>(key);
    entry.model = std::get<2>(key);
    const Judge judge(thresholds, entry);
    report.scopes.push_back(Finish(
        std::move(entry), "model",
        {Ratio(judge, "model_error_rate", static_cast<double>(tally.llm_errors), tally.llm_calls),
         Ratio(judge, "throttling_rate", tally.throttled, tally.throttle_samples),
         P95(judge, "model_latency_p95", latency_of(model_latency, key).llm_latency),
         P95(judge, "latency_p95", latency_of(model_latency, key).first_token)}));
  }
  report.overall_status = HealthStatus::kUnknown;
  for (const ScopeHealth& entry : report.scopes) {
    report.overall_status = WorseStatus(report.overall_status, entry.status);
  }
  return report;
}

}  // namespace agentwatch::monitor
