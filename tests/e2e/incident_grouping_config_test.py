"""Per-tenant grouping config end to end, on the real agentwatch-incident.

GetGroupingConfig answers the service flags' values for a tenant never
configured. UpdateGroupingConfig sets group_by ["alertname", "service"] for
one tenant: two alerts with the same name and different services then open
two incidents for that tenant, over gRPC ReportAlerts and over the
Alertmanager webhook, while a tenant without config still gets one incident
for both (grouping by --group_by, alertname). group_wait is stored per
tenant and inherited from the global default ("") by tenants without their
own. Timings that are not configurable per tenant yet are refused naming the
field and the flag.
"""

import datetime
import json
import os
import sys
import unittest
import urllib.error
import urllib.request

import grpc
from google.protobuf import field_mask_pb2

from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, stop_cleanly  # noqa: E402

CONFIGURED = "e2e-grouping-configured"
PLAIN = "e2e-grouping-plain"
INCIDENT_FLAGS = ["--group_wait=7s", "--reopen_window=45m"]


def post_json(url, body, timeout=10):
    """POSTs `body` as JSON; returns the HTTP status."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


class IncidentGroupingConfigTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(extra_flags={"incident": INCIDENT_FLAGS}).start()
        cls.incident = incident_pb2_grpc.IncidentServiceStub(cls.stack.channel("incident"))
        cls.http = f"http://127.0.0.1:{cls.stack.http_port['incident']}"

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.stack)

    def report(self, tenant, fingerprint, name, service):
        alert = incident_pb2.Alert(fingerprint=fingerprint, name=name, tenant=tenant,
                                   status=incident_pb2.ALERT_STATUS_FIRING,
                                   labels={"service": service}, source="e2e")
        response = self.incident.ReportAlerts(incident_pb2.ReportAlertsRequest(alerts=[alert]),
                                              timeout=10)
        self.assertEqual(len(response.incident_ids), 1)
        return response.incident_ids[0]

    def incidents(self, tenant):
        return self.incident.ListIncidents(
            incident_pb2.ListIncidentsRequest(tenant=tenant), timeout=10).incidents

    def set_group_by(self, tenant, labels):
        return self.incident.UpdateGroupingConfig(
            incident_pb2.UpdateGroupingConfigRequest(
                config=incident_pb2.GroupingConfig(tenant=tenant, group_by=labels),
                update_mask=field_mask_pb2.FieldMask(paths=["group_by"])),
            timeout=10)

    def test_1_defaults_come_from_the_flags(self):
        config = self.incident.GetGroupingConfig(
            incident_pb2.GetGroupingConfigRequest(tenant=PLAIN), timeout=10)
        self.assertEqual(list(config.group_by), ["alertname"])
        self.assertEqual(config.group_wait.seconds, 7)
        self.assertEqual(config.group_interval.seconds, 5 * 60)
        self.assertEqual(config.reopen_window.seconds, 45 * 60)
        self.assertEqual(config.resolve_quiet_period.seconds, 5 * 60)
        self.assertFalse(config.HasField("update_time"))

    def test_2_tenant_group_by_splits_incidents_by_service(self):
        updated = self.set_group_by(CONFIGURED, ["service", "alertname"])
        self.assertEqual(list(updated.group_by), ["alertname", "service"])
        self.assertTrue(updated.HasField("update_time"))
        read = self.incident.GetGroupingConfig(
            incident_pb2.GetGroupingConfigRequest(tenant=CONFIGURED), timeout=10)
        self.assertEqual(list(read.group_by), ["alertname", "service"])

        api = self.report(CONFIGURED, "fp-api", "HighLatency", "api")
        db = self.report(CONFIGURED, "fp-db", "HighLatency", "db")
        self.assertNotEqual(api, db)
        self.assertEqual(len(self.incidents(CONFIGURED)), 2)

        plain_api = self.report(PLAIN, "fp-api", "HighLatency", "api")
        plain_db = self.report(PLAIN, "fp-db", "HighLatency", "db")
        self.assertEqual(plain_api, plain_db)
        self.assertEqual(len(self.incidents(PLAIN)), 1)

    def test_3_alertmanager_webhook_uses_the_tenant_grouping(self):
        tenant = "e2e-grouping-webhook"
        self.set_group_by(tenant, ["alertname", "service"])
        starts = (datetime.datetime.now(datetime.timezone.utc)
                  - datetime.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        alerts = [{"status": "firing", "fingerprint": f"am-{service}",
                   "labels": {"alertname": "DiskFull", "service": service},
                   "annotations": {}, "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
                   "generatorURL": "http://prometheus/graph"}
                  for service in ("api", "db")]
        body = {"version": "4", "groupKey": "{}:{alertname=\"DiskFull\"}", "status": "firing",
                "receiver": "aw", "groupLabels": {"alertname": "DiskFull"}, "commonLabels": {},
                "commonAnnotations": {}, "externalURL": "http://am", "truncatedAlerts": 0,
                "alerts": alerts}
        for t in (tenant, "e2e-grouping-webhook-plain"):
            status = post_json(f"{self.http}/api/v1/alerts/alertmanager?tenant={t}", body)
            self.assertEqual(status, 200)
        self.assertEqual(len(self.incidents(tenant)), 2)
        self.assertEqual(len(self.incidents("e2e-grouping-webhook-plain")), 1)

    def test_4_group_wait_per_tenant_and_inherited(self):
        def set_wait(tenant, seconds):
            request = incident_pb2.UpdateGroupingConfigRequest(
                config=incident_pb2.GroupingConfig(tenant=tenant),
                update_mask=field_mask_pb2.FieldMask(paths=["group_wait"]))
            request.config.group_wait.seconds = seconds
            return self.incident.UpdateGroupingConfig(request, timeout=10)

        def get(tenant):
            return self.incident.GetGroupingConfig(
                incident_pb2.GetGroupingConfigRequest(tenant=tenant), timeout=10)

        self.assertEqual(set_wait("e2e-grouping-wait", 2).group_wait.seconds, 2)
        self.assertEqual(get("e2e-grouping-wait").group_wait.seconds, 2)
        self.assertEqual(get("e2e-grouping-other").group_wait.seconds, 7)
        set_wait("", 11)
        self.assertEqual(get("e2e-grouping-other").group_wait.seconds, 11)
        self.assertEqual(get("e2e-grouping-wait").group_wait.seconds, 2)
        # The configured tenant's group_by is untouched by a group_wait update.
        self.assertEqual(list(get(CONFIGURED).group_by), ["alertname", "service"])
        with self.assertRaises(grpc.RpcError) as raised:
            set_wait("e2e-grouping-wait", 3601)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("config.group_wait: must be at most 1h", raised.exception.details())

    def test_5_timings_not_configurable_per_tenant_are_refused(self):
        request = incident_pb2.UpdateGroupingConfigRequest(
            config=incident_pb2.GroupingConfig(tenant=CONFIGURED, group_by=["alertname"]),
            update_mask=field_mask_pb2.FieldMask(paths=["reopen_window"]))
        request.config.reopen_window.seconds = 60
        with self.assertRaises(grpc.RpcError) as raised:
            self.incident.UpdateGroupingConfig(request, timeout=10)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("config.reopen_window: not configurable per tenant yet (flag --reopen_window",
                      raised.exception.details())
        with self.assertRaises(grpc.RpcError) as raised:
            self.set_group_by(CONFIGURED, ["bad-label"])
        self.assertEqual(raised.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("config.group_by[0]", raised.exception.details())
        # The refused updates changed nothing.
        read = self.incident.GetGroupingConfig(
            incident_pb2.GetGroupingConfigRequest(tenant=CONFIGURED), timeout=10)
        self.assertEqual(list(read.group_by), ["alertname", "service"])


if __name__ == "__main__":
    unittest.main()
