#include "incident/store/pg_incident_store.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/log.h"
#include "common/outbox.h"
#include "common/pg_binary_array.h"
#include "common/status_macros.h"
#include "incident/core/auto_resolve.h"
#include "incident/store/pg_incident_rows.h"

namespace agentwatch::incident {
namespace {

// Attempts of a transaction that ends ABORTED (deadlock, serialization
// failure, a concurrent writer of the same report or request id).
constexpr int kMaxAttempts = 4;

// The ends_at of firing reports, which are identified without one:
// '-infinity'.
constexpr absl::Time kNoEndsAt = absl::InfinitePast();

// clang-format off
#define AW_ALERT_COLUMNS                                                                  \
  "a.tenant_id, a.incident_id, a.fingerprint, a.name, a.severity, a.status, "             \
  "a.labels::text, a.annotations::text, "                                                 \
  AW_INCIDENT_PG_TIME("a.starts_at") ", " AW_INCIDENT_PG_TIME("a.ends_at")                \
  ", a.source, a.generator_url, " AW_INCIDENT_PG_TIME("a.joined_at") ", "                 \
  AW_INCIDENT_PG_TIME("a.update_time")
// clang-format on

// Intake looks rows up by key (index probes per alert) in tables that grow
// all the time. A prepared statement's generic plan is made once per
// connection and kept: made while a table was small (a fresh database, or
// statistics not analyzed since), it hashes or scans the whole table on every
// batch from then on (seen: 10-30 ms a batch on alert_reports). Intake plans
// each execution for the tables' current sizes instead (a fraction of a
// millisecond a transaction), keeping the parsed statements. Custom plans
// alone still hashed the whole of incident.alerts for the batch's UPDATEs
// (unnest(...) joined on the primary key): with statistics older than the
// table's HOT churn, a sequential scan of every row version looked cheaper
// than a thousand index probes, and it grew with the table (auto_explain in
// bench/incident_intake: 40-50 ms a statement at 40-110k row versions,
// against ~20 ms through alerts_pkey). Intake's statements join a batch's
// keys (or its tenants' firing alerts) to tables by key, so intake plans
// without hash and merge joins: index nested loops, at a cost that follows
// the batch, not the table.
//
// With sequential and bitmap scans off as well, the statements that probe
// their tables per key through LATERAL ... LIMIT 1 (or only insert) have no
// other plan than those probes, whatever the statistics: intake plans them
// once per connection (a generic plan, kept) instead of at every execution.
// Planning was ~10 us of Postgres' ~60 us per webhook alert (groups of ~65
// alerts, ~11 statements planned each; pg_stat_statements with
// track_planning). The statements that join their keys to a table
// (kUpdateAlertStates, kUpdateAlerts, kSelectAlertsIn) are still planned at
// each execution (kCustomPlans before them): as generic plans made on small
// tables they scan the whole table once and join it in memory (a
// Materialize under the nested loop), which grows with the table.
// kSelectFiringAlerts, which reads every firing alert of its tenants, runs
// under kFiringAlertsPlanning.
constexpr char kIntakePlanning[] =
    "SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_hashjoin = off; "
    "SET LOCAL enable_mergejoin = off; SET LOCAL enable_seqscan = off; "
    "SET LOCAL enable_bitmapscan = off";
// kIntakePlanning as set_config() calls (is_local: until the transaction
// ends, as SET LOCAL), so that a statement intake runs anyway applies it
// (kLockGroupsPlanning) instead of a round trip of its own.
#define AW_INCIDENT_INTAKE_PLANNING                                                           \
  "set_config('plan_cache_mode', 'force_generic_plan', true), "                               \
  "set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true), " \
  "set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)"
constexpr char kCustomPlans[] = "SET LOCAL plan_cache_mode = force_custom_plan";
// With kIntakePlanning, before kUpdateAlertStatesByTid's generic plan: index
// scans off as well leave it no plan but a Tid Scan per row. Made on small
// tables without it, the generic plan reads the whole of incident.alerts
// once per execution through an index and joins it in memory (a
// Materialize), which grows with the table (PgIntakeGenericPlansTest).
// Only that statement may plan under it: the timeline trigger's query
// planned without index scans (kept by PL/pgSQL for the connection) cost
// milliseconds a statement in bench/incident_intake.
constexpr char kTidUpdatePlanning[] = "SET LOCAL enable_indexscan = off";
constexpr char kGenericPlans[] = "SET LOCAL plan_cache_mode = force_generic_plan";
// kSelectFiringAlerts (only when the tenants have inhibition rules): planned
// for its execution, any scan allowed; kIntakePlanning is set again after it.
constexpr char kFiringAlertsPlanning[] =
    "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL enable_seqscan = on; "
    "SET LOCAL enable_bitmapscan = on";

// $1 lock space, $2 JSON array of group keys. The locks are taken in hash
// order (output expressions run after ORDER BY), so batches never deadlock.
#define AW_INCIDENT_LOCK_GROUPS                                                          \
  "SELECT pg_advisory_xact_lock($1::integer, h) FROM (SELECT DISTINCT hashtext(k) AS h " \
  "FROM jsonb_array_elements_text($2::jsonb) AS k) AS s ORDER BY h"
constexpr char kLockGroups[] = AW_INCIDENT_LOCK_GROUPS;
// Intake's kLockGroups: applies kIntakePlanning first (the set_config() calls
// run left to right, before the subquery; they run whatever the number of
// keys), then takes the locks as kLockGroups does (a volatile output column
// of a subquery is computed even when the query above reads none of it).
constexpr char kLockGroupsPlanning[] =
    "SELECT " AW_INCIDENT_INTAKE_PLANNING ", (SELECT count(*) FROM (" AW_INCIDENT_LOCK_GROUPS
    ") AS l)";

// $1..$6 arrays of the keys' positions, tenant ids, fingerprints, statuses,
// starts_at and ends_at ('-infinity' for firing reports). One primary-key
// probe per key (LATERAL ... LIMIT 1: never a hash of the whole table).
// Arrays, not a JSON document: no JSON parsing per key.
constexpr char kSelectKnownReports[] =
    "SELECT k.i, r.incident_id FROM unnest($1::integer[], $2::text[], $3::text[], "
    "$4::smallint[], $5::timestamptz[], $6::timestamptz[]) AS k(i, tenant_id, fingerprint, "
    "status, starts_at, ends_at) CROSS JOIN LATERAL (SELECT r.incident_id FROM "
    "incident.alert_reports r WHERE r.tenant_id = k.tenant_id AND "
    "r.fingerprint = k.fingerprint AND r.status = k.status AND r.starts_at = k.starts_at AND "
    "r.ends_at = k.ends_at LIMIT 1) AS r";

// $1 JSON [{tenant_id, group_key}] (distinct, sorted: every intake locks in
// the same order). One probe of incidents_open_group_idx per group (LATERAL
// ... LIMIT 1, the index holds at most one): as an IN (...) join, stale
// statistics made it read and filter every open incident of every tenant
// for each group (seen: 6 ms a call at 1,000 open incidents).
constexpr char kLockOpenGroupIncidents[] =
    "SELECT " AW_INCIDENT_COLUMNS
    " FROM jsonb_to_recordset($1::jsonb) AS g(tenant_id text, group_key text) CROSS JOIN "
    "LATERAL (SELECT * FROM incident.incidents l WHERE l.tenant_id = g.tenant_id AND "
    "l.group_key = g.group_key AND l.status IN (1, 2, 3) LIMIT 1) AS i "
    "ORDER BY i.tenant_id, i.id FOR UPDATE OF i";

// $1 tenants, $2 fingerprints (text arrays, distinct pairs), $3 how many
// of them (the first) fire: each fingerprint's latest alert row (greatest
// joined_at, then incident id): one index probe per fingerprint (LATERAL ...
// LIMIT 1: never a scan of the whole table). Each row comes back with its
// key's position in the arrays (1-based) instead of its tenant and
// fingerprint, which intake holds. Labels and annotations come back as '{}'
// for the fingerprints that only resolve: intake never changes those, and
// rendering two JSON objects a row as text costs about as much as the probe.
// The keys are arrays, not a JSON document: parsing them with
// jsonb_to_recordset was a quarter to a third of the statement. The last
// column is the row's ctid, where kUpdateAlertStatesByTid finds it again.
constexpr char kSelectLatestAlerts[] =
    "SELECT f.i, a.incident_id, a.name, a.severity, a.status, "
    "CASE WHEN f.i <= $3 THEN a.labels::text ELSE '{}' END, "
    "CASE WHEN f.i <= $3 THEN a.annotations::text ELSE '{}' END, "
    AW_INCIDENT_PG_TIME("a.starts_at") ", " AW_INCIDENT_PG_TIME("a.ends_at")
    ", a.source, a.generator_url, " AW_INCIDENT_PG_TIME("a.joined_at") ", "
    AW_INCIDENT_PG_TIME("a.update_time") ", a.row_ctid"
    " FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS f(tenant_id, fingerprint, i) "
    "CROSS JOIN LATERAL (SELECT *, l.ctid::text AS row_ctid FROM incident.alerts l WHERE "
    "l.tenant_id = f.tenant_id AND l.fingerprint = f.fingerprint ORDER BY l.joined_at DESC, "
    "l.incident_id DESC LIMIT 1) AS a";

// $1 JSON [{tenant_id, id}] (distinct, sorted): one primary-key probe each,
// as kLockOpenGroupIncidents.
constexpr char kLockIncidents[] =
    "SELECT " AW_INCIDENT_COLUMNS
    " FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id text, id text) CROSS JOIN LATERAL "
    "(SELECT * FROM incident.incidents l WHERE l.tenant_id = x.tenant_id AND l.id = x.id "
    "LIMIT 1) AS i ORDER BY i.tenant_id, i.id FOR UPDATE OF i";

// $1 JSON [{tenant_id, fingerprint}], $2 JSON [{tenant_id, id}] of incidents.
constexpr char kSelectAlertsIn[] =
    "SELECT " AW_ALERT_COLUMNS
    " FROM jsonb_to_recordset($1::jsonb) AS f(tenant_id text, fingerprint text) "
    "JOIN incident.alerts a ON a.tenant_id = f.tenant_id AND a.fingerprint = f.fingerprint "
    "WHERE (a.tenant_id, a.incident_id) IN (SELECT x.tenant_id, x.id FROM "
    "jsonb_to_recordset($2::jsonb) AS x(tenant_id text, id text))";

#define AW_INCIDENT_UPSERT_INCIDENTS                                                           \
  "INSERT INTO incident.incidents AS i (tenant_id, id, group_key, title, status, severity, "   \
  "severity_pinned, labels, alert_count, firing_alert_count, owner, start_time, create_time, " \
  "update_time, acknowledge_time, mitigate_time, resolve_time, close_time, escalation_tier, "  \
  "auto_resolved, postmortem_id) "                                                             \
  "SELECT x.tenant_id, x.id, x.group_key, x.title, x.status, x.severity, x.severity_pinned, "  \
  "x.labels, x.alert_count, x.firing_alert_count, x.owner, x.start_time, x.create_time, "      \
  "x.update_time, x.acknowledge_time, x.mitigate_time, x.resolve_time, x.close_time, "         \
  "x.escalation_tier, x.auto_resolved, x.postmortem_id "                                       \
  "FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id text, id text, group_key text, "          \
  "title text, status smallint, severity smallint, severity_pinned boolean, labels jsonb, "    \
  "alert_count bigint, firing_alert_count bigint, owner text, start_time timestamptz, "        \
  "create_time timestamptz, update_time timestamptz, acknowledge_time timestamptz, "           \
  "mitigate_time timestamptz, resolve_time timestamptz, close_time timestamptz, "              \
  "escalation_tier integer, auto_resolved boolean, postmortem_id text) "                       \
  "ON CONFLICT (tenant_id, id) DO UPDATE SET title = EXCLUDED.title, "                         \
  "status = EXCLUDED.status, severity = EXCLUDED.severity, "                                   \
  "severity_pinned = EXCLUDED.severity_pinned, labels = EXCLUDED.labels, "                     \
  "alert_count = EXCLUDED.alert_count, firing_alert_count = EXCLUDED.firing_alert_count, "     \
  "owner = EXCLUDED.owner, start_time = EXCLUDED.start_time, "                                 \
  "update_time = EXCLUDED.update_time, acknowledge_time = EXCLUDED.acknowledge_time, "         \
  "mitigate_time = EXCLUDED.mitigate_time, resolve_time = EXCLUDED.resolve_time, "             \
  "close_time = EXCLUDED.close_time, escalation_tier = EXCLUDED.escalation_tier, "             \
  "auto_resolved = EXCLUDED.auto_resolved, postmortem_id = EXCLUDED.postmortem_id"
constexpr char kUpsertIncidents[] = AW_INCIDENT_UPSERT_INCIDENTS;

constexpr char kUpsertAlerts[] =
    "INSERT INTO incident.alerts (tenant_id, incident_id, fingerprint, name, severity, status, "
    "labels, annotations, starts_at, ends_at, source, generator_url, joined_at, update_time) "
    "SELECT x.tenant_id, x.incident_id, x.fingerprint, x.name, x.severity, x.status, x.labels, "
    "x.annotations, x.starts_at, x.ends_at, x.source, x.generator_url, x.joined_at, "
    "x.update_time FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id text, incident_id text, "
    "fingerprint text, name text, severity smallint, status smallint, labels jsonb, "
    "annotations jsonb, starts_at timestamptz, ends_at timestamptz, source text, "
    "generator_url text, joined_at timestamptz, update_time timestamptz) "
    "ON CONFLICT (tenant_id, incident_id, fingerprint) DO UPDATE SET name = EXCLUDED.name, "
    "severity = EXCLUDED.severity, status = EXCLUDED.status, labels = EXCLUDED.labels, "
    "annotations = EXCLUDED.annotations, starts_at = EXCLUDED.starts_at, "
    "ends_at = EXCLUDED.ends_at, source = EXCLUDED.source, "
    "generator_url = EXCLUDED.generator_url, update_time = EXCLUDED.update_time";

// The alert rows a batch changes that exist already (loaded under the
// batch's locks): a plain UPDATE, which stays HOT (migration 008 leaves room
// on the pages) instead of a speculative insertion per row.
constexpr char kUpdateAlerts[] =
    "UPDATE incident.alerts AS a SET name = x.name, severity = x.severity, status = x.status, "
    "labels = x.labels, annotations = x.annotations, starts_at = x.starts_at, "
    "ends_at = x.ends_at, source = x.source, generator_url = x.generator_url, "
    "update_time = x.update_time FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id text, "
    "incident_id text COLLATE \"C\", fingerprint text, name text, severity smallint, "
    "status smallint, labels jsonb, annotations jsonb, starts_at timestamptz, "
    "ends_at timestamptz, source text, generator_url text, joined_at timestamptz, "
    "update_time timestamptz) WHERE a.tenant_id = x.tenant_id AND "
    "a.incident_id = x.incident_id AND a.fingerprint = x.fingerprint";

// The alert rows a batch changes whose labels and annotations stayed as
// loaded (a resolve, a refire of the same alert): only the state columns,
// from arrays ($1..$11), without rewriting and re-parsing two JSON objects a
// row.
constexpr char kUpdateAlertStates[] =
    "UPDATE incident.alerts AS a SET name = x.name, severity = x.severity, status = x.status, "
    "starts_at = x.starts_at, ends_at = x.ends_at, source = x.source, "
    "generator_url = x.generator_url, update_time = x.update_time FROM unnest($1::text[], "
    "$2::text[], $3::text[], $4::text[], $5::smallint[], $6::smallint[], $7::timestamptz[], "
    "$8::timestamptz[], $9::text[], $10::text[], $11::timestamptz[]) AS x(tenant_id, "
    "incident_id, fingerprint, name, severity, status, starts_at, ends_at, source, "
    "generator_url, update_time) WHERE a.tenant_id = x.tenant_id AND "
    "a.incident_id = x.incident_id COLLATE \"C\" AND a.fingerprint = x.fingerprint";

// kUpdateAlertStates for rows read by kSelectLatestAlerts in the same
// transaction, found by the ctid it answered ($1) instead of a probe of
// alerts_pkey each: one Tid Scan per row, whatever the table's size, so its
// generic plan is kept (no planning per execution) when it is made under
// kTidUpdatePlanning, which the statement turns off again as it runs (the
// statements after it, and the timeline's trigger, plan as before). Answers
// how many rows it updated: the key still has to match, and a row that moved
// meanwhile (nothing intake knows of moves one: its incident is locked) is
// not updated, which intake sees in the count and writes the transaction
// again with kUpdateAlertStates.
constexpr char kUpdateAlertStatesByTid[] =
    "WITH updated AS (UPDATE incident.alerts AS a SET name = x.name, severity = x.severity, status "
    "= x.status, "
    "starts_at = x.starts_at, ends_at = x.ends_at, source = x.source, "
    "generator_url = x.generator_url, update_time = x.update_time FROM unnest($1::tid[], "
    "$2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[], $7::smallint[], "
    "$8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[], $12::timestamptz[]) AS "
    "x(t, tenant_id, incident_id, fingerprint, name, severity, status, starts_at, ends_at, "
    "source, generator_url, update_time) WHERE a.ctid = x.t AND a.tenant_id = x.tenant_id AND "
    "a.incident_id = x.incident_id COLLATE \"C\" AND a.fingerprint = x.fingerprint RETURNING 1) "
    "SELECT count(*), set_config('enable_indexscan', 'on', true) FROM updated";

// Intake appends its reports and timeline entries with COPY (the cheapest
// bulk insert Postgres has). The timeline rows carry their entry ids, taken
// from the sequence just before (AW_INCIDENT_RESERVE_ENTRY_IDS) in plan order per
// incident: an incident's entries of one transaction share a row (migration
// 015).
constexpr const char* kReportColumns[] = {"tenant_id", "fingerprint", "status",     "starts_at",
                                          "ends_at",   "incident_id", "received_at"};
using pg_rows::kTimelineColumns;

// The runs of consecutive ids (first, count), ascending, of `source`: a
// subquery of (n, id) where n = 1, 2, ... numbers the ids in increasing
// order. Within a run id - n is constant, and it grows from a run to the
// next (ids skipped), so the runs are the groups of id - n. (It was id -
// row_number() OVER (ORDER BY n), the same value, whose window and sort
// cost ~0.27 us an id more: 0.64 -> 0.38 us an id with nextval, measured
// on the dev Postgres over 1,700 ids, 3 rounds.)
#define AW_INCIDENT_ID_RUNS_OF(source, more) \
  "SELECT min(id), count(*)" more " FROM (" source ") AS s GROUP BY id - n ORDER BY 1"

// `count` ids from the timeline's sequence, as runs of consecutive ids
// (first, count), ascending. Other writers take ids at the same time, so a
// run can end before `count` ids; the ids are in nextval order, which is n's
// (generate_series' rows, each taking its id as it is produced).
#define AW_INCIDENT_RESERVE_ENTRY_IDS(count, more)                           \
  AW_INCIDENT_ID_RUNS_OF(                                                    \
      "SELECT n, nextval('incident.timeline_entry_id_seq'::regclass) AS id " \
      "FROM generate_series(1, " count "::integer) AS n",                    \
      more)

// Intake's incident upsert and entry-id reservation in one statement (one
// round trip): $1 kUpsertIncidents' JSON array (may be empty), $2 how many
// entry ids (AW_INCIDENT_RESERVE_ENTRY_IDS, at least 1), $3 the plan_cache_mode for the
// rest of the transaction (set_config, is_local; kCustomPlans when the
// UPDATEs by key follow), $4 enable_indexscan for the rest of the
// transaction ('off' when only kUpdateAlertStatesByTid follows: see
// kTidUpdatePlanning). A data-modifying WITH runs once and to completion
// whether or not the query reads it; a unique violation fails the statement
// as kUpsertIncidents alone would.
constexpr char kUpsertIncidentsReserveEntryIds[] =
    "WITH upserted AS (" AW_INCIDENT_UPSERT_INCIDENTS
    ") " AW_INCIDENT_RESERVE_ENTRY_IDS("$2",
                                       ", set_config('plan_cache_mode', $3::text, true), "
                                       "set_config('enable_indexscan', $4::text, true)");

// Entries get their entry_id in `seq` order.
constexpr char kInsertTimeline[] =
    "INSERT INTO incident.timeline (tenant_id, incident_id, entry_time, actor, kind, "
    "entry_text, details) SELECT x.tenant_id, x.incident_id, x.entry_time, x.actor, x.kind, "
    "x.entry_text, x.details FROM jsonb_to_recordset($1::jsonb) AS x(seq integer, "
    "tenant_id text, incident_id text, entry_time timestamptz, actor text, kind text, "
    "entry_text text, details jsonb) ORDER BY x.seq";

constexpr char kSelectIncidentGroup[] =
    "SELECT tenant_id, group_key FROM incident.incidents WHERE id = $1 ORDER BY tenant_id "
    "LIMIT 1";

constexpr char kLockIncident[] = "SELECT " AW_INCIDENT_COLUMNS
                                 " FROM incident.incidents i WHERE i.tenant_id = $1 AND "
                                 "i.id = $2 FOR UPDATE";

constexpr char kSelectRequest[] =
    "SELECT method, incident_id, encode(response, 'hex') FROM incident.requests "
    "WHERE tenant_id = $1 AND request_id = $2";

constexpr char kInsertRequest[] =
    "INSERT INTO incident.requests (tenant_id, request_id, method, incident_id, response, "
    "create_time) VALUES ($1, $2, $3, $4, decode($5, 'hex'), now())";

constexpr char kSelectOtherOpenIncident[] =
    "SELECT id FROM incident.incidents WHERE tenant_id = $1 AND group_key = $2 AND "
    "status IN (1, 2, 3) AND id <> $3 LIMIT 1";

constexpr char kSelectIncident[] = "SELECT " AW_INCIDENT_COLUMNS
                                   " FROM incident.incidents i WHERE i.id = $1 "
                                   "ORDER BY i.tenant_id LIMIT 1";

constexpr char kSelectIncidentAlerts[] =
    "SELECT " AW_ALERT_COLUMNS
    " FROM incident.alerts a WHERE a.tenant_id = $1 AND a.incident_id = $2 "
    "ORDER BY a.joined_at, a.fingerprint COLLATE \"C\"";

// One row per entry, intake's packed rows expanded (migration 015).
constexpr char kSelectTimeline[] =
    "SELECT " AW_INCIDENT_PG_MICROS("entry_time") ", actor, kind, entry_text, details::text "
    "FROM incident.timeline_entries WHERE tenant_id = $1 AND incident_id = $2 ORDER BY entry_id";

// $1 the latest last alert end that is due, $2 limit. Skips rows others hold.
constexpr char kLockAutoResolveDue[] =
    "SELECT " AW_INCIDENT_COLUMNS ", " AW_INCIDENT_PG_MICROS("e.last_end")
    " FROM incident.incidents i CROSS JOIN LATERAL ("
    "SELECT max(a.ends_at) AS last_end FROM incident.alerts a "
    "WHERE a.tenant_id = i.tenant_id AND a.incident_id = i.id) e "
    "WHERE i.status IN (1, 2, 3) AND i.firing_alert_count = 0 AND i.alert_count > 0 "
    "AND e.last_end <= $1::timestamptz "
    "ORDER BY i.tenant_id, i.id LIMIT $2 FOR UPDATE OF i SKIP LOCKED";

// $1 tenant, $2 fingerprint.
constexpr char kSelectOpenIncidentOf[] =
    "SELECT a.incident_id FROM incident.alerts a JOIN incident.incidents i "
    "ON i.tenant_id = a.tenant_id AND i.id = a.incident_id "
    "WHERE a.tenant_id = $1 AND a.fingerprint = $2 AND i.status IN (1, 2, 3) "
    "ORDER BY a.joined_at DESC LIMIT 1";

// $1 tenant or '', $2 statuses, $3 severities (smallint[] literals, '{}' for
// any), $4 created from, $5 created before ('-infinity'/'infinity' for any),
// $6 owner or '', $7/$8 the cursor ('infinity', '' for the first page),
// $9 JSON [{name, op, value}] matchers, $10 limit.
constexpr char kListIncidents[] =
    "SELECT " AW_INCIDENT_COLUMNS
    " FROM incident.incidents i WHERE ($1 = '' OR i.tenant_id = $1) "
    "AND (cardinality($2::smallint[]) = 0 OR i.status = ANY($2::smallint[])) "
    "AND (cardinality($3::smallint[]) = 0 OR i.severity = ANY($3::smallint[])) "
    "AND i.create_time >= $4::timestamptz AND i.create_time < $5::timestamptz "
    "AND ($6 = '' OR i.owner = $6) "
    "AND (i.create_time, i.id) < ($7::timestamptz, $8::text) "
    "AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($9::jsonb) AS m(name text, op integer, "
    "value text) WHERE NOT CASE m.op "
    "WHEN 1 THEN coalesce(i.labels ->> m.name, '') = m.value "
    "WHEN 2 THEN coalesce(i.labels ->> m.name, '') <> m.value "
    "WHEN 3 THEN coalesce(i.labels ->> m.name, '') ~ ('^(?:' || m.value || ')$') "
    "ELSE coalesce(i.labels ->> m.name, '') !~ ('^(?:' || m.value || ')$') END) "
    "ORDER BY i.create_time DESC, i.id DESC LIMIT $10";

// clang-format off
#define AW_RULE_COLUMNS                                                                   \
  "tenant_id, id, name, source_matchers::text, target_matchers::text, "                   \
  "equal_labels::text, (extract(epoch from create_time) * 1000000)::bigint, "             \
  "(extract(epoch from update_time) * 1000000)::bigint"
// clang-format on

// $1 JSON array of tenants.
constexpr char kSelectTenantRules[] = "SELECT " AW_RULE_COLUMNS
                                      " FROM incident.inhibition_rules WHERE tenant_id IN "
                                      "(SELECT jsonb_array_elements_text($1::jsonb))";

// $1 JSON array of tenants: the firing alerts of their open incidents (the
// possible inhibition sources).
constexpr char kSelectFiringAlerts[] =
    "SELECT " AW_ALERT_COLUMNS
    " FROM incident.alerts a JOIN incident.incidents i ON i.tenant_id = a.tenant_id AND "
    "i.id = a.incident_id WHERE a.tenant_id IN (SELECT jsonb_array_elements_text($1::jsonb)) "
    "AND a.status = 1 AND i.status IN (1, 2, 3)";

constexpr char kInsertRule[] =
    "INSERT INTO incident.inhibition_rules (tenant_id, id, name, source_matchers, "
    "target_matchers, equal_labels, create_time, update_time) VALUES ($1, $2, $3, $4::jsonb, "
    "$5::jsonb, $6::jsonb, $7::timestamptz, $8::timestamptz) ON CONFLICT (tenant_id, id) "
    "DO NOTHING";

constexpr char kSelectRule[] = "SELECT " AW_RULE_COLUMNS
                               " FROM incident.inhibition_rules WHERE id = $1 "
                               "ORDER BY tenant_id LIMIT 1";

constexpr char kUpdateRule[] =
    "UPDATE incident.inhibition_rules SET name = $2, source_matchers = $3::jsonb, "
    "target_matchers = $4::jsonb, equal_labels = $5::jsonb, update_time = $6::timestamptz "
    "WHERE id = $1";

constexpr char kDeleteRule[] = "DELETE FROM incident.inhibition_rules WHERE id = $1";

// $1 tenant ('' any), $2/$3 cursor (create_time, id), $4 limit.
constexpr char kListRules[] =
    "SELECT " AW_RULE_COLUMNS
    " FROM incident.inhibition_rules WHERE ($1 = '' OR tenant_id = $1) AND "
    "(create_time, id) < ($2::timestamptz, $3) ORDER BY create_time DESC, id DESC LIMIT $4";

#undef AW_RULE_COLUMNS
#undef AW_ALERT_COLUMNS
// clang-format off
#define AW_SILENCE_COLUMNS                                                                \
  "tenant_id, id, matchers::text, " AW_INCIDENT_PG_MICROS("starts_at") ", "               \
  AW_INCIDENT_PG_MICROS("ends_at") ", "                                                   \
  "author, comment, has_recurrence, recurrence_days, recurrence_start, recurrence_end, "  \
  "recurrence_zone, " AW_INCIDENT_PG_MICROS("expire_time") ", "                           \
  AW_INCIDENT_PG_MICROS("create_time") ", " AW_INCIDENT_PG_MICROS("update_time")
// clang-format on

// $1..$14 the columns; a retried create (same tenant and id) changes nothing.
constexpr char kInsertSilence[] =
    "INSERT INTO incident.silences (tenant_id, id, matchers, starts_at, ends_at, author, "
    "comment, has_recurrence, recurrence_days, recurrence_start, recurrence_end, "
    "recurrence_zone, create_time, update_time) VALUES ($1, $2, $3::jsonb, $4::timestamptz, "
    "NULLIF($5, '')::timestamptz, $6, $7, $8, $9, $10, $11, $12, $13::timestamptz, "
    "$14::timestamptz) "
    "ON CONFLICT (tenant_id, id) DO NOTHING";

constexpr char kSelectSilenceByKey[] =
    "SELECT " AW_SILENCE_COLUMNS " FROM incident.silences WHERE tenant_id = $1 AND id = $2";

constexpr char kSelectSilence[] = "SELECT " AW_SILENCE_COLUMNS
                                  " FROM incident.silences WHERE id = $1 "
                                  "ORDER BY tenant_id LIMIT 1";

// $1 id: the silence row, locked for an update.
constexpr char kSelectSilenceForUpdate[] = "SELECT " AW_SILENCE_COLUMNS
                                           " FROM incident.silences WHERE id = $1 "
                                           "ORDER BY tenant_id LIMIT 1 FOR UPDATE";

// $1 tenant, $2 id, $3..$13 the writable columns and update_time.
constexpr char kUpdateSilence[] =
    "UPDATE incident.silences SET matchers = $3::jsonb, starts_at = $4::timestamptz, "
    "ends_at = NULLIF($5, '')::timestamptz, author = $6, comment = $7, has_recurrence = $8, "
    "recurrence_days = $9, recurrence_start = $10, recurrence_end = $11, recurrence_zone = $12, "
    "update_time = $13::timestamptz WHERE tenant_id = $1 AND id = $2";

// $1 id, $2 now: expires the silence unless it expired earlier.
constexpr char kExpireSilence[] =
    "UPDATE incident.silences SET expire_time = LEAST(COALESCE(expire_time, $2::timestamptz), "
    "$2::timestamptz), update_time = CASE WHEN expire_time IS NULL OR expire_time > "
    "$2::timestamptz THEN $2::timestamptz ELSE update_time END WHERE id = $1";

// $1 JSON array of tenants, $2 now: the silences intake must consider.
constexpr char kSelectActiveSilences[] =
    "SELECT " AW_SILENCE_COLUMNS
    " FROM incident.silences WHERE tenant_id IN "
    "(SELECT jsonb_array_elements_text($1::jsonb)) AND starts_at <= $2::timestamptz AND "
    "(ends_at IS NULL OR ends_at > $2::timestamptz) AND "
    "(expire_time IS NULL OR expire_time > $2::timestamptz)";

// $1 tenant ('' any), $2 include expired, $3 now, $4/$5 cursor (create_time,
// id), $6 limit.
constexpr char kListSilences[] =
    "SELECT " AW_SILENCE_COLUMNS
    " FROM incident.silences WHERE ($1 = '' OR tenant_id = $1) "
    "AND ($2 OR ((ends_at IS NULL OR ends_at > $3::timestamptz) AND "
    "(expire_time IS NULL OR expire_time > $3::timestamptz))) AND "
    "(create_time, id) < ($4::timestamptz, $5) ORDER BY create_time DESC, id DESC LIMIT $6";

#undef AW_SILENCE_COLUMNS

// --- JSON parameters -------------------------------------------------------

std::string Json(absl::string_view text) {
  return absl::StrCat("\"", common::JsonEscape(text), "\"");
}

std::string Json(const Labels& labels) {
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    absl::StrAppend(&out, first ? "" : ",", Json(name), ":", Json(value));
    first = false;
  }
  out.push_back('}');
  return out;
}

std::string Json(absl::Time t) { return Json(common::PgTimestamp(t)); }

std::string Json(const std::optional<absl::Time>& t) { return t ? Json(*t) : "null"; }

const char* Json(bool b) { return b ? "true" : "false"; }

int Wire(Severity s) { return static_cast<int>(s); }
int Wire(AlertStatus s) { return static_cast<int>(s); }
int Wire(IncidentStatus s) { return static_cast<int>(s); }

// Joins JSON objects into an array.
std::string JsonArray(const std::vector<std::string>& objects) {
  return absl::StrCat("[", absl::StrJoin(objects, ","), "]");
}

std::string IncidentJson(const Incident& i) {
  return absl::StrCat(
      "{\"tenant_id\":", Json(i.tenant), ",\"id\":", Json(i.id),
      ",\"group_key\":", Json(i.group_key), ",\"title\":", Json(i.title),
      ",\"status\":", Wire(i.status), ",\"severity\":", Wire(i.severity),
      ",\"severity_pinned\":", Json(i.severity_pinned), ",\"labels\":", Json(i.labels),
      ",\"alert_count\":", i.alert_count, ",\"firing_alert_count\":", i.firing_alert_count,
      ",\"owner\":", Json(i.owner), ",\"start_time\":", Json(i.start_time),
      ",\"create_time\":", Json(i.create_time), ",\"update_time\":", Json(i.update_time),
      ",\"acknowledge_time\":", Json(i.acknowledge_time),
      ",\"mitigate_time\":", Json(i.mitigate_time), ",\"resolve_time\":", Json(i.resolve_time),
      ",\"close_time\":", Json(i.close_time), ",\"escalation_tier\":", i.escalation_tier,
      ",\"auto_resolved\":", Json(i.auto_resolved), ",\"postmortem_id\":", Json(i.postmortem_id),
      "}");
}

// Appends `text` as a JSON string to `out`.
void AppendJson(std::string* out, absl::string_view text) {
  out->push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(out, "\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void AppendJson(std::string* out, const Labels& labels) {
  out->push_back('{');
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out->push_back(',');
    first = false;
    AppendJson(out, name);
    out->push_back(':');
    AppendJson(out, value);
  }
  out->push_back('}');
}

void AppendJson(std::string* out, absl::Time t) {
  out->push_back('"');
  common::AppendPgTimestamp(out, t);
  out->push_back('"');
}

// The JSON array of alert rows for kUpsertAlerts / kUpdateAlerts.
std::string AlertRowsJson(const std::vector<const AlertState*>& rows) {
  std::string out = "[";
  out.reserve(rows.size() * 768 + 2);
  for (const AlertState* a : rows) {
    if (out.size() > 1) out.push_back(',');
    out.append("{\"tenant_id\":");
    AppendJson(&out, a->tenant);
    out.append(",\"incident_id\":");
    AppendJson(&out, a->incident_id);
    out.append(",\"fingerprint\":");
    AppendJson(&out, a->fingerprint);
    out.append(",\"name\":");
    AppendJson(&out, a->name);
    absl::StrAppend(&out, ",\"severity\":", static_cast<int>(a->severity),
                    ",\"status\":", static_cast<int>(a->status), ",\"labels\":");
    AppendJson(&out, a->labels);
    out.append(",\"annotations\":");
    AppendJson(&out, a->annotations);
    out.append(",\"starts_at\":");
    AppendJson(&out, a->starts_at);
    out.append(",\"ends_at\":");
    if (a->ends_at) {
      AppendJson(&out, *a->ends_at);
    } else {
      out.append("null");
    }
    out.append(",\"source\":");
    AppendJson(&out, a->source);
    out.append(",\"generator_url\":");
    AppendJson(&out, a->generator_url);
    out.append(",\"joined_at\":");
    AppendJson(&out, a->joined_at);
    out.append(",\"update_time\":");
    AppendJson(&out, a->update_time);
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

std::string TimelineJson(const std::vector<TimelineEntry>& entries) {
  std::string out = "[";
  out.reserve(entries.size() * 384 + 2);
  for (size_t i = 0; i < entries.size(); ++i) {
    const TimelineEntry& e = entries[i];
    if (i > 0) out.push_back(',');
    absl::StrAppend(&out, "{\"seq\":", i, ",\"tenant_id\":");
    AppendJson(&out, e.tenant);
    out.append(",\"incident_id\":");
    AppendJson(&out, e.incident_id);
    out.append(",\"entry_time\":");
    AppendJson(&out, e.time);
    out.append(",\"actor\":");
    AppendJson(&out, e.actor);
    out.append(",\"kind\":");
    AppendJson(&out, e.kind);
    out.append(",\"entry_text\":");
    AppendJson(&out, e.text);
    out.append(",\"details\":");
    AppendJson(&out, e.details);
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

std::string TenantIdJson(absl::string_view tenant, absl::string_view field,
                         absl::string_view value) {
  return absl::StrCat("{\"tenant_id\":", Json(tenant), ",\"", field, "\":", Json(value), "}");
}

// Appends {"tenant_id": tenant, field: value} to the JSON array `out`.
void AppendTenantIdJson(std::string* out, absl::string_view tenant, absl::string_view field,
                        absl::string_view value) {
  if (out->size() > 1) out->push_back(',');
  out->append("{\"tenant_id\":");
  AppendJson(out, tenant);
  absl::StrAppend(out, ",\"", field, "\":");
  AppendJson(out, value);
  out->push_back('}');
}

// A smallint[] literal: {1,2,3}.
template <typename Enum>
std::string SmallintArray(const std::vector<Enum>& values) {
  std::vector<int> wire;
  wire.reserve(values.size());
  for (Enum v : values) wire.push_back(static_cast<int>(v));
  return absl::StrCat("{", absl::StrJoin(wire, ","), "}");
}

// The elements of `set`, sorted (parameters listed in one order by every
// intake).
template <typename T>
std::vector<T> Sorted(const absl::flat_hash_set<T>& set) {
  std::vector<T> out(set.begin(), set.end());
  std::sort(out.begin(), out.end());
  return out;
}

// --- COPY and array parameters ----------------------------------------------

// COPYs `reports` (kReportColumns) into incident.alert_reports in the binary
// format (no text to format here or to parse in Postgres, three timestamps a
// row); a firing report's ends_at is -infinity (kNoEndsAt). Throws what
// Postgres reports (pqxx::unique_violation for a key already there).
void CopyReports(pqxx::work& txn, const std::vector<ReportRecord>& reports) {
  common::PgCopyBinary copy(txn, "incident.alert_reports",
                            {std::begin(kReportColumns), std::end(kReportColumns)}, 64 << 10);
  for (const ReportRecord& report : reports) {
    const ReportKey& key = report.key;
    copy.BeginRow();
    copy.AddText(key.tenant);
    copy.AddText(key.fingerprint);
    copy.AddInt2(static_cast<int16_t>(key.status));
    copy.AddTimestamptz(key.starts_at);
    copy.AddTimestamptz(key.ends_at ? *key.ends_at : kNoEndsAt);
    copy.AddText(report.incident_id);
    copy.AddTimestamptz(report.received_at);
    copy.EndRow();
  }
  copy.Complete();
}

using IdRun = pg_rows::TimelineIdRun;

// pg_rows::CopyTimelineRows (see there).
void TimelineRows(common::PgCopyBinary& copy, const std::vector<TimelineEntry>& entries,
                  const std::vector<IdRun>& runs) {
  // Each incident's entries together, incidents in order of their first.
  using IncidentKey = std::pair<absl::string_view, absl::string_view>;
  absl::flat_hash_map<IncidentKey, size_t> slot_of;
  std::vector<std::vector<const TimelineEntry*>> by_incident;
  for (const TimelineEntry& e : entries) {
    auto [it, inserted] = slot_of.try_emplace(IncidentKey{e.tenant, e.incident_id}, 0);
    if (inserted) {
      it->second = by_incident.size();
      by_incident.emplace_back();
    }
    by_incident[it->second].push_back(&e);
  }
  std::string json;
  size_t run = 0;
  int64_t used = 0;  // ids of runs[run] taken
  auto next_id = [&]() {
    if (used == runs[run].count) {
      ++run;
      used = 0;
    }
    return runs[run].first + used++;
  };
  auto row_start = [&](const TimelineEntry& e, int64_t id) {
    copy.BeginRow();
    copy.AddText(e.tenant);
    copy.AddText(e.incident_id);
    copy.AddInt8(id);
    copy.AddTimestamptz(e.time);
    copy.AddText(e.actor);
  };
  for (const std::vector<const TimelineEntry*>& incident : by_incident) {
    size_t i = 0;
    while (i < incident.size()) {
      const TimelineEntry& head = *incident[i];
      const int64_t first_id = next_id();
      // The entries that join head's row: consecutive ids, same time and actor.
      size_t end = i + 1;
      while (end < incident.size() && end - i < static_cast<size_t>(pg_rows::kMaxPackedEntries) &&
             incident[end]->time == head.time && incident[end]->actor == head.actor &&
             used < runs[run].count) {
        ++used;
        ++end;
      }
      row_start(head, first_id);
      if (end - i == 1) {
        copy.AddText(head.kind);
        copy.AddText(head.text);
        json.clear();
        AppendJson(&json, head.details);
        copy.AddJsonb(json);
        copy.AddInt4(1);
        copy.AddNull();
      } else {
        json.clear();
        json.push_back('[');
        for (size_t k = i; k < end; ++k) {
          if (k > i) json.push_back(',');
          json.push_back('[');
          AppendJson(&json, incident[k]->kind);
          json.push_back(',');
          AppendJson(&json, incident[k]->text);
          json.push_back(',');
          AppendJson(&json, incident[k]->details);
          json.push_back(']');
        }
        json.push_back(']');
        copy.AddText("packed");
        copy.AddText("");
        copy.AddJsonb("{}");
        copy.AddInt4(static_cast<int32_t>(end - i));
        copy.AddText(json);
      }
      copy.EndRow();
      i = end;
    }
  }
}

// Intake's array parameters go in the binary format (no literal to build
// here, no array_in and input function per element in Postgres).
using BinaryArray = common::PgBinaryArray;

// --- Rows ------------------------------------------------------------------

using pg_rows::HexTimeOf;
using pg_rows::OptionalHexTimeOf;
using pg_rows::OptionalTimeOf;
using pg_rows::ParseIncident;
using pg_rows::ParseJsonMap;
using pg_rows::TimeOf;

// The alert columns from `name` on (name, severity, status, labels,
// annotations, starts_at, ends_at, source, generator_url, joined_at,
// update_time), starting at row[first].
absl::Status ParseAlertColumnsFrom(const pqxx::row& row, int first, AlertState* a) {
  a->name = row[first].as<std::string>();
  a->severity = static_cast<Severity>(row[first + 1].as<int>());
  a->status = static_cast<AlertStatus>(row[first + 2].as<int>());
  ASSIGN_OR_RETURN(a->labels, ParseJsonMap(row[first + 3]));
  ASSIGN_OR_RETURN(a->annotations, ParseJsonMap(row[first + 4]));
  a->starts_at = HexTimeOf(row[first + 5]);
  a->ends_at = OptionalHexTimeOf(row[first + 6]);
  a->source = row[first + 7].as<std::string>();
  a->generator_url = row[first + 8].as<std::string>();
  a->joined_at = HexTimeOf(row[first + 9]);
  a->update_time = HexTimeOf(row[first + 10]);
  return absl::OkStatus();
}

absl::StatusOr<AlertState> ParseAlert(const pqxx::row& row) {
  AlertState a;
  a.tenant = row[0].as<std::string>();
  a.incident_id = row[1].as<std::string>();
  a.fingerprint = row[2].as<std::string>();
  RETURN_IF_ERROR(ParseAlertColumnsFrom(row, 3, &a));
  return a;
}

// A row of kSelectLatestAlerts: its key's position, then the columns of
// ParseAlert less tenant and fingerprint (the key's).
absl::StatusOr<AlertState> ParseLatestAlert(const pqxx::row& row, absl::string_view tenant,
                                            absl::string_view fingerprint) {
  AlertState a;
  a.tenant = std::string(tenant);
  a.incident_id = row[1].as<std::string>();
  a.fingerprint = std::string(fingerprint);
  RETURN_IF_ERROR(ParseAlertColumnsFrom(row, 2, &a));
  return a;
}

absl::Status ParseIncidents(const pqxx::result& result, std::map<std::string, Incident>* out) {
  for (const pqxx::row& row : result) {
    ASSIGN_OR_RETURN(Incident incident, ParseIncident(row));
    std::string id = incident.id;
    out->insert_or_assign(std::move(id), std::move(incident));
  }
  return absl::OkStatus();
}

std::string MatchersJson(const std::vector<LabelMatcher>& matchers) {
  std::vector<std::string> objects;
  objects.reserve(matchers.size());
  for (const LabelMatcher& m : matchers) {
    objects.push_back(absl::StrCat("{\"name\":", Json(m.name), ",\"op\":", static_cast<int>(m.op),
                                   ",\"value\":", Json(m.value), "}"));
  }
  return JsonArray(objects);
}

absl::StatusOr<std::vector<LabelMatcher>> ParseMatchers(const pqxx::field& field) {
  google::protobuf::ListValue list;
  const auto status = google::protobuf::util::JsonStringToMessage(field.c_str(), &list);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("column ", field.name(), " holds bad JSON: ", status.ToString()));
  }
  std::vector<LabelMatcher> out;
  for (const google::protobuf::Value& value : list.values()) {
    const auto& fields = value.struct_value().fields();
    auto name = fields.find("name");
    auto op = fields.find("op");
    auto text = fields.find("value");
    if (name == fields.end() || op == fields.end() || text == fields.end()) {
      return absl::InternalError(absl::StrCat("column ", field.name(), " holds a bad matcher"));
    }
    out.push_back(LabelMatcher{name->second.string_value(),
                               static_cast<MatchOp>(static_cast<int>(op->second.number_value())),
                               text->second.string_value()});
  }
  return out;
}

int DaysMask(const std::vector<DayOfWeek>& days) {
  int mask = 0;
  for (DayOfWeek d : days) mask |= 1 << static_cast<int>(d);
  return mask;
}

std::vector<DayOfWeek> DaysOf(int mask) {
  std::vector<DayOfWeek> days;
  for (int d = 1; d <= 7; ++d) {
    if ((mask & (1 << d)) != 0) days.push_back(static_cast<DayOfWeek>(d));
  }
  return days;
}

absl::StatusOr<Silence> ParseSilence(const pqxx::row& row) {
  Silence s;
  s.tenant = row[0].as<std::string>();
  s.id = row[1].as<std::string>();
  ASSIGN_OR_RETURN(s.matchers, ParseMatchers(row[2]));
  s.starts_at = TimeOf(row[3]);
  s.ends_at = OptionalTimeOf(row[4]);
  s.author = row[5].as<std::string>();
  s.comment = row[6].as<std::string>();
  if (row[7].as<bool>()) {
    WeeklyWindow w;
    w.days = DaysOf(row[8].as<int>());
    w.start_minute = row[9].as<int>();
    w.end_minute = row[10].as<int>();
    w.time_zone = row[11].as<std::string>();
    s.recurrence = std::move(w);
  }
  s.expire_time = OptionalTimeOf(row[12]);
  s.create_time = TimeOf(row[13]);
  s.update_time = TimeOf(row[14]);
  return s;
}

std::string StringsJson(const std::vector<std::string>& values) {
  std::vector<std::string> items;
  items.reserve(values.size());
  for (const std::string& v : values) items.push_back(Json(v));
  return JsonArray(items);
}

absl::StatusOr<InhibitionRule> ParseInhibitionRule(const pqxx::row& row) {
  InhibitionRule r;
  r.tenant = row[0].as<std::string>();
  r.id = row[1].as<std::string>();
  r.name = row[2].as<std::string>();
  ASSIGN_OR_RETURN(r.source_matchers, ParseMatchers(row[3]));
  ASSIGN_OR_RETURN(r.target_matchers, ParseMatchers(row[4]));
  google::protobuf::ListValue equal;
  if (!google::protobuf::util::JsonStringToMessage(row[5].c_str(), &equal).ok()) {
    return absl::InternalError("column equal_labels holds bad JSON");
  }
  for (const google::protobuf::Value& v : equal.values()) r.equal.push_back(v.string_value());
  r.create_time = TimeOf(row[6]);
  r.update_time = TimeOf(row[7]);
  return r;
}

// Runs `attempt` again while it ends ABORTED, up to kMaxAttempts times.
template <typename T>
absl::StatusOr<T> Retrying(const std::function<absl::StatusOr<T>()>& attempt) {
  absl::StatusOr<T> result = attempt();
  for (int i = 1; i < kMaxAttempts && absl::IsAborted(result.status()); ++i) {
    common::LogInfo(
        "retrying an aborted incident transaction",
        {{"attempt", absl::StrCat(i + 1)}, {"reason", std::string(result.status().message())}});
    result = attempt();
  }
  return result;
}

absl::Status Aborted(const pqxx::unique_violation& e) {
  return absl::AbortedError(absl::StrCat("concurrent write of the same row; retry: ", e.what()));
}

// The statements of intake, prepared on every connection: batches of a few
// alerts (webhook notifications) would otherwise spend most of their time
// planning them.
constexpr common::PgStatement kIntakeLockGroups{"incident_intake_lock_groups", kLockGroupsPlanning};
constexpr common::PgStatement kIntakeSelectKnownReports{"incident_intake_known_reports",
                                                        kSelectKnownReports};
constexpr common::PgStatement kIntakeLockOpenGroupIncidents{
    "incident_intake_lock_open_group_incidents", kLockOpenGroupIncidents};
constexpr common::PgStatement kIntakeSelectLatestAlerts{"incident_intake_latest_alerts",
                                                        kSelectLatestAlerts};
constexpr common::PgStatement kIntakeLockIncidents{"incident_intake_lock_incidents",
                                                   kLockIncidents};
constexpr common::PgStatement kIntakeSelectAlertsIn{"incident_intake_alerts_in", kSelectAlertsIn};
constexpr common::PgStatement kIntakeSelectActiveSilences{"incident_intake_active_silences",
                                                          kSelectActiveSilences};
constexpr common::PgStatement kIntakeSelectTenantRules{"incident_intake_tenant_rules",
                                                       kSelectTenantRules};
constexpr common::PgStatement kIntakeSelectFiringAlerts{"incident_intake_firing_alerts",
                                                        kSelectFiringAlerts};
constexpr common::PgStatement kIntakeUpsertIncidents{"incident_intake_upsert_incidents",
                                                     kUpsertIncidents};
constexpr common::PgStatement kIntakeUpdateAlerts{"incident_intake_update_alerts", kUpdateAlerts};
constexpr common::PgStatement kIntakeUpdateAlertStates{"incident_intake_update_alert_states",
                                                       kUpdateAlertStates};
constexpr common::PgStatement kIntakeUpdateAlertStatesByTid{
    "incident_intake_update_alert_states_by_tid", kUpdateAlertStatesByTid};
constexpr common::PgStatement kIntakeUpsertAlerts{"incident_intake_upsert_alerts", kUpsertAlerts};
constexpr common::PgStatement kIntakeUpsertIncidentsReserveEntryIds{
    "incident_intake_upsert_incidents_reserve_entry_ids", kUpsertIncidentsReserveEntryIds};

const std::vector<common::PgStatement>& IntakeStatements() {
  static const std::vector<common::PgStatement> statements = {
      kIntakeLockGroups,
      kIntakeSelectKnownReports,
      kIntakeLockOpenGroupIncidents,
      kIntakeSelectLatestAlerts,
      kIntakeLockIncidents,
      kIntakeSelectAlertsIn,
      kIntakeSelectActiveSilences,
      kIntakeSelectTenantRules,
      kIntakeSelectFiringAlerts,
      kIntakeUpsertIncidents,
      kIntakeUpdateAlerts,
      kIntakeUpdateAlertStates,
      kIntakeUpdateAlertStatesByTid,
      kIntakeUpsertAlerts,
      kIntakeUpsertIncidentsReserveEntryIds};
  return statements;
}

// The escalation engine's statements (defined with their SQL below).
const std::vector<common::PgStatement>& EscalationStatements();

}  // namespace

const char* pg_rows::IntakePlanning() { return kIntakePlanning; }

const char* pg_rows::TidUpdatePlanning() { return kTidUpdatePlanning; }

std::string pg_rows::IdRunsOf(absl::string_view source) {
  return absl::StrReplaceAll(AW_INCIDENT_ID_RUNS_OF("<source>", ""), {{"<source>", source}});
}

const char* pg_rows::UpdateAlertStatesByTid() { return kUpdateAlertStatesByTid; }

std::vector<std::pair<std::string, std::string>> pg_rows::GenericPlannedIntakeStatements() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const common::PgStatement& s : IntakeStatements()) {
    const std::string name = s.name;
    // Run before kIntakePlanning (silences, rules), under kCustomPlans,
    // under kFiringAlertsPlanning, or (the UPDATE by ctid) under
    // kTidUpdatePlanning as well.
    if (name == kIntakeSelectActiveSilences.name || name == kIntakeSelectTenantRules.name ||
        name == kIntakeSelectFiringAlerts.name || name == kIntakeUpdateAlertStates.name ||
        name == kIntakeUpdateAlerts.name || name == kIntakeSelectAlertsIn.name ||
        name == kIntakeUpdateAlertStatesByTid.name) {
      continue;
    }
    out.emplace_back(name, s.sql);
  }
  return out;
}

