"""Cost totals and hot-counter loss end to end, through the real cost process.

1. Totals equal the sum of the priced records: a client sends varied usage
   (catalog and tiered custom prices, every token kind, a tenant override, a
   client-supplied cost, an unknown model, infrastructure usage), one record
   per RecordUsage call so that each response's total_cost_nano_usd is that
   record's priced cost. The report's total, every group of every dimension
   (tenant, team, workflow, agent, model, provider, service, tag) and time
   bucket (hour, day, month), the top-spender fold and the CSV export all add
   up exactly to the sums of those priced records.
2. Losing the hot counters in Redis neither loses nor double-counts spend:
   the tenant's counter keys are deleted (only this tenant's keys: the test
   Redis is shared), more usage and replays are recorded, and CheckBudget,
   GetBudgetStatus and Reconcile agree with the ledger.
"""

import collections
import datetime
import decimal
import os
import random
import subprocess
import sys
import time
import unittest


from agentwatch.common.v1 import common_pb2
from agentwatch.cost.v1 import cost_pb2, cost_pb2_grpc

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, stop_cleanly, ts  # noqa: E402

TENANT = f"totals-e2e-{random.getrandbits(32):08x}"
OTHER = TENANT + "-other"
REDIS_TENANT = TENANT + "-redis"  # test_redis_loss_...'s, left out of the totals


class CostTotalsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # No periodic reconciliation: the test decides when Reconcile runs.
        cls.stack = Stack(extra_flags={"cost": ["--reconcile_interval=0s"]}).start()
        cls.cost = cost_pb2_grpc.CostServiceStub(cls.stack.channel("cost"))
        cls.now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.stack)

    def record(self, *records):
        return self.cost.RecordUsage(cost_pb2.RecordUsageRequest(records=list(records)),
                                     timeout=10)

    def report(self, start, end, tenant="", **fields):
        """Every row of the report (all pages) and the first page's response."""
        request = cost_pb2.GetCostReportRequest(
            range=common_pb2.TimeRange(start=ts(start), end=ts(end)),
            filter=common_pb2.Scope(tenant=tenant), **{"page_size": 7, **fields})
        rows, first = [], None
        while True:
            page = self.cost.GetCostReport(request, timeout=10)
            first = first or page
            rows.extend(page.rows)
            if not page.next_page_token:
                return rows, first
            request.page_token = page.next_page_token

    def test_report_totals_equal_the_priced_records(self):
        rng = random.Random(20261127)
        # A tiered custom model (a whole call above 1,000 input tokens is
        # priced at the tier) and a tenant discount on gpt-4o-mini.
        since = ts(self.now - datetime.timedelta(days=400))
        self.cost.UpsertPrice(cost_pb2.UpsertPriceRequest(price=cost_pb2.Price(
            provider="acme-ai", model="tiered-1", effective_time=since,
            input_per_million_nano_usd=1_000_003, output_per_million_nano_usd=4_000_007,
            cache_read_per_million_nano_usd=250_001, cache_creation_per_million_nano_usd=1_250_003,
            tiers=[cost_pb2.PriceTier(above_input_tokens=1000,
                                      input_per_million_nano_usd=2_000_009,
                                      output_per_million_nano_usd=8_000_011,
                                      cache_read_per_million_nano_usd=500_003,
                                      cache_creation_per_million_nano_usd=2_500_007)])),
            timeout=10)
        self.cost.UpsertPrice(cost_pb2.UpsertPriceRequest(price=cost_pb2.Price(
            provider="openai", model="gpt-4o-mini", tenant=TENANT, effective_time=since,
            input_per_million_nano_usd=100_000_001, output_per_million_nano_usd=400_000_003)),
            timeout=10)
        for name, unit in (("compute_seconds", 7_777), ("storage_gib_hours", 123_457)):
            self.cost.UpsertPrice(cost_pb2.UpsertPriceRequest(price=cost_pb2.Price(
                provider="infra", model=name, unit_price_nano_usd=unit, effective_time=since)),
                timeout=10)

        models = [("openai", "gpt-4o-mini"), ("openai", "gpt-4o"),
                  ("anthropic", "claude-3-5-sonnet-20241022"), ("acme-ai", "tiered-1"),
                  ("acme-ai", "no-such-model")]
        start = self.now - datetime.timedelta(days=70)
        priced = []  # (record, cost)
        for i in range(90):
            when = start + datetime.timedelta(seconds=rng.randrange(70 * 86400))
            tenant = TENANT if i % 5 else OTHER
            scope = common_pb2.Scope(
                tenant=tenant, team=rng.choice(["alpha", "beta", ""]),
                workflow=rng.choice(["research", "support"]), agent=rng.choice(["w", "r", ""]))
            if rng.randrange(3):
                scope.tags["env"] = rng.choice(["prod", "dev"])
            record = cost_pb2.UsageRecord(record_id=f"rec-{i}", time=ts(when), scope=scope,
                                          run_id=f"run-{rng.randrange(12)}")
            if i % 7 == 3:
                scope.service = rng.choice(["search", "vector-db"])
                record.infra.CopyFrom(cost_pb2.InfraUsage(
                    resource=rng.choice([cost_pb2.INFRA_RESOURCE_COMPUTE_SECONDS,
                                         cost_pb2.INFRA_RESOURCE_STORAGE_GIB_HOURS]),
                    quantity=rng.randrange(1, 5_000_000)))
            else:
                provider, model = rng.choice(models)
                inputs = rng.randrange(1, 3000)
                record.llm.CopyFrom(cost_pb2.LlmUsage(
                    provider=provider, model=model, input_tokens=inputs,
                    output_tokens=rng.randrange(2000),
                    cached_input_tokens=rng.randrange(inputs // 3 + 1),
                    cache_creation_tokens=rng.randrange(inputs // 3 + 1),
                    requests=rng.randrange(1, 4)))
                if i % 11 == 5:
                    record.client_cost_nano_usd = rng.randrange(10_000_000)
            if i % 13 == 0:
                record.run_succeeded = bool(rng.randrange(2))
            response = self.record(record)
            self.assertEqual(response.accepted, 1)
            priced.append((record, response.total_cost_nano_usd))
        # Replays add nothing.
        replay = self.record(*(r for r, _ in priced[:30]))
        self.assertEqual((replay.accepted, replay.duplicates), (0, 30))
        self.assertGreater(sum(1 for r, c in priced if r.HasField("llm") and c > 0), 40)

        begin, end = start - datetime.timedelta(days=1), self.now + datetime.timedelta(days=1)
        ours = [(r, c) for r, c in priced if r.scope.tenant == TENANT]

        def value(record, dimension):
            s = record.scope
            if dimension == "tenant":
                return s.tenant
            if dimension == "model":
                return s.model or record.llm.model
            if dimension == "provider":
                return s.provider or record.llm.provider
            if dimension == "tag:env":
                return s.tags.get("env", "")
            return getattr(s, dimension)

        # Both tenants (no tenant filter) grouped by tenant, and this tenant
        # grouped by every other dimension.
        cases = [("", cost_pb2.DIMENSION_TENANT, "tenant", priced)] + [
            (TENANT, dim, name, ours) for dim, name in (
                (cost_pb2.DIMENSION_TEAM, "team"), (cost_pb2.DIMENSION_WORKFLOW, "workflow"),
                (cost_pb2.DIMENSION_AGENT, "agent"), (cost_pb2.DIMENSION_MODEL, "model"),
                (cost_pb2.DIMENSION_PROVIDER, "provider"), (cost_pb2.DIMENSION_SERVICE, "service"),
                (cost_pb2.DIMENSION_TAG, "tag:env"))]
        for tenant, dim, name, records in cases:
            with self.subTest(dimension=name):
                want = collections.Counter()
                for r, c in records:
                    want[value(r, name)] += c
                rows, first = self.report(begin, end, tenant, group_by=[dim],
                                          tag_key="env" if name == "tag:env" else "")
                got = collections.Counter()
                for row in rows:
                    got[row.group[name]] += row.cost_nano_usd
                self.assertEqual(sum(row.cost_nano_usd for row in rows), first.total_cost_nano_usd)
                other_test = got.pop(REDIS_TENANT, 0) if name == "tenant" else 0
                self.assertEqual(dict(got), {k: v for k, v in want.items()})
                self.assertEqual(first.total_cost_nano_usd - other_test,
                                 sum(c for _, c in records))

        # Both tenants without grouping.
        for tenant, records in ((TENANT, ours), (OTHER, [(r, c) for r, c in priced
                                                         if r.scope.tenant == OTHER])):
            whole, first = self.report(begin, end, tenant)
            self.assertEqual(first.total_cost_nano_usd, sum(c for _, c in records))
            self.assertEqual(first.total_calls, sum(max(1, r.llm.requests) for r, _ in records
                                                    if r.HasField("llm")))
            self.assertEqual(sum(row.cost_nano_usd for row in whole), first.total_cost_nano_usd)

        # Time buckets: every bucket's cost is the sum of its records'.
        for bucket, width in ((cost_pb2.BUCKET_HOUR, "hour"), (cost_pb2.BUCKET_DAY, "day"),
                              (cost_pb2.BUCKET_MONTH, "month")):
            with self.subTest(bucket=width):
                want = collections.Counter()
                for r, c in ours:
                    t = r.time.ToDatetime()
                    key = {"hour": t.replace(minute=0, second=0),
                           "day": t.replace(hour=0, minute=0, second=0),
                           "month": t.replace(day=1, hour=0, minute=0, second=0)}[width]
                    want[key] += c
                rows, first = self.report(begin, end, TENANT, bucket=bucket)
                got = collections.Counter()
                for row in rows:
                    got[row.bucket_start.ToDatetime()] += row.cost_nano_usd
                self.assertEqual({k: v for k, v in got.items() if v or k in want},
                                 {k: v for k, v in want.items()})
                self.assertEqual(first.total_cost_nano_usd, sum(c for _, c in ours))

        # Top spenders: two models kept, the rest folded, totals unchanged.
        rows, first = self.report(begin, end, TENANT, group_by=[cost_pb2.DIMENSION_MODEL],
                                  top_n=2)
        self.assertEqual(len(rows), 3)
        self.assertEqual(sum(1 for row in rows if row.group["model"] == "__other__"), 1)
        self.assertEqual(sum(row.cost_nano_usd for row in rows), sum(c for _, c in ours))

        # CSV export: the cost column (USD, 9 decimals) adds up to the total.
        rows, first = self.report(begin, end, TENANT, group_by=[cost_pb2.DIMENSION_TEAM,
                                                               cost_pb2.DIMENSION_MODEL],
                                  format=cost_pb2.FORMAT_CSV, page_size=1000)
        lines = first.csv.strip("\r\n").split("\r\n")
        header = lines[0].split(",")
        column = header.index("cost_usd")
        csv_total = sum(decimal.Decimal(line.split(",")[column]) for line in lines[1:])
        self.assertEqual(len(lines) - 1, len(rows))
        self.assertEqual(csv_total * 1_000_000_000, sum(c for _, c in ours))

        # The unknown model is listed, its calls unpriced (not silently zero
        # in a priced row).
        unknown = self.cost.ListUnknownModels(cost_pb2.ListUnknownModelsRequest(tenant=TENANT),
                                              timeout=10)
        self.assertIn(("acme-ai", "no-such-model"),
                      [(m.provider, m.model) for m in unknown.models])

    def redis_keys(self, tenant):
        host, port = self.stack.redis.rsplit(":", 1)
        out = subprocess.run(["redis-cli", "-h", host, "-p", port, "--scan", "--pattern",
                              "{" + tenant + "}:cost:*"], check=True, capture_output=True,
                             text=True).stdout.split()
        return host, port, out

    def lose_counters(self, tenant):
        """Deletes `tenant`'s cost keys from Redis, as a flush would (only them)."""
        host, port, keys = self.redis_keys(tenant)
        if keys:
            subprocess.run(["redis-cli", "-h", host, "-p", port, "DEL"] + keys, check=True,
                           capture_output=True)
        return len(keys)

    def test_redis_loss_neither_loses_nor_double_counts(self):
        tenant = REDIS_TENANT
        # The daily budget's day must not end during the test: close to
        # midnight UTC, wait for the next day.
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        to_midnight = (now.replace(hour=0, minute=0, second=0) + datetime.timedelta(days=1)) - now
        if to_midnight < datetime.timedelta(minutes=2):
            time.sleep(to_midnight.total_seconds() + 1)
            now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        self.cost.UpsertPrice(cost_pb2.UpsertPriceRequest(price=cost_pb2.Price(
            provider="acme-ai", model="flat", effective_time=ts(now - datetime.timedelta(days=1)),
            input_per_million_nano_usd=1_000_000_000)), timeout=10)  # 1,000 nano-USD a token
        budget = self.cost.CreateBudget(cost_pb2.CreateBudgetRequest(budget=cost_pb2.Budget(
            name="daily", scope=common_pb2.Scope(tenant=tenant),
            period=cost_pb2.BUDGET_PERIOD_DAILY, limit_nano_usd=10_000_000,
            enforcement=cost_pb2.ENFORCEMENT_HARD)), timeout=10)

        def usage(i, tokens):
            return cost_pb2.UsageRecord(
                record_id=f"r{i}", time=ts(now), scope=common_pb2.Scope(tenant=tenant),
                llm=cost_pb2.LlmUsage(provider="acme-ai", model="flat", input_tokens=tokens))

        def check(estimate=0):
            return self.cost.CheckBudget(cost_pb2.CheckBudgetRequest(
                scope=common_pb2.Scope(tenant=tenant), estimated_cost_nano_usd=estimate),
                timeout=5)

        def ledger():
            return self.report(now - datetime.timedelta(days=1), now + datetime.timedelta(days=1),
                               tenant)[1].total_cost_nano_usd

        self.assertEqual(self.record(usage(1, 2000), usage(2, 1000)).total_cost_nano_usd,
                         3_000_000)
        self.assertEqual(check().remaining_nano_usd, 7_000_000)
        self.assertGreater(len(self.redis_keys(tenant)[2]), 0)  # the hot counter exists

        # Lost: CheckBudget still answers from the ledger.
        self.assertGreater(self.lose_counters(tenant), 0)
        self.assertEqual(check().remaining_nano_usd, 7_000_000)
        # Lost again, then more spend and a replay: the counter must hold the
        # whole period's spend, not only what came after the loss, and the
        # replay must not count twice.
        self.lose_counters(tenant)
        self.record(usage(3, 4000))
        self.assertEqual(self.record(usage(1, 2000), usage(4, 1000)).duplicates, 1)
        self.assertEqual(ledger(), 8_000_000)
        self.assertEqual(check().remaining_nano_usd, 2_000_000)
        denied = check(2_000_001)
        self.assertFalse(denied.allowed)
        self.assertEqual(denied.budget_id, budget.id)
        status = self.cost.GetBudgetStatus(cost_pb2.GetBudgetStatusRequest(id=budget.id),
                                           timeout=10)
        self.assertEqual(status.spent_nano_usd, 8_000_000)
        report = self.cost.Reconcile(cost_pb2.ReconcileRequest(tenant=tenant, dry_run=True),
                                     timeout=10)
        self.assertEqual((report.counters_checked, report.drifted), (1, 0))

        # Lost once more: Reconcile finds it missing and repairs it from the
        # ledger; nothing drifts afterwards.
        self.lose_counters(tenant)
        report = self.cost.Reconcile(cost_pb2.ReconcileRequest(tenant=tenant), timeout=10)
        self.assertEqual((report.missing, report.repaired), (1, 1))
        self.assertEqual(report.drifts[0].ledger_nano_usd, 8_000_000)
        report = self.cost.Reconcile(cost_pb2.ReconcileRequest(tenant=tenant, dry_run=True),
                                     timeout=10)
        self.assertEqual((report.counters_checked, report.drifted, report.missing), (1, 0, 0))
        self.record(usage(5, 1000))
        self.assertEqual(check().remaining_nano_usd, 1_000_000)
        self.assertEqual(ledger(), 9_000_000)


if __name__ == "__main__":
    unittest.main()
