"""Eight concurrent senders and two agentwatch-incident replicas over one
database: exactly one incident per group.

Two real incident processes share a fresh database (--group_by=service).
Eight sender threads, their connections opened beforehand, start every
round together behind a barrier; senders 0-3 talk to replica A, 4-7 to replica B, and in
each half two use gRPC ReportAlerts and two the Alertmanager webhook. Every
sender sends the same rounds, each round with groups (services) of its own
so that every round races to open them: a batch carries one alert per group
with the sender's own fingerprint, in a per-sender rotation of the group
order, and in even rounds also one alert per group with a fingerprint every
sender shares (the same alert reported by each member of an HA Alertmanager
pair). The odd rounds have no shared alert: their inserts of the same report
row would make the replicas' transactions wait for each other, and only the
group locks (with the open-group unique index behind them) keep them apart.

Afterwards both replicas list exactly one incident per group, each holding
every fingerprint of its group and one "created" entry; every report agrees
on its group's incident; and the shared alerts are accepted once in total
(all other copies are duplicates), so accepted = the number of distinct
alerts.
"""

import datetime
import http.client
import json
import os
import subprocess
import sys
import threading
import unittest
import urllib.error
import urllib.request

import grpc
from google.protobuf import timestamp_pb2

from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, free_port, psql, wait_for  # noqa: E402

TENANT = "e2e-replicas"
SENDERS = 8
GROUPS = 8
ROUNDS = 10
FLAGS = ["--group_by=service"]


class IncidentReplicasTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Only the incident service is needed: two replicas over one database.
        cls.stack = Stack(extra_flags={"incident": FLAGS})
        stack = cls.stack
        psql(stack.admin_dsn, f"CREATE DATABASE {stack.dbname}")
        stack.start_service("incident")
        stack.wait_ready("incident")
        cls.b_grpc, cls.b_http = free_port(), free_port()
        with open(os.path.join(stack.log_dir, "incident-b.log"), "ab") as log:
            stack.procs["incident-b"] = subprocess.Popen(
                [os.path.join(stack.bin_dir, "agentwatch-incident"),
                 f"--grpc_listen=127.0.0.1:{cls.b_grpc}",
                 f"--http_listen=127.0.0.1:{cls.b_http}",
                 f"--pg_dsn={stack.dsn}", f"--redis={stack.redis}",
                 "--health_probe_interval=100ms"] + FLAGS,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def b_ready():
            if stack.procs["incident-b"].poll() is not None:
                raise RuntimeError("replica B exited:\n" + stack.log_tail("incident-b"))
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{cls.b_http}/readyz",
                                            timeout=1) as response:
                    return response.status == 200
            except (urllib.error.URLError, ConnectionError, OSError):
                return False
        wait_for(b_ready, timeout=60, what="replica B ready")
        cls.grpc_addr = [stack.address("incident"), f"127.0.0.1:{cls.b_grpc}"]
        cls.http_addr = [f"http://127.0.0.1:{stack.http_port['incident']}",
                         f"http://127.0.0.1:{cls.b_http}"]

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.stop()
        unclean = {svc: code for svc, code in codes.items() if code != 0}
        if unclean:
            raise AssertionError(f"replicas did not shut down cleanly: {unclean}\n"
                                 + "\n".join(cls.stack.log_tail(s) for s in unclean))

    def alerts_of_round(self, sender, rnd, starts):
        """(fingerprint, service) pairs of one batch: own and shared per group."""
        out = []
        for k in range(GROUPS):
            g = (k + sender * 5) % GROUPS  # each sender starts on another group
            out.append((f"own-{sender}-{g}-{rnd}", f"svc-{rnd}-{g}"))
            if rnd % 2 == 0:
                out.append((f"shared-{g}-{rnd}", f"svc-{rnd}-{g}"))
        return out

    def send_grpc(self, stub, pairs, starts):
        ts = timestamp_pb2.Timestamp()
        ts.FromDatetime(starts)
        alerts = [incident_pb2.Alert(fingerprint=fp, name="ServiceDown", tenant=TENANT,
                                     status=incident_pb2.ALERT_STATUS_FIRING,
                                     labels={"service": svc}, starts_at=ts, source="e2e")
                  for fp, svc in pairs]
        response = stub.ReportAlerts(incident_pb2.ReportAlertsRequest(alerts=alerts), timeout=60)
        return response.accepted, response.duplicates, list(response.incident_ids)

    def send_webhook(self, conn, pairs, starts):
        stamp = starts.strftime("%Y-%m-%dT%H:%M:%SZ")
        alerts = [{"status": "firing", "fingerprint": fp,
                   "labels": {"alertname": "ServiceDown", "service": svc},
                   "annotations": {}, "startsAt": stamp, "endsAt": "0001-01-01T00:00:00Z",
                   "generatorURL": "http://prometheus/graph"} for fp, svc in pairs]
        body = {"version": "4", "groupKey": "{}:{alertname=\"ServiceDown\"}",
                "status": "firing", "receiver": "aw", "groupLabels": {"alertname": "ServiceDown"},
                "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am",
                "truncatedAlerts": 0, "alerts": alerts}
        conn.request("POST", f"/api/v1/alerts/alertmanager?tenant={TENANT}",
                     body=json.dumps(body), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        text = response.read().decode(errors="replace")
        if response.status != 200:
            raise AssertionError(f"webhook answered {response.status}: {text}")
        answer = json.loads(text)
        return answer["accepted"], answer["duplicates"], list(answer["incident_ids"])

    def test_eight_senders_two_replicas_one_incident_per_group(self):
        starts = (datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
                  - datetime.timedelta(minutes=1))
        barrier = threading.Barrier(SENDERS)
        results = [[] for _ in range(SENDERS)]  # per sender: (pairs, accepted, dups, ids)
        errors = []

        def sender(i):
            replica = 0 if i < SENDERS // 2 else 1
            use_grpc = i % 2 == 0
            channel = grpc.insecure_channel(self.grpc_addr[replica])
            stub = incident_pb2_grpc.IncidentServiceStub(channel)
            host, port = self.http_addr[replica][len("http://"):].split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            try:
                # Connections first, so that the first batches meet.
                if use_grpc:
                    grpc.channel_ready_future(channel).result(timeout=30)
                else:
                    conn.connect()
                for rnd in range(ROUNDS):
                    barrier.wait(timeout=60)  # every round starts together
                    pairs = self.alerts_of_round(i, rnd, starts)
                    if use_grpc:
                        got = self.send_grpc(stub, pairs, starts)
                    else:
                        got = self.send_webhook(conn, pairs, starts)
                    results[i].append((pairs,) + got)
            except Exception as e:  # reported by the main thread
                errors.append(f"sender {i}: {e!r}")
                barrier.abort()
            finally:
                channel.close()
                conn.close()

        threads = [threading.Thread(target=sender, args=(i,)) for i in range(SENDERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        self.assertFalse(any(t.is_alive() for t in threads), "a sender did not finish")
        self.assertEqual(errors, [])

        # Every report names its group's one incident, whichever replica took it.
        incident_of_group = {}
        accepted = duplicates = 0
        for i in range(SENDERS):
            self.assertEqual(len(results[i]), ROUNDS)
            for pairs, acc, dup, ids in results[i]:
                accepted += acc
                duplicates += dup
                self.assertEqual(len(ids), len(pairs))
                for (fp, svc), incident_id in zip(pairs, ids):
                    self.assertTrue(incident_id, f"{fp} got no incident")
                    self.assertEqual(incident_of_group.setdefault(svc, incident_id), incident_id,
                                     f"{fp} of {svc} joined another incident")
        self.assertEqual(len(incident_of_group), GROUPS * ROUNDS)
        self.assertEqual(len(set(incident_of_group.values())), GROUPS * ROUNDS)
        shared_rounds = (ROUNDS + 1) // 2
        self.assertEqual(accepted, SENDERS * GROUPS * ROUNDS + GROUPS * shared_rounds)
        self.assertEqual(duplicates, (SENDERS - 1) * GROUPS * shared_rounds)

        # Both replicas read the same: one open incident per group, every
        # fingerprint of the group on it, no other incident.
        for addr in self.grpc_addr:
            with grpc.insecure_channel(addr) as channel:
                stub = incident_pb2_grpc.IncidentServiceStub(channel)
                listed, token = [], ""
                while True:
                    page = stub.ListIncidents(incident_pb2.ListIncidentsRequest(
                        tenant=TENANT, page_size=50, page_token=token), timeout=30)
                    listed += [i.id for i in page.incidents]
                    token = page.next_page_token
                    if not token:
                        break
                self.assertEqual(sorted(listed), sorted(incident_of_group.values()), addr)
                for svc, incident_id in incident_of_group.items():
                    detail = stub.GetIncident(incident_pb2.GetIncidentRequest(id=incident_id),
                                              timeout=30)
                    self.assertEqual(detail.incident.status, incident_pb2.INCIDENT_STATUS_TRIGGERED)
                    r, g = svc[len("svc-"):].split("-")
                    want = {f"own-{s}-{g}-{r}" for s in range(SENDERS)}
                    if int(r) % 2 == 0:
                        want.add(f"shared-{g}-{r}")
                    self.assertEqual({a.fingerprint for a in detail.alerts}, want, svc)
                    opened = [e for e in detail.timeline if e.kind == "created"]
                    self.assertEqual(len(opened), 1, [e.kind for e in detail.timeline])


if __name__ == "__main__":
    unittest.main(verbosity=2)
