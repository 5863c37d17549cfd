"""Batching and safe retries for monitor's Ingest.

Every batch carries (producer_id, sequence). Monitor commits a batch at most
once per pair and acknowledges a replay with ``duplicate=True``, so a batch
whose acknowledgement was lost can be sent again without being counted twice:
the retry below keeps the batch's sequence number across attempts.
"""

import logging
import os
import random
import socket
import threading
import time
import uuid

import grpc

from agentwatch.monitor.v1 import monitor_pb2

_LOG = logging.getLogger("agentwatch")

# Codes after which the same batch may succeed when sent again. Anything else
# (INVALID_ARGUMENT, RESOURCE_EXHAUSTED for limits, PERMISSION_DENIED, ...) will
# fail the same way every time.
# CANCELLED too: the batcher never cancels its own calls, and gRPC (1.51, as
# Debian ships it) answers CANCELLED to a call that reaches a server after its
# shutdown began (a rolling restart) but before the client saw the server go
# away: no handler ran, and the same batch is accepted by the next replica
# (tests/e2e/rolling_restart_test.py). (producer_id, sequence) keeps the
# retry from counting twice whatever happened.
RETRYABLE_CODES = frozenset({
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.CANCELLED,
})


class BatchRejected(Exception):
    """A batch the server refused for good (not retryable), or gave up on.

    ``code`` is the gRPC status code, ``details`` the server's message (it names
    the offending field), ``request`` the rejected IngestRequest.
    """

    def __init__(self, code, details, request):
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details
        self.request = request


class RetryPolicy:
    """Exponential backoff with full jitter.

    ``max_attempts`` counts the first try; ``timeout`` is the deadline of each
    attempt in seconds.
    """

    def __init__(self, max_attempts=8, initial_backoff=0.1, max_backoff=5.0, timeout=10.0):
        if max_attempts < 1:
            raise ValueError("max_attempts: must be at least 1")
        self.max_attempts = max_attempts
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.timeout = timeout

    def backoff(self, attempt):
        """Seconds to wait before attempt number ``attempt + 1`` (attempt >= 1)."""
        ceiling = min(self.max_backoff, self.initial_backoff * (2 ** (attempt - 1)))
        return random.uniform(0, ceiling)


def default_producer_id():
    """host/pid/random: unique per process, stable for its lifetime."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def send_with_retry(ingest, request, policy, metadata=None, sleep=time.sleep):
    """Sends one IngestRequest, retrying retryable failures with the same sequence.

    ``ingest`` is the ``MonitorServiceStub.Ingest`` callable. Returns the
    IngestResponse; raises BatchRejected when the server refuses the batch or
    every attempt failed.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return ingest(request, timeout=policy.timeout, metadata=metadata)
        except grpc.RpcError as error:
            code = error.code()
            if code not in RETRYABLE_CODES or attempt >= policy.max_attempts:
                raise BatchRejected(code, error.details(), request) from error
            delay = policy.backoff(attempt)
            _LOG.warning("agentwatch: ingest of sequence %d failed with %s, retrying in %.2fs",
                         request.sequence, code.name, delay)
            sleep(delay)


class EventBatcher:
    """Collects events and sends them to monitor in idempotent batches.

    Events are sent when ``max_batch`` are waiting, every ``flush_interval``
    seconds from a background thread, on :meth:`flush` and on :meth:`close`
    (also as a context manager). Sequence numbers increase by one per batch.
    A batch the server refuses is handed to ``on_error(BatchRejected)`` (by
    default logged and kept in :attr:`rejected`); it is never silently dropped.
    """

    def __init__(self, stub, producer_id=None, max_batch=500, flush_interval=1.0,
                 retry=None, metadata=None, on_error=None, start_sequence=None):
        if not 1 <= max_batch <= 10000:
            raise ValueError("max_batch: must be within 1..10000")
        self._stub = stub
        self.producer_id = producer_id or default_producer_id()
        self._max_batch = max_batch
        self._retry = retry or RetryPolicy()
        self._metadata = metadata
        self._on_error = on_error
        # A restarted producer with the same id must not reuse sequence numbers
        # of batches it already sent: by default, start from the wall clock in
        # microseconds, which only grows.
        self._next_sequence = (start_sequence if start_sequence is not None
                               else int(time.time() * 1_000_000))
        self._pending = []
        self._lock = threading.Lock()        # guards _pending and _next_sequence
        self._send_lock = threading.Lock()   # one batch in flight, in sequence order
        self.rejected = []
        self.sent_batches = 0
        self.sent_events = 0
        self.duplicates = 0
        self._closed = threading.Event()
        self._thread = None
        if flush_interval and flush_interval > 0:
            self._thread = threading.Thread(target=self._run, args=(flush_interval,),
                                            name="agentwatch-batcher", daemon=True)
            self._thread.start()

    def add(self, event):
        """Queues one ``monitor_pb2.Event``; sends a batch when ``max_batch`` are waiting."""
        if self._closed.is_set():
            raise RuntimeError("EventBatcher is closed")
        with self._lock:
            self._pending.append(event)
            full = len(self._pending) >= self._max_batch
        if full:
            self._send_ready(only_full=True)

    def flush(self):
        """Sends everything queued so far and waits for the acknowledgements."""
        self._send_ready(only_full=False)

    def close(self):
        """Flushes and stops the background thread."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _take_batch(self, only_full):
        with self._lock:
            if not self._pending or (only_full and len(self._pending) < self._max_batch):
                return None
            events = self._pending[:self._max_batch]
            del self._pending[:self._max_batch]
            sequence = self._next_sequence
            self._next_sequence += 1
        return monitor_pb2.IngestRequest(producer_id=self.producer_id, sequence=sequence,
                                         events=events)

    def _send_ready(self, only_full):
        with self._send_lock:
            while True:
                request = self._take_batch(only_full)
                if request is None:
                    return
                try:
                    response = send_with_retry(self._stub.Ingest, request, self._retry,
                                               self._metadata)
                except BatchRejected as rejected:
                    self._handle_error(rejected)
                    continue
                self.sent_batches += 1
                self.sent_events += response.accepted
                if response.duplicate:
                    self.duplicates += 1

    def _handle_error(self, rejected):
        if self._on_error is not None:
            self._on_error(rejected)
            return
        _LOG.error("agentwatch: batch %d of %s rejected: %s", rejected.request.sequence,
                   self.producer_id, rejected)
        self.rejected.append(rejected)

    def _run(self, interval):
        while not self._closed.wait(interval):
            try:
                self.flush()
            except Exception:  # keep the flusher alive; errors go to on_error/rejected
                _LOG.exception("agentwatch: background flush failed")
