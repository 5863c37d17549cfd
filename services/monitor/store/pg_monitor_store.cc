#include "monitor/store/pg_monitor_store.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <tuple>
#include <unordered_map>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/outbox.h"
#include "common/status_macros.h"
#include "common/trace.h"
#include "monitor/core/anomaly_rules.h"
#include "monitor/core/names.h"
#include "monitor/store/anomaly_state_store.h"
#include "monitor/store/batch_merge.h"
#include "monitor/store/journal_cells.h"
#include "monitor/store/outbox_payloads.h"
#include "monitor/store/pg_text.h"

namespace agentwatch::monitor {
namespace {

using common::PgTimestamp;

// Attempts of a batch transaction that lost a deadlock or serialization race
// (ABORTED) before the error goes back to the caller.
constexpr int kCommitAttempts = 3;

// The oldest minute (before the group's `now`) whose sketches are cached;
// shorter than RollupPartitions::kMinRetention, so a cached cell's day is
// never dropped and written again (which would restart its count).
constexpr absl::Duration kSketchCacheHorizon = absl::Hours(24);

// The claims of a group, in the order given; returns the pairs claimed now
// (those committed before are duplicates).
constexpr char kClaimBatchesSql[] = R"sql(
INSERT INTO monitor.ingest_batches (producer_id, sequence, event_count)
SELECT p, s, n
FROM unnest($1::text[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS u(p, s, n, i)
ORDER BY i
ON CONFLICT (producer_id, sequence) DO NOTHING
RETURNING producer_id, sequence)sql";

// The metrics (and denominators) enabled alert rules of the tenants watch.
constexpr char kRuleMetricsSql[] = R"sql(
SELECT tenant_id, metric, nullif(denominator_metric, '')
FROM monitor.alert_rules
WHERE tenant_id = ANY($1::text[]) AND NOT disabled)sql";

// Alert-rule evaluations a group commit owes (migration 011): one row per
// (tenant, metric) it fed that an enabled rule watches.
constexpr char kOweEvaluationsSql[] = R"sql(
INSERT INTO monitor.alert_evaluations_owed (tenant_id, metric)
SELECT t, m FROM unnest($1::text[], $2::text[]) AS u(t, m))sql";

// The same for the cells a journal sweep applies (a killed replica's, never
// evaluated): only pairs an enabled rule watches.
constexpr char kOweSweptEvaluationsSql[] = R"sql(
INSERT INTO monitor.alert_evaluations_owed (tenant_id, metric)
SELECT DISTINCT u.t, u.m FROM unnest($1::text[], $2::text[]) AS u(t, m)
WHERE EXISTS (SELECT 1 FROM monitor.alert_rules r
              WHERE r.tenant_id = u.t AND NOT r.disabled
                AND (r.metric = u.m OR r.denominator_metric = u.m)))sql";

// Paid by an evaluation of the rules of these pairs, first thing in its
// transaction: every owed row committed before this statement is covered,
// since the evaluation's reads come after it. Rows another evaluation is
// paying are skipped (it read after they committed; if it rolls back, they
// stay owed), so evaluations never wait for each other here.
constexpr char kPayEvaluationsSql[] = R"sql(
DELETE FROM monitor.alert_evaluations_owed
WHERE (tenant_id, metric, id) IN (
  SELECT o.tenant_id, o.metric, o.id FROM monitor.alert_evaluations_owed o
  WHERE (o.tenant_id, o.metric) IN (SELECT t, m FROM unnest($1::text[], $2::text[]) AS u(t, m))
  FOR UPDATE SKIP LOCKED))sql";

// The owed pairs the alert sweep evaluates: older than $1 seconds (younger
// ones are the evaluations still running after their commit).
constexpr char kOwedEvaluationsSql[] = R"sql(
SELECT DISTINCT tenant_id, metric FROM monitor.alert_evaluations_owed
WHERE created_at <= now() - make_interval(secs => $1::float8)
ORDER BY tenant_id, metric LIMIT $2)sql";

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
// row) and the count after it; the merged sketch is written back by
// kWriteSketchesSql.
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
RETURNING r.tenant_id, r.metric, r.series_key, extract(epoch FROM r.bucket)::bigint, r.sketch,
          r.count)sql";

// The stored count and sketch of the rows of sketched deltas ($1..$4, within
// buckets [$5, $6] so that only their daily partitions are read), with the
// (1-based) position of the delta.
constexpr char kReadSketchedRollupsSql[] = R"sql(
SELECT u.i, r.count, r.sketch
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) WITH ORDINALITY AS u(t, m, k, b, i)
JOIN monitor.rollups_1m r
  ON r.tenant_id = u.t AND r.metric = u.m AND r.series_key = u.k AND r.bucket = to_timestamp(u.b)
WHERE r.bucket >= $5::timestamptz AND r.bucket <= $6::timestamptz)sql";

// Adds the deltas and sets the merged sketch of rows whose count is still
// $9 (the one read); returns the rows written.
constexpr char kUpdateSketchedRollupsSql[] = R"sql(
UPDATE monitor.rollups_1m AS r SET
  count = r.count + u.c, sum = r.sum + u.s, min = least(r.min, u.lo), max = greatest(r.max, u.hi),
  sketch = u.sk
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::float8[],
            $7::float8[], $8::float8[], $9::bigint[], $10::bytea[])
     AS u(t, m, k, b, c, s, lo, hi, old, sk)
WHERE r.tenant_id = u.t AND r.metric = u.m AND r.series_key = u.k
  AND r.bucket = to_timestamp(u.b) AND r.count = u.old
  AND r.bucket >= $11::timestamptz AND r.bucket <= $12::timestamptz
RETURNING r.tenant_id, r.metric, r.series_key, extract(epoch FROM r.bucket)::bigint)sql";

// Inserts rows of sketched deltas that were missing when read, in key
// order; returns the rows inserted (the others appeared in between).
constexpr char kInsertSketchedRollupsSql[] = R"sql(
INSERT INTO monitor.rollups_1m AS r (tenant_id, metric, series_key, bucket, count, sum, min, max,
                                     sketch)
SELECT t, m, k, to_timestamp(b), c, s, lo, hi, sk
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::float8[],
            $7::float8[], $8::float8[], $9::bytea[])
     WITH ORDINALITY AS u(t, m, k, b, c, s, lo, hi, sk, i)
ORDER BY i
ON CONFLICT (tenant_id, metric, series_key, bucket) DO NOTHING
RETURNING r.tenant_id, r.metric, r.series_key, extract(epoch FROM r.bucket)::bigint)sql";

// The sketched rows' reads and writes join a few thousand deltas to their
// rows by primary key. The planner, whose estimate of a day partition lags
// far behind its size while the day is written, tends to join them by
// scanning the whole partition (every row and every dead version) and
// hashing or sorting; an index probe per delta is what these joins want.
// Turns sequential scans, hash and merge joins off for the rest of the
// transaction, returning the settings before (restored by kRestoreJoinsSql).
// JIT goes off too: a plan that still needs a sequential scan carries its
// disabled-node cost (1e10), far above jit_above_cost, and compiling it took
// about 1.1 s where the statement itself takes milliseconds.
constexpr char kIndexJoinsSql[] = R"sql(
WITH before AS MATERIALIZED (
  SELECT current_setting('enable_seqscan') AS s, current_setting('enable_hashjoin') AS h,
         current_setting('enable_mergejoin') AS m, current_setting('jit') AS j)
SELECT s, h, m, j, set_config('enable_seqscan', 'off', true),
       set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),
       set_config('jit', 'off', true)
FROM before)sql";

constexpr char kRestoreJoinsSql[] = R"sql(
SELECT set_config('enable_seqscan', $1, true), set_config('enable_hashjoin', $2, true),
       set_config('enable_mergejoin', $3, true), set_config('jit', $4, true))sql";

constexpr char kWriteSketchesSql[] = R"sql(
UPDATE monitor.rollups_1m AS r SET sketch = u.sk
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bytea[]) AS u(t, m, k, b, sk)
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

constexpr char kInsertJournalSql[] = R"sql(
INSERT INTO monitor.ingest_journal (tenant_id, cells)
SELECT t, c FROM unnest($1::text[], $2::bytea[]) AS u(t, c)
RETURNING id, tenant_id)sql";

// The rows FlushRollups applies: those still there (a sweeper may have
// taken some); waits for a sweeper that holds one, then skips it.
constexpr char kDeleteJournalSql[] = R"sql(
DELETE FROM monitor.ingest_journal WHERE id = ANY($1::bigint[]) RETURNING id)sql";

constexpr char kLockOldJournalSql[] = R"sql(
SELECT id, tenant_id, cells FROM monitor.ingest_journal
WHERE created_at <= now() - make_interval(secs => $1::float8)
ORDER BY id
LIMIT $2
FOR UPDATE SKIP LOCKED)sql";

// Moves undecodable journal rows (ids, with the decoder's reasons) to the
// quarantine (migration 010) before they are deleted with the swept ones.
constexpr char kQuarantineJournalSql[] = R"sql(
INSERT INTO monitor.ingest_journal_quarantine (id, tenant_id, created_at, reason, cells)
SELECT j.id, j.tenant_id, j.created_at, u.reason, j.cells
FROM unnest($1::bigint[], $2::text[]) AS u(id, reason)
JOIN monitor.ingest_journal j ON j.id = u.id
ON CONFLICT (id) DO NOTHING)sql";

constexpr char kDeleteSweptJournalSql[] = R"sql(
DELETE FROM monitor.ingest_journal WHERE id = ANY($1::bigint[]))sql";

// SumRollups of several workflows (the built-in alert's selectors: series
// matched by their workflow label) in one statement; the literal
// labels->>'workflow' lets each workflow probe series_workflow_idx.
// Row: the selector's 1-based position, the group value and its sums.
constexpr char kSumWorkflowRollupsSql[] = R"sql(
SELECT u.i, coalesce(s.labels->>u.g, ''), sum(r.count)::bigint, sum(r.sum), min(r.min),
       max(r.max)
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(t, m, v, g, i)
JOIN monitor.series s
  ON s.tenant_id = u.t AND s.metric = u.m AND s.labels->>'workflow' = u.v
JOIN monitor.rollups_1m r
  ON r.tenant_id = s.tenant_id AND r.metric = s.metric AND r.series_key = s.series_key
WHERE r.bucket >= $5::timestamptz AND r.bucket < $6::timestamptz
GROUP BY u.i, 2)sql";

// The alert-state columns ReadAlertState parses, in its order: every
// statement that reads states for it starts with this.
#define AW_SELECT_ALERT_STATES                                            \
  "SELECT tenant_id, fingerprint, rule, name,"                             \
  " ARRAY(SELECT key FROM jsonb_each_text(labels) ORDER BY key),"          \
  " ARRAY(SELECT value FROM jsonb_each_text(labels) ORDER BY key),"        \
  " firing, severity, (extract(epoch FROM starts_at) * 1000000)::bigint,"  \
  " (extract(epoch FROM ends_at) * 1000000)::bigint, value"                \
  " FROM monitor.alert_state"

// LockAlertStates: creates the missing states, in (tenant, fingerprint)
// order, and then locks them all in that order.
constexpr char kEnsureAlertStatesSql[] = R"sql(
INSERT INTO monitor.alert_state (tenant_id, fingerprint, rule, name, labels, severity)
SELECT t, f, r, n, l::jsonb, sv
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[])
  AS u(t, f, r, n, l, sv)
ORDER BY t, f
ON CONFLICT (tenant_id, fingerprint) DO NOTHING)sql";

constexpr char kLockAlertStatesSql[] = R"sql(
)sql" AW_SELECT_ALERT_STATES R"sql(
WHERE (tenant_id, fingerprint) IN (SELECT * FROM unnest($1::text[], $2::text[]))
ORDER BY tenant_id, fingerprint
FOR UPDATE)sql";

constexpr char kEnsureAlertStateSql[] = R"sql(
INSERT INTO monitor.alert_state (tenant_id, fingerprint, rule, name, labels, severity)
VALUES ($1, $2, $3, $4, $5::jsonb, $6)
ON CONFLICT (tenant_id, fingerprint) DO NOTHING)sql";

constexpr char kLockAlertStateSql[] = R"sql(
)sql" AW_SELECT_ALERT_STATES R"sql(
WHERE tenant_id = $1 AND fingerprint = $2
FOR UPDATE)sql";

constexpr char kLockFiringAlertsSql[] = R"sql(
)sql" AW_SELECT_ALERT_STATES R"sql(
WHERE rule = $1 AND firing
ORDER BY tenant_id, fingerprint
LIMIT $2
FOR UPDATE SKIP LOCKED)sql";

#undef AW_SELECT_ALERT_STATES

constexpr char kSaveAlertStateSql[] = R"sql(
UPDATE monitor.alert_state
SET labels = $3::jsonb, firing = $4::boolean, severity = $5::smallint,
    starts_at = nullif($6::text, '')::timestamptz, ends_at = nullif($7::text, '')::timestamptz,
    value = $8::float8, updated_at = now()
WHERE tenant_id = $1 AND fingerprint = $2)sql";

// The statements of the group transaction and of alert evaluation, prepared
// on every connection of the pool (PgPool::AddStatements): parsed once per
// connection instead of once per call, and planned once the server finds
// its generic plan no worse than the custom ones (planning them took about
// a tenth of Postgres' CPU per ingested event).
constexpr common::PgStatement kClaimBatches{"monitor_claim_batches", kClaimBatchesSql};
constexpr common::PgStatement kRuleMetrics{"monitor_rule_metrics", kRuleMetricsSql};
constexpr common::PgStatement kInsertSeries{"monitor_insert_series", kInsertSeriesSql};
constexpr common::PgStatement kAddTenantSeries{"monitor_add_tenant_series", kAddTenantSeriesSql};
constexpr common::PgStatement kUpsertRollups{"monitor_upsert_rollups", kUpsertRollupsSql};
constexpr common::PgStatement kUpsertSketchedRollups{"monitor_upsert_sketched_rollups",
                                                     kUpsertSketchedRollupsSql};
constexpr common::PgStatement kReadSketchedRollups{"monitor_read_sketched_rollups",
                                                   kReadSketchedRollupsSql};
constexpr common::PgStatement kUpdateSketchedRollups{"monitor_update_sketched_rollups",
                                                     kUpdateSketchedRollupsSql};
constexpr common::PgStatement kInsertSketchedRollups{"monitor_insert_sketched_rollups",
                                                     kInsertSketchedRollupsSql};
constexpr common::PgStatement kIndexJoins{"monitor_index_joins", kIndexJoinsSql};
constexpr common::PgStatement kRestoreJoins{"monitor_restore_joins", kRestoreJoinsSql};
constexpr common::PgStatement kWriteSketches{"monitor_write_sketches", kWriteSketchesSql};
constexpr common::PgStatement kSumRollups{"monitor_sum_rollups", kSumRollupsSql};
constexpr common::PgStatement kEnsureAlertState{"monitor_ensure_alert_state", kEnsureAlertStateSql};
constexpr common::PgStatement kLockAlertState{"monitor_lock_alert_state", kLockAlertStateSql};
constexpr common::PgStatement kSaveAlertState{"monitor_save_alert_state", kSaveAlertStateSql};
constexpr common::PgStatement kSumWorkflowRollups{"monitor_sum_workflow_rollups",
                                                  kSumWorkflowRollupsSql};
constexpr common::PgStatement kEnsureAlertStates{"monitor_ensure_alert_states",
                                                 kEnsureAlertStatesSql};
constexpr common::PgStatement kLockAlertStates{"monitor_lock_alert_states", kLockAlertStatesSql};
constexpr common::PgStatement kInsertJournal{"monitor_insert_journal", kInsertJournalSql};
constexpr common::PgStatement kDeleteJournal{"monitor_delete_journal", kDeleteJournalSql};

