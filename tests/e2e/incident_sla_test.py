"""SLA end to end: response targets and breach tracking with two
agentwatch-incident replicas over one database.

A tenant's policy is set over gRPC on one replica (P1: acknowledge within
2 s) and read back from the other. Three incidents open: a P1 nobody
acknowledges, a P1 acknowledged at once and a P2 (2 h). Both replicas run the
SLA tracker every 200 ms; the unacknowledged P1 must show sla_breached with
its due time on either replica, its timeline must hold exactly one
"sla_breached" entry, the other two none, and GetStats must count one
breach. Bad policies are refused naming the field.
"""

import os
import subprocess
import sys
import time
import unittest

import grpc
from google.protobuf import duration_pb2

from agentwatch.common.v1 import common_pb2
from agentwatch.incident.v1 import incident_pb2, incident_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, free_port, stop_cleanly, wait_for  # noqa: E402

TENANT = "e2e-sla"
INCIDENT_FLAGS = ["--sla_interval=200ms"]


def seconds(ts):
    return ts.seconds + ts.nanos / 1e9


class IncidentSlaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(extra_flags={"incident": INCIDENT_FLAGS}).start()
        stack = cls.stack
        replica = "incident-replica"
        replica_grpc = free_port()
        with open(os.path.join(stack.log_dir, f"{replica}.log"), "ab") as log:
            stack.procs[replica] = subprocess.Popen(
                [os.path.join(stack.bin_dir, "agentwatch-incident"),
                 f"--grpc_listen=127.0.0.1:{replica_grpc}",
                 f"--http_listen=127.0.0.1:{free_port()}",
                 f"--pg_dsn={stack.dsn}", f"--redis={stack.redis}",
                 "--health_probe_interval=100ms"] + INCIDENT_FLAGS,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        cls.replica_channel = grpc.insecure_channel(f"127.0.0.1:{replica_grpc}")
        grpc.channel_ready_future(cls.replica_channel).result(timeout=30)
        if stack.procs[replica].poll() is not None:
            raise RuntimeError("the second incident replica exited:\n" + stack.log_tail(replica))
        cls.incident = incident_pb2_grpc.IncidentServiceStub(stack.channel("incident"))
        cls.replica = incident_pb2_grpc.IncidentServiceStub(cls.replica_channel)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.replica_channel.close()
        finally:
            stop_cleanly(cls.stack)

    def report(self, fingerprint, severity):
        alert = incident_pb2.Alert(fingerprint=fingerprint, name=f"Alert{fingerprint}",
                                   tenant=TENANT, severity=severity,
                                   status=incident_pb2.ALERT_STATUS_FIRING,
                                   labels={"service": "checkout"}, source="e2e")
        response = self.incident.ReportAlerts(incident_pb2.ReportAlertsRequest(alerts=[alert]),
                                              timeout=10)
        return response.incident_ids[0]

    def detail(self, stub, incident_id):
        return stub.GetIncident(incident_pb2.GetIncidentRequest(id=incident_id), timeout=10)

    def breach_entries(self, incident_id):
        return [e for e in self.detail(self.incident, incident_id).timeline
                if e.kind == "sla_breached"]

    def test_breach_recorded_once_across_replicas(self):
        policy = incident_pb2.SlaPolicy(tenant=TENANT, targets=[incident_pb2.SeverityTarget(
            severity=common_pb2.SEVERITY_P1, acknowledge_within=duration_pb2.Duration(seconds=2))])
        updated = self.incident.UpdateSlaPolicy(
            incident_pb2.UpdateSlaPolicyRequest(policy=policy), timeout=10)
        self.assertEqual(len(updated.targets), 4)
        self.assertTrue(updated.HasField("update_time"))
        # The other replica reads the same policy.
        read = self.replica.GetSlaPolicy(incident_pb2.GetSlaPolicyRequest(tenant=TENANT),
                                         timeout=10)
        self.assertEqual(read.targets[1].acknowledge_within.seconds, 2)
        self.assertEqual(read.targets[0].acknowledge_within.seconds, 15 * 60)
        self.assertTrue(read.targets[3].next_business_day)

        late = self.report("late", common_pb2.SEVERITY_P1)
        acked = self.report("acked", common_pb2.SEVERITY_P1)
        calm = self.report("calm", common_pb2.SEVERITY_P2)
        self.incident.AcknowledgeIncident(
            incident_pb2.AcknowledgeIncidentRequest(id=acked, actor="alice"), timeout=10)

        incident = self.detail(self.replica, late).incident
        self.assertEqual(incident.response_target.seconds, 2)
        self.assertAlmostEqual(seconds(incident.acknowledge_due_time),
                               seconds(incident.create_time) + 2, places=5)
        self.assertFalse(incident.sla_breached)

        breached = wait_for(
            lambda: self.detail(self.replica, late).incident.sla_breached, timeout=20,
            what="the unacknowledged P1 to breach its target")
        self.assertTrue(breached)
        # Let both replicas scan many more times.
        time.sleep(2)
        entries = self.breach_entries(late)
        self.assertEqual(len(entries), 1, entries)
        self.assertEqual(entries[0].actor, "system")
        self.assertEqual(entries[0].details["target"], "acknowledge")
        incident = self.detail(self.incident, late).incident
        self.assertEqual(seconds(incident.sla_breach_time), seconds(incident.acknowledge_due_time))
        self.assertEqual(self.breach_entries(acked), [])
        self.assertEqual(self.breach_entries(calm), [])
        self.assertFalse(self.detail(self.incident, calm).incident.sla_breached)

        request = incident_pb2.GetStatsRequest(tenant=TENANT)
        request.range.start.FromSeconds(int(seconds(incident.create_time)) - 3600)
        stats = self.replica.GetStats(request, timeout=10)
        self.assertEqual(stats.overall.sla_breaches, 1)
        self.assertEqual(stats.overall.incident_count, 3)

    def test_bad_policies_are_rejected_naming_the_field(self):
        zero = incident_pb2.SlaPolicy(tenant=TENANT, targets=[incident_pb2.SeverityTarget(
            severity=common_pb2.SEVERITY_P0)])
        with self.assertRaises(grpc.RpcError) as error:
            self.incident.UpdateSlaPolicy(incident_pb2.UpdateSlaPolicyRequest(policy=zero),
                                          timeout=10)
        self.assertEqual(error.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("policy.targets[0].acknowledge_within", error.exception.details())
        zone = incident_pb2.SlaPolicy(tenant=TENANT, business_hours=common_pb2.WeeklyWindow(
            start_minute=540, end_minute=1020, time_zone="Nowhere/Town"))
        with self.assertRaises(grpc.RpcError) as error:
            self.incident.UpdateSlaPolicy(
                incident_pb2.UpdateSlaPolicyRequest(policy=zone), timeout=10)
        self.assertEqual(error.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("policy.business_hours.time_zone", error.exception.details())


if __name__ == "__main__":
    unittest.main()
