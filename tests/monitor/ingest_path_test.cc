// The ingest path's CPU side (api/ingest_batch.h, core/event_view.h, the
// BatchAggregator, the sketch's in-place growth, the Ingest allocator)
// against the reference it replaced: the map-based aggregation and the
// copy-into-Event validation, on varied random batches and on every
// rejection.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/testing/status_matchers.h"
#include "monitor/api/ingest_allocator.h"
#include "monitor/api/ingest_batch.h"
#include "monitor/api/ingest_wire.h"
#include "monitor/api/proto_mapping.h"
#include "monitor/core/hash.h"
#include "monitor/core/names.h"
#include "monitor/core/quantile_sketch.h"
#include "monitor/core/rollup.h"
#include "monitor/core/samples.h"
#include "monitor/core/validation.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;

constexpr int64_t kNowSeconds = 1'700'000'040;
absl::Time Now() { return absl::FromUnixSeconds(kNowSeconds); }

// The aggregation as it was before the BatchAggregator: a std::map of
// labels per event, a std::map of cells, sorted at the end.
BatchAggregate ReferenceAggregate(const Batch& batch) {
  BatchAggregate out;
  out.event_count = static_cast<int64_t>(batch.events.size());
  struct Set {
    std::string tenant;
    Labels labels;
    std::string key;
  };
  std::map<std::string, size_t> set_index;
  std::vector<Set> sets;
  struct Cell {
    RollupStats stats;
    std::optional<QuantileSketch> sketch;
  };
  std::map<std::tuple<size_t, std::string, int64_t>, Cell> cells;
  for (size_t i = 0; i < batch.events.size(); ++i) {
    const Event& event = batch.events[i];
    EventSamples samples = SamplesOfEvent(event);
    auto [it, inserted] = set_index.emplace(CanonicalLabelText(samples.labels), sets.size());
    if (inserted) sets.push_back({event.tenant, samples.labels, StableHash({it->first})});
    const int64_t bucket = absl::ToUnixSeconds(MinuteBucket(*event.time));
    for (const auto& [metric, value] : samples.values) {
      Cell& cell = cells[{it->second, std::string(metric), bucket}];
      cell.stats.Add(value);
      if (HasQuantileSketch(metric)) {
        if (!cell.sketch.has_value()) cell.sketch.emplace();
        cell.sketch->Add(value);
      }
    }
    if (const auto* run = std::get_if<WorkflowRun>(&event.kind)) {
      out.workflows.push_back({event.tenant, run->workflow});
    } else if (const auto* call = std::get_if<LlmCall>(&event.kind)) {
      LlmUsageRecord record;
      record.record_id = RecordId(event, batch.producer_id, batch.sequence, i);
      record.time = *event.time;
      record.tenant = event.tenant;
      record.team = call->team;
      record.workflow = call->workflow;
      record.agent = call->agent;
      record.provider = call->provider;
      record.model = call->model;
      record.run_id = call->run_id;
      record.input_tokens = call->input_tokens;
      record.output_tokens = call->output_tokens;
      record.cached_input_tokens = call->cached_input_tokens;
      record.cache_creation_tokens = call->cache_creation_tokens;
      out.usage.push_back(std::move(record));
    }
  }
  std::sort(out.workflows.begin(), out.workflows.end());
  out.workflows.erase(std::unique(out.workflows.begin(), out.workflows.end()), out.workflows.end());
  std::map<std::tuple<std::string, std::string, std::string>, size_t> series;
  for (auto& [id, cell] : cells) {
    const auto& [set, metric, bucket] = id;
    out.rollups.push_back({sets[set].tenant, metric, sets[set].key, absl::FromUnixSeconds(bucket),
                           cell.stats, std::move(cell.sketch)});
    series.emplace(std::make_tuple(sets[set].tenant, metric, sets[set].key), set);
  }
  std::sort(out.rollups.begin(), out.rollups.end(), [](const RollupDelta& a, const RollupDelta& b) {
    return std::tie(a.tenant, a.metric, a.series_key, a.bucket) <
           std::tie(b.tenant, b.metric, b.series_key, b.bucket);
  });
  for (const auto& [id, set] : series) {
    out.series.push_back({std::get<0>(id), std::get<1>(id), std::get<2>(id),
                          std::make_shared<const Labels>(sets[set].labels)});
  }
  return out;
}

void ExpectSameAggregate(const BatchAggregate& got, const BatchAggregate& want) {
  EXPECT_EQ(got.event_count, want.event_count);
  ASSERT_EQ(got.rollups.size(), want.rollups.size());
  for (size_t i = 0; i < want.rollups.size(); ++i) {
    const RollupDelta& g = got.rollups[i];
    const RollupDelta& w = want.rollups[i];
    EXPECT_EQ(std::tie(g.tenant, g.metric, g.series_key, g.bucket),
              std::tie(w.tenant, w.metric, w.series_key, w.bucket))
        << i;
    // Exact: the same values added in the same order.
    EXPECT_TRUE(g.stats == w.stats) << i << " " << g.metric;
    ASSERT_EQ(g.sketch.has_value(), w.sketch.has_value()) << i << " " << g.metric;
    if (w.sketch.has_value()) {
      EXPECT_TRUE(*g.sketch == *w.sketch) << i << " " << g.metric;
    }
  }
  ASSERT_EQ(got.series.size(), want.series.size());
  for (size_t i = 0; i < want.series.size(); ++i) {
    EXPECT_EQ(std::tie(got.series[i].tenant, got.series[i].metric, got.series[i].series_key,
                       *got.series[i].labels),
              std::tie(want.series[i].tenant, want.series[i].metric, want.series[i].series_key,
                       *want.series[i].labels))
        << i;
  }
  EXPECT_EQ(got.workflows, want.workflows);
  ASSERT_EQ(got.usage.size(), want.usage.size());
  for (size_t i = 0; i < want.usage.size(); ++i) {
    const LlmUsageRecord& g = got.usage[i];
    const LlmUsageRecord& w = want.usage[i];
    EXPECT_EQ(std::tie(g.record_id, g.time, g.tenant, g.team, g.workflow, g.agent, g.provider,
                       g.model, g.run_id, g.input_tokens, g.output_tokens, g.cached_input_tokens,
                       g.cache_creation_tokens),
              std::tie(w.record_id, w.time, w.tenant, w.team, w.workflow, w.agent, w.provider,
                       w.model, w.run_id, w.input_tokens, w.output_tokens, w.cached_input_tokens,
                       w.cache_creation_tokens))
        << i;
  }
}

void SetDuration(google::protobuf::Duration* d, int64_t micros) {
  d->set_seconds(micros / 1'000'000);
  d->set_nanos(static_cast<int32_t>((micros % 1'000'000) * 1000));
}

