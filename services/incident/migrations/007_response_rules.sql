-- Automated response rules: the rules are configs of kind 'response_rule'
-- (003_paging.sql); here the trigger queue that intake fills and the
-- executions claimed from it. tenant_id leads every primary key and index.

-- Firing alerts that joined an incident of a tenant with response rules,
-- waiting for rule evaluation. Filled by the statement trigger below inside
-- intake's transaction, so no trigger is lost and none appears for an
-- uncommitted intake; rows are leased (lease_until) and deleted once
-- evaluated.
CREATE TABLE incident.response_triggers (
  tenant_id    text NOT NULL,
  entry_id     bigint NOT NULL,
  incident_id  text COLLATE "C" NOT NULL,
  fingerprint  text NOT NULL,
  trigger_time timestamptz NOT NULL,
  lease_until  timestamptz NOT NULL DEFAULT '-infinity',
  PRIMARY KEY (tenant_id, entry_id)
);

-- One row per (rule, trigger): a claimed execution (pending, succeeded,
-- failed) or a claim the cooldown / hourly cap held back (skipped). The
-- unique key makes a trigger claim a rule once across replicas.
CREATE TABLE incident.response_executions (
  tenant_id       text NOT NULL,
  id              text COLLATE "C" NOT NULL,
  rule_id         text NOT NULL,
  incident_id     text COLLATE "C" NOT NULL,
  trigger_key     text NOT NULL,
  rule_body       bytea NOT NULL,
  fingerprint     text NOT NULL,
  alert_name      text NOT NULL,
  alert_severity  smallint NOT NULL,
  alert_labels    jsonb NOT NULL DEFAULT '{}',
  state           smallint NOT NULL CHECK (state BETWEEN 1 AND 4),
  next_action     integer NOT NULL DEFAULT 0,
  action_attempts integer NOT NULL DEFAULT 0,
  failed          boolean NOT NULL DEFAULT false,
  lease_until     timestamptz NOT NULL DEFAULT '-infinity',
  lease_token     bigint NOT NULL DEFAULT 0,
  create_time     timestamptz NOT NULL,
  update_time     timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, rule_id, trigger_key)
);

-- Cooldown (per incident) and hourly cap (per rule) look-ups.
CREATE INDEX response_executions_rule_idx
  ON incident.response_executions (tenant_id, rule_id, create_time);
CREATE INDEX response_executions_incident_idx
  ON incident.response_executions (tenant_id, rule_id, incident_id, create_time);
-- Runners look for pending executions only.
CREATE INDEX response_executions_pending_idx
  ON incident.response_executions (tenant_id, lease_until) WHERE state = 1;

-- Queues one trigger per "alert_firing" timeline entry of a tenant that has
-- response rules. Costs one cheap query per INSERT statement while no tenant
-- has a rule.
CREATE FUNCTION incident.enqueue_response_triggers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM incident.configs WHERE kind = 'response_rule') THEN
    RETURN NULL;
  END IF;
  INSERT INTO incident.response_triggers (tenant_id, entry_id, incident_id, fingerprint,
                                          trigger_time)
  SELECT n.tenant_id, n.entry_id, n.incident_id, n.details->>'fingerprint', n.entry_time
  FROM new_entries n
  WHERE n.kind = 'alert_firing' AND n.details ? 'fingerprint'
    AND EXISTS (SELECT 1 FROM incident.configs c
                WHERE c.tenant_id = n.tenant_id AND c.kind = 'response_rule')
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;

CREATE TRIGGER timeline_response_triggers
  AFTER INSERT ON incident.timeline
  REFERENCING NEW TABLE AS new_entries
  FOR EACH STATEMENT EXECUTE FUNCTION incident.enqueue_response_triggers();
