"""The walking skeleton end to end, through the four real service processes.

A Python client plays an agent platform: it sends workflow-run and LLM-call
events to monitor.Ingest. Monitor stores them and, when the workflow error
rate crosses its threshold, opens an incident through incident.ReportAlerts
(via its outbox); it forwards LLM usage to cost.RecordUsage, which prices it
from the catalog; capacity.GetForecast reads history through
monitor.QuerySeries and returns a forecast.
"""

import datetime
import json
import math
import os
import subprocess
import sys
import unittest

import grpc
from google.protobuf import duration_pb2

from agentwatch.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from agentwatch.common.v1 import common_pb2
from agentwatch.cost.v1 import cost_pb2, cost_pb2_grpc
from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc
from agentwatch.monitor.v1 import monitor_pb2, monitor_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, stop_cleanly, ts, wait_for  # noqa: E402

TENANT = "acme"
WORKFLOW = "triage"


def dur(seconds):
    return duration_pb2.Duration(seconds=int(seconds), nanos=int((seconds % 1) * 1e9))


def workflow_event(when, run_id, failed):
    return monitor_pb2.Event(
        time=ts(when), tenant=TENANT, labels={"env": "e2e"},
        workflow_run=monitor_pb2.WorkflowRun(
            workflow=WORKFLOW, run_id=run_id, team="support",
            status=monitor_pb2.RUN_STATUS_FAILED if failed else monitor_pb2.RUN_STATUS_SUCCEEDED,
            duration=dur(12.5), step_count=4))


def llm_event(when, event_id, model, provider, input_tokens, output_tokens):
    return monitor_pb2.Event(
        event_id=event_id, time=ts(when), tenant=TENANT,
        llm_call=monitor_pb2.LlmCall(
            provider=provider, model=model, workflow=WORKFLOW, run_id="run-llm", agent="planner",
            team="support", latency=dur(1.2), input_tokens=input_tokens,
            output_tokens=output_tokens, status=monitor_pb2.RUN_STATUS_SUCCEEDED))


class SkeletonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(extra_flags={"monitor": ["--error_rate_window=5m"]}).start()
        cls.monitor = monitor_pb2_grpc.MonitorServiceStub(cls.stack.channel("monitor"))
        cls.incident = incident_pb2_grpc.IncidentServiceStub(cls.stack.channel("incident"))
        cls.cost = cost_pb2_grpc.CostServiceStub(cls.stack.channel("cost"))
        cls.capacity = capacity_pb2_grpc.CapacityServiceStub(cls.stack.channel("capacity"))
        cls.now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    @classmethod
    def tearDownClass(cls):
        # SIGTERM must shut every service down cleanly (exit 0).
        stop_cleanly(cls.stack)

    def ingest(self, sequence, events, producer="e2e-platform"):
        return self.monitor.Ingest(monitor_pb2.IngestRequest(
            producer_id=producer, sequence=sequence, events=events), timeout=30)

    def test_1_every_service_serves_health(self):
        for svc in ("monitor", "incident", "cost", "capacity"):
            self.assertEqual(self.stack.grpc_health(svc), "SERVING", svc)
            status, body = self.stack.http_get(svc, "/metrics")
            self.assertEqual(status, 200)
            self.assertIn(f"agentwatch_{svc}_grpc_requests_total", body)

    def test_2_the_whole_path(self):
        now = self.now
        # Two days of healthy history, 10 minutes apart, with a daily cycle.
        history = []
        for i in range(2 * 24 * 6, 0, -1):
            when = now - datetime.timedelta(minutes=10 * i)
            runs = 3 + round(2 * math.sin(2 * math.pi * when.hour / 24))
            for r in range(runs):
                history.append(workflow_event(when, f"hist-{i}-{r}", failed=False))
        response = self.ingest(1, history)
        self.assertEqual(response.accepted, len(history))
        self.assertFalse(response.duplicate)

        # A replay of the same batch is acknowledged and not counted again.
        replay = self.ingest(1, history)
        self.assertTrue(replay.duplicate)
        self.assertEqual(replay.accepted, 0)

        # A bad batch is rejected naming the field, and writes nothing: the
        # same sequence is still free afterwards.
        bad = [workflow_event(now, "bad-1", failed=True), workflow_event(now, "bad-2", failed=True)]
        bad[1].tenant = ""
        with self.assertRaises(grpc.RpcError) as caught:
            self.ingest(2, bad)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("events[1].tenant", caught.exception.details())

        # LLM calls: two priced, one of a model no catalog knows.
        llm = [
            llm_event(now, "call-1", "gpt-4o-mini", "openai", 12000, 800),
            llm_event(now, "call-2", "gpt-4o-mini", "openai", 3000, 150),
            llm_event(now, "call-3", "no-such-model-e2e", "acme-labs", 500, 50),
        ]
        self.assertEqual(self.ingest(2, llm).accepted, 3)

        # The failure burst: 80 % of the runs in the last minute fail.
        burst = [workflow_event(now, f"burst-{i}", failed=(i % 5 != 0)) for i in range(25)]
        self.assertEqual(self.ingest(3, burst).accepted, 25)

        # Health turns critical.
        health = self.monitor.GetHealth(monitor_pb2.GetHealthRequest(
            scope=common_pb2.Scope(tenant=TENANT)), timeout=10)
        self.assertEqual(health.overall_status, common_pb2.HEALTH_STATUS_CRITICAL)

        # An incident opens in the incident service.
        def find_incident():
            listed = self.incident.ListIncidents(
                incident_pb2.ListIncidentsRequest(tenant=TENANT), timeout=5)
            return [i for i in listed.incidents if i.labels.get("workflow") == WORKFLOW]
        incidents = wait_for(find_incident, what="the error-rate incident")
        self.assertEqual(len(incidents), 1)
        incident = incidents[0]
        self.assertEqual(incident.status, incident_pb2.INCIDENT_STATUS_TRIGGERED)
        self.assertIn(incident.severity, (common_pb2.SEVERITY_P1, common_pb2.SEVERITY_P2))
        detail = self.incident.GetIncident(incident_pb2.GetIncidentRequest(id=incident.id),
                                           timeout=5)
        self.assertEqual(len(detail.alerts), 1)
        self.assertEqual(detail.alerts[0].name, "WorkflowErrorRateHigh")
        self.assertEqual(detail.alerts[0].labels["workflow"], WORKFLOW)
        self.assertEqual(detail.alerts[0].source, "agentwatch-monitor")
        self.assertGreaterEqual(len(detail.timeline), 1)

        # The LLM usage arrives in cost, priced exactly from the catalog.
        price = self.cost.GetPrice(cost_pb2.GetPriceRequest(
            provider="openai", model="gpt-4o-mini", time=ts(now)), timeout=5)
        self.assertGreater(price.input_per_million_nano_usd, 0)
        self.assertGreater(price.output_per_million_nano_usd, 0)

        def priced(input_tokens, output_tokens):
            total = (input_tokens * price.input_per_million_nano_usd
                     + output_tokens * price.output_per_million_nano_usd)
            return (total + 500_000) // 1_000_000  # half away from zero, once per record

        expected = priced(12000, 800) + priced(3000, 150)
        report_request = cost_pb2.GetCostReportRequest(
            range=common_pb2.TimeRange(start=ts(now - datetime.timedelta(days=1)),
                                       end=ts(now + datetime.timedelta(hours=1))),
            group_by=[cost_pb2.DIMENSION_MODEL], filter=common_pb2.Scope(tenant=TENANT))

        def full_report():
            report = self.cost.GetCostReport(report_request, timeout=5)
            return report if report.total_calls == 3 else None
        report = wait_for(full_report, what="the usage in cost")
        rows = {row.group["model"]: row for row in report.rows}
        self.assertEqual(rows["gpt-4o-mini"].cost_nano_usd, expected)
        self.assertEqual(rows["gpt-4o-mini"].input_tokens, 15000)
        self.assertEqual(rows["gpt-4o-mini"].calls, 2)
        self.assertEqual(rows["no-such-model-e2e"].unpriced_calls, 1)
        self.assertEqual(rows["no-such-model-e2e"].cost_nano_usd, 0)
        self.assertEqual(report.total_cost_nano_usd, sum(r.cost_nano_usd for r in report.rows))
        self.assertEqual(report.total_cost_nano_usd, expected)

        # Capacity forecasts the workflow runs from monitor's history.
        forecast = self.capacity.GetForecast(capacity_pb2.GetForecastRequest(
            metric="workflow_runs_total", tenant=TENANT,
            matchers=[common_pb2.LabelMatcher(name="workflow", op=common_pb2.MATCH_OP_EQUAL,
                                              value=WORKFLOW)],
            horizon=dur(6 * 3600), step=dur(600), history=dur(2 * 24 * 3600)), timeout=30)
        self.assertEqual(len(forecast.points), 36)
        self.assertTrue(forecast.model)
        self.assertGreater(forecast.history_points, 200)
        self.assertTrue(math.isfinite(forecast.backtest_mase))
        previous = None
        for point in forecast.points:
            self.assertLessEqual(point.lower_95, point.lower_80)
            self.assertLessEqual(point.lower_80, point.value)
            self.assertLessEqual(point.value, point.upper_80)
            self.assertLessEqual(point.upper_80, point.upper_95)
            t = point.time.ToSeconds()
            if previous is not None:
                self.assertEqual(t - previous, 600)
            previous = t
        # The history had 1 to 5 runs per 10 minutes: so must the forecast.
        for point in forecast.points:
            self.assertGreaterEqual(point.value, 0.5)
            self.assertLessEqual(point.value, 6)

    def cli(self, *args, check=True):
        stack = self.stack
        command = [os.path.join(stack.bin_dir, "agentwatch"), *args,
                   f"--monitor_addr={stack.address('monitor')}",
                   f"--incident_addr={stack.address('incident')}",
                   f"--cost_addr={stack.address('cost')}",
                   f"--capacity_addr={stack.address('capacity')}"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(result.returncode, 0, f"{args}: {result.stderr}")
        return result

    def test_3_the_cli_tells_the_same_story(self):
        self.assertIn("SERVING", self.cli("check").stdout)
        # test_2 has run (unittest orders tests by name): its data is there.
        status = json.loads(self.cli("status", "--tenant", TENANT, "--output", "json").stdout)
        self.assertEqual(status["overall_status"], "HEALTH_STATUS_CRITICAL")
        incidents = json.loads(self.cli("incidents", "list", "--tenant", TENANT,
                                        "--output=json").stdout)["incidents"]
        self.assertEqual(len(incidents), 1)
        shown = self.cli("incidents", "show", incidents[0]["id"]).stdout
        self.assertIn("WorkflowErrorRateHigh", shown)
        report = json.loads(self.cli("cost", "report", "--by", "model", "--since", "2d",
                                     "--tenant", TENANT, "--output", "json").stdout)
        self.assertEqual(int(report["total_calls"]), 3)
        forecast = self.cli("forecast", "workflow_runs_total", "--tenant", TENANT,
                            "--match", f"workflow={WORKFLOW}", "--horizon", "2h", "--step",
                            "10m", "--history", "2d").stdout
        self.assertIn("backtest MASE", forecast)
        sent = json.loads(self.cli("send", "--tenant", "cli-tenant", "--succeeded", "3",
                                   "--failed", "1", "--output", "json").stdout)
        self.assertEqual(int(sent["accepted"]), 4)

    def test_4_cli_errors_are_clear(self):
        bad_flag = self.cli("cost", "report", "--by", "colour", check=False)
        self.assertEqual(bad_flag.returncode, 2)
        self.assertIn("--by", bad_flag.stderr)
        unknown = self.cli("frobnicate", check=False)
        self.assertEqual(unknown.returncode, 2)
        # A service that is down: a clear message and a non-zero exit.
        down = subprocess.run(
            [os.path.join(self.stack.bin_dir, "agentwatch"), "status",
             "--monitor_addr=127.0.0.1:1", "--timeout=2s"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(down.returncode, 1)
        self.assertIn("cannot reach monitor at 127.0.0.1:1", down.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
