"""Rolling restarts under load, through the real processes.

A Kubernetes rollout sends SIGTERM to each replica in turn while clients keep
writing. For each write path (monitor Ingest with producer_id + sequence,
incident ReportAlerts, cost RecordUsage with record ids) the test runs two
replicas of the service on one database (the stack's process, A, and one of
the test's own, B) and client threads that send batches without pausing; each
failed call is retried with the same ids on the other replica, as a client
behind a Kubernetes Service would be routed. Meanwhile the replicas are
restarted one after the other (A, B, A) with SIGTERM. Then:
- every error a client saw is UNAVAILABLE (what a gRPC client retries), never
  INTERNAL, UNKNOWN or DEADLINE_EXCEEDED, nor CANCELLED but for gRPC core's
  shutdown race (see RETRYABLE below), and every answer is
  right (a batch sent once is accepted whole; a retried one is accounted for
  whole, accepted or duplicate); calls in flight at a SIGTERM complete or
  fail with UNAVAILABLE;
- each replica exits 0 within the deadline and logs no error;
- the totals are exact: QuerySeries counts each event once and cost holds
  the forwarded LLM usage once (monitor), one incident per group and each
  firing report counted once by GetStats (incident), GetCostReport's total is
  the priced sum of the answered batches (cost);
- work in an outbox at the SIGTERM (monitor's alert notice and cost's budget
  alert, incident stopped meanwhile) is delivered after the restart, once.
"""

import collections
import datetime
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

import grpc
from google.protobuf import duration_pb2

from agentwatch.common.v1 import common_pb2
from agentwatch.cost.v1 import cost_pb2, cost_pb2_grpc
from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc
from agentwatch.monitor.v1 import monitor_pb2, monitor_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import (PEERS, Stack, free_port, now_outside_month_end, now_utc,  # noqa: E402
                   stop_cleanly, sums_by_label, ts, upsert_prices, wait_for)

RUN = f"{random.getrandbits(32):08x}"
# What a client retries. Any other error seen during the restarts fails the
# test, but for the one shape of CANCELLED below.
RETRYABLE = {grpc.StatusCode.UNAVAILABLE}
# gRPC core (1.51, Debian's) answers CANCELLED, not UNAVAILABLE, to a call
# that reaches the server after grpc::Server::Shutdown began and before the
# client saw its GOAWAY: the call never reaches a handler, it is "zombified"
# (grpc/grpc#41785, fix proposed in grpc/grpc#41786). Seen on 0-3 calls per
# run of this test (9 SIGTERMs under load), 1-7 ms after a SIGTERM. The
# writes are idempotent, so a retry is safe, but clients/python's batching
# client does not retry CANCELLED. Tolerated (and counted) only in that
# shape: answered within CANCELLED_RACE_S after its replica's SIGTERM (also a
# call sent up to ~25 ms before it, which the loaded server had not read yet),
# its batch then committed whole by a retry, not as a duplicate (no handler
# ran). AGENTWATCH_E2E_STRICT_SHUTDOWN=1 fails on it too.
CANCELLED_RACE_S = 0.5
STRICT = os.environ.get("AGENTWATCH_E2E_STRICT_SHUTDOWN") == "1"
CALL_TIMEOUT = 10  # s
EXIT_BOUND = 12  # s: grpc::Server::Shutdown's 10 s deadline, then the workers
CLIENTS = 3  # client threads per scenario
RESTARTS = ("A", "B", "A")  # a rollout of two replicas, then the first again
ACKS_BETWEEN = 3  # batches each client gets answered between two restarts
CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100),
                   ("grpc.min_reconnect_backoff_ms", 100),
                   ("grpc.max_reconnect_backoff_ms", 300)]
PROVIDER = "rr-ai"
# Whole nano-USD per token: a record's cost is exact (input, output).
MODELS = {"small": (1_000, 3_000), "large": (7_000, 11_000)}
FLAGS = {
    "monitor": ["--alert_sweep_interval=1s"],
    "incident": ["--group_by=service", "--group_wait=1s"],
    "cost": ["--import_default_catalog=false", "--reconcile_interval=0s"],
}


