"""SLOs and error budgets end to end, through the real processes.

A Python client plays an SRE and an agent platform: it creates an
availability SLO (99.9 % of the runs of one workflow over 30 days, the
SRE workbook's default burn-rate alerts), is refused a bad one naming the
field, sends mostly successful workflow runs (the budget is untouched), then
a failure burst: GetSloStatus shows the budget spent and the burn rates, the
fast-burn alert (14.4x over 1 h and 5 min) fires within the Ingest path and
opens an incident in the incident service under a stable fingerprint.
GetSloReport gives the day's availability. Quality KPIs: agent runs carry
named scores; a regression rule (the last hour's mean faithfulness against
the 7 days before, firing on a drop of more than 10 %) opens an incident when
the scores drop, and QuerySeries shows the score's trend.
"""

import datetime
import os
import random
import sys
import unittest

import grpc
from google.protobuf import duration_pb2

from agentwatch.common.v1 import common_pb2
from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc
from agentwatch.monitor.v1 import monitor_pb2, monitor_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, stop_cleanly, ts, wait_for  # noqa: E402

TENANT = f"slo-e2e-{random.getrandbits(32):08x}"
WORKFLOW = "triage"
SLO = "triage-availability"


def runs(when, failed, succeeded):
    def run(status):
        return monitor_pb2.Event(
            time=ts(when), tenant=TENANT,
            workflow_run=monitor_pb2.WorkflowRun(
                workflow=WORKFLOW, run_id="run", team="search", status=status,
                duration=duration_pb2.Duration(seconds=3), step_count=2))
    return ([run(monitor_pb2.RUN_STATUS_FAILED)] * failed
            + [run(monitor_pb2.RUN_STATUS_SUCCEEDED)] * succeeded)


