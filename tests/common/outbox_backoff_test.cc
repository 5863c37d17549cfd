#include <gtest/gtest.h>

#include "common/outbox.h"

namespace agentwatch::common {
namespace {

TEST(OutboxBackoffTest, DoublesUpToTheCap) {
  const absl::Duration base = absl::Milliseconds(200);
  const absl::Duration max = absl::Seconds(60);
  EXPECT_EQ(OutboxBackoff(0, base, max, 1.0), absl::Milliseconds(200));
  EXPECT_EQ(OutboxBackoff(1, base, max, 1.0), absl::Milliseconds(400));
  EXPECT_EQ(OutboxBackoff(5, base, max, 1.0), absl::Milliseconds(6400));
  EXPECT_EQ(OutboxBackoff(9, base, max, 1.0), absl::Seconds(60));
  EXPECT_EQ(OutboxBackoff(1000, base, max, 1.0), absl::Seconds(60));
}

TEST(OutboxBackoffTest, JitterScales) {
  const absl::Duration base = absl::Seconds(1);
  EXPECT_EQ(OutboxBackoff(2, base, absl::Hours(1), 0.5), absl::Seconds(2));
  EXPECT_EQ(OutboxBackoff(2, base, absl::Hours(1), 1.5), absl::Seconds(6));
}

}  // namespace
}  // namespace agentwatch::common