const std::vector<common::PgStatement>& GroupStatements() {
  static const std::vector<common::PgStatement> statements = {
      kClaimBatches,        kRuleMetrics,           kInsertSeries,
      kAddTenantSeries,     kUpsertRollups,         kUpsertSketchedRollups,
      kReadSketchedRollups, kUpdateSketchedRollups, kInsertSketchedRollups,
      kIndexJoins,          kRestoreJoins,          kWriteSketches,
      kSumRollups,          kEnsureAlertState,      kLockAlertState,
      kSaveAlertState,      kSumWorkflowRollups,    kEnsureAlertStates,
      kLockAlertStates,     kInsertJournal,         kDeleteJournal,
  };
  return statements;
}

constexpr char kHealthRowsSql[] = R"sql(
SELECT r.tenant_id, r.metric, coalesce(s.labels->>'workflow', ''),
       coalesce(s.labels->>'agent', ''), coalesce(s.labels->>'provider', ''),
       coalesce(s.labels->>'model', ''), coalesce(s.labels->>'status', ''),
       sum(r.count)::bigint, sum(r.sum), coalesce(s.labels->>'component', '')
FROM monitor.series s
JOIN monitor.rollups_1m r
  ON r.tenant_id = s.tenant_id AND r.metric = s.metric AND r.series_key = s.series_key
WHERE ($1::text = '' OR s.tenant_id = $1::text) AND s.metric = ANY($2::text[])
  AND s.labels @> $3::jsonb
  AND r.bucket >= $4::timestamptz AND r.bucket < $5::timestamptz
GROUP BY 1, 2, 3, 4, 5, 6, 7, 10)sql";

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

// Serializes SetThresholds per tenant so that the scope limit is exact.
constexpr char kLockTenantThresholdsSql[] =
    "SELECT pg_advisory_xact_lock(hashtext('monitor.health_thresholds:' || $1::text))";

constexpr char kUpsertThresholdsSql[] = R"sql(
INSERT INTO monitor.health_thresholds AS h (tenant_id, scope_key, team, workflow, agent, model,
    provider, service, tags, indicators, warnings, criticals, disabled, update_time)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::text[], $11::float8[], $12::float8[],
        $13::boolean[], $14::timestamptz)
ON CONFLICT (tenant_id, scope_key) DO UPDATE SET
  indicators = excluded.indicators, warnings = excluded.warnings,
  criticals = excluded.criticals, disabled = excluded.disabled,
  update_time = excluded.update_time
RETURNING (xmax = 0))sql";

constexpr char kCountTenantThresholdsSql[] =
    "SELECT count(*) FROM monitor.health_thresholds WHERE tenant_id = $1";

constexpr char kDeleteThresholdsSql[] =
    "DELETE FROM monitor.health_thresholds WHERE tenant_id = $1 AND scope_key = $2 RETURNING 1";

#define AW_THRESHOLD_COLUMNS                                                                    \
  "tenant_id, scope_key, team, workflow, agent, model, provider, service, "                     \
  "ARRAY(SELECT key FROM jsonb_each_text(tags) ORDER BY key), "                                 \
  "ARRAY(SELECT value FROM jsonb_each_text(tags) ORDER BY key), indicators, warnings::text[], " \
  "criticals::text[], disabled::text[], (extract(epoch FROM update_time) * 1000000)::bigint "

constexpr char kReadThresholdsSql[] =
    "SELECT " AW_THRESHOLD_COLUMNS
    "FROM monitor.health_thresholds "
    "WHERE $1::text = '' OR tenant_id = $1::text OR tenant_id = ''";

constexpr char kListThresholdsSql[] = "SELECT " AW_THRESHOLD_COLUMNS
                                      "FROM monitor.health_thresholds "
                                      "WHERE ($1::text = '' OR tenant_id = $1::text) "
                                      "  AND (tenant_id, scope_key) > ($2::text, $3::text) "
                                      "ORDER BY tenant_id, scope_key LIMIT $4";

#undef AW_THRESHOLD_COLUMNS

// A row of AW_THRESHOLD_COLUMNS. INTERNAL when the arrays disagree.
absl::StatusOr<ScopeThresholds> ReadThresholdRow(const pqxx::row& row) {
  ScopeThresholds out;
  out.scope.tenant = row[0].as<std::string>();
  out.scope.team = row[2].as<std::string>();
  out.scope.workflow = row[3].as<std::string>();
  out.scope.agent = row[4].as<std::string>();
  out.scope.model = row[5].as<std::string>();
  out.scope.provider = row[6].as<std::string>();
  out.scope.service = row[7].as<std::string>();
  out.scope.tags = ParseLabelArrays(row[8], row[9]);
  const std::vector<std::string> indicators = ParseTextArray(row[10]);
  const std::vector<std::string> warnings = ParseTextArray(row[11]);
  const std::vector<std::string> criticals = ParseTextArray(row[12]);
  const std::vector<std::string> disabled = ParseTextArray(row[13]);
  if (warnings.size() != indicators.size() || criticals.size() != indicators.size() ||
      disabled.size() != indicators.size()) {
    return absl::InternalError("stored health thresholds have arrays of different lengths");
  }
  for (size_t i = 0; i < indicators.size(); ++i) {
    ThresholdOverride entry;
    entry.indicator = indicators[i];
    if (!absl::SimpleAtod(warnings[i], &entry.warning) ||
        !absl::SimpleAtod(criticals[i], &entry.critical)) {
      return absl::InternalError("stored health threshold is not a number");
    }
    entry.disabled = disabled[i] == "true" || disabled[i] == "t";
    out.thresholds.push_back(std::move(entry));
  }
  out.update_time = absl::FromUnixMicros(row[14].as<int64_t>());
  return out;
}

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

// ---------------------------------------------------------------------------
// Alert rules.

#define AW_RULE_COLUMNS                                                                          \
  "tenant_id, id, name, description, metric, matcher_names, matcher_ops::text[], "               \
  "matcher_values, aggregation, window_us, group_by, comparison, threshold, "                    \
  "denominator_metric, den_matcher_names, den_matcher_ops::text[], den_matcher_values, for_us, " \
  "severity, ARRAY(SELECT key FROM jsonb_each_text(labels) ORDER BY key), "                      \
  "ARRAY(SELECT value FROM jsonb_each_text(labels) ORDER BY key), "                              \
  "ARRAY(SELECT key FROM jsonb_each_text(annotations) ORDER BY key), "                           \
  "ARRAY(SELECT value FROM jsonb_each_text(annotations) ORDER BY key), resolve_threshold, "      \
  "keep_firing_for_us, disabled, (extract(epoch FROM create_time) * 1000000)::bigint, "          \
  "(extract(epoch FROM update_time) * 1000000)::bigint, anomaly, min_history_us, "               \
  "baseline_window_us "

#define AW_RULE_ALERT_COLUMNS                                                         \
  "tenant_id, fingerprint, rule, name, "                                              \
  "ARRAY(SELECT key FROM jsonb_each_text(labels) ORDER BY key), "                     \
  "ARRAY(SELECT value FROM jsonb_each_text(labels) ORDER BY key), firing, severity, " \
  "(extract(epoch FROM starts_at) * 1000000)::bigint, "                               \
  "(extract(epoch FROM ends_at) * 1000000)::bigint, value, rule_id, pending, "        \
  "(extract(epoch FROM active_since) * 1000000)::bigint, "                            \
  "(extract(epoch FROM clear_since) * 1000000)::bigint, "                             \
  "ARRAY(SELECT key FROM jsonb_each_text(annotations) ORDER BY key), "                \
  "ARRAY(SELECT value FROM jsonb_each_text(annotations) ORDER BY key), "              \
  "(extract(epoch FROM last_evaluation) * 1000000)::bigint "

constexpr char kLockTenantRulesSql[] =
    "SELECT pg_advisory_xact_lock(hashtext('monitor.alert_rules:' || $1::text))";

constexpr char kLockRuleSql[] =
    "SELECT pg_advisory_xact_lock(hashtext('monitor.alert_rule:' || $1::text || ':' || $2::text))";

constexpr char kRuleByRequestSql[] = "SELECT " AW_RULE_COLUMNS
                                     "FROM monitor.alert_rules "
                                     "WHERE tenant_id = $1 AND request_id = $2";

constexpr char kRuleNameTakenSql[] =
    "SELECT 1 FROM monitor.alert_rules WHERE tenant_id = $1 AND name = $2 AND id <> $3";

constexpr char kCountRulesSql[] = "SELECT count(*) FROM monitor.alert_rules WHERE tenant_id = $1";

constexpr char kRuleByIdSql[] = "SELECT " AW_RULE_COLUMNS "FROM monitor.alert_rules WHERE id = $1";

constexpr char kRuleByIdForUpdateSql[] =
    "SELECT " AW_RULE_COLUMNS "FROM monitor.alert_rules WHERE id = $1 FOR UPDATE";

constexpr char kRuleByKeySql[] =
    "SELECT " AW_RULE_COLUMNS "FROM monitor.alert_rules WHERE tenant_id = $1 AND id = $2";

constexpr char kInsertRuleSql[] = R"sql(
INSERT INTO monitor.alert_rules (tenant_id, id, name, description, metric, matcher_names,
    matcher_ops, matcher_values, aggregation, window_us, group_by, comparison, threshold,
    denominator_metric, den_matcher_names, den_matcher_ops, den_matcher_values, for_us, severity,
    labels, annotations, resolve_threshold, keep_firing_for_us, disabled, request_id, create_time,
    update_time, anomaly, min_history_us, baseline_window_us)
VALUES ($1, 'r' || replace(gen_random_uuid()::text, '-', ''), $2, $3, $4, $5::text[],
        $6::integer[], $7::text[], $8, $9, $10::text[], $11, $12::float8, $13, $14::text[],
        $15::integer[], $16::text[], $17, $18, $19::jsonb, $20::jsonb,
        nullif($21::text, '')::float8, $22, $23::boolean, $24, $25::timestamptz, $25::timestamptz,
        $26::boolean, $27, $28)
RETURNING id)sql";

constexpr char kUpdateRuleSql[] = R"sql(
UPDATE monitor.alert_rules SET name = $3, description = $4, metric = $5,
    matcher_names = $6::text[], matcher_ops = $7::integer[], matcher_values = $8::text[],
    aggregation = $9, window_us = $10, group_by = $11::text[], comparison = $12,
    threshold = $13::float8, denominator_metric = $14, den_matcher_names = $15::text[],
    den_matcher_ops = $16::integer[], den_matcher_values = $17::text[], for_us = $18,
    severity = $19, labels = $20::jsonb, annotations = $21::jsonb,
    resolve_threshold = nullif($22::text, '')::float8, keep_firing_for_us = $23,
    disabled = $24::boolean, update_time = $25::timestamptz, anomaly = $26::boolean,
    min_history_us = $27, baseline_window_us = $28
WHERE tenant_id = $1 AND id = $2)sql";

constexpr char kDeleteRuleSql[] =
    "DELETE FROM monitor.alert_rules WHERE tenant_id = $1 AND id = $2";

constexpr char kListRulesSql[] = "SELECT " AW_RULE_COLUMNS
                                 "FROM monitor.alert_rules "
                                 "WHERE ($1::text = '' OR tenant_id = $1::text) "
                                 "  AND (name, id) > ($2::text, $3::text) "
                                 "ORDER BY name, id LIMIT $4";

constexpr char kRulesForBatchSql[] = "SELECT " AW_RULE_COLUMNS
                                     "FROM monitor.alert_rules r "
                                     "WHERE NOT r.disabled AND EXISTS ("
                                     "  SELECT 1 FROM unnest($1::text[], $2::text[]) AS b(t, m)"
                                     "  WHERE r.tenant_id = b.t"
                                     "    AND (r.metric = b.m OR r.denominator_metric = b.m)) "
                                     "ORDER BY r.tenant_id, r.id";

// The rules the sweep re-evaluates: those with an active alert, and anomaly
// rules with a detector not yet fed the last complete minute ($2), so that a
// series that went silent is still scored (its missing minutes are fed).
constexpr char kActiveRulesSql[] = R"sql(
SELECT DISTINCT ON (tenant_id, rule_id) tenant_id, rule_id, name FROM (
  SELECT tenant_id, rule_id, name FROM monitor.alert_state
  WHERE rule = 'alert_rule' AND (firing OR pending)
  UNION ALL
  SELECT r.tenant_id, r.id, r.name FROM monitor.alert_rules AS r
  WHERE r.anomaly AND NOT r.disabled
    AND EXISTS (SELECT 1 FROM monitor.anomaly_state AS s
                WHERE s.tenant_id = r.tenant_id AND s.rule_id = r.id
                  AND s.last_minute < $2::timestamptz)
) AS due
ORDER BY 1, 2
LIMIT $1)sql";

constexpr char kLockRuleAlertsSql[] = "SELECT " AW_RULE_ALERT_COLUMNS
                                      "FROM monitor.alert_state "
                                      "WHERE tenant_id = $1 AND rule_id = $2 "
                                      "  AND rule = 'alert_rule' "
                                      "ORDER BY fingerprint FOR UPDATE";

constexpr char kSaveRuleAlertSql[] = R"sql(
INSERT INTO monitor.alert_state AS a (tenant_id, fingerprint, rule, name, labels, firing, severity,
    starts_at, ends_at, value, rule_id, pending, active_since, clear_since, annotations,
    last_evaluation, updated_at)
VALUES ($1, $2, $3, $4, $5::jsonb, $6::boolean, $7::smallint,
        nullif($8::text, '')::timestamptz, nullif($9::text, '')::timestamptz, $10::float8, $11,
        $12::boolean, nullif($13::text, '')::timestamptz, nullif($14::text, '')::timestamptz,
        $15::jsonb, nullif($16::text, '')::timestamptz, now())
ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET
  name = excluded.name, labels = excluded.labels, firing = excluded.firing,
  severity = excluded.severity, starts_at = excluded.starts_at, ends_at = excluded.ends_at,
  value = excluded.value, pending = excluded.pending, active_since = excluded.active_since,
  clear_since = excluded.clear_since, annotations = excluded.annotations,
  last_evaluation = excluded.last_evaluation, updated_at = now())sql";

constexpr char kDeleteRuleAlertSql[] =
    "DELETE FROM monitor.alert_state WHERE tenant_id = $1 AND fingerprint = $2";

// The series of one metric of one tenant that every matcher selects
// ($3..$5), grouped by the values of the labels $6, over buckets [$7, $8).
#define AW_WINDOW_SELECTED                                                                      \
  "WITH m AS (SELECT * FROM unnest($3::text[], $4::int[], $5::text[]) AS m(name, op, value)), " \
  "selected AS ("                                                                               \
  "  SELECT s.series_key, ARRAY(SELECT coalesce(s.labels->>g.name, '') "                        \
  "    FROM unnest($6::text[]) WITH ORDINALITY AS g(name, i) ORDER BY g.i) AS grp "             \
  "  FROM monitor.series s "                                                                    \
  "  WHERE s.tenant_id = $1::text AND s.metric = $2::text AND NOT EXISTS ("                     \
  "    SELECT 1 FROM m WHERE NOT (CASE m.op "                                                   \
  "      WHEN 1 THEN coalesce(s.labels->>m.name, '') = m.value "                                \
  "      WHEN 2 THEN coalesce(s.labels->>m.name, '') <> m.value "                               \
  "      WHEN 3 THEN coalesce(s.labels->>m.name, '') ~ ('^(?:' || m.value || ')$') "            \
  "      ELSE coalesce(s.labels->>m.name, '') !~ ('^(?:' || m.value || ')$') END))) "