void pg_rows::CopyTimelineRows(pqxx::work& txn, const std::vector<TimelineEntry>& entries,
                               const std::vector<TimelineIdRun>& runs) {
  common::PgCopyBinary copy(txn, "incident.timeline",
                            {std::begin(kTimelineColumns), std::end(kTimelineColumns)}, 64 << 10);
  TimelineRows(copy, entries, runs);
  copy.Complete();
}

// A ReportAlerts batch waiting for (or inside) a group transaction.
struct PgIncidentStore::PendingIntake {
  const std::vector<IncomingAlert>* alerts = nullptr;
  absl::Time now;
  absl::StatusOr<IntakeSummary> result = absl::UnknownError("batch not recorded");
};

PgIncidentStore::PgIncidentStore(common::PgPool& pool, IdGenerator& ids,
                                 absl::Duration reopen_window, int64_t min_alerts_to_overlap)
    : pool_(pool),
      ids_(ids),
      reopen_window_(reopen_window),
      intake_committer_(
          {kMaxConcurrentIntakeGroups, static_cast<int64_t>(kMaxGroupAlerts),
           std::max<int64_t>(0, min_alerts_to_overlap)},
          [](const PendingIntake& batch) { return static_cast<int64_t>(batch.alerts->size()); },
          [this](const std::vector<PendingIntake*>& group) { RunIntakeGroup(group); }) {
  pool_.AddStatements(IntakeStatements());
  pool_.AddStatements(EscalationStatements());
}

