#include "incident/core/query.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "common/testing/status_matchers.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;

TEST(PageTokenTest, RoundTrips) {
  const PageCursor cursor{absl::FromUnixMicros(1'700'000'000'123'456), "018c-abc:with:colons"};
  const std::string token = EncodePageToken(cursor, 42);
  auto decoded = DecodePageToken(token, 42);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->create_time, cursor.create_time);
  EXPECT_EQ(decoded->id, cursor.id);
}

TEST(PageTokenTest, RefusesOtherFiltersAndGarbage) {
  const std::string token = EncodePageToken({absl::FromUnixSeconds(5), "x"}, 42);
  EXPECT_THAT(DecodePageToken(token, 43),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token: ")));
  EXPECT_THAT(DecodePageToken("not a token!", 42),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  EXPECT_THAT(DecodePageToken(absl::WebSafeBase64Escape("v1:abc:2a:x"), 42),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodePageToken(absl::WebSafeBase64Escape("v2:5:2a:x"), 42),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodePageToken(absl::WebSafeBase64Escape("v1:5:2a:"), 42),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PageSizeTest, DefaultsClampsAndRefusesNegative) {
  EXPECT_THAT(NormalizePageSize(0), IsOkAndHolds(100));
  EXPECT_THAT(NormalizePageSize(7), IsOkAndHolds(7));
  EXPECT_THAT(NormalizePageSize(1000), IsOkAndHolds(1000));
  EXPECT_THAT(NormalizePageSize(5000), IsOkAndHolds(1000));
  EXPECT_THAT(NormalizePageSize(-1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
}

TEST(MatcherTest, NameAndOperatorAreRequired) {
  EXPECT_THAT(ValidateMatcher({"", MatchOp::kEqual, "x"}, "matchers[1]"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("matchers[1].name")));
  EXPECT_THAT(ValidateMatcher({"a", MatchOp::kUnspecified, "x"}, "matchers[1]"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("matchers[1].op: required")));
  EXPECT_THAT(ValidateMatcher({"a", static_cast<MatchOp>(9), "x"}, "matchers[1]"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("matchers[1].op")));
  EXPECT_TRUE(ValidateMatcher({"a", MatchOp::kNotRegex, ".*"}, "m").ok());
}

TEST(OrderTest, NewestFirstThenIdDescending) {
  Incident a;
  a.create_time = absl::FromUnixSeconds(10);
  a.id = "a";
  Incident b = a;
  b.id = "b";
  Incident older = a;
  older.create_time = absl::FromUnixSeconds(5);
  EXPECT_TRUE(NewestFirst(b, a));
  EXPECT_TRUE(NewestFirst(a, older));
  EXPECT_TRUE(IsAfter(a, PageCursor{b.create_time, b.id}));
  EXPECT_FALSE(IsAfter(b, PageCursor{b.create_time, b.id}));
  EXPECT_TRUE(IsAfter(older, PageCursor{a.create_time, a.id}));
}

TEST(DigestTest, StableAndSensitive) {
  EXPECT_EQ(Fnv1a64(""), 14695981039346656037ULL);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_NE(Fnv1a64("ab"), Fnv1a64("ba"));
}

}  // namespace
}  // namespace agentwatch::incident
