-- The ingest journal (PgMonitorStore with a rollup flush interval): a group
-- commit stores its rollup cells here, one row per tenant, instead of
-- upserting every (tenant, metric, series, minute) cell it touches; the
-- replica that wrote a row applies it to monitor.rollups_1m later, together
-- with the rows of other groups, in the transaction that deletes it, and any
-- replica applies (and deletes) rows older than a bound whose writer died or
-- stalled. A row exists only between its group's commit and that apply: the
-- table stays small and is never scanned by readers.
CREATE TABLE monitor.ingest_journal (
  tenant_id  text NOT NULL,
  id         bigint GENERATED ALWAYS AS IDENTITY,
  created_at timestamptz NOT NULL DEFAULT now(),
  cells      bytea NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX ingest_journal_id_idx ON monitor.ingest_journal (id);
ALTER TABLE monitor.ingest_journal ALTER COLUMN cells SET COMPRESSION lz4;
