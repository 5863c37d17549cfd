#include "cost/core/performance.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "cost/core/money.h"

namespace agentwatch::cost {
namespace {

using common::InvalidField;

// Slack for comparing rates and latencies computed in floating point (they
// are performance figures, never money).
constexpr double kEpsilon = 1e-9;

double RunSuccessRate(const ReportFigures& f) {
  return f.workflow_runs == 0
             ? 0.0
             : static_cast<double>(f.successful_runs) / static_cast<double>(f.workflow_runs);
}

std::string Percent(double ratio) { return absl::StrFormat("%.1f%%", ratio * 100.0); }

std::string Seconds(absl::Duration d) { return absl::StrFormat("%.3fs", absl::ToDoubleSeconds(d)); }

std::string ModelName(const PerformanceKey& key) {
  return absl::StrCat(key.provider, "/", key.model);
}

// The group's cost with its LLM part replaced by `llm_cost`.
absl::StatusOr<int64_t> WithLlmCost(const ReportFigures& f, int64_t llm_cost) {
  NanoSum sum;
  sum.Add(f.cost_nano_usd);
  sum.Add(-f.llm_cost_nano_usd);
  sum.Add(llm_cost);
  return sum.Value();
}

}  // namespace

absl::Status ValidateTolerances(const PerformanceTolerances& tolerances) {
  if (!(tolerances.success_rate >= 0.0 && tolerances.success_rate <= 1.0)) {
    return InvalidField("success_rate_tolerance", "must be in [0, 1]");
  }
  if (!(tolerances.latency >= 0.0 && tolerances.latency <= 10.0)) {
    return InvalidField("latency_tolerance", "must be in [0, 10]");
  }
  if (tolerances.min_calls < 0) return InvalidField("min_calls", "must be >= 0");
  return absl::OkStatus();
}

double CallSuccessRate(const GroupPerformance& performance) {
  return performance.calls == 0
             ? 0.0
             : static_cast<double>(performance.succeeded) / static_cast<double>(performance.calls);
}

absl::StatusOr<int64_t> RepriceTokens(const ModelPrice& price, const ReportFigures& figures) {
  const int64_t average_input =
      figures.calls > 0 ? figures.input_tokens / figures.calls : figures.input_tokens;
  ModelPrice flat;
  flat.base = EffectiveTokenPrices(price, average_input);
  const LlmTokens tokens{figures.input_tokens, figures.output_tokens, figures.cached_input_tokens,
                         figures.cache_creation_tokens};
  RETURN_IF_ERROR(ValidateLlmTokens(tokens, "tokens"));
  return LlmCost(flat, tokens);
}

absl::StatusOr<std::vector<CostPerformanceResult>> CompareCostPerformance(
    const std::vector<CostGroup>& groups, const PerformanceMap* performance,
    absl::string_view unavailable_reason, const CurrentPrices& prices, bool model_grouped,
    const PerformanceTolerances& tolerances) {
  auto perf_of = [&](const PerformanceKey& key) -> const GroupPerformance* {
    if (performance == nullptr) return nullptr;
    auto it = performance->find(key);
    return it == performance->end() || it->second.calls == 0 ? nullptr : &it->second;
  };
  auto price_of = [&](const PerformanceKey& key) -> const ModelPrice* {
    auto it = prices.find({key.provider, key.model});
    return it == prices.end() ? nullptr : &it->second;
  };
  // A group's performance qualifies it for a comparison.
  auto comparable = [&](const GroupPerformance* p) {
    return p != nullptr && p->calls >= tolerances.min_calls && p->p95_latency.has_value();
  };
  const std::string criteria = absl::StrFormat(
      "call success within %.1f pp, p95 latency within %.0f%%, at least %d calls",
      tolerances.success_rate * 100.0, tolerances.latency * 100.0, tolerances.min_calls);

  std::vector<CostPerformanceResult> rows;
  rows.reserve(groups.size());
  for (const CostGroup& group : groups) {
    CostPerformanceResult row;
    row.key = group.key;
    row.figures = group.figures;
    const GroupPerformance* own = perf_of(group.key);
    if (own != nullptr) row.performance = *own;
    if (performance == nullptr) {
      row.reason = absl::StrCat("performance unavailable: ", unavailable_reason);
    } else if (!model_grouped) {
      row.reason = "group by MODEL to compare models";
    } else if (group.key.model.empty()) {
      row.reason = "no LLM model (infrastructure usage or run outcomes)";
    } else if (own == nullptr || own->calls < tolerances.min_calls) {
      row.reason = absl::StrCat("too few calls in monitor (", own == nullptr ? 0 : own->calls,
                                " < ", tolerances.min_calls, ")");
    } else if (!own->p95_latency.has_value()) {
      row.reason = "no call latency in monitor";
    } else if (group.figures.unpriced_calls > 0) {
      row.reason = "the group has unpriced calls (unknown model price)";
    } else if (group.figures.calls == 0) {
      row.reason = "no LLM calls in the ledger";
    } else {
      int64_t baseline = group.figures.llm_cost_nano_usd;
      if (const ModelPrice* own_price = price_of(group.key); own_price != nullptr) {
        ASSIGN_OR_RETURN(baseline, RepriceTokens(*own_price, group.figures));
      }
      const double own_rate = CallSuccessRate(*own);
      const double own_p95 = absl::ToDoubleSeconds(*own->p95_latency);
      const CostGroup* best = nullptr;
      const GroupPerformance* best_perf = nullptr;
      int64_t best_cost = 0;
      for (const CostGroup& other : groups) {
        const PerformanceKey& k = other.key;
        if (k.model.empty() || k.workflow != group.key.workflow || k.agent != group.key.agent ||
            (k.provider == group.key.provider && k.model == group.key.model)) {
          continue;
        }
        const GroupPerformance* p = perf_of(k);
        const ModelPrice* price = price_of(k);
        if (!comparable(p) || price == nullptr) continue;
        if (CallSuccessRate(*p) + tolerances.success_rate + kEpsilon < own_rate) continue;
        if (absl::ToDoubleSeconds(*p->p95_latency) >
            own_p95 * (1.0 + tolerances.latency) + kEpsilon) {
          continue;
        }
        if (group.figures.workflow_runs > 0 && other.figures.workflow_runs > 0 &&
            RunSuccessRate(other.figures) + tolerances.success_rate + kEpsilon <
                RunSuccessRate(group.figures)) {
          continue;
        }
        ASSIGN_OR_RETURN(const int64_t cost, RepriceTokens(*price, group.figures));
        if (cost >= baseline) continue;
        if (best == nullptr || cost < best_cost || (cost == best_cost && k < best->key)) {
          best = &other;
          best_perf = p;
          best_cost = cost;
        }
      }
      if (best == nullptr) {
        row.reason =
            absl::StrCat("no cheaper model performs as well in the same use (", criteria, ")");
      } else {
        ModelSuggestion s;
        s.provider = best->key.provider;
        s.model = best->key.model;
        s.llm_cost_nano_usd = best_cost;
        ASSIGN_OR_RETURN(const int64_t replaced, WithLlmCost(group.figures, best_cost));
        s.cost_per_successful_run_nano_usd = CostPerRun(replaced, group.figures.successful_runs);
        s.cost_per_call_nano_usd = CostPerRun(replaced, group.figures.calls);
        s.saving_nano_usd = baseline - best_cost;
        s.performance = *best_perf;
        row.reason = absl::StrCat(
            ModelName(best->key), " would have cost ", FormatUsd(best_cost), " USD instead of ",
            FormatUsd(baseline), " USD for this token mix (saving ", FormatUsd(s.saving_nano_usd),
            " USD, ",
            Percent(static_cast<double>(s.saving_nano_usd) / static_cast<double>(baseline)),
            "); call success ", Percent(CallSuccessRate(*best_perf)), " vs ", Percent(own_rate),
            ", p95 latency ", Seconds(*best_perf->p95_latency), " vs ", Seconds(*own->p95_latency),
            " (", criteria, ")");
        row.suggestion = std::move(s);
      }
    }
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(),
            [](const CostPerformanceResult& a, const CostPerformanceResult& b) {
              if (a.figures.cost_nano_usd != b.figures.cost_nano_usd) {
                return a.figures.cost_nano_usd > b.figures.cost_nano_usd;
              }
              return a.key < b.key;
            });
  return rows;
}

}  // namespace agentwatch::cost