void PgIncidentStore::SetIntakeGroupHook(std::function<void(size_t)> hook) {
  intake_group_hook_ = std::move(hook);
}

void PgIncidentStore::SetIntakeBeforeTidUpdateHook(std::function<void(pqxx::work&)> hook) {
  intake_before_tid_update_hook_ = std::move(hook);
}

void PgIncidentStore::SetMaxConcurrentIntakeGroups(int groups) {
  intake_committer_.SetMaxConcurrentGroups(std::max(1, groups));
}

size_t PgIncidentStore::QueuedIntakeBatches() { return intake_committer_.Queued(); }

absl::StatusOr<IntakeSummary> PgIncidentStore::ReportAlerts(
    const std::vector<IncomingAlert>& alerts, absl::Time now) {
  PendingIntake batch;
  batch.alerts = &alerts;
  batch.now = now;
  // Group commit (up to kMaxGroupAlerts per group): answered only once the
  // transaction that wrote the batch committed.
  intake_committer_.Commit(&batch);
  return std::move(batch.result);
}

void PgIncidentStore::RunIntakeGroup(const std::vector<PendingIntake*>& group) {
  if (intake_group_hook_) intake_group_hook_(group.size());
  std::vector<const std::vector<IncomingAlert>*> batches;
  batches.reserve(group.size());
  absl::Time now = absl::InfinitePast();
  for (const PendingIntake* b : group) {
    batches.push_back(b->alerts);
    now = std::max(now, b->now);
  }
  absl::StatusOr<std::vector<IntakeSummary>> summaries = WriteIntake(batches, now);
  if (summaries.ok()) {
    for (size_t i = 0; i < group.size(); ++i) group[i]->result = std::move((*summaries)[i]);
    return;
  }
  if (group.size() == 1) {
    group[0]->result = summaries.status();
    return;
  }
  // The shared transaction failed (and rolled back): each batch again on its
  // own, so that a batch that cannot be written fails alone.
  for (PendingIntake* b : group) RunIntakeGroup({b});
}

