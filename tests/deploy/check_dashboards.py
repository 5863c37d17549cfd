#!/usr/bin/python3
"""Validates the Grafana dashboards and the Prometheus rules against the real services.

    check_dashboards.py [--metrics DIR] [--dsn DSN --tenant T] [--rules FILE]

Always: every dashboard parses, has a unique uid and title, panels with unique ids inside the
24-column grid, data sources that are provisioned, and every PromQL expression parses (each is
checked by `promtool check rules` as a recording rule, Grafana variables substituted).
--metrics DIR (files of /metrics expositions scraped from the running services): every metric
a dashboard or the rules name exists in them, and every __name__ regex matches one.
--dsn: every SQL query (panels and variables, Grafana macros substituted) runs without error
against a database the services migrated, in a read-only transaction, with $tenant = --tenant.
Exit status 0 only if all checks pass.
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATASOURCES = os.path.join(ROOT, "deploy/grafana/provisioning/datasources/agentwatch.yml")
SUFFIXES = ("_bucket", "_sum", "_count")
errors = []


def fail(where, message):
    errors.append(f"{where}: {message}")


def load_dashboards(directory):
    boards = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        name = os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as f:
                boards[name] = json.load(f)
        except (OSError, ValueError) as error:
            fail(name, f"does not parse: {error}")
    if not boards:
        fail(directory, "no dashboards")
    return boards


def walk_panels(panels):
    for panel in panels:
        yield panel
        yield from walk_panels(panel.get("panels", []))


def check_structure(boards):
    with open(DATASOURCES, encoding="utf-8") as f:
        provisioned = {d["uid"]: d["type"] for d in yaml.safe_load(f)["datasources"]}
    uids, titles = set(), set()
    for name, board in boards.items():
        for key in ("uid", "title", "schemaVersion", "panels", "time", "templating"):
            if key not in board:
                fail(name, f"missing '{key}'")
        if board.get("uid") in uids or board.get("title") in titles:
            fail(name, "uid or title used twice")
        uids.add(board.get("uid"))
        titles.add(board.get("title"))
        if len(board.get("uid", "")) > 40:
            fail(name, "uid longer than 40 characters")
        ids = set()
        variables = {v["name"] for v in board.get("templating", {}).get("list", [])}
        for var in board.get("templating", {}).get("list", []):
            ds = var.get("datasource")
            if ds and provisioned.get(ds.get("uid")) != ds.get("type"):
                fail(name, f"variable {var['name']}: data source {ds} is not provisioned")
        for panel in walk_panels(board.get("panels", [])):
            where = f"{name} panel {panel.get('id')} '{panel.get('title')}'"
            if panel.get("id") in ids:
                fail(where, "duplicate panel id")
            ids.add(panel.get("id"))
            pos = panel.get("gridPos", {})
            if not all(k in pos for k in ("x", "y", "w", "h")) or pos["x"] + pos["w"] > 24:
                fail(where, f"bad gridPos {pos}")
            if panel.get("type") == "row":
                continue
            if not panel.get("targets"):
                fail(where, "no targets")
            for target in panel.get("targets", []):
                ds = target.get("datasource", {})
                if provisioned.get(ds.get("uid")) != ds.get("type"):
                    fail(where, f"data source {ds} is not provisioned")
                text = target.get("expr", "") + target.get("rawSql", "")
                for used in re.findall(r"\$([a-z_]+)", text):
                    if not used.startswith("__") and used not in variables:
                        fail(where, f"uses undefined variable ${used}")


def promql_of(boards):
    for name, board in boards.items():
        for panel in walk_panels(board.get("panels", [])):
            for target in panel.get("targets", []):
                if "expr" in target:
                    yield f"{name} panel {panel['id']} {target['refId']}", target["expr"]


def substitute_promql(expr):
    return (expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
            .replace("$service", ".*"))


def check_promql(boards):
    exprs = list(promql_of(boards))
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": f"dashboard:expr_{i}", "expr": substitute_promql(e)}
        for i, (_, e) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump(rules, f)
        path = f.name
    try:
        result = subprocess.run(["promtool", "check", "rules", path], capture_output=True,
                                text=True)
    finally:
        os.unlink(path)
    if result.returncode != 0:
        fail("dashboards PromQL", (result.stdout + result.stderr).strip())
    return len(exprs)


def metric_names(expr):
    """Plain metric names and __name__ regexes referenced by a PromQL expression (names of
    recording rules, agentwatch:..., are not metrics the services expose)."""
    regexes = set(re.findall(r'__name__\s*=~\s*"([^"]+)"', expr))
    plain = set(re.findall(r"\b(agentwatch_[a-z0-9_]+)\b",
                           re.sub(r'__name__\s*=~\s*"[^"]+"', "", expr)))
    return plain, regexes


def check_metric_names(boards, rules_file, metrics_dir):
    exposed = set()
    for path in glob.glob(os.path.join(metrics_dir, "*.txt")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("# TYPE "):
                    exposed.add(line.split()[2])
    if not exposed:
        fail(metrics_dir, "no metrics scraped")
        return 0
    sources = [(where, expr) for where, expr in promql_of(boards)]
    with open(rules_file, encoding="utf-8") as f:
        for group in yaml.safe_load(f)["groups"]:
            for rule in group["rules"]:
                sources.append((f"rule {rule.get('alert') or rule.get('record')}", rule["expr"]))
    checked = 0
    for where, expr in sources:
        plain, regexes = metric_names(expr)
        for name in plain:
            base = name
            for suffix in SUFFIXES:
                if name.endswith(suffix) and name[: -len(suffix)] in exposed:
                    base = name[: -len(suffix)]
            checked += 1
            if base not in exposed:
                fail(where, f"metric {name} is not exposed by any service")
        for regex in regexes:
            checked += 1
            pattern = re.compile(regex)
            names = exposed | {n + s for n in exposed for s in SUFFIXES}
            if not any(pattern.fullmatch(n) for n in names):
                fail(where, f"__name__=~\"{regex}\" matches no exposed metric")
    return checked


def substitute_sql(query, tenant):
    window = "now() - interval '30 days' AND now() + interval '1 day'"
    query = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 BETWEEN {window}", query)
    query = re.sub(r"\$__timeGroupAlias\(([^,]+),\s*'(\d+)([smhd])'\)",
                   lambda m: "to_timestamp(floor(extract(epoch FROM {0}) / {1}) * {1}) AS time"
                   .format(m.group(1), int(m.group(2)) * {"s": 1, "m": 60, "h": 3600,
                                                          "d": 86400}[m.group(3)]), query)
    query = query.replace("$__timeFrom()", "now() - interval '30 days'")
    query = query.replace("$__timeTo()", "now()")
    return query.replace("$tenant", tenant.replace("'", "''"))


def check_sql(boards, dsn, tenant):
    queries = []
    for name, board in boards.items():
        for var in board.get("templating", {}).get("list", []):
            if var.get("datasource", {}).get("uid") == "agentwatch-postgres":
                queries.append((f"{name} variable {var['name']}", var["query"]))
        for panel in walk_panels(board.get("panels", [])):
            for target in panel.get("targets", []):
                if "rawSql" in target:
                    queries.append((f"{name} panel {panel['id']} {target['refId']}",
                                    target["rawSql"]))
    rows_seen = 0
    for where, query in queries:
        sql = substitute_sql(query, tenant)
        if "$" in sql.replace("$$", ""):
            fail(where, f"unsubstituted macro in: {sql}")
            continue
        result = subprocess.run(
            ["psql", dsn, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", "SET default_transaction_read_only = on",
             "-c", sql], capture_output=True, text=True)
        if result.returncode != 0:
            fail(where, result.stderr.strip())
        elif result.stdout.strip():
            rows_seen += 1
    return len(queries), rows_seen


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dashboards", default=os.path.join(ROOT, "deploy/grafana/dashboards"))
    parser.add_argument("--rules", default=os.path.join(
        ROOT, "deploy/prometheus/rules/agentwatch.rules.yml"))
    parser.add_argument("--metrics")
    parser.add_argument("--dsn")
    parser.add_argument("--tenant", default="")
    args = parser.parse_args()

    boards = load_dashboards(args.dashboards)
    check_structure(boards)
    report = [f"{len(boards)} dashboards, {check_promql(boards)} PromQL expressions"]
    if args.metrics:
        report.append(f"{check_metric_names(boards, args.rules, args.metrics)} metric "
                      "references checked against the services' /metrics")
    if args.dsn:
        total, with_rows = check_sql(boards, args.dsn, args.tenant)
        report.append(f"{total} SQL queries ran ({with_rows} returned rows for tenant "
                      f"'{args.tenant}')")
    for error in errors:
        print(f"  error: {error}")
    print(("FAILED: " if errors else "ok: ") + "; ".join(report))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
