-- The cost service's schema: price catalog, usage ledger, unknown models, budgets.
-- Money is integer nano-USD (bigint); token prices are nano-USD per million tokens.

-- Price catalog, versioned by effective_time: a price change is a new row, so
-- history is never rewritten. tenant_id '' holds the global prices; a tenant's
-- rows are its negotiated overrides. Tiers are parallel arrays sorted by
-- tier_above_input_tokens (a tier applies when input tokens exceed it).
CREATE TABLE cost.prices (
  tenant_id                     text        NOT NULL,
  provider                      text        NOT NULL,
  model                         text        NOT NULL,
  effective_time                timestamptz NOT NULL,
  input_per_mtok                bigint      NOT NULL CHECK (input_per_mtok >= 0),
  output_per_mtok               bigint      NOT NULL CHECK (output_per_mtok >= 0),
  cache_read_per_mtok           bigint      NOT NULL CHECK (cache_read_per_mtok >= 0),
  cache_creation_per_mtok       bigint      NOT NULL CHECK (cache_creation_per_mtok >= 0),
  unit_price_nano_usd           bigint      NOT NULL CHECK (unit_price_nano_usd >= 0),
  tier_above_input_tokens       bigint[]    NOT NULL DEFAULT '{}',
  tier_input_per_mtok           bigint[]    NOT NULL DEFAULT '{}',
  tier_output_per_mtok          bigint[]    NOT NULL DEFAULT '{}',
  tier_cache_read_per_mtok      bigint[]    NOT NULL DEFAULT '{}',
  tier_cache_creation_per_mtok  bigint[]    NOT NULL DEFAULT '{}',
  source                        text        NOT NULL,
  create_time                   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, provider, model, effective_time),
  CHECK (cardinality(tier_input_per_mtok) = cardinality(tier_above_input_tokens)
     AND cardinality(tier_output_per_mtok) = cardinality(tier_above_input_tokens)
     AND cardinality(tier_cache_read_per_mtok) = cardinality(tier_above_input_tokens)
     AND cardinality(tier_cache_creation_per_mtok) = cardinality(tier_above_input_tokens))
);

-- The usage ledger: one row per (tenant, record_id), the idempotency key.
-- kind is 'llm', 'infra' or 'outcome' (a run outcome without usage). The cost
-- is fixed when the record is first written and never re-priced.
CREATE TABLE cost.usage (
  tenant_id              text        NOT NULL,
  record_id              text        NOT NULL,
  usage_time             timestamptz NOT NULL,
  kind                   text        NOT NULL CHECK (kind IN ('llm', 'infra', 'outcome')),
  team                   text        NOT NULL DEFAULT '',
  workflow               text        NOT NULL DEFAULT '',
  agent                  text        NOT NULL DEFAULT '',
  model                  text        NOT NULL DEFAULT '',
  provider               text        NOT NULL DEFAULT '',
  service                text        NOT NULL DEFAULT '',
  tags                   jsonb       NOT NULL DEFAULT '{}',
  run_id                 text        NOT NULL DEFAULT '',
  run_succeeded          boolean,
  input_tokens           bigint      NOT NULL DEFAULT 0,
  output_tokens          bigint      NOT NULL DEFAULT 0,
  cached_input_tokens    bigint      NOT NULL DEFAULT 0,
  cache_creation_tokens  bigint      NOT NULL DEFAULT 0,
  requests               bigint      NOT NULL DEFAULT 0,
  infra_resource         text        NOT NULL DEFAULT '',
  infra_quantity_milli   bigint      NOT NULL DEFAULT 0,
  infra_sku              text        NOT NULL DEFAULT '',
  cost_nano_usd          bigint      NOT NULL CHECK (cost_nano_usd >= 0),
  priced                 boolean     NOT NULL,
  client_priced          boolean     NOT NULL,
  price_tenant_id        text,
  price_effective_time   timestamptz,
  recorded_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, record_id)
);
CREATE INDEX usage_tenant_time_idx ON cost.usage (tenant_id, usage_time);
CREATE INDEX usage_tenant_run_outcome_idx ON cost.usage (tenant_id, run_id, usage_time)
  WHERE run_succeeded IS NOT NULL;

-- Models seen in usage without a price, aggregated per tenant.
CREATE TABLE cost.unknown_models (
  tenant_id      text        NOT NULL,
  provider       text        NOT NULL,
  model          text        NOT NULL,
  first_seen     timestamptz NOT NULL,
  last_seen      timestamptz NOT NULL,
  calls          bigint      NOT NULL,
  input_tokens   bigint      NOT NULL,
  output_tokens  bigint      NOT NULL,
  PRIMARY KEY (tenant_id, provider, model)
);

-- Spend budgets. The id embeds the tenant, so every lookup leads with tenant_id.
CREATE TABLE cost.budgets (
  tenant_id                   text        NOT NULL,
  id                          text        NOT NULL,
  name                        text        NOT NULL,
  team                        text        NOT NULL DEFAULT '',
  workflow                    text        NOT NULL DEFAULT '',
  agent                       text        NOT NULL DEFAULT '',
  model                       text        NOT NULL DEFAULT '',
  provider                    text        NOT NULL DEFAULT '',
  service                     text        NOT NULL DEFAULT '',
  tags                        jsonb       NOT NULL DEFAULT '{}',
  period                      text        NOT NULL,
  rolling_window_seconds      bigint      NOT NULL DEFAULT 0,
  limit_nano_usd              bigint      NOT NULL CHECK (limit_nano_usd > 0),
  threshold_percents          integer[]   NOT NULL,
  enforcement                 text        NOT NULL,
  time_zone                   text        NOT NULL,
  alert_on_projected_overrun  boolean     NOT NULL DEFAULT false,
  alert_severity              integer     NOT NULL,
  request_id                  text        NOT NULL DEFAULT '',
  create_time                 timestamptz NOT NULL DEFAULT now(),
  update_time                 timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, name)
);
CREATE UNIQUE INDEX budgets_request_id_idx ON cost.budgets (tenant_id, request_id)
  WHERE request_id <> '';
