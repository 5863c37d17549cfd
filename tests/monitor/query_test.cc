#include "monitor/core/query.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "common/testing/status_matchers.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Pair;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'040);  // a whole minute

SeriesQueryRequest Request() {
  SeriesQueryRequest request;
  request.metric = "llm_calls_total";
  request.start = kNow - absl::Hours(1);
  return request;
}

TEST(NormalizeSeriesQueryTest, Defaults) {
  absl::StatusOr<SeriesQuery> query = NormalizeSeriesQuery(Request(), kNow);
  ASSERT_THAT(query, IsOk());
  EXPECT_EQ(query->end, kNow);
  EXPECT_EQ(query->step, absl::Minutes(1));
  EXPECT_EQ(query->aggregation, Aggregation::kSum);
  EXPECT_EQ(query->bucket_from, kNow - absl::Hours(1));
  EXPECT_TRUE(query->tenant.empty());
}

TEST(NormalizeSeriesQueryTest, BadFields) {
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  auto normalize = [](const std::function<void(SeriesQueryRequest&)>& mutate) {
    SeriesQueryRequest request = Request();
    mutate(request);
    return NormalizeSeriesQuery(request, kNow).status();
  };
  EXPECT_THAT(normalize([](SeriesQueryRequest& r) { r.metric.clear(); }),
              StatusIs(kInvalid, Eq("metric: required")));
  EXPECT_THAT(normalize([](SeriesQueryRequest& r) { r.metric = "bad metric"; }),
              StatusIs(kInvalid, ::testing::StartsWith("metric: must match")));
  EXPECT_THAT(normalize([](SeriesQueryRequest& r) { r.start.reset(); }),
              StatusIs(kInvalid, Eq("range.start: required")));
  EXPECT_THAT(normalize([](SeriesQueryRequest& r) { r.end = r.start; }),
              StatusIs(kInvalid, Eq("range.end: must be after range.start")));
  EXPECT_THAT(normalize([](SeriesQueryRequest& r) { r.start = kNow + absl::Minutes(1); }),
              StatusIs(kInvalid, Eq("range.end: must be after range.start")));
  for (absl::Duration step :
       {absl::Seconds(30), absl::Seconds(90), absl::ZeroDuration(), absl::Minutes(-1)}) {
    EXPECT_THAT(normalize([step](SeriesQueryRequest& r) { r.step = step; }),
                StatusIs(kInvalid, Eq("step: must be a whole number of minutes, at least 1m")))
        << step;
  }
  EXPECT_THAT(normalize([](SeriesQueryRequest& r) { r.step = absl::Minutes(15); }), IsOk());
  EXPECT_THAT(normalize([](SeriesQueryRequest& r) { r.aggregation = 42; }),
              StatusIs(kInvalid, Eq("aggregation: unknown value 42")));
  for (int quantile : {7, 8, 9}) {
    // Quantiles of a metric without sketches are refused naming the field.
    EXPECT_THAT(normalize([quantile](SeriesQueryRequest& r) { r.aggregation = quantile; }),
                StatusIs(kInvalid, HasSubstr("aggregation: quantiles are kept for")));
    EXPECT_THAT(normalize([quantile](SeriesQueryRequest& r) {
                  r.metric = "llm_latency_seconds";
                  r.aggregation = quantile;
                }),
                IsOk());
  }
  EXPECT_THAT(normalize([](SeriesQueryRequest& r) {
                r.matchers.push_back({"", MatchOp::kEqual, "x"});
              }),
              StatusIs(kInvalid, Eq("matchers[0].name: required")));
  EXPECT_THAT(normalize([](SeriesQueryRequest& r) {
                r.matchers.push_back({"model", MatchOp::kEqual, "x"});
                r.matchers.push_back({"model", MatchOp::kUnspecified, "x"});
              }),
              StatusIs(kInvalid, Eq("matchers[1].op: required")));
  EXPECT_THAT(normalize([](SeriesQueryRequest& r) {
                r.matchers.push_back({"model", static_cast<MatchOp>(7), "x"});
              }),
              StatusIs(kInvalid, Eq("matchers[0].op: unknown value 7")));
  EXPECT_THAT(normalize([](SeriesQueryRequest& r) {
                r.matchers.push_back({"mo-del", MatchOp::kEqual, "x"});
              }),
              StatusIs(kInvalid, ::testing::StartsWith("matchers[0].name: must match")));
  EXPECT_THAT(normalize([](SeriesQueryRequest& r) {
                r.group_by = {"model", "1x"};
              }),
              StatusIs(kInvalid, ::testing::StartsWith("group_by[1]: must match")));
}

