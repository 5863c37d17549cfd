"""The incident webhooks end to end: a real Alertmanager and PagerDuty-format events.

A real Alertmanager (Debian's prometheus-alertmanager) is fed alerts through its
/api/v2/alerts and notifies agentwatch-incident's Alertmanager webhook; the
incident opens, and posting the alert again as resolved (endsAt in the past)
resolves its alert; with --auto_resolve_quiet=2s the incident then resolves
automatically, and the alert firing again re-opens the same incident. PagerDuty Events API v2 trigger / acknowledge / resolve are
posted with urllib to /v2/enqueue, and bad events get PagerDuty's 400.
"""

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, free_port, stop_cleanly, wait_for  # noqa: E402

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
AM_TENANT = "e2e-am"
PD_ROUTING_KEY = "e2e-pd"


def post_json(url, body, timeout=10):
    """POSTs `body` as JSON; returns (status, parsed JSON answer)."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read().decode()
            return response.status, (json.loads(raw) if raw.strip() else None)
    except urllib.error.HTTPError as e:
        raw = e.read().decode()
        return e.code, (json.loads(raw) if raw.strip() else None)


def rfc3339(when):
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class IncidentWebhooksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(extra_flags={"incident": ["--auto_resolve_quiet=2s",
                                                    "--reopen_window=30m"]}).start()
        cls.incident = incident_pb2_grpc.IncidentServiceStub(cls.stack.channel("incident"))
        cls.incident_http = f"http://127.0.0.1:{cls.stack.http_port['incident']}"
        cls.am_dir = tempfile.mkdtemp(prefix="aw_e2e_am_")
        cls.am_port = free_port()
        config = os.path.join(cls.am_dir, "alertmanager.yml")
        with open(config, "w") as f:
            f.write(f"""route:
  receiver: agentwatch
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: agentwatch
    webhook_configs:
      - url: '{cls.incident_http}/api/v1/alerts/alertmanager?tenant={AM_TENANT}'
        send_resolved: true