constexpr char kWindowGroupsSql[] = AW_WINDOW_SELECTED
    "SELECT sel.grp, sum(r.count)::bigint, sum(r.sum), min(r.min), max(r.max) "
    "FROM selected sel JOIN monitor.rollups_1m r "
    "  ON r.tenant_id = $1::text AND r.metric = $2::text AND r.series_key = sel.series_key "
    "WHERE r.bucket >= $7::timestamptz AND r.bucket < $8::timestamptz "
    "GROUP BY 1";

// Anomaly rules: kWindowGroupsSql / kWindowSketchesSql per minute bucket.
constexpr char kMinuteGroupsSql[] = AW_WINDOW_SELECTED
    "SELECT sel.grp, (extract(epoch FROM r.bucket) * 1000000)::bigint, sum(r.count)::bigint, "
    "  sum(r.sum), min(r.min), max(r.max) "
    "FROM selected sel JOIN monitor.rollups_1m r "
    "  ON r.tenant_id = $1::text AND r.metric = $2::text AND r.series_key = sel.series_key "
    "WHERE r.bucket >= $7::timestamptz AND r.bucket < $8::timestamptz "
    "GROUP BY 1, 2";

constexpr char kMinuteSketchesSql[] = AW_WINDOW_SELECTED
    "SELECT sel.grp, (extract(epoch FROM r.bucket) * 1000000)::bigint, r.count, r.sum, r.min, "
    "  r.max, r.sketch "
    "FROM selected sel JOIN monitor.rollups_1m r "
    "  ON r.tenant_id = $1::text AND r.metric = $2::text AND r.series_key = sel.series_key "
    "WHERE r.bucket >= $7::timestamptz AND r.bucket < $8::timestamptz";

constexpr char kWindowSketchesSql[] = AW_WINDOW_SELECTED
    "SELECT sel.grp, r.count, r.sum, r.min, r.max, r.sketch "
    "FROM selected sel JOIN monitor.rollups_1m r "
    "  ON r.tenant_id = $1::text AND r.metric = $2::text AND r.series_key = sel.series_key "
    "WHERE r.bucket >= $7::timestamptz AND r.bucket < $8::timestamptz";

constexpr char kActiveAlertsSql[] =
    "WITH m AS (SELECT * FROM unnest($4::text[], $5::int[], $6::text[]) AS m(name, op, value)) "
    "SELECT " AW_RULE_ALERT_COLUMNS
    "FROM monitor.alert_state a "
    "WHERE (a.firing OR (a.pending AND $2::boolean)) "
    "  AND ($1::text = '' OR a.tenant_id = $1::text) "
    "  AND (cardinality($3::int[]) = 0 OR a.severity = ANY($3::int[])) "
    "  AND NOT EXISTS (SELECT 1 FROM m WHERE NOT (CASE m.op "
    "      WHEN 1 THEN coalesce(a.labels->>m.name, '') = m.value "
    "      WHEN 2 THEN coalesce(a.labels->>m.name, '') <> m.value "
    "      WHEN 3 THEN coalesce(a.labels->>m.name, '') ~ ('^(?:' || m.value || ')$') "
    "      ELSE coalesce(a.labels->>m.name, '') !~ ('^(?:' || m.value || ')$') END)) "
    "  AND (a.severity, a.tenant_id, a.fingerprint) > ($7::int, $8::text, $9::text) "
    "ORDER BY a.severity, a.tenant_id, a.fingerprint LIMIT $10";

#undef AW_WINDOW_SELECTED
#undef AW_RULE_ALERT_COLUMNS
#undef AW_RULE_COLUMNS

std::vector<int64_t> ParseIntArray(const pqxx::field& field) {
  std::vector<int64_t> out;
  for (const std::string& text : ParseTextArray(field)) {
    int64_t value = 0;
    if (!absl::SimpleAtoi(text, &value)) value = 0;
    out.push_back(value);
  }
  return out;
}

std::vector<LabelMatcher> ReadMatchers(const pqxx::field& names, const pqxx::field& ops,
                                       const pqxx::field& values) {
  const std::vector<std::string> n = ParseTextArray(names);
  const std::vector<int64_t> o = ParseIntArray(ops);
  const std::vector<std::string> v = ParseTextArray(values);
  std::vector<LabelMatcher> out;
  for (size_t i = 0; i < n.size() && i < o.size() && i < v.size(); ++i) {
    out.push_back({n[i], static_cast<MatchOp>(o[i]), v[i]});
  }
  return out;
}

AlertRule ReadRule(const pqxx::row& row) {
  AlertRule rule;
  rule.tenant = row[0].as<std::string>();
  rule.id = row[1].as<std::string>();
  rule.name = row[2].as<std::string>();
  rule.description = row[3].as<std::string>();
  ThresholdCondition& c = rule.condition;
  c.metric = row[4].as<std::string>();
  c.matchers = ReadMatchers(row[5], row[6], row[7]);
  c.aggregation = static_cast<Aggregation>(row[8].as<int>());
  c.window = absl::Microseconds(row[9].as<int64_t>());
  c.group_by = ParseTextArray(row[10]);
  c.comparison = static_cast<Comparison>(row[11].as<int>());
  c.threshold = row[12].as<double>();
  c.denominator_metric = row[13].as<std::string>();
  c.denominator_matchers = ReadMatchers(row[14], row[15], row[16]);
  rule.for_duration = absl::Microseconds(row[17].as<int64_t>());
  rule.severity = static_cast<Severity>(row[18].as<int>());
  rule.labels = ParseLabelArrays(row[19], row[20]);
  rule.annotations = ParseLabelArrays(row[21], row[22]);
  if (!row[23].is_null()) rule.hysteresis.resolve_threshold = row[23].as<double>();
  rule.hysteresis.keep_firing_for = absl::Microseconds(row[24].as<int64_t>());
  rule.disabled = row[25].as<bool>();
  rule.create_time = absl::FromUnixMicros(row[26].as<int64_t>());
  rule.update_time = absl::FromUnixMicros(row[27].as<int64_t>());
  rule.anomaly.enabled = row[28].as<bool>();
  rule.anomaly.min_history = absl::Microseconds(row[29].as<int64_t>());
  c.baseline_window = absl::Microseconds(row[30].as<int64_t>());
  return rule;
}

AlertState ReadRuleAlert(const pqxx::row& row) {
  AlertState state = ReadAlertState(row);  // the first 11 columns
  state.rule_id = row[11].as<std::string>();
  state.pending = row[12].as<bool>();
  state.active_since = ParseMicros(row[13]);
  state.clear_since = ParseMicros(row[14]);
  state.annotations = ParseLabelArrays(row[15], row[16]);
  state.last_evaluation = ParseMicros(row[17]);
  return state;
}

// Matchers as the three parallel arrays the SQL takes.
struct MatcherArrays {
  std::string names;
  std::string ops;
  std::string values;
};

MatcherArrays ToArrays(const std::vector<LabelMatcher>& matchers) {
  std::vector<std::string> names, values;
  std::vector<int64_t> ops;
  for (const LabelMatcher& matcher : matchers) {
    names.push_back(matcher.name);
    ops.push_back(static_cast<int64_t>(matcher.op));
    values.push_back(matcher.value);
  }
  return {PgTextArray(names), PgInt64Array(ops), PgTextArray(values)};
}

std::string OptionalDouble(const std::optional<double>& value) {
  return value.has_value() ? absl::StrFormat("%.17g", *value) : std::string();
}

// INVALID_ARGUMENT naming `field`[i].value when Postgres refuses one of the
// regular expressions of `matchers`. The transaction is dead afterwards and
// must be rolled back (returning the error does).
absl::Status CheckRegexes(pqxx::work& txn, const std::vector<LabelMatcher>& matchers,
                          const std::string& field) {
  for (size_t i = 0; i < matchers.size(); ++i) {
    const LabelMatcher& matcher = matchers[i];
    if (matcher.op != MatchOp::kRegex && matcher.op != MatchOp::kNotRegex) continue;
    try {
      txn.exec_params(kCheckRegexSql, matcher.value);
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() != "2201B") throw;
      std::string reason = e.what();
      reason = reason.substr(0, reason.find('\n'));
      return common::InvalidField(absl::StrCat(field, "[", i, "].value"),
                                  absl::StrCat("invalid regular expression: ", reason));
    }
  }
  return absl::OkStatus();
}

// Writes the rule's columns: INSERT (kInsertRuleSql) or UPDATE (kUpdateRuleSql).
pqxx::result WriteRule(pqxx::work& txn, const AlertRule& rule, const std::string& request_id,
                       absl::Time now, bool insert) {
  const ThresholdCondition& c = rule.condition;
  const MatcherArrays m = ToArrays(c.matchers);
  const MatcherArrays d = ToArrays(c.denominator_matchers);
  const int64_t window_us = absl::ToInt64Microseconds(c.window);
  const int64_t for_us = absl::ToInt64Microseconds(rule.for_duration);
  const int64_t keep_us = absl::ToInt64Microseconds(rule.hysteresis.keep_firing_for);
  const std::string threshold = absl::StrFormat("%.17g", c.threshold);
  if (insert) {
    return txn.exec_params(
        kInsertRuleSql, rule.tenant, rule.name, rule.description, c.metric, m.names, m.ops,
        m.values, static_cast<int>(c.aggregation), window_us, PgTextArray(c.group_by),
        static_cast<int>(c.comparison), threshold, c.denominator_metric, d.names, d.ops, d.values,
        for_us, static_cast<int>(rule.severity), JsonObject(rule.labels),
        JsonObject(rule.annotations), OptionalDouble(rule.hysteresis.resolve_threshold), keep_us,
        rule.disabled, request_id, PgTimestamp(now), rule.anomaly.enabled,
        absl::ToInt64Microseconds(rule.anomaly.min_history),
        absl::ToInt64Microseconds(c.baseline_window));
  }
  return txn.exec_params(
      kUpdateRuleSql, rule.tenant, rule.id, rule.name, rule.description, c.metric, m.names, m.ops,
      m.values, static_cast<int>(c.aggregation), window_us, PgTextArray(c.group_by),
      static_cast<int>(c.comparison), threshold, c.denominator_metric, d.names, d.ops, d.values,
      for_us, static_cast<int>(rule.severity), JsonObject(rule.labels),
      JsonObject(rule.annotations), OptionalDouble(rule.hysteresis.resolve_threshold), keep_us,
      rule.disabled, PgTimestamp(now), rule.anomaly.enabled,
      absl::ToInt64Microseconds(rule.anomaly.min_history),
      absl::ToInt64Microseconds(c.baseline_window));
}

absl::Status NameTaken(pqxx::work& txn, const AlertRule& rule) {
  if (!txn.exec_params(kRuleNameTakenSql, rule.tenant, rule.name, rule.id).empty()) {
    return absl::AlreadyExistsError(absl::StrCat("rule.name: tenant \"", rule.tenant,
                                                 "\" has a rule named \"", rule.name, "\""));
  }
  return absl::OkStatus();
}

constexpr char kListSeriesSql[] = R"sql(
WITH m AS (SELECT * FROM unnest($3::text[], $4::int[], $5::text[]) AS m(name, op, value))
SELECT s.tenant_id, s.metric,
       ARRAY(SELECT key FROM jsonb_each_text(s.labels) ORDER BY key),
       ARRAY(SELECT value FROM jsonb_each_text(s.labels) ORDER BY key), s.labels::text,
       (extract(epoch FROM b.first) * 1000000)::bigint,
       (extract(epoch FROM b.last) * 1000000)::bigint
FROM monitor.series s
CROSS JOIN LATERAL (
  SELECT min(r.bucket) AS first, max(r.bucket) AS last FROM monitor.rollups_1m r
  WHERE r.tenant_id = s.tenant_id AND r.metric = s.metric AND r.series_key = s.series_key) b
WHERE ($1::text = '' OR s.tenant_id = $1::text) AND ($2::text = '' OR s.metric = $2::text)
  AND b.first IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM m WHERE NOT (CASE m.op
      WHEN 1 THEN coalesce(s.labels->>m.name, '') = m.value
      WHEN 2 THEN coalesce(s.labels->>m.name, '') <> m.value
      WHEN 3 THEN coalesce(s.labels->>m.name, '') ~ ('^(?:' || m.value || ')$')
      ELSE coalesce(s.labels->>m.name, '') !~ ('^(?:' || m.value || ')$') END))
  AND (s.metric, s.labels::text) > ($6::text, $7::text)
  AND (NOT $8::boolean OR EXISTS (
      SELECT 1 FROM monitor.rollups_1m r
      WHERE r.tenant_id = s.tenant_id AND r.metric = s.metric AND r.series_key = s.series_key
        AND r.bucket >= coalesce(nullif($9::text, '')::timestamptz, '-infinity')
        AND r.bucket < coalesce(nullif($10::text, '')::timestamptz, 'infinity')))
ORDER BY s.metric, s.labels::text
LIMIT $11)sql";

constexpr char kGaugesSql[] = R"sql(
SELECT (SELECT coalesce(sum(series_count), 0)::bigint FROM monitor.tenant_series),
       (SELECT count(*) FROM monitor.outbox))sql";

}  // namespace

// The cells of the journal rows a store wrote and has not applied, each with
// the labels of its series (for the in-memory part of SumRollups).
class JournalPending {
 public:
  // One journal row: one tenant's cells in (metric, series_key, bucket)
  // order, and the labels of each cell's series.
  struct Row {
    std::vector<RollupDelta> cells;
    std::vector<std::shared_ptr<const Labels>> labels;
  };

  // Shared by a reader from before its statement until it has added the
  // pending cells, exclusive while rows are added (after their group
  // committed) or removed (in the transaction that applied them, just
  // before its commit): a reader counts a cell either in the rollups or
  // here, never in both.
  mutable std::shared_mutex mu;
  std::map<int64_t, Row> rows;
  absl::Time latest_now = absl::InfinitePast();

  // Adds to out[i] (by group value) the cells of the pending rows and of
  // `group` (may be null) that selectors[i] selects in `range`, as
  // SumRollups reads them from Postgres. mu must be held (shared).
  void AddSums(const std::vector<RollupSelector>& selectors, const BucketRange& range,
               const MergedGroup* group,
               std::vector<std::map<std::string, RollupStats>>* out) const {
    std::map<std::pair<absl::string_view, absl::string_view>, std::vector<size_t>> by_series;
    for (size_t i = 0; i < selectors.size(); ++i) {
      by_series[{selectors[i].tenant, selectors[i].metric}].push_back(i);
    }
    const auto add = [&](const RollupDelta& cell, const Labels* labels,
                         const std::vector<size_t>& selected) {
      if (cell.bucket < range.from || cell.bucket >= range.to || labels == nullptr) return;
      for (const size_t i : selected) {
        const RollupSelector& selector = selectors[i];
        const auto match = labels->find(selector.match_label);
        if (match == labels->end() || match->second != selector.match_value) continue;
        const auto value = labels->find(selector.group_label);
        (*out)[i][value == labels->end() ? std::string() : value->second].Merge(cell.stats);
      }
    };
    const auto by_metric = [](const RollupDelta& cell, absl::string_view metric) {
      return cell.metric < metric;
    };
    // A row is one tenant's cells sorted by metric: each selected metric is
    // one range of it.
    for (const auto& [id, row] : rows) {
      if (row.cells.empty()) continue;
      const KeyText& tenant = row.cells.front().tenant;
      for (auto it = by_series.lower_bound({tenant, absl::string_view()});
           it != by_series.end() && it->first.first == tenant; ++it) {
        auto cell =
            std::lower_bound(row.cells.begin(), row.cells.end(), it->first.second, by_metric);
        for (; cell != row.cells.end() && cell->metric == it->first.second; ++cell) {
          add(*cell, row.labels[cell - row.cells.begin()].get(), it->second);
        }
      }
    }
    if (group == nullptr) return;
    // The group's cells and series are in (tenant, metric, series_key)
    // order.
    const auto cell_before = [](const RollupDelta* cell,
                                const std::pair<absl::string_view, absl::string_view>& key) {
      return std::make_pair(absl::string_view(cell->tenant), absl::string_view(cell->metric)) < key;
    };
    const auto series_before = [](const SeriesRecord* series, const RollupDelta& cell) {
      return std::tie(series->tenant, series->metric, series->series_key) <
             std::tie(cell.tenant, cell.metric, cell.series_key);
    };
    for (const auto& [key, selected] : by_series) {
      auto cell = std::lower_bound(group->rollups.begin(), group->rollups.end(), key, cell_before);
      for (; cell != group->rollups.end() && (*cell)->tenant == key.first &&
             (*cell)->metric == key.second;
           ++cell) {
        const auto series =
            std::lower_bound(group->series.begin(), group->series.end(), **cell, series_before);
        const bool found =
            series != group->series.end() && (*series)->series_key == (*cell)->series_key &&
            (*series)->metric == (*cell)->metric && (*series)->tenant == (*cell)->tenant;
        add(**cell, found ? (*series)->labels.get() : nullptr, selected);
      }
    }
  }

