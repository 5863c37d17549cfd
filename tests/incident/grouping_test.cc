#include "incident/core/grouping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/status_matchers.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using testing::Firing;
using ::testing::HasSubstr;
using testing::Resolved;

GroupingConfig By(absl::string_view list) {
  auto config = ParseGroupBy("group_by", list);
  EXPECT_THAT(config, IsOk());
  return *config;
}

TEST(ParseGroupByTest, SortsDeduplicatesAndTrims) {
  const GroupingConfig config = By(" service , alertname,service");
  EXPECT_THAT(config.group_by, ElementsAre("alertname", "service"));
  EXPECT_FALSE(config.by_all_labels);
  EXPECT_TRUE(By("").group_by.empty());
  EXPECT_TRUE(By("...").by_all_labels);
}

TEST(ParseGroupByTest, RefusesBadNamesNamingTheFlag) {
  EXPECT_THAT(ParseGroupBy("group_by", "alertname,bad-name"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("group_by: 'bad-name'")));
  EXPECT_THAT(ParseGroupBy("group_by", "1abc"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseGroupBy("group_by", "...,service"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("...")));
}

TEST(GroupKeyTest, TenantAndGroupByValuesInOrder) {
  const Labels labels = {{"alertname", "HighErrorRate"}, {"service", "api"}, {"pod", "p-1"}};
  EXPECT_EQ(GroupKey("acme", labels, By("service,alertname")),
            "\"acme\":{alertname=\"HighErrorRate\",service=\"api\"}");
  // Labels outside group_by do not matter.
  Labels other = labels;
  other["pod"] = "p-2";
  EXPECT_EQ(GroupKey("acme", labels, By("alertname,service")),
            GroupKey("acme", other, By("alertname,service")));
}

TEST(GroupKeyTest, TenantsAndValuesSeparateGroups) {
  const Labels labels = {{"alertname", "X"}};
  EXPECT_NE(GroupKey("acme", labels, By("alertname")), GroupKey("globex", labels, By("alertname")));
  EXPECT_NE(GroupKey("acme", labels, By("alertname")),
            GroupKey("acme", {{"alertname", "Y"}}, By("alertname")));
}

TEST(GroupKeyTest, MissingLabelGroupsAsEmpty) {
  const GroupingConfig config = By("alertname,service");
  EXPECT_EQ(GroupKey("acme", {{"alertname", "X"}}, config),
            GroupKey("acme", {{"alertname", "X"}, {"service", ""}}, config));
  EXPECT_EQ(GroupKey("acme", {{"alertname", "X"}}, config),
            "\"acme\":{alertname=\"X\",service=\"\"}");
}

TEST(GroupKeyTest, QuotingKeepsKeysUnambiguous) {
  const GroupingConfig config = By("a,b");
  // Without escaping, these two would both read a="x",b="y".
  const std::string k1 = GroupKey("t", {{"a", "x\",b=\"y"}, {"b", ""}}, config);
  const std::string k2 = GroupKey("t", {{"a", "x"}, {"b", "y"}}, config);
  EXPECT_NE(k1, k2);
  EXPECT_NE(GroupKey("a\":{", {}, By("")), GroupKey("a", {}, By("")));
  EXPECT_EQ(GroupKey("acme", {{"x", "1"}}, By("")), "\"acme\":{}");
}

TEST(GroupKeyTest, AllLabelsUsesEveryNonEmptyLabel) {
  const GroupingConfig config = By("...");
  EXPECT_EQ(GroupKey("t", {{"b", "2"}, {"a", "1"}, {"c", ""}}, config), "\"t\":{a=\"1\",b=\"2\"}");
  EXPECT_EQ(GroupLabels({{"b", "2"}, {"a", "1"}, {"c", ""}}, config),
            (Labels{{"a", "1"}, {"b", "2"}}));
}

TEST(GroupLabelsTest, OnlyNonEmptyGroupByLabels) {
  EXPECT_EQ(
      GroupLabels({{"alertname", "X"}, {"service", ""}, {"pod", "p"}}, By("alertname,service")),
      (Labels{{"alertname", "X"}}));
}

TEST(PrepareAlertTest, AppliesDefaultsAndComputesTheGroup) {
  const absl::Time now = absl::FromUnixSeconds(5000) + absl::Nanoseconds(1234567);
  AlertReport report = Firing("acme", "fp1", "HighErrorRate", absl::FromUnixSeconds(4000));
  report.starts_at.reset();
  report.labels = {{"service", "api"}, {"alertname", "ignored"}};
  const IncomingAlert alert = PrepareAlert(report, By("alertname,service"), now);
  EXPECT_EQ(alert.severity, Severity::kP2);
  EXPECT_FALSE(alert.starts_at_given);
  // Truncated to microseconds, like Postgres keeps it.
  EXPECT_EQ(alert.starts_at, absl::FromUnixSeconds(5000) + absl::Microseconds(1234));
  EXPECT_FALSE(alert.ends_at.has_value());
  // The name is the alertname label.
  EXPECT_EQ(alert.labels.at("alertname"), "HighErrorRate");
  EXPECT_EQ(alert.group_key, "\"acme\":{alertname=\"HighErrorRate\",service=\"api\"}");
  EXPECT_EQ(alert.group_labels, (Labels{{"alertname", "HighErrorRate"}, {"service", "api"}}));
}

TEST(PrepareAlertTest, FiringIgnoresEndsAtResolvedDefaultsIt) {
  const absl::Time now = absl::FromUnixSeconds(5000);
  AlertReport firing = Firing("acme", "fp1", "X", absl::FromUnixSeconds(4000));
  firing.ends_at = absl::FromUnixSeconds(9000);
  EXPECT_FALSE(PrepareAlert(firing, By("alertname"), now).ends_at.has_value());

  AlertReport resolved = Resolved(Firing("acme", "fp1", "X", absl::FromUnixSeconds(4000)),
                                  absl::FromUnixSeconds(4500));
  resolved.ends_at.reset();
  const IncomingAlert a = PrepareAlert(resolved, By("alertname"), now);
  EXPECT_EQ(a.ends_at, now);
  EXPECT_EQ(a.starts_at, absl::FromUnixSeconds(4000));

  // Neither time given: both default to receipt; a given ends_at bounds starts_at.
  resolved.starts_at.reset();
  resolved.ends_at = absl::FromUnixSeconds(4500);
  const IncomingAlert b = PrepareAlert(resolved, By("alertname"), now);
  EXPECT_EQ(b.ends_at, absl::FromUnixSeconds(4500));
  EXPECT_EQ(b.starts_at, absl::FromUnixSeconds(4500));
  EXPECT_FALSE(b.starts_at_given);
}

}  // namespace
}  // namespace agentwatch::incident
