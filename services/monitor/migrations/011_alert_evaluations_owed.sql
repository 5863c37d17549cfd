-- Alert-rule evaluations a committed batch is owed. A group commit that
-- feeds a metric some enabled rule watches writes one row per (tenant,
-- metric) in its own transaction; the evaluation that follows the commit
-- deletes the rows of what it evaluates in its transaction. A row that stays
-- (the evaluation failed, or the process died before it ran and the client's
-- retry was answered as a duplicate) is evaluated by the alert sweep of any
-- replica. The journal sweep writes rows too, for the cells of a killed
-- replica it applies, which no evaluation has read. A row is a debt, not a
-- lock: several rows per (tenant, metric) are fine, and evaluating one twice
-- only evaluates the rules again (firing is idempotent).
CREATE TABLE monitor.alert_evaluations_owed (
  tenant_id  text NOT NULL,
  metric     text NOT NULL,
  id         bigint GENERATED ALWAYS AS IDENTITY,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, metric, id)
);
CREATE INDEX alert_evaluations_owed_created ON monitor.alert_evaluations_owed (created_at);