  // Whether the alert-rule reads with `matchers` can add pending cells in
  // memory: equality matchers only (regular expressions are Postgres').
  static bool InMemory(const std::vector<LabelMatcher>& matchers) {
    return std::all_of(matchers.begin(), matchers.end(), [](const LabelMatcher& m) {
      return m.op == MatchOp::kEqual || m.op == MatchOp::kNotEqual;
    });
  }

  // Calls add(group values, cell) for each pending cell of (tenant, metric)
  // in `range` whose series `matchers` (InMemory) select, as the rule and
  // step statements select stored rows: an absent label is "", an empty
  // `tenant` takes every tenant. mu must be held (shared).
  template <typename Add>
  void ForEachSelected(const std::string& tenant, const std::string& metric,
                       const std::vector<LabelMatcher>& matchers,
                       const std::vector<std::string>& group_by, const BucketRange& range,
                       Add add) const {
    static const std::string kAbsent;
    const auto value_of = [](const Labels& labels, const std::string& name) -> const std::string& {
      const auto it = labels.find(name);
      return it == labels.end() ? kAbsent : it->second;
    };
    for (const auto& [id, row] : rows) {
      if (row.cells.empty() || (!tenant.empty() && row.cells.front().tenant != tenant)) continue;
      auto cell =
          std::lower_bound(row.cells.begin(), row.cells.end(), metric,
                           [](const RollupDelta& c, const std::string& m) { return c.metric < m; });
      for (; cell != row.cells.end() && cell->metric == metric; ++cell) {
        if (cell->bucket < range.from || cell->bucket >= range.to) continue;
        const Labels* labels = row.labels[cell - row.cells.begin()].get();
        if (labels == nullptr) continue;
        const bool selected =
            std::all_of(matchers.begin(), matchers.end(), [&](const LabelMatcher& m) {
              const bool equal = value_of(*labels, m.name) == m.value;
              return m.op == MatchOp::kEqual ? equal : !equal;
            });
        if (!selected) continue;
        std::vector<std::string> group;
        group.reserve(group_by.size());
        for (const std::string& name : group_by) group.push_back(value_of(*labels, name));
        add(std::move(group), *cell);
      }
    }
  }
};

namespace {

// The cells of several journal rows (each sorted by (tenant, metric,
// series_key, bucket)) merged per cell, in that order (BatchAggregate's, so
// writers lock rows in one order): a heap merge of the rows. Points into
// the rows and into `folded`.
absl::Status MergeJournalCells(const std::vector<const std::vector<RollupDelta>*>& rows,
                               std::deque<RollupDelta>* folded,
                               std::vector<const RollupDelta*>* merged) {
  struct Cursor {
    const RollupDelta* at;
    const RollupDelta* end;
  };
  std::vector<Cursor> heap;
  size_t total = 0;
  for (const std::vector<RollupDelta>* row : rows) {
    if (row->empty()) continue;
    heap.push_back({row->data(), row->data() + row->size()});
    total += row->size();
  }
  // std::*_heap keep the greatest first: order by the greater key.
  const auto later = [&](const Cursor& a, const Cursor& b) { return CompareCells(*a.at, *b.at) > 0; };
  std::make_heap(heap.begin(), heap.end(), later);
  merged->clear();
  merged->reserve(total);
  RollupDelta* open = nullptr;  // the folded copy of merged->back(), if any
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    Cursor& cursor = heap.back();
    const RollupDelta& cell = *cursor.at;
    if (!merged->empty() && CompareCells(*merged->back(), cell) == 0) {
      if (open == nullptr) {
        open = &folded->emplace_back(*merged->back());
        merged->back() = open;
      }
      open->stats.Merge(cell.stats);
      if (cell.sketch.has_value()) {
        if (!open->sketch.has_value()) open->sketch.emplace();
        RETURN_IF_ERROR(open->sketch->Merge(*cell.sketch));
      }
    } else {
      merged->push_back(&cell);
      open = nullptr;
    }
    if (++cursor.at == cursor.end) {
      heap.pop_back();
    } else {
      std::push_heap(heap.begin(), heap.end(), later);
    }
  }
  return absl::OkStatus();
}

// Adds a pending cell to a group as the rule statements' rows are added.
absl::Status AddCell(const RollupDelta& cell, bool with_sketch, GroupStats* group) {
  group->stats.Merge(cell.stats);
  if (with_sketch && cell.sketch.has_value()) {
    if (!group->sketch.has_value()) group->sketch.emplace();
    RETURN_IF_ERROR(group->sketch->Merge(*cell.sketch));
  }
  return absl::OkStatus();
}

// RuleContext over the transaction of one batch or sweep. With `pending`
// (journal mode), SumRollups adds the cells not applied yet and those of
// `group` (the group being written; may be null) to Postgres' rows.
class PgRuleContext final : public RuleContext, public AlertRuleContext {
 public:
  // With `needs_flush`, an alert-rule read whose matchers cannot add the
  // pending cells in memory (JournalPending::InMemory) sets it and fails
  // with FAILED_PRECONDITION while cells are pending: the caller flushes and
  // evaluates again.
  explicit PgRuleContext(pqxx::work& txn, const JournalPending* pending = nullptr,
                         const MergedGroup* group = nullptr, bool* needs_flush = nullptr)
      : txn_(txn), pending_(pending), group_(group), needs_flush_(needs_flush) {}

  absl::StatusOr<std::map<std::string, RollupStats>> SumRollups(const RollupSelector& selector,
                                                                const BucketRange& range) override {
    std::shared_lock<std::shared_mutex> lock;
    if (pending_ != nullptr) lock = std::shared_lock<std::shared_mutex>(pending_->mu);
    const pqxx::result rows = txn_.exec_prepared(
        kSumRollups.name, selector.tenant, selector.metric, selector.match_label,
        selector.match_value, selector.group_label, PgTimestamp(range.from), PgTimestamp(range.to));
    std::map<std::string, RollupStats> out;
    for (const auto& row : rows) {
      RollupStats& stats = out[row[0].as<std::string>()];
      stats.count = row[1].as<int64_t>();
      stats.sum = row[2].as<double>();
      stats.min = row[3].as<double>();
      stats.max = row[4].as<double>();
    }
    if (pending_ != nullptr) {
      std::vector<std::map<std::string, RollupStats>> added(1);
      added[0] = std::move(out);
      pending_->AddSums({selector}, range, group_, &added);
      out = std::move(added[0]);
    }
    return out;
  }

  absl::StatusOr<AlertState> LockAlertState(const AlertState& initial) override {
    txn_.exec_prepared(kEnsureAlertState.name, initial.tenant, initial.fingerprint, initial.rule,
                       initial.name, JsonObject(initial.labels),
                       static_cast<int>(initial.severity));
    const pqxx::result rows =
        txn_.exec_prepared(kLockAlertState.name, initial.tenant, initial.fingerprint);
    if (rows.empty()) {
      return absl::InternalError(
          absl::StrCat("alert state ", initial.fingerprint, " vanished after insert"));
    }
    return ReadAlertState(rows[0]);
  }

  absl::StatusOr<std::vector<std::map<std::string, RollupStats>>> SumRollupsMany(
      const std::vector<RollupSelector>& selectors, const BucketRange& range) override {
    const bool by_workflow =
        std::all_of(selectors.begin(), selectors.end(),
                    [](const RollupSelector& s) { return s.match_label == kLabelWorkflow; });
    if (!by_workflow) return RuleContext::SumRollupsMany(selectors, range);
    std::vector<std::map<std::string, RollupStats>> out(selectors.size());
    if (selectors.empty()) return out;
    std::shared_lock<std::shared_mutex> lock;
    if (pending_ != nullptr) lock = std::shared_lock<std::shared_mutex>(pending_->mu);
    std::vector<std::string> tenants, metrics, values, groups;
    for (const RollupSelector& selector : selectors) {
      tenants.push_back(selector.tenant);
      metrics.push_back(selector.metric);
      values.push_back(selector.match_value);
      groups.push_back(selector.group_label);
    }
    const pqxx::result rows = txn_.exec_prepared(
        kSumWorkflowRollups.name, PgTextArray(tenants), PgTextArray(metrics), PgTextArray(values),
        PgTextArray(groups), PgTimestamp(range.from), PgTimestamp(range.to));
    for (const auto& row : rows) {
      const int64_t position = row[0].as<int64_t>();
      if (position < 1 || position > static_cast<int64_t>(out.size())) {
        return absl::InternalError("rollup sum of a selector that was not asked for");
      }
      RollupStats& stats = out[position - 1][row[1].as<std::string>()];
      stats.count = row[2].as<int64_t>();
      stats.sum = row[3].as<double>();
      stats.min = row[4].as<double>();
      stats.max = row[5].as<double>();
    }
    if (pending_ != nullptr) pending_->AddSums(selectors, range, group_, &out);
    return out;
  }

