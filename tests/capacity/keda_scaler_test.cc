// Integration test of the KEDA external scaler: externalscaler.ExternalScaler
// called by a gRPC client exactly as KEDA calls it (a ScaledObjectRef with
// the ScaledObject's name, namespace and trigger metadata), over a resource
// in the real Postgres and the value cache in the real Redis, with a fake
// history source and a fake clock.
#include "capacity/api/keda_scaler.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <string>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "capacity/history/fake_history_source.h"
#include "capacity/store/migrations.h"
#include "capacity/store/pg_resource_store.h"
#include "capacity/store/redis_forecast_cache.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/pg.h"
#include "common/redis.h"
#include "common/rpc.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "externalscaler/externalscaler.grpc.pb.h"

namespace agentwatch::capacity {
namespace {

using ::agentwatch::testing::IsOk;
using ::testing::StartsWith;

// 2023-11-14 22:15:00 UTC: the demand rises towards midnight.
const absl::Time kNow = absl::FromUnixSeconds(1'700'000'100);

double Profile(absl::Time t) {
  const double hour = static_cast<double>(absl::ToUnixSeconds(t) % 86400) / 3600.0;
  return 100 + 60 * std::sin(2 * M_PI * hour / 24);
}

// A gauge every minute over the three days before `now`, scaled.
HistorySeries MinuteGauge(absl::Time now, double scale) {
  HistorySeries series;
  const absl::Time end = absl::UnixEpoch() + absl::Floor(now - absl::UnixEpoch(), absl::Minutes(1));
  for (absl::Time t = end - absl::Hours(72); t < end; t += absl::Minutes(1)) {
    series.points.push_back({t, scale * Profile(t)});
  }
  return series;
}

common::PgPoolOptions PoolOptions(const std::string& dsn) {
  common::PgPoolOptions options;
  options.dsn = dsn;
  options.size = 4;
  return options;
}

common::RedisOptions RedisOptions() {
  common::RedisOptions options;
  agentwatch::testing::TestRedis(&options.host, &options.port);
  return options;
}

class KedaScalerTest : public ::testing::Test {
 protected:
  KedaScalerTest()
      : pool_(PoolOptions(db_.dsn())),
        resources_(pool_),
        redis_(RedisOptions()),
        cache_(redis_),
        clock_(kNow),
        executor_(4, 100),
        rpc_(authorizer_, executor_),
        scaler_(rpc_, clock_, history_, resources_, cache_, {absl::Milliseconds(20)}) {}

  void SetUp() override {
    ASSERT_THAT(common::ApplyMigrations(pool_, "capacity", Migrations()), IsOk());
    absl::BitGen gen;
    Resource r;
    r.tenant = absl::StrCat("keda-", absl::Uniform<uint64_t>(gen));
    r.name = "Planner_Workers";
    r.kind = ResourceKind::kReplicas;
    r.metric = "agent_inflight_requests";
    r.per_unit_capacity = 10;
    r.target_utilization = 0.5;
    r.current = 4;
    r.min = 1;
    r.max = 50;
    const absl::StatusOr<Resource> created = resources_.CreateResource(r, "", kNow);
    ASSERT_THAT(created, IsOk());
    resource_id_ = created->id;
    history_.SetSeries({MinuteGauge(kNow, 1.0)});

    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&scaler_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = externalscaler::ExternalScaler::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_->Shutdown(); }

  // The ScaledObjectRef KEDA sends for a trigger with this metadata.
  externalscaler::ScaledObjectRef Ref(std::map<std::string, std::string> metadata) const {
    externalscaler::ScaledObjectRef ref;
    ref.set_name("planner-workers");
    ref.set_namespace_("agents");
    metadata.emplace("resourceId", resource_id_);
    for (const auto& [key, value] : metadata) (*ref.mutable_scalermetadata())[key] = value;
    return ref;
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return context;
  }

  agentwatch::testing::TestDatabase db_;
  common::PgPool pool_;
  PgResourceStore resources_;
  common::RedisClient redis_;
  RedisForecastCache cache_;
  common::FakeClock clock_;
  FakeHistorySource history_;
  common::Authorizer authorizer_;
  common::BlockingExecutor executor_;
  common::RpcRunner rpc_;
  KedaScalerImpl scaler_;
  std::string resource_id_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<externalscaler::ExternalScaler::Stub> stub_;
};

TEST_F(KedaScalerTest, MetricSpecAndMetricsScaleBeforeThePeak) {
  const externalscaler::ScaledObjectRef ref = Ref({{"lookahead", "1h"}});
  externalscaler::GetMetricSpecResponse spec;
  ASSERT_TRUE(stub_->GetMetricSpec(Context().get(), ref, &spec).ok());
  ASSERT_EQ(spec.metricspecs_size(), 1);
  EXPECT_EQ(spec.metricspecs(0).metricname(), "agentwatch-forecast-planner-workers");
  EXPECT_DOUBLE_EQ(spec.metricspecs(0).targetsizefloat(), 5);
  EXPECT_EQ(spec.metricspecs(0).targetsize(), 5);

  // KEDA asks for the metric by the name the spec gave (its "sN-" prefix
  // removed).
  externalscaler::GetMetricsRequest request;
  *request.mutable_scaledobjectref() = ref;
  request.set_metricname(spec.metricspecs(0).metricname());
  externalscaler::GetMetricsResponse metrics;
  grpc::Status status = stub_->GetMetrics(Context().get(), request, &metrics);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(metrics.metricvalues_size(), 1);
  EXPECT_EQ(metrics.metricvalues(0).metricname(), "agentwatch-forecast-planner-workers");
  const double value = metrics.metricvalues(0).metricvaluefloat();
  // The demand now is ~74 and rises to ~88 within the hour: the metric is the
  // peak ahead, not the current value.
  const absl::Time last =
      absl::UnixEpoch() + absl::Floor(kNow - absl::UnixEpoch(), absl::Minutes(1));
  EXPECT_GT(value, Profile(last - absl::Minutes(1)) + 10);
  EXPECT_NEAR(value, Profile(last + absl::Minutes(59)), 3);
  EXPECT_EQ(metrics.metricvalues(0).metricvalue(), std::llround(value));

  // Within the same minute the value comes from the cache, not from monitor.
  const int64_t calls = history_.calls();
  externalscaler::GetMetricsResponse again;
  ASSERT_TRUE(stub_->GetMetrics(Context().get(), request, &again).ok());
  EXPECT_EQ(again.metricvalues(0).metricvaluefloat(), value);
  EXPECT_EQ(history_.calls(), calls);
  // The next minute recomputes.
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(stub_->GetMetrics(Context().get(), request, &again).ok());
  EXPECT_GT(history_.calls(), calls);
}

TEST_F(KedaScalerTest, IsActiveAgainstTheActivationThreshold) {
  externalscaler::IsActiveResponse active;
  ASSERT_TRUE(stub_->IsActive(Context().get(), Ref({}), &active).ok());
  EXPECT_TRUE(active.result());
  ASSERT_TRUE(
      stub_->IsActive(Context().get(), Ref({{"activationThreshold", "500"}}), &active).ok());
  EXPECT_FALSE(active.result());
}

TEST_F(KedaScalerTest, ShortHistoryFallsBackToTheLatestDemand) {
  HistorySeries recent;
  const absl::Time end =
      absl::UnixEpoch() + absl::Floor(kNow - absl::UnixEpoch(), absl::Minutes(1));
  for (int i = 5; i >= 1; --i) recent.points.push_back({end - i * absl::Minutes(1), 10.0 * i});
  history_.SetSeries({recent});
  externalscaler::GetMetricsRequest request;
  *request.mutable_scaledobjectref() = Ref({{"lookahead", "5m"}});
  externalscaler::GetMetricsResponse metrics;
  const grpc::Status status = stub_->GetMetrics(Context().get(), request, &metrics);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_DOUBLE_EQ(metrics.metricvalues(0).metricvaluefloat(), 10);
  EXPECT_EQ(metrics.metricvalues(0).metricname(), "agentwatch-forecast-planner-workers");
}

TEST_F(KedaScalerTest, RejectsBadMetadataNamingTheKey) {
  externalscaler::IsActiveResponse active;
  externalscaler::ScaledObjectRef ref = Ref({});
  ref.mutable_scalermetadata()->erase("resourceId");
  grpc::Status status = stub_->IsActive(Context().get(), ref, &active);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("scalerMetadata.resourceId"));
  status = stub_->IsActive(Context().get(), Ref({{"lookahead", "soon"}}), &active);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("scalerMetadata.lookahead"));
  status = stub_->IsActive(Context().get(), Ref({{"lookahead", "48h"}}), &active);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  status = stub_->IsActive(Context().get(), Ref({{"activationThreshold", "lots"}}), &active);
  EXPECT_THAT(status.error_message(), StartsWith("scalerMetadata.activationThreshold"));
  ref = Ref({});
  (*ref.mutable_scalermetadata())["resourceId"] = "00000000-0000-4000-8000-000000000000";
  externalscaler::GetMetricSpecResponse spec;
  EXPECT_EQ(stub_->GetMetricSpec(Context().get(), ref, &spec).error_code(),
            grpc::StatusCode::NOT_FOUND);
  history_.SetError(absl::UnavailableError("monitor down"));
  EXPECT_EQ(stub_->IsActive(Context().get(), Ref({}), &active).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(KedaScalerTest, StreamIsActiveSendsChangesUntilCancelled) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto reader = stub_->StreamIsActive(&context, Ref({{"activationThreshold", "150"}}));
  externalscaler::IsActiveResponse message;
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_FALSE(message.result());  // ~88 at most within 10 minutes
  // Demand triples; in the next minute the stream reports it active.
  history_.SetSeries({MinuteGauge(kNow + absl::Minutes(1), 3.0)});
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_TRUE(message.result());
  context.TryCancel();
  EXPECT_FALSE(reader->Read(&message));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(KedaScalerTest, StreamEndsWithTheEvaluationError) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  externalscaler::ScaledObjectRef ref = Ref({});
  (*ref.mutable_scalermetadata())["resourceId"] = "00000000-0000-4000-8000-000000000000";
  auto reader = stub_->StreamIsActive(&context, ref);
  externalscaler::IsActiveResponse message;
  EXPECT_FALSE(reader->Read(&message));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace agentwatch::capacity
