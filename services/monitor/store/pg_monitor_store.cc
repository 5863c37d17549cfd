#include "monitor/store/pg_monitor_store.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/outbox.h"
#include "common/status_macros.h"
#include "monitor/store/outbox_payloads.h"
#include "monitor/store/pg_text.h"

namespace agentwatch::monitor {
namespace {

using common::PgTimestamp;

// Attempts of a batch transaction that lost a deadlock or serialization race
// (ABORTED) before the error goes back to the caller.
constexpr int kCommitAttempts = 3;

constexpr char kClaimBatchSql[] = R"sql(
INSERT INTO monitor.ingest_batches (producer_id, sequence, event_count)
VALUES ($1, $2, $3)
ON CONFLICT (producer_id, sequence) DO NOTHING
RETURNING 1)sql";

constexpr char kInsertSeriesSql[] = R"sql(
INSERT INTO monitor.series (tenant_id, metric, series_key, labels)
SELECT t, m, k, l::jsonb
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(t, m, k, l)
ON CONFLICT (tenant_id, metric, series_key) DO NOTHING
RETURNING tenant_id)sql";

constexpr char kAddTenantSeriesSql[] = R"sql(
INSERT INTO monitor.tenant_series AS ts (tenant_id, series_count)
SELECT t, n FROM unnest($1::text[], $2::bigint[]) AS u(t, n)
ON CONFLICT (tenant_id) DO UPDATE SET series_count = ts.series_count + excluded.series_count
RETURNING tenant_id, series_count)sql";

constexpr char kUpsertRollupsSql[] = R"sql(
INSERT INTO monitor.rollups_1m AS r (tenant_id, metric, series_key, bucket, count, sum, min, max)
SELECT t, m, k, to_timestamp(b), c, s, lo, hi
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::float8[],
            $7::float8[], $8::float8[]) AS u(t, m, k, b, c, s, lo, hi)
ON CONFLICT (tenant_id, metric, series_key, bucket) DO UPDATE SET
  count = r.count + excluded.count,
  sum = r.sum + excluded.sum,
  min = least(r.min, excluded.min),
  max = greatest(r.max, excluded.max))sql";

// The rows of sketched metrics: the same upsert, which also locks the row
// until commit, returning the sketch stored before this batch (NULL for a new
// row); the merged sketch is written back by kWriteSketchesSql.
constexpr char kUpsertSketchedRollupsSql[] = R"sql(
INSERT INTO monitor.rollups_1m AS r (tenant_id, metric, series_key, bucket, count, sum, min, max)
SELECT t, m, k, to_timestamp(b), c, s, lo, hi
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::float8[],
            $7::float8[], $8::float8[]) WITH ORDINALITY AS u(t, m, k, b, c, s, lo, hi, i)
ORDER BY i
ON CONFLICT (tenant_id, metric, series_key, bucket) DO UPDATE SET
  count = r.count + excluded.count,
  sum = r.sum + excluded.sum,
  min = least(r.min, excluded.min),
  max = greatest(r.max, excluded.max)
RETURNING r.tenant_id, r.metric, r.series_key, extract(epoch FROM r.bucket)::bigint, r.sketch)sql";

constexpr char kWriteSketchesSql[] = R"sql(
UPDATE monitor.rollups_1m AS r SET sketch = decode(u.sk, 'hex')
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[]) AS u(t, m, k, b, sk)
WHERE r.tenant_id = u.t AND r.metric = u.m AND r.series_key = u.k
  AND r.bucket = to_timestamp(u.b))sql";

constexpr char kSumRollupsSql[] = R"sql(
SELECT coalesce(s.labels->>$5::text, ''), sum(r.count)::bigint, sum(r.sum), min(r.min),
       max(r.max)
FROM monitor.series s
JOIN monitor.rollups_1m r
  ON r.tenant_id = s.tenant_id AND r.metric = s.metric AND r.series_key = s.series_key
WHERE s.tenant_id = $1 AND s.metric = $2 AND s.labels->>$3::text = $4::text
  AND r.bucket >= $6::timestamptz AND r.bucket < $7::timestamptz
GROUP BY 1)sql";

