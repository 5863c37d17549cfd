-- SLA: versioned response-target policies per tenant ('' is the global
-- default) and the breaches recorded per incident and target. An incident is
-- held to the policy version in force at its creation, so versions are kept,
-- never updated. tenant_id leads every primary key and index (Citus).

CREATE TABLE incident.sla_policies (
  tenant_id   text NOT NULL,
  update_time timestamptz NOT NULL,
  body        bytea NOT NULL,
  PRIMARY KEY (tenant_id, update_time)
);

-- One row per (incident, target) missed; the primary key makes a breach
-- recorded once even when two replicas detect it together.
CREATE TABLE incident.sla_breaches (
  tenant_id   text NOT NULL,
  incident_id text COLLATE "C" NOT NULL,
  kind        smallint NOT NULL CHECK (kind BETWEEN 1 AND 2),
  severity    smallint NOT NULL CHECK (severity BETWEEN 1 AND 4),
  due_time    timestamptz NOT NULL,
  detect_time timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, incident_id, kind),
  FOREIGN KEY (tenant_id, incident_id) REFERENCES incident.incidents (tenant_id, id)
);
