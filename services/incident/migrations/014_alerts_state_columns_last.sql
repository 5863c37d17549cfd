-- Intake updates an alert's row on every report (status, starts_at, ends_at,
-- update_time; HOT, migration 008). A HOT update's WAL record holds the new
-- row less the bytes it shares with the old one at its start and at its end.
-- With status before labels and annotations and update_time last, the two
-- JSON objects, unchanged, were logged again on every report (~500 bytes a
-- report, the largest record of intake's WAL). Postgres cannot reorder a
-- table's columns, so the table is rebuilt with the columns a state update
-- never changes first (the key, name, severity, labels, annotations, source,
-- generator_url, joined_at: a shared prefix) and the state columns last:
-- a state update logs only starts_at (when it changed), ends_at, update_time
-- and status. Intake still writes name, severity, source and generator_url
-- in a state update; while they stay as they were they remain in the prefix.
-- Every reader names its columns (no SELECT * or COPY without a list leaves
-- the database). The rows are copied; the key, the index, the checks, the
-- fillfactor, the owner and the grants are the old table's (the checks
-- named as before: Postgres would name them apart from the old table's).
-- The copy holds incident.alerts locked (intake and alert reads of every
-- replica wait): ~12 s for 500,000 rows (580 MB) on the 2-core dev machine.
ALTER TABLE incident.alerts RENAME TO alerts_013;
ALTER INDEX incident.alerts_pkey RENAME TO alerts_013_pkey;
ALTER INDEX incident.alerts_fingerprint_idx RENAME TO alerts_013_fingerprint_idx;

-- The latest state of each alert (fingerprint) within each incident.
CREATE TABLE incident.alerts (
  tenant_id     text NOT NULL,
  incident_id   text COLLATE "C" NOT NULL,
  fingerprint   text NOT NULL,
  name          text NOT NULL,
  severity      smallint NOT NULL
                CONSTRAINT alerts_severity_check CHECK (severity BETWEEN 1 AND 4),
  labels        jsonb NOT NULL DEFAULT '{}',
  annotations   jsonb NOT NULL DEFAULT '{}',
  source        text NOT NULL DEFAULT '',
  generator_url text NOT NULL DEFAULT '',
  joined_at     timestamptz NOT NULL,
  -- The state: what a report changes.
  starts_at     timestamptz NOT NULL,
  ends_at       timestamptz,
  update_time   timestamptz NOT NULL,
  status        smallint NOT NULL
                CONSTRAINT alerts_status_check CHECK (status BETWEEN 1 AND 2),
  PRIMARY KEY (tenant_id, incident_id, fingerprint)
) WITH (fillfactor = 50);

INSERT INTO incident.alerts (tenant_id, incident_id, fingerprint, name, severity, labels,
                             annotations, source, generator_url, joined_at, starts_at, ends_at,
                             update_time, status)
SELECT tenant_id, incident_id, fingerprint, name, severity, labels, annotations, source,
       generator_url, joined_at, starts_at, ends_at, update_time, status
FROM incident.alerts_013
ORDER BY tenant_id, incident_id, fingerprint;

-- Intake: a fingerprint's latest incident.
CREATE INDEX alerts_fingerprint_idx
  ON incident.alerts (tenant_id, fingerprint, joined_at DESC);

-- The old table's owner and privileges (granted by hand, if any).
DO $$
DECLARE
  old_owner name;
  g record;
BEGIN
  SELECT pg_get_userbyid(c.relowner) INTO old_owner
  FROM pg_class c WHERE c.oid = 'incident.alerts_013'::regclass;
  IF old_owner <> current_user THEN
    EXECUTE format('ALTER TABLE incident.alerts OWNER TO %I', old_owner);
  END IF;
  FOR g IN
    SELECT a.grantee, a.privilege_type, a.is_grantable
    FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) AS a
    WHERE c.oid = 'incident.alerts_013'::regclass AND a.grantee <> c.relowner
  LOOP
    EXECUTE format('GRANT %s ON incident.alerts TO %s%s', g.privilege_type,
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC'
                        ELSE quote_ident(pg_get_userbyid(g.grantee)) END,
                   CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END
$$;

DROP TABLE incident.alerts_013;

ANALYZE incident.alerts;
