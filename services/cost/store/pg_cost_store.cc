#include "cost/store/pg_cost_store.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/log.h"
#include "common/outbox.h"
#include "common/status_macros.h"
#include "cost/core/money.h"
#include "cost/store/alert_payload.h"
#include "cost/store/ledger_encoding.h"

namespace agentwatch::cost {
namespace {

using common::FromUnixMicros;
using common::PgStatement;
using common::PgTimestamp;

// --- SQL -------------------------------------------------------------------

// The columns of a price row, in the order RowToPrice reads them.
#define AW_PRICE_COLUMNS                                                            \
  "tenant_id, provider, model, "                                                    \
  "(extract(epoch from effective_time) * 1000000)::bigint AS effective_us, "        \
  "input_per_mtok, output_per_mtok, cache_read_per_mtok, cache_creation_per_mtok, " \
  "unit_price_nano_usd, "                                                           \
  "array_to_string(tier_above_input_tokens, ',') AS t_above, "                      \
  "array_to_string(tier_input_per_mtok, ',') AS t_input, "                          \
  "array_to_string(tier_output_per_mtok, ',') AS t_output, "                        \
  "array_to_string(tier_cache_read_per_mtok, ',') AS t_cache_read, "                \
  "array_to_string(tier_cache_creation_per_mtok, ',') AS t_cache_creation, "        \
  "source, (extract(epoch from create_time) * 1000000)::bigint AS create_us"

// The versions that may price a batch: for each (tenant, provider, model) key,
// the tenant's and the global versions effective at or before $4. Each
// distinct key is one probe of the primary key index (the OFFSET 0 keeps the
// lateral subquery a per-key index scan): a group needs a handful of keys,
// and a hash join against a scan of the whole catalog (thousands of global
// models) cost Postgres several times more per group. The keys are read by
// subscript rather than unnest so that the generic plan is kept (see
// kBudgetsOfTenantsIfChanged): a group of few keys (one tenant, a model or
// two) had this statement planned anew at every execution.
constexpr PgStatement kLoadBatchPrices = {"cost_load_batch_prices", R"sql(
SELECT )sql" AW_PRICE_COLUMNS R"sql(
FROM (SELECT ($1::text[])[i] AS k_tenant, ($2::text[])[i] AS k_provider,
             ($3::text[])[i] AS k_model
      FROM generate_subscripts($1::text[], 1) AS i
      UNION
      SELECT '', ($2::text[])[i], ($3::text[])[i]
      FROM generate_subscripts($2::text[], 1) AS i) AS k
CROSS JOIN LATERAL (
  SELECT *
  FROM cost.prices p
  WHERE p.tenant_id = k.k_tenant AND p.provider = k.k_provider AND p.model = k.k_model
    AND p.effective_time <= $4::timestamptz
  OFFSET 0) AS p
)sql"};

// The version of each (provider, model) of tenant $1 in effect at $2.
constexpr PgStatement kCurrentTenantPrices = {"cost_current_tenant_prices", R"sql(
SELECT DISTINCT ON (provider, model) )sql" AW_PRICE_COLUMNS R"sql(
FROM cost.prices
WHERE tenant_id = $1 AND effective_time <= $2::timestamptz
ORDER BY provider, model, effective_time DESC
)sql"};

// Creates or replaces price versions; tiers come as '{...}' texts.
constexpr PgStatement kUpsertPrices = {"cost_upsert_prices", R"sql(
INSERT INTO cost.prices AS p (
  tenant_id, provider, model, effective_time, input_per_mtok, output_per_mtok,
  cache_read_per_mtok, cache_creation_per_mtok, unit_price_nano_usd,
  tier_above_input_tokens, tier_input_per_mtok, tier_output_per_mtok,
  tier_cache_read_per_mtok, tier_cache_creation_per_mtok, source)
SELECT x_tenant, x_provider, x_model, x_effective, x_input, x_output, x_cache_read,
       x_cache_creation, x_unit, x_t_above::bigint[], x_t_input::bigint[], x_t_output::bigint[],
       x_t_cache_read::bigint[], x_t_cache_creation::bigint[], x_source
FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[], $6::bigint[],
            $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::text[],
            $13::text[], $14::text[], $15::text[])
  AS x(x_tenant, x_provider, x_model, x_effective, x_input, x_output, x_cache_read,
       x_cache_creation, x_unit, x_t_above, x_t_input, x_t_output, x_t_cache_read,
       x_t_cache_creation, x_source)
ON CONFLICT (tenant_id, provider, model, effective_time) DO UPDATE SET
  input_per_mtok = EXCLUDED.input_per_mtok,
  output_per_mtok = EXCLUDED.output_per_mtok,
  cache_read_per_mtok = EXCLUDED.cache_read_per_mtok,
  cache_creation_per_mtok = EXCLUDED.cache_creation_per_mtok,
  unit_price_nano_usd = EXCLUDED.unit_price_nano_usd,
  tier_above_input_tokens = EXCLUDED.tier_above_input_tokens,
  tier_input_per_mtok = EXCLUDED.tier_input_per_mtok,
  tier_output_per_mtok = EXCLUDED.tier_output_per_mtok,
  tier_cache_read_per_mtok = EXCLUDED.tier_cache_read_per_mtok,
  tier_cache_creation_per_mtok = EXCLUDED.tier_cache_creation_per_mtok,
  source = EXCLUDED.source,
  create_time = now()
RETURNING (extract(epoch from create_time) * 1000000)::bigint
)sql"};

// Serializes default-catalog imports across replicas (held to commit).
constexpr PgStatement kLockDefaultCatalog = {
    "cost_lock_default_catalog",
    "SELECT pg_advisory_xact_lock(hashtext('agentwatch.cost.default_catalog'))"};

constexpr PgStatement kHasGlobalPrice = {
    "cost_has_global_price", "SELECT EXISTS (SELECT 1 FROM cost.prices WHERE tenant_id = '')"};

// The version in effect at $4: tenant $1's own first, else the global one.
constexpr PgStatement kGetPrice = {"cost_get_price", R"sql(
SELECT )sql" AW_PRICE_COLUMNS R"sql(
FROM cost.prices
WHERE tenant_id IN ($1, '') AND provider = $2 AND model = $3
  AND effective_time <= $4::timestamptz
ORDER BY (tenant_id = '') ASC, effective_time DESC
LIMIT 1
)sql"};

// Every version of tenant $1, after the cursor ($4: first page).
constexpr PgStatement kListPriceHistory = {"cost_list_price_history", R"sql(
SELECT )sql" AW_PRICE_COLUMNS R"sql(
FROM cost.prices
WHERE tenant_id = $1 AND ($2 = '' OR provider = $2) AND ($3 = '' OR model = $3)
  AND ($4::boolean OR (provider, model, effective_time) > ($5, $6, $7::timestamptz))
ORDER BY provider, model, effective_time
LIMIT $8
)sql"};

// The version of each (provider, model) of tenant $1 in effect at $9, after
// the cursor ($4: first page).
constexpr PgStatement kListPricesCurrent = {"cost_list_prices_current", R"sql(
SELECT tenant_id, provider, model, effective_us, input_per_mtok, output_per_mtok,
       cache_read_per_mtok, cache_creation_per_mtok, unit_price_nano_usd, t_above, t_input,
       t_output, t_cache_read, t_cache_creation, source, create_us
FROM (
  SELECT DISTINCT ON (provider, model) )sql" AW_PRICE_COLUMNS R"sql(, effective_time AS k_time
  FROM cost.prices
  WHERE tenant_id = $1 AND ($2 = '' OR provider = $2) AND ($3 = '' OR model = $3)
    AND effective_time <= $9::timestamptz
  ORDER BY provider, model, effective_time DESC) AS current_prices
WHERE ($4::boolean OR (provider, model, k_time) > ($5, $6, $7::timestamptz))
ORDER BY provider, model
LIMIT $8
)sql"};

// The ledger columns, in the order of a COPY row (see AddLedgerRow).
constexpr const char* kLedgerColumns[] = {"tenant_id",
                                          "record_id",
                                          "usage_time",
                                          "dims_id",
                                          "run_id",
                                          "run_succeeded",
                                          "input_tokens",
                                          "output_tokens",
                                          "cached_input_tokens",
                                          "cache_creation_tokens",
                                          "requests",
                                          "infra_quantity_milli",
                                          "cost_nano_usd",
                                          "priced",
                                          "client_priced",
                                          "tenant_price",
                                          "price_effective_time"};

// Inserts ledger rows ($1..$17, parallel arrays in kLedgerColumns order)
// once per (tenant, record_id); returns the new ones.
constexpr PgStatement kInsertUsage = {"cost_insert_usage", R"sql(
INSERT INTO cost.ledger (
  tenant_id, record_id, usage_time, dims_id, run_id, run_succeeded, input_tokens, output_tokens,
  cached_input_tokens, cache_creation_tokens, requests, infra_quantity_milli, cost_nano_usd,
  priced, client_priced, tenant_price, price_effective_time)
SELECT * FROM unnest(
  $1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::text[], $6::boolean[],
  $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[],
  $13::bigint[], $14::boolean[], $15::boolean[], $16::boolean[], $17::timestamptz[])
ON CONFLICT (tenant_id, record_id) DO NOTHING
RETURNING tenant_id, record_id
)sql"};

// The dimension combinations $1..$11 (parallel arrays: tenant, kind, team,
// workflow, agent, model, provider, service, tags, infra resource, infra
// sku), keyed as in migrations/004_narrow_ledger.sql.
#define AW_DIMS_INPUT                                                                           \
  "unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], " \
  "       $8::text[], $9::jsonb[], $10::text[], $11::text[]) WITH ORDINALITY "                   \
  "  AS x(x_tenant, x_kind, x_team, x_workflow, x_agent, x_model, x_provider, x_service, "       \
  "       x_tags, x_resource, x_sku, x_ord)"
#define AW_DIMS_HASH                                                                         \
  "sha256(convert_to(cost.usage_dims_key(x_kind, x_team, x_workflow, x_agent, x_model, "     \
  "                                      x_provider, x_service, x_tags, x_resource, x_sku), " \
  "                  'UTF8'))"

// The ids of the dimension combinations $1..$11 that exist: (ordinality, id).
constexpr PgStatement kLookupDims = {"cost_lookup_dims", R"sql(
SELECT x.x_ord, d.dims_id
FROM )sql" AW_DIMS_INPUT R"sql(
JOIN cost.usage_dims d ON d.tenant_id = x.x_tenant AND d.dims_hash = )sql" AW_DIMS_HASH};

// Creates the dimension combinations $1..$11 that do not exist yet (in key
// order, so that concurrent creators cannot deadlock).
constexpr PgStatement kCreateDims = {"cost_create_dims", R"sql(
INSERT INTO cost.usage_dims (tenant_id, dims_hash, kind, team, workflow, agent, model, provider,
                             service, tags, infra_resource, infra_sku)
SELECT x_tenant, )sql" AW_DIMS_HASH R"sql(, x_kind, x_team, x_workflow, x_agent, x_model,
       x_provider, x_service, x_tags, x_resource, x_sku
FROM )sql" AW_DIMS_INPUT R"sql(
ORDER BY 1, 2
ON CONFLICT (tenant_id, dims_hash) DO NOTHING
)sql"};

#undef AW_DIMS_INPUT
#undef AW_DIMS_HASH

// The savepoint around the all-new COPY attempt.
constexpr char kSavepoint[] = "SAVEPOINT cost_fresh_usage";
constexpr char kReleaseSavepoint[] = "RELEASE SAVEPOINT cost_fresh_usage";
constexpr char kRollbackToSavepoint[] = "ROLLBACK TO SAVEPOINT cost_fresh_usage";

// Adds unpriced usage to the unknown models.
constexpr PgStatement kUpsertUnknownModels = {"cost_upsert_unknown_models", R"sql(
INSERT INTO cost.unknown_models AS u (
  tenant_id, provider, model, first_seen, last_seen, calls, input_tokens, output_tokens)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
                     $6::bigint[], $7::bigint[], $8::bigint[])
ON CONFLICT (tenant_id, provider, model) DO UPDATE SET
  first_seen = LEAST(u.first_seen, EXCLUDED.first_seen),
  last_seen = GREATEST(u.last_seen, EXCLUDED.last_seen),
  calls = u.calls + EXCLUDED.calls,
  input_tokens = u.input_tokens + EXCLUDED.input_tokens,
  output_tokens = u.output_tokens + EXCLUDED.output_tokens
)sql"};