TEST(NormalizeSeriesQueryTest, PointsPerSeriesLimit) {
  SeriesQueryRequest request = Request();
  request.start = kNow - absl::Minutes(11000);
  EXPECT_THAT(NormalizeSeriesQuery(request, kNow), IsOk());
  request.start = kNow - absl::Minutes(11000) - absl::Seconds(1);
  EXPECT_THAT(NormalizeSeriesQuery(request, kNow),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       ::testing::StartsWith("range / step: 11001 points per series")));
  request.step = absl::Minutes(2);
  EXPECT_THAT(NormalizeSeriesQuery(request, kNow), IsOk());
}

TEST(NormalizeSeriesQueryTest, DeduplicatesGroupBy) {
  SeriesQueryRequest request = Request();
  request.group_by = {"model", "provider", "model"};
  absl::StatusOr<SeriesQuery> query = NormalizeSeriesQuery(request, kNow);
  ASSERT_THAT(query, IsOk());
  EXPECT_THAT(query->group_by, ElementsAre("model", "provider"));
}

TEST(AlignDownTest, MultiplesOfStepSinceEpoch) {
  const absl::Time t = absl::FromUnixSeconds(3600 * 5 + 17 * 60 + 42);  // 05:17:42
  EXPECT_EQ(AlignDown(t, absl::Minutes(1)), absl::FromUnixSeconds(3600 * 5 + 17 * 60));
  EXPECT_EQ(AlignDown(t, absl::Minutes(15)), absl::FromUnixSeconds(3600 * 5 + 15 * 60));
  EXPECT_EQ(AlignDown(t, absl::Hours(1)), absl::FromUnixSeconds(3600 * 5));
  EXPECT_EQ(AlignDown(absl::FromUnixSeconds(7 * 60), absl::Minutes(7)),
            absl::FromUnixSeconds(7 * 60));
}

TEST(PointValueTest, EveryAggregation) {
  RollupStats stats;
  stats.Add(2);
  stats.Add(4);
  stats.Add(12);
  const absl::Duration step = absl::Minutes(2);
  EXPECT_EQ(PointValue(Aggregation::kSum, stats, step), 18);
  EXPECT_EQ(PointValue(Aggregation::kAvg, stats, step), 6);
  EXPECT_EQ(PointValue(Aggregation::kMin, stats, step), 2);
  EXPECT_EQ(PointValue(Aggregation::kMax, stats, step), 12);
  EXPECT_EQ(PointValue(Aggregation::kCount, stats, step), 3);
  EXPECT_DOUBLE_EQ(PointValue(Aggregation::kRate, stats, step), 18.0 / 120);
}

StepRow Step(std::vector<std::string> group, absl::Time at, double value) {
  StepRow row;
  row.group_values = std::move(group);
  row.step_start = at;
  row.stats.Add(value);
  return row;
}

TEST(AssembleSeriesTest, GroupsOrdersAndLabels) {
  SeriesQueryRequest request = Request();
  request.group_by = {"model", "provider"};
  request.aggregation = static_cast<int>(Aggregation::kSum);
  const SeriesQuery query = *NormalizeSeriesQuery(request, kNow);
  const absl::Time t0 = kNow - absl::Minutes(2);
  const absl::Time t1 = kNow - absl::Minutes(1);
  absl::StatusOr<std::vector<SeriesResult>> series =
      AssembleSeries(query, {Step({"b", "openai"}, t1, 3), Step({"a", ""}, t0, 1),
                             Step({"b", "openai"}, t0, 2), Step({"b", "openai"}, t1, 4)});
  ASSERT_THAT(series, IsOk());
  ASSERT_EQ(series->size(), 2u);
  EXPECT_THAT((*series)[0].labels,
              ElementsAre(Pair("__name__", "llm_calls_total"), Pair("model", "a")));
  ASSERT_EQ((*series)[0].points.size(), 1u);
  EXPECT_EQ((*series)[0].points[0].value, 1);
  EXPECT_THAT((*series)[1].labels, ElementsAre(Pair("__name__", "llm_calls_total"),
                                               Pair("model", "b"), Pair("provider", "openai")));
  ASSERT_EQ((*series)[1].points.size(), 2u);
  EXPECT_EQ((*series)[1].points[0].time, t0);
  EXPECT_EQ((*series)[1].points[0].value, 2);
  EXPECT_EQ((*series)[1].points[1].time, t1);
  EXPECT_EQ((*series)[1].points[1].value, 7);  // two rows of one step merge
}

