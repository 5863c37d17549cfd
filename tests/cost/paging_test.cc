// Unit tests of page tokens.
#include "cost/core/paging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/status_matchers.h"

namespace agentwatch::cost {
namespace {

using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PagingTest, PageSizeDefaultsAndClamps) {
  EXPECT_THAT(EffectivePageSize(0), IsOkAndHolds(100));
  EXPECT_THAT(EffectivePageSize(7), IsOkAndHolds(7));
  EXPECT_THAT(EffectivePageSize(5000), IsOkAndHolds(1000));
  EXPECT_THAT(EffectivePageSize(-1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
}

TEST(PagingTest, TokensRoundTripOnlyForTheSameRequest) {
  const uint64_t fp = Fingerprint("request-a");
  EXPECT_NE(fp, Fingerprint("request-b"));
  const std::string token = EncodePageToken(fp, "42");
  EXPECT_THAT(DecodePageToken(token, fp), IsOkAndHolds("42"));
  EXPECT_THAT(DecodePageToken(token, Fingerprint("request-b")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  EXPECT_THAT(DecodePageToken("garbage!", fp),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  EXPECT_THAT(DecodePageToken("", fp), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PagingTest, PositionsPackAnyBytes) {
  const std::vector<std::string> parts = {"open:ai", "", std::string("a\0b", 3), "12"};
  auto unpacked = UnpackPosition(PackPosition(parts), 4);
  ASSERT_TRUE(unpacked.ok());
  EXPECT_EQ(*unpacked, parts);
  EXPECT_THAT(UnpackPosition(PackPosition(parts), 3), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(UnpackPosition("99:x", 1), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(UnpackPosition("x:y", 1), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(UnpackPosition(PackPosition({"a", "b"}), 2).value(), ElementsAre("a", "b"));
}

}  // namespace
}  // namespace agentwatch::cost
