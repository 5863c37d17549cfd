// CheckBudget with the near cache of the hot counters (NearBudgetCounters)
// in each of two replicas: two CostServiceImpl instances behind in-process
// gRPC servers share one in-memory store (the database) and one set of
// in-memory counters (Redis); each has its own near cache, refreshed only
// when a test says so (FakeClock). A replica's own usage and budget changes
// apply to its checks at once, the other's after one refresh; Redis down
// still answers right (from the ledger).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "agentwatch/cost/v1/cost.grpc.pb.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/rpc.h"
#include "common/status_macros.h"
#include "common/testing/status_matchers.h"
#include "cost/api/convert.h"
#include "cost/api/cost_metrics.h"
#include "cost/api/cost_service.h"
#include "cost/store/budget_counters.h"
#include "cost/store/memory_cost_store.h"
#include "cost/store/near_budget_counters.h"

namespace agentwatch::cost {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;

absl::Time Utc(int y, int m, int d, int h = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, h, 0, 0), absl::UTCTimeZone());
}

absl::Status ToAbsl(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

// One replica: its own near cache over the shared counters, metrics, executor,
// service and gRPC server.
class Replica {
 public:
  Replica(MemoryCostStore& store, BudgetCounters& counters, common::Clock& clock)
      : near_(counters, counters, clock, NearBudgetCountersOptions{}),
        metrics_(registry_),
        executor_(1, 10),
        rpc_(authorizer_, executor_),
        service_(store, rpc_, clock, metrics_, Options(near_)) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::CostService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  ~Replica() { server_->Shutdown(); }

  static CostServiceOptions Options(BudgetCounters& counters) {
    CostServiceOptions options;
    options.counters = &counters;
    options.budget_cache_ttl = absl::Hours(1);
    options.budget_cache_max_age = absl::Hours(1);
    return options;
  }

  absl::StatusOr<v1::CheckBudgetResponse> Check(const std::string& team, int64_t estimate) {
    v1::CheckBudgetRequest request;
    request.mutable_scope()->set_tenant("acme");
    request.mutable_scope()->set_team(team);
    request.set_estimated_cost_nano_usd(estimate);
    v1::CheckBudgetResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    RETURN_IF_ERROR(ToAbsl(stub_->CheckBudget(&context, request, &response)));
    return response;
  }

  CostServiceImpl& service() { return service_; }
  NearBudgetCounters& near() { return near_; }
  common::BlockingExecutor& executor() { return executor_; }
  double CounterReads() const { return metrics_.spend_from_counter.Value(); }
  double LedgerReads() const { return metrics_.spend_from_ledger.Value(); }

 private:
  NearBudgetCounters near_;
  prometheus::Registry registry_;
  CostMetrics metrics_;
  common::BlockingExecutor executor_;
  common::Authorizer authorizer_;
  common::RpcRunner rpc_;
  CostServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::CostService::Stub> stub_;
};

class NearCacheCheckTest : public ::testing::Test {
 protected:
  NearCacheCheckTest()
      : clock_(Utc(2026, 3, 10, 12)),
        store_(clock_),
        a_(store_, counters_, clock_),
        b_(store_, counters_, clock_) {}

  void SetUp() override {
    v1::UpsertPriceRequest price;
    price.mutable_price()->set_provider("openai");
    price.mutable_price()->set_model("gpt-4o-mini");
    TimeToProto(absl::UnixEpoch(), price.mutable_price()->mutable_effective_time());
    price.mutable_price()->set_input_per_million_nano_usd(150'000'000);
    v1::Price stored;
    ASSERT_THAT(a_.service().DoUpsertPrice(price, &stored), IsOk());
  }

  v1::Budget Create(Replica& replica, const std::string& name, const std::string& team,
                    int64_t limit) {
    v1::CreateBudgetRequest request;
    v1::Budget* b = request.mutable_budget();
    b->set_name(name);
    b->mutable_scope()->set_tenant("acme");
    b->mutable_scope()->set_team(team);
    b->set_period(v1::BUDGET_PERIOD_MONTHLY);
    b->set_limit_nano_usd(limit);
    b->set_enforcement(v1::ENFORCEMENT_HARD);
    v1::Budget created;
    EXPECT_THAT(replica.service().DoCreateBudget(request, &created), IsOk());
    return created;
  }

  // 4,000 input tokens of gpt-4o-mini: 600,000 nano-USD.
  void Record(Replica& replica, const std::string& id, const std::string& team) {
    v1::RecordUsageRequest request;
    v1::UsageRecord* r = request.add_records();
    r->set_record_id(id);
    TimeToProto(Utc(2026, 3, 5), r->mutable_time());
    r->mutable_scope()->set_tenant("acme");
    r->mutable_scope()->set_team(team);
    r->mutable_llm()->set_provider("openai");
    r->mutable_llm()->set_model("gpt-4o-mini");
    r->mutable_llm()->set_input_tokens(4000);
    v1::RecordUsageResponse response;
    ASSERT_THAT(replica.service().DoRecordUsage(request, &response), IsOk());
    ASSERT_EQ(response.accepted(), 1);
  }

  // Two checks: the budget list, then the counters, are cached.
  void Warm(Replica& replica) {
    ASSERT_THAT(replica.Check("a", 0), IsOk());
    ASSERT_THAT(replica.Check("a", 0), IsOk());
  }

  common::FakeClock clock_;
  MemoryCostStore store_;
  MemoryBudgetCounters counters_;
  Replica a_;
  Replica b_;
};

TEST_F(NearCacheCheckTest, OwnUsageDeniesAtOnceOtherReplicasAfterOneRefresh) {
  Create(a_, "team-a monthly", "a", 1'000'000);
  Record(a_, "r1", "a");
  // Both replicas answer from the counter (a replica's first check reads the
  // budget list on the executor, its second the counter inline, then cached).
  Warm(a_);
  Warm(b_);
  auto b_first = b_.Check("a", 0);
  ASSERT_THAT(b_first, IsOk());
  EXPECT_EQ(b_first->remaining_nano_usd(), 400'000);
  EXPECT_EQ(b_.LedgerReads(), 0);
  // A's next batch: A's own checks see it at once and deny on the hard budget.
  Record(a_, "r2", "a");
  auto a_after = a_.Check("a", 1);
  ASSERT_THAT(a_after, IsOk());
  EXPECT_FALSE(a_after->allowed());
  EXPECT_EQ(a_after->remaining_nano_usd(), -200'000);
  EXPECT_EQ(a_.LedgerReads(), 0);
  // B sees it after its next refresh (not before: served from memory).
  auto b_stale = b_.Check("a", 1);
  ASSERT_THAT(b_stale, IsOk());
  EXPECT_EQ(b_stale->remaining_nano_usd(), 400'000);
  clock_.Advance(absl::Milliseconds(10));
  ASSERT_THAT(b_.near().RefreshOnce(), IsOk());
  auto b_fresh = b_.Check("a", 1);
  ASSERT_THAT(b_fresh, IsOk());
  EXPECT_FALSE(b_fresh->allowed());
  EXPECT_EQ(b_fresh->remaining_nano_usd(), -200'000);
  EXPECT_EQ(b_.LedgerReads(), 0);
}

TEST_F(NearCacheCheckTest, BudgetChangesApplyAtOnceHereAndAfterOneRefreshThere) {
  const v1::Budget budget = Create(a_, "team-a monthly", "a", 1'000'000);
  Record(a_, "r1", "a");
  Warm(a_);
  Warm(b_);
  v1::UpdateBudgetRequest update;
  update.mutable_budget()->set_id(budget.id());
  update.mutable_budget()->set_limit_nano_usd(2'000'000);
  update.mutable_update_mask()->add_paths("limit_nano_usd");
  v1::Budget updated;
  ASSERT_THAT(a_.service().DoUpdateBudget(update, &updated), IsOk());
  EXPECT_EQ(a_.Check("a", 0)->remaining_nano_usd(), 1'400'000);
  EXPECT_EQ(b_.Check("a", 0)->remaining_nano_usd(), 400'000);  // within one refresh
  clock_.Advance(absl::Milliseconds(10));
  ASSERT_THAT(b_.near().RefreshOnce(), IsOk());
  EXPECT_EQ(b_.Check("a", 0)->remaining_nano_usd(), 1'400'000);
}

TEST_F(NearCacheCheckTest, RedisDownStillAnswersRightFromTheLedger) {
  Create(a_, "team-a monthly", "a", 1'000'000);
  Record(a_, "r1", "a");
  Warm(b_);
  counters_.SetAvailable(false);
  Record(a_, "r2", "a");  // its raise is lost: Redis is down
  EXPECT_THAT(b_.near().RefreshOnce(), StatusIs(absl::StatusCode::kUnavailable));
  auto down = b_.Check("a", 0);
  ASSERT_THAT(down, IsOk());
  EXPECT_EQ(down->remaining_nano_usd(), -200'000);
  EXPECT_GT(b_.LedgerReads(), 0);
  counters_.SetAvailable(true);
}

}  // namespace
}  // namespace agentwatch::cost
