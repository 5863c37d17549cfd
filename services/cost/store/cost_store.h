// Storage of the cost service behind one interface: the price catalog, the
// usage ledger, report queries and budgets. PgCostStore is the Postgres
// implementation, MemoryCostStore the in-memory fake for unit tests; both keep
// the same contracts. Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cost/core/budget.h"
#include "cost/core/budget_alert.h"
#include "cost/core/litellm.h"
#include "cost/core/price.h"
#include "cost/core/report.h"
#include "cost/core/scope.h"
#include "cost/core/usage.h"

namespace agentwatch::cost {

// Counts of a catalog import.
struct ImportCounts {
  int64_t imported = 0;   // versions stored (new or changed)
  int64_t unchanged = 0;  // equal to the version already in effect
};

// A position in ListPrices order (provider, model, effective_time).
struct PriceCursor {
  std::string provider;
  std::string model;
  absl::Time effective_time;
};

// What ListPrices returns.
struct PriceListQuery {
  std::string tenant;    // "" = global prices
  std::string provider;  // "" = any
  std::string model;     // "" = any (catalog spelling)
  // False: only the version in effect at `now` per (provider, model).
  bool include_history = false;
  absl::Time now;
  std::optional<PriceCursor> after;  // exclusive start
  int32_t limit = 100;
};

// Cost added to one budget's period by a batch, and the period's whole spend
// once the batch committed (a ledger sum: batches touching a budget evaluate
// it one after the other, so a later batch's spend includes every earlier
// one's).
struct BudgetIncrement {
  std::string tenant;
  std::string budget_id;
  absl::Time period_start;
  int64_t nano_usd = 0;
  absl::Time period_end;
  int64_t spent_nano_usd = 0;
};

// The outbox schema and destination of budget alerts (payload: a serialized
// agentwatch.incident.v1.Alert, idempotency key: the alert's fingerprint).
inline constexpr char kOutboxSchema[] = "cost";
inline constexpr char kIncidentDestination[] = "incident.ReportAlerts";

// What RecordUsage did with a batch.
struct RecordOutcome {
  int64_t accepted = 0;    // newly recorded
  int64_t duplicates = 0;  // already recorded (or repeated in the batch): not counted again
  int64_t unpriced = 0;    // newly recorded without a price
  // Sum of the costs of the newly recorded records.
  int64_t total_cost_nano_usd = 0;
  // "provider/model" of newly recorded LLM records without a price, sorted.
  std::vector<std::string> unknown_models;
  // Budget alerts this batch fired (enqueued in the same transaction). When
  // the store group-commits several batches in one transaction (PgCostStore),
  // the group's alerts are all in the outcome of one of them and the others
  // carry none, so that the caller acts on each once.
  std::vector<BudgetAlert> alerts;
  // Cost the newly recorded records added to each touched daily, weekly or
  // monthly budget's current period (for the hot counters), by budget id.
  // When several batches share a transaction, each of their outcomes carries
  // the whole group's increments (and period spends): every caller raises
  // the counters before answering, so an answered batch is in its counters.
  std::vector<BudgetIncrement> increments;
};

// A position in ListBudgets order (tenant, name).
struct BudgetCursor {
  std::string tenant;
  std::string name;
};

// A model seen in LLM usage without a price, aggregated per tenant.
struct UnknownModelSummary {
  std::string tenant;
  std::string provider;
  std::string model;  // catalog spelling
  absl::Time first_seen;
  absl::Time last_seen;
  int64_t calls = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
};

// A position in ListUnknownModels order (tenant, provider, model).
struct UnknownModelCursor {
  std::string tenant;
  std::string provider;
  std::string model;
};

// What ListUnknownModels returns.
struct UnknownModelQuery {
  std::string tenant;  // "" = all tenants
  // Only unpriced records with range->start <= time < range->end, summed
  // over that range; unset: the running totals over all time.
  std::optional<Period> range;
  std::optional<UnknownModelCursor> after;  // exclusive start
  int32_t limit = 100;
};

// Computes a budget's new definition from the stored one inside
// CostStore::UpdateBudget. Returns the full, normalized budget (id, tenant,
// request_id and times are ignored: the store keeps them) or an error that
// UpdateBudget returns unchanged.
using BudgetUpdateFn = std::function<absl::StatusOr<Budget>(const Budget& current)>;

class CostStore {
 public:
  virtual ~CostStore() = default;

  // --- Price catalog -------------------------------------------------------

  // Stores `prices` as `tenant`'s versions effective from `effective_time`
  // with `source`, skipping those equal to the version of the same tenant
  // already in effect then (so importing twice changes nothing). With
  // `dry_run` only counts. All or nothing. UNAVAILABLE when the database is.
  virtual absl::StatusOr<ImportCounts> ImportPrices(absl::string_view tenant,
                                                    absl::Time effective_time,
                                                    absl::string_view source,
                                                    const std::vector<CatalogPrice>& prices,
                                                    bool dry_run) = 0;

