// The monitor's storage: the repository interface the api layer uses, with
// a Postgres implementation (pg_monitor_store.h) and an in-memory fake
// (in_memory_monitor_store.h) that behave alike.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "monitor/core/alerting.h"
#include "monitor/core/health.h"
#include "monitor/core/query.h"
#include "monitor/core/rollup.h"
#include "monitor/core/rules.h"

namespace agentwatch::monitor {

// The outbox of schema "monitor" and its destinations.
inline constexpr char kOutboxSchema[] = "monitor";
inline constexpr char kIncidentDestination[] = "incident.ReportAlerts";
inline constexpr char kCostDestination[] = "cost.RecordUsage";

// Limits the store enforces.
struct StoreLimits {
  // Series a tenant may have; a batch that would add more is rejected.
  int64_t max_series_per_tenant = 100000;
};

// What committing a batch did.
struct CommitResult {
  // True when (producer_id, sequence) was committed before: nothing written.
  bool duplicate = false;
  // Events accepted (0 for a duplicate).
  int64_t accepted = 0;
  // Alert transitions the rule evaluators made in the same transaction.
  RuleOutcome alerts;
  // Outbox messages enqueued (usage records and alert notices).
  int64_t outbox_enqueued = 0;
};

// What a sweep of firing alerts did.
struct SweepResult {
  RuleOutcome alerts;
  int64_t outbox_enqueued = 0;
};

// Thread-safe.
class MonitorStore {
 public:
  virtual ~MonitorStore() = default;

  // Commits a validated batch, all or nothing, in one transaction:
  // claims (producer_id, sequence) (a batch committed before answers
  // duplicate = true and writes nothing); adds the new series, checking each
  // tenant's series limit; adds the rollup deltas; enqueues one
  // cost.RecordUsage message per LLM call; runs every rule evaluator over the
  // batch at `now`, whose transitions enqueue incident.ReportAlerts messages.
  // Errors: RESOURCE_EXHAUSTED when a tenant would exceed its series limit
  // (nothing written); UNAVAILABLE when the database is unreachable; ABORTED
  // when concurrent writers kept conflicting (retry); INTERNAL.
  virtual absl::StatusOr<CommitResult> CommitBatch(const std::string& producer_id,
                                                   uint64_t sequence,
                                                   const BatchAggregate& aggregate,
                                                   absl::Time now) = 0;

  // Re-evaluates up to `limit` firing alerts at `now` in one transaction,
  // skipping those another transaction is evaluating. Errors: UNAVAILABLE,
  // ABORTED, INTERNAL.
  virtual absl::StatusOr<SweepResult> SweepAlerts(absl::Time now, int limit) = 0;

  // Rollup counts for health indicators (see HealthRow) of the series inside
  // `scope` whose buckets start in [range.from, range.to). Errors:
  // UNAVAILABLE, INTERNAL.
  virtual absl::StatusOr<std::vector<HealthRow>> ReadHealthRows(const HealthScope& scope,
                                                                const BucketRange& range) = 0;

  // The merged latency sketches for health indicators (see HealthSketchRow)
  // of the series inside `scope` whose buckets start in [range.from,
  // range.to). Errors: UNAVAILABLE; INTERNAL (including a stored sketch that
  // does not parse).
  virtual absl::StatusOr<std::vector<HealthSketchRow>> ReadHealthSketches(
      const HealthScope& scope, const BucketRange& range) = 0;

  // The per-group, per-step aggregates of a normalized query: the series of
  // query.metric (and query.tenant, when set) that every matcher selects,
  // buckets in [query.bucket_from, query.end), grouped by the group_by label
  // values and AlignDown(bucket, query.step); for P50 / P95 / P99 each row
  // also carries the merged sketch of its group and step. Errors: INVALID_ARGUMENT
  // naming "matchers[i].value" for an invalid regular expression;
  // RESOURCE_EXHAUSTED for more than kMaxPointsPerAnswer rows; UNAVAILABLE;
  // INTERNAL.
  virtual absl::StatusOr<std::vector<StepRow>> QuerySteps(const SeriesQuery& query) = 0;
};

}  // namespace agentwatch::monitor
