// The CostService through a real in-process gRPC server on 127.0.0.1:0 with
// the in-memory store behind it and a FakeClock: mapping, validation (codes
// and field names), idempotency, metrics, paging, budgets, roles.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "agentwatch/cost/v1/cost.grpc.pb.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/rpc.h"
#include "common/testing/status_matchers.h"
#include "cost/api/convert.h"
#include "cost/api/cost_metrics.h"
#include "cost/api/cost_service.h"
#include "cost/api/default_catalog_importer.h"
#include "cost/catalog/default_catalog.h"
#include "cost/core/budget_alert.h"
#include "cost/store/budget_counters.h"
#include "cost/store/memory_cost_store.h"

namespace agentwatch::cost {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

absl::Time Utc(int y, int m, int d, int h = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, h, 0, 0), absl::UTCTimeZone());
}

google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  TimeToProto(t, &ts);
  return ts;
}

// A server around CostServiceImpl; `tokens` turns authentication on.
class Server {
 public:
  explicit Server(common::Clock& clock, std::map<std::string, common::Role> tokens = {},
                  BudgetCounters* counters = nullptr)
      : store_(clock),
        metrics_(registry_),
        executor_(4, 1000),
        authorizer_(tokens.empty() ? common::Authorizer() : common::Authorizer(std::move(tokens))),
        rpc_(authorizer_, executor_),
        service_(store_, rpc_, clock, metrics_, Options(counters)) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    stub_ = v1::CostService::NewStub(channel_);
  }
  ~Server() { server_->Shutdown(); }

  static CostServiceOptions Options(BudgetCounters* counters) {
    CostServiceOptions options;
    options.counters = counters;
    return options;
  }

  v1::CostService::Stub& stub() { return *stub_; }
  MemoryCostStore& store() { return store_; }
  CostMetrics& metrics() { return metrics_; }

 private:
  MemoryCostStore store_;
  prometheus::Registry registry_;
  CostMetrics metrics_;
  common::BlockingExecutor executor_;
  common::Authorizer authorizer_;
  common::RpcRunner rpc_;
  CostServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::CostService::Stub> stub_;
};

