// The monitor's storage: the repository interface the api layer uses, with
// a Postgres implementation (pg_monitor_store.h) and an in-memory fake
// (in_memory_monitor_store.h) that behave alike.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "monitor/core/alert_rules.h"
#include "monitor/core/alerting.h"
#include "monitor/core/health.h"
#include "monitor/core/query.h"
#include "monitor/core/rollup.h"
#include "monitor/core/rules.h"
#include "monitor/core/series_list.h"
#include "monitor/core/thresholds.h"

namespace agentwatch::monitor {

// The outbox of schema "monitor" and its destinations.
inline constexpr char kOutboxSchema[] = "monitor";
inline constexpr char kIncidentDestination[] = "incident.ReportAlerts";
// One serialized agentwatch.cost.v1.UsageRecord per message (written before
// usage was packed; still delivered).
inline constexpr char kCostDestination[] = "cost.RecordUsage";
// A serialized agentwatch.cost.v1.RecordUsageRequest per message: the usage
// records of one tenant in one committed group (see PackUsage).
inline constexpr char kCostBatchDestination[] = "cost.RecordUsageBatch";

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

// A page of stored threshold overrides.
struct ThresholdPage {
  std::vector<ScopeThresholds> entries;
  // Cursor after the last entry when more may follow; empty on the last page.
  std::optional<std::pair<std::string, std::string>> next;  // (tenant, scope key)
};

// A page of alert rules, ordered by (name, id).
struct AlertRulePage {
  std::vector<AlertRule> rules;
  // (name, id) of the last rule when more may follow.
  std::optional<std::pair<std::string, std::string>> next;
};

// What an alert-rule write did.
struct RuleWriteResult {
  AlertRule rule;
  RuleOutcome alerts;
  int64_t outbox_enqueued = 0;
};

// Which active alerts to list.
struct ActiveAlertFilter {
  std::string tenant;                  // empty: all
  std::vector<Severity> severities;    // empty: all
  std::vector<LabelMatcher> matchers;  // on the alert labels
  bool include_pending = false;
};

// The position of an active alert in ListActiveAlerts order.
struct ActiveAlertCursor {
  int severity = 0;
  std::string tenant;
  std::string fingerprint;
};

// A page of active alerts, most severe first.
struct ActiveAlertPage {
  std::vector<AlertState> alerts;
  std::optional<ActiveAlertCursor> next;
};

// A page of series, ordered by metric then a store-defined key of the
// labels.
struct SeriesPage {
  std::vector<SeriesInfo> series;
  // (metric, label key) of the last series when more may follow.
  std::optional<std::pair<std::string, std::string>> next;
};

// The store's own figures, for the monitor's metrics.
struct StoreGauges {
  int64_t active_series = 0;  // series of every tenant
  int64_t outbox_depth = 0;   // outbox messages not yet delivered
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
  // skipping those another transaction is evaluating; then, in a second
  // transaction, every alert rule (up to `limit`) with a pending or firing
  // alert (a deleted rule's alerts resolve); then, in a store whose
  // evaluations after a commit can fail (PgMonitorStore), every enabled rule
  // of up to `limit` (tenant, metric) pairs a committed batch still owes an
  // evaluation. Errors: UNAVAILABLE, ABORTED, INTERNAL.
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

  // Replaces the overrides of `thresholds.scope` (validated) and stamps them
  // with `now`; returns what is stored. Errors: RESOURCE_EXHAUSTED when the
  // tenant would have more than kMaxThresholdScopesPerTenant scopes with
  // overrides; UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<ScopeThresholds> SetThresholds(const ScopeThresholds& thresholds,
                                                        absl::Time now) = 0;

  // Removes the overrides of `scope`. Errors: NOT_FOUND (none stored);
  // UNAVAILABLE; INTERNAL.
  virtual absl::Status DeleteThresholds(const HealthScope& scope) = 0;

  // Every override that can apply to a scope of `tenant`: those of the
  // tenant and the tenant-less ones; every override when `tenant` is empty.
  // Errors: UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<std::vector<ScopeThresholds>> ReadThresholds(
      const std::string& tenant) = 0;

  // Stored overrides ordered by (tenant, scope key), only `tenant`'s when it
  // is non-empty, starting after `after`, at most `page_size`. Errors:
  // UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<ThresholdPage> ListThresholds(
      const std::string& tenant, const std::optional<std::pair<std::string, std::string>>& after,
      int page_size) = 0;

  // Creates a validated, normalized rule (its id and times assigned here)
  // and evaluates it at `now` over the data already stored. With a non-empty
  // `request_id`, a retry returns the rule the first call created. Errors:
  // ALREADY_EXISTS (a rule of that name in the tenant); RESOURCE_EXHAUSTED
  // (kMaxAlertRulesPerTenant); INVALID_ARGUMENT (an invalid regular
  // expression, naming it); UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<RuleWriteResult> CreateAlertRule(const AlertRule& rule,
                                                          const std::string& request_id,
                                                          absl::Time now) = 0;

  // The rule `id`. Errors: NOT_FOUND; UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<AlertRule> GetAlertRule(const std::string& id) = 0;

  // Replaces rule `rule.id` (validated, normalized; the tenant cannot
  // change) and re-evaluates it at `now`: alerts that no longer hold
  // resolve. Errors: NOT_FOUND; INVALID_ARGUMENT ("rule.tenant" changed, or
  // an invalid regular expression); ALREADY_EXISTS (name taken);
  // UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<RuleWriteResult> UpdateAlertRule(const AlertRule& rule,
                                                          absl::Time now) = 0;

  // Deletes rule `id`, resolving its firing alerts at `now`. Errors:
  // NOT_FOUND; UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<SweepResult> DeleteAlertRule(const std::string& id, absl::Time now) = 0;

  // Rules ordered by (name, id), only `tenant`'s when non-empty, after
  // `after`, at most `page_size`. Errors: UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<AlertRulePage> ListAlertRules(
      const std::string& tenant, const std::optional<std::pair<std::string, std::string>>& after,
      int page_size) = 0;

  // Evaluates, in one transaction after the batch committed, every enabled
  // rule of a (tenant, metric) the batch fed (as metric or denominator).
  // When this fails (or never runs), SweepAlerts evaluates those rules
  // later: a committed batch is evaluated at least once. Errors:
  // UNAVAILABLE; ABORTED; INTERNAL.
  virtual absl::StatusOr<SweepResult> EvaluateAlertRules(const BatchAggregate& aggregate,
                                                         absl::Time now) = 0;

  // Pending (when asked for) and firing alerts, ordered by (severity,
  // tenant, fingerprint), after `after`, at most `page_size`. Errors:
  // INVALID_ARGUMENT naming "matchers[i].value" for an invalid regular
  // expression; UNAVAILABLE; INTERNAL.
  // Series `query` (validated) selects, after `after`, at most
  // `page_size`; with a range, only series with rollups in it. Errors:
  // INVALID_ARGUMENT naming "matchers[i].value" for an invalid regular
  // expression; UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<SeriesPage> ListSeries(
      const SeriesListQuery& query, const std::optional<std::pair<std::string, std::string>>& after,
      int page_size) = 0;

  // Active series and outbox depth. Errors: UNAVAILABLE; INTERNAL.
  virtual absl::StatusOr<StoreGauges> ReadGauges() = 0;

  virtual absl::StatusOr<ActiveAlertPage> ListActiveAlerts(
      const ActiveAlertFilter& filter, const std::optional<ActiveAlertCursor>& after,
      int page_size) = 0;
};

}  // namespace agentwatch::monitor
