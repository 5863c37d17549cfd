// Event -> samples -> 1-minute rollups.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "monitor/core/names.h"
#include "monitor/core/rollup.h"
#include "monitor/core/samples.h"
#include "test_events.h"

namespace agentwatch::monitor {
namespace {

using fixtures::MakeCall;
using fixtures::MakeEvent;
using fixtures::MakeExecution;
using fixtures::MakeRun;
using fixtures::TestNow;
using ::testing::ElementsAre;
using ::testing::Pair;

TEST(SamplesOfEventTest, WorkflowRun) {
  Event event = MakeEvent(MakeRun("triage", RunStatus::kTimedOut, absl::Milliseconds(2500)));
  event.labels = {{"env", "prod"}, {"empty", ""}};
  const EventSamples samples = SamplesOfEvent(event);
  EXPECT_EQ(samples.labels, (Labels{{"env", "prod"},
                                    {"status", "timed_out"},
                                    {"team", "search"},
                                    {"tenant", "acme"},
                                    {"workflow", "triage"}}));
  EXPECT_THAT(samples.values, ElementsAre(Pair("workflow_runs_total", 1.0),
                                          Pair("workflow_duration_seconds", 2.5)));
}

TEST(SamplesOfEventTest, WorkflowRunWithoutDurationOrTeam) {
  WorkflowRun run = MakeRun("triage", RunStatus::kCancelled);
  run.duration.reset();
  run.team.clear();
  const EventSamples samples = SamplesOfEvent(MakeEvent(run));
  EXPECT_EQ(samples.labels,
            (Labels{{"status", "cancelled"}, {"tenant", "acme"}, {"workflow", "triage"}}));
  EXPECT_THAT(samples.values, ElementsAre(Pair("workflow_runs_total", 1.0)));
}

TEST(SamplesOfEventTest, AgentExecution) {
  const EventSamples samples =
      SamplesOfEvent(MakeEvent(MakeExecution("planner", RunStatus::kFailed, 3)));
  EXPECT_EQ(
      samples.labels,
      (Labels{
          {"agent", "planner"}, {"status", "failed"}, {"tenant", "acme"}, {"workflow", "triage"}}));
  EXPECT_THAT(samples.values,
              ElementsAre(Pair("agent_executions_total", 1.0), Pair("agent_execution_seconds", 1.5),
                          Pair("agent_retries_total", 3.0)));
}

TEST(SamplesOfEventTest, LlmCall) {
  LlmCall call = MakeCall("gpt-4o-mini", RunStatus::kFailed, true);
  call.error_type = "rate_limit";
  const EventSamples samples = SamplesOfEvent(MakeEvent(call));
  EXPECT_EQ(samples.labels, (Labels{{"agent", "planner"},
                                    {"error_type", "rate_limit"},
                                    {"model", "gpt-4o-mini"},
                                    {"provider", "openai"},
                                    {"status", "failed"},
                                    {"team", "search"},
                                    {"tenant", "acme"},
                                    {"workflow", "triage"}}));
  EXPECT_THAT(
      samples.values,
      ElementsAre(
          Pair("llm_calls_total", 1.0), Pair("llm_latency_seconds", 0.8),
          Pair("llm_time_to_first_token_seconds", 0.2), Pair("llm_input_tokens_total", 1000.0),
          Pair("llm_output_tokens_total", 200.0), Pair("llm_cached_input_tokens_total", 300.0),
          Pair("llm_cache_creation_tokens_total", 100.0), Pair("llm_throttled_total", 1.0)));
}

TEST(SamplesOfEventTest, LlmCallWithoutTimings) {
  LlmCall call = MakeCall("m");
  call.latency.reset();
  call.time_to_first_token.reset();
  const EventSamples samples = SamplesOfEvent(MakeEvent(call));
  EXPECT_EQ(samples.values.size(), 6u);
  EXPECT_EQ(samples.values.back(), std::make_pair(absl::string_view(kLlmThrottledTotal), 0.0));
}

TEST(SamplesOfEventTest, ResourceSampleOnlyMeasuredFields) {
  ResourceSample sample;
  sample.pod = "router-7";
  sample.memory_utilization = 0.82;
  sample.processing_lag = absl::Seconds(90);
  const EventSamples samples = SamplesOfEvent(MakeEvent(sample));
  EXPECT_EQ(samples.labels, (Labels{{"pod", "router-7"}, {"tenant", "acme"}}));
  EXPECT_THAT(samples.values, ElementsAre(Pair("resource_memory_utilization", 0.82),
                                          Pair("resource_processing_lag_seconds", 90.0)));
  sample.cpu_utilization = 0.5;
  sample.queue_depth = 17;
  EXPECT_THAT(
      SamplesOfEvent(MakeEvent(sample)).values,
      ElementsAre(Pair("resource_cpu_utilization", 0.5), Pair("resource_memory_utilization", 0.82),
                  Pair("resource_queue_depth", 17.0),
                  Pair("resource_processing_lag_seconds", 90.0)));
}

TEST(SamplesOfEventTest, CustomMetricAndQualityScore) {
  Event custom = MakeEvent(MetricSample{"queue:wait_seconds", 4.25});
  custom.labels = {{"region", "eu"}};
  const EventSamples metric = SamplesOfEvent(custom);
  EXPECT_EQ(metric.labels, (Labels{{"region", "eu"}, {"tenant", "acme"}}));
  EXPECT_THAT(metric.values, ElementsAre(Pair("queue:wait_seconds", 4.25)));

  const EventSamples quality =
      SamplesOfEvent(MakeEvent(QualityScore{"faithfulness", 0.75, "triage", "", "run-9"}));
  EXPECT_EQ(quality.labels,
            (Labels{{"score", "faithfulness"}, {"tenant", "acme"}, {"workflow", "triage"}}));
  EXPECT_THAT(quality.values, ElementsAre(Pair("quality_score", 0.75)));
}

TEST(RollupStatsTest, AddAndMerge) {
  RollupStats a;
  a.Add(3);
  a.Add(-1);
  RollupStats b;
  b.Add(10);
  a.Merge(b);
  EXPECT_EQ(a.count, 3);
  EXPECT_EQ(a.sum, 12);
  EXPECT_EQ(a.min, -1);
  EXPECT_EQ(a.max, 10);
  RollupStats empty;
  a.Merge(empty);
  EXPECT_EQ(a.count, 3);
  EXPECT_EQ(a.min, -1);
}

TEST(MinuteBucketTest, FloorsToTheMinute) {
  const absl::Time minute = absl::FromUnixSeconds(1'700'000'040);  // a whole minute
  EXPECT_EQ(MinuteBucket(minute), minute);
  EXPECT_EQ(MinuteBucket(minute + absl::Seconds(59) + absl::Milliseconds(999)), minute);
  EXPECT_EQ(MinuteBucket(minute - absl::Nanoseconds(1)), minute - absl::Minutes(1));
}

TEST(SeriesKeyTest, DependsOnEveryLabelAndNotOnOrder) {
  const Labels a = {{"tenant", "acme"}, {"workflow", "triage"}};
  Labels b;
  b["workflow"] = "triage";
  b["tenant"] = "acme";
  EXPECT_EQ(SeriesKey(a), SeriesKey(b));
  EXPECT_THAT(SeriesKey(a), ::testing::MatchesRegex("[0-9a-f]{32}"));
  EXPECT_NE(SeriesKey(a), SeriesKey({{"tenant", "acme"}, {"workflow", "triage2"}}));
  // Length prefixes keep ("ab" = "c") apart from ("a" = "bc").
  EXPECT_NE(SeriesKey({{"ab", "c"}}), SeriesKey({{"a", "bc"}}));
}

const RollupDelta* FindDelta(const BatchAggregate& aggregate, const std::string& metric,
                             const std::string& status, absl::Time bucket) {
  for (const RollupDelta& delta : aggregate.rollups) {
    if (delta.metric != metric || delta.bucket != bucket) continue;
    for (const SeriesRecord& series : aggregate.series) {
      if (series.metric == metric && series.series_key == delta.series_key &&
          series.labels->at("status") == status) {
        return &delta;
      }
    }
  }
  return nullptr;
}

TEST(AggregateBatchTest, SumsPerSeriesAndMinute) {
  const absl::Time minute = absl::FromUnixSeconds(1'700'000'040);
  Batch batch;
  batch.producer_id = "p";
  batch.sequence = 7;
  batch.events.push_back(
      MakeEvent(MakeRun("triage", RunStatus::kSucceeded, absl::Seconds(1)), minute));
  batch.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kSucceeded, absl::Seconds(5)),
                                   minute + absl::Seconds(59)));
  batch.events.push_back(
      MakeEvent(MakeRun("triage", RunStatus::kFailed, absl::Seconds(3)), minute));
  batch.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kSucceeded, absl::Seconds(2)),
                                   minute + absl::Minutes(1)));

  const BatchAggregate aggregate = AggregateBatch(batch);
  EXPECT_EQ(aggregate.event_count, 4);
  // 2 metrics x 2 statuses.
  EXPECT_EQ(aggregate.series.size(), 4u);
  // Succeeded: 2 minutes x 2 metrics; failed: 1 minute x 2 metrics.
  EXPECT_EQ(aggregate.rollups.size(), 6u);

  const RollupDelta* ok_runs = FindDelta(aggregate, "workflow_runs_total", "succeeded", minute);
  ASSERT_NE(ok_runs, nullptr);
  EXPECT_EQ(ok_runs->stats.count, 2);
  EXPECT_EQ(ok_runs->stats.sum, 2);
  const RollupDelta* ok_duration =
      FindDelta(aggregate, "workflow_duration_seconds", "succeeded", minute);
  ASSERT_NE(ok_duration, nullptr);
  EXPECT_EQ(ok_duration->stats.count, 2);
  EXPECT_EQ(ok_duration->stats.sum, 6);
  EXPECT_EQ(ok_duration->stats.min, 1);
  EXPECT_EQ(ok_duration->stats.max, 5);
  const RollupDelta* next_minute =
      FindDelta(aggregate, "workflow_duration_seconds", "succeeded", minute + absl::Minutes(1));
  ASSERT_NE(next_minute, nullptr);
  EXPECT_EQ(next_minute->stats.count, 1);
  EXPECT_EQ(next_minute->stats.sum, 2);
  const RollupDelta* failed = FindDelta(aggregate, "workflow_runs_total", "failed", minute);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->stats.count, 1);

  EXPECT_THAT(aggregate.workflows, ElementsAre(WorkflowKey{"acme", "triage"}));
  EXPECT_TRUE(aggregate.usage.empty());
}

