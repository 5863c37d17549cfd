-- Alert rules (CreateAlertRule ...). One row per rule; the threshold
-- condition's matchers are parallel arrays (name, op, value) with op the
-- agentwatch.common.v1.MatchOp number; durations in microseconds.
CREATE TABLE monitor.alert_rules (
  tenant_id          text NOT NULL,
  id                 text NOT NULL,
  name               text NOT NULL,
  description        text NOT NULL,
  metric             text NOT NULL,
  matcher_names      text[] NOT NULL,
  matcher_ops        integer[] NOT NULL,
  matcher_values     text[] NOT NULL,
  aggregation        integer NOT NULL,
  window_us          bigint NOT NULL,
  group_by           text[] NOT NULL,
  comparison         integer NOT NULL,
  threshold          double precision NOT NULL,
  denominator_metric text NOT NULL,
  den_matcher_names  text[] NOT NULL,
  den_matcher_ops    integer[] NOT NULL,
  den_matcher_values text[] NOT NULL,
  for_us             bigint NOT NULL,
  severity           smallint NOT NULL,
  labels             jsonb NOT NULL,
  annotations        jsonb NOT NULL,
  resolve_threshold  double precision,
  keep_firing_for_us bigint NOT NULL,
  disabled           boolean NOT NULL,
  request_id         text NOT NULL,
  create_time        timestamptz NOT NULL,
  update_time        timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX alert_rules_name_idx ON monitor.alert_rules (tenant_id, name);
CREATE UNIQUE INDEX alert_rules_request_idx ON monitor.alert_rules (tenant_id, request_id)
  WHERE request_id <> '';
CREATE INDEX alert_rules_id_idx ON monitor.alert_rules (id);
CREATE INDEX alert_rules_metric_idx ON monitor.alert_rules (tenant_id, metric);
CREATE INDEX alert_rules_denominator_idx ON monitor.alert_rules (tenant_id, denominator_metric)
  WHERE denominator_metric <> '';

-- Alerts of alert rules live in monitor.alert_state too (rule = 'alert_rule'),
-- one row per pending or firing (rule, group); the row is locked by the
-- transaction evaluating the rule (after the rule's advisory lock), and
-- removed when the alert becomes inactive.
ALTER TABLE monitor.alert_state
  ADD COLUMN rule_id text NOT NULL DEFAULT '',
  ADD COLUMN pending boolean NOT NULL DEFAULT false,
  ADD COLUMN active_since timestamptz,
  ADD COLUMN clear_since timestamptz,
  ADD COLUMN annotations jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN last_evaluation timestamptz;
CREATE INDEX alert_state_rule_idx ON monitor.alert_state (tenant_id, rule_id)
  WHERE rule_id <> '';
CREATE INDEX alert_state_active_idx ON monitor.alert_state (severity, tenant_id, fingerprint)
  WHERE firing OR pending;