  absl::StatusOr<std::vector<AlertState>> LockAlertStates(
      const std::vector<AlertState>& initial) override {
    if (initial.empty()) return std::vector<AlertState>();
    std::vector<std::string> tenants, fingerprints, rules, names, labels;
    std::vector<int64_t> severities;
    for (const AlertState& state : initial) {
      tenants.push_back(state.tenant);
      fingerprints.push_back(state.fingerprint);
      rules.push_back(state.rule);
      names.push_back(state.name);
      labels.push_back(JsonObject(state.labels));
      severities.push_back(static_cast<int64_t>(state.severity));
    }
    const std::string tenant_array = PgTextArray(tenants);
    const std::string fingerprint_array = PgTextArray(fingerprints);
    txn_.exec_prepared(kEnsureAlertStates.name, tenant_array, fingerprint_array, PgTextArray(rules),
                       PgTextArray(names), PgTextArray(labels), PgInt64Array(severities));
    const pqxx::result rows =
        txn_.exec_prepared(kLockAlertStates.name, tenant_array, fingerprint_array);
    std::map<std::pair<std::string, std::string>, AlertState> locked;
    for (const auto& row : rows) {
      AlertState state = ReadAlertState(row);
      std::pair<std::string, std::string> key(state.tenant, state.fingerprint);
      locked.emplace(std::move(key), std::move(state));
    }
    std::vector<AlertState> out;
    out.reserve(initial.size());
    for (const AlertState& state : initial) {
      const auto it = locked.find({state.tenant, state.fingerprint});
      if (it == locked.end()) {
        return absl::InternalError(
            absl::StrCat("alert state ", state.fingerprint, " vanished after insert"));
      }
      out.push_back(it->second);
    }
    return out;
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
    txn_.exec_prepared(kSaveAlertState.name, state.tenant, state.fingerprint,
                       JsonObject(state.labels), state.firing, static_cast<int>(state.severity),
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

  absl::Status LockRule(const std::string& tenant, const std::string& rule_id) override {
    txn_.exec_params(kLockRuleSql, tenant, rule_id);
    return absl::OkStatus();
  }

  absl::StatusOr<std::map<std::vector<std::string>, GroupStats>> WindowGroups(
      const std::string& tenant, const std::string& metric,
      const std::vector<LabelMatcher>& matchers, const std::vector<std::string>& group_by,
      const BucketRange& range, bool with_sketch) override {
    std::shared_lock<std::shared_mutex> lock;
    bool in_memory = false;
    RETURN_IF_ERROR(LockForRuleRead(matchers, &lock, &in_memory));
    const MatcherArrays m = ToArrays(matchers);
    const pqxx::result rows = txn_.exec_params(
        with_sketch ? kWindowSketchesSql : kWindowGroupsSql, tenant, metric, m.names, m.ops,
        m.values, PgTextArray(group_by), PgTimestamp(range.from), PgTimestamp(range.to));
    std::map<std::vector<std::string>, GroupStats> out;
    for (const auto& row : rows) {
      GroupStats& group = out[ParseTextArray(row[0])];
      RollupStats stats;
      stats.count = row[1].as<int64_t>();
      stats.sum = row[2].as<double>();
      stats.min = row[3].as<double>();
      stats.max = row[4].as<double>();
      group.stats.Merge(stats);
      if (with_sketch && !row[5].is_null()) {
        ASSIGN_OR_RETURN(const QuantileSketch sketch, ReadSketch(row[5], metric));
        if (!group.sketch.has_value()) group.sketch.emplace();
        RETURN_IF_ERROR(group.sketch->Merge(sketch));
      }
    }
    if (in_memory) {
      absl::Status added = absl::OkStatus();
      pending_->ForEachSelected(tenant, metric, matchers, group_by, range,
                                [&](std::vector<std::string> group, const RollupDelta& cell) {
                                  if (added.ok())
                                    added = AddCell(cell, with_sketch, &out[std::move(group)]);
                                });
      RETURN_IF_ERROR(added);
    }
    return out;
  }

  absl::StatusOr<std::map<std::vector<std::string>, std::map<absl::Time, GroupStats>>> MinuteGroups(
      const std::string& tenant, const std::string& metric,
      const std::vector<LabelMatcher>& matchers, const std::vector<std::string>& group_by,
      const BucketRange& range, bool with_sketch) override {
    std::shared_lock<std::shared_mutex> lock;
    bool in_memory = false;
    RETURN_IF_ERROR(LockForRuleRead(matchers, &lock, &in_memory));
    const MatcherArrays m = ToArrays(matchers);
    const pqxx::result rows = txn_.exec_params(
        with_sketch ? kMinuteSketchesSql : kMinuteGroupsSql, tenant, metric, m.names, m.ops,
        m.values, PgTextArray(group_by), PgTimestamp(range.from), PgTimestamp(range.to));
    std::map<std::vector<std::string>, std::map<absl::Time, GroupStats>> out;
    for (const auto& row : rows) {
      GroupStats& group = out[ParseTextArray(row[0])][absl::FromUnixMicros(row[1].as<int64_t>())];
      RollupStats stats;
      stats.count = row[2].as<int64_t>();
      stats.sum = row[3].as<double>();
      stats.min = row[4].as<double>();
      stats.max = row[5].as<double>();
      group.stats.Merge(stats);
      if (with_sketch && !row[6].is_null()) {
        ASSIGN_OR_RETURN(const QuantileSketch sketch, ReadSketch(row[6], metric));
        if (!group.sketch.has_value()) group.sketch.emplace();
        RETURN_IF_ERROR(group.sketch->Merge(sketch));
      }
    }
    if (in_memory) {
      absl::Status added = absl::OkStatus();
      pending_->ForEachSelected(tenant, metric, matchers, group_by, range,
                                [&](std::vector<std::string> group, const RollupDelta& cell) {
                                  if (added.ok()) {
                                    added = AddCell(cell, with_sketch,
                                                    &out[std::move(group)][cell.bucket]);
                                  }
                                });
      RETURN_IF_ERROR(added);
    }
    return out;
  }

  absl::StatusOr<std::vector<AnomalySeriesState>> LoadAnomalyStates(
      const std::string& tenant, const std::string& rule_id) override {
    return PgLoadAnomalyStates(txn_, tenant, rule_id);
  }

  absl::Status SaveAnomalyState(const AnomalySeriesState& state) override {
    PgSaveAnomalyState(txn_, state);
    return absl::OkStatus();
  }

  absl::Status DeleteAnomalyState(const std::string& tenant, const std::string& rule_id,
                                  const std::string& fingerprint) override {
    PgDeleteAnomalyState(txn_, tenant, rule_id, fingerprint);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<AlertState>> LockRuleAlerts(const std::string& tenant,
                                                         const std::string& rule_id) override {
    std::vector<AlertState> out;
    for (const auto& row : txn_.exec_params(kLockRuleAlertsSql, tenant, rule_id)) {
      out.push_back(ReadRuleAlert(row));
    }
    return out;
  }

  absl::Status SaveRuleAlert(const AlertState& state) override {
    txn_.exec_params(kSaveRuleAlertSql, state.tenant, state.fingerprint, state.rule, state.name,
                     JsonObject(state.labels), state.firing, static_cast<int>(state.severity),
                     OptionalTimestamp(state.starts_at), OptionalTimestamp(state.ends_at),
                     state.value, state.rule_id, state.pending,
                     OptionalTimestamp(state.active_since), OptionalTimestamp(state.clear_since),
                     JsonObject(state.annotations), OptionalTimestamp(state.last_evaluation));
    return absl::OkStatus();
  }

  absl::Status DeleteRuleAlert(const std::string& tenant, const std::string& fingerprint) override {
    txn_.exec_params(kDeleteRuleAlertSql, tenant, fingerprint);
    return absl::OkStatus();
  }

 private:
  // For an alert-rule read: a lock on the pending cells when they are to be
  // added in memory (`*in_memory`), or FAILED_PRECONDITION when they cannot
  // be (see the constructor).
  absl::Status LockForRuleRead(const std::vector<LabelMatcher>& matchers,
                               std::shared_lock<std::shared_mutex>* lock, bool* in_memory) {
    *in_memory = false;
    if (pending_ == nullptr || needs_flush_ == nullptr) return absl::OkStatus();
    *lock = std::shared_lock<std::shared_mutex>(pending_->mu);
    if (pending_->rows.empty()) return absl::OkStatus();
    if (JournalPending::InMemory(matchers)) {
      *in_memory = true;
      return absl::OkStatus();
    }
    *needs_flush_ = true;
    return absl::FailedPreconditionError("rollups pending for a regular-expression matcher");
  }

  pqxx::work& txn_;
  const JournalPending* pending_;
  const MergedGroup* group_;
  bool* needs_flush_;
  int64_t emitted_ = 0;
};

// Adds the batch's new series and checks every touched tenant's limit.
// Adds `series` (those of a batch not known to be stored; sorted) and
// checks the series limit of each tenant that got new ones.
absl::Status WriteSeries(pqxx::work& txn, const std::vector<const SeriesRecord*>& series,
                         const StoreLimits& limits) {
  if (series.empty()) return absl::OkStatus();
  std::vector<std::string> tenants, metrics, keys, labels;
  tenants.reserve(series.size());
  metrics.reserve(series.size());
  keys.reserve(series.size());
  labels.reserve(series.size());
  for (const SeriesRecord* record : series) {
    tenants.push_back(record->tenant.str());
    metrics.push_back(record->metric.str());
    keys.push_back(record->series_key.str());
    labels.push_back(JsonObject(*record->labels));
  }
  const pqxx::result inserted =
      txn.exec_prepared(kInsertSeries.name, PgTextArray(tenants), PgTextArray(metrics),
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
  const pqxx::result counts = txn.exec_prepared(kAddTenantSeries.name, PgTextArray(added_tenants),
                                                PgInt64Array(added_counts));
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

// The column arrays of a statement writing rollup rows (kUpsertRollupsSql
// and the sketched rows' statements, which also send `sketches`).
struct RollupColumns {
  // Views of the deltas' strings (the deltas outlive the statement).
  std::vector<absl::string_view> tenants, metrics, keys;
  std::vector<std::string> sketches;
  std::vector<int64_t> buckets, counts;
  std::vector<double> sums, mins, maxs;

  explicit RollupColumns(size_t capacity = 0) {
    tenants.reserve(capacity);
    metrics.reserve(capacity);
    keys.reserve(capacity);
    buckets.reserve(capacity);
    counts.reserve(capacity);
    sums.reserve(capacity);
    mins.reserve(capacity);
    maxs.reserve(capacity);
  }
  // One row: `delta`'s cell at `bucket` (unix seconds).
  void Add(const RollupDelta& delta, int64_t bucket) {
    tenants.push_back(delta.tenant);
    metrics.push_back(delta.metric);
    keys.push_back(delta.series_key);
    buckets.push_back(bucket);
    counts.push_back(delta.stats.count);
    sums.push_back(delta.stats.sum);
    mins.push_back(delta.stats.min);
    maxs.push_back(delta.stats.max);
  }
  // The same with the cell's serialized sketch (sent as binary bytea[]).
  void Add(const RollupDelta& delta, int64_t bucket, const std::string& sketch) {
    Add(delta, bucket);
    sketches.push_back(sketch);
  }
};

// Upserts `deltas` with `statement` (kUpsertRollups or kUpsertSketchedRollups).
pqxx::result UpsertRollups(pqxx::work& txn, const common::PgStatement& statement,
                           const std::vector<const RollupDelta*>& deltas) {
  RollupColumns c(deltas.size());
  for (const RollupDelta* delta : deltas) c.Add(*delta, absl::ToUnixSeconds(delta->bucket));
  return txn.exec_prepared(statement.name, PgTextArrayOfViews(c.tenants),
                           PgTextArrayOfViews(c.metrics), PgTextArrayOfViews(c.keys),
                           PgInt64Array(c.buckets), PgInt64Array(c.counts), PgFloat8Array(c.sums),
                           PgFloat8Array(c.mins), PgFloat8Array(c.maxs));
}

// Adds sketched `deltas` (sorted by key) by upserting them, which locks the
// rows in that order and returns the sketches stored before, merging those
// in memory and writing the merged sketches back. Appends the cells as
// written from `cache_from` on to `updates` (for the cache, once committed).
absl::Status UpsertSketchedRollups(pqxx::work& txn, const std::vector<const RollupDelta*>& deltas,
                                   absl::Time cache_from,
                                   std::vector<SketchCellCache::Update>* updates) {
  if (deltas.empty()) return absl::OkStatus();
  std::unordered_map<std::string, const RollupDelta*> by_key;
  for (const RollupDelta* delta : deltas) {
    by_key[SketchCellCache::Key(delta->tenant, delta->metric, delta->series_key, delta->bucket)] =
        delta;
  }
  const pqxx::result stored = UpsertRollups(txn, kUpsertSketchedRollups, deltas);
  std::vector<std::string> tenants, metrics, keys, sketches;
  std::vector<int64_t> buckets;
  for (const auto& row : stored) {
    const int64_t bucket = row[3].as<int64_t>();
    std::string key = SketchCellCache::Key(row[0].c_str(), row[1].c_str(), row[2].c_str(),
                                           absl::FromUnixSeconds(bucket));
    const auto it = by_key.find(key);
    if (it == by_key.end()) {
      return absl::InternalError("rollup upsert returned a row the batch did not write");
    }
    const RollupDelta& delta = *it->second;
    QuantileSketch merged = *delta.sketch;
    if (!row[4].is_null()) {
      ASSIGN_OR_RETURN(const QuantileSketch previous,
                       ReadSketch(row[4], absl::StrCat(delta.metric.view(), "/",
                                                       delta.series_key.view(), "@", bucket)));
      RETURN_IF_ERROR(merged.Merge(previous));
    }
    std::string bytes = merged.Serialize();
    tenants.push_back(delta.tenant.str());
    metrics.push_back(delta.metric.str());
    keys.push_back(delta.series_key.str());
    buckets.push_back(bucket);
    sketches.push_back(bytes);
    // The row is locked until commit: its count and this sketch go together.
    if (delta.bucket < cache_from) continue;
    updates->push_back({std::move(key), {row[5].as<int64_t>(), std::move(bytes)}});
  }
  txn.exec_prepared(kWriteSketches.name, PgTextArray(tenants), PgTextArray(metrics),
                    PgTextArray(keys), PgInt64Array(buckets), common::PgByteaArray(sketches));
  return absl::OkStatus();
}

// Adds the rollup deltas of a batch (or group). Rows without a sketch go in
// one upsert, in key order (the aggregate's order), so concurrent writers
// never wait for each other in opposite orders. Rows with a sketch are
// written once each (WriteSketchedRollups): the stored count and sketch of
// each cell come from `cache` (the cell as this process last committed it)
// or, for the cells not cached, are read; the sketches are merged in memory
// and the stored rows updated only where the count is still the one cached
// or read (count grows with every write, so it versions the row); the
// missing rows are inserted unless another writer inserted them first. The
// rows another writer changed in between (another replica) go through
// UpsertSketchedRollups, which locks them first. The cells written are
// appended to `updates`, for the cache once the transaction committed. Cells
// of minutes over kSketchCacheHorizon before `now` are always read and never
// cached: their day may be dropped (retention) and written again, which
// restarts the row's count.
absl::Status WriteSketchedRollups(pqxx::work& txn, const std::vector<const RollupDelta*>& sketched,
                                  absl::Time now, SketchCellCache& cache,
                                  std::vector<SketchCellCache::Update>* updates);

absl::Status WriteRollups(pqxx::work& txn, const std::vector<const RollupDelta*>& rollups,
                          absl::Time now, SketchCellCache& cache,
                          std::vector<SketchCellCache::Update>* updates) {
  std::vector<const RollupDelta*> plain, sketched;
  for (const RollupDelta* delta : rollups) {
    (delta->sketch.has_value() ? sketched : plain).push_back(delta);
  }
  if (!plain.empty()) UpsertRollups(txn, kUpsertRollups, plain);
  if (sketched.empty()) return absl::OkStatus();
  // Index probes for the sketched rows' joins; on an error the transaction
  // rolls back, and the settings with it.
  const pqxx::row before = txn.exec_prepared1(kIndexJoins.name);
  RETURN_IF_ERROR(WriteSketchedRollups(txn, sketched, now, cache, updates));
  txn.exec_prepared(kRestoreJoins.name, before[0].as<std::string>(), before[1].as<std::string>(),
                    before[2].as<std::string>(), before[3].as<std::string>());
  return absl::OkStatus();
}

// WriteRollups' part for the rows with a sketch.
absl::Status WriteSketchedRollups(pqxx::work& txn, const std::vector<const RollupDelta*>& sketched,
                                  absl::Time now, SketchCellCache& cache,
                                  std::vector<SketchCellCache::Update>* updates) {
  const absl::Time cache_from = now - kSketchCacheHorizon;
  // A cell's state: whether its stored count and sketch are known (cached or
  // read), the count known, the merged sketch (serialized) and whether this
  // transaction wrote it.
  struct CellWrite {
    std::string key;
    bool known = false;
    bool cached = false;
    int64_t old_count = 0;
    std::string merged;
    bool written = false;
  };
  const size_t n = sketched.size();
  std::vector<CellWrite> cells(n);
  std::vector<int64_t> buckets(n);
  absl::Time first_bucket = absl::InfiniteFuture();
  absl::Time last_bucket = absl::InfinitePast();
  std::vector<size_t> to_read;
  for (size_t i = 0; i < n; ++i) {
    const RollupDelta& delta = *sketched[i];
    CellWrite& cell = cells[i];
    buckets[i] = absl::ToUnixSeconds(delta.bucket);
    first_bucket = std::min(first_bucket, delta.bucket);
    last_bucket = std::max(last_bucket, delta.bucket);
    cell.key = SketchCellCache::Key(delta.tenant, delta.metric, delta.series_key, delta.bucket);
    if (delta.bucket < cache_from) {
      cache.Forget(cell.key);
      to_read.push_back(i);
      continue;
    }
    if (std::optional<SketchCellCache::Cell> cached = cache.Lookup(cell.key)) {
      absl::StatusOr<QuantileSketch> previous = QuantileSketch::Deserialize(cached->sketch);
      QuantileSketch merged = *delta.sketch;
      if (previous.ok() && merged.Merge(*previous).ok()) {
        cell.known = true;
        cell.cached = true;
        cell.old_count = cached->count;
        cell.merged = merged.Serialize();
        continue;
      }
      // Unusable (cannot happen for what this process wrote): read instead.
      cache.Forget(cell.key);
    }
    to_read.push_back(i);
  }
  const std::string from = PgTimestamp(first_bucket);
  const std::string to = PgTimestamp(last_bucket);

  // The cells not cached: their stored count and sketch.
  if (!to_read.empty()) {
    std::vector<std::string> tenants, metrics, keys;
    std::vector<int64_t> read_buckets;
    for (size_t i : to_read) {
      tenants.push_back(sketched[i]->tenant.str());
      metrics.push_back(sketched[i]->metric.str());
      keys.push_back(sketched[i]->series_key.str());
      read_buckets.push_back(buckets[i]);
    }
    const pqxx::result stored =
        txn.exec_prepared(kReadSketchedRollups.name, PgTextArray(tenants), PgTextArray(metrics),
                          PgTextArray(keys), PgInt64Array(read_buckets), from, to);
    for (const auto& row : stored) {
      const int64_t j = row[0].as<int64_t>() - 1;
      if (j < 0 || j >= static_cast<int64_t>(to_read.size()) || cells[to_read[j]].known) {
        return absl::InternalError("rollup read returned a row the batch did not ask for");
      }
      const size_t i = to_read[j];
      const RollupDelta& delta = *sketched[i];
      QuantileSketch merged = *delta.sketch;
      if (!row[2].is_null()) {
        ASSIGN_OR_RETURN(
            const QuantileSketch previous,
            ReadSketch(row[2], absl::StrCat(delta.metric.view(), "/", delta.series_key.view(), "@",
                                            buckets[i])));
        RETURN_IF_ERROR(merged.Merge(previous));
      }
      cells[i].known = true;
      cells[i].old_count = row[1].as<int64_t>();
      cells[i].merged = merged.Serialize();
    }
  }

  // Known rows (in key order): updated where the count is still the known one.
  std::unordered_map<std::string, size_t> by_key;
  by_key.reserve(n);
  for (size_t i = 0; i < n; ++i) by_key.emplace(cells[i].key, i);
  const auto written_rows = [&](const pqxx::result& rows, const char* what) -> absl::Status {
    for (const auto& row : rows) {
      const absl::Time bucket = absl::FromUnixSeconds(row[3].as<int64_t>());
      const auto it =
          by_key.find(SketchCellCache::Key(row[0].c_str(), row[1].c_str(), row[2].c_str(), bucket));
      if (it == by_key.end()) {
        return absl::InternalError(
            absl::StrCat("rollup ", what, " returned a row the batch did not write"));
      }
      cells[it->second].written = true;
    }
    return absl::OkStatus();
  };
  {
    RollupColumns columns;
    std::vector<int64_t> old;
    for (size_t i = 0; i < n; ++i) {
      if (!cells[i].known) continue;
      columns.Add(*sketched[i], buckets[i], cells[i].merged);
      old.push_back(cells[i].old_count);
    }
    if (!columns.tenants.empty()) {
      RETURN_IF_ERROR(written_rows(
          txn.exec_prepared(kUpdateSketchedRollups.name, PgTextArrayOfViews(columns.tenants),
                            PgTextArrayOfViews(columns.metrics), PgTextArrayOfViews(columns.keys),
                            PgInt64Array(columns.buckets), PgInt64Array(columns.counts),
                            PgFloat8Array(columns.sums), PgFloat8Array(columns.mins),
                            PgFloat8Array(columns.maxs), PgInt64Array(old),
                            common::PgByteaArray(columns.sketches), from, to),
          "update"));
    }
  }
  int64_t stale = 0;
  for (const CellWrite& cell : cells) stale += cell.cached && !cell.written;
  if (stale > 0) cache.CountStale(stale);

  // Missing rows: inserted with the batch's sketch unless already there.
  {
    RollupColumns columns;
    for (size_t i = 0; i < n; ++i) {
      if (cells[i].known) continue;
      cells[i].merged = sketched[i]->sketch->Serialize();
      columns.Add(*sketched[i], buckets[i], cells[i].merged);
    }
    if (!columns.tenants.empty()) {
      RETURN_IF_ERROR(written_rows(
          txn.exec_prepared(kInsertSketchedRollups.name, PgTextArrayOfViews(columns.tenants),
                            PgTextArrayOfViews(columns.metrics), PgTextArrayOfViews(columns.keys),
                            PgInt64Array(columns.buckets), PgInt64Array(columns.counts),
                            PgFloat8Array(columns.sums), PgFloat8Array(columns.mins),
                            PgFloat8Array(columns.maxs), common::PgByteaArray(columns.sketches)),
          "insert"));
    }
  }

  // Written rows go to the cache (once committed) as written; the rows
  // another writer changed or created since the read are merged under lock.
  std::vector<const RollupDelta*> raced;
  for (size_t i = 0; i < n; ++i) {
    CellWrite& cell = cells[i];
    if (!cell.written) {
      raced.push_back(sketched[i]);
      continue;
    }
    if (sketched[i]->bucket < cache_from) continue;
    updates->push_back(
        {std::move(cell.key), {cell.old_count + sketched[i]->stats.count, std::move(cell.merged)}});
  }
  return UpsertSketchedRollups(txn, raced, cache_from, updates);
}

// Journal mode's replacement of WriteRollups in a group transaction: one
// monitor.ingest_journal row per tenant holding the tenant's merged cells
// (JournalCells). Fills `journaled` with the rows written (cells copied, with
// their series' labels, for after the commit).
absl::Status WriteJournal(pqxx::work& txn, const MergedGroup& merged, absl::Time now,
                          JournalPending* journaled) {
  // The cells are in (tenant, ...) order: one run per tenant.
  std::vector<std::pair<size_t, size_t>> runs;
  std::vector<std::string> tenants, payloads;
  for (size_t i = 0; i < merged.rollups.size();) {
    size_t j = i;
    while (j < merged.rollups.size() && merged.rollups[j]->tenant == merged.rollups[i]->tenant) ++j;
    runs.push_back({i, j});
    tenants.push_back(merged.rollups[i]->tenant.str());
    payloads.push_back(EncodeJournalCells(
        std::vector<const RollupDelta*>(merged.rollups.begin() + static_cast<std::ptrdiff_t>(i),
                                        merged.rollups.begin() + static_cast<std::ptrdiff_t>(j))));
    i = j;
  }
  if (runs.empty()) return absl::OkStatus();
  const std::set<std::string> distinct(tenants.begin(), tenants.end());
  if (distinct.size() != tenants.size()) {
    return absl::InternalError("a group's rollup cells are not in tenant order");
  }
  const pqxx::result ids =
      txn.exec_prepared(kInsertJournal.name, PgTextArray(tenants), common::PgByteaArray(payloads));
  if (ids.size() != tenants.size()) {
    return absl::InternalError("ingest journal insert returned a different number of rows");
  }
  for (const auto& row : ids) {
    const std::string tenant = row[1].as<std::string>();
    const size_t t =
        static_cast<size_t>(std::find(tenants.begin(), tenants.end(), tenant) - tenants.begin());
    if (t == tenants.size()) {
      return absl::InternalError("ingest journal insert returned a tenant it was not given");
    }
    JournalPending::Row pending;
    pending.cells.reserve(runs[t].second - runs[t].first);
    pending.labels.reserve(runs[t].second - runs[t].first);
    // Series and cells share their order: a merge join gives each cell its
    // series' labels.
    size_t s = 0;
    for (size_t i = runs[t].first; i < runs[t].second; ++i) {
      const RollupDelta& cell = *merged.rollups[i];
      int order = -1;
      while (s < merged.series.size() &&
             (order = CompareSeriesToCell(*merged.series[s], cell)) < 0) {
        ++s;
      }
      const bool found = s < merged.series.size() && order == 0;
      pending.labels.push_back(found ? merged.series[s]->labels : nullptr);
      pending.cells.push_back(cell);
    }
    journaled->rows[row[0].as<int64_t>()] = std::move(pending);
  }
  journaled->latest_now = std::max(journaled->latest_now, now);
  return absl::OkStatus();
}

// The LLM usage of a group's claimed batches (in order), packed into a few
// outbox messages (one per tenant and kMaxUsagePerMessage records) in one
// statement; `origin` is the group's first claimed (producer_id, sequence),
// which no other transaction ever claims, so the messages' keys are the
// group's own.
void EnqueueUsage(pqxx::work& txn, const std::vector<const BatchAggregate*>& aggregates,
                  absl::string_view origin) {
  std::vector<const std::vector<LlmUsageRecord>*> usage;
  usage.reserve(aggregates.size());
  for (const BatchAggregate* aggregate : aggregates) usage.push_back(&aggregate->usage);
  common::EnqueueOutboxBatch(txn, kOutboxSchema, PackGroupUsage(usage, origin));
}

}  // namespace

void PgMonitorStore::KnownSeriesKey(const SeriesRecord& series, std::string* key) {
  key->clear();
  absl::StrAppend(key, series.tenant.size(), ":", series.tenant.view(), series.metric.size(), ":",
                  series.metric.view(), series.series_key.view());
}

// A batch waiting for (or inside) a group transaction.
struct PgMonitorStore::PendingBatch {
  const std::string* producer_id = nullptr;
  uint64_t sequence = 0;
  const BatchAggregate* aggregate = nullptr;
  absl::Time now;
  // Set by the group transaction: whether the claim succeeded (false: a
  // duplicate of a committed batch).
  bool claimed = false;
  absl::StatusOr<CommitResult> result = absl::UnknownError("batch not committed");
};

PgMonitorStore::PgMonitorStore(common::PgPool& pool, StoreLimits limits,
                               std::vector<const RuleEvaluator*> evaluators,
                               PgMonitorStoreOptions options)
    : pool_(pool),
      limits_(limits),
      evaluators_(std::move(evaluators)),
      options_(std::move(options)),
      partitions_(pool),
      sketch_cache_(options_.sketch_cache_bytes),
      pending_(std::make_unique<JournalPending>()),
      committer_(
          {options_.max_concurrent_groups, options_.max_group_events},
          [](const PendingBatch& batch) { return batch.aggregate->event_count; },
          [this](const std::vector<PendingBatch*>& group) { RunGroup(group); },
          // A second copy of a (producer_id, sequence) waits for the
          // next group, where it is a duplicate of the committed one.
          [](const PendingBatch& batch) {
            return absl::StrCat(batch.producer_id->size(), ":", *batch.producer_id, ":",
                                batch.sequence);
          }) {
  pool_.AddStatements(GroupStatements());
}

absl::StatusOr<CommitResult> PgMonitorStore::CommitBatch(const std::string& producer_id,
                                                         uint64_t sequence,
                                                         const BatchAggregate& aggregate,
                                                         absl::Time now) {
  // The rollups' days must have their partitions before the transaction
  // writes into them (a replay re-checks at most a cached day).
  std::vector<int64_t> days;
  for (const RollupDelta& delta : aggregate.rollups) {
    const int64_t day = UtcDay(delta.bucket);
    if (days.empty() || days.back() != day) days.push_back(day);
  }
  std::sort(days.begin(), days.end());
  days.erase(std::unique(days.begin(), days.end()), days.end());
  RETURN_IF_ERROR(partitions_.EnsureDays(days, now));

  PendingBatch batch;
  batch.producer_id = &producer_id;
  batch.sequence = sequence;
  batch.aggregate = &aggregate;
  batch.now = now;
  // Group commit (up to the event cap per group): answered once the
  // transaction holding the batch committed.
  committer_.Commit(&batch);
  return std::move(batch.result);
}

PgMonitorStore::~PgMonitorStore() = default;

size_t PgMonitorStore::QueuedBatches() { return committer_.Queued(); }

size_t PgMonitorStore::PendingJournalRows() const {
  std::shared_lock<std::shared_mutex> lock(pending_->mu);
  return pending_->rows.size();
}

absl::Status PgMonitorStore::ApplyCells(pqxx::work& txn,
                                        const std::vector<const RollupDelta*>& cells,
                                        absl::Time now,
                                        std::vector<SketchCellCache::Update>* sketch_updates) {
  std::vector<int64_t> days;
  for (const RollupDelta* cell : cells) days.push_back(UtcDay(cell->bucket));
  std::sort(days.begin(), days.end());
  days.erase(std::unique(days.begin(), days.end()), days.end());
  RETURN_IF_ERROR(partitions_.EnsureDays(days, now));
  return WriteRollups(txn, cells, now, sketch_cache_, sketch_updates);
}

absl::StatusOr<int64_t> PgMonitorStore::FlushRollups(absl::Time now) {
  if (!options_.journal_rollups) return 0;
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  // The rows to apply and their cells: only this flush removes them from
  // the map, and a sweeper only those it applied (never one this flush's
  // DELETE returns), so the rows stay valid outside the lock.
  std::vector<int64_t> ids;
  std::map<int64_t, const JournalPending::Row*> rows;
  {
    std::shared_lock<std::shared_mutex> lock(pending_->mu);
    for (const auto& [id, row] : pending_->rows) {
      ids.push_back(id);
      rows[id] = &row;
    }
  }
  if (ids.empty()) return 0;
  std::vector<int64_t> applied;
  std::vector<SketchCellCache::Update> sketch_updates;
  std::unique_lock<std::shared_mutex> commit_lock(pending_->mu, std::defer_lock);
  absl::Status status;
  for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
    applied.clear();
    sketch_updates.clear();
    if (commit_lock.owns_lock()) commit_lock.unlock();
    status = pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
      std::vector<const std::vector<RollupDelta>*> cells;
      for (const auto& row : txn.exec_prepared(kDeleteJournal.name, PgInt64Array(ids))) {
        const int64_t id = row[0].as<int64_t>();
        const auto it = rows.find(id);
        if (it == rows.end()) return absl::InternalError("journal delete returned another row");
        applied.push_back(id);
        cells.push_back(&it->second->cells);
      }
      std::deque<RollupDelta> folded;
      std::vector<const RollupDelta*> merged;
      RETURN_IF_ERROR(MergeJournalCells(cells, &folded, &merged));
      RETURN_IF_ERROR(ApplyCells(txn, merged, now, &sketch_updates));
      // Readers wait from here until the rows left the map: they see the
      // cells either pending or committed.
      commit_lock.lock();
      return absl::OkStatus();
    });
    if (!absl::IsAborted(status)) break;
  }
  if (!status.ok()) return status;
  // Committed: the rows applied now and those a sweeper applied before.
  for (const int64_t id : ids) pending_->rows.erase(id);
  commit_lock.unlock();
  sketch_cache_.Remember(std::move(sketch_updates));
  return static_cast<int64_t>(applied.size());
}

absl::StatusOr<int64_t> PgMonitorStore::SweepJournal(absl::Time now, absl::Duration min_age,
                                                     int limit, int64_t* quarantined) {
  std::vector<int64_t> swept;
  std::vector<int64_t> bad_ids;
  std::vector<std::string> bad_reasons;
  std::vector<SketchCellCache::Update> sketch_updates;
  std::unique_lock<std::shared_mutex> commit_lock(pending_->mu, std::defer_lock);
  absl::Status status;
  for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
    swept.clear();
    bad_ids.clear();
    bad_reasons.clear();
    sketch_updates.clear();
    if (commit_lock.owns_lock()) commit_lock.unlock();
    status = pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
      const pqxx::result rows =
          txn.exec_params(kLockOldJournalSql,
                          absl::ToDoubleSeconds(std::max(min_age, absl::ZeroDuration())), limit);
      if (rows.empty()) return absl::OkStatus();
      std::vector<std::vector<RollupDelta>> decoded;
      decoded.reserve(rows.size());
      for (const auto& row : rows) {
        const int64_t id = row[0].as<int64_t>();
        absl::StatusOr<std::vector<RollupDelta>> cells =
            DecodeJournalCells(row[1].as<std::string>(), pqxx::binarystring(row[2]).str());
        if (!cells.ok()) {
          bad_ids.push_back(id);
          bad_reasons.emplace_back(cells.status().message());
          continue;
        }
        decoded.push_back(std::move(*cells));
        swept.push_back(id);
      }
      std::vector<const std::vector<RollupDelta>*> cells;
      for (const auto& row : decoded) cells.push_back(&row);
      std::deque<RollupDelta> folded;
      std::vector<const RollupDelta*> merged;
      RETURN_IF_ERROR(MergeJournalCells(cells, &folded, &merged));
      RETURN_IF_ERROR(ApplyCells(txn, merged, now, &sketch_updates));
      // No evaluation read these cells (their writer died before its flush,
      // or stalled): the rules of their metrics owe one, paid by the alert
      // sweep once these rollups are committed.
      if (!merged.empty()) {
        std::vector<std::string> owed_tenants, owed_metrics;
        for (const RollupDelta* cell : merged) {
          if (!owed_tenants.empty() && owed_tenants.back() == cell->tenant &&
              owed_metrics.back() == cell->metric) {
            continue;
          }
          owed_tenants.push_back(cell->tenant.str());
          owed_metrics.push_back(cell->metric.str());
        }
        txn.exec_params(kOweSweptEvaluationsSql, PgTextArray(owed_tenants),
                        PgTextArray(owed_metrics));
      }
      std::vector<int64_t> taken = swept;
      if (!bad_ids.empty()) {
        txn.exec_params(kQuarantineJournalSql, PgInt64Array(bad_ids), PgTextArray(bad_reasons));
        taken.insert(taken.end(), bad_ids.begin(), bad_ids.end());
      }
      txn.exec_params(kDeleteSweptJournalSql, PgInt64Array(taken));
      commit_lock.lock();
      return absl::OkStatus();
    });
    if (!absl::IsAborted(status)) break;
  }
  if (!status.ok()) return status;
  // This store's own rows among them (it stalled) are applied now. Its cells
  // of a row quarantined here stay in memory until its next flush finds the
  // row gone and drops them, as after any sweep: the quarantine keeps the
  // row's bytes.
  if (commit_lock.owns_lock()) {
    for (const int64_t id : swept) pending_->rows.erase(id);
    commit_lock.unlock();
  }
  sketch_cache_.Remember(std::move(sketch_updates));
  if (quarantined != nullptr) *quarantined = static_cast<int64_t>(bad_ids.size());
  return static_cast<int64_t>(swept.size() + bad_ids.size());
}