TEST(AggregateBatchTest, RollupsAreSortedAndUnique) {
  Batch batch;
  batch.producer_id = "p";
  for (int i = 0; i < 50; ++i) {
    batch.events.push_back(MakeEvent(MakeCall(i % 2 ? "a" : "b"), TestNow() + absl::Seconds(i * 7),
                                     i % 3 ? "acme" : "globex"));
  }
  const BatchAggregate aggregate = AggregateBatch(batch);
  for (size_t i = 1; i < aggregate.rollups.size(); ++i) {
    const RollupDelta& p = aggregate.rollups[i - 1];
    const RollupDelta& q = aggregate.rollups[i];
    EXPECT_LT(std::tie(p.tenant, p.metric, p.series_key, p.bucket),
              std::tie(q.tenant, q.metric, q.series_key, q.bucket));
  }
  for (size_t i = 1; i < aggregate.series.size(); ++i) {
    const SeriesRecord& p = aggregate.series[i - 1];
    const SeriesRecord& q = aggregate.series[i];
    EXPECT_LT(std::tie(p.tenant, p.metric, p.series_key),
              std::tie(q.tenant, q.metric, q.series_key));
  }
  int64_t calls = 0;
  for (const RollupDelta& delta : aggregate.rollups) {
    if (delta.metric == kLlmCallsTotal) calls += delta.stats.count;
  }
  EXPECT_EQ(calls, 50);
}