""")
        cls.am_log = open(os.path.join(cls.am_dir, "alertmanager.log"), "wb")
        cls.am = subprocess.Popen(
            [ALERTMANAGER, f"--web.listen-address=127.0.0.1:{cls.am_port}",
             "--cluster.listen-address=", f"--storage.path={cls.am_dir}",
             f"--config.file={config}"],
            stdout=cls.am_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        cls.am_url = f"http://127.0.0.1:{cls.am_port}"

        def am_ready():
            if cls.am.poll() is not None:
                raise AssertionError(f"alertmanager exited with {cls.am.returncode}")
            try:
                with urllib.request.urlopen(cls.am_url + "/-/ready", timeout=1) as r:
                    return r.status == 200
            except (urllib.error.URLError, ConnectionError, OSError):
                return False
        wait_for(am_ready, timeout=30, what="alertmanager ready")

    @classmethod
    def tearDownClass(cls):
        cls.am.terminate()
        try:
            cls.am.wait(timeout=10)
        except subprocess.TimeoutExpired:
            cls.am.kill()
            cls.am.wait()
        cls.am_log.close()
        shutil.rmtree(cls.am_dir, ignore_errors=True)
        stop_cleanly(cls.stack)

    def incidents(self, tenant):
        return self.incident.ListIncidents(
            incident_pb2.ListIncidentsRequest(tenant=tenant), timeout=5).incidents

    def detail(self, incident_id):
        return self.incident.GetIncident(incident_pb2.GetIncidentRequest(id=incident_id),
                                         timeout=5)

    def test_alertmanager_opens_and_resolves(self):
        starts = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=30)
        alert = {"labels": {"alertname": "DiskFull", "severity": "critical", "service": "db"},
                 "annotations": {"summary": "Disk almost full on db-1"},
                 "startsAt": rfc3339(starts), "generatorURL": "http://prometheus/graph"}
        status, _ = post_json(self.am_url + "/api/v2/alerts", [alert])
        self.assertEqual(status, 200)

        incidents = wait_for(lambda: self.incidents(AM_TENANT), timeout=30,
                             what="the incident Alertmanager's notification opens")
        self.assertEqual(len(incidents), 1)
        opened = incidents[0]
        self.assertEqual(opened.status, incident_pb2.INCIDENT_STATUS_TRIGGERED)
        self.assertEqual(opened.title, "Disk almost full on db-1")
        detail = self.detail(opened.id)
        self.assertEqual(len(detail.alerts), 1)
        self.assertEqual(detail.alerts[0].source, "alertmanager")
        self.assertEqual(detail.alerts[0].generator_url, "http://prometheus/graph")
        self.assertEqual(detail.alerts[0].labels["service"], "db")
        self.assertTrue(detail.alerts[0].fingerprint)

        alert["endsAt"] = rfc3339(datetime.datetime.now(datetime.timezone.utc)
                                  - datetime.timedelta(seconds=1))
        status, _ = post_json(self.am_url + "/api/v2/alerts", [alert])
        self.assertEqual(status, 200)

        def alert_resolved():
            d = self.detail(opened.id)
            return d if d.alerts[0].status == incident_pb2.ALERT_STATUS_RESOLVED else None
        resolved = wait_for(alert_resolved, timeout=30, what="the alert resolved")
        self.assertEqual(resolved.incident.firing_alert_count, 0)
        self.assertIn("alert_resolved", [e.kind for e in resolved.timeline])
        # Still one incident: the resolve joined the one that was open.
        self.assertEqual(len(self.incidents(AM_TENANT)), 1)

        def auto_resolved():
            d = self.detail(opened.id)
            return d if d.incident.status == incident_pb2.INCIDENT_STATUS_RESOLVED else None
        done = wait_for(auto_resolved, timeout=30, what="the incident resolved automatically")
        self.assertTrue(done.incident.auto_resolved)
        self.assertEqual(done.timeline[-1].kind, "resolved")
        self.assertEqual(done.timeline[-1].actor, "auto_resolve")

        # The alert fires again within the reopen window: the same incident re-opens.
        alert["startsAt"] = rfc3339(datetime.datetime.now(datetime.timezone.utc))
        del alert["endsAt"]
        status, _ = post_json(self.am_url + "/api/v2/alerts", [alert])
        self.assertEqual(status, 200)

        def reopened():
            d = self.detail(opened.id)
            return d if d.incident.status == incident_pb2.INCIDENT_STATUS_TRIGGERED else None
        again = wait_for(reopened, timeout=30, what="the incident re-opened by the refire")
        self.assertFalse(again.incident.auto_resolved)
        self.assertIn("reopened", [e.kind for e in again.timeline])
        self.assertEqual(again.alerts[0].status, incident_pb2.ALERT_STATUS_FIRING)
        self.assertEqual(len(self.incidents(AM_TENANT)), 1)

    def test_alertmanager_bad_payload_is_400(self):
        status, body = post_json(self.incident_http + "/api/v1/alerts/alertmanager",
                                 {"alerts": [{"status": "firing", "labels": {"alertname": "X"}}]})
        self.assertEqual(status, 400)
        self.assertEqual(body["field"], "alerts[0].fingerprint")

    def test_pagerduty_trigger_acknowledge_resolve(self):
        url = self.incident_http + "/v2/enqueue"
        status, body = post_json(url, {
            "routing_key": PD_ROUTING_KEY, "event_action": "trigger",
            "payload": {"summary": "Checkout latency above SLO", "source": "checkout-1",
                        "severity": "error", "class": "latency",
                        "custom_details": {"p99_ms": 2400}}})
        self.assertEqual(status, 202, body)
        self.assertEqual(body["status"], "success")
        self.assertEqual(body["message"], "Event processed")
        dedup_key = body["dedup_key"]
        self.assertTrue(dedup_key)

        incidents = self.incidents(PD_ROUTING_KEY)
        self.assertEqual(len(incidents), 1)
        incident_id = incidents[0].id
        self.assertEqual(incidents[0].status, incident_pb2.INCIDENT_STATUS_TRIGGERED)
        self.assertEqual(self.detail(incident_id).alerts[0].fingerprint, dedup_key)

        status, body = post_json(url, {"routing_key": PD_ROUTING_KEY,
                                       "event_action": "acknowledge", "dedup_key": dedup_key,
                                       "payload": {"source": "oncall"}})
        self.assertEqual(status, 202, body)
        detail = self.detail(incident_id)
        self.assertEqual(detail.incident.status, incident_pb2.INCIDENT_STATUS_ACKNOWLEDGED)
        self.assertEqual(detail.timeline[-1].actor, "pagerduty:oncall")

        status, body = post_json(url, {"routing_key": PD_ROUTING_KEY, "event_action": "resolve",
                                       "dedup_key": dedup_key})
        self.assertEqual(status, 202, body)
        self.assertEqual(body["dedup_key"], dedup_key)
        detail = self.detail(incident_id)
        self.assertEqual(detail.alerts[0].status, incident_pb2.ALERT_STATUS_RESOLVED)

        # GetStats over the last hour: this one incident, acknowledged within a minute.
        request = incident_pb2.GetStatsRequest(tenant=PD_ROUTING_KEY)
        request.range.start.FromSeconds(int(time.time()) - 3600)
        stats = self.incident.GetStats(request, timeout=5)
        self.assertEqual(stats.overall.incident_count, 1)
        self.assertTrue(detail.incident.HasField("acknowledge_time"))
        self.assertLess(stats.overall.mtta.ToTimedelta(), datetime.timedelta(seconds=60))
        self.assertEqual(stats.fatigue.alerts_received, 1)
        self.assertEqual(sum(b.incident_count for b in stats.frequency), 1)

        status, body = post_json(url, {"event_action": "trigger", "payload": {}})
        self.assertEqual(status, 400)
        self.assertEqual(body["status"], "invalid event")
        self.assertIn("routing_key: required", body["errors"])
        self.assertIn("payload.summary: required", body["errors"])


if __name__ == "__main__":
    unittest.main()
