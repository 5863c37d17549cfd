// Per-tenant grouping config: the GroupingResolver's cache with a FakeClock
// (hits, TTL, invalidation, fallbacks, store failures), and
// GetGroupingConfig / UpdateGroupingConfig through a real in-process gRPC
// server over the in-memory stores (defaults from the flags, masks,
// validation naming the field, timings refused, roles, and a tenant's
// group_by changing how ReportAlerts groups two alerts).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/rpc.h"
#include "common/testing/status_matchers.h"
#include "incident/api/grouping_resolver.h"
#include "incident/api/incident_metrics.h"
#include "incident/api/incident_service.h"
#include "incident/store/memory_grouping_config_store.h"
#include "incident/store/memory_incident_store.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

GroupingConfig ByAlertname() { return *ParseGroupBy("group_by", "alertname"); }

// The flags of these tests: --group_by=alertname --group_wait=5s.
TenantGrouping Flags() { return TenantGrouping{ByAlertname(), absl::Seconds(5)}; }

GroupingConfigRecord Record(const std::string& tenant,
                            std::optional<std::vector<std::string>> group_by,
                            std::optional<absl::Duration> group_wait = std::nullopt) {
  GroupingConfigRecord record;
  record.tenant = tenant;
  record.group_by = std::move(group_by);
  record.group_wait = group_wait;
  record.update_time = kStart;
  return record;
}

// --- GroupingFromLabels ---

TEST(GroupingFromLabelsTest, NormalizesAndRejectsNamingTheField) {
  absl::StatusOr<GroupingConfig> ok = GroupingFromLabels({"service", "alertname"}, "f");
  ASSERT_THAT(ok.status(), IsOk());
  EXPECT_THAT(ok->group_by, ElementsAre("alertname", "service"));
  EXPECT_FALSE(ok->by_all_labels);
  absl::StatusOr<GroupingConfig> all = GroupingFromLabels({"..."}, "f");
  ASSERT_THAT(all.status(), IsOk());
  EXPECT_TRUE(all->by_all_labels);
  EXPECT_THAT(GroupingToLabels(*all), ElementsAre("..."));
  EXPECT_THAT(GroupingFromLabels({}, "f").status(), IsOk());

  EXPECT_THAT(GroupingFromLabels({"alertname", "bad-name"}, "f").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("f[1]: 'bad-name'")));
  EXPECT_THAT(GroupingFromLabels({"a", "b", "a"}, "f").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("f[2]: duplicate label")));
  EXPECT_THAT(GroupingFromLabels({"a", "..."}, "f").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("f[1]: '...'")));
  EXPECT_THAT(GroupingFromLabels({""}, "f").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("f[0]")));
  std::vector<std::string> many;
  for (int i = 0; i < 17; ++i) many.push_back(absl::StrCat("l", i));
  EXPECT_THAT(GroupingFromLabels(many, "f").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("f: at most 16 labels")));
  many.pop_back();
  EXPECT_THAT(GroupingFromLabels(many, "f").status(), IsOk());
}

// --- GroupingResolver ---

class GroupingResolverTest : public ::testing::Test {
 protected:
  GroupingResolverTest() : clock_(kStart), resolver_(store_, clock_, Flags()) {}

  std::vector<std::string> GroupBy(const std::string& tenant) {
    absl::StatusOr<std::shared_ptr<const TenantGrouping>> grouping = resolver_.For(tenant);
    EXPECT_THAT(grouping.status(), IsOk());
    if (!grouping.ok()) return {"<error>"};
    return GroupingToLabels((*grouping)->grouping);
  }

  absl::Duration GroupWait(const std::string& tenant) {
    absl::StatusOr<std::shared_ptr<const TenantGrouping>> grouping = resolver_.For(tenant);
    EXPECT_THAT(grouping.status(), IsOk());
    return grouping.ok() ? (*grouping)->group_wait : absl::InfiniteDuration();
  }

