// Background jobs: outbox delivery to in-process fake peers, and the sweep
// that resolves firing alerts no new data reaches.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentwatch/cost/v1/cost.grpc.pb.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/clock.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "monitor/api/monitor_metrics.h"
#include "monitor/core/rollup.h"
#include "monitor/core/rules.h"
#include "monitor/jobs/alert_sweeper.h"
#include "monitor/jobs/outbox_delivery.h"
#include "monitor/store/in_memory_monitor_store.h"
#include "monitor/store/monitor_store.h"
#include "monitor/store/outbox_payloads.h"
#include "test_events.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;

// Accepts alerts and records every call; rejects (INVALID_ARGUMENT) any
// batch holding a fingerprint "bad"; answers UNAVAILABLE while `down`.
class FakeIncidentService final : public incident::v1::IncidentService::CallbackService {
 public:
  grpc::ServerUnaryReactor* ReportAlerts(grpc::CallbackServerContext* context,
                                         const incident::v1::ReportAlertsRequest* request,
                                         incident::v1::ReportAlertsResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    std::lock_guard<std::mutex> lock(mu);
    ++calls;
    if (down) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
      return reactor;
    }
    for (const auto& alert : request->alerts()) {
      if (alert.fingerprint() == "bad") {
        reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "alerts[0]: bad"));
        return reactor;
      }
    }
    for (const auto& alert : request->alerts()) received.push_back(alert.fingerprint());
    response->set_accepted(request->alerts_size());
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  std::mutex mu;
  bool down = false;
  int calls = 0;
  std::vector<std::string> received;
};

class FakeCostService final : public cost::v1::CostService::CallbackService {
 public:
  grpc::ServerUnaryReactor* RecordUsage(grpc::CallbackServerContext* context,
                                        const cost::v1::RecordUsageRequest* request,
                                        cost::v1::RecordUsageResponse* response) override {
    std::lock_guard<std::mutex> lock(mu);
    ++calls;
    call_sizes.push_back(request->records_size());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (down) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
      return reactor;
    }
    for (const auto& record : request->records()) {
      if (record.record_id() == "bad") {
        reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "records[0]: bad"));
        return reactor;
      }
    }
    for (const auto& record : request->records()) received.push_back(record);
    response->set_accepted(request->records_size());
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  std::mutex mu;
  bool down = false;
  int calls = 0;
  std::vector<int> call_sizes;
  std::vector<cost::v1::UsageRecord> received;
};

class OutboxDeliveryTest : public ::testing::Test {
 protected:
  OutboxDeliveryTest() {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&incident_);
    builder.RegisterService(&cost_);
    server_ = builder.BuildAndStart();
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    incident_stub_ = incident::v1::IncidentService::NewStub(channel_);
    cost_stub_ = cost::v1::CostService::NewStub(channel_);
  }
  ~OutboxDeliveryTest() override { server_->Shutdown(); }

  static common::OutboxEntry AlertEntry(const std::string& fingerprint) {
    AlertNotice notice;
    notice.fingerprint = fingerprint;
    notice.name = "WorkflowErrorRateHigh";
    notice.tenant = "acme";
    notice.starts_at = absl::FromUnixSeconds(1'700'000'000);
    common::OutboxEntry entry;
    entry.id = static_cast<int64_t>(fingerprint.size());
    entry.idempotency_key = notice.IdempotencyKey();
    entry.payload = SerializeAlert(notice);
    return entry;
  }

  FakeIncidentService incident_;
  FakeCostService cost_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<incident::v1::IncidentService::Stub> incident_stub_;
  std::unique_ptr<cost::v1::CostService::Stub> cost_stub_;
};

TEST_F(OutboxDeliveryTest, AlertsGoInOneCall) {
  common::OutboxHandler handler = MakeReportAlertsHandler(*incident_stub_, absl::Seconds(5));
  EXPECT_THAT(handler({AlertEntry("a"), AlertEntry("b"), AlertEntry("c")}), IsOk());
  EXPECT_EQ(incident_.calls, 1);
  EXPECT_THAT(incident_.received, ElementsAre("a", "b", "c"));
}

