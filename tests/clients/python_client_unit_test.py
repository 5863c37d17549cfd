"""Unit tests of the Python client's hand-written layer (no server).

Runs with Debian's /usr/bin/python3 and PYTHONPATH=clients/python.
"""

import decimal
import filecmp
import os
import subprocess
import tempfile
import unittest

import grpc

import agentwatch
from agentwatch import batching
from agentwatch.monitor.v1 import monitor_pb2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT_DIR = os.path.join(ROOT, "clients", "python")


class FakeRpcError(grpc.RpcError):
    def __init__(self, code, details="failed"):
        super().__init__(details)
        self._code = code
        self._details = details

    def code(self):
        return self._code

    def details(self):
        return self._details


class FakeMonitor:
    """Stands in for MonitorServiceStub: records requests, fails as scripted.

    ``failures`` is a list of status codes raised by the first calls, in order;
    ``commit_before_failing`` commits the batch before raising (a lost ack).
    """

    def __init__(self, failures=(), commit_before_failing=False):
        self.failures = list(failures)
        self.commit_before_failing = commit_before_failing
        self.calls = []
        self.committed = {}

    def Ingest(self, request, timeout=None, metadata=None):
        self.calls.append((request.producer_id, request.sequence, len(request.events), metadata))
        key = (request.producer_id, request.sequence)
        if self.failures:
            code = self.failures.pop(0)
            if self.commit_before_failing and key not in self.committed:
                self.committed[key] = len(request.events)
            raise FakeRpcError(code, f"scripted {code.name}")
        if key in self.committed:
            return monitor_pb2.IngestResponse(sequence=request.sequence, accepted=0,
                                              duplicate=True)
        self.committed[key] = len(request.events)
        return monitor_pb2.IngestResponse(sequence=request.sequence,
                                          accepted=len(request.events))


def event(i=0):
    return monitor_pb2.Event(tenant="acme", metric_sample=monitor_pb2.MetricSample(
        name="m", value=float(i)))


NO_SLEEP_RETRY = agentwatch.RetryPolicy(max_attempts=4, initial_backoff=0.0, max_backoff=0.0)


