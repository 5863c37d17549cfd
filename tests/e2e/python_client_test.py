"""The Python client (clients/python/agentwatch) against the real services.

An agent platform records LLM calls with the client's context manager; the
batcher sends them to monitor. The first Ingest is committed by the server but
its acknowledgement is "lost" (an interceptor raises UNAVAILABLE after the
call returned), so the batcher retries the same (producer_id, sequence): the
retry is acknowledged as a duplicate and every call is counted exactly once,
in monitor's series and in cost's priced usage. The CheckBudget helper then
denies on a spent hard budget and allows within it.
"""

import datetime
import os
import random
import sys
import time
import unittest

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "clients", "python"))
sys.path.insert(0, HERE)

import agentwatch  # noqa: E402
from agentwatch.common.v1 import common_pb2  # noqa: E402
from agentwatch.cost.v1 import cost_pb2  # noqa: E402
from agentwatch.monitor.v1 import monitor_pb2  # noqa: E402
from stack import Stack, stop_cleanly, ts, wait_for  # noqa: E402

TENANT = f"pyclient-{random.getrandbits(32):08x}"
CALLS = 25


class LostAck(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.UNAVAILABLE

    def details(self):
        return "acknowledgement lost (test interceptor)"


class LoseFirstIngestAck(grpc.UnaryUnaryClientInterceptor):
    """Lets the first Ingest reach the server and commit, then reports a failure."""

    def __init__(self):
        self.lost = 0
        self.ingests = 0

    def intercept_unary_unary(self, continuation, client_call_details, request):
        outcome = continuation(client_call_details, request)
        if client_call_details.method.endswith("/Ingest"):
            self.ingests += 1
            outcome.result()  # the server has answered: the batch is committed
            if self.lost == 0:
                self.lost += 1
                raise LostAck()
        return outcome


class PythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack().start()
        cls.interceptor = LoseFirstIngestAck()
        cls.client = agentwatch.Client(
            tenant=TENANT, monitor=cls.stack.address("monitor"),
            incident=cls.stack.address("incident"), capacity=cls.stack.address("capacity"),
            cost=cls.stack.address("cost"), interceptors=(cls.interceptor,))
        cls.now = datetime.datetime.now(datetime.timezone.utc)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        stop_cleanly(cls.stack)

    def llm_calls_counted(self):
        response = self.client.monitor.QuerySeries(monitor_pb2.QuerySeriesRequest(
            metric="llm_calls_total", tenant=TENANT,
            range=common_pb2.TimeRange(start=ts(self.now - datetime.timedelta(hours=1)),
                                       end=ts(self.now + datetime.timedelta(hours=1)))),
            timeout=10)
        return sum(p.value for s in response.series for p in s.points)

    def cost_report(self):
        return self.client.cost.GetCostReport(cost_pb2.GetCostReportRequest(
            range=common_pb2.TimeRange(start=ts(self.now - datetime.timedelta(days=1)),
                                       end=ts(self.now + datetime.timedelta(hours=1))),
            filter=common_pb2.Scope(tenant=TENANT)), timeout=10)

    def test_1_retried_batch_is_counted_once(self):
        retry = agentwatch.RetryPolicy(initial_backoff=0.05, max_backoff=0.2)
        with self.client.batcher(producer_id=f"{TENANT}-producer", max_batch=10,
                                 flush_interval=0, retry=retry) as events:
            for i in range(CALLS):
                with self.client.llm_call(events, provider="openai", model="gpt-4o-mini",
                                          agent="writer", workflow="research",
                                          run_id=f"run-{i}") as call:
                    call.set_usage(input_tokens=1000, output_tokens=200)
        self.assertEqual(self.interceptor.lost, 1)
        self.assertEqual(events.rejected, [])
        self.assertEqual(events.duplicates, 1, "the retried batch must be a duplicate")
        # 3 batches (10, 10, 5) plus one retry.
        self.assertEqual(self.interceptor.ingests, 4)
        self.assertEqual(events.sent_events, CALLS - 10)  # the duplicate accepts 0

        self.assertEqual(wait_for(lambda: self.llm_calls_counted() == CALLS and CALLS,
                                  what="every call counted in monitor"), CALLS)
        report = wait_for(lambda: (r := self.cost_report()).total_calls == CALLS and r,
                          what="every call priced in cost")
        time.sleep(1.0)  # anything double-forwarded would land within this
        self.assertEqual(self.llm_calls_counted(), CALLS)
        again = self.cost_report()
        self.assertEqual(again.total_calls, CALLS)
        self.assertEqual(again.total_cost_nano_usd, report.total_cost_nano_usd)
        self.assertGreater(report.total_cost_nano_usd, 0)

    def test_2_check_budget_helper(self):
        spent = wait_for(lambda: self.cost_report().total_cost_nano_usd,
                         what="spend recorded (test_1)")
        self.client.cost.CreateBudget(cost_pb2.CreateBudgetRequest(
            budget=cost_pb2.Budget(
                name="research monthly",
                scope=common_pb2.Scope(tenant=TENANT, workflow="research"),
                period=cost_pb2.BUDGET_PERIOD_MONTHLY, limit_nano_usd=spent + 1_000_000,
                enforcement=cost_pb2.ENFORCEMENT_HARD),
            request_id=f"{TENANT}-budget"), timeout=10)
        within = self.client.check_budget(workflow="research", estimated_cost_usd="0.0001")
        self.assertTrue(within.allowed)
        self.assertLessEqual(within.remaining_nano_usd, 1_000_000)
        with self.assertRaises(agentwatch.BudgetExceeded) as denied:
            self.client.require_budget(workflow="research", estimated_cost_usd="0.01")
        self.assertFalse(denied.exception.decision.allowed)
        self.assertTrue(denied.exception.decision.budget_id)
        other = self.client.check_budget(workflow="other", estimated_cost_nano_usd=10**12)
        self.assertTrue(other.allowed)
        with self.assertRaisesRegex(ValueError, "exactly one"):
            self.client.check_budget(workflow="research")


if __name__ == "__main__":
    unittest.main()
