-- The periodic recompute of every resource: one row per resource with when
-- it is next due (claimed by pushing next_run_at forward under FOR UPDATE
-- SKIP LOCKED, so that several replicas never compute one resource twice),
-- the latest results, and the state of its breach alert.
CREATE TABLE capacity.resource_results (
  tenant_id          text NOT NULL,
  resource_id        uuid NOT NULL,
  next_run_at        timestamptz NOT NULL,
  -- The runner that holds or last held the lease.
  claimed_by         text NOT NULL DEFAULT '',
  computed_at        timestamptz,
  computed_by        text NOT NULL DEFAULT '',
  runs               bigint NOT NULL DEFAULT 0,
  -- Empty when the last run computed; why it could not otherwise.
  error              text NOT NULL DEFAULT '',
  model              text NOT NULL DEFAULT '',
  -- A serialized agentwatch.capacity.v1.GetRecommendationsResponse.
  recommendations    bytea,
  breach_firing      boolean NOT NULL DEFAULT false,
  fired_at           timestamptz,
  breach_time        timestamptz,
  breach_probability double precision,
  PRIMARY KEY (tenant_id, resource_id)
);

CREATE INDEX resource_results_due_idx ON capacity.resource_results (next_run_at);

INSERT INTO capacity.resource_results (tenant_id, resource_id, next_run_at)
SELECT tenant_id, id, now() FROM capacity.resources
ON CONFLICT DO NOTHING;
