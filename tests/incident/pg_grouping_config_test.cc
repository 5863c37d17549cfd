// PgGroupingConfigStore against a real Postgres (integration): round trip of
// records (labels, "...", empty, update_time in microseconds, replace), and
// two replicas' resolvers over one database seeing each other's update once
// the cache TTL passed (and their own at once).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/pg.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "incident/api/grouping_resolver.h"
#include "incident/store/migrations.h"
#include "incident/store/pg_grouping_config_store.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixMicros(1'800'000'000'123'456);

common::PgPoolOptions PoolOptions(const std::string& dsn) {
  common::PgPoolOptions options;
  options.dsn = dsn;
  options.size = 2;
  return options;
}

GroupingConfigRecord Record(const std::string& tenant,
                            std::optional<std::vector<std::string>> group_by,
                            absl::Time update_time,
                            std::optional<absl::Duration> group_wait = std::nullopt) {
  GroupingConfigRecord record;
  record.tenant = tenant;
  record.group_by = std::move(group_by);
  record.group_wait = group_wait;
  record.update_time = update_time;
  return record;
}

GroupingConfigFields All() {
  GroupingConfigFields fields;
  fields.group_by = true;
  fields.group_wait = true;
  return fields;
}

GroupingConfigFields Only(bool group_by, bool group_wait) {
  GroupingConfigFields fields;
  fields.group_by = group_by;
  fields.group_wait = group_wait;
  return fields;
}

class PgGroupingConfigTest : public ::testing::Test {
 protected:
  PgGroupingConfigTest() : clock_(kT0) {
    {
      common::PgPool pool(PoolOptions(db_.dsn()));
      EXPECT_THAT(common::ApplyMigrations(pool, "incident", Migrations()), IsOk());
    }
    pool_a_ = std::make_unique<common::PgPool>(PoolOptions(db_.dsn()));
    pool_b_ = std::make_unique<common::PgPool>(PoolOptions(db_.dsn()));
    store_a_ = std::make_unique<PgGroupingConfigStore>(*pool_a_);
    store_b_ = std::make_unique<PgGroupingConfigStore>(*pool_b_);
  }

  agentwatch::testing::TestDatabase db_;
  common::FakeClock clock_;
  std::unique_ptr<common::PgPool> pool_a_;
  std::unique_ptr<common::PgPool> pool_b_;
  std::unique_ptr<PgGroupingConfigStore> store_a_;
  std::unique_ptr<PgGroupingConfigStore> store_b_;
};

