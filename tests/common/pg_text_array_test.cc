// common::PgTextArray and PgTextArrayOfViews: the exact text[] literal, with every element quoted and
// only quotes and backslashes escaped (the round trip through Postgres is in
// pg_pgtest.cc, PgTextArrayTest).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/pg.h"

namespace agentwatch::common {
namespace {

TEST(PgTextArrayTest, EmptyArray) { EXPECT_EQ(PgTextArray({}), "{}"); }

TEST(PgTextArrayTest, QuotesEveryElementSoEmptyAndSpecialTextSurvive) {
  EXPECT_EQ(PgTextArray({"a"}), R"({"a"})");
  EXPECT_EQ(PgTextArray({"", "NULL", "a,b", "{x}", " s "}),
            R"({"","NULL","a,b","{x}"," s "})");
}

TEST(PgTextArrayTest, EscapesQuotesAndBackslashesOnly) {
  EXPECT_EQ(PgTextArray({R"(say "hi")", R"(C:\dir)", "plain", R"(\")"}),
            R"({"say \"hi\"","C:\\dir","plain","\\\""})");
}

TEST(PgTextArrayTest, KeepsMultibyteAndLongElementsWhole) {
  const std::string long_value(1 << 20, 'x');
  const std::string literal = PgTextArray({"h\xC3\xA9llo", long_value});
  EXPECT_EQ(literal, "{\"h\xC3\xA9llo\",\"" + long_value + "\"}");
}

TEST(PgTextArrayTest, ViewsGiveTheSameLiteralAsStrings) {
  const std::vector<std::string> values = {"", "plain", R"(say "hi")", R"(C:\dir)", "a,b"};
  const std::vector<absl::string_view> views(values.begin(), values.end());
  EXPECT_EQ(PgTextArrayOfViews(views), PgTextArray(values));
  EXPECT_EQ(PgTextArrayOfViews({}), "{}");
}

}  // namespace
}  // namespace agentwatch::common
