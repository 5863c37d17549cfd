"""Cost's durability through crashes and outages, with real processes killed.

DESIGN.md: a write is acknowledged only after it is committed in Postgres; a
record id makes a retry acknowledged and counted once; Redis is a cache and a
coordinator, never the only copy; work for another service goes through a
transactional outbox. The stack runs on a Postgres of the test's own
(stack.PrivatePostgres), so that the database can be crashed.

1. agentwatch-cost is SIGKILLed while three client threads send RecordUsage
   batches (known record ids, priced models, a budget on the tenant), after
   some batches were acknowledged and while others are in flight: cost
   reaches Redis through a proxy of the test's, which holds the first
   hot-counter raise after the 15th answer (a raise follows its group's
   commit and precedes its answers) and has cost killed 50 ms later, so the
   kill falls between a commit and its raise. Every batch is in the ledger
   wholly or not at all, every acknowledged one is there, the held group's
   batches are there unanswered; the counter holds a ledger sum no lower
   than what was acknowledged (every answered batch was raised first) and
   lower than the ledger: Reconcile reports it drifted (not missing),
   CheckBudget answers from it, a replay does not raise it, Reconcile
   repairs it. cost restarts on the same database, the clients resend what
   was not answered (committed batches come back as duplicates, whole) and
   replay some answered ones; then every batch's cost in the report is its
   priced cost exactly once, and GetBudgetStatus, CheckBudget and Reconcile
   agree with the ledger.
2. Postgres crashes (pg_ctl -m immediate) while cost records: RecordUsage
   answers UNAVAILABLE within a bounded time, CheckBudget keeps answering
   from the hot counters, GetBudgetStatus (the ledger) is UNAVAILABLE,
   /readyz 503 and gRPC health NOT_SERVING. Postgres starts again: the same
   cost process serves again by itself, the retries succeed, totals exact.
3. incident is SIGKILLed, usage crosses a budget's 80 % threshold (and is
   replayed), cost itself is SIGKILLed and restarted with the alert still in
   its outbox, incident restarts: exactly one alert and one incident for that
   threshold.
"""

import collections
import datetime
import os
import random
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.error

import grpc

from agentwatch.common.v1 import common_pb2
from agentwatch.cost.v1 import cost_pb2, cost_pb2_grpc
from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import (PrivatePostgres, Stack, free_port, now_outside_month_end,  # noqa: E402
                   require_env, stop_cleanly, ts, upsert_prices, wait_for)

RUN = f"{random.getrandbits(32):08x}"
PROVIDER = "durable-ai"
# Whole nano-USD per token, so that a record's cost is exact: (input, output).
MODELS = {"small": (1_000, 3_000), "large": (7_000, 11_000)}
LIMIT = 10**15  # scenarios 1 and 2: far from any threshold
BATCH = 100  # records per RecordUsage call
# A client's channel reconnects quickly once the service is back.
CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100),
                   ("grpc.min_reconnect_backoff_ms", 100),
                   ("grpc.max_reconnect_backoff_ms", 300)]


Failure = collections.namedtuple("Failure", "key start seconds code details")


def make_batches(tenant, when, senders, per_sender, rng):
    """Per sender, a list of (key, request, cost): BATCH records each, tagged
    with the batch's key so that the report gives each batch's cost."""
    out = []
    for s in range(senders):
        batches = []
        for b in range(per_sender):
            key = f"{s}-{b}"
            records, cost = [], 0
            for i in range(BATCH):
                model = rng.choice(sorted(MODELS))
                inputs, outputs = rng.randrange(1, 2000), rng.randrange(0, 800)
                cost += inputs * MODELS[model][0] + outputs * MODELS[model][1]
                records.append(cost_pb2.UsageRecord(
                    record_id=f"{key}-{i}", time=ts(when),
                    scope=common_pb2.Scope(tenant=tenant, team=rng.choice(["a", "b"]),
                                           tags={"batch": key}),
                    llm=cost_pb2.LlmUsage(provider=PROVIDER, model=model, input_tokens=inputs,
                                          output_tokens=outputs, requests=1)))
            batches.append((key, cost_pb2.RecordUsageRequest(records=records), cost))
        out.append(batches)
    return out


