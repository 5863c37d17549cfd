// GetCostPerformance through a real in-process gRPC server (in-memory store,
// FakeClock) whose performance figures come from a fake monitor: a second
// in-process gRPC server implementing MonitorService.QuerySeries, reached
// through MonitorPerformanceSource over a real channel. Covers the joined
// rows and the cheaper-model suggestion with exact money, the requests sent
// to monitor, monitor unreachable or failing (cost figures only, marked
// unavailable), validation and paging.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "agentwatch/cost/v1/cost.grpc.pb.h"
#include "agentwatch/monitor/v1/monitor.grpc.pb.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/rpc.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "cost/api/convert.h"
#include "cost/api/cost_metrics.h"
#include "cost/api/cost_service.h"
#include "cost/api/monitor_performance.h"
#include "cost/store/memory_cost_store.h"

namespace agentwatch::cost {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

namespace mv1 = ::agentwatch::monitor::v1;

absl::Time Utc(int y, int m, int d, int h = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, h, 0, 0), absl::UTCTimeZone());
}

google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  TimeToProto(t, &ts);
  return ts;
}

absl::Status ToAbsl(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

// MonitorService answering QuerySeries from canned responses by metric and
// recording the requests.
class FakeMonitor final : public mv1::MonitorService::CallbackService {
 public:
  grpc::ServerUnaryReactor* QuerySeries(grpc::CallbackServerContext* context,
                                        const mv1::QuerySeriesRequest* request,
                                        mv1::QuerySeriesResponse* response) override {
    grpc::Status status = grpc::Status::OK;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(*request);
      auto it = answers_.find(request->metric());
      if (it != answers_.end()) *response = it->second;
      status = status_;
    }
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(status);
    return reactor;
  }

  void Answer(const std::string& metric, mv1::QuerySeriesResponse response) {
    absl::MutexLock lock(&mu_);
    answers_[metric] = std::move(response);
  }
  void Fail(grpc::Status status) {
    absl::MutexLock lock(&mu_);
    status_ = std::move(status);
  }
  std::vector<mv1::QuerySeriesRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, mv1::QuerySeriesResponse> answers_ ABSL_GUARDED_BY(mu_);
  std::vector<mv1::QuerySeriesRequest> requests_ ABSL_GUARDED_BY(mu_);
  grpc::Status status_ ABSL_GUARDED_BY(mu_) = grpc::Status::OK;
};

// One series of the fake monitor's answer: labels and a single point.
void AddSeries(mv1::QuerySeriesResponse* response, std::map<std::string, std::string> labels,
               double value) {
  mv1::Series* s = response->add_series();
  for (auto& [k, v] : labels) (*s->mutable_labels())[k] = v;
  mv1::Point* p = s->add_points();
  p->mutable_time()->set_seconds(0);
  p->set_value(value);
}

std::map<std::string, std::string> Labels(const std::string& model,
                                          const std::string& status = "") {
  std::map<std::string, std::string> l{
      {"workflow", "research"}, {"agent", "writer"}, {"provider", "openai"}, {"model", model}};
  if (!status.empty()) l["status"] = status;
  return l;
}

// The cost service with its monitor peer at `monitor_address`.
class CostServer {
 public:
  CostServer(common::Clock& clock, const std::string& monitor_address)
      : store_(clock),
        metrics_(registry_),
        executor_(4, 1000),
        rpc_(authorizer_, executor_),
        source_(grpc::CreateChannel(monitor_address, grpc::InsecureChannelCredentials()),
                monitor_address, absl::Seconds(5)),
        service_(store_, rpc_, clock, metrics_, Options(&source_)) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::CostService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  ~CostServer() { server_->Shutdown(); }

  static CostServiceOptions Options(PerformanceSource* source) {
    CostServiceOptions options;
    options.performance = source;
    return options;
  }

  v1::CostService::Stub& stub() { return *stub_; }
  CostMetrics& metrics() { return metrics_; }

 private:
  MemoryCostStore store_;
  prometheus::Registry registry_;
  CostMetrics metrics_;
  common::BlockingExecutor executor_;
  common::Authorizer authorizer_;
  common::RpcRunner rpc_;
  MonitorPerformanceSource source_;
  CostServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::CostService::Stub> stub_;
};

