-- Postmortems: one per incident (incidents.postmortem_id points back), with
-- the action items as a JSON array of {id, description, owner, status,
-- due_time (microseconds since the epoch or null), url} in document order.
-- The timeline is the incident's (incident.timeline), read when needed.
CREATE TABLE incident.postmortems (
  tenant_id    text NOT NULL,
  id           text COLLATE "C" NOT NULL,
  incident_id  text COLLATE "C" NOT NULL,
  title        text NOT NULL,
  status       smallint NOT NULL CHECK (status BETWEEN 1 AND 3),
  summary      text NOT NULL DEFAULT '',
  impact       text NOT NULL DEFAULT '',
  root_cause   text NOT NULL DEFAULT '',
  resolution   text NOT NULL DEFAULT '',
  lessons      text NOT NULL DEFAULT '',
  action_items jsonb NOT NULL DEFAULT '[]',
  author       text NOT NULL DEFAULT '',
  create_time  timestamptz NOT NULL,
  update_time  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, incident_id) REFERENCES incident.incidents (tenant_id, id)
);

-- One postmortem per incident; CloseIncident looks it up by incident.
CREATE UNIQUE INDEX postmortems_incident_idx ON incident.postmortems (tenant_id, incident_id);

-- ListPostmortems: newest first within a tenant, and across tenants.
CREATE INDEX postmortems_tenant_created_idx
  ON incident.postmortems (tenant_id, create_time DESC, id DESC);
CREATE INDEX postmortems_created_idx ON incident.postmortems (create_time DESC, id DESC);

-- GetPostmortem and UpdatePostmortem address a postmortem by id alone.
CREATE INDEX postmortems_id_idx ON incident.postmortems (id);
