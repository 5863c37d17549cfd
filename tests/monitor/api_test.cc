// MonitorService through a real in-process gRPC server with the in-memory
// store, an in-memory health cache and a FakeClock behind it.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentwatch/monitor/v1/monitor.grpc.pb.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/rpc.h"
#include "monitor/api/monitor_metrics.h"
#include "monitor/api/monitor_service.h"
#include "monitor/core/alerting.h"
#include "monitor/core/rules.h"
#include "monitor/store/health_cache.h"
#include "monitor/store/in_memory_monitor_store.h"
#include "proto_events.h"

namespace agentwatch::monitor {
namespace {

using fixtures::ProtoCall;
using fixtures::ProtoRun;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Pair;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'040);  // a whole minute

struct HarnessOptions {
  common::Authorizer authorizer;
  StoreLimits store_limits;
};

// The service on 127.0.0.1:<ephemeral> and a stub to it.
class Harness {
 public:
  explicit Harness(HarnessOptions options = {})
      : clock_(kStart),
        rule_(ErrorRateAlertConfig{}),
        store_(options.store_limits, {&rule_}),
        cache_(clock_),
        authorizer_(std::move(options.authorizer)),
        executor_(4, 100),
        runner_(authorizer_, executor_),
        stream_executor_(2, 100),
        metrics_(registry_, "agentwatch_monitor"),
        service_(store_, cache_, runner_, stream_executor_, clock_, metrics_,
                 MonitorServiceOptions{}, [this] { ++notified_; }) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::MonitorService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  ~Harness() { server_->Shutdown(); }

  grpc::Status Ingest(const v1::IngestRequest& request, v1::IngestResponse* response,
                      const std::string& token = "") {
    grpc::ClientContext context;
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    return stub_->Ingest(&context, request, response);
  }

  grpc::Status GetHealth(const v1::GetHealthRequest& request, v1::HealthReport* response) {
    grpc::ClientContext context;
    return stub_->GetHealth(&context, request, response);
  }

  grpc::Status QuerySeries(const v1::QuerySeriesRequest& request,
                           v1::QuerySeriesResponse* response) {
    grpc::ClientContext context;
    return stub_->QuerySeries(&context, request, response);
  }

  double Counter(prometheus::Family<prometheus::Counter>& family, const std::string& label,
                 const std::string& value) {
    return family.Add({{label, value}}).Value();
  }

