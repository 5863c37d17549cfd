-- Inhibition rules: while an alert matching source_matchers fires, new
-- firing alerts matching target_matchers with equal values of the `equal`
-- labels are muted. tenant_id leads the primary key and indexes (Citus).
CREATE TABLE incident.inhibition_rules (
  tenant_id       text NOT NULL,
  id              text COLLATE "C" NOT NULL,
  name            text NOT NULL DEFAULT '',
  -- [{"name": ..., "op": 1..4, "value": ...}]
  source_matchers jsonb NOT NULL,
  target_matchers jsonb NOT NULL,
  -- ["label", ...]
  equal_labels    jsonb NOT NULL DEFAULT '[]',
  create_time     timestamptz NOT NULL,
  update_time     timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);

-- Listing newest first; intake loads a tenant's rules through the same
-- leading column.
CREATE INDEX inhibition_rules_tenant_created_idx
  ON incident.inhibition_rules (tenant_id, create_time DESC, id DESC);
-- Get/Update/Delete address a rule by id alone.
CREATE INDEX inhibition_rules_id_idx ON incident.inhibition_rules (id);
