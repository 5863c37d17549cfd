#include "cost/api/cost_service.h"

#include <google/protobuf/arena.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <algorithm>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "common/trace.h"
#include "cost/api/convert.h"
#include "cost/api/litellm_json.h"
#include "cost/core/paging.h"

namespace agentwatch::cost {
namespace {

using common::InvalidField;
using common::Role;

constexpr size_t kMaxImportIssuesListed = 1000;
constexpr size_t kMaxTenantBytes = 256;

// A request's optional `tenant` field: at most kMaxTenantBytes.
absl::Status ValidateTenantField(absl::string_view tenant) {
  if (tenant.size() <= kMaxTenantBytes) return absl::OkStatus();
  return InvalidField("tenant", absl::StrCat("at most ", kMaxTenantBytes, " bytes"));
}

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

// The writable paths of UpdateBudget's mask.
constexpr absl::string_view kWritableBudgetPaths[] = {"name",
                                                      "scope",
                                                      "scope.team",
                                                      "scope.workflow",
                                                      "scope.agent",
                                                      "scope.model",
                                                      "scope.provider",
                                                      "scope.service",
                                                      "scope.tags",
                                                      "period",
                                                      "rolling_window",
                                                      "limit_nano_usd",
                                                      "threshold_percents",
                                                      "enforcement",
                                                      "time_zone",
                                                      "alert_on_projected_overrun",
                                                      "alert_severity"};

bool IsWritableBudgetPath(absl::string_view path) {
  return std::find(std::begin(kWritableBudgetPaths), std::end(kWritableBudgetPaths), path) !=
         std::end(kWritableBudgetPaths);
}

// Copies the field at a writable `path` from `from` to `to`.
void CopyBudgetPath(absl::string_view path, const v1::Budget& from, v1::Budget* to) {
  const agentwatch::common::v1::Scope& fs = from.scope();
  agentwatch::common::v1::Scope* ts = to->mutable_scope();
  if (path == "name") {
    to->set_name(from.name());
  } else if (path == "scope") {
    const std::string tenant = ts->tenant();
    *ts = fs;
    if (fs.tenant().empty()) ts->set_tenant(tenant);
  } else if (path == "scope.team") {
    ts->set_team(fs.team());
  } else if (path == "scope.workflow") {
    ts->set_workflow(fs.workflow());
  } else if (path == "scope.agent") {
    ts->set_agent(fs.agent());
  } else if (path == "scope.model") {
    ts->set_model(fs.model());
  } else if (path == "scope.provider") {
    ts->set_provider(fs.provider());
  } else if (path == "scope.service") {
    ts->set_service(fs.service());
  } else if (path == "scope.tags") {
    *ts->mutable_tags() = fs.tags();
  } else if (path == "period") {
    to->set_period(from.period());
  } else if (path == "rolling_window") {
    if (from.has_rolling_window()) {
      *to->mutable_rolling_window() = from.rolling_window();
    } else {
      to->clear_rolling_window();
    }
  } else if (path == "limit_nano_usd") {
    to->set_limit_nano_usd(from.limit_nano_usd());
  } else if (path == "threshold_percents") {
    *to->mutable_threshold_percents() = from.threshold_percents();
  } else if (path == "enforcement") {
    to->set_enforcement(from.enforcement());
  } else if (path == "time_zone") {
    to->set_time_zone(from.time_zone());
  } else if (path == "alert_on_projected_overrun") {
    to->set_alert_on_projected_overrun(from.alert_on_projected_overrun());
  } else if (path == "alert_severity") {
    to->set_alert_severity(from.alert_severity());
  }
}

bool SameScope(const Scope& a, const Scope& b) {
  return a.tenant == b.tenant && a.team == b.team && a.workflow == b.workflow &&
         a.agent == b.agent && a.model == b.model && a.provider == b.provider &&
         a.service == b.service && a.tags == b.tags;
}

}  // namespace

// --- Transport: every handler runs its Do* on the executor via RpcRunner. ---

grpc::ServerUnaryReactor* CostServiceImpl::RecordUsage(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer* request,
                                                       grpc::ByteBuffer* response) {
  return rpc_.Unary(context, Role::kOperator, [this, request, response]() -> absl::Status {
    // Most requests: the records straight from the request's bytes, no
    // generated messages (UsageRecordsFromWire). Anything else (an invalid
    // record, an unusual encoding) is parsed and converted below, which
    // gives the same records or the error naming the field.
    {
      grpc::Slice bytes;
      std::vector<UsageRecord> records;
      if (request->DumpToSingleSlice(&bytes).ok() &&
          UsageRecordsFromWire(
              absl::string_view(reinterpret_cast<const char*>(bytes.begin()), bytes.size()),
              &records)) {
        v1::RecordUsageResponse answer;
        RETURN_IF_ERROR(RecordRecords(records, &answer));
        return common::SerializeResponse(answer, response);
      }
    }
    // The request's thousands of strings on one arena, released in one go.
    google::protobuf::ArenaOptions arena_options;
    arena_options.start_block_size = 64 << 10;
    arena_options.max_block_size = 1 << 20;
    google::protobuf::Arena arena(arena_options);
    auto* parsed = google::protobuf::Arena::CreateMessage<v1::RecordUsageRequest>(&arena);
    grpc::ByteBuffer bytes(*request);  // shares the slices
    if (!grpc::SerializationTraits<v1::RecordUsageRequest>::Deserialize(&bytes, parsed).ok()) {
      return absl::InvalidArgumentError("request: not a valid RecordUsageRequest");
    }
    auto* answer = google::protobuf::Arena::CreateMessage<v1::RecordUsageResponse>(&arena);
    RETURN_IF_ERROR(DoRecordUsage(*parsed, answer));
    return common::SerializeResponse(*answer, response);
  });
}

grpc::ServerUnaryReactor* CostServiceImpl::GetCostReport(grpc::CallbackServerContext* context,
                                                         const v1::GetCostReportRequest* request,
                                                         v1::GetCostReportResponse* response) {
  return rpc_.Unary(context, Role::kViewer,
                    [this, request, response] { return DoGetCostReport(*request, response); });
}

grpc::ServerUnaryReactor* CostServiceImpl::GetCostPerformance(
    grpc::CallbackServerContext* context, const v1::GetCostPerformanceRequest* request,
    v1::GetCostPerformanceResponse* response) {
  return rpc_.Unary(context, Role::kViewer,
                    [this, request, response] { return DoGetCostPerformance(*request, response); });
}

grpc::ServerUnaryReactor* CostServiceImpl::CheckBudget(grpc::CallbackServerContext* context,
                                                       const v1::CheckBudgetRequest* request,
                                                       v1::CheckBudgetResponse* response) {
  // The hot path runs inline on gRPC's callback thread: it does no Postgres
  // I/O (cached budgets; the hot counters from the near cache in memory,
  // store/near_budget_counters.h, or one Redis round trip without it), so it
  // never queues behind RecordUsage batches on the executor. Everything else
  // goes there.
  if (options_.counters != nullptr && rpc_.authorizer().Check(*context, Role::kViewer).ok()) {
    common::ScopedTrace trace(common::TraceFromServerContext(*context));
    const absl::StatusOr<bool> answered = CheckBudgetFromCache(*request, response);
    if (!answered.ok() || *answered) {
      grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
      reactor->Finish(common::ToGrpcStatus(answered.status()));
      return reactor;
    }
    response->Clear();
  }
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

grpc::ServerUnaryReactor* CostServiceImpl::ListUnknownModels(
    grpc::CallbackServerContext* context, const v1::ListUnknownModelsRequest* request,
    v1::ListUnknownModelsResponse* response) {
  return rpc_.Unary(context, Role::kViewer,
                    [this, request, response] { return DoListUnknownModels(*request, response); });
}

grpc::ServerUnaryReactor* CostServiceImpl::UpdateBudget(grpc::CallbackServerContext* context,
                                                        const v1::UpdateBudgetRequest* request,
                                                        v1::Budget* response) {
  return rpc_.Unary(context, Role::kAdmin,
                    [this, request, response] { return DoUpdateBudget(*request, response); });
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

grpc::ServerUnaryReactor* CostServiceImpl::GetBudgetStatus(
    grpc::CallbackServerContext* context, const v1::GetBudgetStatusRequest* request,
    v1::BudgetStatus* response) {
  return rpc_.Unary(context, Role::kViewer,
                    [this, request, response] { return DoGetBudgetStatus(*request, response); });
}

grpc::ServerUnaryReactor* CostServiceImpl::Reconcile(grpc::CallbackServerContext* context,
                                                     const v1::ReconcileRequest* request,
                                                     v1::ReconcileResponse* response) {
  return rpc_.Unary(context, Role::kAdmin,
                    [this, request, response] { return DoReconcile(*request, response); });
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
  std::vector<UsageRecord> records(static_cast<size_t>(request.records_size()));
  for (int i = 0; i < request.records_size(); ++i) {
    RETURN_IF_ERROR(UsageRecordFromProto(request.records(i), i, &records[static_cast<size_t>(i)]));
  }
  return RecordRecords(records, response);
}

absl::Status CostServiceImpl::RecordRecords(const std::vector<UsageRecord>& records,
                                            v1::RecordUsageResponse* response) {
  ASSIGN_OR_RETURN(RecordOutcome outcome, store_.RecordUsage(records, clock_.Now()));
  for (const BudgetAlert& alert : outcome.alerts) {
    (alert.kind == BudgetAlertKind::kThreshold ? metrics_.threshold_alerts
                                               : metrics_.projected_alerts)
        .Increment();
    common::LogInfo("budget alert fired", {{"tenant", alert.tenant},
                                           {"budget_id", alert.budget_id},
                                           {"alert", alert.name},
                                           {"threshold", absl::StrCat(alert.threshold_percent)},
                                           {"percent_used", alert.annotations.at("percent_used")}});
  }
  if (!outcome.alerts.empty() && options_.on_alerts) options_.on_alerts();
  if (options_.counters != nullptr && !outcome.increments.empty()) {
    // After the commit, best effort: a counter that misses this batch is
    // raised by the next one (see store/budget_counters.h).
    if (absl::Status s = options_.counters->RaiseTo(outcome.increments, clock_.Now()); !s.ok()) {
      metrics_.counter_errors.Increment();
      common::LogWarning("budget counters not raised; the next batch or reconcile repairs them",
                         {{"error", s.ToString()}});
    }
  }
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

absl::Status CostServiceImpl::DoGetCostPerformance(const v1::GetCostPerformanceRequest& request,
                                                   v1::GetCostPerformanceResponse* response) {
  const absl::Time now = clock_.Now();
  ReportQuery query;
  if (!request.has_range() || !request.range().has_start()) {
    return InvalidField("range.start", "required");
  }
  ASSIGN_OR_RETURN(query.start, TimeFromProto(request.range().start(), "range.start"));
  query.end = now;
  if (request.range().has_end()) {
    ASSIGN_OR_RETURN(query.end, TimeFromProto(request.range().end(), "range.end"));
  }
  bool by_workflow = false, by_agent = false, by_model = false;
  for (int i = 0; i < request.group_by_size(); ++i) {
    bool* flag = nullptr;
    switch (request.group_by(i)) {
      case v1::DIMENSION_WORKFLOW:
        flag = &by_workflow;
        break;
      case v1::DIMENSION_AGENT:
        flag = &by_agent;
        break;
      case v1::DIMENSION_MODEL:
        flag = &by_model;
        break;
      default:
        return InvalidField(absl::StrCat("group_by[", i, "]"), "must be WORKFLOW, AGENT or MODEL");
    }
    if (*flag) return InvalidField(absl::StrCat("group_by[", i, "]"), "repeated dimension");
    *flag = true;
  }
  if (request.group_by_size() == 0) by_model = true;
  if (by_workflow) query.group_by.push_back(Dimension::kWorkflow);
  if (by_agent) query.group_by.push_back(Dimension::kAgent);
  if (by_model) {
    query.group_by.push_back(Dimension::kModel);
    query.group_by.push_back(Dimension::kProvider);
  }
  query.filter = ScopeFromProto(request.filter());
  RETURN_IF_ERROR(ValidateReportQuery(query));
  PerformanceTolerances tolerances;
  if (request.has_success_rate_tolerance()) {
    tolerances.success_rate = request.success_rate_tolerance();
  }
  if (request.has_latency_tolerance()) tolerances.latency = request.latency_tolerance();
  if (request.has_min_calls()) tolerances.min_calls = request.min_calls();
  RETURN_IF_ERROR(ValidateTolerances(tolerances));
  ASSIGN_OR_RETURN(int32_t page_size, EffectivePageSize(request.page_size()));
  const uint64_t fingerprint = RequestFingerprint("GetCostPerformance", request);
  size_t offset = 0;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string position, DecodePageToken(request.page_token(), fingerprint));
    if (!absl::SimpleAtoi(position, &offset)) return InvalidField("page_token", "malformed");
  }

  ASSIGN_OR_RETURN(ReportResult report, store_.QueryReport(query));
  std::vector<CostGroup> groups;
  groups.reserve(report.rows.size());
  CurrentPrices prices;
  for (const ReportRow& row : report.rows) {
    CostGroup group;
    group.key.workflow = row.group[static_cast<int>(Dimension::kWorkflow)];
    group.key.agent = row.group[static_cast<int>(Dimension::kAgent)];
    group.key.provider = row.group[static_cast<int>(Dimension::kProvider)];
    group.key.model = row.group[static_cast<int>(Dimension::kModel)];
    group.figures = row.figures;
    if (by_model && !group.key.model.empty() &&
        prices.count({group.key.provider, group.key.model}) == 0) {
      auto price = store_.GetPrice(query.filter.tenant, group.key.provider, group.key.model, now);
      if (price.ok()) {
        prices[{group.key.provider, group.key.model}] = price->price;
      } else if (!absl::IsNotFound(price.status())) {
        return price.status();
      }
    }
    groups.push_back(std::move(group));
  }

  std::optional<PerformanceMap> performance;
  std::string unavailable;
  if (options_.performance == nullptr) {
    unavailable = "no monitor configured";
  } else {
    PerformanceQuery perf_query;
    perf_query.start = query.start;
    perf_query.end = query.end;
    perf_query.filter = query.filter;
    perf_query.by_workflow = by_workflow;
    perf_query.by_agent = by_agent;
    perf_query.by_model = by_model;
    absl::StatusOr<PerformanceMap> fetched = options_.performance->Fetch(perf_query);
    if (fetched.ok()) {
      performance = *std::move(fetched);
    } else {
      unavailable = std::string(fetched.status().message());
      metrics_.performance_unavailable.Increment();
      common::LogWarning("cost performance answered without monitor",
                         {{"error", fetched.status().ToString()}});
    }
  }
  response->set_performance_available(performance.has_value());
  response->set_performance_unavailable_reason(unavailable);
  ASSIGN_OR_RETURN(std::vector<CostPerformanceResult> rows,
                   CompareCostPerformance(groups, performance.has_value() ? &*performance : nullptr,
                                          unavailable, prices, by_model, tolerances));
  const size_t begin = std::min(offset, rows.size());
  const size_t end = std::min(begin + static_cast<size_t>(page_size), rows.size());
  for (size_t i = begin; i < end; ++i) {
    const CostPerformanceResult& r = rows[i];
    const ReportFigures& f = r.figures;
    v1::CostPerformanceRow* out = response->add_rows();
    if (by_workflow) (*out->mutable_group())["workflow"] = r.key.workflow;
    if (by_agent) (*out->mutable_group())["agent"] = r.key.agent;
    if (by_model) {
      (*out->mutable_group())["model"] = r.key.model;
      out->set_provider(r.key.provider);
    }
    out->set_cost_nano_usd(f.cost_nano_usd);
    out->set_llm_cost_nano_usd(f.llm_cost_nano_usd);
    out->set_calls(f.calls);
    out->set_workflow_runs(f.workflow_runs);
    out->set_successful_runs(f.successful_runs);
    out->set_success_rate(f.workflow_runs == 0 ? 0.0
                                               : static_cast<double>(f.successful_runs) /
                                                     static_cast<double>(f.workflow_runs));
    out->set_cost_per_successful_run_nano_usd(CostPerRun(f.cost_nano_usd, f.successful_runs));
    out->set_cost_per_call_nano_usd(CostPerRun(f.cost_nano_usd, f.calls));
    if (r.performance.has_value()) {
      out->set_performance_available(true);
      out->set_monitored_calls(r.performance->calls);
      out->set_call_success_rate(CallSuccessRate(*r.performance));
      if (r.performance->p95_latency.has_value()) {
        DurationToProto(*r.performance->p95_latency, out->mutable_p95_latency());
      }
    }
    if (r.suggestion.has_value()) {
      const ModelSuggestion& s = *r.suggestion;
      out->set_suggested_model(s.model);
      out->set_suggested_provider(s.provider);
      out->set_suggested_cost_per_successful_run_nano_usd(s.cost_per_successful_run_nano_usd);
      out->set_suggested_cost_per_call_nano_usd(s.cost_per_call_nano_usd);
      out->set_suggested_saving_nano_usd(s.saving_nano_usd);
      out->set_suggested_call_success_rate(CallSuccessRate(s.performance));
      if (s.performance.p95_latency.has_value()) {
        DurationToProto(*s.performance.p95_latency, out->mutable_suggested_p95_latency());
      }
    }
    out->set_suggestion_reason(r.reason);
  }
  if (end < rows.size()) {
    response->set_next_page_token(EncodePageToken(fingerprint, absl::StrCat(end)));
  }
  return absl::OkStatus();
}

// --- Budgets -----------------------------------------------------------------

absl::StatusOr<std::shared_ptr<const std::vector<Budget>>> CostServiceImpl::TenantBudgets(
    const std::string& tenant) {
  const absl::Time now = clock_.Now();
  // The version token is read BEFORE the budgets: a change committed after
  // this read replaces the token after it, so the entry stored below is
  // seen stale by the next check.
  std::optional<std::string> version;
  if (options_.counters != nullptr) {
    absl::StatusOr<std::string> token = options_.counters->BudgetsVersion(tenant);
    if (token.ok()) {
      version = *std::move(token);
    } else {
      metrics_.counter_errors.Increment();
    }
  }
  {
    absl::MutexLock lock(&cache_mu_);
    auto it = budget_cache_.find(tenant);
    if (it != budget_cache_.end()) {
      const absl::Duration age = now - it->second.fetched;
      const bool fresh = version.has_value()
                             ? it->second.version == version && age < options_.budget_cache_max_age
                             : age < options_.budget_cache_ttl;
      if (fresh) return it->second.budgets;
    }
  }
  ASSIGN_OR_RETURN(std::vector<Budget> budgets,
                   store_.ListBudgets(tenant, std::nullopt, kMaxBudgetsPerTenant));
  auto shared = std::make_shared<const std::vector<Budget>>(std::move(budgets));
  if (version.has_value() || options_.budget_cache_ttl > absl::ZeroDuration()) {
    absl::MutexLock lock(&cache_mu_);
    budget_cache_[tenant] = {shared, now, std::move(version)};
  }
  return shared;
}

void CostServiceImpl::BudgetsChanged(const std::string& tenant) {
  {
    absl::MutexLock lock(&cache_mu_);
    budget_cache_.erase(tenant);
  }
  if (options_.counters == nullptr) return;
  if (absl::Status s = options_.counters->BumpBudgetsVersion(tenant); !s.ok()) {
    metrics_.counter_errors.Increment();
    common::LogWarning(
        "budgets version not bumped; other replicas see the change within "
        "budget_cache_max_age",
        {{"tenant", tenant}, {"error", s.ToString()}});
  }
}

absl::StatusOr<std::vector<int64_t>> CostServiceImpl::CurrentSpends(
    const std::vector<const Budget*>& budgets, const std::vector<BudgetWindow>& windows,
    absl::Time now) {
  std::vector<std::optional<int64_t>> hot(budgets.size());
  std::vector<CounterKey> keys;
  std::vector<size_t> keyed;
  bool counters_up = options_.counters != nullptr;
  if (counters_up) {
    for (size_t i = 0; i < budgets.size(); ++i) {
      if (budgets[i]->period == BudgetPeriod::kRolling) continue;
      keys.push_back({budgets[i]->scope.tenant, budgets[i]->id, windows[i].spend_period.start,
                      windows[i].spend_period.end});
      keyed.push_back(i);
    }
    if (!keys.empty()) {
      auto values = options_.counters->Get(keys);
      if (values.ok()) {
        for (size_t k = 0; k < keyed.size(); ++k) hot[keyed[k]] = (*values)[k];
      } else {
        counters_up = false;
        metrics_.counter_errors.Increment();
      }
    }
  }
  std::vector<int64_t> spends(budgets.size());
  for (size_t i = 0; i < budgets.size(); ++i) {
    if (hot[i].has_value()) {
      metrics_.spend_from_counter.Increment();
      spends[i] = *hot[i];
      continue;
    }
    metrics_.spend_from_ledger.Increment();
    ASSIGN_OR_RETURN(spends[i], store_.Spend(budgets[i]->scope, windows[i].spend_period));
    if (counters_up && budgets[i]->period != BudgetPeriod::kRolling) {
      // Seeded from the ledger just read; a counter another request seeded
      // first wins (SET NX), and both hold a ledger sum.
      const CounterKey key{budgets[i]->scope.tenant, budgets[i]->id, windows[i].spend_period.start,
                           windows[i].spend_period.end};
      if (!options_.counters->SeedIfAbsent(key, spends[i], now).ok()) {
        metrics_.counter_errors.Increment();
        counters_up = false;
      }
    }
  }
  return spends;
}

absl::Status CostServiceImpl::DoCheckBudget(const v1::CheckBudgetRequest& request,
                                            v1::CheckBudgetResponse* response) {
  const Scope scope = ScopeFromProto(request.scope());
  RETURN_IF_ERROR(ValidateScope(scope, "scope", true));
  if (request.estimated_cost_nano_usd() < 0) {
    return InvalidField("estimated_cost_nano_usd", "must be >= 0");
  }
  const absl::Time now = clock_.Now();
  ASSIGN_OR_RETURN(std::shared_ptr<const std::vector<Budget>> budgets, TenantBudgets(scope.tenant));
  std::vector<const Budget*> applicable;
  std::vector<BudgetWindow> windows;
  for (const Budget& budget : *budgets) {
    if (!ScopeCovers(budget.scope, scope)) continue;
    applicable.push_back(&budget);
    windows.push_back(BudgetWindowAt(budget, now));
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> spent, CurrentSpends(applicable, windows, now));
  FillCheckBudget(applicable, windows, spent, request.estimated_cost_nano_usd(), response);
  return absl::OkStatus();
}

absl::StatusOr<bool> CostServiceImpl::CheckBudgetFromCache(const v1::CheckBudgetRequest& request,
                                                           v1::CheckBudgetResponse* response) {
  const Scope scope = ScopeFromProto(request.scope());
  RETURN_IF_ERROR(ValidateScope(scope, "scope", true));
  if (request.estimated_cost_nano_usd() < 0) {
    return InvalidField("estimated_cost_nano_usd", "must be >= 0");
  }
  const absl::Time now = clock_.Now();
  std::shared_ptr<const std::vector<Budget>> budgets;
  std::shared_ptr<const CachedWindows> current;
  std::string version;
  {
    absl::MutexLock lock(&cache_mu_);
    if (now < fast_path_paused_until_) return false;
    auto it = budget_cache_.find(scope.tenant);
    if (it == budget_cache_.end() || !it->second.version.has_value() ||
        now - it->second.fetched >= options_.budget_cache_max_age) {
      return false;
    }
    budgets = it->second.budgets;
    current = it->second.windows;
    version = *it->second.version;
  }
  if (current == nullptr || now < current->valid_from || now >= current->valid_until) {
    // First check of this list, or a period ended: computed once, outside
    // the lock, and kept with the list it belongs to.
    current = WindowsAt(*budgets, now);
    absl::MutexLock lock(&cache_mu_);
    auto it = budget_cache_.find(scope.tenant);
    if (it != budget_cache_.end() && it->second.budgets == budgets) it->second.windows = current;
  }
  std::vector<const Budget*> applicable;
  std::vector<BudgetWindow> windows;
  std::vector<CounterKey> keys;
  for (size_t i = 0; i < budgets->size(); ++i) {
    const Budget& budget = (*budgets)[i];
    if (!ScopeCovers(budget.scope, scope)) continue;
    if (budget.period == BudgetPeriod::kRolling) return false;  // a ledger sum
    applicable.push_back(&budget);
    windows.push_back(current->windows[i]);
    keys.push_back({scope.tenant, budget.id, windows.back().spend_period.start,
                    windows.back().spend_period.end});
  }
  BudgetCounters* counters =
      options_.check_counters != nullptr ? options_.check_counters : options_.counters;
  absl::StatusOr<VersionedCounters> hot = counters->GetWithVersion(scope.tenant, keys);
  if (!hot.ok()) {
    // Redis is down or slow: the executor path (Postgres) answers for a
    // while, so that the callback threads do not wait on Redis.
    metrics_.counter_errors.Increment();
    absl::MutexLock lock(&cache_mu_);
    fast_path_paused_until_ = now + kFastPathPause;
    return false;
  }
  if (hot->version != version) return false;  // budgets changed: re-read them
  std::vector<int64_t> spent;
  spent.reserve(keys.size());
  for (const std::optional<int64_t>& value : hot->values) {
    if (!value.has_value()) return false;  // a counter to seed from the ledger
    spent.push_back(*value);
  }
  metrics_.spend_from_counter.Increment(static_cast<double>(spent.size()));
  FillCheckBudget(applicable, windows, spent, request.estimated_cost_nano_usd(), response);
  return true;
}

std::shared_ptr<const CostServiceImpl::CachedWindows> CostServiceImpl::WindowsAt(
    const std::vector<Budget>& budgets, absl::Time now) {
  auto out = std::make_shared<CachedWindows>();
  out->valid_from = absl::InfinitePast();
  out->valid_until = absl::InfiniteFuture();
  out->windows.resize(budgets.size());
  for (size_t i = 0; i < budgets.size(); ++i) {
    if (budgets[i].period == BudgetPeriod::kRolling) continue;  // moves every instant
    const BudgetWindow window = BudgetWindowAt(budgets[i], now);
    out->valid_from = std::max(out->valid_from, window.spend_period.start);
    out->valid_until = std::min(out->valid_until, window.spend_period.end);
    out->windows[i] = window;
  }
  return out;
}

void CostServiceImpl::FillCheckBudget(const std::vector<const Budget*>& applicable,
                                      const std::vector<BudgetWindow>& windows,
                                      const std::vector<int64_t>& spent, int64_t estimate,
                                      v1::CheckBudgetResponse* response) {
  std::vector<BudgetSpend> spends;
  for (size_t i = 0; i < applicable.size(); ++i) {
    spends.push_back({applicable[i], windows[i].spend_period, spent[i]});
  }
  const BudgetDecision decision = DecideBudgets(spends, estimate);
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
}

absl::Status CostServiceImpl::DoReconcile(const v1::ReconcileRequest& request,
                                          v1::ReconcileResponse* response) {
  RETURN_IF_ERROR(ValidateTenantField(request.tenant()));
  if (options_.counters == nullptr) {
    return absl::FailedPreconditionError("this replica has no hot counters to reconcile");
  }
  if (reconciling_.exchange(true)) {
    return absl::FailedPreconditionError("a reconciliation is already running");
  }
  struct Done {
    std::atomic<bool>& flag;
    ~Done() { flag = false; }
  } done{reconciling_};
  const absl::Time start = clock_.Now();
  TimeToProto(start, response->mutable_start_time());
  std::optional<BudgetCursor> after;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<Budget> page,
                     store_.ListBudgets(request.tenant(), after, kMaxPageSize));
    if (page.empty()) break;
    after = BudgetCursor{page.back().scope.tenant, page.back().name};
    std::vector<const Budget*> counted;
    std::vector<CounterKey> keys;
    for (const Budget& b : page) {
      if (b.period == BudgetPeriod::kRolling) continue;
      const BudgetWindow window = BudgetWindowAt(b, start);
      counted.push_back(&b);
      keys.push_back({b.scope.tenant, b.id, window.spend_period.start, window.spend_period.end});
    }
    // The counters first, then the ledger, then a compare-and-set: a batch
    // whose increment lands in between changes the counter, so the repair
    // is skipped rather than overwriting that increment (the next run sees
    // it settled).
    ASSIGN_OR_RETURN(std::vector<std::optional<int64_t>> hot, options_.counters->Get(keys));
    for (size_t i = 0; i < keys.size(); ++i) {
      ASSIGN_OR_RETURN(const int64_t ledger,
                       store_.Spend(counted[i]->scope, {keys[i].period_start, keys[i].period_end}));
      response->set_counters_checked(response->counters_checked() + 1);
      if (hot[i].has_value() && *hot[i] == ledger) continue;
      response->set_drifted(response->drifted() + 1);
      if (!hot[i].has_value()) response->set_missing(response->missing() + 1);
      bool repaired = false;
      if (!request.dry_run()) {
        ASSIGN_OR_RETURN(repaired,
                         options_.counters->CompareAndSet(keys[i], hot[i], ledger, clock_.Now()));
        if (repaired) response->set_repaired(response->repaired() + 1);
      }
      if (response->drifts_size() < kMaxPageSize) {
        v1::CounterDrift* drift = response->add_drifts();
        drift->set_budget_id(keys[i].budget_id);
        TimeToProto(keys[i].period_start, drift->mutable_period_start());
        drift->set_hot_nano_usd(hot[i].value_or(-1));
        drift->set_ledger_nano_usd(ledger);
        drift->set_repaired(repaired);
      }
    }
    if (page.size() < static_cast<size_t>(kMaxPageSize)) break;
  }
  metrics_.counters_repaired.Increment(static_cast<double>(response->repaired()));
  TimeToProto(clock_.Now(), response->mutable_end_time());
  if (response->drifted() > 0) {
    common::LogWarning("budget counters drifted from the ledger",
                       {{"checked", absl::StrCat(response->counters_checked())},
                        {"drifted", absl::StrCat(response->drifted())},
                        {"missing", absl::StrCat(response->missing())},
                        {"repaired", absl::StrCat(response->repaired())}});
  }
  return absl::OkStatus();
}

