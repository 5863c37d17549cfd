// Unit tests of the ledger's encoding helpers: the dimension key separates
// exactly the combinations that differ. (The COPY timestamps are
// common::AppendPgTimestamp, tested in tests/common/pg_timestamp_test.cc.)
#include "cost/store/ledger_encoding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/clock.h"

namespace agentwatch::cost {
namespace {

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

// Records that differ from `base` in one part of their combination each.
std::vector<UsageRecord> Variants(const UsageRecord& base) {
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
  // A value holding what looks like the next field's length and bytes.
  vary([](UsageRecord& r) {
    r.scope.team = std::string("search\x06\0\0\0triage", 16);
    r.scope.workflow = "";
  });
  // Lengths above one byte (300 and 44 share their low byte).
  vary([](UsageRecord& r) { r.scope.agent = std::string(300, 'a'); });
  vary([](UsageRecord& r) { r.scope.agent = std::string(44, 'a'); });
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
  return variants;
}

TEST(DimsCacheKeyTest, EqualOnlyForTheSameCombination) {
  const UsageRecord base = Record();
  UsageRecord same = base;
  same.record_id = "another";
  same.run_id = "run";
  same.tokens.input = 99;
  same.time = absl::Now();
  EXPECT_EQ(DimsCacheKey(base), DimsCacheKey(same));

  const std::vector<UsageRecord> variants = Variants(base);
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

// A cache keyed by DimsCacheKey strings finds a record by its fields
// (DimsOf) exactly when it holds the record's key.
TEST(DimsCacheKeyTest, RecordsAreFoundByTheirFieldsAmongKeys) {
  std::vector<UsageRecord> records = Variants(Record());
  records.push_back(Record());
  UsageRecord same = Record();
  same.record_id = "another";
  same.infra_resource = InfraResource::kStorageGibHours;  // not part of an LLM combination
  const DimsCacheKeyHash hash;
  const DimsCacheKeyEq eq;
  for (const UsageRecord& a : records) {
    const std::string key = DimsCacheKey(a);
    EXPECT_EQ(hash(DimsOf{&a}), hash(key)) << key;
    for (const UsageRecord& b : records) {
      EXPECT_EQ(eq(key, DimsOf{&b}), key == DimsCacheKey(b)) << key << " / " << DimsCacheKey(b);
      EXPECT_EQ(eq(DimsOf{&b}, key), key == DimsCacheKey(b));
    }
    // Strings that are not that key: cut short, or with a byte more.
    EXPECT_FALSE(eq(key.substr(0, key.size() - 1), DimsOf{&a}));
    EXPECT_FALSE(eq(key + "x", DimsOf{&a}));
    EXPECT_FALSE(eq("", DimsOf{&a}));
  }
  absl::flat_hash_map<std::string, int, DimsCacheKeyHash, DimsCacheKeyEq> cache;
  for (size_t i = 0; i + 1 < records.size(); ++i) cache.emplace(DimsCacheKey(records[i]), i);
  for (size_t i = 0; i + 1 < records.size(); ++i) {
    auto it = cache.find(DimsOf{&records[i]});
    ASSERT_NE(it, cache.end()) << DimsCacheKey(records[i]);
    EXPECT_EQ(it->second, static_cast<int>(i));
  }
  EXPECT_EQ(cache.find(DimsOf{&records.back()}), cache.end());  // Record() was not added
  cache.emplace(DimsCacheKey(Record()), 99);
  ASSERT_NE(cache.find(DimsOf{&same}), cache.end());
  EXPECT_EQ(cache.find(DimsOf{&same})->second, 99);
}

}  // namespace
}  // namespace agentwatch::cost
