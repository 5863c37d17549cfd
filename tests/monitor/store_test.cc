// Store helpers that need no server: parameter text forms, proto time
// conversion, outbox payloads and the in-memory health cache.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentwatch/cost/v1/cost.pb.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/clock.h"
#include "common/testing/status_matchers.h"
#include "monitor/core/rollup.h"
#include "monitor/store/health_cache.h"
#include "monitor/store/in_memory_monitor_store.h"
#include "monitor/store/monitor_store.h"
#include "monitor/store/outbox_payloads.h"
#include "monitor/store/pg_text.h"
#include "monitor/store/proto_time.h"
#include "test_events.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;

TEST(PgTextTest, ArrayLiteralsQuoteAndEscape) {
  EXPECT_EQ(PgTextArray({}), "{}");
  EXPECT_EQ(PgTextArray({"a", "", "b c", "q\"uote", "back\\slash", "{x,y}", "NULL"}),
            R"({"a","","b c","q\"uote","back\\slash","{x,y}","NULL"})");
  EXPECT_EQ(PgInt64Array({1, -2, 9223372036854775807}), "{1,-2,9223372036854775807}");
  EXPECT_EQ(PgFloat8Array({0.1, -2.5, 1e300}),
            "{0.10000000000000001,-2.5,1.0000000000000001e+300}");
}

TEST(PgTextTest, JsonObjectEscapes) {
  EXPECT_EQ(JsonObject({}), "{}");
  EXPECT_EQ(JsonObject({{"model", "gpt \"4\""}, {"path", "a\\b\n"}}),
            R"({"model":"gpt \"4\"","path":"a\\b\n"})");
}