absl::StatusOr<std::vector<IntakeSummary>> PgIncidentStore::WriteIntake(
    const std::vector<const std::vector<IncomingAlert>*>& batches, absl::Time now) {
  // Everything that does not depend on the database, built once, each JSON
  // parameter appended in place.
  size_t alert_count = 0;
  for (const std::vector<IncomingAlert>* batch : batches) alert_count += batch->size();
  // The group's alerts in order (report key i is KeyOf(*flat[i])).
  std::vector<const IncomingAlert*> flat;
  flat.reserve(alert_count);
  // Distinct values by hash (a group holds thousands of alerts over a few
  // hundred groups); the parameters that list them are sorted below.
  using StringPair = std::pair<absl::string_view, absl::string_view>;
  absl::flat_hash_set<absl::string_view> group_keys;
  absl::flat_hash_set<StringPair> groups;
  // Fingerprints with a firing report (their labels may change) and the
  // others (only resolved: intake leaves their labels as they are).
  absl::flat_hash_set<StringPair> fired;
  absl::flat_hash_set<StringPair> resolved;
  absl::flat_hash_set<absl::string_view> tenants;
  for (const std::vector<IncomingAlert>* batch : batches) {
    for (const IncomingAlert& alert : *batch) {
      flat.push_back(&alert);
      group_keys.insert(alert.group_key);
      groups.emplace(alert.tenant, alert.group_key);
      if (alert.status == AlertStatus::kFiring) {
        fired.emplace(alert.tenant, alert.fingerprint);
      } else {
        resolved.emplace(alert.tenant, alert.fingerprint);
      }
      tenants.insert(alert.tenant);
    }
  }
  for (const auto& fingerprint : fired) resolved.erase(fingerprint);
  std::string tenants_json = "[";
  for (const absl::string_view tenant : Sorted(tenants)) {
    if (tenants_json.size() > 1) tenants_json.push_back(',');
    AppendJson(&tenants_json, tenant);
  }
  tenants_json.push_back(']');
  const std::string now_text = common::PgTimestamp(TruncateToMicros(now));
  std::string lock_json = "[";
  for (const absl::string_view key : Sorted(group_keys)) {
    if (lock_json.size() > 1) lock_json.push_back(',');
    AppendJson(&lock_json, key);
  }
  lock_json.push_back(']');
  std::string groups_json = "[";
  for (const auto& [tenant, key] : Sorted(groups)) {
    AppendTenantIdJson(&groups_json, tenant, "group_key", key);
  }
  groups_json.push_back(']');
  // The fingerprints whose latest rows intake reads (kSelectLatestAlerts):
  // those that fire first, each row answered with its position here.
  std::vector<const StringPair*> latest_keys;
  latest_keys.reserve(fired.size() + resolved.size());
  BinaryArray latest_tenants(BinaryArray::Type::kText);
  BinaryArray latest_fingerprints(BinaryArray::Type::kText);
  for (const auto* set : {&fired, &resolved}) {
    for (const StringPair& key : *set) {
      latest_keys.push_back(&key);
      latest_tenants.AddText(key.first);
      latest_fingerprints.AddText(key.second);
    }
  }
  const pqxx::binarystring latest_tenants_value = latest_tenants.Value();
  const pqxx::binarystring latest_fingerprints_value = latest_fingerprints.Value();
  const int64_t latest_whole = static_cast<int64_t>(fired.size());
  // Every fingerprint of the batches (kSelectAlertsIn), built when needed.
  std::string fingerprints_json;

  // Reports that change their fingerprint's latest row are not looked up
  // among the accepted reports (MayBeKnownReport); alert_reports' primary key
  // refuses one recorded before, and the transaction runs again with every
  // key looked up.
  bool look_up_every_report = false;
  // The state UPDATE finds the rows by the ctids the latest-row read answered
  // (kUpdateAlertStatesByTid) until a row was not where that read found it;
  // then by key, as kUpdateAlertStates.
  bool update_by_key = false;
  using Summaries = std::vector<IntakeSummary>;
  return Retrying<Summaries>([&]() {
    return pool_.Transact<Summaries>([&](pqxx::work& txn) -> absl::StatusOr<Summaries> {
      IntakeState state;
      // Silences and inhibition rules first, before kIntakePlanning: small
      // tables read by tenant, so their prepared statements keep a generic
      // plan instead of being planned again in every group. No lock orders
      // them against intake: a silence or rule written concurrently applies
      // from some group on either way.
      for (const pqxx::row& row :
           txn.exec_prepared(kIntakeSelectActiveSilences.name, tenants_json, now_text)) {
        ASSIGN_OR_RETURN(Silence silence, ParseSilence(row));
        state.silences.push_back(std::move(silence));
      }
      for (const pqxx::row& row : txn.exec_prepared(kIntakeSelectTenantRules.name, tenants_json)) {
        ASSIGN_OR_RETURN(InhibitionRule rule, ParseInhibitionRule(row));
        state.inhibition_rules.push_back(std::move(rule));
      }
      // kIntakePlanning applied by the statement that takes the group locks.
      txn.exec_prepared(kIntakeLockGroups.name, kGroupLockSpace, lock_json);
      RETURN_IF_ERROR(ParseIncidents(
          txn.exec_prepared(kIntakeLockOpenGroupIncidents.name, groups_json), &state.incidents));
      // Each fingerprint's latest row (labels and annotations only for those
      // that fire: see kSelectLatestAlerts). When every one of them lies in
      // an incident locked above (the open incidents of the batch's groups,
      // whose rows nobody else changes while we hold them) and every alert's
      // open group incident is its fingerprint's latest (or it has no row),
      // that is all the state needs: one probe per fingerprint. Otherwise
      // (a fingerprint last seen in a resolved incident or another group),
      // lock those incidents too and read every row of theirs again.
      // Keyed by views of the batches' (tenant, fingerprint) strings.
      absl::flat_hash_map<StringPair, AlertState> latest;
      latest.reserve(fired.size() + resolved.size());
      // Where each of those rows is (its ctid), for the state UPDATE.
      absl::flat_hash_map<StringPair, std::string> ctid_of;
      if (!update_by_key) ctid_of.reserve(fired.size() + resolved.size());
      std::set<std::pair<std::string, std::string>> more_ids;
      for (const pqxx::row& row :
           txn.exec_prepared(kIntakeSelectLatestAlerts.name, latest_tenants_value,
                             latest_fingerprints_value, latest_whole)) {
        const int64_t position = row[0].as<int64_t>();
        if (position < 1 || position > static_cast<int64_t>(latest_keys.size())) {
          return absl::InternalError(
              absl::StrCat("intake read a row of key ", position, " it did not ask for"));
        }
        const StringPair& key = *latest_keys[position - 1];
        ASSIGN_OR_RETURN(AlertState alert, ParseLatestAlert(row, key.first, key.second));
        if (state.incidents.count(alert.incident_id) == 0) {
          more_ids.emplace(alert.tenant, alert.incident_id);
        }
        if (!update_by_key) ctid_of.emplace(key, row[13].as<std::string>());
        latest.emplace(key, std::move(alert));
      }

      // The keys that may have been accepted before, looked up.
      BinaryArray k_index(BinaryArray::Type::kInt4), k_tenant(BinaryArray::Type::kText),
          k_fingerprint(BinaryArray::Type::kText), k_status(BinaryArray::Type::kInt2),
          k_starts(BinaryArray::Type::kTimestamptz), k_ends(BinaryArray::Type::kTimestamptz);
      size_t looked_up = 0;
      bool skipped = false;
      for (size_t i = 0; i < flat.size(); ++i) {
        const IncomingAlert& alert = *flat[i];
        const auto row = latest.find(StringPair{alert.tenant, alert.fingerprint});
        if (look_up_every_report ||
            MayBeKnownReport(row == latest.end() ? nullptr : &row->second, alert)) {
          ++looked_up;
          k_index.AddInt(static_cast<int64_t>(i));
          k_tenant.AddText(alert.tenant);
          k_fingerprint.AddText(alert.fingerprint);
          k_status.AddInt(Wire(alert.status));
          k_starts.AddTime(alert.starts_at);
          if (alert.status == AlertStatus::kResolved && alert.ends_at) {
            k_ends.AddTime(*alert.ends_at);
          } else {
            k_ends.AddTime(kNoEndsAt);
          }
        } else {
          skipped = true;
        }
      }
      if (looked_up > 0) {
        for (const pqxx::row& row : txn.exec_prepared(
                 kIntakeSelectKnownReports.name, k_index.Value(), k_tenant.Value(),
                 k_fingerprint.Value(), k_status.Value(), k_starts.Value(), k_ends.Value())) {
          state.known_reports.emplace(KeyOf(*flat.at(row[0].as<size_t>())),
                                      row[1].as<std::string>());
        }
      }

      bool complete = more_ids.empty();
      if (complete) {
        // Views of state.incidents' strings (its nodes stay put).
        absl::flat_hash_map<StringPair, absl::string_view> open_of_group;
        for (const auto& [id, incident] : state.incidents) {
          open_of_group.emplace(StringPair{incident.tenant, incident.group_key}, id);
        }
        for (const IncomingAlert* alert : flat) {
          const auto group = open_of_group.find(StringPair{alert->tenant, alert->group_key});
          if (group == open_of_group.end()) continue;
          const auto row = latest.find(StringPair{alert->tenant, alert->fingerprint});
          if (row != latest.end() && row->second.incident_id != group->second) complete = false;
        }
      }
      if (complete) {
        for (auto& [key, row] : latest) {
          std::pair<std::string, std::string> alert_key{row.incident_id, row.fingerprint};
          state.alerts.emplace(std::move(alert_key), std::move(row));
        }
      } else {
        // Rows re-read whole below, possibly several of a fingerprint: updated
        // by key.
        ctid_of.clear();
        std::vector<std::string> more;
        for (const auto& [tenant, id] : more_ids) more.push_back(TenantIdJson(tenant, "id", id));
        if (!more.empty()) {
          RETURN_IF_ERROR(ParseIncidents(
              txn.exec_prepared(kIntakeLockIncidents.name, JsonArray(more)), &state.incidents));
        }
        std::vector<std::string> held;
        for (const auto& [id, incident] : state.incidents) {
          held.push_back(TenantIdJson(incident.tenant, "id", id));
        }
        if (fingerprints_json.empty()) {
          fingerprints_json = "[";
          for (const auto* set : {&fired, &resolved}) {
            for (const auto& [tenant, fingerprint] : *set) {
              AppendTenantIdJson(&fingerprints_json, tenant, "fingerprint", fingerprint);
            }
          }
          fingerprints_json.push_back(']');
        }
        txn.exec(kCustomPlans);
        for (const pqxx::row& row :
             txn.exec_prepared(kIntakeSelectAlertsIn.name, fingerprints_json, JsonArray(held))) {
          ASSIGN_OR_RETURN(AlertState alert, ParseAlert(row));
          std::pair<std::string, std::string> key{alert.incident_id, alert.fingerprint};
          state.alerts.emplace(std::move(key), std::move(alert));
        }
        txn.exec(kGenericPlans);
      }

      if (!state.inhibition_rules.empty()) {
        txn.exec(kFiringAlertsPlanning);
        for (const pqxx::row& row :
             txn.exec_prepared(kIntakeSelectFiringAlerts.name, tenants_json)) {
          ASSIGN_OR_RETURN(AlertState alert, ParseAlert(row));
          state.firing_alerts.push_back(std::move(alert));
        }
        txn.exec(kIntakePlanning);
      }

      Summaries summaries;
      IntakePlan plan =
          PlanIntakeGroup(std::move(state), batches, now, ids_, reopen_window_, &summaries);

      std::vector<std::string> incidents;
      for (const Incident& incident : plan.created) incidents.push_back(IncidentJson(incident));
      for (const Incident& incident : plan.updated) incidents.push_back(IncidentJson(incident));
      std::vector<const AlertState*> updated_rows;
      std::vector<const AlertState*> new_rows;
      BinaryArray s_tid(BinaryArray::Type::kTid), s_tenant(BinaryArray::Type::kText),
          s_incident(BinaryArray::Type::kText), s_fingerprint(BinaryArray::Type::kText),
          s_name(BinaryArray::Type::kText), s_severity(BinaryArray::Type::kInt2),
          s_status(BinaryArray::Type::kInt2), s_starts(BinaryArray::Type::kTimestamptz),
          s_ends(BinaryArray::Type::kTimestamptz), s_source(BinaryArray::Type::kText),
          s_url(BinaryArray::Type::kText), s_update(BinaryArray::Type::kTimestamptz);
      size_t state_rows = 0;
      // By ctid when every state row's is known (AlertWrite::kState rows were
      // loaded; when the latest-row read was all, each is its fingerprint's).
      bool by_tid = !ctid_of.empty();
      // Rows that exist are updated (only their state columns when their
      // labels and annotations stay as loaded), new ones inserted.
      for (size_t i = 0; i < plan.alerts.size(); ++i) {
        const AlertState& alert = plan.alerts[i];
        if (plan.alert_writes[i] == AlertWrite::kInsert) {
          new_rows.push_back(&alert);
        } else if (plan.alert_writes[i] == AlertWrite::kWhole) {
          updated_rows.push_back(&alert);
        } else {
          ++state_rows;
          if (by_tid) {
            const auto ctid = ctid_of.find(StringPair{alert.tenant, alert.fingerprint});
            if (ctid == ctid_of.end() || !s_tid.AddTidText(ctid->second)) by_tid = false;
          }
          s_tenant.AddText(alert.tenant);
          s_incident.AddText(alert.incident_id);
          s_fingerprint.AddText(alert.fingerprint);
          s_name.AddText(alert.name);
          s_severity.AddInt(static_cast<int>(alert.severity));
          s_status.AddInt(static_cast<int>(alert.status));
          s_starts.AddTime(alert.starts_at);
          if (alert.ends_at) {
            s_ends.AddTime(*alert.ends_at);
          } else {
            s_ends.AddNull();
          }
          s_source.AddText(alert.source);
          s_url.AddText(alert.generator_url);
          s_update.AddTime(alert.update_time);
        }
      }
      try {
        // The reports first: a key recorded before fails the transaction
        // before anything else is written.
        if (!plan.reports.empty()) {
          CopyReports(txn, plan.reports);
        }
        if (!new_rows.empty()) txn.exec_prepared(kIntakeUpsertAlerts.name, AlertRowsJson(new_rows));
        // The UPDATEs that join their keys to the table (no LATERAL probe) are
        // planned for each execution (see kCustomPlans); the one by ctid keeps
        // its generic plan.
        const bool custom_plans = (state_rows > 0 && !by_tid) || !updated_rows.empty();
        std::vector<IdRun> runs;
        if (!plan.timeline.empty()) {
          // The incidents, the entry ids and the UPDATEs' planning in one
          // round trip.
          int64_t reserved = 0;
          for (const pqxx::row& row :
               txn.exec_prepared(kIntakeUpsertIncidentsReserveEntryIds.name,
                                 incidents.empty() ? std::string("[]") : JsonArray(incidents),
                                 static_cast<int64_t>(plan.timeline.size()),
                                 custom_plans ? "force_custom_plan" : "force_generic_plan",
                                 by_tid && state_rows > 0 ? "off" : "on")) {
            runs.push_back({row[0].as<int64_t>(), row[1].as<int64_t>()});
            reserved += runs.back().count;
          }
          if (reserved != static_cast<int64_t>(plan.timeline.size())) {
            return absl::InternalError(absl::StrCat("reserved ", reserved,
                                                    " timeline entry ids for ",
                                                    plan.timeline.size(), " entries"));
          }
        } else {
          if (!incidents.empty())
            txn.exec_prepared(kIntakeUpsertIncidents.name, JsonArray(incidents));
          if (custom_plans) txn.exec(kCustomPlans);
          if (by_tid && state_rows > 0) txn.exec(kTidUpdatePlanning);
        }
        if (state_rows > 0 && by_tid) {
          if (intake_before_tid_update_hook_) intake_before_tid_update_hook_(txn);
          const pqxx::row updated = txn.exec_prepared1(
              kIntakeUpdateAlertStatesByTid.name, s_tid.Value(), s_tenant.Value(),
              s_incident.Value(), s_fingerprint.Value(), s_name.Value(), s_severity.Value(),
              s_status.Value(), s_starts.Value(), s_ends.Value(), s_source.Value(), s_url.Value(),
              s_update.Value());
          const int64_t count = updated[0].as<int64_t>();
          if (count != static_cast<int64_t>(state_rows)) {
            update_by_key = true;
            return absl::AbortedError(absl::StrCat("intake updated ", count, " of ", state_rows,
                                                   " alert rows where it read them; writing them "
                                                   "again by key"));
          }
        } else if (state_rows > 0) {
          txn.exec_prepared(kIntakeUpdateAlertStates.name, s_tenant.Value(), s_incident.Value(),
                            s_fingerprint.Value(), s_name.Value(), s_severity.Value(),
                            s_status.Value(), s_starts.Value(), s_ends.Value(), s_source.Value(),
                            s_url.Value(), s_update.Value());
        }
        if (!updated_rows.empty())
          txn.exec_prepared(kIntakeUpdateAlerts.name, AlertRowsJson(updated_rows));
        if (!plan.timeline.empty()) {
          pg_rows::CopyTimelineRows(txn, plan.timeline, runs);
        }
      } catch (const pqxx::unique_violation& e) {
        // A report whose look-up was skipped had been accepted before, or
        // another transaction recorded one of these reports meanwhile
        // (possible only when one fingerprint changed group): replan, with
        // every key looked up.
        if (skipped) look_up_every_report = true;
        return Aborted(e);
      }
      return summaries;
    });
  });
}

