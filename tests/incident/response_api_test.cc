// The response-rule RPCs through a real in-process gRPC server with the
// in-memory store behind it: create (defaults, idempotent by request_id),
// get, update with and without a field mask, delete, list with paging, bad
// inputs with their exact codes and fields, and channel references.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/rpc.h"
#include "common/testing/status_matchers.h"
#include "incident/api/incident_metrics.h"
#include "incident/api/incident_service.h"
#include "incident/store/memory_incident_store.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::testing::HasSubstr;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

class ResponseApiTest : public ::testing::Test {
 protected:
  ResponseApiTest()
      : clock_(kStart),
        executor_(std::make_unique<common::BlockingExecutor>(4, 100)),
        rpc_(authorizer_, *executor_),
        metrics_(registry_, "agentwatch_incident"),
        store_(ids_),
        service_(store_, rpc_, clock_, metrics_, *ParseGroupBy("group_by", "alertname")) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::IncidentService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  ~ResponseApiTest() override {
    server_->Shutdown();
    executor_.reset();
  }

  static v1::ResponseRule Rule(const std::string& name) {
    v1::ResponseRule r;
    r.set_name(name);
    r.set_tenant("acme");
    r.mutable_condition()->add_alert_names("ApiDown");
    r.add_actions()->mutable_webhook()->set_url("https://ops.example/restart");
    return r;
  }

  grpc::Status Create(const v1::ResponseRule& rule, v1::ResponseRule* out,
                      const std::string& request_id = "") {
    grpc::ClientContext context;
    v1::CreateResponseRuleRequest request;
    *request.mutable_rule() = rule;
    request.set_request_id(request_id);
    return stub_->CreateResponseRule(&context, request, out);
  }

  grpc::Status Update(const v1::ResponseRule& rule, const std::vector<std::string>& paths,
                      v1::ResponseRule* out) {
    grpc::ClientContext context;
    v1::UpdateResponseRuleRequest request;
    *request.mutable_rule() = rule;
    for (const std::string& p : paths) request.mutable_update_mask()->add_paths(p);
    return stub_->UpdateResponseRule(&context, request, out);
  }

  std::string AddChannel(const std::string& tenant) {
    v1::CreateNotificationChannelRequest request;
    request.mutable_channel()->set_name(absl::StrCat("chan-", tenant));
    request.mutable_channel()->set_tenant(tenant);
    request.mutable_channel()->mutable_webhook()->set_url("http://127.0.0.1:9/hook");
    v1::NotificationChannel out;
    grpc::ClientContext context;
    EXPECT_TRUE(stub_->CreateNotificationChannel(&context, request, &out).ok());
    return out.id();
  }

  static void ExpectError(const grpc::Status& status, grpc::StatusCode code,
                          const std::string& message) {
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(message));
  }

  common::FakeClock clock_;
  common::Authorizer authorizer_;
  std::unique_ptr<common::BlockingExecutor> executor_;
  common::RpcRunner rpc_;
  prometheus::Registry registry_;
  IncidentMetrics metrics_;
  testing::SequentialIds ids_;
  MemoryIncidentStore store_;
  IncidentServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::IncidentService::Stub> stub_;
};

TEST_F(ResponseApiTest, CreateAppliesDefaultsAndGetReturnsIt) {
  v1::ResponseRule created;
  ASSERT_TRUE(Create(Rule("restart"), &created).ok());
  EXPECT_FALSE(created.id().empty());
  EXPECT_EQ(created.cooldown().seconds(), 600);
  EXPECT_EQ(created.actions(0).webhook().timeout().seconds(), 10);
  EXPECT_EQ(created.create_time().seconds(), absl::ToUnixSeconds(kStart));
  v1::ResponseRule got;
  grpc::ClientContext context;
  v1::GetResponseRuleRequest get;
  get.set_id(created.id());
  ASSERT_TRUE(stub_->GetResponseRule(&context, get, &got).ok());
  EXPECT_EQ(got.SerializeAsString(), created.SerializeAsString());
}

TEST_F(ResponseApiTest, CreateIsIdempotentByRequestId) {
  v1::ResponseRule a;
  v1::ResponseRule b;
  ASSERT_TRUE(Create(Rule("restart"), &a, "req-1").ok());
  clock_.Advance(absl::Seconds(3));
  ASSERT_TRUE(Create(Rule("restart"), &b, "req-1").ok());
  EXPECT_EQ(a.id(), b.id());
  EXPECT_EQ(a.create_time().seconds(), b.create_time().seconds());
  v1::ResponseRule c;
  ExpectError(Create(Rule("restart"), &c, "req-2"), grpc::StatusCode::ALREADY_EXISTS, "");
}

