-- alert_reports takes one row per accepted report, the intake's busiest
-- insert, and is read by received_at only for GetStats' count of firing
-- reports in a time range. The btree on (tenant_id, received_at) cost every
-- report an index insertion (one of intake's three btree leaf inserts per
-- alert, a fifth of its WAL records). Reports are appended in received_at
-- order (COPY by group transactions stamped with their time), so a BRIN index
-- over block ranges answers the time range at almost no cost to intake.
-- GetStats then reads the block ranges of the time range and filters the
-- tenant (every tenant's reports of that range, not only its own).
-- tenant_id still leads the index; autosummarize keeps the newest ranges
-- summarized without waiting for VACUUM.
DROP INDEX IF EXISTS incident.alert_reports_received_idx;
CREATE INDEX alert_reports_received_brin ON incident.alert_reports
  USING brin (tenant_id, received_at) WITH (pages_per_range = 16, autosummarize = on);
