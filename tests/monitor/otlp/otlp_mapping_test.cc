// OTLP GenAI spans and metrics mapped onto monitor events; the intake's
// batching, idempotent sequences and partial success.
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/clock.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "monitor/otlp/genai_mapping.h"
#include "monitor/otlp/otlp_service.h"

namespace agentwatch::monitor::otlp {
namespace {

using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;
namespace otcommon = ::opentelemetry::proto::common::v1;
namespace ottrace = ::opentelemetry::proto::trace::v1;
namespace otmetrics = ::opentelemetry::proto::metrics::v1;
using ExportTrace = ::opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using ExportTraceResponse =
    ::opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse;
using ExportMetrics = ::opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
using ExportMetricsResponse =
    ::opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceResponse;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
const uint64_t kNowNanos = 1'800'000'000ULL * 1'000'000'000ULL;

void Attr(google::protobuf::RepeatedPtrField<otcommon::KeyValue>* attrs, const std::string& key,
          const std::string& value) {
  otcommon::KeyValue* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(value);
}

void IntAttr(google::protobuf::RepeatedPtrField<otcommon::KeyValue>* attrs,
             const std::string& key, int64_t value) {
  otcommon::KeyValue* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_int_value(value);
}

std::string Id(char fill, size_t size) { return std::string(size, fill); }

// A request with one resource (tenant "acme", service "agents").
class TraceBuilder {
 public:
  TraceBuilder() {
    ottrace::ResourceSpans* rs = request_.add_resource_spans();
    Attr(rs->mutable_resource()->mutable_attributes(), "service.name", "agents");
    Attr(rs->mutable_resource()->mutable_attributes(), "agentwatch.tenant", "acme");
    scope_ = rs->add_scope_spans();
  }

  ottrace::Span* Span(const std::string& op, char id, char parent, double start_s,
                      double end_s) {
    ottrace::Span* span = scope_->add_spans();
    span->set_trace_id(Id('T', 16));
    span->set_span_id(Id(id, 8));
    if (parent != 0) span->set_parent_span_id(Id(parent, 8));
    span->set_name(op);
    span->set_start_time_unix_nano(kNowNanos - static_cast<uint64_t>((60 - start_s) * 1e9));
    span->set_end_time_unix_nano(kNowNanos - static_cast<uint64_t>((60 - end_s) * 1e9));
    if (!op.empty()) Attr(span->mutable_attributes(), "gen_ai.operation.name", op);
    return span;
  }

  ExportTrace& request() { return request_; }

