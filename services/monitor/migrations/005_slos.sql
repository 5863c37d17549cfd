-- Service-level objectives (CreateSlo ...). One row per SLO; the scope is
-- one column per field plus tags; burn-rate windows are parallel arrays
-- (long and short window in microseconds, factor, severity); `metric` is
-- the built-in metric the SLI is computed from, so that a batch finds the
-- SLOs it may move. Burn-rate alerts live in monitor.alert_state with
-- rule = 'slo_burn_rate' and rule_id = the SLO id.
CREATE TABLE monitor.slos (
  tenant_id            text NOT NULL,
  id                   text NOT NULL,
  name                 text NOT NULL,
  description          text NOT NULL,
  scope_team           text NOT NULL,
  scope_workflow       text NOT NULL,
  scope_agent          text NOT NULL,
  scope_model          text NOT NULL,
  scope_provider       text NOT NULL,
  scope_tags           jsonb NOT NULL,
  subject              integer NOT NULL,
  sli_kind             integer NOT NULL,
  metric               text NOT NULL,
  latency_threshold_us bigint NOT NULL,
  objective            double precision NOT NULL,
  window_us            bigint NOT NULL,
  burn_long_us         bigint[] NOT NULL,
  burn_short_us        bigint[] NOT NULL,
  burn_rates           double precision[] NOT NULL,
  burn_severities      integer[] NOT NULL,
  labels               jsonb NOT NULL,
  request_id           text NOT NULL,
  create_time          timestamptz NOT NULL,
  update_time          timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX slos_name_idx ON monitor.slos (tenant_id, name);
CREATE UNIQUE INDEX slos_request_idx ON monitor.slos (tenant_id, request_id)
  WHERE request_id <> '';
CREATE INDEX slos_id_idx ON monitor.slos (id);
CREATE INDEX slos_metric_idx ON monitor.slos (tenant_id, metric);

-- Regression rules (ThresholdCondition.baseline_window, e.g. a quality score
-- dropping against its previous 7 days); 0 = a plain threshold rule.
ALTER TABLE monitor.alert_rules ADD COLUMN baseline_window_us bigint NOT NULL DEFAULT 0;
