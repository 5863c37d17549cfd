// Unit tests of the money core: rounding, decimal price conversion, formatting.
#include "cost/core/money.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "common/testing/status_matchers.h"

namespace agentwatch::cost {
namespace {

using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

TEST(RoundHalfAwayFromZeroTest, RoundsToNearestWithHalvesUp) {
  EXPECT_THAT(RoundHalfAwayFromZero(0, 1'000'000), IsOkAndHolds(0));
  EXPECT_THAT(RoundHalfAwayFromZero(499'999, 1'000'000), IsOkAndHolds(0));
  EXPECT_THAT(RoundHalfAwayFromZero(500'000, 1'000'000), IsOkAndHolds(1));
  EXPECT_THAT(RoundHalfAwayFromZero(500'001, 1'000'000), IsOkAndHolds(1));
  EXPECT_THAT(RoundHalfAwayFromZero(1'499'999, 1'000'000), IsOkAndHolds(1));
  EXPECT_THAT(RoundHalfAwayFromZero(1'500'000, 1'000'000), IsOkAndHolds(2));
  EXPECT_THAT(RoundHalfAwayFromZero(3'000'000, 1'000'000), IsOkAndHolds(3));
  // Odd divisor: 1/3 rounds down, 2/3 up.
  EXPECT_THAT(RoundHalfAwayFromZero(1, 3), IsOkAndHolds(0));
  EXPECT_THAT(RoundHalfAwayFromZero(2, 3), IsOkAndHolds(1));
}

TEST(RoundHalfAwayFromZeroTest, OverflowIsOutOfRange) {
  const unsigned __int128 max_exact = static_cast<unsigned __int128>(kMax) * 1'000'000;
  EXPECT_THAT(RoundHalfAwayFromZero(max_exact, 1'000'000), IsOkAndHolds(kMax));
  // kMax + 0.5 rounds up past the range.
  EXPECT_THAT(RoundHalfAwayFromZero(max_exact + 500'000, 1'000'000),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(RoundHalfAwayFromZero(max_exact + 499'999, 1'000'000), IsOkAndHolds(kMax));
  EXPECT_THAT(RoundHalfAwayFromZero(1, 0), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(NanoSumTest, SumsExactlyAndDetectsOverflow) {
  NanoSum sum;
  sum.Add(kMax);
  sum.Add(kMax);
  EXPECT_THAT(sum.Value(), StatusIs(absl::StatusCode::kOutOfRange));
  sum.Add(-kMax);
  EXPECT_THAT(sum.Value(), IsOkAndHolds(kMax));
}

TEST(UsdPerTokenTextTest, ConvertsLiteLlmNumbersExactly) {
  // 1.5e-07 USD per token = 150 nano-USD per token = 0.15 USD per million
  // tokens = 150,000,000 nano-USD per million.
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("1.5e-07"), IsOkAndHolds(150'000'000));
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("6e-07"), IsOkAndHolds(600'000'000));
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("7.5e-08"), IsOkAndHolds(75'000'000));
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("0.000003"), IsOkAndHolds(3'000'000'000));
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("1E-5"), IsOkAndHolds(10'000'000'000));
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("+2.5e-06"), IsOkAndHolds(2'500'000'000));
  // Sub-nano per-token prices stay exact: 1.3e-10 USD = 0.13 nano-USD per token.
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("1.3e-10"), IsOkAndHolds(130'000));
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("2"), IsOkAndHolds(2'000'000'000'000'000));
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("0"), IsOkAndHolds(0));
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("0.0"), IsOkAndHolds(0));
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("-0.0"), IsOkAndHolds(0));
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("1.50000e-7"), IsOkAndHolds(150'000'000));
}

TEST(UsdPerTokenTextTest, RoundsBelowTheUnitHalfAwayFromZero) {
  // 7.9752604167 nano-USD per token = 7,975,260.4167 per million -> 7,975,260.
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("7.9752604167e-09"), IsOkAndHolds(7'975'260));
  // An exact half rounds up; just below half rounds down.
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("1.0000005e-09"), IsOkAndHolds(1'000'001));
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("1.00000049999e-09"), IsOkAndHolds(1'000'000));
  // A float artefact in the 17th digit does not move the result.
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("2.9999900000000002e-06"),
              IsOkAndHolds(2'999'990'000));
  // Far below half of the unit.
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("4e-16"), IsOkAndHolds(0));
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("5e-16"), IsOkAndHolds(1));
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("1e-40"), IsOkAndHolds(0));
}

TEST(UsdPerTokenTextTest, RejectsBadInput) {
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("-1e-7"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative")));
  for (const char* bad : {"", "abc", "1e", "1.5x", "e5", ".", "1e+", "--1"}) {
    EXPECT_THAT(UsdPerTokenTextToNanoPerMillion(bad), StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
  // 10,000 USD per token does not fit: 1e19 > int64 max.
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("1e4"), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("1e999"), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("9223.372036854775807"), IsOkAndHolds(kMax));
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion("9223.372036854775808"),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(ShortestDecimalTest, RecoversTheTextAJsonSerializerWrote) {
  EXPECT_EQ(ShortestDecimal(1.5e-07), "1.5e-07");
  EXPECT_EQ(ShortestDecimal(0.1), "0.1");
  EXPECT_EQ(ShortestDecimal(2.0), "2");
  EXPECT_EQ(ShortestDecimal(0.0), "0");
  EXPECT_EQ(ShortestDecimal(7.9752604167e-09), "7.9752604167e-09");
  for (double v : {2.9999900000000002e-06, 3.3333333333333335e-05, 1e-300, 123456.789}) {
    double back = 0;
    ASSERT_TRUE(absl::SimpleAtod(ShortestDecimal(v), &back));
    EXPECT_EQ(back, v) << ShortestDecimal(v);
  }
  // Via the text, the double nearest 1.2e-07 converts to exactly 120,000,000
  // nano-USD per million tokens, where float arithmetic truncates to 119,999,999.
  EXPECT_THAT(UsdPerTokenTextToNanoPerMillion(ShortestDecimal(1.2e-07)), IsOkAndHolds(120'000'000));
  EXPECT_EQ(static_cast<int64_t>(1.2e-07 * 1e15), 119'999'999);
}

TEST(FormatUsdTest, NineDecimals) {
  EXPECT_EQ(FormatUsd(0), "0.000000000");
  EXPECT_EQ(FormatUsd(1), "0.000000001");
  EXPECT_EQ(FormatUsd(1'500'000'000), "1.500000000");
  EXPECT_EQ(FormatUsd(-1), "-0.000000001");
  EXPECT_EQ(FormatUsd(kMax), "9223372036.854775807");
  EXPECT_EQ(FormatUsd(std::numeric_limits<int64_t>::min()), "-9223372036.854775808");
}

}  // namespace
}  // namespace agentwatch::cost
