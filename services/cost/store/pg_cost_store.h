// The Postgres CostStore (schema `cost`, see migrations/). Every method is one
// transaction; bulk writes are multi-row statements over unnest()ed arrays.
// Thread-safe (the pool is).
//
// RecordUsage group-commits: batches that arrive while the store's transactions
// are busy (PgCostStoreOptions::max_concurrent_groups) queue and share the next
// transaction, each answered only after that commit. A group costs a constant
// number of statements: the prices the group needs are read once (one
// primary-key probe per distinct tenant, provider and model, never a scan of
// the catalog); the ledger rows of all its batches go in with one COPY (tried
// as all new inside a savepoint, then once per key with ON CONFLICT when a
// replay is among them, which also makes a key sent by two batches of the group
// count once, for the first); the unknown models are upserted once; and budget
// evaluation shares the tenants' budget-definition locks, reads their budgets
// (only those of tenants whose definitions changed since this process last
// read them: a per-process copy keyed by cost.budget_versions, which a
// trigger bumps with every change of cost.budgets), locks the touched ones in
// one statement and reads / writes the kept spend of each daily, weekly or
// monthly budget's period once for the whole group
// (cost.budget_period_spend, created from the ledger on a period's first batch,
// dropped when the budget changes); ROLLING budgets sum the ledger. A batch
// that cannot be priced (a cost overflow) fails alone before anything is
// written; when the shared transaction fails, each of its batches is retried in
// a transaction of its own, so one bad batch never fails its neighbours. The
// budget alerts of a group are returned in the outcome of its first written
// batch (so that the caller acts on them once), the group's counter increments
// in every written batch's outcome (each caller raises the counters before it
// answers, so an answered batch is always in its counters). CreateBudget,
// UpdateBudget and DeleteBudget take the tenant's definition lock exclusively,
// so a batch evaluates every budget as it stands until the batch commits.
//
// The ledger is narrow (migrations/004_narrow_ledger.sql): a row of
// cost.ledger carries the id of its dimension combination (cost.usage_dims:
// kind, team, workflow, agent, model, provider, service, tags, infra resource
// and sku), which a group resolves before its transaction: from a
// per-process cache (combinations never change, so entries never go stale),
// else read and, when new, created in a short transaction of their own
// (INSERT ... ON CONFLICT DO NOTHING on the combination's SHA-256, then read
// again, so replicas creating the same combination at once agree on its id).
// Readers use the cost.usage view, which joins the two.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/group_commit.h"
#include "common/pg.h"
#include "cost/store/cost_store.h"
#include "cost/store/ledger_encoding.h"

namespace agentwatch::cost {

// Tuning of PgCostStore's group commit.
struct PgCostStoreOptions {
  // Most RecordUsage transactions running at once (>= 1); batches arriving
  // while all run wait and share the next one.
  int max_concurrent_groups = 2;
  // Most records in one group transaction (a larger batch still goes alone).
  int64_t max_group_records = 20000;
  // While a group transaction runs, another starts only once this many
  // records wait (0: at once); see GroupCommitter's min_size_to_overlap.
  int64_t min_records_to_overlap = 0;
  // Test hook: called by a group's leader just before its transaction, with
  // the number of batches in the group. May be empty.
  std::function<void(size_t)> before_group;
};

class PgCostStore final : public CostStore {
 public:
  // Registers the store's prepared statements with `pool`.
  explicit PgCostStore(common::PgPool& pool, PgCostStoreOptions options = {});

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

  // Batches queued for the next group transaction (for tests).
  size_t QueuedBatches() const;
  // How many times a group read a tenant's budget definitions from Postgres
  // rather than using the per-process copy (for tests).
  int64_t BudgetDefinitionReads() const;

 private:
  struct PendingBatch;
  // Writes `group` in one transaction and sets each batch's result; on a
  // failure of that transaction, each batch again alone.
  void RunGroup(const std::vector<PendingBatch*>& group);
  absl::Status WriteGroup(pqxx::work& txn, const std::vector<PendingBatch*>& group, absl::Time now);
  // Sets each batch's `dims` (the dimension combination ids of its records,
  // see migrations/004_narrow_ledger.sql): from the cache, else read or
  // created in a transaction of their own.
  absl::Status ResolveDims(const std::vector<PendingBatch*>& group);

  // The budgets of each of `tenants` (distinct) as they stand in `txn`, which
  // holds the tenants' budget-definition locks shared: from the per-process
  // copy when the tenant's version (cost.budget_versions) is the one it was
  // read at, else read (one statement for the tenants and their changed
  // budgets) and kept. Same order as `tenants`.
  absl::StatusOr<std::vector<std::shared_ptr<const std::vector<Budget>>>> BudgetsOfTenants(
      pqxx::work& txn, const std::vector<absl::string_view>& tenants);

  // The most dimension combinations cached (the cache starts over when full).
  static constexpr size_t kMaxCachedDims = 1 << 20;
  // The most tenants whose budgets are kept (the copy starts over when full).
  static constexpr size_t kMaxCachedBudgetTenants = 1 << 16;

  common::PgPool& pool_;
  const PgCostStoreOptions options_;
  mutable common::GroupCommitter<PendingBatch> committer_;
  // Dimension combination ids by DimsCacheKey (never change once created).
  absl::Mutex dims_mu_;
  absl::flat_hash_map<std::string, int64_t, DimsCacheKeyHash, DimsCacheKeyEq> dims_cache_
      ABSL_GUARDED_BY(dims_mu_);
  // Budget definitions by tenant, with the cost.budget_versions version they
  // were read at.
  struct CachedBudgets {
    int64_t version = 0;
    std::shared_ptr<const std::vector<Budget>> budgets;
  };
  mutable absl::Mutex budgets_mu_;
  absl::flat_hash_map<std::string, CachedBudgets> budgets_cache_ ABSL_GUARDED_BY(budgets_mu_);
  int64_t budget_reads_ ABSL_GUARDED_BY(budgets_mu_) = 0;
};

}  // namespace agentwatch::cost