constexpr char kEnsureAlertStateSql[] = R"sql(
INSERT INTO monitor.alert_state (tenant_id, fingerprint, rule, name, labels, severity)
VALUES ($1, $2, $3, $4, $5::jsonb, $6)
ON CONFLICT (tenant_id, fingerprint) DO NOTHING)sql";

constexpr char kLockAlertStateSql[] = R"sql(
SELECT tenant_id, fingerprint, rule, name,
       ARRAY(SELECT key FROM jsonb_each_text(labels) ORDER BY key),
       ARRAY(SELECT value FROM jsonb_each_text(labels) ORDER BY key),
       firing, severity, (extract(epoch FROM starts_at) * 1000000)::bigint,
       (extract(epoch FROM ends_at) * 1000000)::bigint, value
FROM monitor.alert_state
WHERE tenant_id = $1 AND fingerprint = $2
FOR UPDATE)sql";

constexpr char kLockFiringAlertsSql[] = R"sql(
SELECT tenant_id, fingerprint, rule, name,
       ARRAY(SELECT key FROM jsonb_each_text(labels) ORDER BY key),
       ARRAY(SELECT value FROM jsonb_each_text(labels) ORDER BY key),
       firing, severity, (extract(epoch FROM starts_at) * 1000000)::bigint,
       (extract(epoch FROM ends_at) * 1000000)::bigint, value
FROM monitor.alert_state
WHERE rule = $1 AND firing
ORDER BY tenant_id, fingerprint
LIMIT $2
FOR UPDATE SKIP LOCKED)sql";

constexpr char kSaveAlertStateSql[] = R"sql(
UPDATE monitor.alert_state
SET labels = $3::jsonb, firing = $4::boolean, severity = $5::smallint,
    starts_at = nullif($6::text, '')::timestamptz, ends_at = nullif($7::text, '')::timestamptz,
    value = $8::float8, updated_at = now()
WHERE tenant_id = $1 AND fingerprint = $2)sql";

constexpr char kHealthRowsSql[] = R"sql(
SELECT r.tenant_id, r.metric, coalesce(s.labels->>'workflow', ''),
       coalesce(s.labels->>'agent', ''), coalesce(s.labels->>'provider', ''),
       coalesce(s.labels->>'model', ''), coalesce(s.labels->>'status', ''),
       sum(r.count)::bigint, sum(r.sum)
FROM monitor.series s
JOIN monitor.rollups_1m r
  ON r.tenant_id = s.tenant_id AND r.metric = s.metric AND r.series_key = s.series_key
WHERE ($1::text = '' OR s.tenant_id = $1::text) AND s.metric = ANY($2::text[])
  AND s.labels @> $3::jsonb
  AND r.bucket >= $4::timestamptz AND r.bucket < $5::timestamptz
GROUP BY 1, 2, 3, 4, 5, 6, 7)sql";

constexpr char kCheckRegexSql[] = "SELECT '' ~ $1::text";

// Matchers arrive as three parallel arrays (name, op, value); a series is
// selected when no matcher rejects it. Regular expressions are anchored at
// both ends as in Prometheus; an absent label matches as "".
constexpr char kQueryStepsSql[] = R"sql(
WITH m AS (
  SELECT * FROM unnest($3::text[], $4::int[], $5::text[]) AS m(name, op, value)
),
selected AS (
  SELECT s.tenant_id, s.series_key,
         ARRAY(SELECT coalesce(s.labels->>g.name, '')
               FROM unnest($6::text[]) WITH ORDINALITY AS g(name, i) ORDER BY g.i) AS grp
  FROM monitor.series s
  WHERE ($1::text = '' OR s.tenant_id = $1::text) AND s.metric = $2::text
    AND NOT EXISTS (
      SELECT 1 FROM m
      WHERE NOT (CASE m.op
        WHEN 1 THEN coalesce(s.labels->>m.name, '') = m.value
        WHEN 2 THEN coalesce(s.labels->>m.name, '') <> m.value
        WHEN 3 THEN coalesce(s.labels->>m.name, '') ~ ('^(?:' || m.value || ')$')
        ELSE coalesce(s.labels->>m.name, '') !~ ('^(?:' || m.value || ')$')
      END))
)
SELECT sel.grp, (floor(extract(epoch FROM r.bucket) / $9::bigint) * $9::bigint)::bigint,
       sum(r.count)::bigint, sum(r.sum), min(r.min), max(r.max)
