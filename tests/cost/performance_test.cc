// Unit tests of the cost-performance core: repricing a token mix (tiers by
// the average call), the "a cheaper model would serve as well" rule with its
// tolerances, and the rows without monitor.
#include "cost/core/performance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/status_matchers.h"

namespace agentwatch::cost {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;

ModelPrice Price(int64_t input, int64_t output) {
  ModelPrice p;
  p.base.input = input;
  p.base.output = output;
  return p;
}

// 100 calls, 100,000 input and 50,000 output tokens, 10 runs all successful.
ReportFigures Mix(int64_t llm_cost, int64_t infra_cost = 0) {
  ReportFigures f;
  f.calls = 100;
  f.input_tokens = 100'000;
  f.output_tokens = 50'000;
  f.llm_cost_nano_usd = llm_cost;
  f.infra_cost_nano_usd = infra_cost;
  f.cost_nano_usd = llm_cost + infra_cost;
  f.workflow_runs = 10;
  f.successful_runs = 10;
  return f;
}

PerformanceKey Key(std::string model, std::string workflow = "w", std::string agent = "a") {
  return {std::move(workflow), std::move(agent), "openai", std::move(model)};
}

GroupPerformance Perf(int64_t calls, int64_t succeeded, double p95_seconds) {
  return {calls, succeeded, absl::Seconds(p95_seconds)};
}

class CompareTest : public ::testing::Test {
 protected:
  CompareTest() {
    prices_[{"openai", "gpt-4o"}] = Price(2'500'000'000, 10'000'000'000);
    prices_[{"openai", "gpt-4o-mini"}] = Price(150'000'000, 600'000'000);
    prices_[{"openai", "gpt-4.1"}] = Price(1'000'000'000, 4'000'000'000);
    // The actual costs of the shared mix at those prices.
    groups_.push_back({Key("gpt-4o"), Mix(750'000'000)});
    groups_.push_back({Key("gpt-4o-mini"), Mix(45'000'000)});
    groups_.push_back({Key("gpt-4.1"), Mix(300'000'000)});
    perf_[Key("gpt-4o")] = Perf(100, 99, 2.0);
    perf_[Key("gpt-4o-mini")] = Perf(100, 98, 2.2);  // exactly at both tolerances
    perf_[Key("gpt-4.1")] = Perf(100, 100, 1.0);
  }

  const CostPerformanceResult& Row(const std::vector<CostPerformanceResult>& rows,
                                   const std::string& model) {
    for (const CostPerformanceResult& r : rows) {
      if (r.key.model == model) return r;
    }
    ADD_FAILURE() << "no row for " << model;
    return rows.front();
  }

  absl::StatusOr<std::vector<CostPerformanceResult>> Compare(bool model_grouped = true) {
    return CompareCostPerformance(groups_, &perf_, "", prices_, model_grouped, tolerances_);
  }

