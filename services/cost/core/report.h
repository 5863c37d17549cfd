// Cost reports: the query, validation, time buckets, the reference
// aggregation (what the Postgres query computes, used by the in-memory store
// and as a test oracle), ordering, per-run figures and CSV. Pure; Abseil only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cost/core/scope.h"
#include "cost/core/usage.h"

namespace agentwatch::cost {

// Dimensions a report groups by, in the fixed column order of ReportRow.group.
enum class Dimension { kTenant = 0, kTeam, kWorkflow, kAgent, kModel, kProvider, kService, kTag };
inline constexpr int kDimensionCount = 8;

// "tenant", "team", "workflow", "agent", "model", "provider", "service", "tag".
absl::string_view DimensionName(Dimension dimension);

// Time buckets.
enum class Bucket { kNone, kHour, kDay, kMonth };

// The date_trunc field of a bucket: "", "hour", "day", "month".
absl::string_view BucketField(Bucket bucket);

// At most this many time buckets in a report.
inline constexpr int64_t kMaxReportBuckets = 10'000;

// The group value of groups folded by top_n.
inline constexpr absl::string_view kOtherGroup = "__other__";

// What to report: usage with start <= time < end inside `filter`, grouped by
// `group_by` (+ tag_key) and bucket.
struct ReportQuery {
  absl::Time start;
  absl::Time end;
  std::vector<Dimension> group_by;
  std::string tag_key;  // for Dimension::kTag
  Scope filter;         // empty fields mean any
  Bucket bucket = Bucket::kNone;
  std::string time_zone = "UTC";
  int32_t top_n = 0;  // > 0: keep the N costliest groups, fold the rest
};

// Checks the query: end > start, group_by without duplicates, tag_key valid
// when kTag is grouped, filter valid, time zone known, at most
// kMaxReportBuckets buckets, top_n >= 0. INVALID_ARGUMENT naming the request
// field (range, group_by[i], tag_key, filter.*, time_zone, bucket, top_n).
absl::Status ValidateReportQuery(const ReportQuery& query);

// Sums of one row or of the whole report. Per-run figures (cost per 1,000
// runs, per successful run) derive from these (CostPer1kRuns, ...).
struct ReportFigures {
  int64_t cost_nano_usd = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cached_input_tokens = 0;
  int64_t cache_creation_tokens = 0;
  int64_t calls = 0;                 // sum of requests of LLM records
  int64_t workflow_runs = 0;         // distinct (tenant, run_id)
  int64_t successful_runs = 0;       // of those, runs whose latest outcome is success
  int64_t unpriced_calls = 0;        // calls of LLM records without a price
  int64_t llm_cost_nano_usd = 0;     // cost of LLM records
  int64_t infra_cost_nano_usd = 0;   // cost of infrastructure records
  int64_t client_cost_nano_usd = 0;  // cost of client-priced records (any kind)

  bool operator==(const ReportFigures& other) const;
};

// One row: group values by Dimension (index = static_cast<int>(dimension);
// "" for dimensions not grouped) and the bucket start.
struct ReportRow {
  std::array<std::string, kDimensionCount> group;
  std::optional<absl::Time> bucket_start;
  ReportFigures figures;
};

// All rows of a report and its totals. Totals of the additive figures (cost,
// tokens, calls) equal the sums of the rows; runs are distinct over the
// whole report.
struct ReportResult {
  std::vector<ReportRow> rows;
  ReportFigures totals;
};

// The start of the bucket containing `t` in `zone` (t itself for kNone):
// local hour, day or month start; a start skipped by a DST change is the
// first instant after it.
absl::Time BucketStart(absl::Time t, Bucket bucket, const absl::TimeZone& zone);

// How many buckets [start, end) spans.
int64_t CountBuckets(absl::Time start, absl::Time end, Bucket bucket, const absl::TimeZone& zone);

// Aggregates `ledger` for a validated query: the reference semantics.
// Filtering: time in range and ScopeCovers(filter, scope). Grouping: the
// group_by dimensions and the bucket. top_n ranks groups (without bucket) by
// cost over the range, descending, ties by group values (byte order), and
// folds the others into kOtherGroup. A run's outcome is the run_succeeded of
// its latest record (by time, then record_id) in the whole ledger.
// OUT_OF_RANGE when a sum exceeds int64.
absl::StatusOr<ReportResult> AggregateReport(absl::Span<const PricedUsage> ledger,
                                             const ReportQuery& query);

// Orders rows by bucket_start, then cost descending, then group values.
void SortReportRows(std::vector<ReportRow>* rows);

// cost / runs x 1000 and cost / successful_runs, rounded half away from zero;
// 0 without runs.
int64_t CostPer1kRuns(int64_t cost_nano_usd, int64_t runs);
int64_t CostPerRun(int64_t cost_nano_usd, int64_t runs);

// The group-map key of a dimension: its name, or "tag:<key>" for kTag.
std::string GroupColumnName(Dimension dimension, absl::string_view tag_key);

// RFC 4180 CSV (CRLF line ends) of `rows`: a header, then one line per row:
// bucket_start (when bucketed; RFC 3339 in the query's zone), the group_by
// columns, then cost_usd, input_tokens, output_tokens, cached_input_tokens,
// cache_creation_tokens, calls, workflow_runs, successful_runs,
// cost_per_1k_runs_usd, cost_per_successful_run_usd, unpriced_calls,
// llm_cost_usd, infra_cost_usd, client_cost_usd; USD with 9 decimals.
std::string ReportCsv(absl::Span<const ReportRow> rows, const ReportQuery& query);

}  // namespace agentwatch::cost