FROM selected sel
JOIN monitor.rollups_1m r
  ON r.tenant_id = sel.tenant_id AND r.metric = $2::text AND r.series_key = sel.series_key
WHERE r.bucket >= $7::timestamptz AND r.bucket < $8::timestamptz
GROUP BY 1, 2
LIMIT $10::bigint)sql";

// kQueryStepsSql for P50 / P95 / P99: one row per rollup row with its sketch,
// which the store merges per group and step (Postgres cannot merge them).
constexpr char kQuerySketchStepsSql[] = R"sql(
WITH m AS (
  SELECT * FROM unnest($3::text[], $4::int[], $5::text[]) AS m(name, op, value)
),
selected AS (
  SELECT s.tenant_id, s.series_key,
         ARRAY(SELECT coalesce(s.labels->>g.name, '')
               FROM unnest($6::text[]) WITH ORDINALITY AS g(name, i) ORDER BY g.i) AS grp
  FROM monitor.series s
  WHERE ($1::text = '' OR s.tenant_id = $1::text) AND s.metric = $2::text
    AND NOT EXISTS (
      SELECT 1 FROM m
      WHERE NOT (CASE m.op
        WHEN 1 THEN coalesce(s.labels->>m.name, '') = m.value
        WHEN 2 THEN coalesce(s.labels->>m.name, '') <> m.value
        WHEN 3 THEN coalesce(s.labels->>m.name, '') ~ ('^(?:' || m.value || ')$')
        ELSE coalesce(s.labels->>m.name, '') !~ ('^(?:' || m.value || ')$')
      END))
)
SELECT sel.grp, (floor(extract(epoch FROM r.bucket) / $9::bigint) * $9::bigint)::bigint,
       r.count, r.sum, r.min, r.max, r.sketch
FROM selected sel
JOIN monitor.rollups_1m r
  ON r.tenant_id = sel.tenant_id AND r.metric = $2::text AND r.series_key = sel.series_key
WHERE r.bucket >= $7::timestamptz AND r.bucket < $8::timestamptz
LIMIT $10::bigint)sql";

constexpr char kHealthSketchesSql[] = R"sql(
SELECT r.tenant_id, r.metric, coalesce(s.labels->>'workflow', ''),
       coalesce(s.labels->>'agent', ''), coalesce(s.labels->>'provider', ''),
       coalesce(s.labels->>'model', ''), r.sketch
FROM monitor.series s
JOIN monitor.rollups_1m r
  ON r.tenant_id = s.tenant_id AND r.metric = s.metric AND r.series_key = s.series_key
WHERE ($1::text = '' OR s.tenant_id = $1::text) AND s.metric = ANY($2::text[])
  AND s.labels @> $3::jsonb
  AND r.bucket >= $4::timestamptz AND r.bucket < $5::timestamptz
  AND r.sketch IS NOT NULL)sql";

