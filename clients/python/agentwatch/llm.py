"""Recording LLM calls: a context manager and a decorator.

    with client.llm_call(provider="openai", model="gpt-4o-mini",
                         agent="planner", workflow="support") as call:
        reply = openai_client.chat.completions.create(...)
        call.set_usage(input_tokens=reply.usage.prompt_tokens,
                       output_tokens=reply.usage.completion_tokens)

The call is timed with a monotonic clock; an exception marks it FAILED with
its class name as the error type (and throttled when it looks like HTTP 429),
then propagates unchanged.
"""

import functools
import time

from google.protobuf import duration_pb2, timestamp_pb2

from agentwatch.monitor.v1 import monitor_pb2


def _looks_throttled(error):
    for attribute in ("status_code", "status", "code", "http_status"):
        value = getattr(error, attribute, None)
        if value == 429:
            return True
    name = type(error).__name__.lower()
    return "ratelimit" in name or "rate_limit" in name or "throttl" in name


def _duration(seconds):
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(round(seconds * 1e9)))
    return d


class LlmCallRecorder:
    """Times one LLM call and queues it as an ``llm_call`` event on a batcher."""

    def __init__(self, batcher, tenant, provider, model, agent="", workflow="", run_id="",
                 team="", labels=None, clock=time.monotonic, wall_clock=time.time):
        for name, value in (("tenant", tenant), ("provider", provider), ("model", model)):
            if not value:
                raise ValueError(f"{name}: must not be empty")
        self._batcher = batcher
        self._clock = clock
        self._wall_clock = wall_clock
        self._call = monitor_pb2.LlmCall(provider=provider, model=model, agent=agent,
                                         workflow=workflow, run_id=run_id, team=team)
        self._tenant = tenant
        self._labels = dict(labels or {})
        self._start = None
        self._first_token = None
        self.event = None

    def set_usage(self, input_tokens=0, output_tokens=0, cached_input_tokens=0,
                  cache_creation_tokens=0):
        """Token counts as the provider reported them."""
        self._call.input_tokens = int(input_tokens)
        self._call.output_tokens = int(output_tokens)
        self._call.cached_input_tokens = int(cached_input_tokens)
        self._call.cache_creation_tokens = int(cache_creation_tokens)

    def first_token(self):
        """Marks the arrival of the first streamed token (time to first token)."""
        if self._first_token is None and self._start is not None:
            self._first_token = self._clock()

    def __enter__(self):
        self._start = self._clock()
        return self

    def __exit__(self, exc_type, exc, tb):
        elapsed = self._clock() - self._start
        self._call.latency.CopyFrom(_duration(elapsed))
        if self._first_token is not None:
            self._call.time_to_first_token.CopyFrom(_duration(self._first_token - self._start))
        if exc is None:
            self._call.status = monitor_pb2.RUN_STATUS_SUCCEEDED
        else:
            self._call.status = monitor_pb2.RUN_STATUS_FAILED
            self._call.error_type = type(exc).__name__
            self._call.throttled = _looks_throttled(exc)
        when = timestamp_pb2.Timestamp()
        when.FromNanoseconds(int(self._wall_clock() * 1e9))
        self.event = monitor_pb2.Event(time=when, tenant=self._tenant, labels=self._labels,
                                       llm_call=self._call)
        self._batcher.add(self.event)
        return False


def record_llm_call(batcher, tenant, provider, model, usage=None, **fields):
    """Decorator: records every call of the wrapped function as an LLM call.

    ``usage(result)`` maps the function's result to a dict of token counts
    (keys of LlmCallRecorder.set_usage); without it no tokens are recorded.
    """
    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with LlmCallRecorder(batcher, tenant, provider, model, **fields) as call:
                result = function(*args, **kwargs)
                if usage is not None:
                    call.set_usage(**usage(result))
                return result
        return wrapper
    return decorate
