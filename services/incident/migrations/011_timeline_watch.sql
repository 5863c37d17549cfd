-- WatchIncidents: every replica's watch poller reads the timeline tail by
-- entry_id (entries after its position, and the ids it saw missing while
-- their transactions were still open). The timeline is append-only and
-- entry_id follows the insert order, so a BRIN index finds the tail in a few
-- block ranges at almost no cost to intake, which appends tens of thousands
-- of entries a second (a btree would add an index insert per entry).
-- autosummarize keeps the newest ranges summarized without waiting for
-- VACUUM. Not tenant-led: the poller reads every tenant's changes in id
-- order (the one index of the timeline that does not lead with tenant_id).
CREATE INDEX timeline_entry_id_brin ON incident.timeline USING brin (entry_id)
  WITH (pages_per_range = 16, autosummarize = on);
