"""Health thresholds and alert rules end to end, through the real processes.

A Python client plays an SRE and an agent platform: it overrides the error-
rate thresholds of one workflow, creates an alert rule (failed / all runs of
a workflow above 25 %, resolving only below 10 %), then sends workflow runs
and a resource sample to monitor.Ingest. GetHealth judges the workflow with
its own thresholds and reports the CPU indicator; the rule fires in the
Ingest path, the alert is listed by ListActiveAlerts and reaches the incident
service (monitor's outbox -> incident.ReportAlerts) under the rule's stable
fingerprint; more successful runs resolve it there. A bad batch is rejected
and writes nothing. The time from the Ingest call to the incident holding the
alert is printed (measured, not asserted).
"""

import datetime
import os
import random
import sys
import time
import unittest

import grpc
from google.protobuf import duration_pb2

from agentwatch.common.v1 import common_pb2
from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc
from agentwatch.monitor.v1 import monitor_pb2, monitor_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, stop_cleanly, ts, wait_for  # noqa: E402

TENANT = f"alerts-e2e-{random.getrandbits(32):08x}"
WORKFLOW = "triage"
RULE = "TriageFailureRatio"


def run_event(when, status):
    return monitor_pb2.Event(
        time=ts(when), tenant=TENANT,
        workflow_run=monitor_pb2.WorkflowRun(
            workflow=WORKFLOW, run_id="run", team="search", status=status,
            duration=duration_pb2.Duration(seconds=3), step_count=2))


def runs(when, failed, succeeded):
    return ([run_event(when, monitor_pb2.RUN_STATUS_FAILED)] * failed
            + [run_event(when, monitor_pb2.RUN_STATUS_SUCCEEDED)] * succeeded)


def indicator(scope, name):
    for i in scope.indicators:
        if i.name == name:
            return i
    return None


class MonitorAlertsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(extra_flags={"monitor": ["--alert_sweep_interval=1s"]}).start()
        cls.monitor = monitor_pb2_grpc.MonitorServiceStub(cls.stack.channel("monitor"))
        cls.incident = incident_pb2_grpc.IncidentServiceStub(cls.stack.channel("incident"))
        cls.sequence = 0

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.stack)

    def ingest(self, events):
        MonitorAlertsTest.sequence += 1
        return self.monitor.Ingest(monitor_pb2.IngestRequest(
            producer_id="alerts-e2e", sequence=self.sequence, events=events), timeout=10)

    def incident_alerts(self):
        """The latest state of every RULE alert the incident service holds, by fingerprint."""
        alerts = {}
        listed = self.incident.ListIncidents(
            incident_pb2.ListIncidentsRequest(tenant=TENANT), timeout=5)
        for incident in listed.incidents:
            detail = self.incident.GetIncident(
                incident_pb2.GetIncidentRequest(id=incident.id), timeout=5)
            for alert in detail.alerts:
                if alert.name == RULE:
                    alerts[alert.fingerprint] = alert
        return alerts

    def test_thresholds_health_rule_fires_and_resolves_in_incident(self):
        now = datetime.datetime.now(datetime.timezone.utc)

        # Thresholds of the workflow: 30 % / 60 % (defaults 1 % / 5 %).
        effective = self.monitor.SetHealthThresholds(monitor_pb2.SetHealthThresholdsRequest(
            thresholds=monitor_pb2.HealthThresholds(
                scope=common_pb2.Scope(tenant=TENANT, workflow=WORKFLOW),
                thresholds=[monitor_pb2.IndicatorThreshold(
                    indicator="error_rate", warning=0.3, critical=0.6)])), timeout=10)
        by_name = {t.indicator: t for t in effective.thresholds}
        self.assertEqual(len(by_name), 12)
        self.assertEqual(by_name["error_rate"].warning, 0.3)
        self.assertEqual(by_name["latency_p95"].critical, 2)
        with self.assertRaises(grpc.RpcError) as bad:
            self.monitor.SetHealthThresholds(monitor_pb2.SetHealthThresholdsRequest(
                thresholds=monitor_pb2.HealthThresholds(
                    scope=common_pb2.Scope(tenant=TENANT),
                    thresholds=[monitor_pb2.IndicatorThreshold(
                        indicator="latency_p95", warning=2, critical=1)])), timeout=10)
        self.assertEqual(bad.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("thresholds.thresholds[0].critical", bad.exception.details())

        # The rule, before any data.
        rule = self.monitor.CreateAlertRule(monitor_pb2.CreateAlertRuleRequest(
            request_id="create-1",
            rule=monitor_pb2.AlertRule(
                name=RULE, tenant=TENANT, severity=common_pb2.SEVERITY_P1,
                labels={"team": "search"},
                annotations={"runbook_url": "https://runbooks.example/triage"},
                threshold=monitor_pb2.ThresholdCondition(
                    metric="workflow_runs_total",
                    matchers=[common_pb2.LabelMatcher(
                        name="status", op=common_pb2.MATCH_OP_REGEX, value="failed|timed_out")],
                    denominator_metric="workflow_runs_total", group_by=["workflow"],
                    comparison=monitor_pb2.COMPARISON_GREATER_THAN, threshold=0.25,
                    window=duration_pb2.Duration(seconds=300)),
                hysteresis=monitor_pb2.Hysteresis(resolve_threshold=0.1))), timeout=10)
        self.assertTrue(rule.id)
        again = self.monitor.CreateAlertRule(monitor_pb2.CreateAlertRuleRequest(
            request_id="create-1", rule=monitor_pb2.AlertRule(
                name=RULE, tenant=TENANT, threshold=monitor_pb2.ThresholdCondition(
                    metric="workflow_runs_total",
                    comparison=monitor_pb2.COMPARISON_GREATER_THAN))), timeout=10)
        self.assertEqual(again.id, rule.id)

        # A bad batch is rejected naming the field, and writes nothing.
        with self.assertRaises(grpc.RpcError) as rejected:
            self.ingest(runs(now, 5, 0) + [monitor_pb2.Event(time=ts(now), tenant=TENANT)])
        self.assertEqual(rejected.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("events[5]", rejected.exception.details())
        self.assertEqual(len(self.monitor.ListActiveAlerts(
            monitor_pb2.ListActiveAlertsRequest(tenant=TENANT), timeout=10).alerts), 0)

        # 4 of 10 runs fail, and the API component runs hot.
        started = time.monotonic()
        self.ingest(runs(now, 4, 6) + [monitor_pb2.Event(
            time=ts(now), tenant=TENANT,
            resource_sample=monitor_pb2.ResourceSample(component="api", cpu_utilization=0.9))])
        active = self.monitor.ListActiveAlerts(monitor_pb2.ListActiveAlertsRequest(
            tenant=TENANT, matchers=[common_pb2.LabelMatcher(
                name="alertname", op=common_pb2.MATCH_OP_EQUAL, value=RULE)]), timeout=10)
        self.assertEqual(len(active.alerts), 1)  # fired within the Ingest call
        alert = active.alerts[0]
        self.assertEqual(alert.state, monitor_pb2.ACTIVE_ALERT_STATE_FIRING)
        self.assertEqual(alert.rule_id, rule.id)
        self.assertAlmostEqual(alert.value, 0.4)
        self.assertEqual(alert.labels["workflow"], WORKFLOW)

        fired = wait_for(lambda: self.incident_alerts().get(alert.fingerprint),
                         what="the rule's alert in incident")
        print(f"ingest -> incident alert: {(time.monotonic() - started) * 1000:.0f} ms")
        self.assertEqual(fired.status, incident_pb2.ALERT_STATUS_FIRING)
        self.assertEqual(fired.severity, common_pb2.SEVERITY_P1)
        self.assertEqual(fired.labels["team"], "search")
        self.assertEqual(fired.annotations["runbook_url"], "https://runbooks.example/triage")

        # Health: the workflow judged with its own thresholds, CPU overall.
        report = self.monitor.GetHealth(monitor_pb2.GetHealthRequest(
            scope=common_pb2.Scope(tenant=TENANT)), timeout=10)
        workflow = [s for s in report.scopes if s.kind == "workflow"]
        self.assertEqual(len(workflow), 1)
        error_rate = indicator(workflow[0], "error_rate")
        self.assertAlmostEqual(error_rate.value, 0.4)
        self.assertEqual(error_rate.warning_threshold, 0.3)
        self.assertEqual(error_rate.status, common_pb2.HEALTH_STATUS_WARNING)
        overall = report.scopes[0]
        self.assertEqual(indicator(overall, "error_rate").status,
                         common_pb2.HEALTH_STATUS_CRITICAL)  # default thresholds there
        cpu = indicator(overall, "cpu_utilization")
        self.assertAlmostEqual(cpu.value, 0.9)
        self.assertEqual(cpu.status, common_pb2.HEALTH_STATUS_CRITICAL)
        self.assertEqual(cpu.warning_threshold, 0.7)

        # 4 of 30 (13 %): under the threshold, above the resolve level: still firing.
        self.ingest(runs(now, 0, 20))
        self.assertEqual(len(self.monitor.ListActiveAlerts(monitor_pb2.ListActiveAlertsRequest(
            tenant=TENANT, matchers=[common_pb2.LabelMatcher(
                name="alertname", op=common_pb2.MATCH_OP_EQUAL, value=RULE)]),
            timeout=10).alerts), 1)
        # 4 of 50 (8 %): resolves, in monitor and in incident.
        self.ingest(runs(now, 0, 20))
        self.assertEqual(len(self.monitor.ListActiveAlerts(monitor_pb2.ListActiveAlertsRequest(
            tenant=TENANT, matchers=[common_pb2.LabelMatcher(
                name="alertname", op=common_pb2.MATCH_OP_EQUAL, value=RULE)]),
            timeout=10).alerts), 0)
        resolved = wait_for(
            lambda: (self.incident_alerts().get(alert.fingerprint).status
                     == incident_pb2.ALERT_STATUS_RESOLVED) and self.incident_alerts(),
            what="the rule's alert resolved in incident")
        self.assertEqual(len(resolved), 1)  # one alert, one fingerprint, no second page

        # The rule and the thresholds are listed.
        rules = self.monitor.ListAlertRules(
            monitor_pb2.ListAlertRulesRequest(tenant=TENANT), timeout=10)
        self.assertEqual([r.name for r in rules.rules], [RULE])
        listed = self.monitor.ListHealthThresholds(
            monitor_pb2.ListHealthThresholdsRequest(tenant=TENANT), timeout=10)
        self.assertEqual(len(listed.thresholds), 1)
        self.assertEqual(listed.thresholds[0].scope.workflow, WORKFLOW)

        # The series the runs fed, and the monitor's own metrics.
        series = self.monitor.ListSeries(monitor_pb2.ListSeriesRequest(
            tenant=TENANT, metric="workflow_runs_total"), timeout=10)
        self.assertEqual(sorted(s.labels["status"] for s in series.series),
                         ["failed", "succeeded"])
        status, metrics = self.stack.http_get("monitor", "/metrics")
        self.assertEqual(status, 200)
        for name in ("agentwatch_monitor_alert_evaluation_lag_seconds_count",
                     "agentwatch_monitor_active_series", "agentwatch_monitor_outbox_depth",
                     'agentwatch_monitor_events_rejected_total{reason="invalid"}',
                     "agentwatch_monitor_ingest_journal_pending_rows",
                     "agentwatch_monitor_ingest_journal_swept_rows_total"):
            self.assertIn(name, metrics)


if __name__ == "__main__":
    unittest.main()
