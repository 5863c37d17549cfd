-- The spend of each daily, weekly and monthly budget in one of its periods,
-- maintained in the transaction that records the usage (under the budget's
-- lock), so evaluating a budget per batch reads one row instead of summing
-- the ledger. A row is created from the ledger the first time a batch touches
-- the period and removed when the budget changes or is deleted (the next
-- batch recreates it from the ledger). The ledger stays the truth: reports,
-- GetBudgetStatus, Reconcile and ROLLING budgets sum cost.usage.
CREATE TABLE cost.budget_period_spend (
  tenant_id       text        NOT NULL,
  budget_id       text        NOT NULL,
  period_start    timestamptz NOT NULL,
  period_end      timestamptz NOT NULL,
  spent_nano_usd  bigint      NOT NULL,
  PRIMARY KEY (tenant_id, budget_id, period_start, period_end)
);