absl::StatusOr<std::string> PgIncidentStore::MutateIncident(absl::string_view id,
                                                            const RequestKey& request,
                                                            const IncidentMutator& mutate,
                                                            const ResponseEncoder& encode) {
  const std::string incident_id(id);
  return Retrying<std::string>([&]() {
    return pool_.Transact<std::string>([&](pqxx::work& txn) -> absl::StatusOr<std::string> {
      const pqxx::result group = txn.exec_params(kSelectIncidentGroup, incident_id);
      if (group.empty()) return IncidentNotFound(incident_id);
      const std::string tenant = group[0][0].as<std::string>();
      const std::string group_key = group[0][1].as<std::string>();
      // The group lock first, then the row: the order intake takes them in.
      txn.exec_params(kLockGroups, kGroupLockSpace, JsonArray({Json(group_key)}));
      const pqxx::result locked = txn.exec_params(kLockIncident, tenant, incident_id);
      if (locked.empty()) return IncidentNotFound(incident_id);
      ASSIGN_OR_RETURN(Incident current, ParseIncident(locked[0]));
      current.postmortem_published = PgPostmortemPublished(txn, tenant, incident_id);

      if (!request.request_id.empty()) {
        const pqxx::result stored = txn.exec_params(kSelectRequest, tenant, request.request_id);
        if (!stored.empty()) {
          const std::string method = stored[0][0].as<std::string>();
          const std::string first_incident = stored[0][1].as<std::string>();
          if (method != request.method || first_incident != incident_id) {
            return RequestIdReused(request, method, first_incident);
          }
          return absl::HexStringToBytes(stored[0][2].as<std::string>());
        }
      }

      ASSIGN_OR_RETURN(IncidentChange change, mutate(current));
      if (!IsOpen(current.status) && IsOpen(change.incident.status)) {
        const pqxx::result other =
            txn.exec_params(kSelectOtherOpenIncident, tenant, group_key, incident_id);
        if (!other.empty()) return GroupHasOpenIncident(current, other[0][0].as<std::string>());
      }
      std::string response = encode(change);
      try {
        if (change.incident != current) {
          txn.exec_params(kUpsertIncidents, JsonArray({IncidentJson(change.incident)}));
        }
        if (!change.entries.empty()) txn.exec_params(kInsertTimeline, TimelineJson(change.entries));
        if (!request.request_id.empty()) {
          txn.exec_params(kInsertRequest, tenant, request.request_id, request.method, incident_id,
                          absl::BytesToHexString(response));
        }
      } catch (const pqxx::unique_violation& e) {
        return Aborted(e);
      }
      return response;
    });
  });
}

