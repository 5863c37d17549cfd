#!/usr/bin/python3
"""Sends monitor one invalid batch (an event without a tenant) and expects INVALID_ARGUMENT.

    reject_batch.py MONITOR_GRPC_ADDRESS

Used by scripts/check-deploy so that the rejection metrics exist when the dashboards and rules
are checked against the real /metrics. Exit 0 only if monitor rejected the batch.
"""
import sys
import time

import grpc
from google.protobuf import timestamp_pb2

from agentwatch.monitor.v1 import monitor_pb2, monitor_pb2_grpc

now = timestamp_pb2.Timestamp()
now.GetCurrentTime()
stub = monitor_pb2_grpc.MonitorServiceStub(grpc.insecure_channel(sys.argv[1]))
event = monitor_pb2.Event(event_id="bad", time=now, tenant="",
                          workflow_run=monitor_pb2.WorkflowRun(
                              workflow="check-deploy", run_id="bad",
                              status=monitor_pb2.RUN_STATUS_SUCCEEDED))
try:
    stub.Ingest(monitor_pb2.IngestRequest(producer_id=f"check-deploy-{time.time_ns()}",
                                          sequence=1, events=[event]), timeout=10)
except grpc.RpcError as error:
    if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
        print(f"rejected as expected: {error.details()}")
        sys.exit(0)
    sys.exit(f"unexpected {error.code().name}: {error.details()}")
sys.exit("monitor accepted an event without a tenant")
