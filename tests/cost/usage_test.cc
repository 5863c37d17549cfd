// Unit tests of usage records: validation and pricing from a PriceBook.
#include "cost/core/usage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "common/testing/status_matchers.h"

namespace agentwatch::cost {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

UsageRecord Llm(std::string id, std::string model, int64_t input, int64_t output,
                absl::Time time = absl::FromUnixSeconds(1'700'000'000)) {
  UsageRecord r;
  r.record_id = std::move(id);
  r.time = time;
  r.scope.tenant = "acme";
  r.scope.provider = "openai";
  r.scope.model = std::move(model);
  r.kind = UsageKind::kLlm;
  r.tokens.input = input;
  r.tokens.output = output;
  r.requests = 1;
  return r;
}

PriceVersion Price(std::string tenant, std::string provider, std::string model, int64_t input,
                   int64_t output, absl::Time effective = absl::UnixEpoch()) {
  PriceVersion v;
  v.tenant = std::move(tenant);
  v.provider = std::move(provider);
  v.model = std::move(model);
  v.effective_time = effective;
  v.price.base.input = input;
  v.price.base.output = output;
  return v;
}

TEST(ValidateUsageRecordTest, AcceptsEachKind) {
  EXPECT_THAT(ValidateUsageRecord(Llm("r1", "gpt-4o", 10, 5), "records[0]"), IsOk());
  UsageRecord infra;
  infra.record_id = "i1";
  infra.scope.tenant = "acme";
  infra.kind = UsageKind::kInfra;
  infra.infra_quantity_milli = 1000;
  EXPECT_THAT(ValidateUsageRecord(infra, "records[0]"), IsOk());
  UsageRecord outcome;
  outcome.record_id = "o1";
  outcome.scope.tenant = "acme";
  outcome.run_id = "run-1";
  outcome.run_succeeded = true;
  EXPECT_THAT(ValidateUsageRecord(outcome, "records[0]"), IsOk());
}

TEST(ValidateUsageRecordTest, NamesTheOffendingField) {
  struct Case {
    std::function<void(UsageRecord&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](UsageRecord& r) { r.record_id.clear(); }, "records[3].record_id"},
      {[](UsageRecord& r) { r.record_id = std::string(257, 'x'); }, "records[3].record_id"},
      {[](UsageRecord& r) { r.record_id = std::string("a\0b", 3); }, "records[3].record_id"},
      {[](UsageRecord& r) { r.scope.tenant.clear(); }, "records[3].scope.tenant"},
      {[](UsageRecord& r) { r.scope.tags["bad key"] = "v"; }, "records[3].scope.tags"},
      {[](UsageRecord& r) { r.scope.tags["env"] = std::string(257, 'v'); },
       "records[3].scope.tags[env]: at most 256 bytes"},
      {[](UsageRecord& r) { r.scope.tags["env"] = std::string("a\0b", 3); },
       "records[3].scope.tags[env]: must not contain NUL"},
      {[](UsageRecord& r) { r.scope.team = std::string(257, 't'); }, "records[3].scope.team"},
      {[](UsageRecord& r) { r.tokens.cache_creation = 11; },
       "records[3].llm.cache_creation_tokens"},
      {[](UsageRecord& r) { r.scope.model.clear(); }, "records[3].llm.model"},
      {[](UsageRecord& r) { r.scope.provider.clear(); }, "records[3].llm.provider"},
      {[](UsageRecord& r) { r.tokens.input = -1; }, "records[3].llm.input_tokens"},
      {[](UsageRecord& r) { r.tokens.cached_input = 11; }, "records[3].llm.cached_input_tokens"},
      {[](UsageRecord& r) { r.requests = -1; }, "records[3].llm.requests"},
      {[](UsageRecord& r) { r.client_cost_nano_usd = -1; }, "records[3].client_cost_nano_usd"},
      {[](UsageRecord& r) { r.run_succeeded = true; }, "records[3].run_id"},
      {[](UsageRecord& r) { r.kind = UsageKind::kOutcome; }, "records[3]: llm or infra"},
      {[](UsageRecord& r) {
         r.kind = UsageKind::kInfra;
         r.infra_quantity_milli = -5;
       },
       "records[3].infra.quantity"},
  };
  for (const Case& c : cases) {
    UsageRecord r = Llm("r", "gpt-4o", 10, 5);
    c.mutate(r);
    EXPECT_THAT(ValidateUsageRecord(r, "records[3]"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.field)))
        << c.field;
  }
}