class MonitorSloTest(unittest.TestCase):
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
        MonitorSloTest.sequence += 1
        return self.monitor.Ingest(monitor_pb2.IngestRequest(
            producer_id="slo-e2e", sequence=self.sequence, events=events), timeout=10)

    def incident_alerts(self, name):
        """The latest state of every alert called `name` in the incident service."""
        alerts = {}
        listed = self.incident.ListIncidents(
            incident_pb2.ListIncidentsRequest(tenant=TENANT), timeout=5)
        for incident in listed.incidents:
            detail = self.incident.GetIncident(
                incident_pb2.GetIncidentRequest(id=incident.id), timeout=5)
            for alert in detail.alerts:
                if alert.name == name:
                    alerts[alert.fingerprint] = alert
        return alerts

    def test_failure_burst_burns_budget_and_pages(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        slo = monitor_pb2.Slo(
            name=SLO, scope=common_pb2.Scope(tenant=TENANT, workflow=WORKFLOW),
            subject=monitor_pb2.SLO_SUBJECT_WORKFLOW_RUNS,
            sli_kind=monitor_pb2.SLI_KIND_AVAILABILITY, objective=0.999,
            labels={"team": "search"})

        # Bad SLOs are refused naming the field.
        bad = monitor_pb2.Slo()
        bad.CopyFrom(slo)
        bad.objective = 1
        with self.assertRaises(grpc.RpcError) as refused:
            self.monitor.CreateSlo(monitor_pb2.CreateSloRequest(slo=bad), timeout=10)
        self.assertEqual(refused.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("slo.objective", refused.exception.details())
        bad.objective = 0.99
        bad.scope.model = "gpt-4o"
        with self.assertRaises(grpc.RpcError) as refused:
            self.monitor.CreateSlo(monitor_pb2.CreateSloRequest(slo=bad), timeout=10)
        self.assertEqual(refused.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("slo.scope.model", refused.exception.details())

        created = self.monitor.CreateSlo(
            monitor_pb2.CreateSloRequest(slo=slo, request_id="slo-1"), timeout=10)
        self.assertTrue(created.id)
        self.assertEqual(created.window.seconds, 30 * 86400)
        self.assertEqual([w.burn_rate for w in created.burn_rate_windows], [14.4, 6, 1])
        self.assertEqual(self.monitor.CreateSlo(
            monitor_pb2.CreateSloRequest(slo=slo, request_id="slo-1"), timeout=10).id, created.id)
        with self.assertRaises(grpc.RpcError) as taken:
            self.monitor.CreateSlo(monitor_pb2.CreateSloRequest(slo=slo), timeout=10)
        self.assertEqual(taken.exception.code(), grpc.StatusCode.ALREADY_EXISTS)

        # Mostly successful runs: the budget is untouched.
        for _ in range(4):
            self.ingest(runs(now, 0, 500))
        status = self.monitor.GetSloStatus(monitor_pb2.GetSloStatusRequest(id=created.id),
                                           timeout=10)
        self.assertEqual(status.total_events, 2000)
        self.assertEqual(status.good_events, 2000)
        self.assertEqual(status.sli, 1)
        self.assertEqual(status.error_budget_remaining, 1)
        self.assertEqual(len(status.firing_alerts), 0)

        # A failure burst: 100 of 2100 runs fail (allowance: 2.1).
        self.ingest(runs(now, 100, 0))
        status = self.monitor.GetSloStatus(monitor_pb2.GetSloStatusRequest(id=created.id),
                                           timeout=10)
        self.assertEqual(status.total_events, 2100)
        self.assertEqual(status.good_events, 2000)
        self.assertLess(status.error_budget_remaining, 0)
        rates = {r.window.seconds: r.burn_rate for r in status.burn_rates}
        self.assertGreater(rates[300], 14.4)
        self.assertGreater(rates[3600], 14.4)
        fast = [a for a in status.firing_alerts if a.labels["burn_window"] == "1h/5m"]
        self.assertEqual(len(fast), 1)  # fired within the Ingest path
        self.assertEqual(fast[0].severity, common_pb2.SEVERITY_P1)
        self.assertEqual(fast[0].rule_id, created.id)

        # It is an active alert, and it opens an incident.
        active = self.monitor.ListActiveAlerts(monitor_pb2.ListActiveAlertsRequest(
            tenant=TENANT, matchers=[common_pb2.LabelMatcher(
                name="alertname", op=common_pb2.MATCH_OP_EQUAL, value=SLO)]), timeout=10)
        self.assertIn(fast[0].fingerprint, [a.fingerprint for a in active.alerts])
        paged = wait_for(lambda: self.incident_alerts(SLO).get(fast[0].fingerprint),
                         what="the fast-burn alert in incident")
        self.assertEqual(paged.status, incident_pb2.ALERT_STATUS_FIRING)
        self.assertEqual(paged.severity, common_pb2.SEVERITY_P1)
        self.assertEqual(paged.labels["slo_id"], created.id)
        self.assertEqual(paged.labels["team"], "search")
        self.assertIn("error budget burning", paged.annotations["summary"])

        # The day's availability.
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        report = self.monitor.GetSloReport(monitor_pb2.GetSloReportRequest(
            id=created.id, range=common_pb2.TimeRange(
                start=ts(day), end=ts(day + datetime.timedelta(days=1))),
            period=monitor_pb2.REPORT_PERIOD_DAY), timeout=10)
        self.assertEqual(len(report.periods), 1)
        self.assertEqual(report.periods[0].total_events, 2100)
        self.assertFalse(report.periods[0].met)
        with self.assertRaises(grpc.RpcError) as bad_range:
            self.monitor.GetSloReport(monitor_pb2.GetSloReportRequest(id=created.id), timeout=10)
        self.assertEqual(bad_range.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("range.start", bad_range.exception.details())

        # Deleting the SLO resolves its alerts in the incident service.
        self.monitor.DeleteSlo(monitor_pb2.DeleteSloRequest(id=created.id), timeout=10)
        wait_for(lambda: self.incident_alerts(SLO).get(fast[0].fingerprint).status
                 == incident_pb2.ALERT_STATUS_RESOLVED,
                 what="the fast-burn alert resolved in incident")
        with self.assertRaises(grpc.RpcError) as gone:
            self.monitor.GetSlo(monitor_pb2.GetSloRequest(id=created.id), timeout=10)
        self.assertEqual(gone.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_quality_score_regression_opens_an_incident(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        rule = self.monitor.CreateAlertRule(monitor_pb2.CreateAlertRuleRequest(
            rule=monitor_pb2.AlertRule(
                name="FaithfulnessDrop", tenant=TENANT, severity=common_pb2.SEVERITY_P2,
                threshold=monitor_pb2.ThresholdCondition(
                    metric="quality_score",
                    matchers=[common_pb2.LabelMatcher(
                        name="score", op=common_pb2.MATCH_OP_EQUAL, value="faithfulness")],
                    aggregation=monitor_pb2.AGGREGATION_AVG,
                    window=duration_pb2.Duration(seconds=3600),
                    baseline_window=duration_pb2.Duration(seconds=7 * 86400),
                    group_by=["agent"], comparison=monitor_pb2.COMPARISON_LESS_THAN,
                    threshold=-0.1))), timeout=10)
        self.assertEqual(rule.threshold.baseline_window.seconds, 7 * 86400)

        def score(when, value):
            return monitor_pb2.Event(
                time=ts(when), tenant=TENANT, quality_score=monitor_pb2.QualityScore(
                    name="faithfulness", value=value, workflow=WORKFLOW, agent="writer",
                    run_id="run"))

        # A week of scores around 0.9, every 3 hours, ending 2 hours ago.
        self.ingest([score(now - datetime.timedelta(hours=2 + 3 * i), 0.88 if i % 2 else 0.92)
                     for i in range(56)])
        # This hour's runs score 0.72 on average: a 20 % drop.
        self.ingest([score(now, 0.7), score(now, 0.74)])
        active = self.monitor.ListActiveAlerts(monitor_pb2.ListActiveAlertsRequest(
            tenant=TENANT, matchers=[common_pb2.LabelMatcher(
                name="alertname", op=common_pb2.MATCH_OP_EQUAL, value="FaithfulnessDrop")]),
            timeout=10)
        self.assertEqual(len(active.alerts), 1)
        self.assertAlmostEqual(active.alerts[0].value, 0.72 / 0.9 - 1, places=6)
        self.assertEqual(active.alerts[0].labels["agent"], "writer")
        paged = wait_for(
            lambda: self.incident_alerts("FaithfulnessDrop").get(active.alerts[0].fingerprint),
            what="the regression alert in incident")
        self.assertEqual(paged.status, incident_pb2.ALERT_STATUS_FIRING)

        # The score's trend, one point per day.
        start = now - datetime.timedelta(days=8)
        series = self.monitor.QuerySeries(monitor_pb2.QuerySeriesRequest(
            metric="quality_score", tenant=TENANT,
            matchers=[common_pb2.LabelMatcher(
                name="score", op=common_pb2.MATCH_OP_EQUAL, value="faithfulness")],
            range=common_pb2.TimeRange(start=ts(start),
                                       end=ts(now + datetime.timedelta(minutes=1))),
            step=duration_pb2.Duration(seconds=86400),
            aggregation=monitor_pb2.AGGREGATION_AVG), timeout=10)
        self.assertEqual(len(series.series), 1)
        self.assertGreaterEqual(len(series.series[0].points), 7)
        self.assertLess(series.series[0].points[-1].value, 0.9)


if __name__ == "__main__":
    unittest.main()