// The report: group columns come from fixed CASE expressions switched by
// boolean parameters ($1..$8), never from request text. One row per group and
// bucket plus the grand total (GROUPING SETS), all from one snapshot. Sums
// are numeric, read as text and checked to fit int64.
constexpr PgStatement kReport = {"cost_report", R"sql(
WITH f AS (
  SELECT u.tenant_id, u.run_id, u.kind, u.cost_nano_usd, u.input_tokens, u.output_tokens,
         u.cached_input_tokens, u.cache_creation_tokens, u.requests, u.priced, u.client_priced,
         CASE WHEN $1::boolean THEN u.tenant_id ELSE '' END AS g_tenant,
         CASE WHEN $2::boolean THEN u.team ELSE '' END AS g_team,
         CASE WHEN $3::boolean THEN u.workflow ELSE '' END AS g_workflow,
         CASE WHEN $4::boolean THEN u.agent ELSE '' END AS g_agent,
         CASE WHEN $5::boolean THEN u.model ELSE '' END AS g_model,
         CASE WHEN $6::boolean THEN u.provider ELSE '' END AS g_provider,
         CASE WHEN $7::boolean THEN u.service ELSE '' END AS g_service,
         CASE WHEN $8::boolean THEN COALESCE(u.tags ->> $9::text, '') ELSE '' END AS g_tag,
         CASE WHEN $10::text = '' THEN NULL
              ELSE date_trunc($10::text, u.usage_time, $11::text) END AS g_bucket
  FROM cost.usage u
  WHERE u.usage_time >= $12::timestamptz AND u.usage_time < $13::timestamptz
    AND ($14::text = '' OR u.tenant_id = $14) AND ($15::text = '' OR u.team = $15)
    AND ($16::text = '' OR u.workflow = $16) AND ($17::text = '' OR u.agent = $17)
    AND ($18::text = '' OR u.model = $18) AND ($19::text = '' OR u.provider = $19)
    AND ($20::text = '' OR u.service = $20) AND u.tags @> $21::jsonb
),
g AS (
  SELECT g_tenant, g_team, g_workflow, g_agent, g_model, g_provider, g_service, g_tag,
         ($22::integer = 0 OR row_number() OVER (
            ORDER BY sum(cost_nano_usd) DESC, g_tenant COLLATE "C", g_team COLLATE "C",
                     g_workflow COLLATE "C", g_agent COLLATE "C", g_model COLLATE "C",
                     g_provider COLLATE "C", g_service COLLATE "C", g_tag COLLATE "C")
          <= $22::integer) AS keep
  FROM f
  GROUP BY g_tenant, g_team, g_workflow, g_agent, g_model, g_provider, g_service, g_tag
),
o AS (
  SELECT DISTINCT ON (u.tenant_id, u.run_id) u.tenant_id, u.run_id, u.run_succeeded
  FROM cost.usage u
  WHERE u.run_succeeded IS NOT NULL
    AND (u.tenant_id, u.run_id) IN (SELECT tenant_id, run_id FROM f WHERE run_id <> '')
  ORDER BY u.tenant_id, u.run_id, u.usage_time DESC, u.record_id COLLATE "C" DESC
),
x AS (
  SELECT CASE WHEN g.keep OR NOT $1::boolean THEN f.g_tenant ELSE '__other__' END AS k_tenant,
         CASE WHEN g.keep OR NOT $2::boolean THEN f.g_team ELSE '__other__' END AS k_team,
         CASE WHEN g.keep OR NOT $3::boolean THEN f.g_workflow ELSE '__other__' END AS k_workflow,
         CASE WHEN g.keep OR NOT $4::boolean THEN f.g_agent ELSE '__other__' END AS k_agent,
         CASE WHEN g.keep OR NOT $5::boolean THEN f.g_model ELSE '__other__' END AS k_model,
         CASE WHEN g.keep OR NOT $6::boolean THEN f.g_provider ELSE '__other__' END AS k_provider,
         CASE WHEN g.keep OR NOT $7::boolean THEN f.g_service ELSE '__other__' END AS k_service,
         CASE WHEN g.keep OR NOT $8::boolean THEN f.g_tag ELSE '__other__' END AS k_tag,
         f.g_bucket AS k_bucket, f.tenant_id, f.run_id, f.kind, f.cost_nano_usd, f.input_tokens,
         f.output_tokens, f.cached_input_tokens, f.cache_creation_tokens, f.requests, f.priced,
         f.client_priced, COALESCE(o.run_succeeded, false) AS run_ok
  FROM f
  JOIN g ON g.g_tenant = f.g_tenant AND g.g_team = f.g_team AND g.g_workflow = f.g_workflow
        AND g.g_agent = f.g_agent AND g.g_model = f.g_model AND g.g_provider = f.g_provider
        AND g.g_service = f.g_service AND g.g_tag = f.g_tag
  LEFT JOIN o ON o.tenant_id = f.tenant_id AND o.run_id = f.run_id
)
SELECT GROUPING(k_tenant) = 1 AS is_total,
       k_tenant, k_team, k_workflow, k_agent, k_model, k_provider, k_service, k_tag,
       (extract(epoch from k_bucket) * 1000000)::bigint AS bucket_us,
       COALESCE(sum(cost_nano_usd), 0)::text,
       COALESCE(sum(input_tokens) FILTER (WHERE kind = 'llm'), 0)::text,
       COALESCE(sum(output_tokens) FILTER (WHERE kind = 'llm'), 0)::text,
       COALESCE(sum(cached_input_tokens) FILTER (WHERE kind = 'llm'), 0)::text,
       COALESCE(sum(cache_creation_tokens) FILTER (WHERE kind = 'llm'), 0)::text,
       COALESCE(sum(requests) FILTER (WHERE kind = 'llm'), 0)::text,
       count(DISTINCT (tenant_id, run_id)) FILTER (WHERE run_id <> ''),
       count(DISTINCT (tenant_id, run_id)) FILTER (WHERE run_id <> '' AND run_ok),
       COALESCE(sum(requests) FILTER (WHERE kind = 'llm' AND NOT priced), 0)::text,
       COALESCE(sum(cost_nano_usd) FILTER (WHERE kind = 'llm'), 0)::text,
       COALESCE(sum(cost_nano_usd) FILTER (WHERE kind = 'infra'), 0)::text,
       COALESCE(sum(cost_nano_usd) FILTER (WHERE client_priced), 0)::text
FROM x
GROUP BY GROUPING SETS (
  (k_tenant, k_team, k_workflow, k_agent, k_model, k_provider, k_service, k_tag, k_bucket), ())
)sql"};

// Spend of tenant $1 inside a scope over [$2, $3).
constexpr PgStatement kSpend = {"cost_spend", R"sql(
SELECT COALESCE(sum(cost_nano_usd), 0)::text
FROM cost.usage
WHERE tenant_id = $1 AND usage_time >= $2::timestamptz AND usage_time < $3::timestamptz
  AND ($4::text = '' OR team = $4) AND ($5::text = '' OR workflow = $5)
  AND ($6::text = '' OR agent = $6) AND ($7::text = '' OR model = $7)
  AND ($8::text = '' OR provider = $8) AND ($9::text = '' OR service = $9)
  AND tags @> $10::jsonb
)sql"};

// The columns of a budget row, in the order RowToBudget reads them.
#define AW_BUDGET_COLUMNS                                                            \
  "tenant_id, id, name, team, workflow, agent, model, provider, service, "           \
  "ARRAY(SELECT key FROM jsonb_each_text(tags) ORDER BY key) AS tag_keys, "          \
  "ARRAY(SELECT value FROM jsonb_each_text(tags) ORDER BY key) AS tag_values, "      \
  "period, rolling_window_seconds, limit_nano_usd, "                                 \
  "array_to_string(threshold_percents, ',') AS thresholds, enforcement, time_zone, " \
  "alert_on_projected_overrun, alert_severity, request_id, "                         \
  "(extract(epoch from create_time) * 1000000)::bigint AS create_us, "               \
  "(extract(epoch from update_time) * 1000000)::bigint AS update_us"

// Serializes budget creation per tenant (name, request id and count checks).
constexpr PgStatement kLockTenantBudgets = {
    "cost_lock_tenant_budgets",
    "SELECT pg_advisory_xact_lock(hashtext('agentwatch.cost.budgets.' || $1))"};

constexpr PgStatement kBudgetByRequestId = {
    "cost_budget_by_request_id",
    "SELECT " AW_BUDGET_COLUMNS " FROM cost.budgets WHERE tenant_id = $1 AND request_id = $2"};

constexpr PgStatement kBudgetNameTaken = {
    "cost_budget_name_taken",
    "SELECT EXISTS (SELECT 1 FROM cost.budgets WHERE tenant_id = $1 AND name = $2)"};

constexpr PgStatement kCountBudgets = {"cost_count_budgets",
                                       "SELECT count(*) FROM cost.budgets WHERE tenant_id = $1"};

constexpr PgStatement kInsertBudget = {"cost_insert_budget", R"sql(
INSERT INTO cost.budgets (
  tenant_id, id, name, team, workflow, agent, model, provider, service, tags, period,
  rolling_window_seconds, limit_nano_usd, threshold_percents, enforcement, time_zone,
  alert_on_projected_overrun, alert_severity, request_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14::integer[], $15, $16,
        $17, $18, $19)
RETURNING )sql" AW_BUDGET_COLUMNS};

constexpr PgStatement kGetBudget = {"cost_get_budget",
                                    "SELECT " AW_BUDGET_COLUMNS
                                    " FROM cost.budgets WHERE tenant_id = $1 AND id = $2"};

constexpr PgStatement kDeleteBudget = {
    "cost_delete_budget", "DELETE FROM cost.budgets WHERE tenant_id = $1 AND id = $2 RETURNING id"};

// Budgets of tenant $1 ('' = all) after the cursor ($2: first page).
constexpr PgStatement kListBudgets = {"cost_list_budgets", R"sql(
SELECT )sql" AW_BUDGET_COLUMNS R"sql(
FROM cost.budgets
WHERE ($1 = '' OR tenant_id = $1) AND ($2::boolean OR (tenant_id, name) > ($3, $4))
ORDER BY tenant_id, name
LIMIT $5
)sql"};

