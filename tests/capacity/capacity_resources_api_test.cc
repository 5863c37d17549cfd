// Unit tests of the capacity model's RPCs (resources, GetRecommendations,
// GetUsagePatterns) through a real in-process gRPC server, with a fake
// history source, the in-memory stores and a fake clock.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agentwatch/capacity/v1/capacity.grpc.pb.h"
#include "capacity/api/capacity_service.h"
#include "capacity/api/metrics.h"
#include "capacity/history/fake_history_source.h"
#include "capacity/store/memory_forecast_cache.h"
#include "capacity/store/memory_forecast_run_store.h"
#include "capacity/store/memory_resource_store.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/rpc.h"

namespace agentwatch::capacity {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Tuesday 2023-11-14 22:13:20 UTC + 7 minutes.
const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000) + absl::Minutes(7);

double Profile(absl::Time t) {
  const double hour = static_cast<double>(absl::ToUnixSeconds(t) % 86400) / 3600.0;
  return 100 + 60 * std::sin(2 * M_PI * hour / 24);
}

// A gauge every 5 minutes over the `days` before now with a daily profile.
HistorySeries DailyGauge(int64_t days) {
  HistorySeries series;
  const absl::Time end =
      absl::UnixEpoch() + absl::Floor(kNow - absl::UnixEpoch(), absl::Minutes(5));
  for (absl::Time t = end - absl::Hours(24 * days); t < end; t += absl::Minutes(5)) {
    series.points.push_back({t, Profile(t)});
  }
  return series;
}

v1::Resource Replicas(const std::string& name) {
  v1::Resource r;
  r.set_name(name);
  r.set_tenant("acme");
  r.set_kind(v1::RESOURCE_KIND_REPLICAS);
  r.set_metric("agent_inflight_requests");
  common::v1::LabelMatcher* m = r.add_matchers();
  m->set_name("workflow");
  m->set_op(common::v1::MATCH_OP_EQUAL);
  m->set_value("triage");
  r.set_per_unit_capacity(10);
  r.set_target_utilization(0.5);
  r.set_current(4);
  r.set_min(2);
  r.set_max(50);
  (*r.mutable_labels())["team"] = "support";
  return r;
}