  // Imports `prices` as global prices effective from the Unix epoch with
  // source "default" when there is no global price yet; exclusive across
  // replicas. Returns whether it imported.
  virtual absl::StatusOr<bool> ImportDefaultCatalogIfEmpty(
      const std::vector<CatalogPrice>& prices) = 0;

  // Creates or replaces the version (tenant, provider, model,
  // effective_time); returns it as stored (create_time set).
  virtual absl::StatusOr<PriceVersion> UpsertPrice(const PriceVersion& price) = 0;

  // The version in effect at `at`: `tenant`'s own, else the global one.
  // NOT_FOUND when neither exists.
  virtual absl::StatusOr<PriceVersion> GetPrice(absl::string_view tenant,
                                                absl::string_view provider, absl::string_view model,
                                                absl::Time at) = 0;

  // Up to query.limit versions in (provider, model, effective_time) order.
  virtual absl::StatusOr<std::vector<PriceVersion>> ListPrices(const PriceListQuery& query) = 0;

  // --- Ledger ----------------------------------------------------------------

  // Records validated records in one transaction (which PgCostStore may
  // share with concurrent batches; the batch is still all in or all out,
  // and acknowledged only once committed): each priced with
  // PriceUsage at its time from the catalog as of this transaction, inserted
  // once per (tenant, record_id) (a replay or repeat is a duplicate and keeps
  // its first cost), and unpriced LLM records added to the unknown models.
  // Then, in the same transaction, every budget whose scope and current
  // period (at `now`) hold a newly recorded record is evaluated against its
  // spend: each due alert (DueBudgetAlerts) not yet fired in its alert period
  // is recorded as fired and enqueued for incident.ReportAlerts, so each
  // fires exactly once per period even across replicas (budgets are
  // evaluated under a per-budget lock, so concurrent batches see each
  // other's spend). All or nothing. OUT_OF_RANGE when a cost or the batch
  // total overflows.
  virtual absl::StatusOr<RecordOutcome> RecordUsage(const std::vector<UsageRecord>& records,
                                                    absl::Time now) = 0;

  // Aggregates the ledger for a validated query (AggregateReport semantics).
  // OUT_OF_RANGE when a sum exceeds int64.
  virtual absl::StatusOr<ReportResult> QueryReport(const ReportQuery& query) = 0;

  // Sum of the costs of `tenant`'s usage inside `scope` (ScopeCovers) with
  // period.start <= time < period.end. OUT_OF_RANGE on overflow.
  virtual absl::StatusOr<int64_t> Spend(const Scope& scope, const Period& period) = 0;

  // --- Budgets ---------------------------------------------------------------

  // Stores a normalized budget under a new id. With a request_id already used
  // by the tenant, returns that budget instead. ALREADY_EXISTS when the name
  // is taken; RESOURCE_EXHAUSTED beyond kMaxBudgetsPerTenant.
  virtual absl::StatusOr<Budget> CreateBudget(const Budget& budget) = 0;

  // NOT_FOUND for an unknown id; INVALID_ARGUMENT ("id") for a malformed one.
  virtual absl::StatusOr<Budget> GetBudget(absl::string_view id) = 0;
  virtual absl::Status DeleteBudget(absl::string_view id) = 0;

  // Replaces the writable fields of budget `id` with what `update` computes
  // from the stored budget, atomically (the budget is locked against
  // concurrent updates and alert evaluation while `update` runs). Keeps id,
  // tenant, request_id and create_time; sets update_time. When the change
  // moves the budget's alert period at `now` (period, rolling window or time
  // zone changed), the alerts already fired in the old current alert period
  // are recorded as fired in the new one, so a threshold fires at most once
  // across the change; a changed limit keeps the same period, whose fired
  // thresholds stay fired. NOT_FOUND for an unknown id; INVALID_ARGUMENT
  // ("id") for a malformed one; ALREADY_EXISTS when the new name belongs to
  // another budget of the tenant; `update`'s error as is.
  virtual absl::StatusOr<Budget> UpdateBudget(absl::string_view id, const BudgetUpdateFn& update,
                                              absl::Time now) = 0;

  // The threshold percents (ascending) of `budget_id` already fired in the
  // alert period starting at `period_start`.
  virtual absl::StatusOr<std::vector<int32_t>> FiredThresholds(absl::string_view tenant,
                                                               absl::string_view budget_id,
                                                               absl::Time period_start) = 0;

  // Up to `limit` budgets of `tenant` ("" = all) in (tenant, name) order.
  virtual absl::StatusOr<std::vector<Budget>> ListBudgets(absl::string_view tenant,
                                                          const std::optional<BudgetCursor>& after,
                                                          int32_t limit) = 0;

  // --- Unknown models --------------------------------------------------------

  // Up to query.limit models without a price, in (tenant, provider, model)
  // order. Without a range: the running totals kept as usage is recorded
  // (first and last record, calls, input and output tokens). With a range:
  // the same figures over the unpriced LLM records of the ledger inside it
  // (models without such records there are left out). OUT_OF_RANGE when a
  // sum exceeds int64.
  virtual absl::StatusOr<std::vector<UnknownModelSummary>> ListUnknownModels(
      const UnknownModelQuery& query) = 0;
};

}  // namespace agentwatch::cost