// Serializes the evaluation of one budget's alerts: a batch evaluates a
// budget only after every earlier batch touching it committed, so its spend
// includes theirs and no crossing is missed between concurrent batches.
constexpr PgStatement kLockBudget = {
    "cost_lock_budget", "SELECT pg_advisory_xact_lock(hashtext('agentwatch.cost.budget.' || $1))"};

// Takes the evaluation locks of budgets $1 (see kLockBudget) in id order, so
// concurrent batches cannot deadlock.
constexpr PgStatement kLockBudgets = {"cost_lock_budgets", R"sql(
SELECT pg_advisory_xact_lock(hashtext('agentwatch.cost.budget.' || id))
FROM (SELECT id FROM unnest($1::text[]) AS u(id) ORDER BY id COLLATE "C") AS ordered
)sql"};

// Shares the budget-definition locks of tenants $1 (see kLockTenantBudgets)
// in tenant order: a batch sees every budget of its tenants as it stays until
// the batch commits (creations, updates and deletions wait for it).
constexpr PgStatement kShareTenantBudgets = {"cost_share_tenant_budgets", R"sql(
SELECT pg_advisory_xact_lock_shared(hashtext('agentwatch.cost.budgets.' || t))
FROM (SELECT t FROM unnest($1::text[]) AS u(t) ORDER BY t COLLATE "C") AS ordered
)sql"};

// The budget-definition version of each tenant of $1 (cost.budget_versions,
// 0 while it has none) and every budget of the tenants whose version differs
// from theirs in $2 (the version the caller's copy was read at, -1 for none):
// per tenant, its budgets' columns (AW_BUDGET_COLUMNS, all NULL in the one
// row of a tenant whose budgets are not read), then the tenant and its
// version. One statement, so the versions and budgets are of one snapshot;
// a tenant whose copy is current costs one primary-key probe (the OFFSET 0
// keeps each lateral subquery from being flattened: a per-tenant index probe,
// and the version test skips the budgets scan).
// The tenants are read by subscript (generate_subscripts), not unnest: the
// planner estimates unnest's rows from the array itself once a plan is made
// for the parameters' values, so the plan for a group's few tenants always
// looked cheaper than the generic one (10 rows assumed) and Postgres planned
// the statement anew on every execution (it runs in every group). Estimated
// alike either way, the generic plan is kept after the first five.
constexpr PgStatement kBudgetsOfTenantsIfChanged = {"cost_budgets_of_tenants_if_changed", R"sql(
SELECT b.*, v.v_tenant, v.v_version
FROM (SELECT k.k_tenant AS v_tenant, COALESCE(bv.version, 0) AS v_version,
             k.k_cached AS v_cached
      FROM generate_subscripts($1::text[], 1) AS i
      CROSS JOIN LATERAL (SELECT ($1::text[])[i] AS k_tenant,
                                 ($2::bigint[])[i] AS k_cached) AS k
      LEFT JOIN LATERAL (
        SELECT version FROM cost.budget_versions WHERE tenant_id = k.k_tenant
        OFFSET 0) AS bv ON true) AS v
LEFT JOIN LATERAL (
  SELECT )sql" AW_BUDGET_COLUMNS R"sql(
  FROM cost.budgets
  WHERE tenant_id = v.v_tenant AND v.v_version <> v.v_cached
  OFFSET 0) AS b ON true
ORDER BY v.v_tenant, b.name
)sql"};

// The kept spends of the given (tenant, budget, period) keys: a primary-key
// probe per key (by subscript and kept apart by OFFSET 0, so that the
// generic plan is kept: see kBudgetsOfTenantsIfChanged; with unnest a group
// touching few budgets had it planned anew every time).
constexpr PgStatement kGetPeriodSpends = {"cost_get_period_spends", R"sql(
SELECT s.budget_id, s.spent_nano_usd
FROM generate_subscripts($1::text[], 1) AS i
CROSS JOIN LATERAL (
  SELECT budget_id, spent_nano_usd
  FROM cost.budget_period_spend
  WHERE tenant_id = ($1::text[])[i] AND budget_id = ($2::text[])[i]
    AND period_start = ($3::timestamptz[])[i] AND period_end = ($4::timestamptz[])[i]
  OFFSET 0) AS s
)sql"};

// Writes kept spends (new periods and increments).
constexpr PgStatement kPutPeriodSpends = {"cost_put_period_spends", R"sql(
INSERT INTO cost.budget_period_spend AS s (
  tenant_id, budget_id, period_start, period_end, spent_nano_usd)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::bigint[])
ON CONFLICT (tenant_id, budget_id, period_start, period_end) DO UPDATE SET
  spent_nano_usd = EXCLUDED.spent_nano_usd
)sql"};

// Drops the kept spends of budgets $2 of tenant $1 whose period ended by $3.
constexpr PgStatement kDropEndedPeriodSpends = {"cost_drop_ended_period_spends", R"sql(
DELETE FROM cost.budget_period_spend
WHERE tenant_id = $1 AND budget_id = ANY($2::text[]) AND period_end <= $3::timestamptz
)sql"};

// Drops every kept spend of budget $2 of tenant $1 (its definition changed).
constexpr PgStatement kDropPeriodSpends = {
    "cost_drop_period_spends",
    "DELETE FROM cost.budget_period_spend WHERE tenant_id = $1 AND budget_id = $2"};

// Records a budget alert as fired; no row back when it already was.
constexpr PgStatement kInsertBudgetEvent = {"cost_insert_budget_event", R"sql(
INSERT INTO cost.budget_threshold_events (
  tenant_id, budget_id, period_start, kind, threshold, spent_nano_usd, limit_nano_usd,
  fingerprint, fired_at)
VALUES ($1, $2, $3::timestamptz, $4, $5, $6, $7, $8, $9::timestamptz)
ON CONFLICT (tenant_id, budget_id, period_start, kind, threshold) DO NOTHING
RETURNING threshold
)sql"};

// Threshold percents of budget $2 already fired in the alert period from $3.
constexpr PgStatement kFiredThresholds = {"cost_fired_thresholds", R"sql(
SELECT threshold FROM cost.budget_threshold_events
WHERE tenant_id = $1 AND budget_id = $2 AND period_start = $3::timestamptz AND kind = 'threshold'
ORDER BY threshold
)sql"};

// Budget $2 of tenant $1, locked for an update.
constexpr PgStatement kGetBudgetForUpdate = {
    "cost_get_budget_for_update",
    "SELECT " AW_BUDGET_COLUMNS " FROM cost.budgets WHERE tenant_id = $1 AND id = $2 FOR UPDATE"};

constexpr PgStatement kBudgetNameTakenByOther = {
    "cost_budget_name_taken_by_other",
    "SELECT EXISTS (SELECT 1 FROM cost.budgets WHERE tenant_id = $1 AND name = $2 AND id <> $3)"};

// Replaces the writable fields of budget $2 of tenant $1.
constexpr PgStatement kUpdateBudget = {"cost_update_budget", R"sql(
UPDATE cost.budgets SET
  name = $3, team = $4, workflow = $5, agent = $6, model = $7, provider = $8, service = $9,
  tags = $10::jsonb, period = $11, rolling_window_seconds = $12, limit_nano_usd = $13,
  threshold_percents = $14::integer[], enforcement = $15, time_zone = $16,
  alert_on_projected_overrun = $17, alert_severity = $18, update_time = now()
WHERE tenant_id = $1 AND id = $2
RETURNING )sql" AW_BUDGET_COLUMNS};

// Marks the alerts of budget $2 fired in the alert period from $4 as fired in
// the one from $3 too (a changed period layout keeps them fired).
constexpr PgStatement kCarryFiredEvents = {"cost_carry_fired_events", R"sql(
INSERT INTO cost.budget_threshold_events (
  tenant_id, budget_id, period_start, kind, threshold, spent_nano_usd, limit_nano_usd,
  fingerprint, fired_at)
SELECT tenant_id, budget_id, $3::timestamptz, kind, threshold, spent_nano_usd, limit_nano_usd,
       fingerprint, fired_at
FROM cost.budget_threshold_events
WHERE tenant_id = $1 AND budget_id = $2 AND period_start = $4::timestamptz
ON CONFLICT (tenant_id, budget_id, period_start, kind, threshold) DO NOTHING
)sql"};

// The order and page size ($6) of both unknown-model listings.
#define AW_UNKNOWN_MODEL_ORDER_AND_PAGE  \
  "ORDER BY tenant_id, provider, model " \
  "LIMIT $6"

// Unknown models of tenant $1 ('' = all) after the cursor ($2: first page;
// $3..$5 the cursor), running totals. Sums are text, checked to fit int64.
constexpr PgStatement kListUnknownModels = {"cost_list_unknown_models", R"sql(
SELECT tenant_id, provider, model, (extract(epoch from first_seen) * 1000000)::bigint,
       (extract(epoch from last_seen) * 1000000)::bigint, calls::text, input_tokens::text,
       output_tokens::text
FROM cost.unknown_models
WHERE ($1 = '' OR tenant_id = $1) AND ($2::boolean OR (tenant_id, provider, model) > ($3, $4, $5))
)sql" AW_UNKNOWN_MODEL_ORDER_AND_PAGE};

// The same figures from the ledger's unpriced LLM records in [$7, $8).
constexpr PgStatement kListUnknownModelsInRange = {"cost_list_unknown_models_in_range", R"sql(
SELECT tenant_id, provider, model, (extract(epoch from min(usage_time)) * 1000000)::bigint,
       (extract(epoch from max(usage_time)) * 1000000)::bigint, sum(requests)::text,
       sum(input_tokens)::text, sum(output_tokens)::text
FROM cost.usage
WHERE ($1 = '' OR tenant_id = $1) AND kind = 'llm' AND NOT priced
  AND usage_time >= $7::timestamptz AND usage_time < $8::timestamptz
  AND ($2::boolean OR (tenant_id, provider, model) > ($3, $4, $5))
GROUP BY tenant_id, provider, model
)sql" AW_UNKNOWN_MODEL_ORDER_AND_PAGE};

#undef AW_UNKNOWN_MODEL_ORDER_AND_PAGE
#undef AW_PRICE_COLUMNS
#undef AW_BUDGET_COLUMNS

// --- Helpers ---------------------------------------------------------------

// A Postgres array literal with every element quoted (or NULL).
class PgArray {
 public:
  void AddText(absl::string_view value) {
    Separate();
    text_.push_back('"');
    for (char c : value) {
      if (c == '"' || c == '\\') text_.push_back('\\');
      text_.push_back(c);
    }
    text_.push_back('"');
  }
  void AddInt(int64_t value) {
    Separate();
    absl::StrAppend(&text_, value);
  }
  void AddBool(bool value) {
    Separate();
    text_ += value ? "t" : "f";
  }
  void AddTime(absl::Time value) { AddText(PgTimestamp(value)); }
  void AddNull() {
    Separate();
    text_ += "NULL";
  }
  std::string Text() const { return absl::StrCat("{", text_, "}"); }
  bool Empty() const { return first_; }

