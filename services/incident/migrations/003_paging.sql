-- Paging: configuration objects (escalation policies, on-call schedules,
-- notification channels), the escalation state of each incident, and the
-- notifications delivered. tenant_id leads every primary key (Citus).

-- One row per configuration object; `body` holds the API message
-- (agentwatch.incident.v1.EscalationPolicy / Schedule / NotificationChannel)
-- serialized, the other columns what queries filter and sort on.
CREATE TABLE incident.configs (
  tenant_id   text NOT NULL,
  kind        text NOT NULL,
  id          text COLLATE "C" NOT NULL,
  name        text COLLATE "C" NOT NULL,
  person      text NOT NULL DEFAULT '',
  priority    integer NOT NULL DEFAULT 0,
  refs        text[] NOT NULL DEFAULT '{}',
  body        bytea NOT NULL,
  create_time timestamptz NOT NULL,
  update_time timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, kind, id),
  UNIQUE (tenant_id, kind, name)
);

-- Get/Update/Delete address a record by id alone.
CREATE INDEX configs_id_idx ON incident.configs (id);
-- Listing in (priority, name) order; refs for the delete check.
CREATE INDEX configs_order_idx ON incident.configs (tenant_id, kind, priority, name, id);
CREATE INDEX configs_refs_idx ON incident.configs USING gin (refs);

-- Where each incident's escalation stands (core/paging.h EscalationState).
CREATE TABLE incident.escalations (
  tenant_id    text NOT NULL,
  incident_id  text COLLATE "C" NOT NULL,
  policy_id    text NOT NULL,
  epoch        integer NOT NULL DEFAULT 0,
  tier         integer NOT NULL DEFAULT -1,
  cycle        integer NOT NULL DEFAULT 0,
  started_at   timestamptz NOT NULL,
  last_page_at timestamptz,
  PRIMARY KEY (tenant_id, incident_id),
  FOREIGN KEY (tenant_id, incident_id) REFERENCES incident.incidents (tenant_id, id)
);

CREATE INDEX escalations_policy_idx ON incident.escalations (tenant_id, policy_id);

-- Notifications delivered (or skipped on purpose), once per idempotency key:
-- a retried outbox batch never sends one twice.
CREATE TABLE incident.notifications (
  tenant_id       text NOT NULL,
  idempotency_key text NOT NULL,
  incident_id     text COLLATE "C" NOT NULL,
  channel_id      text NOT NULL,
  person          text NOT NULL DEFAULT '',
  sent_at         timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, idempotency_key)
);

CREATE INDEX notifications_sent_idx ON incident.notifications (tenant_id, sent_at);
