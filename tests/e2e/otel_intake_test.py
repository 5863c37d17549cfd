"""OpenTelemetry GenAI spans from the real OpenTelemetry JS SDK into agentwatch.

tests/e2e/otel/send_genai.js (Node, @opentelemetry/sdk-trace-base with the
OTLP/gRPC exporters, installed by scripts/test from the committed
package-lock.json) exports three traces of invoke_workflow > invoke_agent >
chat + execute_tool, one throttled chat and one chat without a model, plus a
token-usage histogram, to monitor's gRPC port. Monitor maps them onto
workflow, agent and LLM-call events (the model-less span is rejected through
OTLP partial success, which the SDK reports), and the LLM calls flow on to
cost, priced.
"""

import datetime
import json
import os
import random
import subprocess
import sys
import unittest


from agentwatch.common.v1 import common_pb2
from agentwatch.cost.v1 import cost_pb2, cost_pb2_grpc
from agentwatch.monitor.v1 import monitor_pb2, monitor_pb2_grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from stack import Stack, stop_cleanly, ts, wait_for  # noqa: E402

OTEL_DIR = os.path.join(HERE, "otel")
TENANT = f"otel-{random.getrandbits(32):08x}"
RUNS = 3


class OtelIntakeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.isdir(os.path.join(OTEL_DIR, "node_modules", "@opentelemetry")):
            raise RuntimeError("tests/e2e/otel/node_modules is missing: run the tests through "
                               "scripts/test (it runs npm ci there)")
        cls.stack = Stack().start()
        cls.monitor = monitor_pb2_grpc.MonitorServiceStub(cls.stack.channel("monitor"))
        cls.cost = cost_pb2_grpc.CostServiceStub(cls.stack.channel("cost"))
        cls.now = datetime.datetime.now(datetime.timezone.utc)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.stack)

    def total(self, metric, **labels):
        matchers = [common_pb2.LabelMatcher(name=k, op=common_pb2.MATCH_OP_EQUAL, value=v)
                    for k, v in labels.items()]
        response = self.monitor.QuerySeries(monitor_pb2.QuerySeriesRequest(
            metric=metric, tenant=TENANT, matchers=matchers,
            range=common_pb2.TimeRange(start=ts(self.now - datetime.timedelta(hours=1)),
                                       end=ts(self.now + datetime.timedelta(hours=1)))),
            timeout=10)
        return sum(p.value for s in response.series for p in s.points)

    def test_genai_spans_become_events_and_costs(self):
        sent = subprocess.run(
            ["node", "send_genai.js", self.stack.address("monitor"), TENANT, str(RUNS)],
            cwd=OTEL_DIR, capture_output=True, text=True, timeout=120)
        output = sent.stdout + sent.stderr
        self.assertEqual(sent.returncode, 0, output)
        summary = json.loads(sent.stdout.strip().splitlines()[-1])
        self.assertEqual(summary, {"runs": RUNS, "spans": 4 * RUNS + 2})
        # The SDK logs OTLP partial success: exactly the model-less span.
        marker = "Partial Success response:"
        lines = [line for line in output.splitlines() if marker in line]
        self.assertEqual(len(lines), 1, output)
        partial = json.loads(lines[0].split(marker, 1)[1])
        self.assertEqual(int(partial["rejectedSpans"]), 1, partial)
        self.assertIn("(chat ???): gen_ai.response.model (or gen_ai.request.model) is required",
                      partial["errorMessage"])

        llm_calls = RUNS + 1
        wait_for(lambda: self.total("llm_calls_total") == llm_calls,
                 what=f"{llm_calls} LLM calls in monitor")
        self.assertEqual(self.total("workflow_runs_total", workflow="support"), RUNS)
        self.assertEqual(self.total("agent_executions_total", agent="planner"), RUNS)
        self.assertEqual(self.total("llm_calls_total", agent="planner", workflow="support",
                                    model="gpt-4o-mini"), RUNS)
        self.assertEqual(self.total("llm_throttled_total"), 1)
        self.assertEqual(self.total("llm_input_tokens_total"), 1000 * RUNS)
        self.assertEqual(self.total("tool_call_seconds", tool="search") > 0, True)
        wait_for(lambda: self.total("gen_ai_client_token_usage_count") > 0,
                 what="the token-usage histogram from the metrics exporter")

        price = self.cost.GetPrice(cost_pb2.GetPriceRequest(
            provider="openai", model="gpt-4o-mini", tenant=TENANT), timeout=10)
        per_call = -(-(1000 * price.input_per_million_nano_usd
                       + 200 * price.output_per_million_nano_usd) // 1_000_000)

        def report():
            r = self.cost.GetCostReport(cost_pb2.GetCostReportRequest(
                range=common_pb2.TimeRange(start=ts(self.now - datetime.timedelta(days=1)),
                                           end=ts(self.now + datetime.timedelta(hours=1))),
                filter=common_pb2.Scope(tenant=TENANT, model="gpt-4o-mini")), timeout=10)
            return r if r.total_calls == RUNS else None

        priced = wait_for(report, what="the chat calls priced in cost")
        self.assertGreater(per_call, 0)
        self.assertLessEqual(abs(priced.total_cost_nano_usd - RUNS * per_call), RUNS)


if __name__ == "__main__":
    unittest.main()
