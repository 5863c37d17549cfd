#include "monitor/anomaly/series_csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/testing/status_matchers.h"

namespace agentwatch::monitor::anomaly {
namespace {

using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ParseSeriesTimestampTest, AcceptsNabRfc3339AndUnixSeconds) {
  const absl::Time expected = absl::FromUnixSeconds(1396310400);  // 2014-04-01 00:00:00Z
  EXPECT_THAT(ParseSeriesTimestamp("2014-04-01 00:00:00"), IsOkAndHolds(expected));
  EXPECT_THAT(ParseSeriesTimestamp("2014-04-01 00:00:00.250"),
              IsOkAndHolds(expected + absl::Milliseconds(250)));
  EXPECT_THAT(ParseSeriesTimestamp("2014-04-01T00:00:00Z"), IsOkAndHolds(expected));
  EXPECT_THAT(ParseSeriesTimestamp("2014-04-01T02:00:00+02:00"), IsOkAndHolds(expected));
  EXPECT_THAT(ParseSeriesTimestamp("1396310400"), IsOkAndHolds(expected));
  EXPECT_THAT(ParseSeriesTimestamp("1396310400.5"),
              IsOkAndHolds(expected + absl::Milliseconds(500)));
  EXPECT_THAT(ParseSeriesTimestamp(" 2014-04-01 00:00 "), IsOkAndHolds(expected));
}

TEST(ParseSeriesTimestampTest, RejectsOtherText) {
  for (const char* text : {"", "yesterday", "2014-13-01 00:00:00", "1e9x", "nan", "01/04/2014"}) {
    EXPECT_THAT(ParseSeriesTimestamp(text),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("RFC 3339")))
        << text;
  }
}

TEST(ParseSeriesCsvTest, ReadsNabFileWithHeaderAndKeepsTexts) {
  const std::string content =
      "timestamp,value\n"
      "2014-04-01 00:00:00,19.761252\r\n"
      "2014-04-01 00:05:00,20.5\n"
      "\n"
      "\"2014-04-01 00:10:00\",\"-3\"\n";
  absl::StatusOr<std::vector<SeriesRow>> rows = ParseSeriesCsv(content);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].line, 2);
  EXPECT_EQ((*rows)[0].timestamp_text, "2014-04-01 00:00:00");
  EXPECT_EQ((*rows)[0].value_text, "19.761252");
  EXPECT_DOUBLE_EQ((*rows)[0].value, 19.761252);
  EXPECT_EQ((*rows)[1].time, absl::FromUnixSeconds(1396310400 + 300));
  EXPECT_EQ((*rows)[2].line, 5);
  EXPECT_EQ((*rows)[2].timestamp_text, "2014-04-01 00:10:00");
  EXPECT_DOUBLE_EQ((*rows)[2].value, -3);
}

TEST(ParseSeriesCsvTest, HeaderIsOptionalAndMissingValuesAreNan) {
  absl::StatusOr<std::vector<SeriesRow>> rows =
      ParseSeriesCsv("1396310400,1\n1396310460,\n1396310520,NaN\n1396310580,nan\n");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_DOUBLE_EQ((*rows)[0].value, 1);
  for (int i = 1; i < 4; ++i) EXPECT_TRUE(std::isnan((*rows)[i].value)) << i;
  EXPECT_THAT(ParseSeriesCsv(""), IsOkAndHolds(::testing::IsEmpty()));
  EXPECT_THAT(ParseSeriesCsv("timestamp,value\n"), IsOkAndHolds(::testing::IsEmpty()));
}

TEST(ParseSeriesCsvTest, MalformedRowsNameTheirLine) {
  EXPECT_THAT(ParseSeriesCsv("timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 3: expected 2 fields")));
  EXPECT_THAT(ParseSeriesCsv("2014-04-01 00:00:00,1,2\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 1: expected 2 fields")));
  EXPECT_THAT(
      ParseSeriesCsv("timestamp,value\n2014-04-01 00:00:00,1\nnot a time,2\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 3: timestamp 'not a time'")));
  EXPECT_THAT(ParseSeriesCsv("2014-04-01 00:00:00,1\n2014-04-01 00:05:00,abc\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("line 2: value 'abc' is not a number")));
  EXPECT_THAT(ParseSeriesCsv("2014-04-01 00:00:00,inf\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 1: value 'inf'")));
  // Only the first row may be a header.
  EXPECT_THAT(ParseSeriesCsv("2014-04-01 00:00:00,1\ntimestamp,value\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2: timestamp")));
  // A first row with a good value but a bad timestamp is an error, not a header.
  EXPECT_THAT(ParseSeriesCsv("soon,1\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 1: timestamp 'soon'")));
}

TEST(NabProbationaryPointsTest, FifteenPercentCappedAt750) {
  EXPECT_EQ(NabProbationaryPoints(0), 0);
  EXPECT_EQ(NabProbationaryPoints(1000), 150);
  EXPECT_EQ(NabProbationaryPoints(4032), 604);
  EXPECT_EQ(NabProbationaryPoints(22695), 750);
}

TEST(ScoreSeriesTest, OneScorePerRowAndInvalidOptionsRejected) {
  std::string content = "timestamp,value\n";
  for (int i = 0; i < 400; ++i) {
    absl::StrAppend(&content, 1396310400 + 60 * i, ",", i == 350 ? 100 : (i % 2), "\n");
  }
  absl::StatusOr<std::vector<SeriesRow>> rows = ParseSeriesCsv(content);
  ASSERT_TRUE(rows.ok()) << rows.status();
  DetectorOptions options;
  options.probationary_points = NabProbationaryPoints(static_cast<int64_t>(rows->size()));
  absl::StatusOr<std::vector<double>> scores = ScoreSeries(*rows, options);
  ASSERT_TRUE(scores.ok()) << scores.status();
  ASSERT_EQ(scores->size(), 400u);
  EXPECT_EQ((*scores)[10], 0);
  EXPECT_GT((*scores)[350], 0.9);
  options.z_width = 0;
  EXPECT_THAT(ScoreSeries(*rows, options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("z_width")));
}

}  // namespace
}  // namespace agentwatch::monitor::anomaly
