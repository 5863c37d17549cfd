#include "cost/api/cost_service.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "cost/api/convert.h"
#include "cost/api/litellm_json.h"
#include "cost/core/paging.h"

namespace agentwatch::cost {
namespace {

using common::InvalidField;
using common::Role;

constexpr size_t kMaxImportIssuesListed = 1000;
constexpr size_t kMaxTenantBytes = 256;

// A stable fingerprint of a list request without its paging fields, so a page
// token only continues the request that made it.
template <typename Request>
uint64_t RequestFingerprint(absl::string_view method, Request request) {
  request.clear_page_token();
  request.clear_page_size();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  return Fingerprint(absl::StrCat(method, "\n", bytes));
}

}  // namespace

// --- Transport: every handler runs its Do* on the executor via RpcRunner. ---

grpc::ServerUnaryReactor* CostServiceImpl::RecordUsage(grpc::CallbackServerContext* context,
                                                       const v1::RecordUsageRequest* request,
                                                       v1::RecordUsageResponse* response) {
  return rpc_.Unary(context, Role::kOperator,
                    [this, request, response] { return DoRecordUsage(*request, response); });
}

grpc::ServerUnaryReactor* CostServiceImpl::GetCostReport(grpc::CallbackServerContext* context,
                                                         const v1::GetCostReportRequest* request,
                                                         v1::GetCostReportResponse* response) {
  return rpc_.Unary(context, Role::kViewer,
                    [this, request, response] { return DoGetCostReport(*request, response); });
}

grpc::ServerUnaryReactor* CostServiceImpl::CheckBudget(grpc::CallbackServerContext* context,
                                                       const v1::CheckBudgetRequest* request,
                                                       v1::CheckBudgetResponse* response) {
  return rpc_.Unary(context, Role::kViewer,
                    [this, request, response] { return DoCheckBudget(*request, response); });
}

grpc::ServerUnaryReactor* CostServiceImpl::UpsertPrice(grpc::CallbackServerContext* context,
                                                       const v1::UpsertPriceRequest* request,
                                                       v1::Price* response) {
  return rpc_.Unary(context, Role::kAdmin,
                    [this, request, response] { return DoUpsertPrice(*request, response); });
}

grpc::ServerUnaryReactor* CostServiceImpl::GetPrice(grpc::CallbackServerContext* context,
                                                    const v1::GetPriceRequest* request,
                                                    v1::Price* response) {
  return rpc_.Unary(context, Role::kViewer,
                    [this, request, response] { return DoGetPrice(*request, response); });
}

grpc::ServerUnaryReactor* CostServiceImpl::ListPrices(grpc::CallbackServerContext* context,
                                                      const v1::ListPricesRequest* request,
                                                      v1::ListPricesResponse* response) {
  return rpc_.Unary(context, Role::kViewer,
                    [this, request, response] { return DoListPrices(*request, response); });
}

grpc::ServerUnaryReactor* CostServiceImpl::ImportPrices(grpc::CallbackServerContext* context,
                                                        const v1::ImportPricesRequest* request,
                                                        v1::ImportPricesResponse* response) {
  return rpc_.Unary(context, Role::kAdmin,
                    [this, request, response] { return DoImportPrices(*request, response); });
}

grpc::ServerUnaryReactor* CostServiceImpl::CreateBudget(grpc::CallbackServerContext* context,
                                                        const v1::CreateBudgetRequest* request,
                                                        v1::Budget* response) {
  return rpc_.Unary(context, Role::kAdmin,
                    [this, request, response] { return DoCreateBudget(*request, response); });
}

grpc::ServerUnaryReactor* CostServiceImpl::GetBudget(grpc::CallbackServerContext* context,
                                                     const v1::GetBudgetRequest* request,
                                                     v1::Budget* response) {
  return rpc_.Unary(context, Role::kViewer,
                    [this, request, response] { return DoGetBudget(*request, response); });
}

grpc::ServerUnaryReactor* CostServiceImpl::DeleteBudget(grpc::CallbackServerContext* context,
                                                        const v1::DeleteBudgetRequest* request,
                                                        google::protobuf::Empty* response) {
  return rpc_.Unary(context, Role::kAdmin, [this, request] { return DoDeleteBudget(*request); });
}

grpc::ServerUnaryReactor* CostServiceImpl::ListBudgets(grpc::CallbackServerContext* context,
                                                       const v1::ListBudgetsRequest* request,
                                                       v1::ListBudgetsResponse* response) {
  return rpc_.Unary(context, Role::kViewer,
                    [this, request, response] { return DoListBudgets(*request, response); });
}

// --- Usage -------------------------------------------------------------------

absl::Status CostServiceImpl::DoRecordUsage(const v1::RecordUsageRequest& request,
                                            v1::RecordUsageResponse* response) {
  if (request.records_size() == 0) return InvalidField("records", "at least one record required");
  if (request.records_size() > kMaxRecordsPerBatch) {
    return absl::ResourceExhaustedError(absl::StrCat("records: ", request.records_size(),
                                                     " records; at most ", kMaxRecordsPerBatch,
                                                     " per batch"));
  }
  std::vector<UsageRecord> records;
  records.reserve(request.records_size());
  for (int i = 0; i < request.records_size(); ++i) {
    ASSIGN_OR_RETURN(UsageRecord record, UsageRecordFromProto(request.records(i), i));
    records.push_back(std::move(record));
  }
  ASSIGN_OR_RETURN(RecordOutcome outcome, store_.RecordUsage(records));
  metrics_.accepted_records.Increment(static_cast<double>(outcome.accepted - outcome.unpriced));
  metrics_.unpriced_records.Increment(static_cast<double>(outcome.unpriced));
  metrics_.duplicate_records.Increment(static_cast<double>(outcome.duplicates));
  metrics_.recorded_nano_usd.Increment(static_cast<double>(outcome.total_cost_nano_usd));
  if (!outcome.unknown_models.empty()) {
    common::LogWarning("usage of models without a price recorded unpriced",
                       {{"models", absl::StrJoin(outcome.unknown_models, ",")}});
  }
  response->set_accepted(outcome.accepted);
  response->set_duplicates(outcome.duplicates);
  response->set_total_cost_nano_usd(outcome.total_cost_nano_usd);
  for (const std::string& model : outcome.unknown_models) response->add_unknown_models(model);
  return absl::OkStatus();
}

// --- Reports -----------------------------------------------------------------

absl::Status CostServiceImpl::DoGetCostReport(const v1::GetCostReportRequest& request,
                                              v1::GetCostReportResponse* response) {
  ASSIGN_OR_RETURN(ReportQuery query, ReportQueryFromProto(request, clock_.Now()));
  ASSIGN_OR_RETURN(int32_t page_size, EffectivePageSize(request.page_size()));
  const uint64_t fingerprint = RequestFingerprint("GetCostReport", request);
  size_t offset = 0;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string position, DecodePageToken(request.page_token(), fingerprint));
    if (!absl::SimpleAtoi(position, &offset)) return InvalidField("page_token", "malformed");
  }
  ASSIGN_OR_RETURN(ReportResult report, store_.QueryReport(query));
  const size_t begin = std::min(offset, report.rows.size());
  const size_t end = std::min(begin + static_cast<size_t>(page_size), report.rows.size());
  for (size_t i = begin; i < end; ++i) {
    ReportRowToProto(report.rows[i], query, response->add_rows());
  }
  if (end < report.rows.size()) {
    response->set_next_page_token(EncodePageToken(fingerprint, absl::StrCat(end)));
  }
  const ReportFigures& t = report.totals;
  response->set_total_cost_nano_usd(t.cost_nano_usd);
  response->set_total_input_tokens(t.input_tokens);
  response->set_total_output_tokens(t.output_tokens);
  response->set_total_cached_input_tokens(t.cached_input_tokens);
  response->set_total_cache_creation_tokens(t.cache_creation_tokens);
  response->set_total_calls(t.calls);
  response->set_total_workflow_runs(t.workflow_runs);
  response->set_total_successful_runs(t.successful_runs);
  response->set_total_unpriced_calls(t.unpriced_calls);
  if (request.format() == v1::FORMAT_CSV) {
    response->set_csv(
        ReportCsv(absl::MakeConstSpan(report.rows).subspan(begin, end - begin), query));
  }
  return absl::OkStatus();
}

