-- Intake wrote one incident.timeline row per alert state change: a heap row,
-- a timeline_pkey leaf insert and their WAL for each of tens of thousands of
-- alerts a second (a third of intake's rows, ~45 % of its WAL). An intake
-- transaction's entries of one incident now share one row: `entries` holds
-- them (a JSON array of [kind, text, details], in order; lz4-compressed when
-- the row is large) and `entry_count` how many; they share the row's
-- tenant_id, incident_id, entry_time and actor, and take the entry ids
-- entry_id .. entry_id + entry_count - 1 (consecutive ids the writer took
-- from the sequence; it packs only consecutive ids, at most 256 a row).
-- Such a row's own kind is 'packed', its entry_text '' and its details '{}'.
-- Every other row (all rows written before, and every other writer's) is
-- one entry as before: entries NULL, entry_count 1. No existing row changes
-- (a constant default is not written into the old rows).
--
-- incident.timeline_entries is the timeline one entry per row, packed rows
-- expanded: the same columns and content as incident.timeline had, plus the
-- id range of the row each entry comes from (row_entry_id, row_last_entry_id)
-- so that a reader by entry id can bound the rows it reads (the BRIN index
-- on entry_id). Every reader of entries reads this view; incident.timeline
-- stays the table writers write.
ALTER TABLE incident.timeline ADD COLUMN entry_count integer NOT NULL DEFAULT 1
  CONSTRAINT timeline_entry_count_check CHECK (entry_count BETWEEN 1 AND 256);
ALTER TABLE incident.timeline ADD COLUMN entries text COMPRESSION lz4;

CREATE VIEW incident.timeline_entries AS
SELECT t.tenant_id, t.incident_id, t.entry_id, t.entry_time, t.actor, t.kind, t.entry_text,
       t.details, t.entry_id AS row_entry_id, t.entry_id AS row_last_entry_id
FROM incident.timeline t
WHERE t.entries IS NULL
UNION ALL
SELECT t.tenant_id, t.incident_id, t.entry_id + e.ord - 1, t.entry_time, t.actor, e.v ->> 0,
       e.v ->> 1, e.v -> 2, t.entry_id, t.entry_id + t.entry_count - 1
FROM incident.timeline t
CROSS JOIN LATERAL jsonb_array_elements(t.entries::jsonb) WITH ORDINALITY AS e(v, ord)
WHERE t.entries IS NOT NULL;

-- The response-rule trigger queue (migration 007) reads the inserted rows:
-- it now expands packed rows as the view does, so each "alert_firing" entry
-- queues one trigger under its own entry id, packed or not.
CREATE OR REPLACE FUNCTION incident.enqueue_response_triggers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM incident.configs WHERE kind = 'response_rule') THEN
    RETURN NULL;
  END IF;
  INSERT INTO incident.response_triggers (tenant_id, entry_id, incident_id, fingerprint,
                                          trigger_time)
  SELECT n.tenant_id, n.entry_id, n.incident_id, n.details->>'fingerprint', n.entry_time
  FROM (SELECT t.tenant_id, t.entry_id, t.incident_id, t.kind, t.details, t.entry_time
        FROM new_entries t
        WHERE t.entries IS NULL
        UNION ALL
        SELECT t.tenant_id, t.entry_id + e.ord - 1, t.incident_id, e.v ->> 0, e.v -> 2,
               t.entry_time
        FROM new_entries t
        CROSS JOIN LATERAL jsonb_array_elements(t.entries::jsonb) WITH ORDINALITY AS e(v, ord)
        WHERE t.entries IS NOT NULL) AS n
  WHERE n.kind = 'alert_firing' AND n.details ? 'fingerprint'
    AND EXISTS (SELECT 1 FROM incident.configs c
                WHERE c.tenant_id = n.tenant_id AND c.kind = 'response_rule')
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
