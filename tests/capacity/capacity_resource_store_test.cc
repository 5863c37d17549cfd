// Integration tests of PgResourceStore against the real Postgres that
// scripts/test starts (AGENTWATCH_TEST_PG_DSN): capacity.resources round
// trips, idempotent creates (also concurrent ones), conflicts, the per-tenant
// limit, read-modify-write updates, deletes and paging.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "capacity/store/migrations.h"
#include "capacity/store/pg_forecast_run_store.h"
#include "capacity/store/pg_resource_store.h"
#include "common/pg.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"

namespace agentwatch::capacity {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000) + absl::Microseconds(123'456);

Resource Sample(const std::string& tenant, const std::string& name) {
  Resource r;
  r.tenant = tenant;
  r.name = name;
  r.kind = ResourceKind::kReplicas;
  r.metric = "agent_inflight_requests";
  r.matchers = {{"workflow", MatchOp::kEqual, "triage"},
                {"team", MatchOp::kNotRegex, "quote\" back\\slash, {brace} ünïcode"}};
  r.per_unit_capacity = 12.5;
  r.target_utilization = 0.7;
  r.current = 4;
  r.min = 2;
  r.max = 30;
  r.labels = {{"namespace", "agents"}, {"deployment", "planner \"v2\""}};
  r.alert_horizon = absl::Hours(6);
  r.alert_severity = Severity::kP1;
  r.headroom = 0.25;
  return r;
}

class PgResourceStoreTest : public ::testing::Test {
 protected:
  PgResourceStoreTest() : pool_(Options(db_.dsn())), store_(pool_) {}
  static common::PgPoolOptions Options(const std::string& dsn) {
    common::PgPoolOptions options;
    options.dsn = dsn;
    options.size = 4;
    return options;
  }
  void SetUp() override {
    ASSERT_THAT(common::ApplyMigrations(pool_, "capacity", Migrations()), IsOk());
  }

  agentwatch::testing::TestDatabase db_;
  common::PgPool pool_;
  PgResourceStore store_;
};

TEST_F(PgResourceStoreTest, CreatesAndReadsBackEveryField) {
  const Resource sample = Sample("acme", "planner");
  const absl::StatusOr<Resource> created = store_.CreateResource(sample, "", kNow);
  ASSERT_THAT(created, IsOk());
  EXPECT_TRUE(IsUuid(created->id)) << created->id;
  const absl::StatusOr<Resource> read = store_.GetResource(created->id);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->tenant, "acme");
  EXPECT_EQ(read->name, "planner");
  EXPECT_EQ(read->kind, ResourceKind::kReplicas);
  EXPECT_EQ(read->metric, sample.metric);
  EXPECT_EQ(read->matchers, sample.matchers);
  EXPECT_EQ(read->per_unit_capacity, 12.5);
  EXPECT_EQ(read->target_utilization, 0.7);
  EXPECT_EQ(read->current, 4);
  EXPECT_EQ(read->min, 2);
  EXPECT_EQ(read->max, 30);
  EXPECT_EQ(read->labels, sample.labels);
  EXPECT_EQ(read->alert_horizon, absl::Hours(6));
  EXPECT_EQ(read->alert_severity, Severity::kP1);
  EXPECT_FALSE(read->stateful);
  EXPECT_EQ(read->headroom, 0.25);
  EXPECT_EQ(read->create_time, kNow);
  EXPECT_EQ(read->update_time, kNow);

  Resource stateful = Sample("acme", "postgres");
  stateful.stateful = true;
  stateful.request_unit = "memory_bytes";
  ASSERT_THAT(store_.CreateResource(stateful, "", kNow), IsOk());
  const absl::StatusOr<Resource> other = store_.CreateResource(stateful, "", kNow);
  EXPECT_THAT(other, StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("postgres")));

  EXPECT_THAT(store_.GetResource("not-a-uuid"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_.GetResource("00000000-0000-4000-8000-000000000000"),
              StatusIs(absl::StatusCode::kNotFound));

  // The row is keyed by tenant first.
  pqxx::connection conn(db_.dsn());
  pqxx::work txn(conn);
  const pqxx::row row = txn.exec1(
      "SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM pg_index i "
      "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
      "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
      "WHERE i.indrelid = 'capacity.resources'::regclass AND i.indisprimary");
  EXPECT_EQ(row[0].as<std::string>(), "tenant_id,id");
}

