-- Resources whose capacity capacity plans: a component's replicas, a
-- provider's TPM / RPM quota, a database connection pool, a queue. Demand is
-- the series metric + matchers select; capacity is current_units x
-- per_unit_capacity.
CREATE TABLE capacity.resources (
  tenant_id          text NOT NULL,
  id                 uuid NOT NULL DEFAULT gen_random_uuid(),
  name               text NOT NULL,
  -- agentwatch.capacity.v1.ResourceKind.
  kind               smallint NOT NULL,
  metric             text NOT NULL,
  -- Label matchers, element i of each array is matcher i; ops as PromQL
  -- writes them ("=", "!=", "=~", "!~").
  matcher_names      text[] NOT NULL DEFAULT '{}',
  matcher_ops        text[] NOT NULL DEFAULT '{}',
  matcher_values     text[] NOT NULL DEFAULT '{}',
  per_unit_capacity  double precision NOT NULL,
  target_utilization double precision NOT NULL,
  current_units      double precision NOT NULL,
  min_units          double precision NOT NULL,
  -- 0: no maximum.
  max_units          double precision NOT NULL,
  label_keys         text[] NOT NULL DEFAULT '{}',
  label_values       text[] NOT NULL DEFAULT '{}',
  -- 0 disables the breach alert.
  alert_horizon_us   bigint NOT NULL,
  -- agentwatch.common.v1.Severity.
  alert_severity     smallint NOT NULL,
  stateful           boolean NOT NULL DEFAULT false,
  request_unit       text NOT NULL DEFAULT '',
  headroom           double precision NOT NULL,
  -- The client id of the create that made it; NULL when none was given.
  request_id         text,
  create_time        timestamptz NOT NULL,
  update_time        timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, name)
);

CREATE UNIQUE INDEX resources_request_idx
  ON capacity.resources (tenant_id, request_id) WHERE request_id IS NOT NULL;

-- GetResource / UpdateResource / DeleteResource address a resource by id.
CREATE INDEX resources_id_idx ON capacity.resources (id);