// The sketch stored in a bytea field; INTERNAL naming `what` when it does
// not parse.
absl::StatusOr<QuantileSketch> ReadSketch(const pqxx::field& field, absl::string_view what) {
  const pqxx::binarystring bytes(field);
  absl::StatusOr<QuantileSketch> sketch = QuantileSketch::Deserialize(
      absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  if (!sketch.ok()) {
    return absl::InternalError(
        absl::StrCat("stored sketch of ", what, " is unreadable: ", sketch.status().message()));
  }
  return sketch;
}

std::string OptionalTimestamp(const std::optional<absl::Time>& t) {
  return t.has_value() ? PgTimestamp(*t) : std::string();
}

AlertState ReadAlertState(const pqxx::row& row) {
  AlertState state;
  state.tenant = row[0].as<std::string>();
  state.fingerprint = row[1].as<std::string>();
  state.rule = row[2].as<std::string>();
  state.name = row[3].as<std::string>();
  state.labels = ParseLabelArrays(row[4], row[5]);
  state.firing = row[6].as<bool>();
  state.severity = static_cast<Severity>(row[7].as<int>());
  state.starts_at = ParseMicros(row[8]);
  state.ends_at = ParseMicros(row[9]);
  state.value = row[10].as<double>();
  return state;
}

// RuleContext over the transaction of one batch or sweep.
class PgRuleContext final : public RuleContext {
 public:
  explicit PgRuleContext(pqxx::work& txn) : txn_(txn) {}

  absl::StatusOr<std::map<std::string, RollupStats>> SumRollups(const RollupSelector& selector,
                                                                const BucketRange& range) override {
    const pqxx::result rows = txn_.exec_params(
        kSumRollupsSql, selector.tenant, selector.metric, selector.match_label,
        selector.match_value, selector.group_label, PgTimestamp(range.from), PgTimestamp(range.to));
    std::map<std::string, RollupStats> out;
    for (const auto& row : rows) {
      RollupStats& stats = out[row[0].as<std::string>()];
      stats.count = row[1].as<int64_t>();
      stats.sum = row[2].as<double>();
      stats.min = row[3].as<double>();
      stats.max = row[4].as<double>();
    }
    return out;
  }

  absl::StatusOr<AlertState> LockAlertState(const AlertState& initial) override {
    txn_.exec_params(kEnsureAlertStateSql, initial.tenant, initial.fingerprint, initial.rule,
                     initial.name, JsonObject(initial.labels), static_cast<int>(initial.severity));
    const pqxx::result rows =
        txn_.exec_params(kLockAlertStateSql, initial.tenant, initial.fingerprint);
    if (rows.empty()) {
      return absl::InternalError(
          absl::StrCat("alert state ", initial.fingerprint, " vanished after insert"));
    }
    return ReadAlertState(rows[0]);
  }

  absl::StatusOr<std::vector<AlertState>> LockFiringAlerts(const std::string& rule,
                                                           int limit) override {
    const pqxx::result rows = txn_.exec_params(kLockFiringAlertsSql, rule, limit);
    std::vector<AlertState> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(ReadAlertState(row));
    return out;
  }

  absl::Status SaveAlertState(const AlertState& state) override {
    txn_.exec_params(kSaveAlertStateSql, state.tenant, state.fingerprint, JsonObject(state.labels),
                     state.firing, static_cast<int>(state.severity),
                     OptionalTimestamp(state.starts_at), OptionalTimestamp(state.ends_at),
                     state.value);
    return absl::OkStatus();
  }

  absl::Status EmitAlert(const AlertNotice& notice) override {
    common::EnqueueOutbox(
        txn_, kOutboxSchema,
        {notice.tenant, kIncidentDestination, notice.IdempotencyKey(), SerializeAlert(notice)});
    ++emitted_;
    return absl::OkStatus();
  }

  int64_t emitted() const { return emitted_; }

 private:
  pqxx::work& txn_;
  int64_t emitted_ = 0;
};

// Adds the batch's new series and checks every touched tenant's limit.
absl::Status WriteSeries(pqxx::work& txn, const BatchAggregate& aggregate,
                         const StoreLimits& limits) {
  if (aggregate.series.empty()) return absl::OkStatus();
  std::vector<std::string> tenants, metrics, keys, labels;
  tenants.reserve(aggregate.series.size());
  metrics.reserve(aggregate.series.size());
  keys.reserve(aggregate.series.size());
  labels.reserve(aggregate.series.size());
  for (const SeriesRecord& series : aggregate.series) {
    tenants.push_back(series.tenant);
    metrics.push_back(series.metric);
    keys.push_back(series.series_key);
    labels.push_back(JsonObject(series.labels));
  }
  const pqxx::result inserted =
      txn.exec_params(kInsertSeriesSql, PgTextArray(tenants), PgTextArray(metrics),
                      PgTextArray(keys), PgTextArray(labels));
  if (inserted.empty()) return absl::OkStatus();
  // Sorted by tenant, so concurrent batches lock the counters in one order.
  std::map<std::string, int64_t> added;
  for (const auto& row : inserted) ++added[row[0].as<std::string>()];
  std::vector<std::string> added_tenants;
  std::vector<int64_t> added_counts;
  for (const auto& [tenant, count] : added) {
    added_tenants.push_back(tenant);
    added_counts.push_back(count);
  }
  const pqxx::result counts =
      txn.exec_params(kAddTenantSeriesSql, PgTextArray(added_tenants), PgInt64Array(added_counts));
  for (const auto& row : counts) {
    const int64_t total = row[1].as<int64_t>();
    if (total > limits.max_series_per_tenant) {
      return absl::ResourceExhaustedError(
          absl::StrCat("events: tenant \"", row[0].as<std::string>(), "\" would have ", total,
                       " active series, at most ", limits.max_series_per_tenant));
    }
  }
  return absl::OkStatus();
}

// Upserts `deltas` with `sql` (kUpsertRollupsSql or kUpsertSketchedRollupsSql).
pqxx::result UpsertRollups(pqxx::work& txn, const char* sql,
                           const std::vector<const RollupDelta*>& deltas) {
  const size_t n = deltas.size();
  std::vector<std::string> tenants, metrics, keys;
  std::vector<int64_t> buckets, counts;
  std::vector<double> sums, mins, maxs;
  tenants.reserve(n);
  metrics.reserve(n);
  keys.reserve(n);
  buckets.reserve(n);
  counts.reserve(n);
  sums.reserve(n);
  mins.reserve(n);
  maxs.reserve(n);
  for (const RollupDelta* delta : deltas) {
    tenants.push_back(delta->tenant);
    metrics.push_back(delta->metric);
    keys.push_back(delta->series_key);
    buckets.push_back(absl::ToUnixSeconds(delta->bucket));
    counts.push_back(delta->stats.count);
    sums.push_back(delta->stats.sum);
    mins.push_back(delta->stats.min);
    maxs.push_back(delta->stats.max);
  }
  return txn.exec_params(sql, PgTextArray(tenants), PgTextArray(metrics), PgTextArray(keys),
                         PgInt64Array(buckets), PgInt64Array(counts), PgFloat8Array(sums),
                         PgFloat8Array(mins), PgFloat8Array(maxs));
}

// Adds the batch's rollup deltas. Rows without a sketch go in one upsert;
// rows with one are upserted (locking them), their stored sketches merged
// with the batch's in memory and written back, all in `txn`. Both statements
// take their rows in key order (the aggregate's order), so concurrent batches
// never wait for each other in opposite orders.
absl::Status WriteRollups(pqxx::work& txn, const BatchAggregate& aggregate) {
  std::vector<const RollupDelta*> plain, sketched;
  for (const RollupDelta& delta : aggregate.rollups) {
    (delta.sketch.has_value() ? sketched : plain).push_back(&delta);
  }
  if (!plain.empty()) UpsertRollups(txn, kUpsertRollupsSql, plain);
  if (sketched.empty()) return absl::OkStatus();

  using RowKey = std::tuple<std::string, std::string, std::string, int64_t>;
  std::map<RowKey, const RollupDelta*> by_key;
  for (const RollupDelta* delta : sketched) {
    by_key[{delta->tenant, delta->metric, delta->series_key, absl::ToUnixSeconds(delta->bucket)}] =
        delta;
  }
  const pqxx::result stored = UpsertRollups(txn, kUpsertSketchedRollupsSql, sketched);
  std::vector<std::string> tenants, metrics, keys, sketches;
  std::vector<int64_t> buckets;
  for (const auto& row : stored) {
    RowKey key{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
               row[3].as<int64_t>()};
    const auto it = by_key.find(key);
    if (it == by_key.end()) {
      return absl::InternalError("rollup upsert returned a row the batch did not write");
    }
    QuantileSketch merged = *it->second->sketch;
    if (!row[4].is_null()) {
      ASSIGN_OR_RETURN(const QuantileSketch previous,
                       ReadSketch(row[4], absl::StrCat(std::get<1>(key), "/", std::get<2>(key), "@",
                                                       std::get<3>(key))));
      RETURN_IF_ERROR(merged.Merge(previous));
    }
    tenants.push_back(std::move(std::get<0>(key)));
    metrics.push_back(std::move(std::get<1>(key)));
    keys.push_back(std::move(std::get<2>(key)));
    buckets.push_back(std::get<3>(key));
    sketches.push_back(absl::BytesToHexString(merged.Serialize()));
  }
  txn.exec_params(kWriteSketchesSql, PgTextArray(tenants), PgTextArray(metrics), PgTextArray(keys),
                  PgInt64Array(buckets), PgTextArray(sketches));
  return absl::OkStatus();
}

int64_t EnqueueUsage(pqxx::work& txn, const BatchAggregate& aggregate) {
  // In key order, so that two batches repeating the same records never wait
  // for each other in opposite orders.
  std::vector<std::pair<std::string, const LlmUsageRecord*>> keyed;
  keyed.reserve(aggregate.usage.size());
  for (const LlmUsageRecord& record : aggregate.usage) {
    keyed.emplace_back(UsageIdempotencyKey(record), &record);
  }
  std::sort(keyed.begin(), keyed.end());
  for (const auto& [key, record] : keyed) {
    common::EnqueueOutbox(txn, kOutboxSchema,
                          {record->tenant, kCostDestination, key, SerializeUsage(*record)});
  }
  return static_cast<int64_t>(keyed.size());
}

}  // namespace

