-- Per-tenant grouping config ('' is the global default). A NULL column
-- inherits: a tenant's NULL follows the global default's row, whose NULL (or
-- absence) follows the service flag (--group_by, --group_wait). group_by holds
-- the normalized label names (sorted, unique), or the single element '...'
-- for all labels; group_wait_us is microseconds. tenant_id leads the primary
-- key (Citus).

CREATE TABLE incident.grouping_configs (
  tenant_id     text NOT NULL,
  group_by      text[],
  group_wait_us bigint CHECK (group_wait_us >= 0),
  update_time   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id)
);