TEST(PriceUsageTest, PricesFromTheCatalogAtTheRecordTime) {
  PriceBook book;
  const absl::Time change = absl::FromUnixSeconds(1'700'000'000);
  book.Add(Price("", "openai", "gpt-4o", 2'500'000'000, 10'000'000'000));
  book.Add(Price("", "openai", "gpt-4o", 2'000'000'000, 8'000'000'000, change));
  auto before = PriceUsage(Llm("a", "gpt-4o", 1000, 100, change - absl::Seconds(1)), book, "r");
  ASSERT_THAT(before, IsOk());
  EXPECT_TRUE(before->priced);
  EXPECT_EQ(before->cost_nano_usd, 2'500'000 + 1'000'000);
  EXPECT_EQ(before->price_effective_time, absl::UnixEpoch());
  auto after = PriceUsage(Llm("b", "gpt-4o", 1000, 100, change), book, "r");
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->cost_nano_usd, 2'000'000 + 800'000);
  EXPECT_EQ(after->price_effective_time, change);
  EXPECT_EQ(after->price_tenant, "");
  // The provider-prefixed spelling finds the same price.
  auto prefixed = PriceUsage(Llm("c", "openai/gpt-4o", 1000, 100, change), book, "r");
  ASSERT_THAT(prefixed, IsOk());
  EXPECT_EQ(prefixed->cost_nano_usd, after->cost_nano_usd);
}

TEST(PriceUsageTest, TenantOverrideWins) {
  PriceBook book;
  book.Add(Price("", "openai", "gpt-4o", 2'500'000'000, 0));
  book.Add(Price("acme", "openai", "gpt-4o", 1'000'000'000, 0));
  UsageRecord r = Llm("a", "gpt-4o", 1000, 0);
  auto acme = PriceUsage(r, book, "r");
  ASSERT_THAT(acme, IsOk());
  EXPECT_EQ(acme->cost_nano_usd, 1'000'000);
  EXPECT_EQ(acme->price_tenant, "acme");
  r.scope.tenant = "beta";
  auto beta = PriceUsage(r, book, "r");
  ASSERT_THAT(beta, IsOk());
  EXPECT_EQ(beta->cost_nano_usd, 2'500'000);
}

TEST(PriceUsageTest, UnknownModelIsUnpricedNotSilentlyZero) {
  PriceBook book;
  book.Add(Price("", "openai", "gpt-4o", 1, 1));
  auto p = PriceUsage(Llm("a", "gpt-9", 1000, 10), book, "r");
  ASSERT_THAT(p, IsOk());
  EXPECT_FALSE(p->priced);
  EXPECT_EQ(p->cost_nano_usd, 0);
  EXPECT_FALSE(p->price_effective_time.has_value());
  // A price effective only after the record does not apply either.
  PriceBook later;
  later.Add(Price("", "openai", "gpt-4o", 1, 1, absl::FromUnixSeconds(1'800'000'000)));
  auto early = PriceUsage(Llm("b", "gpt-4o", 10, 10), later, "r");
  ASSERT_THAT(early, IsOk());
  EXPECT_FALSE(early->priced);
}

TEST(PriceUsageTest, ClientCostOverridesAndIsMarked) {
  PriceBook book;
  book.Add(Price("", "openai", "gpt-4o", 2'500'000'000, 0));
  UsageRecord r = Llm("a", "gpt-4o", 1000, 0);
  r.client_cost_nano_usd = 42;
  EXPECT_TRUE(PriceKeysFor(r).empty());
  auto p = PriceUsage(r, book, "r");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->cost_nano_usd, 42);
  EXPECT_TRUE(p->priced);
  EXPECT_TRUE(p->client_priced);
  // Even for a model the catalog does not know.
  r.scope.model = "unknown-model";
  p = PriceUsage(r, book, "r");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->cost_nano_usd, 42);
}

TEST(PriceUsageTest, InfraUsesSkuThenResourcePrice) {
  UsageRecord r;
  r.record_id = "i";
  r.scope.tenant = "acme";
  r.kind = UsageKind::kInfra;
  r.infra_resource = InfraResource::kExternalApiCalls;
  r.infra_quantity_milli = 3000;  // 3 calls
  r.infra_sku = "serpapi";
  EXPECT_THAT(PriceKeysFor(r), ElementsAre(Pair("infra", "external_api_calls/serpapi"),
                                           Pair("infra", "external_api_calls")));
  PriceBook generic;
  PriceVersion g = Price("", "infra", "external_api_calls", 0, 0);
  g.price.unit_price_nano_usd = 1'000'000;
  generic.Add(g);
  auto p = PriceUsage(r, generic, "r");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->cost_nano_usd, 3'000'000);
  PriceBook specific = generic;
  PriceVersion s = Price("", "infra", "external_api_calls/serpapi", 0, 0);
  s.price.unit_price_nano_usd = 5'000'000;
  specific.Add(s);
  p = PriceUsage(r, specific, "r");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->cost_nano_usd, 15'000'000);
  // Without any price: unpriced.
  p = PriceUsage(r, PriceBook(), "r");
  ASSERT_THAT(p, IsOk());
  EXPECT_FALSE(p->priced);
}

TEST(PriceUsageTest, OutcomeRecordsCostNothing) {
  UsageRecord r;
  r.record_id = "o";
  r.scope.tenant = "acme";
  r.run_id = "run";
  r.run_succeeded = false;
  auto p = PriceUsage(r, PriceBook(), "r");
  ASSERT_THAT(p, IsOk());
  EXPECT_TRUE(p->priced);
  EXPECT_EQ(p->cost_nano_usd, 0);
}

TEST(PriceUsageTest, OverflowNamesTheRecord) {
  PriceBook book;
  PriceVersion v = Price("", "openai", "gpt-4o", std::numeric_limits<int64_t>::max(), 0);
  book.Add(v);
  UsageRecord r = Llm("a", "gpt-4o", std::numeric_limits<int64_t>::max(), 0);
  EXPECT_THAT(PriceUsage(r, book, "records[7]"),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("records[7]")));
}

TEST(PriceRecordTest, PricesAsPriceUsageFromTheGivenKeys) {
  PriceBook book;
  book.Add(Price("", "openai", "gpt-4o", 2'500'000'000, 10'000'000'000));
  book.Add(Price("acme", "openai", "gpt-4o", 1'000'000'000, 0, absl::FromUnixSeconds(1)));
  PriceVersion sku = Price("", "infra", "compute_seconds/c7g", 0, 0);
  sku.price.unit_price_nano_usd = 40;
  book.Add(sku);
  std::vector<UsageRecord> records = {Llm("a", "gpt-4o", 1000, 100),
                                      Llm("b", "unknown-model", 1000, 100)};
  records[1].scope.tenant = "beta";
  UsageRecord client = Llm("c", "gpt-4o", 1000, 0);
  client.client_cost_nano_usd = 7;
  records.push_back(client);
  UsageRecord infra;
  infra.record_id = "i";
  infra.scope.tenant = "acme";
  infra.kind = UsageKind::kInfra;
  infra.infra_sku = "c7g";
  infra.infra_quantity_milli = 3'000;
  records.push_back(infra);
  UsageRecord outcome;
  outcome.record_id = "o";
  outcome.scope.tenant = "acme";
  outcome.run_id = "run";
  outcome.run_succeeded = true;
  records.push_back(outcome);
  for (const UsageRecord& r : records) {
    SCOPED_TRACE(r.record_id);
    auto whole = PriceUsage(r, book, "r");
    auto pricing = PriceRecord(r, PriceKeysFor(r), book, "r");
    ASSERT_THAT(whole, IsOk());
    ASSERT_THAT(pricing, IsOk());
    EXPECT_EQ(pricing->cost_nano_usd, whole->cost_nano_usd);
    EXPECT_EQ(pricing->priced, whole->priced);
    EXPECT_EQ(pricing->client_priced, whole->client_priced);
    EXPECT_EQ(pricing->price_tenant, whole->price_tenant);
    EXPECT_EQ(pricing->price_effective_time, whole->price_effective_time);
    EXPECT_EQ(whole->record.record_id, r.record_id);
  }
  // The figures themselves: the tenant's override, unpriced, the client's,
  // the sku's unit price.
  EXPECT_EQ(PriceRecord(records[0], PriceKeysFor(records[0]), book, "r")->cost_nano_usd, 1'000'000);
  EXPECT_EQ(PriceRecord(records[0], PriceKeysFor(records[0]), book, "r")->price_tenant, "acme");
  EXPECT_FALSE(PriceRecord(records[1], PriceKeysFor(records[1]), book, "r")->priced);
  EXPECT_EQ(PriceRecord(records[2], {}, book, "r")->cost_nano_usd, 7);
  EXPECT_EQ(PriceRecord(records[3], PriceKeysFor(records[3]), book, "r")->cost_nano_usd, 120);
  // Pricing follows the keys it is given (the caller computes them once per
  // provider and model): none, nothing found.
  EXPECT_FALSE(PriceRecord(records[0], {}, book, "r")->priced);
  // An overflow names the prefix.
  UsageRecord huge = Llm("h", "gpt-4o", std::numeric_limits<int64_t>::max() / 2, 0);
  huge.scope.tenant = "beta";
  EXPECT_THAT(PriceRecord(huge, PriceKeysFor(huge), book, "records[9]"),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("records[9]")));
}

}  // namespace
}  // namespace agentwatch::cost
