#!/usr/bin/python3
"""Runs `agentwatch forecast --csv` (the built binary, argv[1]) on generated
CSVs: output shape, timestamps in the input's style, values close to the known
series, ordered intervals, and line-numbered errors with exit code 2."""
import datetime
import math
import os
import subprocess
import sys
import tempfile
import unittest

BINARY = sys.argv.pop(1) if len(sys.argv) > 1 else os.environ.get("AGENTWATCH_CLI", "agentwatch")
START = 1_700_006_400  # a midnight, UTC
HOUR = 3600


def truth(i):
    """Trend + daily cycle at an hourly step, deterministic."""
    return 500 + 0.5 * i + 80 * math.sin(2 * math.pi * i / 24) + 5 * math.sin(i * 1.7)


def run(*args):
    return subprocess.run([BINARY, "forecast", *args], capture_output=True, text=True, timeout=60)


class ForecastCsvTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, lines):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def parse(self, text):
        lines = text.strip().split("\n")
        self.assertEqual(lines[0], "timestamp,forecast,lower_80,upper_80,lower_95,upper_95")
        rows = [line.split(",") for line in lines[1:]]
        for row in rows:
            self.assertEqual(len(row), 6)
            # Nested intervals; from backtest error quantiles they may sit
            # off-centre (a biased model), so the point is not checked inside.
            lo95, lo80, up80, up95 = (float(row[i]) for i in (4, 2, 3, 5))
            self.assertLessEqual(lo95, lo80)
            self.assertLessEqual(lo80, up80)
            self.assertLessEqual(up80, up95)
        return rows

    def test_unix_seconds_with_header_gaps_and_a_duration_horizon(self):
        n = 24 * 21
        lines = ["timestamp,value"]
        for i in range(n):
            value = "" if i in (100, 101, 300) else "%.4f" % truth(i)
            lines.append("%d,%s" % (START + i * HOUR, value))
        path = self.write("unix.csv", lines)
        done = run("--csv", path, "--horizon", "1d")
        self.assertEqual(done.returncode, 0, done.stderr)
        rows = self.parse(done.stdout)
        self.assertEqual(len(rows), 24)
        for h, row in enumerate(rows, start=1):
            self.assertEqual(int(row[0]), START + (n - 1 + h) * HOUR)
            self.assertAlmostEqual(float(row[1]), truth(n - 1 + h), delta=12)
        self.assertIn("model ", done.stderr)
        self.assertIn("3 imputed", done.stderr)

    def test_datetime_style_forced_model_and_out_file(self):
        n = 24 * 14
        lines = []
        for i in range(n):
            t = datetime.datetime.fromtimestamp(START + i * HOUR, datetime.timezone.utc)
            lines.append("%s,%.4f" % (t.strftime("%Y-%m-%d %H:%M:%S"), truth(i)))
        path = self.write("datetime.csv", lines)
        out = os.path.join(self.dir.name, "out.csv")
        done = run("--csv", path, "--horizon", "30", "--model", "seasonal_naive", "--out", out)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, "")
        with open(out) as f:
            rows = self.parse(f.read())
        self.assertEqual(len(rows), 30)
        first = datetime.datetime.fromtimestamp(START + n * HOUR, datetime.timezone.utc)
        self.assertEqual(rows[0][0], first.strftime("%Y-%m-%d %H:%M:%S"))
        # Seasonal naive repeats the value one day earlier.
        self.assertAlmostEqual(float(rows[0][1]), truth(n - 24), delta=1e-3)
        self.assertIn("model seasonal_naive", done.stderr)

    def test_rfc3339_and_daily_dates(self):
        lines = ["2024-01-01T%02d:00:00Z,%d" % (h, 10 + h % 3) for h in range(24)]
        done = run("--csv", self.write("rfc.csv", lines), "--horizon", "2")
        self.assertEqual(done.returncode, 0, done.stderr)
        rows = self.parse(done.stdout)
        self.assertEqual([r[0] for r in rows], ["2024-01-02T00:00:00Z", "2024-01-02T01:00:00Z"])

        day0 = datetime.date(2023, 1, 2)
        lines = ['"ds","y"'] + [
            '"%s",%d' % (day0 + datetime.timedelta(days=d), 100 - (40 if d % 7 >= 5 else 0))
            for d in range(70)]
        done = run("--csv", self.write("daily.csv", lines), "--horizon", "7")
        self.assertEqual(done.returncode, 0, done.stderr)
        rows = self.parse(done.stdout)
        self.assertEqual(rows[0][0], str(day0 + datetime.timedelta(days=70)))
        for d, row in enumerate(rows, start=70):
            self.assertAlmostEqual(float(row[1]), 100 - (40 if d % 7 >= 5 else 0), delta=1)

    def test_errors_name_the_line_and_exit_2(self):
        good = ["%d,%d" % (START + i * HOUR, i) for i in range(30)]
        cases = [
            (good[:5] + ["%d,abc" % (START + 5 * HOUR)] + good[6:], ":6: value 'abc'"),
            (good[:3] + [good[1]] + good[4:], ":4: timestamp"),
            (good[:2] + ["yesterday,5"] + good[3:], ":3: timestamp 'yesterday'"),
            (good[:7] + ["%d" % (START + 7 * HOUR)] + good[8:], ":8: expected two fields"),
        ]
        for lines, message in cases:
            done = run("--csv", self.write("bad.csv", lines), "--horizon", "3")
            self.assertEqual(done.returncode, 2, done.stderr)
            self.assertIn(message, done.stderr)
            self.assertEqual(done.stdout, "")
        path = self.write("good.csv", good)
        for args, message in [
            (["--csv", path], "--horizon"),
            (["--csv", path, "--horizon", "0"], "--horizon"),
            (["--csv", path, "--horizon", "soon"], "--horizon"),
            (["--csv", path, "--horizon", "3", "--model", "prophet"], "model"),
            (["--csv", os.path.join(self.dir.name, "missing.csv"), "--horizon", "3"], "cannot open"),
            (["--csv", self.write("short.csv", good[:5]), "--horizon", "3"], "history"),
        ]:
            done = run(*args)
            self.assertEqual(done.returncode, 2, (args, done.stderr))
            self.assertIn(message, done.stderr)

    def test_help_documents_the_horizon_in_steps_of_the_input(self):
        done = run("--csv", "any.csv", "--help")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("steps of the input's own frequency", done.stdout)
        self.assertIn("--horizon 288 for 5-minute data", done.stdout)
        self.assertIn("seasonal_ar", done.stdout)

    def test_quoted_daily_dates_with_missing_days_and_nan(self):
        # As Prophet's example files: a quoted header and quoted dates, whole
        # days missing, a NaN value; one step is one day.
        day0 = datetime.date(2023, 1, 2)
        lines = ['"ds","y"']
        for d in range(120):
            if d in (30, 31, 77):
                continue
            value = "NaN" if d == 50 else "%.3f" % (8 + (0.5 if d % 7 == 0 else 0) + 0.01 * (d % 3))
            lines.append('"%s",%s' % (day0 + datetime.timedelta(days=d), value))
        done = run("--csv", self.write("daily.csv", lines), "--horizon", "1")
        self.assertEqual(done.returncode, 0, done.stderr)
        rows = self.parse(done.stdout)
        self.assertEqual([r[0] for r in rows], [str(day0 + datetime.timedelta(days=120))])
        self.assertIn("step 24h", done.stderr)
        self.assertIn("4 imputed", done.stderr)
        # Day 120 is a Monday-phase day (120 % 7 == 1): close to 8.
        self.assertAlmostEqual(float(rows[0][1]), 8 + 0.01 * (120 % 3), delta=0.2)


if __name__ == "__main__":
    unittest.main()