// --- Budgets -----------------------------------------------------------------

absl::Status CostServiceImpl::DoCheckBudget(const v1::CheckBudgetRequest& request,
                                            v1::CheckBudgetResponse* response) {
  const Scope scope = ScopeFromProto(request.scope());
  RETURN_IF_ERROR(ValidateScope(scope, "scope", true));
  if (request.estimated_cost_nano_usd() < 0) {
    return InvalidField("estimated_cost_nano_usd", "must be >= 0");
  }
  const absl::Time now = clock_.Now();
  ASSIGN_OR_RETURN(std::vector<Budget> budgets,
                   store_.ListBudgets(scope.tenant, std::nullopt, kMaxBudgetsPerTenant));
  std::vector<BudgetSpend> spends;
  for (const Budget& budget : budgets) {
    if (!ScopeCovers(budget.scope, scope)) continue;
    absl::TimeZone zone;
    if (!absl::LoadTimeZone(budget.time_zone, &zone)) zone = absl::UTCTimeZone();
    BudgetSpend spend;
    spend.budget = &budget;
    spend.period = CurrentPeriod(budget.period, budget.rolling_window, zone, now);
    ASSIGN_OR_RETURN(spend.spent_nano_usd, store_.Spend(budget.scope, spend.period));
    spends.push_back(spend);
  }
  const BudgetDecision decision = DecideBudgets(spends, request.estimated_cost_nano_usd());
  response->set_allowed(decision.allowed);
  response->set_remaining_nano_usd(decision.remaining_nano_usd);
  response->set_budget_id(decision.budget_id);
  response->set_reason(decision.reason);
  if (decision.enforcement.has_value()) {
    response->set_enforcement(*decision.enforcement == Enforcement::kHard ? v1::ENFORCEMENT_HARD
                                                                          : v1::ENFORCEMENT_SOFT);
  }
  response->set_percent_used(decision.percent_used);
  if (decision.period_end.has_value()) {
    TimeToProto(*decision.period_end, response->mutable_period_end());
  }
  response->set_soft_limit_exceeded(decision.soft_limit_exceeded);
  for (const std::string& id : decision.matched_budget_ids) response->add_matched_budget_ids(id);
  return absl::OkStatus();
}

