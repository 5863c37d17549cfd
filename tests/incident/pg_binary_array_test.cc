// Intake's array parameters in Postgres' binary format (common::PgBinaryArray)
// against the real Postgres (AGENTWATCH_TEST_PG_DSN): every element type intake
// binds (text, smallint, integer, timestamptz, tid), NULLs and empty arrays
// arrive as the same values the text literals they replace gave (compared in
// Postgres, element by element, with IS NOT DISTINCT FROM), including texts
// that a literal must quote or escape and times before 2000, before 1970,
// below the microsecond and infinite; Postgres refuses an array of the wrong
// element type, invalid UTF-8 and a NUL; the builder refuses values of the
// wrong type or range and ctids that are not "(block,offset)". And the other
// way: times read with AW_INCIDENT_PG_TIME (their binary form in hex) come back
// through HexTimeOf as they did as Unix microseconds through TimeOf.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/pg.h"
#include "common/pg_binary_array.h"
#include "common/testing/test_env.h"
#include "incident/store/pg_incident_rows.h"

namespace agentwatch::incident::pg_rows {
namespace {

using common::PgBinaryArray;
using Type = PgBinaryArray::Type;

class PgBinaryArrayTest : public ::testing::Test {
 protected:
  PgBinaryArrayTest() : connection_(db_.dsn()) {}

  // Whether the binary array equals the text literal as `type`[], element by
  // element (and in length), in Postgres.
  bool SameAs(PgBinaryArray& binary, const std::string& literal, const std::string& type) {
    pqxx::work txn(connection_);
    const pqxx::row row = txn.exec_params1(
        absl::StrCat("SELECT cardinality($1::", type, "[]) = cardinality($2::", type,
                     "[]) AND NOT EXISTS (SELECT 1 FROM unnest($1::", type, "[], $2::", type,
                     "[]) AS u(b, t) WHERE b IS DISTINCT FROM t)"),
        binary.Value(), literal);
    return row[0].as<bool>();
  }

  // The text form of each element, NULL as "<null>".
  std::vector<std::string> Elements(PgBinaryArray& binary, const std::string& type) {
    pqxx::work txn(connection_);
    std::vector<std::string> out;
    for (const pqxx::row& row :
         txn.exec_params(absl::StrCat("SELECT coalesce(e::text, '<null>') FROM unnest($1::", type,
                                      "[]) WITH ORDINALITY AS u(e, i) ORDER BY i"),
                         binary.Value())) {
      out.push_back(row[0].as<std::string>());
    }
    return out;
  }

  testing::TestDatabase db_;
  pqxx::connection connection_;
};

TEST_F(PgBinaryArrayTest, TextsArriveAsTheQuotedLiteralGaveThem) {
  const std::vector<std::string> values = {
      "bench-grpc", "",     "a\"b",      "back\\slash",          "comma,brace{}", " spaced ",
      "NULL",       "null", "ünïcödé ✓", std::string(5000, 'x'), "(1,2)"};
  PgBinaryArray binary(Type::kText);
  for (const std::string& v : values) binary.AddText(v);
  EXPECT_TRUE(SameAs(binary, common::PgTextArray(values), "text"));
  EXPECT_EQ(Elements(binary, "text"), values);
  // The check can fail: one element different.
  PgBinaryArray other(Type::kText);
  for (const std::string& v : values) other.AddText(v == "NULL" ? "NUL" : v);
  EXPECT_FALSE(SameAs(other, common::PgTextArray(values), "text"));
}

TEST_F(PgBinaryArrayTest, NullsAndEmptyArrays) {
  PgBinaryArray texts(Type::kText);
  texts.AddNull();
  texts.AddText("x");
  texts.AddNull();
  EXPECT_EQ(Elements(texts, "text"), (std::vector<std::string>{"<null>", "x", "<null>"}));
  EXPECT_TRUE(SameAs(texts, "{NULL,\"x\",NULL}", "text"));
  EXPECT_FALSE(SameAs(texts, "{\"NULL\",\"x\",NULL}", "text"));
  for (Type type : {Type::kText, Type::kInt2, Type::kInt4, Type::kTid, Type::kTimestamptz}) {
    PgBinaryArray empty(type);
    const std::string name = type == Type::kText   ? "text"
                             : type == Type::kInt2 ? "smallint"
                             : type == Type::kInt4 ? "integer"
                             : type == Type::kTid  ? "tid"
                                                   : "timestamptz";
    EXPECT_TRUE(SameAs(empty, "{}", name)) << name;
    EXPECT_EQ(empty.size(), 0);
  }
}

TEST_F(PgBinaryArrayTest, IntegersAtTheirLimits) {
  PgBinaryArray smallints(Type::kInt2);
  PgBinaryArray integers(Type::kInt4);
  for (int64_t v : {0, 1, 2, -1, 255, 256, -32768, 32767}) smallints.AddInt(v);
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{65536}, int64_t{-2147483648},
                    int64_t{2147483647}}) {
    integers.AddInt(v);
  }
  EXPECT_TRUE(SameAs(smallints, "{0,1,2,-1,255,256,-32768,32767}", "smallint"));
  EXPECT_TRUE(SameAs(integers, "{0,1,-1,65536,-2147483648,2147483647}", "integer"));
  EXPECT_FALSE(SameAs(integers, "{0,1,-1,65537,-2147483648,2147483647}", "integer"));
  EXPECT_THROW(smallints.AddInt(32768), std::out_of_range);
  EXPECT_THROW(smallints.AddInt(-32769), std::out_of_range);
  EXPECT_THROW(integers.AddInt(int64_t{1} << 31), std::out_of_range);
  EXPECT_EQ(smallints.size(), 8);
}

