// Unit tests of CapacityService.GetForecast through a real in-process gRPC
// server, with a fake history source, the in-memory run store and cache, and
// a fake clock.
#include "capacity/api/capacity_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agentwatch/capacity/v1/capacity.grpc.pb.h"
#include "capacity/api/forecast_request.h"
#include "capacity/api/metrics.h"
#include "capacity/history/fake_history_source.h"
#include "capacity/store/memory_forecast_cache.h"
#include "capacity/store/memory_forecast_run_store.h"
#include "capacity/store/memory_resource_store.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/rpc.h"
#include "common/testing/status_matchers.h"

namespace agentwatch::capacity {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;

// 2023-11-14 22:13:20 UTC; a whole number of minutes.
const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000) + absl::Minutes(7);

double DailyProfile(int64_t hour_of_day) {
  return 100 + 60 * std::sin(2 * M_PI * static_cast<double>(hour_of_day) / 24.0);
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  out->set_seconds(absl::ToInt64Seconds(d));
}

// Hourly points (at whole hours) with a daily profile over the `days` before
// `end`; `scale` multiplies the values.
HistorySeries DailySeries(absl::Time end, int64_t days, double scale,
                          std::map<std::string, std::string> labels = {}) {
  HistorySeries series{std::move(labels), {}};
  const absl::Time last_hour =
      absl::UnixEpoch() + absl::Floor(end - absl::UnixEpoch(), absl::Hours(1));
  for (absl::Time t = last_hour - absl::Hours(24 * days); t < last_hour; t += absl::Hours(1)) {
    const int64_t hour = absl::ToUnixSeconds(t) / 3600 % 24;
    series.points.push_back({t, scale * DailyProfile(hour)});
  }
  return series;
}

double CounterValue(prometheus::Registry& registry, const std::string& name,
                    const std::string& label, const std::string& value) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      for (const prometheus::ClientMetric::Label& l : metric.label) {
        if (l.name == label && l.value == value) return metric.counter.value;
      }
    }
  }
  return 0;
}

uint64_t HistogramCount(prometheus::Registry& registry, const std::string& name) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name == name && !family.metric.empty()) {
      return family.metric[0].histogram.sample_count;
    }
  }
  return 0;
}

class CapacityServiceTest : public ::testing::Test {
 protected:
  CapacityServiceTest()
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

  grpc::Status Call(const v1::GetForecastRequest& request, v1::GetForecastResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub_->GetForecast(&context, request, response);
  }

  // A request for an hourly forecast of `metric` one day ahead from 7 days.
  static v1::GetForecastRequest HourlyRequest(const std::string& metric) {
    v1::GetForecastRequest request;
    request.set_metric(metric);
    request.set_tenant("acme");
    SetDuration(absl::Hours(24), request.mutable_horizon());
    SetDuration(absl::Hours(1), request.mutable_step());
    SetDuration(absl::Hours(24 * 7), request.mutable_history());
    return request;
  }