TEST_F(PgGroupingConfigTest, RoundTrip) {
  absl::StatusOr<std::vector<GroupingConfigRecord>> none =
      store_a_->GetGroupingConfigs({"acme", ""});
  ASSERT_THAT(none.status(), IsOk());
  EXPECT_THAT(*none, IsEmpty());

  ASSERT_THAT(
      store_a_
          ->PutGroupingConfig(Record("acme", std::vector<std::string>{"alertname", "service"}, kT0,
                                     absl::Milliseconds(1500)),
                              All())
          .status(),
      IsOk());
  ASSERT_THAT(
      store_a_->PutGroupingConfig(Record("", std::vector<std::string>{"..."}, kT0), All()).status(),
      IsOk());
  ASSERT_THAT(
      store_a_->PutGroupingConfig(Record("solo", std::vector<std::string>{}, kT0), All()).status(),
      IsOk());
  ASSERT_THAT(store_a_
                  ->PutGroupingConfig(Record("o'quote\"", std::vector<std::string>{"team"}, kT0,
                                             absl::ZeroDuration()),
                                      All())
                  .status(),
              IsOk());

  absl::StatusOr<std::vector<GroupingConfigRecord>> got =
      store_b_->GetGroupingConfigs({"acme", "", "solo", "o'quote\"", "missing"});
  ASSERT_THAT(got.status(), IsOk());
  ASSERT_THAT(*got, SizeIs(4));
  for (const GroupingConfigRecord& record : *got) {
    SCOPED_TRACE(record.tenant);
    EXPECT_EQ(record.update_time, kT0);
    ASSERT_TRUE(record.group_by.has_value());
    if (record.tenant == "acme") {
      EXPECT_THAT(*record.group_by, ElementsAre("alertname", "service"));
      EXPECT_EQ(record.group_wait, absl::Milliseconds(1500));
    } else if (record.tenant.empty()) {
      EXPECT_THAT(*record.group_by, ElementsAre("..."));
      EXPECT_EQ(record.group_wait, std::nullopt);
    } else if (record.tenant == "solo") {
      EXPECT_THAT(*record.group_by, IsEmpty());
      EXPECT_EQ(record.group_wait, std::nullopt);
    } else {
      EXPECT_EQ(record.tenant, "o'quote\"");
      EXPECT_THAT(*record.group_by, ElementsAre("team"));
      EXPECT_EQ(record.group_wait, absl::ZeroDuration());
    }
  }

  // Only group_by written: group_wait keeps its value.
  const absl::Time later = kT0 + absl::Seconds(3) + absl::Nanoseconds(999);
  absl::StatusOr<GroupingConfigRecord> stored = store_b_->PutGroupingConfig(
      Record("acme", std::vector<std::string>{"team"}, later), Only(true, false));
  ASSERT_THAT(stored.status(), IsOk());
  EXPECT_EQ(stored->update_time, kT0 + absl::Seconds(3));
  EXPECT_EQ(stored->group_wait, absl::Milliseconds(1500));
  got = store_a_->GetGroupingConfigs({"acme"});
  ASSERT_THAT(got.status(), IsOk());
  ASSERT_THAT(*got, SizeIs(1));
  EXPECT_EQ((*got)[0].group_by, std::vector<std::string>{"team"});
  EXPECT_EQ((*got)[0].group_wait, absl::Milliseconds(1500));
  EXPECT_EQ((*got)[0].update_time, kT0 + absl::Seconds(3));

  // group_wait written absent: back to NULL (inherit); group_by kept.
  stored = store_a_->PutGroupingConfig(Record("acme", std::nullopt, later), Only(false, true));
  ASSERT_THAT(stored.status(), IsOk());
  EXPECT_EQ(stored->group_wait, std::nullopt);
  EXPECT_EQ(stored->group_by, std::vector<std::string>{"team"});

  // A new row's unwritten fields are absent.
  stored = store_a_->PutGroupingConfig(Record("fresh", std::nullopt, kT0, absl::Seconds(9)),
                                       Only(false, true));
  ASSERT_THAT(stored.status(), IsOk());
  EXPECT_EQ(stored->group_by, std::nullopt);
  EXPECT_EQ(stored->group_wait, absl::Seconds(9));
}

TEST_F(PgGroupingConfigTest, ReplicasSeeEachOthersUpdateAfterTheTtl) {
  const TenantGrouping flags{*ParseGroupBy("group_by", "alertname"), absl::Seconds(5)};
  GroupingResolver a(*store_a_, clock_, flags);
  GroupingResolver b(*store_b_, clock_, flags);
  auto group_by = [](GroupingResolver& resolver, const std::string& tenant) {
    absl::StatusOr<std::shared_ptr<const TenantGrouping>> grouping = resolver.For(tenant);
    EXPECT_THAT(grouping.status(), IsOk());
    return grouping.ok() ? GroupingToLabels((*grouping)->grouping)
                         : std::vector<std::string>{"<error>"};
  };
  EXPECT_THAT(group_by(a, "acme"), ElementsAre("alertname"));
  EXPECT_THAT(group_by(b, "acme"), ElementsAre("alertname"));

  // Replica a updates (and invalidates its own cache, as the RPC does).
  ASSERT_THAT(store_a_
                  ->PutGroupingConfig(
                      Record("acme", std::vector<std::string>{"alertname", "service"}, kT0), All())
                  .status(),
              IsOk());
  a.Invalidate();
  EXPECT_THAT(group_by(a, "acme"), ElementsAre("alertname", "service"));
  EXPECT_THAT(group_by(b, "acme"), ElementsAre("alertname"));  // cached within the TTL
  clock_.Advance(GroupingResolver::kDefaultTtl);
  EXPECT_THAT(group_by(b, "acme"), ElementsAre("alertname", "service"));

  // The global default reaches tenants without their own row.
  ASSERT_THAT(
      store_b_->PutGroupingConfig(Record("", std::vector<std::string>{"service"}, kT0), All())
          .status(),
      IsOk());
  b.Invalidate();
  EXPECT_THAT(group_by(b, "beta"), ElementsAre("service"));
  EXPECT_THAT(group_by(b, "acme"), ElementsAre("alertname", "service"));
  clock_.Advance(GroupingResolver::kDefaultTtl);
  EXPECT_THAT(group_by(a, "beta"), ElementsAre("service"));
}

}  // namespace
}  // namespace agentwatch::incident