absl::Status CostServiceImpl::DoCreateBudget(const v1::CreateBudgetRequest& request,
                                             v1::Budget* response) {
  if (!request.has_budget()) return InvalidField("budget", "required");
  ASSIGN_OR_RETURN(Budget budget, BudgetFromProto(request.budget(), request.request_id()));
  ASSIGN_OR_RETURN(Budget stored, store_.CreateBudget(budget));
  BudgetsChanged(stored.scope.tenant);
  BudgetToProto(stored, response);
  return absl::OkStatus();
}

absl::Status CostServiceImpl::DoUpdateBudget(const v1::UpdateBudgetRequest& request,
                                             v1::Budget* response) {
  if (!request.has_budget()) return InvalidField("budget", "required");
  const v1::Budget& patch = request.budget();
  if (patch.id().empty()) return InvalidField("budget.id", "required");
  ASSIGN_OR_RETURN(const std::string tenant, TenantOfBudgetId(patch.id(), "budget.id"));
  const auto& paths = request.update_mask().paths();
  for (int i = 0; i < paths.size(); ++i) {
    if (IsWritableBudgetPath(paths[i])) continue;
    const bool read_only = paths[i] == "id" || paths[i] == "create_time" ||
                           paths[i] == "update_time" || paths[i] == "scope.tenant";
    return InvalidField(
        absl::StrCat("update_mask.paths[", i, "]"),
        absl::StrCat(read_only ? "read-only" : "unknown", " field '", paths[i], "'"));
  }
  if (!patch.scope().tenant().empty() && patch.scope().tenant() != tenant) {
    return InvalidField("budget.scope.tenant", "cannot change a budget's tenant");
  }
  bool has_period = false;
  bool has_window = false;
  for (const std::string& path : paths) {
    has_period |= path == "period";
    has_window |= path == "rolling_window";
  }
  Budget before;
  auto apply = [&](const Budget& current) -> absl::StatusOr<Budget> {
    before = current;
    v1::Budget merged;
    if (paths.empty()) {
      merged = patch;
    } else {
      BudgetToProto(current, &merged);
      for (const std::string& path : paths) CopyBudgetPath(path, patch, &merged);
      if (has_period && !has_window && merged.period() != v1::BUDGET_PERIOD_ROLLING) {
        merged.clear_rolling_window();
      }
    }
    merged.mutable_scope()->set_tenant(tenant);
    return BudgetFromProto(merged, current.request_id);
  };
  ASSIGN_OR_RETURN(Budget stored, store_.UpdateBudget(patch.id(), apply, clock_.Now()));
  BudgetsChanged(tenant);
  if (!SameScope(before.scope, stored.scope)) ReseedCounter(stored);
  BudgetToProto(stored, response);
  return absl::OkStatus();
}

