-- Every forecast capacity computes (cache hits excluded): what was asked, the
-- model chosen with its backtest scores, and the whole response (a serialized
-- agentwatch.capacity.v1.GetForecastResponse) in `points`.
CREATE TABLE capacity.forecast_runs (
  tenant_id       text NOT NULL,
  id              uuid NOT NULL DEFAULT gen_random_uuid(),
  metric          text NOT NULL,
  -- [{"name": ..., "op": "=" | "!=" | "=~" | "!~", "value": ...}, ...]
  matchers        jsonb NOT NULL DEFAULT '[]'::jsonb,
  created_at      timestamptz NOT NULL,
  horizon         interval NOT NULL,
  step            interval NOT NULL,
  history         interval NOT NULL,
  -- Empty when the model was chosen by backtest.
  requested_model text NOT NULL DEFAULT '',
  model           text NOT NULL,
  mase            double precision NOT NULL,
  smape           double precision NOT NULL,
  history_points  bigint NOT NULL,
  points          bytea NOT NULL,
  PRIMARY KEY (tenant_id, id)
);

CREATE INDEX forecast_runs_metric_idx
  ON capacity.forecast_runs (tenant_id, metric, created_at DESC);

-- Retention deletes by age across tenants.
CREATE INDEX forecast_runs_created_idx ON capacity.forecast_runs (created_at);