absl::Status PgMonitorStore::FlushForRead() {
  if (!options_.journal_rollups) return absl::OkStatus();
  absl::Time now;
  {
    std::shared_lock<std::shared_mutex> lock(pending_->mu);
    if (pending_->rows.empty()) return absl::OkStatus();
    now = pending_->latest_now;
  }
  return FlushRollups(now).status();
}

void PgMonitorStore::RunGroup(const std::vector<PendingBatch*>& group) {
  if (options_.before_group) options_.before_group(group.size());
  std::vector<std::string> new_series;
  std::map<std::string, RuleMetrics> rule_metrics;
  std::vector<SketchCellCache::Update> sketch_updates;
  JournalPending journaled;
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(rules_mu_);
    generation = rules_generation_;
  }
  absl::Status status;
  for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
    new_series.clear();
    rule_metrics.clear();
    sketch_updates.clear();
    journaled.rows.clear();
    for (PendingBatch* b : group) {
      b->claimed = false;
      b->result = absl::UnknownError("batch not committed");
    }
    status = pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
      return WriteGroup(txn, group, &new_series, &rule_metrics, &sketch_updates, &journaled);
    });
    if (!absl::IsAborted(status)) break;
  }
  if (!status.ok()) {
    if (group.size() == 1) {
      group[0]->result = status;
      return;
    }
    // The shared transaction failed (and rolled back): each batch again on
    // its own, so that a batch that cannot be written fails alone.
    for (PendingBatch* b : group) RunGroup({b});
    return;
  }
  // Committed: the sketches as written are what the rows now hold.
  sketch_cache_.Remember(std::move(sketch_updates));
  if (!journaled.rows.empty()) {
    // Pending before any batch of the group is acknowledged.
    std::unique_lock<std::shared_mutex> lock(pending_->mu);
    for (auto& [id, row] : journaled.rows) pending_->rows[id] = std::move(row);
    pending_->latest_now = std::max(pending_->latest_now, journaled.latest_now);
  }
  if (!new_series.empty()) {
    std::lock_guard<std::mutex> lock(series_mu_);
    if (known_series_.size() + new_series.size() > kMaxKnownSeries) known_series_.clear();
    for (std::string& key : new_series) known_series_.insert(std::move(key));
  }
  std::lock_guard<std::mutex> lock(rules_mu_);
  if (generation == rules_generation_) {
    for (auto& [tenant, metrics] : rule_metrics) rule_metrics_[tenant] = std::move(metrics);
  }
}

