// The paging RPCs through a real in-process gRPC server with the in-memory
// store behind it: escalation policies, schedules with GetOnCall, channels
// with TestNotificationChannel, their validation, update masks, paging and
// references; and every RPC's id fields required and bounded, naming the
// field.
#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/http_server.h"
#include "common/rpc.h"
#include "common/testing/status_matchers.h"
#include "incident/api/incident_metrics.h"
#include "incident/api/incident_service.h"
#include "incident/api/notifier.h"
#include "incident/api/proto_mapping.h"
#include "incident/store/memory_incident_store.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::testing::HasSubstr;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

class PagingApiTest : public ::testing::Test {
 protected:
  PagingApiTest()
      : clock_(kStart),
        executor_(std::make_unique<common::BlockingExecutor>(4, 100)),
        rpc_(authorizer_, *executor_),
        metrics_(registry_, "agentwatch_incident"),
        store_(ids_),
        notifier_(store_, clock_),
        service_(store_, rpc_, clock_, metrics_, *ParseGroupBy("group_by", "alertname"),
                 &notifier_) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    stub_ = v1::IncidentService::NewStub(channel_);
  }

  ~PagingApiTest() override {
    server_->Shutdown();
    executor_.reset();
  }

  static v1::NotificationChannel Webhook(const std::string& name, const std::string& url,
                                         const std::string& person = "") {
    v1::NotificationChannel c;
    c.set_name(name);
    c.set_tenant("acme");
    c.set_person(person);
    c.mutable_webhook()->set_url(url);
    return c;
  }

  grpc::Status CreateChannel(const v1::NotificationChannel& channel, v1::NotificationChannel* out,
                             const std::string& request_id = "") {
    grpc::ClientContext context;
    v1::CreateNotificationChannelRequest request;
    *request.mutable_channel() = channel;
    request.set_request_id(request_id);
    return stub_->CreateNotificationChannel(&context, request, out);
  }

  static v1::Schedule Weekly() {
    v1::Schedule s;
    s.set_name("primary");
    s.set_tenant("acme");
    s.set_time_zone("Europe/Berlin");
    v1::Rotation* r = s.add_rotations();
    r->set_name("weekly");
    r->add_participants("alice");
    r->add_participants("bob");
    TimeToProto(kStart, r->mutable_start_time());
    r->mutable_shift_length()->set_seconds(7 * 24 * 3600);
    return s;
  }

  grpc::Status CreateSchedule(const v1::Schedule& schedule, v1::Schedule* out) {
    grpc::ClientContext context;
    v1::CreateScheduleRequest request;
    *request.mutable_schedule() = schedule;
    return stub_->CreateSchedule(&context, request, out);
  }

  grpc::Status CreatePolicy(const v1::EscalationPolicy& policy, v1::EscalationPolicy* out) {
    grpc::ClientContext context;
    v1::CreateEscalationPolicyRequest request;
    *request.mutable_policy() = policy;
    return stub_->CreateEscalationPolicy(&context, request, out);
  }

  common::FakeClock clock_;
  common::Authorizer authorizer_;
  std::unique_ptr<common::BlockingExecutor> executor_;
  common::RpcRunner rpc_;
  prometheus::Registry registry_;
  IncidentMetrics metrics_;
  testing::SequentialIds ids_;
  MemoryIncidentStore store_;
  Notifier notifier_;
  IncidentServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::IncidentService::Stub> stub_;
};

