// Unit tests of the ledger's encoding helpers: the dimension key separates
// exactly the combinations that differ. (The COPY timestamps are
// common::AppendPgTimestamp, tested in tests/common/pg_timestamp_test.cc.)
#include "cost/store/ledger_encoding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

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