 private:
  void Separate() {
    if (!first_) text_.push_back(',');
    first_ = false;
  }
  std::string text_;
  bool first_ = true;
};

std::string TagsJson(const std::map<std::string, std::string>& tags) {
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : tags) {
    absl::StrAppend(&out, first ? "" : ",", "\"", common::JsonEscape(key), "\":\"",
                    common::JsonEscape(value), "\"");
    first = false;
  }
  out += "}";
  return out;
}

absl::StatusOr<std::vector<int64_t>> ParseInts(const std::string& text) {
  std::vector<int64_t> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int64_t value = 0;
    if (!absl::SimpleAtoi(part, &value)) {
      return absl::InternalError(absl::StrCat("bad integer list from postgres: ", text));
    }
    out.push_back(value);
  }
  return out;
}

// A numeric sum (as text) that must fit int64.
absl::StatusOr<int64_t> ParseSum(const pqxx::field& field) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(field.as<std::string>(), &value)) {
    return absl::OutOfRangeError(
        absl::StrCat("a sum exceeds the int64 range: ", field.as<std::string>()));
  }
  return value;
}

std::vector<std::string> ParseTextArray(const pqxx::field& field) {
  std::vector<std::string> out;
  pqxx::array_parser parser = field.as_array();
  for (auto next = parser.get_next(); next.first != pqxx::array_parser::done;
       next = parser.get_next()) {
    if (next.first == pqxx::array_parser::string_value) out.push_back(next.second);
  }
  return out;
}

absl::StatusOr<PriceVersion> RowToPrice(const pqxx::row& row) {
  PriceVersion v;
  v.tenant = row[0].as<std::string>();
  v.provider = row[1].as<std::string>();
  v.model = row[2].as<std::string>();
  v.effective_time = FromUnixMicros(row[3].as<int64_t>());
  v.price.base.input = row[4].as<int64_t>();
  v.price.base.output = row[5].as<int64_t>();
  v.price.base.cache_read = row[6].as<int64_t>();
  v.price.base.cache_creation = row[7].as<int64_t>();
  v.price.unit_price_nano_usd = row[8].as<int64_t>();
  ASSIGN_OR_RETURN(std::vector<int64_t> above, ParseInts(row[9].as<std::string>()));
  ASSIGN_OR_RETURN(std::vector<int64_t> input, ParseInts(row[10].as<std::string>()));
  ASSIGN_OR_RETURN(std::vector<int64_t> output, ParseInts(row[11].as<std::string>()));
  ASSIGN_OR_RETURN(std::vector<int64_t> cache_read, ParseInts(row[12].as<std::string>()));
  ASSIGN_OR_RETURN(std::vector<int64_t> cache_creation, ParseInts(row[13].as<std::string>()));
  if (input.size() != above.size() || output.size() != above.size() ||
      cache_read.size() != above.size() || cache_creation.size() != above.size()) {
    return absl::InternalError("price tiers of unequal length in postgres");
  }
  for (size_t i = 0; i < above.size(); ++i) {
    v.price.tiers.push_back({above[i], {input[i], output[i], cache_read[i], cache_creation[i]}});
  }
  v.source = row[14].as<std::string>();
  v.create_time = FromUnixMicros(row[15].as<int64_t>());
  return v;
}

absl::StatusOr<std::vector<PriceVersion>> RowsToPrices(const pqxx::result& result) {
  std::vector<PriceVersion> out;
  out.reserve(result.size());
  for (const pqxx::row& row : result) {
    ASSIGN_OR_RETURN(PriceVersion v, RowToPrice(row));
    out.push_back(std::move(v));
  }
  return out;
}

absl::StatusOr<Budget> RowToBudget(const pqxx::row& row) {
  Budget b;
  b.scope.tenant = row[0].as<std::string>();
  b.id = row[1].as<std::string>();
  b.name = row[2].as<std::string>();
  b.scope.team = row[3].as<std::string>();
  b.scope.workflow = row[4].as<std::string>();
  b.scope.agent = row[5].as<std::string>();
  b.scope.model = row[6].as<std::string>();
  b.scope.provider = row[7].as<std::string>();
  b.scope.service = row[8].as<std::string>();
  const std::vector<std::string> keys = ParseTextArray(row[9]);
  const std::vector<std::string> values = ParseTextArray(row[10]);
  if (keys.size() != values.size()) return absl::InternalError("budget tags unreadable");
  for (size_t i = 0; i < keys.size(); ++i) b.scope.tags[keys[i]] = values[i];
  if (!ParseBudgetPeriod(row[11].as<std::string>(), &b.period)) {
    return absl::InternalError(absl::StrCat("unknown budget period ", row[11].as<std::string>()));
  }
  b.rolling_window = absl::Seconds(row[12].as<int64_t>());
  b.limit_nano_usd = row[13].as<int64_t>();
  ASSIGN_OR_RETURN(std::vector<int64_t> thresholds, ParseInts(row[14].as<std::string>()));
  for (int64_t t : thresholds) b.threshold_percents.push_back(static_cast<int32_t>(t));
  if (!ParseEnforcement(row[15].as<std::string>(), &b.enforcement)) {
    return absl::InternalError(absl::StrCat("unknown enforcement ", row[15].as<std::string>()));
  }
  b.time_zone = row[16].as<std::string>();
  b.alert_on_projected_overrun = row[17].as<bool>();
  b.alert_severity = row[18].as<int32_t>();
  b.request_id = row[19].as<std::string>();
  b.create_time = FromUnixMicros(row[20].as<int64_t>());
  b.update_time = FromUnixMicros(row[21].as<int64_t>());
  return b;
}

// Writes price versions with one statement; returns their create times.
absl::StatusOr<std::vector<absl::Time>> WritePrices(pqxx::work& txn,
                                                    const std::vector<PriceVersion>& versions) {
  PgArray tenant, provider, model, effective, input, output, cache_read, cache_creation, unit,
      t_above, t_input, t_output, t_cache_read, t_cache_creation, source;
  for (const PriceVersion& v : versions) {
    tenant.AddText(v.tenant);
    provider.AddText(v.provider);
    model.AddText(v.model);
    effective.AddTime(v.effective_time);
    input.AddInt(v.price.base.input);
    output.AddInt(v.price.base.output);
    cache_read.AddInt(v.price.base.cache_read);
    cache_creation.AddInt(v.price.base.cache_creation);
    unit.AddInt(v.price.unit_price_nano_usd);
    PgArray above, ti, to, tcr, tcc;
    for (const PriceTier& tier : v.price.tiers) {
      above.AddInt(tier.above_input_tokens);
      ti.AddInt(tier.prices.input);
      to.AddInt(tier.prices.output);
      tcr.AddInt(tier.prices.cache_read);
      tcc.AddInt(tier.prices.cache_creation);
    }
    t_above.AddText(above.Text());
    t_input.AddText(ti.Text());
    t_output.AddText(to.Text());
    t_cache_read.AddText(tcr.Text());
    t_cache_creation.AddText(tcc.Text());
    source.AddText(v.source);
  }
  const pqxx::result result = txn.exec_prepared(
      kUpsertPrices.name, tenant.Text(), provider.Text(), model.Text(), effective.Text(),
      input.Text(), output.Text(), cache_read.Text(), cache_creation.Text(), unit.Text(),
      t_above.Text(), t_input.Text(), t_output.Text(), t_cache_read.Text(), t_cache_creation.Text(),
      source.Text());
  std::vector<absl::Time> created;
  for (const pqxx::row& row : result) created.push_back(FromUnixMicros(row[0].as<int64_t>()));
  return created;
}

std::vector<PriceVersion> ToVersions(absl::string_view tenant, absl::Time effective_time,
                                     absl::string_view source,
                                     const std::vector<CatalogPrice>& prices) {
  std::vector<PriceVersion> versions;
  versions.reserve(prices.size());
  for (const CatalogPrice& p : prices) {
    PriceVersion v;
    v.tenant = std::string(tenant);
    v.provider = p.provider;
    v.model = p.model;
    v.effective_time = effective_time;
    v.price = p.price;
    v.source = std::string(source);
    versions.push_back(std::move(v));
  }
  return versions;
}

// A record of a batch with its pricing; the record stays where the caller
// keeps it (no copy per record).
struct PricedRecord : UsagePricing {
  PricedRecord(const UsageRecord& r, UsagePricing pricing)
      : UsagePricing(std::move(pricing)), record(r) {}
  const UsageRecord& record;
};

// Evaluates the budgets touched by the newly recorded `fresh` records (see
// CostStore::RecordUsage): fires their due alerts once and sums what the
// records add to each daily, weekly or monthly budget's current period.
//
// Cost per batch: the tenants' budget definitions are shared-locked (so they
// stay as read until commit) and read in one statement; the touched budgets
// are locked in one statement (id order); a daily, weekly or monthly budget's
// spend comes from its kept period spend (cost.budget_period_spend) plus what
// this batch adds, written back in one statement; only a period's first
// batch (and ROLLING budgets) sum the ledger. The locks are held to commit,
// so batches touching the same budget evaluate it one after the other, each
// seeing the spend of those before. `budgets_of` gives the budgets of the
// tenants (distinct, in its argument's order) once their locks are held.
using BudgetsOfFn =
    absl::FunctionRef<absl::StatusOr<std::vector<std::shared_ptr<const std::vector<Budget>>>>(
        const std::vector<absl::string_view>&)>;
