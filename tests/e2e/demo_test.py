"""`agentwatch demo` against the four real services: every injected fault detected.

The demo back-fills three days of simulated agent traffic, then injects an
error burst (whose incident pages on-call and escalates), a latency
regression, a cost runaway and a traffic ramp, and exits with the number of faults it did not see detected. The transcript is
printed (it is what a new user sees after scripts/up).
"""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stack import Stack, stop_cleanly  # noqa: E402


class DemoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack().start()

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.stack)

    def test_every_fault_is_detected(self):
        s = self.stack
        result = subprocess.run(
            [os.path.join(s.bin_dir, "agentwatch"), "demo", "--wait=60s",
             f"--monitor_addr={s.address('monitor')}", f"--incident_addr={s.address('incident')}",
             f"--cost_addr={s.address('cost')}", f"--capacity_addr={s.address('capacity')}"],
            capture_output=True, text=True, timeout=900)
        print(result.stdout)
        print(result.stderr, file=sys.stderr)
        self.assertEqual(result.returncode, 0, "faults not detected: see the transcript above")
        for line in ("fault 1: error burst", "fault 2: latency regression",
                     "fault 3: cost runaway", "fault 4: traffic ramp", "== summary"):
            self.assertIn(line, result.stdout)
        self.assertNotIn("NOT DETECTED", result.stdout)
        self.assertIn("WorkflowErrorRateHigh", result.stdout)
        self.assertIn("BudgetThresholdCrossed", result.stdout)
        self.assertIn("CheckBudget denies", result.stdout)
        # The error-burst incident pages alice, escalates to bob, who acknowledges.
        self.assertRegex(result.stdout, r"paged alice \(on call, tier 0\) by webhook")
        self.assertRegex(result.stdout, r"paged bob \(team lead, tier 1\) by webhook")
        self.assertRegex(result.stdout, r"bob acknowledged \S+: escalation stops")
        self.assertRegex(result.stdout, r"[1-9]\d* pages received")


if __name__ == "__main__":
    unittest.main(verbosity=2)