  common::FakeClock clock_;
  WorkflowErrorRateRule rule_;
  InMemoryMonitorStore store_;
  InMemoryHealthCache cache_;
  common::Authorizer authorizer_;
  common::BlockingExecutor executor_;
  common::RpcRunner runner_;
  common::BlockingExecutor stream_executor_;
  prometheus::Registry registry_;
  MonitorMetrics metrics_;
  MonitorServiceImpl service_;
  std::atomic<int> notified_{0};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::MonitorService::Stub> stub_;
};

v1::IngestRequest ValidRequest(uint64_t sequence = 1) {
  v1::IngestRequest request;
  request.set_producer_id("platform-a/pod-7");
  request.set_sequence(sequence);
  *request.add_events() = ProtoRun("acme", "triage", v1::RUN_STATUS_SUCCEEDED, kStart);
  *request.add_events() = ProtoRun("acme", "triage", v1::RUN_STATUS_FAILED, kStart);
  *request.add_events() = ProtoCall("acme", "gpt-4o", v1::RUN_STATUS_SUCCEEDED, kStart);
  *request.add_events() = ProtoCall("acme", "gpt-4o-mini", v1::RUN_STATUS_SUCCEEDED, kStart);
  return request;
}

const Labels kSucceededRunLabels = {
    {"status", "succeeded"}, {"team", "search"}, {"tenant", "acme"}, {"workflow", "triage"}};

TEST(IngestTest, CommitsAndAcknowledges) {
  Harness h;
  v1::IngestResponse response;
  ASSERT_TRUE(h.Ingest(ValidRequest(7), &response).ok());
  EXPECT_EQ(response.sequence(), 7u);
  EXPECT_EQ(response.accepted(), 4);
  EXPECT_FALSE(response.duplicate());
  EXPECT_EQ(h.store_.BatchCount(), 1);
  std::optional<RollupStats> runs =
      h.store_.Rollup("workflow_runs_total", kSucceededRunLabels, kStart);
  ASSERT_TRUE(runs.has_value());
  EXPECT_EQ(runs->count, 1);
  EXPECT_EQ(h.store_.EnqueuedUsage().size(), 2u);
  EXPECT_GT(h.notified_.load(), 0);
  EXPECT_EQ(h.metrics_.events_ingested.Value(), 4);
  EXPECT_EQ(h.Counter(h.metrics_.ingest_batches, "result", "accepted"), 1);
}

TEST(IngestTest, ReplayIsAcknowledgedAsDuplicateAndChangesNothing) {
  Harness h;
  v1::IngestResponse first;
  ASSERT_TRUE(h.Ingest(ValidRequest(3), &first).ok());
  const int notified = h.notified_.load();
  v1::IngestResponse replay;
  ASSERT_TRUE(h.Ingest(ValidRequest(3), &replay).ok());
  EXPECT_EQ(replay.sequence(), 3u);
  EXPECT_TRUE(replay.duplicate());
  EXPECT_EQ(replay.accepted(), 0);
  EXPECT_EQ(h.store_.BatchCount(), 1);
  EXPECT_EQ(h.store_.Rollup("workflow_runs_total", kSucceededRunLabels, kStart)->count, 1);
  EXPECT_EQ(h.store_.EnqueuedUsage().size(), 2u);
  EXPECT_EQ(h.notified_.load(), notified);
  EXPECT_EQ(h.metrics_.events_ingested.Value(), 4);
  EXPECT_EQ(h.Counter(h.metrics_.ingest_batches, "result", "duplicate"), 1);
  // Another sequence of the same producer is a new batch.
  v1::IngestResponse next;
  ASSERT_TRUE(h.Ingest(ValidRequest(4), &next).ok());
  EXPECT_FALSE(next.duplicate());
  EXPECT_EQ(h.store_.Rollup("workflow_runs_total", kSucceededRunLabels, kStart)->count, 2);
}

struct BadBatch {
  std::string name;
  std::function<void(v1::IngestRequest&)> mutate;
  grpc::StatusCode code;
  std::string message;
  std::string reason;
};

TEST(IngestTest, BadBatchesAreRejectedNamingTheFieldAndWriteNothing) {
  const std::vector<BadBatch> cases = {
      {"missing producer", [](v1::IngestRequest& r) { r.clear_producer_id(); },
       grpc::StatusCode::INVALID_ARGUMENT, "producer_id: required", "invalid"},
      {"no events", [](v1::IngestRequest& r) { r.clear_events(); },
       grpc::StatusCode::INVALID_ARGUMENT, "events: required (1 to 10000)", "invalid"},
      {"missing model",
       [](v1::IngestRequest& r) { r.mutable_events(3)->mutable_llm_call()->clear_model(); },
       grpc::StatusCode::INVALID_ARGUMENT, "events[3].llm_call.model: required", "invalid"},
      {"missing time", [](v1::IngestRequest& r) { r.mutable_events(1)->clear_time(); },
       grpc::StatusCode::INVALID_ARGUMENT, "events[1].time: required", "invalid"},
      {"malformed time",
       [](v1::IngestRequest& r) { r.mutable_events(2)->mutable_time()->set_nanos(-1); },
       grpc::StatusCode::INVALID_ARGUMENT, "events[2].time: not a valid timestamp", "invalid"},
      {"malformed duration",
       [](v1::IngestRequest& r) {
         v1::WorkflowRun* run = r.mutable_events(0)->mutable_workflow_run();
         run->mutable_duration()->set_seconds(1);
         run->mutable_duration()->set_nanos(-5);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "events[0].workflow_run.duration: not a valid duration",
       "invalid"},
      {"unknown status",
       [](v1::IngestRequest& r) {
         r.mutable_events(1)->mutable_workflow_run()->set_status(static_cast<v1::RunStatus>(9));
       },
       grpc::StatusCode::INVALID_ARGUMENT, "events[1].workflow_run.status: unknown value 9",
       "invalid"},
      {"no kind", [](v1::IngestRequest& r) { r.mutable_events(0)->clear_workflow_run(); },
       grpc::StatusCode::INVALID_ARGUMENT,
       "events[0].kind: required (one of workflow_run, agent_execution, llm_call, "
       "resource_sample, metric_sample, quality_score)",
       "invalid"},
      {"future time",
       [](v1::IngestRequest& r) {
         ToProtoTimestamp(kStart + absl::Hours(2), r.mutable_events(0)->mutable_time());
       },
       grpc::StatusCode::INVALID_ARGUMENT, "events[0].time: more than 1h in the future", "invalid"},
      {"too many labels",
       [](v1::IngestRequest& r) {
         for (int i = 0; i < 33; ++i) {
           (*r.mutable_events(2)->mutable_labels())[absl::StrCat("l", i)] = "v";
         }
       },
       grpc::StatusCode::RESOURCE_EXHAUSTED, "events[2].labels: 33 labels, at most 32",
       "too_many_labels"},
      {"too many events",
       [](v1::IngestRequest& r) {
         while (r.events_size() <= 10000) *r.add_events() = r.events(0);
       },
       grpc::StatusCode::RESOURCE_EXHAUSTED, "events: 10001 events in the batch, at most 10000",
       "batch_too_large"},
  };
  for (const BadBatch& c : cases) {
    SCOPED_TRACE(c.name);
    Harness h;
    v1::IngestRequest request = ValidRequest();
    c.mutate(request);
    v1::IngestResponse response;
    const grpc::Status status = h.Ingest(request, &response);
    EXPECT_EQ(status.error_code(), c.code);
    EXPECT_EQ(status.error_message(), c.message);
    EXPECT_EQ(h.store_.BatchCount(), 0);
    EXPECT_FALSE(h.store_.Rollup("workflow_runs_total", kSucceededRunLabels, kStart).has_value());
    EXPECT_TRUE(h.store_.EnqueuedUsage().empty());
    EXPECT_EQ(h.Counter(h.metrics_.events_rejected, "reason", c.reason),
              static_cast<double>(request.events_size()));
    EXPECT_EQ(h.Counter(h.metrics_.ingest_batches, "result", "rejected"), 1);
    EXPECT_EQ(h.metrics_.events_ingested.Value(), 0);
  }
}

TEST(IngestTest, SeriesLimitRejectsTheWholeBatch) {
  HarnessOptions options;
  // ValidRequest feeds 2 metrics x 2 statuses of runs + 7 metrics x 2 models
  // of LLM calls (no time to first token) = 18 series.
  options.store_limits.max_series_per_tenant = 17;
  Harness h(std::move(options));
  v1::IngestResponse response;
  const grpc::Status status = h.Ingest(ValidRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(),
            "events: tenant \"acme\" would have 18 active series, at most 17");
  EXPECT_EQ(h.store_.BatchCount(), 0);
  EXPECT_EQ(h.store_.SeriesCount("acme"), 0);
  EXPECT_TRUE(h.store_.EnqueuedUsage().empty());
  EXPECT_EQ(h.Counter(h.metrics_.events_rejected, "reason", "series_limit"), 4);
}

TEST(IngestTest, StoreOutageIsUnavailable) {
  Harness h;
  h.store_.FailWith(absl::UnavailableError("postgres unreachable"));
  v1::IngestResponse response;
  const grpc::Status status = h.Ingest(ValidRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(h.Counter(h.metrics_.ingest_batches, "result", "error"), 1);
  EXPECT_EQ(h.Counter(h.metrics_.events_rejected, "reason", "store_error"), 4);
  h.store_.FailWith(absl::OkStatus());
  ASSERT_TRUE(h.Ingest(ValidRequest(), &response).ok());
  EXPECT_FALSE(response.duplicate());
}

TEST(IngestTest, RolesAreEnforced) {
  HarnessOptions options;
  options.authorizer = common::Authorizer(
      {{"viewer-token", common::Role::kViewer}, {"operator-token", common::Role::kOperator}});
  Harness h(std::move(options));
  v1::IngestResponse response;
  EXPECT_EQ(h.Ingest(ValidRequest(), &response).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(h.Ingest(ValidRequest(), &response, "viewer-token").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(h.Ingest(ValidRequest(), &response, "operator-token").ok());

  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer viewer-token");
  auto stream = h.stub_->StreamIngest(&context);
  stream->WritesDone();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST(StreamIngestTest, AcknowledgesEachBatchInOrderAndEndsOnABadOne) {
  Harness h;
  grpc::ClientContext context;
  auto stream = h.stub_->StreamIngest(&context);
  v1::IngestResponse response;
  ASSERT_TRUE(stream->Write(ValidRequest(1)));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.sequence(), 1u);
  EXPECT_EQ(response.accepted(), 4);
  ASSERT_TRUE(stream->Write(ValidRequest(2)));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.sequence(), 2u);
  EXPECT_FALSE(response.duplicate());
  ASSERT_TRUE(stream->Write(ValidRequest(1)));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.sequence(), 1u);
  EXPECT_TRUE(response.duplicate());
  EXPECT_EQ(response.accepted(), 0);

  v1::IngestRequest bad = ValidRequest(3);
  bad.mutable_events(3)->mutable_llm_call()->clear_model();
  stream->Write(bad);
  EXPECT_FALSE(stream->Read(&response));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "events[3].llm_call.model: required");
  // The batches acknowledged before stay committed; the bad one wrote nothing.
  EXPECT_EQ(h.store_.BatchCount(), 2);
  EXPECT_EQ(h.store_.Rollup("workflow_runs_total", kSucceededRunLabels, kStart)->count, 2);
}

TEST(StreamIngestTest, PipelinedWritesAreAcknowledgedInOrder) {
  Harness h;
  grpc::ClientContext context;
  auto stream = h.stub_->StreamIngest(&context);
  for (uint64_t sequence = 10; sequence < 20; ++sequence) {
    ASSERT_TRUE(stream->Write(ValidRequest(sequence)));
  }
  stream->WritesDone();
  std::vector<uint64_t> acknowledged;
  v1::IngestResponse response;
  while (stream->Read(&response)) acknowledged.push_back(response.sequence());
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_THAT(acknowledged, ElementsAre(10, 11, 12, 13, 14, 15, 16, 17, 18, 19));
  EXPECT_EQ(h.store_.BatchCount(), 10);
}

TEST(AlertTest, ErrorRateFiresThroughIngestAndResolves) {
  Harness h;
  v1::IngestRequest failing;
  failing.set_producer_id("p");
  failing.set_sequence(1);
  for (int i = 0; i < 10; ++i) {
    *failing.add_events() = ProtoRun("acme", "triage", v1::RUN_STATUS_FAILED, kStart);
  }
  v1::IngestResponse response;
  ASSERT_TRUE(h.Ingest(failing, &response).ok());
  std::vector<AlertNotice> alerts = h.store_.EnqueuedAlerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_TRUE(alerts[0].firing);
  EXPECT_EQ(alerts[0].severity, Severity::kP1);
  EXPECT_EQ(alerts[0].fingerprint, WorkflowErrorRateFingerprint("acme", "triage"));
  EXPECT_EQ(h.Counter(h.metrics_.alert_transitions, "status", "firing"), 1);

  // A later batch of successes brings the rate under 4 %: resolves.
  h.clock_.Advance(absl::Minutes(1));
  v1::IngestRequest healthy;
  healthy.set_producer_id("p");
  healthy.set_sequence(2);
  for (int i = 0; i < 250; ++i) {
    *healthy.add_events() = ProtoRun("acme", "triage", v1::RUN_STATUS_SUCCEEDED, h.clock_.Now());
  }
  ASSERT_TRUE(h.Ingest(healthy, &response).ok());
  alerts = h.store_.EnqueuedAlerts();
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_FALSE(alerts[1].firing);
  EXPECT_EQ(alerts[1].starts_at, kStart);
  EXPECT_EQ(alerts[1].ends_at, h.clock_.Now());
  EXPECT_EQ(h.Counter(h.metrics_.alert_transitions, "status", "resolved"), 1);
}

const v1::Indicator* FindIndicator(const v1::ScopeHealth& scope, const std::string& name) {
  for (const v1::Indicator& indicator : scope.indicators()) {
    if (indicator.name() == name) return &indicator;
  }
  return nullptr;
}

TEST(GetHealthTest, ReportsIndicatorsAndServesRepeatsFromTheCache) {
  Harness h;
  v1::IngestResponse ingested;
  ASSERT_TRUE(h.Ingest(ValidRequest(), &ingested).ok());
  v1::GetHealthRequest request;
  request.mutable_scope()->set_tenant("acme");
  v1::HealthReport report;
  ASSERT_TRUE(h.GetHealth(request, &report).ok());
  ASSERT_EQ(report.scopes_size(), 4);  // overall, triage, gpt-4o, gpt-4o-mini
  const v1::ScopeHealth& overall = report.scopes(0);
  EXPECT_EQ(overall.kind(), "overall");
  const v1::Indicator* error_rate = FindIndicator(overall, "error_rate");
  ASSERT_NE(error_rate, nullptr);
  EXPECT_DOUBLE_EQ(error_rate->value(), 0.25);  // 1 failed of 2 runs + 2 calls
  EXPECT_EQ(error_rate->sample_count(), 4);
  EXPECT_EQ(error_rate->status(), common::v1::HEALTH_STATUS_CRITICAL);
  EXPECT_EQ(error_rate->unit(), "ratio");
  EXPECT_EQ(error_rate->warning_threshold(), 0.01);
  EXPECT_EQ(error_rate->critical_threshold(), 0.05);
  EXPECT_EQ(error_rate->direction(), v1::DIRECTION_HIGHER_IS_WORSE);
  EXPECT_EQ(report.overall_status(), common::v1::HEALTH_STATUS_CRITICAL);
  EXPECT_EQ(report.scopes(1).kind(), "workflow");
  EXPECT_EQ(report.scopes(1).scope().workflow(), "triage");
  EXPECT_EQ(report.scopes(1).scope().tenant(), "acme");
  EXPECT_EQ(report.scopes(2).kind(), "model");
  EXPECT_EQ(report.scopes(2).scope().model(), "gpt-4o");
  EXPECT_EQ(report.scopes(2).status(), common::v1::HEALTH_STATUS_HEALTHY);
  // Latency indicators from the merged sketches: every call took 800 ms.
  const v1::Indicator* model_latency = FindIndicator(report.scopes(2), "model_latency_p95");
  ASSERT_NE(model_latency, nullptr);
  EXPECT_DOUBLE_EQ(model_latency->value(), 0.8);
  EXPECT_EQ(model_latency->unit(), "s");
  EXPECT_EQ(model_latency->warning_threshold(), 10);
  EXPECT_EQ(model_latency->critical_threshold(), 20);
  EXPECT_EQ(model_latency->status(), common::v1::HEALTH_STATUS_HEALTHY);
  EXPECT_GT(model_latency->sample_count(), 0);
  const v1::Indicator* workflow_duration = FindIndicator(overall, "workflow_duration_p95");
  ASSERT_NE(workflow_duration, nullptr);
  EXPECT_DOUBLE_EQ(workflow_duration->value(), 2);  // every run took 2 s
  EXPECT_EQ(workflow_duration->status(), common::v1::HEALTH_STATUS_HEALTHY);
  EXPECT_EQ(report.as_of().seconds(), absl::ToUnixSeconds(kStart));
  EXPECT_EQ(h.cache_.hits(), 0);

  // Within the TTL the same request is answered from the cache, even though
  // new data arrived.
  ASSERT_TRUE(h.Ingest(ValidRequest(2), &ingested).ok());
  v1::HealthReport cached;
  ASSERT_TRUE(h.GetHealth(request, &cached).ok());
  EXPECT_EQ(h.cache_.hits(), 1);
  EXPECT_EQ(cached.SerializeAsString(), report.SerializeAsString());

  // After the TTL it is computed again.
  h.clock_.Advance(absl::Seconds(2));
  v1::HealthReport fresh;
  ASSERT_TRUE(h.GetHealth(request, &fresh).ok());
  EXPECT_EQ(h.cache_.hits(), 1);
  EXPECT_EQ(FindIndicator(fresh.scopes(0), "error_rate")->sample_count(), 8);
}

TEST(GetHealthTest, BadRequests) {
  Harness h;
  v1::GetHealthRequest request;
  request.mutable_window()->set_seconds(30);
  v1::HealthReport report;
  grpc::Status status = h.GetHealth(request, &report);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "window: must be from 1m to 24h");
  request.mutable_window()->set_seconds(1);
  request.mutable_window()->set_nanos(-1);
  status = h.GetHealth(request, &report);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "window: not a valid duration");
  request.clear_window();
  (*request.mutable_scope()->mutable_tags())["not-a-key"] = "x";
  status = h.GetHealth(request, &report);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::StartsWith("scope.tags:"));
}