  CurrentPrices prices_;
  std::vector<CostGroup> groups_;
  PerformanceMap perf_;
  PerformanceTolerances tolerances_;
};

TEST(RepriceTokensTest, PricesEveryKindOnceAtTheTierOfTheAverageCall) {
  ModelPrice p = Price(1'000'000'000, 2'000'000'000);
  p.base.cache_read = 100'000'000;
  p.base.cache_creation = 1'250'000'000;
  p.tiers.push_back({200'000, {2'000'000'000, 4'000'000'000, 0, 0}});
  ReportFigures f;
  f.calls = 5;  // 100,000 input tokens per call: base prices
  f.input_tokens = 500'000;
  f.cached_input_tokens = 100'000;
  f.cache_creation_tokens = 100'000;
  f.output_tokens = 10'001;
  // 300,000 x 1000 + 100,000 x 100 + 100,000 x 1250 + 10,001 x 2000 (nano per
  // million) = 0.3 + 0.01 + 0.125 + 0.020002 USD.
  EXPECT_THAT(RepriceTokens(p, f), IsOkAndHolds(455'002'000));
  f.calls = 2;  // 250,000 per call: the tier (its 0 cache prices are the base's)
  EXPECT_THAT(RepriceTokens(p, f),
              IsOkAndHolds(300'000 * 2'000 + 100'000 * 100 + 100'000 * 1'250 + 10'001 * 4'000));
  ReportFigures bad = f;
  bad.cached_input_tokens = 600'000;
  EXPECT_THAT(RepriceTokens(p, bad), StatusIs(absl::StatusCode::kInvalidArgument));
  ReportFigures rounding;  // 3 tokens at 1 nano-USD per million: 3e-6 -> 0
  rounding.calls = 1;
  rounding.input_tokens = 3;
  EXPECT_THAT(RepriceTokens(Price(1, 0), rounding), IsOkAndHolds(0));
  rounding.input_tokens = 500'000;  // 0.5 nano-USD rounds half away from zero
  EXPECT_THAT(RepriceTokens(Price(1, 0), rounding), IsOkAndHolds(1));
}

TEST(ValidateTolerancesTest, NamesTheField) {
  EXPECT_THAT(ValidateTolerances({}), IsOk());
  EXPECT_THAT(ValidateTolerances({1.5, 0.1, 20}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("success_rate_tolerance")));
  EXPECT_THAT(ValidateTolerances({std::nan(""), 0.1, 20}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("success_rate_tolerance")));
  EXPECT_THAT(ValidateTolerances({0.01, -0.1, 20}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("latency_tolerance")));
  EXPECT_THAT(ValidateTolerances({0.01, 11, 20}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("latency_tolerance")));
  EXPECT_THAT(ValidateTolerances({0.01, 0.1, -1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("min_calls")));
}

TEST_F(CompareTest, SuggestsTheCheapestModelThatPerformsAsWell) {
  auto rows = Compare();
  ASSERT_THAT(rows, IsOk());
  ASSERT_THAT(*rows, SizeIs(3));
  // Ordered by cost descending.
  EXPECT_EQ((*rows)[0].key.model, "gpt-4o");
  EXPECT_EQ((*rows)[1].key.model, "gpt-4.1");
  EXPECT_EQ((*rows)[2].key.model, "gpt-4o-mini");
  const CostPerformanceResult& big = Row(*rows, "gpt-4o");
  ASSERT_TRUE(big.suggestion.has_value()) << big.reason;
  EXPECT_EQ(big.suggestion->provider, "openai");
  EXPECT_EQ(big.suggestion->model, "gpt-4o-mini");
  EXPECT_EQ(big.suggestion->llm_cost_nano_usd, 45'000'000);
  EXPECT_EQ(big.suggestion->saving_nano_usd, 705'000'000);
  EXPECT_EQ(big.suggestion->cost_per_successful_run_nano_usd, 4'500'000);
  EXPECT_EQ(big.suggestion->cost_per_call_nano_usd, 450'000);
  EXPECT_EQ(big.suggestion->performance.calls, 100);
  EXPECT_THAT(big.reason, StartsWith("openai/gpt-4o-mini would have cost 0.045000000 USD instead "
                                     "of 0.750000000 USD"));
  EXPECT_THAT(big.reason, HasSubstr("saving 0.705000000 USD, 94.0%"));
  EXPECT_THAT(big.reason, HasSubstr("call success 98.0% vs 99.0%"));
  ASSERT_TRUE(big.performance.has_value());
  EXPECT_EQ(big.performance->succeeded, 99);
  // gpt-4.1 is better on both counts but dearer than mini, which fails 4.1's
  // success rate (98 % < 100 % - 1 pp): no suggestion for it.
  const CostPerformanceResult& mid = Row(*rows, "gpt-4.1");
  EXPECT_FALSE(mid.suggestion.has_value());
  EXPECT_THAT(mid.reason, StartsWith("no cheaper model performs as well"));
  EXPECT_THAT(mid.reason, HasSubstr("call success within 1.0 pp, p95 latency within 10%, at "
                                    "least 20 calls"));
  EXPECT_FALSE(Row(*rows, "gpt-4o-mini").suggestion.has_value());
}

TEST_F(CompareTest, CandidatesOutsideTheTolerancesAreSkipped) {
  perf_[Key("gpt-4o-mini")] = Perf(100, 97, 1.0);  // success 97 % < 99 % - 1 pp
  auto rows = Compare();
  ASSERT_THAT(rows, IsOk());
  ASSERT_TRUE(Row(*rows, "gpt-4o").suggestion.has_value());
  EXPECT_EQ(Row(*rows, "gpt-4o").suggestion->model, "gpt-4.1");
  EXPECT_EQ(Row(*rows, "gpt-4o").suggestion->saving_nano_usd, 450'000'000);

  perf_[Key("gpt-4o-mini")] = Perf(100, 100, 2.21);  // p95 > 2 s + 10 %
  perf_[Key("gpt-4.1")] = Perf(19, 19, 1.0);         // fewer than min_calls
  rows = Compare();
  ASSERT_THAT(rows, IsOk());
  EXPECT_FALSE(Row(*rows, "gpt-4o").suggestion.has_value());
  EXPECT_THAT(Row(*rows, "gpt-4.1").reason, HasSubstr("too few calls in monitor (19 < 20)"));

  tolerances_.latency = 0.2;  // a looser latency tolerance lets mini in
  rows = Compare();
  ASSERT_THAT(rows, IsOk());
  ASSERT_TRUE(Row(*rows, "gpt-4o").suggestion.has_value());
  EXPECT_EQ(Row(*rows, "gpt-4o").suggestion->model, "gpt-4o-mini");
}

TEST_F(CompareTest, RunSuccessCountsWhenBothHaveRuns) {
  groups_[1].figures.successful_runs = 5;  // mini: 50 % of its runs succeeded
  auto rows = Compare();
  ASSERT_THAT(rows, IsOk());
  ASSERT_TRUE(Row(*rows, "gpt-4o").suggestion.has_value());
  EXPECT_EQ(Row(*rows, "gpt-4o").suggestion->model, "gpt-4.1");
  groups_[1].figures.workflow_runs = 0;  // no run outcomes for mini: calls decide
  groups_[1].figures.successful_runs = 0;
  rows = Compare();
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ(Row(*rows, "gpt-4o").suggestion->model, "gpt-4o-mini");
}

TEST_F(CompareTest, OnlyComparableUseAndPricedModelsCompete) {
  groups_[1].key = Key("gpt-4o-mini", "other-workflow");
  perf_[groups_[1].key] = perf_[Key("gpt-4o-mini")];
  prices_.erase({"openai", "gpt-4.1"});  // no current price: cannot be priced
  auto rows = Compare();
  ASSERT_THAT(rows, IsOk());
  EXPECT_FALSE(Row(*rows, "gpt-4o").suggestion.has_value());
}

TEST_F(CompareTest, SavingIsMeasuredAtCurrentPrices) {
  // gpt-4o was cheaper when used (actual 100,000,000) but now costs 750,000,000
  // for the mix: the saving compares current prices.
  groups_[0].figures = Mix(100'000'000);
  auto rows = Compare();
  ASSERT_THAT(rows, IsOk());
  ASSERT_TRUE(Row(*rows, "gpt-4o").suggestion.has_value());
  EXPECT_EQ(Row(*rows, "gpt-4o").suggestion->saving_nano_usd, 705'000'000);
  // Without a current price of its own the actual cost is the baseline.
  prices_.erase({"openai", "gpt-4o"});
  rows = Compare();
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ(Row(*rows, "gpt-4o").suggestion->saving_nano_usd, 55'000'000);
}

TEST_F(CompareTest, InfraCostIsKeptInTheSuggestedPerRunCost) {
  groups_[0].figures = Mix(750'000'000, 5'000'000);
  auto rows = Compare();
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ(Row(*rows, "gpt-4o").suggestion->cost_per_successful_run_nano_usd, 5'000'000);
}

TEST_F(CompareTest, RowsWithoutASuggestionSayWhy) {
  groups_.push_back({PerformanceKey{"w", "a", "", ""}, Mix(0, 7)});  // infrastructure only
  groups_[0].figures.unpriced_calls = 1;
  perf_[Key("gpt-4.1")].p95_latency.reset();
  auto rows = Compare();
  ASSERT_THAT(rows, IsOk());
  EXPECT_THAT(Row(*rows, "").reason, HasSubstr("no LLM model"));
  EXPECT_THAT(Row(*rows, "gpt-4o").reason, HasSubstr("unpriced calls"));
  EXPECT_THAT(Row(*rows, "gpt-4.1").reason, HasSubstr("no call latency"));

  rows = Compare(/*model_grouped=*/false);
  ASSERT_THAT(rows, IsOk());
  for (const CostPerformanceResult& r : *rows) {
    EXPECT_EQ(r.reason, "group by MODEL to compare models");
    EXPECT_FALSE(r.suggestion.has_value());
  }
}

TEST_F(CompareTest, WithoutMonitorRowsCarryCostOnly) {
  auto rows = CompareCostPerformance(groups_, nullptr, "monitor at x is unavailable", prices_, true,
                                     tolerances_);
  ASSERT_THAT(rows, IsOk());
  ASSERT_THAT(*rows, SizeIs(3));
  for (const CostPerformanceResult& r : *rows) {
    EXPECT_FALSE(r.performance.has_value());
    EXPECT_FALSE(r.suggestion.has_value());
    EXPECT_EQ(r.reason, "performance unavailable: monitor at x is unavailable");
  }
  EXPECT_EQ((*rows)[0].figures.cost_nano_usd, 750'000'000);
}

}  // namespace
}  // namespace agentwatch::cost