class CostPerformanceTest : public ::testing::Test {
 protected:
  CostPerformanceTest() : clock_(Utc(2026, 3, 10, 12)) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&monitor_);
    monitor_server_ = builder.BuildAndStart();
    cost_ = std::make_unique<CostServer>(clock_, absl::StrCat("127.0.0.1:", port));
  }
  ~CostPerformanceTest() override {
    cost_.reset();
    monitor_server_->Shutdown();
  }

  template <typename Request, typename Response, typename Method>
  absl::Status Call(CostServer& server, Method method, const Request& request, Response* response) {
    grpc::ClientContext context;
    return ToAbsl((server.stub().*method)(&context, request, response));
  }

  // gpt-4o at 2.5 / 10 USD and gpt-4o-mini at 0.15 / 0.60 USD per million
  // input / output tokens; in workflow research, agent writer, 100 gpt-4o
  // calls (100,000 input and 50,000 output tokens: 0.75 USD) and one
  // gpt-4o-mini call (1,000 input tokens: 0.00015 USD).
  void Seed(CostServer& server) {
    struct Listed {
      const char* model;
      int64_t input;
      int64_t output;
    };
    for (const Listed& listed : {Listed{"gpt-4o", 2'500'000'000, 10'000'000'000},
                                 Listed{"gpt-4o-mini", 150'000'000, 600'000'000}}) {
      const auto& [model, input, output] = listed;
      v1::UpsertPriceRequest request;
      v1::Price* p = request.mutable_price();
      p->set_provider("openai");
      p->set_model(model);
      *p->mutable_effective_time() = Ts(absl::UnixEpoch());
      p->set_input_per_million_nano_usd(input);
      p->set_output_per_million_nano_usd(output);
      v1::Price stored;
      ASSERT_THAT(Call(server, &v1::CostService::Stub::UpsertPrice, request, &stored), IsOk());
    }
    v1::RecordUsageRequest request;
    for (int i = 0; i < 5; ++i) {
      const bool mini = i == 4;
      v1::UsageRecord* r = request.add_records();
      r->set_record_id(absl::StrCat("r", i));
      *r->mutable_time() = Ts(Utc(2026, 3, 10, 6));
      r->mutable_scope()->set_tenant("acme");
      r->mutable_scope()->set_workflow("research");
      r->mutable_scope()->set_agent("writer");
      r->mutable_llm()->set_provider("openai");
      r->mutable_llm()->set_model(mini ? "gpt-4o-mini" : "gpt-4o");
      r->mutable_llm()->set_input_tokens(mini ? 1'000 : 25'000);
      r->mutable_llm()->set_output_tokens(mini ? 0 : 12'500);
      r->mutable_llm()->set_requests(mini ? 1 : 25);
    }
    v1::RecordUsageResponse recorded;
    ASSERT_THAT(Call(server, &v1::CostService::Stub::RecordUsage, request, &recorded), IsOk());
    ASSERT_EQ(recorded.total_cost_nano_usd(), 750'150'000);
  }

  // Monitor: gpt-4o 99 of 100 calls succeeded, p95 2 s; gpt-4o-mini 50 of 50,
  // p95 1.5 s.
  void AnswerMonitor() {
    mv1::QuerySeriesResponse calls;
    AddSeries(&calls, Labels("gpt-4o", "succeeded"), 99);
    AddSeries(&calls, Labels("gpt-4o", "failed"), 1);
    AddSeries(&calls, Labels("gpt-4o-mini", "succeeded"), 50);
    monitor_.Answer("llm_calls_total", calls);
    mv1::QuerySeriesResponse latency;
    AddSeries(&latency, Labels("gpt-4o"), 2.0);
    AddSeries(&latency, Labels("gpt-4o-mini"), 1.5);
    monitor_.Answer("llm_latency_seconds", latency);
  }

  v1::GetCostPerformanceRequest ByWorkflowAgentModel() {
    v1::GetCostPerformanceRequest request;
    *request.mutable_range()->mutable_start() = Ts(Utc(2026, 3, 10));
    *request.mutable_range()->mutable_end() = Ts(Utc(2026, 3, 10, 12));
    request.add_group_by(v1::DIMENSION_WORKFLOW);
    request.add_group_by(v1::DIMENSION_AGENT);
    request.add_group_by(v1::DIMENSION_MODEL);
    request.mutable_filter()->set_tenant("acme");
    return request;
  }

  absl::Status Performance(const v1::GetCostPerformanceRequest& request,
                           v1::GetCostPerformanceResponse* response) {
    return Call(*cost_, &v1::CostService::Stub::GetCostPerformance, request, response);
  }

  common::FakeClock clock_;
  FakeMonitor monitor_;
  std::unique_ptr<grpc::Server> monitor_server_;
  std::unique_ptr<CostServer> cost_;
};