absl::Status EvaluateBudgets(pqxx::work& txn, const std::vector<const PricedRecord*>& fresh,
                             absl::Time now, BudgetsOfFn budgets_of, RecordOutcome* outcome) {
  if (fresh.empty()) return absl::OkStatus();
  absl::flat_hash_map<absl::string_view, std::vector<const PricedRecord*>> by_tenant;
  std::vector<absl::string_view> tenant_list;
  PgArray tenants;
  for (const PricedRecord* p : fresh) {
    std::vector<const PricedRecord*>& records = by_tenant[p->record.scope.tenant];
    if (records.empty()) {
      tenants.AddText(p->record.scope.tenant);
      tenant_list.push_back(p->record.scope.tenant);
    }
    records.push_back(p);
  }
  txn.exec_prepared(kShareTenantBudgets.name, tenants.Text());
  ASSIGN_OR_RETURN(const std::vector<std::shared_ptr<const std::vector<Budget>>> budgets,
                   budgets_of(tenant_list));
  struct Touched {
    const Budget* budget;
    BudgetWindow window;
    int64_t added = 0;  // what this batch adds to the spend period
  };
  // One pass over a tenant's records, each checked against all the tenant's
  // budgets while it is at hand (RecordsTouchBudget and the period sums
  // together): a record touches a budget when its time is in the spend
  // period and the budget's scope covers it; a calendar budget adds the
  // costs of the records that touch it, a ROLLING one only needs to know.
  struct Candidate {
    const Budget* budget;
    BudgetWindow window;
    ScopeMatcher matcher;
    bool rolling;
    bool touches = false;
    NanoSum added;
  };
  std::vector<Touched> touched;
  std::vector<Candidate> candidates;
  for (size_t i = 0; i < tenant_list.size(); ++i) {
    const std::vector<const PricedRecord*>& records = by_tenant.at(tenant_list[i]);
    candidates.clear();
    for (const Budget& budget : *budgets[i]) {
      candidates.push_back(
          {&budget, BudgetWindowAt(budget, now),
           ScopeMatcher(budget.scope,
                        /*subjects_of_tenant=*/budget.scope.tenant == tenant_list[i]),
           budget.period == BudgetPeriod::kRolling});
    }
    for (const PricedRecord* p : records) {
      const UsageRecord& r = p->record;
      for (Candidate& c : candidates) {
        if ((c.rolling && c.touches) || r.time < c.window.spend_period.start ||
            r.time >= c.window.spend_period.end || !c.matcher.Covers(r.scope)) {
          continue;
        }
        c.touches = true;
        if (!c.rolling) c.added.Add(p->cost_nano_usd);
      }
    }
    for (const Candidate& c : candidates) {
      if (!c.touches) continue;
      Touched t{c.budget, c.window};
      if (!c.rolling) {
        ASSIGN_OR_RETURN(t.added, c.added.Value());
      }
      touched.push_back(t);
    }
  }
  if (touched.empty()) return absl::OkStatus();
  std::sort(touched.begin(), touched.end(),
            [](const Touched& a, const Touched& b) { return a.budget->id < b.budget->id; });
  PgArray ids;
  for (const Touched& t : touched) ids.AddText(t.budget->id);
  txn.exec_prepared(kLockBudgets.name, ids.Text());

  // The kept spends of the calendar budgets' current periods.
  PgArray k_tenant, k_budget, k_start, k_end;
  for (const Touched& t : touched) {
    if (t.budget->period == BudgetPeriod::kRolling) continue;
    k_tenant.AddText(t.budget->scope.tenant);
    k_budget.AddText(t.budget->id);
    k_start.AddTime(t.window.spend_period.start);
    k_end.AddTime(t.window.spend_period.end);
  }
  std::map<std::string, int64_t> kept;
  for (const pqxx::row& row : txn.exec_prepared(kGetPeriodSpends.name, k_tenant.Text(),
                                                k_budget.Text(), k_start.Text(), k_end.Text())) {
    kept[row[0].as<std::string>()] = row[1].as<int64_t>();
  }

  PgArray p_tenant, p_budget, p_start, p_end, p_spent;
  std::map<std::string, std::vector<std::string>> new_periods;  // by tenant: budget ids
  for (const Touched& t : touched) {
    const Budget& b = *t.budget;
    const Scope& s = b.scope;
    int64_t spent = 0;
    auto it = kept.find(b.id);
    if (b.period != BudgetPeriod::kRolling && it != kept.end()) {
      NanoSum sum;
      sum.Add(it->second);
      sum.Add(t.added);
      ASSIGN_OR_RETURN(spent, sum.Value());
    } else {
      // The ledger already holds this batch's rows.
      const pqxx::result spend =
          txn.exec_prepared(kSpend.name, s.tenant, PgTimestamp(t.window.spend_period.start),
                            PgTimestamp(t.window.spend_period.end), s.team, s.workflow, s.agent,
                            s.model, s.provider, s.service, TagsJson(s.tags));
      ASSIGN_OR_RETURN(spent, ParseSum(spend[0][0]));
      if (b.period != BudgetPeriod::kRolling) new_periods[s.tenant].push_back(b.id);
    }
    if (b.period != BudgetPeriod::kRolling) {
      outcome->increments.push_back({s.tenant, b.id, t.window.spend_period.start, t.added,
                                     t.window.spend_period.end, spent});
    }
    if (b.period != BudgetPeriod::kRolling && (it == kept.end() || t.added != 0)) {
      p_tenant.AddText(s.tenant);
      p_budget.AddText(b.id);
      p_start.AddTime(t.window.spend_period.start);
      p_end.AddTime(t.window.spend_period.end);
      p_spent.AddInt(spent);
    }
    for (BudgetAlert& alert : DueBudgetAlerts(b, t.window, spent, now)) {
      const pqxx::result fired = txn.exec_prepared(
          kInsertBudgetEvent.name, s.tenant, b.id, PgTimestamp(alert.period_start),
          std::string(BudgetAlertKindName(alert.kind)), alert.threshold_percent, spent,
          b.limit_nano_usd, alert.fingerprint, PgTimestamp(now));
      if (fired.empty()) continue;
      common::EnqueueOutbox(
          txn, kOutboxSchema,
          {s.tenant, kIncidentDestination, alert.fingerprint, SerializeBudgetAlert(alert)});
      outcome->alerts.push_back(std::move(alert));
    }
  }
  for (const auto& [tenant, budget_ids] : new_periods) {
    // A budget entering a new period: its ended periods' spends are not
    // needed any more.
    PgArray dropped;
    for (const std::string& id : budget_ids) dropped.AddText(id);
    txn.exec_prepared(kDropEndedPeriodSpends.name, tenant, dropped.Text(), PgTimestamp(now));
  }
  if (!p_tenant.Empty()) {
    txn.exec_prepared(kPutPeriodSpends.name, p_tenant.Text(), p_budget.Text(), p_start.Text(),
                      p_end.Text(), p_spent.Text());
  }
  return absl::OkStatus();
}

}  // namespace

// A batch waiting for (or inside) a group transaction.
struct PgCostStore::PendingBatch {
  const std::vector<UsageRecord>* records = nullptr;
  absl::Time now;
  // Positions of the first occurrence of each key, in key order.
  std::vector<size_t> order;
  // The dimension combination id of each record of `order` (same positions).
  std::vector<int64_t> dims;
  absl::StatusOr<RecordOutcome> result = absl::UnknownError("batch not recorded");
};

PgCostStore::PgCostStore(common::PgPool& pool, PgCostStoreOptions options)
    : pool_(pool),
      options_(std::move(options)),
      committer_({options_.max_concurrent_groups, options_.max_group_records,
                  options_.min_records_to_overlap},
                 [](const PendingBatch& batch) { return static_cast<int64_t>(batch.order.size()); },
                 [this](const std::vector<PendingBatch*>& group) { RunGroup(group); }) {
  pool_.AddStatements({kLoadBatchPrices,
                       kCurrentTenantPrices,
                       kUpsertPrices,
                       kLockDefaultCatalog,
                       kHasGlobalPrice,
                       kGetPrice,
                       kListPriceHistory,
                       kListPricesCurrent,
                       kInsertUsage,
                       kLookupDims,
                       kCreateDims,
                       kUpsertUnknownModels,
                       kReport,
                       kSpend,
                       kLockTenantBudgets,
                       kBudgetByRequestId,
                       kBudgetNameTaken,
                       kCountBudgets,
                       kInsertBudget,
                       kGetBudget,
                       kDeleteBudget,
                       kListBudgets,
                       kLockBudget,
                       kLockBudgets,
                       kShareTenantBudgets,
                       kBudgetsOfTenantsIfChanged,
                       kGetPeriodSpends,
                       kPutPeriodSpends,
                       kDropEndedPeriodSpends,
                       kDropPeriodSpends,
                       kInsertBudgetEvent,
                       kFiredThresholds,
                       kGetBudgetForUpdate,
                       kBudgetNameTakenByOther,
                       kUpdateBudget,
                       kCarryFiredEvents,
                       kListUnknownModels,
                       kListUnknownModelsInRange});
}

absl::StatusOr<ImportCounts> PgCostStore::ImportPrices(absl::string_view tenant,
                                                       absl::Time effective_time,
                                                       absl::string_view source,
                                                       const std::vector<CatalogPrice>& prices,
                                                       bool dry_run) {
  return pool_.Transact<ImportCounts>([&](pqxx::work& txn) -> absl::StatusOr<ImportCounts> {
    ASSIGN_OR_RETURN(std::vector<PriceVersion> current,
                     RowsToPrices(txn.exec_prepared(kCurrentTenantPrices.name, std::string(tenant),
                                                    PgTimestamp(effective_time))));
    std::map<std::pair<std::string, std::string>, ModelPrice> in_effect;
    for (PriceVersion& v : current) in_effect[{v.provider, v.model}] = std::move(v.price);
    ImportCounts counts;
    std::vector<CatalogPrice> changed;
    for (const CatalogPrice& p : prices) {
      auto it = in_effect.find({p.provider, p.model});
      if (it != in_effect.end() && it->second == p.price) {
        ++counts.unchanged;
      } else {
        changed.push_back(p);
      }
    }
    counts.imported = static_cast<int64_t>(changed.size());
    if (!dry_run && !changed.empty()) {
      RETURN_IF_ERROR(
          WritePrices(txn, ToVersions(tenant, effective_time, source, changed)).status());
    }
    return counts;
  });
}

absl::StatusOr<bool> PgCostStore::ImportDefaultCatalogIfEmpty(
    const std::vector<CatalogPrice>& prices) {
  return pool_.Transact<bool>([&](pqxx::work& txn) -> absl::StatusOr<bool> {
    txn.exec_prepared(kLockDefaultCatalog.name);
    if (txn.exec_prepared(kHasGlobalPrice.name)[0][0].as<bool>()) return false;
    RETURN_IF_ERROR(
        WritePrices(txn, ToVersions("", absl::UnixEpoch(), kSourceDefault, prices)).status());
    return true;
  });
}

absl::StatusOr<PriceVersion> PgCostStore::UpsertPrice(const PriceVersion& price) {
  return pool_.Transact<PriceVersion>([&](pqxx::work& txn) -> absl::StatusOr<PriceVersion> {
    ASSIGN_OR_RETURN(std::vector<absl::Time> created, WritePrices(txn, {price}));
    if (created.size() != 1) return absl::InternalError("price upsert returned no row");
    PriceVersion stored = price;
    stored.create_time = created[0];
    return stored;
  });
}

absl::StatusOr<PriceVersion> PgCostStore::GetPrice(absl::string_view tenant,
                                                   absl::string_view provider,
                                                   absl::string_view model, absl::Time at) {
  return pool_.Transact<PriceVersion>([&](pqxx::work& txn) -> absl::StatusOr<PriceVersion> {
    const pqxx::result result =
        txn.exec_prepared(kGetPrice.name, std::string(tenant), std::string(provider),
                          std::string(model), PgTimestamp(at));
    if (result.empty()) {
      return absl::NotFoundError(
          absl::StrCat("no price for ", provider, "/", model, " at ", PgTimestamp(at)));
    }
    return RowToPrice(result[0]);
  });
}

absl::StatusOr<std::vector<PriceVersion>> PgCostStore::ListPrices(const PriceListQuery& query) {
  return pool_.Transact<std::vector<PriceVersion>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<PriceVersion>> {
        const bool first = !query.after.has_value();
        const std::string after_provider = first ? "" : query.after->provider;
        const std::string after_model = first ? "" : query.after->model;
        const std::string after_time =
            PgTimestamp(first ? absl::UnixEpoch() : query.after->effective_time);
        if (query.include_history) {
          return RowsToPrices(txn.exec_prepared(kListPriceHistory.name, query.tenant,
                                                query.provider, query.model, first, after_provider,
                                                after_model, after_time, query.limit));
        }
        return RowsToPrices(txn.exec_prepared(kListPricesCurrent.name, query.tenant, query.provider,
                                              query.model, first, after_provider, after_model,
                                              after_time, query.limit, PgTimestamp(query.now)));
      });
}

