// Unit tests of the LiteLLM conversion: entry rules, tiers, model spelling,
// and the real shipped price list (services/cost/catalog, a copy of
// ../shared/data/llm-prices/model_prices_and_context_window.json).
#include "cost/core/litellm.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "common/testing/status_matchers.h"
#include "cost/api/litellm_json.h"
#include "cost/catalog/default_catalog.h"

namespace agentwatch::cost {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

LiteLlmEntry Entry(std::string key, std::string provider, std::string mode,
                   std::map<std::string, std::string> numbers) {
  LiteLlmEntry e;
  e.key = std::move(key);
  e.is_object = true;
  e.provider = std::move(provider);
  e.mode = std::move(mode);
  e.numbers = std::move(numbers);
  return e;
}

const CatalogPrice* Find(const LiteLlmConversion& c, absl::string_view provider,
                         absl::string_view model) {
  for (const CatalogPrice& p : c.prices) {
    if (p.provider == provider && p.model == model) return &p;
  }
  return nullptr;
}

std::string IssueOf(const LiteLlmConversion& c, absl::string_view key) {
  for (const LiteLlmIssue& i : c.issues) {
    if (i.key == key) return i.reason;
  }
  return "";
}

TEST(ConvertLiteLlmTest, MapsTokenPricesToNanoPerMillion) {
  const LiteLlmConversion c = ConvertLiteLlm({Entry("gpt-4o-mini", "openai", "chat",
                                                    {{"input_cost_per_token", "1.5e-07"},
                                                     {"output_cost_per_token", "6e-07"},
                                                     {"cache_read_input_token_cost", "7.5e-08"},
                                                     {"input_cost_per_token_batches", "7.5e-08"},
                                                     {"input_cost_per_token_priority", "2.5e-07"},
                                                     {"max_tokens", "16384"}})});
  ASSERT_THAT(c.prices, SizeIs(1));
  EXPECT_THAT(c.issues, IsEmpty());
  const CatalogPrice& p = c.prices[0];
  EXPECT_EQ(p.provider, "openai");
  EXPECT_EQ(p.model, "gpt-4o-mini");
  EXPECT_EQ(p.price.base, (TokenPrices{150'000'000, 600'000'000, 75'000'000, 0}));
  EXPECT_THAT(p.price.tiers, IsEmpty());
}

TEST(ConvertLiteLlmTest, ReadsTiersAboveATokenCount) {
  const LiteLlmConversion c = ConvertLiteLlm(
      {Entry("gemini-2.5-pro", "vertex_ai-language-models", "chat",
             {{"input_cost_per_token", "1.25e-06"},
              {"output_cost_per_token", "1e-05"},
              {"cache_read_input_token_cost", "1.25e-07"},
              {"input_cost_per_token_above_200k_tokens", "2.5e-06"},
              {"output_cost_per_token_above_200k_tokens", "1.5e-05"},
              {"cache_read_input_token_cost_above_200k_tokens", "2.5e-07"},
              {"cache_creation_input_token_cost_above_200k_tokens", "2.5e-07"},
              {"input_cost_per_token_above_128000_tokens", "2e-06"},
              {"input_cost_per_token_above_272k_tokens_priority", "9e-06"},
              {"cache_creation_input_token_cost_above_1hr", "5e-06"},
              {"cache_creation_input_token_cost_above_1hr_above_200k_tokens", "6e-06"},
              {"input_cost_per_token_above_tokens", "1"}})});
  ASSERT_THAT(c.prices, SizeIs(1));
  const ModelPrice& price = c.prices[0].price;
  EXPECT_EQ(price.base, (TokenPrices{1'250'000'000, 10'000'000'000, 125'000'000, 0}));
  ASSERT_THAT(price.tiers, SizeIs(2));
  EXPECT_EQ(price.tiers[0].above_input_tokens, 128'000);
  EXPECT_EQ(price.tiers[0].prices, (TokenPrices{2'000'000'000, 0, 0, 0}));
  EXPECT_EQ(price.tiers[1].above_input_tokens, 200'000);
  EXPECT_EQ(price.tiers[1].prices,
            (TokenPrices{2'500'000'000, 15'000'000'000, 250'000'000, 250'000'000}));
  EXPECT_THAT(ValidateModelPrice(price, "price"), IsOk());
}

TEST(ConvertLiteLlmTest, SkipsWhatIsNotATokenPricedModel) {
  LiteLlmEntry not_object;
  not_object.key = "last_updated";
  LiteLlmEntry no_provider = Entry("x", "", "chat", {{"input_cost_per_token", "1e-6"}});
  no_provider.provider.reset();
  LiteLlmEntry no_mode =
      Entry("fireworks-ai-default", "fireworks_ai", "", {{"input_cost_per_token", "0.0"}});
  no_mode.mode.reset();
  const LiteLlmConversion c = ConvertLiteLlm({
      Entry("sample_spec", "one of ...", "chat", {{"input_cost_per_token", "0.0"}}),
      not_object,
      no_provider,
      no_mode,
      Entry("dall-e-3", "openai", "image_generation", {{"output_cost_per_image", "0.04"}}),
      Entry("rerank-x", "cohere", "rerank", {{"input_cost_per_query", "0.002"}}),
      Entry("chat-no-price", "openai", "chat", {{"max_tokens", "100"}}),
      Entry("negative", "openai", "chat", {{"input_cost_per_token", "-1e-6"}}),
      Entry("text-embedding-3-small", "openai", "embedding",
            {{"input_cost_per_token", "2e-08"}, {"output_cost_per_token", "0.0"}}),
      Entry("free-model", "openrouter", "chat",
            {{"input_cost_per_token", "0"}, {"output_cost_per_token", "0"}}),
  });
  ASSERT_THAT(c.prices, SizeIs(2));
  EXPECT_NE(Find(c, "openai", "text-embedding-3-small"), nullptr);
  // A model listed as free is priced at zero (and counted as priced).
  ASSERT_NE(Find(c, "openrouter", "free-model"), nullptr);
  EXPECT_THAT(c.issues, SizeIs(8));
  EXPECT_THAT(IssueOf(c, "sample_spec"), HasSubstr("sample"));
  EXPECT_THAT(IssueOf(c, "last_updated"), HasSubstr("not a model entry"));
  EXPECT_THAT(IssueOf(c, "x"), HasSubstr("litellm_provider"));
  EXPECT_THAT(IssueOf(c, "fireworks-ai-default"), HasSubstr("no mode"));
  EXPECT_THAT(IssueOf(c, "dall-e-3"), HasSubstr("image_generation"));
  EXPECT_THAT(IssueOf(c, "chat-no-price"), HasSubstr("no token prices"));
  EXPECT_THAT(IssueOf(c, "negative"), HasSubstr("negative"));
  // sample_spec and last_updated and x do not count as model entries.
  EXPECT_EQ(c.model_entries, 7);
}

TEST(ConvertLiteLlmTest, StripsTheProviderPrefixAndPrefersTheBareKey) {
  const LiteLlmConversion c = ConvertLiteLlm({
      Entry("deepseek/deepseek-chat", "deepseek", "chat", {{"input_cost_per_token", "3e-07"}}),
      Entry("deepseek-chat", "deepseek", "chat", {{"input_cost_per_token", "2.8e-07"}}),
      Entry("azure/gpt-4o-mini", "azure", "chat", {{"input_cost_per_token", "1.65e-07"}}),
      Entry("gmi/openai/gpt-4o-mini", "gmi", "chat", {{"input_cost_per_token", "1.5e-07"}}),
      Entry("deepseek-v", "deepseek", "chat",
            {{"input_cost_per_token", "1e-07"}, {"input_cost_per_token_cache_hit", "1e-08"}}),
  });
  ASSERT_NE(Find(c, "deepseek", "deepseek-chat"), nullptr);
  EXPECT_EQ(Find(c, "deepseek", "deepseek-chat")->price.base.input, 280'000'000);
  EXPECT_THAT(IssueOf(c, "deepseek/deepseek-chat"), HasSubstr("'deepseek-chat'"));
  ASSERT_NE(Find(c, "azure", "gpt-4o-mini"), nullptr);
  EXPECT_EQ(Find(c, "azure", "gpt-4o-mini")->price.base.input, 165'000'000);
  EXPECT_NE(Find(c, "gmi", "openai/gpt-4o-mini"), nullptr);
  // input_cost_per_token_cache_hit stands in for the cache-read price.
  EXPECT_EQ(Find(c, "deepseek", "deepseek-v")->price.base.cache_read, 10'000'000);
}

TEST(LiteLlmJsonTest, ParsesThroughProtobufStructExactly) {
  auto c = ConvertLiteLlmJson(R"json({
      "sample_spec": {"input_cost_per_token": 0.0, "litellm_provider": "x", "mode": "chat"},
      "last_updated": "2026-01-01",
      "m1": {"litellm_provider": "p", "mode": "chat", "input_cost_per_token": 1.2e-07,
             "output_cost_per_token": 7.9752604167e-09, "supports_vision": true,
             "supported_regions": ["us"]}})json",
                              "litellm_json");
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(c->prices, SizeIs(1));
  EXPECT_EQ(c->prices[0].price.base.input, 120'000'000);
  EXPECT_EQ(c->prices[0].price.base.output, 7'975'260);
}

TEST(LiteLlmJsonTest, RejectsWhatIsNotTheFormat) {
  EXPECT_THAT(ConvertLiteLlmJson("not json", "litellm_json"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("litellm_json")));
  EXPECT_THAT(ConvertLiteLlmJson("[1, 2]", "litellm_json"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("litellm_json")));
  EXPECT_THAT(ConvertLiteLlmJson(R"({"a": 1, "b": {"c": 2}})", "litellm_json"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("format")));
  EXPECT_THAT(ConvertLiteLlmJson(std::string(kMaxLiteLlmDocumentBytes + 1, ' '), "litellm_json"),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(RealPriceListTest, ShippedCatalogIsTheEmbeddedCopy) {
  const std::string file = ReadFile(AW_COST_CATALOG_JSON);
  ASSERT_GT(file.size(), 1'000'000u);
  EXPECT_EQ(DefaultCatalogJson(), file);
}

TEST(RealPriceListTest, ConvertsTheLiteLlmFile) {
  auto c = ConvertLiteLlmJson(DefaultCatalogJson(), "litellm_json");
  ASSERT_THAT(c, IsOk());
  EXPECT_GT(c->prices.size(), 1000u);
  EXPECT_GT(c->model_entries, 2000);
  for (const CatalogPrice& p : c->prices) {
    ASSERT_THAT(ValidateModelPrice(p.price, p.model), IsOk());
  }
  // The models the end-to-end test and the examples rely on.
  const CatalogPrice* mini = Find(*c, "openai", "gpt-4o-mini");
  ASSERT_NE(mini, nullptr);
  EXPECT_EQ(mini->price.base, (TokenPrices{150'000'000, 600'000'000, 75'000'000, 0}));
  const CatalogPrice* azure_mini = Find(*c, "azure", "gpt-4o-mini");
  ASSERT_NE(azure_mini, nullptr);
  EXPECT_EQ(azure_mini->price.base.input, 165'000'000);
  const CatalogPrice* gemini = Find(*c, "vertex_ai-language-models", "gemini-2.5-pro");
  ASSERT_NE(gemini, nullptr);
  ASSERT_THAT(gemini->price.tiers, SizeIs(1));
  EXPECT_EQ(gemini->price.tiers[0].above_input_tokens, 200'000);
  EXPECT_EQ(gemini->price.tiers[0].prices.input, 2'500'000'000);
  EXPECT_EQ(gemini->price.tiers[0].prices.output, 15'000'000'000);
  const CatalogPrice* embedding = Find(*c, "openai", "text-embedding-3-small");
  ASSERT_NE(embedding, nullptr);
  EXPECT_EQ(embedding->price.base.input, 20'000'000);
  EXPECT_THAT(c->issues, Contains(Field(&LiteLlmIssue::key, "sample_spec")));
  EXPECT_THAT(c->issues, Contains(Field(&LiteLlmIssue::key, "last_updated")));
  // Costs of a typical call with the shipped prices: 1,000 in + 500 out.
  LlmTokens t;
  t.input = 1000;
  t.output = 500;
  EXPECT_THAT(LlmCost(mini->price, t), ::agentwatch::testing::IsOkAndHolds(450'000));
}

}  // namespace
}  // namespace agentwatch::cost
