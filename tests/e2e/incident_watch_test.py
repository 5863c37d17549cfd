"""WatchIncidents end to end across two agentwatch-incident replicas over one
database.

A Python watcher on replica B (tenant and label filters) must see, in order,
the incident that ReportAlerts opens on replica A and then its acknowledge and
resolve made on A, and nothing of the incidents its filters exclude. Resuming
on A from the cursor of the "created" event redelivers what followed it;
send_initial starts with a SNAPSHOT of the open incidents; a malformed cursor
is INVALID_ARGUMENT naming the field; stopping replica B ends its open stream
with UNAVAILABLE and a cursor, and B still exits cleanly.
"""

import os
import queue
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

import grpc

from agentwatch.common.v1 import common_pb2
from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, free_port, stop_cleanly  # noqa: E402

TENANT = "e2e-watch"
INCIDENT_FLAGS = ["--watch_poll_interval=100ms"]


class Watcher:
    """Reads a WatchIncidents stream on a thread into a queue."""

    def __init__(self, stub, request):
        self.call = stub.WatchIncidents(request, timeout=120)
        self.events = queue.Queue()
        self.error = None
        self.done = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for event in self.call:
                self.events.put(event)
        except grpc.RpcError as e:
            self.error = e
        finally:
            self.done.set()

    def live(self):
        self.call.initial_metadata()  # sent once the watch has joined
        return self

    def take_until(self, predicate, timeout=30):
        taken = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                if self.done.is_set():
                    break
                continue
            taken.append(event)
            if predicate(event):
                return taken
        raise AssertionError(f"stream ended or timed out; got {[describe(e) for e in taken]}"
                             f" error={self.error}")

    def cancel(self):
        self.call.cancel()


def describe(event):
    return (incident_pb2.IncidentEventType.Name(event.type), event.incident.id,
            event.entry.kind, event.entry_id)


class IncidentWatchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(extra_flags={"incident": INCIDENT_FLAGS}).start()
        stack = cls.stack
        cls.replica = "incident-replica"
        cls.replica_http = free_port()
        cls.replica_grpc = free_port()
        with open(os.path.join(stack.log_dir, f"{cls.replica}.log"), "ab") as log:
            stack.procs[cls.replica] = subprocess.Popen(
                [os.path.join(stack.bin_dir, "agentwatch-incident"),
                 f"--grpc_listen=127.0.0.1:{cls.replica_grpc}",
                 f"--http_listen=127.0.0.1:{cls.replica_http}",
                 f"--pg_dsn={stack.dsn}", f"--redis={stack.redis}",
                 f"--capacity_addr={stack.address('capacity')}",
                 "--health_probe_interval=100ms"] + INCIDENT_FLAGS,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            if stack.procs[cls.replica].poll() is not None:
                raise RuntimeError("replica B exited:\n" + stack.log_tail(cls.replica))
            try:
                url = f"http://127.0.0.1:{cls.replica_http}/readyz"
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("replica B not ready:\n" + stack.log_tail(cls.replica))
            time.sleep(0.1)
        cls.a = incident_pb2_grpc.IncidentServiceStub(stack.channel("incident"))
        cls.b_channel = grpc.insecure_channel(f"127.0.0.1:{cls.replica_grpc}")
        cls.b = incident_pb2_grpc.IncidentServiceStub(cls.b_channel)

    @classmethod
    def tearDownClass(cls):
        cls.b_channel.close()
        stop_cleanly(cls.stack)

    def report(self, fingerprint, name, service, tenant=TENANT):
        alert = incident_pb2.Alert(fingerprint=fingerprint, name=name, tenant=tenant,
                                   severity=common_pb2.SEVERITY_P1,
                                   status=incident_pb2.ALERT_STATUS_FIRING,
                                   labels={"service": service}, source="e2e")
        response = self.a.ReportAlerts(incident_pb2.ReportAlertsRequest(alerts=[alert]),
                                       timeout=10)
        return response.incident_ids[0]

    def watch_request(self, **kwargs):
        return incident_pb2.WatchIncidentsRequest(
            tenant=TENANT,
            matchers=[common_pb2.LabelMatcher(name="service", op=common_pb2.MATCH_OP_EQUAL,
                                              value="api")],
            **kwargs)

    def test_1_changes_on_a_reach_a_watcher_on_b_in_order_and_resume(self):
        watcher = Watcher(self.b, self.watch_request()).live()
        try:
            self.report("db-1", "DbSlow", "db")                   # label filter
            self.report("api-other", "ApiDown", "api", "other")   # tenant filter
            incident_id = self.report("api-1", "ApiDown", "api")
            self.a.AcknowledgeIncident(incident_pb2.AcknowledgeIncidentRequest(
                id=incident_id, actor="alice"), timeout=10)
            self.a.ResolveIncident(incident_pb2.ResolveIncidentRequest(
                id=incident_id, actor="alice", note="fixed"), timeout=10)
            events = watcher.take_until(lambda e: e.entry.kind == "resolved")
        finally:
            watcher.cancel()
        self.assertEqual({e.incident.id for e in events}, {incident_id}, [describe(e) for e in events])
        kinds = [e.entry.kind for e in events]
        self.assertEqual(kinds[0], "created")
        self.assertEqual(events[0].type, incident_pb2.INCIDENT_EVENT_TYPE_CREATED)
        self.assertLess(kinds.index("acknowledged"), kinds.index("resolved"))
        self.assertEqual(kinds[-1], "resolved")
        ack = events[kinds.index("acknowledged")]
        self.assertEqual(ack.type, incident_pb2.INCIDENT_EVENT_TYPE_UPDATED)
        self.assertEqual(ack.entry.actor, "alice")
        self.assertEqual(events[-1].incident.status, incident_pb2.INCIDENT_STATUS_RESOLVED)
        ids = [e.entry_id for e in events]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), len(ids))
        self.assertTrue(all(e.cursor for e in events))

        # Resume on replica A after the "created" event: the rest again.
        resumed = Watcher(self.a, self.watch_request(resume_cursor=events[0].cursor))
        try:
            again = resumed.take_until(lambda e: e.entry.kind == "resolved")
        finally:
            resumed.cancel()
        self.assertEqual([e.entry_id for e in again], ids[1:])

    def test_2_send_initial_starts_with_a_snapshot(self):
        open_id = self.report("api-2", "ApiLatency", "api")
        watcher = Watcher(self.b, self.watch_request(send_initial=True))
        try:
            first = watcher.take_until(lambda e: e.incident.id == open_id)
            self.assertTrue(all(e.type == incident_pb2.INCIDENT_EVENT_TYPE_SNAPSHOT
                                for e in first))
            watcher.live()
            self.a.AddNote(incident_pb2.AddNoteRequest(id=open_id, actor="bob", note="looking"),
                           timeout=10)
            later = watcher.take_until(lambda e: e.entry.kind == "note")
            self.assertEqual(later[-1].incident.id, open_id)
            self.assertEqual(later[-1].entry.actor, "bob")
        finally:
            watcher.cancel()

    def test_3_bad_cursor_is_invalid_argument(self):
        with self.assertRaises(grpc.RpcError) as raised:
            list(self.b.WatchIncidents(self.watch_request(resume_cursor="nope"), timeout=10))
        self.assertEqual(raised.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("resume_cursor", raised.exception.details())

    def test_4_stopping_b_ends_its_streams_with_unavailable(self):
        watcher = Watcher(self.b, self.watch_request()).live()
        started = time.monotonic()
        code = self.stack.stop_service(self.replica)
        self.assertEqual(code, 0, self.stack.log_tail(self.replica))
        self.assertLess(time.monotonic() - started, 8)
        self.assertTrue(watcher.done.wait(10))
        self.assertIsNotNone(watcher.error)
        self.assertEqual(watcher.error.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertIn("resume with cursor", watcher.error.details())


if __name__ == "__main__":
    unittest.main()