absl::StatusOr<IncidentDetail> PgIncidentStore::GetIncident(absl::string_view id) {
  const std::string incident_id(id);
  return pool_.Transact<IncidentDetail>([&](pqxx::work& txn) -> absl::StatusOr<IncidentDetail> {
    // One snapshot for the incident, its alerts and its timeline.
    txn.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const pqxx::result found = txn.exec_params(kSelectIncident, incident_id);
    if (found.empty()) return IncidentNotFound(incident_id);
    IncidentDetail detail;
    ASSIGN_OR_RETURN(detail.incident, ParseIncident(found[0]));
    const std::string& tenant = detail.incident.tenant;
    for (const pqxx::row& row : txn.exec_params(kSelectIncidentAlerts, tenant, incident_id)) {
      ASSIGN_OR_RETURN(AlertState alert, ParseAlert(row));
      detail.alerts.push_back(std::move(alert));
    }
    for (const pqxx::row& row : txn.exec_params(kSelectTimeline, tenant, incident_id)) {
      TimelineEntry entry;
      entry.tenant = tenant;
      entry.incident_id = incident_id;
      entry.time = TimeOf(row[0]);
      entry.actor = row[1].as<std::string>();
      entry.kind = row[2].as<std::string>();
      entry.text = row[3].as<std::string>();
      ASSIGN_OR_RETURN(entry.details, ParseJsonMap(row[4]));
      detail.timeline.push_back(std::move(entry));
    }
    return detail;
  });
}

absl::StatusOr<IncidentPage> PgIncidentStore::ListIncidents(const IncidentQuery& query) {
  std::vector<std::string> matchers;
  for (const LabelMatcher& m : query.matchers) {
    matchers.push_back(absl::StrCat("{\"name\":", Json(m.name), ",\"op\":", static_cast<int>(m.op),
                                    ",\"value\":", Json(m.value), "}"));
  }
  const std::string from =
      query.created_from ? common::PgTimestamp(*query.created_from) : "-infinity";
  const std::string before =
      query.created_before ? common::PgTimestamp(*query.created_before) : "infinity";
  const std::string after_time =
      query.after ? common::PgTimestamp(query.after->create_time) : "infinity";
  const std::string after_id = query.after ? query.after->id : "";
  const int limit = query.page_size + 1;
  return pool_.Transact<IncidentPage>([&](pqxx::work& txn) -> absl::StatusOr<IncidentPage> {
    const pqxx::result rows =
        txn.exec_params(kListIncidents, query.tenant, SmallintArray(query.statuses),
                        SmallintArray(query.severities), from, before, query.owner, after_time,
                        after_id, JsonArray(matchers), limit);
    IncidentPage page;
    for (const pqxx::row& row : rows) {
      if (static_cast<int>(page.incidents.size()) == query.page_size) {
        const Incident& last = page.incidents.back();
        page.next = PageCursor{last.create_time, last.id};
        break;
      }
      ASSIGN_OR_RETURN(Incident incident, ParseIncident(row));
      page.incidents.push_back(std::move(incident));
    }
    return page;
  });
}