TEST_F(CostPerformanceTest, JoinsCostWithMonitorAndSuggestsTheCheaperModel) {
  Seed(*cost_);
  AnswerMonitor();
  v1::GetCostPerformanceResponse response;
  ASSERT_THAT(Performance(ByWorkflowAgentModel(), &response), IsOk());
  EXPECT_TRUE(response.performance_available());
  EXPECT_EQ(response.performance_unavailable_reason(), "");
  ASSERT_THAT(response.rows(), SizeIs(2));
  EXPECT_TRUE(response.next_page_token().empty());

  const v1::CostPerformanceRow& big = response.rows(0);  // by cost descending
  EXPECT_EQ(big.group().at("workflow"), "research");
  EXPECT_EQ(big.group().at("agent"), "writer");
  EXPECT_EQ(big.group().at("model"), "gpt-4o");
  EXPECT_THAT(big.group(), SizeIs(3));
  EXPECT_EQ(big.provider(), "openai");
  EXPECT_EQ(big.cost_nano_usd(), 750'000'000);
  EXPECT_EQ(big.llm_cost_nano_usd(), 750'000'000);
  EXPECT_EQ(big.calls(), 100);
  EXPECT_EQ(big.cost_per_call_nano_usd(), 7'500'000);
  EXPECT_EQ(big.workflow_runs(), 0);
  EXPECT_EQ(big.cost_per_successful_run_nano_usd(), 0);
  EXPECT_TRUE(big.performance_available());
  EXPECT_EQ(big.monitored_calls(), 100);
  EXPECT_DOUBLE_EQ(big.call_success_rate(), 0.99);
  EXPECT_EQ(big.p95_latency().seconds(), 2);
  // The same 100,000 / 50,000 tokens at gpt-4o-mini's prices: 0.015 + 0.03.
  EXPECT_EQ(big.suggested_model(), "gpt-4o-mini");
  EXPECT_EQ(big.suggested_provider(), "openai");
  EXPECT_EQ(big.suggested_cost_per_call_nano_usd(), 450'000);
  EXPECT_EQ(big.suggested_saving_nano_usd(), 705'000'000);
  EXPECT_DOUBLE_EQ(big.suggested_call_success_rate(), 1.0);
  EXPECT_EQ(big.suggested_p95_latency().seconds(), 1);
  EXPECT_EQ(big.suggested_p95_latency().nanos(), 500'000'000);
  EXPECT_THAT(big.suggestion_reason(), HasSubstr("saving 0.705000000 USD"));

  const v1::CostPerformanceRow& mini = response.rows(1);
  EXPECT_EQ(mini.group().at("model"), "gpt-4o-mini");
  EXPECT_EQ(mini.cost_nano_usd(), 150'000);
  EXPECT_EQ(mini.monitored_calls(), 50);
  EXPECT_EQ(mini.suggested_model(), "");
  EXPECT_THAT(mini.suggestion_reason(), HasSubstr("no cheaper model performs as well"));

  // What monitor was asked: both metrics, the tenant, the range as one step
  // from the epoch, the grouping (plus status for the counts).
  const std::vector<mv1::QuerySeriesRequest> asked = monitor_.requests();
  ASSERT_THAT(asked, SizeIs(2));
  EXPECT_EQ(asked[0].metric(), "llm_calls_total");
  EXPECT_EQ(asked[0].aggregation(), mv1::AGGREGATION_SUM);
  EXPECT_THAT(asked[0].group_by(), ElementsAre("workflow", "agent", "provider", "model", "status"));
  EXPECT_EQ(asked[1].metric(), "llm_latency_seconds");
  EXPECT_EQ(asked[1].aggregation(), mv1::AGGREGATION_P95);
  EXPECT_THAT(asked[1].group_by(), ElementsAre("workflow", "agent", "provider", "model"));
  for (const mv1::QuerySeriesRequest& r : asked) {
    EXPECT_EQ(r.tenant(), "acme");
    EXPECT_THAT(r.matchers(), IsEmpty());
    EXPECT_EQ(r.range().start().seconds(), absl::ToUnixSeconds(Utc(2026, 3, 10)));
    EXPECT_EQ(r.range().end().seconds(), absl::ToUnixSeconds(Utc(2026, 3, 10, 12)));
    EXPECT_EQ(r.step().seconds() % 60, 0);
    EXPECT_GT(r.step().seconds(), absl::ToUnixSeconds(Utc(2026, 3, 10, 12)));
  }
}

TEST_F(CostPerformanceTest, TolerancesAndFiltersReachTheComparisonAndMonitor) {
  Seed(*cost_);
  AnswerMonitor();
  v1::GetCostPerformanceRequest request = ByWorkflowAgentModel();
  request.set_min_calls(60);  // mini has 50 calls: it no longer qualifies
  v1::GetCostPerformanceResponse response;
  ASSERT_THAT(Performance(request, &response), IsOk());
  ASSERT_THAT(response.rows(), SizeIs(2));
  EXPECT_EQ(response.rows(0).suggested_model(), "");
  EXPECT_THAT(response.rows(1).suggestion_reason(),
              HasSubstr("too few calls in monitor (50 < 60)"));

  request = ByWorkflowAgentModel();
  request.mutable_filter()->set_agent("writer");
  (*request.mutable_filter()->mutable_tags())["env"] = "prod";
  ASSERT_THAT(Performance(request, &response), IsOk());
  const mv1::QuerySeriesRequest asked = monitor_.requests().back();
  std::vector<std::string> matchers;
  for (const auto& m : asked.matchers()) {
    EXPECT_EQ(m.op(), agentwatch::common::v1::MATCH_OP_EQUAL);
    matchers.push_back(absl::StrCat(m.name(), "=", m.value()));
  }
  EXPECT_THAT(matchers, UnorderedElementsAre("agent=writer", "env=prod"));
  EXPECT_THAT(response.rows(), IsEmpty());  // the usage carries no env tag
}

TEST_F(CostPerformanceTest, DefaultsToModelGrouping) {
  Seed(*cost_);
  mv1::QuerySeriesResponse calls;
  AddSeries(&calls, {{"provider", "openai"}, {"model", "gpt-4o"}, {"status", "succeeded"}}, 30);
  monitor_.Answer("llm_calls_total", calls);
  v1::GetCostPerformanceRequest request;
  *request.mutable_range()->mutable_start() = Ts(Utc(2026, 3, 10));
  v1::GetCostPerformanceResponse response;
  ASSERT_THAT(Performance(request, &response), IsOk());
  ASSERT_THAT(response.rows(), SizeIs(2));
  EXPECT_THAT(response.rows(0).group(), SizeIs(1));
  EXPECT_EQ(response.rows(0).group().at("model"), "gpt-4o");
  EXPECT_EQ(response.rows(0).monitored_calls(), 30);
  EXPECT_FALSE(response.rows(0).has_p95_latency());  // monitor had no latency
  EXPECT_THAT(response.rows(0).suggestion_reason(), HasSubstr("no call latency"));
  EXPECT_FALSE(response.rows(1).performance_available());  // no calls in monitor
  EXPECT_EQ(monitor_.requests().back().tenant(), "");
  EXPECT_EQ(monitor_.requests().back().range().end().seconds(),
            absl::ToUnixSeconds(Utc(2026, 3, 10, 12)));  // end defaults to now
}

TEST_F(CostPerformanceTest, MonitorFailingMeansCostFiguresOnly) {
  Seed(*cost_);
  monitor_.Fail(grpc::Status(grpc::StatusCode::INTERNAL, "boom"));
  v1::GetCostPerformanceResponse response;
  ASSERT_THAT(Performance(ByWorkflowAgentModel(), &response), IsOk());
  EXPECT_FALSE(response.performance_available());
  EXPECT_THAT(response.performance_unavailable_reason(), HasSubstr("boom"));
  ASSERT_THAT(response.rows(), SizeIs(2));
  EXPECT_EQ(response.rows(0).cost_nano_usd(), 750'000'000);
  EXPECT_FALSE(response.rows(0).performance_available());
  EXPECT_FALSE(response.rows(0).has_p95_latency());
  EXPECT_EQ(response.rows(0).call_success_rate(), 0);
  EXPECT_EQ(response.rows(0).suggested_model(), "");
  EXPECT_THAT(response.rows(0).suggestion_reason(), HasSubstr("performance unavailable"));
  EXPECT_EQ(cost_->metrics().performance_unavailable.Value(), 1);
}

TEST_F(CostPerformanceTest, MonitorUnreachableMeansCostFiguresOnly) {
  const int port = agentwatch::testing::FreePort();  // nothing listens there
  CostServer lonely(clock_, absl::StrCat("127.0.0.1:", port));
  Seed(lonely);
  v1::GetCostPerformanceResponse response;
  ASSERT_THAT(
      Call(lonely, &v1::CostService::Stub::GetCostPerformance, ByWorkflowAgentModel(), &response),
      IsOk());
  EXPECT_FALSE(response.performance_available());
  EXPECT_THAT(response.performance_unavailable_reason(), HasSubstr("unavailable"));
  ASSERT_THAT(response.rows(), SizeIs(2));
  EXPECT_EQ(response.rows(0).cost_nano_usd(), 750'000'000);
  EXPECT_EQ(response.rows(0).cost_per_call_nano_usd(), 7'500'000);
  EXPECT_FALSE(response.rows(0).performance_available());
  EXPECT_EQ(response.rows(0).suggested_model(), "");
}

TEST_F(CostPerformanceTest, BadRequestsNameTheField) {
  v1::GetCostPerformanceResponse response;
  v1::GetCostPerformanceRequest request = ByWorkflowAgentModel();
  request.clear_range();
  EXPECT_THAT(Performance(request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("range.start")));
  request = ByWorkflowAgentModel();
  *request.mutable_range()->mutable_end() = Ts(Utc(2026, 3, 9));
  EXPECT_THAT(Performance(request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("range")));
  request = ByWorkflowAgentModel();
  request.add_group_by(v1::DIMENSION_TEAM);
  EXPECT_THAT(Performance(request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("group_by[3]")));
  request = ByWorkflowAgentModel();
  request.add_group_by(v1::DIMENSION_AGENT);
  EXPECT_THAT(Performance(request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("group_by[3]: repeated")));
  request = ByWorkflowAgentModel();
  request.set_success_rate_tolerance(1.5);
  EXPECT_THAT(Performance(request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("success_rate_tolerance")));
  request = ByWorkflowAgentModel();
  request.set_latency_tolerance(-1);
  EXPECT_THAT(Performance(request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("latency_tolerance")));
  request = ByWorkflowAgentModel();
  request.set_min_calls(-1);
  EXPECT_THAT(Performance(request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("min_calls")));
  request = ByWorkflowAgentModel();
  request.set_page_size(-1);
  EXPECT_THAT(Performance(request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
  request = ByWorkflowAgentModel();
  (*request.mutable_filter()->mutable_tags())["bad key"] = "x";
  EXPECT_THAT(Performance(request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("filter.tags")));
  EXPECT_THAT(monitor_.requests(), IsEmpty());  // nothing was asked for bad requests
}

TEST_F(CostPerformanceTest, PagesByCost) {
  Seed(*cost_);
  AnswerMonitor();
  v1::GetCostPerformanceRequest request = ByWorkflowAgentModel();
  request.set_page_size(1);
  v1::GetCostPerformanceResponse first;
  ASSERT_THAT(Performance(request, &first), IsOk());
  ASSERT_THAT(first.rows(), SizeIs(1));
  EXPECT_EQ(first.rows(0).group().at("model"), "gpt-4o");
  ASSERT_FALSE(first.next_page_token().empty());
  request.set_page_token(first.next_page_token());
  v1::GetCostPerformanceResponse second;
  ASSERT_THAT(Performance(request, &second), IsOk());
  ASSERT_THAT(second.rows(), SizeIs(1));
  EXPECT_EQ(second.rows(0).group().at("model"), "gpt-4o-mini");
  EXPECT_TRUE(second.next_page_token().empty());
  request.set_min_calls(1);  // another request: the token does not continue it
  EXPECT_THAT(Performance(request, &second),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
}

}  // namespace
}  // namespace agentwatch::cost
