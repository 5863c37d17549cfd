-- Health-threshold overrides per scope (SetHealthThresholds). One row per
-- (tenant, scope); tenant_id '' holds the overrides that apply to every
-- tenant. scope_key is the 128-bit hash of the scope (core/thresholds.h
-- ScopeKey). The overrides are parallel arrays, one element per indicator.
CREATE TABLE monitor.health_thresholds (
  tenant_id   text NOT NULL,
  scope_key   text NOT NULL,
  team        text NOT NULL,
  workflow    text NOT NULL,
  agent       text NOT NULL,
  model       text NOT NULL,
  provider    text NOT NULL,
  service     text NOT NULL,
  tags        jsonb NOT NULL,
  indicators  text[] NOT NULL,
  warnings    float8[] NOT NULL,
  criticals   float8[] NOT NULL,
  disabled    boolean[] NOT NULL,
  update_time timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, scope_key)
);