TEST_F(PagingApiTest, ChannelCrudWithDefaultsMaskAndValidation) {
  v1::NotificationChannel created;
  ASSERT_TRUE(
      CreateChannel(Webhook("ops", "https://hooks.example.com/a", "alice"), &created, "req-1")
          .ok());
  EXPECT_FALSE(created.id().empty());
  EXPECT_EQ(created.webhook().timeout().seconds(), 5);  // default shown
  EXPECT_EQ(created.create_time().seconds(), absl::ToUnixSeconds(kStart));
  v1::NotificationChannel retried;
  ASSERT_TRUE(
      CreateChannel(Webhook("ops", "https://hooks.example.com/a", "alice"), &retried, "req-1")
          .ok());
  EXPECT_EQ(retried.id(), created.id());
  v1::NotificationChannel dup;
  grpc::Status status = CreateChannel(Webhook("ops", "https://hooks.example.com/b"), &dup);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  status = CreateChannel(Webhook("bad", "ftp://x"), &dup);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("channel.webhook.url"));
  v1::NotificationChannel none;
  none.set_name("none");
  none.set_tenant("acme");
  status = CreateChannel(none, &dup);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("channel.config"));
  v1::NotificationChannel email;
  email.set_name("mail");
  email.set_tenant("acme");
  email.mutable_email()->set_smtp_host("127.0.0.1");
  email.mutable_email()->set_from_address("aw@example.com");
  email.mutable_email()->add_to_addresses("oncall@example.com");
  v1::NotificationChannel mail;
  ASSERT_TRUE(CreateChannel(email, &mail).ok());
  EXPECT_EQ(mail.email().smtp_port(), 587);

  // Update only the person through a mask.
  clock_.Advance(absl::Minutes(1));
  v1::UpdateNotificationChannelRequest update;
  update.mutable_channel()->set_id(created.id());
  update.mutable_channel()->set_person("bob");
  update.mutable_channel()->set_name("ignored");
  update.mutable_update_mask()->add_paths("person");
  v1::NotificationChannel updated;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->UpdateNotificationChannel(&context, update, &updated).ok());
  }
  EXPECT_EQ(updated.person(), "bob");
  EXPECT_EQ(updated.name(), "ops");
  EXPECT_EQ(updated.webhook().url(), "https://hooks.example.com/a");
  EXPECT_GT(updated.update_time().seconds(), created.update_time().seconds());
  update.mutable_update_mask()->set_paths(0, "tenant");
  {
    grpc::ClientContext context;
    status = stub_->UpdateNotificationChannel(&context, update, &updated);
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("read-only"));
  update.mutable_update_mask()->set_paths(0, "no_such_field");
  {
    grpc::ClientContext context;
    status = stub_->UpdateNotificationChannel(&context, update, &updated);
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // List by person, paged.
  v1::ListNotificationChannelsRequest list;
  list.set_tenant("acme");
  list.set_page_size(1);
  v1::ListNotificationChannelsResponse page;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListNotificationChannels(&context, list, &page).ok());
  }
  ASSERT_EQ(page.channels_size(), 1);
  EXPECT_EQ(page.channels(0).name(), "mail");
  ASSERT_FALSE(page.next_page_token().empty());
  list.set_page_token(page.next_page_token());
  v1::ListNotificationChannelsResponse page2;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListNotificationChannels(&context, list, &page2).ok());
  }
  ASSERT_EQ(page2.channels_size(), 1);
  EXPECT_EQ(page2.channels(0).name(), "ops");
  EXPECT_TRUE(page2.next_page_token().empty());
  list.set_tenant("globex");
  {
    grpc::ClientContext context;
    status = stub_->ListNotificationChannels(&context, list, &page2);
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_token"));

  v1::GetNotificationChannelRequest get;
  get.set_id("nope");
  {
    grpc::ClientContext context;
    status = stub_->GetNotificationChannel(&context, get, &updated);
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(PagingApiTest, TestNotificationChannelReportsTheOutcome) {
  common::HttpServer receiver("127.0.0.1:0");
  std::mutex mu;
  std::vector<std::string> bodies;
  receiver.Handle("/hook", [&](const common::HttpRequest& request) {
    std::lock_guard<std::mutex> lock(mu);
    bodies.push_back(request.body);
    return common::HttpResponse{};
  });
  ASSERT_THAT(receiver.Start(), IsOk());
  v1::NotificationChannel channel;
  ASSERT_TRUE(
      CreateChannel(Webhook("ops", absl::StrCat("http://127.0.0.1:", receiver.port(), "/hook")),
                    &channel)
          .ok());
  v1::TestNotificationChannelRequest request;
  request.set_id(channel.id());
  v1::TestNotificationChannelResponse response;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->TestNotificationChannel(&context, request, &response).ok());
  }
  EXPECT_TRUE(response.delivered());
  EXPECT_THAT(response.detail(), HasSubstr("HTTP 200"));
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(bodies.size(), 1u);
    EXPECT_THAT(bodies[0], HasSubstr("\"event\":\"test\""));
  }
  receiver.Stop();
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->TestNotificationChannel(&context, request, &response).ok());
  }
  EXPECT_FALSE(response.delivered());
  EXPECT_FALSE(response.detail().empty());
  request.set_id("nope");
  grpc::ClientContext context;
  EXPECT_EQ(stub_->TestNotificationChannel(&context, request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(PagingApiTest, SchedulesAndOnCall) {
  v1::Schedule schedule = Weekly();
  v1::ScheduleOverride* o = schedule.add_overrides();
  o->set_person("carol");
  TimeToProto(kStart + absl::Hours(1), o->mutable_range()->mutable_start());
  TimeToProto(kStart + absl::Hours(2), o->mutable_range()->mutable_end());
  v1::Schedule created;
  ASSERT_TRUE(CreateSchedule(schedule, &created).ok());
  EXPECT_FALSE(created.overrides(0).id().empty());

  v1::GetOnCallRequest request;
  request.set_schedule_id(created.id());
  v1::GetOnCallResponse response;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetOnCall(&context, request, &response).ok());
  }
  ASSERT_EQ(response.shifts_size(), 1);
  EXPECT_EQ(response.shifts(0).person(), "alice");  // now = kStart
  TimeToProto(kStart + absl::Minutes(90), request.mutable_time());
  response.Clear();
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetOnCall(&context, request, &response).ok());
  }
  EXPECT_EQ(response.shifts(0).person(), "carol");
  EXPECT_TRUE(response.shifts(0).is_override());
  TimeToProto(kStart, request.mutable_range()->mutable_start());
  TimeToProto(kStart + absl::Hours(24 * 14), request.mutable_range()->mutable_end());
  response.Clear();
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetOnCall(&context, request, &response).ok());
  }
  std::vector<std::string> people;
  for (const v1::OnCallShift& shift : response.shifts()) people.push_back(shift.person());
  EXPECT_THAT(people, ::testing::ElementsAre("alice", "carol", "alice", "bob"));
  TimeToProto(kStart + absl::Hours(24 * 40), request.mutable_range()->mutable_end());
  grpc::Status status;
  {
    grpc::ClientContext context;
    status = stub_->GetOnCall(&context, request, &response);
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::Schedule bad = Weekly();
  bad.set_name("bad");
  bad.mutable_rotations(0)->clear_start_time();
  v1::Schedule ignored;
  status = CreateSchedule(bad, &ignored);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("schedule.rotations[0].start_time"));
  bad = Weekly();
  bad.set_time_zone("Nowhere/Nope");
  status = CreateSchedule(bad, &ignored);
  EXPECT_THAT(status.error_message(), HasSubstr("schedule.time_zone"));
}