PgMonitorStore::PgMonitorStore(common::PgPool& pool, StoreLimits limits,
                               std::vector<const RuleEvaluator*> evaluators)
    : pool_(pool), limits_(limits), evaluators_(std::move(evaluators)) {}

absl::StatusOr<CommitResult> PgMonitorStore::CommitBatch(const std::string& producer_id,
                                                         uint64_t sequence,
                                                         const BatchAggregate& aggregate,
                                                         absl::Time now) {
  absl::StatusOr<CommitResult> result;
  for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
    result = CommitOnce(producer_id, sequence, aggregate, now);
    if (!absl::IsAborted(result.status())) break;
  }
  return result;
}

absl::StatusOr<CommitResult> PgMonitorStore::CommitOnce(const std::string& producer_id,
                                                        uint64_t sequence,
                                                        const BatchAggregate& aggregate,
                                                        absl::Time now) {
  return pool_.Transact<CommitResult>([&](pqxx::work& txn) -> absl::StatusOr<CommitResult> {
    CommitResult result;
    const pqxx::result claimed = txn.exec_params(
        kClaimBatchSql, producer_id, static_cast<int64_t>(sequence), aggregate.event_count);
    if (claimed.empty()) {
      result.duplicate = true;
      return result;
    }
    RETURN_IF_ERROR(WriteSeries(txn, aggregate, limits_));
    RETURN_IF_ERROR(WriteRollups(txn, aggregate));
    result.outbox_enqueued += EnqueueUsage(txn, aggregate);
    PgRuleContext context(txn);
    for (const RuleEvaluator* evaluator : evaluators_) {
      RETURN_IF_ERROR(evaluator->OnBatch(aggregate, context, now, &result.alerts));
    }
    result.outbox_enqueued += context.emitted();
    result.accepted = aggregate.event_count;
    return result;
  });
}

