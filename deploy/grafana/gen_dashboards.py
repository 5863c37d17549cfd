#!/usr/bin/python3
"""Generates the Grafana dashboards in deploy/grafana/dashboards/ (JSON, schemaVersion 39).

    deploy/grafana/gen_dashboards.py           rewrite the JSON files
    deploy/grafana/gen_dashboards.py --check   exit 1 if a JSON file differs from what it makes

Two data sources, provisioned by deploy/grafana/provisioning/datasources/agentwatch.yml:
  - agentwatch-prometheus: the services' own /metrics (job="agentwatch", label `service`);
  - agentwatch-postgres: the agentwatch database, read-only, for the domain data that is not a
    Prometheus metric (per-agent rollups, the cost ledger, incidents, forecast runs). Give
    Grafana a role with SELECT on the four schemas only (docs/runbook.md).
Every PromQL expression and SQL query here is checked by tests/deploy/check_dashboards.py
(PromQL through promtool, SQL against a database the real services migrated).
"""

import json
import os
import sys

PROM = {"type": "prometheus", "uid": "agentwatch-prometheus"}
PG = {"type": "grafana-postgresql-datasource", "uid": "agentwatch-postgres"}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboards")

ERROR_CODES = "UNKNOWN|INTERNAL|UNAVAILABLE|DATA_LOSS|DEADLINE_EXCEEDED"
NOT_HEALTH = 'method!~"/grpc.health.v1.Health/.*"'


