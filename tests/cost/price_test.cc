// Unit tests of pricing: every token kind, fallbacks, tiers, rounding once per
// record, overflow, effective-date and tenant-override selection.
#include "cost/core/price.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "common/testing/status_matchers.h"

namespace agentwatch::cost {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// gpt-4o-mini as LiteLLM lists it: 0.15 / 0.60 / 0.075 USD per million tokens.
ModelPrice Mini() {
  ModelPrice p;
  p.base = {150'000'000, 600'000'000, 75'000'000, 0};
  return p;
}

LlmTokens Tokens(int64_t input, int64_t output, int64_t cached = 0, int64_t creation = 0) {
  LlmTokens t;
  t.input = input;
  t.output = output;
  t.cached_input = cached;
  t.cache_creation = creation;
  return t;
}

TEST(LlmCostTest, EachTokenKind) {
  const ModelPrice p = Mini();
  // 1,000 input tokens x 150 nano-USD.
  EXPECT_THAT(LlmCost(p, Tokens(1000, 0)), IsOkAndHolds(150'000));
  // 1,000 output tokens x 600 nano-USD.
  EXPECT_THAT(LlmCost(p, Tokens(0, 1000)), IsOkAndHolds(600'000));
  // 1,000 input of which 400 cached: 600 x 150 + 400 x 75.
  EXPECT_THAT(LlmCost(p, Tokens(1000, 0, 400)), IsOkAndHolds(90'000 + 30'000));
  // Cache creation without its own price costs the input price.
  EXPECT_THAT(LlmCost(p, Tokens(1000, 0, 0, 300)), IsOkAndHolds(150'000));
  // All kinds at once, with an explicit cache-creation price.
  ModelPrice q = p;
  q.base.cache_creation = 187'500'000;
  // 500 uncached x 150 + 200 cached x 75 + 300 created x 187.5 + 500 out x 600.
  EXPECT_THAT(LlmCost(q, Tokens(1000, 500, 200, 300)),
              IsOkAndHolds(75'000 + 15'000 + 56'250 + 300'000));
}

TEST(LlmCostTest, CacheReadWithoutPriceCostsTheInputPrice) {
  ModelPrice p;
  p.base = {1'000'000'000, 2'000'000'000, 0, 0};
  EXPECT_THAT(LlmCost(p, Tokens(10, 0, 10)), IsOkAndHolds(10'000));
}

TEST(LlmCostTest, RoundsOncePerRecordHalfAwayFromZero) {
  ModelPrice p;
  p.base = {500'000, 500'000, 0, 0};  // 0.5 nano-USD per token
  // 0.5 + 0.5 = 1.0 exactly; rounding each kind first would give 2.
  EXPECT_THAT(LlmCost(p, Tokens(1, 1)), IsOkAndHolds(1));
  ModelPrice tenth;
  tenth.base = {100'000, 0, 0, 0};                              // 0.1 nano-USD per token
  EXPECT_THAT(LlmCost(tenth, Tokens(4, 0)), IsOkAndHolds(0));   // 0.4
  EXPECT_THAT(LlmCost(tenth, Tokens(5, 0)), IsOkAndHolds(1));   // 0.5 -> away from zero
  EXPECT_THAT(LlmCost(tenth, Tokens(14, 0)), IsOkAndHolds(1));  // 1.4
  EXPECT_THAT(LlmCost(tenth, Tokens(15, 0)), IsOkAndHolds(2));  // 1.5
  EXPECT_THAT(LlmCost(tenth, Tokens(0, 0)), IsOkAndHolds(0));
}

TEST(LlmCostTest, TiersApplyAboveTheirThresholdToTheWholeCall) {
  // gemini-2.5-pro: 1.25 / 10 / 0.125 USD per million; above 200k input
  // tokens 2.5 / 15 / 0.25.
  ModelPrice p;
  p.base = {1'250'000'000, 10'000'000'000, 125'000'000, 0};
  p.tiers.push_back({200'000, {2'500'000'000, 15'000'000'000, 250'000'000, 0}});
  // At the threshold: base prices.
  EXPECT_THAT(LlmCost(p, Tokens(200'000, 1000)), IsOkAndHolds(250'000'000 + 10'000'000));
  // One above: every token at the tier.
  EXPECT_THAT(LlmCost(p, Tokens(200'001, 1000)), IsOkAndHolds(500'002'500 + 15'000'000));
  // Cached tokens in the tier use the tier's cache price.
  EXPECT_THAT(LlmCost(p, Tokens(300'000, 0, 100'000)),
              IsOkAndHolds(200'000 * 2'500 + 100'000 * 250));
}

TEST(LlmCostTest, HighestMatchingTierWinsAndZerosFallBack) {
  ModelPrice p;
  p.base = {1'000'000'000, 4'000'000'000, 0, 0};
  p.tiers.push_back({100, {2'000'000'000, 0, 0, 0}});  // output falls back to base
  p.tiers.push_back({1000, {3'000'000'000, 5'000'000'000, 0, 0}});
  EXPECT_THAT(EffectiveTokenPrices(p, 50),
              (TokenPrices{1'000'000'000, 4'000'000'000, 1'000'000'000, 1'000'000'000}));
  EXPECT_THAT(EffectiveTokenPrices(p, 101),
              (TokenPrices{2'000'000'000, 4'000'000'000, 2'000'000'000, 2'000'000'000}));
  EXPECT_THAT(EffectiveTokenPrices(p, 1001),
              (TokenPrices{3'000'000'000, 5'000'000'000, 3'000'000'000, 3'000'000'000}));
}

TEST(LlmCostTest, OverflowIsOutOfRange) {
  ModelPrice p;
  p.base = {kMax, kMax, kMax, kMax};
  EXPECT_THAT(LlmCost(p, Tokens(kMax, kMax, kMax / 2, kMax / 2)),
              StatusIs(absl::StatusCode::kOutOfRange));
  // The largest cost that fits: kMax nano-USD from kMax tokens at 1e6 per million.
  ModelPrice unit;
  unit.base = {1'000'000, 0, 0, 0};
  EXPECT_THAT(LlmCost(unit, Tokens(kMax, 0)), IsOkAndHolds(kMax));
}

TEST(ValidateLlmTokensTest, NamesTheField) {
  EXPECT_THAT(ValidateLlmTokens(Tokens(10, 5, 4, 6), "llm"), IsOk());
  EXPECT_THAT(
      ValidateLlmTokens(Tokens(-1, 0), "records[2].llm"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("records[2].llm.input_tokens")));
  EXPECT_THAT(ValidateLlmTokens(Tokens(0, -1), "llm"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("llm.output_tokens")));
  EXPECT_THAT(ValidateLlmTokens(Tokens(5, 0, -1), "llm"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("llm.cached_input_tokens")));
  EXPECT_THAT(ValidateLlmTokens(Tokens(5, 0, 0, -1), "llm"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("llm.cache_creation_tokens")));
  EXPECT_THAT(ValidateLlmTokens(Tokens(5, 0, 6), "llm"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("llm.cached_input_tokens")));
  EXPECT_THAT(ValidateLlmTokens(Tokens(5, 0, 3, 3), "llm"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("llm.cache_creation_tokens")));
}

TEST(InfraCostTest, MilliUnitsRoundOnce) {
  // 1.5 units x 3 nano-USD = 4.5 -> 5.
  EXPECT_THAT(InfraCost(3, 1500), IsOkAndHolds(5));
  EXPECT_THAT(InfraCost(3, 1499), IsOkAndHolds(4));
  EXPECT_THAT(InfraCost(48'000, 3'600'000), IsOkAndHolds(172'800'000));
  EXPECT_THAT(InfraCost(kMax, kMax), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(InfraCost(-1, 1), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ValidateModelPriceTest, RejectsNegativeAndUnorderedTiers) {
  ModelPrice p = Mini();
  EXPECT_THAT(ValidateModelPrice(p, "price"), IsOk());
  p.base.output = -1;
  EXPECT_THAT(
      ValidateModelPrice(p, "price"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("price.output_per_million_nano_usd")));
  p = Mini();
  p.tiers = {{1000, {}}, {1000, {}}};
  EXPECT_THAT(
      ValidateModelPrice(p, "price"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("price.tiers[1].above_input_tokens")));
  p.tiers = {{1000, {}}, {500, {}}};
  EXPECT_THAT(ValidateModelPrice(p, "price"), StatusIs(absl::StatusCode::kInvalidArgument));
  p.tiers = {{1000, {-5, 0, 0, 0}}};
  EXPECT_THAT(ValidateModelPrice(p, "price"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("price.tiers[0].input_per_million_nano_usd")));
  p = Mini();
  p.unit_price_nano_usd = -1;
  EXPECT_THAT(ValidateModelPrice(p, "price"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unit_price_nano_usd")));
}

TEST(ValidatePriceVersionTest, RequiresProviderModelAndKnownSource) {
  PriceVersion v;
  v.provider = "openai";
  v.model = "gpt-4o-mini";
  EXPECT_THAT(ValidatePriceVersion(v, "price"), IsOk());
  v.provider.clear();
  EXPECT_THAT(ValidatePriceVersion(v, "price"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("price.provider")));
  v.provider = "openai";
  v.model.clear();
  EXPECT_THAT(ValidatePriceVersion(v, "price"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("price.model")));
  v.model = "m";
  v.source = "guess";
  EXPECT_THAT(ValidatePriceVersion(v, "price"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("price.source")));
}

TEST(CanonicalModelTest, StripsTheProviderPrefixOnly) {
  EXPECT_EQ(CanonicalModel("openai", "openai/gpt-4o"), "gpt-4o");
  EXPECT_EQ(CanonicalModel("openai", "gpt-4o"), "gpt-4o");
  EXPECT_EQ(CanonicalModel("gmi", "gmi/openai/gpt-4o-mini"), "openai/gpt-4o-mini");
  EXPECT_EQ(CanonicalModel("azure", "openai/gpt-4o"), "openai/gpt-4o");
  EXPECT_EQ(CanonicalModel("openai", "openai/"), "openai/");
  EXPECT_EQ(CanonicalModel("", "openai/gpt-4o"), "openai/gpt-4o");
  EXPECT_EQ(CanonicalModel("open", "openai/gpt-4o"), "openai/gpt-4o");
}

PriceVersion Version(std::string tenant, int64_t day, int64_t input) {
  PriceVersion v;
  v.tenant = std::move(tenant);
  v.provider = "openai";
  v.model = "gpt-4o";
  v.effective_time = absl::FromUnixSeconds(day * 86400);
  v.price.base.input = input;
  return v;
}

TEST(SelectPriceVersionTest, LatestEffectiveAtOrBeforeTheTime) {
  const std::vector<PriceVersion> versions = {Version("", 0, 1), Version("", 10, 2),
                                              Version("", 20, 3)};
  auto at = [](int64_t seconds) { return absl::FromUnixSeconds(seconds); };
  EXPECT_EQ(SelectPriceVersion(versions, "", at(5 * 86400))->price.base.input, 1);
  // Effective time is inclusive.
  EXPECT_EQ(SelectPriceVersion(versions, "", at(10 * 86400))->price.base.input, 2);
  EXPECT_EQ(SelectPriceVersion(versions, "", at(10 * 86400 - 1))->price.base.input, 1);
  EXPECT_EQ(SelectPriceVersion(versions, "t", at(30 * 86400))->price.base.input, 3);
  EXPECT_EQ(SelectPriceVersion(versions, "", at(-1)), nullptr);
  EXPECT_EQ(SelectPriceVersion({}, "", at(0)), nullptr);
}

TEST(SelectPriceVersionTest, TenantOverrideWinsWhenInEffect) {
  const std::vector<PriceVersion> versions = {Version("", 0, 100), Version("", 20, 200),
                                              Version("acme", 10, 50), Version("other", 0, 7)};
  auto day = [](int64_t d) { return absl::FromUnixSeconds(d * 86400 + 3600); };
  // Before the override takes effect: the global price.
  EXPECT_EQ(SelectPriceVersion(versions, "acme", day(5))->price.base.input, 100);
  // From then on the override wins, even over a newer global price.
  EXPECT_EQ(SelectPriceVersion(versions, "acme", day(10))->price.base.input, 50);
  EXPECT_EQ(SelectPriceVersion(versions, "acme", day(25))->price.base.input, 50);
  // Other tenants never see acme's override.
  EXPECT_EQ(SelectPriceVersion(versions, "beta", day(25))->price.base.input, 200);
  EXPECT_EQ(SelectPriceVersion(versions, "", day(25))->price.base.input, 200);
  EXPECT_EQ(SelectPriceVersion(versions, "other", day(25))->price.base.input, 7);
}

}  // namespace
}  // namespace agentwatch::cost