namespace {

// Adds one ledger row in kLedgerColumns order.
void AddLedgerRow(common::PgCopyBinary& copy, const PricedRecord& p, int64_t dims_id) {
  const UsageRecord& r = p.record;
  copy.BeginRow();
  copy.AddText(r.scope.tenant);
  copy.AddText(r.record_id);
  copy.AddTimestamptz(r.time);
  copy.AddInt8(dims_id);
  copy.AddText(r.run_id);
  if (r.run_succeeded.has_value()) {
    copy.AddBool(*r.run_succeeded);
  } else {
    copy.AddNull();
  }
  copy.AddInt8(r.tokens.input);
  copy.AddInt8(r.tokens.output);
  copy.AddInt8(r.tokens.cached_input);
  copy.AddInt8(r.tokens.cache_creation);
  copy.AddInt8(r.requests);
  copy.AddInt8(r.infra_quantity_milli);
  copy.AddInt8(p.cost_nano_usd);
  copy.AddBool(p.priced);
  copy.AddBool(p.client_priced);
  if (p.price_tenant.has_value()) {
    copy.AddBool(!p.price_tenant->empty());
    copy.AddTimestamptz(*p.price_effective_time);
  } else {
    copy.AddNull();
    copy.AddNull();
  }
  copy.EndRow();
}

// A ledger row to write: the priced record and its dimension combination.
struct LedgerRow {
  const PricedRecord* usage;
  int64_t dims_id;
};

// COPYs `rows` into the ledger in COPY's binary format (Postgres runs no
// text input function per value: 0.7 us less of its CPU per row); throws
// what Postgres reports (a key already there: pqxx::unique_violation).
void CopyUsage(pqxx::work& txn, const std::vector<LedgerRow>& rows) {
  // A group of a client batch (1,000 records, about 190 KB) is one piece and
  // one send, so Postgres is woken once for it (32 KB pieces measured more
  // wake-ups on both sides); a large group (20,000 records, 4 MB) is never
  // built whole.
  common::PgCopyBinary copy(txn, "cost.ledger",
                            {std::begin(kLedgerColumns), std::end(kLedgerColumns)});
  for (const LedgerRow& row : rows) AddLedgerRow(copy, *row.usage, row.dims_id);
  copy.Complete();
}

// Inserts `rows` once per (tenant, record_id) with ON CONFLICT (a replay is
// among them); returns the keys newly inserted.
std::set<std::pair<std::string, std::string>> InsertUsageOnce(pqxx::work& txn,
                                                              const std::vector<LedgerRow>& rows) {
  PgArray tenant, record_id, time, dims, run_id, run_succeeded, input, output, cached, creation,
      requests, quantity, cost, is_priced, client_priced, tenant_price, price_time;
  for (const LedgerRow& row : rows) {
    const PricedRecord* p = row.usage;
    const UsageRecord& r = p->record;
    tenant.AddText(r.scope.tenant);
    record_id.AddText(r.record_id);
    time.AddTime(r.time);
    dims.AddInt(row.dims_id);
    run_id.AddText(r.run_id);
    if (r.run_succeeded.has_value()) {
      run_succeeded.AddBool(*r.run_succeeded);
    } else {
      run_succeeded.AddNull();
    }
    input.AddInt(r.tokens.input);
    output.AddInt(r.tokens.output);
    cached.AddInt(r.tokens.cached_input);
    creation.AddInt(r.tokens.cache_creation);
    requests.AddInt(r.requests);
    quantity.AddInt(r.infra_quantity_milli);
    cost.AddInt(p->cost_nano_usd);
    is_priced.AddBool(p->priced);
    client_priced.AddBool(p->client_priced);
    if (p->price_tenant.has_value()) {
      tenant_price.AddBool(!p->price_tenant->empty());
      price_time.AddTime(*p->price_effective_time);
    } else {
      tenant_price.AddNull();
      price_time.AddNull();
    }
  }
  const pqxx::result inserted = txn.exec_prepared(
      kInsertUsage.name, tenant.Text(), record_id.Text(), time.Text(), dims.Text(), run_id.Text(),
      run_succeeded.Text(), input.Text(), output.Text(), cached.Text(), creation.Text(),
      requests.Text(), quantity.Text(), cost.Text(), is_priced.Text(), client_priced.Text(),
      tenant_price.Text(), price_time.Text());
  std::set<std::pair<std::string, std::string>> fresh;
  for (const pqxx::row& row : inserted) fresh.emplace(row[0].c_str(), row[1].c_str());
  return fresh;
}

// The ledger's text for a record's infra resource ("" unless infra).
absl::string_view InfraResourceText(const UsageRecord& r) {
  return r.kind == UsageKind::kInfra ? InfraResourceName(r.infra_resource) : "";
}

}  // namespace

absl::StatusOr<RecordOutcome> PgCostStore::RecordUsage(const std::vector<UsageRecord>& records,
                                                       absl::Time now) {
  PendingBatch batch;
  batch.records = &records;
  batch.now = now;
  // Repeats inside the batch are duplicates of their first occurrence; rows
  // are written in key order so concurrent transactions lock in one order.
  batch.order.resize(records.size());
  for (size_t i = 0; i < records.size(); ++i) batch.order[i] = i;
  std::stable_sort(batch.order.begin(), batch.order.end(), [&records](size_t a, size_t b) {
    return std::tie(records[a].scope.tenant, records[a].record_id) <
           std::tie(records[b].scope.tenant, records[b].record_id);
  });
  batch.order.erase(std::unique(batch.order.begin(), batch.order.end(),
                                [&records](size_t a, size_t b) {
                                  return records[a].scope.tenant == records[b].scope.tenant &&
                                         records[a].record_id == records[b].record_id;
                                }),
                    batch.order.end());

  // Group commit (up to the record cap per group): answered once the
  // transaction holding the batch committed.
  committer_.Commit(&batch);
  return std::move(batch.result);
}

size_t PgCostStore::QueuedBatches() const { return committer_.Queued(); }

int64_t PgCostStore::BudgetDefinitionReads() const {
  absl::MutexLock lock(&budgets_mu_);
  return budget_reads_;
}

absl::StatusOr<std::vector<std::shared_ptr<const std::vector<Budget>>>>
PgCostStore::BudgetsOfTenants(pqxx::work& txn, const std::vector<absl::string_view>& tenants) {
  std::vector<std::shared_ptr<const std::vector<Budget>>> out(tenants.size());
  PgArray tenant_array, cached_array;
  std::vector<int64_t> cached(tenants.size(), -1);
  absl::flat_hash_map<absl::string_view, size_t> position;
  {
    absl::MutexLock lock(&budgets_mu_);
    for (size_t i = 0; i < tenants.size(); ++i) {
      auto it = budgets_cache_.find(tenants[i]);
      if (it == budgets_cache_.end()) continue;
      cached[i] = it->second.version;
      out[i] = it->second.budgets;
    }
  }
  for (size_t i = 0; i < tenants.size(); ++i) {
    tenant_array.AddText(tenants[i]);
    cached_array.AddInt(cached[i]);
    position.emplace(tenants[i], i);
  }
  std::vector<std::optional<int64_t>> version(tenants.size());
  std::vector<std::vector<Budget>> read(tenants.size());
  const pqxx::result rows =
      txn.exec_prepared(kBudgetsOfTenantsIfChanged.name, tenant_array.Text(), cached_array.Text());
  for (const pqxx::row& row : rows) {
    const pqxx::row::size_type columns = row.size();
    auto it = position.find(row[columns - 2].as<std::string>());
    if (it == position.end()) return absl::InternalError("budgets of an unasked tenant");
    version[it->second] = row[columns - 1].as<int64_t>();
    if (row[1].is_null()) continue;  // no budget read for the tenant
    ASSIGN_OR_RETURN(Budget budget, RowToBudget(row));
    read[it->second].push_back(std::move(budget));
  }
  std::vector<size_t> changed;
  for (size_t i = 0; i < tenants.size(); ++i) {
    if (!version[i].has_value()) return absl::InternalError("no budget version of a tenant");
    if (*version[i] == cached[i]) continue;  // out[i] is the copy read at that version
    out[i] = std::make_shared<const std::vector<Budget>>(std::move(read[i]));
    changed.push_back(i);
  }
  if (!changed.empty()) {
    absl::MutexLock lock(&budgets_mu_);
    budget_reads_ += static_cast<int64_t>(changed.size());
    if (budgets_cache_.size() + changed.size() > kMaxCachedBudgetTenants) budgets_cache_.clear();
    for (size_t i : changed) budgets_cache_[std::string(tenants[i])] = {*version[i], out[i]};
  }
  return out;
}

absl::Status PgCostStore::ResolveDims(const std::vector<PendingBatch*>& group) {
  // The group's combinations: from the cache, else looked up (and created
  // when new) in one transaction of their own, committed before the ledger
  // rows that refer to them (a combination row is never removed, so one left
  // by a failed batch is harmless).
  // Records are looked up by their fields (DimsOf): a key is only built
  // for a combination the cache misses.
  std::vector<std::string> keys;
  std::vector<const UsageRecord*> missing_records;
  std::map<std::string, std::vector<int64_t*>> missing;  // by key: where the id goes
  {
    absl::MutexLock lock(&dims_mu_);
    for (PendingBatch* b : group) {
      b->dims.assign(b->order.size(), 0);
      for (size_t j = 0; j < b->order.size(); ++j) {
        const UsageRecord& record = (*b->records)[b->order[j]];
        auto it = dims_cache_.find(DimsOf{&record});
        if (it != dims_cache_.end()) {
          b->dims[j] = it->second;
          continue;
        }
        std::string key = DimsCacheKey(record);
        auto& slots = missing[key];
        if (slots.empty()) {
          keys.push_back(std::move(key));
          missing_records.push_back(&record);
        }
        slots.push_back(&b->dims[j]);
      }
    }
  }
  if (missing.empty()) return absl::OkStatus();
  std::vector<int64_t> ids(keys.size(), 0);
  RETURN_IF_ERROR(pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    PgArray tenant, kind, team, workflow, agent, model, provider, service, tags, resource, sku;
    for (const UsageRecord* r : missing_records) {
      tenant.AddText(r->scope.tenant);
      kind.AddText(UsageKindName(r->kind));
      team.AddText(r->scope.team);
      workflow.AddText(r->scope.workflow);
      agent.AddText(r->scope.agent);
      model.AddText(r->scope.model);
      provider.AddText(r->scope.provider);
      service.AddText(r->scope.service);
      tags.AddText(TagsJson(r->scope.tags));
      resource.AddText(InfraResourceText(*r));
      sku.AddText(r->infra_sku);
    }
    auto lookup = [&]() -> size_t {
      size_t found = 0;
      for (const pqxx::row& row : txn.exec_prepared(
               kLookupDims.name, tenant.Text(), kind.Text(), team.Text(), workflow.Text(),
               agent.Text(), model.Text(), provider.Text(), service.Text(), tags.Text(),
               resource.Text(), sku.Text())) {
        const int64_t ordinal = row[0].as<int64_t>();
        if (ordinal < 1 || ordinal > static_cast<int64_t>(ids.size())) continue;
        if (ids[ordinal - 1] == 0) ++found;
        ids[ordinal - 1] = row[1].as<int64_t>();
      }
      return found;
    };
    if (lookup() == ids.size()) return absl::OkStatus();
    txn.exec_prepared(kCreateDims.name, tenant.Text(), kind.Text(), team.Text(), workflow.Text(),
                      agent.Text(), model.Text(), provider.Text(), service.Text(), tags.Text(),
                      resource.Text(), sku.Text());
    lookup();
    for (int64_t id : ids) {
      if (id == 0) return absl::InternalError("a usage dimension combination was not created");
    }
    return absl::OkStatus();
  }));
  absl::MutexLock lock(&dims_mu_);
  if (dims_cache_.size() + keys.size() > kMaxCachedDims) dims_cache_.clear();
  for (size_t k = 0; k < keys.size(); ++k) {
    for (int64_t* slot : missing[keys[k]]) *slot = ids[k];
    dims_cache_.emplace(std::move(keys[k]), ids[k]);
  }
  return absl::OkStatus();
}