absl::Status PgMonitorStore::WriteGroup(pqxx::work& txn, const std::vector<PendingBatch*>& group,
                                        std::vector<std::string>* new_series,
                                        std::map<std::string, RuleMetrics>* rule_metrics,
                                        std::vector<SketchCellCache::Update>* sketch_updates,
                                        JournalPending* journaled) {
  // One claim for the group, in (producer_id, sequence) order so that
  // concurrent groups wait for each other in one order.
  std::vector<PendingBatch*> by_key = group;
  std::sort(by_key.begin(), by_key.end(), [](const PendingBatch* a, const PendingBatch* b) {
    return std::tie(*a->producer_id, a->sequence) < std::tie(*b->producer_id, b->sequence);
  });
  std::vector<std::string> producers;
  std::vector<int64_t> sequences, counts;
  producers.reserve(group.size());
  sequences.reserve(group.size());
  counts.reserve(group.size());
  for (const PendingBatch* b : by_key) {
    producers.push_back(*b->producer_id);
    sequences.push_back(static_cast<int64_t>(b->sequence));
    counts.push_back(b->aggregate->event_count);
  }
  const pqxx::result claimed = txn.exec_prepared(kClaimBatches.name, PgTextArray(producers),
                                                 PgInt64Array(sequences), PgInt64Array(counts));
  std::set<std::pair<std::string, int64_t>> claimed_keys;
  for (const auto& row : claimed) {
    claimed_keys.insert({row[0].as<std::string>(), row[1].as<int64_t>()});
  }
  std::vector<const BatchAggregate*> aggregates;
  absl::Time now = absl::InfinitePast();
  for (PendingBatch* b : group) {
    b->claimed = claimed_keys.count({*b->producer_id, static_cast<int64_t>(b->sequence)}) > 0;
    if (!b->claimed) {
      CommitResult duplicate;
      duplicate.duplicate = true;
      b->result = duplicate;
      continue;
    }
    aggregates.push_back(b->aggregate);
    now = std::max(now, b->now);
  }
  if (aggregates.empty()) return absl::OkStatus();

  // The merged aggregate: pointers into the batches (only the cells
  // several batches feed are copied and folded).
  MergedGroup merged;
  RETURN_IF_ERROR(MergeGroup(aggregates, &merged));

  // Series stored before (by any replica: rows are never removed) need no
  // upsert; the others are remembered once the group committed.
  std::vector<const SeriesRecord*> unknown;
  {
    std::string key;
    std::lock_guard<std::mutex> lock(series_mu_);
    for (const SeriesRecord* series : merged.series) {
      KnownSeriesKey(*series, &key);
      if (!known_series_.contains(key)) {
        unknown.push_back(series);
        new_series->push_back(key);
      }
    }
  }
  RETURN_IF_ERROR(WriteSeries(txn, unknown, limits_));
  if (options_.journal_rollups) {
    RETURN_IF_ERROR(WriteJournal(txn, merged, now, journaled));
  } else {
    RETURN_IF_ERROR(WriteRollups(txn, merged.rollups, now, sketch_cache_, sketch_updates));
  }
  for (const PendingBatch* b : by_key) {
    if (!options_.forward_usage) break;
    if (!b->claimed) continue;
    EnqueueUsage(txn, aggregates,
                 absl::StrCat(b->producer_id->size(), ":", *b->producer_id, ":", b->sequence));
    break;
  }

  // The metrics of the group's tenants that alert rules watch, for
  // EvaluateAlertRules right after the commit.
  std::vector<std::string> tenants;
  for (const SeriesRecord* series : merged.series) {
    if (tenants.empty() || tenants.back() != series->tenant) {
      tenants.push_back(series->tenant.str());
    }
  }
  tenants.erase(std::unique(tenants.begin(), tenants.end()), tenants.end());
  const auto read_at = std::chrono::steady_clock::now();
  for (const std::string& tenant : tenants) (*rule_metrics)[tenant].read_at = read_at;
  for (const auto& row : txn.exec_prepared(kRuleMetrics.name, PgTextArray(tenants))) {
    RuleMetrics& entry = (*rule_metrics)[row[0].as<std::string>()];
    entry.metrics.insert(row[1].as<std::string>());
    if (!row[2].is_null()) entry.metrics.insert(row[2].as<std::string>());
  }

  // Every (tenant, metric) of the group that a rule watches owes an
  // evaluation, committed with the data: the evaluation after the commit
  // pays it, and if that never happens (it failed, or the process died) the
  // alert sweep does. Nothing is written when no rule watches the group.
  if (std::any_of(rule_metrics->begin(), rule_metrics->end(),
                  [](const auto& entry) { return !entry.second.metrics.empty(); })) {
    std::set<std::pair<std::string, std::string>> owed;
    const SeriesRecord* previous = nullptr;
    const RuleMetrics* watching = nullptr;
    for (const SeriesRecord* series : merged.series) {
      if (previous != nullptr && previous->tenant == series->tenant &&
          previous->metric == series->metric) {
        continue;
      }
      if (previous == nullptr || previous->tenant != series->tenant) {
        const auto it = rule_metrics->find(series->tenant.str());
        watching = it == rule_metrics->end() ? nullptr : &it->second;
      }
      previous = series;
      if (watching != nullptr && watching->metrics.count(series->metric.str()) > 0) {
        owed.insert({series->tenant.str(), series->metric.str()});
      }
    }
    if (!owed.empty()) {
      std::vector<std::string> owed_tenants, owed_metrics;
      for (const auto& [tenant, metric] : owed) {
        owed_tenants.push_back(tenant);
        owed_metrics.push_back(metric);
      }
      txn.exec_params(kOweEvaluationsSql, PgTextArray(owed_tenants), PgTextArray(owed_metrics));
    }
  }

  // The evaluators see a lone batch's aggregate, or the group's event count
  // and workflows (what the built-in evaluators read; RuleEvaluator).
  BatchAggregate group_summary;
  const BatchAggregate* for_rules = aggregates[0];
  if (aggregates.size() > 1) {
    group_summary.event_count = merged.event_count;
    group_summary.workflows = std::move(merged.workflows);
    for_rules = &group_summary;
  }
  CommitResult group_result;
  PgRuleContext context(txn, options_.journal_rollups ? pending_.get() : nullptr, &merged);
  for (const RuleEvaluator* evaluator : evaluators_) {
    RETURN_IF_ERROR(evaluator->OnBatch(*for_rules, context, now, &group_result.alerts));
  }
  bool first = true;
  for (PendingBatch* b : group) {
    if (!b->claimed) continue;
    CommitResult result;
    result.accepted = b->aggregate->event_count;
    result.outbox_enqueued =
        options_.forward_usage ? static_cast<int64_t>(b->aggregate->usage.size()) : 0;
    if (first) {
      result.alerts = group_result.alerts;
      result.outbox_enqueued += context.emitted();
      first = false;
    }
    b->result = result;
  }
  return absl::OkStatus();
}

void PgMonitorStore::ForgetRuleMetrics(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(rules_mu_);
  ++rules_generation_;
  rule_metrics_.erase(tenant);
}

absl::StatusOr<SweepResult> PgMonitorStore::SweepAlerts(absl::Time now, int limit) {
  absl::StatusOr<SweepResult> builtin =
      pool_.Transact<SweepResult>([&](pqxx::work& txn) -> absl::StatusOr<SweepResult> {
        SweepResult result;
        PgRuleContext context(txn, options_.journal_rollups ? pending_.get() : nullptr);
        for (const RuleEvaluator* evaluator : evaluators_) {
          RETURN_IF_ERROR(evaluator->OnSweep(context, now, limit, &result.alerts));
        }
        result.outbox_enqueued = context.emitted();
        return result;
      });
  if (!builtin.ok()) return builtin;
  ASSIGN_OR_RETURN(const SweepResult rules, SweepAlertRules(now, limit));
  builtin->alerts.fired += rules.alerts.fired;
  builtin->alerts.resolved += rules.alerts.resolved;
  builtin->outbox_enqueued += rules.outbox_enqueued;
  ASSIGN_OR_RETURN(const SweepResult owed, EvaluateOwedRules(now, limit));
  builtin->alerts.fired += owed.alerts.fired;
  builtin->alerts.resolved += owed.alerts.resolved;
  builtin->outbox_enqueued += owed.outbox_enqueued;
  return builtin;
}

absl::StatusOr<SweepResult> PgMonitorStore::EvaluateOwedRules(absl::Time now, int limit) {
  std::vector<std::string> tenants, metrics;
  absl::Status read = pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    for (const auto& row : txn.exec_params(
             kOwedEvaluationsSql, absl::ToDoubleSeconds(options_.owed_evaluation_age), limit)) {
      tenants.push_back(row[0].as<std::string>());
      metrics.push_back(row[1].as<std::string>());
    }
    return absl::OkStatus();
  });
  RETURN_IF_ERROR(read);
  if (tenants.empty()) return SweepResult{};
  return EvaluateRulesOf(tenants, metrics, now);
}

absl::StatusOr<SweepResult> PgMonitorStore::SweepAlertRules(absl::Time now, int limit) {
  RETURN_IF_ERROR(FlushForRead());
  return pool_.Transact<SweepResult>([&](pqxx::work& txn) -> absl::StatusOr<SweepResult> {
    SweepResult result;
    PgRuleContext context(txn);
    // Sorted by (tenant, rule id): rule locks are always taken in that order.
    const std::string last_complete = PgTimestamp(MinuteBucket(now) - absl::Minutes(1));
    for (const auto& active : txn.exec_params(kActiveRulesSql, limit, last_complete)) {
      const std::string tenant = active[0].as<std::string>();
      const std::string rule_id = active[1].as<std::string>();
      const pqxx::result rows = txn.exec_params(kRuleByKeySql, tenant, rule_id);
      if (rows.empty()) {
        // Deleted without resolving (should not happen): resolve now.
        AlertRule gone;
        gone.tenant = tenant;
        gone.id = rule_id;
        gone.name = active[2].as<std::string>();
        RETURN_IF_ERROR(ResolveAlertRule(gone, context, now, &result.alerts));
        continue;
      }
      RETURN_IF_ERROR(EvaluateAlertRule(ReadRule(rows[0]), context, now, &result.alerts));
    }
    result.outbox_enqueued = context.emitted();
    return result;
  });
}

absl::StatusOr<std::vector<HealthRow>> PgMonitorStore::ReadHealthRows(const HealthScope& scope,
                                                                      const BucketRange& range) {
  RETURN_IF_ERROR(FlushForRead());
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
          health.component = row[9].as<std::string>();
          out.push_back(std::move(health));
        }
        return out;
      });
}

absl::StatusOr<std::vector<HealthSketchRow>> PgMonitorStore::ReadHealthSketches(
    const HealthScope& scope, const BucketRange& range) {
  RETURN_IF_ERROR(FlushForRead());
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
  // This replica's pending cells are added in memory for equality
  // matchers (the callers merge the rows of one group and step), flushed
  // first otherwise.
  const bool in_memory = options_.journal_rollups && JournalPending::InMemory(query.matchers);
  if (!in_memory) RETURN_IF_ERROR(FlushForRead());
  return pool_.Transact<std::vector<StepRow>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<StepRow>> {
        std::shared_lock<std::shared_mutex> pending_lock;
        if (in_memory) pending_lock = std::shared_lock<std::shared_mutex>(pending_->mu);
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
        if (in_memory) {
          const int64_t step_s = std::max<int64_t>(1, absl::ToInt64Seconds(query.step));
          std::map<std::pair<std::vector<std::string>, int64_t>, StepRow> added;
          absl::Status merged = absl::OkStatus();
          pending_->ForEachSelected(query.tenant, query.metric, query.matchers, query.group_by,
                                    {query.bucket_from, query.end},
                                    [&](std::vector<std::string> group, const RollupDelta& cell) {
                                      const int64_t bucket = absl::ToUnixSeconds(cell.bucket);
                                      const int64_t start =
                                          (bucket >= 0 ? bucket : bucket - step_s + 1) / step_s *
                                          step_s;
                                      StepRow& row = added[{group, start}];
                                      row.group_values = std::move(group);
                                      row.step_start = absl::FromUnixSeconds(start);
                                      row.stats.Merge(cell.stats);
                                      if (quantile && cell.sketch.has_value() && merged.ok()) {
                                        if (!row.sketch.has_value()) row.sketch.emplace();
                                        merged = row.sketch->Merge(*cell.sketch);
                                      }
                                    });
          RETURN_IF_ERROR(merged);
          for (auto& [key, row] : added) out.push_back(std::move(row));
        }
        // AssembleSeries merges the rows of one group and step.
        return out;
      });
}