absl::StatusOr<std::string> PgIncidentStore::FindOpenIncident(absl::string_view tenant,
                                                              absl::string_view fingerprint) {
  const std::string tenant_id(tenant);
  const std::string alert(fingerprint);
  return pool_.Transact<std::string>([&](pqxx::work& txn) -> absl::StatusOr<std::string> {
    const pqxx::result found = txn.exec_params(kSelectOpenIncidentOf, tenant_id, alert);
    return found.empty() ? std::string() : found[0][0].as<std::string>();
  });
}

absl::StatusOr<std::vector<std::string>> PgIncidentStore::AutoResolveDue(absl::Time now,
                                                                         absl::Duration quiet,
                                                                         int limit) {
  const absl::Time at = TruncateToMicros(now);
  return pool_.Transact<std::vector<std::string>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<std::string>> {
        const pqxx::result due =
            txn.exec_params(kLockAutoResolveDue, common::PgTimestamp(at - quiet), limit);
        std::vector<std::string> incidents;
        std::vector<std::string> resolved;
        std::vector<TimelineEntry> entries;
        for (const pqxx::row& row : due) {
          ASSIGN_OR_RETURN(const Incident current, ParseIncident(row));
          const std::optional<absl::Time> last_end = OptionalTimeOf(row[row.size() - 1]);
          std::optional<IncidentChange> change = DecideAutoResolve(current, last_end, quiet, at);
          if (!change.has_value()) continue;
          incidents.push_back(IncidentJson(change->incident));
          entries.insert(entries.end(), change->entries.begin(), change->entries.end());
          resolved.push_back(current.id);
        }
        if (!incidents.empty()) {
          txn.exec_params(kUpsertIncidents, JsonArray(incidents));
          txn.exec_params(kInsertTimeline, TimelineJson(entries));
        }
        return resolved;
      });
}

absl::StatusOr<Silence> PgIncidentStore::CreateSilence(const Silence& silence) {
  const WeeklyWindow none;
  const WeeklyWindow& w = silence.recurrence ? *silence.recurrence : none;
  const std::string ends_at = silence.ends_at ? common::PgTimestamp(*silence.ends_at) : "";
  return pool_.Transact<Silence>([&](pqxx::work& txn) -> absl::StatusOr<Silence> {
    txn.exec_params(
        kInsertSilence, silence.tenant, silence.id, MatchersJson(silence.matchers),
        common::PgTimestamp(silence.starts_at), ends_at, silence.author, silence.comment,
        silence.recurrence.has_value(), DaysMask(w.days), w.start_minute, w.end_minute, w.time_zone,
        common::PgTimestamp(silence.create_time), common::PgTimestamp(silence.update_time));
    const pqxx::result found = txn.exec_params(kSelectSilenceByKey, silence.tenant, silence.id);
    if (found.empty()) return SilenceNotFound(silence.id);
    return ParseSilence(found[0]);
  });
}

absl::StatusOr<Silence> PgIncidentStore::GetSilence(absl::string_view id) {
  const std::string silence_id(id);
  return pool_.Transact<Silence>([&](pqxx::work& txn) -> absl::StatusOr<Silence> {
    const pqxx::result found = txn.exec_params(kSelectSilence, silence_id);
    if (found.empty()) return SilenceNotFound(silence_id);
    return ParseSilence(found[0]);
  });
}

absl::StatusOr<Silence> PgIncidentStore::UpdateSilence(
    absl::string_view id, const std::function<absl::StatusOr<Silence>(const Silence&)>& update) {
  const std::string silence_id(id);
  return pool_.Transact<Silence>([&](pqxx::work& txn) -> absl::StatusOr<Silence> {
    const pqxx::result found = txn.exec_params(kSelectSilenceForUpdate, silence_id);
    if (found.empty()) return SilenceNotFound(silence_id);
    ASSIGN_OR_RETURN(const Silence current, ParseSilence(found[0]));
    ASSIGN_OR_RETURN(const Silence next, update(current));
    const WeeklyWindow none;
    const WeeklyWindow& w = next.recurrence ? *next.recurrence : none;
    const std::string ends_at = next.ends_at ? common::PgTimestamp(*next.ends_at) : "";
    txn.exec_params(kUpdateSilence, current.tenant, current.id, MatchersJson(next.matchers),
                    common::PgTimestamp(next.starts_at), ends_at, next.author, next.comment,
                    next.recurrence.has_value(), DaysMask(w.days), w.start_minute, w.end_minute,
                    w.time_zone, common::PgTimestamp(next.update_time));
    const pqxx::result stored = txn.exec_params(kSelectSilenceByKey, current.tenant, current.id);
    if (stored.empty()) return SilenceNotFound(silence_id);
    return ParseSilence(stored[0]);
  });
}

absl::Status PgIncidentStore::DeleteSilence(absl::string_view id, absl::Time now) {
  const std::string silence_id(id);
  const std::string at = common::PgTimestamp(TruncateToMicros(now));
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    const pqxx::result updated = txn.exec_params(kExpireSilence, silence_id, at);
    if (updated.affected_rows() == 0) return SilenceNotFound(silence_id);
    return absl::OkStatus();
  });
}

absl::StatusOr<SilencePage> PgIncidentStore::ListSilences(const SilenceQuery& query) {
  const std::string now = common::PgTimestamp(query.now);
  const std::string after_time =
      query.after ? common::PgTimestamp(query.after->create_time) : "infinity";
  const std::string after_id = query.after ? query.after->id : "";
  const int limit = query.page_size + 1;
  return pool_.Transact<SilencePage>([&](pqxx::work& txn) -> absl::StatusOr<SilencePage> {
    const pqxx::result rows = txn.exec_params(kListSilences, query.tenant, query.include_expired,
                                              now, after_time, after_id, limit);
    SilencePage page;
    for (const pqxx::row& row : rows) {
      if (static_cast<int>(page.silences.size()) == query.page_size) {
        const Silence& last = page.silences.back();
        page.next = PageCursor{last.create_time, last.id};
        break;
      }
      ASSIGN_OR_RETURN(Silence silence, ParseSilence(row));
      page.silences.push_back(std::move(silence));
    }
    return page;
  });
}

}  // namespace agentwatch::incident

namespace agentwatch::incident {
namespace {

// clang-format off
#define AW_CONFIG_COLUMNS                                                                 \
  "tenant_id, kind, id, name, person, priority, refs, body, "                             \
  AW_INCIDENT_PG_MICROS("create_time") ", " AW_INCIDENT_PG_MICROS("update_time")
#define AW_ESCALATION_COLUMNS                                                             \
  "e.policy_id, e.epoch, e.tier, e.cycle, " AW_INCIDENT_PG_MICROS("e.started_at") ", "    \
  AW_INCIDENT_PG_MICROS("e.last_page_at")
// clang-format on

// $1..$10 the columns; a retried create (same id) changes nothing.
constexpr char kInsertConfig[] =
    "INSERT INTO incident.configs (tenant_id, kind, id, name, person, priority, refs, body, "
    "create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7::text[], $8, "
    "$9::timestamptz, $10::timestamptz) ON CONFLICT (tenant_id, kind, id) DO NOTHING";

constexpr char kSelectConfig[] = "SELECT " AW_CONFIG_COLUMNS
                                 " FROM incident.configs WHERE kind = $1 AND id = $2 "
                                 "ORDER BY tenant_id LIMIT 1";

// $1 kind, $2 id, $3 expected update_time; then the new columns.
constexpr char kUpdateConfig[] =
    "UPDATE incident.configs SET name = $4, person = $5, priority = $6, refs = $7::text[], "
    "body = $8, update_time = $9::timestamptz WHERE kind = $1 AND id = $2 AND "
    "update_time = $3::timestamptz";

constexpr char kLockConfig[] =
    "SELECT tenant_id FROM incident.configs WHERE kind = $1 AND id = $2 FOR UPDATE";

constexpr char kSelectReferrer[] =
    "SELECT kind, id FROM incident.configs WHERE tenant_id = $1 AND refs @> ARRAY[$2::text] "
    "LIMIT 1";

constexpr char kSelectEscalatingOn[] =
    "SELECT e.incident_id FROM incident.escalations e JOIN incident.incidents i "
    "ON i.tenant_id = e.tenant_id AND i.id = e.incident_id WHERE e.tenant_id = $1 AND "
    "e.policy_id = $2 AND i.status IN (1, 2, 3) LIMIT 1";

constexpr char kDeleteConfig[] = "DELETE FROM incident.configs WHERE tenant_id = $1 AND id = $2";

// $1 kind, $2 tenant or '', $3 person or '', $4..$7 cursor, $8 whether the
// cursor applies, $9 limit.
constexpr char kListConfigs[] =
    "SELECT " AW_CONFIG_COLUMNS
    " FROM incident.configs WHERE kind = $1 AND ($2 = '' OR tenant_id = $2) AND "
    "($3 = '' OR person = $3) AND (NOT $8 OR (priority, name, tenant_id, id COLLATE \"C\") > "
    "($4::integer, $5::text COLLATE \"C\", $6::text COLLATE \"C\", $7::text COLLATE \"C\")) "
    "ORDER BY priority, name, tenant_id COLLATE \"C\", id LIMIT $9";

constexpr char kSelectEscalationCandidates[] =
    "SELECT " AW_INCIDENT_COLUMNS ", " AW_ESCALATION_COLUMNS
    " FROM incident.incidents i LEFT JOIN incident.escalations e ON e.tenant_id = i.tenant_id "
    "AND e.incident_id = i.id WHERE i.status IN (1, 2) ORDER BY i.tenant_id, i.id LIMIT $1";

constexpr char kLockIncidentSkipLocked[] = "SELECT " AW_INCIDENT_COLUMNS
                                           " FROM incident.incidents i WHERE i.tenant_id = $1 "
                                           "AND i.id = $2 FOR UPDATE SKIP LOCKED";

constexpr char kIncidentExists[] =
    "SELECT 1 FROM incident.incidents WHERE tenant_id = $1 AND id = $2";

constexpr char kSelectEscalation[] = "SELECT " AW_ESCALATION_COLUMNS
                                     " FROM incident.escalations e WHERE e.tenant_id = $1 AND "
                                     "e.incident_id = $2";

constexpr char kUpsertEscalation[] =
    "INSERT INTO incident.escalations (tenant_id, incident_id, policy_id, epoch, tier, cycle, "
    "started_at, last_page_at) VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, "
    "NULLIF($8, '')::timestamptz) ON CONFLICT (tenant_id, incident_id) DO UPDATE SET "
    "policy_id = EXCLUDED.policy_id, epoch = EXCLUDED.epoch, tier = EXCLUDED.tier, "
    "cycle = EXCLUDED.cycle, started_at = EXCLUDED.started_at, "
    "last_page_at = EXCLUDED.last_page_at";

constexpr char kUpdateEscalatedIncident[] =
    "UPDATE incident.incidents SET status = $3, escalation_tier = $4, "
    "update_time = $5::timestamptz WHERE tenant_id = $1 AND id = $2";

constexpr char kSelectDelivery[] =
    "SELECT 1 FROM incident.notifications WHERE tenant_id = $1 AND idempotency_key = $2";

constexpr char kInsertDelivery[] =
    "INSERT INTO incident.notifications (tenant_id, idempotency_key, incident_id, channel_id, "
    "person, sent_at) VALUES ($1, $2, $3, $4, $5, $6::timestamptz) ON CONFLICT DO NOTHING";

#undef AW_ESCALATION_COLUMNS
#undef AW_CONFIG_COLUMNS

// The escalation engine's statements, prepared on every connection: it runs a
// transaction per due incident (a first page per new incident, its retries
// while intake holds the incident), next to intake, and planning them at
// each execution was 1.3-4 us of Postgres' time per webhook alert in
// bench/incident_intake (pg_stat_statements with track_planning; ~0.05 us
// prepared). Single-row probes by key and inserts: the default
// plan_cache_mode keeps a generic plan once it costs no more than the custom
// ones.
constexpr common::PgStatement kEscalationLockIncident{"incident_escalation_lock_incident",
                                                      kLockIncidentSkipLocked};
constexpr common::PgStatement kEscalationIncidentExists{"incident_escalation_incident_exists",
                                                        kIncidentExists};
constexpr common::PgStatement kEscalationSelectState{"incident_escalation_select_state",
                                                     kSelectEscalation};
constexpr common::PgStatement kEscalationUpdateIncident{"incident_escalation_update_incident",
                                                        kUpdateEscalatedIncident};
constexpr common::PgStatement kEscalationUpsertState{"incident_escalation_upsert_state",
                                                     kUpsertEscalation};
constexpr common::PgStatement kEscalationInsertTimeline{"incident_escalation_insert_timeline",
                                                        kInsertTimeline};

const std::vector<common::PgStatement>& EscalationStatements() {
  static const std::vector<common::PgStatement> statements = {
      kEscalationLockIncident,   kEscalationIncidentExists, kEscalationSelectState,
      kEscalationUpdateIncident, kEscalationUpsertState,    kEscalationInsertTimeline};
  return statements;
}

absl::StatusOr<ConfigRecord> ParseConfig(const pqxx::row& row) {
  ConfigRecord r;
  r.tenant = row[0].as<std::string>();
  r.kind = row[1].as<std::string>();
  r.id = row[2].as<std::string>();
  r.name = row[3].as<std::string>();
  r.person = row[4].as<std::string>();
  r.priority = row[5].as<int32_t>();
  auto parser = row[6].as_array();
  for (auto item = parser.get_next(); item.first != pqxx::array_parser::done;
       item = parser.get_next()) {
    if (item.first == pqxx::array_parser::string_value) r.refs.push_back(item.second);
  }
  r.body = pqxx::binarystring(row[7]).str();
  r.create_time = TimeOf(row[8]);
  r.update_time = TimeOf(row[9]);
  return r;
}

std::optional<EscalationState> ParseEscalation(const pqxx::row& row, int first) {
  if (row[first].is_null()) return std::nullopt;
  EscalationState s;
  s.policy_id = row[first].as<std::string>();
  s.epoch = row[first + 1].as<int32_t>();
  s.tier = row[first + 2].as<int32_t>();
  s.cycle = row[first + 3].as<int32_t>();
  s.started_at = TimeOf(row[first + 4]);
  s.last_page_at = OptionalTimeOf(row[first + 5]);
  return s;
}

absl::Status NameTaken(const ConfigRecord& record) {
  return absl::AlreadyExistsError(
      absl::StrCat("name: \"", record.name, "\" is already used in tenant ", record.tenant));
}

}  // namespace

absl::StatusOr<ConfigRecord> PgIncidentStore::CreateConfig(const ConfigRecord& record) {
  return pool_.Transact<ConfigRecord>([&](pqxx::work& txn) -> absl::StatusOr<ConfigRecord> {
    try {
      txn.exec_params(kInsertConfig, record.tenant, record.kind, record.id, record.name,
                      record.person, record.priority, common::PgTextArray(record.refs),
                      pqxx::binarystring(record.body), common::PgTimestamp(record.create_time),
                      common::PgTimestamp(record.update_time));
    } catch (const pqxx::unique_violation&) {
      return NameTaken(record);
    }
    const pqxx::result row = txn.exec_params(kSelectConfig, record.kind, record.id);
    if (row.empty()) return ConfigNotFound(record.kind, record.id);
    return ParseConfig(row[0]);
  });
}

absl::StatusOr<ConfigRecord> PgIncidentStore::GetConfig(absl::string_view kind,
                                                        absl::string_view id) {
  const std::string k(kind);
  const std::string i(id);
  return pool_.Transact<ConfigRecord>([&](pqxx::work& txn) -> absl::StatusOr<ConfigRecord> {
    const pqxx::result row = txn.exec_params(kSelectConfig, k, i);
    if (row.empty()) return ConfigNotFound(k, i);
    return ParseConfig(row[0]);
  });
}

absl::StatusOr<ConfigRecord> PgIncidentStore::UpdateConfig(const ConfigRecord& record,
                                                           absl::Time expected_update_time) {
  return pool_.Transact<ConfigRecord>([&](pqxx::work& txn) -> absl::StatusOr<ConfigRecord> {
    pqxx::result updated;
    try {
      updated = txn.exec_params(
          kUpdateConfig, record.kind, record.id, common::PgTimestamp(expected_update_time),
          record.name, record.person, record.priority, common::PgTextArray(record.refs),
          pqxx::binarystring(record.body), common::PgTimestamp(record.update_time));
    } catch (const pqxx::unique_violation&) {
      return NameTaken(record);
    }
    if (updated.affected_rows() == 0) {
      if (txn.exec_params(kSelectConfig, record.kind, record.id).empty()) {
        return ConfigNotFound(record.kind, record.id);
      }
      return absl::AbortedError(absl::StrCat(record.id, " was updated concurrently; retry"));
    }
    return ParseConfig(txn.exec_params(kSelectConfig, record.kind, record.id)[0]);
  });
}

absl::Status PgIncidentStore::DeleteConfig(absl::string_view kind, absl::string_view id) {
  const std::string k(kind);
  const std::string i(id);
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    const pqxx::result locked = txn.exec_params(kLockConfig, k, i);
    if (locked.empty()) return ConfigNotFound(k, i);
    const std::string tenant = locked[0][0].as<std::string>();
    const pqxx::result referrer = txn.exec_params(kSelectReferrer, tenant, i);
    if (!referrer.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(i, " is used by ",
                                                        referrer[0][0].as<std::string>(), " ",
                                                        referrer[0][1].as<std::string>()));
    }
    const pqxx::result escalating = txn.exec_params(kSelectEscalatingOn, tenant, i);
    if (!escalating.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("open incident ", escalating[0][0].as<std::string>(), " escalates on ", i));
    }
    txn.exec_params(kDeleteConfig, tenant, i);
    return absl::OkStatus();
  });
}