class ResourcesApiTest : public ::testing::Test {
 protected:
  ResourcesApiTest()
      : clock_(kNow),
        cache_(clock_),
        metrics_(registry_),
        executor_(4, 100),
        rpc_(authorizer_, executor_),
        service_(rpc_, clock_, history_, runs_, cache_, metrics_, resources_) {}

  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::CapacityService::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                             grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_->Shutdown(); }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return context;
  }

  grpc::Status Create(const v1::Resource& resource, v1::Resource* out,
                      const std::string& request_id = "") {
    v1::CreateResourceRequest request;
    *request.mutable_resource() = resource;
    request.set_request_id(request_id);
    return stub_->CreateResource(Context().get(), request, out);
  }

  v1::Resource MustCreate(const v1::Resource& resource) {
    v1::Resource out;
    const grpc::Status status = Create(resource, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  static void ExpectError(const grpc::Status& status, grpc::StatusCode code,
                          const std::string& prefix) {
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_THAT(status.error_message(), StartsWith(prefix));
  }

  common::FakeClock clock_;
  FakeHistorySource history_;
  MemoryForecastRunStore runs_;
  MemoryForecastCache cache_;
  MemoryResourceStore resources_;
  prometheus::Registry registry_;
  CapacityMetrics metrics_;
  common::Authorizer authorizer_;
  common::BlockingExecutor executor_;
  common::RpcRunner rpc_;
  CapacityServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::CapacityService::Stub> stub_;
};

TEST_F(ResourcesApiTest, CreateAppliesDefaultsAndIsIdempotentByRequestId) {
  v1::Resource created;
  ASSERT_TRUE(Create(Replicas("planner"), &created, "req-1").ok());
  EXPECT_FALSE(created.id().empty());
  EXPECT_EQ(created.name(), "planner");
  EXPECT_EQ(created.alert_horizon().seconds(), 86400);
  EXPECT_EQ(created.alert_severity(), common::v1::SEVERITY_P2);
  EXPECT_DOUBLE_EQ(created.headroom(), 0.15);
  EXPECT_EQ(created.create_time().seconds(), absl::ToUnixSeconds(kNow));
  EXPECT_EQ(created.matchers(0).op(), common::v1::MATCH_OP_EQUAL);
  EXPECT_EQ(created.labels().at("team"), "support");

  // A retry answers the first result; another create of the name conflicts.
  clock_.Advance(absl::Minutes(1));
  v1::Resource again;
  ASSERT_TRUE(Create(Replicas("planner"), &again, "req-1").ok());
  EXPECT_EQ(again.id(), created.id());
  EXPECT_EQ(again.create_time().seconds(), absl::ToUnixSeconds(kNow));
  v1::Resource other;
  ExpectError(Create(Replicas("planner"), &other, "req-2"), grpc::StatusCode::ALREADY_EXISTS,
              "resource name \"planner\" exists");
  // The same name in another tenant is fine.
  v1::Resource elsewhere = Replicas("planner");
  elsewhere.set_tenant("globex");
  EXPECT_TRUE(Create(elsewhere, &other).ok());
}

TEST_F(ResourcesApiTest, CreateRejectsBadInputNamingTheField) {
  v1::Resource out;
  v1::CreateResourceRequest empty;
  ExpectError(stub_->CreateResource(Context().get(), empty, &out),
              grpc::StatusCode::INVALID_ARGUMENT, "resource: must be set");
  v1::Resource r = Replicas("x");
  r.set_target_utilization(0);
  ExpectError(Create(r, &out), grpc::StatusCode::INVALID_ARGUMENT,
              "resource.target_utilization: must be in (0, 1]");
  r = Replicas("x");
  r.set_min(60);
  ExpectError(Create(r, &out), grpc::StatusCode::INVALID_ARGUMENT, "resource.max");
  r = Replicas("x");
  r.mutable_matchers(0)->set_op(common::v1::MATCH_OP_UNSPECIFIED);
  ExpectError(Create(r, &out), grpc::StatusCode::INVALID_ARGUMENT, "resource.matchers[0].op");
  r = Replicas("x");
  r.set_kind(v1::RESOURCE_KIND_UNSPECIFIED);
  ExpectError(Create(r, &out), grpc::StatusCode::INVALID_ARGUMENT, "resource.kind");
  r = Replicas("x");
  r.set_per_unit_capacity(-1);
  ExpectError(Create(r, &out), grpc::StatusCode::INVALID_ARGUMENT, "resource.per_unit_capacity");
  r = Replicas("x");
  r.mutable_alert_horizon()->set_seconds(-5);
  ExpectError(Create(r, &out), grpc::StatusCode::INVALID_ARGUMENT, "resource.alert_horizon");
  ExpectError(Create(Replicas("x"), &out, std::string(129, 'r')),
              grpc::StatusCode::INVALID_ARGUMENT, "request_id");
}

TEST_F(ResourcesApiTest, GetUpdateDelete) {
  const v1::Resource created = MustCreate(Replicas("planner"));
  v1::GetResourceRequest get;
  v1::Resource got;
  ExpectError(stub_->GetResource(Context().get(), get, &got), grpc::StatusCode::INVALID_ARGUMENT,
              "id: must not be empty");
  get.set_id("00000000-0000-4000-8000-999999999999");
  ExpectError(stub_->GetResource(Context().get(), get, &got), grpc::StatusCode::NOT_FOUND, "");
  get.set_id(created.id());
  ASSERT_TRUE(stub_->GetResource(Context().get(), get, &got).ok());
  EXPECT_EQ(got.name(), "planner");

  // A masked update changes only what the mask names.
  clock_.Advance(absl::Minutes(3));
  v1::UpdateResourceRequest update;
  update.mutable_resource()->set_id(created.id());
  update.mutable_resource()->set_current(8);
  update.mutable_resource()->set_name("ignored-not-in-mask");
  update.mutable_update_mask()->add_paths("current");
  v1::Resource updated;
  ASSERT_TRUE(stub_->UpdateResource(Context().get(), update, &updated).ok());
  EXPECT_EQ(updated.current(), 8);
  EXPECT_EQ(updated.name(), "planner");
  EXPECT_EQ(updated.per_unit_capacity(), 10);
  EXPECT_EQ(updated.update_time().seconds(), absl::ToUnixSeconds(kNow + absl::Minutes(3)));
  EXPECT_EQ(updated.create_time().seconds(), absl::ToUnixSeconds(kNow));

  update.mutable_update_mask()->set_paths(0, "colour");
  ExpectError(stub_->UpdateResource(Context().get(), update, &updated),
              grpc::StatusCode::INVALID_ARGUMENT, "update_mask: unknown field \"colour\"");
  update.mutable_update_mask()->set_paths(0, "tenant");
  ExpectError(stub_->UpdateResource(Context().get(), update, &updated),
              grpc::StatusCode::INVALID_ARGUMENT, "update_mask: tenant is read-only");
  update.mutable_update_mask()->set_paths(0, "min");
  update.mutable_resource()->set_min(99);
  ExpectError(stub_->UpdateResource(Context().get(), update, &updated),
              grpc::StatusCode::INVALID_ARGUMENT, "resource.max");

  // A whole replacement (empty mask) may not move the resource to another
  // tenant.
  v1::UpdateResourceRequest replace;
  *replace.mutable_resource() = Replicas("planner-v2");
  replace.mutable_resource()->set_id(created.id());
  replace.mutable_resource()->set_tenant("globex");
  ExpectError(stub_->UpdateResource(Context().get(), replace, &updated),
              grpc::StatusCode::INVALID_ARGUMENT, "resource.tenant: cannot be changed");
  replace.mutable_resource()->set_tenant("");
  ASSERT_TRUE(stub_->UpdateResource(Context().get(), replace, &updated).ok());
  EXPECT_EQ(updated.name(), "planner-v2");
  EXPECT_EQ(updated.current(), 4);
  replace.mutable_resource()->set_id("00000000-0000-4000-8000-999999999999");
  ExpectError(stub_->UpdateResource(Context().get(), replace, &updated),
              grpc::StatusCode::NOT_FOUND, "");

  v1::DeleteResourceRequest del;
  del.set_id(created.id());
  google::protobuf::Empty empty;
  ASSERT_TRUE(stub_->DeleteResource(Context().get(), del, &empty).ok());
  ExpectError(stub_->DeleteResource(Context().get(), del, &empty), grpc::StatusCode::NOT_FOUND, "");
  ExpectError(stub_->GetResource(Context().get(), get, &got), grpc::StatusCode::NOT_FOUND, "");
}

TEST_F(ResourcesApiTest, ListPagesByNameAndFilters) {
  for (const char* name : {"e", "a", "d", "b", "c"}) MustCreate(Replicas(name));
  v1::Resource quota = Replicas("quota");
  quota.set_kind(v1::RESOURCE_KIND_TOKEN_QUOTA_TPM);
  MustCreate(quota);
  v1::Resource other = Replicas("z");
  other.set_tenant("globex");
  MustCreate(other);

  v1::ListResourcesRequest request;
  request.set_tenant("acme");
  request.set_kind(v1::RESOURCE_KIND_REPLICAS);
  request.set_page_size(2);
  std::vector<std::string> names;
  int pages = 0;
  while (true) {
    v1::ListResourcesResponse response;
    ASSERT_TRUE(stub_->ListResources(Context().get(), request, &response).ok());
    ++pages;
    for (const v1::Resource& r : response.resources()) names.push_back(r.name());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(pages, 3);

  v1::ListResourcesRequest all;
  v1::ListResourcesResponse everything;
  ASSERT_TRUE(stub_->ListResources(Context().get(), all, &everything).ok());
  EXPECT_EQ(everything.resources_size(), 7);
  EXPECT_TRUE(everything.next_page_token().empty());

  v1::ListResourcesResponse bad;
  all.set_page_token("not a token");
  ExpectError(stub_->ListResources(Context().get(), all, &bad), grpc::StatusCode::INVALID_ARGUMENT,
              "page_token");
  all.set_page_token("");
  all.set_page_size(-1);
  ExpectError(stub_->ListResources(Context().get(), all, &bad), grpc::StatusCode::INVALID_ARGUMENT,
              "page_size");
}

TEST_F(ResourcesApiTest, RecommendsReplicasHpaTargetAndScheduleFromTheForecast) {
  history_.SetSeries({DailyGauge(14)});
  const v1::Resource created = MustCreate(Replicas("planner"));
  v1::GetRecommendationsRequest request;
  request.set_resource_id(created.id());
  request.mutable_horizon()->set_seconds(86400);
  v1::GetRecommendationsResponse response;
  const grpc::Status status = stub_->GetRecommendations(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // The history query: the resource's series at 5 minutes over 28 days.
  ASSERT_TRUE(history_.last_query().has_value());
  EXPECT_EQ(history_.last_query()->metric, "agent_inflight_requests");
  EXPECT_EQ(history_.last_query()->tenant, "acme");
  EXPECT_EQ(history_.last_query()->step, absl::Minutes(5));
  EXPECT_EQ(history_.last_query()->end - history_.last_query()->start, absl::Hours(24 * 28));

  std::set<v1::RecommendationKind> kinds;
  for (const v1::Recommendation& rec : response.recommendations()) {
    kinds.insert(rec.kind());
    EXPECT_EQ(rec.resource(), created.id());
    EXPECT_EQ(rec.resource_name(), "planner");
    EXPECT_GT(rec.confidence(), 0.5) << rec.kind();
    EXPECT_LE(rec.confidence(), 1);
    EXPECT_FALSE(rec.reason().empty());
    EXPECT_NEAR(rec.forecast_peak(), 160, 3);
    // Capacity 4 x 10 = 40 is crossed within the day.
    EXPECT_TRUE(rec.has_breach_time());
    // Latest demand over capacity 40.
    EXPECT_GT(rec.utilization(), 1);
    if (rec.kind() == v1::RECOMMENDATION_KIND_SCALE_REPLICAS) {
      EXPECT_EQ(rec.current(), 4);
      EXPECT_GE(rec.recommended(), 32);  // ceil(160 / 5), or one more for a
      EXPECT_LE(rec.recommended(), 33);  // model a hair above 160
      EXPECT_EQ(rec.unit(), "replicas");
    }
    if (rec.kind() == v1::RECOMMENDATION_KIND_HPA_TARGET) EXPECT_EQ(rec.recommended(), 5);
    if (rec.kind() == v1::RECOMMENDATION_KIND_SCHEDULED_SCALING) {
      ASSERT_GT(rec.schedule_size(), 0);
      EXPECT_EQ(rec.schedule(0).window().time_zone(), "UTC");
      EXPECT_LT(rec.recommended(), 32);
    }
  }
  EXPECT_EQ(kinds, (std::set<v1::RecommendationKind>{v1::RECOMMENDATION_KIND_SCALE_REPLICAS,
                                                     v1::RECOMMENDATION_KIND_HPA_TARGET,
                                                     v1::RECOMMENDATION_KIND_SCHEDULED_SCALING}));
}

TEST_F(ResourcesApiTest, RecommendationsForAScopePageByResource) {
  history_.SetSeries({DailyGauge(7)});
  v1::Resource a = Replicas("a");
  v1::Resource b = Replicas("b");
  v1::Resource c = Replicas("c");
  (*c.mutable_labels())["team"] = "billing";
  MustCreate(a);
  MustCreate(b);
  MustCreate(c);
  v1::GetRecommendationsRequest request;
  request.mutable_scope()->set_tenant("acme");
  request.mutable_scope()->set_team("support");
  request.mutable_horizon()->set_seconds(3 * 3600);
  request.set_page_size(1);
  std::vector<std::string> names;
  for (int page = 0; page < 5; ++page) {
    v1::GetRecommendationsResponse response;
    const grpc::Status status = stub_->GetRecommendations(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    std::set<std::string> in_page;
    for (const v1::Recommendation& rec : response.recommendations()) {
      in_page.insert(rec.resource_name());
    }
    // The last page may come back empty when the resources after the last
    // match are out of scope.
    if (in_page.empty()) {
      EXPECT_TRUE(response.next_page_token().empty());
      break;
    }
    ASSERT_EQ(in_page.size(), 1u);
    names.push_back(*in_page.begin());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b"}));

  request.clear_page_token();
  request.mutable_horizon()->set_seconds(36 * 86400);
  v1::GetRecommendationsResponse response;
  ExpectError(stub_->GetRecommendations(Context().get(), request, &response),
              grpc::StatusCode::INVALID_ARGUMENT, "horizon: must be at most");
}

TEST_F(ResourcesApiTest, RecommendationErrors) {
  const v1::Resource created = MustCreate(Replicas("planner"));
  v1::GetRecommendationsRequest request;
  request.set_resource_id(created.id());
  v1::GetRecommendationsResponse response;
  // No data for the resource's series.
  ExpectError(stub_->GetRecommendations(Context().get(), request, &response),
              grpc::StatusCode::NOT_FOUND, "no data for metric agent_inflight_requests");
  // A scope skips it instead.
  v1::GetRecommendationsRequest scope;
  scope.mutable_scope()->set_tenant("acme");
  ASSERT_TRUE(stub_->GetRecommendations(Context().get(), scope, &response).ok());
  EXPECT_EQ(response.recommendations_size(), 0);
  // Monitor down: UNAVAILABLE, for a scope as well.
  history_.SetError(absl::UnavailableError("monitor is down"));
  ExpectError(stub_->GetRecommendations(Context().get(), scope, &response),
              grpc::StatusCode::UNAVAILABLE, "");
  request.set_resource_id("00000000-0000-4000-8000-999999999999");
  ExpectError(stub_->GetRecommendations(Context().get(), request, &response),
              grpc::StatusCode::NOT_FOUND, "resource");
  request.mutable_horizon()->set_seconds(-1);
  ExpectError(stub_->GetRecommendations(Context().get(), request, &response),
              grpc::StatusCode::INVALID_ARGUMENT, "horizon");
}

TEST_F(ResourcesApiTest, UsagePatternsOfAResourceAndOfASeries) {
  history_.SetSeries({DailyGauge(14)});
  const v1::Resource created = MustCreate(Replicas("planner"));
  v1::GetUsagePatternsRequest request;
  request.set_resource_id(created.id());
  v1::UsagePatterns patterns;
  grpc::Status status = stub_->GetUsagePatterns(Context().get(), request, &patterns);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(patterns.hour_of_day_size(), 24);
  ASSERT_EQ(patterns.day_of_week_size(), 7);
  ASSERT_GT(patterns.peak_hours_size(), 0);
  EXPECT_EQ(patterns.peak_hours(0), 6);  // sin peaks at 06:00 UTC
  EXPECT_EQ(patterns.changepoints_size(), 0);
  EXPECT_NEAR(patterns.growth_rate_per_week(), 0, 0.01);
  EXPECT_GE(patterns.history_points(), 14 * 24 * 4 - 1);
  EXPECT_EQ(history_.last_query()->step, absl::Minutes(15));

  // By metric, in a zone two hours ahead of UTC without DST.
  v1::GetUsagePatternsRequest by_metric;
  by_metric.set_metric("agent_inflight_requests");
  by_metric.set_tenant("acme");
  by_metric.set_time_zone("Africa/Cairo");
  by_metric.mutable_history()->set_seconds(7 * 86400);
  status = stub_->GetUsagePatterns(Context().get(), by_metric, &patterns);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(history_.last_query()->step, absl::Minutes(5));
  ASSERT_GT(patterns.peak_hours_size(), 0);
  EXPECT_EQ(patterns.peak_hours(0), 8);

  by_metric.set_time_zone("Mars/Olympus_Mons");
  ExpectError(stub_->GetUsagePatterns(Context().get(), by_metric, &patterns),
              grpc::StatusCode::INVALID_ARGUMENT, "time_zone");
  by_metric.set_time_zone("");
  by_metric.set_metric("");
  ExpectError(stub_->GetUsagePatterns(Context().get(), by_metric, &patterns),
              grpc::StatusCode::INVALID_ARGUMENT, "metric");
  request.set_resource_id("00000000-0000-4000-8000-999999999999");
  ExpectError(stub_->GetUsagePatterns(Context().get(), request, &patterns),
              grpc::StatusCode::NOT_FOUND, "");
}

}  // namespace
}  // namespace agentwatch::capacity
