// Unit tests of the ledger's encoding helpers: the fast COPY timestamp equals
// common::PgTimestamp everywhere (random instants over ten centuries, day,
// month, year and leap-day edges, before 1970, outside the fast range), and
// the dimension key separates exactly the combinations that differ.
#include "cost/store/ledger_encoding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "absl/time/civil_time.h"
#include "common/pg.h"

namespace agentwatch::cost {
namespace {

std::string Fast(absl::Time t) {
  std::string out = "x";  // appends, never overwrites
  AppendPgTimestamp(&out, t);
  return out.substr(1);
}

absl::Time Utc(int64_t y, int m, int d, int h = 0, int min = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, h, min, s), absl::UTCTimeZone());
}

TEST(AppendPgTimestampTest, EqualsPgTimestampOnEdges) {
  const absl::Time edges[] = {
      absl::UnixEpoch(),
      absl::UnixEpoch() - absl::Nanoseconds(1),
      absl::UnixEpoch() - absl::Microseconds(1),
      absl::UnixEpoch() - absl::Seconds(1) + absl::Nanoseconds(999),
      Utc(2024, 2, 29, 23, 59, 59) + absl::Microseconds(999'999),
      Utc(2024, 3, 1),
      Utc(2025, 12, 31, 23, 59, 59) + absl::Nanoseconds(999'999'999),
      Utc(2026, 1, 1),
      Utc(2000, 2, 29, 12),
      Utc(1900, 3, 1),
      Utc(1600, 2, 29, 1, 2, 3),
      Utc(1000, 1, 1),
      Utc(1000, 1, 1) - absl::Microseconds(1),
      Utc(9999, 12, 31, 23, 59, 59) + absl::Microseconds(999'999),
      Utc(10000, 1, 1),
      Utc(10000, 1, 1) + absl::Hours(100),
      Utc(1, 1, 1),
  };
  for (absl::Time t : edges) EXPECT_EQ(Fast(t), common::PgTimestamp(t)) << t;
}

TEST(AppendPgTimestampTest, EqualsPgTimestampOnRandomInstants) {
  std::mt19937_64 rng(7);
  const int64_t lo = absl::ToUnixNanos(Utc(1000, 1, 1)) / 1000;
  const int64_t hi = absl::ToUnixNanos(Utc(9999, 12, 31)) / 1000;
  std::uniform_int_distribution<int64_t> micros(lo, hi);
  std::uniform_int_distribution<int64_t> nanos(0, 999);
  for (int i = 0; i < 200'000; ++i) {
    const absl::Time t = absl::FromUnixMicros(micros(rng)) + absl::Nanoseconds(nanos(rng));
    ASSERT_EQ(Fast(t), common::PgTimestamp(t)) << absl::FormatTime(t);
  }
}

UsageRecord Record() {
  UsageRecord r;
  r.scope.tenant = "acme";
  r.kind = UsageKind::kLlm;
  r.scope.team = "search";
  r.scope.workflow = "triage";
  r.scope.agent = "planner";
  r.scope.model = "gpt-4o";
  r.scope.provider = "openai";
  r.scope.tags = {{"env", "prod"}};
  return r;
}

TEST(DimsCacheKeyTest, EqualOnlyForTheSameCombination) {
  const UsageRecord base = Record();
  UsageRecord same = base;
  same.record_id = "another";
  same.run_id = "run";
  same.tokens.input = 99;
  same.time = absl::Now();
  EXPECT_EQ(DimsCacheKey(base), DimsCacheKey(same));

  std::vector<UsageRecord> variants;
  auto vary = [&](auto change) {
    UsageRecord r = base;
    change(r);
    variants.push_back(r);
  };
  vary([](UsageRecord& r) { r.scope.tenant = "acme2"; });
  vary([](UsageRecord& r) { r.kind = UsageKind::kOutcome; });
  // Shifting a byte between neighbouring fields.
  vary([](UsageRecord& r) {
    r.scope.team = "searcht";
    r.scope.workflow = "riage";
  });
  vary([](UsageRecord& r) { r.scope.agent = ""; });
  vary([](UsageRecord& r) { r.scope.model = "gpt-4o-mini"; });
  vary([](UsageRecord& r) { r.scope.provider = "azure"; });
  vary([](UsageRecord& r) { r.scope.service = "api"; });
  vary([](UsageRecord& r) { r.scope.tags = {}; });
  vary([](UsageRecord& r) { r.scope.tags = {{"env", "staging"}}; });
  vary([](UsageRecord& r) { r.scope.tags = {{"env", "prod"}, {"x", ""}}; });
  vary([](UsageRecord& r) { r.scope.tags = {{"envp", "rod"}}; });
  vary([](UsageRecord& r) {
    r.kind = UsageKind::kInfra;
    r.infra_resource = InfraResource::kComputeSeconds;
  });
  vary([](UsageRecord& r) {
    r.kind = UsageKind::kInfra;
    r.infra_resource = InfraResource::kComputeSeconds;
    r.infra_sku = "m5.large";
  });
  std::set<std::string> keys = {DimsCacheKey(base)};
  for (const UsageRecord& r : variants) {
    EXPECT_TRUE(keys.insert(DimsCacheKey(r)).second) << DimsCacheKey(r);
  }
  // The infra resource is not part of a non-infra record's combination.
  UsageRecord llm = base;
  llm.infra_resource = InfraResource::kStorageGibHours;
  EXPECT_EQ(DimsCacheKey(llm), DimsCacheKey(base));
}

TEST(DimsCacheKeyTest, AppendAddsTheSameKeyAfterWhatIsThere) {
  UsageRecord infra = Record();
  infra.kind = UsageKind::kInfra;
  infra.infra_sku = "c7g";
  for (const UsageRecord& r : {Record(), infra}) {
    std::string buffer = "prefix|";
    AppendDimsCacheKey(&buffer, r);
    EXPECT_EQ(buffer, "prefix|" + DimsCacheKey(r));
  }
  // Two keys back to back in one buffer stay apart by their positions.
  std::string both;
  AppendDimsCacheKey(&both, Record());
  const size_t first = both.size();
  AppendDimsCacheKey(&both, infra);
  EXPECT_EQ(both.substr(0, first), DimsCacheKey(Record()));
  EXPECT_EQ(both.substr(first), DimsCacheKey(infra));
}

}  // namespace
}  // namespace agentwatch::cost