  void Put(const GroupingConfigRecord& record) {
    GroupingConfigFields all;
    all.group_by = true;
    all.group_wait = true;
    ASSERT_THAT(store_.PutGroupingConfig(record, all).status(), IsOk());
  }

  common::FakeClock clock_;
  MemoryGroupingConfigStore store_;
  GroupingResolver resolver_;
};

TEST_F(GroupingResolverTest, FlagDefaultThenGlobalThenTenant) {
  EXPECT_THAT(GroupBy("acme"), ElementsAre("alertname"));
  Put(Record("", std::vector<std::string>{"service"}));
  Put(Record("acme", std::vector<std::string>{"alertname", "service"}));
  resolver_.Invalidate();
  EXPECT_THAT(GroupBy("acme"), ElementsAre("alertname", "service"));
  EXPECT_THAT(GroupBy("other"), ElementsAre("service"));
  EXPECT_THAT(GroupBy(""), ElementsAre("service"));
}

TEST_F(GroupingResolverTest, EachFieldInheritsOnItsOwn) {
  EXPECT_EQ(GroupWait("acme"), absl::Seconds(5));
  Put(Record("", std::nullopt, absl::Seconds(30)));
  Put(Record("acme", std::vector<std::string>{"service"}));
  Put(Record("beta", std::nullopt, absl::ZeroDuration()));
  resolver_.Invalidate();
  EXPECT_THAT(GroupBy("acme"), ElementsAre("service"));
  EXPECT_EQ(GroupWait("acme"), absl::Seconds(30));         // the global default's
  EXPECT_THAT(GroupBy("beta"), ElementsAre("alertname"));  // the flag's
  EXPECT_EQ(GroupWait("beta"), absl::ZeroDuration());
  EXPECT_EQ(GroupWait("other"), absl::Seconds(30));
}

TEST_F(GroupingResolverTest, CachesUntilTheTtlThenRereads) {
  EXPECT_THAT(GroupBy("acme"), ElementsAre("alertname"));
  EXPECT_EQ(store_.reads(), 1);
  for (int i = 0; i < 100; ++i) GroupBy("acme");
  EXPECT_EQ(store_.reads(), 1);  // hits: no store read

  // Another replica's update (straight into the store): not seen within the TTL.
  Put(Record("acme", std::vector<std::string>{"service"}));
  clock_.Advance(GroupingResolver::kDefaultTtl - absl::Milliseconds(1));
  EXPECT_THAT(GroupBy("acme"), ElementsAre("alertname"));
  EXPECT_EQ(store_.reads(), 1);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_THAT(GroupBy("acme"), ElementsAre("service"));
  EXPECT_EQ(store_.reads(), 2);
}

TEST_F(GroupingResolverTest, InvalidateAppliesAtOnce) {
  EXPECT_THAT(GroupBy("acme"), ElementsAre("alertname"));
  EXPECT_THAT(GroupBy("beta"), ElementsAre("alertname"));
  Put(Record("", std::vector<std::string>{"service"}));
  resolver_.Invalidate();
  EXPECT_THAT(GroupBy("acme"), ElementsAre("service"));
  EXPECT_THAT(GroupBy("beta"), ElementsAre("service"));
}

TEST_F(GroupingResolverTest, StoreFailureUsesTheExpiredEntryElseFails) {
  EXPECT_THAT(GroupBy("acme"), ElementsAre("alertname"));
  store_.SetFailure(absl::UnavailableError("db down"));
  clock_.Advance(absl::Seconds(5));
  EXPECT_THAT(GroupBy("acme"), ElementsAre("alertname"));
  EXPECT_THAT(resolver_.For("never-seen").status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("db down")));
  store_.SetFailure(absl::OkStatus());
  EXPECT_THAT(GroupBy("never-seen"), ElementsAre("alertname"));
}

