// Store helpers that need no server: parameter text forms, proto time
// conversion, outbox payloads and the in-memory health cache.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agentwatch/cost/v1/cost.pb.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/clock.h"
#include "common/pg.h"
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
  EXPECT_EQ(PgFloat8Array({0.1, -2.5, 1e300}), "{0.1,-2.5,1e+300}");
}

TEST(PgTextTest, ArraysOfViewsAreTheSameAsTheCommonTextArrays) {
  std::mt19937_64 rng(7);
  const std::string alphabet = "ab\"\\{},  NULLx\n";
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> values(rng() % 6);
    for (std::string& value : values) {
      const size_t length = rng() % 40;
      for (size_t i = 0; i < length; ++i) value.push_back(alphabet[rng() % alphabet.size()]);
    }
    EXPECT_EQ(PgTextArrayOfViews(std::vector<absl::string_view>(values.begin(), values.end())),
              common::PgTextArray(values));
  }
  EXPECT_EQ(PgTextArrayOfViews({"\"\"", "\\", "x\\\"y"}), R"({"\"\"","\\","x\\\"y"})");
  EXPECT_EQ(PgTextArrayOfViews({}), "{}");
}

TEST(PgTextTest, Float8ArraysReadBackExactly) {
  const std::vector<double> values = {0.0,
                                      -0.0,
                                      1.0 / 3,
                                      2.0 / 3,
                                      6.02214076e23,
                                      5e-324,
                                      2.2250738585072014e-308,
                                      1.7976931348623157e308,
                                      -123.456,
                                      1e-7,
                                      12345678901234567890.0};
  const std::string literal = PgFloat8Array(values);
  ASSERT_EQ(literal.front(), '{');
  ASSERT_EQ(literal.back(), '}');
  const std::vector<std::string> parts = absl::StrSplit(literal.substr(1, literal.size() - 2), ',');
  ASSERT_EQ(parts.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const double back = std::strtod(parts[i].c_str(), nullptr);
    EXPECT_EQ(back, values[i]) << parts[i];
    EXPECT_EQ(std::signbit(back), std::signbit(values[i])) << parts[i];
  }
  EXPECT_EQ(PgFloat8Array({}), "{}");
  EXPECT_EQ(PgInt64Array({}), "{}");
  EXPECT_EQ(PgInt64Array({-9223372036854775807 - 1, 0}), "{-9223372036854775808,0}");
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

TEST(OutboxPayloadsTest, GroupUsageIsPackedLikeTheConcatenationOfItsRuns) {
  EXPECT_TRUE(PackGroupUsage({}, "1:p:1").empty());
  LlmUsageRecord record;
  record.provider = "anthropic";
  record.model = "claude";
  record.team = "search";
  record.workflow = "triage";
  record.agent = "planner";
  record.run_id = "run-1";
  record.time = absl::FromUnixSeconds(1'700'000'000) + absl::Milliseconds(250);
  std::vector<LlmUsageRecord> first, second, empty, all;
  for (int i = 0; i < 7; ++i) {
    record.tenant = i % 3 == 0 ? "globex" : "acme";
    record.record_id = absl::StrCat("p:1:", i);
    record.input_tokens = i;
    record.output_tokens = 2 * i;
    record.cached_input_tokens = 3 * i;
    record.cache_creation_tokens = 4 * i;
    (i < 4 ? first : second).push_back(record);
  }
  second.push_back(first[1]);  // a repeat across runs: left out
  for (const auto* run : {&first, &empty, &second}) all.insert(all.end(), run->begin(), run->end());
  const std::vector<common::OutboxMessage> got = PackGroupUsage({&first, &empty, &second}, "o");
  const std::vector<common::OutboxMessage> want = PackUsage(all, "o");
  ASSERT_EQ(got.size(), 2u);
  ASSERT_EQ(want.size(), 2u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].tenant, want[i].tenant);
    EXPECT_EQ(got[i].idempotency_key, want[i].idempotency_key);
    EXPECT_EQ(got[i].payload, want[i].payload);
  }
  EXPECT_EQ(got[0].tenant, "globex");
  cost::v1::RecordUsageRequest acme;
  ASSERT_TRUE(acme.ParseFromString(got[1].payload));
  ASSERT_EQ(acme.records_size(), 4);  // 1, 2, 4, 5
  EXPECT_EQ(acme.records(3).record_id(), "p:1:5");
  // Every field of the record, as SerializeUsage writes it.
  EXPECT_EQ(acme.records(3).SerializeAsString(), SerializeUsage(second[1]));
  EXPECT_EQ(acme.records(3).llm().cache_creation_tokens(), 20);
  EXPECT_EQ(acme.records(3).scope().team(), "search");
  EXPECT_EQ(acme.records(3).time().nanos(), 250'000'000);
}

TEST(OutboxPayloadsTest, PackedRecordsAreTheBytesProtobufWrites) {
  // PackUsage encodes the wire format itself: each payload must be the
  // bytes protobuf writes for the RecordUsageRequest of the same records.
  std::mt19937_64 rng(5);
  const std::vector<std::string> texts = {"", "a", "gpt-4o", std::string(200, 'x'), "caf\xc3\xa9"};
  const std::vector<int64_t> numbers = {0,
                                        1,
                                        127,
                                        128,
                                        300,
                                        -1,
                                        int64_t{1} << 40,
                                        std::numeric_limits<int64_t>::max(),
                                        std::numeric_limits<int64_t>::min()};
  const std::vector<absl::Time> times = {
      absl::UnixEpoch(), absl::FromUnixSeconds(1'700'000'000) + absl::Nanoseconds(999'999'999),
      absl::FromUnixSeconds(-5) + absl::Milliseconds(250), absl::FromUnixMicros(1)};
  for (int round = 0; round < 300; ++round) {
    LlmUsageRecord record;
    auto text = [&] { return texts[rng() % texts.size()]; };
    auto number = [&] { return numbers[rng() % numbers.size()]; };
    record.record_id = absl::StrCat("r", round, text());
    record.time = times[rng() % times.size()];
    record.tenant = absl::StrCat("t", text());
    record.team = text();
    record.workflow = text();
    record.agent = text();
    record.provider = text();
    record.model = text();
    record.run_id = text();
    record.input_tokens = number();
    record.output_tokens = number();
    record.cached_input_tokens = number();
    record.cache_creation_tokens = number();
    const std::vector<common::OutboxMessage> messages = PackUsage({record, record}, "o");
    ASSERT_EQ(messages.size(), 1u);  // the repeat is left out
    cost::v1::RecordUsageRequest want;
    ASSERT_TRUE(want.add_records()->ParseFromString(SerializeUsage(record)));
    EXPECT_EQ(messages[0].payload, want.SerializeAsString()) << round;
  }
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
      if (series.metric == "llm_latency_seconds") labels = *series.labels;
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
