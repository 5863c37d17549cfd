// Integration tests against the real Postgres and Redis that scripts/test
// starts (AGENTWATCH_TEST_PG_DSN, AGENTWATCH_TEST_REDIS): forecast runs in
// capacity.forecast_runs, the Redis response cache, run retention, and
// GetForecast over both through an in-process gRPC server.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agentwatch/capacity/v1/capacity.grpc.pb.h"
#include "capacity/api/capacity_service.h"
#include "capacity/api/metrics.h"
#include "capacity/history/fake_history_source.h"
#include "capacity/jobs/run_retention.h"
#include "capacity/store/memory_resource_store.h"
#include "capacity/store/migrations.h"
#include "capacity/store/pg_forecast_run_store.h"
#include "capacity/store/redis_forecast_cache.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/pg.h"
#include "common/redis.h"
#include "common/rpc.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"

namespace agentwatch::capacity {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::MatchesRegex;
using ::testing::Optional;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000) + absl::Minutes(7);

common::PgPoolOptions PoolOptions(const std::string& dsn) {
  common::PgPoolOptions options;
  options.dsn = dsn;
  options.size = 2;
  return options;
}

std::string RandomTenant() {
  absl::BitGen gen;
  return absl::StrCat("tenant-", absl::Uniform<uint64_t>(gen));
}

ForecastRun SampleRun(const std::string& tenant, absl::Time created_at) {
  ForecastRun run;
  run.tenant = tenant;
  run.metric = "llm_calls_total";
  run.matchers = {{"model", MatchOp::kRegex, "gpt-4.*"},
                  {"team", MatchOp::kNotEqual, "quote\" back\\slash ünïcode"}};
  run.created_at = created_at;
  run.horizon = absl::Hours(24);
  run.step = absl::Hours(1);
  run.history = absl::Hours(24 * 7);
  run.requested_model = "";
  run.model = "seasonal_naive";
  run.mase = 0.75;
  run.smape = 12.5;
  run.history_points = 168;
  run.response = std::string(
      "\0\x01"
      "binary\xff",
      9);
  return run;
}

class PgStoreTest : public ::testing::Test {
 protected:
  PgStoreTest() : pool_(PoolOptions(db_.dsn())) {}
  void SetUp() override {
    ASSERT_THAT(common::ApplyMigrations(pool_, "capacity", Migrations()), IsOk());
  }

  agentwatch::testing::TestDatabase db_;
  common::PgPool pool_;
};

TEST_F(PgStoreTest, SavesAndReadsBackARun) {
  PgForecastRunStore store(pool_);
  const ForecastRun run = SampleRun("acme", kNow);
  auto id = store.SaveRun(run);
  ASSERT_THAT(id, IsOk());
  EXPECT_TRUE(IsUuid(*id)) << *id;

  auto read = store.GetRun("acme", *id);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->id, *id);
  EXPECT_EQ(read->tenant, "acme");
  EXPECT_EQ(read->metric, run.metric);
  EXPECT_EQ(read->matchers, run.matchers);
  EXPECT_EQ(read->created_at, run.created_at);
  EXPECT_EQ(read->horizon, run.horizon);
  EXPECT_EQ(read->step, run.step);
  EXPECT_EQ(read->history, run.history);
  EXPECT_EQ(read->requested_model, "");
  EXPECT_EQ(read->model, "seasonal_naive");
  EXPECT_EQ(read->mase, 0.75);
  EXPECT_EQ(read->smape, 12.5);
  EXPECT_EQ(read->history_points, 168);
  EXPECT_EQ(read->response, run.response);

  // The row as SQL sees it: tenant-led key, jsonb matchers, intervals.
  pqxx::connection conn(db_.dsn());
  pqxx::work txn(conn);
  const pqxx::row row = txn.exec_params1(
      "SELECT matchers->1->>'value', matchers->0->>'op', horizon = interval '1 day', "
      "step = interval '1 hour', history = interval '7 days', "
      "(SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM pg_index i "
      " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
      " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
      " WHERE i.indrelid = 'capacity.forecast_runs'::regclass AND i.indisprimary) "
      "FROM capacity.forecast_runs WHERE tenant_id = $1 AND id = $2::uuid",
      "acme", *id);
  EXPECT_EQ(row[0].as<std::string>(), "quote\" back\\slash ünïcode");
  EXPECT_EQ(row[1].as<std::string>(), "=~");
  EXPECT_TRUE(row[2].as<bool>());
  EXPECT_TRUE(row[3].as<bool>());
  EXPECT_TRUE(row[4].as<bool>());
  EXPECT_EQ(row[5].as<std::string>(), "tenant_id,id");
}

TEST_F(PgStoreTest, InfiniteMaseAndNoMatchersRoundTrip) {
  PgForecastRunStore store(pool_);
  ForecastRun run = SampleRun("", kNow);
  run.matchers.clear();
  run.mase = std::numeric_limits<double>::infinity();
  auto id = store.SaveRun(run);
  ASSERT_THAT(id, IsOk());
  auto read = store.GetRun("", *id);
  ASSERT_THAT(read, IsOk());
  EXPECT_TRUE(std::isinf(read->mase));
  EXPECT_TRUE(read->matchers.empty());
}