 private:
  ExportTrace request_;
  ottrace::ScopeSpans* scope_;
};

MappingOptions Options() { return MappingOptions{}; }

TEST(OtlpTraces, ChatSpanBecomesAnLlmCallWithAgentAndWorkflowFromAncestors) {
  TraceBuilder b;
  ottrace::Span* wf = b.Span("invoke_workflow", 'W', 0, 0, 10);
  Attr(wf->mutable_attributes(), "gen_ai.workflow.name", "support");
  ottrace::Span* agent = b.Span("invoke_agent", 'A', 'W', 1, 9);
  Attr(agent->mutable_attributes(), "gen_ai.agent.name", "planner");
  ottrace::Span* chat = b.Span("chat", 'C', 'A', 2, 3.5);
  Attr(chat->mutable_attributes(), "gen_ai.provider.name", "openai");
  Attr(chat->mutable_attributes(), "gen_ai.request.model", "gpt-4o");
  Attr(chat->mutable_attributes(), "gen_ai.response.model", "gpt-4o-2024-08-06");
  IntAttr(chat->mutable_attributes(), "gen_ai.usage.input_tokens", 1200);
  IntAttr(chat->mutable_attributes(), "gen_ai.usage.output_tokens", 300);
  IntAttr(chat->mutable_attributes(), "gen_ai.usage.cache_read.input_tokens", 1000);

  MappedTelemetry m = MapTraces(b.request(), "", Options(), kNow);
  ASSERT_THAT(m.events, SizeIs(3)) << RejectionMessage(m);
  EXPECT_EQ(m.rejected, 0);
  EXPECT_EQ(m.service_name, "agents");

  const v1::Event& run = m.events[0];
  ASSERT_TRUE(run.has_workflow_run());
  EXPECT_EQ(run.workflow_run().workflow(), "support");
  EXPECT_EQ(run.workflow_run().step_count(), 1);
  EXPECT_EQ(run.workflow_run().duration().seconds(), 10);
  EXPECT_EQ(run.workflow_run().status(), v1::RUN_STATUS_SUCCEEDED);

  const v1::Event& exec = m.events[1];
  ASSERT_TRUE(exec.has_agent_execution());
  EXPECT_EQ(exec.agent_execution().agent(), "planner");
  EXPECT_EQ(exec.agent_execution().workflow(), "support");

  const v1::Event& call = m.events[2];
  ASSERT_TRUE(call.has_llm_call());
  EXPECT_EQ(call.tenant(), "acme");
  std::string trace_hex, span_hex;
  for (int i = 0; i < 16; ++i) trace_hex += "54";  // 'T'
  for (int i = 0; i < 8; ++i) span_hex += "43";    // 'C'
  EXPECT_EQ(call.event_id(), "otlp:" + trace_hex + ":" + span_hex);
  EXPECT_EQ(call.llm_call().provider(), "openai");
  EXPECT_EQ(call.llm_call().model(), "gpt-4o-2024-08-06");  // the response model wins
  EXPECT_EQ(call.llm_call().agent(), "planner");
  EXPECT_EQ(call.llm_call().workflow(), "support");
  EXPECT_EQ(call.llm_call().input_tokens(), 1200);
  EXPECT_EQ(call.llm_call().output_tokens(), 300);
  EXPECT_EQ(call.llm_call().cached_input_tokens(), 1000);
  EXPECT_EQ(call.llm_call().latency().seconds(), 1);
  EXPECT_EQ(call.llm_call().latency().nanos(), 500'000'000);
  EXPECT_EQ(call.time().seconds(), 1'800'000'000 - 60 + 3);
  EXPECT_EQ(call.llm_call().status(), v1::RUN_STATUS_SUCCEEDED);
}

TEST(OtlpTraces, OlderGenAiSystemAttributeAndErrorsAndThrottling) {
  TraceBuilder b;
  ottrace::Span* chat = b.Span("chat", 'C', 0, 0, 1);
  Attr(chat->mutable_attributes(), "gen_ai.system", "anthropic");
  Attr(chat->mutable_attributes(), "gen_ai.request.model", "claude-3-5-haiku");
  Attr(chat->mutable_attributes(), "error.type", "RateLimitError");
  ottrace::Span* failed = b.Span("chat", 'D', 0, 0, 1);
  Attr(failed->mutable_attributes(), "gen_ai.system", "openai");
  Attr(failed->mutable_attributes(), "gen_ai.request.model", "gpt-4o-mini");
  failed->mutable_status()->set_code(ottrace::Status::STATUS_CODE_ERROR);

  MappedTelemetry m = MapTraces(b.request(), "", Options(), kNow);
  ASSERT_THAT(m.events, SizeIs(2)) << RejectionMessage(m);
  EXPECT_EQ(m.events[0].llm_call().provider(), "anthropic");
  EXPECT_EQ(m.events[0].llm_call().status(), v1::RUN_STATUS_FAILED);
  EXPECT_EQ(m.events[0].llm_call().error_type(), "RateLimitError");
  EXPECT_TRUE(m.events[0].llm_call().throttled());
  EXPECT_EQ(m.events[1].llm_call().status(), v1::RUN_STATUS_FAILED);
  EXPECT_EQ(m.events[1].llm_call().error_type(), "error");
  EXPECT_FALSE(m.events[1].llm_call().throttled());
}

TEST(OtlpTraces, ToolSpansBecomeToolCallSamplesAndOtherSpansAreIgnored) {
  TraceBuilder b;
  ottrace::Span* agent = b.Span("invoke_agent", 'A', 0, 0, 5);
  Attr(agent->mutable_attributes(), "gen_ai.agent.name", "coder");
  ottrace::Span* tool = b.Span("execute_tool", 'T', 'A', 1, 1.25);
  Attr(tool->mutable_attributes(), "gen_ai.tool.name", "search");
  b.Span("", 'H', 'A', 1, 2);                  // an HTTP span, not GenAI
  b.Span("create_agent", 'X', 0, 0, 1);         // a GenAI operation we do not map

  MappedTelemetry m = MapTraces(b.request(), "", Options(), kNow);
  ASSERT_THAT(m.events, SizeIs(2)) << RejectionMessage(m);
  EXPECT_EQ(m.ignored, 2);
  const v1::Event& sample = m.events[1];
  ASSERT_TRUE(sample.has_metric_sample());
  EXPECT_EQ(sample.metric_sample().name(), "tool_call_seconds");
  EXPECT_DOUBLE_EQ(sample.metric_sample().value(), 0.25);
  EXPECT_EQ(sample.labels().at("tool"), "search");
  EXPECT_EQ(sample.labels().at("agent_name"), "coder");
  EXPECT_EQ(sample.labels().at("outcome"), "succeeded");
}

TEST(OtlpTraces, BadGenAiSpansAreRejectedWithReasonsAndTheRestGoesIn) {
  TraceBuilder b;
  ottrace::Span* no_model = b.Span("chat", 'A', 0, 0, 1);
  Attr(no_model->mutable_attributes(), "gen_ai.provider.name", "openai");
  ottrace::Span* backwards = b.Span("chat", 'B', 0, 5, 1);
  Attr(backwards->mutable_attributes(), "gen_ai.provider.name", "openai");
  Attr(backwards->mutable_attributes(), "gen_ai.request.model", "gpt-4o");
  ottrace::Span* negative = b.Span("chat", 'C', 0, 0, 1);
  Attr(negative->mutable_attributes(), "gen_ai.provider.name", "openai");
  Attr(negative->mutable_attributes(), "gen_ai.request.model", "gpt-4o");
  IntAttr(negative->mutable_attributes(), "gen_ai.usage.input_tokens", -5);
  ottrace::Span* not_int = b.Span("chat", 'D', 0, 0, 1);
  Attr(not_int->mutable_attributes(), "gen_ai.provider.name", "openai");
  Attr(not_int->mutable_attributes(), "gen_ai.request.model", "gpt-4o");
  Attr(not_int->mutable_attributes(), "gen_ai.usage.output_tokens", "many");
  ottrace::Span* agentless = b.Span("invoke_agent", 'E', 0, 0, 1);
  (void)agentless;
  ottrace::Span* good = b.Span("chat", 'F', 0, 0, 1);
  Attr(good->mutable_attributes(), "gen_ai.provider.name", "openai");
  Attr(good->mutable_attributes(), "gen_ai.request.model", "gpt-4o");

  MappedTelemetry m = MapTraces(b.request(), "", Options(), kNow);
  ASSERT_THAT(m.events, SizeIs(1));
  EXPECT_EQ(m.rejected, 5);
  const std::string message = RejectionMessage(m);
  EXPECT_THAT(message, HasSubstr("5 rejected"));
  EXPECT_THAT(message, HasSubstr("spans[0] (chat): gen_ai.response.model (or "
                                 "gen_ai.request.model) is required"));
  EXPECT_THAT(message, HasSubstr("spans[1] (chat): end_time_unix_nano"));
  EXPECT_THAT(message, HasSubstr("spans[2] (chat): llm_call.input_tokens"));
  EXPECT_THAT(message, HasSubstr("gen_ai.usage.output_tokens: not an integer"));
  EXPECT_THAT(message, HasSubstr("gen_ai.agent.name is required for invoke_agent"));
}

TEST(OtlpTraces, TenantComesFromTheResourceThenTheHeaderThenTheDefault) {
  ExportTrace request;
  ottrace::ScopeSpans* scope = request.add_resource_spans()->add_scope_spans();
  ottrace::Span* span = scope->add_spans();
  span->set_trace_id(Id('T', 16));
  span->set_span_id(Id('S', 8));
  span->set_start_time_unix_nano(kNowNanos - 2'000'000'000ULL);
  span->set_end_time_unix_nano(kNowNanos - 1'000'000'000ULL);
  Attr(span->mutable_attributes(), "gen_ai.operation.name", "chat");
  Attr(span->mutable_attributes(), "gen_ai.provider.name", "openai");
  Attr(span->mutable_attributes(), "gen_ai.request.model", "gpt-4o");

  MappedTelemetry none = MapTraces(request, "", Options(), kNow);
  EXPECT_THAT(none.events, SizeIs(0));
  EXPECT_THAT(RejectionMessage(none), HasSubstr("no tenant"));

  MappedTelemetry header = MapTraces(request, "from-header", Options(), kNow);
  ASSERT_THAT(header.events, SizeIs(1));
  EXPECT_EQ(header.events[0].tenant(), "from-header");

  MappingOptions options;
  options.default_tenant = "fallback";
  MappedTelemetry fallback = MapTraces(request, "", options, kNow);
  ASSERT_THAT(fallback.events, SizeIs(1));
  EXPECT_EQ(fallback.events[0].tenant(), "fallback");
}

TEST(OtlpTraces, EventsFailingIngestValidationAreRejected) {
  TraceBuilder b;
  ottrace::Span* future = b.Span("chat", 'F', 0, 0, 1);
  future->set_end_time_unix_nano(kNowNanos + 2ULL * 3600 * 1'000'000'000ULL);  // 2 h ahead
  Attr(future->mutable_attributes(), "gen_ai.provider.name", "openai");
  Attr(future->mutable_attributes(), "gen_ai.request.model", "gpt-4o");
  MappedTelemetry m = MapTraces(b.request(), "", Options(), kNow);
  EXPECT_THAT(m.events, SizeIs(0));
  EXPECT_EQ(m.rejected, 1);
  EXPECT_THAT(RejectionMessage(m), HasSubstr("time"));
}

ExportMetrics MetricsRequest() {
  ExportMetrics request;
  otmetrics::ResourceMetrics* rm = request.add_resource_metrics();
  Attr(rm->mutable_resource()->mutable_attributes(), "agentwatch.tenant", "acme");
  otmetrics::ScopeMetrics* sm = rm->add_scope_metrics();
  otmetrics::Metric* sum = sm->add_metrics();
  sum->set_name("gen_ai.client.token.usage.total");
  otmetrics::NumberDataPoint* p = sum->mutable_sum()->add_data_points();
  p->set_time_unix_nano(kNowNanos - 1'000'000'000ULL);
  p->set_as_int(1234);
  Attr(p->mutable_attributes(), "gen_ai.token.type", "input");
  otmetrics::Metric* hist = sm->add_metrics();
  hist->set_name("gen_ai.client.operation.duration");
  otmetrics::HistogramDataPoint* h = hist->mutable_histogram()->add_data_points();
  h->set_time_unix_nano(kNowNanos - 1'000'000'000ULL);
  h->set_count(4);
  h->set_sum(2.5);
  otmetrics::Metric* expo = sm->add_metrics();
  expo->set_name("expo");
  expo->mutable_exponential_histogram()->add_data_points()->set_count(1);
  return request;
}

TEST(OtlpMetrics, SumsAndHistogramsBecomeSamplesAndUnsupportedKindsAreRejected) {
  MappedTelemetry m = MapMetrics(MetricsRequest(), "", Options(), kNow);
  ASSERT_THAT(m.events, SizeIs(3)) << RejectionMessage(m);
  EXPECT_EQ(m.events[0].metric_sample().name(), "gen_ai_client_token_usage_total");
  EXPECT_DOUBLE_EQ(m.events[0].metric_sample().value(), 1234);
  EXPECT_EQ(m.events[0].labels().at("gen_ai_token_type"), "input");
  EXPECT_EQ(m.events[1].metric_sample().name(), "gen_ai_client_operation_duration_count");
  EXPECT_DOUBLE_EQ(m.events[1].metric_sample().value(), 4);
  EXPECT_EQ(m.events[2].metric_sample().name(), "gen_ai_client_operation_duration_sum");
  EXPECT_DOUBLE_EQ(m.events[2].metric_sample().value(), 2.5);
  EXPECT_EQ(m.rejected, 1);
  EXPECT_THAT(RejectionMessage(m), HasSubstr("exponential histograms are not supported"));
}

TEST(OtlpMetrics, SanitizeName) {
  EXPECT_EQ(SanitizeName("gen_ai.client.token.usage", true), "gen_ai_client_token_usage");
  EXPECT_EQ(SanitizeName("a:b-c", true), "a:b_c");
  EXPECT_EQ(SanitizeName("a:b-c", false), "a_b_c");
  EXPECT_EQ(SanitizeName("9lives", false), "_9lives");
  EXPECT_EQ(SanitizeName("", false), "_");
}

TEST(OtlpIntake, BatchesAreSplitAndTheirSequencesDependOnlyOnTheContent) {
  MappedTelemetry m;
  m.service_name = "agents";
  for (int i = 0; i < 5; ++i) m.events.emplace_back().set_event_id(std::to_string(i));
  std::vector<v1::IngestRequest> a = BatchesFor(m, "request-bytes", 2);
  std::vector<v1::IngestRequest> again = BatchesFor(m, "request-bytes", 2);
  std::vector<v1::IngestRequest> other = BatchesFor(m, "other-bytes", 2);
  ASSERT_THAT(a, SizeIs(3));
  EXPECT_EQ(a[0].events_size(), 2);
  EXPECT_EQ(a[2].events_size(), 1);
  EXPECT_EQ(a[0].producer_id(), "otlp/agents");
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].sequence(), again[i].sequence());
    EXPECT_NE(a[i].sequence(), other[i].sequence());
    EXPECT_LT(a[i].sequence(), 1ULL << 63);
  }
  EXPECT_NE(a[0].sequence(), a[1].sequence());
}

TEST(OtlpIntake, IngestsMappedEventsAndAnswersPartialSuccess) {
  prometheus::Registry registry;
  OtlpMetrics metrics(registry);
  common::FakeClock clock(kNow);
  std::vector<v1::IngestRequest> sunk;
  OtlpIntake intake(
      [&](const v1::IngestRequest& request, v1::IngestResponse* response) {
        sunk.push_back(request);
        response->set_accepted(request.events_size());
        return absl::OkStatus();
      },
      clock, Options(), metrics);

  TraceBuilder b;
  ottrace::Span* good = b.Span("chat", 'G', 0, 0, 1);
  Attr(good->mutable_attributes(), "gen_ai.provider.name", "openai");
  Attr(good->mutable_attributes(), "gen_ai.request.model", "gpt-4o");
  b.Span("chat", 'B', 0, 0, 1);  // no provider, no model
  ExportTraceResponse response;
  ASSERT_TRUE(intake.Traces(b.request(), "", &response).ok());
  ASSERT_THAT(sunk, SizeIs(1));
  EXPECT_EQ(sunk[0].events_size(), 1);
  EXPECT_EQ(response.partial_success().rejected_spans(), 1);
  EXPECT_THAT(response.partial_success().error_message(), HasSubstr("provider"));

  // A retried export maps to the same batch (same producer and sequence).
  ExportTraceResponse retried;
  ASSERT_TRUE(intake.Traces(b.request(), "", &retried).ok());
  ASSERT_THAT(sunk, SizeIs(2));
  EXPECT_EQ(sunk[1].producer_id(), sunk[0].producer_id());
  EXPECT_EQ(sunk[1].sequence(), sunk[0].sequence());

  ExportMetricsResponse metrics_response;
  ASSERT_TRUE(intake.Metrics(MetricsRequest(), "", &metrics_response).ok());
  EXPECT_EQ(metrics_response.partial_success().rejected_data_points(), 1);
}

TEST(OtlpIntake, AStoreFailureFailsTheExportSoTheExporterRetries) {
  prometheus::Registry registry;
  OtlpMetrics metrics(registry);
  common::FakeClock clock(kNow);
  OtlpIntake intake(
      [](const v1::IngestRequest&, v1::IngestResponse*) {
        return absl::UnavailableError("postgres is down");
      },
      clock, Options(), metrics);
  TraceBuilder b;
  ottrace::Span* good = b.Span("chat", 'G', 0, 0, 1);
  Attr(good->mutable_attributes(), "gen_ai.provider.name", "openai");
  Attr(good->mutable_attributes(), "gen_ai.request.model", "gpt-4o");
  ExportTraceResponse response;
  EXPECT_THAT(intake.Traces(b.request(), "", &response),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace agentwatch::monitor::otlp