// A valid random batch: every kind, 1-3 tenants, optional labels set in a
// random order, times over three minutes, values spanning many sketch
// buckets (including 0), optional event ids and fields.
v1::IngestRequest RandomRequest(std::mt19937_64& rng, int events) {
  auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  const char* const kNames[] = {"a", "b", "env", "region", "zone"};
  const char* const kValues[] = {"x", "y", "prod", "a-rather-long-label-value-beyond-sso", ""};
  v1::IngestRequest request;
  request.set_producer_id(absl::StrCat("producer-", pick(3)));
  request.set_sequence(rng() % 1000);
  for (int i = 0; i < events; ++i) {
    v1::Event* e = request.add_events();
    e->mutable_time()->set_seconds(kNowSeconds - 150 + pick(180));
    e->mutable_time()->set_nanos(pick(1'000'000'000));
    e->set_tenant(absl::StrCat("tenant-", pick(3)));
    if (pick(4) == 0) e->set_event_id(absl::StrCat("id-", rng() % 100000));
    std::vector<int> order = {0, 1, 2, 3, 4};
    std::shuffle(order.begin(), order.end(), rng);
    for (int n = pick(4); n > 0; --n) {
      (*e->mutable_labels())[kNames[order[static_cast<size_t>(n)]]] = kValues[pick(5)];
    }
    const std::string workflow = absl::StrCat("wf-", pick(4));
    const std::string agent = absl::StrCat("agent-", pick(3));
    const auto status = static_cast<v1::RunStatus>(1 + pick(4));
    switch (pick(6)) {
      case 0: {
        v1::WorkflowRun* run = e->mutable_workflow_run();
        run->set_workflow(workflow);
        run->set_run_id(absl::StrCat("run-", pick(1000)));
        if (pick(2)) run->set_team(absl::StrCat("team-", pick(2)));
        run->set_status(status);
        if (pick(4))
          SetDuration(run->mutable_duration(), static_cast<int64_t>(rng() % 300'000'000));
        run->set_step_count(pick(10));
        break;
      }
      case 1: {
        v1::AgentExecution* execution = e->mutable_agent_execution();
        execution->set_agent(agent);
        if (pick(3)) execution->set_workflow(workflow);
        execution->set_run_id(absl::StrCat("run-", pick(1000)));
        execution->set_status(status);
        if (pick(4))
          SetDuration(execution->mutable_duration(), pick(3) == 0 ? 0 : pick(60'000'000));
        execution->set_retries(pick(3));
        break;
      }
      case 2: {
        v1::LlmCall* call = e->mutable_llm_call();
        call->set_provider(pick(2) ? "openai" : "anthropic");
        call->set_model(absl::StrCat("model-", pick(3)));
        call->set_workflow(workflow);
        call->set_agent(agent);
        if (pick(2)) call->set_team("search");
        call->set_run_id(absl::StrCat("run-", pick(1000)));
        if (pick(5)) SetDuration(call->mutable_latency(), pick(20'000'000));
        if (pick(2)) SetDuration(call->mutable_time_to_first_token(), pick(2'000'000));
        const int input = pick(5000);
        call->set_input_tokens(input);
        call->set_output_tokens(pick(800));
        call->set_cached_input_tokens(pick(input / 2 + 1));
        call->set_cache_creation_tokens(pick(input / 2 + 1));
        call->set_status(status);
        if (status == v1::RUN_STATUS_FAILED) call->set_error_type("timeout");
        call->set_throttled(pick(10) == 0);
        break;
      }
      case 3: {
        v1::ResourceSample* sample = e->mutable_resource_sample();
        sample->set_component(absl::StrCat("svc-", pick(3)));
        if (pick(2)) sample->set_pod(absl::StrCat("pod-", pick(4)));
        sample->set_cpu_utilization(pick(100) / 100.0);
        if (pick(2)) sample->set_memory_utilization(pick(100) / 100.0);
        if (pick(2)) sample->set_queue_depth(pick(50));
        if (pick(2)) SetDuration(sample->mutable_processing_lag(), pick(600'000'000));
        break;
      }
      case 4: {
        v1::MetricSample* sample = e->mutable_metric_sample();
        sample->set_name(absl::StrCat(pick(2) ? "custom_" : "ns:custom_", pick(4)));
        sample->set_value((pick(3) - 1) * std::ldexp(1.0 + pick(1000) / 1000.0, pick(40) - 20));
        break;
      }
      default: {
        v1::QualityScore* score = e->mutable_quality_score();
        score->set_name(pick(2) ? "faithfulness" : "citation_accuracy");
        score->set_value(pick(1000) / 1000.0);
        if (pick(2)) score->set_workflow(workflow);
        if (pick(2)) score->set_agent(agent);
        break;
      }
    }
  }
  return request;
}

// The reference path: every event copied into a Batch, then validated.
absl::StatusOr<Batch> ReferenceBatch(const v1::IngestRequest& request, RejectReason* reason) {
  RETURN_IF_ERROR(ValidateBatchHeader(request.producer_id(), request.events_size(), {}, reason));
  Batch batch;
  batch.producer_id = request.producer_id();
  batch.sequence = request.sequence();
  for (int i = 0; i < request.events_size(); ++i) {
    absl::StatusOr<Event> event = EventFromProto(request.events(i), static_cast<size_t>(i));
    if (!event.ok()) {
      *reason = RejectReason::kInvalid;
      return event.status();
    }
    RETURN_IF_ERROR(ValidateEvent(*event, static_cast<size_t>(i), {}, Now(), reason));
    batch.events.push_back(*std::move(event));
  }
  return batch;
}

TEST(IngestPathTest, AggregatesVariedBatchesExactlyAsTheReference) {
  std::mt19937_64 rng(20261126);
  for (int round = 0; round < 40; ++round) {
    const v1::IngestRequest request = RandomRequest(rng, 1 + static_cast<int>(rng() % 400));
    RejectReason reason = RejectReason::kStoreError;
    absl::StatusOr<Batch> batch = ReferenceBatch(request, &reason);
    ASSERT_THAT(batch.status(), IsOk()) << round;
    const BatchAggregate want = ReferenceAggregate(*batch);
    ASSERT_FALSE(want.rollups.empty());

    absl::StatusOr<BatchAggregate> prepared = PrepareIngestBatch(request, {}, Now(), &reason);
    ASSERT_THAT(prepared.status(), IsOk()) << round;
    SCOPED_TRACE(absl::StrCat("round ", round));
    ExpectSameAggregate(*prepared, want);
    ExpectSameAggregate(AggregateBatch(*batch), want);
  }
}

TEST(IngestPathTest, OneSeriesPerLabelSetWhateverTheLabelOrder) {
  v1::IngestRequest request;
  request.set_producer_id("p");
  for (int i = 0; i < 4; ++i) {
    v1::Event* e = request.add_events();
    e->mutable_time()->set_seconds(kNowSeconds);
    e->set_tenant("acme");
    // The same three labels, inserted in rotating orders.
    const std::vector<std::pair<std::string, std::string>> labels = {
        {"zone", "z1"}, {"env", "prod"}, {"region", "eu"}};
    for (int j = 0; j < 3; ++j) {
      const auto& [name, value] = labels[static_cast<size_t>((i + j) % 3)];
      (*e->mutable_labels())[name] = value;
    }
    e->mutable_metric_sample()->set_name("queue_wait");
    e->mutable_metric_sample()->set_value(i);
  }
  absl::StatusOr<BatchAggregate> aggregate = PrepareIngestBatch(request, {}, Now());
  ASSERT_THAT(aggregate.status(), IsOk());
  ASSERT_EQ(aggregate->series.size(), 1u);
  ASSERT_EQ(aggregate->rollups.size(), 1u);
  EXPECT_EQ(aggregate->rollups[0].stats.count, 4);
  EXPECT_EQ(*aggregate->series[0].labels,
            (Labels{{"env", "prod"}, {"region", "eu"}, {"tenant", "acme"}, {"zone", "z1"}}));
  EXPECT_EQ(aggregate->series[0].series_key, SeriesKey(*aggregate->series[0].labels));
}

TEST(IngestPathTest, LabelSetsWhoseBytesRunTogetherStayApart) {
  // Naively concatenated, these label sets have the same bytes; each must
  // keep its own series (length-prefixed raw keys), and a label set seen in
  // two raw forms must keep one.
  const std::vector<Labels> sets = {
      {{"a", "bc"}},
      {{"ab", "c"}},
      {{"a", "b"}, {"c", "d"}},
      {{"a", std::string("b\x01\0\0\0c", 6)}, {"d", "e"}},
      {{"a", "b"}, {"c", std::string("d\x01\0\0\0e", 6)}},
  };
  Batch batch;
  batch.producer_id = "p";
  for (int round = 0; round < 2; ++round) {
    for (const Labels& labels : sets) {
      Event event;
      event.time = Now();
      event.tenant = "acme";
      event.labels = labels;
      event.kind = MetricSample{"m", 1};
      batch.events.push_back(event);
    }
  }
  const BatchAggregate aggregate = AggregateBatch(batch);
  ASSERT_EQ(aggregate.series.size(), sets.size());
  for (const RollupDelta& delta : aggregate.rollups) EXPECT_EQ(delta.stats.count, 2);
  ExpectSameAggregate(aggregate, ReferenceAggregate(batch));
}

TEST(IngestPathTest, BucketsFloorNegativeAndBoundaryTimes) {
  Batch batch;
  batch.producer_id = "p";
  for (int64_t seconds :
       std::vector<int64_t>{-61, -60, -59, -1, 0, 59, 60, kNowSeconds - 1, kNowSeconds}) {
    Event event;
    event.time = absl::FromUnixSeconds(seconds) + absl::Milliseconds(seconds % 2 ? 999 : 0);
    event.tenant = "acme";
    event.kind = MetricSample{"m", 1};
    batch.events.push_back(event);
  }
  ExpectSameAggregate(AggregateBatch(batch), ReferenceAggregate(batch));
}

// Batches whose label sets recur from batch to batch, as an exporter's do:
// random batches over small label pools, plus one with the same labels in
// rotating insertion orders and the label sets whose bytes run together.
std::vector<v1::IngestRequest> RecurringRequests() {
  std::mt19937_64 rng(20261126);
  std::vector<v1::IngestRequest> requests;
  for (int i = 0; i < 8; ++i)
    requests.push_back(RandomRequest(rng, 50 + static_cast<int>(rng() % 300)));
  v1::IngestRequest rotated;
  rotated.set_producer_id("p");
  const std::vector<std::pair<std::string, std::string>> labels = {
      {"zone", "z1"}, {"env", "prod"}, {"region", "eu"}, {"a", "bc"}, {"ab", "c"}};
  for (int i = 0; i < 10; ++i) {
    v1::Event* e = rotated.add_events();
    e->mutable_time()->set_seconds(kNowSeconds);
    e->set_tenant(i % 2 ? "acme" : "globex");
    for (int j = 0; j < 3; ++j) {
      const auto& [name, value] = labels[static_cast<size_t>((i + j) % 5)];
      (*e->mutable_labels())[name] = value;
    }
    e->mutable_metric_sample()->set_name("queue_wait");
    e->mutable_metric_sample()->set_value(i);
  }
  requests.push_back(rotated);
  return requests;
}

// The aggregates of `requests` without a label-set cache (the reference).
void UncachedAggregates(const std::vector<v1::IngestRequest>& requests,
                        std::vector<BatchAggregate>* want) {
  for (const v1::IngestRequest& request : requests) {
    absl::StatusOr<BatchAggregate> aggregate = PrepareIngestBatch(request, {}, Now());
    ASSERT_THAT(aggregate.status(), IsOk());
    want->push_back(*std::move(aggregate));
  }
}

// A cached aggregator gives exactly the uncached aggregate, whether the cache
// is large (hits from earlier batches), full at every insert (each insert
// rotates a generation) or small (evictions every few dozen label sets).
TEST(LabelSetCacheTest, CachedAggregatesEqualUncachedOnesWithHitsFullCacheAndEvictions) {
  const std::vector<v1::IngestRequest> requests = RecurringRequests();
  std::vector<BatchAggregate> want;
  ASSERT_NO_FATAL_FAILURE(UncachedAggregates(requests, &want));
  for (const size_t max_bytes : {LabelSetCache::kDefaultMaxBytes, size_t{1}, size_t{16} << 10}) {
    SCOPED_TRACE(absl::StrCat("max_bytes ", max_bytes));
    LabelSetCache cache(max_bytes);
    // Three passes: the later ones meet the label sets of the earlier ones.
    for (int pass = 0; pass < 3; ++pass) {
      for (size_t i = 0; i < requests.size(); ++i) {
        SCOPED_TRACE(absl::StrCat("pass ", pass, " batch ", i));
        absl::StatusOr<BatchAggregate> got =
            PrepareIngestBatch(requests[i], {}, Now(), nullptr, &cache);
        ASSERT_THAT(got.status(), IsOk());
        ExpectSameAggregate(*got, want[i]);
      }
    }
    const LabelSetCache::Stats stats = cache.GetStats();
    EXPECT_GT(stats.misses, 0);
    if (max_bytes == LabelSetCache::kDefaultMaxBytes) {
      // Every label set is computed once, then always found.
      EXPECT_EQ(stats.evicted, 0);
      EXPECT_EQ(static_cast<size_t>(stats.misses), stats.entries);
      EXPECT_GT(stats.hits, 2 * stats.misses);
    } else {
      EXPECT_GT(stats.evicted, 0);
      // Bounded: two generations of at most max_bytes / 2, plus the entry that
      // fills one (under 1 KiB for these label sets).
      EXPECT_LE(stats.bytes, max_bytes + 1024);
    }
    if (max_bytes == 1) {
      EXPECT_LE(stats.entries, 1u);
    }
  }
}

// One label set reaching an aggregator in two raw forms (its labels in two
// orders, as an EventView may hold them) is one series and one cell: the two
// forms give two CanonicalLabelSet objects (and, with a cache rotating at
// every insert, a new object per form each time), found equal by their
// canonical text.
TEST(LabelSetCacheTest, OneLabelSetInTwoRawFormsIsOneSeries) {
  LabelSetCache large;
  LabelSetCache rotating(1);
  for (LabelSetCache* cache : {static_cast<LabelSetCache*>(nullptr), &large, &rotating}) {
    SCOPED_TRACE(cache == nullptr ? "no cache" : cache == &large ? "large cache" : "1-byte cache");
    for (int pass = 0; pass < 2; ++pass) {
      BatchAggregator aggregator("p", 1, 0, cache);
      for (size_t i = 0; i < 6; ++i) {
        EventView event;
        event.time = Now();
        event.tenant = "acme";
        if (i % 2 == 0) {
          event.labels = {{"env", "prod"}, {"zone", "z1"}};
        } else {
          event.labels = {{"zone", "z1"}, {"env", "prod"}};
        }
        event.kind = MetricSampleView{"queue_wait", static_cast<double>(i)};
        aggregator.Add(event, i);
      }
      const BatchAggregate aggregate = aggregator.Finish();
      ASSERT_EQ(aggregate.series.size(), 1u);
      ASSERT_EQ(aggregate.rollups.size(), 1u);
      EXPECT_EQ(aggregate.rollups[0].stats.count, 6);
      EXPECT_EQ(aggregate.rollups[0].stats.sum, 15);
      EXPECT_EQ(*aggregate.series[0].labels,
                (Labels{{"env", "prod"}, {"tenant", "acme"}, {"zone", "z1"}}));
      EXPECT_EQ(aggregate.series[0].series_key, SeriesKey(*aggregate.series[0].labels));
    }
  }
}

// The aggregator remembers metric names by their address (the built-in
// names are constants), but a name at an address it saw before under another
// name is that other metric: here one buffer holds "queue_wait", then
// "queue_size", then "queue_wait" again.
TEST(IngestPathTest, AMetricNameAtAReusedAddressIsItsOwnMetric) {
  char name[] = "queue_wait";
  BatchAggregator aggregator("p", 1);
  const std::vector<std::string> names = {"queue_wait", "queue_size", "queue_wait", "queue_size"};
  for (size_t i = 0; i < names.size(); ++i) {
    std::memcpy(name, names[i].data(), names[i].size());
    EventView event;
    event.time = Now();
    event.tenant = "acme";
    event.kind = MetricSampleView{absl::string_view(name, names[i].size()), 1.0 + i};
    aggregator.Add(event, i);
  }
  const BatchAggregate aggregate = aggregator.Finish();
  ASSERT_EQ(aggregate.rollups.size(), 2u);
  EXPECT_EQ(aggregate.rollups[0].metric, "queue_size");
  EXPECT_EQ(aggregate.rollups[0].stats.sum, 2 + 4);
  EXPECT_EQ(aggregate.rollups[1].metric, "queue_wait");
  EXPECT_EQ(aggregate.rollups[1].stats.sum, 1 + 3);
}

// Aggregators on several threads share one small cache (concurrent finds,
// inserts and generation rotations) and still give the uncached aggregates.
TEST(LabelSetCacheTest, ConcurrentAggregatorsShareOneCache) {
  const std::vector<v1::IngestRequest> requests = RecurringRequests();
  std::vector<BatchAggregate> want;
  ASSERT_NO_FATAL_FAILURE(UncachedAggregates(requests, &want));
  LabelSetCache cache(size_t{8} << 10);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int pass = 0; pass < 5; ++pass) {
        for (size_t k = 0; k < requests.size(); ++k) {
          const size_t i = (k + t) % requests.size();
          absl::StatusOr<BatchAggregate> got =
              PrepareIngestBatch(requests[i], {}, Now(), nullptr, &cache);
          if (!got.ok() || got->series.size() != want[i].series.size() ||
              got->rollups.size() != want[i].rollups.size()) {
            ++mismatches[t];
            continue;
          }
          for (size_t s = 0; s < want[i].series.size(); ++s) {
            if (got->series[s].series_key != want[i].series[s].series_key ||
                *got->series[s].labels != *want[i].series[s].labels ||
                got->series[s].tenant != want[i].series[s].tenant) {
              ++mismatches[t];
            }
          }
          for (size_t r = 0; r < want[i].rollups.size(); ++r) {
            if (got->rollups[r].series_key != want[i].rollups[r].series_key ||
                !(got->rollups[r].stats == want[i].rollups[r].stats)) {
              ++mismatches[t];
            }
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (size_t t = 0; t < mismatches.size(); ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
  EXPECT_GT(cache.GetStats().evicted, 0);
  // Whether the threads met each other's entries before an eviction depends
  // on the schedule; that the shared cache still answers after them does not:
  // two label sets fit in one generation, so the second aggregation of a
  // batch of them finds both that the first cached.
  v1::IngestRequest small = requests.back();
  small.mutable_events()->DeleteSubrange(2, small.events_size() - 2);
  absl::StatusOr<BatchAggregate> small_want = PrepareIngestBatch(small, {}, Now());
  ASSERT_THAT(small_want.status(), IsOk());
  ASSERT_EQ(small_want->series.size(), 2u);
  for (int round = 0; round < 2; ++round) {
    const int64_t hits_before = cache.GetStats().hits;
    absl::StatusOr<BatchAggregate> got = PrepareIngestBatch(small, {}, Now(), nullptr, &cache);
    ASSERT_THAT(got.status(), IsOk());
    ExpectSameAggregate(*got, *small_want);
    if (round == 1) EXPECT_EQ(cache.GetStats().hits - hits_before, 2);
  }
}

// Every rejection of the reference path, with the same code, message and
// reason through the view path.
TEST(IngestPathTest, RejectsEveryInvalidFieldAsTheReference) {
  using Mutation = std::function<void(v1::IngestRequest&)>;
  auto event = [](v1::IngestRequest& r) { return r.mutable_events(1); };
  const std::vector<std::pair<std::string, Mutation>> mutations = {
      {"producer_id", [](v1::IngestRequest& r) { r.clear_producer_id(); }},
      {"producer_id length",
       [](v1::IngestRequest& r) { r.set_producer_id(std::string(129, 'p')); }},
      {"no events", [](v1::IngestRequest& r) { r.clear_events(); }},
      {"event_id", [&](v1::IngestRequest& r) { event(r)->set_event_id(std::string(257, 'e')); }},
      {"event_id NUL",
       [&](v1::IngestRequest& r) { event(r)->set_event_id(std::string("a\0", 2)); }},
      {"time missing", [&](v1::IngestRequest& r) { event(r)->clear_time(); }},
      {"time malformed", [&](v1::IngestRequest& r) { event(r)->mutable_time()->set_nanos(-1); }},
      {"time future",
       [&](v1::IngestRequest& r) { event(r)->mutable_time()->set_seconds(kNowSeconds + 7200); }},
      {"time old",
       [&](v1::IngestRequest& r) {
         event(r)->mutable_time()->set_seconds(kNowSeconds - 9'000'000);
       }},
      {"tenant", [&](v1::IngestRequest& r) { event(r)->clear_tenant(); }},
      {"tenant length", [&](v1::IngestRequest& r) { event(r)->set_tenant(std::string(129, 't')); }},
      {"too many labels",
       [&](v1::IngestRequest& r) {
         for (int i = 0; i < 33; ++i) (*event(r)->mutable_labels())[absl::StrCat("l", i)] = "v";
       }},
      {"label name",
       [&](v1::IngestRequest& r) {
         (*event(r)->mutable_labels())["9bad"] = "v";
         (*event(r)->mutable_labels())["zz-bad"] = "v";
       }},
      {"reserved label",
       [&](v1::IngestRequest& r) { (*event(r)->mutable_labels())["agent"] = "v"; }},
      {"reserved prefix",
       [&](v1::IngestRequest& r) { (*event(r)->mutable_labels())["__x"] = "v"; }},
      {"label value",
       [&](v1::IngestRequest& r) { (*event(r)->mutable_labels())["env"] = std::string(257, 'v'); }},
      {"label NUL",
       [&](v1::IngestRequest& r) {
         (*event(r)->mutable_labels())["env"] = std::string("a\0b", 3);
       }},
      {"kind", [&](v1::IngestRequest& r) { event(r)->clear_llm_call(); }},
      {"provider", [&](v1::IngestRequest& r) { event(r)->mutable_llm_call()->clear_provider(); }},
      {"model", [&](v1::IngestRequest& r) { event(r)->mutable_llm_call()->clear_model(); }},
      {"workflow length",
       [&](v1::IngestRequest& r) {
         event(r)->mutable_llm_call()->set_workflow(std::string(257, 'w'));
       }},
      {"run id length",
       [&](v1::IngestRequest& r) {
         event(r)->mutable_llm_call()->set_run_id(std::string(257, 'r'));
       }},
      {"latency malformed",
       [&](v1::IngestRequest& r) {
         event(r)->mutable_llm_call()->mutable_latency()->set_nanos(2'000'000'000);
       }},
      {"latency negative",
       [&](v1::IngestRequest& r) {
         event(r)->mutable_llm_call()->mutable_latency()->set_seconds(-1);
       }},
      {"ttft malformed",
       [&](v1::IngestRequest& r) {
         auto* d = event(r)->mutable_llm_call()->mutable_time_to_first_token();
         d->set_seconds(1);
         d->set_nanos(-1);
       }},
      {"tokens",
       [&](v1::IngestRequest& r) { event(r)->mutable_llm_call()->set_output_tokens(-1); }},
      {"cached tokens",
       [&](v1::IngestRequest& r) {
         event(r)->mutable_llm_call()->set_cached_input_tokens(10'000);
       }},
      {"status", [&](v1::IngestRequest& r) { event(r)->mutable_llm_call()->clear_status(); }},
      {"status unknown",
       [&](v1::IngestRequest& r) {
         event(r)->mutable_llm_call()->set_status(static_cast<v1::RunStatus>(9));
       }},
      {"error type NUL",
       [&](v1::IngestRequest& r) {
         event(r)->mutable_llm_call()->set_error_type(std::string("\0", 1));
       }},
      {"workflow run",
       [](v1::IngestRequest& r) { r.mutable_events(0)->mutable_workflow_run()->clear_run_id(); }},
      {"workflow duration malformed",
       [](v1::IngestRequest& r) {
         r.mutable_events(0)->mutable_workflow_run()->mutable_duration()->set_seconds(
             400'000'000'000);
       }},
      {"step count",
       [](v1::IngestRequest& r) {
         r.mutable_events(0)->mutable_workflow_run()->set_step_count(-2);
       }},
      {"agent",
       [](v1::IngestRequest& r) { r.mutable_events(2)->mutable_agent_execution()->clear_agent(); }},
      {"agent duration malformed",
       [](v1::IngestRequest& r) {
         r.mutable_events(2)->mutable_agent_execution()->mutable_duration()->set_nanos(
             -2'000'000'000);
       }},
      {"retries",
       [](v1::IngestRequest& r) {
         r.mutable_events(2)->mutable_agent_execution()->set_retries(-1);
       }},
      {"resource no target",
       [](v1::IngestRequest& r) {
         r.mutable_events(3)->mutable_resource_sample()->clear_component();
       }},
      {"resource cpu",
       [](v1::IngestRequest& r) {
         r.mutable_events(3)->mutable_resource_sample()->set_cpu_utilization(-0.5);
       }},
      {"resource nothing",
       [](v1::IngestRequest& r) {
         r.mutable_events(3)->mutable_resource_sample()->clear_cpu_utilization();
       }},
      {"lag malformed",
       [](v1::IngestRequest& r) {
         auto* d = r.mutable_events(3)->mutable_resource_sample()->mutable_processing_lag();
         d->set_seconds(-1);
         d->set_nanos(5);
       }},
      {"metric name",
       [](v1::IngestRequest& r) { r.mutable_events(4)->mutable_metric_sample()->set_name("1x"); }},
      {"metric builtin",
       [](v1::IngestRequest& r) {
         r.mutable_events(4)->mutable_metric_sample()->set_name("llm_calls_total");
       }},
      {"metric value",
       [](v1::IngestRequest& r) {
         r.mutable_events(4)->mutable_metric_sample()->set_value(std::nan(""));
       }},
      {"score name",
       [](v1::IngestRequest& r) { r.mutable_events(5)->mutable_quality_score()->clear_name(); }},
      {"score value",
       [](v1::IngestRequest& r) {
         r.mutable_events(5)->mutable_quality_score()->set_value(HUGE_VAL);
       }},
  };
  v1::IngestRequest valid;
  valid.set_producer_id("p");
  {
    v1::Event* e = valid.add_events();
    auto* run = e->mutable_workflow_run();
    run->set_workflow("triage");
    run->set_run_id("r");
    run->set_status(v1::RUN_STATUS_SUCCEEDED);
    e = valid.add_events();
    auto* call = e->mutable_llm_call();
    call->set_provider("openai");
    call->set_model("gpt");
    call->set_input_tokens(100);
    call->set_status(v1::RUN_STATUS_SUCCEEDED);
    e = valid.add_events();
    auto* execution = e->mutable_agent_execution();
    execution->set_agent("planner");
    execution->set_status(v1::RUN_STATUS_FAILED);
    e = valid.add_events();
    e->mutable_resource_sample()->set_component("router");
    e->mutable_resource_sample()->set_cpu_utilization(0.5);
    e = valid.add_events();
    e->mutable_metric_sample()->set_name("queue_wait");
    e = valid.add_events();
    e->mutable_quality_score()->set_name("faithfulness");
    for (v1::Event& each : *valid.mutable_events()) {
      each.mutable_time()->set_seconds(kNowSeconds);
      each.set_tenant("acme");
    }
  }
  RejectReason reason = RejectReason::kStoreError;
  ASSERT_THAT(PrepareIngestBatch(valid, {}, Now(), &reason).status(), IsOk());
  for (const auto& [name, mutate] : mutations) {
    v1::IngestRequest request = valid;
    mutate(request);
    RejectReason want_reason = RejectReason::kStoreError;
    const absl::Status want = ReferenceBatch(request, &want_reason).status();
    ASSERT_FALSE(want.ok()) << name;
    RejectReason got_reason = RejectReason::kStoreError;
    const absl::Status got = PrepareIngestBatch(request, {}, Now(), &got_reason).status();
    EXPECT_EQ(got, want) << name << ": " << got << " vs " << want;
    EXPECT_EQ(got_reason, want_reason) << name;
    // The wire reader declines every invalid batch: the service then answers
    // PrepareIngestBatch's error.
    IngestWire wire;
    EXPECT_FALSE(PrepareIngestBatchFromWire(request.SerializeAsString(), {}, Now(), nullptr, &wire))
        << name;
  }
  IngestWire wire;
  EXPECT_TRUE(PrepareIngestBatchFromWire(valid.SerializeAsString(), {}, Now(), nullptr, &wire));
  // A few messages spelled out, so that the comparison is not vacuous.
  v1::IngestRequest request = valid;
  request.mutable_events(1)->mutable_llm_call()->mutable_latency()->set_nanos(2'000'000'000);
  EXPECT_THAT(PrepareIngestBatch(request, {}, Now()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "events[1].llm_call.latency: not a valid duration"));
  request = valid;
  (*request.mutable_events(1)->mutable_labels())["zz-bad"] = "v";
  (*request.mutable_events(1)->mutable_labels())["9bad"] = "v";
  EXPECT_THAT(PrepareIngestBatch(request, {}, Now()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "events[1].labels: invalid label name \"9bad\" (must match "
                       "[a-zA-Z_][a-zA-Z0-9_]*, at most 128 bytes)"));
  request = valid;
  (*request.mutable_events(3)->mutable_labels())["env"] = std::string(257, 'v');
  EXPECT_THAT(
      PrepareIngestBatch(request, {}, Now()).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, "events[3].labels[env]: longer than 256 bytes"));
  request = valid;
  for (int i = 0; i < 33; ++i)
    (*request.mutable_events(0)->mutable_labels())[absl::StrCat("l", i)] = "v";
  reason = RejectReason::kStoreError;
  EXPECT_THAT(
      PrepareIngestBatch(request, {}, Now(), &reason).status(),
      StatusIs(absl::StatusCode::kResourceExhausted, "events[0].labels: 33 labels, at most 32"));
  EXPECT_EQ(reason, RejectReason::kTooManyLabels);
}

// Sketches built by Add (in place, amortized growth) equal those built by
// merging one-value sketches (the resizing path), in any order, also when
// the range collapses.
TEST(IngestPathTest, SketchGrowthInPlaceLeavesTheSameState) {
  std::mt19937_64 rng(7);
  for (int max_buckets : {16, 64, QuantileSketch::kDefaultMaxBuckets}) {
    absl::StatusOr<QuantileSketch> empty = QuantileSketch::Create(0.01, max_buckets);
    ASSERT_THAT(empty.status(), IsOk());
    std::vector<double> values;
    for (int i = 0; i < 2000; ++i) {
      const double magnitude = std::ldexp(1.0 + static_cast<double>(rng() % 1000) / 1000.0,
                                          static_cast<int>(rng() % 60) - 30);
      values.push_back(rng() % 5 == 0 ? -magnitude : (rng() % 17 == 0 ? 0.0 : magnitude));
    }
    for (int order = 0; order < 3; ++order) {
      if (order == 1) std::sort(values.begin(), values.end());
      if (order == 2) std::sort(values.rbegin(), values.rend());
      QuantileSketch added = *empty;
      QuantileSketch merged = *empty;
      for (double v : values) {
        ASSERT_TRUE(added.Add(v));
        QuantileSketch one = *empty;
        one.Add(v);
        ASSERT_THAT(merged.Merge(one), IsOk());
      }
      EXPECT_TRUE(added == merged) << max_buckets << " order " << order;
      absl::StatusOr<QuantileSketch> round_trip = QuantileSketch::Deserialize(added.Serialize());
      ASSERT_THAT(round_trip.status(), IsOk());
      EXPECT_TRUE(*round_trip == added);
    }
  }
}

TEST(IngestPathTest, SketchOfAnAggregateKeepsItsErrorBound) {
  Batch batch;
  batch.producer_id = "p";
  std::vector<double> values;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 3000; ++i) {
    LlmCall call;
    call.provider = "openai";
    call.model = "gpt";
    call.status = RunStatus::kSucceeded;
    const int64_t micros = 1 + static_cast<int64_t>(rng() % 30'000'000);
    call.latency = absl::Microseconds(micros);
    values.push_back(absl::ToDoubleSeconds(*call.latency));
    Event event;
    event.time = Now();
    event.tenant = "acme";
    event.kind = call;
    batch.events.push_back(event);
  }
  const BatchAggregate aggregate = AggregateBatch(batch);
  const RollupDelta* latency = nullptr;
  for (const RollupDelta& delta : aggregate.rollups) {
    if (delta.metric == kLlmLatencySeconds) latency = &delta;
  }
  ASSERT_NE(latency, nullptr);
  ASSERT_TRUE(latency->sketch.has_value());
  std::sort(values.begin(), values.end());
  for (double q : {0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999}) {
    const double exact =
        values[static_cast<size_t>(std::floor(q * static_cast<double>(values.size() - 1)))];
    const std::optional<double> estimate = latency->sketch->Quantile(q);
    ASSERT_TRUE(estimate.has_value());
    EXPECT_LE(std::fabs(*estimate - exact), 0.01 * exact + 1e-12) << q;
  }
}

// ---- The wire reader (api/ingest_wire.h) -------------------------------------

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void PutTag(std::string& out, uint32_t field, uint32_t type) {
  PutVarint(out, (uint64_t{field} << 3) | type);
}
void PutBytes(std::string& out, uint32_t field, absl::string_view bytes) {
  PutTag(out, field, 2);
  PutVarint(out, bytes.size());
  out.append(bytes.data(), bytes.size());
}

// `request` encoded field by field: `top` appended after the events, `extra`
// appended to the bytes of event `index`.
std::string Encode(const v1::IngestRequest& request, int index = -1, absl::string_view extra = "",
                   absl::string_view top = "") {
  std::string out;
  PutBytes(out, 1, request.producer_id());
  PutTag(out, 2, 0);
  PutVarint(out, request.sequence());
  for (int i = 0; i < request.events_size(); ++i) {
    std::string event = request.events(i).SerializeAsString();
    if (i == index) event.append(extra.data(), extra.size());
    PutBytes(out, 3, event);
  }
  out.append(top.data(), top.size());
  return out;
}

// The reader on `bytes`; when it accepts them, the generated parser must
// read them and PrepareIngestBatch give the same aggregate, producer_id and
// sequence. Whether it accepted.
bool WireAgrees(const std::string& bytes, LabelSetCache* cache = nullptr) {
  IngestWire wire;
  std::optional<BatchAggregate> got = PrepareIngestBatchFromWire(bytes, {}, Now(), cache, &wire);
  if (!got.has_value()) return false;
  v1::IngestRequest request;
  EXPECT_TRUE(request.ParseFromString(bytes));
  absl::StatusOr<BatchAggregate> want = PrepareIngestBatch(request, {}, Now());
  EXPECT_THAT(want.status(), IsOk());
  if (!want.ok()) return true;
  EXPECT_EQ(wire.producer_id, request.producer_id());
  EXPECT_EQ(wire.sequence, request.sequence());
  ExpectSameAggregate(*got, *want);
  return true;
}

// A valid batch with every kind and field, and values at their extremes.
v1::IngestRequest ExtremeRequest() {
  v1::IngestRequest request;
  request.set_producer_id(std::string(128, 'p'));
  request.set_sequence(~uint64_t{0});
  auto add = [&request](int64_t seconds, int32_t nanos) {
    v1::Event* e = request.add_events();
    e->mutable_time()->set_seconds(seconds);
    e->mutable_time()->set_nanos(nanos);
    e->set_tenant(std::string(128, 't'));
    return e;
  };
  v1::Event* e = add(kNowSeconds + 3600, 0);
  e->set_event_id(std::string(256, 'e'));
  for (int i = 0; i < 32; ++i) (*e->mutable_labels())[absl::StrCat("l", 31 - i)] = "v";
  auto* run = e->mutable_workflow_run();
  run->set_workflow("w");
  run->set_run_id(std::string(256, 'r'));
  run->set_status(v1::RUN_STATUS_TIMED_OUT);
  run->mutable_duration();  // present, zero
  run->set_step_count(2147483647);
  e = add(kNowSeconds - 90 * 86400 + 1, 999999999);
  auto* execution = e->mutable_agent_execution();
  execution->set_agent("a");
  execution->set_status(v1::RUN_STATUS_CANCELLED);
  execution->mutable_duration()->set_seconds(315576000000);
  execution->mutable_duration()->set_nanos(999999999);
  execution->set_retries(2147483647);
  e = add(kNowSeconds, 1);
  (*e->mutable_labels())["env"] = std::string(256, 'x');
  auto* call = e->mutable_llm_call();
  call->set_provider("p");
  call->set_model("m");
  call->set_workflow("w");
  call->set_run_id("r");
  call->set_agent("a");
  call->set_team("t");
  call->mutable_latency()->set_nanos(1);
  call->mutable_time_to_first_token();
  call->set_input_tokens(int64_t{1} << 62);
  call->set_output_tokens(int64_t{1} << 62);
  call->set_cached_input_tokens(int64_t{1} << 61);
  call->set_cache_creation_tokens(int64_t{1} << 61);
  call->set_status(v1::RUN_STATUS_FAILED);
  call->set_error_type("rate_limit");
  call->set_throttled(true);
  e = add(kNowSeconds, 0);
  auto* sample = e->mutable_resource_sample();
  sample->set_pod("pod");
  sample->set_cpu_utilization(0);  // present although zero
  sample->set_memory_utilization(1e300);
  sample->set_queue_depth(0);
  sample->mutable_processing_lag()->set_seconds(1);
  e = add(kNowSeconds, 0);
  e->mutable_metric_sample()->set_name("ns:m");
  e->mutable_metric_sample()->set_value(-0.0);
  e = add(kNowSeconds, 0);
  auto* score = e->mutable_quality_score();
  score->set_name("s");
  score->set_value(-1e-300);
  score->set_workflow("w");
  score->set_agent("a");
  score->set_run_id("r");
  return request;
}

TEST(IngestWireTest, VariedBatchesGiveTheGeneratedPathsAggregate) {
  std::mt19937_64 rng(20261127);
  LabelSetCache cache;
  for (int round = 0; round < 40; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const v1::IngestRequest request = RandomRequest(rng, 1 + static_cast<int>(rng() % 400));
    EXPECT_TRUE(WireAgrees(request.SerializeAsString()));
    EXPECT_TRUE(WireAgrees(request.SerializeAsString(), &cache));
  }
  const v1::IngestRequest extreme = ExtremeRequest();
  EXPECT_TRUE(WireAgrees(extreme.SerializeAsString()));
  // The header after the events, fields of an event in reverse order, an
  // explicit default: still one reading, accepted.
  std::string reordered;
  for (const v1::Event& event : extreme.events()) {
    PutBytes(reordered, 3, event.SerializeAsString());
  }
  PutTag(reordered, 2, 0);
  PutVarint(reordered, 7);
  PutBytes(reordered, 1, "producer");
  EXPECT_TRUE(WireAgrees(reordered));
  std::string event;
  std::string call;
  PutTag(call, 13, 0);
  PutVarint(call, 1);
  PutBytes(call, 2, "m");
  PutBytes(call, 1, "p");
  PutTag(call, 15, 0);
  PutVarint(call, 0);
  PutBytes(event, 12, call);
  PutBytes(event, 3, "acme");
  std::string time;
  PutTag(time, 1, 0);
  PutVarint(time, kNowSeconds);
  PutBytes(event, 2, time);
  std::string out;
  PutBytes(out, 3, event);
  PutBytes(out, 1, "p");
  EXPECT_TRUE(WireAgrees(out));
}

TEST(IngestWireTest, EncodingsOutsideTheSubsetAreDeclined) {
  const v1::IngestRequest base = ExtremeRequest();
  ASSERT_TRUE(WireAgrees(Encode(base)));
  auto tagged = [](uint32_t field, uint32_t type, uint64_t value) {
    std::string out;
    PutTag(out, field, type);
    PutVarint(out, value);
    return out;
  };
  auto bytes = [](uint32_t field, absl::string_view value) {
    std::string out;
    PutBytes(out, field, value);
    return out;
  };
  std::string label_without_value, label_twice, ten_byte_varint;
  PutBytes(label_without_value, 1, "zone");
  label_twice = bytes(4, bytes(1, "env") + bytes(2, "a"));
  PutTag(ten_byte_varint, 2, 0);
  ten_byte_varint.append(9, '\xff');
  ten_byte_varint.push_back('\x02');  // 65 bits
  const std::string encoded = Encode(base);
  auto with_tenant = [&base](absl::string_view tenant) {
    v1::IngestRequest request = base;
    request.mutable_events(3)->set_tenant(std::string(tenant));
    return Encode(request);
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"producer_id twice", Encode(base, -1, "", bytes(1, "other"))},
      {"sequence twice", Encode(base, -1, "", tagged(2, 0, 5))},
      {"unknown field", Encode(base, -1, "", tagged(4, 0, 1))},
      {"producer_id as a varint", Encode(base, -1, "", tagged(1, 0, 1))},
      {"events as a varint", Encode(base, -1, "", tagged(3, 0, 1))},
      {"sequence over 64 bits", Encode(base, -1, "", ten_byte_varint)},
      {"field number 0", Encode(base, -1, "", tagged(0, 0, 1))},
      {"group", Encode(base, -1, "", tagged(5, 3, 0))},
      {"event_id twice", Encode(base, 0, bytes(1, "other"))},
      {"time twice", Encode(base, 0, bytes(2, tagged(1, 0, kNowSeconds)))},
      {"tenant twice", Encode(base, 1, bytes(3, "other"))},
      {"two kinds", Encode(base, 2, bytes(14, bytes(1, "m")))},
      {"a kind twice (merged)", Encode(base, 2, bytes(12, bytes(6, "other")))},
      {"label without value", Encode(base, 2, bytes(4, label_without_value))},
      {"label key twice", Encode(base, 2, label_twice)},
      {"label value twice",
       Encode(base, 2, bytes(4, bytes(1, "z") + bytes(2, "a") + bytes(2, "b")))},
      {"unknown event field", Encode(base, 2, bytes(5, "x"))},
      {"unknown kind field", Encode(base, 2, bytes(12, tagged(16, 0, 1)))},
      {"throttled 2", Encode(base, 2, bytes(12, tagged(15, 0, 2)))},
      {"step_count beyond int32", Encode(base, 0, bytes(10, tagged(6, 0, uint64_t{1} << 31)))},
      {"status beyond int32", Encode(base, 1, bytes(11, tagged(4, 0, uint64_t{1} << 32)))},
      {"nanos twice", Encode(base, 1, bytes(2, tagged(2, 0, 1) + tagged(2, 0, 2)))},
      {"double as fixed32", Encode(base, 4, bytes(14, tagged(2, 5, 0) + std::string(4, '\0')))},
      {"double truncated", Encode(base, 4, bytes(14, tagged(2, 1, 0)))},
      {"non-ASCII tenant", with_tenant("caf\xc3\xa9")},
      {"non-ASCII label", Encode(base, 3, bytes(4, bytes(1, "k") + bytes(2, "\xc3\xa9")))},
      {"invalid UTF-8", with_tenant("\xff")},
      {"truncated", encoded.substr(0, encoded.size() - 1)},
      {"length past the end", encoded + bytes(1, "x").substr(0, 2)},
  };
  for (const auto& [name, wire] : cases) {
    EXPECT_FALSE(WireAgrees(wire)) << name;
  }
  // Why: the generated parser reads some of them differently (the last
  // producer_id wins, a repeated kind merges) and refuses others.
  auto wire_of = [&cases](absl::string_view name) {
    for (const auto& [each, wire] : cases) {
      if (each == name) return wire;
    }
    ADD_FAILURE() << name;
    return std::string();
  };
  v1::IngestRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire_of("producer_id twice")));
  EXPECT_EQ(parsed.producer_id(), "other");
  ASSERT_TRUE(parsed.ParseFromString(wire_of("a kind twice (merged)")));
  EXPECT_EQ(parsed.events(2).llm_call().team(), "other");
  EXPECT_EQ(parsed.events(2).llm_call().model(), "m");
  ASSERT_TRUE(parsed.ParseFromString(wire_of("label key twice")));
  EXPECT_EQ(parsed.events(2).labels().at("env"), "a");
  EXPECT_FALSE(parsed.ParseFromString(wire_of("invalid UTF-8")));
  // A valid non-ASCII batch is declined too: the fallback accepts it.
  ASSERT_TRUE(parsed.ParseFromString(wire_of("non-ASCII tenant")));
  EXPECT_THAT(PrepareIngestBatch(parsed, {}, Now()).status(), IsOk());
  // More events than the limit: declined before reading them all.
  IngestLimits limits;
  limits.max_batch_events = 5;
  IngestWire wire;
  EXPECT_FALSE(PrepareIngestBatchFromWire(encoded, limits, Now(), nullptr, &wire));
  limits.max_batch_events = 6;
  EXPECT_TRUE(PrepareIngestBatchFromWire(encoded, limits, Now(), nullptr, &wire));
}

// Random batches and random corruptions of them: the reader accepts every
// valid batch and never accepts bytes the generated path rejects or reads
// differently.
TEST(IngestWireTest, RandomBatchesAndCorruptionsNeverDisagree) {
  std::mt19937_64 rng(31);
  auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
  int accepted_corruptions = 0;
  for (int round = 0; round < 1000; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const std::string bytes =
        RandomRequest(rng, 1 + static_cast<int>(rng() % 6)).SerializeAsString();
    ASSERT_TRUE(WireAgrees(bytes));
    for (int c = 0; c < 20; ++c) {
      std::string corrupt = bytes;
      switch (pick(5)) {
        case 0:
          corrupt[pick(corrupt.size())] = static_cast<char>(rng());
          break;
        case 1:
          corrupt.resize(pick(corrupt.size()));
          break;
        case 2:
          corrupt.erase(pick(corrupt.size()), 1);
          break;
        case 3:
          corrupt.insert(pick(corrupt.size() + 1), 1, static_cast<char>(rng()));
          break;
        default: {
          const size_t at = pick(corrupt.size());
          corrupt.insert(pick(corrupt.size() + 1), corrupt.substr(at, 1 + pick(12)));
          break;
        }
      }
      if (WireAgrees(corrupt)) ++accepted_corruptions;
      if (::testing::Test::HasFailure()) return;
    }
  }
  // Some corruptions stay valid batches (a changed value byte): the
  // comparison above was not vacuous.
  EXPECT_GT(accepted_corruptions, 100);
}

TEST(IngestAllocatorTest, RequestsLiveOnPooledBlocks) {
  IngestMessageAllocator allocator(64 << 10, 2);
  std::vector<grpc::MessageHolder<v1::IngestRequest, v1::IngestResponse>*> held;
  for (int i = 0; i < 3; ++i) {
    auto* holder = allocator.AllocateMessages();
    ASSERT_NE(holder->request()->GetArena(), nullptr);
    EXPECT_EQ(holder->request()->GetArena(), holder->response()->GetArena());
    // More than one block's worth: the arena continues on the heap.
    for (int e = 0; e < 2000; ++e) {
      holder->request()->add_events()->set_tenant(absl::StrCat("tenant-with-a-long-name-", e));
    }
    held.push_back(holder);
  }
  EXPECT_EQ(allocator.pooled(), 0u);
  for (auto* holder : held) holder->Release();
  EXPECT_EQ(allocator.pooled(), 2u);  // at most max_pooled are kept
  auto* again = allocator.AllocateMessages();
  EXPECT_EQ(allocator.pooled(), 1u);
  EXPECT_EQ(again->request()->events_size(), 0);
  again->Release();
}

}  // namespace
}  // namespace agentwatch::monitor