class Sender(threading.Thread):
    """Sends its batches in order on a channel of its own, each until answered.

    An attempt that fails is retried (every `retry_every` seconds, or, with
    `resume`, once that event is set), as a client that did not get its
    answer must. Keeps every attempt's outcome."""

    def __init__(self, address, batches, resume=None, retry_every=0.05, give_up=60):
        super().__init__(daemon=True)
        self.channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        self.stub = cost_pb2_grpc.CostServiceStub(self.channel)
        self.batches = batches
        self.resume = resume
        self.retry_every = retry_every
        self.give_up = give_up
        self.answers = {}  # key -> the response of the attempt that got one
        self.failures = []  # Failure of each attempt that got no answer
        self.in_flight = None  # (key, start) of the attempt being made
        self.waiting = threading.Event()  # set while waiting for `resume`
        self.error = None

    def run(self):
        try:
            deadline = time.monotonic() + self.give_up
            for key, request, _ in self.batches:
                while True:
                    start = time.monotonic()
                    self.in_flight = (key, start)
                    try:
                        response = self.stub.RecordUsage(request, timeout=15)
                    except grpc.RpcError as e:
                        self.in_flight = None
                        self.failures.append(Failure(key, start, time.monotonic() - start, e.code(),
                                                    e.details()))
                        if time.monotonic() > deadline:
                            raise AssertionError(f"batch {key} not recorded within "
                                                 f"{self.give_up}s: {e.code()}")
                        if self.resume is not None and not self.resume.is_set():
                            self.waiting.set()
                            self.resume.wait()
                        time.sleep(self.retry_every)
                        continue
                    self.in_flight = None
                    self.answers[key] = response
                    break
        except BaseException as e:  # noqa: BLE001 (reported by the test)
            self.error = e
        finally:
            self.in_flight = None
            self.waiting.set()

    def failed_keys(self):
        return {f.key for f in self.failures}


class RedisProxy:
    """A TCP proxy between agentwatch-cost and the test Redis that can hold
    cost's next hot-counter raise.

    cost raises the budget counters (one EVAL of its raise script) after a
    group's transaction committed and before the group's batches are
    answered. hold_next_raise(on_hold) makes the proxy keep the next raise
    from Redis and call on_hold() (a SIGKILL) 50 ms later: the kill then
    falls between a commit and its raise, which a kill at a random instant
    rarely hits. Everything else passes through untouched."""

    # A line of the raise script (services/cost/store/budget_counters.cc).
    MARKER = b"redis.call('SET', key, want"
    HOLD_SECONDS = 0.05

    def __init__(self, upstream):
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", free_port()))
        self.listener.listen(64)
        self.address = "127.0.0.1:%d" % self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.on_hold = None
        self.held = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def hold_next_raise(self, on_hold):
        with self.lock:
            self.held.clear()
            self.on_hold = on_hold

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()  # Redis unreachable, as cost would find it
                continue
            for src, dst, inspect in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(src, dst, inspect), daemon=True).start()

    def _pump(self, src, dst, inspect):
        holding = False
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if inspect and not holding and self.MARKER in data:
                    with self.lock:
                        on_hold, self.on_hold = self.on_hold, None
                    if on_hold is not None:
                        holding = True  # nothing more of this connection reaches Redis
                        # What does not wait for this raise gets out meanwhile
                        # (well within cost's 500 ms Redis command timeout).
                        time.sleep(self.HOLD_SECONDS)
                        on_hold()
                        self.held.set()
                if not holding:
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()


class CostDurabilityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.started = time.monotonic()
        cls.redis_proxy = RedisProxy(require_env("AGENTWATCH_TEST_REDIS"))
        cls.pg = PrivatePostgres().start()
        cls.stack = None
        try:
            # The test decides when Reconcile runs; no default catalog (the
            # test's own prices), so that starts and restarts are quick; cost
            # reaches Redis through the proxy (the later --redis wins).
            cls.stack = Stack(admin_dsn=cls.pg.dsn, extra_flags={"cost": [
                "--reconcile_interval=0s", "--import_default_catalog=false",
                f"--redis={cls.redis_proxy.address}"]}).start()
            # A monthly budget's period must not end during the test.
            cls.now = now_outside_month_end()
            upsert_prices(cls.cost(), PROVIDER, MODELS, cls.now - datetime.timedelta(days=1))
        except BaseException:
            if cls.stack is not None:
                cls.stack.stop()
            cls.pg.stop()
            cls.redis_proxy.close()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            stop_cleanly(cls.stack)
        finally:
            cls.pg.stop()
            cls.redis_proxy.close()
            print(f"cost durability: {time.monotonic() - cls.started:.1f}s in all",
                  file=sys.stderr)

    # --- helpers -------------------------------------------------------------

    @classmethod
    def cost(cls):
        # stack.channel makes a new channel after a kill closed the old one.
        return cost_pb2_grpc.CostServiceStub(cls.stack.channel("cost"))

    def incident(self):
        return incident_pb2_grpc.IncidentServiceStub(self.stack.channel("incident"))

    def create_budget(self, tenant, limit):
        return self.cost().CreateBudget(cost_pb2.CreateBudgetRequest(budget=cost_pb2.Budget(
            name="monthly", scope=common_pb2.Scope(tenant=tenant),
            period=cost_pb2.BUDGET_PERIOD_MONTHLY, limit_nano_usd=limit,
            enforcement=cost_pb2.ENFORCEMENT_SOFT)), timeout=10)

    def batch_costs(self, tenant):
        """The ledger's cost of each batch (by its tag) and the report's totals."""
        request = cost_pb2.GetCostReportRequest(
            range=common_pb2.TimeRange(start=ts(self.now - datetime.timedelta(days=1)),
                                       end=ts(self.now + datetime.timedelta(days=1))),
            filter=common_pb2.Scope(tenant=tenant), group_by=[cost_pb2.DIMENSION_TAG],
            tag_key="batch", page_size=1000)
        costs, first = {}, None
        while True:
            page = self.cost().GetCostReport(request, timeout=10)
            first = first or page
            for row in page.rows:
                costs[row.group["tag:batch"]] = row.cost_nano_usd
            if not page.next_page_token:
                return {k: v for k, v in costs.items() if v}, first
            request.page_token = page.next_page_token

    def hot_counter(self, tenant):
        """The value of `tenant`'s one budget counter in Redis (None: missing)."""
        host, port = self.stack.redis.rsplit(":", 1)
        keys = subprocess.run(["redis-cli", "-h", host, "-p", port, "--scan", "--pattern",
                               "{" + tenant + "}:cost:budget:*"], check=True,
                              capture_output=True, text=True).stdout.split()
        self.assertLessEqual(len(keys), 1, keys)
        if not keys:
            return None, None
        value = subprocess.run(["redis-cli", "-h", host, "-p", port, "GET", keys[0]], check=True,
                               capture_output=True, text=True).stdout.strip()
        return keys[0], int(value)

    def check(self, tenant, estimate=0):
        return self.cost().CheckBudget(cost_pb2.CheckBudgetRequest(
            scope=common_pb2.Scope(tenant=tenant), estimated_cost_nano_usd=estimate), timeout=5)

    def spent(self, budget_id):
        return self.cost().GetBudgetStatus(cost_pb2.GetBudgetStatusRequest(id=budget_id),
                                           timeout=10).spent_nano_usd

    def reconcile(self, tenant, dry_run):
        return self.cost().Reconcile(cost_pb2.ReconcileRequest(tenant=tenant, dry_run=dry_run),
                                     timeout=10)

    def ready(self, svc):
        try:
            return self.stack.http_get(svc, "/readyz")[0]
        except urllib.error.HTTPError as e:
            return e.code

    def run_senders(self, senders, acked_before, action):
        """Starts `senders`, runs action() once `acked_before` batches were
        answered while at least one call is in flight, returns action's time."""
        for s in senders:
            s.start()
        deadline = time.monotonic() + 30
        while True:
            self.assertLess(time.monotonic(), deadline, "the senders did not get going")
            for s in senders:
                self.assertIsNone(s.error)
            if (sum(len(s.answers) for s in senders) >= acked_before
                    and any(s.in_flight is not None for s in senders)):
                break
            time.sleep(0.002)
        at = time.monotonic()
        action()
        return at

    def assert_totals_exact(self, tenant, batches, cost_of, budget):
        """Every batch's cost in the report once; the report's totals, the
        budget's spend, the hot counter (Reconcile finds no drift) and
        CheckBudget all equal the priced sum of every batch sent."""
        costs, report = self.batch_costs(tenant)
        self.assert_each_batch_once(batches, costs)
        total = sum(cost_of.values())
        self.assertEqual(report.total_cost_nano_usd, total)
        self.assertEqual(report.total_calls, BATCH * len(cost_of))
        self.assertEqual(self.spent(budget.id), total)
        report = self.reconcile(tenant, dry_run=True)
        self.assertEqual((report.counters_checked, report.drifted), (1, 0))
        self.assertEqual(self.check(tenant).remaining_nano_usd, LIMIT - total)

    def assert_each_batch_once(self, batches, costs):
        """Every batch in the ledger exactly once: its priced cost, no more, no
        less (one batch lost or doubled changes its row)."""
        want = {key: cost for sender in batches for key, _, cost in sender}
        self.assertTrue(all(cost > 0 for cost in want.values()))
        wrong = {key: {"ledger": costs.get(key), "priced": want.get(key)}
                 for key in set(costs) | set(want) if costs.get(key) != want.get(key)}
        self.assertEqual(wrong, {})

    def assert_all_or_nothing(self, response, cost):
        """A batch is written whole or not at all: a resend finds all its
        records new or all of them there."""
        self.assertIn((response.accepted, response.duplicates, response.total_cost_nano_usd),
                      [(BATCH, 0, cost), (0, BATCH, 0)])

    # --- 1. cost killed ------------------------------------------------------

    def test_1_cost_killed_while_recording(self):
        tenant = f"durable-kill-{RUN}"
        budget = self.create_budget(tenant, LIMIT)
        batches = make_batches(tenant, self.now, senders=3, per_sender=24,
                               rng=random.Random(1))
        cost_of = {key: cost for sender in batches for key, _, cost in sender}
        requests = {key: request for sender in batches for key, request, _ in sender}
        resume = threading.Event()
        senders = [Sender(self.stack.address("cost"), b, resume=resume) for b in batches]
        # Once 15 batches were answered, the next hot-counter raise (sent
        # after its group committed, before the group's batches are answered)
        # is held at the proxy and cost is SIGKILLed 50 ms later.
        cost_proc = self.stack.procs["cost"]
        killed = []

        def kill():
            killed.append(time.monotonic())
            cost_proc.kill()

        self.run_senders(senders, acked_before=15,
                         action=lambda: self.redis_proxy.hold_next_raise(kill))
        self.assertTrue(self.redis_proxy.held.wait(20), "no raise after the 15th answer")
        self.stack.kill_service("cost")
        killed_at = killed[0]
        # Every sender stops at its first unanswered batch (or finished).
        for s in senders:
            self.assertTrue(s.waiting.wait(20))
            self.assertIsNone(s.error)
        acked = {k: r for s in senders for k, r in s.answers.items()}
        in_flight = {f.key for s in senders for f in s.failures if f.start < killed_at}
        self.assertGreaterEqual(len(acked), 15)
        self.assertGreaterEqual(len(in_flight), 1, "no call was in flight at the kill")
        self.assertEqual({f.code for s in senders for f in s.failures},
                         {grpc.StatusCode.UNAVAILABLE})
        for key, response in acked.items():  # each answered batch new and priced
            self.assertEqual((response.accepted, response.duplicates), (BATCH, 0))
            self.assertEqual(response.total_cost_nano_usd, cost_of[key])

        # Restarted on the same database, before anything is resent: every
        # acknowledged batch is in the ledger, every other one wholly or not
        # at all, and the held group's batches are there, unanswered.
        self.stack.start_service("cost")
        self.stack.wait_ready("cost")
        costs, _ = self.batch_costs(tenant)
        for key in acked:
            self.assertEqual(costs.get(key), cost_of[key], key)
        self.assertEqual({k: v for k, v in costs.items() if k not in acked},
                         {k: cost_of[k] for k in costs if k not in acked})
        committed_unanswered = set(costs) - set(acked)
        self.assertGreaterEqual(len(committed_unanswered), 1)
        self.assertLessEqual(committed_unanswered, in_flight)
        ledger = sum(costs.values())
        self.assertEqual(self.spent(budget.id), ledger)
        # The hot counter: every acknowledged batch's raise preceded its
        # answer (each batch of a group raises before it is answered; when
        # only a group's first batch raised, the others were answered during
        # the hold and this failed), the held group's never came, so it is a
        # ledger sum behind the ledger. Reconcile (dry run) reports it drifted, not missing;
        # CheckBudget answers from it (the counter is the cache it reads).
        key, hot = self.hot_counter(tenant)
        self.assertGreaterEqual(hot, sum(cost_of[k] for k in acked))
        self.assertLess(hot, ledger)
        report = self.reconcile(tenant, dry_run=True)
        self.assertEqual((report.counters_checked, report.drifted, report.missing,
                          report.repaired), (1, 1, 0, 0))
        self.assertEqual((report.drifts[0].hot_nano_usd, report.drifts[0].ledger_nano_usd),
                         (hot, ledger))
        self.assertEqual(self.check(tenant).remaining_nano_usd, LIMIT - hot)
        # A replay adds no spend and raises nothing; Reconcile repairs the
        # counter from the ledger.
        replayed = sorted(acked)[0]
        self.assertEqual(self.cost().RecordUsage(requests[replayed], timeout=10).duplicates, BATCH)
        self.assertEqual(self.hot_counter(tenant), (key, hot))
        report = self.reconcile(tenant, dry_run=False)
        self.assertEqual((report.counters_checked, report.drifted, report.repaired), (1, 1, 1))
        self.assertEqual(self.hot_counter(tenant), (key, ledger))
        self.assertEqual(self.check(tenant).remaining_nano_usd, LIMIT - ledger)
        print(f"cost killed: {len(acked)} batches answered, {len(in_flight)} in flight, "
              f"{len(committed_unanswered)} of them committed; the hot counter "
              f"{ledger - hot} nano-USD behind the ledger until Reconcile", file=sys.stderr)

        # The clients resend what was not answered and go on.
        resume.set()
        for s in senders:
            s.join(60)
            self.assertFalse(s.is_alive())
            self.assertIsNone(s.error)
        for s in senders:
            for key in s.failed_keys():
                self.assertIn(key, s.answers)
                self.assert_all_or_nothing(s.answers[key], cost_of[key])
                # Committed before the kill: the resend is all duplicates.
                self.assertEqual(s.answers[key].duplicates == BATCH, key in costs, key)
        # Replays of answered batches: acknowledged, counted once.
        for key in sorted(acked)[:4] + [batches[0][-1][0]]:
            response = self.cost().RecordUsage(requests[key], timeout=10)
            self.assertEqual((response.accepted, response.duplicates, response.total_cost_nano_usd),
                             (0, BATCH, 0))

        # The batches committed after the restart raised the counter to the
        # whole period's spend: nothing drifted.
        self.assert_totals_exact(tenant, batches, cost_of, budget)

    # --- 2. Postgres crashed -------------------------------------------------

    def test_2_postgres_crashed_while_recording(self):
        tenant = f"durable-pg-{RUN}"
        budget = self.create_budget(tenant, LIMIT)
        batches = make_batches(tenant, self.now, senders=2, per_sender=24,
                               rng=random.Random(2))
        cost_of = {key: cost for sender in batches for key, _, cost in sender}
        # A check before the crash, so that the tenant's budgets are cached.
        self.assertTrue(self.check(tenant).allowed)
        pid = self.stack.procs["cost"].pid
        senders = [Sender(self.stack.address("cost"), b, retry_every=0.2) for b in batches]
        crashed_at = self.run_senders(senders, acked_before=10, action=self.pg.crash)
        acked_before = {k: r for s in senders for k, r in list(s.answers.items())}

        # Down: not ready, not serving; CheckBudget answers from the hot
        # counter; the ledger cannot be read.
        wait_for(lambda: self.ready("cost") == 503, timeout=10, what="/readyz 503")
        wait_for(lambda: self.stack.grpc_health("cost") == "NOT_SERVING", timeout=5,
                 what="gRPC health NOT_SERVING")
        _, hot = self.hot_counter(tenant)
        self.assertGreaterEqual(hot, sum(cost_of[k] for k in acked_before))
        answer = self.check(tenant, estimate=1)
        self.assertTrue(answer.allowed)
        self.assertEqual(answer.remaining_nano_usd, LIMIT - hot)
        with self.assertRaises(grpc.RpcError) as caught:
            self.spent(budget.id)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAVAILABLE)
        # Every sender meets the outage a few times.
        wait_for(lambda: all(sum(1 for f in s.failures if f.start > crashed_at + 0.5) >= 3
                             for s in senders), timeout=20, what="retries during the outage")
        self.assertEqual(self.check(tenant).remaining_nano_usd, LIMIT - hot)
        self.pg.start()

        for s in senders:
            s.join(60)
            self.assertFalse(s.is_alive())
            self.assertIsNone(s.error)
        # The same process recovered by itself.
        self.assertEqual(self.stack.procs["cost"].pid, pid)
        self.assertIsNone(self.stack.procs["cost"].poll())
        wait_for(lambda: self.ready("cost") == 200, timeout=10, what="/readyz 200")
        wait_for(lambda: self.stack.grpc_health("cost") == "SERVING", timeout=5,
                 what="gRPC health SERVING")
        failures = [f for s in senders for f in s.failures]
        self.assertGreater(len(failures), 0)
        self.assertEqual({f.code for f in failures}, {grpc.StatusCode.UNAVAILABLE},
                         {f.details for f in failures})
        slowest = max(f.seconds for f in failures)
        self.assertLess(slowest, 6.0)  # the pool's acquire timeout is 5 s
        for s in senders:
            for key in s.failed_keys():
                self.assert_all_or_nothing(s.answers[key], cost_of[key])

        self.assert_totals_exact(tenant, batches, cost_of, budget)
        kinds = collections.Counter(f.details.split(":")[0] for f in failures)
        print(f"postgres crashed: {len(acked_before)} batches acknowledged before, "
              f"{sum(1 for f in failures if f.start < crashed_at)} calls under way as the "
              f"crash began failed; "
              f"{len(failures)} UNAVAILABLE answers ({dict(kinds)}), "
              f"slowest {slowest * 1000:.0f} ms", file=sys.stderr)

    # --- 3. incident down ----------------------------------------------------

    def budget_alerts(self, tenant):
        """(incident ids, budget alerts) that incident holds for `tenant`."""
        incidents, alerts = [], []
        listed = self.incident().ListIncidents(incident_pb2.ListIncidentsRequest(tenant=tenant),
                                               timeout=5)
        for incident in listed.incidents:
            incidents.append(incident.id)
            detail = self.incident().GetIncident(incident_pb2.GetIncidentRequest(id=incident.id),
                                                 timeout=5)
            alerts += [a for a in detail.alerts if a.name == "BudgetThresholdCrossed"]
        return incidents, alerts

    def sql(self, statement):
        """Runs `statement` in the stack's database; its rows, fields split."""
        out = subprocess.run(["psql", self.stack.dsn, "-At", "-v", "ON_ERROR_STOP=1", "-c",
                              statement], check=True, capture_output=True, text=True)
        return [line.split("|") for line in out.stdout.splitlines()]

    def outbox(self, tenant):
        """(entries, most attempts) in cost's outbox for `tenant`."""
        count, attempts = self.sql(f"SELECT count(*), COALESCE(max(attempts), 0) FROM cost.outbox "
                                   f"WHERE tenant_id = '{tenant}'")[0]
        return int(count), int(attempts)

    def test_3_budget_alert_across_incident_down(self):
        tenant = f"durable-alert-{RUN}"
        unit = 1_000 * 1_000  # 1,000 input tokens of the small model
        budget = self.create_budget(tenant, 100 * unit)

        def usage(record_id, tokens):
            return cost_pb2.RecordUsageRequest(records=[cost_pb2.UsageRecord(
                record_id=record_id, time=ts(self.now), scope=common_pb2.Scope(tenant=tenant),
                llm=cost_pb2.LlmUsage(provider=PROVIDER, model="small", input_tokens=tokens))])

        self.assertEqual(self.cost().RecordUsage(usage("r1", 50_000), timeout=10)
                         .total_cost_nano_usd, 50 * unit)
        self.stack.kill_service("incident")
        # 85 %: past the 80 % threshold while incident is down.
        crossing = usage("r2", 35_000)
        self.assertEqual(self.cost().RecordUsage(crossing, timeout=10).accepted, 1)
        wait_for(lambda: self.outbox(tenant)[1] >= 1, timeout=10,
                 what="a failed delivery of the alert")
        self.assertEqual(self.outbox(tenant)[0], 1)
        # Kept aside, to be delivered a second time below.
        self.sql(f"CREATE TABLE public.saved_{RUN} AS SELECT tenant_id, destination, "
                 f"idempotency_key, payload, traceparent FROM cost.outbox "
                 f"WHERE tenant_id = '{tenant}'")
        # A replay and more usage below the next threshold add no alert.
        self.assertEqual(self.cost().RecordUsage(crossing, timeout=10).duplicates, 1)
        self.assertEqual(self.cost().RecordUsage(usage("r3", 5_000), timeout=10).accepted, 1)
        self.assertEqual(self.outbox(tenant)[0], 1)
        # cost dies too, the alert still undelivered; it comes back first.
        self.stack.kill_service("cost")
        self.stack.start_service("cost")
        self.stack.wait_ready("cost")
        self.assertEqual(self.outbox(tenant)[0], 1)
        self.stack.start_service("incident")
        self.stack.wait_ready("incident")

        incidents, alerts = wait_for(lambda: (got := self.budget_alerts(tenant))[1] and got,
                                     timeout=30, what="the budget alert in incident")
        wait_for(lambda: self.outbox(tenant)[0] == 0, timeout=10, what="an empty outbox")
        # Delivered again, as after a crash between incident's answer and the
        # entry's delete: incident takes it once (its idempotency key).
        self.sql(f"INSERT INTO cost.outbox (tenant_id, destination, idempotency_key, payload, "
                 f"traceparent) SELECT * FROM public.saved_{RUN}")
        wait_for(lambda: self.outbox(tenant)[0] == 0, timeout=10, what="the second delivery")
        time.sleep(1)  # time for a wrong second alert to arrive
        incidents, alerts = self.budget_alerts(tenant)
        self.assertEqual(len(incidents), 1)
        self.assertEqual(len(alerts), 1)
        self.assertEqual(alerts[0].labels["threshold"], "80")
        self.assertEqual(alerts[0].labels["budget_id"], budget.id)
        self.assertEqual(alerts[0].annotations["percent_used"], "85.00")
        status = self.cost().GetBudgetStatus(cost_pb2.GetBudgetStatusRequest(id=budget.id),
                                             timeout=10)
        self.assertEqual(status.spent_nano_usd, 90 * unit)
        self.assertEqual(list(status.fired_threshold_percents), [80])


if __name__ == "__main__":
    unittest.main()
