-- Ingest journal rows a sweep could not decode (corrupted bytes, or written by
-- a format this build does not read). The sweep moves such a row here, in the
-- transaction that applies the others, instead of failing on it again and
-- again: one bad row must not keep every other writer's rows from the
-- rollups. Nothing is dropped: the row keeps its id, tenant, time and bytes,
-- with the decoder's reason, for an operator (docs/runbook.md).
CREATE TABLE monitor.ingest_journal_quarantine (
  id             bigint PRIMARY KEY,
  tenant_id      text NOT NULL,
  created_at     timestamptz NOT NULL,
  quarantined_at timestamptz NOT NULL DEFAULT now(),
  reason         text NOT NULL,
  cells          bytea NOT NULL
);
