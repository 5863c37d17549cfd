"""The agentwatch CLI's operator commands against the four real services.

Rules are applied from a JSON file and listed; failing runs sent with
`agentwatch send` make the rule fire (`agentwatch alerts`) and open an
incident, which is acknowledged, annotated and resolved through the CLI; a P1
incident is refused closing until its postmortem, written and published with
`agentwatch incidents postmortem`, is published, and the postmortem exports as
Markdown; silences are added, listed and deleted; a budget is set,
updated, listed and its status shown; a capacity resource gets
recommendations; an SLO is applied from a file, its status, list row and
daily report are checked and it is deleted; `incidents watch` follows a P1
incident's creation and acknowledgement. Every command's --output json is
parsed; exit codes are checked, including bad usage (2) and a service that is
down (1).
"""

import datetime
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import unittest

from google.protobuf import duration_pb2, timestamp_pb2

from agentwatch.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from agentwatch.common.v1 import common_pb2
from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc
from agentwatch.monitor.v1 import monitor_pb2, monitor_pb2_grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stack import Stack, stop_cleanly, wait_for  # noqa: E402

TENANT = f"cli-{random.getrandbits(32):08x}"
WORKFLOW = "checkout"


class CliOpsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack().start()

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.stack)

    def cli(self, *args, check=True, expect=0):
        stack = self.stack
        command = [os.path.join(stack.bin_dir, "agentwatch"), *args,
                   f"--monitor_addr={stack.address('monitor')}",
                   f"--incident_addr={stack.address('incident')}",
                   f"--cost_addr={stack.address('cost')}",
                   f"--capacity_addr={stack.address('capacity')}"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(result.returncode, expect,
                             f"{args}: stdout={result.stdout} stderr={result.stderr}")
        return result

    def json(self, *args):
        return json.loads(self.cli(*args, "--output", "json").stdout)

    def test_1_rules_alerts_and_the_incident_lifecycle(self):
        rules = {"rules": [{
            "name": "CheckoutRunsFailing", "tenant": TENANT,
            "description": "more than two failed checkout runs in 5 minutes",
            "threshold": {
                "metric": "workflow_runs_total",
                "matchers": [{"name": "workflow", "op": "MATCH_OP_EQUAL", "value": WORKFLOW},
                             {"name": "status", "op": "MATCH_OP_EQUAL", "value": "failed"}],
                "aggregation": "AGGREGATION_SUM", "window": "300s",
                "comparison": "COMPARISON_GREATER_THAN", "threshold": 2},
            "forDuration": "0s", "severity": "SEVERITY_P2",
            "labels": {"team": "payments"}}]}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(rules, f)
            path = f.name
        applied = self.cli("rules", "apply", "-f", path).stdout
        self.assertIn("1 created, 0 updated", applied)
        # Applying again updates in place.
        self.assertIn("0 created, 1 updated", self.cli("rules", "apply", "-f", path).stdout)
        listed = self.json("rules", "list", "--tenant", TENANT)["rules"]
        self.assertEqual([r["name"] for r in listed], ["CheckoutRunsFailing"])
        self.assertIn("CheckoutRunsFailing", self.cli("rules", "list", "--tenant", TENANT).stdout)

        bad = self.cli("rules", "apply", "-f", "/nonexistent.json", check=False)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("cannot read", bad.stderr)

        sent = self.json("send", "--tenant", TENANT, "--workflow", WORKFLOW, "--succeeded", "5",
                         "--failed", "4")
        self.assertEqual(int(sent["accepted"]), 9)

        def firing():
            alerts = self.json("alerts", "--tenant", TENANT).get("alerts", [])
            return [a for a in alerts if a["name"] == "CheckoutRunsFailing"]

        (alert,) = wait_for(firing, what="the rule firing in monitor")
        self.assertEqual(alert["severity"], "SEVERITY_P2")

        def incident():
            found = self.json("incidents", "list", "--tenant", TENANT).get("incidents", [])
            return [i for i in found if "CheckoutRunsFailing" in i.get("title", "")
                    or any("CheckoutRunsFailing" in str(v) for v in i.values())]

        incidents = wait_for(incident, what="the incident opened from the rule")
        incident_id = incidents[0]["id"]

        acked = self.json("incidents", "ack", incident_id, "--actor", "alice")
        self.assertEqual(acked["status"], "INCIDENT_STATUS_ACKNOWLEDGED")
        noted = self.cli("incidents", "note", incident_id, "rolled back the payment gateway",
                         "--actor", "alice").stdout
        self.assertIn("noted on", noted)
        resolved = self.json("incidents", "resolve", incident_id, "--actor", "alice")
        self.assertEqual(resolved["status"], "INCIDENT_STATUS_RESOLVED")
        shown = self.cli("incidents", "show", incident_id).stdout
        self.assertIn("rolled back the payment gateway", shown)
        # A second ack of a resolved incident is an illegal step: exit 1, reason shown.
        again = self.cli("incidents", "ack", incident_id, check=False)
        self.assertEqual(again.returncode, 1)
        self.assertIn("incident answered FAILED_PRECONDITION", again.stderr)

    def test_2_silences(self):
        added = self.json("silences", "add", "--tenant", TENANT, "--match",
                          "alertname=LatencyHigh,env=~prod.*", "--duration", "2h",
                          "--comment", "deploy window")
        self.assertEqual(len(added["matchers"]), 2)
        listed = self.json("silences", "list", "--tenant", TENANT)["silences"]
        self.assertIn(added["id"], [s["id"] for s in listed])
        self.assertIn("deploy window", self.cli("silences", "--tenant", TENANT).stdout)
        self.cli("silences", "delete", added["id"])
        bad = self.cli("silences", "add", "--tenant", TENANT, "--match", "nonsense",
                       check=False)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--match", bad.stderr)

    def test_3_budgets(self):
        created = self.json("budgets", "set", "ops-monthly", "--tenant", TENANT, "--team", "ops",
                            "--limit_usd", "250.5", "--enforcement", "hard",
                            "--thresholds", "50,80,100")
        self.assertEqual(int(created["limit_nano_usd"]), 250_500_000_000)
        self.assertEqual(created["enforcement"], "ENFORCEMENT_HARD")
        updated = self.json("budgets", "set", "ops-monthly", "--tenant", TENANT, "--team", "ops",
                            "--limit_usd", "300")
        self.assertEqual(updated["id"], created["id"])
        self.assertEqual(int(updated["limit_nano_usd"]), 300_000_000_000)
        listed = self.json("budgets", "list", "--tenant", TENANT)["budgets"]
        self.assertEqual([b["name"] for b in listed], ["ops-monthly"])
        status = self.json("budgets", "status", created["id"])
        self.assertEqual(int(status["limit_nano_usd"]), 300_000_000_000)
        self.assertIn("spent", self.cli("budgets", "status", created["id"]).stdout)
        for amount in ("12.x", "1.-5", "-3", " 7", "99999999999", ".5"):
            bad = self.cli("budgets", "set", "x", "--tenant", TENANT, "--limit_usd", amount,
                           check=False)
            self.assertEqual(bad.returncode, 2, amount)
            self.assertIn("--limit_usd", bad.stderr)
        self.assertEqual(len(self.json("budgets", "list", "--tenant", TENANT)["budgets"]), 1)

    def test_4_recommendations(self):
        # Two days of hourly history for the resource's series (capacity forecasts from it).
        monitor = monitor_pb2_grpc.MonitorServiceStub(self.stack.channel("monitor"))
        now = datetime.datetime.now(datetime.timezone.utc).replace(minute=0, second=0,
                                                                   microsecond=0)
        events = []
        for hour in range(48, 0, -1):
            for i in range(6):
                when = timestamp_pb2.Timestamp()
                when.FromDatetime(now - datetime.timedelta(hours=hour, minutes=i * 7))
                events.append(monitor_pb2.Event(
                    tenant=TENANT, time=when, workflow_run=monitor_pb2.WorkflowRun(
                        workflow=WORKFLOW, run_id=f"hist-{hour}-{i}",
                        status=monitor_pb2.RUN_STATUS_SUCCEEDED,
                        duration=duration_pb2.Duration(seconds=2))))
        monitor.Ingest(monitor_pb2.IngestRequest(producer_id=f"{TENANT}-history", sequence=1,
                                                 events=events), timeout=30)
        capacity = capacity_pb2_grpc.CapacityServiceStub(self.stack.channel("capacity"))
        resource = capacity.CreateResource(capacity_pb2.CreateResourceRequest(
            resource=capacity_pb2.Resource(
                name="checkout-workers", tenant=TENANT, kind=capacity_pb2.RESOURCE_KIND_REPLICAS,
                metric="workflow_runs_total",
                matchers=[common_pb2.LabelMatcher(name="workflow", op=common_pb2.MATCH_OP_EQUAL,
                                                  value=WORKFLOW)],
                per_unit_capacity=10, target_utilization=0.7, current=3, min=1, max=20,
                alert_horizon=duration_pb2.Duration(seconds=3600)),
            request_id=f"{TENANT}-resource"), timeout=10)
        recs = self.json("recommendations", "--tenant", TENANT, "--resource", resource.id,
                         "--horizon", "6h")["recommendations"]
        kinds = {r["kind"] for r in recs}
        self.assertIn("RECOMMENDATION_KIND_SCALE_REPLICAS", kinds)
        self.assertTrue(all(r["reason"] for r in recs))
        table = self.cli("recommendations", "--tenant", TENANT, "--resource", resource.id).stdout
        self.assertIn("checkout-workers", table)
        self.assertIn("scale_replicas", table)

    def test_6_postmortem_gates_closing_a_p1_incident(self):
        incident = incident_pb2_grpc.IncidentServiceStub(self.stack.channel("incident"))
        reported = incident.ReportAlerts(incident_pb2.ReportAlertsRequest(alerts=[
            incident_pb2.Alert(fingerprint=f"{TENANT}-pm", name="PaymentsDown", tenant=TENANT,
                               severity=common_pb2.SEVERITY_P1,
                               status=incident_pb2.ALERT_STATUS_FIRING, source="e2e",
                               annotations={"summary": "Payments API down"})]), timeout=10)
        incident_id = reported.incident_ids[0]
        self.assertTrue(incident_id)
        self.json("incidents", "resolve", incident_id, "--actor", "alice")

        refused = self.cli("incidents", "close", incident_id, check=False)
        self.assertEqual(refused.returncode, 1, refused.stderr)
        self.assertIn("incident answered FAILED_PRECONDITION", refused.stderr)
        self.assertIn("need a published postmortem", refused.stderr)
        self.assertIn("it has none", refused.stderr)

        none = self.cli("incidents", "postmortem", incident_id, check=False)
        self.assertEqual(none.returncode, 1)
        self.assertIn("has no postmortem yet", none.stderr)

        created = self.cli("incidents", "postmortem", incident_id,
                           "--summary", "Payments API returned 503 for 9 minutes",
                           "--impact", "12% of checkouts failed",
                           "--action", "Add a readiness probe@bob;Alert on 503 ratio",
                           "--author", "alice")
        self.assertIn("created postmortem", created.stderr)
        self.assertIn("(DRAFT)", created.stdout)
        self.assertIn("[OPEN] Add a readiness probe (bob)", created.stdout)

        draft = self.cli("incidents", "close", incident_id, check=False)
        self.assertEqual(draft.returncode, 1)
        self.assertIn("is not PUBLISHED", draft.stderr)

        # Publishing needs a root cause: the service names the field.
        early = self.cli("incidents", "postmortem", incident_id, "--publish", check=False)
        self.assertEqual(early.returncode, 1)
        self.assertIn("postmortem.root_cause: required to publish", early.stderr)

        published = self.json("incidents", "postmortem", incident_id,
                              "--root_cause", "connection pool exhausted after a deploy",
                              "--action", "Load-test pool size@carol", "--publish")
        self.assertEqual(published["status"], "POSTMORTEM_STATUS_PUBLISHED")
        self.assertEqual([a["description"] for a in published["action_items"]],
                         ["Add a readiness probe", "Alert on 503 ratio",
                          "Load-test pool size"])
        self.assertIn("postmortem", [e["kind"] for e in published["timeline"]])

        closed = self.json("incidents", "close", incident_id, "--actor", "alice")
        self.assertEqual(closed["status"], "INCIDENT_STATUS_CLOSED")
        self.assertEqual(closed["postmortem_id"], published["id"])

        markdown = self.cli("incidents", "postmortem", incident_id, "--export", "md").stdout
        self.assertIn("# Postmortem: Payments API down", markdown)
        self.assertIn("## Root cause\n\nconnection pool exhausted after a deploy", markdown)
        self.assertIn("| OPEN | Load-test pool size | carol |", markdown)
        self.assertIn("| closed |", markdown)
        bad = self.cli("incidents", "postmortem", incident_id, "--export", "pdf", check=False)
        self.assertEqual(bad.returncode, 2)

        # A P2 incident closes without a postmortem.
        p2 = incident.ReportAlerts(incident_pb2.ReportAlertsRequest(alerts=[
            incident_pb2.Alert(fingerprint=f"{TENANT}-p2", name="DiskAlmostFull", tenant=TENANT,
                               severity=common_pb2.SEVERITY_P2,
                               status=incident_pb2.ALERT_STATUS_FIRING, source="e2e")]),
            timeout=10).incident_ids[0]
        self.json("incidents", "resolve", p2)
        self.assertEqual(self.json("incidents", "close", p2)["status"], "INCIDENT_STATUS_CLOSED")

    def test_7_slos(self):
        workflow = "slo-flow"
        slos = {"slos": [{
            "name": "SloFlowAvailability",
            "scope": {"tenant": TENANT, "workflow": workflow},
            "subject": "SLO_SUBJECT_WORKFLOW_RUNS", "sliKind": "SLI_KIND_AVAILABILITY",
            "objective": 0.99, "window": "2592000s"}]}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(slos, f)
            path = f.name
        self.assertIn("1 created, 0 updated", self.cli("slos", "apply", "-f", path).stdout)
        self.assertIn("0 created, 1 updated", self.cli("slos", "apply", "-f", path).stdout)
        sent = self.json("send", "--tenant", TENANT, "--workflow", workflow, "--succeeded", "90",
                         "--failed", "10")
        self.assertEqual(int(sent["accepted"]), 100)

        status = self.json("slos", "status", "SloFlowAvailability", "--tenant", TENANT)
        self.assertEqual(int(status["good_events"]), 90)
        self.assertEqual(int(status["total_events"]), 100)
        self.assertAlmostEqual(status["sli"], 0.9)
        # 10 % bad against a 1 % budget: ten budgets spent, -9 remaining.
        self.assertAlmostEqual(status["error_budget_remaining"], -9.0, places=6)
        text = self.cli("slos", "status", "SloFlowAvailability", "--tenant", TENANT).stdout
        self.assertIn("90 good of 100", text)
        self.assertIn("-900.00% remaining", text)

        listed = self.json("slos", "list", "--tenant", TENANT)
        self.assertEqual([s["name"] for s in listed["slos"]["slos"]], ["SloFlowAvailability"])
        self.assertEqual(int(listed["statuses"][0]["total_events"]), 100)
        table = self.cli("slos", "list", "--tenant", TENANT).stdout
        self.assertIn("workflow=slo-flow", table)
        self.assertIn("99% ", table)

        report = self.json("slos", "report", "SloFlowAvailability", "--tenant", TENANT,
                           "--since", "2d", "--period", "day")
        self.assertEqual(sum(int(p["total_events"]) for p in report["periods"]), 100, report)
        self.assertEqual(sum(int(p["good_events"]) for p in report["periods"]), 90)
        self.assertFalse(any(p["met"] for p in report["periods"] if int(p["total_events"])))

        bad = self.cli("slos", "report", "SloFlowAvailability", "--tenant", TENANT, "--period",
                       "fortnight", check=False)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--period", bad.stderr)
        missing = self.cli("slos", "status", "NoSuchSlo", "--tenant", TENANT, check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("no SLO with id or name 'NoSuchSlo'", missing.stderr)
        slos["slos"][0]["objective"] = 1.5
        with open(path, "w") as f:
            json.dump(slos, f)
        invalid = self.cli("slos", "apply", "-f", path, check=False)
        self.assertEqual(invalid.returncode, 1)
        self.assertIn("objective", invalid.stderr)

        self.assertIn("deleted SloFlowAvailability",
                      self.cli("slos", "delete", "SloFlowAvailability", "--tenant", TENANT).stdout)
        self.assertEqual(self.json("slos", "list", "--tenant", TENANT)["slos"].get("slos", []), [])

    def test_8_watch(self):
        stack = self.stack
        tenant = f"{TENANT}-watch"
        command = [os.path.join(stack.bin_dir, "agentwatch"), "incidents", "watch",
                   "--tenant", tenant, "--severity", "P1", "--for", "20s", "--output", "json",
                   f"--incident_addr={stack.address('incident')}"]
        watcher = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        time.sleep(2)  # the stream is live once the poller has it (tens of milliseconds)
        incident = incident_pb2_grpc.IncidentServiceStub(stack.channel("incident"))

        def report(name, severity):
            return incident.ReportAlerts(incident_pb2.ReportAlertsRequest(alerts=[
                incident_pb2.Alert(fingerprint=f"{tenant}-{name}", name=name, tenant=tenant,
                                   severity=severity, status=incident_pb2.ALERT_STATUS_FIRING,
                                   source="e2e")]), timeout=10).incident_ids[0]

        watched = report("QueueBacklog", common_pb2.SEVERITY_P1)
        report("DiskAlmostFull", common_pb2.SEVERITY_P3)  # filtered out by --severity
        self.json("incidents", "ack", watched)
        stdout, stderr = watcher.communicate(timeout=60)
        self.assertEqual(watcher.returncode, 0, stderr)
        events = [json.loads(line) for line in stdout.splitlines()]
        self.assertTrue(events, stderr)
        self.assertEqual({e["incident"]["id"] for e in events}, {watched})
        self.assertEqual(events[0]["type"], "INCIDENT_EVENT_TYPE_CREATED")
        kinds = [e["entry"]["kind"] for e in events]
        self.assertIn("acknowledged", kinds)
        self.assertEqual(len({e["entry_id"] for e in events}), len(events))

        bad = self.cli("incidents", "watch", "--severity", "P9", check=False)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--severity", bad.stderr)

    def test_5_errors(self):
        self.assertEqual(self.cli("budgets", "frobnicate", check=False).returncode, 2)
        self.assertEqual(self.cli("rules", "apply", check=False).returncode, 2)
        self.assertEqual(self.cli("incidents", "note", "only-an-id", check=False).returncode, 2)
        down = subprocess.run(
            [os.path.join(self.stack.bin_dir, "agentwatch"), "alerts",
             "--monitor_addr=127.0.0.1:1", "--timeout=2s"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(down.returncode, 1)
        self.assertIn("cannot reach monitor at 127.0.0.1:1", down.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
