"""Starts the four agentwatch services as real processes for end-to-end tests.

Each stack gets a fresh database on the test Postgres server
(AGENTWATCH_TEST_PG_DSN), the test Redis (AGENTWATCH_TEST_REDIS), free
loopback ports, and its own log files; stop() terminates the processes with
SIGTERM and drops the database.
"""

import collections
import datetime
import http.server
import os
import random
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import grpc
from google.protobuf import timestamp_pb2

SERVICES = ("monitor", "incident", "cost", "capacity")
# Which peers each service calls: it gets a --<peer>_addr flag for each.
PEERS = {"monitor": ("incident", "cost"), "incident": ("capacity",), "cost": ("incident", "monitor"), "capacity": ("monitor", "incident")}


def require_env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run the tests through scripts/test")
    return value


# Ports handed out by this process (never twice).
_given_ports = set()


def free_port():
    """A loopback port free now, below the kernel's ephemeral range.

    A port the kernel picks for bind(("127.0.0.1", 0)) comes from the
    ephemeral range, which outgoing connections (Postgres, Redis, gRPC
    clients of the tests running meanwhile) also draw from: one of them
    could take it before the service binds it ("Address already in use").
    Ports below the range are never given to outgoing connections.
    """
    low, high = 20000, 32000
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            high = min(high, int(f.read().split()[0]))
    except (OSError, ValueError, IndexError):
        pass
    for _ in range(1000):
        port = random.randrange(low, high)
        if port in _given_ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given_ports.add(port)
        return port
    raise RuntimeError(f"no free loopback port in [{low}, {high})")


def ts(when):
    """A datetime as a google.protobuf.Timestamp."""
    t = timestamp_pb2.Timestamp()
    t.FromDatetime(when)
    return t


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def now_outside_month_end(margin=datetime.timedelta(minutes=3)):
    """now_utc() to the second, first waiting out the end of the month when it
    is closer than `margin`, so that a monthly budget's period cannot end
    during the test that follows."""
    now = now_utc().replace(microsecond=0)
    month_end = (now.replace(day=28) + datetime.timedelta(days=4)).replace(
        day=1, hour=0, minute=0, second=0)
    if month_end - now < margin:
        time.sleep((month_end - now).total_seconds() + 1)
        now = now_utc().replace(microsecond=0)
    return now


def upsert_prices(cost, provider, models, effective):
    """Prices each of `models` ({model: (input, output) nano-USD per token}) of
    `provider` from `effective` on, through cost's UpsertPrice."""
    from agentwatch.cost.v1 import cost_pb2
    for model, (inputs, outputs) in models.items():
        cost.UpsertPrice(cost_pb2.UpsertPriceRequest(price=cost_pb2.Price(
            provider=provider, model=model, effective_time=ts(effective),
            input_per_million_nano_usd=inputs * 1_000_000,
            output_per_million_nano_usd=outputs * 1_000_000)), timeout=10)


def sums_by_label(monitor, tenant, metric, label):
    """{label value: sum of every sample of `metric`} for `tenant`, through
    monitor's QuerySeries (SUM in hour steps from an hour ago to 5 minutes
    ahead)."""
    from google.protobuf import duration_pb2
    from agentwatch.common.v1 import common_pb2
    from agentwatch.monitor.v1 import monitor_pb2
    now = now_utc()
    response = monitor.QuerySeries(monitor_pb2.QuerySeriesRequest(
        metric=metric, tenant=tenant, group_by=[label],
        aggregation=monitor_pb2.AGGREGATION_SUM, step=duration_pb2.Duration(seconds=3600),
        range=common_pb2.TimeRange(start=ts(now - datetime.timedelta(hours=1)),
                                   end=ts(now + datetime.timedelta(minutes=5)))),
        timeout=10)
    sums = collections.Counter()
    for series in response.series:
        sums[series.labels[label]] += sum(p.value for p in series.points)
    return sums