absl::Status CostServiceImpl::DoCreateBudget(const v1::CreateBudgetRequest& request,
                                             v1::Budget* response) {
  if (!request.has_budget()) return InvalidField("budget", "required");
  ASSIGN_OR_RETURN(Budget budget, BudgetFromProto(request.budget(), request.request_id()));
  ASSIGN_OR_RETURN(Budget stored, store_.CreateBudget(budget));
  BudgetToProto(stored, response);
  return absl::OkStatus();
}

absl::Status CostServiceImpl::DoGetBudget(const v1::GetBudgetRequest& request,
                                          v1::Budget* response) {
  if (request.id().empty()) return InvalidField("id", "required");
  ASSIGN_OR_RETURN(Budget budget, store_.GetBudget(request.id()));
  BudgetToProto(budget, response);
  return absl::OkStatus();
}

absl::Status CostServiceImpl::DoDeleteBudget(const v1::DeleteBudgetRequest& request) {
  if (request.id().empty()) return InvalidField("id", "required");
  return store_.DeleteBudget(request.id());
}

absl::Status CostServiceImpl::DoListBudgets(const v1::ListBudgetsRequest& request,
                                            v1::ListBudgetsResponse* response) {
  ASSIGN_OR_RETURN(int32_t page_size, EffectivePageSize(request.page_size()));
  const uint64_t fingerprint = RequestFingerprint("ListBudgets", request);
  std::optional<BudgetCursor> after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string position, DecodePageToken(request.page_token(), fingerprint));
    ASSIGN_OR_RETURN(std::vector<std::string> parts, UnpackPosition(position, 2));
    after = BudgetCursor{parts[0], parts[1]};
  }
  ASSIGN_OR_RETURN(std::vector<Budget> budgets,
                   store_.ListBudgets(request.tenant(), after, page_size + 1));
  const bool more = budgets.size() > static_cast<size_t>(page_size);
  if (more) budgets.resize(page_size);
  for (const Budget& b : budgets) BudgetToProto(b, response->add_budgets());
  if (more) {
    response->set_next_page_token(EncodePageToken(
        fingerprint, PackPosition({budgets.back().scope.tenant, budgets.back().name})));
  }
  return absl::OkStatus();
}

// --- Prices ------------------------------------------------------------------