TEST(AggregateBatchTest, ForwardsEveryLlmCallWithItsRecordId) {
  Batch batch;
  batch.producer_id = "platform-a";
  batch.sequence = 12;
  batch.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kSucceeded)));
  Event with_id = MakeEvent(MakeCall("gpt-4o"), TestNow(), "globex");
  with_id.event_id = "call-77";
  batch.events.push_back(with_id);
  batch.events.push_back(MakeEvent(MakeCall("gpt-4o-mini")));

  const BatchAggregate aggregate = AggregateBatch(batch);
  ASSERT_EQ(aggregate.usage.size(), 2u);
  const LlmUsageRecord& first = aggregate.usage[0];
  EXPECT_EQ(first.record_id, "call-77");
  EXPECT_EQ(first.tenant, "globex");
  EXPECT_EQ(first.model, "gpt-4o");
  EXPECT_EQ(first.provider, "openai");
  EXPECT_EQ(first.team, "search");
  EXPECT_EQ(first.workflow, "triage");
  EXPECT_EQ(first.agent, "planner");
  EXPECT_EQ(first.run_id, "run-1");
  EXPECT_EQ(first.time, TestNow());
  EXPECT_EQ(first.input_tokens, 1000);
  EXPECT_EQ(first.output_tokens, 200);
  EXPECT_EQ(first.cached_input_tokens, 300);
  EXPECT_EQ(first.cache_creation_tokens, 100);
  EXPECT_EQ(aggregate.usage[1].record_id, "platform-a:12:2");
}

