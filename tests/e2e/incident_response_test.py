"""Automated response rules end to end: two agentwatch-incident replicas over
one database run a response rule exactly once per trigger.

A rule (alert ApiDown on service=api; actions: a signed webhook to a local
HTTP receiver, a capacity recommendation that may fail without stopping the
rule, and a note; cooldown 1 h) is created over gRPC. The first alert opens
an incident: the receiver must see exactly one signed POST with an
Idempotency-Key, and the timeline must record the execution, each action's
result and the note. A second alert joining the same incident within the
cooldown must be recorded as skipped and must not call the webhook again; an
alert the condition does not select must not run the rule at all.
"""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import unittest

import grpc
from google.protobuf import duration_pb2

from agentwatch.common.v1 import common_pb2
from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, WebhookReceiver, free_port, stop_cleanly, wait_for  # noqa: E402

TENANT = "e2e-response"
SECRET_ENV = "AW_E2E_RESPONSE_HOOK_SECRET"
SECRET = "e2e-response-secret"
INCIDENT_FLAGS = ["--response_interval=200ms"]


class IncidentResponseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.environ[SECRET_ENV] = SECRET  # inherited by the incident processes
        cls.hooks = WebhookReceiver()
        cls.stack = Stack(extra_flags={"incident": INCIDENT_FLAGS}).start()
        # The second replica: same database, its own ports, and a capacity
        # peer that is down (it must start anyway).
        stack = cls.stack
        replica = "incident-replica"
        with open(os.path.join(stack.log_dir, f"{replica}.log"), "ab") as log:
            stack.procs[replica] = subprocess.Popen(
                [os.path.join(stack.bin_dir, "agentwatch-incident"),
                 f"--grpc_listen=127.0.0.1:{free_port()}",
                 f"--http_listen=127.0.0.1:{free_port()}",
                 f"--pg_dsn={stack.dsn}", f"--redis={stack.redis}",
                 f"--capacity_addr=127.0.0.1:{free_port()}",
                 "--health_probe_interval=100ms"] + INCIDENT_FLAGS,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        time.sleep(1)
        if stack.procs[replica].poll() is not None:
            raise RuntimeError("the second incident replica exited:\n" + stack.log_tail(replica))
        cls.incident = incident_pb2_grpc.IncidentServiceStub(stack.channel("incident"))

    @classmethod
    def tearDownClass(cls):
        try:
            stop_cleanly(cls.stack)
        finally:
            cls.hooks.close()

    def report(self, fingerprint, name, service):
        alert = incident_pb2.Alert(fingerprint=fingerprint, name=name, tenant=TENANT,
                                   severity=common_pb2.SEVERITY_P1,
                                   status=incident_pb2.ALERT_STATUS_FIRING,
                                   labels={"service": service}, source="e2e")
        response = self.incident.ReportAlerts(incident_pb2.ReportAlertsRequest(alerts=[alert]),
                                              timeout=10)
        return response.incident_ids[0]

    def timeline(self, incident_id):
        detail = self.incident.GetIncident(incident_pb2.GetIncidentRequest(id=incident_id),
                                           timeout=10)
        return list(detail.timeline)

    def rule_entries(self, incident_id, rule_id):
        return [e for e in self.timeline(incident_id) if e.actor == f"response_rule:{rule_id}"]

    def test_rule_runs_once_signed_and_respects_its_cooldown(self):
        rule = incident_pb2.ResponseRule(
            name="restart-api", tenant=TENANT,
            condition=incident_pb2.ResponseCondition(
                alert_names=["ApiDown"],
                matchers=[common_pb2.LabelMatcher(name="service", op=common_pb2.MATCH_OP_EQUAL,
                                                  value="api")]),
            actions=[
                incident_pb2.ResponseAction(webhook=incident_pb2.WebhookAction(
                    url=self.hooks.url("/restart"), hmac_secret_ref=f"env:{SECRET_ENV}",
                    headers={"X-Runbook": "restart-api"},
                    timeout=duration_pb2.Duration(seconds=5))),
                incident_pb2.ResponseAction(
                    capacity_recommendation=incident_pb2.CapacityRecommendationAction(),
                    continue_on_error=True),
                incident_pb2.ResponseAction(add_note=incident_pb2.AddNoteAction(
                    text="restart requested for {{alert.labels.service}} ({{incident.id}})")),
            ],
            cooldown=duration_pb2.Duration(seconds=3600), max_per_hour=10)
        created = self.incident.CreateResponseRule(
            incident_pb2.CreateResponseRuleRequest(rule=rule, request_id="e2e-restart-api"),
            timeout=10)
        again = self.incident.CreateResponseRule(
            incident_pb2.CreateResponseRuleRequest(rule=rule, request_id="e2e-restart-api"),
            timeout=10)
        self.assertEqual(created.id, again.id)

        # An alert the condition does not select.
        other = self.report("fp-disk", "DiskFull", "api")
        incident_id = self.report("fp-api-1", "ApiDown", "api")
        self.assertNotEqual(other, incident_id)

        def finished():
            return [e for e in self.rule_entries(incident_id, created.id)
                    if e.kind == "response_rule" and e.details.get("outcome") in
                    ("succeeded", "failed")]
        wait_for(lambda: finished(), timeout=30, what="the rule's execution to finish")

        calls = self.hooks.on("/restart")
        self.assertEqual(len(calls), 1, calls)
        _, headers, body = calls[0]
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        self.assertEqual(headers.get("X-Agentwatch-Signature"), expected)
        self.assertEqual(headers.get("X-Runbook"), "restart-api")
        payload = json.loads(body)
        self.assertEqual(payload["incident"]["id"], incident_id)
        self.assertEqual(payload["rule"]["id"], created.id)
        self.assertEqual(payload["alert"]["labels"], {"alertname": "ApiDown", "service": "api"})
        self.assertEqual(headers.get("Idempotency-Key"), payload["idempotency_key"])
        self.assertTrue(payload["idempotency_key"].startswith("response/"))

        entries = self.rule_entries(incident_id, created.id)
        kinds = [(e.kind, e.details.get("action", "")) for e in entries]
        self.assertEqual(kinds[0], ("response_rule", ""))
        self.assertEqual(entries[0].details["outcome"], "started")
        self.assertIn(("response_action", "webhook"), kinds)
        self.assertIn(("response_action", "capacity_recommendation"), kinds)
        notes = [e for e in entries if e.kind == "note"]
        self.assertEqual(len(notes), 1)
        self.assertEqual(notes[0].text, f"restart requested for api ({incident_id})")
        webhook = [e for e in entries if e.details.get("action") == "webhook"][0]
        self.assertEqual(webhook.details["outcome"], "succeeded")

        # A second alert joins the same incident within the cooldown.
        self.assertEqual(self.report("fp-api-2", "ApiDown", "api"), incident_id)

        def skipped():
            return [e for e in self.rule_entries(incident_id, created.id)
                    if e.details.get("outcome") == "skipped"]
        wait_for(lambda: skipped(), timeout=30, what="the cooldown to be recorded")
        self.assertEqual(skipped()[0].details["decision"], "cooldown")
        time.sleep(2)  # both replicas scan many more times
        self.assertEqual(len(self.hooks.on("/restart")), 1)
        self.assertEqual(len([e for e in self.rule_entries(incident_id, created.id)
                              if e.details.get("outcome") == "started"]), 1)
        self.assertEqual(self.rule_entries(other, created.id), [])

    def test_bad_rules_are_rejected_with_the_field(self):
        cases = [
            (incident_pb2.ResponseRule(name="x", tenant=TENANT), "rule.actions"),
            (incident_pb2.ResponseRule(
                name="x", tenant=TENANT, max_per_hour=-1,
                actions=[incident_pb2.ResponseAction(escalate=incident_pb2.EscalateAction())]),
             "rule.max_per_hour"),
            (incident_pb2.ResponseRule(
                name="x", tenant=TENANT,
                actions=[incident_pb2.ResponseAction(
                    notify=incident_pb2.NotifyAction(channel_ids=["missing"]))]),
             "rule.actions[0].notify.channel_ids[0]"),
        ]
        for rule, field in cases:
            with self.assertRaises(grpc.RpcError) as raised:
                self.incident.CreateResponseRule(
                    incident_pb2.CreateResponseRuleRequest(rule=rule), timeout=10)
            self.assertEqual(raised.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn(field, raised.exception.details())


if __name__ == "__main__":
    unittest.main()