void CostServiceImpl::ReseedCounter(const Budget& budget) {
  if (options_.counters == nullptr || budget.period == BudgetPeriod::kRolling) return;
  const absl::Time now = clock_.Now();
  const BudgetWindow window = BudgetWindowAt(budget, now);
  const CounterKey key{budget.scope.tenant, budget.id, window.spend_period.start,
                       window.spend_period.end};
  // Counter first, then the ledger, then a compare-and-set (as Reconcile): an
  // increment landing in between makes the set fail; a few attempts, then
  // Reconcile repairs.
  constexpr int kAttempts = 3;
  absl::Status failure;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto hot = options_.counters->Get({key});
    if (!hot.ok()) {
      failure = hot.status();
      break;
    }
    auto ledger = store_.Spend(budget.scope, window.spend_period);
    if (!ledger.ok()) {
      failure = ledger.status();
      break;
    }
    auto set = options_.counters->CompareAndSet(key, (*hot)[0], *ledger, now);
    if (!set.ok()) {
      failure = set.status();
      break;
    }
    if (*set) return;
    failure = absl::AbortedError("the counter changed during every attempt");
  }
  metrics_.counter_errors.Increment();
  common::LogWarning("budget counter not rewritten after a scope change; reconcile repairs it",
                     {{"budget_id", budget.id}, {"error", failure.ToString()}});
}