TEST(AssembleSeriesTest, SeriesLimit) {
  SeriesQueryRequest request = Request();
  request.group_by = {"model"};
  const SeriesQuery query = *NormalizeSeriesQuery(request, kNow);
  std::vector<StepRow> rows;
  for (int i = 0; i <= kMaxSeriesPerAnswer; ++i) rows.push_back(Step({std::to_string(i)}, kNow, 1));
  EXPECT_THAT(AssembleSeries(query, rows),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       ::testing::StartsWith("more than 10000 series")));
  rows.pop_back();
  EXPECT_THAT(AssembleSeries(query, rows), IsOk());
}

TEST(MatchesAllTest, PrometheusSemantics) {
  auto regex = [](const std::string& value, const std::string& pattern) {
    return std::regex_match(value, std::regex(pattern));
  };
  const Labels labels = {{"model", "gpt-4o"}, {"provider", "openai"}};
  EXPECT_TRUE(MatchesAll({}, labels, regex));
  EXPECT_TRUE(MatchesAll({{"model", MatchOp::kEqual, "gpt-4o"}}, labels, regex));
  EXPECT_FALSE(MatchesAll({{"model", MatchOp::kNotEqual, "gpt-4o"}}, labels, regex));
  // An absent label equals "".
  EXPECT_TRUE(MatchesAll({{"team", MatchOp::kEqual, ""}}, labels, regex));
  EXPECT_FALSE(MatchesAll({{"team", MatchOp::kNotEqual, ""}}, labels, regex));
  EXPECT_TRUE(MatchesAll({{"model", MatchOp::kRegex, "gpt-4.*"}}, labels, regex));
  EXPECT_FALSE(MatchesAll({{"model", MatchOp::kRegex, "gpt"}}, labels, regex));
  EXPECT_TRUE(MatchesAll({{"model", MatchOp::kNotRegex, "claude.*"}}, labels, regex));
  EXPECT_FALSE(
      MatchesAll({{"model", MatchOp::kEqual, "gpt-4o"}, {"provider", MatchOp::kEqual, "anthropic"}},
                 labels, regex));
}

TEST(AssembleSeriesTest, QuantilesMergeSketchesPerGroupAndStep) {
  const absl::Time t0 = kNow - absl::Minutes(2);
  const absl::Time t1 = kNow - absl::Minutes(1);
  // Group "a" at t0: two rows (replicas or series) of 1..50 and 51..100;
  // group "b" at t1: 1000 copies of 7. A row without a sketch adds no point.
  auto row = [](std::vector<std::string> group, absl::Time at, int from, int to) {
    StepRow step;
    step.group_values = std::move(group);
    step.step_start = at;
    step.sketch.emplace();
    for (int v = from; v <= to; ++v) {
      step.stats.Add(v);
      step.sketch->Add(v);
    }
    return step;
  };
  StepRow b = row({"b"}, t1, 7, 7);
  for (int i = 1; i < 1000; ++i) b.sketch->Add(7);
  StepRow bare;
  bare.group_values = {"c"};
  bare.step_start = t1;
  bare.stats.Add(1);
  for (const auto& [aggregation, exact_a] : std::vector<std::pair<Aggregation, double>>{
           {Aggregation::kP50, 50}, {Aggregation::kP95, 95}, {Aggregation::kP99, 99}}) {
    SeriesQueryRequest request = Request();
    request.metric = "llm_latency_seconds";
    request.group_by = {"model"};
    request.aggregation = static_cast<int>(aggregation);
    const SeriesQuery query = *NormalizeSeriesQuery(request, kNow);
    absl::StatusOr<std::vector<SeriesResult>> series =
        AssembleSeries(query, {row({"a"}, t0, 1, 50), b, row({"a"}, t0, 51, 100), bare});
    ASSERT_THAT(series, IsOk());
    ASSERT_EQ(series->size(), 2u);
    EXPECT_THAT((*series)[0].labels,
                ElementsAre(Pair("__name__", "llm_latency_seconds"), Pair("model", "a")));
    ASSERT_EQ((*series)[0].points.size(), 1u);
    EXPECT_EQ((*series)[0].points[0].time, t0);
    // Rank floor(q * 99) of 1..100 is the value q * 100 (rounded down) within 1 %.
    EXPECT_NEAR((*series)[0].points[0].value, exact_a, 0.01 * exact_a);
    ASSERT_EQ((*series)[1].points.size(), 1u);
    EXPECT_EQ((*series)[1].points[0].value, 7);
  }
}

}  // namespace
}  // namespace agentwatch::monitor
