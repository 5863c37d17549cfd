// The gRPC CostService: validates requests, maps proto <-> core, calls the
// store and maps statuses (agentwatch.cost.v1, see cost.proto for each RPC's
// contract). Implemented: RecordUsage (which also fires budget alerts, see
// CostStore::RecordUsage and core/budget_alert.h), GetCostReport,
// GetCostPerformance (the ledger's figures beside monitor's LLM-call
// performance, core/performance.h; without monitor, cost figures only),
// CheckBudget, UpsertPrice, GetPrice, ListPrices, ImportPrices,
// ListUnknownModels, CreateBudget, GetBudget, UpdateBudget (field-mask
// semantics below), DeleteBudget, ListBudgets, GetBudgetStatus (the linear
// projection of core/budget_alert.h), Reconcile (hot counters against the
// ledger): every RPC of cost.proto.
//
// CheckBudget's hot path runs inline on gRPC's callback thread (never queued
// behind RecordUsage on the executor) and does no Postgres I/O: the tenant's
// budgets come from an in-process cache, and one Redis round trip reads the
// tenant's budgets version token (see store/budget_counters.h) together with
// the spends of the applicable daily, weekly and monthly budgets. The cache
// entry is used only while its token equals Redis' (any replica that changes
// a budget replaces the token), so a change through any replica is seen by
// the next check. Otherwise the executor answers: budgets re-read from
// Postgres when the token changed, missing counters re-seeded from the
// ledger, ROLLING budgets summed from the ledger; with Redis down, budgets
// cached for budget_cache_ttl and every spend from the ledger.
//
// UpdateBudget: an empty update_mask replaces every writable field with the
// request's (validated like CreateBudget); otherwise only the listed paths
// change: name, scope (or one of scope.team, scope.workflow, scope.agent,
// scope.model, scope.provider, scope.service, scope.tags), period,
// rolling_window, limit_nano_usd, threshold_percents, enforcement, time_zone,
// alert_on_projected_overrun, alert_severity (a period changed away from
// ROLLING without rolling_window in the mask drops the window). Any other
// path is INVALID_ARGUMENT naming it; the tenant cannot change. The change
// applies to CheckBudget at once on every replica (the budgets version token
// is replaced; with Redis unreachable, other replicas within
// budget_cache_max_age): a new period layout has
// a new hot counter, seeded from the ledger, and a changed scope rewrites the
// current one from the ledger. Alerts fired in the current period stay fired
// (see CostStore::UpdateBudget).
//
// Roles: reads (reports, prices, unknown models, budgets, GetBudgetStatus,
// CheckBudget) need viewer; RecordUsage needs operator; the catalog, budgets (configuration)
// and Reconcile need admin.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "agentwatch/cost/v1/cost.grpc.pb.h"
#include "common/clock.h"
#include "common/rpc.h"
#include "cost/api/cost_metrics.h"
#include "cost/api/monitor_performance.h"
#include "cost/store/budget_counters.h"
#include "cost/store/cost_store.h"

