// Unit tests of the report core: validation, buckets in time zones, the
// reference aggregation (groups, top-N folding, runs), ordering and CSV.
#include "cost/core/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/civil_time.h"
#include "common/testing/status_matchers.h"

namespace agentwatch::cost {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;

absl::Time Utc(int y, int m, int d, int h = 0, int min = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, h, min, 0), absl::UTCTimeZone());
}

absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone(name, &zone)) << name;
  return zone;
}

PricedUsage Entry(std::string id, absl::Time time, std::string team, std::string model,
                  int64_t cost, int64_t input = 100, std::string run = "") {
  PricedUsage e;
  e.record.record_id = std::move(id);
  e.record.time = time;
  e.record.scope.tenant = "acme";
  e.record.scope.team = std::move(team);
  e.record.scope.provider = "openai";
  e.record.scope.model = std::move(model);
  e.record.kind = UsageKind::kLlm;
  e.record.tokens.input = input;
  e.record.tokens.output = input / 2;
  e.record.requests = 1;
  e.record.run_id = std::move(run);
  e.cost_nano_usd = cost;
  e.priced = true;
  return e;
}

ReportQuery Query(absl::Time start, absl::Time end) {
  ReportQuery q;
  q.start = start;
  q.end = end;
  return q;
}

TEST(ValidateReportQueryTest, NamesTheField) {
  ReportQuery q = Query(Utc(2026, 1, 1), Utc(2026, 2, 1));
  EXPECT_THAT(ValidateReportQuery(q), IsOk());
  ReportQuery bad = q;
  bad.end = bad.start;
  EXPECT_THAT(ValidateReportQuery(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("range.end")));
  bad = q;
  bad.group_by = {Dimension::kTeam, Dimension::kModel, Dimension::kTeam};
  EXPECT_THAT(ValidateReportQuery(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("group_by[2]")));
  bad = q;
  bad.group_by = {Dimension::kTag};
  EXPECT_THAT(ValidateReportQuery(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tag_key")));
  bad.tag_key = "9lives";
  EXPECT_THAT(ValidateReportQuery(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tag_key")));
  bad = q;
  bad.time_zone = "Mars/Olympus";
  EXPECT_THAT(ValidateReportQuery(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("time_zone")));
  bad = q;
  bad.top_n = -1;
  EXPECT_THAT(ValidateReportQuery(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("top_n")));
  bad = q;
  bad.filter.tags["bad-key"] = "x";
  EXPECT_THAT(ValidateReportQuery(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("filter.tags")));
  // 10,000 hourly buckets are fine; 10,001 are not.
  bad = Query(Utc(2026, 1, 1), Utc(2026, 1, 1) + absl::Hours(10'000));
  bad.bucket = Bucket::kHour;
  EXPECT_THAT(ValidateReportQuery(bad), IsOk());
  bad.end += absl::Hours(1);
  EXPECT_THAT(ValidateReportQuery(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bucket")));
}

TEST(BucketTest, StartsInTheZone) {
  const absl::TimeZone berlin = Zone("Europe/Berlin");
  // 2026-01-31T23:30Z is already February 1st, 00:30 in Berlin.
  EXPECT_EQ(BucketStart(Utc(2026, 1, 31, 23, 30), Bucket::kDay, berlin), Utc(2026, 1, 31, 23));
  EXPECT_EQ(BucketStart(Utc(2026, 1, 31, 23, 30), Bucket::kMonth, berlin), Utc(2026, 1, 31, 23));
  EXPECT_EQ(BucketStart(Utc(2026, 1, 31, 22, 30), Bucket::kMonth, berlin), Utc(2025, 12, 31, 23));
  EXPECT_EQ(BucketStart(Utc(2026, 1, 31, 22, 30), Bucket::kMonth, absl::UTCTimeZone()),
            Utc(2026, 1, 1));
  // Half-hour zone: local hours start at :30 UTC.
  EXPECT_EQ(BucketStart(Utc(2026, 1, 1, 10, 10), Bucket::kHour, Zone("Asia/Kolkata")),
            Utc(2026, 1, 1, 9, 30));
  // The day of a DST change in New York is 23 hours long.
  const absl::TimeZone ny = Zone("America/New_York");
  EXPECT_EQ(BucketStart(Utc(2026, 3, 8, 12), Bucket::kDay, ny), Utc(2026, 3, 8, 5));
  EXPECT_EQ(BucketStart(Utc(2026, 3, 9, 12), Bucket::kDay, ny), Utc(2026, 3, 9, 4));
  EXPECT_EQ(BucketStart(Utc(2026, 3, 9, 12), Bucket::kNone, ny), Utc(2026, 3, 9, 12));
}

TEST(BucketTest, CountsBuckets) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  EXPECT_EQ(CountBuckets(Utc(2026, 1, 1), Utc(2026, 1, 2), Bucket::kHour, utc), 24);
  EXPECT_EQ(CountBuckets(Utc(2026, 1, 1), Utc(2026, 1, 2), Bucket::kDay, utc), 1);
  EXPECT_EQ(CountBuckets(Utc(2026, 1, 1), Utc(2026, 1, 2, 0, 1), Bucket::kDay, utc), 2);
  EXPECT_EQ(CountBuckets(Utc(2026, 1, 15), Utc(2026, 3, 2), Bucket::kMonth, utc), 3);
  EXPECT_EQ(CountBuckets(Utc(2026, 1, 15), Utc(2026, 3, 2), Bucket::kNone, utc), 1);
}

TEST(AggregateReportTest, GroupsAndTotalsAddUp) {
  const std::vector<PricedUsage> ledger = {
      Entry("1", Utc(2026, 1, 1, 1), "a", "gpt-4o", 100),
      Entry("2", Utc(2026, 1, 1, 2), "a", "gpt-4o-mini", 7),
      Entry("3", Utc(2026, 1, 2, 1), "b", "gpt-4o", 50),
      Entry("4", Utc(2026, 1, 2, 3), "a", "gpt-4o", 1),
      Entry("out-of-range", Utc(2026, 2, 1), "a", "gpt-4o", 1000),
  };
  ReportQuery q = Query(Utc(2026, 1, 1), Utc(2026, 2, 1));
  q.group_by = {Dimension::kTeam};
  q.bucket = Bucket::kDay;
  auto r = AggregateReport(ledger, q);
  ASSERT_THAT(r, IsOk());
  ASSERT_THAT(r->rows, SizeIs(3));
  // Ordered by bucket, then cost descending.
  EXPECT_EQ(r->rows[0].bucket_start, Utc(2026, 1, 1));
  EXPECT_EQ(r->rows[0].group[static_cast<int>(Dimension::kTeam)], "a");
  EXPECT_EQ(r->rows[0].figures.cost_nano_usd, 107);
  EXPECT_EQ(r->rows[0].figures.calls, 2);
  EXPECT_EQ(r->rows[1].bucket_start, Utc(2026, 1, 2));
  EXPECT_EQ(r->rows[1].group[static_cast<int>(Dimension::kTeam)], "b");
  EXPECT_EQ(r->rows[2].group[static_cast<int>(Dimension::kTeam)], "a");
  EXPECT_EQ(r->totals.cost_nano_usd, 158);
  EXPECT_EQ(r->totals.input_tokens, 400);
  EXPECT_EQ(r->totals.calls, 4);
  int64_t sum = 0;
  for (const ReportRow& row : r->rows) sum += row.figures.cost_nano_usd;
  EXPECT_EQ(sum, r->totals.cost_nano_usd);
}

TEST(AggregateReportTest, FiltersByScopeAndTags) {
  std::vector<PricedUsage> ledger = {Entry("1", Utc(2026, 1, 1), "a", "m", 10),
                                     Entry("2", Utc(2026, 1, 1), "b", "m", 20),
                                     Entry("3", Utc(2026, 1, 1), "a", "m", 40)};
  ledger[2].record.scope.tags["env"] = "prod";
  ledger[1].record.scope.tenant = "other";
  ReportQuery q = Query(Utc(2026, 1, 1), Utc(2026, 1, 2));
  q.filter.tags["env"] = "prod";
  auto r = AggregateReport(ledger, q);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->totals.cost_nano_usd, 40);
  q.filter = Scope();
  q.filter.tenant = "acme";
  r = AggregateReport(ledger, q);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->totals.cost_nano_usd, 50);
  // Grouping by a tag: records without it fall in the "" group.
  q.group_by = {Dimension::kTag};
  q.tag_key = "env";
  r = AggregateReport(ledger, q);
  ASSERT_THAT(r, IsOk());
  ASSERT_THAT(r->rows, SizeIs(2));
  EXPECT_EQ(r->rows[0].group[static_cast<int>(Dimension::kTag)], "prod");
  EXPECT_EQ(r->rows[1].group[static_cast<int>(Dimension::kTag)], "");
}

TEST(AggregateReportTest, TopNFoldsTheRestIntoOther) {
  const std::vector<PricedUsage> ledger = {
      Entry("1", Utc(2026, 1, 1), "a", "m", 100), Entry("2", Utc(2026, 1, 1), "b", "m", 50),
      Entry("3", Utc(2026, 1, 1), "c", "m", 20),  Entry("4", Utc(2026, 1, 1), "d", "m", 20),
      Entry("5", Utc(2026, 1, 2), "c", "m", 5),
  };
  ReportQuery q = Query(Utc(2026, 1, 1), Utc(2026, 1, 3));
  q.group_by = {Dimension::kTeam};
  q.top_n = 2;
  auto r = AggregateReport(ledger, q);
  ASSERT_THAT(r, IsOk());
  ASSERT_THAT(r->rows, SizeIs(3));
  EXPECT_EQ(r->rows[0].group[1], "a");
  EXPECT_EQ(r->rows[1].group[1], "b");
  EXPECT_EQ(r->rows[2].group[1], kOtherGroup);
  EXPECT_EQ(r->rows[2].figures.cost_nano_usd, 45);
  EXPECT_EQ(r->totals.cost_nano_usd, 195);
  // c (25) ranks third.
  q.top_n = 3;
  r = AggregateReport(ledger, q);
  ASSERT_THAT(r, IsOk());
  ASSERT_THAT(r->rows, SizeIs(4));
  EXPECT_EQ(r->rows[2].group[1], "c");
  EXPECT_EQ(r->rows[3].group[1], kOtherGroup);
  EXPECT_EQ(r->rows[3].figures.cost_nano_usd, 20);
  // Equal costs rank by group value: c (20) before d (20).
  const std::vector<PricedUsage> tied = {Entry("1", Utc(2026, 1, 1), "d", "m", 20),
                                         Entry("2", Utc(2026, 1, 1), "c", "m", 20)};
  q.top_n = 1;
  r = AggregateReport(tied, q);
  ASSERT_THAT(r, IsOk());
  ASSERT_THAT(r->rows, SizeIs(2));
  // Rows of equal cost order by group value too: "__other__" < "c".
  EXPECT_EQ(r->rows[0].group[1], kOtherGroup);
  EXPECT_EQ(r->rows[1].group[1], "c");
}

TEST(AggregateReportTest, RunsAreDistinctAndSucceedByTheirLatestOutcome) {
  std::vector<PricedUsage> ledger = {
      Entry("1", Utc(2026, 1, 1, 1), "a", "m", 300, 100, "run-1"),
      Entry("2", Utc(2026, 1, 1, 2), "a", "m", 300, 100, "run-1"),
      Entry("3", Utc(2026, 1, 1, 3), "a", "m", 300, 100, "run-2"),
      Entry("4", Utc(2026, 1, 1, 4), "b", "m", 100, 100, "run-2"),
  };
  // run-1 failed first, then succeeded on retry; run-2 failed. The outcome
  // records carry no usage and live outside the report's filter.
  PricedUsage failed;
  failed.record.record_id = "o1";
  failed.record.time = Utc(2026, 1, 1, 5);
  failed.record.scope.tenant = "acme";
  failed.record.scope.workflow = "wf";
  failed.record.run_id = "run-1";
  failed.record.run_succeeded = false;
  failed.priced = true;
  PricedUsage succeeded = failed;
  succeeded.record.record_id = "o2";
  succeeded.record.time = Utc(2026, 1, 1, 6);
  succeeded.record.run_succeeded = true;
  PricedUsage run2 = failed;
  run2.record.record_id = "o3";
  run2.record.run_id = "run-2";
  ledger.push_back(failed);
  ledger.push_back(succeeded);
  ledger.push_back(run2);
  ReportQuery q = Query(Utc(2026, 1, 1), Utc(2026, 1, 2));
  q.filter.model = "m";
  q.group_by = {Dimension::kTeam};
  auto r = AggregateReport(ledger, q);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->totals.workflow_runs, 2);
  EXPECT_EQ(r->totals.successful_runs, 1);
  ASSERT_THAT(r->rows, SizeIs(2));
  EXPECT_EQ(r->rows[0].figures.workflow_runs, 2);    // team a: run-1, run-2
  EXPECT_EQ(r->rows[0].figures.successful_runs, 1);  // run-1
  EXPECT_EQ(r->rows[1].figures.workflow_runs, 1);    // team b: run-2
  EXPECT_EQ(r->rows[1].figures.successful_runs, 0);
  // 900 over 2 runs = 450,000 per 1,000 runs; 900 per successful run.
  EXPECT_EQ(CostPer1kRuns(r->rows[0].figures.cost_nano_usd, 2), 450'000);
  EXPECT_EQ(CostPerRun(r->rows[0].figures.cost_nano_usd, 1), 900);
  EXPECT_EQ(CostPerRun(5, 2), 3);  // 2.5 -> 3
  EXPECT_EQ(CostPerRun(5, 0), 0);
}

TEST(AggregateReportTest, SplitsCostByKindAndCountsUnpriced) {
  std::vector<PricedUsage> ledger = {Entry("1", Utc(2026, 1, 1), "a", "m", 10),
                                     Entry("2", Utc(2026, 1, 1), "a", "unknown", 0)};
  ledger[1].priced = false;
  ledger[1].record.requests = 3;
  PricedUsage infra;
  infra.record.record_id = "3";
  infra.record.time = Utc(2026, 1, 1);
  infra.record.scope.tenant = "acme";
  infra.record.kind = UsageKind::kInfra;
  infra.cost_nano_usd = 7;
  infra.priced = true;
  infra.client_priced = true;
  ledger.push_back(infra);
  auto r = AggregateReport(ledger, Query(Utc(2026, 1, 1), Utc(2026, 1, 2)));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->totals.cost_nano_usd, 17);
  EXPECT_EQ(r->totals.llm_cost_nano_usd, 10);
  EXPECT_EQ(r->totals.infra_cost_nano_usd, 7);
  EXPECT_EQ(r->totals.client_cost_nano_usd, 7);
  EXPECT_EQ(r->totals.calls, 4);
  EXPECT_EQ(r->totals.unpriced_calls, 3);
}

TEST(AggregateReportTest, OverflowingSumIsOutOfRange) {
  const std::vector<PricedUsage> ledger = {
      Entry("1", Utc(2026, 1, 1), "a", "m", std::numeric_limits<int64_t>::max()),
      Entry("2", Utc(2026, 1, 1), "a", "m", 1)};
  EXPECT_THAT(AggregateReport(ledger, Query(Utc(2026, 1, 1), Utc(2026, 1, 2))),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(ReportCsvTest, HeaderRowsQuotingAndUsd) {
  ReportQuery q = Query(Utc(2026, 1, 1), Utc(2026, 1, 2));
  q.group_by = {Dimension::kTeam, Dimension::kTag};
  q.tag_key = "env";
  q.bucket = Bucket::kDay;
  q.time_zone = "Europe/Berlin";
  ReportRow row;
  row.group[static_cast<int>(Dimension::kTeam)] = "a,\"b\"";
  row.group[static_cast<int>(Dimension::kTag)] = "prod";
  row.bucket_start = Utc(2025, 12, 31, 23);
  row.figures.cost_nano_usd = 1'500'000'001;
  row.figures.workflow_runs = 2;
  row.figures.successful_runs = 1;
  row.figures.calls = 3;
  const std::string csv = ReportCsv({row}, q);
  EXPECT_EQ(csv,
            "bucket_start,team,tag:env,cost_usd,input_tokens,output_tokens,cached_input_tokens,"
            "cache_creation_tokens,calls,workflow_runs,successful_runs,cost_per_1k_runs_usd,"
            "cost_per_successful_run_usd,unpriced_calls,llm_cost_usd,infra_cost_usd,"
            "client_cost_usd\r\n"
            "2026-01-01T00:00:00+01:00,\"a,\"\"b\"\"\",prod,1.500000001,0,0,0,0,3,2,1,"
            "750.000000500,1.500000001,0,0.000000000,0.000000000,0.000000000\r\n");
}

}  // namespace
}  // namespace agentwatch::cost
