-- A narrower usage ledger, for ingest speed.
--
-- The dimension strings of a record (kind, team, workflow, agent, model,
-- provider, service, tags, infra resource and SKU) repeat across millions of
-- records, so they move to cost.usage_dims, one row per distinct combination
-- of a tenant, and a ledger row carries its integer dims_id. The ledger keeps
-- what differs per record: the idempotency key, the time, the run, the token
-- counts, the cost and how it was priced. The (tenant_id, usage_time) btree
-- becomes a BRIN index on usage_time: records arrive roughly in time order,
-- so a block range covers a narrow time span, and a BRIN index costs next to
-- nothing per insert where the btree cost a random leaf write per record.
-- cost.usage stays, as a view with the old columns, for every reader.

-- The canonical text of a dimension combination: every field length-prefixed
-- (octets), tags sorted by key in byte order, so that equal combinations (and
-- only those) give equal texts. Its SHA-256 is the combination's unique key.
CREATE FUNCTION cost.usage_dims_key(
    kind text, team text, workflow text, agent text, model text, provider text,
    service text, tags jsonb, infra_resource text, infra_sku text)
  RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT concat_ws('|',
    octet_length(kind) || ':' || kind, octet_length(team) || ':' || team,
    octet_length(workflow) || ':' || workflow, octet_length(agent) || ':' || agent,
    octet_length(model) || ':' || model, octet_length(provider) || ':' || provider,
    octet_length(service) || ':' || service,
    octet_length(infra_resource) || ':' || infra_resource,
    octet_length(infra_sku) || ':' || infra_sku,
    (SELECT count(*) || ':' || COALESCE(string_agg(
              octet_length(key) || ':' || key || octet_length(value) || ':' || value, ''
              ORDER BY key COLLATE "C"), '')
     FROM jsonb_each_text(tags)))
$$;

-- One row per distinct dimension combination of a tenant. Rows are never
-- updated or deleted, so a replica may cache dims_id forever.
CREATE TABLE cost.usage_dims (
  tenant_id       text    NOT NULL,
  dims_id         bigint  GENERATED ALWAYS AS IDENTITY,
  dims_hash       bytea   NOT NULL,
  kind            text    NOT NULL CHECK (kind IN ('llm', 'infra', 'outcome')),
  team            text    NOT NULL,
  workflow        text    NOT NULL,
  agent           text    NOT NULL,
  model           text    NOT NULL,
  provider        text    NOT NULL,
  service         text    NOT NULL,
  tags            jsonb   NOT NULL,
  infra_resource  text    NOT NULL,
  infra_sku       text    NOT NULL,
  PRIMARY KEY (tenant_id, dims_id),
  UNIQUE (tenant_id, dims_hash)
);

-- The ledger: one row per (tenant, record_id), the idempotency key. The cost
-- is fixed when the record is first written and never re-priced.
-- tenant_price: NULL when no catalog price was used (unpriced or client
-- priced), true for the tenant's own price version, false for the global one.
CREATE TABLE cost.ledger (
  tenant_id              text        NOT NULL,
  record_id              text        NOT NULL,
  usage_time             timestamptz NOT NULL,
  dims_id                bigint      NOT NULL,
  run_id                 text        NOT NULL DEFAULT '',
  run_succeeded          boolean,
  input_tokens           bigint      NOT NULL DEFAULT 0,
  output_tokens          bigint      NOT NULL DEFAULT 0,
  cached_input_tokens    bigint      NOT NULL DEFAULT 0,
  cache_creation_tokens  bigint      NOT NULL DEFAULT 0,
  requests               bigint      NOT NULL DEFAULT 0,
  infra_quantity_milli   bigint      NOT NULL DEFAULT 0,
  cost_nano_usd          bigint      NOT NULL CHECK (cost_nano_usd >= 0),
  priced                 boolean     NOT NULL,
  client_priced          boolean     NOT NULL,
  tenant_price           boolean,
  price_effective_time   timestamptz,
  recorded_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, record_id)
);
CREATE INDEX ledger_time_brin_idx ON cost.ledger USING brin (usage_time)
  WITH (autosummarize = on);
CREATE INDEX ledger_tenant_run_outcome_idx ON cost.ledger (tenant_id, run_id, usage_time)
  WHERE run_succeeded IS NOT NULL;

-- The rows of the old table, moved.
INSERT INTO cost.usage_dims (tenant_id, dims_hash, kind, team, workflow, agent, model, provider,
                             service, tags, infra_resource, infra_sku)
SELECT DISTINCT ON (tenant_id, h) tenant_id, h, kind, team, workflow, agent, model, provider,
       service, tags, infra_resource, infra_sku
FROM (SELECT u.*, sha256(convert_to(cost.usage_dims_key(kind, team, workflow, agent, model,
                   provider, service, tags, infra_resource, infra_sku), 'UTF8')) AS h
      FROM cost.usage u) AS keyed
ORDER BY tenant_id, h;

INSERT INTO cost.ledger (tenant_id, record_id, usage_time, dims_id, run_id, run_succeeded,
                         input_tokens, output_tokens, cached_input_tokens,
                         cache_creation_tokens, requests, infra_quantity_milli, cost_nano_usd,
                         priced, client_priced, tenant_price, price_effective_time, recorded_at)
SELECT u.tenant_id, u.record_id, u.usage_time, d.dims_id, u.run_id, u.run_succeeded,
       u.input_tokens, u.output_tokens, u.cached_input_tokens, u.cache_creation_tokens,
       u.requests, u.infra_quantity_milli, u.cost_nano_usd, u.priced, u.client_priced,
       CASE WHEN u.price_tenant_id IS NULL THEN NULL ELSE u.price_tenant_id <> '' END,
       u.price_effective_time, u.recorded_at
FROM cost.usage u
JOIN cost.usage_dims d
  ON d.tenant_id = u.tenant_id
 AND d.dims_hash = sha256(convert_to(cost.usage_dims_key(u.kind, u.team, u.workflow, u.agent,
                     u.model, u.provider, u.service, u.tags, u.infra_resource, u.infra_sku),
                     'UTF8'));

DROP TABLE cost.usage;

-- The ledger with its dimensions, in the old table's columns. A LEFT JOIN
-- (every ledger row has its dims row) lets the planner skip the dims table
-- for queries that read no dimension.
CREATE VIEW cost.usage AS
SELECT l.tenant_id, l.record_id, l.usage_time, d.kind, d.team, d.workflow, d.agent, d.model,
       d.provider, d.service, d.tags, l.run_id, l.run_succeeded, l.input_tokens,
       l.output_tokens, l.cached_input_tokens, l.cache_creation_tokens, l.requests,
       d.infra_resource, l.infra_quantity_milli, d.infra_sku, l.cost_nano_usd, l.priced,
       l.client_priced,
       CASE WHEN l.tenant_price THEN l.tenant_id WHEN NOT l.tenant_price THEN '' END
         AS price_tenant_id,
       l.price_effective_time, l.recorded_at
FROM cost.ledger l
LEFT JOIN cost.usage_dims d ON d.tenant_id = l.tenant_id AND d.dims_id = l.dims_id;