def sql_value(dsn, statement):
    out = subprocess.run(["psql", dsn, "-v", "ON_ERROR_STOP=1", "-qtA", "-c", statement],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def log_errors(path, expected=()):
    """Lines of a service log at level error (or not JSON: a crash, an abort),
    other than those whose message is in `expected`."""
    bad = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    bad.append(line)
                    continue
                if entry.get("level") in ("error", "fatal") and entry.get("msg") not in expected:
                    bad.append(line)
    except OSError as e:
        bad.append(str(e))
    return bad


class Attempt(collections.namedtuple("Attempt", "key replica start end code details")):
    pass


class Client(threading.Thread):
    """Sends its batches in order, each until answered; a failed attempt is
    retried at once with the same request on the other replica. Keeps every
    attempt and every answer."""

    def __init__(self, name, addresses, make_stub, send, batches, stop):
        super().__init__(daemon=True, name=name)
        self.addresses = addresses  # {"A": address, "B": address}
        self.channels = {}
        self.stubs = {}
        for replica, address in addresses.items():
            self.channels[replica] = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
            self.stubs[replica] = make_stub(self.channels[replica])
        self.send_fn = send
        self.batches = batches  # iterator of (key, request)
        self.stop = stop
        self.replica = random.choice(sorted(addresses))
        self.sent = {}  # key -> request of every batch sent at least once
        self.answers = {}  # key -> (response, attempts it took)
        self.attempts = []  # Attempt of every call
        self.in_flight = None  # (key, replica, start)
        self.error = None

    def run(self):
        try:
            for key, request in self.batches:
                if self.stop.is_set():
                    return
                self.sent[key] = request
                # Each new batch to either replica, as a Service balances.
                self.replica = random.choice(sorted(self.addresses))
                tries = 0
                give_up = time.monotonic() + 60
                while True:
                    tries += 1
                    replica = self.replica
                    start = time.monotonic()
                    self.in_flight = (key, replica, start)
                    try:
                        response = self.send_fn(self.stubs[replica], request)
                    except grpc.RpcError as e:
                        self.in_flight = None
                        self.attempts.append(Attempt(key, replica, start, time.monotonic(),
                                                     e.code(), e.details()))
                        if time.monotonic() > give_up:
                            raise AssertionError(f"{key}: no answer within 60 s: {e.code()}")
                        # The other replica, as a Service routes around a pod
                        # that stopped; a short pause when both are down.
                        self.replica = "B" if replica == "A" else "A"
                        time.sleep(0.02 if tries % 2 else 0.1)
                        continue
                    self.in_flight = None
                    self.attempts.append(Attempt(key, replica, start, time.monotonic(),
                                                 grpc.StatusCode.OK, ""))
                    self.answers[key] = (response, tries)
                    break
        except BaseException as e:  # noqa: BLE001 (reported by the test)
            self.error = e
        finally:
            self.in_flight = None

    def close(self):
        for channel in self.channels.values():
            channel.close()


class Replica:
    """A second process of a service on the stack's database (B)."""

    def __init__(self, stack, svc):
        self.stack = stack
        self.svc = svc
        self.grpc_port = free_port()
        self.http_port = free_port()
        self.address = f"127.0.0.1:{self.grpc_port}"
        self.log_path = os.path.join(stack.log_dir, f"{svc}-2.log")
        self.proc = None

    def start(self):
        flags = [f"--grpc_listen={self.address}",
                 f"--http_listen=127.0.0.1:{self.http_port}",
                 f"--pg_dsn={self.stack.dsn}", f"--redis={self.stack.redis}",
                 "--health_probe_interval=100ms"]
        flags += [f"--{peer}_addr={self.stack.address(peer)}" for peer in PEERS[self.svc]]
        flags += self.stack.extra_flags.get(self.svc, [])
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [os.path.join(self.stack.bin_dir, f"agentwatch-{self.svc}")] + flags,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.svc}-2 exited with {self.proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/readyz",
                                        timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def wait_ready(self):
        wait_for(self.ready, timeout=60, what=f"{self.svc}-2 ready")

    def stop(self):
        """SIGTERM; the exit code (None if it did not exit within 20 s: killed)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return 0
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None


class RollingRestartTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.started = time.monotonic()
        cls.stack = Stack(extra_flags=FLAGS).start()
        try:
            # The budget alert's monthly period must not end during the test.
            cls.now = now_outside_month_end()
            upsert_prices(cls.cost(), PROVIDER, MODELS, cls.now - datetime.timedelta(days=1))
        except BaseException:
            cls.stack.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            stop_cleanly(cls.stack)
        finally:
            print(f"rolling restart: {time.monotonic() - cls.started:.1f} s in all "
                  f"(logs in {cls.stack.log_dir})", file=sys.stderr)

    @classmethod
    def cost(cls):
        return cost_pb2_grpc.CostServiceStub(cls.stack.channel("cost"))

    @classmethod
    def monitor(cls):
        return monitor_pb2_grpc.MonitorServiceStub(cls.stack.channel("monitor"))

    @classmethod
    def incident(cls):
        return incident_pb2_grpc.IncidentServiceStub(cls.stack.channel("incident"))

    def log_path(self, svc):
        return os.path.join(self.stack.log_dir, f"{svc}.log")

    def restart_stack_service(self, svc):
        """SIGTERM to the stack's process of `svc`, then a new one: (exit
        code, seconds to exit)."""
        channel = self.stack.channels.pop(svc, None)
        if channel is not None:
            channel.close()
        at = time.monotonic()
        code = self.stack.stop_service(svc)
        took = time.monotonic() - at
        self.stack.start_service(svc)
        self.stack.wait_ready(svc)
        return code, took

    # --- the rollout -----------------------------------------------------------

    def rollout(self, svc, make_stub, send, batches_of):
        """Runs CLIENTS clients of `svc` over replicas A (the stack's) and B
        through the restarts; returns the clients once each stopped, B
        stopped. Checks the errors, in-flight calls, exits and logs."""
        second = Replica(self.stack, svc)
        second.start()
        second.wait_ready()
        addresses = {"A": self.stack.address(svc), "B": second.address}
        stop = threading.Event()
        clients = [Client(f"{svc}-c{i}", addresses, make_stub, send, batches_of(i), stop)
                   for i in range(CLIENTS)]
        exits = []  # (replica, code, seconds)
        sigterms = []  # (replica, monotonic time of the SIGTERM, calls in flight then)
        try:
            for c in clients:
                c.start()

            def progressed(target):
                for c in clients:
                    if c.error is not None:
                        raise AssertionError(f"{c.name}: {c.error}")
                return all(len(c.answers) >= target for c in clients)

            for replica in RESTARTS:
                target = min(len(c.answers) for c in clients) + ACKS_BETWEEN
                wait_for(lambda: progressed(target), timeout=30, interval=0.01,
                         what=f"{ACKS_BETWEEN} more answers per client")
                # Into the middle of a call, as a rollout comes.
                wait_for(lambda: any(c.in_flight and c.in_flight[1] == replica
                                     for c in clients), timeout=10, interval=0.002,
                         what=f"a call in flight on {replica}")
                at = time.monotonic()
                in_flight = [(c.name, c.in_flight) for c in clients
                             if c.in_flight and c.in_flight[1] == replica]
                sigterms.append((replica, at, in_flight))
                if replica == "A":
                    code, took = self.restart_stack_service(svc)
                else:
                    code = second.stop()
                    took = time.monotonic() - at
                    second.start()
                    second.wait_ready()
                exits.append((replica, code, took))
            target = min(len(c.answers) for c in clients) + ACKS_BETWEEN
            wait_for(lambda: progressed(target), timeout=30, interval=0.01,
                     what="answers after the last restart")
        finally:
            stop.set()
            for c in clients:
                c.join(70)
                c.close()
            exits.append(("B", second.stop(), None))
        for c in clients:
            self.assertIsNone(c.error, f"{c.name}: {c.error}")
            self.assertFalse(c.is_alive(), f"{c.name} did not finish")

        # Each replica exited 0 within the deadline and logged no error.
        for replica, code, took in exits:
            self.assertEqual(code, 0, f"{svc} {replica}: exit code {code}")
            if took is not None:
                self.assertLess(took, EXIT_BOUND, f"{svc} {replica}: {took:.1f} s to exit")
        for path in (self.log_path(svc), second.log_path):
            self.assertEqual(log_errors(path), [], path)
        # Every error retryable.
        errors = [(c.name, a) for c in clients for a in c.attempts
                  if a.code != grpc.StatusCode.OK]

        def since_sigterm(a):
            # (start, end) of the attempt in seconds from its replica's last SIGTERM.
            before = [at for r, at, _ in sigterms if r == a.replica and at <= a.end]
            return (round(a.start - before[-1], 3), round(a.end - before[-1], 3)) \
                if before else None

        def shutdown_race(a):
            when = since_sigterm(a)
            return (not STRICT and a.code == grpc.StatusCode.CANCELLED and when is not None
                    and 0 <= when[1] < CANCELLED_RACE_S)
        races = [(n, a) for n, a in errors if shutdown_race(a)]
        wrong = [(n, a.key, a.replica, a.code.name, a.details, since_sigterm(a))
                 for n, a in errors if a.code not in RETRYABLE and not shutdown_race(a)]
        self.assertEqual(wrong, [], f"{svc}: errors a client does not retry")
        # Calls in flight at each SIGTERM completed or failed retryably.
        for replica, at, in_flight in sigterms:
            for name, (key, _, start) in in_flight:
                client = next(c for c in clients if c.name == name)
                outcome = [a for a in client.attempts if a.key == key and a.start == start]
                self.assertEqual(len(outcome), 1)
                if not shutdown_race(outcome[0]):
                    self.assertIn(outcome[0].code, RETRYABLE | {grpc.StatusCode.OK},
                                  f"{name} {key}: in flight at {replica}'s SIGTERM")
        in_flight_n = sum(len(s[2]) for s in sigterms)
        in_flight_ok = sum(1 for _, _, f in sigterms for name, (key, _, start) in f
                           for c in clients if c.name == name for a in c.attempts
                           if a.key == key and a.start == start and a.code == grpc.StatusCode.OK)
        self.cancelled_races = {(n, a.key) for n, a in races}
        print(f"{svc}: {sum(len(c.answers) for c in clients)} batches, "
              f"{len(errors) - len(races)} UNAVAILABLE, {len(races)} CANCELLED (shutdown race), "
              f"{in_flight_n} in flight at the SIGTERMs "
              f"({in_flight_ok} completed OK), exits "
              f"{[(r, c, round(t, 2) if t else t) for r, c, t in exits]}", file=sys.stderr)
        return clients

    def only_races(self, client, key):
        """True when every failed attempt of `key` was a CANCELLED of the
        shutdown race: the handler never ran, so the batch must commit new."""
        failed = [a for a in client.attempts if a.key == key and a.code != grpc.StatusCode.OK]
        return bool(failed) and (client.name, key) in self.cancelled_races and all(
            a.code == grpc.StatusCode.CANCELLED for a in failed)

    # --- monitor ---------------------------------------------------------------

    def test_monitor_ingest(self):
        tenant = f"rr-mon-{RUN}"
        when = now_utc()

        def batches(i):
            producer = f"{tenant}/p{i}"
            sequence = 0
            while True:
                sequence += 1
                events = []
                for workflow, count in ((f"wf-{i}", 40 + sequence % 13),
                                        ("shared", 5 + sequence % 7)):
                    events += [monitor_pb2.Event(
                        time=ts(when), tenant=tenant, workflow_run=monitor_pb2.WorkflowRun(
                            workflow=workflow, run_id=f"{producer}-{sequence}-{k}",
                            team="rr", status=monitor_pb2.RUN_STATUS_SUCCEEDED,
                            duration=duration_pb2.Duration(seconds=1)))
                        for k in range(count)]
                # LLM calls: their usage goes to cost through the outbox.
                for k in range(3 + sequence % 4):
                    events.append(monitor_pb2.Event(
                        time=ts(when), tenant=tenant, llm_call=monitor_pb2.LlmCall(
                            provider=PROVIDER, model="small", workflow=f"wf-{i}",
                            run_id=f"{producer}-{sequence}", team="rr",
                            status=monitor_pb2.RUN_STATUS_SUCCEEDED,
                            latency=duration_pb2.Duration(seconds=1),
                            input_tokens=100 + k + sequence, output_tokens=10 + k)))
                yield sequence, monitor_pb2.IngestRequest(producer_id=producer,
                                                          sequence=sequence, events=events)

        def send(stub, request):
            return stub.Ingest(request, timeout=CALL_TIMEOUT)

        clients = self.rollout("monitor", monitor_pb2_grpc.MonitorServiceStub, send, batches)

        runs, usage = collections.Counter(), [0, 0, 0]  # calls, input, output tokens
        for c in clients:
            for sequence, request in c.sent.items():
                self.assertIn(sequence, c.answers, f"{c.name} #{sequence} unanswered")
                response, tries = c.answers[sequence]
                self.assertEqual(response.sequence, sequence)
                if response.duplicate:
                    # Committed by an attempt whose answer was lost.
                    self.assertGreater(tries, 1, f"{c.name} #{sequence}: {response}")
                    self.assertFalse(self.only_races(c, sequence), f"{c.name} #{sequence}")
                    self.assertEqual(response.accepted, 0)
                else:
                    self.assertEqual(response.accepted, len(request.events),
                                     f"{c.name} #{sequence}: {response}")
                for e in request.events:
                    if e.HasField("workflow_run"):
                        runs[e.workflow_run.workflow] += 1
                    else:
                        usage[0] += 1
                        usage[1] += e.llm_call.input_tokens
                        usage[2] += e.llm_call.output_tokens

        def counts():
            return sums_by_label(self.monitor(), tenant, "workflow_runs_total", "workflow")
        seen = []
        try:
            wait_for(lambda: seen.append(counts()) or seen[-1] == runs, timeout=15,
                     interval=0.25, what="exact counts")
        except AssertionError:
            self.fail(f"QuerySeries {dict(seen[-1])} != sent {dict(runs)}")
        wait_for(lambda: sql_value(self.stack.dsn,
                                   "SELECT count(*) FROM monitor.ingest_journal") == "0",
                 timeout=15, what="the ingest journal drained")
        self.assertEqual(counts(), runs)
        # The LLM usage reached cost through the outbox, each call once.
        cost_usage = []
        try:
            wait_for(lambda: cost_usage.append(self.cost_usage(tenant)) or
                     cost_usage[-1] == tuple(usage), timeout=20, interval=0.25,
                     what="the usage in cost")
        except AssertionError:
            self.fail(f"cost holds (calls, input, output) {cost_usage[-1]}, sent {usage}")
        self.assertEqual(self.cost_usage(tenant), tuple(usage))

        self.monitor_alert_through_restart()

    def cost_usage(self, tenant):
        """(calls, input tokens, output tokens) cost holds for `tenant`."""
        report = self.cost_report(tenant)
        return (sum(r.calls for r in report.rows), sum(r.input_tokens for r in report.rows),
                sum(r.output_tokens for r in report.rows))

    def cost_report(self, tenant):
        return self.cost().GetCostReport(cost_pb2.GetCostReportRequest(
            range=common_pb2.TimeRange(start=ts(self.now - datetime.timedelta(days=1)),
                                       end=ts(self.now + datetime.timedelta(days=1))),
            filter=common_pb2.Scope(tenant=tenant), page_size=1000), timeout=10)

    def holding(self, tenant, fingerprint=None, name=None):
        """(incident id, alert) of each alert of `tenant` in incident with the
        fingerprint or name."""
        found = []
        incident = self.incident()
        for listed in incident.ListIncidents(incident_pb2.ListIncidentsRequest(tenant=tenant),
                                             timeout=5).incidents:
            detail = incident.GetIncident(incident_pb2.GetIncidentRequest(id=listed.id),
                                          timeout=5)
            found += [(listed.id, a) for a in detail.alerts
                      if a.fingerprint == fingerprint or a.name == name]
        return found

    def monitor_alert_through_restart(self):
        """An alert notice in monitor's outbox (incident stopped) at monitor's
        SIGTERM is delivered once by the next process."""
        tenant = f"rr-mon-alert-{RUN}"
        monitor = self.monitor()
        monitor.CreateAlertRule(monitor_pb2.CreateAlertRuleRequest(
            request_id=f"rr-{RUN}", rule=monitor_pb2.AlertRule(
                name="RolloutFailures", tenant=tenant, severity=common_pb2.SEVERITY_P2,
                threshold=monitor_pb2.ThresholdCondition(
                    metric="workflow_runs_total",
                    matchers=[common_pb2.LabelMatcher(
                        name="status", op=common_pb2.MATCH_OP_EQUAL, value="failed")],
                    group_by=["workflow"], comparison=monitor_pb2.COMPARISON_GREATER_OR_EQUAL,
                    threshold=3, window=duration_pb2.Duration(seconds=300)))), timeout=10)
        self.assertEqual(self.stack.stop_service("incident"), 0)
        when = now_utc()
        self.assertEqual(monitor.Ingest(monitor_pb2.IngestRequest(
            producer_id=f"{tenant}/alerts", sequence=1, events=[monitor_pb2.Event(
                time=ts(when), tenant=tenant, workflow_run=monitor_pb2.WorkflowRun(
                    workflow="billing", run_id=f"r{i}", status=monitor_pb2.RUN_STATUS_FAILED))
                for i in range(4)]), timeout=10).accepted, 4)
        alerts = monitor.ListActiveAlerts(monitor_pb2.ListActiveAlertsRequest(tenant=tenant),
                                          timeout=10).alerts
        self.assertEqual(len(alerts), 1)
        fingerprint = alerts[0].fingerprint

        def waiting():
            return int(sql_value(self.stack.dsn, "SELECT count(*) FROM monitor.outbox WHERE "
                                                 "destination = 'incident.ReportAlerts'"))
        self.assertEqual(waiting(), 1)
        code, took = self.restart_stack_service("monitor")
        self.assertEqual(code, 0)
        self.assertLess(took, EXIT_BOUND)
        self.assertEqual(waiting(), 1)
        self.stack.start_service("incident")
        self.stack.wait_ready("incident")
        wait_for(lambda: self.holding(tenant, fingerprint=fingerprint), timeout=30,
                 interval=0.2, what="the alert in incident")
        wait_for(lambda: waiting() == 0, timeout=10, what="monitor's outbox drained")
        time.sleep(1.5)  # the sweeps (every 1 s) would send a wrong second notice
        found = self.holding(tenant, fingerprint=fingerprint)
        self.assertEqual(len(found), 1, found)
        self.assertEqual(len(self.incident().ListIncidents(incident_pb2.ListIncidentsRequest(
            tenant=tenant), timeout=5).incidents), 1)
        self.assertEqual(log_errors(self.log_path("monitor")), [])

    # --- incident --------------------------------------------------------------

    def test_incident_report_alerts(self):
        tenant = f"rr-inc-{RUN}"
        groups = 4
        start = now_utc() - datetime.timedelta(minutes=1)

        def batches(i):
            n = 0
            while True:
                n += 1
                request = incident_pb2.ReportAlertsRequest()
                for g in range(groups):
                    for k in range(5):
                        request.alerts.add(
                            fingerprint=f"{tenant}-c{i}-b{n}-g{g}-{k}", name="ServiceDown",
                            tenant=tenant, status=incident_pb2.ALERT_STATUS_FIRING,
                            labels={"service": f"svc-{g}"}, starts_at=ts(start), source="e2e")
                yield n, request

        def send(stub, request):
            return stub.ReportAlerts(request, timeout=CALL_TIMEOUT)

        clients = self.rollout("incident", incident_pb2_grpc.IncidentServiceStub, send, batches)

        reports = 0
        incident_ids = set()
        for c in clients:
            for n, request in c.sent.items():
                self.assertIn(n, c.answers, f"{c.name} #{n} unanswered")
                response, tries = c.answers[n]
                if tries == 1 or self.only_races(c, n):
                    self.assertEqual((response.accepted, response.duplicates),
                                     (len(request.alerts), 0), f"{c.name} #{n}")
                else:
                    self.assertEqual(response.accepted + response.duplicates,
                                     len(request.alerts), f"{c.name} #{n}")
                incident_ids.update(response.incident_ids)
                reports += len(request.alerts)
        listed = self.incident().ListIncidents(incident_pb2.ListIncidentsRequest(
            tenant=tenant, page_size=100), timeout=10).incidents
        self.assertEqual(len(listed), groups, [i.title for i in listed])
        self.assertEqual(incident_ids, {i.id for i in listed})
        now = now_utc()
        stats = self.incident().GetStats(incident_pb2.GetStatsRequest(
            tenant=tenant, range=common_pb2.TimeRange(
                start=ts(now - datetime.timedelta(hours=1)),
                end=ts(now + datetime.timedelta(minutes=1)))), timeout=10)
        self.assertEqual(stats.overall.incident_count, groups)
        self.assertEqual(stats.fatigue.alerts_received, reports)

    # --- cost ------------------------------------------------------------------

    def test_cost_record_usage(self):
        tenant = f"rr-cost-{RUN}"
        priced = {}  # key -> the batch's priced cost

        def batches(i):
            rng = random.Random(i)
            n = 0
            while True:
                n += 1
                key = f"c{i}-{n}"
                records, cost = [], 0
                for k in range(50):
                    model = rng.choice(sorted(MODELS))
                    inputs, outputs = rng.randrange(1, 2000), rng.randrange(0, 800)
                    cost += inputs * MODELS[model][0] + outputs * MODELS[model][1]
                    records.append(cost_pb2.UsageRecord(
                        record_id=f"{key}-{k}", time=ts(self.now),
                        scope=common_pb2.Scope(tenant=tenant, team="rr"),
                        llm=cost_pb2.LlmUsage(provider=PROVIDER, model=model,
                                              input_tokens=inputs, output_tokens=outputs,
                                              requests=1)))
                priced[key] = cost
                yield key, cost_pb2.RecordUsageRequest(records=records)

        def send(stub, request):
            return stub.RecordUsage(request, timeout=CALL_TIMEOUT)

        clients = self.rollout("cost", cost_pb2_grpc.CostServiceStub, send, batches)
        total, records = 0, 0
        for c in clients:
            for key, request in c.sent.items():
                self.assertIn(key, c.answers, f"{c.name} {key} unanswered")
                response, tries = c.answers[key]
                n = len(request.records)
                if tries == 1 or self.only_races(c, key):
                    self.assertEqual((response.accepted, response.duplicates), (n, 0), key)
                    self.assertEqual(response.total_cost_nano_usd, priced[key], key)
                else:
                    self.assertEqual(response.accepted + response.duplicates, n, key)
                total += priced[key]
                records += n
        report = self.cost_report(tenant)
        self.assertEqual(sum(r.cost_nano_usd for r in report.rows), total)
        self.assertEqual(sum(r.calls for r in report.rows), records)

        self.cost_alert_through_restart()

    def cost_alert_through_restart(self):
        """A budget alert in cost's outbox (incident stopped) at cost's SIGTERM
        is delivered once by the next process."""
        tenant = f"rr-cost-alert-{RUN}"
        unit = 1_000 * 1_000  # 1,000 input tokens of the small model
        cost = self.cost()
        cost.CreateBudget(cost_pb2.CreateBudgetRequest(budget=cost_pb2.Budget(
            name="monthly", scope=common_pb2.Scope(tenant=tenant),
            period=cost_pb2.BUDGET_PERIOD_MONTHLY, limit_nano_usd=100 * unit,
            enforcement=cost_pb2.ENFORCEMENT_SOFT)), timeout=10)
        self.assertEqual(self.stack.stop_service("incident"), 0)
        crossing = cost_pb2.RecordUsageRequest(records=[cost_pb2.UsageRecord(
            record_id="r1", time=ts(self.now), scope=common_pb2.Scope(tenant=tenant),
            llm=cost_pb2.LlmUsage(provider=PROVIDER, model="small", input_tokens=85_000))])
        self.assertEqual(cost.RecordUsage(crossing, timeout=10).accepted, 1)

        def waiting():
            return int(sql_value(self.stack.dsn, f"SELECT count(*) FROM cost.outbox "
                                                 f"WHERE tenant_id = '{tenant}'"))
        self.assertEqual(waiting(), 1)
        code, took = self.restart_stack_service("cost")
        self.assertEqual(code, 0)
        self.assertLess(took, EXIT_BOUND)
        self.assertEqual(waiting(), 1)
        self.stack.start_service("incident")
        self.stack.wait_ready("incident")
        wait_for(lambda: self.holding(tenant, name="BudgetThresholdCrossed"), timeout=30,
                 interval=0.2, what="the budget alert in incident")
        wait_for(lambda: waiting() == 0, timeout=10, what="cost's outbox drained")
        self.assertEqual(self.cost().RecordUsage(crossing, timeout=10).duplicates, 1)
        time.sleep(1)  # time for a wrong second alert to arrive
        found = self.holding(tenant, name="BudgetThresholdCrossed")
        self.assertEqual(len(found), 1, found)
        self.assertEqual(len(self.incident().ListIncidents(incident_pb2.ListIncidentsRequest(
            tenant=tenant), timeout=5).incidents), 1)
        self.assertEqual(log_errors(self.log_path("cost")), [])


if __name__ == "__main__":
    unittest.main()