TEST_F(ResponseApiTest, BadRulesAreRefusedNamingTheField) {
  struct Case {
    std::function<void(v1::ResponseRule&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](v1::ResponseRule& r) { r.clear_actions(); }, "rule.actions: at least one action"},
      {[](v1::ResponseRule& r) { r.set_max_per_hour(-1); },
       "rule.max_per_hour: must not be negative"},
      {[](v1::ResponseRule& r) { r.clear_name(); }, "rule.name: required"},
      {[](v1::ResponseRule& r) { r.clear_tenant(); }, "rule.tenant: required"},
      {[](v1::ResponseRule& r) { r.add_actions(); },
       "rule.actions[1]: exactly one action is required"},
      {[](v1::ResponseRule& r) { r.mutable_actions(0)->mutable_webhook()->set_url("nope"); },
       "rule.actions[0].webhook.url: must be an http:// or https:// URL"},
      {[](v1::ResponseRule& r) {
         r.mutable_actions(0)->mutable_webhook()->mutable_timeout()->set_nanos(-5);
       },
       "rule.actions[0].webhook.timeout"},
      {[](v1::ResponseRule& r) { r.mutable_cooldown()->set_seconds(-1); }, "rule.cooldown"},
      {[](v1::ResponseRule& r) {
         r.mutable_condition()->add_severities(static_cast<common::v1::Severity>(42));
       },
       "rule.condition.severities[0]: unknown severity 42"},
      {[](v1::ResponseRule& r) {
         auto* m = r.mutable_condition()->add_matchers();
         m->set_name("service");
         m->set_op(common::v1::MATCH_OP_REGEX);
         m->set_value("(");
       },
       "rule.condition.matchers[0].value: invalid regular expression"},
      {[](v1::ResponseRule& r) { r.add_actions()->mutable_notify()->add_channel_ids("nope"); },
       "rule.actions[1].notify.channel_ids[0]: unknown channel nope in tenant acme"},
      {[](v1::ResponseRule& r) { r.add_actions()->mutable_add_note(); },
       "rule.actions[1].add_note.text: required"},
  };
  for (const Case& c : cases) {
    v1::ResponseRule rule = Rule("bad");
    c.edit(rule);
    v1::ResponseRule out;
    ExpectError(Create(rule, &out), grpc::StatusCode::INVALID_ARGUMENT, c.message);
  }
  v1::ResponseRule out;
  grpc::ClientContext context;
  v1::CreateResponseRuleRequest request;
  *request.mutable_rule() = Rule("x");
  request.set_request_id(std::string(129, 'r'));
  ExpectError(stub_->CreateResponseRule(&context, request, &out),
              grpc::StatusCode::INVALID_ARGUMENT, "request_id");
}

TEST_F(ResponseApiTest, NotifyChannelsMustBeTheTenantsAndCannotBeDeletedWhileUsed) {
  const std::string other = AddChannel("globex");
  v1::ResponseRule rule = Rule("notify");
  rule.add_actions()->mutable_notify()->add_channel_ids(other);
  v1::ResponseRule out;
  ExpectError(Create(rule, &out), grpc::StatusCode::INVALID_ARGUMENT,
              "rule.actions[1].notify.channel_ids[0]: unknown channel");
  const std::string mine = AddChannel("acme");
  rule.mutable_actions(1)->mutable_notify()->set_channel_ids(0, mine);
  ASSERT_TRUE(Create(rule, &out).ok());
  {
    grpc::ClientContext context;
    v1::DeleteNotificationChannelRequest request;
    request.set_id(mine);
    google::protobuf::Empty empty;
    ExpectError(stub_->DeleteNotificationChannel(&context, request, &empty),
                grpc::StatusCode::FAILED_PRECONDITION, "");
  }
  {
    grpc::ClientContext context;
    v1::DeleteResponseRuleRequest request;
    request.set_id(out.id());
    google::protobuf::Empty empty;
    ASSERT_TRUE(stub_->DeleteResponseRule(&context, request, &empty).ok());
  }
  grpc::ClientContext context;
  v1::DeleteNotificationChannelRequest request;
  request.set_id(mine);
  google::protobuf::Empty empty;
  EXPECT_TRUE(stub_->DeleteNotificationChannel(&context, request, &empty).ok());
}