absl::Status CostServiceImpl::DoListUnknownModels(const v1::ListUnknownModelsRequest& request,
                                                  v1::ListUnknownModelsResponse* response) {
  RETURN_IF_ERROR(ValidateTenantField(request.tenant()));
  ASSIGN_OR_RETURN(int32_t page_size, EffectivePageSize(request.page_size()));
  const uint64_t fingerprint = RequestFingerprint("ListUnknownModels", request);
  UnknownModelQuery query;
  query.tenant = request.tenant();
  query.limit = page_size + 1;
  if (request.has_range()) {
    // Unset start: from the beginning; unset end: now.
    Period range{absl::UniversalEpoch(), clock_.Now()};
    if (request.range().has_start()) {
      ASSIGN_OR_RETURN(range.start, TimeFromProto(request.range().start(), "range.start"));
    }
    if (request.range().has_end()) {
      ASSIGN_OR_RETURN(range.end, TimeFromProto(request.range().end(), "range.end"));
    }
    if (range.end <= range.start) return InvalidField("range.end", "must be after range.start");
    query.range = range;
  }
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string position, DecodePageToken(request.page_token(), fingerprint));
    ASSIGN_OR_RETURN(std::vector<std::string> parts, UnpackPosition(position, 3));
    query.after = UnknownModelCursor{parts[0], parts[1], parts[2]};
  }
  ASSIGN_OR_RETURN(std::vector<UnknownModelSummary> models, store_.ListUnknownModels(query));
  const bool more = models.size() > static_cast<size_t>(page_size);
  if (more) models.resize(page_size);
  for (const UnknownModelSummary& m : models) {
    v1::UnknownModel* out = response->add_models();
    out->set_tenant(m.tenant);
    out->set_provider(m.provider);
    out->set_model(m.model);
    TimeToProto(m.first_seen, out->mutable_first_seen());
    TimeToProto(m.last_seen, out->mutable_last_seen());
    out->set_calls(m.calls);
    out->set_input_tokens(m.input_tokens);
    out->set_output_tokens(m.output_tokens);
  }
  if (more) {
    const UnknownModelSummary& last = models.back();
    response->set_next_page_token(
        EncodePageToken(fingerprint, PackPosition({last.tenant, last.provider, last.model})));
  }
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
  RETURN_IF_ERROR(store_.DeleteBudget(request.id()));
  if (auto tenant = TenantOfBudgetId(request.id(), "id"); tenant.ok()) BudgetsChanged(*tenant);
  return absl::OkStatus();
}