// GetSchedule, UpdateSchedule (mask, validation naming the field, read-only
// and unknown paths, unknown id), ListSchedules (pages, bad token) and
// DeleteSchedule, with GetOnCall following the update.
TEST_F(PagingApiTest, ScheduleGetUpdateListAndDelete) {
  v1::Schedule primary;
  ASSERT_TRUE(CreateSchedule(Weekly(), &primary).ok());
  v1::Schedule other = Weekly();
  other.set_name("secondary");
  v1::Schedule secondary;
  ASSERT_TRUE(CreateSchedule(other, &secondary).ok());

  auto get = [this](const std::string& id, v1::Schedule* out) {
    grpc::ClientContext context;
    v1::GetScheduleRequest request;
    request.set_id(id);
    return stub_->GetSchedule(&context, request, out);
  };
  v1::Schedule got;
  ASSERT_TRUE(get(primary.id(), &got).ok());
  EXPECT_EQ(got.SerializeAsString(), primary.SerializeAsString());
  grpc::Status status = get("", &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("id: required"));
  EXPECT_EQ(get("nope", &got).error_code(), grpc::StatusCode::NOT_FOUND);

  auto update = [this](const v1::Schedule& schedule, const std::vector<std::string>& paths,
                       v1::Schedule* out) {
    grpc::ClientContext context;
    v1::UpdateScheduleRequest request;
    *request.mutable_schedule() = schedule;
    for (const std::string& path : paths) request.mutable_update_mask()->add_paths(path);
    return stub_->UpdateSchedule(&context, request, out);
  };
  clock_.Advance(absl::Minutes(1));
  v1::Schedule patch;
  patch.set_id(primary.id());
  patch.set_name("ignored");
  v1::Rotation* rotation = patch.add_rotations();
  *rotation = primary.rotations(0);
  rotation->clear_participants();
  rotation->add_participants("dave");
  v1::Schedule updated;
  ASSERT_TRUE(update(patch, {"rotations"}, &updated).ok());
  EXPECT_EQ(updated.name(), "primary");
  ASSERT_EQ(updated.rotations_size(), 1);
  EXPECT_THAT(updated.rotations(0).participants(), ::testing::ElementsAre("dave"));
  EXPECT_GT(updated.update_time().seconds(), primary.update_time().seconds());
  ASSERT_TRUE(get(primary.id(), &got).ok());
  EXPECT_EQ(got.SerializeAsString(), updated.SerializeAsString());
  {
    grpc::ClientContext context;
    v1::GetOnCallRequest request;
    request.set_schedule_id(primary.id());
    v1::GetOnCallResponse response;
    ASSERT_TRUE(stub_->GetOnCall(&context, request, &response).ok());
    ASSERT_EQ(response.shifts_size(), 1);
    EXPECT_EQ(response.shifts(0).person(), "dave");
  }

  v1::Schedule bad = patch;
  bad.set_time_zone("Nowhere/Nope");
  status = update(bad, {"time_zone"}, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("schedule.time_zone"));
  bad = patch;
  bad.mutable_rotations(0)->clear_start_time();
  status = update(bad, {"rotations"}, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("schedule.rotations[0].start_time"));
  status = update(patch, {"tenant"}, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("read-only"));
  status = update(patch, {"no_such_field"}, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("update_mask"));
  v1::Schedule no_id = patch;
  no_id.clear_id();
  status = update(no_id, {"rotations"}, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("schedule.id"));
  v1::Schedule unknown = patch;
  unknown.set_id("nope");
  EXPECT_EQ(update(unknown, {"rotations"}, &updated).error_code(), grpc::StatusCode::NOT_FOUND);
  // The refused updates changed nothing.
  ASSERT_TRUE(get(primary.id(), &got).ok());
  EXPECT_EQ(got.time_zone(), "Europe/Berlin");
  EXPECT_TRUE(got.rotations(0).has_start_time());

  auto list = [this](const std::string& tenant, int page_size, const std::string& token,
                     v1::ListSchedulesResponse* out) {
    grpc::ClientContext context;
    v1::ListSchedulesRequest request;
    request.set_tenant(tenant);
    request.set_page_size(page_size);
    request.set_page_token(token);
    return stub_->ListSchedules(&context, request, out);
  };
  v1::ListSchedulesResponse page;
  ASSERT_TRUE(list("acme", 1, "", &page).ok());
  ASSERT_EQ(page.schedules_size(), 1);
  EXPECT_EQ(page.schedules(0).name(), "primary");
  ASSERT_FALSE(page.next_page_token().empty());
  v1::ListSchedulesResponse page2;
  ASSERT_TRUE(list("acme", 1, page.next_page_token(), &page2).ok());
  ASSERT_EQ(page2.schedules_size(), 1);
  EXPECT_EQ(page2.schedules(0).name(), "secondary");
  EXPECT_TRUE(page2.next_page_token().empty());
  status = list("globex", 1, page.next_page_token(), &page2);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_token"));
  status = list("acme", -1, "", &page2);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_size"));
  v1::ListSchedulesResponse none;
  ASSERT_TRUE(list("globex", 0, "", &none).ok());
  EXPECT_EQ(none.schedules_size(), 0);

  {
    grpc::ClientContext context;
    v1::DeleteScheduleRequest request;
    request.set_id(secondary.id());
    google::protobuf::Empty empty;
    ASSERT_TRUE(stub_->DeleteSchedule(&context, request, &empty).ok());
  }
  EXPECT_EQ(get(secondary.id(), &got).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ListSchedulesResponse after;
  ASSERT_TRUE(list("acme", 0, "", &after).ok());
  ASSERT_EQ(after.schedules_size(), 1);
  EXPECT_EQ(after.schedules(0).id(), primary.id());
}

// GetOnCall checks the whole request before it looks the schedule up: a bad
// range or time is INVALID_ARGUMENT naming the field for an unknown schedule
// as for a known one, and only a good request for an unknown one NOT_FOUND.
TEST_F(PagingApiTest, GetOnCallRefusesBadRangesBeforeLookingUpTheSchedule) {
  v1::Schedule known;
  ASSERT_TRUE(CreateSchedule(Weekly(), &known).ok());
  auto on_call = [this](const std::string& schedule_id,
                        const std::function<void(v1::GetOnCallRequest&)>& edit) {
    v1::GetOnCallRequest request;
    request.set_schedule_id(schedule_id);
    edit(request);
    v1::GetOnCallResponse response;
    grpc::ClientContext context;
    return stub_->GetOnCall(&context, request, &response);
  };
  struct Case {
    std::function<void(v1::GetOnCallRequest&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](v1::GetOnCallRequest& r) { TimeToProto(kStart, r.mutable_range()->mutable_start()); },
       "range: start and end required"},
      {[](v1::GetOnCallRequest& r) {
         TimeToProto(kStart, r.mutable_range()->mutable_start());
         TimeToProto(kStart - absl::Hours(1), r.mutable_range()->mutable_end());
       },
       "range.end: must be after start"},
      {[](v1::GetOnCallRequest& r) {
         TimeToProto(kStart, r.mutable_range()->mutable_start());
         TimeToProto(kStart + absl::Hours(24 * 32), r.mutable_range()->mutable_end());
       },
       "range: at most 31 days"},
      {[](v1::GetOnCallRequest& r) {
         TimeToProto(kStart, r.mutable_range()->mutable_start());
         r.mutable_range()->mutable_end()->set_nanos(-1);
       },
       "range.end"},
      {[](v1::GetOnCallRequest& r) { r.mutable_time()->set_nanos(2'000'000'000); }, "time"},
  };
  for (const std::string& id : {known.id(), std::string("nope")}) {
    for (const Case& c : cases) {
      const grpc::Status status = on_call(id, c.edit);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << id << " " << c.message;
      EXPECT_THAT(status.error_message(), HasSubstr(c.message)) << id;
    }
  }
  const auto good = [](v1::GetOnCallRequest& r) {
    TimeToProto(kStart, r.mutable_range()->mutable_start());
    TimeToProto(kStart + absl::Hours(24), r.mutable_range()->mutable_end());
  };
  EXPECT_TRUE(on_call(known.id(), good).ok());
  EXPECT_EQ(on_call("nope", good).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(on_call("nope", [](v1::GetOnCallRequest&) {}).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// Calls IncidentService/`method` with `request` through a generic stub.
grpc::Status CallGeneric(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                         const google::protobuf::Message& request) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  const std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes.data(), bytes.size());
  const grpc::ByteBuffer buffer(&slice, 1);
  grpc::ByteBuffer reply;
  grpc::Status status;
  grpc::ClientContext context;
  auto call = stub.PrepareUnaryCall(
      &context, absl::StrCat("/agentwatch.incident.v1.IncidentService/", method), buffer, &queue);
  call->StartCall();
  call->Finish(&reply, &status, &queue);
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(queue.Next(&tag, &ok) && ok);
  return status;
}

// Every RPC that names a stored object by an id refuses an empty id and one
// longer than 128 bytes with INVALID_ARGUMENT naming the field (its path in
// the request), and takes one of 128 bytes past that check; the table must
// list every RPC whose request carries an id, or a new one would go
// unchecked.
TEST_F(PagingApiTest, EveryIdIsRequiredAndBoundedNamingTheField) {
  const std::map<std::string, std::string> id_of = {
      {"GetIncident", "id"},
      {"AcknowledgeIncident", "id"},
      {"MitigateIncident", "id"},
      {"ResolveIncident", "id"},
      {"CloseIncident", "id"},
      {"ReopenIncident", "id"},
      {"AddNote", "id"},
      {"AssignOwner", "id"},
      {"SetSeverity", "id"},
      {"CreatePostmortem", "postmortem.incident_id"},
      {"UpdatePostmortem", "postmortem.id"},
      {"ExportPostmortem", "id"},
      {"GetEscalationPolicy", "id"},
      {"UpdateEscalationPolicy", "policy.id"},
      {"DeleteEscalationPolicy", "id"},
      {"GetSchedule", "id"},
      {"UpdateSchedule", "schedule.id"},
      {"DeleteSchedule", "id"},
      {"GetOnCall", "schedule_id"},
      {"GetSilence", "id"},
      {"UpdateSilence", "silence.id"},
      {"DeleteSilence", "id"},
      {"GetInhibitionRule", "id"},
      {"UpdateInhibitionRule", "rule.id"},
      {"DeleteInhibitionRule", "id"},
      {"GetNotificationChannel", "id"},
      {"UpdateNotificationChannel", "channel.id"},
      {"DeleteNotificationChannel", "id"},
      {"TestNotificationChannel", "id"},
      {"GetResponseRule", "id"},
      {"UpdateResponseRule", "rule.id"},
      {"DeleteResponseRule", "id"},
  };
  namespace pb = google::protobuf;
  const pb::ServiceDescriptor* service = pb::DescriptorPool::generated_pool()->FindServiceByName(
      "agentwatch.incident.v1.IncidentService");
  ASSERT_NE(service, nullptr);
  // A request carries an id when it has a string field "id" or "<x>_id"
  // (not request_id), or an Update request's resource has one.
  auto names_an_id = [](const pb::Descriptor* d) {
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      if (f->type() == pb::FieldDescriptor::TYPE_STRING && !f->is_repeated() &&
          (f->name() == "id" || absl::EndsWith(f->name(), "_id")) && f->name() != "request_id") {
        return true;
      }
    }
    return false;
  };
  int checked = 0;
  for (int i = 0; i < service->method_count(); ++i) {
    const pb::MethodDescriptor* method = service->method(i);
    const pb::Descriptor* input = method->input_type();
    bool carries = names_an_id(input);
    if (absl::StartsWith(method->name(), "Update") || absl::StartsWith(method->name(), "Create")) {
      const pb::FieldDescriptor* resource = input->field(0);
      carries = carries || (resource->type() == pb::FieldDescriptor::TYPE_MESSAGE &&
                            absl::StartsWith(method->name(), "Update") &&
                            names_an_id(resource->message_type()));
    }
    // GetPostmortem takes exactly one of id and incident_id: checked below.
    // List requests filter by an id and need none.
    if (method->name() == "GetPostmortem" || absl::StartsWith(method->name(), "List")) continue;
    const auto it = id_of.find(method->name());
    if (it == id_of.end()) {
      EXPECT_FALSE(carries) << method->name() << " carries an id the table does not list";
      continue;
    }
    ++checked;
    for (const size_t size : {size_t{0}, size_t{129}, size_t{128}}) {
      std::unique_ptr<pb::Message> request(
          pb::MessageFactory::generated_factory()->GetPrototype(input)->New());
      pb::Message* at = request.get();
      const std::vector<std::string> path = absl::StrSplit(it->second, '.');
      for (size_t p = 0; p + 1 < path.size(); ++p) {
        const pb::FieldDescriptor* f = at->GetDescriptor()->FindFieldByName(path[p]);
        ASSERT_NE(f, nullptr) << it->second;
        at = at->GetReflection()->MutableMessage(at, f);
      }
      const pb::FieldDescriptor* f = at->GetDescriptor()->FindFieldByName(path.back());
      ASSERT_NE(f, nullptr) << it->second;
      at->GetReflection()->SetString(at, f, std::string(size, 'i'));
      const grpc::Status status = CallGeneric(channel_, method->name(), *request);
      const std::string where = absl::StrCat(method->name(), " with a ", size, "-byte id");
      if (size == 128) {
        EXPECT_FALSE(absl::StartsWith(status.error_message(), it->second + ":"))
            << where << ": " << status.error_message();
        continue;
      }
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << where;
      EXPECT_EQ(status.error_message(),
                absl::StrCat(it->second, size == 0 ? ": required" : ": longer than 128 bytes"))
          << where;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(id_of.size()));

  v1::GetPostmortemRequest neither;
  grpc::Status status = CallGeneric(channel_, "GetPostmortem", neither);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("id: set exactly one of id and incident_id"));
  v1::GetPostmortemRequest both;
  both.set_id("a");
  both.set_incident_id("b");
  EXPECT_EQ(CallGeneric(channel_, "GetPostmortem", both).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::GetPostmortemRequest long_id;
  long_id.set_incident_id(std::string(129, 'i'));
  status = CallGeneric(channel_, "GetPostmortem", long_id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("incident_id"));
}

TEST_F(PagingApiTest, PoliciesCheckReferencesAndBlockDeletes) {
  v1::Schedule schedule;
  ASSERT_TRUE(CreateSchedule(Weekly(), &schedule).ok());
  v1::NotificationChannel channel;
  ASSERT_TRUE(CreateChannel(Webhook("ops", "https://hooks.example.com/a"), &channel).ok());
  v1::EscalationPolicy policy;
  policy.set_name("api");
  policy.set_tenant("acme");
  policy.add_tiers()->add_targets()->set_schedule_id(schedule.id());
  v1::EscalationTier* tier = policy.add_tiers();
  tier->mutable_delay()->set_seconds(900);
  tier->add_targets()->set_channel_id(channel.id());
  tier->add_targets()->set_person("lead");
  v1::EscalationPolicy created;
  ASSERT_TRUE(CreatePolicy(policy, &created).ok());

  v1::EscalationPolicy unknown = policy;
  unknown.set_name("other");
  unknown.mutable_tiers(1)->mutable_targets(0)->set_channel_id("nope");
  v1::EscalationPolicy ignored;
  grpc::Status status = CreatePolicy(unknown, &ignored);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("policy.tiers[1].targets[0].channel_id"));
  unknown = policy;
  unknown.set_name("other");
  unknown.clear_tiers();
  status = CreatePolicy(unknown, &ignored);
  EXPECT_THAT(status.error_message(), HasSubstr("policy.tiers"));
  unknown = policy;
  unknown.set_name("other");
  unknown.mutable_tiers(0)->mutable_delay()->set_nanos(-5);
  status = CreatePolicy(unknown, &ignored);
  EXPECT_THAT(status.error_message(), HasSubstr("policy.tiers[0].delay"));

  v1::DeleteScheduleRequest delete_schedule;
  delete_schedule.set_id(schedule.id());
  google::protobuf::Empty empty;
  {
    grpc::ClientContext context;
    status = stub_->DeleteSchedule(&context, delete_schedule, &empty);
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  v1::DeleteNotificationChannelRequest delete_channel;
  delete_channel.set_id(channel.id());
  {
    grpc::ClientContext context;
    status = stub_->DeleteNotificationChannel(&context, delete_channel, &empty);
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // Replacing the tiers (empty mask) drops the references.
  v1::UpdateEscalationPolicyRequest update;
  *update.mutable_policy() = created;
  update.mutable_policy()->clear_tiers();
  update.mutable_policy()->add_tiers()->add_targets()->set_person("alice");
  update.mutable_policy()->set_repeat_count(2);
  v1::EscalationPolicy updated;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->UpdateEscalationPolicy(&context, update, &updated).ok());
  }
  EXPECT_EQ(updated.repeat_count(), 2);
  EXPECT_EQ(updated.tiers_size(), 1);
  {
    grpc::ClientContext context;
    EXPECT_TRUE(stub_->DeleteSchedule(&context, delete_schedule, &empty).ok());
  }
  v1::GetEscalationPolicyRequest get;
  get.set_id(created.id());
  v1::EscalationPolicy got;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetEscalationPolicy(&context, get, &got).ok());
  }
  EXPECT_EQ(got.repeat_count(), 2);
  v1::ListEscalationPoliciesRequest list;
  v1::ListEscalationPoliciesResponse listed;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListEscalationPolicies(&context, list, &listed).ok());
  }
  EXPECT_EQ(listed.policies_size(), 1);
  v1::DeleteEscalationPolicyRequest delete_policy;
  delete_policy.set_id(created.id());
  {
    grpc::ClientContext context;
    EXPECT_TRUE(stub_->DeleteEscalationPolicy(&context, delete_policy, &empty).ok());
  }
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->GetEscalationPolicy(&context, get, &got).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(PagingApiTest, InhibitionRulesCrudAndMuting) {
  v1::InhibitionRule rule;
  rule.set_name("down mutes latency");
  rule.set_tenant("acme");
  common::v1::LabelMatcher* source = rule.add_source_matchers();
  source->set_name("alertname");
  source->set_op(common::v1::MATCH_OP_EQUAL);
  source->set_value("ServiceDown");
  common::v1::LabelMatcher* target = rule.add_target_matchers();
  target->set_name("alertname");
  target->set_op(common::v1::MATCH_OP_EQUAL);
  target->set_value("LatencyHigh");
  rule.add_equal("service");
  v1::CreateInhibitionRuleRequest create;
  *create.mutable_rule() = rule;
  create.set_request_id("rule-1");
  v1::InhibitionRule created;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->CreateInhibitionRule(&context, create, &created).ok());
  }
  EXPECT_FALSE(created.id().empty());
  v1::InhibitionRule retried;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->CreateInhibitionRule(&context, create, &retried).ok());
  }
  EXPECT_EQ(retried.id(), created.id());
  create.mutable_rule()->clear_target_matchers();
  create.set_request_id("rule-2");
  grpc::Status status;
  {
    grpc::ClientContext context;
    status = stub_->CreateInhibitionRule(&context, create, &retried);
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("rule.target_matchers"));

  auto report = [&](const std::string& fingerprint, const std::string& name,
                    const std::string& service) {
    v1::ReportAlertsRequest request;
    v1::Alert* alert = request.add_alerts();
    alert->set_tenant("acme");
    alert->set_fingerprint(fingerprint);
    alert->set_name(name);
    alert->set_status(v1::ALERT_STATUS_FIRING);
    (*alert->mutable_labels())["service"] = service;
    v1::ReportAlertsResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(stub_->ReportAlerts(&context, request, &response).ok());
    return response;
  };
  EXPECT_EQ(report("down", "ServiceDown", "api").inhibited(), 0);
  const v1::ReportAlertsResponse muted = report("lat", "LatencyHigh", "api");
  EXPECT_EQ(muted.inhibited(), 1);
  EXPECT_EQ(muted.incident_ids(0), "");
  EXPECT_EQ(report("lat-web", "LatencyHigh", "web").inhibited(), 0);

  // Narrow the rule with a mask: only the equal labels change.
  v1::UpdateInhibitionRuleRequest update;
  update.mutable_rule()->set_id(created.id());
  update.mutable_rule()->add_equal("region");
  update.mutable_update_mask()->add_paths("equal");
  v1::InhibitionRule updated;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->UpdateInhibitionRule(&context, update, &updated).ok());
  }
  ASSERT_EQ(updated.equal_size(), 1);
  EXPECT_EQ(updated.equal(0), "region");
  EXPECT_EQ(updated.source_matchers_size(), 1);
  update.mutable_update_mask()->set_paths(0, "create_time");
  {
    grpc::ClientContext context;
    status = stub_->UpdateInhibitionRule(&context, update, &updated);
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListInhibitionRulesRequest list;
  list.set_tenant("acme");
  v1::ListInhibitionRulesResponse listed;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListInhibitionRules(&context, list, &listed).ok());
  }
  EXPECT_EQ(listed.rules_size(), 1);
  v1::DeleteInhibitionRuleRequest remove;
  remove.set_id(created.id());
  google::protobuf::Empty empty;
  {
    grpc::ClientContext context;
    EXPECT_TRUE(stub_->DeleteInhibitionRule(&context, remove, &empty).ok());
  }
  v1::GetInhibitionRuleRequest get;
  get.set_id(created.id());
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->GetInhibitionRule(&context, get, &updated).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
}

}  // namespace
}  // namespace agentwatch::incident
