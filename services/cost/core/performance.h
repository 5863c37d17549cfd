// Cost versus performance: joins the ledger's figures per workflow, agent
// and model with the LLM-call performance monitor measured for the same
// groups, and finds where a cheaper model would serve as well. Pure; Abseil
// only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cost/core/price.h"
#include "cost/core/report.h"

namespace agentwatch::cost {

// A group of a cost-performance view: the values of the grouped dimensions
// ("" for those not grouped). provider is set exactly when model is grouped;
// model is in catalog spelling (CanonicalModel).
struct PerformanceKey {
  std::string workflow;
  std::string agent;
  std::string provider;
  std::string model;

  bool operator<(const PerformanceKey& other) const {
    return std::tie(workflow, agent, provider, model) <
           std::tie(other.workflow, other.agent, other.provider, other.model);
  }
  bool operator==(const PerformanceKey& other) const {
    return std::tie(workflow, agent, provider, model) ==
           std::tie(other.workflow, other.agent, other.provider, other.model);
  }
};

// LLM-call performance of one group over the range, as monitor measured it.
struct GroupPerformance {
  int64_t calls = 0;      // calls counted
  int64_t succeeded = 0;  // of those, succeeded
  // p95 of the call latency; unset when no call carried a latency.
  std::optional<absl::Duration> p95_latency;
};

// Performance by group.
using PerformanceMap = std::map<PerformanceKey, GroupPerformance>;

// When a model performs as well (see cost.proto GetCostPerformanceRequest).
struct PerformanceTolerances {
  double success_rate = 0.01;  // absolute, in [0, 1]
  double latency = 0.10;       // relative, in [0, 10]
  int64_t min_calls = 20;      // >= 0
};

// Checks tolerances: INVALID_ARGUMENT naming success_rate_tolerance,
// latency_tolerance or min_calls (also for NaN).
absl::Status ValidateTolerances(const PerformanceTolerances& tolerances);

// One group's ledger figures.
struct CostGroup {
  PerformanceKey key;
  ReportFigures figures;
};

// A cheaper model for a group.
struct ModelSuggestion {
  std::string provider;
  std::string model;
  // The group's LLM token mix at the suggested model's current price.
  int64_t llm_cost_nano_usd = 0;
  // The group's cost with the LLM part replaced, per successful run (0
  // without successful runs) and per call.
  int64_t cost_per_successful_run_nano_usd = 0;
  int64_t cost_per_call_nano_usd = 0;
  // Baseline (the mix at the group's own current price, else its actual LLM
  // cost) minus llm_cost_nano_usd; > 0.
  int64_t saving_nano_usd = 0;
  // The suggested model's performance.
  GroupPerformance performance;
};

// One row of the view.
struct CostPerformanceResult {
  PerformanceKey key;
  ReportFigures figures;
  // Set when monitor counted calls for the group.
  std::optional<GroupPerformance> performance;
  std::optional<ModelSuggestion> suggestion;
  // Why a model is suggested, or why none is.
  std::string reason;
};

// Current prices by (provider, model); a model without one is absent.
using CurrentPrices = std::map<std::pair<std::string, std::string>, ModelPrice>;

// The cost of `figures`' LLM tokens at `price`: the tier selected by the
// average input tokens per call (input / calls, rounded down; the total
// when calls is 0), every token kind summed at that tier's prices, rounded
// once (LlmCost). OUT_OF_RANGE on overflow; INVALID_ARGUMENT when the
// cached parts exceed the input.
absl::StatusOr<int64_t> RepriceTokens(const ModelPrice& price, const ReportFigures& figures);

// Builds the rows: every group of `groups` with its performance (from
// `performance`; null when monitor could not be asked, then the reason of
// every row is "performance unavailable: <unavailable_reason>") and, when
// `model_grouped`, the cheapest qualifying model (see cost.proto
// CostPerformanceRow). Rows come ordered by cost descending, then key.
// OUT_OF_RANGE when a repricing overflows.
absl::StatusOr<std::vector<CostPerformanceResult>> CompareCostPerformance(
    const std::vector<CostGroup>& groups, const PerformanceMap* performance,
    absl::string_view unavailable_reason, const CurrentPrices& prices, bool model_grouped,
    const PerformanceTolerances& tolerances);

// calls / succeeded as a rate in [0, 1]; 0 without calls.
double CallSuccessRate(const GroupPerformance& performance);

}  // namespace agentwatch::cost