class BatcherTest(unittest.TestCase):
    def test_sends_full_batches_with_increasing_sequences(self):
        stub = FakeMonitor()
        b = agentwatch.EventBatcher(stub, producer_id="p", max_batch=3, flush_interval=0,
                                    start_sequence=10)
        for i in range(7):
            b.add(event(i))
        self.assertEqual([(c[1], c[2]) for c in stub.calls], [(10, 3), (11, 3)])
        b.close()
        self.assertEqual([(c[1], c[2]) for c in stub.calls], [(10, 3), (11, 3), (12, 1)])
        self.assertEqual(b.sent_events, 7)
        self.assertEqual(b.sent_batches, 3)

    def test_retry_keeps_the_sequence_and_a_lost_ack_counts_once(self):
        stub = FakeMonitor(failures=[grpc.StatusCode.UNAVAILABLE,
                                     grpc.StatusCode.DEADLINE_EXCEEDED],
                           commit_before_failing=True)
        b = agentwatch.EventBatcher(stub, producer_id="p", max_batch=100, flush_interval=0,
                                    start_sequence=1, retry=NO_SLEEP_RETRY)
        for i in range(5):
            b.add(event(i))
        b.close()
        self.assertEqual([c[1] for c in stub.calls], [1, 1, 1])
        self.assertEqual(stub.committed, {("p", 1): 5})
        self.assertEqual(b.duplicates, 1)
        self.assertEqual(b.rejected, [])

    def test_cancelled_by_a_server_shutting_down_is_retried(self):
        stub = FakeMonitor(failures=[grpc.StatusCode.CANCELLED])
        b = agentwatch.EventBatcher(stub, producer_id="p", max_batch=100, flush_interval=0,
                                    start_sequence=1, retry=NO_SLEEP_RETRY)
        b.add(event())
        b.close()
        self.assertEqual([c[1] for c in stub.calls], [1, 1])
        self.assertEqual(stub.committed, {("p", 1): 1})
        self.assertEqual(b.rejected, [])

    def test_non_retryable_errors_are_not_retried_and_are_kept(self):
        stub = FakeMonitor(failures=[grpc.StatusCode.INVALID_ARGUMENT])
        b = agentwatch.EventBatcher(stub, producer_id="p", max_batch=100, flush_interval=0,
                                    start_sequence=1, retry=NO_SLEEP_RETRY)
        b.add(event())
        b.add(event())
        b.close()
        self.assertEqual(len(stub.calls), 1)
        self.assertEqual(len(b.rejected), 1)
        self.assertEqual(b.rejected[0].code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(len(b.rejected[0].request.events), 2)

    def test_gives_up_after_max_attempts_and_calls_on_error(self):
        stub = FakeMonitor(failures=[grpc.StatusCode.UNAVAILABLE] * 10)
        seen = []
        b = agentwatch.EventBatcher(stub, producer_id="p", max_batch=100, flush_interval=0,
                                    retry=NO_SLEEP_RETRY, on_error=seen.append)
        b.add(event())
        b.close()
        self.assertEqual(len(stub.calls), 4)
        self.assertEqual(len(seen), 1)
        self.assertEqual(seen[0].code, grpc.StatusCode.UNAVAILABLE)

    def test_add_after_close_is_refused(self):
        b = agentwatch.EventBatcher(FakeMonitor(), flush_interval=0)
        b.close()
        with self.assertRaises(RuntimeError):
            b.add(event())

    def test_bad_max_batch(self):
        with self.assertRaisesRegex(ValueError, "max_batch"):
            agentwatch.EventBatcher(FakeMonitor(), max_batch=0, flush_interval=0)
        with self.assertRaisesRegex(ValueError, "max_batch"):
            agentwatch.EventBatcher(FakeMonitor(), max_batch=10001, flush_interval=0)

    def test_backoff_is_bounded(self):
        policy = agentwatch.RetryPolicy(initial_backoff=0.1, max_backoff=0.5)
        for attempt in range(1, 12):
            self.assertLessEqual(policy.backoff(attempt), 0.5)
            self.assertGreaterEqual(policy.backoff(attempt), 0.0)


class LlmCallTest(unittest.TestCase):
    def fake_clock(self, *values):
        values = list(values)
        return lambda: values.pop(0)

    def test_records_a_successful_call_with_latency_and_tokens(self):
        stub = FakeMonitor()
        b = agentwatch.EventBatcher(stub, producer_id="p", flush_interval=0)
        recorder = agentwatch.LlmCallRecorder(
            b, "acme", "openai", "gpt-4o-mini", agent="planner", workflow="support",
            clock=self.fake_clock(100.0, 100.25, 101.5), wall_clock=lambda: 1_700_000_000.0)
        with recorder as call:
            call.first_token()
            call.set_usage(input_tokens=1200, output_tokens=300, cached_input_tokens=1000)
        e = recorder.event
        self.assertEqual(e.tenant, "acme")
        self.assertEqual(e.time.seconds, 1_700_000_000)
        self.assertEqual(e.llm_call.status, monitor_pb2.RUN_STATUS_SUCCEEDED)
        self.assertEqual(e.llm_call.latency.ToNanoseconds(), 1_500_000_000)
        self.assertEqual(e.llm_call.time_to_first_token.ToNanoseconds(), 250_000_000)
        self.assertEqual((e.llm_call.input_tokens, e.llm_call.output_tokens,
                          e.llm_call.cached_input_tokens), (1200, 300, 1000))
        self.assertEqual((e.llm_call.agent, e.llm_call.workflow), ("planner", "support"))

    def test_an_exception_marks_the_call_failed_and_propagates(self):
        class RateLimitError(Exception):
            status_code = 429

        stub = FakeMonitor()
        b = agentwatch.EventBatcher(stub, producer_id="p", flush_interval=0)
        recorder = agentwatch.LlmCallRecorder(b, "acme", "openai", "gpt-4o",
                                              clock=self.fake_clock(0.0, 2.0))
        with self.assertRaises(RateLimitError):
            with recorder:
                raise RateLimitError("slow down")
        self.assertEqual(recorder.event.llm_call.status, monitor_pb2.RUN_STATUS_FAILED)
        self.assertEqual(recorder.event.llm_call.error_type, "RateLimitError")
        self.assertTrue(recorder.event.llm_call.throttled)

    def test_decorator_records_usage_from_the_result(self):
        stub = FakeMonitor()
        b = agentwatch.EventBatcher(stub, producer_id="p", flush_interval=0)
        from agentwatch.llm import record_llm_call

        @record_llm_call(b, "acme", "anthropic", "claude-3-5-haiku",
                         usage=lambda r: {"input_tokens": r[0], "output_tokens": r[1]})
        def ask():
            return (10, 20)

        self.assertEqual(ask(), (10, 20))
        b.close()
        self.assertEqual(sum(c[2] for c in stub.calls), 1)

    def test_required_fields(self):
        b = agentwatch.EventBatcher(FakeMonitor(), flush_interval=0)
        with self.assertRaisesRegex(ValueError, "model"):
            agentwatch.LlmCallRecorder(b, "acme", "openai", "")


class MoneyTest(unittest.TestCase):
    def test_usd_to_nano_is_exact_and_rounds_half_away_from_zero(self):
        self.assertEqual(agentwatch.usd_to_nano("1"), 1_000_000_000)
        self.assertEqual(agentwatch.usd_to_nano("0.000000001"), 1)
        self.assertEqual(agentwatch.usd_to_nano("0.0000000015"), 2)
        self.assertEqual(agentwatch.usd_to_nano("0.0000000014"), 1)
        self.assertEqual(agentwatch.usd_to_nano(decimal.Decimal("12.345678901")), 12_345_678_901)

    def test_floats_are_refused(self):
        with self.assertRaises(TypeError):
            agentwatch.usd_to_nano(0.1)


class StubsTest(unittest.TestCase):
    def test_committed_stubs_match_the_protos(self):
        """clients/python/generate must have been run after the last proto change."""
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([os.path.join(CLIENT_DIR, "generate"), out], check=True)
            generated = []
            for dirpath, _, files in os.walk(os.path.join(out, "agentwatch")):
                for name in files:
                    if name.endswith((".py", ".pyi")) and name != "__init__.py":
                        generated.append(os.path.relpath(os.path.join(dirpath, name), out))
            self.assertGreater(len(generated), 10)
            stale = [p for p in generated if not os.path.exists(os.path.join(CLIENT_DIR, p))
                     or not filecmp.cmp(os.path.join(out, p), os.path.join(CLIENT_DIR, p),
                                        shallow=False)]
            self.assertEqual(stale, [], "run clients/python/generate and commit the result")


if __name__ == "__main__":
    unittest.main()