TEST_F(OutboxDeliveryTest, PeerDownIsRetried) {
  incident_.down = true;
  common::OutboxHandler handler = MakeReportAlertsHandler(*incident_stub_, absl::Seconds(5));
  EXPECT_THAT(handler({AlertEntry("a")}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(incident_.received.empty());
}

TEST_F(OutboxDeliveryTest, UnreachablePeerIsUnavailable) {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", ::agentwatch::testing::FreePort()),
                                     grpc::InsecureChannelCredentials());
  auto stub = incident::v1::IncidentService::NewStub(channel);
  common::OutboxHandler handler = MakeReportAlertsHandler(*stub, absl::Seconds(2));
  EXPECT_THAT(handler({AlertEntry("a")}), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(OutboxDeliveryTest, APoisonMessageIsDroppedAndTheRestDelivered) {
  common::OutboxHandler handler = MakeReportAlertsHandler(*incident_stub_, absl::Seconds(5));
  common::OutboxEntry garbage;
  garbage.payload = "\xff\xff not a protobuf";
  EXPECT_THAT(handler({AlertEntry("a"), AlertEntry("bad"), garbage, AlertEntry("c")}), IsOk());
  // One batch call (rejected), then one call per alert.
  EXPECT_EQ(incident_.calls, 4);
  EXPECT_THAT(incident_.received, ElementsAre("a", "c"));
}

TEST_F(OutboxDeliveryTest, UsageGoesInOneCall) {
  LlmUsageRecord record;
  record.record_id = "call-1";
  record.time = absl::FromUnixSeconds(1'700'000'000);
  record.tenant = "acme";
  record.provider = "openai";
  record.model = "gpt-4o";
  record.input_tokens = 10;
  std::vector<common::OutboxEntry> entries;
  for (int i = 0; i < 3; ++i) {
    record.record_id = absl::StrCat("call-", i);
    common::OutboxEntry entry;
    entry.payload = SerializeUsage(record);
    entries.push_back(entry);
  }
  common::OutboxHandler handler = MakeRecordUsageHandler(*cost_stub_, absl::Seconds(5));
  EXPECT_THAT(handler(entries), IsOk());
  EXPECT_EQ(cost_.calls, 1);
  ASSERT_EQ(cost_.received.size(), 3u);
  EXPECT_EQ(cost_.received[2].record_id(), "call-2");
  EXPECT_EQ(cost_.received[0].scope().tenant(), "acme");
  EXPECT_EQ(cost_.received[0].llm().requests(), 1);
}

// Packed usage (PackUsage) of `count` records of tenant "acme" with ids
// "<prefix><i>", as outbox entries.
std::vector<common::OutboxEntry> PackedUsage(size_t count, const std::string& prefix) {
  std::vector<LlmUsageRecord> usage;
  LlmUsageRecord record;
  record.time = absl::FromUnixSeconds(1'700'000'000);
  record.tenant = "acme";
  record.provider = "openai";
  record.model = "gpt-4o";
  for (size_t i = 0; i < count; ++i) {
    record.record_id = absl::StrCat(prefix, i);
    usage.push_back(record);
  }
  std::vector<common::OutboxEntry> entries;
  for (common::OutboxMessage& message : PackUsage(usage, absl::StrCat(prefix.size(), prefix))) {
    common::OutboxEntry entry;
    entry.id = static_cast<int64_t>(entries.size()) + 1;
    entry.tenant = message.tenant;
    entry.idempotency_key = message.idempotency_key;
    entry.payload = std::move(message.payload);
    entries.push_back(std::move(entry));
  }
  return entries;
}

TEST_F(OutboxDeliveryTest, PackedUsageGoesInCallsOfAtMostTheLimit) {
  std::vector<common::OutboxEntry> entries = PackedUsage(kMaxUsagePerMessage + 1, "a-");
  ASSERT_EQ(entries.size(), 2u);  // 5000 + 1
  for (common::OutboxEntry& entry : PackedUsage(kUsageRecordsPerCall, "b-")) {
    entries.push_back(std::move(entry));
  }
  common::OutboxHandler handler = MakeRecordUsageBatchHandler(channel_, absl::Seconds(20));
  EXPECT_THAT(handler(entries), IsOk());
  const int total = static_cast<int>(kMaxUsagePerMessage + 1 + kUsageRecordsPerCall);
  ASSERT_EQ(cost_.received.size(), static_cast<size_t>(total));
  for (int size : cost_.call_sizes) EXPECT_LE(size, static_cast<int>(kUsageRecordsPerCall));
  EXPECT_EQ(cost_.calls, (total + static_cast<int>(kUsageRecordsPerCall) - 1) /
                             static_cast<int>(kUsageRecordsPerCall));
  // Every record once, in the entries' order.
  EXPECT_EQ(cost_.received[0].record_id(), "a-0");
  EXPECT_EQ(cost_.received[kMaxUsagePerMessage].record_id(),
            absl::StrCat("a-", kMaxUsagePerMessage));
  EXPECT_EQ(cost_.received[kMaxUsagePerMessage + 1].record_id(), "b-0");
  EXPECT_EQ(cost_.received.back().record_id(), absl::StrCat("b-", kUsageRecordsPerCall - 1));
  EXPECT_EQ(cost_.received.back().scope().tenant(), "acme");
  EXPECT_EQ(cost_.received.back().llm().requests(), 1);
}

TEST_F(OutboxDeliveryTest, APoisonUsageRecordIsDroppedAndTheRestDelivered) {
  std::vector<common::OutboxEntry> entries = PackedUsage(2, "a-");
  for (common::OutboxEntry& entry : PackedUsage(1, "bad")) entries.push_back(std::move(entry));
  // PackedUsage(1, "bad") names its record "bad0"; make it the one the peer rejects.
  cost::v1::RecordUsageRequest packed;
  ASSERT_TRUE(packed.ParseFromString(entries.back().payload));
  packed.mutable_records(0)->set_record_id("bad");
  entries.back().payload = packed.SerializeAsString();
  common::OutboxEntry garbage;
  garbage.payload = "\xff\xff not a protobuf";
  entries.push_back(garbage);
  common::OutboxHandler handler = MakeRecordUsageBatchHandler(channel_, absl::Seconds(5));
  EXPECT_THAT(handler(entries), IsOk());
  // One call (rejected), then one call per record.
  EXPECT_EQ(cost_.calls, 4);
  ASSERT_EQ(cost_.received.size(), 2u);
  EXPECT_EQ(cost_.received[0].record_id(), "a-0");
  EXPECT_EQ(cost_.received[1].record_id(), "a-1");
}

TEST_F(OutboxDeliveryTest, PackedEntriesShareACallUpToTheLimit) {
  // Three entries of 2, 3 and 4 records: one call of 9 records, sent as
  // stored and received whole, in order.
  std::vector<common::OutboxEntry> entries = PackedUsage(2, "a-");
  for (common::OutboxEntry& entry : PackedUsage(3, "b-")) entries.push_back(std::move(entry));
  for (common::OutboxEntry& entry : PackedUsage(4, "c-")) entries.push_back(std::move(entry));
  common::OutboxHandler handler = MakeRecordUsageBatchHandler(channel_, absl::Seconds(5));
  EXPECT_THAT(handler(entries), IsOk());
  EXPECT_EQ(cost_.calls, 1);
  EXPECT_THAT(cost_.call_sizes, ElementsAre(9));
  std::vector<std::string> ids;
  for (const cost::v1::UsageRecord& record : cost_.received) ids.push_back(record.record_id());
  EXPECT_THAT(ids, ElementsAre("a-0", "a-1", "b-0", "b-1", "b-2", "c-0", "c-1", "c-2", "c-3"));
  EXPECT_EQ(cost_.received[4].scope().tenant(), "acme");
  EXPECT_EQ(cost_.received[4].llm().model(), "gpt-4o");
  EXPECT_EQ(cost_.received[4].time().seconds(), 1'700'000'000);
}

TEST_F(OutboxDeliveryTest, AnEntryOverTheLimitIsSplit) {
  // Not written by PackUsage (at most kMaxUsagePerMessage records per
  // entry), but an entry over the per-call limit still goes in calls of at
  // most the limit.
  std::vector<common::OutboxEntry> entries = PackedUsage(kUsageRecordsPerCall, "a-");
  ASSERT_EQ(entries.size(), 1u);
  cost::v1::RecordUsageRequest packed;
  ASSERT_TRUE(packed.ParseFromString(entries[0].payload));
  cost::v1::UsageRecord extra = packed.records(0);
  extra.set_record_id("extra");
  *packed.add_records() = extra;
  entries[0].payload = packed.SerializeAsString();
  for (common::OutboxEntry& entry : PackedUsage(1, "b-")) entries.push_back(std::move(entry));
  common::OutboxHandler handler = MakeRecordUsageBatchHandler(channel_, absl::Seconds(20));
  EXPECT_THAT(handler(entries), IsOk());
  EXPECT_THAT(cost_.call_sizes, ElementsAre(static_cast<int>(kUsageRecordsPerCall), 1, 1));
  ASSERT_EQ(cost_.received.size(), kUsageRecordsPerCall + 2);
  EXPECT_EQ(cost_.received[kUsageRecordsPerCall].record_id(), "extra");
  EXPECT_EQ(cost_.received.back().record_id(), "b-0");
}

TEST_F(OutboxDeliveryTest, ARejectedCallOfSeveralEntriesIsResentRecordByRecord) {
  // The poison record sits in the middle entry; the records of the entries
  // before and after it are delivered, each once.
  std::vector<common::OutboxEntry> entries = PackedUsage(2, "a-");
  std::vector<common::OutboxEntry> poison = PackedUsage(2, "p-");
  cost::v1::RecordUsageRequest packed;
  ASSERT_TRUE(packed.ParseFromString(poison[0].payload));
  packed.mutable_records(1)->set_record_id("bad");
  poison[0].payload = packed.SerializeAsString();
  entries.push_back(poison[0]);
  for (common::OutboxEntry& entry : PackedUsage(1, "c-")) entries.push_back(std::move(entry));
  common::OutboxHandler handler = MakeRecordUsageBatchHandler(channel_, absl::Seconds(5));
  EXPECT_THAT(handler(entries), IsOk());
  // One call of 5 (rejected), then one per record.
  EXPECT_THAT(cost_.call_sizes, ElementsAre(5, 1, 1, 1, 1, 1));
  std::vector<std::string> ids;
  for (const cost::v1::UsageRecord& record : cost_.received) ids.push_back(record.record_id());
  EXPECT_THAT(ids, ElementsAre("a-0", "a-1", "p-0", "c-0"));
}

TEST_F(OutboxDeliveryTest, PayloadsCheckedOnOneArenaAreDeliveredIntact) {
  // The handler parses each payload on an arena reset between entries.
  // Entries of 1 to 2,400 records (the larger ones take more than the
  // arena's first block) with their own tenant and model, and between them
  // a truncated payload and one with invalid UTF-8 in a string: those two
  // are dropped, every other record arrives once, in order, with its fields.
  std::vector<common::OutboxEntry> entries;
  std::vector<std::string> expected_ids;
  const std::vector<size_t> sizes = {1, 2400, 3, 700, 2400, 1};
  for (size_t e = 0; e < sizes.size(); ++e) {
    std::vector<common::OutboxEntry> packed_entries =
        PackedUsage(sizes[e], absl::StrCat("e", e, "-"));
    ASSERT_EQ(packed_entries.size(), 1u);
    cost::v1::RecordUsageRequest packed;
    ASSERT_TRUE(packed.ParseFromString(packed_entries[0].payload));
    for (cost::v1::UsageRecord& record : *packed.mutable_records()) {
      record.mutable_scope()->set_tenant(absl::StrCat("tenant-", e));
      record.mutable_llm()->set_model(absl::StrCat("model-of-entry-", e, "-long-enough-to-allocate"));
      expected_ids.push_back(record.record_id());
    }
    packed_entries[0].payload = packed.SerializeAsString();
    entries.push_back(packed_entries[0]);
    if (e == 1) {
      common::OutboxEntry truncated = packed_entries[0];
      truncated.payload.resize(truncated.payload.size() - 3);
      entries.push_back(truncated);
    }
    if (e == 3) {
      cost::v1::RecordUsageRequest bad = packed;
      bad.mutable_records(0)->set_record_id("bad-utf8");
      common::OutboxEntry invalid = packed_entries[0];
      invalid.payload = bad.SerializeAsString();
      const size_t at = invalid.payload.find("bad-utf8");
      ASSERT_NE(at, std::string::npos);
      invalid.payload[at] = '\xc3';  // a lead byte followed by ASCII
      cost::v1::RecordUsageRequest check;
      ASSERT_FALSE(check.ParseFromString(invalid.payload));  // the check can fail
      entries.push_back(invalid);
    }
  }
  common::OutboxHandler handler = MakeRecordUsageBatchHandler(channel_, absl::Seconds(20));
  EXPECT_THAT(handler(entries), IsOk());
  ASSERT_EQ(cost_.received.size(), expected_ids.size());
  size_t index = 0;
  for (size_t e = 0; e < sizes.size(); ++e) {
    for (size_t i = 0; i < sizes[e]; ++i, ++index) {
      const cost::v1::UsageRecord& record = cost_.received[index];
      ASSERT_EQ(record.record_id(), expected_ids[index]);
      ASSERT_EQ(record.scope().tenant(), absl::StrCat("tenant-", e));
      ASSERT_EQ(record.llm().model(),
                absl::StrCat("model-of-entry-", e, "-long-enough-to-allocate"));
      ASSERT_EQ(record.time().seconds(), 1'700'000'000);
    }
  }
  for (int size : cost_.call_sizes) EXPECT_LE(size, static_cast<int>(kUsageRecordsPerCall));
}

TEST_F(OutboxDeliveryTest, PackedUsageIsRetriedWhileThePeerIsDown) {
  cost_.down = true;
  common::OutboxHandler handler = MakeRecordUsageBatchHandler(channel_, absl::Seconds(5));
  EXPECT_THAT(handler(PackedUsage(3, "a-")), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(cost_.calls, 1);
  EXPECT_TRUE(cost_.received.empty());
}

TEST(AlertSweeperTest, ResolvesAFiringAlertOnceItsWindowEmpties) {
  common::FakeClock clock(absl::FromUnixSeconds(1'700'000'040));
  const WorkflowErrorRateRule rule(ErrorRateAlertConfig{});
  InMemoryMonitorStore store({}, {&rule});
  prometheus::Registry registry;
  MonitorMetrics metrics(registry, "agentwatch_monitor");
  int notified = 0;
  AlertSweeper sweeper(
      store, clock, metrics, [&notified] { ++notified; }, absl::Seconds(15));

  Batch batch;
  batch.producer_id = "p";
  for (int i = 0; i < 10; ++i) {
    batch.events.push_back(
        fixtures::MakeEvent(fixtures::MakeRun("triage", RunStatus::kFailed), clock.Now()));
  }
  ASSERT_THAT(store.CommitBatch("p", 1, AggregateBatch(batch), clock.Now()), IsOk());
  ASSERT_EQ(store.EnqueuedAlerts().size(), 1u);

  clock.Advance(absl::Minutes(3));
  absl::StatusOr<SweepResult> result = sweeper.SweepOnce();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->alerts.resolved, 0);
  EXPECT_EQ(notified, 0);

  clock.Advance(absl::Minutes(3));
  result = sweeper.SweepOnce();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->alerts.resolved, 1);
  EXPECT_EQ(notified, 1);
  ASSERT_EQ(store.EnqueuedAlerts().size(), 2u);
  EXPECT_FALSE(store.EnqueuedAlerts()[1].firing);
  EXPECT_EQ(store.EnqueuedAlerts()[1].ends_at, clock.Now());
  EXPECT_EQ(metrics.alert_transitions.Add({{"status", "resolved"}}).Value(), 1);

  // The gauges: the tenant's series and the two alert notices enqueued.
  ASSERT_THAT(sweeper.RefreshGauges(), IsOk());
  EXPECT_EQ(metrics.active_series.Value(), store.SeriesCount("acme"));
  EXPECT_GT(metrics.active_series.Value(), 0);
  EXPECT_EQ(metrics.outbox_depth.Value(), 2);

  store.FailWith(absl::UnavailableError("down"));
  EXPECT_THAT(sweeper.SweepOnce(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(sweeper.RefreshGauges(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(AlertSweeperTest, StartsAndStopsCleanly) {
  common::FakeClock clock;
  InMemoryMonitorStore store({}, {});
  prometheus::Registry registry;
  MonitorMetrics metrics(registry, "agentwatch_monitor");
  AlertSweeper sweeper(store, clock, metrics, nullptr, absl::Hours(1));
  sweeper.Start();
  sweeper.Stop();
  sweeper.Stop();
}

}  // namespace
}  // namespace agentwatch::monitor
