// The service runtime against a private Postgres: gRPC health and /readyz
// follow the database, and /metrics counts RPCs by method and code.
#include "common/runtime.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace agentwatch::common {
namespace {

using ::agentwatch::testing::FreePort;
using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::PrivatePostgres;

int HttpStatus(int port, const std::string& path) {
  const std::string command =
      absl::StrCat("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:", port, path);
  FILE* pipe = popen(command.c_str(), "r");
  char buffer[16] = {0};
  fgets(buffer, sizeof(buffer), pipe);
  pclose(pipe);
  return std::atoi(buffer);
}

std::string HttpBody(int port, const std::string& path) {
  const std::string command = absl::StrCat("curl -s http://127.0.0.1:", port, path);
  FILE* pipe = popen(command.c_str(), "r");
  std::string body;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) body.append(buffer, n);
  pclose(pipe);
  return body;
}

grpc::health::v1::HealthCheckResponse::ServingStatus Health(grpc::health::v1::Health::Stub& stub,
                                                            grpc::Status* status) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  *status = stub.Check(&context, request, &response);
  return response.status();
}

// Polls until the health check answers `want` or 20 s pass.
bool WaitForHealth(grpc::health::v1::Health::Stub& stub,
                   grpc::health::v1::HealthCheckResponse::ServingStatus want) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    grpc::Status status;
    if (Health(stub, &status) == want && status.ok()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

TEST(ServiceRuntimeTest, HealthFollowsPostgres) {
  using Serving = grpc::health::v1::HealthCheckResponse;
  PrivatePostgres pg;
  ASSERT_THAT(pg.Start(), IsOk());
  static const std::vector<Migration> kMigrations = {
      {1, "001_t", "CREATE TABLE rttest.t (id int PRIMARY KEY);"}};
  RuntimeOptions options;
  options.service = "rttest";
  options.schema = "rttest";
  options.migrations = &kMigrations;
  options.config.grpc_listen = absl::StrCat("127.0.0.1:", FreePort());
  options.config.http_listen = absl::StrCat("127.0.0.1:", FreePort());
  options.config.pg_dsn = pg.dsn();
  options.config.redis = absl::StrCat("127.0.0.1:", FreePort());  // nothing there: a cache only
  options.config.health_probe_interval = absl::Milliseconds(50);
  options.config.health_probe_timeout = absl::Milliseconds(300);
  auto runtime = ServiceRuntime::Create(options);
  ASSERT_THAT(runtime, IsOk());
  bool worker_started = false;
  (*runtime)->AddWorker([&] { worker_started = true; }, [] {});
  ASSERT_THAT((*runtime)->Start(), IsOk());
  const int http_port = (*runtime)->http_port();

  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*runtime)->grpc_port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  EXPECT_TRUE(WaitForHealth(*stub, Serving::SERVING));
  EXPECT_TRUE(worker_started);
  EXPECT_EQ(HttpStatus(http_port, "/readyz"), 200);
  EXPECT_EQ(HttpStatus(http_port, "/healthz"), 200);
  EXPECT_EQ(HttpStatus(http_port, "/nope"), 404);

  ASSERT_THAT(pg.Stop(), IsOk());
  EXPECT_TRUE(WaitForHealth(*stub, Serving::NOT_SERVING));
  EXPECT_EQ(HttpStatus(http_port, "/readyz"), 503);
  EXPECT_EQ(HttpStatus(http_port, "/healthz"), 200);  // alive, just not ready

  ASSERT_THAT(pg.Start(), IsOk());
  EXPECT_TRUE(WaitForHealth(*stub, Serving::SERVING));
  EXPECT_EQ(HttpStatus(http_port, "/readyz"), 200);

  // A server that keeps its connections but answers nothing: not ready once
  // the probe's timeout passes, ready again when it answers.
  ASSERT_THAT(pg.Freeze(), IsOk());
  EXPECT_TRUE(WaitForHealth(*stub, Serving::NOT_SERVING));
  EXPECT_EQ(HttpStatus(http_port, "/readyz"), 503);
  ASSERT_THAT(pg.Thaw(), IsOk());
  EXPECT_TRUE(WaitForHealth(*stub, Serving::SERVING));
  EXPECT_EQ(HttpStatus(http_port, "/readyz"), 200);

  const std::string metrics = HttpBody(http_port, "/metrics");
  EXPECT_THAT(metrics, ::testing::HasSubstr("agentwatch_rttest_grpc_requests_total{code=\"OK\","
                                            "method=\"/grpc.health.v1.Health/Check\"}"));
  EXPECT_THAT(metrics,
              ::testing::HasSubstr("agentwatch_rttest_dependency_up{dependency=\"postgres\"} 1"));
  EXPECT_THAT(metrics,
              ::testing::HasSubstr("agentwatch_rttest_dependency_up{dependency=\"redis\"} 0"));
  (*runtime)->Shutdown();
}

TEST(ServiceRuntimeTest, BadConfigIsRejectedNamingTheFlag) {
  RuntimeOptions options;
  options.service = "rttest";
  options.schema = "rttest";
  options.config.grpc_listen = "nowhere";
  options.config.http_listen = "127.0.0.1:0";
  EXPECT_THAT(ServiceRuntime::Create(options).status(),
              ::agentwatch::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                              ::testing::HasSubstr("--grpc_listen")));
}

}  // namespace
}  // namespace agentwatch::common
