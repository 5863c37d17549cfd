"""Two monitor replicas answer as one, through the real processes.

The stack (monitor, incident, cost, capacity) plus a second agentwatch-monitor
process on the same database and Redis, both with the ingest journal as
deployed (--rollup_flush_interval 1s). Each replica ingests half of a minute's
workflow runs and LLM calls of one series; a batch replayed to the other
replica is acknowledged as a duplicate and not counted again. Once both
flushed, each answers GetHealth with the figures of all the events (error rate
1/40, model_latency_p95 1.9 s from the merged sketches of both). Then an alert
rule created on one replica fires while both ingest failing runs at once: each
replica lists the one alert under the same fingerprint, the incident service
holds it once, and the two replicas together counted one firing transition per
active alert.
"""

import datetime
import os
import random
import re
import signal
import subprocess
import sys
import threading
import unittest
import urllib.error
import urllib.request

import grpc
from google.protobuf import duration_pb2

from agentwatch.common.v1 import common_pb2
from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc
from agentwatch.monitor.v1 import monitor_pb2, monitor_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, free_port, stop_cleanly, ts, wait_for  # noqa: E402

TENANT = f"replicas-e2e-{random.getrandbits(32):08x}"
WORKFLOW = "triage"
MODEL = "gpt-4o"
RULE = "TriageFailureRatioReplicas"


def run(when, status):
    return monitor_pb2.Event(
        time=ts(when), tenant=TENANT,
        workflow_run=monitor_pb2.WorkflowRun(
            workflow=WORKFLOW, run_id="run", team="search", status=status,
            duration=duration_pb2.Duration(seconds=3), step_count=2))


