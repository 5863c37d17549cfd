// Quality-score regression arithmetic: the baseline window's buckets, the
// relative change and the validation of regression rules.
#include "monitor/core/quality.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/status_matchers.h"
#include "monitor/core/alert_rules.h"
#include "monitor/core/rollup.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::DoubleNear;
using ::testing::HasSubstr;
using ::testing::Optional;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'040);  // a whole minute

TEST(QualityTest, BaselineEndsWhereTheWindowStarts) {
  const absl::Time now = kStart + absl::Seconds(30);
  const BucketRange current = WindowBuckets(now, absl::Hours(1));
  const BucketRange baseline = BaselineBuckets(now, absl::Hours(1), absl::Hours(24 * 7));
  EXPECT_EQ(baseline.to, current.from);
  EXPECT_EQ(baseline.from, MinuteBucket(now - absl::Hours(1) - absl::Hours(24 * 7)));
  EXPECT_EQ(baseline.to - baseline.from, absl::Hours(24 * 7));
}

TEST(QualityTest, RelativeChange) {
  EXPECT_THAT(RelativeChange(0.72, 0.9), Optional(DoubleNear(-0.2, 1e-12)));
  EXPECT_THAT(RelativeChange(0.99, 0.9), Optional(DoubleNear(0.1, 1e-12)));
  // A negative baseline: the change is still relative to its magnitude.
  EXPECT_THAT(RelativeChange(-1.5, -1), Optional(DoubleNear(-0.5, 1e-12)));
  EXPECT_EQ(RelativeChange(0.5, 0), std::nullopt);
  EXPECT_EQ(RelativeChange(std::nullopt, 0.9), std::nullopt);
  EXPECT_EQ(RelativeChange(0.5, std::nullopt), std::nullopt);
  // A drop of more than 10 %: LESS_THAN -0.1.
  EXPECT_TRUE(Compares(*RelativeChange(0.8, 0.9), Comparison::kLessThan, -0.1));
  EXPECT_FALSE(Compares(*RelativeChange(0.85, 0.9), Comparison::kLessThan, -0.1));
}

TEST(QualityTest, ValidatesTheBaselineWindow) {
  EXPECT_THAT(ValidateBaselineWindow(absl::ZeroDuration(), false, "f"), IsOk());
  EXPECT_THAT(ValidateBaselineWindow(absl::Hours(24 * 7), false, "f"), IsOk());
  EXPECT_THAT(ValidateBaselineWindow(absl::Seconds(30), false, "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("f:")));
  EXPECT_THAT(ValidateBaselineWindow(absl::Minutes(90) + absl::Seconds(1), false, "f"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateBaselineWindow(absl::Hours(24 * 31), false, "f"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateBaselineWindow(absl::Hours(1), true, "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("denominator_metric")));
}

TEST(QualityTest, RuleValidationNamesTheBaselineField) {
  AlertRule rule;
  rule.name = "FaithfulnessDrop";
  rule.tenant = "acme";
  rule.condition.metric = "quality_score";
  rule.condition.aggregation = Aggregation::kAvg;
  rule.condition.comparison = Comparison::kLessThan;
  rule.condition.threshold = -0.1;
  rule.condition.baseline_window = absl::Hours(24 * 7);
  NormalizeAlertRule(&rule);
  EXPECT_THAT(ValidateAlertRule(rule), IsOk());
  rule.condition.baseline_window = absl::Seconds(10);
  EXPECT_THAT(ValidateAlertRule(rule), StatusIs(absl::StatusCode::kInvalidArgument,
                                                HasSubstr("rule.threshold.baseline_window")));
  rule.condition.baseline_window = absl::Hours(1);
  rule.condition.denominator_metric = "quality_score";
  EXPECT_THAT(ValidateAlertRule(rule), StatusIs(absl::StatusCode::kInvalidArgument,
                                                HasSubstr("rule.threshold.baseline_window")));
}

}  // namespace
}  // namespace agentwatch::monitor
