-- Ingest idempotency. A batch may carry events of several tenants, so this is
-- the one table keyed by its producer rather than by tenant: (producer_id,
-- sequence) is the idempotency key of the API. Under Citus it is distributed
-- by producer_id. `sequence` holds the bit pattern of the uint64 sequence.
CREATE TABLE monitor.ingest_batches (
  producer_id  text NOT NULL,
  sequence     bigint NOT NULL,
  event_count  integer NOT NULL,
  committed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (producer_id, sequence)
);

-- Every series (metric and full label set) a tenant has fed. series_key is a
-- 128-bit hash of the canonical label set; labels include "tenant".
CREATE TABLE monitor.series (
  tenant_id  text NOT NULL,
  metric     text NOT NULL,
  series_key text NOT NULL,
  labels     jsonb NOT NULL,
  first_seen timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, metric, series_key)
);
-- Per-workflow lookups of rule evaluation.
CREATE INDEX series_workflow_idx ON monitor.series (tenant_id, metric, (labels->>'workflow'));

-- Active-series count per tenant, bumped in the transaction that adds
-- series; the row lock makes the limit exact across replicas.
CREATE TABLE monitor.tenant_series (
  tenant_id    text PRIMARY KEY,
  series_count bigint NOT NULL
);

-- 1-minute rollups: count, sum, min and max of the samples of one series in
-- the minute starting at `bucket`. Mergeable: writers add deltas.
CREATE TABLE monitor.rollups_1m (
  tenant_id  text NOT NULL,
  metric     text NOT NULL,
  series_key text NOT NULL,
  bucket     timestamptz NOT NULL,
  count      bigint NOT NULL,
  sum        double precision NOT NULL,
  min        double precision NOT NULL,
  max        double precision NOT NULL,
  PRIMARY KEY (tenant_id, metric, series_key, bucket)
);

-- State of every alert the monitor evaluates, locked (SELECT ... FOR UPDATE)
-- by the transaction that evaluates it so that replicas never fire twice.
CREATE TABLE monitor.alert_state (
  tenant_id   text NOT NULL,
  fingerprint text NOT NULL,
  rule        text NOT NULL,
  name        text NOT NULL,
  labels      jsonb NOT NULL,
  firing      boolean NOT NULL DEFAULT false,
  severity    smallint NOT NULL,
  starts_at   timestamptz,
  ends_at     timestamptz,
  value       double precision NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, fingerprint)
);
CREATE INDEX alert_state_firing_idx ON monitor.alert_state (tenant_id, fingerprint) WHERE firing;
