// CheckBudget's hot path across two replicas: two CostServiceImpl instances,
// each behind its own in-process gRPC server on 127.0.0.1:0, share one
// in-memory store (the database) and one set of in-memory hot counters
// (Redis). Budget caches never expire by time here (a FakeClock and hour-long
// TTLs), so only the budgets version token can make a change made through one
// replica visible to the other. Also: the hot path answers while the
// executor is saturated (it runs inline, not behind RecordUsage), and a
// flushed Redis or a Redis that is down still gives correct answers.
//
// NearCacheCheckTest: the same two replicas, each with its own near cache of
// the hot counters (NearBudgetCounters), refreshed only when a test says so.
// A replica's own usage and budget changes apply to its checks at once, the
// other's after one refresh; Redis down still answers right (from the
// ledger).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
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
using ::testing::IsEmpty;

absl::Time Utc(int y, int m, int d, int h = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, h, 0, 0), absl::UTCTimeZone());
}

absl::Status ToAbsl(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

// One replica: its own metrics, executor, service and gRPC server; with
// `near`, its own near cache over the shared counters.
class Replica {
 public:
  Replica(MemoryCostStore& store, BudgetCounters& counters, common::Clock& clock, bool near)
      : near_(near ? std::make_unique<NearBudgetCounters>(counters, counters, clock,
                                                           NearBudgetCountersOptions{})
                   : nullptr),
        metrics_(registry_),
        executor_(1, 10),
        rpc_(authorizer_, executor_),
        service_(store, rpc_, clock, metrics_, Options(near_ ? *near_ : counters)) {
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
  NearBudgetCounters& near() { return *near_; }
  common::BlockingExecutor& executor() { return executor_; }
  double CounterReads() const { return metrics_.spend_from_counter.Value(); }
  double LedgerReads() const { return metrics_.spend_from_ledger.Value(); }

 private:
  std::unique_ptr<NearBudgetCounters> near_;
  prometheus::Registry registry_;
  CostMetrics metrics_;
  common::BlockingExecutor executor_;
  common::Authorizer authorizer_;
  common::RpcRunner rpc_;
  CostServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::CostService::Stub> stub_;
};

class TwoReplicasTest : public ::testing::Test {
 protected:
  explicit TwoReplicasTest(bool near)
      : clock_(Utc(2026, 3, 10, 12)),
        store_(clock_),
        a_(store_, counters_, clock_, near),
        b_(store_, counters_, clock_, near) {}

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

  common::FakeClock clock_;
  MemoryCostStore store_;
  MemoryBudgetCounters counters_;
  Replica a_;
  Replica b_;
};

class BudgetCacheTest : public TwoReplicasTest {
 protected:
  BudgetCacheTest() : TwoReplicasTest(/*near=*/false) {}
};

class NearCacheCheckTest : public TwoReplicasTest {
 protected:
  NearCacheCheckTest() : TwoReplicasTest(/*near=*/true) {}

  // Two checks: the budget list, then the counters, are cached.
  void Warm(Replica& replica) {
    ASSERT_THAT(replica.Check("a", 0), IsOk());
    ASSERT_THAT(replica.Check("a", 0), IsOk());
  }
};

TEST_F(BudgetCacheTest, ChangesThroughOneReplicaAreSeenAtOnceByTheOther) {
  const v1::Budget budget = Create(a_, "team-a monthly", "a", 1'000'000);
  Record(a_, "r1", "a");
  // B reads the counter A's committed batch created (never the ledger), then
  // answers from its cache and the counter.
  auto first = b_.Check("a", 0);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->remaining_nano_usd(), 400'000);
  EXPECT_EQ(b_.LedgerReads(), 0);
  EXPECT_EQ(b_.CounterReads(), 1);
  auto hot = b_.Check("a", 400'001);
  ASSERT_THAT(hot, IsOk());
  EXPECT_FALSE(hot->allowed());
  EXPECT_EQ(hot->remaining_nano_usd(), 400'000);
  EXPECT_EQ(b_.CounterReads(), 2);
  EXPECT_EQ(b_.LedgerReads(), 0);

  // A raises the limit: B's very next check uses it (the clock has not moved).
  v1::UpdateBudgetRequest update;
  update.mutable_budget()->set_id(budget.id());
  update.mutable_budget()->set_limit_nano_usd(2'000'000);
  update.mutable_update_mask()->add_paths("limit_nano_usd");
  v1::Budget updated;
  ASSERT_THAT(a_.service().DoUpdateBudget(update, &updated), IsOk());
  auto raised = b_.Check("a", 400'001);
  ASSERT_THAT(raised, IsOk());
  EXPECT_TRUE(raised->allowed());
  EXPECT_EQ(raised->remaining_nano_usd(), 1'400'000);
  // ... and keeps answering from the hot path afterwards.
  const double counter_reads = b_.CounterReads();
  ASSERT_THAT(b_.Check("a", 0), IsOk());
  EXPECT_EQ(b_.CounterReads(), counter_reads + 1);

  // A adds a budget over the same scope: B applies it at once.
  const v1::Budget tight = Create(a_, "team-a tight", "a", 700'000);
  auto tighter = b_.Check("a", 100'001);
  ASSERT_THAT(tighter, IsOk());
  EXPECT_FALSE(tighter->allowed());
  EXPECT_EQ(tighter->budget_id(), tight.id());
  EXPECT_EQ(tighter->remaining_nano_usd(), 100'000);

  // A deletes both: B finds no budget.
  for (const std::string& id : {budget.id(), tight.id()}) {
    v1::DeleteBudgetRequest del;
    del.set_id(id);
    ASSERT_THAT(a_.service().DoDeleteBudget(del), IsOk());
  }
  auto none = b_.Check("a", 1'000'000'000);
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(none->allowed());
  EXPECT_THAT(none->matched_budget_ids(), IsEmpty());
}

TEST_F(BudgetCacheTest, FlushedOrDownRedisStillAnswersRight) {
  const v1::Budget budget = Create(a_, "team-a monthly", "a", 1'000'000);
  Record(a_, "r1", "a");
  ASSERT_THAT(b_.Check("a", 0), IsOk());
  ASSERT_THAT(b_.Check("a", 0), IsOk());
  // Redis loses everything (token included) while A changes the limit: the
  // re-created token differs from B's cached one, so B re-reads.
  counters_.Clear();
  v1::UpdateBudgetRequest update;
  update.mutable_budget()->set_id(budget.id());
  update.mutable_budget()->set_limit_nano_usd(3'000'000);
  update.mutable_update_mask()->add_paths("limit_nano_usd");
  v1::Budget updated;
  ASSERT_THAT(a_.service().DoUpdateBudget(update, &updated), IsOk());
  counters_.Clear();
  auto after_flush = b_.Check("a", 0);
  ASSERT_THAT(after_flush, IsOk());
  EXPECT_EQ(after_flush->remaining_nano_usd(), 2'400'000);
  // Redis down: the ledger answers, spend recorded meanwhile included.
  counters_.SetAvailable(false);
  Record(a_, "r2", "a");
  auto down = b_.Check("a", 0);
  ASSERT_THAT(down, IsOk());
  EXPECT_EQ(down->remaining_nano_usd(), 1'800'000);
  counters_.SetAvailable(true);
}

TEST_F(BudgetCacheTest, HotPathAnswersWhileTheExecutorIsBusy) {
  Create(a_, "team-a monthly", "a", 1'000'000);
  Record(a_, "r1", "a");
  ASSERT_THAT(b_.Check("a", 0), IsOk());  // cache and counter in place
  // B's only executor thread is taken (a long RecordUsage, say) and its queue
  // holds more work: CheckBudget still answers, inline.
  absl::Notification release;
  absl::Notification started;
  ASSERT_TRUE(b_.executor().Submit([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();
  const double counter_reads = b_.CounterReads();
  auto hot = b_.Check("a", 0);
  release.Notify();
  ASSERT_THAT(hot, IsOk());
  EXPECT_EQ(hot->remaining_nano_usd(), 400'000);
  EXPECT_EQ(b_.CounterReads(), counter_reads + 1);
}

TEST_F(BudgetCacheTest, HotPathMovesToTheNextPeriodAtItsEnd) {
  Create(a_, "team-a monthly", "a", 1'000'000);
  Record(a_, "r1", "a");  // March 5
  auto march = b_.Check("a", 0);
  ASSERT_THAT(march, IsOk());
  EXPECT_EQ(march->remaining_nano_usd(), 400'000);
  EXPECT_EQ(march->period_end().seconds(), absl::ToUnixSeconds(Utc(2026, 4, 1)));
  // The last instant of March: the same (cached) window, from the counter.
  clock_.Set(Utc(2026, 4, 1) - absl::Nanoseconds(1));
  const double counter_reads = b_.CounterReads();
  auto last = b_.Check("a", 0);
  ASSERT_THAT(last, IsOk());
  EXPECT_EQ(last->remaining_nano_usd(), 400'000);
  EXPECT_EQ(last->period_end().seconds(), absl::ToUnixSeconds(Utc(2026, 4, 1)));
  EXPECT_EQ(b_.CounterReads(), counter_reads + 1);
  // April: a new window and a new (empty) period, whatever was cached.
  clock_.Set(Utc(2026, 4, 1));
  auto april = b_.Check("a", 0);
  ASSERT_THAT(april, IsOk());
  EXPECT_EQ(april->remaining_nano_usd(), 1'000'000);
  EXPECT_EQ(april->period_end().seconds(), absl::ToUnixSeconds(Utc(2026, 5, 1)));
  auto again = b_.Check("a", 0);  // the seeded April counter, on the hot path
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->remaining_nano_usd(), 1'000'000);
  EXPECT_EQ(again->period_end().seconds(), absl::ToUnixSeconds(Utc(2026, 5, 1)));
  // A clock set back into March is not answered from April's window.
  clock_.Set(Utc(2026, 3, 20));
  auto back = b_.Check("a", 0);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->remaining_nano_usd(), 400'000);
  EXPECT_EQ(back->period_end().seconds(), absl::ToUnixSeconds(Utc(2026, 4, 1)));
}

TEST_F(BudgetCacheTest, InvalidRequestsAreRejectedOnTheHotPathToo) {
  Create(a_, "team-a monthly", "a", 1'000'000);
  ASSERT_THAT(b_.Check("a", 0), IsOk());
  EXPECT_THAT(b_.Check("a", -1), StatusIs(absl::StatusCode::kInvalidArgument));
  v1::CheckBudgetRequest request;  // no tenant
  v1::CheckBudgetResponse response;
  EXPECT_THAT(b_.service().DoCheckBudget(request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

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