  void ExpectInvalid(const v1::GetForecastRequest& request, grpc::StatusCode code,
                     const std::string& field_prefix) {
    v1::GetForecastResponse response;
    const grpc::Status status = Call(request, &response);
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_THAT(status.error_message(), StartsWith(field_prefix));
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

TEST_F(CapacityServiceTest, ForecastsACounterWithItsDailySeason) {
  history_.SetSeries({DailySeries(kNow, 7, 1.0, {{"__name__", "llm_calls_total"}})});
  v1::GetForecastRequest request = HourlyRequest("llm_calls_total");
  common::v1::LabelMatcher* matcher = request.add_matchers();
  matcher->set_name("model");
  matcher->set_op(common::v1::MATCH_OP_REGEX);
  matcher->set_value("gpt-4.*");

  v1::GetForecastResponse response;
  const grpc::Status status = Call(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // The history query: counters are summed, range aligned to the step and
  // ending at the start of the current step.
  const std::optional<HistoryQuery> query = history_.last_query();
  ASSERT_TRUE(query.has_value());
  const absl::Time end = absl::FromUnixSeconds(absl::ToUnixSeconds(kNow) / 3600 * 3600);
  EXPECT_EQ(query->metric, "llm_calls_total");
  EXPECT_EQ(query->tenant, "acme");
  EXPECT_THAT(query->matchers, ElementsAre(LabelMatcher{"model", MatchOp::kRegex, "gpt-4.*"}));
  EXPECT_EQ(query->aggregation, HistoryAggregation::kSum);
  EXPECT_EQ(query->step, absl::Hours(1));
  EXPECT_EQ(query->end, end);
  EXPECT_EQ(query->start, end - absl::Hours(24 * 7));

  EXPECT_EQ(response.model(), "seasonal_naive");
  EXPECT_EQ(response.backtest_mase(), 0);
  EXPECT_EQ(response.backtest_smape(), 0);
  EXPECT_EQ(response.history_points(), 24 * 7);
  ASSERT_EQ(response.candidates_size(), 5);
  EXPECT_EQ(response.candidates(0).model(), "seasonal_naive");
  EXPECT_EQ(response.candidates(1).model(), "naive");
  EXPECT_EQ(response.candidates(2).model(), "fourier_regression");
  EXPECT_EQ(response.candidates(3).model(), "damped_trend");
  EXPECT_EQ(response.candidates(4).model(), "seasonal_ar");
  for (int i = 1; i < 4; ++i) EXPECT_GT(response.candidates(i).mase(), 0) << i;
  ASSERT_EQ(response.points_size(), 24);
  for (int h = 0; h < 24; ++h) {
    const absl::Time t = end + absl::Hours(h);
    EXPECT_EQ(FromTimestamp(response.points(h).time()), t) << h;
    EXPECT_DOUBLE_EQ(response.points(h).value(), DailyProfile(absl::ToUnixSeconds(t) / 3600 % 24));
    EXPECT_LE(response.points(h).lower_95(), response.points(h).lower_80());
    EXPECT_GE(response.points(h).upper_95(), response.points(h).upper_80());
  }

  // Recorded once, with the request and the response.
  const std::vector<ForecastRun> runs = runs_.runs();
  ASSERT_THAT(runs, SizeIs(1));
  EXPECT_EQ(runs[0].tenant, "acme");
  EXPECT_EQ(runs[0].metric, "llm_calls_total");
  EXPECT_EQ(runs[0].matchers, query->matchers);
  EXPECT_EQ(runs[0].created_at, kNow);
  EXPECT_EQ(runs[0].horizon, absl::Hours(24));
  EXPECT_EQ(runs[0].step, absl::Hours(1));
  EXPECT_EQ(runs[0].history, absl::Hours(24 * 7));
  EXPECT_EQ(runs[0].model, "seasonal_naive");
  EXPECT_EQ(runs[0].requested_model, "");
  EXPECT_EQ(runs[0].history_points, 24 * 7);
  v1::GetForecastResponse stored;
  ASSERT_TRUE(stored.ParseFromString(runs[0].response));
  EXPECT_EQ(stored.SerializeAsString(), response.SerializeAsString());

  EXPECT_EQ(
      CounterValue(registry_, "agentwatch_capacity_forecasts_total", "model", "seasonal_naive"), 1);
  EXPECT_EQ(HistogramCount(registry_, "agentwatch_capacity_forecast_seconds"), 1u);
  EXPECT_EQ(cache_.last_ttl(), absl::Minutes(5));
}

TEST_F(CapacityServiceTest, SeveralSeriesAreSummedAndCounterGapsAreZero) {
  HistorySeries a = DailySeries(kNow, 7, 1.0, {{"model", "a"}});
  HistorySeries b = DailySeries(kNow, 7, 2.0, {{"model", "b"}});
  // Drop one hour of `b`: for a counter that hour had no events.
  b.points.erase(b.points.begin() + 10);
  history_.SetSeries({a, b});
  v1::GetForecastRequest request = HourlyRequest("llm_calls_total");
  request.set_model("seasonal_naive");
  v1::GetForecastResponse response;
  ASSERT_TRUE(Call(request, &response).ok());
  EXPECT_EQ(response.model(), "seasonal_naive");
  EXPECT_EQ(response.candidates_size(), 0);
  EXPECT_EQ(response.history_points(), 24 * 7);
  const absl::Time t = FromTimestamp(response.points(0).time());
  EXPECT_DOUBLE_EQ(response.points(0).value(),
                   3 * DailyProfile(absl::ToUnixSeconds(t) / 3600 % 24));
}

TEST_F(CapacityServiceTest, GaugeGapsAreImputedAndAveraged) {
  HistorySeries series = DailySeries(kNow, 7, 1.0);
  // Gauges: missing hours are gaps, filled from the previous day.
  series.points.erase(series.points.begin() + 50, series.points.begin() + 53);
  series.points.pop_back();
  history_.SetSeries({series});
  v1::GetForecastResponse response;
  ASSERT_TRUE(Call(HourlyRequest("resource_cpu_utilization"), &response).ok());
  EXPECT_EQ(history_.last_query()->aggregation, HistoryAggregation::kAvg);
  EXPECT_EQ(response.model(), "seasonal_naive");
  EXPECT_EQ(response.history_points(), 24 * 7);
  EXPECT_EQ(response.backtest_mase(), 0);
  for (int h = 0; h < 24; ++h) {
    const absl::Time t = FromTimestamp(response.points(h).time());
    EXPECT_DOUBLE_EQ(response.points(h).value(), DailyProfile(absl::ToUnixSeconds(t) / 3600 % 24));
  }
}

TEST_F(CapacityServiceTest, DefaultsAreFiveMinuteStepsOverTwentyEightDaysOneDayAhead) {
  HistorySeries series;
  const absl::Time end =
      absl::UnixEpoch() + absl::Floor(kNow - absl::UnixEpoch(), absl::Minutes(5));
  for (absl::Time t = end - absl::Hours(24 * 3); t < end; t += absl::Minutes(5)) {
    series.points.push_back({t, 1.0 + absl::ToUnixSeconds(t) / 300 % 288});
  }
  history_.SetSeries({series});
  v1::GetForecastRequest request;
  request.set_metric("workflow_runs_total");
  v1::GetForecastResponse response;
  const grpc::Status status = Call(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::optional<HistoryQuery> query = history_.last_query();
  EXPECT_EQ(query->step, absl::Minutes(5));
  EXPECT_EQ(query->end, end);
  EXPECT_EQ(query->start, end - absl::Hours(24 * 28));
  EXPECT_EQ(query->tenant, "");
  EXPECT_EQ(response.points_size(), 288);
  // A counter: the 25 days before its first event are not zero demand (the
  // series did not exist yet): only the 3 observed days are fitted.
  EXPECT_EQ(response.history_points(), 288 * 3);
  EXPECT_EQ(response.model(), "seasonal_naive");
}

TEST_F(CapacityServiceTest, RepeatedCallsAreServedFromTheCacheUntilTheNextStep) {
  history_.SetSeries({DailySeries(kNow, 7, 1.0)});
  const v1::GetForecastRequest request = HourlyRequest("llm_calls_total");
  v1::GetForecastResponse first;
  ASSERT_TRUE(Call(request, &first).ok());
  v1::GetForecastResponse second;
  ASSERT_TRUE(Call(request, &second).ok());
  EXPECT_EQ(second.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(history_.calls(), 1);
  EXPECT_THAT(runs_.runs(), SizeIs(1));
  EXPECT_EQ(
      CounterValue(registry_, "agentwatch_capacity_forecast_cache_requests_total", "result", "hit"),
      1);
  EXPECT_EQ(CounterValue(registry_, "agentwatch_capacity_forecast_cache_requests_total", "result",
                         "miss"),
            1);

  // A different request is not served another's response.
  v1::GetForecastRequest other = request;
  other.set_tenant("globex");
  v1::GetForecastResponse third;
  ASSERT_TRUE(Call(other, &third).ok());
  EXPECT_EQ(history_.calls(), 2);

  // Once the next step completes, the forecast is recomputed.
  clock_.Advance(absl::Hours(1));
  v1::GetForecastResponse fourth;
  ASSERT_TRUE(Call(request, &fourth).ok());
  EXPECT_EQ(history_.calls(), 3);
  EXPECT_THAT(runs_.runs(), SizeIs(3));
}

TEST_F(CapacityServiceTest, CacheDownStillForecasts) {
  history_.SetSeries({DailySeries(kNow, 7, 1.0)});
  cache_.SetError(absl::UnavailableError("redis down"));
  v1::GetForecastResponse response;
  const grpc::Status status = Call(HourlyRequest("llm_calls_total"), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.points_size(), 24);
  EXPECT_THAT(runs_.runs(), SizeIs(1));
  EXPECT_EQ(CounterValue(registry_, "agentwatch_capacity_forecast_cache_requests_total", "result",
                         "error"),
            1);
}

TEST_F(CapacityServiceTest, MonitorDownIsUnavailable) {
  history_.SetError(absl::UnavailableError("monitor at 127.0.0.1:50051 is unavailable; retry"));
  v1::GetForecastResponse response;
  const grpc::Status status = Call(HourlyRequest("llm_calls_total"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("monitor"));
  EXPECT_THAT(runs_.runs(), SizeIs(0));
}

TEST_F(CapacityServiceTest, StoreDownIsUnavailableAndNothingIsCached) {
  history_.SetSeries({DailySeries(kNow, 7, 1.0)});
  runs_.SetError(absl::UnavailableError("postgres unreachable"));
  v1::GetForecastResponse response;
  EXPECT_EQ(Call(HourlyRequest("llm_calls_total"), &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  runs_.SetError(absl::OkStatus());
  ASSERT_TRUE(Call(HourlyRequest("llm_calls_total"), &response).ok());
  EXPECT_EQ(history_.calls(), 2);
  EXPECT_THAT(runs_.runs(), SizeIs(1));
}

TEST_F(CapacityServiceTest, TooShortHistoryIsFailedPrecondition) {
  // Ten hours of a gauge: fewer than the 12 observed points needed.
  HistorySeries series;
  const absl::Time end = absl::FromUnixSeconds(absl::ToUnixSeconds(kNow) / 3600 * 3600);
  for (int i = 1; i <= 10; ++i) series.points.push_back({end - absl::Hours(i), 5.0});
  history_.SetSeries({series});
  ExpectInvalid(HourlyRequest("resource_queue_depth"), grpc::StatusCode::FAILED_PRECONDITION,
                "history:");

  // A day and a half of a falling line: enough for the non-seasonal models,
  // not for seasonal naive; the damped trend follows the line best.
  series.points.clear();
  for (int i = 1; i <= 36; ++i) series.points.push_back({end - absl::Hours(i), 5.0 + i});
  history_.SetSeries({series});
  v1::GetForecastRequest seasonal = HourlyRequest("resource_queue_depth");
  seasonal.set_model("seasonal_naive");
  ExpectInvalid(seasonal, grpc::StatusCode::FAILED_PRECONDITION, "model: seasonal_naive");
  v1::GetForecastResponse response;
  ASSERT_TRUE(Call(HourlyRequest("resource_queue_depth"), &response).ok());
  EXPECT_EQ(response.model(), "damped_trend");
  EXPECT_EQ(response.candidates_size(), 2);
  EXPECT_EQ(response.history_points(), 36);
}

TEST_F(CapacityServiceTest, NoDataIsNotFound) {
  history_.SetSeries({});
  ExpectInvalid(HourlyRequest("llm_calls_total"), grpc::StatusCode::NOT_FOUND, "no data");
  history_.SetSeries({HistorySeries{{{"__name__", "llm_calls_total"}}, {}}});
  ExpectInvalid(HourlyRequest("llm_calls_total"), grpc::StatusCode::NOT_FOUND, "no data");
}

TEST_F(CapacityServiceTest, InvalidRequestsNameTheField) {
  history_.SetSeries({DailySeries(kNow, 7, 1.0)});
  const v1::GetForecastRequest good = HourlyRequest("llm_calls_total");
  const auto with = [&](auto mutate) {
    v1::GetForecastRequest request = good;
    mutate(request);
    return request;
  };
  using Request = v1::GetForecastRequest;
  const grpc::StatusCode kInvalid = grpc::StatusCode::INVALID_ARGUMENT;

  ExpectInvalid(with([](Request& r) { r.clear_metric(); }), kInvalid, "metric: must not be empty");
  ExpectInvalid(with([](Request& r) { r.set_metric("llm calls"); }), kInvalid, "metric:");
  ExpectInvalid(with([](Request& r) { r.set_metric("9lives"); }), kInvalid, "metric:");
  ExpectInvalid(with([](Request& r) {
                  r.add_matchers()->set_name("model");
                  r.mutable_matchers(0)->set_op(common::v1::MATCH_OP_EQUAL);
                  r.add_matchers()->set_op(common::v1::MATCH_OP_EQUAL);
                }),
                kInvalid, "matchers[1].name:");
  ExpectInvalid(with([](Request& r) { r.add_matchers()->set_name("model"); }), kInvalid,
                "matchers[0].op:");
  ExpectInvalid(with([](Request& r) { SetDuration(absl::ZeroDuration(), r.mutable_horizon()); }),
                kInvalid, "horizon: must be positive");
  ExpectInvalid(with([](Request& r) { SetDuration(-absl::Hours(1), r.mutable_horizon()); }),
                kInvalid, "horizon: must be positive");
  ExpectInvalid(with([](Request& r) { SetDuration(absl::Hours(24 * 36), r.mutable_horizon()); }),
                kInvalid, "horizon: must be at most");
  ExpectInvalid(with([](Request& r) {
                  r.mutable_horizon()->set_seconds(60);
                  r.mutable_horizon()->set_nanos(-5);
                }),
                kInvalid, "horizon: is not a valid duration");
  ExpectInvalid(with([](Request& r) { SetDuration(absl::Seconds(90), r.mutable_step()); }),
                kInvalid, "step: must be a whole number of minutes");
  ExpectInvalid(with([](Request& r) { SetDuration(absl::Seconds(30), r.mutable_step()); }),
                kInvalid, "step: must be a whole number of minutes");
  ExpectInvalid(with([](Request& r) { r.mutable_step()->set_nanos(1); }), kInvalid, "step:");
  ExpectInvalid(with([](Request& r) { SetDuration(absl::ZeroDuration(), r.mutable_step()); }),
                kInvalid, "step: must be positive");
  ExpectInvalid(with([](Request& r) { SetDuration(absl::Hours(48), r.mutable_step()); }), kInvalid,
                "step: must be at most");
  ExpectInvalid(with([](Request& r) { SetDuration(absl::ZeroDuration(), r.mutable_history()); }),
                kInvalid, "history: must be positive");
  ExpectInvalid(with([](Request& r) { SetDuration(absl::Hours(24 * 91), r.mutable_history()); }),
                kInvalid, "history: must be at most");
  ExpectInvalid(with([](Request& r) { r.set_model("prophet"); }), kInvalid, "model: unknown");
  ExpectInvalid(with([](Request& r) { r.set_model("holt_winters"); }),
                grpc::StatusCode::UNIMPLEMENTED, "model: holt_winters");
  // 8 days at one minute is 11,520 points: over the 10,000-point limit.
  ExpectInvalid(with([](Request& r) {
                  SetDuration(absl::Hours(24 * 8), r.mutable_horizon());
                  SetDuration(absl::Minutes(1), r.mutable_step());
                }),
                grpc::StatusCode::RESOURCE_EXHAUSTED, "horizon:");

  // None of them reached the history source or the store.
  EXPECT_EQ(history_.calls(), 0);
  EXPECT_THAT(runs_.runs(), SizeIs(0));
}

TEST_F(CapacityServiceTest, RecommendationsWithoutResourcesAreEmpty) {
  grpc::ClientContext context;
  v1::GetRecommendationsRequest request;
  v1::GetRecommendationsResponse response;
  ASSERT_TRUE(stub_->GetRecommendations(&context, request, &response).ok());
  EXPECT_EQ(response.recommendations_size(), 0);
  EXPECT_TRUE(response.next_page_token().empty());
  EXPECT_EQ(history_.calls(), 0);
}

TEST(ForecastRequestTest, HorizonNotAMultipleOfTheStepRoundsUpAndTtlIsCapped) {
  v1::GetForecastRequest request;
  request.set_metric("queue_depth");
  SetDuration(absl::Minutes(90), request.mutable_horizon());
  SetDuration(absl::Hours(1), request.mutable_step());
  auto query = ParseForecastRequest(request, kNow);
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->horizon_points, 2);
  EXPECT_EQ(query->missing, MissingStep::kGap);
  EXPECT_FALSE(query->non_negative);
  EXPECT_EQ(ForecastCacheTtl(*query), absl::Minutes(5));
  SetDuration(absl::Minutes(2), request.mutable_step());
  query = ParseForecastRequest(request, kNow);
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(ForecastCacheTtl(*query), absl::Minutes(2));
}

TEST(ForecastRequestTest, CanonicalKeysDifferForEveryInput) {
  v1::GetForecastRequest request;
  request.set_metric("llm_calls_total");
  const std::string base = CanonicalForecastKey(*ParseForecastRequest(request, kNow));
  EXPECT_EQ(CanonicalForecastKey(*ParseForecastRequest(request, kNow + absl::Minutes(1))), base);
  std::vector<std::string> keys;
  const auto add = [&](const v1::GetForecastRequest& r, absl::Time now) {
    auto query = ParseForecastRequest(r, now);
    ASSERT_TRUE(query.ok()) << query.status();
    keys.push_back(CanonicalForecastKey(*query));
  };
  add(request, kNow + absl::Minutes(5));  // the next step
  v1::GetForecastRequest r = request;
  r.set_tenant("a");
  add(r, kNow);
  r = request;
  r.set_model("naive");
  add(r, kNow);
  r = request;
  SetDuration(absl::Hours(2), r.mutable_horizon());
  add(r, kNow);
  r = request;
  SetDuration(absl::Hours(24), r.mutable_history());
  add(r, kNow);
  r = request;
  common::v1::LabelMatcher* m = r.add_matchers();
  m->set_name("a");
  m->set_op(common::v1::MATCH_OP_EQUAL);
  m->set_value("b;c");
  add(r, kNow);
  m->set_op(common::v1::MATCH_OP_NOT_EQUAL);
  add(r, kNow);
  for (const std::string& key : keys) EXPECT_NE(key, base);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(std::unique(keys.begin(), keys.end()), keys.end());
}

}  // namespace
}  // namespace agentwatch::capacity