absl::StatusOr<SweepResult> PgMonitorStore::SweepAlerts(absl::Time now, int limit) {
  return pool_.Transact<SweepResult>([&](pqxx::work& txn) -> absl::StatusOr<SweepResult> {
    SweepResult result;
    PgRuleContext context(txn);
    for (const RuleEvaluator* evaluator : evaluators_) {
      RETURN_IF_ERROR(evaluator->OnSweep(context, now, limit, &result.alerts));
    }
    result.outbox_enqueued = context.emitted();
    return result;
  });
}

absl::StatusOr<std::vector<HealthRow>> PgMonitorStore::ReadHealthRows(const HealthScope& scope,
                                                                      const BucketRange& range) {
  return pool_.Transact<std::vector<HealthRow>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<HealthRow>> {
        const pqxx::result rows = txn.exec_params(
            kHealthRowsSql, scope.tenant, PgTextArray(HealthMetrics()),
            JsonObject(ScopeLabelFilter(scope)), PgTimestamp(range.from), PgTimestamp(range.to));
        std::vector<HealthRow> out;
        out.reserve(rows.size());
        for (const auto& row : rows) {
          HealthRow health;
          health.tenant = row[0].as<std::string>();
          health.metric = row[1].as<std::string>();
          health.workflow = row[2].as<std::string>();
          health.agent = row[3].as<std::string>();
          health.provider = row[4].as<std::string>();
          health.model = row[5].as<std::string>();
          health.status = row[6].as<std::string>();
          health.count = row[7].as<int64_t>();
          health.sum = row[8].as<double>();
          out.push_back(std::move(health));
        }
        return out;
      });
}

