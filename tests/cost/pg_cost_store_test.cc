// Integration tests of PgCostStore against the real Postgres of scripts/test
// (AGENTWATCH_TEST_PG_DSN), each in a fresh database with the migrations
// applied: catalog import of the real LiteLLM file, default-catalog import
// across replicas, versioned lookups, tenant overrides, the idempotent
// ledger, unknown models, reports checked against the reference aggregation
// across groupings, spend, budgets, budget alerts (exactly once, also under
// concurrent batches) and the hot counters in the real Redis (flush,
// re-seed, drift and Reconcile).
#include "cost/store/pg_cost_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/pg.h"
#include "common/redis.h"
#include "common/rpc.h"
#include "common/status_macros.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "cost/api/convert.h"
#include "cost/api/cost_metrics.h"
#include "cost/api/cost_service.h"
#include "cost/api/litellm_json.h"
#include "cost/store/budget_counters.h"
#include "cost/store/migrations.h"

namespace agentwatch::cost {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

absl::Time Utc(int y, int m, int d, int h = 0, int min = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, h, min, 0), absl::UTCTimeZone());
}

common::PgPoolOptions PoolOptions(const std::string& dsn) {
  common::PgPoolOptions options;
  options.dsn = dsn;
  options.size = 4;
  return options;
}

// The shipped copy of LiteLLM's price list; byte for byte the file in
// ../shared/data/llm-prices/ (see RealPriceListTest in cost_api_test).
std::string RealPriceList() {
  std::ifstream in(AW_COST_CATALOG_JSON);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

PriceVersion Price(std::string tenant, std::string provider, std::string model, int64_t input,
                   int64_t output, absl::Time effective) {
  PriceVersion v;
  v.tenant = std::move(tenant);
  v.provider = std::move(provider);
  v.model = std::move(model);
  v.effective_time = effective;
  v.price.base.input = input;
  v.price.base.output = output;
  return v;
}

UsageRecord Llm(std::string tenant, std::string id, std::string model, int64_t input,
                int64_t output, absl::Time time) {
  UsageRecord r;
  r.record_id = std::move(id);
  r.time = time;
  r.scope.tenant = std::move(tenant);
  r.scope.provider = "openai";
  r.scope.model = std::move(model);
  r.kind = UsageKind::kLlm;
  r.tokens.input = input;
  r.tokens.output = output;
  r.requests = 1;
  return r;
}

class PgCostStoreTest : public ::testing::Test {
 protected:
  PgCostStoreTest() : pool_(PoolOptions(db_.dsn())) {}

  void SetUp() override {
    ASSERT_THAT(common::ApplyMigrations(pool_, "cost", Migrations()), IsOk());
    store_ = std::make_unique<PgCostStore>(pool_);
  }

  int64_t Count(const std::string& sql) {
    int64_t value = -1;
    EXPECT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
      value = txn.exec(sql)[0][0].as<int64_t>();
      return absl::OkStatus();
    }),
                IsOk());
    return value;
  }

  int64_t TotalCost(const std::string& tenant) {
    ReportQuery q;
    q.start = Utc(2000, 1, 1);
    q.end = Utc(2100, 1, 1);
    q.filter.tenant = tenant;
    auto report = store_->QueryReport(q);
    EXPECT_THAT(report, IsOk());
    return report.ok() ? report->totals.cost_nano_usd : -1;
  }

  ::agentwatch::testing::TestDatabase db_;
  common::PgPool pool_;
  std::unique_ptr<PgCostStore> store_;
};