TEST(GetHealthTest, StoreOutageIsUnavailable) {
  Harness h;
  h.store_.FailWith(absl::UnavailableError("postgres unreachable"));
  v1::HealthReport report;
  EXPECT_EQ(h.GetHealth(v1::GetHealthRequest(), &report).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

v1::QuerySeriesRequest Query(const std::string& metric) {
  v1::QuerySeriesRequest request;
  request.set_metric(metric);
  ToProtoTimestamp(kStart - absl::Minutes(10), request.mutable_range()->mutable_start());
  ToProtoTimestamp(kStart + absl::Minutes(10), request.mutable_range()->mutable_end());
  return request;
}

TEST(QuerySeriesTest, SumsGroupsAndAggregates) {
  Harness h;
  v1::IngestRequest request;
  request.set_producer_id("p");
  // gpt-4o: 2 calls at kStart, 1 a minute later; gpt-4o-mini: 1 at kStart.
  *request.add_events() = ProtoCall("acme", "gpt-4o", v1::RUN_STATUS_SUCCEEDED, kStart);
  *request.add_events() =
      ProtoCall("acme", "gpt-4o", v1::RUN_STATUS_FAILED, kStart + absl::Seconds(30));
  *request.add_events() =
      ProtoCall("acme", "gpt-4o", v1::RUN_STATUS_SUCCEEDED, kStart + absl::Minutes(1));
  *request.add_events() = ProtoCall("acme", "gpt-4o-mini", v1::RUN_STATUS_SUCCEEDED, kStart);
  *request.add_events() = ProtoCall("globex", "gpt-4o", v1::RUN_STATUS_SUCCEEDED, kStart);
  v1::IngestResponse ingested;
  ASSERT_TRUE(h.Ingest(request, &ingested).ok());

  v1::QuerySeriesRequest query = Query("llm_calls_total");
  query.set_tenant("acme");
  query.add_group_by("model");
  v1::QuerySeriesResponse response;
  ASSERT_TRUE(h.QuerySeries(query, &response).ok());
  ASSERT_EQ(response.series_size(), 2);
  const v1::Series& gpt4o = response.series(0);
  EXPECT_EQ(gpt4o.labels().at("model"), "gpt-4o");
  EXPECT_EQ(gpt4o.labels().at("__name__"), "llm_calls_total");
  ASSERT_EQ(gpt4o.points_size(), 2);
  EXPECT_EQ(gpt4o.points(0).time().seconds(), absl::ToUnixSeconds(kStart));
  EXPECT_EQ(gpt4o.points(0).value(), 2);
  EXPECT_EQ(gpt4o.points(1).value(), 1);
  EXPECT_EQ(response.series(1).labels().at("model"), "gpt-4o-mini");

  // Matchers, a 2-minute step and RATE; across tenants.
  query = Query("llm_calls_total");
  auto* matcher = query.add_matchers();
  matcher->set_name("model");
  matcher->set_op(common::v1::MATCH_OP_REGEX);
  matcher->set_value("gpt-4o");
  query.mutable_step()->set_seconds(120);
  query.set_aggregation(v1::AGGREGATION_RATE);
  response.Clear();
  ASSERT_TRUE(h.QuerySeries(query, &response).ok());
  ASSERT_EQ(response.series_size(), 1);
  EXPECT_THAT(response.series(0).labels(), ::testing::SizeIs(1));  // __name__ only
  ASSERT_EQ(response.series(0).points_size(), 1);
  // kStart is a multiple of 2 minutes, so both minutes share one step.
  ASSERT_EQ(absl::ToUnixSeconds(kStart) % 120, 0);
  EXPECT_EQ(response.series(0).points(0).time().seconds(), absl::ToUnixSeconds(kStart));
  EXPECT_DOUBLE_EQ(response.series(0).points(0).value(), 4.0 / 120);

  // AVG of latency; status label filter with !=.
  query = Query("llm_latency_seconds");
  query.set_aggregation(v1::AGGREGATION_AVG);
  matcher = query.add_matchers();
  matcher->set_name("status");
  matcher->set_op(common::v1::MATCH_OP_NOT_EQUAL);
  matcher->set_value("failed");
  response.Clear();
  ASSERT_TRUE(h.QuerySeries(query, &response).ok());
  ASSERT_EQ(response.series_size(), 1);
  EXPECT_DOUBLE_EQ(response.series(0).points(0).value(), 0.8);

  // P95 of latency per model from the merged sketches.
  query = Query("llm_latency_seconds");
  query.set_aggregation(v1::AGGREGATION_P95);
  query.add_group_by("model");
  response.Clear();
  ASSERT_TRUE(h.QuerySeries(query, &response).ok());
  ASSERT_EQ(response.series_size(), 2);
  ASSERT_EQ(response.series(0).points_size(), 2);
  EXPECT_DOUBLE_EQ(response.series(0).points(0).value(), 0.8);
}

TEST(QuerySeriesTest, BadRequests) {
  Harness h;
  struct Case {
    std::function<void(v1::QuerySeriesRequest&)> mutate;
    grpc::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](v1::QuerySeriesRequest& q) { q.clear_range(); }, grpc::StatusCode::INVALID_ARGUMENT,
       "range.start: required"},
      {[](v1::QuerySeriesRequest& q) { q.mutable_step()->set_seconds(90); },
       grpc::StatusCode::INVALID_ARGUMENT, "step: must be a whole number of minutes, at least 1m"},
      {[](v1::QuerySeriesRequest& q) { q.mutable_step()->set_seconds(30); },
       grpc::StatusCode::INVALID_ARGUMENT, "step: must be a whole number of minutes, at least 1m"},
      {[](v1::QuerySeriesRequest& q) { q.set_aggregation(v1::AGGREGATION_P95); },
       grpc::StatusCode::INVALID_ARGUMENT,
       "aggregation: quantiles are kept for workflow_duration_seconds, agent_execution_seconds, "
       "llm_latency_seconds, llm_time_to_first_token_seconds and resource_processing_lag_seconds, "
       "not for llm_calls_total"},
      {[](v1::QuerySeriesRequest& q) {
         auto* m = q.add_matchers();
         m->set_name("model");
         m->set_op(common::v1::MATCH_OP_REGEX);
         m->set_value("(unclosed");
       },
       grpc::StatusCode::INVALID_ARGUMENT, ""},
      {[](v1::QuerySeriesRequest& q) {
         ToProtoTimestamp(kStart - absl::Hours(24 * 8), q.mutable_range()->mutable_start());
       },
       grpc::StatusCode::RESOURCE_EXHAUSTED, ""},
  };
  for (const Case& c : cases) {
    v1::QuerySeriesRequest query = Query("llm_calls_total");
    c.mutate(query);
    v1::QuerySeriesResponse response;
    const grpc::Status status = h.QuerySeries(query, &response);
    EXPECT_EQ(status.error_code(), c.code) << status.error_message();
    if (!c.message.empty()) {
      EXPECT_EQ(status.error_message(), c.message);
    }
  }
  v1::QuerySeriesRequest regex = Query("llm_calls_total");
  auto* m = regex.add_matchers();
  m->set_name("model");
  m->set_op(common::v1::MATCH_OP_NOT_REGEX);
  m->set_value("(unclosed");
  v1::QuerySeriesResponse response;
  EXPECT_THAT(h.QuerySeries(regex, &response).error_message(),
              ::testing::StartsWith("matchers[0].value: invalid regular expression"));
}

TEST(UnimplementedTest, OtherRpcsAnswerUnimplemented) {
  Harness h;
  grpc::ClientContext context;
  v1::ListSeriesRequest request;
  v1::ListSeriesResponse response;
  EXPECT_EQ(h.stub_->ListSeries(&context, request, &response).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  grpc::ClientContext rule_context;
  v1::CreateAlertRuleRequest rule;
  v1::AlertRule created;
  EXPECT_EQ(h.stub_->CreateAlertRule(&rule_context, rule, &created).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace agentwatch::monitor