void PgCostStore::RunGroup(const std::vector<PendingBatch*>& group) {
  if (options_.before_group) options_.before_group(group.size());
  absl::Time now = absl::InfinitePast();
  for (const PendingBatch* b : group) now = std::max(now, b->now);
  absl::Status status = ResolveDims(group);
  if (status.ok()) {
    status = pool_.WithTransaction(
        [&](pqxx::work& txn) -> absl::Status { return WriteGroup(txn, group, now); });
  }
  if (status.ok()) return;
  if (group.size() == 1) {
    group[0]->result = status;
    return;
  }
  // The shared transaction failed (and rolled back): each batch again on its
  // own, so that a batch that cannot be written fails alone.
  for (PendingBatch* b : group) RunGroup({b});
}

absl::Status PgCostStore::WriteGroup(pqxx::work& txn, const std::vector<PendingBatch*>& group,
                                     absl::Time now) {
  // The catalog keys of each record (PriceKeysFor), computed once per
  // distinct kind, provider, model and infra resource/sku of the group (most
  // records share a few), and the catalog versions the group may need.
  using KeysOf = std::tuple<int, absl::string_view, absl::string_view, int, absl::string_view>;
  absl::node_hash_map<KeysOf, std::vector<PriceKey>> keys_of;
  static const std::vector<PriceKey> kNoKeys;
  std::vector<std::vector<const std::vector<PriceKey>*>> record_keys(group.size());
  absl::flat_hash_set<std::tuple<absl::string_view, absl::string_view, absl::string_view>> needed;
  absl::Time latest = absl::InfinitePast();
  for (size_t g = 0; g < group.size(); ++g) {
    const PendingBatch* b = group[g];
    record_keys[g].reserve(b->order.size());
    for (size_t i : b->order) {
      const UsageRecord& r = (*b->records)[i];
      const std::vector<PriceKey>* keys = &kNoKeys;
      if (!r.client_cost_nano_usd.has_value() && r.kind != UsageKind::kOutcome) {
        auto [it, inserted] =
            keys_of.try_emplace(KeysOf{static_cast<int>(r.kind), r.scope.provider, r.scope.model,
                                       static_cast<int>(r.infra_resource), r.infra_sku});
        if (inserted) it->second = PriceKeysFor(r);
        keys = &it->second;
      }
      record_keys[g].push_back(keys);
      for (const PriceKey& key : *keys) {
        needed.emplace(r.scope.tenant, key.first, key.second);
        latest = std::max(latest, r.time);
      }
    }
  }
  PriceBook book;
  if (!needed.empty()) {
    PgArray k_tenant, k_provider, k_model;
    for (const auto& [tenant, provider, model] : needed) {
      k_tenant.AddText(tenant);
      k_provider.AddText(provider);
      k_model.AddText(model);
    }
    ASSIGN_OR_RETURN(
        std::vector<PriceVersion> versions,
        RowsToPrices(txn.exec_prepared(kLoadBatchPrices.name, k_tenant.Text(), k_provider.Text(),
                                       k_model.Text(), PgTimestamp(latest))));
    for (PriceVersion& v : versions) book.Add(std::move(v));
  }

  // Price each batch; a batch with a record that cannot be priced or whose
  // total overflows fails alone, before anything is written.
  std::vector<std::vector<PricedRecord>> priced(group.size());
  std::vector<size_t> written;  // indexes into group of the batches written
  for (size_t g = 0; g < group.size(); ++g) {
    const std::vector<UsageRecord>& records = *group[g]->records;
    const std::vector<size_t>& order = group[g]->order;
    priced[g].reserve(order.size());
    absl::Status status;
    for (size_t j = 0; j < order.size(); ++j) {
      const size_t i = order[j];
      // The field is only named for an error (no string built per record).
      absl::StatusOr<UsagePricing> p = PriceRecord(records[i], *record_keys[g][j], book, "");
      if (!p.ok()) {
        p = PriceRecord(records[i], *record_keys[g][j], book, absl::StrCat("records[", i, "]"));
      }
      if (!p.ok()) {
        status = p.status();
        break;
      }
      priced[g].emplace_back(records[i], *std::move(p));
    }
    if (status.ok()) {
      // The batch total must fit too (what is new of it is at most that).
      NanoSum total;
      for (const PricedRecord& p : priced[g]) total.Add(p.cost_nano_usd);
      status = total.Value().status();
    }
    if (!status.ok()) {
      group[g]->result = status;
      priced[g].clear();
      continue;
    }
    written.push_back(g);
  }
  if (written.empty()) return absl::OkStatus();

  // The rows to write: each key once, from the first batch of the group that
  // holds it (a later batch counts it as a duplicate), in key order.
  struct Row {
    const PricedRecord* usage;
    size_t batch;  // index into group
    int64_t dims_id;
  };
  // Each batch's rows are in key order already (PendingBatch::order), so
  // merging the runs (stable: an earlier batch first among equal keys)
  // replaces a sort of the whole group.
  auto key_less = [](const Row& a, const Row& b) {
    return std::tie(a.usage->record.scope.tenant, a.usage->record.record_id) <
           std::tie(b.usage->record.scope.tenant, b.usage->record.record_id);
  };
  std::vector<Row> rows;
  for (size_t g : written) {
    const size_t run_start = rows.size();
    for (size_t j = 0; j < priced[g].size(); ++j) {
      rows.push_back({&priced[g][j], g, group[g]->dims[j]});
    }
    std::inplace_merge(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(run_start),
                       rows.end(), key_less);
  }
  std::vector<LedgerRow> unique;
  std::vector<size_t> unique_batch;
  unique.reserve(rows.size());
  for (size_t k = 0; k < rows.size(); ++k) {
    const UsageRecord& r = rows[k].usage->record;
    if (k > 0 && rows[k - 1].usage->record.scope.tenant == r.scope.tenant &&
        rows[k - 1].usage->record.record_id == r.record_id) {
      continue;
    }
    unique.push_back({rows[k].usage, rows[k].dims_id});
    unique_batch.push_back(rows[k].batch);
  }

  // First as all new with one COPY inside a savepoint; a key already in the
  // ledger (a replay) undoes that and inserts once per key, learning which
  // are new.
  std::vector<bool> fresh(unique.size(), true);
  bool all_fresh = true;
  txn.exec(kSavepoint);
  try {
    CopyUsage(txn, unique);
  } catch (const pqxx::unique_violation&) {
    all_fresh = false;
  }
  txn.exec(all_fresh ? kReleaseSavepoint : kRollbackToSavepoint);
  if (!all_fresh) {
    const std::set<std::pair<std::string, std::string>> inserted = InsertUsageOnce(txn, unique);
    for (size_t k = 0; k < unique.size(); ++k) {
      const UsageRecord& r = unique[k].usage->record;
      fresh[k] = inserted.count({r.scope.tenant, r.record_id}) > 0;
    }
  }

  // Each batch's outcome; unknown models and budgets over the whole group.
  std::vector<RecordOutcome> outcomes(group.size());
  std::vector<NanoSum> totals(group.size());
  std::vector<std::set<std::string>> unknown_names(group.size());
  struct Unknown {
    absl::Time first_seen = absl::InfiniteFuture();
    absl::Time last_seen = absl::InfinitePast();
    int64_t calls = 0, input_tokens = 0, output_tokens = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Unknown> unknown;
  std::vector<const PricedRecord*> fresh_priced;
  fresh_priced.reserve(unique.size());
  for (size_t k = 0; k < unique.size(); ++k) {
    if (!fresh[k]) continue;
    const PricedRecord& p = *unique[k].usage;
    const size_t g = unique_batch[k];
    fresh_priced.push_back(&p);
    ++outcomes[g].accepted;
    totals[g].Add(p.cost_nano_usd);
    if (p.priced) continue;
    ++outcomes[g].unpriced;
    const UsageRecord& r = p.record;
    if (r.kind != UsageKind::kLlm) continue;
    const std::string canonical = CanonicalModel(r.scope.provider, r.scope.model);
    Unknown& u = unknown[{r.scope.tenant, r.scope.provider, canonical}];
    u.first_seen = std::min(u.first_seen, r.time);
    u.last_seen = std::max(u.last_seen, r.time);
    u.calls += r.requests;
    u.input_tokens += r.tokens.input;
    u.output_tokens += r.tokens.output;
    unknown_names[g].insert(absl::StrCat(r.scope.provider, "/", canonical));
  }
  for (size_t g : written) {
    RecordOutcome& o = outcomes[g];
    o.duplicates = static_cast<int64_t>(group[g]->records->size()) - o.accepted;
    ASSIGN_OR_RETURN(o.total_cost_nano_usd, totals[g].Value());
    o.unknown_models.assign(unknown_names[g].begin(), unknown_names[g].end());
  }
  if (!unknown.empty()) {
    PgArray u_tenant, u_provider, u_model, u_first, u_last, u_calls, u_input, u_output;
    for (const auto& [key, u] : unknown) {
      u_tenant.AddText(std::get<0>(key));
      u_provider.AddText(std::get<1>(key));
      u_model.AddText(std::get<2>(key));
      u_first.AddTime(u.first_seen);
      u_last.AddTime(u.last_seen);
      u_calls.AddInt(u.calls);
      u_input.AddInt(u.input_tokens);
      u_output.AddInt(u.output_tokens);
    }
    txn.exec_prepared(kUpsertUnknownModels.name, u_tenant.Text(), u_provider.Text(), u_model.Text(),
                      u_first.Text(), u_last.Text(), u_calls.Text(), u_input.Text(),
                      u_output.Text());
  }
  // Budgets once for the group. Its alerts go with the outcome of its first
  // written batch (logged and counted once), its counter increments with
  // every written batch's: each caller raises the counters before it
  // answers (raises repeat harmlessly). With the first batch only, the
  // others could be answered before that raise, and stay missing from the
  // counters if the process died in between.
  RecordOutcome& first = outcomes[written.front()];
  RETURN_IF_ERROR(EvaluateBudgets(
      txn, fresh_priced, now,
      [&](const std::vector<absl::string_view>& tenants) { return BudgetsOfTenants(txn, tenants); },
      &first));
  for (size_t g : written) {
    if (&outcomes[g] != &first) outcomes[g].increments = first.increments;
  }
  for (size_t g : written) group[g]->result = std::move(outcomes[g]);
  return absl::OkStatus();
}

absl::StatusOr<ReportResult> PgCostStore::QueryReport(const ReportQuery& query) {
  std::array<bool, kDimensionCount> grouped{};
  for (Dimension d : query.group_by) grouped[static_cast<int>(d)] = true;
  const Scope& f = query.filter;
  return pool_.Transact<ReportResult>([&](pqxx::work& txn) -> absl::StatusOr<ReportResult> {
    const pqxx::result result = txn.exec_prepared(
        kReport.name, grouped[0], grouped[1], grouped[2], grouped[3], grouped[4], grouped[5],
        grouped[6], grouped[7], query.tag_key, std::string(BucketField(query.bucket)),
        query.time_zone, PgTimestamp(query.start), PgTimestamp(query.end), f.tenant, f.team,
        f.workflow, f.agent, f.model, f.provider, f.service, TagsJson(f.tags), query.top_n);
    ReportResult report;
    for (const pqxx::row& row : result) {
      ReportFigures figures;
      ASSIGN_OR_RETURN(figures.cost_nano_usd, ParseSum(row[10]));
      ASSIGN_OR_RETURN(figures.input_tokens, ParseSum(row[11]));
      ASSIGN_OR_RETURN(figures.output_tokens, ParseSum(row[12]));
      ASSIGN_OR_RETURN(figures.cached_input_tokens, ParseSum(row[13]));
      ASSIGN_OR_RETURN(figures.cache_creation_tokens, ParseSum(row[14]));
      ASSIGN_OR_RETURN(figures.calls, ParseSum(row[15]));
      figures.workflow_runs = row[16].as<int64_t>();
      figures.successful_runs = row[17].as<int64_t>();
      ASSIGN_OR_RETURN(figures.unpriced_calls, ParseSum(row[18]));
      ASSIGN_OR_RETURN(figures.llm_cost_nano_usd, ParseSum(row[19]));
      ASSIGN_OR_RETURN(figures.infra_cost_nano_usd, ParseSum(row[20]));
      ASSIGN_OR_RETURN(figures.client_cost_nano_usd, ParseSum(row[21]));
      if (row[0].as<bool>()) {
        report.totals = figures;
        continue;
      }
      ReportRow out;
      for (int d = 0; d < kDimensionCount; ++d) out.group[d] = row[1 + d].as<std::string>();
      if (!row[9].is_null()) out.bucket_start = FromUnixMicros(row[9].as<int64_t>());
      out.figures = figures;
      report.rows.push_back(std::move(out));
    }
    SortReportRows(&report.rows);
    return report;
  });
}

absl::StatusOr<int64_t> PgCostStore::Spend(const Scope& scope, const Period& period) {
  return pool_.Transact<int64_t>([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    const pqxx::result result =
        txn.exec_prepared(kSpend.name, scope.tenant, PgTimestamp(period.start),
                          PgTimestamp(period.end), scope.team, scope.workflow, scope.agent,
                          scope.model, scope.provider, scope.service, TagsJson(scope.tags));
    return ParseSum(result[0][0]);
  });
}

absl::StatusOr<Budget> PgCostStore::CreateBudget(const Budget& budget) {
  const std::string& tenant = budget.scope.tenant;
  uint64_t random = 0;
  {
    absl::BitGen gen;
    random = absl::Uniform<uint64_t>(gen);
  }
  return pool_.Transact<Budget>([&](pqxx::work& txn) -> absl::StatusOr<Budget> {
    txn.exec_prepared(kLockTenantBudgets.name, tenant);
    if (!budget.request_id.empty()) {
      const pqxx::result existing =
          txn.exec_prepared(kBudgetByRequestId.name, tenant, budget.request_id);
      if (!existing.empty()) return RowToBudget(existing[0]);
    }
    if (txn.exec_prepared(kBudgetNameTaken.name, tenant, budget.name)[0][0].as<bool>()) {
      return absl::AlreadyExistsError(absl::StrCat("budget '", budget.name, "' already exists"));
    }
    if (txn.exec_prepared(kCountBudgets.name, tenant)[0][0].as<int64_t>() >= kMaxBudgetsPerTenant) {
      return absl::ResourceExhaustedError(
          absl::StrCat("tenant has ", kMaxBudgetsPerTenant, " budgets, the maximum"));
    }
    PgArray thresholds;
    for (int32_t t : budget.threshold_percents) thresholds.AddInt(static_cast<int64_t>(t));
    const Scope& s = budget.scope;
    const pqxx::result row = txn.exec_prepared(
        kInsertBudget.name, tenant, MakeBudgetId(tenant, random), budget.name, s.team, s.workflow,
        s.agent, s.model, s.provider, s.service, TagsJson(s.tags),
        std::string(BudgetPeriodName(budget.period)), absl::ToInt64Seconds(budget.rolling_window),
        budget.limit_nano_usd, thresholds.Text(), std::string(EnforcementName(budget.enforcement)),
        budget.time_zone, budget.alert_on_projected_overrun, budget.alert_severity,
        budget.request_id);
    return RowToBudget(row[0]);
  });
}

absl::StatusOr<Budget> PgCostStore::GetBudget(absl::string_view id) {
  ASSIGN_OR_RETURN(std::string tenant, TenantOfBudgetId(id, "id"));
  return pool_.Transact<Budget>([&](pqxx::work& txn) -> absl::StatusOr<Budget> {
    const pqxx::result result = txn.exec_prepared(kGetBudget.name, tenant, std::string(id));
    if (result.empty()) return absl::NotFoundError(absl::StrCat("no budget ", id));
    return RowToBudget(result[0]);
  });
}

absl::Status PgCostStore::DeleteBudget(absl::string_view id) {
  ASSIGN_OR_RETURN(std::string tenant, TenantOfBudgetId(id, "id"));
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    // Waits for batches evaluating the tenant's budgets (kShareTenantBudgets).
    txn.exec_prepared(kLockTenantBudgets.name, tenant);
    if (txn.exec_prepared(kDeleteBudget.name, tenant, std::string(id)).empty()) {
      return absl::NotFoundError(absl::StrCat("no budget ", id));
    }
    txn.exec_prepared(kDropPeriodSpends.name, tenant, std::string(id));
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<int32_t>> PgCostStore::FiredThresholds(absl::string_view tenant,
                                                                  absl::string_view budget_id,
                                                                  absl::Time period_start) {
  return pool_.Transact<std::vector<int32_t>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<int32_t>> {
        std::vector<int32_t> out;
        for (const pqxx::row& row :
             txn.exec_prepared(kFiredThresholds.name, std::string(tenant), std::string(budget_id),
                               PgTimestamp(period_start))) {
          out.push_back(row[0].as<int32_t>());
        }
        return out;
      });
}

absl::StatusOr<std::vector<Budget>> PgCostStore::ListBudgets(
    absl::string_view tenant, const std::optional<BudgetCursor>& after, int32_t limit) {
  return pool_.Transact<std::vector<Budget>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<Budget>> {
        const pqxx::result result = txn.exec_prepared(
            kListBudgets.name, std::string(tenant), !after.has_value(),
            after.has_value() ? after->tenant : "", after.has_value() ? after->name : "", limit);
        std::vector<Budget> out;
        for (const pqxx::row& row : result) {
          ASSIGN_OR_RETURN(Budget b, RowToBudget(row));
          out.push_back(std::move(b));
        }
        return out;
      });
}