absl::StatusOr<ScopeThresholds> PgMonitorStore::SetThresholds(const ScopeThresholds& thresholds,
                                                              absl::Time now) {
  return pool_.Transact<ScopeThresholds>([&](pqxx::work& txn) -> absl::StatusOr<ScopeThresholds> {
    const HealthScope& scope = thresholds.scope;
    txn.exec_params(kLockTenantThresholdsSql, scope.tenant);
    std::vector<std::string> indicators;
    std::vector<double> warnings, criticals;
    std::vector<std::string> disabled;
    for (const ThresholdOverride& entry : thresholds.thresholds) {
      indicators.push_back(entry.indicator);
      warnings.push_back(entry.warning);
      criticals.push_back(entry.critical);
      disabled.push_back(entry.disabled ? "true" : "false");
    }
    const pqxx::result upserted =
        txn.exec_params(kUpsertThresholdsSql, scope.tenant, ScopeKey(scope), scope.team,
                        scope.workflow, scope.agent, scope.model, scope.provider, scope.service,
                        JsonObject(scope.tags), PgTextArray(indicators), PgFloat8Array(warnings),
                        PgFloat8Array(criticals), PgTextArray(disabled), PgTimestamp(now));
    if (upserted[0][0].as<bool>()) {
      const int64_t scopes =
          txn.exec_params(kCountTenantThresholdsSql, scope.tenant)[0][0].as<int64_t>();
      if (scopes > kMaxThresholdScopesPerTenant) {
        return absl::ResourceExhaustedError(
            absl::StrCat("thresholds.scope: tenant \"", scope.tenant, "\" has ",
                         kMaxThresholdScopesPerTenant, " scopes with overrides, the most allowed"));
      }
    }
    ScopeThresholds stored = thresholds;
    // Postgres keeps microseconds.
    stored.update_time = absl::FromUnixMicros(absl::ToUnixMicros(now));
    return stored;
  });
}

absl::Status PgMonitorStore::DeleteThresholds(const HealthScope& scope) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    if (txn.exec_params(kDeleteThresholdsSql, scope.tenant, ScopeKey(scope)).empty()) {
      return absl::NotFoundError("scope: no threshold overrides for this scope");
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<ScopeThresholds>> PgMonitorStore::ReadThresholds(
    const std::string& tenant) {
  return pool_.Transact<std::vector<ScopeThresholds>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<ScopeThresholds>> {
        std::vector<ScopeThresholds> out;
        for (const auto& row : txn.exec_params(kReadThresholdsSql, tenant)) {
          ASSIGN_OR_RETURN(ScopeThresholds entry, ReadThresholdRow(row));
          out.push_back(std::move(entry));
        }
        return out;
      });
}

absl::StatusOr<ThresholdPage> PgMonitorStore::ListThresholds(
    const std::string& tenant, const std::optional<std::pair<std::string, std::string>>& after,
    int page_size) {
  return pool_.Transact<ThresholdPage>([&](pqxx::work& txn) -> absl::StatusOr<ThresholdPage> {
    // The empty tenant and key sort first, so ("", "") starts before every row
    // but the tenant-less scope whose key is ""; scope keys are never empty.
    const std::pair<std::string, std::string> from = after.value_or(std::make_pair("", ""));
    const pqxx::result rows = txn.exec_params(kListThresholdsSql, tenant, from.first, from.second,
                                              static_cast<int64_t>(page_size) + 1);
    ThresholdPage page;
    for (const auto& row : rows) {
      if (static_cast<int>(page.entries.size()) == page_size) {
        page.next =
            std::make_pair(page.entries.back().scope.tenant, ScopeKey(page.entries.back().scope));
        break;
      }
      ASSIGN_OR_RETURN(ScopeThresholds entry, ReadThresholdRow(row));
      page.entries.push_back(std::move(entry));
    }
    return page;
  });
}

absl::StatusOr<RuleWriteResult> PgMonitorStore::CreateAlertRule(const AlertRule& rule,
                                                                const std::string& request_id,
                                                                absl::Time now) {
  // Before and after the write: a group that read the rules in between does
  // not install its reading (the generation moved).
  ForgetRuleMetrics(rule.tenant);
  absl::Cleanup forget = [&] { ForgetRuleMetrics(rule.tenant); };
  RETURN_IF_ERROR(FlushForRead());
  return pool_.Transact<RuleWriteResult>([&](pqxx::work& txn) -> absl::StatusOr<RuleWriteResult> {
    RuleWriteResult result;
    txn.exec_params(kLockTenantRulesSql, rule.tenant);
    if (!request_id.empty()) {
      const pqxx::result existing = txn.exec_params(kRuleByRequestSql, rule.tenant, request_id);
      if (!existing.empty()) {
        result.rule = ReadRule(existing[0]);
        return result;
      }
    }
    RETURN_IF_ERROR(NameTaken(txn, rule));
    if (txn.exec_params(kCountRulesSql, rule.tenant)[0][0].as<int64_t>() >=
        kMaxAlertRulesPerTenant) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "rule: tenant \"", rule.tenant, "\" has ", kMaxAlertRulesPerTenant, " rules, the most"));
    }
    RETURN_IF_ERROR(
        CheckRegexes(txn, rule.condition.matchers,
                     rule.anomaly.enabled ? "rule.anomaly.matchers" : "rule.threshold.matchers"));
    RETURN_IF_ERROR(CheckRegexes(txn, rule.condition.denominator_matchers,
                                 "rule.threshold.denominator_matchers"));
    AlertRule stored = rule;
    stored.id = WriteRule(txn, rule, request_id, now, true)[0][0].as<std::string>();
    stored.create_time = absl::FromUnixMicros(absl::ToUnixMicros(now));
    stored.update_time = stored.create_time;
    PgRuleContext context(txn);
    RETURN_IF_ERROR(EvaluateAlertRule(stored, context, now, &result.alerts));
    result.outbox_enqueued = context.emitted();
    result.rule = std::move(stored);
    return result;
  });
}

absl::StatusOr<AlertRule> PgMonitorStore::GetAlertRule(const std::string& id) {
  return pool_.Transact<AlertRule>([&](pqxx::work& txn) -> absl::StatusOr<AlertRule> {
    const pqxx::result rows = txn.exec_params(kRuleByIdSql, id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("id: no alert rule \"", id, "\""));
    return ReadRule(rows[0]);
  });
}

absl::StatusOr<RuleWriteResult> PgMonitorStore::UpdateAlertRule(const AlertRule& rule,
                                                                absl::Time now) {
  ForgetRuleMetrics(rule.tenant);
  absl::Cleanup forget = [&] { ForgetRuleMetrics(rule.tenant); };
  RETURN_IF_ERROR(FlushForRead());
  return pool_.Transact<RuleWriteResult>([&](pqxx::work& txn) -> absl::StatusOr<RuleWriteResult> {
    const pqxx::result rows = txn.exec_params(kRuleByIdForUpdateSql, rule.id);
    if (rows.empty()) {
      return absl::NotFoundError(absl::StrCat("rule.id: no alert rule \"", rule.id, "\""));
    }
    const AlertRule previous = ReadRule(rows[0]);
    if (previous.tenant != rule.tenant) {
      return common::InvalidField("rule.tenant", "cannot change");
    }
    RETURN_IF_ERROR(NameTaken(txn, rule));
    RETURN_IF_ERROR(
        CheckRegexes(txn, rule.condition.matchers,
                     rule.anomaly.enabled ? "rule.anomaly.matchers" : "rule.threshold.matchers"));
    RETURN_IF_ERROR(CheckRegexes(txn, rule.condition.denominator_matchers,
                                 "rule.threshold.denominator_matchers"));
    WriteRule(txn, rule, "", now, false);
    RuleWriteResult result;
    result.rule = rule;
    result.rule.create_time = previous.create_time;
    result.rule.update_time = absl::FromUnixMicros(absl::ToUnixMicros(now));
    PgRuleContext context(txn);
    RETURN_IF_ERROR(EvaluateAlertRule(result.rule, context, now, &result.alerts));
    // A rule that stops being an anomaly rule leaves no detector behind.
    if (previous.anomaly.enabled && !result.rule.anomaly.enabled) {
      RETURN_IF_ERROR(DropAnomalyStates(previous, context));
    }
    result.outbox_enqueued = context.emitted();
    return result;
  });
}

absl::StatusOr<SweepResult> PgMonitorStore::DeleteAlertRule(const std::string& id, absl::Time now) {
  return pool_.Transact<SweepResult>([&](pqxx::work& txn) -> absl::StatusOr<SweepResult> {
    const pqxx::result rows = txn.exec_params(kRuleByIdForUpdateSql, id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("id: no alert rule \"", id, "\""));
    const AlertRule rule = ReadRule(rows[0]);
    SweepResult result;
    PgRuleContext context(txn);
    RETURN_IF_ERROR(ResolveAlertRule(rule, context, now, &result.alerts));
    txn.exec_params(kDeleteRuleSql, rule.tenant, rule.id);
    result.outbox_enqueued = context.emitted();
    return result;
  });
}

absl::StatusOr<AlertRulePage> PgMonitorStore::ListAlertRules(
    const std::string& tenant, const std::optional<std::pair<std::string, std::string>>& after,
    int page_size) {
  return pool_.Transact<AlertRulePage>([&](pqxx::work& txn) -> absl::StatusOr<AlertRulePage> {
    const std::pair<std::string, std::string> from = after.value_or(std::make_pair("", ""));
    const pqxx::result rows = txn.exec_params(kListRulesSql, tenant, from.first, from.second,
                                              static_cast<int64_t>(page_size) + 1);
    AlertRulePage page;
    for (const auto& row : rows) {
      if (static_cast<int>(page.rules.size()) == page_size) {
        page.next = std::make_pair(page.rules.back().name, page.rules.back().id);
        break;
      }
      page.rules.push_back(ReadRule(row));
    }
    return page;
  });
}

absl::StatusOr<SweepResult> PgMonitorStore::EvaluateAlertRules(const BatchAggregate& aggregate,
                                                               absl::Time now) {
  // The series are in (tenant, metric, ...) order: a pair goes into the set
  // once per run of series, not once per series.
  std::set<std::pair<std::string, std::string>> fed;
  const SeriesRecord* previous = nullptr;
  for (const SeriesRecord& series : aggregate.series) {
    if (previous == nullptr || previous->metric != series.metric ||
        previous->tenant != series.tenant) {
      fed.insert({series.tenant.str(), series.metric.str()});
    }
    previous = &series;
  }
  if (fed.empty()) return SweepResult{};
  {
    // No transaction when a fresh reading shows that no enabled rule of the
    // batch's tenants watches a metric the batch fed.
    const auto now_steady = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(rules_mu_);
    bool watched = false;
    for (const auto& [tenant, metric] : fed) {
      const auto it = rule_metrics_.find(tenant);
      if (it == rule_metrics_.end() || now_steady - it->second.read_at > kRuleMetricsTtl ||
          it->second.metrics.count(metric) > 0) {
        watched = true;
        break;
      }
    }
    if (!watched) return SweepResult{};
  }
  std::vector<std::string> tenants, metrics;
  for (const auto& [tenant, metric] : fed) {
    tenants.push_back(tenant);
    metrics.push_back(metric);
  }
  return EvaluateRulesOf(tenants, metrics, now);
}

absl::StatusOr<SweepResult> PgMonitorStore::EvaluateRulesOf(const std::vector<std::string>& tenants,
                                                            const std::vector<std::string>& metrics,
                                                            absl::Time now) {
  // Rules read the rollups and this replica's pending cells (equality
  // matchers); a rule with a regular expression flushes them first.
  bool needs_flush = false;
  const JournalPending* pending = options_.journal_rollups ? pending_.get() : nullptr;
  absl::StatusOr<SweepResult> result;
  for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
    result = pool_.Transact<SweepResult>([&](pqxx::work& txn) -> absl::StatusOr<SweepResult> {
      SweepResult out;
      txn.exec_params(kPayEvaluationsSql, PgTextArray(tenants), PgTextArray(metrics));
      PgRuleContext context(txn, pending, nullptr, &needs_flush);
      for (const auto& row :
           txn.exec_params(kRulesForBatchSql, PgTextArray(tenants), PgTextArray(metrics))) {
        RETURN_IF_ERROR(EvaluateAlertRule(ReadRule(row), context, now, &out.alerts));
      }
      out.outbox_enqueued = context.emitted();
      return out;
    });
    if (needs_flush && pending != nullptr) {
      // Rolled back; the batches acknowledged so far go to the rollups and
      // the rules read Postgres alone.
      needs_flush = false;
      pending = nullptr;
      RETURN_IF_ERROR(FlushForRead());
      --attempt;
      continue;
    }
    if (!absl::IsAborted(result.status())) break;
  }
  return result;
}

absl::StatusOr<ActiveAlertPage> PgMonitorStore::ListActiveAlerts(
    const ActiveAlertFilter& filter, const std::optional<ActiveAlertCursor>& after, int page_size) {
  return pool_.Transact<ActiveAlertPage>([&](pqxx::work& txn) -> absl::StatusOr<ActiveAlertPage> {
    RETURN_IF_ERROR(CheckRegexes(txn, filter.matchers, "matchers"));
    std::vector<int64_t> severities;
    for (Severity severity : filter.severities) {
      severities.push_back(static_cast<int64_t>(severity));
    }
    const MatcherArrays m = ToArrays(filter.matchers);
    const ActiveAlertCursor from = after.value_or(ActiveAlertCursor{});
    const pqxx::result rows =
        txn.exec_params(kActiveAlertsSql, filter.tenant, filter.include_pending,
                        PgInt64Array(severities), m.names, m.ops, m.values, from.severity,
                        from.tenant, from.fingerprint, static_cast<int64_t>(page_size) + 1);
    ActiveAlertPage page;
    for (const auto& row : rows) {
      if (static_cast<int>(page.alerts.size()) == page_size) {
        const AlertState& last = page.alerts.back();
        page.next =
            ActiveAlertCursor{static_cast<int>(last.severity), last.tenant, last.fingerprint};
        break;
      }
      page.alerts.push_back(ReadRuleAlert(row));
    }
    return page;
  });
}

absl::StatusOr<SeriesPage> PgMonitorStore::ListSeries(
    const SeriesListQuery& query, const std::optional<std::pair<std::string, std::string>>& after,
    int page_size) {
  RETURN_IF_ERROR(FlushForRead());
  return pool_.Transact<SeriesPage>([&](pqxx::work& txn) -> absl::StatusOr<SeriesPage> {
    RETURN_IF_ERROR(CheckRegexes(txn, query.matchers, "matchers"));
    const MatcherArrays m = ToArrays(query.matchers);
    const std::pair<std::string, std::string> from = after.value_or(std::make_pair("", ""));
    const bool ranged = query.start.has_value() || query.end.has_value();
    const std::string start =
        query.start.has_value() ? PgTimestamp(MinuteBucket(*query.start)) : std::string();
    const std::string end = query.end.has_value() ? PgTimestamp(*query.end) : std::string();
    const pqxx::result rows = txn.exec_params(kListSeriesSql, query.tenant, query.metric, m.names,
                                              m.ops, m.values, from.first, from.second, ranged,
                                              start, end, static_cast<int64_t>(page_size) + 1);
    SeriesPage page;
    std::string last_key;
    for (const auto& row : rows) {
      if (static_cast<int>(page.series.size()) == page_size) {
        page.next = std::make_pair(page.series.back().metric, last_key);
        break;
      }
      SeriesInfo info;
      info.tenant = row[0].as<std::string>();
      info.metric = row[1].as<std::string>();
      info.labels = ParseLabelArrays(row[2], row[3]);
      last_key = row[4].as<std::string>();
      info.first_time = absl::FromUnixMicros(row[5].as<int64_t>());
      info.last_time = absl::FromUnixMicros(row[6].as<int64_t>());
      page.series.push_back(std::move(info));
    }
    return page;
  });
}

absl::StatusOr<StoreGauges> PgMonitorStore::ReadGauges() {
  return pool_.Transact<StoreGauges>([&](pqxx::work& txn) -> absl::StatusOr<StoreGauges> {
    const pqxx::row row = txn.exec(kGaugesSql)[0];
    StoreGauges gauges;
    gauges.active_series = row[0].as<int64_t>();
    gauges.outbox_depth = row[1].as<int64_t>();
    return gauges;
  });
}

}  // namespace agentwatch::monitor