namespace agentwatch::cost {

// Optional collaborators and tuning of the service.
struct CostServiceOptions {
  // Called after a RecordUsage batch that fired budget alerts committed, to
  // wake the outbox dispatcher. May be empty.
  std::function<void()> on_alerts;
  // Hot budget counters for CheckBudget (see store/budget_counters.h); null:
  // every CheckBudget reads the ledger.
  BudgetCounters* counters = nullptr;
  // The same counters over a connection of their own, used only by
  // CheckBudget's inline path, so that a check never waits behind the
  // raises of a committed RecordUsage group or a reconciliation on the
  // shared connection; null: `counters`.
  BudgetCounters* check_counters = nullptr;
  // How long CheckBudget reuses a tenant's budget list read from Postgres
  // while the budgets version token cannot be read (no counters, Redis
  // down). Budgets changed through this replica are seen at once; through
  // another replica within this time.
  absl::Duration budget_cache_ttl = absl::Seconds(1);
  // The longest CheckBudget reuses a tenant's budget list whose version token
  // still matches: the bound on staleness when a replica changed a budget
  // while Redis was unreachable (its token replacement was lost).
  absl::Duration budget_cache_max_age = absl::Minutes(5);
  // LLM-call performance for GetCostPerformance (monitor); null: answers
  // carry cost figures only, marked performance unavailable.
  PerformanceSource* performance = nullptr;
};

// RecordUsage is served as a raw (ByteBuffer) method: gRPC's callback threads
// (two on a 2-core machine) only hand the request bytes to the executor,
// which parses them (onto one arena per call), so parsing thousands of
// records never holds the threads that answer CheckBudget inline.
class CostServiceImpl final
    : public v1::CostService::WithRawCallbackMethod_RecordUsage<v1::CostService::CallbackService> {
 public:
  // All dependencies must outlive the service.
  CostServiceImpl(CostStore& store, common::RpcRunner& rpc, common::Clock& clock,
                  CostMetrics& metrics, CostServiceOptions options = {})
      : store_(store), rpc_(rpc), clock_(clock), metrics_(metrics), options_(std::move(options)) {}

  // Wire format of RecordUsageRequest / RecordUsageResponse.
  grpc::ServerUnaryReactor* RecordUsage(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetCostReport(grpc::CallbackServerContext* context,
                                          const v1::GetCostReportRequest* request,
                                          v1::GetCostReportResponse* response) override;
  grpc::ServerUnaryReactor* GetCostPerformance(grpc::CallbackServerContext* context,
                                               const v1::GetCostPerformanceRequest* request,
                                               v1::GetCostPerformanceResponse* response) override;
  grpc::ServerUnaryReactor* CheckBudget(grpc::CallbackServerContext* context,
                                        const v1::CheckBudgetRequest* request,
                                        v1::CheckBudgetResponse* response) override;
  grpc::ServerUnaryReactor* UpsertPrice(grpc::CallbackServerContext* context,
                                        const v1::UpsertPriceRequest* request,
                                        v1::Price* response) override;
  grpc::ServerUnaryReactor* GetPrice(grpc::CallbackServerContext* context,
                                     const v1::GetPriceRequest* request,
                                     v1::Price* response) override;
  grpc::ServerUnaryReactor* ListPrices(grpc::CallbackServerContext* context,
                                       const v1::ListPricesRequest* request,
                                       v1::ListPricesResponse* response) override;
  grpc::ServerUnaryReactor* ImportPrices(grpc::CallbackServerContext* context,
                                         const v1::ImportPricesRequest* request,
                                         v1::ImportPricesResponse* response) override;
  grpc::ServerUnaryReactor* CreateBudget(grpc::CallbackServerContext* context,
                                         const v1::CreateBudgetRequest* request,
                                         v1::Budget* response) override;
  grpc::ServerUnaryReactor* ListUnknownModels(grpc::CallbackServerContext* context,
                                              const v1::ListUnknownModelsRequest* request,
                                              v1::ListUnknownModelsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateBudget(grpc::CallbackServerContext* context,
                                         const v1::UpdateBudgetRequest* request,
                                         v1::Budget* response) override;
  grpc::ServerUnaryReactor* GetBudget(grpc::CallbackServerContext* context,
                                      const v1::GetBudgetRequest* request,
                                      v1::Budget* response) override;
  grpc::ServerUnaryReactor* DeleteBudget(grpc::CallbackServerContext* context,
                                         const v1::DeleteBudgetRequest* request,
                                         google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* ListBudgets(grpc::CallbackServerContext* context,
                                        const v1::ListBudgetsRequest* request,
                                        v1::ListBudgetsResponse* response) override;
  grpc::ServerUnaryReactor* GetBudgetStatus(grpc::CallbackServerContext* context,
                                            const v1::GetBudgetStatusRequest* request,
                                            v1::BudgetStatus* response) override;
  grpc::ServerUnaryReactor* Reconcile(grpc::CallbackServerContext* context,
                                      const v1::ReconcileRequest* request,
                                      v1::ReconcileResponse* response) override;

  // The work of each RPC, without transport; public for direct tests.
  absl::Status DoRecordUsage(const v1::RecordUsageRequest& request,
                             v1::RecordUsageResponse* response);
  // DoRecordUsage's batch once converted and validated: stored, answered.
  absl::Status RecordRecords(const std::vector<UsageRecord>& records,
                             v1::RecordUsageResponse* response);
  absl::Status DoGetCostReport(const v1::GetCostReportRequest& request,
                               v1::GetCostReportResponse* response);
  absl::Status DoGetCostPerformance(const v1::GetCostPerformanceRequest& request,
                                    v1::GetCostPerformanceResponse* response);
  absl::Status DoCheckBudget(const v1::CheckBudgetRequest& request,
                             v1::CheckBudgetResponse* response);
  absl::Status DoUpsertPrice(const v1::UpsertPriceRequest& request, v1::Price* response);
  absl::Status DoGetPrice(const v1::GetPriceRequest& request, v1::Price* response);
  absl::Status DoListPrices(const v1::ListPricesRequest& request, v1::ListPricesResponse* response);
  absl::Status DoImportPrices(const v1::ImportPricesRequest& request,
                              v1::ImportPricesResponse* response);
  absl::Status DoCreateBudget(const v1::CreateBudgetRequest& request, v1::Budget* response);
  absl::Status DoListUnknownModels(const v1::ListUnknownModelsRequest& request,
                                   v1::ListUnknownModelsResponse* response);
  absl::Status DoUpdateBudget(const v1::UpdateBudgetRequest& request, v1::Budget* response);
  absl::Status DoGetBudget(const v1::GetBudgetRequest& request, v1::Budget* response);
  absl::Status DoDeleteBudget(const v1::DeleteBudgetRequest& request);
  absl::Status DoListBudgets(const v1::ListBudgetsRequest& request,
                             v1::ListBudgetsResponse* response);
  absl::Status DoGetBudgetStatus(const v1::GetBudgetStatusRequest& request,
                                 v1::BudgetStatus* response);
  absl::Status DoReconcile(const v1::ReconcileRequest& request, v1::ReconcileResponse* response);

 private:
  // The budgets of `tenant`, from the cache when fresh.
  absl::StatusOr<std::shared_ptr<const std::vector<Budget>>> TenantBudgets(
      const std::string& tenant);
  // After a budget of `tenant` changed: drops the cached list and replaces
  // the tenant's budgets version token (best effort, logged).
  void BudgetsChanged(const std::string& tenant);
  // CheckBudget from the cached budgets and the hot counters only (see the
  // class comment): true when it answered, false when the executor path must
  // (no current cache entry, a ROLLING budget, a missing counter, Redis
  // down); validation errors as DoCheckBudget.
  absl::StatusOr<bool> CheckBudgetFromCache(const v1::CheckBudgetRequest& request,
                                            v1::CheckBudgetResponse* response);
  // Fills CheckBudget's answer from the applicable budgets and their spends.
  static void FillCheckBudget(const std::vector<const Budget*>& applicable,
                              const std::vector<BudgetWindow>& windows,
                              const std::vector<int64_t>& spent, int64_t estimate,
                              v1::CheckBudgetResponse* response);
  // Rewrites the hot counter of `budget`'s current period from the ledger
  // (after its scope changed); best effort, Reconcile repairs a failure.
  void ReseedCounter(const Budget& budget);
  // The spend of each budget in its current period at `now`: from the hot
  // counters when present, else from the ledger (re-seeding the counter).
  absl::StatusOr<std::vector<int64_t>> CurrentSpends(const std::vector<const Budget*>& budgets,
                                                     const std::vector<BudgetWindow>& windows,
                                                     absl::Time now);

  CostStore& store_;
  common::RpcRunner& rpc_;
  common::Clock& clock_;
  CostMetrics& metrics_;
  const CostServiceOptions options_;
  std::atomic<bool> reconciling_{false};
  // After a Redis error the inline CheckBudget path stands aside this long.
  static constexpr absl::Duration kFastPathPause = absl::Seconds(1);
  // The current windows (BudgetWindowAt) of a cached budget list, computed
  // at one instant and the same at every instant of [valid_from,
  // valid_until): a daily, weekly or monthly period only moves at its end.
  // CheckBudget's inline path reuses them instead of a time-zone lookup (and
  // its process-wide lock) per budget and check.
  struct CachedWindows {
    absl::Time valid_from;
    absl::Time valid_until;
    std::vector<BudgetWindow> windows;  // by position in the list; ROLLING ones unset
  };
  // The windows of `budgets` at `now` (ROLLING budgets skipped).
  static std::shared_ptr<const CachedWindows> WindowsAt(const std::vector<Budget>& budgets,
                                                        absl::Time now);
  struct CachedBudgets {
    std::shared_ptr<const std::vector<Budget>> budgets;
    absl::Time fetched;
    std::optional<std::string> version;            // the token read before `budgets`
    std::shared_ptr<const CachedWindows> windows;  // null until a check computed them
  };
  absl::Mutex cache_mu_;
  std::map<std::string, CachedBudgets> budget_cache_ ABSL_GUARDED_BY(cache_mu_);
  absl::Time fast_path_paused_until_ ABSL_GUARDED_BY(cache_mu_) = absl::InfinitePast();
};

}  // namespace agentwatch::cost
