"""agentwatch: the Python client for agentwatch's gRPC services.

The generated stubs live in subpackages (``agentwatch.monitor.v1.monitor_pb2``,
``agentwatch.cost.v1.cost_pb2_grpc``, ...); the hand-written layer is:

* :class:`Client`: channels to the four services with the bearer token.
* :class:`EventBatcher`: batches telemetry with a producer id and sequence
  numbers and retries safely (ingest is idempotent by (producer_id, sequence)).
* :meth:`Client.check_budget` / :meth:`Client.require_budget`: the pre-flight
  budget check before an expensive LLM call.
* :class:`LlmCallRecorder` (``client.llm_call(...)``, ``client.record_llm_call``):
  a context manager and a decorator that time an LLM call and record it.

Works with Debian's ``python3-grpcio`` and ``python3-protobuf``.
"""

from agentwatch.batching import BatchRejected, EventBatcher, RetryPolicy
from agentwatch.budget import BudgetDecision, BudgetExceeded, usd_to_nano
from agentwatch.client import Client
from agentwatch.llm import LlmCallRecorder

__all__ = [
    "BatchRejected",
    "BudgetDecision",
    "BudgetExceeded",
    "Client",
    "EventBatcher",
    "LlmCallRecorder",
    "RetryPolicy",
    "usd_to_nano",
]