absl::Status CostServiceImpl::DoUpsertPrice(const v1::UpsertPriceRequest& request,
                                            v1::Price* response) {
  if (!request.has_price()) return InvalidField("price", "required");
  ASSIGN_OR_RETURN(PriceVersion version, PriceVersionFromProto(request.price()));
  ASSIGN_OR_RETURN(PriceVersion stored, store_.UpsertPrice(version));
  PriceVersionToProto(stored, response);
  return absl::OkStatus();
}

absl::Status CostServiceImpl::DoGetPrice(const v1::GetPriceRequest& request, v1::Price* response) {
  if (request.provider().empty()) return InvalidField("provider", "required");
  if (request.model().empty()) return InvalidField("model", "required");
  absl::Time at = clock_.Now();
  if (request.has_time()) {
    ASSIGN_OR_RETURN(at, TimeFromProto(request.time(), "time"));
  }
  ASSIGN_OR_RETURN(PriceVersion version,
                   store_.GetPrice(request.tenant(), request.provider(),
                                   CanonicalModel(request.provider(), request.model()), at));
  PriceVersionToProto(version, response);
  return absl::OkStatus();
}

absl::Status CostServiceImpl::DoListPrices(const v1::ListPricesRequest& request,
                                           v1::ListPricesResponse* response) {
  ASSIGN_OR_RETURN(int32_t page_size, EffectivePageSize(request.page_size()));
  const uint64_t fingerprint = RequestFingerprint("ListPrices", request);
  PriceListQuery query;
  query.tenant = request.tenant();
  query.provider = request.provider();
  query.model = CanonicalModel(request.provider(), request.model());
  query.include_history = request.include_history();
  query.now = clock_.Now();
  query.limit = page_size + 1;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string position, DecodePageToken(request.page_token(), fingerprint));
    ASSIGN_OR_RETURN(std::vector<std::string> parts, UnpackPosition(position, 3));
    int64_t micros = 0;
    if (!absl::SimpleAtoi(parts[2], &micros)) return InvalidField("page_token", "malformed");
    query.after = PriceCursor{parts[0], parts[1], absl::FromUnixMicros(micros)};
  }
  ASSIGN_OR_RETURN(std::vector<PriceVersion> prices, store_.ListPrices(query));
  const bool more = prices.size() > static_cast<size_t>(page_size);
  if (more) prices.resize(page_size);
  for (const PriceVersion& p : prices) PriceVersionToProto(p, response->add_prices());
  if (more) {
    const PriceVersion& last = prices.back();
    response->set_next_page_token(EncodePageToken(
        fingerprint, PackPosition({last.provider, last.model,
                                   absl::StrCat(absl::ToUnixMicros(last.effective_time))})));
  }
  return absl::OkStatus();
}

absl::Status CostServiceImpl::DoImportPrices(const v1::ImportPricesRequest& request,
                                             v1::ImportPricesResponse* response) {
  absl::string_view json;
  switch (request.source_case()) {
    case v1::ImportPricesRequest::kLitellmJson:
      json = request.litellm_json();
      break;
    case v1::ImportPricesRequest::kLitellmJsonBytes:
      json = request.litellm_json_bytes();
      break;
    case v1::ImportPricesRequest::SOURCE_NOT_SET:
      return InvalidField("litellm_json", "required");
  }
  if (request.tenant().size() > kMaxTenantBytes) {
    return InvalidField("tenant", absl::StrCat("at most ", kMaxTenantBytes, " bytes"));
  }
  absl::Time effective_time = clock_.Now();
  if (request.has_effective_time()) {
    ASSIGN_OR_RETURN(effective_time, TimeFromProto(request.effective_time(), "effective_time"));
  }
  ASSIGN_OR_RETURN(LiteLlmConversion conversion, ConvertLiteLlmJson(json, "litellm_json"));
  ASSIGN_OR_RETURN(ImportCounts counts,
                   store_.ImportPrices(request.tenant(), effective_time, kSourceLiteLlm,
                                       conversion.prices, request.dry_run()));
  response->set_imported(counts.imported);
  response->set_unchanged(counts.unchanged);
  response->set_skipped(static_cast<int64_t>(conversion.issues.size()));
  for (size_t i = 0; i < conversion.issues.size() && i < kMaxImportIssuesListed; ++i) {
    v1::ImportIssue* issue = response->add_issues();
    issue->set_model(conversion.issues[i].key);
    issue->set_reason(conversion.issues[i].reason);
  }
  return absl::OkStatus();
}

}  // namespace agentwatch::cost