TEST_F(GroupingResolverTest, BatchGroupingRemembersTheLastTenant) {
  BatchGrouping batch(&resolver_, ByAlertname());
  for (int i = 0; i < 10; ++i) ASSERT_THAT(batch.For("acme").status(), IsOk());
  EXPECT_EQ(store_.reads(), 1);
  GroupingConfig fallback = *ParseGroupBy("group_by", "service");
  BatchGrouping without(nullptr, fallback);
  absl::StatusOr<const GroupingConfig*> grouping = without.For("acme");
  ASSERT_THAT(grouping.status(), IsOk());
  EXPECT_EQ(*grouping, &fallback);
}

// --- The RPCs ---

class GroupingConfigApiTest : public ::testing::Test {
 protected:
  GroupingConfigApiTest()
      : clock_(kStart),
        authorizer_({{"viewer-token", common::Role::kViewer},
                     {"operator-token", common::Role::kOperator},
                     {"admin-token", common::Role::kAdmin}}),
        executor_(std::make_unique<common::BlockingExecutor>(4, 100)),
        rpc_(authorizer_, *executor_),
        metrics_(registry_, "agentwatch_incident"),
        store_(ids_),
        resolver_(grouping_store_, clock_, Flags()),
        service_(store_, rpc_, clock_, metrics_, ByAlertname()) {
    timings_.resolve_quiet_period = absl::Minutes(5);
    timings_.reopen_window = absl::Minutes(30);
    service_.SetGroupingConfigs(&grouping_store_, &resolver_, timings_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::IncidentService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  ~GroupingConfigApiTest() override {
    server_->Shutdown();
    executor_.reset();
  }

  grpc::Status Get(const std::string& tenant, v1::GroupingConfig* out) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token_);
    v1::GetGroupingConfigRequest request;
    request.set_tenant(tenant);
    return stub_->GetGroupingConfig(&context, request, out);
  }

  grpc::Status Update(const v1::GroupingConfig& config, const std::vector<std::string>& mask,
                      v1::GroupingConfig* out) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token_);
    v1::UpdateGroupingConfigRequest request;
    *request.mutable_config() = config;
    for (const std::string& path : mask) request.mutable_update_mask()->add_paths(path);
    return stub_->UpdateGroupingConfig(&context, request, out);
  }

  grpc::Status SetGroupBy(const std::string& tenant, const std::vector<std::string>& labels) {
    v1::GroupingConfig config;
    config.set_tenant(tenant);
    for (const std::string& label : labels) config.add_group_by(label);
    v1::GroupingConfig out;
    return Update(config, {"group_by"}, &out);
  }

  // Reports one firing alert named HighLatency with label service=`service`;
  // returns its incident id.
  std::string Report(const std::string& tenant, const std::string& fingerprint,
                     const std::string& service) {
    v1::ReportAlertsRequest request;
    v1::Alert* alert = request.add_alerts();
    alert->set_tenant(tenant);
    alert->set_fingerprint(fingerprint);
    alert->set_name("HighLatency");
    alert->set_status(v1::ALERT_STATUS_FIRING);
    (*alert->mutable_labels())["service"] = service;
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer admin-token");
    v1::ReportAlertsResponse response;
    grpc::Status status = stub_->ReportAlerts(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.incident_ids_size(), 1);
    return response.incident_ids_size() == 1 ? response.incident_ids(0) : "";
  }

  static std::vector<std::string> Labels(const v1::GroupingConfig& config) {
    return {config.group_by().begin(), config.group_by().end()};
  }

  std::string token_ = "admin-token";
  common::FakeClock clock_;
  common::Authorizer authorizer_;
  std::unique_ptr<common::BlockingExecutor> executor_;
  common::RpcRunner rpc_;
  prometheus::Registry registry_;
  IncidentMetrics metrics_;
  testing::SequentialIds ids_;
  MemoryIncidentStore store_;
  MemoryGroupingConfigStore grouping_store_;
  GroupingResolver resolver_;
  GroupingTimings timings_;
  IncidentServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::IncidentService::Stub> stub_;
};