class Board:
    def __init__(self, uid, title, description, tags, variables=(), time_from="now-6h"):
        self.uid, self.title, self.description = uid, title, description
        self.tags = ["agentwatch", *tags]
        self.variables = list(variables)
        self.time_from = time_from
        self.panels = []
        self.x = self.y = self.row_h = 0

    def _place(self, w, h):
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def row(self, title):
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        self.panels.append({"type": "row", "title": title, "collapsed": False, "panels": [],
                            "id": len(self.panels) + 1,
                            "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}})
        self.y += 1

    def panel(self, kind, title, targets, w=12, h=8, unit="short", description="", **extra):
        panel = {
            "type": kind, "title": title, "description": description,
            "id": len(self.panels) + 1, "gridPos": self._place(w, h),
            "datasource": targets[0]["datasource"], "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {},
        }
        if kind == "timeseries":
            panel["options"] = {"legend": {"displayMode": "table", "placement": "bottom",
                                           "calcs": ["mean", "max", "lastNotNull"]},
                                "tooltip": {"mode": "multi", "sort": "desc"}}
        if kind == "stat":
            panel["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                                  "values": False},
                                "colorMode": "background", "graphMode": "none"}
        if "thresholds" in extra:
            steps = [{"color": "green", "value": None}]
            steps += [{"color": c, "value": v} for c, v in extra.pop("thresholds")]
            panel["fieldConfig"]["defaults"]["thresholds"] = {"mode": "absolute", "steps": steps}
            panel["fieldConfig"]["defaults"]["color"] = {"mode": "thresholds"}
        if "mappings" in extra:
            panel["fieldConfig"]["defaults"]["mappings"] = extra.pop("mappings")
        panel.update(extra)
        self.panels.append(panel)

    def json(self):
        return {
            "uid": self.uid, "title": self.title, "description": self.description,
            "tags": self.tags, "editable": True, "graphTooltip": 1, "schemaVersion": 39,
            "version": 1, "refresh": "30s", "timezone": "utc",
            "time": {"from": self.time_from, "to": "now"},
            "templating": {"list": self.variables}, "annotations": {"list": []},
            "links": [{"type": "dashboards", "tags": ["agentwatch"], "asDropdown": True,
                       "title": "agentwatch", "includeVars": True, "keepTime": True}],
            "panels": self.panels,
        }


def prom(expr, legend="", ref="A", instant=False):
    target = {"datasource": PROM, "refId": ref, "expr": expr, "legendFormat": legend}
    if instant:
        target["instant"] = True
        target["range"] = False
    return target


def sql(query, ref="A", fmt="time_series"):
    return {"datasource": PG, "refId": ref, "rawQuery": True, "editorMode": "code",
            "format": fmt, "rawSql": " ".join(query.split())}


def prom_var(name, label, query, multi=True):
    return {"name": name, "label": label, "type": "query", "datasource": PROM,
            "query": {"query": query, "refId": name}, "definition": query, "refresh": 2,
            "includeAll": multi, "multi": multi, "allValue": ".*", "sort": 1,
            "current": {"text": "All", "value": "$__all"} if multi else {}}


def pg_var(name, label, query):
    return {"name": name, "label": label, "type": "query", "datasource": PG,
            "query": " ".join(query.split()), "definition": " ".join(query.split()),
            "refresh": 2, "includeAll": False, "multi": False, "sort": 1}


TENANT_VAR = lambda schema_query: pg_var("tenant", "Tenant", schema_query)  # noqa: E731


def overview():
    b = Board("agentwatch-overview", "agentwatch / System overview",
              "Health of agentwatch itself: targets, traffic, errors, latency, dependencies, "
              "outboxes and the pipeline from monitor to incident and cost.", ["overview"],
              [prom_var("service", "Service", 'label_values(up{job="agentwatch"}, service)')])
    sel = 'job="agentwatch", service=~"$service"'
    b.row("Availability")
    b.panel("stat", "Targets up", [prom(f'sum by (service) (up{{{sel}}})', "{{service}}",
                                        instant=True)], w=8, h=5,
            description="Scrapable instances per service (0 = AgentwatchServiceDown).",
            thresholds=[], mappings=[{"type": "value", "options": {"0": {"color": "red"}}}])
    b.panel("stat", "Postgres reachable",
            [prom(f'min by (service) ({{__name__=~"agentwatch_.+_dependency_up", '
                  f'dependency="postgres", {sel}}})', "{{service}}", instant=True)], w=8, h=5,
            description="1 when every instance's last health probe reached Postgres.",
            mappings=[{"type": "value", "options": {"0": {"color": "red", "text": "DOWN"},
                                                    "1": {"color": "green", "text": "up"}}}])
    b.panel("stat", "Redis reachable",
            [prom(f'min by (service) ({{__name__=~"agentwatch_.+_dependency_up", '
                  f'dependency="redis", {sel}}})', "{{service}}", instant=True)], w=8, h=5,
            description="Redis is a cache: DOWN means slower, not wrong.",
            mappings=[{"type": "value", "options": {"0": {"color": "orange", "text": "DOWN"},
                                                    "1": {"color": "green", "text": "up"}}}])
    b.row("gRPC traffic")
    b.panel("timeseries", "Requests per second by service",
            [prom(f'sum by (service) (rate({{__name__=~"agentwatch_.+_grpc_requests_total", '
                  f'{sel}, {NOT_HEALTH}}}[$__rate_interval]))', "{{service}}")], unit="reqps")
    b.panel("timeseries", "Server error ratio by service",
            [prom(f'sum by (service) (rate({{__name__=~"agentwatch_.+_grpc_requests_total", '
                  f'{sel}, {NOT_HEALTH}, code=~"{ERROR_CODES}"}}[$__rate_interval])) / '
                  f'sum by (service) (rate({{__name__=~"agentwatch_.+_grpc_requests_total", '
                  f'{sel}, {NOT_HEALTH}}}[$__rate_interval]))', "{{service}}")],
            unit="percentunit", thresholds=[("orange", 0.01), ("red", 0.05)],
            description="AgentwatchHighErrorRate fires above 5 % for 5 minutes.")
    b.panel("timeseries", "p99 latency by service (unary)",
            [prom('histogram_quantile(0.99, sum by (service, le) (rate({__name__=~'
                  f'"agentwatch_.+_grpc_request_duration_seconds_bucket", {sel}, '
                  'method!~"/grpc.health.v1.Health/.*|.*/StreamIngest|.*/WatchIncidents"}'
                  '[$__rate_interval])))', "{{service}}")], unit="s",
            thresholds=[("orange", 0.5), ("red", 1)],
            description="AgentwatchHighLatency fires above 1 s for 10 minutes.")
    b.panel("timeseries", "Requests by method and code",
            [prom(f'sum by (service, method, code) (rate({{__name__=~'
                  f'"agentwatch_.+_grpc_requests_total", {sel}, {NOT_HEALTH}}}'
                  '[$__rate_interval]))', "{{service}} {{method}} {{code}}")], unit="reqps")
    b.row("Pipeline")
    b.panel("timeseries", "Events ingested and rejected (monitor)",
            [prom('sum(rate(agentwatch_monitor_events_ingested_total{job="agentwatch"}'
                  '[$__rate_interval]))', "ingested"),
             prom('sum by (reason) (rate(agentwatch_monitor_events_rejected_total'
                  '{job="agentwatch"}[$__rate_interval]))', "rejected: {{reason}}", ref="B")],
            w=8, unit="ops")
    b.panel("timeseries", "Ingest batches by result (monitor)",
            [prom('sum by (result) (rate(agentwatch_monitor_ingest_batches_total'
                  '{job="agentwatch"}[$__rate_interval]))', "{{result}}")], w=8, unit="ops")
    b.panel("timeseries", "Outbox depth",
            [prom(f'sum by (service) ({{__name__=~"agentwatch_.+_outbox_depth", {sel}}})',
                  "{{service}}")], w=8, thresholds=[("orange", 1000)],
            description="Messages waiting for delivery to a peer (AgentwatchOutboxBacklog).")
    b.panel("timeseries", "Outbox deliveries and failures",
            [prom(f'sum by (service) (rate({{__name__=~"agentwatch_.+_outbox_delivered_total",'
                  f' {sel}}}[$__rate_interval]))', "{{service}} delivered"),
             prom(f'sum by (service) (rate({{__name__=~'
                  f'"agentwatch_.+_outbox_delivery_failures_total", {sel}}}[$__rate_interval]))',
                  "{{service}} failed", ref="B")], w=8, unit="ops")
    b.panel("timeseries", "Alerts and incidents",
            [prom('sum by (status) (rate(agentwatch_monitor_alerts_transitions_total'
                  '{job="agentwatch"}[$__rate_interval]))', "monitor alerts {{status}}"),
             prom('sum by (status) (rate(agentwatch_incident_alerts_received_total'
                  '{job="agentwatch"}[$__rate_interval]))', "incident received {{status}}",
                  ref="B"),
             prom('sum(rate(agentwatch_incident_incidents_opened_total{job="agentwatch"}'
                  '[$__rate_interval]))', "incidents opened", ref="C")], w=8, unit="ops")
    b.panel("timeseries", "Usage records and spend recorded (cost)",
            [prom('sum by (result) (rate(agentwatch_cost_usage_records_total'
                  '{job="agentwatch"}[$__rate_interval]))', "records {{result}}"),
             prom('sum(rate(agentwatch_cost_recorded_nano_usd_total{job="agentwatch"}'
                  '[$__rate_interval])) / 1e9 * 3600', "USD per hour", ref="B")], w=12)
    b.panel("timeseries", "Forecasts (capacity)",
            [prom('sum by (model) (rate(agentwatch_capacity_forecasts_total{job="agentwatch"}'
                  '[$__rate_interval]))', "{{model}}"),
             prom('sum by (result) (rate(agentwatch_capacity_forecast_cache_requests_total'
                  '{job="agentwatch"}[$__rate_interval]))', "cache {{result}}", ref="B")],
            w=12, unit="ops")
    return b


MONITOR_TENANTS = "SELECT DISTINCT tenant_id FROM monitor.series ORDER BY 1"


def agents():
    b = Board("agentwatch-agents", "agentwatch / Per-agent performance",
              "Executions, failures, duration and retries per agent, and LLM latency per model, "
              "from monitor's one-minute rollups in Postgres.", ["agents"],
              [TENANT_VAR(MONITOR_TENANTS)])

    def rollup(metric, select, where="", group="s.labels->>'agent'"):
        return (f"SELECT $__timeGroupAlias(r.bucket, '5m'), {group} AS metric, {select} "
                f"FROM monitor.rollups_1m r JOIN monitor.series s "
                f"ON s.tenant_id = r.tenant_id AND s.metric = r.metric "
                f"AND s.series_key = r.series_key "
                f"WHERE r.tenant_id = '$tenant' AND r.metric = '{metric}' "
                f"AND $__timeFilter(r.bucket) {where} GROUP BY 1, 2 ORDER BY 1")
    b.row("Agents")
    b.panel("timeseries", "Executions per 5 minutes by agent",
            [sql(rollup("agent_executions_total", "sum(r.sum) AS value"))])
    b.panel("timeseries", "Failure ratio by agent",
            [sql(rollup("agent_executions_total",
                        "sum(r.sum) FILTER (WHERE s.labels->>'status' IN ('failed', "
                        "'timed_out')) / NULLIF(sum(r.sum), 0) AS value"))],
            unit="percentunit", thresholds=[("orange", 0.02), ("red", 0.05)])
    b.panel("timeseries", "Mean execution time by agent",
            [sql(rollup("agent_execution_seconds", "sum(r.sum) / NULLIF(sum(r.count), 0) "
                        "AS value"))], unit="s")
    b.panel("timeseries", "Retries per 5 minutes by agent",
            [sql(rollup("agent_retries_total", "sum(r.sum) AS value"))])
    b.panel("table", "Agents over the period",
            [sql("SELECT s.labels->>'agent' AS agent, s.labels->>'workflow' AS workflow, "
                 "sum(r.sum) AS executions, sum(r.sum) FILTER (WHERE s.labels->>'status' IN "
                 "('failed', 'timed_out')) AS failed, round((100 * sum(r.sum) FILTER (WHERE "
                 "s.labels->>'status' IN ('failed', 'timed_out')) / NULLIF(sum(r.sum), 0))"
                 "::numeric, 2) AS failed_pct FROM monitor.rollups_1m r JOIN monitor.series s "
                 "ON s.tenant_id = r.tenant_id AND s.metric = r.metric AND s.series_key = "
                 "r.series_key WHERE r.tenant_id = '$tenant' AND r.metric = "
                 "'agent_executions_total' AND $__timeFilter(r.bucket) GROUP BY 1, 2 "
                 "ORDER BY executions DESC LIMIT 100", fmt="table")], w=24, h=9)
    b.row("Workflows and LLM calls")
    b.panel("timeseries", "Workflow runs per 5 minutes by status",
            [sql(rollup("workflow_runs_total", "sum(r.sum) AS value",
                        group="s.labels->>'status'"))])
    b.panel("timeseries", "Workflow error ratio by workflow",
            [sql(rollup("workflow_runs_total",
                        "sum(r.sum) FILTER (WHERE s.labels->>'status' IN ('failed', "
                        "'timed_out')) / NULLIF(sum(r.sum), 0) AS value",
                        group="s.labels->>'workflow'"))],
            unit="percentunit", thresholds=[("orange", 0.02), ("red", 0.05)])
    b.panel("timeseries", "Mean LLM latency by model",
            [sql(rollup("llm_latency_seconds", "sum(r.sum) / NULLIF(sum(r.count), 0) AS value",
                        group="s.labels->>'model'"))], unit="s")
    b.panel("timeseries", "LLM calls per 5 minutes by model and status",
            [sql(rollup("llm_calls_total", "sum(r.sum) AS value",
                        group="(s.labels->>'model') || ' ' || (s.labels->>'status')"))])
    return b


COST_TENANTS = "SELECT DISTINCT tenant_id FROM cost.usage ORDER BY 1"


def cost():
    b = Board("agentwatch-cost", "agentwatch / Cost by workflow, agent and model",
              "Spend from cost's exact ledger (integer nano-USD, shown in USD), by workflow, "
              "agent and model; tokens; unpriced calls.", ["cost"],
              [TENANT_VAR(COST_TENANTS)], time_from="now-7d")

    def spend(dim):
        return sql(f"SELECT $__timeGroupAlias(usage_time, '1h'), NULLIF({dim}, '') AS metric, "
                   f"sum(cost_nano_usd) / 1e9 AS value FROM cost.usage "
                   f"WHERE tenant_id = '$tenant' AND $__timeFilter(usage_time) "
                   f"GROUP BY 1, 2 ORDER BY 1")
    b.row("Spend")
    b.panel("stat", "Spend in the period",
            [sql("SELECT sum(cost_nano_usd) / 1e9 AS usd FROM cost.usage WHERE tenant_id = "
                 "'$tenant' AND $__timeFilter(usage_time)", fmt="table")],
            w=6, h=5, unit="currencyUSD")
    b.panel("stat", "LLM calls",
            [sql("SELECT sum(requests) AS calls FROM cost.usage WHERE tenant_id = '$tenant' "
                 "AND kind = 'llm' AND $__timeFilter(usage_time)", fmt="table")], w=6, h=5)
    b.panel("stat", "Unpriced records",
            [sql("SELECT count(*) AS unpriced FROM cost.usage WHERE tenant_id = '$tenant' "
                 "AND NOT priced AND $__timeFilter(usage_time)", fmt="table")], w=6, h=5,
            thresholds=[("orange", 1)],
            description="Calls of models no price covers: add a price (UpsertPrice).")
    b.panel("stat", "Cost per successful run",
            [sql("SELECT sum(cost_nano_usd) / 1e9 / NULLIF(count(DISTINCT run_id) FILTER "
                 "(WHERE run_succeeded), 0) AS usd FROM cost.usage WHERE tenant_id = "
                 "'$tenant' AND $__timeFilter(usage_time)", fmt="table")],
            w=6, h=5, unit="currencyUSD")
    b.panel("timeseries", "Spend per hour by workflow", [spend("workflow")], w=8,
            unit="currencyUSD")
    b.panel("timeseries", "Spend per hour by agent", [spend("agent")], w=8, unit="currencyUSD")
    b.panel("timeseries", "Spend per hour by model", [spend("model")], w=8, unit="currencyUSD")
    b.row("Breakdown")
    b.panel("table", "Top workflow / agent / model",
            [sql("SELECT workflow, agent, provider, model, sum(requests) AS calls, "
                 "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
                 "sum(cost_nano_usd) / 1e9 AS usd FROM cost.usage WHERE tenant_id = "
                 "'$tenant' AND $__timeFilter(usage_time) GROUP BY 1, 2, 3, 4 "
                 "ORDER BY usd DESC LIMIT 50", fmt="table")], w=24, h=10)
    b.panel("timeseries", "Tokens per hour by model",
            [sql("SELECT $__timeGroupAlias(usage_time, '1h'), model || ' input' AS metric, "
                 "sum(input_tokens) AS value FROM cost.usage WHERE tenant_id = '$tenant' "
                 "AND kind = 'llm' AND $__timeFilter(usage_time) GROUP BY 1, 2 ORDER BY 1"),
             sql("SELECT $__timeGroupAlias(usage_time, '1h'), model || ' output' AS metric, "
                 "sum(output_tokens) AS value FROM cost.usage WHERE tenant_id = '$tenant' "
                 "AND kind = 'llm' AND $__timeFilter(usage_time) GROUP BY 1, 2 ORDER BY 1",
                 ref="B")])
    b.panel("table", "Budgets",
            [sql("SELECT * FROM cost.budgets WHERE tenant_id = '$tenant' LIMIT 100",
                 fmt="table")])
    return b


INCIDENT_TENANTS = "SELECT DISTINCT tenant_id FROM incident.incidents ORDER BY 1"
SEVERITY = ("CASE severity WHEN 1 THEN 'P0' WHEN 2 THEN 'P1' WHEN 3 THEN 'P2' ELSE 'P3' END")
STATUS = ("CASE status WHEN 1 THEN 'triggered' WHEN 2 THEN 'acknowledged' WHEN 3 THEN "
          "'mitigated' WHEN 4 THEN 'resolved' ELSE 'closed' END")


def incidents():
    b = Board("agentwatch-incidents", "agentwatch / Incidents and MTTR",
              "Open incidents, intake, and time to acknowledge (MTTA) and resolve (MTTR), "
              "from the incident service's tables.", ["incidents"],
              [TENANT_VAR(INCIDENT_TENANTS)], time_from="now-30d")
    b.row("Now")
    for sev, color in (("P0", "red"), ("P1", "red"), ("P2", "orange"), ("P3", "yellow")):
        b.panel("stat", f"Open {sev}",
                [sql(f"SELECT count(*) AS open FROM incident.incidents WHERE tenant_id = "
                     f"'$tenant' AND status IN (1, 2, 3) AND {SEVERITY} = '{sev}'",
                     fmt="table")], w=6, h=4, thresholds=[(color, 1)])
    b.row("Intake")
    b.panel("timeseries", "Incidents opened per day by severity",
            [sql(f"SELECT $__timeGroupAlias(create_time, '1d'), {SEVERITY} AS metric, "
                 "count(*) AS value FROM incident.incidents WHERE tenant_id = '$tenant' AND "
                 "$__timeFilter(create_time) GROUP BY 1, 2 ORDER BY 1")], w=12)
    b.panel("timeseries", "Alerts received and incidents opened (all tenants)",
            [prom('sum by (status) (rate(agentwatch_incident_alerts_received_total'
                  '{job="agentwatch"}[$__rate_interval]))', "alerts {{status}}"),
             prom('sum(rate(agentwatch_incident_incidents_opened_total{job="agentwatch"}'
                  '[$__rate_interval]))', "incidents opened", ref="B"),
             prom('sum(rate(agentwatch_incident_alert_duplicates_total{job="agentwatch"}'
                  '[$__rate_interval]))', "duplicates", ref="C"),
             prom('sum(rate(agentwatch_incident_alerts_silenced_total{job="agentwatch"}'
                  '[$__rate_interval]))', "silenced", ref="D")], w=12, unit="ops")
    b.row("Response times")
    b.panel("timeseries", "MTTA and MTTR per day",
            [sql("SELECT $__timeGroupAlias(create_time, '1d'), avg(extract(epoch FROM "
                 "acknowledge_time - create_time)) AS \"MTTA\", avg(extract(epoch FROM "
                 "resolve_time - create_time)) AS \"MTTR\" FROM incident.incidents WHERE "
                 "tenant_id = '$tenant' AND $__timeFilter(create_time) GROUP BY 1 ORDER BY 1")],
            unit="s")
    b.panel("table", "MTTA / MTTR by severity over the period",
            [sql(f"SELECT {SEVERITY} AS severity, count(*) AS incidents, "
                 "avg(extract(epoch FROM acknowledge_time - create_time)) AS mtta_s, "
                 "avg(extract(epoch FROM resolve_time - create_time)) AS mttr_s, "
                 "percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM resolve_time "
                 "- create_time)) AS mttr_p90_s, count(*) FILTER (WHERE auto_resolved) AS "
                 "auto_resolved FROM incident.incidents WHERE tenant_id = '$tenant' AND "
                 "$__timeFilter(create_time) GROUP BY 1 ORDER BY 1", fmt="table")])
    b.panel("table", "Recent incidents",
            [sql(f"SELECT create_time AS created, id, {SEVERITY} AS severity, {STATUS} AS "
                 "status, title, owner, alert_count, firing_alert_count, resolve_time AS "
                 "resolved FROM incident.incidents WHERE tenant_id = '$tenant' AND "
                 "$__timeFilter(create_time) ORDER BY create_time DESC LIMIT 100",
                 fmt="table")], w=24, h=10)
    return b


CAPACITY_TENANTS = "SELECT DISTINCT tenant_id FROM capacity.forecast_runs ORDER BY 1"


def capacity():
    b = Board("agentwatch-capacity", "agentwatch / Capacity forecasts",
              "Forecast runs (model chosen, backtest error), the history they forecast from, "
              "and the forecaster's own load and latency.", ["capacity"],
              [TENANT_VAR(CAPACITY_TENANTS)], time_from="now-7d")
    b.row("Forecast runs")
    b.panel("table", "Latest forecast per metric",
            [sql("SELECT DISTINCT ON (metric, matchers) metric, matchers::text AS matchers, "
                 "created_at, model, round(mase::numeric, 3) AS mase, round(smape::numeric, 3)"
                 " AS smape, history_points, horizon::text AS horizon, step::text AS step "
                 "FROM capacity.forecast_runs WHERE tenant_id = '$tenant' AND "
                 "$__timeFilter(created_at) ORDER BY metric, matchers, created_at DESC",
                 fmt="table")], w=24, h=9,
            description="MASE < 1: better than a seasonal-naive forecast in backtest.")
    b.panel("timeseries", "Backtest MASE by metric",
            [sql("SELECT $__timeGroupAlias(created_at, '1h'), metric, avg(mase) AS value FROM "
                 "capacity.forecast_runs WHERE tenant_id = '$tenant' AND "
                 "$__timeFilter(created_at) GROUP BY 1, 2 ORDER BY 1")],
            thresholds=[("orange", 1)])
    b.panel("timeseries", "Workflow runs per hour (the history forecasts read)",
            [sql("SELECT $__timeGroupAlias(r.bucket, '1h'), s.labels->>'workflow' AS metric, "
                 "sum(r.sum) AS value FROM monitor.rollups_1m r JOIN monitor.series s ON "
                 "s.tenant_id = r.tenant_id AND s.metric = r.metric AND s.series_key = "
                 "r.series_key WHERE r.tenant_id = '$tenant' AND r.metric = "
                 "'workflow_runs_total' AND $__timeFilter(r.bucket) GROUP BY 1, 2 ORDER BY 1")])
    b.row("Forecaster")
    b.panel("timeseries", "Forecasts per second by model",
            [prom('sum by (model) (rate(agentwatch_capacity_forecasts_total{job="agentwatch"}'
                  '[$__rate_interval]))', "{{model}}")], w=8, unit="ops")
    b.panel("timeseries", "Forecast compute time p50 / p99",
            [prom('histogram_quantile(0.5, sum by (le) (rate('
                  'agentwatch_capacity_forecast_seconds_bucket{job="agentwatch"}'
                  '[$__rate_interval])))', "p50"),
             prom('histogram_quantile(0.99, sum by (le) (rate('
                  'agentwatch_capacity_forecast_seconds_bucket{job="agentwatch"}'
                  '[$__rate_interval])))', "p99", ref="B")], w=8, unit="s")
    b.panel("timeseries", "Forecast cache hit ratio",
            [prom('sum(rate(agentwatch_capacity_forecast_cache_requests_total'
                  '{job="agentwatch", result="hit"}[$__rate_interval])) / sum(rate('
                  'agentwatch_capacity_forecast_cache_requests_total{job="agentwatch"}'
                  '[$__rate_interval]))', "hit ratio")], w=8, unit="percentunit")
    return b


BOARDS = (overview, agents, cost, incidents, capacity)


def render():
    return {f"{board.uid}.json": json.dumps(board.json(), indent=2, sort_keys=True) + "\n"
            for board in (make() for make in BOARDS)}


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    os.makedirs(OUT, exist_ok=True)
    for name, text in render().items():
        path = os.path.join(OUT, name)
        current = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if current != text:
            stale.append(name)
            if not check:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
    if check and stale:
        print(f"stale dashboards (run deploy/grafana/gen_dashboards.py): {', '.join(stale)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
