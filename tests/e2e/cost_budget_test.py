"""Budgets end to end, through the four real service processes.

A Python client plays an agent platform: a hard monthly budget is created in
cost, LLM-call events go to monitor.Ingest, monitor forwards the usage to
cost.RecordUsage (its outbox), cost prices it and, as the spend crosses 80 %
and then 100 % of the budget, reports one alert each to incident.ReportAlerts
(cost's outbox). Resending the events adds neither spend nor alerts;
CheckBudget then denies on the hard budget with nothing remaining, and the
cost report totals equal the sum of the priced records. CheckBudget latency
over real gRPC is printed (measured, not asserted).
"""

import datetime
import os
import random
import sys
import time
import unittest

from google.protobuf import duration_pb2

from agentwatch.common.v1 import common_pb2
from agentwatch.cost.v1 import cost_pb2, cost_pb2_grpc
from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc
from agentwatch.monitor.v1 import monitor_pb2, monitor_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, stop_cleanly, ts, wait_for  # noqa: E402

TENANT = f"budget-e2e-{random.getrandbits(32):08x}"
INPUT_TOKENS = 10_000  # per call
CALLS = 7


def llm_event(when, event_id):
    return monitor_pb2.Event(
        event_id=event_id, time=ts(when), tenant=TENANT,
        llm_call=monitor_pb2.LlmCall(
            provider="openai", model="gpt-4o-mini", workflow="research", run_id="run-1",
            agent="writer", team="growth", latency=duration_pb2.Duration(seconds=1),
            input_tokens=INPUT_TOKENS, output_tokens=0, status=monitor_pb2.RUN_STATUS_SUCCEEDED))


class CostBudgetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack().start()  # cost sends budget alerts to incident (stack.PEERS)
        cls.monitor = monitor_pb2_grpc.MonitorServiceStub(cls.stack.channel("monitor"))
        cls.incident = incident_pb2_grpc.IncidentServiceStub(cls.stack.channel("incident"))
        cls.cost = cost_pb2_grpc.CostServiceStub(cls.stack.channel("cost"))
        cls.now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.stack)

    def ingest(self, sequence, events):
        return self.monitor.Ingest(monitor_pb2.IngestRequest(
            producer_id="budget-e2e", sequence=sequence, events=events), timeout=30)

    def total_cost(self):
        report = self.cost.GetCostReport(cost_pb2.GetCostReportRequest(
            range=common_pb2.TimeRange(start=ts(self.now - datetime.timedelta(days=1)),
                                       end=ts(self.now + datetime.timedelta(hours=1))),
            filter=common_pb2.Scope(tenant=TENANT)), timeout=10)
        return report.total_cost_nano_usd, report.total_calls

    def budget_alerts(self):
        """Every budget alert the incident service holds for TENANT, by fingerprint."""
        alerts = {}
        listed = self.incident.ListIncidents(
            incident_pb2.ListIncidentsRequest(tenant=TENANT), timeout=5)
        for incident in listed.incidents:
            detail = self.incident.GetIncident(
                incident_pb2.GetIncidentRequest(id=incident.id), timeout=5)
            for alert in detail.alerts:
                if alert.name == "BudgetThresholdCrossed":
                    alerts.setdefault(alert.fingerprint, []).append(alert)
        return alerts

    def check(self, estimate):
        return self.cost.CheckBudget(cost_pb2.CheckBudgetRequest(
            scope=common_pb2.Scope(tenant=TENANT, team="growth", workflow="research"),
            estimated_cost_nano_usd=estimate), timeout=5)

    def test_budget_alerts_once_and_denies_when_spent(self):
        price = self.cost.GetPrice(cost_pb2.GetPriceRequest(
            provider="openai", model="gpt-4o-mini", tenant=TENANT), timeout=10)
        per_call = INPUT_TOKENS * price.input_per_million_nano_usd // 1_000_000
        self.assertGreater(per_call, 0)
        self.assertEqual(INPUT_TOKENS * price.input_per_million_nano_usd % 1_000_000, 0)
        limit = CALLS * per_call  # exactly spent by the seventh call
        budget = self.cost.CreateBudget(cost_pb2.CreateBudgetRequest(
            budget=cost_pb2.Budget(
                name="growth monthly", scope=common_pb2.Scope(tenant=TENANT, team="growth"),
                period=cost_pb2.BUDGET_PERIOD_MONTHLY, limit_nano_usd=limit,
                enforcement=cost_pb2.ENFORCEMENT_HARD),
            request_id="e2e-budget"), timeout=10)
        self.assertEqual(list(budget.threshold_percents), [80, 100])

        # Six calls: 6/7 = 85.7 % of the limit, past 80 % only.
        first = [llm_event(self.now, f"call-{i}") for i in range(6)]
        self.assertEqual(self.ingest(1, first).accepted, 6)
        wait_for(lambda: self.total_cost()[0] == 6 * per_call, what="six calls priced in cost")
        alerts = wait_for(self.budget_alerts, what="the 80 % budget alert in incident")
        self.assertEqual(len(alerts), 1)
        (only,) = alerts.values()
        self.assertEqual(only[0].labels["threshold"], "80")
        self.assertEqual(only[0].labels["budget_id"], budget.id)
        self.assertEqual(only[0].labels["budget_name"], "growth monthly")
        self.assertEqual(only[0].severity, common_pb2.SEVERITY_P2)
        self.assertEqual(only[0].annotations["percent_used"], "85.71")
        self.assertEqual(only[0].source, "agentwatch-cost")
        self.assertTrue(self.check(per_call).allowed)

        # The seventh call reaches 100 %.
        self.assertEqual(self.ingest(2, [llm_event(self.now, "call-6")]).accepted, 1)
        alerts = wait_for(lambda: (a := self.budget_alerts()) and len(a) == 2 and a,
                          what="the 100 % budget alert in incident")
        thresholds = sorted(a[0].labels["threshold"] for a in alerts.values())
        self.assertEqual(thresholds, ["100", "80"])
        at100 = [a[0] for a in alerts.values() if a[0].labels["threshold"] == "100"][0]
        self.assertEqual(at100.severity, common_pb2.SEVERITY_P1)
        self.assertEqual(at100.annotations["percent_used"], "100.00")

        # Resent events (a monitor replay, and the same records straight to
        # cost) add neither spend nor alerts.
        self.assertTrue(self.ingest(1, first).duplicate)
        self.ingest(3, [llm_event(self.now, "call-0")])
        direct = self.cost.RecordUsage(cost_pb2.RecordUsageRequest(records=[
            cost_pb2.UsageRecord(
                record_id="call-1", time=ts(self.now),
                scope=common_pb2.Scope(tenant=TENANT, team="growth"),
                llm=cost_pb2.LlmUsage(provider="openai", model="gpt-4o-mini",
                                      input_tokens=INPUT_TOKENS))]), timeout=10)
        self.assertEqual(direct.duplicates, 1)
        time.sleep(2)  # give a wrong extra alert time to arrive
        alerts = self.budget_alerts()
        self.assertEqual(len(alerts), 2)
        self.assertTrue(all(len(copies) == 1 for copies in alerts.values()))

        # The hard budget is spent: denied, nothing remaining.
        denied = self.check(1)
        self.assertFalse(denied.allowed)
        self.assertEqual(denied.remaining_nano_usd, 0)
        self.assertEqual(denied.budget_id, budget.id)
        self.assertEqual(denied.enforcement, cost_pb2.ENFORCEMENT_HARD)
        self.assertEqual(self.check(0).allowed, True)

        # Totals equal the sum of the priced records.
        total, calls = self.total_cost()
        self.assertEqual(calls, CALLS)
        self.assertEqual(total, CALLS * per_call)
        status = self.cost.GetBudgetStatus(cost_pb2.GetBudgetStatusRequest(id=budget.id),
                                           timeout=10)
        self.assertEqual(status.spent_nano_usd, total)
        self.assertEqual(status.remaining_nano_usd, 0)
        self.assertEqual(list(status.fired_threshold_percents), [80, 100])

        # Reconcile finds the hot counter equal to the ledger.
        report = self.cost.Reconcile(cost_pb2.ReconcileRequest(tenant=TENANT), timeout=10)
        self.assertEqual(report.counters_checked, 1)
        self.assertEqual(report.drifted, 0)

        # CheckBudget latency over real gRPC (reported, not asserted).
        samples = []
        for _ in range(2000):
            start = time.perf_counter()
            self.check(1000)
            samples.append((time.perf_counter() - start) * 1000)
        samples.sort()
        print(f"CheckBudget latency over {len(samples)} sequential calls: "
              f"p50 {samples[len(samples) // 2]:.3f} ms, "
              f"p99 {samples[int(len(samples) * 0.99)]:.3f} ms", file=sys.stderr)

    def test_executor_threads_run_below_the_check_threads(self):
        """RecordUsage's threads (the executor) run at nice 19, gRPC's at the process's own."""
        pid = self.stack.procs["cost"].pid
        nice = {}  # thread name -> nice values
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    name = f.read().strip()
            except OSError:
                continue  # the thread ended meanwhile
            nice.setdefault(name, []).append(int(fields[16]))  # field 19 of stat
        self.assertIn("aw-executor", nice)
        self.assertTrue(all(n == 19 for n in nice["aw-executor"]), nice)
        others = [n for name, values in nice.items() if name != "aw-executor" for n in values]
        self.assertIn(0, others, nice)


if __name__ == "__main__":
    unittest.main()
