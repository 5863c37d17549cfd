// RpcRunner through a real runtime: every handler is authorized by its
// least role, continues the caller's trace, and TLS works when configured.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/channel.h"
#include "common/runtime.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "common/trace.h"

namespace agentwatch::common {
namespace {

using ::agentwatch::incident::v1::IncidentService;
using ::agentwatch::incident::v1::ListIncidentsRequest;
using ::agentwatch::incident::v1::ListIncidentsResponse;
using ::agentwatch::incident::v1::ReportAlertsRequest;
using ::agentwatch::incident::v1::ReportAlertsResponse;
using ::agentwatch::testing::FreePort;
using ::agentwatch::testing::IsOk;

// Reads need a viewer, writes an operator; both echo the trace they ran in.
class EchoService final : public IncidentService::CallbackService {
 public:
  explicit EchoService(RpcRunner& rpc) : rpc_(rpc) {}
  grpc::ServerUnaryReactor* ListIncidents(grpc::CallbackServerContext* context,
                                          const ListIncidentsRequest*,
                                          ListIncidentsResponse* response) override {
    return rpc_.Unary(context, Role::kViewer, [response] {
      response->set_next_page_token(CurrentTrace().trace_id);
      return absl::OkStatus();
    });
  }
  grpc::ServerUnaryReactor* ReportAlerts(grpc::CallbackServerContext* context,
                                         const ReportAlertsRequest* request,
                                         ReportAlertsResponse* response) override {
    return rpc_.Unary(context, Role::kOperator, [request, response] {
      if (request->alerts_size() == 0) return absl::InvalidArgumentError("alerts: required");
      response->set_accepted(request->alerts_size());
      return absl::OkStatus();
    });
  }

 private:
  RpcRunner& rpc_;
};

std::string TempFile(const std::string& text) {
  char path[] = "/tmp/aw_rpc_XXXXXX";
  close(mkstemp(path));
  std::ofstream(path) << text;
  return path;
}

RuntimeOptions Options() {
  RuntimeOptions options;
  options.service = "rpctest";
  options.schema = "rpctest";
  options.config.grpc_listen = absl::StrCat("127.0.0.1:", FreePort());
  options.config.http_listen = absl::StrCat("127.0.0.1:", FreePort());
  options.config.pg_dsn = "host=127.0.0.1 port=1 connect_timeout=1";  // not needed here
  options.config.redis = absl::StrCat("127.0.0.1:", FreePort());
  return options;
}

grpc::Status List(IncidentService::Stub& stub, ListIncidentsResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return stub.ListIncidents(&context, ListIncidentsRequest(), response);
}

grpc::Status Report(IncidentService::Stub& stub, int alerts) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  ReportAlertsRequest request;
  for (int i = 0; i < alerts; ++i) request.add_alerts()->set_fingerprint("f");
  ReportAlertsResponse response;
  return stub.ReportAlerts(&context, request, &response);
}

TEST(RpcRunnerTest, EnforcesRolesPerRpc) {
  RuntimeOptions options = Options();
  options.config.auth_tokens_file = TempFile("viewer-token viewer\nops-token operator\n");
  auto runtime = ServiceRuntime::Create(options);
  ASSERT_THAT(runtime, IsOk());
  EchoService service((*runtime)->rpc());
  (*runtime)->AddGrpcService(&service);
  ASSERT_THAT((*runtime)->Start(), IsOk());
  const std::string address = absl::StrCat("127.0.0.1:", (*runtime)->grpc_port());

  auto anonymous = IncidentService::NewStub(MakeChannel(address));
  auto viewer = IncidentService::NewStub(MakeChannel(address, {"viewer-token"}));
  auto ops = IncidentService::NewStub(MakeChannel(address, {"ops-token"}));
  auto wrong = IncidentService::NewStub(MakeChannel(address, {"guess"}));
  ListIncidentsResponse listed;
  EXPECT_EQ(List(*anonymous, &listed).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(List(*wrong, &listed).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(List(*viewer, &listed).ok());
  EXPECT_TRUE(List(*ops, &listed).ok());
  EXPECT_EQ(Report(*viewer, 1).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Report(*ops, 1).ok());
  const grpc::Status invalid = Report(*ops, 0);
  EXPECT_EQ(invalid.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(invalid.error_message(), "alerts: required");
  (*runtime)->Shutdown();
}

TEST(RpcRunnerTest, HandlersContinueTheCallersTrace) {
  auto runtime = ServiceRuntime::Create(Options());
  ASSERT_THAT(runtime, IsOk());
  EchoService service((*runtime)->rpc());
  (*runtime)->AddGrpcService(&service);
  ASSERT_THAT((*runtime)->Start(), IsOk());
  auto stub =
      IncidentService::NewStub(MakeChannel(absl::StrCat("127.0.0.1:", (*runtime)->grpc_port())));
  const TraceContext trace = TraceContext::NewRoot();
  ListIncidentsResponse response;
  {
    ScopedTrace scoped(trace);
    ASSERT_TRUE(List(*stub, &response).ok());
  }
  EXPECT_EQ(response.next_page_token(), trace.trace_id);
  // Without a trace the server starts a new one.
  ASSERT_TRUE(List(*stub, &response).ok());
  EXPECT_EQ(response.next_page_token().size(), 32u);
  EXPECT_NE(response.next_page_token(), trace.trace_id);
  (*runtime)->Shutdown();
}

TEST(RpcRunnerTest, ServesTlsWhenConfigured) {
  char dir_pattern[] = "/tmp/aw_tls_XXXXXX";
  const std::string dir = mkdtemp(dir_pattern);
  const std::string command =
      absl::StrCat("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost ",
                   "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout ", dir,
                   "/key.pem -out ", dir, "/cert.pem >/dev/null 2>&1");
  ASSERT_EQ(std::system(command.c_str()), 0) << "openssl failed";
  RuntimeOptions options = Options();
  options.config.tls_cert_file = dir + "/cert.pem";
  options.config.tls_key_file = dir + "/key.pem";
  auto runtime = ServiceRuntime::Create(options);
  ASSERT_THAT(runtime, IsOk());
  EchoService service((*runtime)->rpc());
  (*runtime)->AddGrpcService(&service);
  ASSERT_THAT((*runtime)->Start(), IsOk());
  const std::string address = absl::StrCat("127.0.0.1:", (*runtime)->grpc_port());
  ChannelOptions tls;
  tls.tls_ca_file = dir + "/cert.pem";
  auto secure = IncidentService::NewStub(MakeChannel(address, tls));
  ListIncidentsResponse response;
  EXPECT_TRUE(List(*secure, &response).ok());
  auto plain = IncidentService::NewStub(MakeChannel(address));
  EXPECT_FALSE(List(*plain, &response).ok());
  (*runtime)->Shutdown();
  std::system(absl::StrCat("rm -rf ", dir).c_str());
}

}  // namespace
}  // namespace agentwatch::common