absl::StatusOr<ConfigPage> PgIncidentStore::ListConfigs(const ConfigQuery& query) {
  const ConfigCursor cursor = query.after.value_or(ConfigCursor{});
  return pool_.Transact<ConfigPage>([&](pqxx::work& txn) -> absl::StatusOr<ConfigPage> {
    ConfigPage page;
    const pqxx::result rows = txn.exec_params(
        kListConfigs, query.kind, query.tenant, query.person, cursor.priority, cursor.name,
        cursor.tenant, cursor.id, query.after.has_value(), query.page_size + 1);
    for (const pqxx::row& row : rows) {
      ASSIGN_OR_RETURN(ConfigRecord record, ParseConfig(row));
      page.records.push_back(std::move(record));
    }
    if (page.records.size() > static_cast<size_t>(query.page_size)) {
      page.records.resize(static_cast<size_t>(query.page_size));
      const ConfigRecord& last = page.records.back();
      page.next = ConfigCursor{last.priority, last.name, last.tenant, last.id};
    }
    return page;
  });
}

absl::StatusOr<std::vector<EscalationCandidate>> PgIncidentStore::ListEscalationCandidates(
    int limit) {
  return pool_.Transact<std::vector<EscalationCandidate>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<EscalationCandidate>> {
        std::vector<EscalationCandidate> out;
        for (const pqxx::row& row : txn.exec_params(kSelectEscalationCandidates, limit)) {
          ASSIGN_OR_RETURN(Incident incident, ParseIncident(row));
          out.push_back({std::move(incident), ParseEscalation(row, pg_rows::kIncidentColumnCount)});
        }
        return out;
      });
}

absl::StatusOr<bool> PgIncidentStore::Escalate(absl::string_view tenant, absl::string_view id,
                                               const EscalationPlanner& plan) {
  const std::string t(tenant);
  const std::string i(id);
  return pool_.Transact<bool>([&](pqxx::work& txn) -> absl::StatusOr<bool> {
    const pqxx::result locked = txn.exec_prepared(kEscalationLockIncident.name, t, i);
    if (locked.empty()) {
      if (txn.exec_prepared(kEscalationIncidentExists.name, t, i).empty())
        return IncidentNotFound(i);
      return false;
    }
    ASSIGN_OR_RETURN(const Incident incident, ParseIncident(locked[0]));
    const pqxx::result state_row = txn.exec_prepared(kEscalationSelectState.name, t, i);
    const std::optional<EscalationState> state =
        state_row.empty() ? std::nullopt : ParseEscalation(state_row[0], 0);
    ASSIGN_OR_RETURN(const EscalationWrite write, plan(incident, state));
    if (write.incident_changed) {
      txn.exec_prepared(kEscalationUpdateIncident.name, t, i,
                        static_cast<int>(write.incident.status), write.incident.escalation_tier,
                        common::PgTimestamp(write.incident.update_time));
    }
    if (write.state_changed) {
      const EscalationState& s = write.state;
      txn.exec_prepared(kEscalationUpsertState.name, t, i, s.policy_id, s.epoch, s.tier, s.cycle,
                        common::PgTimestamp(s.started_at),
                        s.last_page_at ? common::PgTimestamp(*s.last_page_at) : std::string());
    }
    if (!write.entries.empty())
      txn.exec_prepared(kEscalationInsertTimeline.name, TimelineJson(write.entries));
    for (const PageRequest& page : write.pages) {
      common::EnqueueOutbox(
          txn, "incident",
          common::OutboxMessage{t, std::string(kNotifyDestination), page.event.idempotency_key,
                                WebhookBody(page.event)});
    }
    return true;
  });
}

absl::StatusOr<bool> PgIncidentStore::WasDelivered(absl::string_view tenant,
                                                   absl::string_view idempotency_key) {
  const std::string t(tenant);
  const std::string k(idempotency_key);
  return pool_.Transact<bool>([&](pqxx::work& txn) -> absl::StatusOr<bool> {
    return !txn.exec_params(kSelectDelivery, t, k).empty();
  });
}

absl::Status PgIncidentStore::RecordDelivery(const DeliveryRecord& record) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    const pqxx::result inserted =
        txn.exec_params(kInsertDelivery, record.tenant, record.idempotency_key, record.incident_id,
                        record.channel_id, record.person, common::PgTimestamp(record.time));
    if (inserted.affected_rows() == 0) return absl::OkStatus();
    if (!txn.exec_params(kIncidentExists, record.entry.tenant, record.entry.incident_id).empty()) {
      txn.exec_params(kInsertTimeline, TimelineJson({record.entry}));
    }
    return absl::OkStatus();
  });
}

absl::Status PgIncidentStore::AppendTimeline(const TimelineEntry& entry) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    if (txn.exec_params(kIncidentExists, entry.tenant, entry.incident_id).empty()) {
      return IncidentNotFound(entry.incident_id);
    }
    txn.exec_params(kInsertTimeline, TimelineJson({entry}));
    return absl::OkStatus();
  });
}

}  // namespace agentwatch::incident

namespace agentwatch::incident {

absl::StatusOr<InhibitionRule> PgIncidentStore::CreateInhibitionRule(const InhibitionRule& rule) {
  return pool_.Transact<InhibitionRule>([&](pqxx::work& txn) -> absl::StatusOr<InhibitionRule> {
    txn.exec_params(kInsertRule, rule.tenant, rule.id, rule.name,
                    MatchersJson(rule.source_matchers), MatchersJson(rule.target_matchers),
                    StringsJson(rule.equal), common::PgTimestamp(rule.create_time),
                    common::PgTimestamp(rule.update_time));
    const pqxx::result found = txn.exec_params(kSelectRule, rule.id);
    if (found.empty()) return InhibitionRuleNotFound(rule.id);
    return ParseInhibitionRule(found[0]);
  });
}

absl::StatusOr<InhibitionRule> PgIncidentStore::GetInhibitionRule(absl::string_view id) {
  const std::string i(id);
  return pool_.Transact<InhibitionRule>([&](pqxx::work& txn) -> absl::StatusOr<InhibitionRule> {
    const pqxx::result found = txn.exec_params(kSelectRule, i);
    if (found.empty()) return InhibitionRuleNotFound(i);
    return ParseInhibitionRule(found[0]);
  });
}

absl::StatusOr<InhibitionRule> PgIncidentStore::UpdateInhibitionRule(const InhibitionRule& rule) {
  return pool_.Transact<InhibitionRule>([&](pqxx::work& txn) -> absl::StatusOr<InhibitionRule> {
    const pqxx::result updated =
        txn.exec_params(kUpdateRule, rule.id, rule.name, MatchersJson(rule.source_matchers),
                        MatchersJson(rule.target_matchers), StringsJson(rule.equal),
                        common::PgTimestamp(rule.update_time));
    if (updated.affected_rows() == 0) return InhibitionRuleNotFound(rule.id);
    return ParseInhibitionRule(txn.exec_params(kSelectRule, rule.id)[0]);
  });
}

absl::Status PgIncidentStore::DeleteInhibitionRule(absl::string_view id) {
  const std::string i(id);
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    if (txn.exec_params(kDeleteRule, i).affected_rows() == 0) return InhibitionRuleNotFound(i);
    return absl::OkStatus();
  });
}

absl::StatusOr<InhibitionRulePage> PgIncidentStore::ListInhibitionRules(
    const InhibitionRuleQuery& query) {
  const std::string after_time =
      query.after ? common::PgTimestamp(query.after->create_time) : "infinity";
  const std::string after_id = query.after ? query.after->id : "";
  return pool_.Transact<InhibitionRulePage>(
      [&](pqxx::work& txn) -> absl::StatusOr<InhibitionRulePage> {
        InhibitionRulePage page;
        for (const pqxx::row& row :
             txn.exec_params(kListRules, query.tenant, after_time, after_id, query.page_size + 1)) {
          if (static_cast<int>(page.rules.size()) == query.page_size) {
            page.next = PageCursor{page.rules.back().create_time, page.rules.back().id};
            break;
          }
          ASSIGN_OR_RETURN(InhibitionRule rule, ParseInhibitionRule(row));
          page.rules.push_back(std::move(rule));
        }
        return page;
      });
}

}  // namespace agentwatch::incident