TEST_F(ResponseApiTest, UpdateWithAMaskChangesOnlyThoseFields) {
  v1::ResponseRule created;
  v1::ResponseRule rule = Rule("restart");
  rule.set_max_per_hour(5);
  ASSERT_TRUE(Create(rule, &created).ok());
  clock_.Advance(absl::Seconds(1));
  v1::ResponseRule patch;
  patch.set_id(created.id());
  patch.mutable_cooldown()->set_seconds(60);
  patch.set_name("ignored");
  v1::ResponseRule updated;
  ASSERT_TRUE(Update(patch, {"cooldown"}, &updated).ok());
  EXPECT_EQ(updated.cooldown().seconds(), 60);
  EXPECT_EQ(updated.name(), "restart");
  EXPECT_EQ(updated.max_per_hour(), 5);
  EXPECT_EQ(updated.actions_size(), 1);
  EXPECT_GT(updated.update_time().seconds(), created.update_time().seconds());
  EXPECT_EQ(updated.create_time().seconds(), created.create_time().seconds());
  // An empty mask replaces every writable field (tenant stays).
  v1::ResponseRule full = Rule("renamed");
  full.set_id(created.id());
  full.set_tenant("other");
  ASSERT_TRUE(Update(full, {}, &updated).ok());
  EXPECT_EQ(updated.name(), "renamed");
  EXPECT_EQ(updated.tenant(), "acme");
  EXPECT_EQ(updated.max_per_hour(), 0);
  EXPECT_EQ(updated.cooldown().seconds(), 600);
}

TEST_F(ResponseApiTest, UpdateRefusesBadRequests) {
  v1::ResponseRule created;
  ASSERT_TRUE(Create(Rule("restart"), &created).ok());
  v1::ResponseRule out;
  v1::ResponseRule patch;
  ExpectError(Update(patch, {"name"}, &out), grpc::StatusCode::INVALID_ARGUMENT,
              "rule.id: required");
  patch.set_id("missing");
  ExpectError(Update(patch, {"name"}, &out), grpc::StatusCode::NOT_FOUND, "");
  patch.set_id(created.id());
  ExpectError(Update(patch, {"nonsense"}, &out), grpc::StatusCode::INVALID_ARGUMENT, "update_mask");
  ExpectError(Update(patch, {"tenant"}, &out), grpc::StatusCode::INVALID_ARGUMENT,
              "update_mask: \"tenant\" is read-only");
  ExpectError(Update(patch, {"actions"}, &out), grpc::StatusCode::INVALID_ARGUMENT,
              "rule.actions: at least one action");
  patch.set_max_per_hour(-3);
  ExpectError(Update(patch, {"max_per_hour"}, &out), grpc::StatusCode::INVALID_ARGUMENT,
              "rule.max_per_hour");
}

TEST_F(ResponseApiTest, GetAndDeleteUnknownAreNotFoundAndEmptyIdsInvalid) {
  v1::ResponseRule out;
  google::protobuf::Empty empty;
  {
    grpc::ClientContext context;
    v1::GetResponseRuleRequest request;
    ExpectError(stub_->GetResponseRule(&context, request, &out), grpc::StatusCode::INVALID_ARGUMENT,
                "id: required");
  }
  {
    grpc::ClientContext context;
    v1::GetResponseRuleRequest request;
    request.set_id("nope");
    ExpectError(stub_->GetResponseRule(&context, request, &out), grpc::StatusCode::NOT_FOUND, "");
  }
  grpc::ClientContext context;
  v1::DeleteResponseRuleRequest request;
  request.set_id("nope");
  ExpectError(stub_->DeleteResponseRule(&context, request, &empty), grpc::StatusCode::NOT_FOUND,
              "");
}

TEST_F(ResponseApiTest, ListPagesInNameOrderPerTenant) {
  for (const char* name : {"c", "a", "e", "b", "d"}) {
    v1::ResponseRule out;
    ASSERT_TRUE(Create(Rule(name), &out).ok());
  }
  v1::ResponseRule other = Rule("z");
  other.set_tenant("globex");
  v1::ResponseRule out;
  ASSERT_TRUE(Create(other, &out).ok());
  std::vector<std::string> names;
  std::string token;
  do {
    grpc::ClientContext context;
    v1::ListResponseRulesRequest request;
    request.set_tenant("acme");
    request.set_page_size(2);
    request.set_page_token(token);
    v1::ListResponseRulesResponse response;
    ASSERT_TRUE(stub_->ListResponseRules(&context, request, &response).ok());
    for (const v1::ResponseRule& r : response.rules()) names.push_back(r.name());
    token = response.next_page_token();
  } while (!token.empty());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  grpc::ClientContext context;
  v1::ListResponseRulesRequest request;
  request.set_tenant("globex");
  request.set_page_token("garbage!");
  v1::ListResponseRulesResponse response;
  ExpectError(stub_->ListResponseRules(&context, request, &response),
              grpc::StatusCode::INVALID_ARGUMENT, "page_token");
  grpc::ClientContext context2;
  request.set_page_token("");
  request.set_page_size(-1);
  ExpectError(stub_->ListResponseRules(&context2, request, &response),
              grpc::StatusCode::INVALID_ARGUMENT, "page_size");
}

}  // namespace
}  // namespace agentwatch::incident
