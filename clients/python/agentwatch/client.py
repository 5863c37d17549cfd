"""Client: channels to agentwatch's four services.

    client = agentwatch.Client(tenant="acme", token=os.environ.get("AGENTWATCH_TOKEN"))
    with client.batcher() as events:
        with client.llm_call(events, provider="openai", model="gpt-4o-mini") as call:
            ...
    decision = client.check_budget(team="support", estimated_cost_usd="0.25")

Addresses default to the local stack (scripts/up) and can come from the
environment: AGENTWATCH_MONITOR_ADDR, AGENTWATCH_INCIDENT_ADDR,
AGENTWATCH_CAPACITY_ADDR, AGENTWATCH_COST_ADDR, AGENTWATCH_TOKEN.
"""

import os

import grpc

from agentwatch.batching import EventBatcher, RetryPolicy
from agentwatch.budget import BudgetExceeded, decision_from_response, usd_to_nano
from agentwatch.capacity.v1 import capacity_pb2_grpc
from agentwatch.common.v1 import common_pb2
from agentwatch.cost.v1 import cost_pb2, cost_pb2_grpc
from agentwatch.incident.v1 import incident_pb2_grpc
from agentwatch.llm import LlmCallRecorder, record_llm_call
from agentwatch.monitor.v1 import monitor_pb2_grpc

DEFAULT_ADDRESSES = {
    "monitor": "127.0.0.1:50051",
    "incident": "127.0.0.1:50052",
    "capacity": "127.0.0.1:50053",
    "cost": "127.0.0.1:50054",
}


class Client:
    """Holds one channel per service; stubs are ``client.monitor`` etc."""

    def __init__(self, tenant, token=None, monitor=None, incident=None, capacity=None,
                 cost=None, root_certificates=None, interceptors=()):
        if not tenant:
            raise ValueError("tenant: must not be empty")
        self.tenant = tenant
        token = token if token is not None else os.environ.get("AGENTWATCH_TOKEN")
        self.metadata = (("authorization", f"Bearer {token}"),) if token else None
        given = {"monitor": monitor, "incident": incident, "capacity": capacity, "cost": cost}
        self._channels = {}
        for service, default in DEFAULT_ADDRESSES.items():
            address = (given[service] or os.environ.get(f"AGENTWATCH_{service.upper()}_ADDR")
                       or default)
            if root_certificates is not None:
                channel = grpc.secure_channel(
                    address, grpc.ssl_channel_credentials(root_certificates))
            else:
                channel = grpc.insecure_channel(address)
            if interceptors:
                channel = grpc.intercept_channel(channel, *interceptors)
            self._channels[service] = channel
        self.monitor = monitor_pb2_grpc.MonitorServiceStub(self._channels["monitor"])
        self.incident = incident_pb2_grpc.IncidentServiceStub(self._channels["incident"])
        self.capacity = capacity_pb2_grpc.CapacityServiceStub(self._channels["capacity"])
        self.cost = cost_pb2_grpc.CostServiceStub(self._channels["cost"])

    def close(self):
        for channel in self._channels.values():
            channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- telemetry ---------------------------------------------------------

    def batcher(self, producer_id=None, max_batch=500, flush_interval=1.0, retry=None,
                on_error=None, start_sequence=None):
        """An EventBatcher sending to this client's monitor with its token."""
        return EventBatcher(self.monitor, producer_id=producer_id, max_batch=max_batch,
                            flush_interval=flush_interval, retry=retry or RetryPolicy(),
                            metadata=self.metadata, on_error=on_error,
                            start_sequence=start_sequence)

    def llm_call(self, batcher, provider, model, **fields):
        """Context manager recording one LLM call of this tenant on ``batcher``."""
        return LlmCallRecorder(batcher, self.tenant, provider, model, **fields)

    def record_llm_call(self, batcher, provider, model, usage=None, **fields):
        """Decorator form of llm_call; see agentwatch.llm.record_llm_call."""
        return record_llm_call(batcher, self.tenant, provider, model, usage=usage, **fields)

    # -- budgets -----------------------------------------------------------

    def check_budget(self, estimated_cost_usd=None, estimated_cost_nano_usd=None,
                     timeout=2.0, **scope):
        """Asks cost whether a call of this estimated cost may run.

        ``scope`` takes team, workflow, agent, model, provider, service and tags
        (a dict). Give the estimate in USD (str/int/Decimal) or nano-USD.
        Returns a BudgetDecision. A hard budget answers allowed=False; a soft one
        allowed=True with soft_limit_exceeded=True.
        """
        if (estimated_cost_usd is None) == (estimated_cost_nano_usd is None):
            raise ValueError("give exactly one of estimated_cost_usd, estimated_cost_nano_usd")
        nano = (usd_to_nano(estimated_cost_usd) if estimated_cost_usd is not None
                else int(estimated_cost_nano_usd))
        tags = scope.pop("tags", None) or {}
        request = cost_pb2.CheckBudgetRequest(
            scope=common_pb2.Scope(tenant=self.tenant, tags=tags, **scope),
            estimated_cost_nano_usd=nano)
        response = self.cost.CheckBudget(request, timeout=timeout, metadata=self.metadata)
        return decision_from_response(response)

    def require_budget(self, **kwargs):
        """check_budget, raising BudgetExceeded when the call is denied."""
        decision = self.check_budget(**kwargs)
        if not decision.allowed:
            raise BudgetExceeded(decision)
        return decision