TEST_F(PgResourceStoreTest, CreateIsIdempotentByRequestIdEvenConcurrently) {
  std::vector<std::string> ids(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ids.size(); ++i) {
    threads.emplace_back([this, &ids, i] {
      const absl::StatusOr<Resource> r =
          store_.CreateResource(Sample("acme", "planner"), "request-1", kNow);
      if (r.ok()) ids[i] = r->id;
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_FALSE(ids[0].empty());
  // The request id is per tenant.
  const absl::StatusOr<Resource> elsewhere =
      store_.CreateResource(Sample("globex", "planner"), "request-1", kNow);
  ASSERT_THAT(elsewhere, IsOk());
  EXPECT_NE(elsewhere->id, ids[0]);
}

TEST_F(PgResourceStoreTest, EnforcesThePerTenantLimit) {
  {
    pqxx::connection conn(db_.dsn());
    pqxx::work txn(conn);
    txn.exec_params(
        "INSERT INTO capacity.resources (tenant_id, name, kind, metric, per_unit_capacity,"
        " target_utilization, current_units, min_units, max_units, alert_horizon_us,"
        " alert_severity, headroom, create_time, update_time)"
        " SELECT 'acme', 'r' || g, 1, 'm', 1, 1, 1, 0, 0, 0, 3, 0.15, now(), now()"
        " FROM generate_series(1, $1::int) AS g",
        static_cast<int>(kMaxResourcesPerTenant));
    txn.commit();
  }
  EXPECT_THAT(store_.CreateResource(Sample("acme", "one-more"), "", kNow),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("acme")));
  EXPECT_THAT(store_.CreateResource(Sample("globex", "one-more"), "", kNow), IsOk());
}

TEST_F(PgResourceStoreTest, UpdatesUnderARowLock) {
  const absl::StatusOr<Resource> a = store_.CreateResource(Sample("acme", "a"), "", kNow);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(store_.CreateResource(Sample("acme", "b"), "", kNow), IsOk());
  const absl::Time later = kNow + absl::Minutes(5);
  const absl::StatusOr<Resource> updated = store_.UpdateResource(
      a->id,
      [](Resource* r) {
        r->current = 9;
        r->labels["tier"] = "gold";
        r->matchers.clear();
        r->tenant = "someone-else";  // ignored
        return absl::OkStatus();
      },
      later);
  ASSERT_THAT(updated, IsOk());
  EXPECT_EQ(updated->current, 9);
  EXPECT_EQ(updated->tenant, "acme");
  EXPECT_TRUE(updated->matchers.empty());
  EXPECT_EQ(updated->labels.at("tier"), "gold");
  EXPECT_EQ(updated->update_time, later);
  EXPECT_EQ(updated->create_time, kNow);
  EXPECT_EQ(store_.GetResource(a->id)->current, 9);

  // The mutation's error is returned and nothing is written.
  EXPECT_THAT(store_.UpdateResource(
                  a->id,
                  [](Resource* r) {
                    r->current = 100;
                    return absl::InvalidArgumentError("resource.current: no");
                  },
                  later),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(store_.GetResource(a->id)->current, 9);
  EXPECT_THAT(store_.UpdateResource(
                  a->id,
                  [](Resource* r) {
                    r->name = "b";
                    return absl::OkStatus();
                  },
                  later),
              StatusIs(absl::StatusCode::kAlreadyExists));

  // Concurrent increments all land.
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([this, &a, later] {
      EXPECT_THAT(store_.UpdateResource(
                      a->id,
                      [](Resource* r) {
                        r->current += 1;
                        return absl::OkStatus();
                      },
                      later),
                  IsOk());
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(store_.GetResource(a->id)->current, 15);

  EXPECT_THAT(store_.DeleteResource(a->id), IsOk());
  EXPECT_THAT(store_.DeleteResource(a->id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_.UpdateResource(
                  a->id, [](Resource*) { return absl::OkStatus(); }, later),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(PgResourceStoreTest, ListsByTenantAndNameWithKindFilterAndPages) {
  for (const char* name : {"c", "a", "b"}) {
    ASSERT_THAT(store_.CreateResource(Sample("acme", name), "", kNow), IsOk());
  }
  Resource quota = Sample("acme", "quota");
  quota.kind = ResourceKind::kTokenQuotaTpm;
  ASSERT_THAT(store_.CreateResource(quota, "", kNow), IsOk());
  ASSERT_THAT(store_.CreateResource(Sample("beta", "a"), "", kNow), IsOk());

  ResourceListQuery query;
  query.page_size = 2;
  std::vector<std::string> seen;
  while (true) {
    const absl::StatusOr<ResourcePage> page = store_.ListResources(query);
    ASSERT_THAT(page, IsOk());
    for (const Resource& r : page->resources) seen.push_back(r.tenant + "/" + r.name);
    if (!page->more) break;
    const std::string token =
        EncodeResourcePageToken(page->resources.back().tenant, page->resources.back().name);
    ASSERT_THAT(DecodeResourcePageToken(token, &query), IsOk());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"acme/a", "acme/b", "acme/c", "acme/quota", "beta/a"}));

  ResourceListQuery quotas;
  quotas.tenant = "acme";
  quotas.kind = ResourceKind::kTokenQuotaTpm;
  const absl::StatusOr<ResourcePage> only = store_.ListResources(quotas);
  ASSERT_THAT(only, IsOk());
  ASSERT_EQ(only->resources.size(), 1u);
  EXPECT_EQ(only->resources[0].name, "quota");
  EXPECT_FALSE(only->more);
}

}  // namespace
}  // namespace agentwatch::capacity