def psql(dsn, sql):
    subprocess.run(["psql", dsn, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True,
                   stdout=subprocess.DEVNULL)


def dsn_with_db(dsn, dbname):
    parts = [p for p in dsn.split() if not p.startswith("dbname=")]
    return " ".join(parts + [f"dbname={dbname}"])


class PrivatePostgres:
    """A Postgres server of the test's own (initdb in a temp dir, run as the
    postgres user with AGENTWATCH_TEST_PG_BINDIR's binaries, C locale, fsync
    and synchronous_commit on), for tests that crash or restart the database
    under running services without disturbing the shared test server."""

    def __init__(self):
        self.bindir = require_env("AGENTWATCH_TEST_PG_BINDIR")
        self.dir = tempfile.mkdtemp(prefix="aw_e2e_pg_")
        self.port = free_port()
        self.dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        self.running = False
        subprocess.run(["chown", "postgres:", self.dir], check=True)
        os.chmod(self.dir, 0o700)
        self._pg("initdb", "-D", f"{self.dir}/data", "-U", "postgres", "--auth=trust",
                 "--locale=C", "--encoding=UTF8")

    def _pg(self, tool, *args):
        with open(os.path.join(self.dir, f"{tool}.log"), "ab") as log:
            subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(self.bindir, tool),
                            *args], check=True, stdout=log, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL)

    def start(self):
        self._pg("pg_ctl", "-w", "-t", "60", "-D", f"{self.dir}/data",
                 "-l", f"{self.dir}/server.log",
                 "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
                       " -c max_connections=200", "start")
        self.running = True
        return self

    def crash(self):
        """Stops the server without a checkpoint (pg_ctl -m immediate): every
        connection drops and the next start replays the WAL, as after a crash."""
        self._pg("pg_ctl", "-w", "-D", f"{self.dir}/data", "-m", "immediate", "stop")
        self.running = False

    def stop(self):
        if self.running:
            self._pg("pg_ctl", "-w", "-D", f"{self.dir}/data", "-m", "fast", "stop")
            self.running = False
        subprocess.run(["rm", "-rf", self.dir], check=False)