absl::Status CostServiceImpl::DoListBudgets(const v1::ListBudgetsRequest& request,
                                            v1::ListBudgetsResponse* response) {
  RETURN_IF_ERROR(ValidateTenantField(request.tenant()));
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

absl::Status CostServiceImpl::DoGetBudgetStatus(const v1::GetBudgetStatusRequest& request,
                                                v1::BudgetStatus* response) {
  if (request.id().empty()) return InvalidField("id", "required");
  ASSIGN_OR_RETURN(Budget budget, store_.GetBudget(request.id()));
  const absl::Time now = clock_.Now();
  const BudgetWindow window = BudgetWindowAt(budget, now);
  ASSIGN_OR_RETURN(const int64_t spent, store_.Spend(budget.scope, window.spend_period));
  ASSIGN_OR_RETURN(
      std::vector<int32_t> fired,
      store_.FiredThresholds(budget.scope.tenant, budget.id, window.alert_period.start));
  const Projection projection =
      ProjectSpend(spent, budget.limit_nano_usd, window.spend_period, now);
  response->set_budget_id(budget.id);
  TimeToProto(window.spend_period.start, response->mutable_period_start());
  TimeToProto(window.spend_period.end, response->mutable_period_end());
  response->set_spent_nano_usd(spent);
  response->set_limit_nano_usd(budget.limit_nano_usd);
  const __int128 remaining = static_cast<__int128>(budget.limit_nano_usd) - spent;
  response->set_remaining_nano_usd(remaining < std::numeric_limits<int64_t>::min()
                                       ? std::numeric_limits<int64_t>::min()
                                       : static_cast<int64_t>(remaining));
  response->set_percent_used(static_cast<double>(spent) * 100.0 /
                             static_cast<double>(budget.limit_nano_usd));
  response->set_burn_rate_nano_usd_per_hour(projection.burn_rate_nano_usd_per_hour);
  response->set_projected_spend_nano_usd(projection.projected_spend_nano_usd);
  if (projection.exhaustion_time.has_value()) {
    TimeToProto(*projection.exhaustion_time, response->mutable_projected_exhaustion_time());
  }
  response->set_projected_to_exceed(projection.projected_to_exceed);
  for (int32_t t : fired) response->add_fired_threshold_percents(t);
  TimeToProto(now, response->mutable_as_of());
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
  RETURN_IF_ERROR(ValidateTenantField(request.tenant()));
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
  RETURN_IF_ERROR(ValidateTenantField(request.tenant()));
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
  RETURN_IF_ERROR(ValidateTenantField(request.tenant()));
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
