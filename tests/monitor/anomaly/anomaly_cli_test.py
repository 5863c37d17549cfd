"""Runs the built `agentwatch anomaly --csv` on generated files.

Usage: anomaly_cli_test.py PATH_TO_AGENTWATCH. Checks the NAB output format
(timestamps copied verbatim, one score per row in [0, 1]), that an injected
spike scores high and routine points low, --out, --help, and the exit codes and
line-numbered messages for malformed input and bad flags.
"""
import math
import os
import random
import subprocess
import sys
import tempfile
import unittest

AGENTWATCH = sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(
    os.environ.get("AGENTWATCH_BIN_DIR", "build/bin"), "agentwatch")


def run(*args):
    return subprocess.run([AGENTWATCH, "anomaly", *args], capture_output=True, text=True,
                          timeout=60)


class AnomalyCliTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, text):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_scores_nab_file(self):
        rng = random.Random(1)
        lines = ["timestamp,value"]
        spike = 3000
        for i in range(4000):
            minutes = 5 * i
            stamp = "2014-04-%02d %02d:%02d:00" % (1 + minutes // 1440, minutes // 60 % 24,
                                                    minutes % 60)
            value = 50 + 10 * math.sin(2 * math.pi * minutes / 1440) + rng.gauss(0, 1)
            if i == spike:
                value += 25
            lines.append("%s,%.3f" % (stamp, value))
        path = self.write("series.csv", "\n".join(lines) + "\n")
        result = run("--csv", path)
        self.assertEqual(result.returncode, 0, result.stderr)
        out = result.stdout.splitlines()
        self.assertEqual(out[0], "timestamp,value,anomaly_score")
        self.assertEqual(len(out), len(lines))
        scores = []
        for given, written in zip(lines[1:], out[1:]):
            stamp, value, score = written.split(",")
            self.assertEqual("%s,%s" % (stamp, value), given)
            scores.append(float(score))
        self.assertTrue(all(0 <= s <= 1 for s in scores))
        self.assertEqual(max(scores[:600]), 0)  # probation: 15 % of 4000 rows
        self.assertGreater(scores[spike], 0.9)
        self.assertLess(max(scores[1500:spike] + scores[spike + 3:]), 0.3)

        out_path = os.path.join(self.dir.name, "scores.csv")
        result = run("--csv=" + path, "--out", out_path, "--probation", "100")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "")
        with open(out_path) as f:
            self.assertEqual(len(f.read().splitlines()), len(lines))

    def test_unix_seconds_without_header_and_missing_values(self):
        path = self.write("unix.csv", "1396310400,1\n1396310460,\n1396310520,nan\n")
        result = run("--csv", path)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.splitlines()[1:],
                         ["1396310400,1,0.000000", "1396310460,,0.000000",
                          "1396310520,nan,0.000000"])

    def test_malformed_rows_exit_2_naming_the_line(self):
        path = self.write("bad.csv", "timestamp,value\n2014-04-01 00:00:00,1\n"
                                     "2014-04-01 00:05:00,oops\n")
        result = run("--csv", path)
        self.assertEqual(result.returncode, 2)
        self.assertIn("line 3: value 'oops' is not a number", result.stderr)
        path = self.write("bad2.csv", "2014-04-01 00:00:00,1\n2014-04-01,2,3\n")
        result = run("--csv", path)
        self.assertEqual(result.returncode, 2)
        self.assertIn("line 2: expected 2 fields", result.stderr)

    def test_usage_errors(self):
        result = run("--help")
        self.assertEqual(result.returncode, 0)
        self.assertIn("--csv FILE", result.stdout)
        for args, message in [((), "--csv: required"), (("--csv",), "--csv: needs a value"),
                              (("--bogus",), "unknown flag --bogus"),
                              (("--csv", "x", "--probation", "-3"), "--probation")]:
            result = run(*args)
            self.assertEqual(result.returncode, 2, args)
            self.assertIn(message, result.stderr)
        result = run("--csv", os.path.join(self.dir.name, "absent.csv"))
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot read", result.stderr)


if __name__ == "__main__":
    unittest.main()