class PrivateRedis:
    """A Redis of the test's own (no persistence) that can be killed and
    started again on the same port, empty: Redis lost, as the services must
    survive it (DESIGN.md: a cache and a coordinator, never the only copy)."""

    def __init__(self):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.dir = tempfile.mkdtemp(prefix="aw_e2e_redis_")
        self.proc = None

    def start(self):
        log = open(os.path.join(self.dir, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.settimeout(0.5)
                try:
                    s.connect(("127.0.0.1", self.port))
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"redis on {self.address} did not start")

    def kill(self):
        """SIGKILL: every connection drops and the data is gone."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self):
        self.kill()
        subprocess.run(["rm", "-rf", self.dir], check=False)


class WebhookReceiver:
    """Records every POST (path, headers, body) and answers 200."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append((self.path, dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path):
        with self.lock:
            return [r for r in self.requests if r[0] == path]

    def bodies(self, path):
        """The bodies POSTed to `path`, as text."""
        return [body.decode(errors="replace") for _, _, body in self.on(path)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Stack:
    def __init__(self, extra_flags=None, admin_dsn=None, redis=None):
        self.bin_dir = require_env("AGENTWATCH_BIN_DIR")
        # admin_dsn: a PrivatePostgres' dsn for tests that restart the database.
        self.admin_dsn = admin_dsn or require_env("AGENTWATCH_TEST_PG_DSN")
        # redis: a PrivateRedis' address for tests that kill Redis.
        self.redis = redis or require_env("AGENTWATCH_TEST_REDIS")
        self.extra_flags = extra_flags or {}
        self.dbname = f"aw_e2e_{random.getrandbits(48):x}"
        self.dsn = dsn_with_db(self.admin_dsn, self.dbname)
        self.log_dir = tempfile.mkdtemp(prefix="aw_e2e_logs_")
        self.grpc_port = {svc: free_port() for svc in SERVICES}
        self.http_port = {svc: free_port() for svc in SERVICES}
        self.procs = {}
        self.channels = {}

    def address(self, svc):
        return f"127.0.0.1:{self.grpc_port[svc]}"

    def start(self):
        psql(self.admin_dsn, f"CREATE DATABASE {self.dbname}")
        for svc in SERVICES:
            self.start_service(svc)
        for svc in SERVICES:
            self.wait_ready(svc)
        return self

    def start_service(self, svc):
        flags = [
            f"--grpc_listen=127.0.0.1:{self.grpc_port[svc]}",
            f"--http_listen=127.0.0.1:{self.http_port[svc]}",
            f"--pg_dsn={self.dsn}",
            f"--redis={self.redis}",
            "--health_probe_interval=100ms",
        ]
        flags += [f"--{peer}_addr={self.address(peer)}" for peer in PEERS[svc]]
        flags += self.extra_flags.get(svc, [])
        with open(os.path.join(self.log_dir, f"{svc}.log"), "ab") as log:
            self.procs[svc] = subprocess.Popen(
                [os.path.join(self.bin_dir, f"agentwatch-{svc}")] + flags,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_ready(self, svc, timeout=60):
        url = f"http://127.0.0.1:{self.http_port[svc]}/readyz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[svc].poll() is not None:
                raise RuntimeError(f"{svc} exited with {self.procs[svc].returncode}:\n"
                                   + self.log_tail(svc))
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{svc} not ready after {timeout}s:\n" + self.log_tail(svc))

    def stop_service(self, svc):
        proc = self.procs.pop(svc, None)
        if proc is None:
            return None
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"{svc} did not stop within 20s of SIGTERM")

    def kill_service(self, svc):
        """SIGKILL: the process dies at once, mid-transaction, with nothing
        flushed or closed, as in a crash or an OOM kill. Returns its exit code."""
        proc = self.procs.pop(svc, None)
        if proc is None:
            return None
        proc.kill()
        code = proc.wait()
        channel = self.channels.pop(svc, None)
        if channel is not None:
            channel.close()
        return code

    def channel(self, svc):
        if svc not in self.channels:
            self.channels[svc] = grpc.insecure_channel(self.address(svc))
        return self.channels[svc]

    def grpc_health(self, svc):
        """grpc.health.v1.Health/Check for the whole server: SERVING or NOT_SERVING.

        The messages are tiny, so they are encoded by hand rather than generated
        (a generated `grpc.health` package would clash with grpcio's own).
        """
        check = self.channel(svc).unary_unary("/grpc.health.v1.Health/Check")
        raw = check(b"", timeout=5)  # empty HealthCheckRequest
        status = raw[1] if len(raw) >= 2 and raw[0] == 0x08 else 0
        return {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING"}.get(status, str(status))

    def log_tail(self, svc, lines=40):
        path = os.path.join(self.log_dir, f"{svc}.log")
        try:
            with open(path, "rb") as f:
                return b"".join(f.readlines()[-lines:]).decode(errors="replace")
        except OSError:
            return "(no log)"

    def http_get(self, svc, path):
        url = f"http://127.0.0.1:{self.http_port[svc]}{path}"
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()

    def stop(self):
        for channel in self.channels.values():
            channel.close()
        codes = {svc: self.stop_service(svc) for svc in list(self.procs)}
        try:
            psql(self.admin_dsn, f"DROP DATABASE IF EXISTS {self.dbname} WITH (FORCE)")
        except subprocess.CalledProcessError:
            pass
        return codes


def stop_cleanly(stack):
    """Stops `stack`; raises AssertionError (with the logs) unless every service
    shut down cleanly on SIGTERM, exiting 0."""
    codes = stack.stop()
    unclean = {svc: code for svc, code in codes.items() if code != 0}
    if unclean:
        logs = "\n".join(f"--- {svc}:\n{stack.log_tail(svc)}" for svc in unclean)
        raise AssertionError(f"services did not shut down cleanly: {unclean}\n{logs}")


def wait_for(predicate, timeout=30, interval=0.1, what="condition"):
    """Polls predicate() until it returns a truthy value; returns that value."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except grpc.RpcError as e:  # a peer may still be warming up
            last_error = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                         + (f" (last error: {last_error})" if last_error else ""))