TEST(AggregateBatchTest, TouchedWorkflowsAreDistinctPerTenant) {
  Batch batch;
  batch.producer_id = "p";
  batch.events.push_back(MakeEvent(MakeRun("b", RunStatus::kSucceeded), TestNow(), "t1"));
  batch.events.push_back(MakeEvent(MakeRun("a", RunStatus::kFailed), TestNow(), "t1"));
  batch.events.push_back(MakeEvent(MakeRun("a", RunStatus::kSucceeded), TestNow(), "t2"));
  batch.events.push_back(MakeEvent(MakeRun("b", RunStatus::kSucceeded), TestNow(), "t1"));
  batch.events.push_back(MakeEvent(MakeExecution("x", RunStatus::kFailed), TestNow(), "t3"));
  EXPECT_THAT(AggregateBatch(batch).workflows,
              ElementsAre(WorkflowKey{"t1", "a"}, WorkflowKey{"t1", "b"}, WorkflowKey{"t2", "a"}));
}

TEST(AggregateBatchTest, IsDeterministic) {
  Batch batch;
  batch.producer_id = "p";
  for (int i = 0; i < 20; ++i) {
    batch.events.push_back(MakeEvent(MakeExecution(i % 2 ? "x" : "y", RunStatus::kSucceeded, i)));
  }
  const BatchAggregate a = AggregateBatch(batch);
  const BatchAggregate b = AggregateBatch(batch);
  ASSERT_EQ(a.rollups.size(), b.rollups.size());
  for (size_t i = 0; i < a.rollups.size(); ++i) {
    EXPECT_EQ(a.rollups[i].series_key, b.rollups[i].series_key);
    EXPECT_EQ(a.rollups[i].stats, b.rollups[i].stats);
  }
  EXPECT_THAT(a.series, ::testing::SizeIs(6));  // 3 metrics x 2 agents
}

TEST(AggregateBatchTest, LatencyMetricsCarryASketchOfTheirValues) {
  Batch batch;
  batch.producer_id = "p";
  for (int ms : {100, 200, 300}) {
    LlmCall call = MakeCall("gpt-4o");
    call.latency = absl::Milliseconds(ms);
    batch.events.push_back(MakeEvent(call));
  }
  const BatchAggregate aggregate = AggregateBatch(batch);
  int sketched = 0;
  for (const RollupDelta& delta : aggregate.rollups) {
    EXPECT_EQ(delta.sketch.has_value(), HasQuantileSketch(delta.metric)) << delta.metric;
    if (!delta.sketch.has_value()) continue;
    ++sketched;
    EXPECT_EQ(delta.sketch->count(), delta.stats.count) << delta.metric;
    if (delta.metric == "llm_latency_seconds") {
      EXPECT_EQ(delta.sketch->Quantile(0), 0.1);
      EXPECT_EQ(delta.sketch->Quantile(1), 0.3);
      EXPECT_NEAR(*delta.sketch->Quantile(0.5), 0.2, 0.002);
    }
  }
  EXPECT_EQ(sketched, 2);  // latency and time to first token
  EXPECT_TRUE(HasQuantileSketch("workflow_duration_seconds"));
  EXPECT_TRUE(HasQuantileSketch("agent_execution_seconds"));
  EXPECT_TRUE(HasQuantileSketch("resource_processing_lag_seconds"));
  EXPECT_FALSE(HasQuantileSketch("llm_calls_total"));
  EXPECT_FALSE(HasQuantileSketch("quality_score"));
}

// CompareKeyText (the merges' string comparison with its first 8 bytes
// compared inline) orders every pair as std::string::compare does: short
// strings, common prefixes, a difference at every position of the first 8
// bytes and after them, bytes above 0x7f, NULs and equal strings.
TEST(CompareKeyTextTest, OrdersAsStringCompare) {
  std::vector<std::string> texts = {"", "a", "tenant-1", "tenant-2", "tenant-10", "tenant-1\x80",
                                    std::string("ab\0cdefgh", 9), std::string("ab\0cdefgi", 9),
                                    "0123456789abcdef0123456789abcdef",
                                    "0123456789abcdef0123456789abcdeg", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8",
                                    "llm_latency_seconds", "llm_calls_total"};
  for (int position = 0; position < 10; ++position) {
    std::string low(12, 'm'), high(12, 'm');
    low[position] = 'a';
    high[position] = '\xe0';
    texts.push_back(low);
    texts.push_back(high);
  }
  const auto sign = [](int c) { return (c > 0) - (c < 0); };
  for (const std::string& a : texts) {
    for (const std::string& b : texts) {
      EXPECT_EQ(sign(CompareKeyText(a, b)), sign(a.compare(b))) << a << " / " << b;
    }
  }
}

}  // namespace
}  // namespace agentwatch::monitor