TEST_F(GroupingConfigApiTest, GetAnswersTheFlagDefaults) {
  v1::GroupingConfig config;
  ASSERT_TRUE(Get("acme", &config).ok());
  EXPECT_EQ(config.tenant(), "acme");
  EXPECT_THAT(Labels(config), ElementsAre("alertname"));
  EXPECT_EQ(config.group_wait().seconds(), 5);
  EXPECT_EQ(config.group_interval().seconds(), 300);
  EXPECT_EQ(config.resolve_quiet_period().seconds(), 300);
  EXPECT_EQ(config.reopen_window().seconds(), 1800);
  EXPECT_FALSE(config.has_update_time());
}

TEST_F(GroupingConfigApiTest, GetNeedsViewerAndUpdateAdmin) {
  v1::GroupingConfig config;
  config.set_tenant("acme");
  config.add_group_by("service");
  v1::GroupingConfig out;
  token_ = "unknown-token";
  EXPECT_EQ(Get("acme", &out).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  token_ = "viewer-token";
  EXPECT_TRUE(Get("acme", &out).ok());
  EXPECT_EQ(Update(config, {}, &out).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  token_ = "operator-token";
  EXPECT_EQ(Update(config, {}, &out).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  token_ = "admin-token";
  EXPECT_TRUE(Update(config, {}, &out).ok());
  EXPECT_THAT(Labels(out), ElementsAre("service"));
}

TEST_F(GroupingConfigApiTest, UpdateStoresAndTenantsInheritTheGlobalDefault) {
  v1::GroupingConfig out;
  ASSERT_TRUE(SetGroupBy("", {"service"}).ok());
  ASSERT_TRUE(SetGroupBy("acme", {"service", "alertname"}).ok());
  ASSERT_TRUE(Get("acme", &out).ok());
  EXPECT_THAT(Labels(out), ElementsAre("alertname", "service"));
  EXPECT_TRUE(out.has_update_time());
  EXPECT_EQ(out.update_time().seconds(), absl::ToUnixSeconds(kStart));
  ASSERT_TRUE(Get("other", &out).ok());
  EXPECT_THAT(Labels(out), ElementsAre("service"));
  EXPECT_FALSE(out.has_update_time());  // inherited, never set for "other"
  ASSERT_TRUE(Get("", &out).ok());
  EXPECT_THAT(Labels(out), ElementsAre("service"));
}

TEST_F(GroupingConfigApiTest, EmptyMaskReplacesAndAcceptsTheServiceTimingsBack) {
  ASSERT_TRUE(SetGroupBy("acme", {"service"}).ok());
  v1::GroupingConfig current;
  ASSERT_TRUE(Get("acme", &current).ok());
  // A Get's answer sent back with a new group_by and an empty mask.
  current.clear_group_by();
  current.add_group_by("team");
  v1::GroupingConfig out;
  grpc::Status status = Update(current, {}, &out);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(Labels(out), ElementsAre("team"));
  // Empty mask and no group_by: every writable field replaced, i.e. grouping
  // by tenant only.
  v1::GroupingConfig bare;
  bare.set_tenant("acme");
  ASSERT_TRUE(Update(bare, {}, &out).ok());
  EXPECT_THAT(Labels(out), IsEmpty());
  ASSERT_TRUE(Get("acme", &out).ok());
  EXPECT_THAT(Labels(out), IsEmpty());
}

TEST_F(GroupingConfigApiTest, MaskWithoutGroupByLeavesItAlone) {
  ASSERT_TRUE(SetGroupBy("acme", {"service"}).ok());
  v1::GroupingConfig config;
  config.set_tenant("acme");
  config.add_group_by("ignored");
  config.mutable_reopen_window()->set_seconds(1800);  // equal to --reopen_window
  v1::GroupingConfig out;
  grpc::Status status = Update(config, {"reopen_window"}, &out);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(Labels(out), ElementsAre("service"));
  ASSERT_TRUE(Get("acme", &out).ok());
  EXPECT_THAT(Labels(out), ElementsAre("service"));
}

TEST_F(GroupingConfigApiTest, GroupWaitIsStoredClearedAndInherited) {
  v1::GroupingConfig config;
  config.set_tenant("");
  config.mutable_group_wait()->set_seconds(20);
  v1::GroupingConfig out;
  ASSERT_TRUE(Update(config, {"group_wait"}, &out).ok());
  EXPECT_EQ(out.group_wait().seconds(), 20);
  EXPECT_THAT(Labels(out), ElementsAre("alertname"));  // not in the mask: still the flag's
  config.set_tenant("acme");
  config.mutable_group_wait()->set_seconds(0);
  config.mutable_group_wait()->set_nanos(250'000'000);
  ASSERT_TRUE(Update(config, {"group_wait"}, &out).ok());
  EXPECT_EQ(out.group_wait().seconds(), 0);
  EXPECT_EQ(out.group_wait().nanos(), 250'000'000);
  ASSERT_TRUE(Get("other", &out).ok());
  EXPECT_EQ(out.group_wait().seconds(), 20);
  absl::StatusOr<std::shared_ptr<const TenantGrouping>> acme = resolver_.For("acme");
  ASSERT_THAT(acme.status(), IsOk());
  EXPECT_EQ((*acme)->group_wait, absl::Milliseconds(250));
  // Written while absent: acme inherits the global default's again.
  config.clear_group_wait();
  ASSERT_TRUE(Update(config, {"group_wait"}, &out).ok());
  EXPECT_EQ(out.group_wait().seconds(), 20);
  EXPECT_TRUE(out.has_update_time());
}

TEST_F(GroupingConfigApiTest, TimingsAreRefusedNamingTheFieldAndTheFlag) {
  struct Case {
    std::string path;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"group_interval",
       "config.group_interval: not configurable per tenant yet (no "
       "notifications"},
      {"resolve_quiet_period",
       "config.resolve_quiet_period: not configurable per tenant yet "
       "(flag --auto_resolve_quiet"},
      {"reopen_window",
       "config.reopen_window: not configurable per tenant yet (flag "
       "--reopen_window"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    v1::GroupingConfig config;
    config.set_tenant("acme");
    config.add_group_by("service");
    const google::protobuf::Descriptor* descriptor = config.GetDescriptor();
    auto* duration = static_cast<google::protobuf::Duration*>(
        config.GetReflection()->MutableMessage(&config, descriptor->FindFieldByName(c.path)));
    duration->set_seconds(60);
    v1::GroupingConfig out;
    for (const std::vector<std::string>& mask :
         {std::vector<std::string>{c.path}, std::vector<std::string>{}}) {
      grpc::Status status = Update(config, mask, &out);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_THAT(status.error_message(), HasSubstr(c.message));
    }
  }
  // Nothing was stored by the refused updates.
  v1::GroupingConfig out;
  ASSERT_TRUE(Get("acme", &out).ok());
  EXPECT_THAT(Labels(out), ElementsAre("alertname"));
  EXPECT_FALSE(out.has_update_time());
}

TEST_F(GroupingConfigApiTest, BadInputsNameTheField) {
  struct Case {
    std::vector<std::string> group_by;
    std::vector<std::string> mask;
    std::string wait_field;  // a duration to set to an out-of-range value
    int64_t wait_seconds = 0;
    std::string message;
  };
  std::vector<std::string> many;
  for (int i = 0; i < 17; ++i) many.push_back(absl::StrCat("l", i));
  const std::vector<Case> cases = {
      {{"bad-label"}, {"group_by"}, "", 0, "config.group_by[0]: 'bad-label' is not a label name"},
      {{"a", "a"}, {"group_by"}, "", 0, "config.group_by[1]: duplicate label 'a'"},
      {{"a", "..."}, {"group_by"}, "", 0, "config.group_by[1]: '...'"},
      {many, {"group_by"}, "", 0, "config.group_by: at most 16 labels"},
      {{"a"}, {"tenant"}, "", 0, "update_mask: unknown or read-only path \"tenant\""},
      {{"a"}, {"update_time"}, "", 0, "update_mask: unknown or read-only path \"update_time\""},
      {{"a"}, {"nope"}, "", 0, "update_mask: unknown or read-only path \"nope\""},
      {{"a"}, {"group_wait"}, "group_wait", -1, "config.group_wait: must not be negative"},
      {{"a"}, {"group_wait"}, "group_wait", 3601, "config.group_wait: must be at most 1h"},
      {{"a"}, {}, "group_wait", -5, "config.group_wait: must not be negative"},
      {{"a"},
       {"resolve_quiet_period"},
       "resolve_quiet_period",
       86401,
       "config.resolve_quiet_period: must be at most 24h"},
      {{"a"},
       {"reopen_window"},
       "reopen_window",
       7 * 86400 + 1,
       "config.reopen_window: must be at most 168h"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    v1::GroupingConfig config;
    config.set_tenant("acme");
    for (const std::string& label : c.group_by) config.add_group_by(label);
    if (!c.wait_field.empty()) {
      auto* duration =
          static_cast<google::protobuf::Duration*>(config.GetReflection()->MutableMessage(
              &config, config.GetDescriptor()->FindFieldByName(c.wait_field)));
      duration->set_seconds(c.wait_seconds);
    }
    v1::GroupingConfig out;
    grpc::Status status = Update(config, c.mask, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr(c.message));
  }
  v1::GroupingConfig config;
  config.set_tenant(std::string(200, 't'));
  v1::GroupingConfig out;
  grpc::Status status = Update(config, {}, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("config.tenant"));
  status = Get(std::string(200, 't'), &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("tenant"));
}

TEST_F(GroupingConfigApiTest, TenantGroupByChangesHowAlertsGroup) {
  // Without a config: by alertname, so two services share one incident.
  const std::string a1 = Report("plain", "fp-1", "api");
  const std::string a2 = Report("plain", "fp-2", "db");
  EXPECT_EQ(a1, a2);
  // Prime acme's cache entry with the flag default, then update: this
  // replica's update applies at once (no clock advance).
  const std::string before = Report("acme", "fp-0", "web");
  ASSERT_TRUE(SetGroupBy("acme", {"alertname", "service"}).ok());
  const std::string b1 = Report("acme", "fp-1", "api");
  const std::string b2 = Report("acme", "fp-2", "db");
  const std::string b3 = Report("acme", "fp-3", "api");
  EXPECT_NE(b1, b2);
  EXPECT_EQ(b1, b3);
  EXPECT_NE(before, b1);
  EXPECT_NE(before, b2);
  // The other tenant still groups by alertname.
  EXPECT_EQ(Report("plain", "fp-3", "web"), a1);
}

TEST(GroupingConfigUnsetTest, AnswersUnimplementedWithoutAStore) {
  common::FakeClock clock(kStart);
  common::Authorizer authorizer;
  auto executor = std::make_unique<common::BlockingExecutor>(2, 10);
  common::RpcRunner rpc(authorizer, *executor);
  prometheus::Registry registry;
  IncidentMetrics metrics(registry, "agentwatch_incident");
  testing::SequentialIds ids;
  MemoryIncidentStore store(ids);
  IncidentServiceImpl service(store, rpc, clock, metrics, ByAlertname());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto stub = v1::IncidentService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  v1::GetGroupingConfigRequest request;
  v1::GroupingConfig out;
  EXPECT_EQ(stub->GetGroupingConfig(&context, request, &out).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  server->Shutdown();
  executor.reset();
}

}  // namespace
}  // namespace agentwatch::incident
