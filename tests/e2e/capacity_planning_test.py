"""Capacity planning end to end, through the real service processes.

A Python client plays an agent platform: three days of workflow runs with a
daily cycle go into monitor.Ingest. A capacity resource is registered for
the workflow's workers; capacity forecasts it from monitor.QuerySeries,
recommends replicas, reports usage patterns and serves KEDA's external
scaler API; its recompute job predicts that demand crosses capacity within
the alert horizon and the alert opens an incident through the outbox. Once
the resource has enough capacity the alert resolves.
"""

import datetime
import math
import os
import sys
import unittest

import grpc
from google.protobuf import duration_pb2, field_mask_pb2

from agentwatch.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from agentwatch.common.v1 import common_pb2
from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc
from agentwatch.monitor.v1 import monitor_pb2, monitor_pb2_grpc
from externalscaler import externalscaler_pb2, externalscaler_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, stop_cleanly, ts, wait_for  # noqa: E402

TENANT = "acme-capacity"
WORKFLOW = "triage"


def dur(seconds):
    return duration_pb2.Duration(seconds=int(seconds))


def run_event(when, run_id):
    return monitor_pb2.Event(
        time=ts(when), tenant=TENANT,
        workflow_run=monitor_pb2.WorkflowRun(
            workflow=WORKFLOW, run_id=run_id, team="support",
            status=monitor_pb2.RUN_STATUS_SUCCEEDED, duration=dur(3), step_count=2))


class CapacityPlanningTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(extra_flags={
            "capacity": ["--recompute_interval=2s", "--recompute_poll=200ms"]}).start()
        cls.monitor = monitor_pb2_grpc.MonitorServiceStub(cls.stack.channel("monitor"))
        cls.incident = incident_pb2_grpc.IncidentServiceStub(cls.stack.channel("incident"))
        cls.capacity = capacity_pb2_grpc.CapacityServiceStub(cls.stack.channel("capacity"))
        cls.scaler = externalscaler_pb2_grpc.ExternalScalerStub(cls.stack.channel("capacity"))

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.stack)

    def test_traffic_forecast_recommendation_scaler_and_breach_incident(self):
        # Three days of runs every 5 minutes: 1 to 5 runs a step, peaking
        # at 06:00 UTC.
        now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
        events = []
        for i in range(3 * 288, 0, -1):
            when = now - datetime.timedelta(minutes=5 * i)
            hour = when.hour + when.minute / 60
            runs = 3 + round(2 * math.sin(2 * math.pi * hour / 24))
            events += [run_event(when, f"run-{i}-{r}") for r in range(runs)]
        for sequence, start in enumerate(range(0, len(events), 2000), 1):
            batch = events[start:start + 2000]
            response = self.monitor.Ingest(monitor_pb2.IngestRequest(
                producer_id="capacity-e2e", sequence=sequence, events=batch), timeout=60)
            self.assertEqual(response.accepted, len(batch))

        # A forecast of the runs.
        matchers = [common_pb2.LabelMatcher(name="workflow", op=common_pb2.MATCH_OP_EQUAL,
                                            value=WORKFLOW)]
        forecast = self.capacity.GetForecast(capacity_pb2.GetForecastRequest(
            metric="workflow_runs_total", tenant=TENANT, matchers=matchers,
            horizon=dur(6 * 3600), step=dur(300), history=dur(3 * 86400)), timeout=60)
        self.assertEqual(len(forecast.points), 72)
        self.assertGreater(forecast.history_points, 700)

        # The workers: one replica handles 0.002 runs/s at 100 %; two of them
        # at 50 % serve 0.002 runs/s, while the daily peak is ~0.0167 runs/s.
        resource = capacity_pb2.Resource(
            name="triage-workers", tenant=TENANT, kind=capacity_pb2.RESOURCE_KIND_REPLICAS,
            metric="workflow_runs_total", matchers=matchers, per_unit_capacity=0.002,
            target_utilization=0.5, current=2, min=2, max=40,
            labels={"namespace": "agents", "deployment": "triage-workers"},
            alert_horizon=dur(86400), alert_severity=common_pb2.SEVERITY_P1)
        created = self.capacity.CreateResource(capacity_pb2.CreateResourceRequest(
            resource=resource, request_id="create-triage-workers"), timeout=10)
        again = self.capacity.CreateResource(capacity_pb2.CreateResourceRequest(
            resource=resource, request_id="create-triage-workers"), timeout=10)
        self.assertEqual(again.id, created.id)
        with self.assertRaises(grpc.RpcError) as caught:
            bad = capacity_pb2.Resource()
            bad.CopyFrom(resource)
            bad.name = "other"
            bad.target_utilization = 1.5
            self.capacity.CreateResource(capacity_pb2.CreateResourceRequest(resource=bad),
                                         timeout=10)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("resource.target_utilization", caught.exception.details())
        listed = self.capacity.ListResources(capacity_pb2.ListResourcesRequest(tenant=TENANT),
                                             timeout=10)
        self.assertEqual([r.name for r in listed.resources], ["triage-workers"])

        # Recommendations over the next day.
        recs = self.capacity.GetRecommendations(capacity_pb2.GetRecommendationsRequest(
            resource_id=created.id, horizon=dur(86400)), timeout=60)
        by_kind = {r.kind: r for r in recs.recommendations}
        scale = by_kind[capacity_pb2.RECOMMENDATION_KIND_SCALE_REPLICAS]
        self.assertEqual(scale.current, 2)
        self.assertGreaterEqual(scale.recommended, 12)
        self.assertLessEqual(scale.recommended, 40)
        self.assertTrue(scale.HasField("breach_time"))
        self.assertGreater(scale.confidence, 0)
        self.assertIn("forecast peak", scale.reason)
        hpa = by_kind[capacity_pb2.RECOMMENDATION_KIND_HPA_TARGET]
        self.assertAlmostEqual(hpa.recommended, 0.001)

        patterns = self.capacity.GetUsagePatterns(capacity_pb2.GetUsagePatternsRequest(
            resource_id=created.id, history=dur(3 * 86400)), timeout=60)
        self.assertEqual(len(patterns.hour_of_day), 24)
        self.assertIn(patterns.peak_hours[0], (4, 5, 6, 7, 8))

        # KEDA's calls, as KEDA makes them.
        ref = externalscaler_pb2.ScaledObjectRef(
            name="triage-workers", namespace="agents",
            scalerMetadata={"resourceId": created.id, "lookahead": "30m"})
        spec = self.scaler.GetMetricSpec(ref, timeout=10)
        self.assertEqual(spec.metricSpecs[0].metricName, "agentwatch-forecast-triage-workers")
        self.assertAlmostEqual(spec.metricSpecs[0].targetSizeFloat, 0.001)
        value = self.scaler.GetMetrics(externalscaler_pb2.GetMetricsRequest(
            scaledObjectRef=ref, metricName=spec.metricSpecs[0].metricName), timeout=60)
        self.assertGreater(value.metricValues[0].metricValueFloat, 0.002)
        self.assertTrue(self.scaler.IsActive(ref, timeout=60).result)

        # The recompute job predicts the breach; the alert opens an incident.
        def breach_alert(status):
            def find():
                listed = self.incident.ListIncidents(
                    incident_pb2.ListIncidentsRequest(tenant=TENANT), timeout=5)
                for found in listed.incidents:
                    detail = self.incident.GetIncident(
                        incident_pb2.GetIncidentRequest(id=found.id), timeout=5)
                    for alert in detail.alerts:
                        if alert.name == "CapacityForecastBreach" and alert.status == status:
                            return found, alert
                return None
            return find
        incident, alert = wait_for(breach_alert(incident_pb2.ALERT_STATUS_FIRING), timeout=90,
                                   interval=0.5, what="the capacity breach incident")
        self.assertEqual(alert.source, "capacity")
        self.assertEqual(alert.severity, common_pb2.SEVERITY_P1)
        self.assertEqual(alert.fingerprint, f"capacity-breach/{TENANT}/{created.id}")
        self.assertEqual(alert.labels["resource_name"], "triage-workers")
        self.assertIn("breach_time", alert.annotations)
        self.assertGreater(float(alert.annotations["probability"]), 0.5)
        self.assertEqual(incident.status, incident_pb2.INCIDENT_STATUS_TRIGGERED)

        # With 40 replicas (capacity 0.08 runs/s) the breach is no longer
        # predicted and the alert resolves.
        self.capacity.UpdateResource(capacity_pb2.UpdateResourceRequest(
            resource=capacity_pb2.Resource(id=created.id, current=40),
            update_mask=field_mask_pb2.FieldMask(paths=["current"])), timeout=10)
        wait_for(breach_alert(incident_pb2.ALERT_STATUS_RESOLVED), timeout=90, interval=0.5,
                 what="the resolved capacity breach")


if __name__ == "__main__":
    unittest.main()