absl::StatusOr<std::vector<HealthSketchRow>> PgMonitorStore::ReadHealthSketches(
    const HealthScope& scope, const BucketRange& range) {
  return pool_.Transact<std::vector<HealthSketchRow>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<HealthSketchRow>> {
        const pqxx::result rows = txn.exec_params(
            kHealthSketchesSql, scope.tenant, PgTextArray(HealthSketchMetrics()),
            JsonObject(ScopeLabelFilter(scope)), PgTimestamp(range.from), PgTimestamp(range.to));
        std::map<std::tuple<std::string, std::string, std::string, std::string, std::string,
                            std::string>,
                 QuantileSketch>
            groups;
        for (const auto& row : rows) {
          ASSIGN_OR_RETURN(const QuantileSketch sketch, ReadSketch(row[6], row[1].c_str()));
          QuantileSketch& group = groups[{row[0].as<std::string>(), row[1].as<std::string>(),
                                          row[2].as<std::string>(), row[3].as<std::string>(),
                                          row[4].as<std::string>(), row[5].as<std::string>()}];
          RETURN_IF_ERROR(group.Merge(sketch));
        }
        std::vector<HealthSketchRow> out;
        out.reserve(groups.size());
        for (auto& [key, sketch] : groups) {
          HealthSketchRow row;
          std::tie(row.tenant, row.metric, row.workflow, row.agent, row.provider, row.model) = key;
          row.sketch = std::move(sketch);
          out.push_back(std::move(row));
        }
        return out;
      });
}

absl::StatusOr<std::vector<StepRow>> PgMonitorStore::QuerySteps(const SeriesQuery& query) {
  return pool_.Transact<std::vector<StepRow>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<StepRow>> {
        std::vector<std::string> names, values;
        std::vector<int64_t> ops;
        for (size_t i = 0; i < query.matchers.size(); ++i) {
          const LabelMatcher& matcher = query.matchers[i];
          if (matcher.op == MatchOp::kRegex || matcher.op == MatchOp::kNotRegex) {
            try {
              txn.exec_params(kCheckRegexSql, matcher.value);
            } catch (const pqxx::sql_error& e) {
              if (e.sqlstate() != "2201B") throw;
              // The read-only transaction is dead now; it rolls back on return.
              std::string reason = e.what();
              reason = reason.substr(0, reason.find('\n'));
              return common::InvalidField(absl::StrCat("matchers[", i, "].value"),
                                          absl::StrCat("invalid regular expression: ", reason));
            }
          }
          names.push_back(matcher.name);
          ops.push_back(static_cast<int64_t>(matcher.op));
          values.push_back(matcher.value);
        }
        const bool quantile = IsQuantileAggregation(query.aggregation);
        const pqxx::result rows = txn.exec_params(
            quantile ? kQuerySketchStepsSql : kQueryStepsSql, query.tenant, query.metric,
            PgTextArray(names), PgInt64Array(ops), PgTextArray(values), PgTextArray(query.group_by),
            PgTimestamp(query.bucket_from), PgTimestamp(query.end),
            absl::ToInt64Seconds(query.step), kMaxPointsPerAnswer + 1);
        if (static_cast<int64_t>(rows.size()) > kMaxPointsPerAnswer) {
          return absl::ResourceExhaustedError(
              absl::StrCat("more than ", kMaxPointsPerAnswer,
                           " points in the answer; raise the step, narrow the range or add "
                           "matchers"));
        }
        std::vector<StepRow> out;
        out.reserve(rows.size());
        for (const auto& row : rows) {
          StepRow step;
          step.group_values = ParseTextArray(row[0]);
          step.step_start = absl::FromUnixSeconds(row[1].as<int64_t>());
          step.stats.count = row[2].as<int64_t>();
          step.stats.sum = row[3].as<double>();
          step.stats.min = row[4].as<double>();
          step.stats.max = row[5].as<double>();
          if (quantile && !row[6].is_null()) {
            ASSIGN_OR_RETURN(step.sketch, ReadSketch(row[6], query.metric));
          }
          out.push_back(std::move(step));
        }
        // AssembleSeries merges the rows of one group and step.
        return out;
      });
}

}  // namespace agentwatch::monitor
