-- Anomaly alert rules. A rule with anomaly = true feeds its condition's
-- series (metric, matchers, aggregation, group_by; comparison >= and
-- threshold = the score threshold) to the streaming anomaly detector, one
-- point per minute per group; min_history_us gates its alerts.
ALTER TABLE monitor.alert_rules
  ADD COLUMN anomaly boolean NOT NULL DEFAULT false,
  ADD COLUMN min_history_us bigint NOT NULL DEFAULT 0;

-- One detector per (rule, group): its serialized state and the last minute
-- bucket fed, read and written only by the transaction holding the rule's
-- advisory lock, so replicas feed every minute exactly once.
CREATE TABLE monitor.anomaly_state (
  tenant_id      text NOT NULL,
  rule_id        text NOT NULL,
  fingerprint    text NOT NULL,
  group_values   text[] NOT NULL,
  condition_hash text NOT NULL,
  first_minute   timestamptz NOT NULL,
  last_minute    timestamptz NOT NULL,
  last_data      timestamptz NOT NULL,
  last_score     double precision NOT NULL,
  detector       bytea NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, rule_id, fingerprint)
);
