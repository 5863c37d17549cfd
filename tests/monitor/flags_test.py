"""Runs the built agentwatch-monitor with bad ingest-journal flags.

Usage: flags_test.py PATH_TO_AGENTWATCH_MONITOR. Each combination must stop the
process before it connects anywhere, with a non-zero exit and a message naming
the flag; nothing here needs Postgres or Redis.
"""
import os
import subprocess
import sys
import unittest

MONITOR = sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(
    os.environ.get("AGENTWATCH_BIN_DIR", "build/bin"), "agentwatch-monitor")


def run(*flags):
    # An address nothing listens on: a process that got past the flags would
    # fail differently (or hang until the timeout) instead of naming a flag.
    env = dict(os.environ, AGENTWATCH_PG_DSN="host=127.0.0.1 port=1 dbname=none")
    return subprocess.run([MONITOR, *flags], capture_output=True, text=True, timeout=30, env=env)


class JournalFlagsTest(unittest.TestCase):
    def assert_refused(self, flags, message):
        result = run(*flags)
        self.assertNotEqual(result.returncode, 0, result.stderr)
        self.assertIn(message, result.stderr)

    def test_sweep_age_below_a_second(self):
        for flush in ("0s", "1s"):
            self.assert_refused(["--rollup_flush_interval=" + flush, "--journal_sweep_age=0s"],
                                "--journal_sweep_age: must be at least 1s")

    def test_sweep_age_below_ten_flush_intervals(self):
        self.assert_refused(["--rollup_flush_interval=5s", "--journal_sweep_age=30s"],
                            "--journal_sweep_age: must be at least 10 x --rollup_flush_interval")

    def test_flush_interval_out_of_range(self):
        self.assert_refused(["--rollup_flush_interval=2m"],
                            "--rollup_flush_interval: must be from 0 to 1m")
        self.assert_refused(["--rollup_flush_interval=-1s"],
                            "--rollup_flush_interval: '-1s' is not a non-negative duration")


if __name__ == "__main__":
    unittest.main()
