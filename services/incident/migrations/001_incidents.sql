-- Incidents, their alerts, the alert reports that make intake idempotent, the
-- timeline, and the request ids that make lifecycle calls idempotent.
-- tenant_id leads every primary key and index (Citus distributes by it);
-- ids compare bytewise (COLLATE "C") so keyset paging agrees with clients.

CREATE TABLE incident.incidents (
  tenant_id          text NOT NULL,
  id                 text COLLATE "C" NOT NULL,
  group_key          text NOT NULL,
  title              text NOT NULL,
  status             smallint NOT NULL CHECK (status BETWEEN 1 AND 5),
  severity           smallint NOT NULL CHECK (severity BETWEEN 1 AND 4),
  severity_pinned    boolean NOT NULL DEFAULT false,
  labels             jsonb NOT NULL DEFAULT '{}',
  alert_count        bigint NOT NULL DEFAULT 0,
  firing_alert_count bigint NOT NULL DEFAULT 0,
  owner              text NOT NULL DEFAULT '',
  start_time         timestamptz NOT NULL,
  create_time        timestamptz NOT NULL,
  update_time        timestamptz NOT NULL,
  acknowledge_time   timestamptz,
  mitigate_time      timestamptz,
  resolve_time       timestamptz,
  close_time         timestamptz,
  escalation_tier    integer NOT NULL DEFAULT -1,
  auto_resolved      boolean NOT NULL DEFAULT false,
  postmortem_id      text NOT NULL DEFAULT '',
  PRIMARY KEY (tenant_id, id)
);

-- At most one open (triggered, acknowledged, mitigated) incident per group:
-- the backstop behind the per-group advisory lock taken by intake.
CREATE UNIQUE INDEX incidents_open_group_idx
  ON incident.incidents (tenant_id, group_key) WHERE status IN (1, 2, 3);

-- ListIncidents: newest first within a tenant.
CREATE INDEX incidents_tenant_created_idx
  ON incident.incidents (tenant_id, create_time DESC, id DESC);

-- The API addresses an incident by id alone (GetIncident, lifecycle calls):
-- the one index that cannot lead with tenant_id.
CREATE INDEX incidents_id_idx ON incident.incidents (id);

-- The latest state of each alert (fingerprint) within each incident.
CREATE TABLE incident.alerts (
  tenant_id     text NOT NULL,
  incident_id   text COLLATE "C" NOT NULL,
  fingerprint   text NOT NULL,
  name          text NOT NULL,
  severity      smallint NOT NULL CHECK (severity BETWEEN 1 AND 4),
  status        smallint NOT NULL CHECK (status BETWEEN 1 AND 2),
  labels        jsonb NOT NULL DEFAULT '{}',
  annotations   jsonb NOT NULL DEFAULT '{}',
  starts_at     timestamptz NOT NULL,
  ends_at       timestamptz,
  source        text NOT NULL DEFAULT '',
  generator_url text NOT NULL DEFAULT '',
  joined_at     timestamptz NOT NULL,
  update_time   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, incident_id, fingerprint),
  FOREIGN KEY (tenant_id, incident_id) REFERENCES incident.incidents (tenant_id, id)
);

-- Intake: a fingerprint's latest incident.
CREATE INDEX alerts_fingerprint_idx
  ON incident.alerts (tenant_id, fingerprint, joined_at DESC);

-- Every accepted alert report, so that a replay is recognised as a duplicate.
-- ends_at is '-infinity' for firing reports (not part of their identity).
CREATE TABLE incident.alert_reports (
  tenant_id   text NOT NULL,
  fingerprint text NOT NULL,
  status      smallint NOT NULL CHECK (status BETWEEN 1 AND 2),
  starts_at   timestamptz NOT NULL,
  ends_at     timestamptz NOT NULL,
  incident_id text COLLATE "C" NOT NULL DEFAULT '',
  received_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, fingerprint, status, starts_at, ends_at)
);

-- Retention deletes old reports by receipt time.
CREATE INDEX alert_reports_received_idx ON incident.alert_reports (tenant_id, received_at);

-- The timeline of each incident, in entry_id order.
CREATE TABLE incident.timeline (
  tenant_id   text NOT NULL,
  incident_id text COLLATE "C" NOT NULL,
  entry_id    bigserial NOT NULL,
  entry_time  timestamptz NOT NULL,
  actor       text NOT NULL,
  kind        text NOT NULL,
  entry_text  text NOT NULL,
  details     jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (tenant_id, incident_id, entry_id),
  FOREIGN KEY (tenant_id, incident_id) REFERENCES incident.incidents (tenant_id, id)
);

-- Lifecycle calls carrying a request_id, with the response they returned.
CREATE TABLE incident.requests (
  tenant_id   text NOT NULL,
  request_id  text NOT NULL,
  method      text NOT NULL,
  incident_id text COLLATE "C" NOT NULL,
  response    bytea NOT NULL,
  create_time timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, request_id)
);

CREATE INDEX requests_created_idx ON incident.requests (tenant_id, create_time);