TEST_F(PgCostStoreTest, ImportsTheRealLiteLlmPriceList) {
  auto conversion = ConvertLiteLlmJson(RealPriceList(), "litellm_json");
  ASSERT_THAT(conversion, IsOk());
  const absl::Time effective = Utc(2026, 1, 1);
  auto counts = store_->ImportPrices("", effective, kSourceLiteLlm, conversion->prices, false);
  ASSERT_THAT(counts, IsOk());
  EXPECT_GT(counts->imported, 1000);
  EXPECT_EQ(counts->imported, static_cast<int64_t>(conversion->prices.size()));
  EXPECT_EQ(Count("SELECT count(*) FROM cost.prices"), counts->imported);
  EXPECT_GT(Count("SELECT count(DISTINCT model) FROM cost.prices"), 1000);

  auto mini = store_->GetPrice("", "openai", "gpt-4o-mini", Utc(2026, 6, 1));
  ASSERT_THAT(mini, IsOk());
  EXPECT_EQ(mini->price.base, (TokenPrices{150'000'000, 600'000'000, 75'000'000, 0}));
  EXPECT_EQ(mini->source, "litellm");
  EXPECT_EQ(mini->effective_time, effective);
  // Tiers survive the round trip through the arrays.
  auto gemini =
      store_->GetPrice("", "vertex_ai-language-models", "gemini-2.5-pro", Utc(2026, 6, 1));
  ASSERT_THAT(gemini, IsOk());
  ASSERT_THAT(gemini->price.tiers, SizeIs(1));
  EXPECT_EQ(gemini->price.tiers[0].above_input_tokens, 200'000);
  EXPECT_EQ(gemini->price.tiers[0].prices.output, 15'000'000'000);
  // Not in effect before the import's effective time.
  EXPECT_THAT(store_->GetPrice("", "openai", "gpt-4o-mini", Utc(2025, 12, 31)),
              StatusIs(absl::StatusCode::kNotFound));

  // Importing the same file again (later) changes nothing.
  auto again = store_->ImportPrices("", Utc(2026, 2, 1), kSourceLiteLlm, conversion->prices, false);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->imported, 0);
  EXPECT_EQ(again->unchanged, counts->imported);
  // A changed price is one new version; a dry run stores nothing.
  std::vector<CatalogPrice> changed = conversion->prices;
  for (CatalogPrice& p : changed) {
    if (p.provider == "openai" && p.model == "gpt-4o-mini") p.price.base.input = 100'000'000;
  }
  auto dry = store_->ImportPrices("", Utc(2026, 2, 1), kSourceLiteLlm, changed, true);
  ASSERT_THAT(dry, IsOk());
  EXPECT_EQ(dry->imported, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.prices"), counts->imported);
  ASSERT_THAT(store_->ImportPrices("", Utc(2026, 2, 1), kSourceLiteLlm, changed, false), IsOk());
  EXPECT_EQ(Count("SELECT count(*) FROM cost.prices"), counts->imported + 1);
  EXPECT_EQ(store_->GetPrice("", "openai", "gpt-4o-mini", Utc(2026, 1, 31))->price.base.input,
            150'000'000);
  EXPECT_EQ(store_->GetPrice("", "openai", "gpt-4o-mini", Utc(2026, 2, 1))->price.base.input,
            100'000'000);

  // Paging through the current prices visits each (provider, model) once.
  PriceListQuery query;
  query.now = Utc(2026, 6, 1);
  query.limit = 500;
  int64_t listed = 0;
  std::set<std::pair<std::string, std::string>> seen;
  while (true) {
    auto page = store_->ListPrices(query);
    ASSERT_THAT(page, IsOk());
    for (const PriceVersion& v : *page) {
      EXPECT_TRUE(seen.emplace(v.provider, v.model).second) << v.provider << "/" << v.model;
    }
    listed += static_cast<int64_t>(page->size());
    if (page->size() < static_cast<size_t>(query.limit)) break;
    query.after =
        PriceCursor{page->back().provider, page->back().model, page->back().effective_time};
  }
  EXPECT_EQ(listed, counts->imported);
  query.include_history = true;
  query.after.reset();
  query.provider = "openai";
  query.model = "gpt-4o-mini";
  auto history = store_->ListPrices(query);
  ASSERT_THAT(history, IsOk());
  ASSERT_THAT(*history, SizeIs(2));
  EXPECT_LT((*history)[0].effective_time, (*history)[1].effective_time);
}

TEST_F(PgCostStoreTest, DefaultCatalogIsImportedOnceAcrossReplicas) {
  auto conversion = ConvertLiteLlmJson(RealPriceList(), "litellm_json");
  ASSERT_THAT(conversion, IsOk());
  common::PgPool other_pool(PoolOptions(db_.dsn()));
  PgCostStore other(other_pool);
  std::atomic<int> imported{0};
  std::atomic<int> failed{0};
  auto run = [&](CostStore& store) {
    absl::StatusOr<bool> result = store.ImportDefaultCatalogIfEmpty(conversion->prices);
    if (!result.ok()) ++failed;
    if (result.ok() && *result) ++imported;
  };
  std::thread a([&] { run(*store_); });
  std::thread b([&] { run(other); });
  a.join();
  b.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(imported.load(), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.prices"),
            static_cast<int64_t>(conversion->prices.size()));
  EXPECT_EQ(Count("SELECT count(*) FROM cost.prices WHERE source <> 'default' OR "
                  "effective_time <> 'epoch'"),
            0);
  // It prices any history.
  auto mini = store_->GetPrice("acme", "openai", "gpt-4o-mini", Utc(1999, 1, 1));
  ASSERT_THAT(mini, IsOk());
  EXPECT_EQ(mini->price.base.output, 600'000'000);
  EXPECT_THAT(store_->ImportDefaultCatalogIfEmpty(conversion->prices), IsOkAndHolds(false));
}

TEST_F(PgCostStoreTest, LedgerIsIdempotentAndNeverReprices) {
  ASSERT_THAT(store_->UpsertPrice(
                  Price("", "openai", "gpt-4o-mini", 150'000'000, 600'000'000, absl::UnixEpoch())),
              IsOk());
  std::vector<UsageRecord> batch;
  for (int i = 0; i < 100; ++i) {
    batch.push_back(Llm("acme", absl::StrCat("r", i), "gpt-4o-mini", 1000 + i, 10,
                        Utc(2026, 3, 1) + absl::Minutes(i)));
  }
  batch.push_back(batch[5]);  // repeated inside the batch
  auto first = store_->RecordUsage(batch, Utc(2026, 3, 15));
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->accepted, 100);
  EXPECT_EQ(first->duplicates, 1);
  // Sum of (1000 + i) x 150 + 10 x 600 over i = 0..99.
  const int64_t expected = (100 * 1000 + 4950) * 150 + 100 * 6000;
  EXPECT_EQ(first->total_cost_nano_usd, expected);
  EXPECT_EQ(TotalCost("acme"), expected);

  // Replace the price (same effective time) and replay: counted as
  // duplicates, the stored costs stay as first priced.
  ASSERT_THAT(store_->UpsertPrice(Price("", "openai", "gpt-4o-mini", 1, 1, absl::UnixEpoch())),
              IsOk());
  batch.pop_back();
  auto replay = store_->RecordUsage(batch, Utc(2026, 3, 15));
  ASSERT_THAT(replay, IsOk());
  EXPECT_EQ(replay->accepted, 0);
  EXPECT_EQ(replay->duplicates, 100);
  EXPECT_EQ(replay->total_cost_nano_usd, 0);
  EXPECT_EQ(TotalCost("acme"), expected);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.usage"), 100);
  // The same record id in another tenant is another record.
  auto other = store_->RecordUsage({Llm("beta", "r1", "gpt-4o-mini", 1, 1, Utc(2026, 3, 1))},
                                   Utc(2026, 3, 15));
  ASSERT_THAT(other, IsOk());
  EXPECT_EQ(other->accepted, 1);
}

TEST_F(PgCostStoreTest, PricesAtTheRecordTimeWithTenantOverrides) {
  ASSERT_THAT(store_->UpsertPrice(
                  Price("", "openai", "gpt-4o", 2'500'000'000, 10'000'000'000, Utc(2025, 1, 1))),
              IsOk());
  ASSERT_THAT(store_->UpsertPrice(
                  Price("", "openai", "gpt-4o", 2'000'000'000, 8'000'000'000, Utc(2026, 3, 1))),
              IsOk());
  ASSERT_THAT(store_->UpsertPrice(Price("acme", "openai", "gpt-4o", 1'000'000'000, 4'000'000'000,
                                        Utc(2026, 3, 15))),
              IsOk());
  auto outcome = store_->RecordUsage(
      {
          Llm("acme", "feb", "gpt-4o", 1'000'000, 0, Utc(2026, 2, 28, 23, 59)),
          Llm("acme", "mar", "gpt-4o", 1'000'000, 0, Utc(2026, 3, 1)),
          Llm("acme", "late-mar", "openai/gpt-4o", 1'000'000, 0, Utc(2026, 3, 20)),
          Llm("beta", "late-mar", "gpt-4o", 1'000'000, 0, Utc(2026, 3, 20)),
          Llm("acme", "too-early", "gpt-4o", 1'000'000, 0, Utc(2024, 12, 31)),
      },
      Utc(2026, 3, 15));
  ASSERT_THAT(outcome, IsOk());
  EXPECT_EQ(outcome->accepted, 5);
  EXPECT_EQ(outcome->unpriced, 1);
  EXPECT_THAT(outcome->unknown_models, ElementsAre("openai/gpt-4o"));
  auto cost_of = [this](const std::string& tenant, const std::string& id) {
    int64_t cost = -1;
    EXPECT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
      const pqxx::result r = txn.exec_params(
          "SELECT cost_nano_usd, COALESCE(price_tenant_id, '-') FROM cost.usage "
          "WHERE tenant_id = $1 AND record_id = $2",
          tenant, id);
      cost = r[0][0].as<int64_t>();
      return absl::OkStatus();
    }),
                IsOk());
    return cost;
  };
  EXPECT_EQ(cost_of("acme", "feb"), 2'500'000'000);
  EXPECT_EQ(cost_of("acme", "mar"), 2'000'000'000);
  EXPECT_EQ(cost_of("acme", "late-mar"), 1'000'000'000);
  EXPECT_EQ(cost_of("beta", "late-mar"), 2'000'000'000);
  EXPECT_EQ(cost_of("acme", "too-early"), 0);

  EXPECT_EQ(store_->GetPrice("acme", "openai", "gpt-4o", Utc(2026, 3, 14))->price.base.input,
            2'000'000'000);
  auto own = store_->GetPrice("acme", "openai", "gpt-4o", Utc(2026, 3, 15));
  ASSERT_THAT(own, IsOk());
  EXPECT_EQ(own->tenant, "acme");
  EXPECT_EQ(own->price.base.input, 1'000'000'000);
  // A tenant import only compares with that tenant's versions.
  CatalogPrice same_as_global{"openai", "gpt-4o", {}};
  same_as_global.price.base = {2'000'000'000, 8'000'000'000, 0, 0};
  auto counts =
      store_->ImportPrices("beta", Utc(2026, 4, 1), kSourceLiteLlm, {same_as_global}, false);
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->imported, 1);
}

TEST_F(PgCostStoreTest, UnknownModelsAreFlaggedAndCounted) {
  UsageRecord first = Llm("acme", "u1", "gpt-9", 1000, 100, Utc(2026, 3, 2));
  first.requests = 2;
  ASSERT_THAT(store_->RecordUsage({first}, Utc(2026, 3, 15)), IsOk());
  auto second = store_->RecordUsage({Llm("acme", "u2", "openai/gpt-9", 500, 50, Utc(2026, 3, 1)),
                                     Llm("acme", "u3", "gpt-9", 1, 1, Utc(2026, 3, 3))},
                                    Utc(2026, 3, 15));
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(second->unknown_models, ElementsAre("openai/gpt-9"));
  EXPECT_EQ(second->unpriced, 2);
  // A replay does not count again.
  ASSERT_THAT(store_->RecordUsage({first}, Utc(2026, 3, 15)), IsOk());
  int64_t calls = 0, input = 0;
  std::string first_seen, last_seen;
  ASSERT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
    const pqxx::result r = txn.exec(
        "SELECT calls, input_tokens, to_char(first_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD'), "
        "to_char(last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM cost.unknown_models "
        "WHERE tenant_id = 'acme' AND provider = 'openai' AND model = 'gpt-9'");
    calls = r[0][0].as<int64_t>();
    input = r[0][1].as<int64_t>();
    first_seen = r[0][2].as<std::string>();
    last_seen = r[0][3].as<std::string>();
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(input, 1501);
  EXPECT_EQ(first_seen, "2026-03-01");
  EXPECT_EQ(last_seen, "2026-03-03");
  EXPECT_EQ(Count("SELECT count(*) FROM cost.usage WHERE NOT priced AND cost_nano_usd = 0"), 3);
  ReportQuery q;
  q.start = Utc(2026, 3, 1);
  q.end = Utc(2026, 4, 1);
  auto report = store_->QueryReport(q);
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->totals.unpriced_calls, 4);
  EXPECT_EQ(report->totals.cost_nano_usd, 0);
}

TEST_F(PgCostStoreTest, BatchOverflowWritesNothing) {
  UsageRecord a = Llm("acme", "a", "m", 1, 1, Utc(2026, 3, 1));
  a.client_cost_nano_usd = std::numeric_limits<int64_t>::max();
  UsageRecord b = Llm("acme", "b", "m", 1, 1, Utc(2026, 3, 1));
  b.client_cost_nano_usd = 1;
  EXPECT_THAT(store_->RecordUsage({a, b}, Utc(2026, 3, 15)),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_EQ(Count("SELECT count(*) FROM cost.usage"), 0);
}

TEST_F(PgCostStoreTest, TenThousandRecordsInOneBatch) {
  ASSERT_THAT(store_->UpsertPrice(
                  Price("", "openai", "gpt-4o-mini", 150'000'000, 600'000'000, absl::UnixEpoch())),
              IsOk());
  std::vector<UsageRecord> batch;
  for (int i = 0; i < kMaxRecordsPerBatch; ++i) {
    UsageRecord r = Llm("acme", absl::StrCat("big-", i), "gpt-4o-mini", 100, 10,
                        Utc(2026, 3, 1) + absl::Seconds(i));
    r.scope.tags["env"] = i % 2 == 0 ? "prod" : "dev \"quoted\" \\ value";
    batch.push_back(std::move(r));
  }
  auto outcome = store_->RecordUsage(batch, Utc(2026, 3, 15));
  ASSERT_THAT(outcome, IsOk());
  EXPECT_EQ(outcome->accepted, kMaxRecordsPerBatch);
  EXPECT_EQ(outcome->total_cost_nano_usd, kMaxRecordsPerBatch * 21'000);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.usage WHERE tags ->> 'env' = "
                  "'dev \"quoted\" \\ value'"),
            kMaxRecordsPerBatch / 2);
}

// A deterministic pseudo-random generator for the dataset below.
class Lcg {
 public:
  int Next(int n) {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int>((state_ >> 33) % static_cast<uint64_t>(n));
  }

 private:
  uint64_t state_ = 42;
};

TEST_F(PgCostStoreTest, ReportsMatchTheReferenceAcrossGroupings) {
  const std::vector<PriceVersion> prices = {
      Price("", "openai", "gpt-4o-mini", 150'000'000, 600'000'000, absl::UnixEpoch()),
      Price("", "openai", "gpt-4o", 2'500'000'000, 10'000'000'000, absl::UnixEpoch()),
      Price("", "openai", "gpt-4o", 2'000'000'000, 8'000'000'000, Utc(2026, 3, 10)),
      Price("t1", "openai", "gpt-4o", 1'000'000'000, 4'000'000'000, Utc(2026, 3, 20)),
      Price("", "anthropic", "claude-x", 3'000'000'000, 15'000'000'000, absl::UnixEpoch()),
  };
  PriceVersion compute = Price("", "infra", "compute_seconds", 0, 0, absl::UnixEpoch());
  compute.price.unit_price_nano_usd = 12'345;
  PriceBook book;
  for (PriceVersion v : prices) {
    ASSERT_THAT(store_->UpsertPrice(v), IsOk());
    book.Add(v);
  }
  ASSERT_THAT(store_->UpsertPrice(compute), IsOk());
  book.Add(compute);

  Lcg rng;
  const std::vector<std::string> tenants = {"t1", "t2"};
  const std::vector<std::string> teams = {"alpha", "beta", "gamma", ""};
  const std::vector<std::string> models = {"gpt-4o-mini", "gpt-4o", "claude-x", "mystery"};
  const std::vector<std::string> envs = {"prod", "dev", ""};
  std::vector<UsageRecord> records;
  for (int i = 0; i < 600; ++i) {
    UsageRecord r;
    r.record_id = absl::StrCat("rec-", i);
    // March 2026, minutes apart, across both DST starts (US 8th, EU 29th).
    r.time = Utc(2026, 3, 1) + absl::Minutes(rng.Next(31 * 24 * 60)) + absl::Microseconds(i);
    r.scope.tenant = tenants[rng.Next(2)];
    r.scope.team = teams[rng.Next(4)];
    r.scope.workflow = absl::StrCat("wf", rng.Next(3));
    r.scope.agent = absl::StrCat("agent", rng.Next(2));
    const std::string env = envs[rng.Next(3)];
    if (!env.empty()) r.scope.tags["env"] = env;
    if (rng.Next(3) > 0) r.run_id = absl::StrCat("run-", rng.Next(40));
    const int kind = rng.Next(10);
    if (kind < 7) {
      r.kind = UsageKind::kLlm;
      r.scope.model = models[rng.Next(4)];
      r.scope.provider = r.scope.model == "claude-x" ? "anthropic" : "openai";
      r.tokens.input = rng.Next(300'000);
      r.tokens.cached_input = rng.Next(2) == 0 ? 0 : r.tokens.input / 3;
      r.tokens.output = rng.Next(5000);
      r.requests = 1 + rng.Next(3);
      if (rng.Next(20) == 0) r.client_cost_nano_usd = rng.Next(1'000'000);
    } else if (kind < 9) {
      r.kind = UsageKind::kInfra;
      r.scope.service = absl::StrCat("svc", rng.Next(2));
      r.infra_resource =
          rng.Next(2) == 0 ? InfraResource::kComputeSeconds : InfraResource::kStorageGibHours;
      r.infra_quantity_milli = rng.Next(10'000'000);
    } else {
      r.kind = UsageKind::kOutcome;
      r.run_id = absl::StrCat("run-", rng.Next(40));
      r.run_succeeded = rng.Next(2) == 0;
    }
    if (r.kind != UsageKind::kOutcome && !r.run_id.empty() && rng.Next(4) == 0) {
      r.run_succeeded = rng.Next(3) > 0;
    }
    ASSERT_THAT(ValidateUsageRecord(r, r.record_id), IsOk());
    records.push_back(std::move(r));
  }
  std::vector<PricedUsage> expected;
  int64_t expected_total = 0;
  for (const UsageRecord& r : records) {
    auto priced = PriceUsage(r, book, r.record_id);
    ASSERT_THAT(priced, IsOk());
    expected_total += priced->cost_nano_usd;
    expected.push_back(*priced);
  }
  int64_t recorded_total = 0;
  for (size_t start = 0; start < records.size(); start += 200) {
    std::vector<UsageRecord> batch(records.begin() + start, records.begin() + start + 200);
    auto outcome = store_->RecordUsage(batch, Utc(2026, 3, 15));
    ASSERT_THAT(outcome, IsOk());
    EXPECT_EQ(outcome->accepted, 200);
    recorded_total += outcome->total_cost_nano_usd;
  }
  EXPECT_EQ(recorded_total, expected_total);

  auto query = [](std::vector<Dimension> dims, Bucket bucket = Bucket::kNone,
                  std::string zone = "UTC") {
    ReportQuery q;
    q.start = Utc(2026, 3, 1);
    q.end = Utc(2026, 4, 1);
    q.group_by = std::move(dims);
    q.bucket = bucket;
    q.time_zone = std::move(zone);
    return q;
  };
  std::vector<ReportQuery> queries = {
      query({}),
      query({Dimension::kTenant}),
      query({Dimension::kTeam, Dimension::kModel}),
      query({Dimension::kProvider}, Bucket::kDay, "Europe/Berlin"),
      query({Dimension::kWorkflow, Dimension::kAgent}, Bucket::kHour, "Asia/Kolkata"),
      query({Dimension::kService}, Bucket::kMonth, "America/New_York"),
      query({Dimension::kTenant, Dimension::kTeam, Dimension::kWorkflow, Dimension::kAgent,
             Dimension::kModel, Dimension::kProvider, Dimension::kService, Dimension::kTag}),
  };
  queries[6].tag_key = "env";
  ReportQuery by_tag = query({Dimension::kTag}, Bucket::kDay);
  by_tag.tag_key = "env";
  queries.push_back(by_tag);
  ReportQuery top = query({Dimension::kTeam, Dimension::kModel});
  top.top_n = 3;
  queries.push_back(top);
  ReportQuery filtered = query({Dimension::kTeam}, Bucket::kDay, "America/New_York");
  filtered.filter.tenant = "t1";
  filtered.filter.tags["env"] = "prod";
  queries.push_back(filtered);
  ReportQuery narrow = query({Dimension::kModel});
  narrow.start = Utc(2026, 3, 10, 6);
  narrow.end = Utc(2026, 3, 12, 18);
  narrow.filter.provider = "openai";
  queries.push_back(narrow);

  for (size_t i = 0; i < queries.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("query ", i));
    const ReportQuery& q = queries[i];
    ASSERT_THAT(ValidateReportQuery(q), IsOk());
    auto actual = store_->QueryReport(q);
    ASSERT_THAT(actual, IsOk());
    auto reference = AggregateReport(expected, q);
    ASSERT_THAT(reference, IsOk());
    ASSERT_EQ(actual->rows.size(), reference->rows.size());
    for (size_t k = 0; k < actual->rows.size(); ++k) {
      SCOPED_TRACE(absl::StrCat("row ", k));
      EXPECT_EQ(actual->rows[k].group, reference->rows[k].group);
      EXPECT_EQ(actual->rows[k].bucket_start, reference->rows[k].bucket_start);
      EXPECT_TRUE(actual->rows[k].figures == reference->rows[k].figures);
    }
    EXPECT_TRUE(actual->totals == reference->totals);
    // Totals equal the sum of the rows, exactly.
    ReportFigures sum;
    for (const ReportRow& row : actual->rows) {
      sum.cost_nano_usd += row.figures.cost_nano_usd;
      sum.input_tokens += row.figures.input_tokens;
      sum.calls += row.figures.calls;
      sum.unpriced_calls += row.figures.unpriced_calls;
      sum.llm_cost_nano_usd += row.figures.llm_cost_nano_usd;
      sum.infra_cost_nano_usd += row.figures.infra_cost_nano_usd;
    }
    EXPECT_EQ(sum.cost_nano_usd, actual->totals.cost_nano_usd);
    EXPECT_EQ(sum.input_tokens, actual->totals.input_tokens);
    EXPECT_EQ(sum.calls, actual->totals.calls);
    EXPECT_EQ(sum.unpriced_calls, actual->totals.unpriced_calls);
    EXPECT_EQ(sum.llm_cost_nano_usd + sum.infra_cost_nano_usd, sum.cost_nano_usd);
  }
  // Over the whole month every recorded cost is in the total, whatever the grouping.
  EXPECT_EQ(store_->QueryReport(queries[2])->totals.cost_nano_usd, expected_total);
  EXPECT_GT(expected_total, 0);
  // The dataset exercises what it should.
  const ReportResult all = *store_->QueryReport(queries[0]);
  EXPECT_GT(all.totals.unpriced_calls, 0);
  EXPECT_GT(all.totals.workflow_runs, 10);
  EXPECT_GT(all.totals.successful_runs, 0);
  EXPECT_LT(all.totals.successful_runs, all.totals.workflow_runs);
  EXPECT_GT(all.totals.client_cost_nano_usd, 0);
  EXPECT_GT(all.totals.infra_cost_nano_usd, 0);
}

TEST_F(PgCostStoreTest, SpendFollowsTheBudgetScope) {
  UsageRecord a = Llm("acme", "a", "m", 1, 1, Utc(2026, 3, 5));
  a.scope.team = "x";
  a.scope.tags["env"] = "prod";
  a.client_cost_nano_usd = 100;
  UsageRecord b = a;
  b.record_id = "b";
  b.scope.tags.clear();
  b.client_cost_nano_usd = 20;
  UsageRecord c = a;
  c.record_id = "c";
  c.scope.team = "y";
  c.client_cost_nano_usd = 3;
  UsageRecord d = a;
  d.record_id = "d";
  d.time = Utc(2026, 4, 1);  // next period
  ASSERT_THAT(store_->RecordUsage({a, b, c, d}, Utc(2026, 3, 15)), IsOk());
  const Period march{Utc(2026, 3, 1), Utc(2026, 4, 1)};
  Scope scope;
  scope.tenant = "acme";
  EXPECT_THAT(store_->Spend(scope, march), IsOkAndHolds(123));
  scope.team = "x";
  EXPECT_THAT(store_->Spend(scope, march), IsOkAndHolds(120));
  scope.tags["env"] = "prod";
  EXPECT_THAT(store_->Spend(scope, march), IsOkAndHolds(100));
  scope.tenant = "other";
  EXPECT_THAT(store_->Spend(scope, march), IsOkAndHolds(0));
}

Budget NewBudget(std::string tenant, std::string name) {
  Budget b;
  b.name = std::move(name);
  b.scope.tenant = std::move(tenant);
  b.scope.team = "a";
  b.scope.tags["env"] = "prod \"x\"";
  b.period = BudgetPeriod::kRolling;
  b.rolling_window = absl::Hours(48);
  b.limit_nano_usd = 5'000;
  b.enforcement = Enforcement::kHard;
  b.time_zone = "Europe/Berlin";
  b.alert_on_projected_overrun = true;
  b.alert_severity = 2;
  EXPECT_THAT(NormalizeBudget(&b), IsOk());
  return b;
}

TEST_F(PgCostStoreTest, BudgetsRoundTripAndKeepTheirRules) {
  Budget b = NewBudget("acme", "team-a");
  b.request_id = "req-1";
  auto created = store_->CreateBudget(b);
  ASSERT_THAT(created, IsOk());
  EXPECT_THAT(TenantOfBudgetId(created->id, "id"), IsOkAndHolds("acme"));
  auto fetched = store_->GetBudget(created->id);
  ASSERT_THAT(fetched, IsOk());
  EXPECT_EQ(fetched->name, "team-a");
  EXPECT_TRUE(fetched->scope == b.scope);
  EXPECT_EQ(fetched->period, BudgetPeriod::kRolling);
  EXPECT_EQ(fetched->rolling_window, absl::Hours(48));
  EXPECT_EQ(fetched->limit_nano_usd, 5'000);
  EXPECT_THAT(fetched->threshold_percents, ElementsAre(80, 100));
  EXPECT_EQ(fetched->enforcement, Enforcement::kHard);
  EXPECT_EQ(fetched->time_zone, "Europe/Berlin");
  EXPECT_TRUE(fetched->alert_on_projected_overrun);
  EXPECT_EQ(fetched->alert_severity, 2);
  EXPECT_NE(fetched->create_time, absl::InfinitePast());

  // Idempotent by request id; names unique per tenant only.
  auto again = store_->CreateBudget(b);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->id, created->id);
  b.request_id = "req-2";
  EXPECT_THAT(store_->CreateBudget(b), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store_->CreateBudget(NewBudget("beta", "team-a")), IsOk());

  auto page = store_->ListBudgets("", std::nullopt, 10);
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(*page, SizeIs(2));
  EXPECT_EQ((*page)[0].scope.tenant, "acme");
  auto next = store_->ListBudgets("", BudgetCursor{"acme", "team-a"}, 10);
  ASSERT_THAT(next, IsOk());
  ASSERT_THAT(*next, SizeIs(1));
  EXPECT_EQ((*next)[0].scope.tenant, "beta");
  EXPECT_THAT(*store_->ListBudgets("beta", std::nullopt, 10), SizeIs(1));

  ASSERT_THAT(store_->DeleteBudget(created->id), IsOk());
  EXPECT_THAT(store_->GetBudget(created->id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->DeleteBudget(created->id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->GetBudget("garbage"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(PgCostStoreTest, AtMostAThousandBudgetsPerTenant) {
  for (int i = 0; i < kMaxBudgetsPerTenant; ++i) {
    ASSERT_THAT(store_->CreateBudget(NewBudget("acme", absl::StrCat("b", i))), IsOk()) << i;
  }
  EXPECT_THAT(store_->CreateBudget(NewBudget("acme", "one-too-many")),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(store_->CreateBudget(NewBudget("beta", "fine")), IsOk());
}

}  // namespace
}  // namespace agentwatch::cost

namespace agentwatch::cost {
namespace {

Budget MonthlyBudget(std::string tenant, int64_t limit) {
  Budget b;
  b.name = "monthly";
  b.scope.tenant = std::move(tenant);
  b.period = BudgetPeriod::kMonthly;
  b.limit_nano_usd = limit;
  b.enforcement = Enforcement::kHard;
  EXPECT_THAT(NormalizeBudget(&b), IsOk());
  return b;
}

UsageRecord Priced(std::string id, int64_t cost, absl::Time time) {
  UsageRecord r = Llm("acme", std::move(id), "m", 1, 1, time);
  r.client_cost_nano_usd = cost;
  return r;
}

// The ledger rows go to COPY in chunks of many rows: rows with the bytes the
// text format would escape (tab, newline, backslash) and varied lengths on
// both sides of every chunk boundary arrive whole and unchanged.
TEST_F(PgCostStoreTest, CopyChunksKeepEveryRowIntact) {
  std::vector<UsageRecord> batch;
  std::map<std::string, std::string> run_of;
  for (int i = 0; i < 6000; ++i) {
    UsageRecord r = Llm("acme", absl::StrCat("chunk\t", i, "\\"), "m", 1, 1,
                        Utc(2026, 3, 1) + absl::Seconds(i));
    r.client_cost_nano_usd = i;
    r.run_id = absl::StrCat("run\n", i, "\t", std::string(i % 97, 'x'), "\\\r");
    run_of[r.record_id] = r.run_id;
    batch.push_back(std::move(r));
  }
  auto outcome = store_->RecordUsage(batch, Utc(2026, 3, 15));
  ASSERT_THAT(outcome, IsOk());
  EXPECT_EQ(outcome->accepted, 6000);  // about 1.3 MB of COPY data: several chunks
  std::map<std::string, std::string> stored;
  ASSERT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
    for (const pqxx::row& row : txn.exec("SELECT record_id, run_id FROM cost.ledger")) {
      stored[row[0].as<std::string>()] = row[1].as<std::string>();
    }
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(stored, run_of);
  EXPECT_EQ(TotalCost("acme"), 5999 * 6000 / 2);
}

// What a group adds to each budget's period (the hot counters' increments
// and the kept period spends) equals the costs of exactly the records the
// budget's scope covers within its period, for budgets of several scopes
// and periods over records of two tenants.
TEST_F(PgCostStoreTest, GroupIncrementsMatchTheScopeReference) {
  const absl::Time now = Utc(2026, 3, 15, 12);
  std::vector<Budget> budgets;
  auto add = [&](std::string tenant, std::string name, BudgetPeriod period,
                 std::function<void(Scope&)> scope) {
    Budget b = MonthlyBudget(std::move(tenant), int64_t{1} << 50);
    b.name = std::move(name);
    b.period = period;
    if (period == BudgetPeriod::kRolling) b.rolling_window = absl::Hours(48);
    scope(b.scope);
    ASSERT_THAT(NormalizeBudget(&b), IsOk());
    auto created = store_->CreateBudget(b);
    ASSERT_THAT(created, IsOk());
    budgets.push_back(*created);
  };
  add("acme", "all", BudgetPeriod::kMonthly, [](Scope&) {});
  add("acme", "team a", BudgetPeriod::kDaily, [](Scope& s) { s.team = "a"; });
  add("acme", "w1 prod", BudgetPeriod::kWeekly, [](Scope& s) {
    s.workflow = "w1";
    s.tags["env"] = "prod";
  });
  add("acme", "agent x on m", BudgetPeriod::kMonthly, [](Scope& s) {
    s.agent = "x";
    s.model = "m";
    s.provider = "openai";
  });
  add("acme", "nobody", BudgetPeriod::kMonthly, [](Scope& s) { s.team = "none"; });
  add("acme", "rolling a", BudgetPeriod::kRolling, [](Scope& s) { s.team = "a"; });
  add("beta", "all", BudgetPeriod::kMonthly, [](Scope&) {});
  add("beta", "team a", BudgetPeriod::kDaily, [](Scope& s) { s.team = "a"; });
  ASSERT_EQ(budgets.size(), 8u);

  Lcg rng;
  std::vector<UsageRecord> batch;
  for (int i = 0; i < 600; ++i) {
    UsageRecord r = Llm(rng.Next(3) == 0 ? "beta" : "acme", absl::StrCat("r", i), "m", 1, 1,
                        Utc(2026, 3, 8) + absl::Minutes(rng.Next(8 * 24 * 60)));
    r.scope.team = rng.Next(2) == 0 ? "a" : "b";
    r.scope.workflow = rng.Next(2) == 0 ? "w1" : "w2";
    r.scope.agent = rng.Next(2) == 0 ? "x" : "y";
    const int env = rng.Next(3);
    if (env < 2) r.scope.tags["env"] = env == 0 ? "prod" : "dev";
    r.client_cost_nano_usd = 1 + rng.Next(1000);
    batch.push_back(std::move(r));
  }
  auto outcome = store_->RecordUsage(batch, now);
  ASSERT_THAT(outcome, IsOk());
  EXPECT_EQ(outcome->accepted, 600);

  std::map<std::string, int64_t> expected;  // by budget id: calendar budgets touched
  for (const Budget& b : budgets) {
    if (b.period == BudgetPeriod::kRolling) continue;
    const BudgetWindow window = BudgetWindowAt(b, now);
    int64_t sum = 0;
    bool touched = false;
    for (const UsageRecord& r : batch) {
      if (r.time >= window.spend_period.start && r.time < window.spend_period.end &&
          ScopeCovers(b.scope, r.scope)) {
        sum += *r.client_cost_nano_usd;
        touched = true;
      }
    }
    if (touched) expected[b.id] = sum;
  }
  // Six calendar budgets are touched; "nobody" is not.
  EXPECT_EQ(expected.size(), 6u);
  std::map<std::string, int64_t> added;
  for (const BudgetIncrement& inc : outcome->increments) {
    EXPECT_EQ(inc.spent_nano_usd, inc.nano_usd) << inc.budget_id;  // the first batch
    added[inc.budget_id] = inc.nano_usd;
  }
  EXPECT_EQ(added, expected);
  std::map<std::string, int64_t> kept;
  ASSERT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
    for (const pqxx::row& row :
         txn.exec("SELECT budget_id, spent_nano_usd FROM cost.budget_period_spend")) {
      kept[row[0].as<std::string>()] = row[1].as<int64_t>();
    }
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(kept, expected);
}

TEST_F(PgCostStoreTest, KeptPeriodSpendStartsFromTheLedgerAndFollowsChanges) {
  const absl::Time now = Utc(2026, 3, 15);
  auto team = [](UsageRecord r, std::string t) {
    r.scope.team = std::move(t);
    return r;
  };
  const std::string kept = "SELECT coalesce(sum(spent_nano_usd), -1) FROM cost.budget_period_spend";
  // Spend recorded before the budget exists counts in its period.
  ASSERT_THAT(store_->RecordUsage({team(Priced("a1", 700, Utc(2026, 3, 2)), "a"),
                                   team(Priced("b1", 500, Utc(2026, 3, 2)), "b")},
                                  now),
              IsOk());
  Budget definition = MonthlyBudget("acme", 1'000);
  definition.scope.team = "a";
  auto budget = store_->CreateBudget(definition);
  ASSERT_THAT(budget, IsOk());
  EXPECT_EQ(Count(kept), -1);
  auto outcome = store_->RecordUsage({team(Priced("a2", 150, Utc(2026, 3, 3)), "a")}, now);
  ASSERT_THAT(outcome, IsOk());
  ASSERT_THAT(outcome->alerts, SizeIs(1));  // 850 of 1,000
  EXPECT_EQ(outcome->alerts[0].threshold_percent, 80);
  EXPECT_EQ(Count(kept), 850);
  // Later batches add to it; batches outside the scope leave it alone.
  outcome = store_->RecordUsage({team(Priced("a3", 100, Utc(2026, 3, 4)), "a"),
                                 team(Priced("b2", 1'000, Utc(2026, 3, 4)), "b")},
                                now);
  ASSERT_THAT(outcome, IsOk());
  EXPECT_THAT(outcome->alerts, IsEmpty());
  EXPECT_EQ(Count(kept), 950);
  auto spend = store_->Spend(budget->scope, {Utc(2026, 3, 1), Utc(2026, 4, 1)});
  ASSERT_THAT(spend, IsOk());
  EXPECT_EQ(*spend, 950);
  // A new scope drops the kept spend; the next batch starts from the ledger
  // of team b (500 + 1,000 + 10): past 100 % (80 % stays fired).
  auto updated = store_->UpdateBudget(
      budget->id,
      [](const Budget& current) -> absl::StatusOr<Budget> {
        Budget next = current;
        next.scope.team = "b";
        return next;
      },
      now);
  ASSERT_THAT(updated, IsOk());
  EXPECT_EQ(Count(kept), -1);
  outcome = store_->RecordUsage({team(Priced("b3", 10, Utc(2026, 3, 5)), "b")}, now);
  ASSERT_THAT(outcome, IsOk());
  ASSERT_THAT(outcome->alerts, SizeIs(1));
  EXPECT_EQ(outcome->alerts[0].threshold_percent, 100);
  EXPECT_EQ(Count(kept), 1'510);
  // A new month keeps a new period and drops the ended one.
  outcome = store_->RecordUsage({team(Priced("b4", 5, Utc(2026, 4, 1)), "b")}, Utc(2026, 4, 2));
  ASSERT_THAT(outcome, IsOk());
  EXPECT_EQ(Count("SELECT count(*) FROM cost.budget_period_spend"), 1);
  EXPECT_EQ(Count(kept), 5);
  // Deleting the budget drops what it kept.
  ASSERT_THAT(store_->DeleteBudget(budget->id), IsOk());
  EXPECT_EQ(Count("SELECT count(*) FROM cost.budget_period_spend"), 0);
}

TEST_F(PgCostStoreTest, BudgetThresholdsFireOnceWithTheirOutboxMessage) {
  auto budget = store_->CreateBudget(MonthlyBudget("acme", 1'000));
  ASSERT_THAT(budget, IsOk());
  const absl::Time now = Utc(2026, 3, 15);
  auto outcome = store_->RecordUsage({Priced("r1", 850, Utc(2026, 3, 2))}, now);
  ASSERT_THAT(outcome, IsOk());
  ASSERT_THAT(outcome->alerts, SizeIs(1));
  EXPECT_EQ(outcome->alerts[0].threshold_percent, 80);
  ASSERT_THAT(outcome->increments, SizeIs(1));
  EXPECT_EQ(outcome->increments[0].budget_id, budget->id);
  EXPECT_EQ(outcome->increments[0].period_start, Utc(2026, 3, 1));
  EXPECT_EQ(outcome->increments[0].nano_usd, 850);
  // Replays and spend below the next threshold fire nothing.
  outcome = store_->RecordUsage({Priced("r1", 850, Utc(2026, 3, 2))}, now);
  ASSERT_THAT(outcome, IsOk());
  EXPECT_THAT(outcome->alerts, IsEmpty());
  EXPECT_THAT(outcome->increments, IsEmpty());
  outcome = store_->RecordUsage({Priced("r2", 100, Utc(2026, 3, 3))}, now);
  ASSERT_THAT(outcome, IsOk());
  EXPECT_THAT(outcome->alerts, IsEmpty());
  outcome = store_->RecordUsage({Priced("r3", 60, Utc(2026, 3, 3))}, now);
  ASSERT_THAT(outcome, IsOk());
  ASSERT_THAT(outcome->alerts, SizeIs(1));
  EXPECT_EQ(outcome->alerts[0].threshold_percent, 100);
  outcome = store_->RecordUsage({Priced("r4", 600, Utc(2026, 3, 4))}, now);
  ASSERT_THAT(outcome, IsOk());
  EXPECT_THAT(outcome->alerts, IsEmpty());

  EXPECT_EQ(Count("SELECT count(*) FROM cost.budget_threshold_events"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.outbox WHERE destination = 'incident.ReportAlerts'"),
            2);
  EXPECT_EQ(Count("SELECT min(spent_nano_usd) FROM cost.budget_threshold_events"), 850);
  EXPECT_EQ(Count("SELECT max(spent_nano_usd) FROM cost.budget_threshold_events"), 1'010);
  // The payload is the Alert itself.
  std::string payload;
  ASSERT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
    const pqxx::result r =
        txn.exec("SELECT payload, idempotency_key FROM cost.outbox ORDER BY id LIMIT 1");
    payload = pqxx::binarystring(r[0][0]).str();
    EXPECT_THAT(r[0][1].as<std::string>(), HasSubstr("cost-budget-threshold-"));
    return absl::OkStatus();
  }),
              IsOk());
  incident::v1::Alert alert;
  ASSERT_TRUE(alert.ParseFromString(payload));
  EXPECT_EQ(alert.name(), "BudgetThresholdCrossed");
  EXPECT_EQ(alert.tenant(), "acme");
  EXPECT_EQ(alert.status(), incident::v1::ALERT_STATUS_FIRING);
  EXPECT_EQ(alert.source(), "agentwatch-cost");
  EXPECT_EQ(alert.severity(), agentwatch::common::v1::SEVERITY_P2);
  EXPECT_EQ(alert.labels().at("threshold"), "80");
  EXPECT_EQ(alert.labels().at("budget_id"), budget->id);
  EXPECT_EQ(alert.annotations().at("percent_used"), "85.00");
  EXPECT_EQ(alert.annotations().at("spent_usd"), "0.000000850");
  EXPECT_EQ(alert.starts_at().seconds(), absl::ToUnixSeconds(now));
}

// The projected-overrun alert (deliverable 6) through the store: it fires
// once per period for a budget that asks for it, beside and not instead of
// the thresholds (both carry 100 in `threshold`; the kind keeps them apart),
// and it is not reported as a fired threshold.
TEST_F(PgCostStoreTest, ProjectedOverrunAlertsOncePerPeriodBesideTheThresholds) {
  Budget opted = MonthlyBudget("acme", 1'000);
  opted.name = "projected";
  opted.alert_on_projected_overrun = true;
  auto budget = store_->CreateBudget(opted);
  ASSERT_THAT(budget, IsOk());
  Budget plain = MonthlyBudget("acme", 1'000);  // same scope, not opted in
  ASSERT_THAT(store_->CreateBudget(plain), IsOk());
  // 6 of April's 30 days elapsed: 300 spent heads for 1,500 by the end.
  const absl::Time now = Utc(2026, 4, 7);
  auto outcome = store_->RecordUsage({Priced("r1", 300, Utc(2026, 4, 2))}, now);
  ASSERT_THAT(outcome, IsOk());
  ASSERT_THAT(outcome->alerts, SizeIs(1));
  EXPECT_EQ(outcome->alerts[0].kind, BudgetAlertKind::kProjected);
  EXPECT_EQ(outcome->alerts[0].budget_id, budget->id);
  EXPECT_EQ(outcome->alerts[0].period_start, Utc(2026, 4, 1));
  EXPECT_THAT(store_->FiredThresholds("acme", budget->id, Utc(2026, 4, 1)),
              IsOkAndHolds(IsEmpty()));
  // Still projected to exceed: a replay and more spend fire nothing new.
  outcome = store_->RecordUsage({Priced("r1", 300, Utc(2026, 4, 2))}, now);
  ASSERT_THAT(outcome, IsOk());
  EXPECT_THAT(outcome->alerts, IsEmpty());
  outcome = store_->RecordUsage({Priced("r2", 100, Utc(2026, 4, 3))}, now);
  ASSERT_THAT(outcome, IsOk());
  EXPECT_THAT(outcome->alerts, IsEmpty());
  // 80 % and then 100 % still fire, once per budget, the projection having
  // fired at "100" already.
  outcome = store_->RecordUsage({Priced("r3", 450, Utc(2026, 4, 4))}, now);
  ASSERT_THAT(outcome, IsOk());
  ASSERT_THAT(outcome->alerts, SizeIs(2));
  for (const BudgetAlert& a : outcome->alerts) {
    EXPECT_EQ(a.kind, BudgetAlertKind::kThreshold);
    EXPECT_EQ(a.threshold_percent, 80);
  }
  outcome = store_->RecordUsage({Priced("r4", 150, Utc(2026, 4, 5))}, now);
  ASSERT_THAT(outcome, IsOk());
  ASSERT_THAT(outcome->alerts, SizeIs(2));
  for (const BudgetAlert& a : outcome->alerts) {
    EXPECT_EQ(a.kind, BudgetAlertKind::kThreshold);
    EXPECT_EQ(a.threshold_percent, 100);
  }
  EXPECT_THAT(store_->FiredThresholds("acme", budget->id, Utc(2026, 4, 1)),
              IsOkAndHolds(ElementsAre(80, 100)));
  EXPECT_EQ(Count("SELECT count(*) FROM cost.budget_threshold_events WHERE kind = 'projected'"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.outbox WHERE destination = 'incident.ReportAlerts'"),
            5);
  // The projected alert's message, as incident receives it.
  std::string payload;
  ASSERT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
    payload = pqxx::binarystring(
                  txn.exec("SELECT payload FROM cost.outbox ORDER BY id LIMIT 1")[0][0])
                  .str();
    return absl::OkStatus();
  }),
              IsOk());
  incident::v1::Alert alert;
  ASSERT_TRUE(alert.ParseFromString(payload));
  EXPECT_EQ(alert.name(), "BudgetProjectedToExceed");
  EXPECT_EQ(alert.labels().at("budget_id"), budget->id);
  EXPECT_EQ(alert.annotations().at("percent_used"), "30.00");
  EXPECT_EQ(alert.annotations().at("spent_usd"), "0.000000300");
  EXPECT_EQ(alert.annotations().at("limit_usd"), "0.000001000");
  EXPECT_EQ(alert.annotations().at("projected_spend_usd"), "0.000001500");
  // May is a new period: the projection can fire again there.
  const absl::Time may = Utc(2026, 5, 7);
  outcome = store_->RecordUsage({Priced("r5", 300, Utc(2026, 5, 2))}, may);
  ASSERT_THAT(outcome, IsOk());
  ASSERT_THAT(outcome->alerts, SizeIs(1));
  EXPECT_EQ(outcome->alerts[0].kind, BudgetAlertKind::kProjected);
  EXPECT_EQ(outcome->alerts[0].period_start, Utc(2026, 5, 1));
}

// A group reads a tenant's budget definitions only when they changed since
// the store last read them (cost.budget_versions, bumped by a trigger on every
// change of cost.budgets, by this store, another replica or plain SQL), and
// evaluates the definitions as they stand at its commit.
TEST_F(PgCostStoreTest, GroupsReadBudgetDefinitionsOnlyWhenTheyChanged) {
  const absl::Time now = Utc(2026, 3, 15);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.budget_versions"), 0);
  // No budget yet: the tenant's (empty) definitions are read once, at 0.
  ASSERT_THAT(store_->RecordUsage({Priced("r0", 10, Utc(2026, 3, 2))}, now), IsOk());
  ASSERT_THAT(store_->RecordUsage({Priced("r1", 10, Utc(2026, 3, 2))}, now), IsOk());
  EXPECT_EQ(store_->BudgetDefinitionReads(), 1);

  auto budget = store_->CreateBudget(MonthlyBudget("acme", 1'000));
  ASSERT_THAT(budget, IsOk());
  EXPECT_EQ(Count("SELECT version FROM cost.budget_versions WHERE tenant_id = 'acme'"), 1);
  auto outcome = store_->RecordUsage({Priced("r2", 100, Utc(2026, 3, 2))}, now);
  ASSERT_THAT(outcome, IsOk());
  ASSERT_THAT(outcome->increments, SizeIs(1));
  EXPECT_EQ(outcome->increments[0].budget_id, budget->id);
  EXPECT_EQ(outcome->increments[0].spent_nano_usd, 120);
  EXPECT_EQ(store_->BudgetDefinitionReads(), 2);
  for (int i = 0; i < 3; ++i) {
    outcome = store_->RecordUsage({Priced(absl::StrCat("same-", i), 10, Utc(2026, 3, 2))}, now);
    ASSERT_THAT(outcome, IsOk());
    EXPECT_THAT(outcome->increments, SizeIs(1));
    EXPECT_THAT(outcome->alerts, IsEmpty());
  }
  EXPECT_EQ(store_->BudgetDefinitionReads(), 2);  // the kept copy, version unchanged

  // A change by plain SQL (what another replica's write amounts to): the
  // trigger bumps the version and the next group evaluates the new limit.
  ASSERT_THAT(pool_.WithTransaction([](pqxx::work& txn) {
    txn.exec("UPDATE cost.budgets SET limit_nano_usd = 200 WHERE tenant_id = 'acme'");
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(Count("SELECT version FROM cost.budget_versions WHERE tenant_id = 'acme'"), 2);
  outcome = store_->RecordUsage({Priced("r3", 10, Utc(2026, 3, 2))}, now);
  ASSERT_THAT(outcome, IsOk());
  // 160 of 200: the 80 % threshold of the new limit fires.
  ASSERT_THAT(outcome->alerts, SizeIs(1));
  EXPECT_EQ(outcome->alerts[0].threshold_percent, 80);
  EXPECT_EQ(store_->BudgetDefinitionReads(), 3);

  // Another store (a replica) over the same database creates a budget; this
  // store's next group evaluates it too.
  PgCostStore replica(pool_);
  Budget team = MonthlyBudget("acme", 1'000'000);
  team.name = "team";
  team.scope.team = "search";
  auto team_budget = replica.CreateBudget(team);
  ASSERT_THAT(team_budget, IsOk());
  UsageRecord search = Priced("r4", 10, Utc(2026, 3, 2));
  search.scope.team = "search";
  outcome = store_->RecordUsage({search}, now);
  ASSERT_THAT(outcome, IsOk());
  EXPECT_THAT(outcome->increments, SizeIs(2));
  EXPECT_EQ(store_->BudgetDefinitionReads(), 4);

  // Deleted (by the replica): no longer evaluated here.
  ASSERT_THAT(replica.DeleteBudget(team_budget->id), IsOk());
  search.record_id = "r5";
  outcome = store_->RecordUsage({search}, now);
  ASSERT_THAT(outcome, IsOk());
  ASSERT_THAT(outcome->increments, SizeIs(1));
  EXPECT_EQ(outcome->increments[0].budget_id, budget->id);
  EXPECT_EQ(store_->BudgetDefinitionReads(), 5);

  // Every budget gone at once: the truncate trigger bumps the version too.
  const int64_t version =
      Count("SELECT version FROM cost.budget_versions WHERE tenant_id = 'acme'");
  ASSERT_THAT(pool_.WithTransaction([](pqxx::work& txn) {
    txn.exec("TRUNCATE cost.budgets");
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(Count("SELECT version FROM cost.budget_versions WHERE tenant_id = 'acme'"),
            version + 1);
  outcome = store_->RecordUsage({Priced("r6", 10, Utc(2026, 3, 2))}, now);
  ASSERT_THAT(outcome, IsOk());
  EXPECT_THAT(outcome->increments, IsEmpty());
  EXPECT_EQ(store_->BudgetDefinitionReads(), 6);
}

// Postgres plans each statement a group runs once and keeps that generic
// plan, instead of planning it anew for every group: a group of one tenant
// and one model gives the statements one-element arrays, for which a plan
// made for the values themselves used to look cheaper every time
// (cost_load_batch_prices and cost_budgets_of_tenants_if_changed were then
// planned at each of the 12 executions). pg_prepared_statements counts, per
// session, the executions of each kind; the groups' answers stay the same.
TEST_F(PgCostStoreTest, GroupStatementsKeepTheirGenericPlans) {
  common::PgPoolOptions options = PoolOptions(db_.dsn());
  options.size = 1;  // the store's groups and the check below share one session
  common::PgPool one(options);
  PgCostStore store(one);
  ASSERT_THAT(store.UpsertPrice(Price("", "openai", "m", 1'000'000'000, 2'000'000'000,
                                      Utc(2026, 1, 1))),
              IsOk());
  ASSERT_THAT(store.CreateBudget(MonthlyBudget("acme", 1'000'000'000)), IsOk());
  constexpr int kGroups = 12;
  int64_t spent = 0;
  for (int i = 0; i < kGroups; ++i) {
    auto outcome = store.RecordUsage({Llm("acme", absl::StrCat("plan-", i), "m", 10, 10,
                                          Utc(2026, 3, 2))},
                                     Utc(2026, 3, 15));
    ASSERT_THAT(outcome, IsOk());
    EXPECT_EQ(outcome->accepted, 1);
    EXPECT_EQ(outcome->total_cost_nano_usd, 30'000);  // 10 x 1,000 + 10 x 2,000
    spent += outcome->total_cost_nano_usd;
    ASSERT_THAT(outcome->increments, SizeIs(1));
    EXPECT_EQ(outcome->increments[0].spent_nano_usd, spent);
  }
  std::map<std::string, std::pair<int64_t, int64_t>> plans;  // generic, custom
  ASSERT_THAT(one.WithTransaction([&](pqxx::work& txn) {
    for (const pqxx::row& row :
         txn.exec("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements")) {
      plans[row[0].as<std::string>()] = {row[1].as<int64_t>(), row[2].as<int64_t>()};
    }
    return absl::OkStatus();
  }),
              IsOk());
  for (const char* name :
       {"cost_load_batch_prices", "cost_share_tenant_budgets",
        "cost_budgets_of_tenants_if_changed", "cost_lock_budgets", "cost_get_period_spends",
        "cost_put_period_spends"}) {
    SCOPED_TRACE(name);
    ASSERT_EQ(plans.count(name), 1u);
    // Postgres plans the first five executions for their values, then
    // compares those plans' cost with the generic plan's.
    EXPECT_EQ(plans[name].first + plans[name].second, kGroups);
    EXPECT_EQ(plans[name].first, kGroups - 5);
    EXPECT_EQ(plans[name].second, 5);
  }
}

// 8 threads x 25 batches of 10 nano-USD through `store`: 2,000 in all.
// Returns the alerts the batches reported.
int RecordConcurrently(PgCostStore& store) {
  std::atomic<int> alerts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto outcome = store.RecordUsage({Priced(absl::StrCat(t, "-", i), 10, Utc(2026, 3, 2))},
                                         Utc(2026, 3, 15));
        EXPECT_THAT(outcome, IsOk());
        if (outcome.ok()) alerts += static_cast<int>(outcome->alerts.size());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return alerts.load();
}

TEST_F(PgCostStoreTest, ConcurrentBatchesCrossAThresholdExactlyOnce) {
  ASSERT_THAT(store_->CreateBudget(MonthlyBudget("acme", 1'000)), IsOk());
  // Every batch in a transaction of its own, up to 8 at once: 80 % and 100 %
  // each fire in exactly one batch, whichever crosses them.
  PgCostStoreOptions options;
  options.max_concurrent_groups = 8;
  options.max_group_records = 1;
  PgCostStore store(pool_, options);
  EXPECT_EQ(RecordConcurrently(store), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.outbox"), 2);
  // The 80 % alert fired at exactly 800: no batch missed another's spend.
  EXPECT_EQ(Count("SELECT spent_nano_usd FROM cost.budget_threshold_events WHERE threshold = 80"),
            800);
  EXPECT_EQ(Count("SELECT spent_nano_usd FROM cost.budget_threshold_events WHERE threshold = 100"),
            1'000);
}

TEST_F(PgCostStoreTest, GroupCommittedBatchesCrossAThresholdExactlyOnce) {
  ASSERT_THAT(store_->CreateBudget(MonthlyBudget("acme", 1'000)), IsOk());
  // The default group commit: a threshold fires once, in the group whose
  // spend crosses it (at most 8 batches of 10, so within 70 above it), and
  // the kept spend misses nothing.
  EXPECT_EQ(RecordConcurrently(*store_), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.outbox"), 2);
  const int64_t at_80 =
      Count("SELECT spent_nano_usd FROM cost.budget_threshold_events WHERE threshold = 80");
  EXPECT_GE(at_80, 800);
  EXPECT_LE(at_80, 870);
  const int64_t at_100 =
      Count("SELECT spent_nano_usd FROM cost.budget_threshold_events WHERE threshold = 100");
  EXPECT_GE(at_100, 1'000);
  EXPECT_LE(at_100, 1'070);
  EXPECT_EQ(Count("SELECT spent_nano_usd FROM cost.budget_period_spend"), 2'000);
  EXPECT_EQ(TotalCost("acme"), 2'000);
}

// --- Group commit ---------------------------------------------------------------

// Runs `batches` through `store` (one transaction at a time) so that the first
// goes alone and the others queue behind it in order and share the next
// transaction; returns each batch's result and the group sizes seen.
struct GroupRun {
  std::vector<absl::StatusOr<RecordOutcome>> results;
  std::vector<size_t> group_sizes;
};

GroupRun RunQueued(common::PgPool& pool, const std::vector<std::vector<UsageRecord>>& batches,
                   absl::Time now) {
  absl::Mutex mu;
  bool open = false;
  GroupRun run;
  PgCostStoreOptions options;
  options.max_concurrent_groups = 1;
  options.before_group = [&](size_t size) {
    absl::MutexLock lock(&mu);
    run.group_sizes.push_back(size);
    mu.Await(absl::Condition(&open));
  };
  PgCostStore store(pool, options);
  run.results.assign(batches.size(), absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < batches.size(); ++i) {
    threads.emplace_back([&, i] { run.results[i] = store.RecordUsage(batches[i], now); });
    if (i == 0) {
      // The first leads a group of its own and holds it open.
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(
          +[](GroupRun* r) { return !r->group_sizes.empty(); }, &run));
      continue;
    }
    // Each next one queues before the one after it is sent.
    while (store.QueuedBatches() < i) absl::SleepFor(absl::Milliseconds(1));
  }
  {
    absl::MutexLock lock(&mu);
    open = true;
  }
  for (std::thread& t : threads) t.join();
  return run;
}

TEST_F(PgCostStoreTest, GroupCommitSharesATransactionAndCountsEachKeyOnce) {
  ASSERT_THAT(store_->CreateBudget(MonthlyBudget("acme", 1'000)), IsOk());
  auto batch = [](const std::string& prefix, int n, int64_t cost) {
    std::vector<UsageRecord> out;
    for (int i = 0; i < n; ++i)
      out.push_back(Priced(absl::StrCat(prefix, i), cost, Utc(2026, 3, 2)));
    return out;
  };
  std::vector<UsageRecord> b1 = batch("g1-", 10, 10);
  std::vector<UsageRecord> b3 = batch("g3-", 10, 10);
  for (const UsageRecord& r : batch("shared-", 5, 10)) {
    b1.push_back(r);
    b3.push_back(r);
  }
  UsageRecord huge = Priced("huge", std::numeric_limits<int64_t>::max(), Utc(2026, 3, 2));
  std::vector<UsageRecord> overflow = {huge, Priced("huge-2", 1, Utc(2026, 3, 2))};
  // b0 alone; then b1, the overflowing batch and b3 share one transaction.
  GroupRun run = RunQueued(pool_, {batch("g0-", 10, 10), b1, overflow, b3}, Utc(2026, 3, 15));
  EXPECT_THAT(run.group_sizes, ElementsAre(1, 3));
  ASSERT_THAT(run.results[0], IsOk());
  EXPECT_EQ(run.results[0]->accepted, 10);
  ASSERT_THAT(run.results[1], IsOk());
  EXPECT_EQ(run.results[1]->accepted, 15);
  EXPECT_EQ(run.results[1]->total_cost_nano_usd, 150);
  // The overflowing batch fails alone, writing nothing.
  EXPECT_THAT(run.results[2], StatusIs(absl::StatusCode::kOutOfRange));
  ASSERT_THAT(run.results[3], IsOk());
  // The keys b1 sent too count for b1 only.
  EXPECT_EQ(run.results[3]->accepted, 10);
  EXPECT_EQ(run.results[3]->duplicates, 5);
  EXPECT_EQ(run.results[3]->total_cost_nano_usd, 100);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.usage"), 35);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.usage WHERE record_id LIKE 'huge%'"), 0);
  EXPECT_EQ(TotalCost("acme"), 350);
  // The group's budget evaluation saw all of it: kept spend 350, and the
  // group's increment (150 + 100 in this period) travels with each of its
  // written batches, so that each caller raises the counter to 350 before
  // answering (with the first batch only, b3 could be answered before that
  // raise).
  EXPECT_EQ(Count("SELECT spent_nano_usd FROM cost.budget_period_spend"), 350);
  ASSERT_THAT(run.results[0]->increments, SizeIs(1));
  EXPECT_EQ(run.results[0]->increments[0].spent_nano_usd, 100);
  for (size_t i : {1, 3}) {
    ASSERT_THAT(run.results[i]->increments, SizeIs(1)) << i;
    EXPECT_EQ(run.results[i]->increments[0].nano_usd, 250) << i;
    EXPECT_EQ(run.results[i]->increments[0].spent_nano_usd, 350) << i;
  }
}

TEST_F(PgCostStoreTest, GroupCommitRetriesAloneWhenTheSharedTransactionFails) {
  auto batch = [](const std::string& prefix, int n) {
    std::vector<UsageRecord> out;
    for (int i = 0; i < n; ++i) out.push_back(Priced(absl::StrCat(prefix, i), 7, Utc(2026, 3, 2)));
    return out;
  };
  // Postgres refuses this batch's text (not UTF-8): the shared transaction
  // fails, and each batch is retried on its own.
  std::vector<UsageRecord> bad = batch("bad-", 3);
  bad[1].scope.team = "\xff\xfe";
  // A replay of b0 in the same group goes through the ON CONFLICT path.
  const std::vector<UsageRecord> b0 = batch("c0-", 4);
  GroupRun run =
      RunQueued(pool_, {b0, batch("c1-", 6), bad, batch("c3-", 8), b0}, Utc(2026, 3, 15));
  EXPECT_THAT(run.group_sizes, ElementsAre(1, 4, 1, 1, 1, 1));
  for (int i : {0, 1, 3}) ASSERT_THAT(run.results[i], IsOk()) << i;
  EXPECT_EQ(run.results[1]->accepted, 6);
  EXPECT_EQ(run.results[3]->accepted, 8);
  EXPECT_FALSE(run.results[2].ok());
  ASSERT_THAT(run.results[4], IsOk());
  EXPECT_EQ(run.results[4]->accepted, 0);
  EXPECT_EQ(run.results[4]->duplicates, 4);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.usage"), 18);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.usage WHERE record_id LIKE 'bad-%'"), 0);
}

TEST_F(PgCostStoreTest, ConcurrentGroupCommitsKeepEveryRecordOnce) {
  // 8 threads send overlapping batches at once through the default options
  // (two group transactions at a time), half of each batch also sent by
  // another thread: every key is stored and counted once, and the ledger
  // holds them all when the calls return.
  std::atomic<int64_t> accepted{0};
  std::atomic<int64_t> duplicates{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::vector<UsageRecord> records;
        // Half of each batch is the first half of the next thread's.
        for (int k = 0; k < 50; ++k) {
          const int owner = k < 25 ? t : (t + 1) % 8;
          records.push_back(Priced(absl::StrCat(owner, "-", i, "-", k % 25), 1, Utc(2026, 3, 2)));
        }
        auto outcome = store_->RecordUsage(records, Utc(2026, 3, 15));
        ASSERT_THAT(outcome, IsOk());
        accepted += outcome->accepted;
        duplicates += outcome->duplicates;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(Count("SELECT count(*) FROM cost.usage"), 8 * 20 * 25);
  EXPECT_EQ(accepted.load(), 8 * 20 * 25);
  EXPECT_EQ(duplicates.load(), 8 * 20 * 25);
  EXPECT_EQ(TotalCost("acme"), 8 * 20 * 25);
}

}  // namespace
}  // namespace agentwatch::cost

namespace agentwatch::cost {
namespace {

// The hot counters in the real Redis with the real ledger behind them.
class HotCountersTest : public PgCostStoreTest {
 protected:
  HotCountersTest()
      : redis_(RedisOptionsFromEnv()),
        counters_(redis_),
        metrics_(registry_),
        executor_(2, 100),
        rpc_(authorizer_, executor_),
        tenant_(absl::StrCat("hot-", absl::ToUnixNanos(absl::Now()))) {}

  static common::RedisOptions RedisOptionsFromEnv() {
    common::RedisOptions options;
    ::agentwatch::testing::TestRedis(&options.host, &options.port);
    return options;
  }

  void SetUp() override {
    PgCostStoreTest::SetUp();
    CostServiceOptions options;
    options.counters = &counters_;
    service_ = std::make_unique<CostServiceImpl>(*store_, rpc_, clock_, metrics_, options);
  }
  void TearDown() override {
    FlushTenantKeys();
    EXPECT_THAT(redis_.Command({"DEL", BudgetsVersionRedisKey(tenant_)}), IsOk());
  }

  // Deletes this test's keys only (its tenant's hash tag), never others'.
  int FlushTenantKeys() {
    auto keys = redis_.Command({"KEYS", absl::StrCat("{", tenant_, "}:cost:budget:*")});
    EXPECT_THAT(keys, IsOk());
    int deleted = 0;
    if (!keys.ok()) return 0;
    for (const common::RedisReply& key : keys->elements) {
      EXPECT_THAT(redis_.Command({"DEL", key.str}), IsOk());
      ++deleted;
    }
    return deleted;
  }

  v1::CheckBudgetResponse Check(int64_t estimate) {
    v1::CheckBudgetRequest request;
    request.mutable_scope()->set_tenant(tenant_);
    request.set_estimated_cost_nano_usd(estimate);
    v1::CheckBudgetResponse response;
    EXPECT_THAT(service_->DoCheckBudget(request, &response), IsOk());
    return response;
  }

  absl::StatusOr<int64_t> Hot(const std::string& key) {
    ASSIGN_OR_RETURN(common::RedisReply reply, redis_.Command({"GET", key}));
    if (reply.type == common::RedisReply::Type::kNil) return -1;
    int64_t value = 0;
    if (!absl::SimpleAtoi(reply.str, &value)) return absl::InternalError(reply.str);
    return value;
  }

  absl::Status Record(const std::string& id, int64_t cost) {
    v1::RecordUsageRequest request;
    v1::UsageRecord* r = request.add_records();
    r->set_record_id(id);
    TimeToProto(Utc(2026, 3, 2), r->mutable_time());
    r->mutable_scope()->set_tenant(tenant_);
    r->mutable_llm()->set_provider("openai");
    r->mutable_llm()->set_model("m");
    r->set_client_cost_nano_usd(cost);
    v1::RecordUsageResponse response;
    return service_->DoRecordUsage(request, &response);
  }

  common::FakeClock clock_{Utc(2026, 3, 15)};
  common::RedisClient redis_;
  RedisBudgetCounters counters_;
  prometheus::Registry registry_;
  CostMetrics metrics_;
  common::BlockingExecutor executor_;
  common::Authorizer authorizer_;
  common::RpcRunner rpc_;
  std::string tenant_;
  std::unique_ptr<CostServiceImpl> service_;
};

TEST_F(HotCountersTest, FlushedCountersAreReseededAndDriftIsRepaired) {
  auto budget = store_->CreateBudget(MonthlyBudget(tenant_, 1'000));
  ASSERT_THAT(budget, IsOk());
  const std::string key = CounterRedisKey(tenant_, budget->id, Utc(2026, 3, 1));
  ASSERT_THAT(Record("r1", 300), IsOk());
  // The committed batch created the counter; the check reads it.
  EXPECT_EQ(Check(0).remaining_nano_usd(), 700);
  EXPECT_THAT(Hot(key), IsOkAndHolds(300));
  // Raised after each commit; a replay adds nothing.
  ASSERT_THAT(Record("r2", 200), IsOk());
  ASSERT_THAT(Record("r2", 200), IsOk());
  EXPECT_THAT(Hot(key), IsOkAndHolds(500));
  EXPECT_EQ(Check(0).remaining_nano_usd(), 500);
  EXPECT_EQ(metrics_.spend_from_counter.Value(), 2);
  EXPECT_EQ(metrics_.spend_from_ledger.Value(), 0);

  // Redis loses the counters: CheckBudget is still right and re-seeds them.
  EXPECT_EQ(FlushTenantKeys(), 1);
  EXPECT_EQ(Check(0).remaining_nano_usd(), 500);
  EXPECT_THAT(Hot(key), IsOkAndHolds(500));
  // Lost again: the next batch re-creates the counter with the period's whole
  // spend (the kept ledger sum), not just what the batch added.
  EXPECT_EQ(FlushTenantKeys(), 1);
  ASSERT_THAT(Record("r3", 100), IsOk());
  EXPECT_THAT(Hot(key), IsOkAndHolds(600));
  v1::CheckBudgetResponse r = Check(401);
  EXPECT_FALSE(r.allowed());
  EXPECT_EQ(r.remaining_nano_usd(), 400);
  EXPECT_THAT(Hot(key), IsOkAndHolds(600));
  // A raise computed before a later one and arriving after it (out of
  // order, or sent twice) never lowers the counter.
  ASSERT_THAT(counters_.RaiseTo({{tenant_, budget->id, Utc(2026, 3, 1), 100, Utc(2026, 4, 1),
                                  500}},
                                clock_.Now()),
              IsOk());
  EXPECT_THAT(Hot(key), IsOkAndHolds(600));
  ASSERT_THAT(counters_.RaiseTo({{tenant_, budget->id, Utc(2026, 3, 1), 0, Utc(2026, 4, 1),
                                  600}},
                                clock_.Now()),
              IsOk());
  EXPECT_THAT(Hot(key), IsOkAndHolds(600));

  // Drift injected: Reconcile reports and repairs it.
  ASSERT_THAT(redis_.Command({"INCRBY", key, "55"}), IsOk());
  v1::ReconcileRequest request;
  request.set_tenant(tenant_);
  v1::ReconcileResponse report;
  ASSERT_THAT(service_->DoReconcile(request, &report), IsOk());
  EXPECT_EQ(report.counters_checked(), 1);
  EXPECT_EQ(report.drifted(), 1);
  EXPECT_EQ(report.missing(), 0);
  EXPECT_EQ(report.repaired(), 1);
  ASSERT_THAT(report.drifts(), SizeIs(1));
  EXPECT_EQ(report.drifts(0).budget_id(), budget->id);
  EXPECT_EQ(report.drifts(0).hot_nano_usd(), 655);
  EXPECT_EQ(report.drifts(0).ledger_nano_usd(), 600);
  EXPECT_THAT(Hot(key), IsOkAndHolds(600));
  // Flushed again: Reconcile re-creates the missing counter.
  EXPECT_EQ(FlushTenantKeys(), 1);
  report.Clear();
  ASSERT_THAT(service_->DoReconcile(request, &report), IsOk());
  EXPECT_EQ(report.missing(), 1);
  EXPECT_EQ(report.repaired(), 1);
  EXPECT_THAT(Hot(key), IsOkAndHolds(600));
  auto ttl = redis_.Command({"TTL", key});
  ASSERT_THAT(ttl, IsOk());
  EXPECT_GT(ttl->integer, 0);
}

TEST_F(HotCountersTest, RaisesCompareSpendsExactlyAboveTwoToThe53) {
  // Lua numbers are doubles: 2^53 + 1 and 2^53 are one double. The raise
  // compares the decimal texts, so it keeps the exact larger value.
  const absl::Time start = Utc(2026, 3, 1);
  const std::string key = CounterRedisKey(tenant_, "b-big", start);
  auto raise = [&](int64_t spent) {
    return counters_.RaiseTo({{tenant_, "b-big", start, 0, Utc(2026, 4, 1), spent}},
                             clock_.Now());
  };
  ASSERT_THAT(raise(99), IsOk());
  EXPECT_THAT(Hot(key), IsOkAndHolds(99));
  ASSERT_THAT(raise(100), IsOk());  // longer text, larger
  EXPECT_THAT(Hot(key), IsOkAndHolds(100));
  ASSERT_THAT(raise(9'007'199'254'740'993), IsOk());
  ASSERT_THAT(raise(9'007'199'254'740'992), IsOk());
  EXPECT_THAT(Hot(key), IsOkAndHolds(9'007'199'254'740'993));
  ASSERT_THAT(raise(std::numeric_limits<int64_t>::max()), IsOk());
  ASSERT_THAT(raise(9'223'372'036'854'775'806), IsOk());
  EXPECT_THAT(Hot(key), IsOkAndHolds(std::numeric_limits<int64_t>::max()));
  auto ttl = redis_.Command({"TTL", key});
  ASSERT_THAT(ttl, IsOk());
  EXPECT_GT(ttl->integer, 0);
}

TEST_F(HotCountersTest, RaisesTheCountersOfSeveralTenantsPerTenantInOneCall) {
  // One script call per tenant raises each of its counters independently: a
  // missing one is created, a lower one raised, a higher one kept, and a
  // budget listed twice ends at the larger spend.
  const absl::Time start = Utc(2026, 3, 1);
  const absl::Time end = Utc(2026, 4, 1);
  const std::string other = tenant_ + "-other";
  const std::string a = CounterRedisKey(tenant_, "b-a", start);
  const std::string b = CounterRedisKey(tenant_, "b-b", start);
  const std::string c = CounterRedisKey(tenant_, "b-c", start);
  const std::string d = CounterRedisKey(other, "b-d", start);
  ASSERT_THAT(redis_.Command({"SET", b, "500"}), IsOk());
  ASSERT_THAT(redis_.Command({"SET", c, "10"}), IsOk());
  ASSERT_THAT(counters_.RaiseTo({{tenant_, "b-a", start, 0, end, 7},
                                 {other, "b-d", start, 0, end, 1'000},
                                 {tenant_, "b-b", start, 0, end, 99},
                                 {tenant_, "b-c", start, 0, end, 11},
                                 {tenant_, "b-a", start, 0, end, 8},
                                 {tenant_, "b-x", start, 0, end, -1}},
                                clock_.Now()),
              IsOk());
  EXPECT_THAT(Hot(a), IsOkAndHolds(8));
  EXPECT_THAT(Hot(b), IsOkAndHolds(500));
  EXPECT_THAT(Hot(c), IsOkAndHolds(11));
  EXPECT_THAT(Hot(d), IsOkAndHolds(1'000));
  EXPECT_THAT(Hot(CounterRedisKey(tenant_, "b-x", start)), IsOkAndHolds(-1));  // not written
  for (const std::string& key : {a, c, d}) {
    auto ttl = redis_.Command({"TTL", key});
    ASSERT_THAT(ttl, IsOk());
    EXPECT_GT(ttl->integer, 0) << key;
  }
  EXPECT_THAT(counters_.RaiseTo({}, clock_.Now()), IsOk());
  EXPECT_THAT(redis_.Command({"DEL", d}), IsOk());
}

TEST_F(HotCountersTest, GetWithVersionReadsTheTokenAndCountersInOneCommand) {
  const absl::Time start = Utc(2026, 3, 1);
  const CounterKey a{tenant_, "b-a", start, Utc(2026, 4, 1)};
  const CounterKey b{tenant_, "b-b", start, Utc(2026, 4, 1)};
  // Nothing yet: no token, no counters (not zeros).
  auto empty = counters_.GetWithVersion(tenant_, {a, b});
  ASSERT_THAT(empty, IsOk());
  EXPECT_FALSE(empty->version.has_value());
  EXPECT_THAT(empty->values, ElementsAre(std::nullopt, std::nullopt));
  auto token = counters_.BudgetsVersion(tenant_);
  ASSERT_THAT(token, IsOk());
  ASSERT_THAT(counters_.RaiseTo({{tenant_, "b-b", start, 0, Utc(2026, 4, 1), 42}}, clock_.Now()),
              IsOk());
  // Each value in the order of the keys, the token beside them.
  auto read = counters_.GetWithVersion(tenant_, {a, b});
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->version, *token);
  EXPECT_THAT(read->values, ElementsAre(std::nullopt, std::optional<int64_t>(42)));
  auto reversed = counters_.GetWithVersion(tenant_, {b, a});
  ASSERT_THAT(reversed, IsOk());
  EXPECT_THAT(reversed->values, ElementsAre(std::optional<int64_t>(42), std::nullopt));
  auto token_only = counters_.GetWithVersion(tenant_, {});
  ASSERT_THAT(token_only, IsOk());
  EXPECT_EQ(token_only->version, *token);
  EXPECT_THAT(token_only->values, IsEmpty());
  // A counter that is not an integer is an error, never read as zero.
  ASSERT_THAT(redis_.Command({"SET", CounterRedisKey(tenant_, "b-a", start), "x"}), IsOk());
  EXPECT_THAT(counters_.GetWithVersion(tenant_, {a, b}), StatusIs(absl::StatusCode::kInternal));
}

TEST_F(HotCountersTest, RedisDownFallsBackToTheLedger) {
  auto budget = store_->CreateBudget(MonthlyBudget(tenant_, 1'000));
  ASSERT_THAT(budget, IsOk());
  ASSERT_THAT(Record("r1", 300), IsOk());
  common::RedisOptions dead;
  dead.port = ::agentwatch::testing::FreePort();
  common::RedisClient down(dead);
  RedisBudgetCounters down_counters(down);
  CostServiceOptions options;
  options.counters = &down_counters;
  CostServiceImpl service(*store_, rpc_, clock_, metrics_, options);
  v1::CheckBudgetRequest check;
  check.mutable_scope()->set_tenant(tenant_);
  v1::CheckBudgetResponse response;
  ASSERT_THAT(service.DoCheckBudget(check, &response), IsOk());
  EXPECT_EQ(response.remaining_nano_usd(), 700);
  v1::ReconcileResponse report;
  EXPECT_THAT(service.DoReconcile(v1::ReconcileRequest(), &report),
              StatusIs(absl::StatusCode::kUnavailable));
}

// --- Unknown models and budget updates ---------------------------------------

TEST_F(PgCostStoreTest, ListUnknownModelsPagesAndSumsARange) {
  const absl::Time now = Utc(2026, 3, 15);
  UsageRecord first = Llm("acme", "u1", "gpt-9", 1000, 100, Utc(2026, 3, 2));
  first.requests = 2;
  UsageRecord claude = Llm("acme", "u3", "claude-x", 7, 8, Utc(2026, 3, 3));
  claude.scope.provider = "anthropic";
  ASSERT_THAT(store_->RecordUsage({first, Llm("acme", "u2", "gpt-9", 10, 1, Utc(2026, 3, 5)),
                                   claude, Llm("beta", "u4", "gpt-9", 5, 5, Utc(2026, 3, 4)),
                                   Priced("p1", 100, Utc(2026, 3, 4))},
                                  now),
              IsOk());

  UnknownModelQuery query;
  query.limit = 2;
  auto page = store_->ListUnknownModels(query);
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(*page, SizeIs(2));
  EXPECT_EQ((*page)[0].provider, "anthropic");
  EXPECT_EQ((*page)[0].model, "claude-x");
  EXPECT_EQ((*page)[0].output_tokens, 8);
  const UnknownModelSummary& gpt9 = (*page)[1];
  EXPECT_EQ(gpt9.tenant, "acme");
  EXPECT_EQ(gpt9.model, "gpt-9");
  EXPECT_EQ(gpt9.calls, 3);
  EXPECT_EQ(gpt9.input_tokens, 1010);
  EXPECT_EQ(gpt9.output_tokens, 101);
  EXPECT_EQ(gpt9.first_seen, Utc(2026, 3, 2));
  EXPECT_EQ(gpt9.last_seen, Utc(2026, 3, 5));
  query.after = UnknownModelCursor{gpt9.tenant, gpt9.provider, gpt9.model};
  page = store_->ListUnknownModels(query);
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(*page, SizeIs(1));
  EXPECT_EQ((*page)[0].tenant, "beta");

  UnknownModelQuery acme;
  acme.tenant = "acme";
  EXPECT_THAT(*store_->ListUnknownModels(acme), SizeIs(2));
  // A range sums the ledger's unpriced records inside it only.
  acme.range = Period{Utc(2026, 3, 4), Utc(2026, 3, 6)};
  page = store_->ListUnknownModels(acme);
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(*page, SizeIs(1));
  EXPECT_EQ((*page)[0].model, "gpt-9");
  EXPECT_EQ((*page)[0].calls, 1);
  EXPECT_EQ((*page)[0].input_tokens, 10);
  EXPECT_EQ((*page)[0].first_seen, Utc(2026, 3, 5));
  EXPECT_EQ((*page)[0].last_seen, Utc(2026, 3, 5));
  UnknownModelQuery all_in_range;
  all_in_range.range = Period{Utc(2026, 3, 4), Utc(2026, 3, 5)};
  page = store_->ListUnknownModels(all_in_range);
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(*page, SizeIs(1));
  EXPECT_EQ((*page)[0].tenant, "beta");
  EXPECT_EQ((*page)[0].calls, 1);
}

TEST_F(PgCostStoreTest, UpdateBudgetKeepsIdentityAndFiredThresholds) {
  Budget original = MonthlyBudget("acme", 1'000);
  original.request_id = "req-1";
  auto budget = store_->CreateBudget(original);
  ASSERT_THAT(budget, IsOk());
  const absl::Time now = Utc(2026, 3, 15, 12);
  auto outcome = store_->RecordUsage({Priced("r1", 850, Utc(2026, 3, 2))}, now);
  ASSERT_THAT(outcome, IsOk());
  ASSERT_THAT(outcome->alerts, SizeIs(1));  // 80 %

  // A higher limit and a new 50 % threshold, same period.
  auto updated = store_->UpdateBudget(
      budget->id,
      [](const Budget& current) -> absl::StatusOr<Budget> {
        Budget next = current;
        next.name = "renamed";
        next.limit_nano_usd = 2'000;
        next.threshold_percents = {50, 80, 100};
        return next;
      },
      now);
  ASSERT_THAT(updated, IsOk());
  EXPECT_EQ(updated->id, budget->id);
  EXPECT_EQ(updated->name, "renamed");
  EXPECT_EQ(updated->limit_nano_usd, 2'000);
  EXPECT_EQ(updated->request_id, "req-1");
  EXPECT_EQ(updated->create_time, budget->create_time);
  EXPECT_GE(updated->update_time, budget->update_time);
  auto fetched = store_->GetBudget(budget->id);
  ASSERT_THAT(fetched, IsOk());
  EXPECT_EQ(fetched->limit_nano_usd, 2'000);
  EXPECT_THAT(fetched->threshold_percents, ElementsAre(50, 80, 100));
  // 1,750 of 2,000: 50 % fires, 80 % already fired this period.
  outcome = store_->RecordUsage({Priced("r2", 900, Utc(2026, 3, 3))}, now);
  ASSERT_THAT(outcome, IsOk());
  ASSERT_THAT(outcome->alerts, SizeIs(1));
  EXPECT_EQ(outcome->alerts[0].threshold_percent, 50);

  // Daily from now on: the new period starts today, and the thresholds fired
  // in the month it replaces stay fired.
  updated = store_->UpdateBudget(
      budget->id,
      [](const Budget& current) -> absl::StatusOr<Budget> {
        Budget next = current;
        next.period = BudgetPeriod::kDaily;
        return next;
      },
      now);
  ASSERT_THAT(updated, IsOk());
  EXPECT_EQ(updated->period, BudgetPeriod::kDaily);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.budget_threshold_events WHERE period_start = "
                  "'2026-03-15T00:00:00Z'"),
            2);
  auto fired = store_->FiredThresholds("acme", budget->id, Utc(2026, 3, 15));
  ASSERT_THAT(fired, IsOk());
  EXPECT_THAT(*fired, ElementsAre(50, 80));
  outcome = store_->RecordUsage({Priced("r3", 1'700, Utc(2026, 3, 15, 6))}, now);
  ASSERT_THAT(outcome, IsOk());
  EXPECT_THAT(outcome->alerts, IsEmpty());
  ASSERT_THAT(outcome->increments, SizeIs(1));
  EXPECT_EQ(outcome->increments[0].period_start, Utc(2026, 3, 15));
  outcome = store_->RecordUsage({Priced("r4", 400, Utc(2026, 3, 15, 7))}, now);
  ASSERT_THAT(outcome, IsOk());
  ASSERT_THAT(outcome->alerts, SizeIs(1));
  EXPECT_EQ(outcome->alerts[0].threshold_percent, 100);
  EXPECT_EQ(outcome->alerts[0].period_start, Utc(2026, 3, 15));

  // Errors: the update's own, a taken name, unknown and malformed ids; none
  // changes anything.
  Budget other = MonthlyBudget("acme", 10);
  other.name = "other";
  ASSERT_THAT(store_->CreateBudget(other), IsOk());
  auto rename = [](const Budget& current) -> absl::StatusOr<Budget> {
    Budget next = current;
    next.name = "other";
    next.limit_nano_usd = 1;
    return next;
  };
  EXPECT_THAT(store_->UpdateBudget(budget->id, rename, now),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("other")));
  EXPECT_THAT(store_->UpdateBudget(
                  budget->id,
                  [](const Budget&) -> absl::StatusOr<Budget> {
                    return absl::InvalidArgumentError("budget.limit_nano_usd: must be > 0");
                  },
                  now),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit_nano_usd")));
  EXPECT_THAT(store_->UpdateBudget(MakeBudgetId("acme", 1), rename, now),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->UpdateBudget("garbage", rename, now),
              StatusIs(absl::StatusCode::kInvalidArgument));
  fetched = store_->GetBudget(budget->id);
  ASSERT_THAT(fetched, IsOk());
  EXPECT_EQ(fetched->name, "renamed");
  EXPECT_EQ(fetched->limit_nano_usd, 2'000);
}

}  // namespace
}  // namespace agentwatch::cost

namespace agentwatch::cost {
namespace {

// The narrow ledger (migrations/004_narrow_ledger.sql): what a record was is
// read back whole through cost.usage, dimension combinations are stored once
// per tenant and shared by replicas, and replays through another replica
// count nothing.
TEST_F(PgCostStoreTest, NarrowLedgerRoundTripsEveryField) {
  ASSERT_THAT(store_->UpsertPrice(Price("", "openai", "m", 1'000'000, 2'000'000, Utc(2026, 1, 1))),
              IsOk());
  ASSERT_THAT(store_->UpsertPrice(Price("acme", "openai", "m", 500'000, 0, Utc(2026, 2, 1))),
              IsOk());
  UsageRecord llm = Llm("acme", "llm\t1", "m", 1000, 100, Utc(2026, 3, 1, 10) +
                                                                absl::Microseconds(123456));
  llm.scope.team = "t\\eam\n";
  llm.scope.workflow = "wörk \"flow\"";
  llm.scope.agent = "a,b{c}";
  llm.scope.service = "svc";
  llm.scope.tags = {{"env", "prod"}, {"q\"k\\", "v\tw\nx"}, {"", "empty key"}};
  llm.run_id = "run-1";
  llm.tokens.cached_input = 10;
  llm.tokens.cache_creation = 5;
  llm.requests = 3;
  UsageRecord same_dims = llm;  // another record of the same combination
  same_dims.record_id = "llm-2";
  same_dims.time = Utc(2025, 12, 31, 23, 59) + absl::Seconds(59);  // unpriced: before the catalog
  UsageRecord global = Llm("beta", "g1", "m", 1000, 1000, Utc(2026, 3, 1));
  UsageRecord infra;
  infra.record_id = "infra-1";
  infra.time = Utc(2026, 3, 2);
  infra.scope.tenant = "acme";
  infra.scope.service = "svc";
  infra.kind = UsageKind::kInfra;
  infra.infra_resource = InfraResource::kMemoryGibHours;
  infra.infra_quantity_milli = 2500;
  infra.infra_sku = "r5.large";
  infra.client_cost_nano_usd = 777;
  UsageRecord outcome;
  outcome.record_id = "outcome-1";
  outcome.time = Utc(2026, 3, 2, 1);
  outcome.scope.tenant = "acme";
  outcome.scope.workflow = "wörk \"flow\"";
  outcome.run_id = "run-1";
  outcome.run_succeeded = true;
  auto recorded =
      store_->RecordUsage({llm, same_dims, global, infra, outcome}, Utc(2026, 3, 15));
  ASSERT_THAT(recorded, IsOk());
  EXPECT_EQ(recorded->accepted, 5);

  std::vector<std::string> rows;
  ASSERT_THAT(pool_.WithTransaction([&](pqxx::work& txn) {
    txn.exec("SET LOCAL TIME ZONE 'UTC'");
    for (const pqxx::row& row : txn.exec(
             "SELECT concat_ws('|', tenant_id, record_id, usage_time, kind, team, workflow, "
             "agent, model, provider, service, tags::text, run_id, "
             "COALESCE(run_succeeded::text, 'null'), input_tokens, output_tokens, "
             "cached_input_tokens, cache_creation_tokens, requests, infra_resource, "
             "infra_quantity_milli, infra_sku, cost_nano_usd, priced, client_priced, "
             "COALESCE(price_tenant_id, 'null'), COALESCE(price_effective_time::text, 'null')) "
             "FROM cost.usage ORDER BY tenant_id, record_id")) {
      rows.push_back(row[0].as<std::string>());
    }
    return absl::OkStatus();
  }),
              IsOk());
  // Priced with the tenant's own version in effect (from February).
  auto expected_llm = PriceUsage(llm, [&] {
    PriceBook book;
    PriceVersion v = Price("acme", "openai", "m", 500'000, 0, Utc(2026, 2, 1));
    book.Add(v);
    return book;
  }(), "");
  ASSERT_THAT(expected_llm, IsOk());
  const std::string tags = R"({"": "empty key", "env": "prod", "q\"k\\": "v\tw\nx"})";
  EXPECT_THAT(
      rows,
      ElementsAre(
          "acme|infra-1|2026-03-02 00:00:00+00|infra||||||svc|{}||null|0|0|0|0|0|memory_gib_hours|"
          "2500|"
          "r5.large|777|t|t|null|null",
          absl::StrCat("acme|llm\t1|2026-03-01 10:00:00.123456+00|llm|t\\eam\n|wörk \"flow\"|"
                       "a,b{c}|m|openai|svc|",
                       tags, "|run-1|null|1000|100|10|5|3||0||", expected_llm->cost_nano_usd,
                       "|t|f|acme|2026-02-01 00:00:00+00"),
          absl::StrCat("acme|llm-2|2025-12-31 23:59:59+00|llm|t\\eam\n|wörk \"flow\"|a,b{c}|m|"
                       "openai|svc|",
                       tags, "|run-1|null|1000|100|10|5|3||0||0|f|f|null|null"),
          "acme|outcome-1|2026-03-02 01:00:00+00|outcome||wörk \"flow\"|||||{}|run-1|true|0|0|0|"
          "0|0||0||0|t|f|null|null",
          "beta|g1|2026-03-01 00:00:00+00|llm||||m|openai||{}||null|1000|1000|0|0|1||0||3000|t|f|"
          "|2026-01-01 00:00:00+00"));
  // Four combinations: acme's LLM (twice), infra and outcome; beta's LLM.
  EXPECT_EQ(Count("SELECT count(*) FROM cost.usage_dims"), 4);
  EXPECT_EQ(Count("SELECT count(DISTINCT dims_id) FROM cost.ledger"), 4);

  // Another replica (a store with an empty cache) reuses the combinations,
  // and its replay of the same records counts nothing.
  PgCostStore other(pool_);
  UsageRecord third = llm;
  third.record_id = "llm-3";
  auto replay = other.RecordUsage({llm, same_dims, global, infra, outcome, third},
                                  Utc(2026, 3, 15));
  ASSERT_THAT(replay, IsOk());
  EXPECT_EQ(replay->accepted, 1);
  EXPECT_EQ(replay->duplicates, 5);
  EXPECT_EQ(replay->total_cost_nano_usd, expected_llm->cost_nano_usd);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.usage_dims"), 4);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.ledger"), 6);
  EXPECT_EQ(TotalCost("acme"), 2 * expected_llm->cost_nano_usd + 777);
}

TEST_F(PgCostStoreTest, ReplicasRecordingTheSameRecordsConcurrentlyCountEachOnce) {
  // Two replicas (each its own store and cache), each sending every batch;
  // new combinations are created by both at once.
  PgCostStore replica(pool_);
  std::vector<std::vector<UsageRecord>> batches(8);
  for (int b = 0; b < 8; ++b) {
    for (int i = 0; i < 200; ++i) {
      UsageRecord r = Priced(absl::StrCat("r-", b, "-", i), 1 + i % 7, Utc(2026, 3, 2));
      r.scope.team = absl::StrCat("team-", i % 13);
      r.scope.tags = {{"k", absl::StrCat(i % 3)}};
      batches[b].push_back(std::move(r));
    }
  }
  std::atomic<int64_t> accepted{0}, duplicates{0};
  std::vector<std::thread> threads;
  for (PgCostStore* store : {store_.get(), &replica}) {
    for (int b = 0; b < 8; ++b) {
      threads.emplace_back([&, store, b] {
        auto outcome = store->RecordUsage(batches[b], Utc(2026, 3, 15));
        ASSERT_THAT(outcome, IsOk());
        accepted += outcome->accepted;
        duplicates += outcome->duplicates;
      });
    }
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 1600);
  EXPECT_EQ(duplicates.load(), 1600);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.ledger"), 1600);
  EXPECT_EQ(Count("SELECT count(*) FROM cost.usage_dims"), 13 * 3);
  int64_t expected = 0;
  for (int b = 0; b < 8; ++b) {
    for (int i = 0; i < 200; ++i) expected += 1 + i % 7;
  }
  EXPECT_EQ(TotalCost("acme"), expected);
}

TEST(NarrowLedgerMigrationTest, MovesTheOldRowsUnchanged) {
  ::agentwatch::testing::TestDatabase db;
  common::PgPool pool(PoolOptions(db.dsn()));
  std::vector<common::Migration> before;
  for (const common::Migration& m : Migrations()) {
    if (m.version < 4) before.push_back(m);
  }
  ASSERT_THAT(common::ApplyMigrations(pool, "cost", before), IsOk());
  const std::string columns =
      "tenant_id, record_id, usage_time, kind, team, workflow, agent, model, provider, service, "
      "tags, run_id, run_succeeded, input_tokens, output_tokens, cached_input_tokens, "
      "cache_creation_tokens, requests, infra_resource, infra_quantity_milli, infra_sku, "
      "cost_nano_usd, priced, client_priced, price_tenant_id, price_effective_time, recorded_at";
  ASSERT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    txn.exec("INSERT INTO cost.usage (" + columns + R"sql() VALUES
      ('acme', 'a', '2026-03-01T10:00:00.5Z', 'llm', 't', 'w', 'ag', 'm', 'p', '',
       '{"env": "prod", "x": "1"}', 'run', NULL, 10, 20, 3, 4, 1, '', 0, '', 55, true, false,
       '', '2026-01-01Z', '2026-03-01Z'),
      ('acme', 'b', '2026-03-01T11:00:00Z', 'llm', 't', 'w', 'ag', 'm', 'p', '',
       '{"x": "1", "env": "prod"}', 'run', NULL, 1, 2, 0, 0, 1, '', 0, '', 7, true, false,
       'acme', '2026-02-01Z', '2026-03-01Z'),
      ('acme', 'c', '2026-03-02Z', 'infra', '', '', '', '', '', 'svc', '{}', '', NULL, 0, 0, 0,
       0, 0, 'vcpu_seconds', 1500, 'sku', 9, false, true, NULL, NULL, '2026-03-02Z'),
      ('beta', 'a', '2026-03-02Z', 'outcome', '', 'w', '', '', '', '', '{}', 'run', true, 0, 0,
       0, 0, 0, '', 0, '', 0, false, false, NULL, NULL, '2026-03-02Z'))sql");
    return absl::OkStatus();
  }),
              IsOk());
  auto dump = [&] {
    std::vector<std::string> out;
    EXPECT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
      for (const pqxx::row& row :
           txn.exec("SELECT concat_ws('|', " + columns +
                    ") FROM cost.usage ORDER BY tenant_id, record_id")) {
        out.push_back(row[0].as<std::string>());
      }
      return absl::OkStatus();
    }),
                IsOk());
    return out;
  };
  const std::vector<std::string> old_rows = dump();
  ASSERT_THAT(old_rows, SizeIs(4));
  ASSERT_THAT(common::ApplyMigrations(pool, "cost", Migrations()), IsOk());
  EXPECT_EQ(dump(), old_rows);
  // The two LLM rows share one combination (tags are compared as JSON).
  int64_t combinations = 0;
  ASSERT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    combinations = txn.exec("SELECT count(*) FROM cost.usage_dims")[0][0].as<int64_t>();
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(combinations, 3);
  // And the store keeps writing after the move.
  PgCostStore store(pool);
  UsageRecord next = Llm("acme", "d", "m", 1, 1, Utc(2026, 3, 3));
  next.scope.team = "t";
  next.scope.workflow = "w";
  next.scope.agent = "ag";
  next.scope.provider = "p";
  next.run_id = "run";
  next.scope.tags = {{"env", "prod"}, {"x", "1"}};
  next.client_cost_nano_usd = 5;
  auto outcome = store.RecordUsage({next}, Utc(2026, 3, 15));
  ASSERT_THAT(outcome, IsOk());
  EXPECT_EQ(outcome->accepted, 1);
  ASSERT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    combinations = txn.exec("SELECT count(*) FROM cost.usage_dims")[0][0].as<int64_t>();
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(combinations, 3);
}

}  // namespace
}  // namespace agentwatch::cost
