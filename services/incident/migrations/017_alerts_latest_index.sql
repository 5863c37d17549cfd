-- Intake reads each fingerprint's latest alert row (kSelectLatestAlerts in
-- store/pg_incident_store.cc): ORDER BY joined_at DESC, incident_id DESC
-- LIMIT 1. alerts_fingerprint_idx ended at joined_at, so every probe ran a
-- Sort node over the fingerprint's rows (whole rows, labels and annotations
-- included) to break ties on incident_id. With incident_id in the index the
-- probe reads its first entry and stops. The index keeps its name; the
-- other readers by (tenant_id, fingerprint) use its prefix as before.
-- joined_at and incident_id never change on an alert row, so intake's
-- updates stay HOT.
DROP INDEX incident.alerts_fingerprint_idx;
CREATE INDEX alerts_fingerprint_idx
  ON incident.alerts (tenant_id, fingerprint, joined_at DESC, incident_id DESC);