absl::Status ToAbsl(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

class CostApiTest : public ::testing::Test {
 protected:
  CostApiTest() : clock_(Utc(2026, 3, 10, 12)), server_(clock_) {}

  v1::CostService::Stub& stub() { return server_.stub(); }

  template <typename Request, typename Response, typename Method>
  absl::Status Call(Method method, const Request& request, Response* response) {
    grpc::ClientContext context;
    return ToAbsl((stub().*method)(&context, request, response));
  }

  absl::Status Record(const std::vector<v1::UsageRecord>& records,
                      v1::RecordUsageResponse* response) {
    v1::RecordUsageRequest request;
    for (const v1::UsageRecord& r : records) *request.add_records() = r;
    return Call(&v1::CostService::Stub::RecordUsage, request, response);
  }

  void UpsertMini() {
    v1::UpsertPriceRequest request;
    v1::Price* p = request.mutable_price();
    p->set_provider("openai");
    p->set_model("gpt-4o-mini");
    *p->mutable_effective_time() = Ts(absl::UnixEpoch());
    p->set_input_per_million_nano_usd(150'000'000);
    p->set_output_per_million_nano_usd(600'000'000);
    p->set_cache_read_per_million_nano_usd(75'000'000);
    v1::Price stored;
    ASSERT_THAT(Call(&v1::CostService::Stub::UpsertPrice, request, &stored), IsOk());
    EXPECT_EQ(stored.source(), "manual");
    EXPECT_TRUE(stored.has_create_time());
  }

  static v1::UsageRecord Llm(std::string id, std::string model, int64_t input, int64_t output,
                             absl::Time time, std::string team = "a") {
    v1::UsageRecord r;
    r.set_record_id(std::move(id));
    *r.mutable_time() = Ts(time);
    r.mutable_scope()->set_tenant("acme");
    r.mutable_scope()->set_team(std::move(team));
    r.mutable_llm()->set_provider("openai");
    r.mutable_llm()->set_model(std::move(model));
    r.mutable_llm()->set_input_tokens(input);
    r.mutable_llm()->set_output_tokens(output);
    return r;
  }

  common::FakeClock clock_;
  Server server_;
};

TEST_F(CostApiTest, RecordUsagePricesExactlyAndCountsReplaysOnce) {
  UpsertMini();
  v1::UsageRecord cached = Llm("r2", "gpt-4o-mini", 2000, 0, Utc(2026, 3, 10));
  cached.mutable_llm()->set_cached_input_tokens(1000);
  v1::RecordUsageResponse response;
  ASSERT_THAT(Record({Llm("r1", "gpt-4o-mini", 1000, 500, Utc(2026, 3, 10)), cached}, &response),
              IsOk());
  EXPECT_EQ(response.accepted(), 2);
  EXPECT_EQ(response.duplicates(), 0);
  // 1000 x 150 + 500 x 600 = 450,000; 1000 x 150 + 1000 x 75 = 225,000.
  EXPECT_EQ(response.total_cost_nano_usd(), 675'000);
  EXPECT_THAT(response.unknown_models(), IsEmpty());

  // A replay (plus one new record) counts the old ones as duplicates only.
  v1::RecordUsageResponse replay;
  ASSERT_THAT(Record({Llm("r1", "gpt-4o-mini", 1000, 500, Utc(2026, 3, 10)), cached,
                      Llm("r3", "gpt-4o-mini", 10, 0, Utc(2026, 3, 10))},
                     &replay),
              IsOk());
  EXPECT_EQ(replay.accepted(), 1);
  EXPECT_EQ(replay.duplicates(), 2);
  EXPECT_EQ(replay.total_cost_nano_usd(), 1'500);
  EXPECT_THAT(server_.store().Ledger(), SizeIs(3));
  EXPECT_EQ(server_.metrics().accepted_records.Value(), 3);
  EXPECT_EQ(server_.metrics().duplicate_records.Value(), 2);
  EXPECT_EQ(server_.metrics().unpriced_records.Value(), 0);
  EXPECT_EQ(server_.metrics().recorded_nano_usd.Value(), 676'500);
}

TEST_F(CostApiTest, DuplicateInsideABatchCountsOnce) {
  UpsertMini();
  v1::RecordUsageResponse response;
  const v1::UsageRecord r = Llm("same", "gpt-4o-mini", 1000, 0, Utc(2026, 3, 10));
  ASSERT_THAT(Record({r, r}, &response), IsOk());
  EXPECT_EQ(response.accepted(), 1);
  EXPECT_EQ(response.duplicates(), 1);
  EXPECT_EQ(response.total_cost_nano_usd(), 150'000);
}

TEST_F(CostApiTest, UnknownModelIsRecordedFlaggedAndListed) {
  UpsertMini();
  v1::RecordUsageResponse response;
  v1::UsageRecord unknown = Llm("u1", "gpt-9", 1000, 10, Utc(2026, 3, 10));
  unknown.mutable_llm()->set_requests(3);
  ASSERT_THAT(
      Record({unknown, Llm("k1", "openai/gpt-4o-mini", 1000, 0, Utc(2026, 3, 10))}, &response),
      IsOk());
  EXPECT_EQ(response.accepted(), 2);
  EXPECT_THAT(response.unknown_models(), ElementsAre("openai/gpt-9"));
  EXPECT_EQ(response.total_cost_nano_usd(), 150'000);
  EXPECT_EQ(server_.metrics().unpriced_records.Value(), 1);
  EXPECT_EQ(server_.metrics().accepted_records.Value(), 1);
  const auto unknown_calls = server_.store().UnknownModelCalls();
  ASSERT_EQ(unknown_calls.size(), 1u);
  EXPECT_EQ(unknown_calls.begin()->second, 3);
  bool found = false;
  for (const PricedUsage& e : server_.store().Ledger()) {
    if (e.record.record_id == "u1") {
      found = true;
      EXPECT_FALSE(e.priced);
      EXPECT_EQ(e.cost_nano_usd, 0);
    }
  }
  EXPECT_TRUE(found);
  // The report shows the unpriced calls.
  v1::GetCostReportRequest report_request;
  *report_request.mutable_range()->mutable_start() = Ts(Utc(2026, 3, 1));
  v1::GetCostReportResponse report;
  ASSERT_THAT(Call(&v1::CostService::Stub::GetCostReport, report_request, &report), IsOk());
  EXPECT_EQ(report.total_unpriced_calls(), 3);
  EXPECT_EQ(report.total_calls(), 4);
}

TEST_F(CostApiTest, ModelsAreStoredInCatalogSpelling) {
  UpsertMini();
  v1::UsageRecord prefixed = Llm("p1", "openai/gpt-4o-mini", 1000, 0, Utc(2026, 3, 10));
  prefixed.mutable_scope()->set_model("gpt-4o-mini");
  v1::UsageRecord scoped = Llm("p2", "gpt-4o-mini", 1000, 0, Utc(2026, 3, 10));
  scoped.mutable_scope()->set_provider("openai");
  scoped.mutable_scope()->set_model("openai/gpt-4o-mini");
  v1::RecordUsageResponse response;
  ASSERT_THAT(
      Record({prefixed, scoped, Llm("p3", "gpt-4o-mini", 1000, 0, Utc(2026, 3, 10))}, &response),
      IsOk());
  EXPECT_EQ(response.total_cost_nano_usd(), 450'000);
  v1::GetCostReportRequest request;
  *request.mutable_range()->mutable_start() = Ts(Utc(2026, 3, 1));
  request.add_group_by(v1::DIMENSION_MODEL);
  request.mutable_filter()->set_provider("openai");
  request.mutable_filter()->set_model("openai/gpt-4o-mini");
  v1::GetCostReportResponse report;
  ASSERT_THAT(Call(&v1::CostService::Stub::GetCostReport, request, &report), IsOk());
  ASSERT_THAT(report.rows(), SizeIs(1));
  EXPECT_EQ(report.rows(0).group().at("model"), "gpt-4o-mini");
  EXPECT_EQ(report.rows(0).calls(), 3);
}

TEST_F(CostApiTest, ClientCostOverridesTheCatalog) {
  UpsertMini();
  v1::UsageRecord r = Llm("c1", "gpt-4o-mini", 1000, 0, Utc(2026, 3, 10));
  r.set_client_cost_nano_usd(999);
  v1::RecordUsageResponse response;
  ASSERT_THAT(Record({r}, &response), IsOk());
  EXPECT_EQ(response.total_cost_nano_usd(), 999);
  EXPECT_TRUE(server_.store().Ledger()[0].client_priced);
}

TEST_F(CostApiTest, RecordUsageValidationNamesTheFieldAndWritesNothing) {
  UpsertMini();
  struct Case {
    std::function<void(v1::UsageRecord&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](v1::UsageRecord& r) { r.clear_record_id(); }, "records[1].record_id"},
      {[](v1::UsageRecord& r) { r.clear_time(); }, "records[1].time"},
      {[](v1::UsageRecord& r) { r.mutable_time()->set_nanos(-1); }, "records[1].time"},
      {[](v1::UsageRecord& r) { r.mutable_scope()->clear_tenant(); }, "records[1].scope.tenant"},
      {[](v1::UsageRecord& r) { r.mutable_llm()->clear_model(); }, "records[1].llm.model"},
      {[](v1::UsageRecord& r) { r.mutable_llm()->clear_provider(); }, "records[1].llm.provider"},
      {[](v1::UsageRecord& r) { r.mutable_llm()->set_input_tokens(-1); },
       "records[1].llm.input_tokens"},
      {[](v1::UsageRecord& r) { r.mutable_llm()->set_output_tokens(-1); },
       "records[1].llm.output_tokens"},
      {[](v1::UsageRecord& r) { r.mutable_llm()->set_cached_input_tokens(5000); },
       "records[1].llm.cached_input_tokens"},
      {[](v1::UsageRecord& r) { r.mutable_llm()->set_requests(-2); }, "records[1].llm.requests"},
      {[](v1::UsageRecord& r) { r.mutable_scope()->set_model("other"); }, "records[1].scope.model"},
      {[](v1::UsageRecord& r) { r.mutable_scope()->set_provider("anthropic"); },
       "records[1].scope.provider"},
      {[](v1::UsageRecord& r) { r.set_client_cost_nano_usd(-1); },
       "records[1].client_cost_nano_usd"},
      {[](v1::UsageRecord& r) { r.clear_llm(); }, "records[1]"},
      {[](v1::UsageRecord& r) { r.mutable_infra()->set_quantity(5); }, "records[1].infra.resource"},
      {[](v1::UsageRecord& r) {
         r.mutable_infra()->set_resource(v1::INFRA_RESOURCE_COMPUTE_SECONDS);
         r.mutable_infra()->set_unit("hours");
       },
       "records[1].infra.unit"},
      {[](v1::UsageRecord& r) { r.set_run_succeeded(true); }, "records[1].run_id"},
  };
  for (const Case& c : cases) {
    v1::UsageRecord bad = Llm("bad", "gpt-4o-mini", 1000, 10, Utc(2026, 3, 10));
    c.mutate(bad);
    v1::RecordUsageResponse response;
    EXPECT_THAT(Record({Llm("good", "gpt-4o-mini", 1, 1, Utc(2026, 3, 10)), bad}, &response),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.field)))
        << c.field;
  }
  EXPECT_THAT(server_.store().Ledger(), IsEmpty());
}

// The slot form RecordUsage converts a batch with (straight into the batch's
// vector): every field, the provider and model filled from the LLM usage in
// catalog spelling, the model of other kinds from the scope, and the same
// record and errors as the value form.
TEST(UsageRecordFromProtoTest, SlotFormConvertsEveryFieldLikeTheValueForm) {
  v1::UsageRecord llm;
  llm.set_record_id("r-1");
  llm.mutable_time()->set_seconds(1'773'100'800);
  llm.mutable_time()->set_nanos(123'456'789);
  agentwatch::common::v1::Scope* scope = llm.mutable_scope();
  scope->set_tenant("acme");
  scope->set_team("search");
  scope->set_workflow("triage");
  scope->set_agent("planner");
  scope->set_model("openai/gpt-4o");
  scope->set_service("api");
  (*scope->mutable_tags())["env"] = "prod";
  (*scope->mutable_tags())["region"] = "eu";
  llm.set_run_id("run-1");
  llm.set_run_succeeded(false);
  llm.set_client_cost_nano_usd(17);
  llm.mutable_llm()->set_provider("openai");
  llm.mutable_llm()->set_model("openai/gpt-4o");
  llm.mutable_llm()->set_input_tokens(100);
  llm.mutable_llm()->set_output_tokens(20);
  llm.mutable_llm()->set_cached_input_tokens(30);
  llm.mutable_llm()->set_cache_creation_tokens(5);

  UsageRecord slot;
  ASSERT_THAT(UsageRecordFromProto(llm, 0, &slot), IsOk());
  EXPECT_EQ(slot.record_id, "r-1");
  EXPECT_EQ(slot.time, absl::FromUnixMicros(1'773'100'800'123'456));
  EXPECT_EQ(slot.scope.tenant, "acme");
  EXPECT_EQ(slot.scope.team, "search");
  EXPECT_EQ(slot.scope.workflow, "triage");
  EXPECT_EQ(slot.scope.agent, "planner");
  EXPECT_EQ(slot.scope.provider, "openai");
  EXPECT_EQ(slot.scope.model, "gpt-4o");
  EXPECT_EQ(slot.scope.service, "api");
  EXPECT_THAT(slot.scope.tags, ElementsAre(std::pair<const std::string, std::string>("env", "prod"),
                                           std::pair<const std::string, std::string>("region", "eu")));
  EXPECT_EQ(slot.run_id, "run-1");
  EXPECT_EQ(slot.run_succeeded, std::optional<bool>(false));
  EXPECT_EQ(slot.client_cost_nano_usd, std::optional<int64_t>(17));
  EXPECT_EQ(slot.kind, UsageKind::kLlm);
  EXPECT_EQ(slot.tokens.input, 100);
  EXPECT_EQ(slot.tokens.output, 20);
  EXPECT_EQ(slot.tokens.cached_input, 30);
  EXPECT_EQ(slot.tokens.cache_creation, 5);
  EXPECT_EQ(slot.requests, 1);
  absl::StatusOr<UsageRecord> value = UsageRecordFromProto(llm, 0);
  ASSERT_THAT(value, IsOk());
  EXPECT_EQ(value->scope, slot.scope);
  EXPECT_EQ(value->record_id, slot.record_id);
  EXPECT_EQ(value->time, slot.time);

  // Infrastructure: the scope's model in catalog spelling, the sku kept.
  v1::UsageRecord infra;
  infra.set_record_id("i-1");
  infra.mutable_time()->set_seconds(1'773'100'800);
  infra.mutable_scope()->set_tenant("acme");
  infra.mutable_scope()->set_provider("aws");
  infra.mutable_scope()->set_model("aws/m5");
  infra.mutable_infra()->set_resource(v1::INFRA_RESOURCE_COMPUTE_SECONDS);
  infra.mutable_infra()->set_quantity(2'500);
  infra.mutable_infra()->set_sku("m5.large");
  UsageRecord infra_slot;
  ASSERT_THAT(UsageRecordFromProto(infra, 3, &infra_slot), IsOk());
  EXPECT_EQ(infra_slot.kind, UsageKind::kInfra);
  EXPECT_EQ(infra_slot.scope.provider, "aws");
  EXPECT_EQ(infra_slot.scope.model, "m5");
  EXPECT_EQ(infra_slot.infra_resource, InfraResource::kComputeSeconds);
  EXPECT_EQ(infra_slot.infra_quantity_milli, 2'500);
  EXPECT_EQ(infra_slot.infra_sku, "m5.large");

  // An outcome: the scope's model in catalog spelling too.
  v1::UsageRecord outcome = infra;
  outcome.clear_infra();
  outcome.set_run_id("run-2");
  outcome.set_run_succeeded(true);
  UsageRecord outcome_slot;
  ASSERT_THAT(UsageRecordFromProto(outcome, 4, &outcome_slot), IsOk());
  EXPECT_EQ(outcome_slot.kind, UsageKind::kOutcome);
  EXPECT_EQ(outcome_slot.scope.model, "m5");

  // Errors name the record's field in either form.
  v1::UsageRecord bad = llm;
  bad.mutable_scope()->set_provider("anthropic");
  UsageRecord bad_slot;
  EXPECT_THAT(UsageRecordFromProto(bad, 7, &bad_slot),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("records[7].scope.provider")));
  EXPECT_THAT(UsageRecordFromProto(bad, 7),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("records[7].scope.provider")));
  bad = llm;
  bad.mutable_llm()->set_model("openai/");
  EXPECT_THAT(UsageRecordFromProto(bad, 2, &bad_slot),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("records[2].scope.model")));
}

TEST_F(CostApiTest, BatchLimits) {
  v1::RecordUsageResponse response;
  EXPECT_THAT(Record({}, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("records")));
  std::vector<v1::UsageRecord> many(10'001, Llm("x", "gpt-4o-mini", 1, 1, Utc(2026, 3, 10)));
  EXPECT_THAT(Record(many, &response), StatusIs(absl::StatusCode::kResourceExhausted));
  many.pop_back();
  for (size_t i = 0; i < many.size(); ++i) many[i].set_record_id(absl::StrCat("id-", i));
  ASSERT_THAT(Record(many, &response), IsOk());
  EXPECT_EQ(response.accepted(), 10'000);
}

TEST_F(CostApiTest, InfraAndOutcomeRecords) {
  v1::UpsertPriceRequest price;
  price.mutable_price()->set_provider("infra");
  price.mutable_price()->set_model("compute_seconds");
  *price.mutable_price()->mutable_effective_time() = Ts(absl::UnixEpoch());
  price.mutable_price()->set_unit_price_nano_usd(12'000);  // per vCPU-second
  v1::Price stored;
  ASSERT_THAT(Call(&v1::CostService::Stub::UpsertPrice, price, &stored), IsOk());
  v1::UsageRecord compute;
  compute.set_record_id("i1");
  *compute.mutable_time() = Ts(Utc(2026, 3, 10));
  compute.mutable_scope()->set_tenant("acme");
  compute.mutable_scope()->set_service("planner");
  compute.mutable_infra()->set_resource(v1::INFRA_RESOURCE_COMPUTE_SECONDS);
  compute.mutable_infra()->set_unit("vcpu_seconds");
  compute.mutable_infra()->set_quantity(2'500);  // 2.5 vCPU-seconds
  v1::UsageRecord memory = compute;
  memory.set_record_id("i2");
  memory.mutable_infra()->set_resource(v1::INFRA_RESOURCE_MEMORY_GIB_HOURS);
  memory.mutable_infra()->clear_unit();
  v1::UsageRecord outcome;
  outcome.set_record_id("o1");
  *outcome.mutable_time() = Ts(Utc(2026, 3, 10));
  outcome.mutable_scope()->set_tenant("acme");
  outcome.set_run_id("run-1");
  outcome.set_run_succeeded(true);
  v1::RecordUsageResponse response;
  ASSERT_THAT(Record({compute, memory, outcome}, &response), IsOk());
  EXPECT_EQ(response.accepted(), 3);
  EXPECT_EQ(response.total_cost_nano_usd(), 30'000);
  // Unpriced infrastructure is flagged but is not an unknown model.
  EXPECT_THAT(response.unknown_models(), IsEmpty());
  EXPECT_EQ(server_.metrics().unpriced_records.Value(), 1);
}

TEST_F(CostApiTest, ReportGroupsPagesAndExportsCsv) {
  UpsertMini();
  v1::RecordUsageResponse recorded;
  ASSERT_THAT(Record({Llm("1", "gpt-4o-mini", 1000, 0, Utc(2026, 3, 1, 10), "a"),
                      Llm("2", "gpt-4o-mini", 2000, 0, Utc(2026, 3, 1, 11), "b"),
                      Llm("3", "gpt-4o-mini", 3000, 0, Utc(2026, 3, 2, 10), "c"),
                      Llm("4", "gpt-4o-mini", 4000, 0, Utc(2026, 3, 2, 10), "a")},
                     &recorded),
              IsOk());
  v1::GetCostReportRequest request;
  *request.mutable_range()->mutable_start() = Ts(Utc(2026, 3, 1));
  request.add_group_by(v1::DIMENSION_TEAM);
  request.set_bucket(v1::BUCKET_DAY);
  request.set_format(v1::FORMAT_CSV);
  request.set_page_size(2);
  std::vector<v1::CostRow> rows;
  std::string token;
  int pages = 0;
  int64_t total = -1;
  do {
    request.set_page_token(token);
    v1::GetCostReportResponse page;
    ASSERT_THAT(Call(&v1::CostService::Stub::GetCostReport, request, &page), IsOk());
    ++pages;
    for (const v1::CostRow& row : page.rows()) rows.push_back(row);
    EXPECT_THAT(page.csv(), HasSubstr("bucket_start,team,cost_usd,"));
    total = page.total_cost_nano_usd();
    token = page.next_page_token();
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 2);
  ASSERT_THAT(rows, SizeIs(4));
  int64_t sum = 0;
  for (const v1::CostRow& row : rows) sum += row.cost_nano_usd();
  EXPECT_EQ(total, recorded.total_cost_nano_usd());
  EXPECT_EQ(sum, total);
  EXPECT_EQ(rows[0].group().at("team"), "b");  // day 1, 300,000
  EXPECT_EQ(rows[0].cost_nano_usd(), 300'000);
  EXPECT_EQ(absl::FromUnixSeconds(rows[0].bucket_start().seconds()), Utc(2026, 3, 1));
  EXPECT_EQ(rows[2].group().at("team"), "a");  // day 2, 600,000
  EXPECT_EQ(rows[2].cost_nano_usd(), 600'000);

  // A token only continues the request that made it.
  v1::GetCostReportResponse first;
  request.clear_page_token();
  ASSERT_THAT(Call(&v1::CostService::Stub::GetCostReport, request, &first), IsOk());
  request.set_page_token(first.next_page_token());
  request.set_bucket(v1::BUCKET_MONTH);
  v1::GetCostReportResponse other;
  EXPECT_THAT(Call(&v1::CostService::Stub::GetCostReport, request, &other),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  // The page size may change between pages.
  request.set_bucket(v1::BUCKET_DAY);
  request.set_page_size(100);
  EXPECT_THAT(Call(&v1::CostService::Stub::GetCostReport, request, &other), IsOk());
  EXPECT_THAT(other.rows(), SizeIs(2));
}

TEST_F(CostApiTest, ReportValidation) {
  v1::GetCostReportResponse response;
  v1::GetCostReportRequest request;
  EXPECT_THAT(Call(&v1::CostService::Stub::GetCostReport, request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("range.start")));
  *request.mutable_range()->mutable_start() = Ts(Utc(2026, 3, 1));
  request.add_group_by(v1::DIMENSION_TAG);
  EXPECT_THAT(Call(&v1::CostService::Stub::GetCostReport, request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tag_key")));
  request.set_tag_key("env");
  request.add_group_by(v1::DIMENSION_UNSPECIFIED);
  EXPECT_THAT(Call(&v1::CostService::Stub::GetCostReport, request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("group_by[1]")));
  request.clear_group_by();
  request.set_time_zone("Mars/Base");
  EXPECT_THAT(Call(&v1::CostService::Stub::GetCostReport, request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("time_zone")));
  request.set_time_zone("Europe/Paris");
  *request.mutable_range()->mutable_end() = Ts(Utc(2026, 2, 1));
  EXPECT_THAT(Call(&v1::CostService::Stub::GetCostReport, request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("range.end")));
  *request.mutable_range()->mutable_start() = Ts(Utc(2020, 1, 1));
  *request.mutable_range()->mutable_end() = Ts(Utc(2026, 1, 1));
  request.set_bucket(v1::BUCKET_HOUR);
  EXPECT_THAT(Call(&v1::CostService::Stub::GetCostReport, request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("buckets")));
  request.set_bucket(v1::BUCKET_DAY);
  request.set_page_size(-1);
  EXPECT_THAT(Call(&v1::CostService::Stub::GetCostReport, request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
}

TEST_F(CostApiTest, PricesVersionedWithTenantOverrides) {
  UpsertMini();
  v1::UpsertPriceRequest change;
  change.mutable_price()->set_provider("openai");
  change.mutable_price()->set_model("openai/gpt-4o-mini");  // stored as gpt-4o-mini
  *change.mutable_price()->mutable_effective_time() = Ts(Utc(2026, 3, 1));
  change.mutable_price()->set_input_per_million_nano_usd(100'000'000);
  v1::Price stored;
  ASSERT_THAT(Call(&v1::CostService::Stub::UpsertPrice, change, &stored), IsOk());
  EXPECT_EQ(stored.model(), "gpt-4o-mini");
  v1::UpsertPriceRequest override_price = change;
  override_price.mutable_price()->set_tenant("acme");
  *override_price.mutable_price()->mutable_effective_time() = Ts(Utc(2026, 3, 5));
  override_price.mutable_price()->set_input_per_million_nano_usd(90'000'000);
  ASSERT_THAT(Call(&v1::CostService::Stub::UpsertPrice, override_price, &stored), IsOk());

  auto get = [this](std::string tenant, absl::Time at) {
    v1::GetPriceRequest request;
    request.set_provider("openai");
    request.set_model("gpt-4o-mini");
    request.set_tenant(std::move(tenant));
    *request.mutable_time() = Ts(at);
    v1::Price price;
    EXPECT_THAT(Call(&v1::CostService::Stub::GetPrice, request, &price), IsOk());
    return price.input_per_million_nano_usd();
  };
  EXPECT_EQ(get("", Utc(2026, 2, 28)), 150'000'000);
  EXPECT_EQ(get("", Utc(2026, 3, 1)), 100'000'000);
  EXPECT_EQ(get("acme", Utc(2026, 3, 4)), 100'000'000);
  EXPECT_EQ(get("acme", Utc(2026, 3, 6)), 90'000'000);
  EXPECT_EQ(get("beta", Utc(2026, 3, 6)), 100'000'000);

  // Usage before the change keeps the old price; acme's later usage gets its own.
  v1::RecordUsageResponse response;
  v1::UsageRecord beta = Llm("b", "gpt-4o-mini", 1'000'000, 0, Utc(2026, 3, 6));
  beta.mutable_scope()->set_tenant("beta");
  ASSERT_THAT(Record({Llm("old", "gpt-4o-mini", 1'000'000, 0, Utc(2026, 2, 1)),
                      Llm("new", "gpt-4o-mini", 1'000'000, 0, Utc(2026, 3, 6)), beta},
                     &response),
              IsOk());
  EXPECT_EQ(response.total_cost_nano_usd(), 150'000'000 + 90'000'000 + 100'000'000);

  v1::GetPriceRequest missing;
  missing.set_provider("openai");
  missing.set_model("gpt-9");
  v1::Price price;
  EXPECT_THAT(Call(&v1::CostService::Stub::GetPrice, missing, &price),
              StatusIs(absl::StatusCode::kNotFound));
  missing.clear_model();
  EXPECT_THAT(Call(&v1::CostService::Stub::GetPrice, missing, &price),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("model")));
  // Before any price existed.
  missing.set_model("gpt-4o-mini");
  *missing.mutable_time() = Ts(absl::UnixEpoch() - absl::Seconds(1));
  EXPECT_THAT(Call(&v1::CostService::Stub::GetPrice, missing, &price),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(CostApiTest, UpsertPriceValidation) {
  v1::UpsertPriceRequest request;
  v1::Price stored;
  EXPECT_THAT(Call(&v1::CostService::Stub::UpsertPrice, request, &stored),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("price")));
  v1::Price* p = request.mutable_price();
  p->set_provider("openai");
  p->set_model("m");
  EXPECT_THAT(Call(&v1::CostService::Stub::UpsertPrice, request, &stored),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("price.effective_time")));
  *p->mutable_effective_time() = Ts(Utc(2026, 1, 1));
  p->set_input_per_million_nano_usd(-1);
  EXPECT_THAT(
      Call(&v1::CostService::Stub::UpsertPrice, request, &stored),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("price.input_per_million_nano_usd")));
  p->set_input_per_million_nano_usd(1);
  p->add_tiers()->set_above_input_tokens(200'000);
  p->add_tiers()->set_above_input_tokens(100'000);
  EXPECT_THAT(Call(&v1::CostService::Stub::UpsertPrice, request, &stored),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("price.tiers[1]")));
  p->clear_tiers();
  p->set_source("rumour");
  EXPECT_THAT(Call(&v1::CostService::Stub::UpsertPrice, request, &stored),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("price.source")));
}

TEST_F(CostApiTest, ListPricesPagesCurrentOrHistory) {
  for (int i = 0; i < 5; ++i) {
    for (int version = 0; version < 2; ++version) {
      v1::UpsertPriceRequest request;
      request.mutable_price()->set_provider("p");
      request.mutable_price()->set_model(absl::StrCat("m", i));
      *request.mutable_price()->mutable_effective_time() = Ts(Utc(2026, 1 + version, 1));
      request.mutable_price()->set_input_per_million_nano_usd(1000 * (version + 1));
      v1::Price stored;
      ASSERT_THAT(Call(&v1::CostService::Stub::UpsertPrice, request, &stored), IsOk());
    }
  }
  auto list_all = [this](bool history) {
    v1::ListPricesRequest request;
    request.set_include_history(history);
    request.set_page_size(3);
    std::vector<v1::Price> all;
    std::string token;
    do {
      request.set_page_token(token);
      v1::ListPricesResponse page;
      EXPECT_THAT(Call(&v1::CostService::Stub::ListPrices, request, &page), IsOk());
      for (const v1::Price& p : page.prices()) all.push_back(p);
      token = page.next_page_token();
    } while (!token.empty() && all.size() < 100);
    return all;
  };
  const std::vector<v1::Price> current = list_all(false);
  ASSERT_THAT(current, SizeIs(5));
  for (const v1::Price& p : current) EXPECT_EQ(p.input_per_million_nano_usd(), 2000);
  EXPECT_EQ(current[0].model(), "m0");
  EXPECT_EQ(current[4].model(), "m4");
  EXPECT_THAT(list_all(true), SizeIs(10));
}

TEST_F(CostApiTest, ImportPricesIsIdempotent) {
  const std::string doc = R"json({
    "sample_spec": {"litellm_provider": "x", "mode": "chat", "input_cost_per_token": 0.0},
    "gpt-4o-mini": {"litellm_provider": "openai", "mode": "chat",
                    "input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07},
    "azure/gpt-4o-mini": {"litellm_provider": "azure", "mode": "chat",
                          "input_cost_per_token": 1.65e-07, "output_cost_per_token": 6.6e-07},
    "dall-e-3": {"litellm_provider": "openai", "mode": "image_generation",
                 "output_cost_per_image": 0.04}})json";
  v1::ImportPricesRequest request;
  request.set_litellm_json(doc);
  request.set_dry_run(true);
  v1::ImportPricesResponse response;
  ASSERT_THAT(Call(&v1::CostService::Stub::ImportPrices, request, &response), IsOk());
  EXPECT_EQ(response.imported(), 2);
  v1::ListPricesResponse listed;
  ASSERT_THAT(Call(&v1::CostService::Stub::ListPrices, v1::ListPricesRequest(), &listed), IsOk());
  EXPECT_THAT(listed.prices(), IsEmpty());

  request.set_dry_run(false);
  ASSERT_THAT(Call(&v1::CostService::Stub::ImportPrices, request, &response), IsOk());
  EXPECT_EQ(response.imported(), 2);
  EXPECT_EQ(response.unchanged(), 0);
  EXPECT_EQ(response.skipped(), 2);
  EXPECT_THAT(response.issues(), SizeIs(2));
  clock_.Advance(absl::Hours(1));
  ASSERT_THAT(Call(&v1::CostService::Stub::ImportPrices, request, &response), IsOk());
  EXPECT_EQ(response.imported(), 0);
  EXPECT_EQ(response.unchanged(), 2);
  v1::ListPricesRequest history;
  history.set_include_history(true);
  ASSERT_THAT(Call(&v1::CostService::Stub::ListPrices, history, &listed), IsOk());
  EXPECT_THAT(listed.prices(), SizeIs(2));
  EXPECT_EQ(listed.prices(0).provider(), "azure");
  EXPECT_EQ(listed.prices(0).model(), "gpt-4o-mini");
  EXPECT_EQ(listed.prices(0).source(), "litellm");

  v1::ImportPricesRequest bad;
  EXPECT_THAT(Call(&v1::CostService::Stub::ImportPrices, bad, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("litellm_json")));
  bad.set_litellm_json_bytes("{not json");
  EXPECT_THAT(Call(&v1::CostService::Stub::ImportPrices, bad, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("litellm_json")));
}

v1::Budget HardBudget(std::string name, std::string team, int64_t limit) {
  v1::Budget b;
  b.set_name(std::move(name));
  b.mutable_scope()->set_tenant("acme");
  b.mutable_scope()->set_team(std::move(team));
  b.set_period(v1::BUDGET_PERIOD_MONTHLY);
  b.set_limit_nano_usd(limit);
  b.set_enforcement(v1::ENFORCEMENT_HARD);
  return b;
}

TEST_F(CostApiTest, BudgetsCrudAndValidation) {
  v1::CreateBudgetRequest create;
  *create.mutable_budget() = HardBudget("team-a monthly", "a", 1'000'000);
  create.set_request_id("req-1");
  v1::Budget created;
  ASSERT_THAT(Call(&v1::CostService::Stub::CreateBudget, create, &created), IsOk());
  EXPECT_FALSE(created.id().empty());
  EXPECT_THAT(created.threshold_percents(), ElementsAre(80, 100));
  EXPECT_EQ(created.time_zone(), "UTC");
  EXPECT_EQ(created.alert_severity(), agentwatch::common::v1::SEVERITY_P2);
  // Same request id: the same budget again.
  v1::Budget again;
  ASSERT_THAT(Call(&v1::CostService::Stub::CreateBudget, create, &again), IsOk());
  EXPECT_EQ(again.id(), created.id());
  // Same name, new request: ALREADY_EXISTS.
  create.set_request_id("req-2");
  EXPECT_THAT(Call(&v1::CostService::Stub::CreateBudget, create, &again),
              StatusIs(absl::StatusCode::kAlreadyExists));

  struct Case {
    std::function<void(v1::Budget&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](v1::Budget& b) { b.clear_name(); }, "budget.name"},
      {[](v1::Budget& b) { b.mutable_scope()->clear_tenant(); }, "budget.scope.tenant"},
      {[](v1::Budget& b) { b.clear_period(); }, "budget.period"},
      {[](v1::Budget& b) { b.set_limit_nano_usd(0); }, "budget.limit_nano_usd"},
      {[](v1::Budget& b) { b.set_period(v1::BUDGET_PERIOD_ROLLING); }, "budget.rolling_window"},
      {[](v1::Budget& b) { b.add_threshold_percents(0); }, "budget.threshold_percents"},
      {[](v1::Budget& b) { b.set_time_zone("Atlantis/Capital"); }, "budget.time_zone"},
      {[](v1::Budget& b) { b.set_period(static_cast<v1::BudgetPeriod>(17)); }, "budget.period"},
      {[](v1::Budget& b) { b.set_enforcement(static_cast<v1::Enforcement>(17)); },
       "budget.enforcement"},
      {[](v1::Budget& b) {
         b.set_alert_severity(static_cast<agentwatch::common::v1::Severity>(17));
       },
       "budget.alert_severity"},
      {[](v1::Budget& b) { b.set_name(std::string(201, 'n')); }, "budget.name"},
      {[](v1::Budget& b) {
         b.add_threshold_percents(90);
         b.add_threshold_percents(90);
       },
       "budget.threshold_percents"},
      {[](v1::Budget& b) { b.add_threshold_percents(1001); }, "budget.threshold_percents"},
  };
  for (const Case& c : cases) {
    v1::CreateBudgetRequest bad;
    *bad.mutable_budget() = HardBudget("x", "a", 5);
    c.mutate(*bad.mutable_budget());
    EXPECT_THAT(Call(&v1::CostService::Stub::CreateBudget, bad, &again),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.field)))
        << c.field;
  }
  EXPECT_THAT(Call(&v1::CostService::Stub::CreateBudget, v1::CreateBudgetRequest(), &again),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("budget")));
  {
    v1::CreateBudgetRequest bad;
    *bad.mutable_budget() = HardBudget("x", "a", 5);
    bad.set_request_id(std::string(257, 'r'));
    EXPECT_THAT(Call(&v1::CostService::Stub::CreateBudget, bad, &again),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("request_id")));
  }

  for (int i = 0; i < 4; ++i) {
    v1::CreateBudgetRequest more;
    *more.mutable_budget() = HardBudget(absl::StrCat("b", i), "x", 10);
    ASSERT_THAT(Call(&v1::CostService::Stub::CreateBudget, more, &again), IsOk());
  }
  v1::ListBudgetsRequest list;
  list.set_tenant("acme");
  list.set_page_size(2);
  std::vector<std::string> names;
  std::string token;
  do {
    list.set_page_token(token);
    v1::ListBudgetsResponse page;
    ASSERT_THAT(Call(&v1::CostService::Stub::ListBudgets, list, &page), IsOk());
    for (const v1::Budget& b : page.budgets()) names.push_back(b.name());
    token = page.next_page_token();
  } while (!token.empty() && names.size() < 100);
  EXPECT_THAT(names, ElementsAre("b0", "b1", "b2", "b3", "team-a monthly"));

  v1::GetBudgetRequest get;
  get.set_id(created.id());
  v1::Budget fetched;
  ASSERT_THAT(Call(&v1::CostService::Stub::GetBudget, get, &fetched), IsOk());
  EXPECT_EQ(fetched.name(), "team-a monthly");
  v1::DeleteBudgetRequest remove;
  remove.set_id(created.id());
  google::protobuf::Empty empty;
  ASSERT_THAT(Call(&v1::CostService::Stub::DeleteBudget, remove, &empty), IsOk());
  EXPECT_THAT(Call(&v1::CostService::Stub::GetBudget, get, &fetched),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Call(&v1::CostService::Stub::DeleteBudget, remove, &empty),
              StatusIs(absl::StatusCode::kNotFound));
  get.set_id("not-an-id");
  EXPECT_THAT(Call(&v1::CostService::Stub::GetBudget, get, &fetched),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id")));
}

// The read and list RPCs answer bad arguments INVALID_ARGUMENT naming the
// field, like the writes.
TEST_F(CostApiTest, ReadsAndListsNameTheBadField) {
  auto invalid = [](absl::string_view field) {
    return StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(std::string(field)));
  };
  const std::string long_tenant(300, 't');
  google::protobuf::Timestamp bad_time;
  bad_time.set_seconds(1);
  bad_time.set_nanos(1'000'000'000);  // out of range
  google::protobuf::Empty empty;

  v1::Budget budget;
  EXPECT_THAT(Call(&v1::CostService::Stub::GetBudget, v1::GetBudgetRequest(), &budget),
              invalid("id"));
  EXPECT_THAT(Call(&v1::CostService::Stub::DeleteBudget, v1::DeleteBudgetRequest(), &empty),
              invalid("id"));

  v1::ListBudgetsResponse budgets;
  v1::ListBudgetsRequest list_budgets;
  list_budgets.set_page_size(-1);
  EXPECT_THAT(Call(&v1::CostService::Stub::ListBudgets, list_budgets, &budgets),
              invalid("page_size"));
  list_budgets.set_page_size(0);
  list_budgets.set_page_token("not a token");
  EXPECT_THAT(Call(&v1::CostService::Stub::ListBudgets, list_budgets, &budgets),
              invalid("page_token"));
  list_budgets.clear_page_token();
  list_budgets.set_tenant(long_tenant);
  EXPECT_THAT(Call(&v1::CostService::Stub::ListBudgets, list_budgets, &budgets),
              invalid("tenant"));

  v1::ListPricesResponse prices;
  v1::ListPricesRequest list_prices;
  list_prices.set_page_size(-1);
  EXPECT_THAT(Call(&v1::CostService::Stub::ListPrices, list_prices, &prices),
              invalid("page_size"));
  list_prices.set_page_size(0);
  list_prices.set_page_token("not a token");
  EXPECT_THAT(Call(&v1::CostService::Stub::ListPrices, list_prices, &prices),
              invalid("page_token"));
  list_prices.clear_page_token();
  list_prices.set_tenant(long_tenant);
  EXPECT_THAT(Call(&v1::CostService::Stub::ListPrices, list_prices, &prices), invalid("tenant"));

  v1::Price price;
  v1::GetPriceRequest get_price;
  get_price.set_model("gpt-4o-mini");
  EXPECT_THAT(Call(&v1::CostService::Stub::GetPrice, get_price, &price), invalid("provider"));
  get_price.set_provider("openai");
  *get_price.mutable_time() = bad_time;
  EXPECT_THAT(Call(&v1::CostService::Stub::GetPrice, get_price, &price), invalid("time"));
  get_price.clear_time();
  get_price.set_tenant(long_tenant);
  EXPECT_THAT(Call(&v1::CostService::Stub::GetPrice, get_price, &price), invalid("tenant"));

  v1::ImportPricesResponse imported;
  v1::ImportPricesRequest import;
  import.set_litellm_json("{}");
  import.set_tenant(long_tenant);
  EXPECT_THAT(Call(&v1::CostService::Stub::ImportPrices, import, &imported), invalid("tenant"));
  import.clear_tenant();
  *import.mutable_effective_time() = bad_time;
  EXPECT_THAT(Call(&v1::CostService::Stub::ImportPrices, import, &imported),
              invalid("effective_time"));
  // Nothing was written by any of them.
  list_prices = v1::ListPricesRequest();
  list_prices.set_include_history(true);
  ASSERT_THAT(Call(&v1::CostService::Stub::ListPrices, list_prices, &prices), IsOk());
  EXPECT_THAT(prices.prices(), IsEmpty());
}

TEST_F(CostApiTest, CheckBudgetDeniesOnAHardBudgetAndResetsWithThePeriod) {
  UpsertMini();
  v1::CreateBudgetRequest create;
  *create.mutable_budget() = HardBudget("team-a monthly", "a", 1'000'000);
  v1::Budget budget;
  ASSERT_THAT(Call(&v1::CostService::Stub::CreateBudget, create, &budget), IsOk());
  // 900,000 spent this month by team a (6,000 input tokens at 150), as much by
  // team b, and some in February (another period).
  v1::RecordUsageResponse recorded;
  ASSERT_THAT(Record({Llm("1", "gpt-4o-mini", 6000, 0, Utc(2026, 3, 5), "a"),
                      Llm("2", "gpt-4o-mini", 6000, 0, Utc(2026, 3, 5), "b"),
                      Llm("3", "gpt-4o-mini", 6000, 0, Utc(2026, 2, 25), "a")},
                     &recorded),
              IsOk());
  ASSERT_EQ(recorded.total_cost_nano_usd(), 2'700'000);
  auto check = [this](std::string team, int64_t estimate) {
    v1::CheckBudgetRequest request;
    request.mutable_scope()->set_tenant("acme");
    request.mutable_scope()->set_team(std::move(team));
    request.mutable_scope()->set_workflow("summarize");
    request.set_estimated_cost_nano_usd(estimate);
    v1::CheckBudgetResponse response;
    EXPECT_THAT(Call(&v1::CostService::Stub::CheckBudget, request, &response), IsOk());
    return response;
  };
  v1::CheckBudgetResponse r = check("a", 100'000);
  EXPECT_TRUE(r.allowed());
  EXPECT_EQ(r.remaining_nano_usd(), 100'000);
  EXPECT_EQ(r.budget_id(), budget.id());
  EXPECT_EQ(r.enforcement(), v1::ENFORCEMENT_HARD);
  EXPECT_DOUBLE_EQ(r.percent_used(), 90.0);
  EXPECT_EQ(absl::FromUnixSeconds(r.period_end().seconds()), Utc(2026, 4, 1));
  EXPECT_THAT(r.matched_budget_ids(), ElementsAre(budget.id()));
  r = check("a", 100'001);
  EXPECT_FALSE(r.allowed());
  EXPECT_THAT(r.reason(), HasSubstr("team-a monthly"));
  // Team b has no budget.
  r = check("b", 100'000'000);
  EXPECT_TRUE(r.allowed());
  EXPECT_EQ(r.remaining_nano_usd(), std::numeric_limits<int64_t>::max());
  EXPECT_THAT(r.matched_budget_ids(), IsEmpty());
  // April: a new period.
  clock_.Set(Utc(2026, 4, 1));
  r = check("a", 1'000'000);
  EXPECT_TRUE(r.allowed());
  EXPECT_EQ(r.remaining_nano_usd(), 1'000'000);

  v1::CheckBudgetRequest bad;
  v1::CheckBudgetResponse response;
  EXPECT_THAT(Call(&v1::CostService::Stub::CheckBudget, bad, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scope.tenant")));
  bad.mutable_scope()->set_tenant("acme");
  bad.set_estimated_cost_nano_usd(-1);
  EXPECT_THAT(Call(&v1::CostService::Stub::CheckBudget, bad, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("estimated_cost_nano_usd")));
}

// A soft budget alerts like a hard one but CheckBudget only flags it; a hard
// budget over the same call still denies.
TEST_F(CostApiTest, SoftBudgetAlertsAndCheckBudgetOnlyFlagsIt) {
  UpsertMini();
  v1::CreateBudgetRequest create;
  *create.mutable_budget() = HardBudget("team-a soft", "a", 1'000'000);
  create.mutable_budget()->set_enforcement(v1::ENFORCEMENT_SOFT);
  v1::Budget soft;
  ASSERT_THAT(Call(&v1::CostService::Stub::CreateBudget, create, &soft), IsOk());
  EXPECT_EQ(soft.enforcement(), v1::ENFORCEMENT_SOFT);
  *create.mutable_budget() = HardBudget("acme hard", "", 5'000'000);
  v1::Budget hard;
  ASSERT_THAT(Call(&v1::CostService::Stub::CreateBudget, create, &hard), IsOk());
  v1::RecordUsageResponse recorded;
  ASSERT_THAT(Record({Llm("a1", "gpt-4o-mini", 6000, 0, Utc(2026, 3, 5))}, &recorded), IsOk());
  // 900,000 of the soft 1,000,000: its 80 % alert fired.
  std::vector<BudgetAlert> outbox = server_.store().Outbox();
  ASSERT_THAT(outbox, SizeIs(1));
  EXPECT_EQ(outbox[0].budget_id, soft.id());
  EXPECT_EQ(outbox[0].threshold_percent, 80);

  auto check = [this](int64_t estimate) {
    v1::CheckBudgetRequest request;
    request.mutable_scope()->set_tenant("acme");
    request.mutable_scope()->set_team("a");
    request.set_estimated_cost_nano_usd(estimate);
    v1::CheckBudgetResponse response;
    EXPECT_THAT(Call(&v1::CostService::Stub::CheckBudget, request, &response), IsOk());
    return response;
  };
  v1::CheckBudgetResponse r = check(100'000);
  EXPECT_TRUE(r.allowed());
  EXPECT_FALSE(r.soft_limit_exceeded());
  // Past the soft limit: allowed, flagged, the soft budget reported.
  r = check(200'000);
  EXPECT_TRUE(r.allowed());
  EXPECT_TRUE(r.soft_limit_exceeded());
  EXPECT_EQ(r.budget_id(), soft.id());
  EXPECT_EQ(r.enforcement(), v1::ENFORCEMENT_SOFT);
  EXPECT_EQ(r.remaining_nano_usd(), 100'000);
  EXPECT_THAT(r.reason(), HasSubstr("soft budget 'team-a soft'"));
  EXPECT_THAT(r.matched_budget_ids(), SizeIs(2));
  // Past the hard limit too: denied by the hard one.
  r = check(4'100'001);
  EXPECT_FALSE(r.allowed());
  EXPECT_EQ(r.budget_id(), hard.id());
  EXPECT_EQ(r.enforcement(), v1::ENFORCEMENT_HARD);
  EXPECT_EQ(r.remaining_nano_usd(), 4'100'000);

  // Spend goes on past the soft limit: recorded, its 100 % alert fires, and
  // CheckBudget reports it overspent but still allows.
  ASSERT_THAT(Record({Llm("a2", "gpt-4o-mini", 2000, 0, Utc(2026, 3, 6))}, &recorded), IsOk());
  EXPECT_EQ(recorded.accepted(), 1);
  outbox = server_.store().Outbox();
  ASSERT_THAT(outbox, SizeIs(2));
  EXPECT_EQ(outbox[1].budget_id, soft.id());
  EXPECT_EQ(outbox[1].threshold_percent, 100);
  r = check(0);
  EXPECT_TRUE(r.allowed());
  EXPECT_TRUE(r.soft_limit_exceeded());
  EXPECT_EQ(r.remaining_nano_usd(), -200'000);
}

TEST_F(CostApiTest, RollingBudgetCountsTheWindowEndingNow) {
  UpsertMini();
  v1::CreateBudgetRequest create;
  *create.mutable_budget() = HardBudget("team-a 24h", "a", 1'000'000);
  create.mutable_budget()->set_period(v1::BUDGET_PERIOD_ROLLING);
  create.mutable_budget()->mutable_rolling_window()->set_seconds(24 * 3600);
  v1::Budget budget;
  ASSERT_THAT(Call(&v1::CostService::Stub::CreateBudget, create, &budget), IsOk());
  v1::RecordUsageResponse recorded;  // 900,000 at 02:00 (the clock is at 12:00)
  ASSERT_THAT(Record({Llm("1", "gpt-4o-mini", 6000, 0, Utc(2026, 3, 10, 2), "a")}, &recorded),
              IsOk());
  auto check = [this](int64_t estimate) {
    v1::CheckBudgetRequest request;
    request.mutable_scope()->set_tenant("acme");
    request.mutable_scope()->set_team("a");
    request.set_estimated_cost_nano_usd(estimate);
    v1::CheckBudgetResponse response;
    EXPECT_THAT(Call(&v1::CostService::Stub::CheckBudget, request, &response), IsOk());
    return response;
  };
  EXPECT_FALSE(check(100'001).allowed());
  EXPECT_EQ(check(0).remaining_nano_usd(), 100'000);
  clock_.Set(Utc(2026, 3, 11, 1));  // 23 hours later: still inside the window
  EXPECT_EQ(check(0).remaining_nano_usd(), 100'000);
  v1::GetBudgetStatusRequest status_request;
  status_request.set_id(budget.id());
  v1::BudgetStatus status;
  ASSERT_THAT(Call(&v1::CostService::Stub::GetBudgetStatus, status_request, &status), IsOk());
  EXPECT_EQ(status.spent_nano_usd(), 900'000);
  clock_.Set(Utc(2026, 3, 11, 3));  // 25 hours later: the spend left the window
  v1::CheckBudgetResponse r = check(1'000'000);
  EXPECT_TRUE(r.allowed());
  EXPECT_EQ(r.remaining_nano_usd(), 1'000'000);
  ASSERT_THAT(Call(&v1::CostService::Stub::GetBudgetStatus, status_request, &status), IsOk());
  EXPECT_EQ(status.spent_nano_usd(), 0);
}

TEST_F(CostApiTest, DailyBudgetResetsAtMidnightInItsTimeZone) {
  UpsertMini();
  v1::CreateBudgetRequest create;
  *create.mutable_budget() = HardBudget("team-a daily LA", "a", 1'000'000);
  create.mutable_budget()->set_period(v1::BUDGET_PERIOD_DAILY);
  create.mutable_budget()->set_time_zone("America/Los_Angeles");
  v1::Budget budget;
  ASSERT_THAT(Call(&v1::CostService::Stub::CreateBudget, create, &budget), IsOk());
  // 2026-03-10 in Los Angeles (PDT since March 8) runs from 07:00 to 07:00
  // UTC. 900,000 at 08:00 UTC counts; as much at 06:00 UTC (the 9th there)
  // does not.
  v1::RecordUsageResponse recorded;
  ASSERT_THAT(Record({Llm("today", "gpt-4o-mini", 6000, 0, Utc(2026, 3, 10, 8), "a"),
                      Llm("yesterday", "gpt-4o-mini", 6000, 0, Utc(2026, 3, 10, 6), "a")},
                     &recorded),
              IsOk());
  auto check = [this]() {
    v1::CheckBudgetRequest request;
    request.mutable_scope()->set_tenant("acme");
    request.mutable_scope()->set_team("a");
    v1::CheckBudgetResponse response;
    EXPECT_THAT(Call(&v1::CostService::Stub::CheckBudget, request, &response), IsOk());
    return response;
  };
  v1::CheckBudgetResponse r = check();
  EXPECT_EQ(r.remaining_nano_usd(), 100'000);
  EXPECT_EQ(absl::FromUnixSeconds(r.period_end().seconds()), Utc(2026, 3, 11, 7));
  clock_.Set(Utc(2026, 3, 11, 6));  // 23:00 in Los Angeles: the same day
  EXPECT_EQ(check().remaining_nano_usd(), 100'000);
  clock_.Set(Utc(2026, 3, 11, 7));  // local midnight: a new period
  r = check();
  EXPECT_EQ(r.remaining_nano_usd(), 1'000'000);
  EXPECT_EQ(absl::FromUnixSeconds(r.period_end().seconds()), Utc(2026, 3, 12, 7));
}

TEST_F(CostApiTest, StorageAndExternalApiUsageArePricedBySkuThenResource) {
  auto upsert = [this](std::string model, int64_t unit_price) {
    v1::UpsertPriceRequest price;
    price.mutable_price()->set_provider("infra");
    price.mutable_price()->set_model(std::move(model));
    *price.mutable_price()->mutable_effective_time() = Ts(absl::UnixEpoch());
    price.mutable_price()->set_unit_price_nano_usd(unit_price);
    v1::Price stored;
    ASSERT_THAT(Call(&v1::CostService::Stub::UpsertPrice, price, &stored), IsOk());
  };
  upsert("storage_gib_hours", 30'000);
  upsert("external_api_calls", 1'000'000);
  upsert("external_api_calls/serpapi", 5'000'000);
  auto infra = [](std::string id, v1::InfraResource resource, int64_t milli, std::string sku) {
    v1::UsageRecord r;
    r.set_record_id(std::move(id));
    *r.mutable_time() = Ts(Utc(2026, 3, 10));
    r.mutable_scope()->set_tenant("acme");
    r.mutable_scope()->set_service("search");
    r.mutable_infra()->set_resource(resource);
    r.mutable_infra()->set_quantity(milli);
    r.mutable_infra()->set_sku(std::move(sku));
    return r;
  };
  v1::RecordUsageResponse response;
  ASSERT_THAT(
      Record({infra("s", v1::INFRA_RESOURCE_STORAGE_GIB_HOURS, 1'500, ""),             // 45,000
              infra("serp", v1::INFRA_RESOURCE_EXTERNAL_API_CALLS, 3'000, "serpapi"),  // 15e6
              infra("other", v1::INFRA_RESOURCE_EXTERNAL_API_CALLS, 2'000, "other")},  // 2e6
             &response),
      IsOk());
  EXPECT_EQ(response.accepted(), 3);
  EXPECT_EQ(response.total_cost_nano_usd(), 17'045'000);
  v1::GetCostReportRequest request;
  *request.mutable_range()->mutable_start() = Ts(Utc(2026, 3, 1));
  request.add_group_by(v1::DIMENSION_SERVICE);
  v1::GetCostReportResponse report;
  ASSERT_THAT(Call(&v1::CostService::Stub::GetCostReport, request, &report), IsOk());
  ASSERT_THAT(report.rows(), SizeIs(1));
  EXPECT_EQ(report.rows(0).group().at("service"), "search");
  EXPECT_EQ(report.rows(0).infra_cost_nano_usd(), 17'045'000);
  EXPECT_EQ(report.rows(0).llm_cost_nano_usd(), 0);
  EXPECT_EQ(report.total_cost_nano_usd(), 17'045'000);
}

TEST_F(CostApiTest, EachBudgetThresholdFiresOncePerPeriod) {
  UpsertMini();
  v1::CreateBudgetRequest create;
  // 1,000,000 nano-USD; 6,000 input tokens at 150 per million cost 900,000.
  *create.mutable_budget() = HardBudget("team-a monthly", "a", 1'000'000);
  v1::Budget budget;
  ASSERT_THAT(Call(&v1::CostService::Stub::CreateBudget, create, &budget), IsOk());
  v1::RecordUsageResponse recorded;
  // Team b and last month do not touch the budget.
  ASSERT_THAT(Record({Llm("b1", "gpt-4o-mini", 6000, 0, Utc(2026, 3, 5), "b"),
                      Llm("old", "gpt-4o-mini", 6000, 0, Utc(2026, 2, 5), "a")},
                     &recorded),
              IsOk());
  EXPECT_THAT(server_.store().Outbox(), IsEmpty());
  ASSERT_THAT(Record({Llm("a1", "gpt-4o-mini", 6000, 0, Utc(2026, 3, 5))}, &recorded), IsOk());
  std::vector<BudgetAlert> outbox = server_.store().Outbox();
  ASSERT_THAT(outbox, SizeIs(1));
  EXPECT_EQ(outbox[0].threshold_percent, 80);
  EXPECT_EQ(outbox[0].budget_id, budget.id());
  EXPECT_EQ(outbox[0].annotations.at("percent_used"), "90.00");
  EXPECT_EQ(outbox[0].period_start, Utc(2026, 3, 1));
  // A replay and more spend below 100 % fire nothing new.
  ASSERT_THAT(Record({Llm("a1", "gpt-4o-mini", 6000, 0, Utc(2026, 3, 5))}, &recorded), IsOk());
  ASSERT_THAT(Record({Llm("a2", "gpt-4o-mini", 600, 0, Utc(2026, 3, 6))}, &recorded), IsOk());
  EXPECT_THAT(server_.store().Outbox(), SizeIs(1));
  // 100 %: fires once, more spend does not fire again.
  ASSERT_THAT(Record({Llm("a3", "gpt-4o-mini", 100, 0, Utc(2026, 3, 6))}, &recorded), IsOk());
  ASSERT_THAT(Record({Llm("a4", "gpt-4o-mini", 6000, 0, Utc(2026, 3, 7))}, &recorded), IsOk());
  outbox = server_.store().Outbox();
  ASSERT_THAT(outbox, SizeIs(2));
  EXPECT_EQ(outbox[1].threshold_percent, 100);
  EXPECT_EQ(outbox[1].severity, agentwatch::common::v1::SEVERITY_P1);
  EXPECT_EQ(server_.metrics().threshold_alerts.Value(), 2);
  // April is a new period: both thresholds can fire again, once each.
  clock_.Set(Utc(2026, 4, 2));
  ASSERT_THAT(Record({Llm("a5", "gpt-4o-mini", 7000, 0, Utc(2026, 4, 1)),
                      Llm("a6", "gpt-4o-mini", 7000, 0, Utc(2026, 4, 1))},
                     &recorded),
              IsOk());
  outbox = server_.store().Outbox();
  ASSERT_THAT(outbox, SizeIs(4));
  EXPECT_EQ(outbox[2].period_start, Utc(2026, 4, 1));
  EXPECT_EQ(outbox[2].threshold_percent, 80);
  EXPECT_EQ(outbox[3].threshold_percent, 100);
  EXPECT_NE(outbox[2].fingerprint, outbox[0].fingerprint);
}

TEST_F(CostApiTest, GetBudgetStatusProjectsLinearlyFromThePeriodStart) {
  UpsertMini();
  clock_.Set(Utc(2026, 4, 7));  // 6 of April's 30 days elapsed
  v1::CreateBudgetRequest create;
  *create.mutable_budget() = HardBudget("team-a monthly", "a", 1'000'000);
  v1::Budget budget;
  ASSERT_THAT(Call(&v1::CostService::Stub::CreateBudget, create, &budget), IsOk());
  v1::RecordUsageResponse recorded;
  ASSERT_THAT(Record({Llm("a1", "gpt-4o-mini", 6000, 0, Utc(2026, 4, 2))}, &recorded), IsOk());
  v1::GetBudgetStatusRequest request;
  request.set_id(budget.id());
  v1::BudgetStatus status;
  ASSERT_THAT(Call(&v1::CostService::Stub::GetBudgetStatus, request, &status), IsOk());
  EXPECT_EQ(status.budget_id(), budget.id());
  EXPECT_EQ(absl::FromUnixSeconds(status.period_start().seconds()), Utc(2026, 4, 1));
  EXPECT_EQ(absl::FromUnixSeconds(status.period_end().seconds()), Utc(2026, 5, 1));
  EXPECT_EQ(status.spent_nano_usd(), 900'000);
  EXPECT_EQ(status.limit_nano_usd(), 1'000'000);
  EXPECT_EQ(status.remaining_nano_usd(), 100'000);
  EXPECT_DOUBLE_EQ(status.percent_used(), 90.0);
  EXPECT_EQ(status.burn_rate_nano_usd_per_hour(), 900'000 / 144);
  EXPECT_EQ(status.projected_spend_nano_usd(), 4'500'000);
  EXPECT_TRUE(status.projected_to_exceed());
  // 1,000,000 at 150,000 a day: 6 days and 16 hours after the start.
  EXPECT_EQ(absl::FromUnixSeconds(status.projected_exhaustion_time().seconds()),
            Utc(2026, 4, 7, 16));
  EXPECT_THAT(status.fired_threshold_percents(), ElementsAre(80));
  EXPECT_EQ(absl::FromUnixSeconds(status.as_of().seconds()), Utc(2026, 4, 7));

  request.clear_id();
  EXPECT_THAT(Call(&v1::CostService::Stub::GetBudgetStatus, request, &status),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id")));
  request.set_id(MakeBudgetId("acme", 7));
  EXPECT_THAT(Call(&v1::CostService::Stub::GetBudgetStatus, request, &status),
              StatusIs(absl::StatusCode::kNotFound));
}

// The API with hot counters behind CheckBudget.
class CostApiCountersTest : public CostApiTest {
 protected:
  CostApiCountersTest() : counted_(clock_, {}, &counters_) {}

  template <typename Request, typename Response, typename Method>
  absl::Status CallCounted(Method method, const Request& request, Response* response) {
    grpc::ClientContext context;
    return ToAbsl((counted_.stub().*method)(&context, request, response));
  }

  v1::CheckBudgetResponse Check(int64_t estimate) {
    v1::CheckBudgetRequest request;
    request.mutable_scope()->set_tenant("acme");
    request.mutable_scope()->set_team("a");
    request.set_estimated_cost_nano_usd(estimate);
    v1::CheckBudgetResponse response;
    EXPECT_THAT(CallCounted(&v1::CostService::Stub::CheckBudget, request, &response), IsOk());
    return response;
  }

  absl::Status RecordCounted(const std::vector<v1::UsageRecord>& records) {
    v1::RecordUsageRequest request;
    for (const v1::UsageRecord& r : records) *request.add_records() = r;
    v1::RecordUsageResponse response;
    return CallCounted(&v1::CostService::Stub::RecordUsage, request, &response);
  }

  v1::Budget CreateCounted() {
    v1::UpsertPriceRequest price;
    price.mutable_price()->set_provider("openai");
    price.mutable_price()->set_model("gpt-4o-mini");
    *price.mutable_price()->mutable_effective_time() = Ts(absl::UnixEpoch());
    price.mutable_price()->set_input_per_million_nano_usd(150'000'000);
    v1::Price stored;
    EXPECT_THAT(CallCounted(&v1::CostService::Stub::UpsertPrice, price, &stored), IsOk());
    v1::CreateBudgetRequest create;
    *create.mutable_budget() = HardBudget("team-a monthly", "a", 1'000'000);
    v1::Budget budget;
    EXPECT_THAT(CallCounted(&v1::CostService::Stub::CreateBudget, create, &budget), IsOk());
    return budget;
  }

  double Reads(const char* source) {
    return (std::string(source) == "counter" ? counted_.metrics().spend_from_counter
                                             : counted_.metrics().spend_from_ledger)
        .Value();
  }

  MemoryBudgetCounters counters_;
  Server counted_;
};

TEST_F(CostApiCountersTest, BatchesRaiseTheCounterAndAFlushedOneIsSeededFromTheLedger) {
  const v1::Budget budget = CreateCounted();
  ASSERT_THAT(RecordCounted({Llm("a1", "gpt-4o-mini", 4000, 0, Utc(2026, 3, 5))}), IsOk());
  // The committed batch created the counter with the period's whole spend.
  const std::string key = CounterRedisKey("acme", budget.id(), Utc(2026, 3, 1));
  EXPECT_EQ(counters_.Values().at(key), 600'000);
  EXPECT_EQ(Check(0).remaining_nano_usd(), 400'000);
  EXPECT_EQ(Reads("counter"), 1);
  EXPECT_EQ(Reads("ledger"), 0);
  // Lost (Redis flushed): the ledger answers and seeds it.
  counters_.Clear();
  EXPECT_EQ(Check(0).remaining_nano_usd(), 400'000);
  EXPECT_EQ(Reads("ledger"), 1);
  EXPECT_EQ(counters_.Values().at(key), 600'000);
  // Committed batches raise it (replays do not).
  ASSERT_THAT(RecordCounted({Llm("a2", "gpt-4o-mini", 2000, 0, Utc(2026, 3, 6)),
                             Llm("b1", "gpt-4o-mini", 2000, 0, Utc(2026, 3, 6), "b")}),
              IsOk());
  ASSERT_THAT(RecordCounted({Llm("a2", "gpt-4o-mini", 2000, 0, Utc(2026, 3, 6))}), IsOk());
  EXPECT_EQ(counters_.Values().at(key), 900'000);
  v1::CheckBudgetResponse r = Check(100'001);
  EXPECT_FALSE(r.allowed());
  EXPECT_EQ(r.remaining_nano_usd(), 100'000);
  EXPECT_EQ(Reads("ledger"), 1);
  EXPECT_EQ(Reads("counter"), 2);
}

TEST_F(CostApiCountersTest, RedisDownOrFlushedFallsBackToTheLedger) {
  const v1::Budget budget = CreateCounted();
  ASSERT_THAT(RecordCounted({Llm("a1", "gpt-4o-mini", 4000, 0, Utc(2026, 3, 5))}), IsOk());
  EXPECT_EQ(Check(0).remaining_nano_usd(), 400'000);
  counters_.SetAvailable(false);
  // Spend recorded while Redis is down still counts: the ledger answers.
  ASSERT_THAT(RecordCounted({Llm("a2", "gpt-4o-mini", 2000, 0, Utc(2026, 3, 6))}), IsOk());
  EXPECT_EQ(Check(0).remaining_nano_usd(), 100'000);
  counters_.SetAvailable(true);
  // The counter missed that batch; Reconcile finds and repairs it.
  v1::ReconcileRequest dry;
  dry.set_dry_run(true);
  v1::ReconcileResponse report;
  ASSERT_THAT(CallCounted(&v1::CostService::Stub::Reconcile, dry, &report), IsOk());
  EXPECT_EQ(report.counters_checked(), 1);
  EXPECT_EQ(report.drifted(), 1);
  EXPECT_EQ(report.repaired(), 0);
  ASSERT_THAT(report.drifts(), SizeIs(1));
  EXPECT_EQ(report.drifts(0).hot_nano_usd(), 600'000);
  EXPECT_EQ(report.drifts(0).ledger_nano_usd(), 900'000);
  EXPECT_FALSE(report.drifts(0).repaired());
  ASSERT_THAT(CallCounted(&v1::CostService::Stub::Reconcile, v1::ReconcileRequest(), &report),
              IsOk());
  EXPECT_EQ(report.repaired(), 1);
  EXPECT_TRUE(report.drifts(0).repaired());
  EXPECT_EQ(counters_.Values().at(CounterRedisKey("acme", budget.id(), Utc(2026, 3, 1))), 900'000);
  ASSERT_THAT(CallCounted(&v1::CostService::Stub::Reconcile, v1::ReconcileRequest(), &report),
              IsOk());
  EXPECT_EQ(report.drifted(), 0);
  EXPECT_EQ(report.counters_checked(), 1);
  // Flushed: re-seeded from the ledger on the next check, and Reconcile
  // reports missing counters.
  counters_.Clear();
  ASSERT_THAT(CallCounted(&v1::CostService::Stub::Reconcile, dry, &report), IsOk());
  EXPECT_EQ(report.missing(), 1);
  EXPECT_EQ(report.drifts(0).hot_nano_usd(), -1);
  EXPECT_EQ(Check(0).remaining_nano_usd(), 100'000);
  EXPECT_EQ(counters_.Values().at(CounterRedisKey("acme", budget.id(), Utc(2026, 3, 1))), 900'000);

  v1::ReconcileRequest bad;
  bad.set_tenant(std::string(300, 'x'));
  EXPECT_THAT(CallCounted(&v1::CostService::Stub::Reconcile, bad, &report),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tenant")));
  // Without counters there is nothing to reconcile.
  EXPECT_THAT(Call(&v1::CostService::Stub::Reconcile, v1::ReconcileRequest(), &report),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

// --- ListUnknownModels ---------------------------------------------------------

TEST_F(CostApiTest, ListUnknownModelsPagesPerTenantOrAll) {
  UpsertMini();
  v1::UsageRecord late = Llm("u1", "gpt-9", 1000, 10, Utc(2026, 3, 10));
  late.mutable_llm()->set_requests(3);
  v1::UsageRecord early = Llm("u2", "openai/gpt-9", 500, 5, Utc(2026, 3, 5));
  v1::UsageRecord claude = Llm("u3", "claude-x", 7, 8, Utc(2026, 3, 8));
  claude.mutable_llm()->set_provider("anthropic");
  v1::UsageRecord beta = Llm("u4", "gpt-9", 1, 1, Utc(2026, 3, 9));
  beta.mutable_scope()->set_tenant("beta");
  v1::RecordUsageResponse recorded;
  ASSERT_THAT(Record({late, early, claude, beta, Llm("k1", "gpt-4o-mini", 100, 0, Utc(2026, 3, 9))},
                     &recorded),
              IsOk());
  ASSERT_EQ(recorded.accepted(), 5);

  // All tenants, two per page, in (tenant, provider, model) order.
  v1::ListUnknownModelsRequest request;
  request.set_page_size(2);
  v1::ListUnknownModelsResponse page;
  ASSERT_THAT(Call(&v1::CostService::Stub::ListUnknownModels, request, &page), IsOk());
  ASSERT_THAT(page.models(), SizeIs(2));
  EXPECT_EQ(page.models(0).provider(), "anthropic");
  EXPECT_EQ(page.models(0).model(), "claude-x");
  const v1::UnknownModel& gpt9 = page.models(1);
  EXPECT_EQ(gpt9.tenant(), "acme");
  EXPECT_EQ(gpt9.provider(), "openai");
  EXPECT_EQ(gpt9.model(), "gpt-9");
  EXPECT_EQ(gpt9.calls(), 4);
  EXPECT_EQ(gpt9.input_tokens(), 1500);
  EXPECT_EQ(gpt9.output_tokens(), 15);
  EXPECT_EQ(absl::FromUnixSeconds(gpt9.first_seen().seconds()), Utc(2026, 3, 5));
  EXPECT_EQ(absl::FromUnixSeconds(gpt9.last_seen().seconds()), Utc(2026, 3, 10));
  ASSERT_FALSE(page.next_page_token().empty());
  request.set_page_token(page.next_page_token());
  v1::ListUnknownModelsResponse last;
  ASSERT_THAT(Call(&v1::CostService::Stub::ListUnknownModels, request, &last), IsOk());
  ASSERT_THAT(last.models(), SizeIs(1));
  EXPECT_EQ(last.models(0).tenant(), "beta");
  EXPECT_TRUE(last.next_page_token().empty());

  // One tenant.
  v1::ListUnknownModelsRequest acme;
  acme.set_tenant("acme");
  v1::ListUnknownModelsResponse acme_page;
  ASSERT_THAT(Call(&v1::CostService::Stub::ListUnknownModels, acme, &acme_page), IsOk());
  EXPECT_THAT(acme_page.models(), SizeIs(2));
  EXPECT_TRUE(acme_page.next_page_token().empty());

  // A range sums only the unpriced records inside it.
  *acme.mutable_range()->mutable_start() = Ts(Utc(2026, 3, 1));
  *acme.mutable_range()->mutable_end() = Ts(Utc(2026, 3, 6));
  ASSERT_THAT(Call(&v1::CostService::Stub::ListUnknownModels, acme, &acme_page), IsOk());
  ASSERT_THAT(acme_page.models(), SizeIs(1));
  EXPECT_EQ(acme_page.models(0).model(), "gpt-9");
  EXPECT_EQ(acme_page.models(0).calls(), 1);
  EXPECT_EQ(acme_page.models(0).input_tokens(), 500);
  EXPECT_EQ(absl::FromUnixSeconds(acme_page.models(0).last_seen().seconds()), Utc(2026, 3, 5));
  // Without an end the range runs to now.
  acme.mutable_range()->clear_end();
  *acme.mutable_range()->mutable_start() = Ts(Utc(2026, 3, 9));
  ASSERT_THAT(Call(&v1::CostService::Stub::ListUnknownModels, acme, &acme_page), IsOk());
  ASSERT_THAT(acme_page.models(), SizeIs(1));
  EXPECT_EQ(acme_page.models(0).calls(), 3);

  // Bad requests name the field.
  v1::ListUnknownModelsRequest bad;
  v1::ListUnknownModelsResponse response;
  bad.set_page_size(-1);
  EXPECT_THAT(Call(&v1::CostService::Stub::ListUnknownModels, bad, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
  bad = v1::ListUnknownModelsRequest();
  *bad.mutable_range()->mutable_start() = Ts(Utc(2026, 3, 6));
  *bad.mutable_range()->mutable_end() = Ts(Utc(2026, 3, 5));
  EXPECT_THAT(Call(&v1::CostService::Stub::ListUnknownModels, bad, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("range.end")));
  bad = v1::ListUnknownModelsRequest();
  bad.set_tenant("beta");
  bad.set_page_token(page.next_page_token());  // made for another request
  EXPECT_THAT(Call(&v1::CostService::Stub::ListUnknownModels, bad, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  bad = v1::ListUnknownModelsRequest();
  bad.set_tenant(std::string(300, 't'));
  EXPECT_THAT(Call(&v1::CostService::Stub::ListUnknownModels, bad, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tenant")));
}

// --- UpdateBudget --------------------------------------------------------------

TEST_F(CostApiTest, UpdateBudgetWithAMaskChangesOnlyThoseFieldsAtOnce) {
  UpsertMini();
  v1::CreateBudgetRequest create;
  *create.mutable_budget() = HardBudget("team-a monthly", "a", 1'000'000);
  v1::Budget budget;
  ASSERT_THAT(Call(&v1::CostService::Stub::CreateBudget, create, &budget), IsOk());
  v1::RecordUsageResponse recorded;
  // 900,000 of 1,000,000: the 80 % threshold fires.
  ASSERT_THAT(Record({Llm("a1", "gpt-4o-mini", 6000, 0, Utc(2026, 3, 5))}, &recorded), IsOk());
  ASSERT_THAT(server_.store().Outbox(), SizeIs(1));
  auto check = [this](int64_t estimate) {
    v1::CheckBudgetRequest request;
    request.mutable_scope()->set_tenant("acme");
    request.mutable_scope()->set_team("a");
    request.set_estimated_cost_nano_usd(estimate);
    v1::CheckBudgetResponse response;
    EXPECT_THAT(Call(&v1::CostService::Stub::CheckBudget, request, &response), IsOk());
    return response;
  };
  EXPECT_FALSE(check(100'001).allowed());  // also caches the tenant's budgets

  v1::UpdateBudgetRequest update;
  update.mutable_budget()->set_id(budget.id());
  update.mutable_budget()->set_limit_nano_usd(2'000'000);
  update.mutable_budget()->set_name("not in the mask");
  update.mutable_update_mask()->add_paths("limit_nano_usd");
  v1::Budget updated;
  ASSERT_THAT(Call(&v1::CostService::Stub::UpdateBudget, update, &updated), IsOk());
  EXPECT_EQ(updated.id(), budget.id());
  EXPECT_EQ(updated.limit_nano_usd(), 2'000'000);
  EXPECT_EQ(updated.name(), "team-a monthly");
  EXPECT_EQ(updated.enforcement(), v1::ENFORCEMENT_HARD);
  EXPECT_EQ(updated.scope().team(), "a");
  EXPECT_THAT(updated.threshold_percents(), ElementsAre(80, 100));
  EXPECT_EQ(updated.create_time().seconds(), budget.create_time().seconds());
  v1::GetBudgetRequest get;
  get.set_id(budget.id());
  v1::Budget fetched;
  ASSERT_THAT(Call(&v1::CostService::Stub::GetBudget, get, &fetched), IsOk());
  EXPECT_EQ(fetched.limit_nano_usd(), 2'000'000);
  // CheckBudget sees the new limit at once (the clock has not moved).
  v1::CheckBudgetResponse r = check(100'001);
  EXPECT_TRUE(r.allowed());
  EXPECT_EQ(r.remaining_nano_usd(), 1'100'000);

  // 1,950,000 of 2,000,000 is past 80 % again, which already fired this period.
  ASSERT_THAT(Record({Llm("a2", "gpt-4o-mini", 7000, 0, Utc(2026, 3, 6))}, &recorded), IsOk());
  EXPECT_THAT(server_.store().Outbox(), SizeIs(1));
  ASSERT_THAT(Record({Llm("a3", "gpt-4o-mini", 400, 0, Utc(2026, 3, 6))}, &recorded), IsOk());
  const std::vector<BudgetAlert> outbox = server_.store().Outbox();
  ASSERT_THAT(outbox, SizeIs(2));
  EXPECT_EQ(outbox[1].threshold_percent, 100);
  EXPECT_EQ(outbox[1].annotations.at("percent_used"), "100.50");

  // Several paths, including scope sub-fields.
  v1::UpdateBudgetRequest several;
  several.mutable_budget()->set_id(budget.id());
  several.mutable_budget()->mutable_scope()->set_workflow("summarize");
  several.mutable_budget()->add_threshold_percents(100);
  several.mutable_budget()->add_threshold_percents(50);
  several.mutable_budget()->set_time_zone("Europe/Berlin");
  several.mutable_update_mask()->add_paths("scope.workflow");
  several.mutable_update_mask()->add_paths("threshold_percents");
  several.mutable_update_mask()->add_paths("time_zone");
  ASSERT_THAT(Call(&v1::CostService::Stub::UpdateBudget, several, &updated), IsOk());
  EXPECT_EQ(updated.scope().team(), "a");
  EXPECT_EQ(updated.scope().workflow(), "summarize");
  EXPECT_THAT(updated.threshold_percents(), ElementsAre(50, 100));
  EXPECT_EQ(updated.time_zone(), "Europe/Berlin");
  EXPECT_EQ(updated.limit_nano_usd(), 2'000'000);
}

TEST_F(CostApiTest, UpdateBudgetWithoutAMaskReplacesEveryWritableField) {
  v1::CreateBudgetRequest create;
  v1::Budget original = HardBudget("team-a monthly", "a", 1'000'000);
  original.add_threshold_percents(50);
  original.add_threshold_percents(90);
  original.set_time_zone("Europe/Berlin");
  original.set_alert_on_projected_overrun(true);
  original.set_alert_severity(agentwatch::common::v1::SEVERITY_P1);
  *create.mutable_budget() = original;
  create.set_request_id("req-1");
  v1::Budget budget;
  ASSERT_THAT(Call(&v1::CostService::Stub::CreateBudget, create, &budget), IsOk());

  v1::UpdateBudgetRequest update;
  v1::Budget* b = update.mutable_budget();
  b->set_id(budget.id());
  b->set_name("team-b daily");
  b->mutable_scope()->set_team("b");  // tenant left empty: kept
  b->set_period(v1::BUDGET_PERIOD_DAILY);
  b->set_limit_nano_usd(5);
  v1::Budget updated;
  ASSERT_THAT(Call(&v1::CostService::Stub::UpdateBudget, update, &updated), IsOk());
  EXPECT_EQ(updated.id(), budget.id());
  EXPECT_EQ(updated.name(), "team-b daily");
  EXPECT_EQ(updated.scope().tenant(), "acme");
  EXPECT_EQ(updated.scope().team(), "b");
  EXPECT_EQ(updated.period(), v1::BUDGET_PERIOD_DAILY);
  EXPECT_EQ(updated.limit_nano_usd(), 5);
  // Unset fields take their defaults, as on create.
  EXPECT_THAT(updated.threshold_percents(), ElementsAre(80, 100));
  EXPECT_EQ(updated.time_zone(), "UTC");
  EXPECT_EQ(updated.enforcement(), v1::ENFORCEMENT_SOFT);
  EXPECT_FALSE(updated.alert_on_projected_overrun());
  EXPECT_EQ(updated.alert_severity(), agentwatch::common::v1::SEVERITY_P2);
  // The request id still makes the create idempotent.
  v1::Budget again;
  ASSERT_THAT(Call(&v1::CostService::Stub::CreateBudget, create, &again), IsOk());
  EXPECT_EQ(again.id(), budget.id());
  EXPECT_EQ(again.name(), "team-b daily");

  // The same validation as CreateBudget.
  update.mutable_budget()->clear_period();
  EXPECT_THAT(Call(&v1::CostService::Stub::UpdateBudget, update, &updated),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("budget.period")));
}

TEST_F(CostApiTest, UpdateBudgetRejectsBadRequests) {
  v1::CreateBudgetRequest create;
  *create.mutable_budget() = HardBudget("first", "a", 1'000'000);
  v1::Budget first;
  ASSERT_THAT(Call(&v1::CostService::Stub::CreateBudget, create, &first), IsOk());
  *create.mutable_budget() = HardBudget("second", "b", 1'000'000);
  v1::Budget second;
  ASSERT_THAT(Call(&v1::CostService::Stub::CreateBudget, create, &second), IsOk());

  struct Case {
    std::function<void(v1::UpdateBudgetRequest&)> mutate;
    absl::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](v1::UpdateBudgetRequest& r) { r.clear_budget(); }, absl::StatusCode::kInvalidArgument,
       "budget: required"},
      {[](v1::UpdateBudgetRequest& r) { r.mutable_budget()->clear_id(); },
       absl::StatusCode::kInvalidArgument, "budget.id"},
      {[](v1::UpdateBudgetRequest& r) { r.mutable_budget()->set_id("zzz"); },
       absl::StatusCode::kInvalidArgument, "budget.id"},
      {[](v1::UpdateBudgetRequest& r) { r.mutable_budget()->set_id(MakeBudgetId("acme", 7)); },
       absl::StatusCode::kNotFound, ""},
      {[](v1::UpdateBudgetRequest& r) { r.mutable_update_mask()->add_paths("limit"); },
       absl::StatusCode::kInvalidArgument, "update_mask.paths[1]: unknown field 'limit'"},
      {[](v1::UpdateBudgetRequest& r) { r.mutable_update_mask()->add_paths("create_time"); },
       absl::StatusCode::kInvalidArgument, "read-only field 'create_time'"},
      {[](v1::UpdateBudgetRequest& r) { r.mutable_update_mask()->add_paths("scope.tenant"); },
       absl::StatusCode::kInvalidArgument, "'scope.tenant'"},
      {[](v1::UpdateBudgetRequest& r) { r.mutable_budget()->mutable_scope()->set_tenant("beta"); },
       absl::StatusCode::kInvalidArgument, "budget.scope.tenant"},
      {[](v1::UpdateBudgetRequest& r) {
         r.mutable_budget()->set_limit_nano_usd(0);
         r.mutable_update_mask()->add_paths("limit_nano_usd");
       },
       absl::StatusCode::kInvalidArgument, "budget.limit_nano_usd"},
      {[](v1::UpdateBudgetRequest& r) {
         r.mutable_budget()->add_threshold_percents(1001);
         r.mutable_update_mask()->add_paths("threshold_percents");
       },
       absl::StatusCode::kInvalidArgument, "budget.threshold_percents"},
      {[](v1::UpdateBudgetRequest& r) {
         r.mutable_budget()->set_time_zone("Mars/Olympus");
         r.mutable_update_mask()->add_paths("time_zone");
       },
       absl::StatusCode::kInvalidArgument, "budget.time_zone"},
      {[](v1::UpdateBudgetRequest& r) {
         r.mutable_budget()->set_period(v1::BUDGET_PERIOD_ROLLING);
         r.mutable_update_mask()->add_paths("period");
       },
       absl::StatusCode::kInvalidArgument, "budget.rolling_window"},
      {[](v1::UpdateBudgetRequest& r) {
         r.mutable_budget()->set_name("first");
         r.mutable_update_mask()->add_paths("name");
       },
       absl::StatusCode::kAlreadyExists, "first"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    v1::UpdateBudgetRequest request;
    request.mutable_budget()->set_id(second.id());
    request.mutable_update_mask()->add_paths("enforcement");
    cases[i].mutate(request);
    v1::Budget response;
    EXPECT_THAT(Call(&v1::CostService::Stub::UpdateBudget, request, &response),
                StatusIs(cases[i].code, HasSubstr(cases[i].message)));
  }
  // Nothing changed.
  v1::GetBudgetRequest get;
  get.set_id(second.id());
  v1::Budget fetched;
  ASSERT_THAT(Call(&v1::CostService::Stub::GetBudget, get, &fetched), IsOk());
  EXPECT_EQ(fetched.name(), "second");
  EXPECT_EQ(fetched.limit_nano_usd(), 1'000'000);
  EXPECT_EQ(fetched.enforcement(), v1::ENFORCEMENT_HARD);
  EXPECT_EQ(fetched.time_zone(), "UTC");
}

TEST_F(CostApiCountersTest, UpdatedPeriodReseedsTheCounterAndKeepsFiredThresholds) {
  const v1::Budget budget = CreateCounted();
  // 900,000 of the monthly 1,000,000: 80 % fires; the check seeds the counter.
  ASSERT_THAT(RecordCounted({Llm("a1", "gpt-4o-mini", 6000, 0, Utc(2026, 3, 5))}), IsOk());
  ASSERT_THAT(counted_.store().Outbox(), SizeIs(1));
  EXPECT_EQ(Check(0).remaining_nano_usd(), 100'000);
  EXPECT_EQ(counters_.Values().at(CounterRedisKey("acme", budget.id(), Utc(2026, 3, 1))), 900'000);

  // Daily from now on: today (March 10) has no spend yet.
  v1::UpdateBudgetRequest update;
  update.mutable_budget()->set_id(budget.id());
  update.mutable_budget()->set_period(v1::BUDGET_PERIOD_DAILY);
  update.mutable_update_mask()->add_paths("period");
  v1::Budget updated;
  ASSERT_THAT(CallCounted(&v1::CostService::Stub::UpdateBudget, update, &updated), IsOk());
  EXPECT_EQ(updated.period(), v1::BUDGET_PERIOD_DAILY);
  v1::CheckBudgetResponse r = Check(0);
  EXPECT_EQ(r.remaining_nano_usd(), 1'000'000);
  EXPECT_EQ(absl::FromUnixSeconds(r.period_end().seconds()), Utc(2026, 3, 11));
  const std::string daily_key = CounterRedisKey("acme", budget.id(), Utc(2026, 3, 10));
  EXPECT_EQ(counters_.Values().at(daily_key), 0);

  // 80 % of today's limit: already fired in the period it replaced.
  ASSERT_THAT(RecordCounted({Llm("a2", "gpt-4o-mini", 6000, 0, Utc(2026, 3, 10, 6))}), IsOk());
  EXPECT_THAT(counted_.store().Outbox(), SizeIs(1));
  EXPECT_EQ(counters_.Values().at(daily_key), 900'000);
  ASSERT_THAT(RecordCounted({Llm("a3", "gpt-4o-mini", 1000, 0, Utc(2026, 3, 10, 7))}), IsOk());
  const std::vector<BudgetAlert> outbox = counted_.store().Outbox();
  ASSERT_THAT(outbox, SizeIs(2));
  EXPECT_EQ(outbox[1].threshold_percent, 100);
  EXPECT_EQ(outbox[1].period_start, Utc(2026, 3, 10));
  EXPECT_FALSE(Check(1).allowed());

  // A changed scope keeps the period, so its counter is rewritten from the
  // ledger (team b spent nothing today).
  v1::UpdateBudgetRequest team;
  team.mutable_budget()->set_id(budget.id());
  team.mutable_budget()->mutable_scope()->set_team("b");
  team.mutable_update_mask()->add_paths("scope.team");
  ASSERT_THAT(CallCounted(&v1::CostService::Stub::UpdateBudget, team, &updated), IsOk());
  EXPECT_EQ(counters_.Values().at(daily_key), 0);
  EXPECT_THAT(Check(1'000'000).matched_budget_ids(), IsEmpty());  // team a: no budget now
}

TEST(CostApiAuthTest, EachRpcNeedsItsRole) {
  common::FakeClock clock(Utc(2026, 3, 10));
  Server server(clock, {{"viewer-token", common::Role::kViewer},
                        {"operator-token", common::Role::kOperator}});
  auto call_record = [&server](const std::string& token) {
    grpc::ClientContext context;
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    v1::RecordUsageRequest request;
    v1::UsageRecord* r = request.add_records();
    r->set_record_id("r");
    *r->mutable_time() = Ts(Utc(2026, 3, 10));
    r->mutable_scope()->set_tenant("acme");
    r->mutable_llm()->set_provider("openai");
    r->mutable_llm()->set_model("gpt-4o-mini");
    v1::RecordUsageResponse response;
    return server.stub().RecordUsage(&context, request, &response).error_code();
  };
  EXPECT_EQ(call_record(""), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call_record("viewer-token"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(call_record("operator-token"), grpc::StatusCode::OK);
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer operator-token");
  v1::ImportPricesRequest import;
  import.set_litellm_json("{}");
  v1::ImportPricesResponse response;
  EXPECT_EQ(server.stub().ImportPrices(&context, import, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  {
    // UpdateBudget is configuration: admin only.
    grpc::ClientContext update_context;
    update_context.AddMetadata("authorization", "Bearer operator-token");
    v1::UpdateBudgetRequest update;
    update.mutable_budget()->set_id(MakeBudgetId("acme", 1));
    v1::Budget budget;
    EXPECT_EQ(server.stub().UpdateBudget(&update_context, update, &budget).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    // ListUnknownModels is a read.
    grpc::ClientContext list_context;
    list_context.AddMetadata("authorization", "Bearer viewer-token");
    v1::ListUnknownModelsResponse models;
    EXPECT_EQ(server.stub().ListUnknownModels(&list_context, {}, &models).error_code(),
              grpc::StatusCode::OK);
    EXPECT_THAT(models.models(), SizeIs(1));  // the operator's record above
  }
}

TEST(DefaultCatalogImporterTest, ImportsTheShippedCatalogOnce) {
  common::FakeClock clock;
  MemoryCostStore store(clock);
  DefaultCatalogImporter importer(store, std::string(DefaultCatalogJson()), "embedded");
  ASSERT_THAT(importer.ImportOnce(), IsOk());
  auto mini = store.GetPrice("", "openai", "gpt-4o-mini", absl::UnixEpoch());
  ASSERT_THAT(mini, IsOk());
  EXPECT_EQ(mini->price.base.input, 150'000'000);
  EXPECT_EQ(mini->price.base.output, 600'000'000);
  EXPECT_EQ(mini->source, "default");
  PriceListQuery all;
  all.include_history = true;
  all.limit = 100'000;
  auto listed = store.ListPrices(all);
  ASSERT_THAT(listed, IsOk());
  const size_t count = listed->size();
  EXPECT_GT(count, 1000u);
  // A second start (or another replica) does not import again.
  DefaultCatalogImporter second(store, std::string(DefaultCatalogJson()), "embedded");
  second.Start();
  second.Stop();
  EXPECT_EQ(store.ListPrices(all)->size(), count);

  DefaultCatalogImporter broken(store, "{oops", "test");
  EXPECT_THAT(broken.ImportOnce(), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace agentwatch::cost
