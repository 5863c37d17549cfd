// An in-memory CostStore with the contracts of PgCostStore, for unit tests
// and the API test. Thread-safe (one mutex).
#pragma once

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "cost/store/cost_store.h"

namespace agentwatch::cost {

class MemoryCostStore final : public CostStore {
 public:
  // `clock` stamps create and update times.
  explicit MemoryCostStore(common::Clock& clock) : clock_(clock) {}

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

  // Test hooks: the ledger as stored, the alerts enqueued for the incident
  // service in order, and the unknown models ((tenant, provider, model) ->
  // calls).
  std::vector<PricedUsage> Ledger() const;
  std::vector<BudgetAlert> Outbox() const;
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> UnknownModelCalls() const;

 private:
  // (tenant, provider, model, effective_time)
  using PriceId = std::tuple<std::string, std::string, std::string, absl::Time>;

  void PutPriceLocked(PriceVersion version) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  common::Clock& clock_;
  mutable absl::Mutex mu_;
  std::map<PriceId, PriceVersion> prices_ ABSL_GUARDED_BY(mu_);
  std::vector<PricedUsage> ledger_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, size_t> ledger_index_ ABSL_GUARDED_BY(mu_);
  // (tenant, provider, model) -> running totals
  std::map<std::tuple<std::string, std::string, std::string>, UnknownModelSummary> unknown_
      ABSL_GUARDED_BY(mu_);
  // (tenant, id) -> budget
  std::map<std::pair<std::string, std::string>, Budget> budgets_ ABSL_GUARDED_BY(mu_);
  // Fired alerts: (tenant, budget id, alert period start, kind, threshold).
  std::set<std::tuple<std::string, std::string, absl::Time, BudgetAlertKind, int32_t>> fired_
      ABSL_GUARDED_BY(mu_);
  std::vector<BudgetAlert> outbox_ ABSL_GUARDED_BY(mu_);
  absl::BitGen random_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentwatch::cost
