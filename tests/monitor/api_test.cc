// MonitorService through a real in-process gRPC server with the in-memory
// store, an in-memory health cache and a FakeClock behind it.
#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
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
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    stub_ = v1::MonitorService::NewStub(channel_);
  }
  ~Harness() { server_->Shutdown(); }

  grpc::Status Ingest(const v1::IngestRequest& request, v1::IngestResponse* response,
                      const std::string& token = "") {
    grpc::ClientContext context;
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    return stub_->Ingest(&context, request, response);
  }

  // Ingest with `bytes` as the request, as they are (a generic stub).
  grpc::Status IngestBytes(const std::string& bytes, v1::IngestResponse* response) {
    grpc::GenericStub stub(channel_);
    grpc::CompletionQueue queue;
    grpc::Slice slice(bytes.data(), bytes.size());
    const grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer reply;
    grpc::Status status;
    grpc::ClientContext context;
    auto call = stub.PrepareUnaryCall(&context, "/agentwatch.monitor.v1.MonitorService/Ingest",
                                      request, &queue);
    call->StartCall();
    call->Finish(&reply, &status, &queue);
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(queue.Next(&tag, &ok) && ok);
    if (status.ok()) {
      std::vector<grpc::Slice> slices;
      EXPECT_TRUE(reply.Dump(&slices).ok());
      std::string answer;
      for (const grpc::Slice& each : slices) {
        answer.append(reinterpret_cast<const char*>(each.begin()), each.size());
      }
      EXPECT_TRUE(response->ParseFromString(answer));
    }
    return status;
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
  std::shared_ptr<grpc::Channel> channel_;
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

// A producer with several Ingest calls in flight at once on one channel (a
// shipper's sending queue): its sequences arrive and complete in any order,
// each is counted once, and a copy sent while the original is in flight, or
// after, is a duplicate.
TEST(IngestTest, OneProducersCallsInFlightTogetherAreEachCountedOnce) {
  Harness h;
  const std::vector<uint64_t> sequences = {4, 2, 3, 1, 2};  // 2 twice
  std::vector<v1::IngestRequest> requests;
  for (uint64_t sequence : sequences) requests.push_back(ValidRequest(sequence));
  std::vector<v1::IngestResponse> responses(sequences.size());
  std::vector<grpc::Status> statuses(sequences.size());
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::mutex mu;
  std::condition_variable cv;
  size_t done = 0;
  for (size_t i = 0; i < sequences.size(); ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    h.stub_->async()->Ingest(contexts[i].get(), &requests[i], &responses[i],
                             [&, i](grpc::Status status) {
                               std::lock_guard<std::mutex> lock(mu);
                               statuses[i] = std::move(status);
                               ++done;
                               cv.notify_one();
                             });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done == sequences.size(); });
  }
  int duplicates_of_2 = 0;
  for (size_t i = 0; i < sequences.size(); ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_EQ(responses[i].sequence(), sequences[i]);
    if (sequences[i] == 2) {
      duplicates_of_2 += responses[i].duplicate() ? 1 : 0;
    } else {
      EXPECT_FALSE(responses[i].duplicate()) << sequences[i];
      EXPECT_EQ(responses[i].accepted(), 4);
    }
  }
  EXPECT_EQ(duplicates_of_2, 1);
  EXPECT_EQ(h.store_.BatchCount(), 4);
  EXPECT_EQ(h.store_.Rollup("workflow_runs_total", kSucceededRunLabels, kStart)->count, 4);
  EXPECT_EQ(h.metrics_.events_ingested.Value(), 16);
  // The first sequence replayed once all completed: acknowledged, not counted.
  v1::IngestResponse replay;
  ASSERT_TRUE(h.Ingest(ValidRequest(1), &replay).ok());
  EXPECT_TRUE(replay.duplicate());
  EXPECT_EQ(replay.accepted(), 0);
  EXPECT_EQ(h.store_.Rollup("workflow_runs_total", kSucceededRunLabels, kStart)->count, 4);
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