TEST(ProtoTimeTest, TimestampsRoundTripAndAreChecked) {
  const absl::Time t = absl::FromUnixSeconds(1'700'000'000) + absl::Nanoseconds(123456789);
  google::protobuf::Timestamp proto;
  ToProtoTimestamp(t, &proto);
  EXPECT_EQ(proto.seconds(), 1'700'000'000);
  EXPECT_EQ(proto.nanos(), 123456789);
  EXPECT_THAT(FromProtoTimestamp(proto, "time"), IsOkAndHolds(t));
  ToProtoTimestamp(absl::FromUnixSeconds(-1) + absl::Milliseconds(250), &proto);
  EXPECT_EQ(proto.seconds(), -1);
  EXPECT_EQ(proto.nanos(), 250000000);
  proto.set_nanos(1000000000);
  EXPECT_THAT(
      FromProtoTimestamp(proto, "events[2].time"),
      StatusIs(absl::StatusCode::kInvalidArgument, "events[2].time: not a valid timestamp"));
  proto.set_nanos(0);
  proto.set_seconds(253402300800);  // 10000-01-01
  EXPECT_THAT(FromProtoTimestamp(proto, "t"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ProtoTimeTest, DurationsAreChecked) {
  google::protobuf::Duration proto;
  proto.set_seconds(-2);
  proto.set_nanos(-500000000);
  EXPECT_THAT(FromProtoDuration(proto, "d"), IsOkAndHolds(absl::Milliseconds(-2500)));
  proto.set_nanos(500000000);  // signs differ
  EXPECT_THAT(FromProtoDuration(proto, "step"),
              StatusIs(absl::StatusCode::kInvalidArgument, "step: not a valid duration"));
  proto.set_seconds(315576000001);
  proto.set_nanos(0);
  EXPECT_THAT(FromProtoDuration(proto, "d"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(OutboxPayloadsTest, AlertAndUsage) {
  AlertNotice notice;
  notice.fingerprint = "fp";
  notice.name = "WorkflowErrorRateHigh";
  notice.severity = Severity::kP1;
  notice.tenant = "acme";
  notice.labels = {{"workflow", "triage"}};
  notice.annotations = {{"summary", "s"}};
  notice.starts_at = absl::FromUnixSeconds(100);
  notice.ends_at = absl::FromUnixSeconds(200);
  notice.firing = false;
  incident::v1::Alert alert;
  ASSERT_TRUE(alert.ParseFromString(SerializeAlert(notice)));
  EXPECT_EQ(alert.fingerprint(), "fp");
  EXPECT_EQ(alert.severity(), common::v1::SEVERITY_P1);
  EXPECT_EQ(alert.status(), incident::v1::ALERT_STATUS_RESOLVED);
  EXPECT_EQ(alert.labels().at("workflow"), "triage");
  EXPECT_EQ(alert.annotations().at("summary"), "s");
  EXPECT_EQ(alert.starts_at().seconds(), 100);
  EXPECT_EQ(alert.ends_at().seconds(), 200);
  EXPECT_EQ(alert.source(), "agentwatch-monitor");
  notice.firing = true;
  notice.ends_at.reset();
  ASSERT_TRUE(alert.ParseFromString(SerializeAlert(notice)));
  EXPECT_EQ(alert.status(), incident::v1::ALERT_STATUS_FIRING);
  EXPECT_FALSE(alert.has_ends_at());

  LlmUsageRecord record;
  record.record_id = "p:1:0";
  record.tenant = "acme";
  record.provider = "anthropic";
  record.model = "claude";
  record.output_tokens = 7;
  cost::v1::UsageRecord usage;
  ASSERT_TRUE(usage.ParseFromString(SerializeUsage(record)));
  EXPECT_EQ(usage.record_id(), "p:1:0");
  EXPECT_EQ(usage.scope().provider(), "anthropic");
  EXPECT_EQ(usage.llm().output_tokens(), 7);
  EXPECT_EQ(usage.llm().requests(), 1);
  EXPECT_FALSE(usage.has_run_succeeded());
  EXPECT_EQ(UsageIdempotencyKey(record), "4:acme/p:1:0");
}

TEST(OutboxPayloadsTest, UsageIsPackedPerTenantInBoundedMessages) {
  EXPECT_TRUE(PackUsage({}, "1:p:1").empty());
  std::vector<LlmUsageRecord> usage;
  LlmUsageRecord record;
  record.provider = "openai";
  record.model = "gpt-4o";
  record.input_tokens = 3;
  const size_t total = kMaxUsagePerMessage + 10;
  size_t globex_records = 1;  // with the repeat below
  for (size_t i = 0; i < total; ++i) {
    record.tenant = i % 1000 == 7 ? "globex" : "acme";
    if (record.tenant == "globex") ++globex_records;
    record.record_id = absl::StrCat("p:1:", i);
    usage.push_back(record);
  }
  record.tenant = "acme";
  record.record_id = "p:1:0";  // a repeat of the first record: left out
  usage.push_back(record);
  record.tenant = "globex";  // the same record id in another tenant: kept
  usage.push_back(record);
  const size_t acme_records = total - (globex_records - 1);
  ASSERT_GT(acme_records, kMaxUsagePerMessage);

  const std::vector<common::OutboxMessage> messages = PackUsage(usage, "1:p:1");
  ASSERT_EQ(messages.size(), 3u);
  std::map<std::string, std::vector<std::string>> records;  // by idempotency key
  for (const common::OutboxMessage& message : messages) {
    EXPECT_EQ(message.destination, kCostBatchDestination);
    cost::v1::RecordUsageRequest packed;
    ASSERT_TRUE(packed.ParseFromString(message.payload));
    ASSERT_LE(static_cast<size_t>(packed.records_size()), kMaxUsagePerMessage);
    for (const cost::v1::UsageRecord& usage_record : packed.records()) {
      EXPECT_EQ(usage_record.scope().tenant(), message.tenant);
      EXPECT_EQ(usage_record.llm().input_tokens(), 3);
      EXPECT_EQ(usage_record.llm().requests(), 1);
      records[message.idempotency_key].push_back(usage_record.record_id());
    }
  }
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records["4:acme/1:p:1#0"].size(), kMaxUsagePerMessage);
  EXPECT_EQ(records["4:acme/1:p:1#0"].front(), "p:1:0");
  EXPECT_EQ(records["4:acme/1:p:1#0"][1], "p:1:1");
  EXPECT_EQ(records["4:acme/1:p:1#1"].size(), acme_records - kMaxUsagePerMessage);
  EXPECT_EQ(records["4:acme/1:p:1#1"].back(), absl::StrCat("p:1:", total - 1));
  EXPECT_EQ(records["6:globex/1:p:1#0"].size(), globex_records);
  EXPECT_EQ(records["6:globex/1:p:1#0"].front(), "p:1:7");
  EXPECT_EQ(records["6:globex/1:p:1#0"].back(), "p:1:0");
}

TEST(InMemoryHealthCacheTest, ExpiresByTheClock) {
  common::FakeClock clock;
  InMemoryHealthCache cache(clock);
  EXPECT_FALSE(cache.Get("k").has_value());
  cache.Put("k", "v", absl::Seconds(1));
  EXPECT_EQ(cache.Get("k"), "v");
  clock.Advance(absl::Milliseconds(999));
  EXPECT_EQ(cache.Get("k"), "v");
  clock.Advance(absl::Milliseconds(1));
  EXPECT_FALSE(cache.Get("k").has_value());
  EXPECT_EQ(cache.hits(), 2);
}

TEST(InMemoryStoreTest, SketchesOfOneSeriesMinuteMergeAcrossBatches) {
  InMemoryMonitorStore store(StoreLimits{}, {});
  QuantileSketch expected;
  Labels labels;
  for (int b = 0; b < 3; ++b) {
    Batch batch;
    batch.producer_id = absl::StrCat("replica-", b);
    for (int i = 1; i <= 50; ++i) {
      LlmCall call = fixtures::MakeCall("gpt-4o");
      call.latency = absl::Milliseconds(i * (b + 1));
      expected.Add(absl::ToDoubleSeconds(*call.latency));
      batch.events.push_back(fixtures::MakeEvent(call));
    }
    const BatchAggregate aggregate = AggregateBatch(batch);
    for (const SeriesRecord& series : aggregate.series) {
      if (series.metric == "llm_latency_seconds") labels = series.labels;
    }
    ASSERT_THAT(store.CommitBatch(batch.producer_id, 0, aggregate, fixtures::TestNow()).status(),
                IsOk());
  }
  const std::optional<QuantileSketch> stored =
      store.Sketch("llm_latency_seconds", labels, fixtures::TestNow());
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(*stored == expected);
  EXPECT_FALSE(store.Sketch("llm_calls_total", labels, fixtures::TestNow()).has_value());

  HealthScope scope;
  scope.tenant = "acme";
  absl::StatusOr<std::vector<HealthSketchRow>> rows = store.ReadHealthSketches(
      scope, {fixtures::TestNow(), fixtures::TestNow() + absl::Minutes(1)});
  ASSERT_THAT(rows, IsOk());
  ASSERT_EQ(rows->size(), 2u);  // latency and time to first token of one model
  EXPECT_EQ((*rows)[0].metric, "llm_latency_seconds");
  EXPECT_TRUE((*rows)[0].sketch == expected);
  EXPECT_EQ((*rows)[0].model, "gpt-4o");
}

}  // namespace
}  // namespace agentwatch::monitor
