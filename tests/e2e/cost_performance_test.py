"""Cost versus performance end to end, through the four real service processes.

LLM-call events go to monitor.Ingest; monitor forwards their usage to
cost.RecordUsage (its outbox), where it arrives priced from the default
catalog. GetCostPerformance then joins cost's figures with monitor's call
success rate and p95 latency (cost asks monitor's QuerySeries over its peer
channel) and suggests gpt-4o-mini where it served the same workflow and agent
as well as gpt-4o at a lower cost, with the saving exact to the nano-USD. The
rows add up to the cost report's total. With monitor stopped, the same call
answers cost's figures only, marked performance unavailable.
"""

import datetime
import os
import random
import sys
import unittest

from google.protobuf import duration_pb2

from agentwatch.common.v1 import common_pb2
from agentwatch.cost.v1 import cost_pb2, cost_pb2_grpc
from agentwatch.monitor.v1 import monitor_pb2, monitor_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, stop_cleanly, ts, wait_for  # noqa: E402

TENANT = f"perf-e2e-{random.getrandbits(32):08x}"
CALLS = 25  # per (agent, model); at least the default min_calls (20)
BIG_INPUT, BIG_OUTPUT = 10_000, 1_000
MINI_INPUT, MINI_OUTPUT = 1_000, 100


def llm_event(when, event_id, agent, model, input_tokens, output_tokens, latency_ms):
    return monitor_pb2.Event(
        event_id=event_id, time=ts(when), tenant=TENANT,
        llm_call=monitor_pb2.LlmCall(
            provider="openai", model=model, workflow="research", run_id=f"run-{event_id}",
            agent=agent, team="growth",
            latency=duration_pb2.Duration(seconds=latency_ms // 1000,
                                          nanos=(latency_ms % 1000) * 1_000_000),
            input_tokens=input_tokens, output_tokens=output_tokens,
            status=monitor_pb2.RUN_STATUS_SUCCEEDED))


def mix_cost(price, input_tokens, output_tokens):
    """Exact cost of a token mix: one rounding, halves up (non-negative)."""
    exact = input_tokens * price.input_per_million_nano_usd \
        + output_tokens * price.output_per_million_nano_usd
    return (exact + 500_000) // 1_000_000


class CostPerformanceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack().start()  # cost asks monitor (stack.PEERS)
        cls.monitor = monitor_pb2_grpc.MonitorServiceStub(cls.stack.channel("monitor"))
        cls.cost = cost_pb2_grpc.CostServiceStub(cls.stack.channel("cost"))
        cls.now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        cls.range = common_pb2.TimeRange(start=ts(cls.now - datetime.timedelta(hours=1)),
                                         end=ts(cls.now + datetime.timedelta(hours=1)))

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.stack)

    def report(self):
        return self.cost.GetCostReport(cost_pb2.GetCostReportRequest(
            range=self.range, filter=common_pb2.Scope(tenant=TENANT)), timeout=10)

    def performance(self):
        return self.cost.GetCostPerformance(cost_pb2.GetCostPerformanceRequest(
            range=self.range, filter=common_pb2.Scope(tenant=TENANT),
            group_by=[cost_pb2.DIMENSION_WORKFLOW, cost_pb2.DIMENSION_AGENT,
                      cost_pb2.DIMENSION_MODEL]), timeout=30)

    def test_cheaper_model_and_monitor_outage(self):
        # The writer agent used gpt-4o (p95 2 s) and gpt-4o-mini (p95 1 s);
        # the critic agent only gpt-4o.
        events = []
        for i in range(CALLS):
            events.append(llm_event(self.now, f"w-big-{i}", "writer", "gpt-4o",
                                    BIG_INPUT, BIG_OUTPUT, 2000))
            events.append(llm_event(self.now, f"w-mini-{i}", "writer", "gpt-4o-mini",
                                    MINI_INPUT, MINI_OUTPUT, 1000))
            events.append(llm_event(self.now, f"c-big-{i}", "critic", "gpt-4o",
                                    BIG_INPUT, BIG_OUTPUT, 1500))
        response = self.monitor.Ingest(monitor_pb2.IngestRequest(
            producer_id="perf-e2e", sequence=1, events=events), timeout=30)
        self.assertEqual(response.accepted, 3 * CALLS)

        # Monitor's forwarded usage arrives priced in cost.
        big = self.cost.GetPrice(cost_pb2.GetPriceRequest(
            provider="openai", model="gpt-4o", tenant=TENANT), timeout=10)
        mini = self.cost.GetPrice(cost_pb2.GetPriceRequest(
            provider="openai", model="gpt-4o-mini", tenant=TENANT), timeout=10)
        per_big = mix_cost(big, BIG_INPUT, BIG_OUTPUT)
        per_mini = mix_cost(mini, MINI_INPUT, MINI_OUTPUT)
        self.assertGreater(per_big, per_mini)
        expected_total = CALLS * (2 * per_big + per_mini)
        wait_for(lambda: self.report().total_calls == 3 * CALLS,
                 what="monitor's LLM usage priced in cost")
        report = self.report()
        self.assertEqual(report.total_cost_nano_usd, expected_total)
        self.assertEqual(report.total_unpriced_calls, 0)

        result = self.performance()
        self.assertTrue(result.performance_available, result.performance_unavailable_reason)
        rows = {(r.group["agent"], r.group["model"]): r for r in result.rows}
        self.assertEqual(set(rows), {("writer", "gpt-4o"), ("writer", "gpt-4o-mini"),
                                     ("critic", "gpt-4o")})
        # Totals add up: the rows sum to the report's total, to the nano-USD.
        self.assertEqual(sum(r.cost_nano_usd for r in result.rows), report.total_cost_nano_usd)

        writer_big = rows[("writer", "gpt-4o")]
        self.assertEqual(writer_big.provider, "openai")
        self.assertEqual(writer_big.calls, CALLS)
        self.assertEqual(writer_big.cost_nano_usd, CALLS * per_big)
        self.assertEqual(writer_big.cost_per_call_nano_usd, per_big)
        self.assertTrue(writer_big.performance_available)
        self.assertEqual(writer_big.monitored_calls, CALLS)
        self.assertEqual(writer_big.call_success_rate, 1.0)
        p95 = writer_big.p95_latency.seconds + writer_big.p95_latency.nanos / 1e9
        self.assertAlmostEqual(p95, 2.0, delta=0.05)  # the sketch's 1 % error
        self.assertEqual(writer_big.suggested_model, "gpt-4o-mini", writer_big.suggestion_reason)
        self.assertEqual(writer_big.suggested_provider, "openai")
        at_mini = mix_cost(mini, CALLS * BIG_INPUT, CALLS * BIG_OUTPUT)
        at_big = mix_cost(big, CALLS * BIG_INPUT, CALLS * BIG_OUTPUT)
        self.assertEqual(writer_big.suggested_saving_nano_usd, at_big - at_mini)
        self.assertEqual(writer_big.suggested_cost_per_call_nano_usd,
                         (at_mini + CALLS // 2) // CALLS)
        sp95 = writer_big.suggested_p95_latency.seconds \
            + writer_big.suggested_p95_latency.nanos / 1e9
        self.assertAlmostEqual(sp95, 1.0, delta=0.05)
        self.assertIn("gpt-4o-mini would have cost", writer_big.suggestion_reason)

        critic = rows[("critic", "gpt-4o")]
        self.assertTrue(critic.performance_available)
        self.assertEqual(critic.suggested_model, "")
        self.assertIn("no cheaper model performs as well", critic.suggestion_reason)
        self.assertEqual(rows[("writer", "gpt-4o-mini")].suggested_model, "")

        # Monitor down: cost's figures only, marked unavailable, nothing invented.
        self.assertEqual(self.stack.stop_service("monitor"), 0)
        alone = self.performance()
        self.assertFalse(alone.performance_available)
        self.assertIn("monitor", alone.performance_unavailable_reason)
        self.assertEqual(len(alone.rows), 3)
        for row in alone.rows:
            self.assertFalse(row.performance_available)
            self.assertFalse(row.HasField("p95_latency"))
            self.assertEqual(row.monitored_calls, 0)
            self.assertEqual(row.suggested_model, "")
            self.assertIn("performance unavailable", row.suggestion_reason)
        self.assertEqual(sorted(r.cost_nano_usd for r in alone.rows),
                         sorted(r.cost_nano_usd for r in result.rows))


if __name__ == "__main__":
    unittest.main()
