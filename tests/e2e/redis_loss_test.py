"""Redis lost under monitor, incident and capacity, through the real processes.

DESIGN.md: "Redis is a cache and a coordinator, never the only copy of
anything." What each service keeps in Redis (cost has its own test,
cost_totals_test.py::test_redis_loss_neither_loses_nor_double_counts):
- monitor: GetHealth reports, cached 1 s under "{tenant}:monitor:health:*"
  (store/health_cache.h); alert-rule state, the outbox and the ingest
  journal are in Postgres (README: Redis was not used for that state).
- capacity: GetForecast responses and KEDA scaler values, cached for up to a
  step under "{tenant}:capacity:forecast:*"; the recompute job takes due
  resources with FOR UPDATE SKIP LOCKED in Postgres.
- incident: nothing (only the runtime's PING for the dependency_up gauge);
  escalation and the notification outbox are coordinated in Postgres.
No service holds a lease or a lock in Redis, so no job waits for it.

The stack runs on a Redis of the test's own (stack.PrivateRedis). Each test
kills it (SIGKILL: connections drop, data gone) while the service is in use,
checks that writes are accepted and durable, reads answer what was written,
alerts and pages happen once, and readiness follows Postgres only (Redis has
the dependency_up gauge); then starts Redis again, empty, on the same port,
and checks that the same processes serve correct values and use the cache
again. Every process must still be alive and stop cleanly at the end.
"""

import datetime
import math
import os
import re
import subprocess
import sys
import threading
import time
import unittest

from google.protobuf import duration_pb2

from agentwatch.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from agentwatch.common.v1 import common_pb2
from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc
from agentwatch.monitor.v1 import monitor_pb2, monitor_pb2_grpc
from externalscaler import externalscaler_pb2, externalscaler_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import (PrivateRedis, Stack, WebhookReceiver, now_utc, stop_cleanly, ts,  # noqa: E402
                   wait_for)

RUN = f"{os.getpid():x}{int(time.time()) % 100000:x}"
INCIDENT_FLAGS = ["--group_wait=1s", "--escalation_interval=200ms"]
CAPACITY_FLAGS = ["--recompute_interval=2s", "--recompute_poll=200ms"]


def dur(seconds):
    return duration_pb2.Duration(seconds=int(seconds))


class Load:
    """Calls `call(i)` (i = 1, 2, ...) in a thread, one call at a time, until
    stopped: the service in use while Redis dies and comes back. Every call
    must succeed; `answered` counts them, `slowest` is the longest (s)."""

    def __init__(self, test, call):
        self.call = call
        self.answered = 0
        self.errors = []
        self.slowest = 0.0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        test.addCleanup(self.stopping.set)  # also when the test fails

    def run(self):
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                self.call(self.answered + 1)
                self.answered += 1
            except Exception as e:  # noqa: BLE001 (reported by stop())
                self.errors.append(repr(e))
                time.sleep(0.05)
            self.slowest = max(self.slowest, time.monotonic() - started)
            time.sleep(0.01)  # in use, without hogging the shared machine

    def stop(self, test):
        self.stopping.set()
        self.thread.join(timeout=30)
        print(f"{test.id().rsplit('.', 1)[-1]}: {self.answered} calls across the loss, "
              f"slowest {self.slowest * 1000:.0f} ms, {len(self.errors)} failed")
        test.assertFalse(self.thread.is_alive(), "a call hung")
        test.assertEqual(self.errors, [], "calls failed while Redis was lost or back")
        test.assertGreater(self.answered, 5)
        test.assertLess(self.slowest, 3.0)


class RedisLossTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hooks = WebhookReceiver()
        cls.redis = PrivateRedis().start()
        cls.stack = Stack(redis=cls.redis.address,
                          extra_flags={"incident": INCIDENT_FLAGS,
                                       "capacity": CAPACITY_FLAGS}).start()
        cls.monitor = monitor_pb2_grpc.MonitorServiceStub(cls.stack.channel("monitor"))
        cls.incident = incident_pb2_grpc.IncidentServiceStub(cls.stack.channel("incident"))
        cls.capacity = capacity_pb2_grpc.CapacityServiceStub(cls.stack.channel("capacity"))
        cls.scaler = externalscaler_pb2_grpc.ExternalScalerStub(cls.stack.channel("capacity"))

    @classmethod
    def tearDownClass(cls):
        try:
            stop_cleanly(cls.stack)
        finally:
            cls.redis.stop()
            cls.hooks.close()

    def setUp(self):
        if self.redis.proc is None:  # a failed test left it down
            self.redis.start()

    # --- helpers -------------------------------------------------------------

    def metric(self, svc, name, labels=""):
        """The value of one sample of `name` (with exactly `labels`, e.g.
        'dependency="redis"') on svc's /metrics; 0 when absent."""
        _, text = self.stack.http_get(svc, "/metrics")
        pattern = re.compile(rf"^{re.escape(name)}(\{{{re.escape(labels)}\}})? (\S+)$"
                             if labels else rf"^{re.escape(name)} (\S+)$", re.M)
        for match in pattern.finditer(text):
            return float(match.groups()[-1])
        return 0.0

    def redis_up(self, svc):
        return self.metric(svc, f"agentwatch_{svc}_dependency_up", 'dependency="redis"')

    def redis_keys(self, pattern):
        out = subprocess.run(["redis-cli", "-p", str(self.redis.port), "--raw", "KEYS", pattern],
                             check=True, capture_output=True, text=True)
        return [k for k in out.stdout.split("\n") if k]

    def lose_redis(self, svc):
        """Kills Redis and waits until svc's health loop has seen it go."""
        self.redis.kill()
        wait_for(lambda: self.redis_up(svc) == 0, timeout=10, what=f"{svc} seeing Redis down")

    def restore_redis(self, svc):
        """Starts Redis again, empty, on the same port."""
        self.redis.start()
        wait_for(lambda: self.redis_up(svc) == 1, timeout=10, what=f"{svc} seeing Redis back")

    def assert_ready(self, svc):
        """Readiness follows Postgres only (libs/common/runtime.cc): Redis
        down leaves the service ready."""
        self.assertIsNone(self.stack.procs[svc].poll(), f"{svc} died:\n" + self.stack.log_tail(svc))
        self.assertEqual(self.stack.http_get(svc, "/readyz")[0], 200)
        self.assertEqual(self.stack.grpc_health(svc), "SERVING")

    def page_channel(self, tenant, path, person="oncall"):
        return self.incident.CreateNotificationChannel(
            incident_pb2.CreateNotificationChannelRequest(
                channel=incident_pb2.NotificationChannel(
                    name=f"{person or 'team'}-hook", tenant=tenant, person=person,
                    webhook=incident_pb2.WebhookChannel(url=self.hooks.url(path))),
                request_id=f"{tenant}-{path}"), timeout=10)

    def incidents_holding(self, tenant, fingerprint):
        """(incident id, alert) of every incident of `tenant` holding `fingerprint`."""
        found = []
        for listed in self.incident.ListIncidents(incident_pb2.ListIncidentsRequest(
                tenant=tenant), timeout=5).incidents:
            detail = self.incident.GetIncident(incident_pb2.GetIncidentRequest(id=listed.id),
                                               timeout=5)
            found += [(listed.id, a) for a in detail.alerts if a.fingerprint == fingerprint]
        return found

    # --- monitor -------------------------------------------------------------

    def test_monitor_ingests_reads_and_alerts_once_without_redis(self):
        tenant = f"redis-mon-{RUN}"
        hook = f"/{tenant}/oncall"
        self.page_channel(tenant, hook)
        rule = self.monitor.CreateAlertRule(monitor_pb2.CreateAlertRuleRequest(
            request_id=f"redis-{RUN}",
            rule=monitor_pb2.AlertRule(
                name="BillingFailures", tenant=tenant, severity=common_pb2.SEVERITY_P2,
                threshold=monitor_pb2.ThresholdCondition(
                    metric="workflow_runs_total",
                    matchers=[common_pb2.LabelMatcher(
                        name="status", op=common_pb2.MATCH_OP_EQUAL, value="failed")],
                    group_by=["workflow"], comparison=monitor_pb2.COMPARISON_GREATER_OR_EQUAL,
                    threshold=5, window=dur(300)))), timeout=10)
        when = now_utc()
        producer = f"{tenant}/p"
        sent = {"ok": 0, "failed": 0}  # runs acknowledged, each once

        def batch(sequence, ok, failed):
            events = [monitor_pb2.Event(
                time=ts(when), tenant=tenant, workflow_run=monitor_pb2.WorkflowRun(
                    workflow="billing", run_id=f"r{sequence}-{i}",
                    status=(monitor_pb2.RUN_STATUS_FAILED if i < failed
                            else monitor_pb2.RUN_STATUS_SUCCEEDED),
                    duration=dur(1))) for i in range(ok + failed)]
            return monitor_pb2.IngestRequest(producer_id=producer, sequence=sequence,
                                             events=events)

        def ingest(sequence, ok, failed):
            response = self.monitor.Ingest(batch(sequence, ok, failed), timeout=10)
            self.assertFalse(response.duplicate)
            self.assertEqual(response.accepted, ok + failed)
            sent["ok"] += ok
            sent["failed"] += failed

        def health():
            report = self.monitor.GetHealth(monitor_pb2.GetHealthRequest(
                scope=common_pb2.Scope(tenant=tenant)), timeout=10)
            overall = report.scopes[0]
            self.assertEqual(overall.kind, "overall")
            rate = {i.name: i for i in overall.indicators}["error_rate"]
            return rate.sample_count, round(rate.value * rate.sample_count)

        def expected():
            return sent["ok"] + sent["failed"], sent["failed"]

        def active():
            return self.monitor.ListActiveAlerts(monitor_pb2.ListActiveAlertsRequest(
                tenant=tenant), timeout=10).alerts

        # A second producer of another tenant ingests and reads all along.
        load_tenant = f"{tenant}-load"

        def load_health():
            report = self.monitor.GetHealth(monitor_pb2.GetHealthRequest(
                scope=common_pb2.Scope(tenant=load_tenant)), timeout=10)
            return {i.name: i for i in report.scopes[0].indicators}["error_rate"].sample_count

        def load_call(sequence):
            response = self.monitor.Ingest(monitor_pb2.IngestRequest(
                producer_id=f"{load_tenant}/p", sequence=sequence, events=[monitor_pb2.Event(
                    time=ts(when), tenant=load_tenant, workflow_run=monitor_pb2.WorkflowRun(
                        workflow="load", run_id=f"l{sequence}-{i}",
                        status=monitor_pb2.RUN_STATUS_SUCCEEDED, duration=dur(1)))
                    for i in range(10)]), timeout=10)
            assert (response.accepted, response.duplicate) == (10, False), response
            # At most a second old (the cache's TTL), never more than was sent.
            assert 0 < load_health() <= 10 * sequence
            time.sleep(0.02)

        ingest(1, 40, 1)
        self.assertEqual(health(), expected())
        load = Load(self, load_call)
        self.assertEqual(len(self.redis_keys(f"{{{tenant}}}:monitor:health:*")), 1)

        # Redis lost: ready, writes accepted, reads computed from Postgres.
        self.lose_redis("monitor")
        self.assert_ready("monitor")
        ingest(2, 30, 2)
        self.assertEqual(health(), expected())  # not the report cached before the loss
        ingest(3, 60, 2)  # 5 failed runs: the rule fires (error rate 3.7 %, under
        # the built-in WorkflowErrorRateHigh's 5 %)
        replay = self.monitor.Ingest(batch(2, 30, 2), timeout=10)
        self.assertTrue(replay.duplicate)
        self.assertEqual(replay.accepted, 0)
        self.assertEqual(health(), expected())
        alerts = active()
        self.assertEqual([(a.rule_id, a.state) for a in alerts],
                         [(rule.id, monitor_pb2.ACTIVE_ALERT_STATE_FIRING)])
        fingerprint = alerts[0].fingerprint
        # The notice reaches incident through monitor's outbox (Postgres), and
        # incident pages on-call once; more failures keep it one alert.
        found = wait_for(lambda: self.incidents_holding(tenant, fingerprint), timeout=20,
                         interval=0.2, what="the rule's alert in incident")
        ingest(4, 40, 2)
        wait_for(lambda: self.hooks.bodies(hook), timeout=20, interval=0.2, what="the page")
        self.assert_ready("monitor")
        self.assert_ready("incident")

        # Redis back, empty: the same process serves correct reports and
        # caches them again.
        self.restore_redis("monitor")
        time.sleep(0.5)
        load.stop(self)
        self.assertEqual(health(), expected())
        wait_for(lambda: self.redis_keys(f"{{{tenant}}}:monitor:health:*"), timeout=5,
                 what="the health report cached again")
        ingest(5, 20, 1)
        time.sleep(1.2)  # the cache's TTL: a change shows within a second
        self.assertEqual(health(), expected())
        self.assertEqual(health(), expected())  # now from the cache
        self.assertEqual(self.monitor.Ingest(batch(5, 20, 1), timeout=10).accepted, 0)
        self.assertEqual(load_health(), 10 * load.answered)

        time.sleep(1.5)  # rule sweeps and escalation scans run meanwhile
        found = self.incidents_holding(tenant, fingerprint)
        self.assertEqual(len(found), 1, found)
        self.assertEqual(found[0][1].status, incident_pb2.ALERT_STATUS_FIRING)
        self.assertEqual(len(self.incident.ListIncidents(incident_pb2.ListIncidentsRequest(
            tenant=tenant), timeout=5).incidents), 1)
        self.assertEqual([a.fingerprint for a in active()], [fingerprint])
        pages = self.hooks.bodies(hook)
        self.assertEqual(len(pages), 1, pages)
        self.assertIn(found[0][0], pages[0])
        self.assert_ready("monitor")

    # --- incident ------------------------------------------------------------

    def test_incident_takes_alerts_and_pages_once_without_redis(self):
        tenant = f"redis-inc-{RUN}"
        oncall, lead = f"/{tenant}/oncall", f"/{tenant}/lead"
        self.page_channel(tenant, oncall)
        lead_channel = self.page_channel(tenant, lead, person="")
        self.incident.CreateEscalationPolicy(incident_pb2.CreateEscalationPolicyRequest(
            policy=incident_pb2.EscalationPolicy(
                name="api", tenant=tenant,
                matchers=[common_pb2.LabelMatcher(name="service", op=common_pb2.MATCH_OP_EQUAL,
                                                  value="api")],
                tiers=[incident_pb2.EscalationTier(
                           targets=[incident_pb2.EscalationTarget(person="oncall")]),
                       incident_pb2.EscalationTier(
                           delay=dur(3),
                           targets=[incident_pb2.EscalationTarget(
                               channel_id=lead_channel.id)])])), timeout=10)

        def report(fingerprint, status=incident_pb2.ALERT_STATUS_FIRING):
            return self.incident.ReportAlerts(incident_pb2.ReportAlertsRequest(alerts=[
                incident_pb2.Alert(fingerprint=fingerprint, name=f"Api-{fingerprint}",
                                   tenant=tenant, severity=common_pb2.SEVERITY_P1,
                                   status=status, labels={"service": "api"},
                                   source="e2e")]), timeout=10).incident_ids[0]

        def kinds(incident_id):
            return [e.kind for e in self.incident.GetIncident(
                incident_pb2.GetIncidentRequest(id=incident_id), timeout=10).timeline]

        load_id = report("fp-load")  # reported again and again by the load
        load = Load(self, lambda _: self.assertEqual(report("fp-load"), load_id))
        self.lose_redis("incident")
        self.assert_ready("incident")
        unacked = report("fp-a")
        acked = report("fp-b")
        self.assertEqual(report("fp-a"), unacked)  # a repeat joins the same incident
        self.assertNotEqual(acked, unacked)
        wait_for(lambda: len(self.hooks.bodies(oncall)) >= 3, timeout=20, interval=0.2,
                 what="the first tier's pages")
        self.incident.AcknowledgeIncident(
            incident_pb2.AcknowledgeIncidentRequest(id=acked, actor="alice"), timeout=10)
        wait_for(lambda: len(self.hooks.bodies(lead)) >= 2, timeout=20, interval=0.2,
                 what="the lead's pages for the unacknowledged incidents")
        self.assert_ready("incident")

        # Redis back: the same process takes and pages new alerts.
        self.restore_redis("incident")
        time.sleep(0.3)
        load.stop(self)
        later = report("fp-c")
        wait_for(lambda: len(self.hooks.bodies(oncall)) >= 4, timeout=20, interval=0.2,
                 what="the page of the incident opened after Redis came back")
        time.sleep(1.5)  # many escalation scans and dispatch passes

        oncall_pages, lead_pages = self.hooks.bodies(oncall), self.hooks.bodies(lead)
        self.assertEqual(len(oncall_pages), 4, oncall_pages)
        for incident_id in (unacked, acked, later, load_id):
            self.assertEqual(sum(incident_id in body for body in oncall_pages), 1, incident_id)
        self.assertEqual(len(lead_pages), 2, lead_pages)
        for incident_id in (unacked, load_id):
            self.assertEqual(sum(incident_id in body for body in lead_pages), 1, incident_id)
        self.assertEqual(kinds(unacked).count("escalated"), 2)
        self.assertEqual(kinds(load_id).count("escalated"), 2)
        self.assertEqual(kinds(acked).count("escalated"), 1)
        self.assertIn("acknowledged", kinds(acked))
        listed = self.incident.ListIncidents(incident_pb2.ListIncidentsRequest(tenant=tenant),
                                             timeout=5).incidents
        self.assertEqual(sorted(i.id for i in listed), sorted([unacked, acked, later, load_id]))
        status = {i.id: i.status for i in listed}
        self.assertEqual(status[acked], incident_pb2.INCIDENT_STATUS_ACKNOWLEDGED)
        self.assertEqual(status[unacked], incident_pb2.INCIDENT_STATUS_TRIGGERED)
        self.assert_ready("incident")

    # --- capacity ------------------------------------------------------------

    def test_capacity_forecasts_and_alerts_without_redis(self):
        tenant = f"redis-cap-{RUN}"
        workflow = "triage"
        now = now_utc().replace(second=0, microsecond=0)
        events = []
        for i in range(2 * 288, 0, -1):  # two days, every 5 minutes, a daily cycle
            when = now - datetime.timedelta(minutes=5 * i)
            runs = 3 + round(2 * math.sin(2 * math.pi * (when.hour + when.minute / 60) / 24))
            events += [monitor_pb2.Event(time=ts(when), tenant=tenant,
                                         workflow_run=monitor_pb2.WorkflowRun(
                                             workflow=workflow, run_id=f"run-{i}-{r}",
                                             status=monitor_pb2.RUN_STATUS_SUCCEEDED,
                                             duration=dur(3))) for r in range(runs)]
        self.assertEqual(self.monitor.Ingest(monitor_pb2.IngestRequest(
            producer_id=f"{tenant}/history", sequence=1, events=events), timeout=60).accepted,
            len(events))
        matchers = [common_pb2.LabelMatcher(name="workflow", op=common_pb2.MATCH_OP_EQUAL,
                                            value=workflow)]
        request = capacity_pb2.GetForecastRequest(
            metric="workflow_runs_total", tenant=tenant, matchers=matchers,
            horizon=dur(6 * 3600), step=dur(3600), history=dur(2 * 86400))

        def lookups(result):
            return self.metric("capacity", "agentwatch_capacity_forecast_cache_requests_total",
                               f'result="{result}"')

        def forecast():
            return self.capacity.GetForecast(request, timeout=60)

        before = forecast()
        self.assertEqual(len(before.points), 6)
        self.assertEqual(len(self.redis_keys(f"{{{tenant}}}:capacity:forecast:*")), 1)

        def load_call(_):
            answer = forecast()
            assert (len(answer.points), answer.history_points) == (6, before.history_points)
        load = Load(self, load_call)
        self.lose_redis("capacity")
        self.assert_ready("capacity")
        errors, hits, misses = lookups("error"), lookups("hit"), lookups("miss")
        during = forecast()  # computed: the cache cannot be reached
        self.assertGreater(lookups("error"), errors)
        self.assertEqual(len(during.points), 6)
        self.assertEqual(during.history_points, before.history_points)
        # Hourly steps: the history window (up to the last whole hour) is the
        # same throughout the test but when an hour begins during it.
        if during.points[0].time == before.points[0].time:
            self.assertEqual(during, before)

        # Writes: a resource, created twice with one request id, is one.
        resource = capacity_pb2.Resource(
            name="triage-workers", tenant=tenant, kind=capacity_pb2.RESOURCE_KIND_REPLICAS,
            metric="workflow_runs_total", matchers=matchers, per_unit_capacity=0.0005,
            target_utilization=0.5, current=1, min=1, max=200,
            labels={"namespace": "agents", "deployment": "triage-workers"},
            alert_horizon=dur(86400), alert_severity=common_pb2.SEVERITY_P1)
        created = self.capacity.CreateResource(capacity_pb2.CreateResourceRequest(
            resource=resource, request_id=f"{tenant}-create"), timeout=10)
        again = self.capacity.CreateResource(capacity_pb2.CreateResourceRequest(
            resource=resource, request_id=f"{tenant}-create"), timeout=10)
        self.assertEqual(again.id, created.id)
        listed = self.capacity.ListResources(capacity_pb2.ListResourcesRequest(tenant=tenant),
                                             timeout=10)
        self.assertEqual([r.id for r in listed.resources], [created.id])
        recs = self.capacity.GetRecommendations(capacity_pb2.GetRecommendationsRequest(
            resource_id=created.id, horizon=dur(86400)), timeout=60)
        scale = {r.kind: r for r in recs.recommendations}[
            capacity_pb2.RECOMMENDATION_KIND_SCALE_REPLICAS]
        self.assertGreater(scale.recommended, 1)
        ref = externalscaler_pb2.ScaledObjectRef(
            name="triage-workers", namespace="agents",
            scalerMetadata={"resourceId": created.id, "lookahead": "30m"})
        spec = self.scaler.GetMetricSpec(ref, timeout=10)
        value_during = self.scaler.GetMetrics(externalscaler_pb2.GetMetricsRequest(
            scaledObjectRef=ref, metricName=spec.metricSpecs[0].metricName), timeout=60)
        self.assertGreater(value_during.metricValues[0].metricValueFloat, 0.002)

        # The recompute job (Postgres-coordinated) predicts the breach; its
        # alert opens one incident.
        fingerprint = f"capacity-breach/{tenant}/{created.id}"
        wait_for(lambda: self.incidents_holding(tenant, fingerprint), timeout=40, interval=0.3,
                 what="the capacity breach incident")
        self.assert_ready("capacity")

        # While lost, every lookup failed: none hit or missed.
        self.assertEqual((lookups("hit"), lookups("miss")), (hits, misses))
        # Redis back, empty: computed again, then served from the cache.
        self.restore_redis("capacity")
        time.sleep(0.3)
        load.stop(self)
        # The load's first calls after the restart stored what they computed
        # from Postgres (a call that found Redis gone may store its answer
        # once Redis is back); from then on the cache answers.
        self.assertEqual(len(self.redis_keys(f"{{{tenant}}}:capacity:forecast:*")), 1)
        hits, errors = lookups("hit"), lookups("error")
        after = forecast()
        self.assertEqual(forecast(), after)
        self.assertEqual((lookups("hit"), lookups("error")), (hits + 2, errors))
        self.assertEqual(after.history_points, before.history_points)
        if after.points[0].time == during.points[0].time:
            self.assertEqual(after, during)
        value_after = self.scaler.GetMetrics(externalscaler_pb2.GetMetricsRequest(
            scaledObjectRef=ref, metricName=spec.metricSpecs[0].metricName), timeout=60)
        self.assertAlmostEqual(value_after.metricValues[0].metricValueFloat,
                               value_during.metricValues[0].metricValueFloat, delta=1e-9)

        time.sleep(2.5)  # more than one recompute interval
        found = self.incidents_holding(tenant, fingerprint)
        self.assertEqual(len(found), 1, found)
        self.assertEqual(found[0][1].status, incident_pb2.ALERT_STATUS_FIRING)
        self.assertEqual(len(self.incident.ListIncidents(incident_pb2.ListIncidentsRequest(
            tenant=tenant), timeout=5).incidents), 1)
        self.assertEqual(len(self.capacity.ListResources(capacity_pb2.ListResourcesRequest(
            tenant=tenant), timeout=10).resources), 1)
        self.assert_ready("capacity")


if __name__ == "__main__":
    unittest.main()