// Ingest reads most requests straight from their bytes (ingest_wire.h);
// requests outside the reader's subset are parsed by the generated parser
// and read as it reads them, and bytes that are no IngestRequest at all
// answer INVALID_ARGUMENT and write nothing.
TEST(IngestTest, RequestsOutsideTheWireReadersSubsetAreReadAsTheGeneratedParserReadsThem) {
  Harness h;
  v1::IngestResponse response;
  // producer_id twice: the last one wins.
  std::string twice = ValidRequest(5).SerializeAsString();
  twice += std::string("\x0a\x0aplatform-b", 12);
  ASSERT_TRUE(h.IngestBytes(twice, &response).ok());
  EXPECT_EQ(response.sequence(), 5u);
  EXPECT_FALSE(response.duplicate());
  EXPECT_EQ(response.accepted(), 4);
  v1::IngestRequest replay = ValidRequest(5);
  replay.set_producer_id("platform-b");
  ASSERT_TRUE(h.Ingest(replay, &response).ok());
  EXPECT_TRUE(response.duplicate());
  // A valid non-ASCII label value (the reader takes ASCII only).
  v1::IngestRequest accented = ValidRequest(6);
  (*accented.mutable_events(0)->mutable_labels())["region"] = "s\xc3\xa3o-paulo";
  ASSERT_TRUE(h.IngestBytes(accented.SerializeAsString(), &response).ok());
  EXPECT_FALSE(response.duplicate());
  Labels labels = kSucceededRunLabels;
  labels["region"] = "s\xc3\xa3o-paulo";
  EXPECT_TRUE(h.store_.Rollup("workflow_runs_total", labels, kStart).has_value());
  EXPECT_EQ(h.store_.BatchCount(), 2);
  // The request's bytes read in place: acknowledged like any other.
  ASSERT_TRUE(h.IngestBytes(ValidRequest(7).SerializeAsString(), &response).ok());
  EXPECT_EQ(response.sequence(), 7u);
  EXPECT_EQ(response.accepted(), 4);
  EXPECT_EQ(h.store_.BatchCount(), 3);
  // Not an IngestRequest (a truncated one; invalid UTF-8 in a string).
  const std::string valid = ValidRequest(8).SerializeAsString();
  v1::IngestRequest invalid_utf8 = ValidRequest(9);
  invalid_utf8.mutable_events(1)->set_tenant("\xff");
  for (const std::string& bytes :
       {valid.substr(0, valid.size() - 3), invalid_utf8.SerializeAsString()}) {
    const grpc::Status status = h.IngestBytes(bytes, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(), "request: not a valid IngestRequest");
  }
  EXPECT_EQ(h.store_.BatchCount(), 3);
  EXPECT_EQ(h.Counter(h.metrics_.ingest_batches, "result", "accepted"), 3);
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

// ---------------------------------------------------------------------------
// Health thresholds.

v1::SetHealthThresholdsRequest SetRequest(const std::string& tenant, const std::string& workflow,
                                          const std::string& indicator, double warning,
                                          double critical, bool disabled = false) {
  v1::SetHealthThresholdsRequest request;
  request.mutable_thresholds()->mutable_scope()->set_tenant(tenant);
  request.mutable_thresholds()->mutable_scope()->set_workflow(workflow);
  v1::IndicatorThreshold* entry = request.mutable_thresholds()->add_thresholds();
  entry->set_indicator(indicator);
  entry->set_warning(warning);
  entry->set_critical(critical);
  entry->set_disabled(disabled);
  return request;
}

const v1::IndicatorThreshold* FindThreshold(const v1::HealthThresholds& thresholds,
                                            const std::string& name) {
  for (const v1::IndicatorThreshold& entry : thresholds.thresholds()) {
    if (entry.indicator() == name) return &entry;
  }
  return nullptr;
}

TEST(HealthThresholdsTest, SetGetListDeleteAndTheMostSpecificScopeWins) {
  Harness h;
  // Defaults before any override, and no update time.
  {
    grpc::ClientContext context;
    v1::GetHealthThresholdsRequest request;
    request.mutable_scope()->set_tenant("acme");
    v1::HealthThresholds effective;
    ASSERT_TRUE(h.stub_->GetHealthThresholds(&context, request, &effective).ok());
    EXPECT_EQ(effective.thresholds_size(), 12);
    EXPECT_EQ(FindThreshold(effective, "error_rate")->warning(), 0.01);
    EXPECT_EQ(FindThreshold(effective, "workflow_success_rate")->direction(),
              v1::DIRECTION_LOWER_IS_WORSE);
    EXPECT_FALSE(effective.has_update_time());
  }
  // Tenant-wide and workflow overrides.
  for (const auto& request : {SetRequest("acme", "", "error_rate", 0.02, 0.2),
                              SetRequest("acme", "triage", "error_rate", 0.3, 0.6)}) {
    grpc::ClientContext context;
    v1::HealthThresholds effective;
    const grpc::Status status = h.stub_->SetHealthThresholds(&context, request, &effective);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(effective.thresholds_size(), 12);
    EXPECT_EQ(FindThreshold(effective, "error_rate")->warning(),
              request.thresholds().thresholds(0).warning());
    EXPECT_EQ(effective.update_time().seconds(), absl::ToUnixSeconds(kStart));
  }
  auto effective_error_rate = [&](const std::string& workflow) {
    grpc::ClientContext context;
    v1::GetHealthThresholdsRequest request;
    request.mutable_scope()->set_tenant("acme");
    request.mutable_scope()->set_workflow(workflow);
    v1::HealthThresholds effective;
    EXPECT_TRUE(h.stub_->GetHealthThresholds(&context, request, &effective).ok());
    return FindThreshold(effective, "error_rate")->warning();
  };
  EXPECT_EQ(effective_error_rate(""), 0.02);
  EXPECT_EQ(effective_error_rate("triage"), 0.3);
  EXPECT_EQ(effective_error_rate("report"), 0.02);

  // GetHealth judges the triage entry against its own thresholds: 1 failed
  // of 2 runs is 50 %, WARNING under 0.3 / 0.6 (CRITICAL by default).
  v1::IngestResponse ingested;
  ASSERT_TRUE(h.Ingest(ValidRequest(), &ingested).ok());
  v1::GetHealthRequest health_request;
  health_request.mutable_scope()->set_tenant("acme");
  v1::HealthReport report;
  ASSERT_TRUE(h.GetHealth(health_request, &report).ok());
  ASSERT_EQ(report.scopes(1).scope().workflow(), "triage");
  const v1::Indicator* triage_errors = FindIndicator(report.scopes(1), "error_rate");
  ASSERT_NE(triage_errors, nullptr);
  EXPECT_EQ(triage_errors->status(), common::v1::HEALTH_STATUS_WARNING);
  EXPECT_EQ(triage_errors->warning_threshold(), 0.3);
  EXPECT_EQ(triage_errors->critical_threshold(), 0.6);
  EXPECT_EQ(FindIndicator(report.scopes(0), "error_rate")->critical_threshold(), 0.2);

  // List: stored overrides only, paged.
  v1::ListHealthThresholdsRequest list;
  list.set_tenant("acme");
  list.set_page_size(1);
  std::vector<std::string> workflows;
  for (int page = 0; page < 3; ++page) {
    grpc::ClientContext context;
    v1::ListHealthThresholdsResponse response;
    ASSERT_TRUE(h.stub_->ListHealthThresholds(&context, list, &response).ok());
    for (const v1::HealthThresholds& entry : response.thresholds()) {
      workflows.push_back(entry.scope().workflow());
      EXPECT_EQ(entry.thresholds_size(), 1);
      EXPECT_EQ(entry.thresholds(0).direction(), v1::DIRECTION_HIGHER_IS_WORSE);
    }
    if (response.next_page_token().empty()) break;
    list.set_page_token(response.next_page_token());
  }
  EXPECT_THAT(workflows, ::testing::UnorderedElementsAre("", "triage"));
  {
    // A token of another tenant's listing is refused.
    grpc::ClientContext context;
    v1::ListHealthThresholdsRequest other = list;
    other.set_tenant("globex");
    v1::ListHealthThresholdsResponse response;
    const grpc::Status status = h.stub_->ListHealthThresholds(&context, other, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), ::testing::StartsWith("page_token:"));
  }

  // Delete falls back to the broader scope; deleting again is NOT_FOUND.
  v1::DeleteHealthThresholdsRequest remove;
  remove.mutable_scope()->set_tenant("acme");
  remove.mutable_scope()->set_workflow("triage");
  google::protobuf::Empty empty;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(h.stub_->DeleteHealthThresholds(&context, remove, &empty).ok());
  }
  EXPECT_EQ(effective_error_rate("triage"), 0.02);
  {
    grpc::ClientContext context;
    EXPECT_EQ(h.stub_->DeleteHealthThresholds(&context, remove, &empty).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
}

TEST(HealthThresholdsTest, DisabledIndicatorsAreLeftOutOfTheReport) {
  Harness h;
  grpc::ClientContext context;
  v1::HealthThresholds effective;
  ASSERT_TRUE(h.stub_
                  ->SetHealthThresholds(
                      &context, SetRequest("acme", "", "error_rate", 0.01, 0.05, true), &effective)
                  .ok());
  EXPECT_TRUE(FindThreshold(effective, "error_rate")->disabled());
  v1::IngestResponse ingested;
  ASSERT_TRUE(h.Ingest(ValidRequest(), &ingested).ok());
  v1::GetHealthRequest request;
  request.mutable_scope()->set_tenant("acme");
  v1::HealthReport report;
  ASSERT_TRUE(h.GetHealth(request, &report).ok());
  for (const v1::ScopeHealth& scope : report.scopes()) {
    EXPECT_EQ(FindIndicator(scope, "error_rate"), nullptr) << scope.kind();
  }
  EXPECT_NE(FindIndicator(report.scopes(0), "workflow_success_rate"), nullptr);
}

TEST(HealthThresholdsTest, BadRequestsNameTheField) {
  Harness h;
  struct Case {
    v1::SetHealthThresholdsRequest request;
    std::string message;
  };
  v1::SetHealthThresholdsRequest bad_tag = SetRequest("acme", "", "error_rate", 0.1, 0.2);
  (*bad_tag.mutable_thresholds()->mutable_scope()->mutable_tags())["bad-key"] = "x";
  v1::SetHealthThresholdsRequest empty = SetRequest("acme", "", "error_rate", 0.1, 0.2);
  empty.mutable_thresholds()->clear_thresholds();
  const std::vector<Case> cases = {
      {SetRequest("acme", "", "nope", 0.1, 0.2),
       "thresholds.thresholds[0].indicator: unknown indicator \"nope\""},
      {SetRequest("acme", "", "latency_p95", 2, 1),
       "thresholds.thresholds[0].critical: must be above warning for latency_p95 (higher is "
       "worse)"},
      {SetRequest("acme", "", "workflow_success_rate", 0.9, 0.95),
       "thresholds.thresholds[0].critical: must be below warning for workflow_success_rate "
       "(lower is worse)"},
      {bad_tag,
       "thresholds.scope.tags: invalid key \"bad-key\" (must match "
       "[a-zA-Z_][a-zA-Z0-9_]*)"},
      {empty, "thresholds.thresholds: required (at least one indicator)"},
  };
  for (const Case& c : cases) {
    grpc::ClientContext context;
    v1::HealthThresholds effective;
    const grpc::Status status = h.stub_->SetHealthThresholds(&context, c.request, &effective);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message;
    EXPECT_EQ(status.error_message(), c.message);
  }
  // Nothing was stored.
  grpc::ClientContext context;
  v1::ListHealthThresholdsResponse listed;
  ASSERT_TRUE(
      h.stub_->ListHealthThresholds(&context, v1::ListHealthThresholdsRequest(), &listed).ok());
  EXPECT_EQ(listed.thresholds_size(), 0);
  grpc::ClientContext size_context;
  v1::ListHealthThresholdsRequest negative;
  negative.set_page_size(-1);
  EXPECT_EQ(h.stub_->ListHealthThresholds(&size_context, negative, &listed).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(HealthThresholdsTest, WritesNeedTheAdminRole) {
  HarnessOptions options;
  options.authorizer = common::Authorizer({{"viewer-token", common::Role::kViewer},
                                           {"operator-token", common::Role::kOperator},
                                           {"admin-token", common::Role::kAdmin}});
  Harness h(std::move(options));
  auto set = [&](const std::string& token) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token);
    v1::HealthThresholds effective;
    return h.stub_
        ->SetHealthThresholds(&context, SetRequest("acme", "", "error_rate", 0.1, 0.2), &effective)
        .error_code();
  };
  EXPECT_EQ(set("operator-token"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(set("admin-token"), grpc::StatusCode::OK);
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer viewer-token");
  v1::GetHealthThresholdsRequest get;
  v1::HealthThresholds effective;
  EXPECT_TRUE(h.stub_->GetHealthThresholds(&context, get, &effective).ok());
}

// ---------------------------------------------------------------------------
// Alert rules.

v1::AlertRule ErrorRatioRule(const std::string& name = "TriageFailing") {
  v1::AlertRule rule;
  rule.set_name(name);
  rule.set_tenant("acme");
  v1::ThresholdCondition* c = rule.mutable_threshold();
  c->set_metric("workflow_runs_total");
  auto* failed = c->add_matchers();
  failed->set_name("status");
  failed->set_op(common::v1::MATCH_OP_REGEX);
  failed->set_value("failed|timed_out");
  c->set_denominator_metric("workflow_runs_total");
  c->add_group_by("workflow");
  c->set_comparison(v1::COMPARISON_GREATER_THAN);
  c->set_threshold(0.2);
  c->mutable_window()->set_seconds(60);
  rule.mutable_hysteresis()->set_resolve_threshold(0.1);
  rule.set_severity(common::v1::SEVERITY_P1);
  (*rule.mutable_labels())["team"] = "search";
  return rule;
}

v1::IngestRequest Runs(uint64_t sequence, int failed, int succeeded, absl::Time time) {
  v1::IngestRequest request;
  request.set_producer_id("rules-test");
  request.set_sequence(sequence);
  for (int i = 0; i < failed; ++i) {
    *request.add_events() = ProtoRun("acme", "triage", v1::RUN_STATUS_FAILED, time);
  }
  for (int i = 0; i < succeeded; ++i) {
    *request.add_events() = ProtoRun("acme", "triage", v1::RUN_STATUS_SUCCEEDED, time);
  }
  return request;
}

std::vector<AlertNotice> RuleNotices(Harness& h, const std::string& name) {
  std::vector<AlertNotice> out;
  for (const AlertNotice& notice : h.store_.EnqueuedAlerts()) {
    if (notice.name == name) out.push_back(notice);
  }
  return out;
}

v1::ListActiveAlertsResponse Active(Harness& h, bool include_pending = false) {
  grpc::ClientContext context;
  v1::ListActiveAlertsRequest request;
  request.set_tenant("acme");
  request.set_include_pending(include_pending);
  // Leave out the built-in error-rate alert, which the same runs fire.
  auto* matcher = request.add_matchers();
  matcher->set_name("alertname");
  matcher->set_op(common::v1::MATCH_OP_NOT_EQUAL);
  matcher->set_value("WorkflowErrorRateHigh");
  v1::ListActiveAlertsResponse response;
  EXPECT_TRUE(h.stub_->ListActiveAlerts(&context, request, &response).ok());
  return response;
}

TEST(AlertRulesTest, RuleFiresAsDataArrivesWithHysteresisAndResolves) {
  Harness h;
  grpc::ClientContext create_context;
  v1::CreateAlertRuleRequest create;
  *create.mutable_rule() = ErrorRatioRule();
  v1::AlertRule rule;
  const grpc::Status created = h.stub_->CreateAlertRule(&create_context, create, &rule);
  ASSERT_TRUE(created.ok()) << created.error_message();
  EXPECT_FALSE(rule.id().empty());
  EXPECT_EQ(rule.threshold().aggregation(), v1::AGGREGATION_SUM);
  EXPECT_EQ(rule.create_time().seconds(), absl::ToUnixSeconds(kStart));

  // 3 of 10 runs fail: 0.3 > 0.2 fires at once, in the Ingest call itself.
  v1::IngestResponse ingested;
  const int notified = h.notified_.load();
  ASSERT_TRUE(h.Ingest(Runs(1, 3, 7, kStart), &ingested).ok());
  std::vector<AlertNotice> notices = RuleNotices(h, "TriageFailing");
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_TRUE(notices[0].firing);
  EXPECT_EQ(notices[0].severity, Severity::kP1);
  EXPECT_EQ(notices[0].labels.at("workflow"), "triage");
  EXPECT_EQ(notices[0].labels.at("team"), "search");
  EXPECT_GT(h.notified_.load(), notified);
  v1::ListActiveAlertsResponse active = Active(h);
  ASSERT_EQ(active.alerts_size(), 1);
  EXPECT_EQ(active.alerts(0).fingerprint(), notices[0].fingerprint);
  EXPECT_EQ(active.alerts(0).rule_id(), rule.id());
  EXPECT_EQ(active.alerts(0).state(), v1::ACTIVE_ALERT_STATE_FIRING);
  EXPECT_DOUBLE_EQ(active.alerts(0).value(), 0.3);
  EXPECT_EQ(active.alerts(0).starts_at().seconds(), absl::ToUnixSeconds(kStart));

  // 3 of 20 (0.15): under the threshold but above the resolve level: stays.
  ASSERT_TRUE(h.Ingest(Runs(2, 0, 10, kStart), &ingested).ok());
  EXPECT_EQ(RuleNotices(h, "TriageFailing").size(), 1u);
  // 3 of 40 (0.075): back past the resolve level: resolves.
  h.clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(h.Ingest(Runs(3, 0, 20, kStart), &ingested).ok());
  notices = RuleNotices(h, "TriageFailing");
  ASSERT_EQ(notices.size(), 2u);
  EXPECT_FALSE(notices[1].firing);
  EXPECT_EQ(notices[1].fingerprint, notices[0].fingerprint);
  EXPECT_EQ(notices[1].ends_at, kStart + absl::Seconds(5));
  EXPECT_EQ(Active(h).alerts_size(), 0);
  EXPECT_EQ(h.Counter(h.metrics_.alert_transitions, "status", "resolved"), 1);
}

TEST(AlertRulesTest, ForDurationIsPendingUntilASweepOrBatchAfterIt) {
  Harness h;
  v1::CreateAlertRuleRequest create;
  *create.mutable_rule() = ErrorRatioRule();
  create.mutable_rule()->mutable_for_duration()->set_seconds(30);
  create.mutable_rule()->mutable_threshold()->mutable_window()->set_seconds(300);
  grpc::ClientContext context;
  v1::AlertRule rule;
  ASSERT_TRUE(h.stub_->CreateAlertRule(&context, create, &rule).ok());
  v1::IngestResponse ingested;
  ASSERT_TRUE(h.Ingest(Runs(1, 5, 5, kStart), &ingested).ok());
  EXPECT_TRUE(RuleNotices(h, "TriageFailing").empty());
  EXPECT_EQ(Active(h).alerts_size(), 0);
  v1::ListActiveAlertsResponse pending = Active(h, true);
  ASSERT_EQ(pending.alerts_size(), 1);
  EXPECT_EQ(pending.alerts(0).state(), v1::ACTIVE_ALERT_STATE_PENDING);
  EXPECT_FALSE(pending.alerts(0).has_starts_at());
  // 29 s later a sweep keeps it pending; at 30 s it fires.
  h.clock_.Advance(absl::Seconds(29));
  ASSERT_TRUE(h.store_.SweepAlerts(h.clock_.Now(), 100).ok());
  EXPECT_TRUE(RuleNotices(h, "TriageFailing").empty());
  h.clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(h.store_.SweepAlerts(h.clock_.Now(), 100).ok());
  ASSERT_EQ(RuleNotices(h, "TriageFailing").size(), 1u);
  EXPECT_EQ(RuleNotices(h, "TriageFailing")[0].starts_at, kStart + absl::Seconds(30));
}

TEST(AlertRulesTest, CrudIsValidatedIdempotentAndPaged) {
  Harness h;
  auto create = [&](const v1::AlertRule& rule, const std::string& request_id, v1::AlertRule* out) {
    grpc::ClientContext context;
    v1::CreateAlertRuleRequest request;
    *request.mutable_rule() = rule;
    request.set_request_id(request_id);
    return h.stub_->CreateAlertRule(&context, request, out);
  };
  v1::AlertRule first;
  ASSERT_TRUE(create(ErrorRatioRule("A"), "req-1", &first).ok());
  v1::AlertRule retry;
  ASSERT_TRUE(create(ErrorRatioRule("A"), "req-1", &retry).ok());
  EXPECT_EQ(retry.id(), first.id());
  v1::AlertRule other;
  EXPECT_EQ(create(ErrorRatioRule("A"), "req-2", &other).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  ASSERT_TRUE(create(ErrorRatioRule("C"), "", &other).ok());
  ASSERT_TRUE(create(ErrorRatioRule("B"), "", &other).ok());

  // Bad rules name the field.
  v1::AlertRule bad = ErrorRatioRule("D");
  bad.mutable_threshold()->set_comparison(v1::COMPARISON_UNSPECIFIED);
  grpc::Status status = create(bad, "", &other);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "rule.threshold.comparison: required");
  bad = ErrorRatioRule("D");
  bad.mutable_threshold()->mutable_matchers(0)->set_value("(unclosed");
  status = create(bad, "", &other);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              ::testing::StartsWith("rule.threshold.matchers[0].value: invalid regular"));
  bad = ErrorRatioRule("D");
  bad.clear_threshold();
  EXPECT_EQ(create(bad, "", &other).error_message(), "rule.threshold: required");
  bad.mutable_anomaly()->set_metric("llm_calls_total");
  bad.mutable_anomaly()->set_score_threshold(1.5);
  EXPECT_EQ(create(bad, "", &other).error_message(),
            "rule.anomaly.score_threshold: must be in (0, 1]");

  // Paged by name.
  std::vector<std::string> names;
  v1::ListAlertRulesRequest list;
  list.set_tenant("acme");
  list.set_page_size(2);
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    v1::ListAlertRulesResponse page;
    ASSERT_TRUE(h.stub_->ListAlertRules(&context, list, &page).ok());
    for (const v1::AlertRule& rule : page.rules()) names.push_back(rule.name());
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  EXPECT_THAT(names, ElementsAre("A", "B", "C"));

  // Update with a mask changes only the masked fields.
  grpc::ClientContext update_context;
  v1::UpdateAlertRuleRequest update;
  update.mutable_rule()->set_id(first.id());
  update.mutable_rule()->set_description("errors of triage");
  update.mutable_rule()->set_severity(common::v1::SEVERITY_P0);
  update.mutable_update_mask()->add_paths("description");
  v1::AlertRule updated;
  ASSERT_TRUE(h.stub_->UpdateAlertRule(&update_context, update, &updated).ok());
  EXPECT_EQ(updated.description(), "errors of triage");
  EXPECT_EQ(updated.severity(), common::v1::SEVERITY_P1);
  EXPECT_EQ(updated.threshold().threshold(), 0.2);
  grpc::ClientContext bad_mask_context;
  update.mutable_update_mask()->add_paths("tenant");
  EXPECT_EQ(h.stub_->UpdateAlertRule(&bad_mask_context, update, &updated).error_message(),
            "update_mask.paths[1]: read-only field 'tenant'");

  // Get and delete.
  grpc::ClientContext get_context;
  v1::GetAlertRuleRequest get;
  get.set_id(first.id());
  v1::AlertRule got;
  ASSERT_TRUE(h.stub_->GetAlertRule(&get_context, get, &got).ok());
  EXPECT_EQ(got.description(), "errors of triage");
  v1::DeleteAlertRuleRequest remove;
  remove.set_id(first.id());
  google::protobuf::Empty empty;
  grpc::ClientContext delete_context;
  ASSERT_TRUE(h.stub_->DeleteAlertRule(&delete_context, remove, &empty).ok());
  grpc::ClientContext again_context;
  EXPECT_EQ(h.stub_->DeleteAlertRule(&again_context, remove, &empty).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext gone_context;
  EXPECT_EQ(h.stub_->GetAlertRule(&gone_context, get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST(AlertRulesTest, UpdatingOrDeletingAFiringRuleResolvesItsAlerts) {
  Harness h;
  grpc::ClientContext context;
  v1::CreateAlertRuleRequest create;
  *create.mutable_rule() = ErrorRatioRule();
  v1::AlertRule rule;
  ASSERT_TRUE(h.stub_->CreateAlertRule(&context, create, &rule).ok());
  v1::IngestResponse ingested;
  ASSERT_TRUE(h.Ingest(Runs(1, 3, 7, kStart), &ingested).ok());
  ASSERT_EQ(RuleNotices(h, "TriageFailing").size(), 1u);
  // Raising the threshold above 0.3 (and the resolve level with it)
  // resolves the alert.
  h.clock_.Advance(absl::Seconds(1));
  grpc::ClientContext update_context;
  v1::UpdateAlertRuleRequest update;
  *update.mutable_rule() = ErrorRatioRule();
  update.mutable_rule()->set_id(rule.id());
  update.mutable_rule()->mutable_threshold()->set_threshold(0.5);
  update.mutable_rule()->mutable_hysteresis()->set_resolve_threshold(0.4);
  v1::AlertRule updated;
  const grpc::Status status = h.stub_->UpdateAlertRule(&update_context, update, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(RuleNotices(h, "TriageFailing").size(), 2u);
  EXPECT_FALSE(RuleNotices(h, "TriageFailing")[1].firing);
  // Back to 0.2: fires again; deleting the rule resolves it.
  h.clock_.Advance(absl::Seconds(1));
  grpc::ClientContext back_context;
  v1::UpdateAlertRuleRequest back;
  *back.mutable_rule() = ErrorRatioRule();
  back.mutable_rule()->set_id(rule.id());
  ASSERT_TRUE(h.stub_->UpdateAlertRule(&back_context, back, &updated).ok());
  ASSERT_EQ(RuleNotices(h, "TriageFailing").size(), 3u);
  EXPECT_TRUE(RuleNotices(h, "TriageFailing")[2].firing);
  grpc::ClientContext delete_context;
  v1::DeleteAlertRuleRequest remove;
  remove.set_id(rule.id());
  google::protobuf::Empty empty;
  ASSERT_TRUE(h.stub_->DeleteAlertRule(&delete_context, remove, &empty).ok());
  ASSERT_EQ(RuleNotices(h, "TriageFailing").size(), 4u);
  EXPECT_FALSE(RuleNotices(h, "TriageFailing")[3].firing);
  EXPECT_EQ(Active(h, true).alerts_size(), 0);
}

TEST(AlertRulesTest, ListActiveAlertsFiltersAndPages) {
  Harness h;
  for (const std::string name : {"R1", "R2", "R3"}) {
    grpc::ClientContext context;
    v1::CreateAlertRuleRequest create;
    *create.mutable_rule() = ErrorRatioRule(name);
    if (name == "R3") create.mutable_rule()->set_severity(common::v1::SEVERITY_P3);
    v1::AlertRule rule;
    ASSERT_TRUE(h.stub_->CreateAlertRule(&context, create, &rule).ok());
  }
  v1::IngestResponse ingested;
  ASSERT_TRUE(h.Ingest(Runs(1, 3, 7, kStart), &ingested).ok());
  v1::ListActiveAlertsRequest request;
  request.set_page_size(2);
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    v1::ListActiveAlertsResponse page;
    ASSERT_TRUE(h.stub_->ListActiveAlerts(&context, request, &page).ok());
    for (const v1::ActiveAlert& alert : page.alerts()) names.push_back(alert.name());
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  // The three rules' alerts and the built-in error-rate alert (P1).
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("R1", "R2", "R3", "WorkflowErrorRateHigh"));
  EXPECT_EQ(names.back(), "R3");  // P3 last: most severe first
  v1::ListActiveAlertsRequest filtered;
  filtered.add_severities(common::v1::SEVERITY_P3);
  auto* matcher = filtered.add_matchers();
  matcher->set_name("alertname");
  matcher->set_op(common::v1::MATCH_OP_EQUAL);
  matcher->set_value("R3");
  grpc::ClientContext context;
  v1::ListActiveAlertsResponse response;
  ASSERT_TRUE(h.stub_->ListActiveAlerts(&context, filtered, &response).ok());
  ASSERT_EQ(response.alerts_size(), 1);
  EXPECT_EQ(response.alerts(0).name(), "R3");
  // A token of another filter is refused; bad severities name the field.
  grpc::ClientContext token_context;
  filtered.set_page_token(request.page_token());
  EXPECT_EQ(h.stub_->ListActiveAlerts(&token_context, filtered, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext severity_context;
  v1::ListActiveAlertsRequest bad;
  bad.add_severities(static_cast<common::v1::Severity>(9));
  EXPECT_EQ(h.stub_->ListActiveAlerts(&severity_context, bad, &response).error_message(),
            "severities[0]: unknown value 9");
}

// ---------------------------------------------------------------------------
// ListSeries.

TEST(ListSeriesTest, FiltersPagesAndNamesBadFields) {
  Harness h;
  v1::IngestResponse ingested;
  ASSERT_TRUE(h.Ingest(ValidRequest(), &ingested).ok());
  v1::ListSeriesRequest request;
  request.set_tenant("acme");
  request.set_metric("llm_calls_total");
  request.set_page_size(1);
  std::vector<std::string> models;
  for (int i = 0; i < 4; ++i) {
    grpc::ClientContext context;
    v1::ListSeriesResponse page;
    const grpc::Status status = h.stub_->ListSeries(&context, request, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const v1::SeriesDescriptor& series : page.series()) {
      EXPECT_EQ(series.metric(), "llm_calls_total");
      EXPECT_EQ(series.labels().at("tenant"), "acme");
      EXPECT_EQ(series.first_time().seconds(), absl::ToUnixSeconds(kStart));
      EXPECT_EQ(series.last_time().seconds(), absl::ToUnixSeconds(kStart));
      models.push_back(series.labels().at("model"));
    }
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  EXPECT_THAT(models, ::testing::UnorderedElementsAre("gpt-4o", "gpt-4o-mini"));

  // Matchers, all metrics, and a range without data.
  v1::ListSeriesRequest matched;
  auto* m = matched.add_matchers();
  m->set_name("model");
  m->set_op(common::v1::MATCH_OP_REGEX);
  m->set_value("gpt-4o-.*");
  grpc::ClientContext matched_context;
  v1::ListSeriesResponse response;
  ASSERT_TRUE(h.stub_->ListSeries(&matched_context, matched, &response).ok());
  EXPECT_GT(response.series_size(), 1);  // every metric of the mini model's calls
  for (const v1::SeriesDescriptor& series : response.series()) {
    EXPECT_EQ(series.labels().at("model"), "gpt-4o-mini");
  }
  v1::ListSeriesRequest later;
  ToProtoTimestamp(kStart + absl::Minutes(5), later.mutable_range()->mutable_start());
  grpc::ClientContext later_context;
  ASSERT_TRUE(h.stub_->ListSeries(&later_context, later, &response).ok());
  EXPECT_EQ(response.series_size(), 0);

  struct Case {
    std::function<void(v1::ListSeriesRequest&)> mutate;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](v1::ListSeriesRequest& r) { r.set_metric("9bad"); },
       "metric: must match [a-zA-Z_:][a-zA-Z0-9_:]*"},
      {[](v1::ListSeriesRequest& r) { r.add_matchers()->set_name("model"); },
       "matchers[0].op: required"},
      {[](v1::ListSeriesRequest& r) { r.set_page_size(-3); }, "page_size: must be >= 0"},
      {[](v1::ListSeriesRequest& r) { r.set_page_token("nonsense"); }, "page_token: malformed"},
      {[](v1::ListSeriesRequest& r) {
         ToProtoTimestamp(kStart, r.mutable_range()->mutable_start());
         ToProtoTimestamp(kStart, r.mutable_range()->mutable_end());
       },
       "range.end: must be after range.start"},
  };
  for (const Case& c : cases) {
    v1::ListSeriesRequest bad;
    c.mutate(bad);
    grpc::ClientContext context;
    const grpc::Status status = h.stub_->ListSeries(&context, bad, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message;
    EXPECT_EQ(status.error_message(), c.message);
  }
}

// Every RPC answers a malformed request INVALID_ARGUMENT naming the field,
// and a refused write changes nothing.
TEST(BadRequestsTest, EveryRpcNamesTheFieldAndARefusedWriteChangesNothing) {
  Harness h;
  v1::AlertRule rule;
  {
    grpc::ClientContext context;
    v1::CreateAlertRuleRequest create;
    *create.mutable_rule() = ErrorRatioRule();
    ASSERT_TRUE(h.stub_->CreateAlertRule(&context, create, &rule).ok());
  }
  struct Case {
    std::string rpc;
    std::function<grpc::Status(grpc::ClientContext*)> call;
    std::string message;
  };
  google::protobuf::Empty empty;
  v1::AlertRule rule_out;
  v1::HealthThresholds thresholds_out;
  v1::ListAlertRulesResponse rules_out;
  v1::ListActiveAlertsResponse active_out;
  v1::ListHealthThresholdsResponse listed_thresholds;
  const std::vector<Case> cases = {
      {"GetAlertRule",
       [&](grpc::ClientContext* c) {
         return h.stub_->GetAlertRule(c, v1::GetAlertRuleRequest(), &rule_out);
       },
       "id: required"},
      {"DeleteAlertRule",
       [&](grpc::ClientContext* c) {
         return h.stub_->DeleteAlertRule(c, v1::DeleteAlertRuleRequest(), &empty);
       },
       "id: required"},
      {"UpdateAlertRule without rule",
       [&](grpc::ClientContext* c) {
         return h.stub_->UpdateAlertRule(c, v1::UpdateAlertRuleRequest(), &rule_out);
       },
       "rule: required"},
      {"UpdateAlertRule without id",
       [&](grpc::ClientContext* c) {
         v1::UpdateAlertRuleRequest update;
         *update.mutable_rule() = ErrorRatioRule();
         return h.stub_->UpdateAlertRule(c, update, &rule_out);
       },
       "rule.id: required"},
      {"UpdateAlertRule unknown path",
       [&](grpc::ClientContext* c) {
         v1::UpdateAlertRuleRequest update;
         update.mutable_rule()->set_id(rule.id());
         update.mutable_update_mask()->add_paths("nonsense");
         return h.stub_->UpdateAlertRule(c, update, &rule_out);
       },
       "update_mask.paths[0]: unknown field 'nonsense'"},
      {"UpdateAlertRule bad rule",
       [&](grpc::ClientContext* c) {
         v1::UpdateAlertRuleRequest update;
         update.mutable_rule()->set_id(rule.id());
         *update.mutable_rule()->mutable_threshold() = rule.threshold();
         update.mutable_rule()->mutable_threshold()->set_comparison(v1::COMPARISON_UNSPECIFIED);
         update.mutable_update_mask()->add_paths("threshold");
         return h.stub_->UpdateAlertRule(c, update, &rule_out);
       },
       "rule.threshold.comparison: required"},
      {"ListAlertRules page_size",
       [&](grpc::ClientContext* c) {
         v1::ListAlertRulesRequest list;
         list.set_page_size(-1);
         return h.stub_->ListAlertRules(c, list, &rules_out);
       },
       "page_size: must be >= 0"},
      {"ListAlertRules page_token",
       [&](grpc::ClientContext* c) {
         v1::ListAlertRulesRequest list;
         list.set_page_token("nonsense");
         return h.stub_->ListAlertRules(c, list, &rules_out);
       },
       "page_token: malformed"},
      {"ListActiveAlerts matcher name",
       [&](grpc::ClientContext* c) {
         v1::ListActiveAlertsRequest list;
         list.add_matchers()->set_name("bad-name");
         return h.stub_->ListActiveAlerts(c, list, &active_out);
       },
       "matchers[0].name: must match [a-zA-Z_][a-zA-Z0-9_]*"},
      {"ListActiveAlerts matcher op",
       [&](grpc::ClientContext* c) {
         v1::ListActiveAlertsRequest list;
         list.add_matchers()->set_name("workflow");
         return h.stub_->ListActiveAlerts(c, list, &active_out);
       },
       "matchers[0].op: required"},
      {"ListActiveAlerts page_size",
       [&](grpc::ClientContext* c) {
         v1::ListActiveAlertsRequest list;
         list.set_page_size(-1);
         return h.stub_->ListActiveAlerts(c, list, &active_out);
       },
       "page_size: must be >= 0"},
      {"GetHealthThresholds",
       [&](grpc::ClientContext* c) {
         v1::GetHealthThresholdsRequest get;
         (*get.mutable_scope()->mutable_tags())["bad-key"] = "x";
         return h.stub_->GetHealthThresholds(c, get, &thresholds_out);
       },
       "scope.tags: invalid key \"bad-key\" (must match [a-zA-Z_][a-zA-Z0-9_]*)"},
      {"DeleteHealthThresholds",
       [&](grpc::ClientContext* c) {
         v1::DeleteHealthThresholdsRequest remove;
         (*remove.mutable_scope()->mutable_tags())["bad-key"] = "x";
         return h.stub_->DeleteHealthThresholds(c, remove, &empty);
       },
       "scope.tags: invalid key \"bad-key\" (must match [a-zA-Z_][a-zA-Z0-9_]*)"},
      {"ListHealthThresholds page_token",
       [&](grpc::ClientContext* c) {
         v1::ListHealthThresholdsRequest list;
         list.set_page_token("nonsense");
         return h.stub_->ListHealthThresholds(c, list, &listed_thresholds);
       },
       "page_token: malformed"},
  };
  for (const Case& c : cases) {
    grpc::ClientContext context;
    const grpc::Status status = c.call(&context);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.rpc;
    EXPECT_EQ(status.error_message(), c.message) << c.rpc;
  }
  // The refused update and delete left the rule as it was.
  grpc::ClientContext context;
  v1::GetAlertRuleRequest get;
  get.set_id(rule.id());
  v1::AlertRule stored;
  ASSERT_TRUE(h.stub_->GetAlertRule(&context, get, &stored).ok());
  EXPECT_EQ(stored.SerializeAsString(), rule.SerializeAsString());
}

TEST(UnimplementedTest, OtherRpcsAnswerUnimplemented) {
  Harness h;
  grpc::ClientContext context;
  v1::GetSloStatusRequest request;
  v1::SloStatus response;
  EXPECT_EQ(h.stub_->GetSloStatus(&context, request, &response).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  grpc::ClientContext slo_context;
  v1::CreateSloRequest slo;
  v1::Slo created;
  EXPECT_EQ(h.stub_->CreateSlo(&slo_context, slo, &created).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace agentwatch::monitor