absl::StatusOr<Budget> PgCostStore::UpdateBudget(absl::string_view id, const BudgetUpdateFn& update,
                                                 absl::Time now) {
  ASSIGN_OR_RETURN(std::string tenant, TenantOfBudgetId(id, "id"));
  const std::string budget_id(id);
  return pool_.Transact<Budget>([&](pqxx::work& txn) -> absl::StatusOr<Budget> {
    // The tenant lock orders this against creations (name checks), the
    // budget lock against alert evaluation of concurrent batches.
    txn.exec_prepared(kLockTenantBudgets.name, tenant);
    txn.exec_prepared(kLockBudget.name, budget_id);
    const pqxx::result current_row = txn.exec_prepared(kGetBudgetForUpdate.name, tenant, budget_id);
    if (current_row.empty()) return absl::NotFoundError(absl::StrCat("no budget ", id));
    ASSIGN_OR_RETURN(const Budget current, RowToBudget(current_row[0]));
    ASSIGN_OR_RETURN(const Budget next, update(current));
    if (txn.exec_prepared(kBudgetNameTakenByOther.name, tenant, next.name, budget_id)[0][0]
            .as<bool>()) {
      return absl::AlreadyExistsError(absl::StrCat("budget '", next.name, "' already exists"));
    }
    PgArray thresholds;
    for (int32_t t : next.threshold_percents) thresholds.AddInt(static_cast<int64_t>(t));
    const Scope& s = next.scope;
    const pqxx::result row = txn.exec_prepared(
        kUpdateBudget.name, tenant, budget_id, next.name, s.team, s.workflow, s.agent, s.model,
        s.provider, s.service, TagsJson(s.tags), std::string(BudgetPeriodName(next.period)),
        absl::ToInt64Seconds(next.rolling_window), next.limit_nano_usd, thresholds.Text(),
        std::string(EnforcementName(next.enforcement)), next.time_zone,
        next.alert_on_projected_overrun, next.alert_severity);
    ASSIGN_OR_RETURN(Budget stored, RowToBudget(row[0]));
    txn.exec_prepared(kDropPeriodSpends.name, tenant, budget_id);
    const absl::Time old_start = BudgetWindowAt(current, now).alert_period.start;
    const absl::Time new_start = BudgetWindowAt(stored, now).alert_period.start;
    if (old_start != new_start) {
      txn.exec_prepared(kCarryFiredEvents.name, tenant, budget_id, PgTimestamp(new_start),
                        PgTimestamp(old_start));
    }
    return stored;
  });
}

absl::StatusOr<std::vector<UnknownModelSummary>> PgCostStore::ListUnknownModels(
    const UnknownModelQuery& query) {
  return pool_.Transact<std::vector<UnknownModelSummary>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<UnknownModelSummary>> {
        const bool first = !query.after.has_value();
        const std::string a_tenant = first ? "" : query.after->tenant;
        const std::string a_provider = first ? "" : query.after->provider;
        const std::string a_model = first ? "" : query.after->model;
        const pqxx::result result =
            query.range.has_value()
                ? txn.exec_prepared(kListUnknownModelsInRange.name, query.tenant, first, a_tenant,
                                    a_provider, a_model, query.limit,
                                    PgTimestamp(query.range->start), PgTimestamp(query.range->end))
                : txn.exec_prepared(kListUnknownModels.name, query.tenant, first, a_tenant,
                                    a_provider, a_model, query.limit);
        std::vector<UnknownModelSummary> out;
        for (const pqxx::row& row : result) {
          UnknownModelSummary m;
          m.tenant = row[0].as<std::string>();
          m.provider = row[1].as<std::string>();
          m.model = row[2].as<std::string>();
          m.first_seen = FromUnixMicros(row[3].as<int64_t>());
          m.last_seen = FromUnixMicros(row[4].as<int64_t>());
          ASSIGN_OR_RETURN(m.calls, ParseSum(row[5]));
          ASSIGN_OR_RETURN(m.input_tokens, ParseSum(row[6]));
          ASSIGN_OR_RETURN(m.output_tokens, ParseSum(row[7]));
          out.push_back(std::move(m));
        }
        return out;
      });
}

}  // namespace agentwatch::cost