def call(when, tenths, status=monitor_pb2.RUN_STATUS_SUCCEEDED):
    return monitor_pb2.Event(
        time=ts(when), tenant=TENANT,
        llm_call=monitor_pb2.LlmCall(
            provider="openai", model=MODEL, agent="planner", workflow=WORKFLOW, run_id="run",
            team="search", status=status,
            latency=duration_pb2.Duration(seconds=tenths // 10, nanos=tenths % 10 * 100_000_000),
            input_tokens=100, output_tokens=20))


def indicator(scope, name):
    for i in scope.indicators:
        if i.name == name:
            return i
    return None


def firing_transitions(metrics_text):
    match = re.search(r'^agentwatch_monitor_alerts_transitions_total\{status="firing"\} (\S+)$',
                      metrics_text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


class MonitorReplicasTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(extra_flags={"monitor": ["--alert_sweep_interval=1s"]}).start()
        cls.second_grpc = free_port()
        cls.second_http = free_port()
        cls.second_log = open(os.path.join(cls.stack.log_dir, "monitor-2.log"), "ab")
        cls.second = subprocess.Popen(
            [os.path.join(cls.stack.bin_dir, "agentwatch-monitor"),
             f"--grpc_listen=127.0.0.1:{cls.second_grpc}",
             f"--http_listen=127.0.0.1:{cls.second_http}",
             f"--pg_dsn={cls.stack.dsn}", f"--redis={cls.stack.redis}",
             "--health_probe_interval=100ms", "--alert_sweep_interval=1s",
             f"--incident_addr={cls.stack.address('incident')}",
             f"--cost_addr={cls.stack.address('cost')}"],
            stdout=cls.second_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(cls.second_ready, timeout=60, what="the second monitor's /readyz")
        cls.channel_b = grpc.insecure_channel(f"127.0.0.1:{cls.second_grpc}")
        cls.a = monitor_pb2_grpc.MonitorServiceStub(cls.stack.channel("monitor"))
        cls.b = monitor_pb2_grpc.MonitorServiceStub(cls.channel_b)
        cls.incident = incident_pb2_grpc.IncidentServiceStub(cls.stack.channel("incident"))

    @classmethod
    def second_ready(cls):
        if cls.second.poll() is not None:
            raise RuntimeError(f"the second monitor exited with {cls.second.returncode}")
        try:
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{cls.second_http}/readyz", timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    @classmethod
    def tearDownClass(cls):
        cls.channel_b.close()
        cls.second.send_signal(signal.SIGTERM)
        try:
            code = cls.second.wait(timeout=20)
        except subprocess.TimeoutExpired:
            cls.second.kill()
            cls.second.wait()
            code = "killed"
        cls.second_log.close()
        stop_cleanly(cls.stack)
        if code != 0:
            raise AssertionError(f"the second monitor did not stop cleanly: {code}")

    def second_metrics(self):
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.second_http}/metrics", timeout=5) as response:
            return response.read().decode()

    def rule_alerts_in_incident(self):
        alerts = []
        listed = self.incident.ListIncidents(
            incident_pb2.ListIncidentsRequest(tenant=TENANT), timeout=5)
        for incident in listed.incidents:
            detail = self.incident.GetIncident(
                incident_pb2.GetIncidentRequest(id=incident.id), timeout=5)
            alerts += [alert for alert in detail.alerts if alert.name == RULE]
        return alerts

    def test_replicas_give_one_health_and_fire_once(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        # Replica a: 10 succeeded runs, calls of 0.1 .. 1.0 s; replica b: 10
        # succeeded runs, calls of 1.1 .. 2.0 s, one of them failed.
        batch_a = monitor_pb2.IngestRequest(
            producer_id="replica-a", sequence=1,
            events=[run(now, monitor_pb2.RUN_STATUS_SUCCEEDED)] * 10
            + [call(now, t) for t in range(1, 11)])
        batch_b = monitor_pb2.IngestRequest(
            producer_id="replica-b", sequence=1,
            events=[run(now, monitor_pb2.RUN_STATUS_SUCCEEDED)] * 10
            + [call(now, t) for t in range(11, 20)]
            + [call(now, 20, monitor_pb2.RUN_STATUS_FAILED)])
        self.assertFalse(self.a.Ingest(batch_a, timeout=10).duplicate)
        self.assertFalse(self.b.Ingest(batch_b, timeout=10).duplicate)
        # A replay to the other replica is a duplicate, not counted again.
        replay = self.b.Ingest(batch_a, timeout=10)
        self.assertTrue(replay.duplicate)
        self.assertEqual(replay.accepted, 0)

        def health(stub):
            return stub.GetHealth(monitor_pb2.GetHealthRequest(
                scope=common_pb2.Scope(tenant=TENANT)), timeout=10)

        def complete(stub):
            report = health(stub)
            errors = indicator(report.scopes[0], "error_rate") if report.scopes else None
            return report if errors is not None and errors.sample_count == 40 else None

        from_a = wait_for(lambda: complete(self.a), what="replica a's health of all events")
        from_b = wait_for(lambda: complete(self.b), what="replica b's health of all events")
        self.assertEqual([s.SerializeToString() for s in from_a.scopes],
                         [s.SerializeToString() for s in from_b.scopes])
        for report in (from_a, from_b):
            overall = report.scopes[0]
            self.assertAlmostEqual(indicator(overall, "error_rate").value, 1 / 40)
            self.assertEqual(indicator(overall, "workflow_success_rate").value, 1.0)
            model = [s for s in report.scopes if s.kind == "model"]
            self.assertEqual(len(model), 1)
            latency = indicator(model[0], "model_latency_p95")
            self.assertEqual(latency.sample_count, 20)
            # Rank floor(0.95 * 19) = 18 of 0.1 .. 2.0 s: 1.9 s within the 1 % bound.
            self.assertLessEqual(abs(latency.value - 1.9), 1.9 * 0.01)

        # A rule created on replica a; both replicas ingest failing runs at once.
        rule = self.a.CreateAlertRule(monitor_pb2.CreateAlertRuleRequest(
            rule=monitor_pb2.AlertRule(
                name=RULE, tenant=TENANT, severity=common_pb2.SEVERITY_P2,
                threshold=monitor_pb2.ThresholdCondition(
                    metric="workflow_runs_total",
                    matchers=[common_pb2.LabelMatcher(
                        name="status", op=common_pb2.MATCH_OP_EQUAL, value="failed")],
                    denominator_metric="workflow_runs_total", group_by=["workflow"],
                    comparison=monitor_pb2.COMPARISON_GREATER_THAN, threshold=0.25,
                    window=duration_pb2.Duration(seconds=600)))), timeout=10)
        errors = []

        def failing(stub, producer):
            try:
                stub.Ingest(monitor_pb2.IngestRequest(
                    producer_id=producer, sequence=2,
                    events=[run(now, monitor_pb2.RUN_STATUS_FAILED)] * 10), timeout=10)
            except grpc.RpcError as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=failing, args=(self.a, "replica-a")),
                   threading.Thread(target=failing, args=(self.b, "replica-b"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])

        def rule_alerts(stub):
            return stub.ListActiveAlerts(monitor_pb2.ListActiveAlertsRequest(
                tenant=TENANT, matchers=[common_pb2.LabelMatcher(
                    name="alertname", op=common_pb2.MATCH_OP_EQUAL, value=RULE)]),
                timeout=10).alerts

        on_a = rule_alerts(self.a)
        on_b = rule_alerts(self.b)
        self.assertEqual(len(on_a), 1)
        self.assertEqual(len(on_b), 1)
        self.assertEqual(on_a[0].fingerprint, on_b[0].fingerprint)
        self.assertEqual(on_a[0].rule_id, rule.id)
        self.assertEqual(on_a[0].state, monitor_pb2.ACTIVE_ALERT_STATE_FIRING)
        in_incident = wait_for(self.rule_alerts_in_incident, what="the rule's alert in incident")
        self.assertEqual({alert.fingerprint for alert in in_incident}, {on_a[0].fingerprint})
        self.assertEqual(len(in_incident), 1)

        # Every active alert of the tenant fired once across both replicas.
        active = self.a.ListActiveAlerts(
            monitor_pb2.ListActiveAlertsRequest(tenant=TENANT), timeout=10).alerts
        _, metrics_a = self.stack.http_get("monitor", "/metrics")
        fired = firing_transitions(metrics_a) + firing_transitions(self.second_metrics())
        self.assertEqual(fired, len(active))


if __name__ == "__main__":
    unittest.main()