TEST_F(PgBinaryArrayTest, TimesAsTheTextLiteralGaveThem) {
  const std::vector<absl::Time> times = {
      absl::FromUnixMicros(1'700'000'000'123'456),     // intake's times
      absl::FromUnixMicros(946'684'800'000'000),       // Postgres' epoch
      absl::FromUnixMicros(946'684'799'999'999),       // just before it
      absl::FromUnixMicros(-1),                        // before 1970
      absl::FromUnixMicros(-2'208'988'800'000'001),    // 1899
      absl::FromUnixNanos(1'700'000'000'123'456'789),  // floored to ...456
      absl::FromUnixNanos(-1'500),                     // floored to -2 us
      absl::InfinitePast(),
      absl::InfiniteFuture(),
  };
  PgBinaryArray binary(Type::kTimestamptz);
  std::string literal = "{";
  for (const absl::Time t : times) {
    binary.AddTime(t);
    if (literal.size() > 1) literal.push_back(',');
    literal.push_back('"');
    // The old literals: AppendPgTimestamp, and kNoEndsAt's text '-infinity'.
    if (t == absl::InfinitePast()) {
      literal += "-infinity";
    } else if (t == absl::InfiniteFuture()) {
      literal += "infinity";
    } else {
      common::AppendPgTimestamp(&literal, t);
    }
    literal.push_back('"');
  }
  binary.AddNull();
  literal += ",NULL}";
  EXPECT_TRUE(SameAs(binary, literal, "timestamptz"));
  const std::vector<std::string> text = Elements(binary, "timestamptz");
  ASSERT_EQ(text.size(), times.size() + 1);
  EXPECT_EQ(text[5], "2023-11-14 22:13:20.123456+00");
  EXPECT_EQ(text[6], "1969-12-31 23:59:59.999998+00");
  EXPECT_EQ(text[7], "-infinity");
  EXPECT_EQ(text[8], "infinity");
  // The check can fail: a microsecond off.
  PgBinaryArray off(Type::kTimestamptz);
  for (const absl::Time t : times) off.AddTime(t + absl::Microseconds(t == times[3] ? 1 : 0));
  off.AddNull();
  EXPECT_FALSE(SameAs(off, literal, "timestamptz"));
}

TEST_F(PgBinaryArrayTest, TidsFromTheirTextForm) {
  PgBinaryArray tids(Type::kTid);
  for (const char* text : {"(0,1)", "(12,3)", "(4294967295,65535)", "(70000,300)"}) {
    EXPECT_TRUE(tids.AddTidText(text)) << text;
  }
  EXPECT_TRUE(SameAs(tids, "{\"(0,1)\",\"(12,3)\",\"(4294967295,65535)\",\"(70000,300)\"}", "tid"));
  EXPECT_FALSE(
      SameAs(tids, "{\"(0,1)\",\"(12,3)\",\"(4294967295,65535)\",\"(70000,301)\"}", "tid"));
  for (const char* text : {"", "()", "(1,)", "(,1)", "1,2", "(1,2", "(a,b)", "(1,65536)",
                           "(4294967296,1)", "(-1,1)", "(1;2)"}) {
    EXPECT_FALSE(tids.AddTidText(text)) << text;
  }
  EXPECT_EQ(tids.size(), 4);
}

TEST_F(PgBinaryArrayTest, PostgresRefusesWhatItsInputFunctionsRefused) {
  auto refused = [&](PgBinaryArray& binary, const std::string& type) {
    pqxx::work txn(connection_);
    try {
      txn.exec_params(absl::StrCat("SELECT cardinality($1::", type, "[])"), binary.Value());
    } catch (const pqxx::sql_error&) {
      return true;
    }
    return false;
  };
  PgBinaryArray texts(Type::kText);
  texts.AddText("x");
  EXPECT_TRUE(refused(texts, "smallint"));  // wrong element type
  EXPECT_FALSE(refused(texts, "text"));
  PgBinaryArray invalid(Type::kText);
  invalid.AddText("\xff\xfe");
  EXPECT_TRUE(refused(invalid, "text"));
  PgBinaryArray nul(Type::kText);
  nul.AddText(std::string("a\0b", 3));
  EXPECT_TRUE(refused(nul, "text"));
}

TEST_F(PgBinaryArrayTest, HexTimesReadBackAsTheMicrosecondsDid) {
  const std::vector<absl::Time> times = {
      absl::FromUnixMicros(1'700'000'000'123'456),  absl::FromUnixMicros(946'684'800'000'000),
      absl::FromUnixMicros(946'684'799'999'999),    absl::FromUnixMicros(-1),
      absl::FromUnixMicros(-2'208'988'800'000'001), absl::FromUnixMicros(0),
      absl::FromUnixMicros(4'102'444'800'000'001),  // 2100
  };
  PgBinaryArray binary(Type::kTimestamptz);
  for (const absl::Time t : times) binary.AddTime(t);
  binary.AddNull();
  pqxx::work txn(connection_);
  const pqxx::result rows = txn.exec_params(
      "SELECT " AW_INCIDENT_PG_TIME("t") ", " AW_INCIDENT_PG_MICROS(
          "t") " FROM unnest($1::timestamptz[]) WITH ORDINALITY AS u(t, i) ORDER BY i",
      binary.Value());
  ASSERT_EQ(rows.size(), times.size() + 1);
  for (size_t i = 0; i < times.size(); ++i) {
    EXPECT_EQ(HexTimeOf(rows[i][0]), times[i]) << i;
    EXPECT_EQ(HexTimeOf(rows[i][0]), TimeOf(rows[i][1])) << i;
    EXPECT_EQ(OptionalHexTimeOf(rows[i][0]), times[i]) << i;
  }
  EXPECT_EQ(OptionalHexTimeOf(rows[times.size()][0]), std::nullopt);
  // Postgres' infinities, which the microseconds could not carry.
  const pqxx::row infinite = txn.exec1("SELECT " AW_INCIDENT_PG_TIME(
      "'-infinity'::timestamptz") ", " AW_INCIDENT_PG_TIME("'infinity'::timestamptz"));
  EXPECT_EQ(HexTimeOf(infinite[0]), absl::InfinitePast());
  EXPECT_EQ(HexTimeOf(infinite[1]), absl::InfiniteFuture());
  // Not a time in hex: refused, not misread.
  const pqxx::row bad = txn.exec1(
      "SELECT '00000000000000', '000000000000000g', '1700000000123456', '0000000000000000'");
  EXPECT_THROW(HexTimeOf(bad[0]), pqxx::conversion_error);
  EXPECT_THROW(HexTimeOf(bad[1]), pqxx::conversion_error);
  EXPECT_EQ(HexTimeOf(bad[3]), absl::FromUnixSeconds(946'684'800));
  // The check can fail: the microseconds' text is no hex time.
  EXPECT_NE(HexTimeOf(bad[2]), absl::FromUnixMicros(1'700'000'000'123'456));
}

TEST(PgBinaryArrayBuilderTest, ValuesOfAnotherTypeAreRefused) {
  PgBinaryArray texts(Type::kText);
  EXPECT_THROW(texts.AddInt(1), std::logic_error);
  EXPECT_THROW(texts.AddTime(absl::UnixEpoch()), std::logic_error);
  EXPECT_THROW(texts.AddTid(1, 1), std::logic_error);
  EXPECT_FALSE(texts.AddTidText("x"));
  PgBinaryArray times(Type::kTimestamptz);
  EXPECT_THROW(times.AddText("2020-01-01"), std::logic_error);
  EXPECT_EQ(texts.size(), 0);
  EXPECT_EQ(times.size(), 0);
}

}  // namespace
}  // namespace agentwatch::incident::pg_rows
