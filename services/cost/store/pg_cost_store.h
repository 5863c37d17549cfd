// The Postgres CostStore (schema `cost`, see migrations/). Every method is one
// transaction; bulk writes are multi-row statements over unnest()ed arrays.
// Thread-safe (the pool is).
//
// RecordUsage's cost per batch is a constant number of statements: the
// ledger rows go in as one insert (tried as all new inside a savepoint, then
// once per key with ON CONFLICT when a replay is among them); budget
// evaluation shares the tenants' budget-definition locks, reads their
// budgets, locks the touched ones in one statement and reads / writes the
// kept spend of each daily, weekly or monthly budget's period
// (cost.budget_period_spend, created from the ledger on a period's first
// batch, dropped when the budget changes); ROLLING budgets sum the ledger.
// CreateBudget, UpdateBudget and DeleteBudget take the tenant's definition
// lock exclusively, so a batch evaluates every budget as it stands until the
// batch commits.
#pragma once

#include "common/pg.h"
#include "cost/store/cost_store.h"

namespace agentwatch::cost {

class PgCostStore final : public CostStore {
 public:
  // Registers the store's prepared statements with `pool`.
  explicit PgCostStore(common::PgPool& pool);

  absl::StatusOr<ImportCounts> ImportPrices(absl::string_view tenant, absl::Time effective_time,
                                            absl::string_view source,
                                            const std::vector<CatalogPrice>& prices,
                                            bool dry_run) override;
  absl::StatusOr<bool> ImportDefaultCatalogIfEmpty(
      const std::vector<CatalogPrice>& prices) override;
  absl::StatusOr<PriceVersion> UpsertPrice(const PriceVersion& price) override;
  absl::StatusOr<PriceVersion> GetPrice(absl::string_view tenant, absl::string_view provider,
                                        absl::string_view model, absl::Time at) override;
  absl::StatusOr<std::vector<PriceVersion>> ListPrices(const PriceListQuery& query) override;
  absl::StatusOr<RecordOutcome> RecordUsage(const std::vector<UsageRecord>& records,
                                            absl::Time now) override;
  absl::StatusOr<ReportResult> QueryReport(const ReportQuery& query) override;
  absl::StatusOr<int64_t> Spend(const Scope& scope, const Period& period) override;
  absl::StatusOr<Budget> CreateBudget(const Budget& budget) override;
  absl::StatusOr<Budget> GetBudget(absl::string_view id) override;
  absl::Status DeleteBudget(absl::string_view id) override;
  absl::StatusOr<Budget> UpdateBudget(absl::string_view id, const BudgetUpdateFn& update,
                                      absl::Time now) override;
  absl::StatusOr<std::vector<int32_t>> FiredThresholds(absl::string_view tenant,
                                                       absl::string_view budget_id,
                                                       absl::Time period_start) override;
  absl::StatusOr<std::vector<Budget>> ListBudgets(absl::string_view tenant,
                                                  const std::optional<BudgetCursor>& after,
                                                  int32_t limit) override;
  absl::StatusOr<std::vector<UnknownModelSummary>> ListUnknownModels(
      const UnknownModelQuery& query) override;

 private:
  common::PgPool& pool_;
};

}  // namespace agentwatch::cost