TEST_F(PgStoreTest, RunsAreScopedByTenantAndUnknownIdsAreNotFound) {
  PgForecastRunStore store(pool_);
  auto id = store.SaveRun(SampleRun("acme", kNow));
  ASSERT_THAT(id, IsOk());
  EXPECT_THAT(store.GetRun("globex", *id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store.GetRun("acme", "not-a-uuid"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store.GetRun("acme", "00000000-0000-4000-8000-000000000000"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(PgStoreTest, RetentionDeletesOldRunsInBatches) {
  PgForecastRunStore store(pool_);
  std::vector<std::string> ids;
  for (int days_ago : {10, 9, 8, 1}) {
    auto id = store.SaveRun(SampleRun("acme", kNow - absl::Hours(24 * days_ago)));
    ASSERT_THAT(id, IsOk());
    ids.push_back(*id);
  }
  common::FakeClock clock(kNow);
  RunRetention retention(store, clock, {absl::Hours(24 * 7), absl::Hours(1), /*batch=*/2});
  EXPECT_THAT(retention.RunOnce(), IsOkAndHolds(3));
  EXPECT_THAT(store.GetRun("acme", ids[0]), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store.GetRun("acme", ids[2]), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store.GetRun("acme", ids[3]), IsOk());
  EXPECT_THAT(retention.RunOnce(), IsOkAndHolds(0));
  clock.Advance(absl::Hours(24 * 7));
  EXPECT_THAT(retention.RunOnce(), IsOkAndHolds(1));
}

TEST(PgStoreDownTest, PostgresDownIsUnavailable) {
  common::PgPool pool(
      PoolOptions(absl::StrCat("host=127.0.0.1 port=", agentwatch::testing::FreePort(),
                               " user=postgres dbname=none connect_timeout=2")));
  PgForecastRunStore store(pool);
  EXPECT_THAT(store.SaveRun(SampleRun("acme", kNow)), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store.GetRun("acme", "00000000-0000-4000-8000-000000000001"),
              StatusIs(absl::StatusCode::kUnavailable));
}

common::RedisOptions TestRedisOptions() {
  common::RedisOptions options;
  agentwatch::testing::TestRedis(&options.host, &options.port);
  return options;
}

TEST(RedisCacheTest, StoresWithATtlUnderATenantTaggedKey) {
  common::RedisClient redis(TestRedisOptions());
  RedisForecastCache cache(redis);
  const std::string tenant = RandomTenant();
  const ForecastCacheKey key{tenant, "forecast/v1;canonical"};
  const std::string redis_key = ForecastCacheRedisKey(key);
  EXPECT_THAT(redis_key, MatchesRegex("\\{" + tenant + "\\}:capacity:forecast:[0-9a-f]{16}"));

  EXPECT_THAT(cache.Get(key), IsOkAndHolds(std::nullopt));
  const std::string value("\0response\xff", 10);
  ASSERT_THAT(cache.Put(key, value, absl::Seconds(90)), IsOk());
  EXPECT_THAT(cache.Get(key), IsOkAndHolds(Optional(value)));
  auto ttl = redis.Command({"PTTL", redis_key});
  ASSERT_THAT(ttl, IsOk());
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, 90'000);

  // Another request's entry under the same key (a hash collision) is a miss.
  ASSERT_THAT(redis.Command({"SET", redis_key, "17:forecast/v1;otherRESPONSE"}), IsOk());
  EXPECT_THAT(cache.Get(key), IsOkAndHolds(std::nullopt));
  ASSERT_THAT(redis.Command({"SET", redis_key, "garbage"}), IsOk());
  EXPECT_THAT(cache.Get(key), IsOkAndHolds(std::nullopt));
  ASSERT_THAT(redis.Command({"SET", redis_key, "99:forecast/v1;canonical"}), IsOk());
  EXPECT_THAT(cache.Get(key), IsOkAndHolds(std::nullopt));
  ASSERT_THAT(redis.Command({"DEL", redis_key}), IsOk());
}

TEST(RedisCacheTest, RedisDownIsUnavailable) {
  common::RedisOptions options;
  options.port = agentwatch::testing::FreePort();
  common::RedisClient redis(options);
  RedisForecastCache cache(redis);
  const ForecastCacheKey key{"acme", "k"};
  EXPECT_THAT(cache.Get(key), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(cache.Put(key, "v", absl::Seconds(1)), StatusIs(absl::StatusCode::kUnavailable));
}

// GetForecast over the real Postgres store and Redis cache.
class ServiceIntegrationTest : public ::testing::Test {
 protected:
  ServiceIntegrationTest()
      : pool_(PoolOptions(db_.dsn())),
        store_(pool_),
        clock_(kNow),
        metrics_(registry_),
        executor_(2, 100),
        rpc_(authorizer_, executor_),
        tenant_(RandomTenant()) {}

  void SetUp() override {
    ASSERT_THAT(common::ApplyMigrations(pool_, "capacity", Migrations()), IsOk());
    HistorySeries series;
    const absl::Time end = absl::FromUnixSeconds(absl::ToUnixSeconds(kNow) / 3600 * 3600);
    for (absl::Time t = end - absl::Hours(24 * 7); t < end; t += absl::Hours(1)) {
      series.points.push_back({t, 50.0 + static_cast<double>(absl::ToUnixSeconds(t) / 3600 % 24)});
    }
    history_.SetSeries({series});
  }

  // Serves GetForecast over `cache` and returns a stub to it.
  void Serve(ForecastCache& cache) {
    service_ = std::make_unique<CapacityServiceImpl>(rpc_, clock_, history_, store_, cache,
                                                     metrics_, resources_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::CapacityService::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                             grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  grpc::Status Call(v1::GetForecastResponse* response) {
    v1::GetForecastRequest request;
    request.set_metric("llm_calls_total");
    request.set_tenant(tenant_);
    request.mutable_step()->set_seconds(3600);
    request.mutable_history()->set_seconds(int64_t{7} * 86400);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub_->GetForecast(&context, request, response);
  }

  int64_t StoredRuns() {
    pqxx::connection conn(db_.dsn());
    pqxx::work txn(conn);
    return txn
        .exec_params1("SELECT count(*) FROM capacity.forecast_runs WHERE tenant_id = $1",
                      tenant_)[0]
        .as<int64_t>();
  }

  agentwatch::testing::TestDatabase db_;
  common::PgPool pool_;
  PgForecastRunStore store_;
  common::FakeClock clock_;
  FakeHistorySource history_;
  MemoryResourceStore resources_;
  prometheus::Registry registry_;
  CapacityMetrics metrics_;
  common::Authorizer authorizer_;
  common::BlockingExecutor executor_;
  common::RpcRunner rpc_;
  std::string tenant_;
  std::unique_ptr<CapacityServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::CapacityService::Stub> stub_;
};

TEST_F(ServiceIntegrationTest, PersistsTheRunAndServesARepeatFromRedis) {
  common::RedisClient redis(TestRedisOptions());
  RedisForecastCache cache(redis);
  Serve(cache);

  v1::GetForecastResponse first;
  const grpc::Status status = Call(&first);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(first.model(), "seasonal_naive");
  EXPECT_EQ(first.points_size(), 24);
  EXPECT_EQ(StoredRuns(), 1);
  {
    pqxx::connection conn(db_.dsn());
    pqxx::work txn(conn);
    const pqxx::row row = txn.exec_params1(
        "SELECT metric, model, mase, smape, history_points, points, "
        "horizon = interval '1 day', step = interval '1 hour', created_at = $2::timestamptz "
        "FROM capacity.forecast_runs WHERE tenant_id = $1",
        tenant_, common::PgTimestamp(kNow));
    EXPECT_EQ(row[0].as<std::string>(), "llm_calls_total");
    EXPECT_EQ(row[1].as<std::string>(), "seasonal_naive");
    EXPECT_EQ(row[2].as<double>(), first.backtest_mase());
    EXPECT_EQ(row[3].as<double>(), first.backtest_smape());
    EXPECT_EQ(row[4].as<int64_t>(), 168);
    v1::GetForecastResponse stored;
    ASSERT_TRUE(stored.ParseFromString(pqxx::binarystring(row[5]).str()));
    EXPECT_EQ(stored.SerializeAsString(), first.SerializeAsString());
    EXPECT_TRUE(row[6].as<bool>());
    EXPECT_TRUE(row[7].as<bool>());
    EXPECT_TRUE(row[8].as<bool>());
  }

  v1::GetForecastResponse second;
  ASSERT_TRUE(Call(&second).ok());
  EXPECT_EQ(second.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(history_.calls(), 1);
  EXPECT_EQ(StoredRuns(), 1);

  // The entry is in Redis under the tenant's tag, with a TTL of at most 5 minutes.
  auto keys = redis.Command({"KEYS", "{" + tenant_ + "}:capacity:forecast:*"});
  ASSERT_THAT(keys, IsOk());
  ASSERT_EQ(keys->elements.size(), 1u);
  auto ttl = redis.Command({"PTTL", keys->elements[0].str});
  ASSERT_THAT(ttl, IsOk());
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, 300'000);
  ASSERT_THAT(redis.Command({"DEL", keys->elements[0].str}), IsOk());
}

TEST_F(ServiceIntegrationTest, RedisDownStillForecastsAndPersists) {
  common::RedisOptions options;
  options.port = agentwatch::testing::FreePort();
  common::RedisClient redis(options);
  RedisForecastCache cache(redis);
  Serve(cache);

  v1::GetForecastResponse response;
  const grpc::Status status = Call(&response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.points_size(), 24);
  ASSERT_TRUE(Call(&response).ok());
  EXPECT_EQ(history_.calls(), 2);
  EXPECT_EQ(StoredRuns(), 2);
}

}  // namespace
}  // namespace agentwatch::capacity
