"""agentwatch-monitor's --forward_usage flag, through the real process.

A monitor started alone (no cost or incident service: a deployment without
cost) with --forward_usage=false ingests LLM calls and failing workflow runs
through Ingest; its outbox then holds the alert for incident and no cost.*
row. The same database through a monitor started with the default flags
gets a cost.RecordUsageBatch row for the next batch's LLM calls. Fails if
main.cc ignores the flag (either way).

Usage: run by ctest (PYTHONPATH holds the generated stubs, AGENTWATCH_BIN_DIR
the binaries, AGENTWATCH_TEST_PG_DSN / AGENTWATCH_TEST_REDIS the servers).
"""

import datetime
import os
import subprocess
import sys
import unittest

from google.protobuf import duration_pb2, timestamp_pb2

from agentwatch.monitor.v1 import monitor_pb2, monitor_pb2_grpc

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from stack import Stack, psql  # noqa: E402


def ts(when):
    t = timestamp_pb2.Timestamp()
    t.FromDatetime(when)
    return t


def llm_call(when, tenant):
    return monitor_pb2.Event(
        time=ts(when), tenant=tenant,
        llm_call=monitor_pb2.LlmCall(
            provider="openai", model="gpt-4o", agent="planner", workflow="triage",
            team="search", latency=duration_pb2.Duration(nanos=300_000_000),
            input_tokens=100, output_tokens=20, status=monitor_pb2.RUN_STATUS_SUCCEEDED))


def failed_run(when, tenant):
    return monitor_pb2.Event(
        time=ts(when), tenant=tenant,
        workflow_run=monitor_pb2.WorkflowRun(
            workflow="triage", run_id="run", team="search",
            status=monitor_pb2.RUN_STATUS_FAILED,
            duration=duration_pb2.Duration(seconds=3), step_count=2))


class ForwardUsageFlagTest(unittest.TestCase):
    def setUp(self):
        self.stack = Stack()
        psql(self.stack.admin_dsn, f"CREATE DATABASE {self.stack.dbname}")

    def tearDown(self):
        self.stack.stop()

    def start_monitor(self, *flags):
        self.stack.extra_flags = {"monitor": list(flags)}
        self.stack.start_service("monitor")
        self.stack.wait_ready("monitor")
        self.stack.channels.pop("monitor", None)
        return monitor_pb2_grpc.MonitorServiceStub(self.stack.channel("monitor"))

    def stop_monitor(self):
        channel = self.stack.channels.pop("monitor", None)
        if channel is not None:
            channel.close()
        self.assertEqual(self.stack.stop_service("monitor"), 0, self.stack.log_tail("monitor"))

    def outbox(self):
        """{destination: rows} of the monitor's outbox."""
        out = subprocess.run(
            ["psql", self.stack.dsn, "-v", "ON_ERROR_STOP=1", "-At", "-F", " ", "-c",
             "SELECT destination, count(*) FROM monitor.outbox GROUP BY destination"],
            check=True, capture_output=True, text=True).stdout
        return {line.split()[0]: int(line.split()[1]) for line in out.splitlines() if line}

    def test_off_writes_no_usage_row_and_the_default_does(self):
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        monitor = self.start_monitor("--forward_usage=false")
        events = [failed_run(now, "acme")] * 10 + [llm_call(now, "acme"), llm_call(now, "globex")]
        response = monitor.Ingest(monitor_pb2.IngestRequest(
            producer_id="forward-usage-test", sequence=1, events=events), timeout=30)
        self.assertEqual(response.accepted, 12)
        outbox = self.outbox()
        self.assertEqual({d: n for d, n in outbox.items() if d.startswith("cost.")}, {}, outbox)
        # The alert still goes to incident through the outbox.
        self.assertEqual(outbox.get("incident.ReportAlerts"), 1, outbox)
        self.stop_monitor()

        monitor = self.start_monitor()  # --forward_usage defaults to true
        response = monitor.Ingest(monitor_pb2.IngestRequest(
            producer_id="forward-usage-test", sequence=2,
            events=[llm_call(now, "acme"), llm_call(now, "globex")]), timeout=30)
        self.assertEqual(response.accepted, 2)
        outbox = self.outbox()
        self.assertEqual(outbox.get("cost.RecordUsageBatch"), 2, outbox)  # one per tenant
        self.stop_monitor()


if __name__ == "__main__":
    unittest.main()
