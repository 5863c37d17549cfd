-- Budget alerts fire exactly once per (budget, alert period, kind, threshold):
-- the row is inserted in the transaction that records the usage crossing the
-- threshold, together with the outbox message to incident.ReportAlerts; the
-- primary key makes a second insert (a replay, a concurrent batch) a no-op.
-- kind is 'threshold' (threshold = percent of the limit) or 'projected'
-- (the projected-overrun alert, threshold = 100).
CREATE TABLE cost.budget_threshold_events (
  tenant_id       text        NOT NULL,
  budget_id       text        NOT NULL,
  period_start    timestamptz NOT NULL,
  kind            text        NOT NULL CHECK (kind IN ('threshold', 'projected')),
  threshold       integer     NOT NULL,
  spent_nano_usd  bigint      NOT NULL,
  limit_nano_usd  bigint      NOT NULL,
  fingerprint     text        NOT NULL,
  fired_at        timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, budget_id, period_start, kind, threshold)
);
