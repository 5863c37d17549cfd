"""Paging end to end: two agentwatch-incident replicas over one database page
on-call people through a local webhook receiver and a local SMTP receiver,
each page exactly once.

The stack's incident service and a second replica (same database, its own
ports) both run the escalation engine and the outbox dispatcher. Channels
(a signed generic webhook and email over SMTP for the person "oncall", a
webhook for the team lead) and an escalation policy (oncall at once, lead 4 s
later) are created over gRPC; alerts open three incidents; one is
acknowledged before the lead's tier. Each receiver must see every expected
notification exactly once, with a valid HMAC signature and an idempotency
key, and the timelines must record the escalations and deliveries.
"""

import hashlib
import hmac
import os
import socketserver
import subprocess
import sys
import threading
import time
import unittest

import grpc
from google.protobuf import duration_pb2

from agentwatch.common.v1 import common_pb2
from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, WebhookReceiver, free_port, stop_cleanly, wait_for  # noqa: E402

TENANT = "e2e-paging"
SECRET_ENV = "AW_E2E_PAGING_HOOK_SECRET"
SECRET = "e2e-hook-secret"
INCIDENT_FLAGS = ["--group_wait=1s", "--escalation_interval=200ms"]


class SmtpSink:
    """A minimal SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA,
    RSET, NOOP, QUIT) that keeps every message it accepts."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line):
                self.wfile.write(line.encode() + b"\r\n")
                self.wfile.flush()

            def handle(self):
                self.reply("220 e2e-sink ESMTP")
                sender, recipients = None, []
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    line = raw.decode(errors="replace").rstrip("\r\n")
                    verb = line[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 e2e-sink")
                    elif verb == "MAIL":
                        sender, recipients = line[10:].strip(), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(line[8:].strip())
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        lines = []
                        while True:
                            data = self.rfile.readline()
                            if not data or data in (b".\r\n", b".\n"):
                                break
                            if data.startswith(b".."):
                                data = data[1:]
                            lines.append(data)
                        with sink.lock:
                            sink.messages.append((sender, recipients, b"".join(lines).decode()))
                        self.reply("250 OK queued")
                    elif verb == "RSET":
                        sender, recipients = None, []
                        self.reply("250 OK")
                    elif verb == "NOOP":
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("502 Command not implemented")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def all(self):
        with self.lock:
            return list(self.messages)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class IncidentPagingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.environ[SECRET_ENV] = SECRET  # inherited by the incident processes
        cls.hooks = WebhookReceiver()
        cls.smtp = SmtpSink()
        cls.stack = Stack(extra_flags={"incident": INCIDENT_FLAGS}).start()
        # The second replica: same database, its own ports.
        stack = cls.stack
        replica = "incident-replica"
        with open(os.path.join(stack.log_dir, f"{replica}.log"), "ab") as log:
            stack.procs[replica] = subprocess.Popen(
                [os.path.join(stack.bin_dir, "agentwatch-incident"),
                 f"--grpc_listen=127.0.0.1:{free_port()}",
                 f"--http_listen=127.0.0.1:{free_port()}",
                 f"--pg_dsn={stack.dsn}", f"--redis={stack.redis}",
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
            cls.smtp.close()

    def create_channel(self, name, person, **config):
        channel = incident_pb2.NotificationChannel(name=name, tenant=TENANT, person=person,
                                                   **config)
        return self.incident.CreateNotificationChannel(
            incident_pb2.CreateNotificationChannelRequest(channel=channel,
                                                          request_id=f"e2e-{name}"), timeout=10)

    def report(self, fingerprint, name, service):
        alert = incident_pb2.Alert(fingerprint=fingerprint, name=name, tenant=TENANT,
                                   severity=common_pb2.SEVERITY_P1,
                                   status=incident_pb2.ALERT_STATUS_FIRING,
                                   labels={"service": service}, source="e2e")
        response = self.incident.ReportAlerts(incident_pb2.ReportAlertsRequest(alerts=[alert]),
                                              timeout=10)
        return response.incident_ids[0]

    def kinds(self, incident_id):
        detail = self.incident.GetIncident(incident_pb2.GetIncidentRequest(id=incident_id),
                                           timeout=10)
        return [entry.kind for entry in detail.timeline]

    def test_pages_reach_webhook_and_smtp_exactly_once_with_two_replicas(self):
        hook = self.create_channel(
            "oncall-hook", "oncall",
            webhook=incident_pb2.WebhookChannel(url=self.hooks.url("/oncall"),
                                                hmac_secret_ref=f"env:{SECRET_ENV}"))
        mail = self.create_channel(
            "oncall-mail", "oncall",
            email=incident_pb2.EmailChannel(smtp_host="127.0.0.1", smtp_port=self.smtp.port,
                                            from_address="agentwatch@example.com",
                                            to_addresses=["oncall@example.com"]))
        lead = self.create_channel(
            "lead-hook", "", webhook=incident_pb2.WebhookChannel(url=self.hooks.url("/lead")))
        self.assertEqual(mail.email.smtp_port, self.smtp.port)

        # TestNotificationChannel sends synchronously.
        tested = self.incident.TestNotificationChannel(
            incident_pb2.TestNotificationChannelRequest(id=mail.id), timeout=30)
        self.assertTrue(tested.delivered, tested.detail)
        wait_for(lambda: len(self.smtp.all()) == 1, what="the test email")
        self.assertIn("Test", self.smtp.all()[0][2])

        policy = incident_pb2.EscalationPolicy(
            name="api", tenant=TENANT,
            matchers=[common_pb2.LabelMatcher(name="service", op=common_pb2.MATCH_OP_EQUAL,
                                              value="api")],
            tiers=[incident_pb2.EscalationTier(
                       targets=[incident_pb2.EscalationTarget(person="oncall")]),
                   incident_pb2.EscalationTier(
                       delay=duration_pb2.Duration(seconds=4),
                       targets=[incident_pb2.EscalationTarget(channel_id=lead.id)])])
        self.incident.CreateEscalationPolicy(
            incident_pb2.CreateEscalationPolicyRequest(policy=policy), timeout=10)

        acked = self.report("fp-a", "ApiDown", "api")
        unacked = self.report("fp-b", "ApiSlow", "api")
        default = self.report("fp-c", "DbDown", "db")  # default chain: oncall now

        def first_pages():
            return len(self.hooks.on("/oncall")) >= 3 and len(self.smtp.all()) >= 4
        wait_for(first_pages, timeout=30, what="the first tier's pages")
        self.incident.AcknowledgeIncident(
            incident_pb2.AcknowledgeIncidentRequest(id=acked, actor="alice"), timeout=10)
        wait_for(lambda: len(self.hooks.on("/lead")) >= 1, timeout=30,
                 what="the lead's page for the unacknowledged incident")
        # Let both replicas run many more scans and dispatch passes.
        time.sleep(4)

        oncall = self.hooks.on("/oncall")
        keys = [headers.get("Idempotency-Key") for _, headers, _ in oncall]
        self.assertEqual(len(oncall), 3, keys)
        self.assertEqual(len(set(keys)), 3, keys)
        for _, headers, body in oncall:
            expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            self.assertEqual(headers.get("X-Agentwatch-Signature"), f"sha256={expected}")
        bodies = b"".join(body for _, _, body in oncall).decode()
        for incident_id in (acked, unacked, default):
            self.assertIn(incident_id, bodies)

        lead_pages = self.hooks.on("/lead")
        self.assertEqual(len(lead_pages), 1, lead_pages)
        self.assertIn(unacked, lead_pages[0][2].decode())
        self.assertNotIn("X-Agentwatch-Signature", lead_pages[0][1])

        emails = self.smtp.all()[1:]
        self.assertEqual(len(emails), 3, [m[2][:200] for m in emails])
        ids = set()
        for sender, recipients, text in emails:
            self.assertEqual(sender, "<agentwatch@example.com>")
            self.assertEqual(recipients, ["<oncall@example.com>"])
            self.assertIn("Subject: [P1]", text)
            for line in text.splitlines():
                if line.startswith("X-Agentwatch-Idempotency-Key:"):
                    ids.add(line.split(":", 1)[1].strip())
        self.assertEqual(len(ids), 3)

        def recorded():
            kinds = self.kinds(unacked)
            return kinds.count("escalated") == 2 and kinds.count("notified") == 3
        wait_for(recorded, timeout=10, what="the unacknowledged incident's timeline")
        acked_kinds = self.kinds(acked)
        self.assertEqual(acked_kinds.count("escalated"), 1, acked_kinds)
        self.assertEqual(acked_kinds.count("notified"), 2, acked_kinds)
        self.assertIn("acknowledged", acked_kinds)

    def test_bad_channels_and_policies_are_rejected(self):
        with self.assertRaises(grpc.RpcError) as bad_url:
            self.create_channel("bad", "", webhook=incident_pb2.WebhookChannel(url="ftp://x"))
        self.assertEqual(bad_url.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("channel.webhook.url", bad_url.exception.details())
        policy = incident_pb2.EscalationPolicy(
            name="dangling", tenant=TENANT,
            tiers=[incident_pb2.EscalationTier(
                targets=[incident_pb2.EscalationTarget(schedule_id="no-such-schedule")])])
        with self.assertRaises(grpc.RpcError) as dangling:
            self.incident.CreateEscalationPolicy(
                incident_pb2.CreateEscalationPolicyRequest(policy=policy), timeout=10)
        self.assertEqual(dangling.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("schedule_id", dangling.exception.details())


if __name__ == "__main__":
    unittest.main()
