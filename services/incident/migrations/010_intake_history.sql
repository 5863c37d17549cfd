-- Intake writes one timeline entry per alert state change and one alert row
-- per new fingerprint, tens of thousands a second. Their foreign keys to
-- incident.incidents cost a key-share lookup of the incident per row, yet
-- every writer already guarantees the key inside its own transaction:
-- intake inserts or locks (FOR UPDATE) each incident it writes entries and
-- alerts for; lifecycle, escalation, postmortem, response and SLA writers
-- lock or check the incident first; incidents are never deleted. The
-- constraints go; the guarantees stay with the writers (see
-- store/pg_incident_store.h).
ALTER TABLE incident.timeline DROP CONSTRAINT IF EXISTS timeline_tenant_id_incident_id_fkey;
ALTER TABLE incident.alerts DROP CONSTRAINT IF EXISTS alerts_tenant_id_incident_id_fkey;
