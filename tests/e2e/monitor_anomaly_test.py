"""Anomaly alert rules end to end, through the real processes.

An agent platform reports a queue depth (a custom metric, one sample per
minute per host) for three hours; an SRE then creates an anomaly rule on it
(average per minute, per host, score >= 0.9, one hour of history needed),
which primes its detectors from the stored rollups without firing. Host "a"
then spikes; once the spike's minute is complete, the next batch's
evaluation feeds it to the detector, the rule fires (ListActiveAlerts shows
it with the anomaly score) and the alert reaches the incident service under
the rule's stable fingerprint, while host "b", steady, does not fire. Bad
anomaly conditions are rejected naming the field. Waits for one minute
boundary (the detector sees complete minutes only).
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

TENANT = f"anomaly-e2e-{random.getrandbits(32):08x}"
RULE = "QueueDepthAnomaly"


def sample(when, host, value):
    return monitor_pb2.Event(
        time=ts(when), tenant=TENANT, labels={"host": host},
        metric_sample=monitor_pb2.MetricSample(name="queue_depth", value=value))


class MonitorAnomalyTest(unittest.TestCase):
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
        MonitorAnomalyTest.sequence += 1
        return self.monitor.Ingest(monitor_pb2.IngestRequest(
            producer_id="anomaly-e2e", sequence=self.sequence, events=events), timeout=10)

    def active(self):
        return self.monitor.ListActiveAlerts(monitor_pb2.ListActiveAlertsRequest(
            tenant=TENANT, include_pending=True), timeout=10).alerts

    def incident_alert(self, fingerprint):
        listed = self.incident.ListIncidents(
            incident_pb2.ListIncidentsRequest(tenant=TENANT), timeout=5)
        for incident in listed.incidents:
            detail = self.incident.GetIncident(
                incident_pb2.GetIncidentRequest(id=incident.id), timeout=5)
            for alert in detail.alerts:
                if alert.fingerprint == fingerprint:
                    return alert
        return None

    def test_steady_series_then_spike_opens_an_incident(self):
        rng = random.Random(7)
        now = datetime.datetime.now(datetime.timezone.utc)
        minute = now.replace(second=0, microsecond=0)
        history = []
        for i in range(180, 0, -1):
            when = minute - datetime.timedelta(minutes=i) + datetime.timedelta(seconds=20)
            history.append(sample(when, "a", 50 + rng.gauss(0, 1)))
            history.append(sample(when, "b", 30 + rng.gauss(0, 1)))
        self.ingest(history)

        # Bad conditions name the field.
        with self.assertRaises(grpc.RpcError) as bad:
            self.monitor.CreateAlertRule(monitor_pb2.CreateAlertRuleRequest(
                rule=monitor_pb2.AlertRule(
                    name="Bad", tenant=TENANT,
                    anomaly=monitor_pb2.AnomalyCondition(
                        metric="queue_depth", score_threshold=1.5))), timeout=10)
        self.assertEqual(bad.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("rule.anomaly.score_threshold", bad.exception.details())
        with self.assertRaises(grpc.RpcError) as bad:
            self.monitor.CreateAlertRule(monitor_pb2.CreateAlertRuleRequest(
                rule=monitor_pb2.AlertRule(
                    name="Bad", tenant=TENANT,
                    anomaly=monitor_pb2.AnomalyCondition(metric="9queue"))), timeout=10)
        self.assertIn("rule.anomaly.metric", bad.exception.details())

        rule = self.monitor.CreateAlertRule(monitor_pb2.CreateAlertRuleRequest(
            rule=monitor_pb2.AlertRule(
                name=RULE, tenant=TENANT, severity=common_pb2.SEVERITY_P2,
                labels={"team": "platform"},
                anomaly=monitor_pb2.AnomalyCondition(
                    metric="queue_depth", aggregation=monitor_pb2.AGGREGATION_AVG,
                    group_by=["host"], score_threshold=0.9,
                    min_history=duration_pb2.Duration(seconds=3600)))), timeout=10)
        self.assertTrue(rule.id)
        self.assertEqual(rule.WhichOneof("condition"), "anomaly")
        self.assertAlmostEqual(rule.anomaly.score_threshold, 0.9)
        self.assertEqual(rule.anomaly.min_history.seconds, 3600)
        read = self.monitor.GetAlertRule(monitor_pb2.GetAlertRuleRequest(id=rule.id), timeout=10)
        self.assertEqual(read.anomaly.group_by, ["host"])
        self.assertEqual(len(self.active()), 0)  # three steady hours: nothing fires

        # The spike, in the current minute (not complete yet: not fed).
        spike_time = datetime.datetime.now(datetime.timezone.utc)
        self.ingest([sample(spike_time, "a", 95), sample(spike_time, "b", 30)])
        self.assertEqual(len(self.active()), 0)

        # Once the minute is over, the next batch feeds it to the detector.
        next_minute = spike_time.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
        time.sleep(max(0.0, (next_minute - datetime.datetime.now(datetime.timezone.utc))
                       .total_seconds()) + 1)
        started = time.monotonic()
        after = datetime.datetime.now(datetime.timezone.utc)
        self.ingest([sample(after, "a", 50), sample(after, "b", 30)])
        active = self.active()
        self.assertEqual(len(active), 1, active)
        alert = active[0]
        self.assertEqual(alert.state, monitor_pb2.ACTIVE_ALERT_STATE_FIRING)
        self.assertEqual(alert.rule_id, rule.id)
        self.assertEqual(alert.labels["host"], "a")
        self.assertEqual(alert.labels["team"], "platform")
        self.assertGreaterEqual(alert.value, 0.9)

        reported = wait_for(lambda: self.incident_alert(alert.fingerprint),
                            what="the anomaly alert in incident")
        print(f"ingest -> incident alert: {(time.monotonic() - started) * 1000:.0f} ms")
        self.assertEqual(reported.name, RULE)
        self.assertEqual(reported.labels["host"], "a")
        self.assertIn("anomaly score", reported.annotations["summary"])
        self.assertEqual(reported.annotations["rule_id"], rule.id)


if __name__ == "__main__":
    unittest.main()
