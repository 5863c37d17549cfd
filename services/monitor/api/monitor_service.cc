#include "monitor/api/monitor_service.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "common/trace.h"
#include "monitor/api/ingest_batch.h"
#include "monitor/api/ingest_wire.h"
#include "monitor/api/proto_mapping.h"
#include "monitor/core/hash.h"
#include "monitor/core/health.h"
#include "monitor/core/names.h"
#include "monitor/core/paging.h"
#include "monitor/core/query.h"
#include "monitor/core/rollup.h"
#include "monitor/core/series_list.h"
#include "monitor/core/thresholds.h"
#include "monitor/store/proto_time.h"

namespace agentwatch::monitor {
namespace {

// "{tenant}:monitor:health:<hash of the request>": the tenant in a hash tag
// keeps a tenant's keys in one Redis Cluster slot.
std::string HealthCacheKey(const HealthScope& scope, absl::Duration window) {
  const std::string hash =
      StableHash({scope.tenant, scope.team, scope.workflow, scope.agent, scope.model,
                  scope.provider, scope.service, CanonicalLabelText(scope.tags),
                  absl::StrCat(absl::ToInt64Microseconds(window))});
  return absl::StrCat("{", scope.tenant, "}:monitor:health:", hash);
}

// `status` with its message prefixed by `prefix` (an INVALID_ARGUMENT of a
// nested message gets the request's field path).
absl::Status Prefixed(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

constexpr char kThresholdsList[] = "health_thresholds";
constexpr char kRulesList[] = "alert_rules";
constexpr char kActiveList[] = "active_alerts";
constexpr char kSeriesList[] = "series";

// The writable AlertRule fields an update mask may name.
bool IsWritableRulePath(const std::string& path) {
  static const char* const kPaths[] = {"name",         "description", "threshold", "anomaly",
                                       "for_duration", "severity",    "labels",    "annotations",
                                       "hysteresis",   "disabled"};
  for (const char* writable : kPaths) {
    if (path == writable) return true;
  }
  return false;
}

// Copies field `path` (IsWritableRulePath) of `from` into `to`.
void CopyRulePath(const std::string& path, const v1::AlertRule& from, v1::AlertRule* to) {
  if (path == "name") {
    to->set_name(from.name());
  } else if (path == "description") {
    to->set_description(from.description());
  } else if (path == "threshold") {
    if (from.has_threshold()) *to->mutable_threshold() = from.threshold();
  } else if (path == "anomaly") {
    if (from.has_anomaly()) *to->mutable_anomaly() = from.anomaly();
  } else if (path == "for_duration") {
    *to->mutable_for_duration() = from.for_duration();
  } else if (path == "severity") {
    to->set_severity(from.severity());
  } else if (path == "labels") {
    *to->mutable_labels() = from.labels();
  } else if (path == "annotations") {
    *to->mutable_annotations() = from.annotations();
  } else if (path == "hysteresis") {
    *to->mutable_hysteresis() = from.hysteresis();
  } else if (path == "disabled") {
    to->set_disabled(from.disabled());
  }
}

// The canonical text of the filters of a ListActiveAlerts request.
std::string ActiveFilterText(const v1::ListActiveAlertsRequest& request) {
  std::string text = absl::StrCat(request.tenant(), "|", request.include_pending());
  for (int severity : request.severities()) absl::StrAppend(&text, "|s", severity);
  for (const auto& m : request.matchers()) {
    absl::StrAppend(&text, "|m", m.name().size(), ":", m.name(), m.op(), ":", m.value().size(), ":",
                    m.value());
  }
  return text;
}

}  // namespace

// One StreamIngest call: read a batch, process it on the stream executor,
// write its acknowledgement, read the next.
class MonitorServiceImpl::IngestStream final
    : public grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse> {
 public:
  IngestStream(MonitorServiceImpl& service, grpc::CallbackServerContext* context)
      : service_(service) {
    const absl::Status auth = service_.rpc_.authorizer().Check(*context, common::Role::kOperator);
    if (!auth.ok()) {
      Finish(common::ToGrpcStatus(auth));
      return;
    }
    trace_ = common::TraceFromServerContext(*context);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed (or went away): every batch read so far has
      // been acknowledged.
      Finish(grpc::Status::OK);
      return;
    }
    const bool queued = service_.stream_executor_.Submit([this] {
      common::ScopedTrace scoped(trace_);
      response_.Clear();
      absl::Status status;
      try {
        status = service_.IngestBatch(request_, &response_);
      } catch (const std::exception& e) {
        status = absl::InternalError(e.what());
      }
      if (!status.ok()) {
        Finish(common::ToGrpcStatus(status));
        return;
      }
      StartWrite(&response_);
    });
    if (!queued) Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server overloaded; retry"));
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  MonitorServiceImpl& service_;
  common::TraceContext trace_;
  v1::IngestRequest request_;
  v1::IngestResponse response_;
};

MonitorServiceImpl::MonitorServiceImpl(MonitorStore& store, HealthCache& health_cache,
                                       common::RpcRunner& rpc,
                                       common::BlockingExecutor& stream_executor,
                                       common::Clock& clock, MonitorMetrics& metrics,
                                       MonitorServiceOptions options,
                                       std::function<void()> on_outbox)
    : store_(store),
      health_cache_(health_cache),
      rpc_(rpc),
      stream_executor_(stream_executor),
      clock_(clock),
      metrics_(metrics),
      options_(options),
      on_outbox_(std::move(on_outbox)) {
  if (options_.label_cache_bytes > 0) {
    label_cache_ = std::make_unique<LabelSetCache>(options_.label_cache_bytes);
  }
}

grpc::ServerUnaryReactor* MonitorServiceImpl::Ingest(grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* request,
                                                     grpc::ByteBuffer* response) {
  return rpc_.Unary(context, common::Role::kOperator, [this, request, response]() -> absl::Status {
    v1::IngestResponse answer;
    RETURN_IF_ERROR(IngestWireBatch(*request, &answer));
    return common::SerializeResponse(answer, response);
  });
}

grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse>* MonitorServiceImpl::StreamIngest(
    grpc::CallbackServerContext* context) {
  return new IngestStream(*this, context);
}

grpc::ServerUnaryReactor* MonitorServiceImpl::GetHealth(grpc::CallbackServerContext* context,
                                                        const v1::GetHealthRequest* request,
                                                        v1::HealthReport* response) {
  return rpc_.Unary(context, common::Role::kViewer,
                    [this, request, response] { return ComputeHealth(*request, response); });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::SetHealthThresholds(
    grpc::CallbackServerContext* context, const v1::SetHealthThresholdsRequest* request,
    v1::HealthThresholds* response) {
  return rpc_.Unary(context, common::Role::kAdmin,
                    [this, request, response] { return SetThresholds(*request, response); });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::GetHealthThresholds(
    grpc::CallbackServerContext* context, const v1::GetHealthThresholdsRequest* request,
    v1::HealthThresholds* response) {
  return rpc_.Unary(context, common::Role::kViewer,
                    [this, request, response] { return GetThresholds(*request, response); });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::ListHealthThresholds(
    grpc::CallbackServerContext* context, const v1::ListHealthThresholdsRequest* request,
    v1::ListHealthThresholdsResponse* response) {
  return rpc_.Unary(context, common::Role::kViewer,
                    [this, request, response] { return ListThresholds(*request, response); });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::DeleteHealthThresholds(
    grpc::CallbackServerContext* context, const v1::DeleteHealthThresholdsRequest* request,
    google::protobuf::Empty* /*response*/) {
  return rpc_.Unary(context, common::Role::kAdmin, [this, request]() -> absl::Status {
    const HealthScope scope = ScopeFromProto(request->scope());
    RETURN_IF_ERROR(ValidateHealthScope(scope));
    return store_.DeleteThresholds(scope);
  });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::CreateAlertRule(
    grpc::CallbackServerContext* context, const v1::CreateAlertRuleRequest* request,
    v1::AlertRule* response) {
  return rpc_.Unary(context, common::Role::kOperator,
                    [this, request, response] { return CreateRule(*request, response); });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::GetAlertRule(grpc::CallbackServerContext* context,
                                                           const v1::GetAlertRuleRequest* request,
                                                           v1::AlertRule* response) {
  return rpc_.Unary(context, common::Role::kViewer, [this, request, response]() -> absl::Status {
    if (request->id().empty()) return common::InvalidField("id", "required");
    ASSIGN_OR_RETURN(const AlertRule rule, store_.GetAlertRule(request->id()));
    AlertRuleToProto(rule, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::UpdateAlertRule(
    grpc::CallbackServerContext* context, const v1::UpdateAlertRuleRequest* request,
    v1::AlertRule* response) {
  return rpc_.Unary(context, common::Role::kOperator,
                    [this, request, response] { return UpdateRule(*request, response); });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::DeleteAlertRule(
    grpc::CallbackServerContext* context, const v1::DeleteAlertRuleRequest* request,
    google::protobuf::Empty* /*response*/) {
  return rpc_.Unary(context, common::Role::kOperator, [this, request]() -> absl::Status {
    if (request->id().empty()) return common::InvalidField("id", "required");
    ASSIGN_OR_RETURN(const SweepResult result, store_.DeleteAlertRule(request->id(), clock_.Now()));
    AfterAlertWrite(result.alerts, result.outbox_enqueued);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::ListAlertRules(
    grpc::CallbackServerContext* context, const v1::ListAlertRulesRequest* request,
    v1::ListAlertRulesResponse* response) {
  return rpc_.Unary(context, common::Role::kViewer,
                    [this, request, response] { return ListRules(*request, response); });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::ListSeries(grpc::CallbackServerContext* context,
                                                         const v1::ListSeriesRequest* request,
                                                         v1::ListSeriesResponse* response) {
  return rpc_.Unary(context, common::Role::kViewer,
                    [this, request, response] { return DoListSeries(*request, response); });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::ListActiveAlerts(
    grpc::CallbackServerContext* context, const v1::ListActiveAlertsRequest* request,
    v1::ListActiveAlertsResponse* response) {
  return rpc_.Unary(context, common::Role::kViewer,
                    [this, request, response] { return ListActive(*request, response); });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::QuerySeries(grpc::CallbackServerContext* context,
                                                          const v1::QuerySeriesRequest* request,
                                                          v1::QuerySeriesResponse* response) {
  return rpc_.Unary(context, common::Role::kViewer,
                    [this, request, response] { return RunQuery(*request, response); });
}

absl::Status MonitorServiceImpl::IngestBatch(const v1::IngestRequest& request,
                                             v1::IngestResponse* response) {
  const absl::Time now = clock_.Now();
  RejectReason reason = RejectReason::kInvalid;
  absl::StatusOr<BatchAggregate> prepared =
      PrepareIngestBatch(request, options_.limits, now, &reason, label_cache_.get());
  return CommitIngest(request.producer_id(), request.sequence(), request.events_size(),
                      std::move(prepared), reason, now, response);
}

absl::Status MonitorServiceImpl::IngestWireBatch(const grpc::ByteBuffer& request,
                                                 v1::IngestResponse* response) {
  {
    // Most requests: read in place (the reader needs the bytes in one piece;
    // DumpToSingleSlice copies them only when gRPC holds several slices).
    grpc::Slice bytes;
    if (request.DumpToSingleSlice(&bytes).ok()) {
      const absl::Time now = clock_.Now();
      IngestWire wire;
      std::optional<BatchAggregate> aggregate = PrepareIngestBatchFromWire(
          absl::string_view(reinterpret_cast<const char*>(bytes.begin()), bytes.size()),
          options_.limits, now, label_cache_.get(), &wire);
      if (aggregate.has_value()) {
        return CommitIngest(std::string(wire.producer_id), wire.sequence,
                            static_cast<int64_t>(wire.events.size()), *std::move(aggregate),
                            RejectReason::kInvalid, now, response);
      }
    }
  }
  // Declined (an invalid batch, an encoding outside the reader's subset):
  // the generated parser and PrepareIngestBatch decide, as they always did.
  std::unique_ptr<grpc::MessageHolder<v1::IngestRequest, v1::IngestResponse>,
                  void (*)(grpc::MessageHolder<v1::IngestRequest, v1::IngestResponse>*)>
      messages(ingest_allocator_.AllocateMessages(),
               [](grpc::MessageHolder<v1::IngestRequest, v1::IngestResponse>* holder) {
                 holder->Release();
               });
  grpc::ByteBuffer copy(request);  // shares the slices; Deserialize consumes it
  if (!grpc::SerializationTraits<v1::IngestRequest>::Deserialize(&copy, messages->request()).ok()) {
    return absl::InvalidArgumentError("request: not a valid IngestRequest");
  }
  return IngestBatch(*messages->request(), response);
}

absl::Status MonitorServiceImpl::CommitIngest(const std::string& producer_id, uint64_t sequence,
                                              int64_t event_count,
                                              absl::StatusOr<BatchAggregate> prepared,
                                              RejectReason reason, absl::Time now,
                                              v1::IngestResponse* response) {
  auto reject = [&](absl::Status status) {
    metrics_.BatchRejected(reason, event_count);
    return status;
  };
  if (!prepared.ok()) return reject(prepared.status());
  const BatchAggregate aggregate = *std::move(prepared);
  absl::StatusOr<CommitResult> result = store_.CommitBatch(producer_id, sequence, aggregate, now);
  if (!result.ok()) {
    reason = absl::IsResourceExhausted(result.status()) ? RejectReason::kSeriesLimit
                                                        : RejectReason::kStoreError;
    if (reason == RejectReason::kStoreError) {
      common::LogWarning("ingest commit failed", {{"producer_id", producer_id},
                                                  {"sequence", absl::StrCat(sequence)},
                                                  {"error", result.status().ToString()}});
    }
    return reject(result.status());
  }
  response->set_sequence(sequence);
  response->set_duplicate(result->duplicate);
  response->set_accepted(result->accepted);
  if (result->duplicate) {
    metrics_.BatchDuplicate();
    return absl::OkStatus();
  }
  metrics_.BatchAccepted(result->accepted);
  metrics_.AlertTransitions(result->alerts);
  int64_t outbox_enqueued = result->outbox_enqueued;
  // Alert rules see the committed batch right away, in a transaction of
  // their own; a failure here does not fail the committed batch: the commit
  // recorded the evaluation it owes, which the alert sweep pays.
  absl::StatusOr<SweepResult> evaluated = store_.EvaluateAlertRules(aggregate, now);
  if (evaluated.ok()) {
    metrics_.AlertTransitions(evaluated->alerts);
    metrics_.AlertsEvaluated(clock_.Now() - now);
    outbox_enqueued += evaluated->outbox_enqueued;
  } else {
    metrics_.AlertEvaluationFailed();
    common::LogWarning("alert rule evaluation failed", {{"producer_id", producer_id},
                                                        {"sequence", absl::StrCat(sequence)},
                                                        {"error", evaluated.status().ToString()}});
  }
  outbox_enqueued += EvaluateSlosAfterBatch(aggregate, now);
  if (outbox_enqueued > 0 && on_outbox_) on_outbox_();
  return absl::OkStatus();
}

absl::Status MonitorServiceImpl::ComputeHealth(const v1::GetHealthRequest& request,
                                               v1::HealthReport* response) {
  const HealthScope scope = ScopeFromProto(request.scope());
  RETURN_IF_ERROR(ValidateHealthScope(scope));
  std::optional<absl::Duration> requested;
  if (request.has_window()) {
    ASSIGN_OR_RETURN(requested, FromProtoDuration(request.window(), "window"));
  }
  ASSIGN_OR_RETURN(const absl::Duration window, HealthWindow(requested));

  const std::string key = HealthCacheKey(scope, window);
  if (std::optional<std::string> cached = health_cache_.Get(key);
      cached.has_value() && response->ParseFromString(*cached)) {
    return absl::OkStatus();
  }
  response->Clear();
  const absl::Time now = clock_.Now();
  const BucketRange range = WindowBuckets(now, window);
  ASSIGN_OR_RETURN(const std::vector<HealthRow> rows, store_.ReadHealthRows(scope, range));
  ASSIGN_OR_RETURN(const std::vector<HealthSketchRow> sketches,
                   store_.ReadHealthSketches(scope, range));
  ASSIGN_OR_RETURN(std::vector<ScopeThresholds> overrides, store_.ReadThresholds(scope.tenant));
  const ThresholdResolver thresholds(std::move(overrides));
  HealthReportToProto(monitor::ComputeHealth(scope, rows, sketches, thresholds, now), response);
  health_cache_.Put(key, response->SerializeAsString(), options_.health_cache_ttl);
  return absl::OkStatus();
}

absl::Status MonitorServiceImpl::SetThresholds(const v1::SetHealthThresholdsRequest& request,
                                               v1::HealthThresholds* response) {
  const ScopeThresholds thresholds = ThresholdsFromProto(request.thresholds());
  RETURN_IF_ERROR(Prefixed(ValidateScopeThresholds(thresholds), "thresholds."));
  ASSIGN_OR_RETURN(const ScopeThresholds stored, store_.SetThresholds(thresholds, clock_.Now()));
  ASSIGN_OR_RETURN(std::vector<ScopeThresholds> overrides,
                   store_.ReadThresholds(stored.scope.tenant));
  const ThresholdResolver resolver(std::move(overrides));
  EffectiveThresholdsToProto(stored.scope, resolver.Resolve(stored.scope), stored.update_time,
                             response);
  return absl::OkStatus();
}

absl::Status MonitorServiceImpl::GetThresholds(const v1::GetHealthThresholdsRequest& request,
                                               v1::HealthThresholds* response) {
  const HealthScope scope = ScopeFromProto(request.scope());
  RETURN_IF_ERROR(ValidateHealthScope(scope));
  ASSIGN_OR_RETURN(std::vector<ScopeThresholds> overrides, store_.ReadThresholds(scope.tenant));
  const ThresholdResolver resolver(std::move(overrides));
  EffectiveThresholdsToProto(scope, resolver.Resolve(scope), resolver.LatestUpdate(scope),
                             response);
  return absl::OkStatus();
}

absl::Status MonitorServiceImpl::ListThresholds(const v1::ListHealthThresholdsRequest& request,
                                                v1::ListHealthThresholdsResponse* response) {
  ASSIGN_OR_RETURN(const int page_size, PageSize(request.page_size()));
  std::optional<std::pair<std::string, std::string>> after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(const std::vector<std::string> key,
                     DecodePageToken(request.page_token(), kThresholdsList, request.tenant(), 2));
    after = std::make_pair(key[0], key[1]);
  }
  ASSIGN_OR_RETURN(const ThresholdPage page,
                   store_.ListThresholds(request.tenant(), after, page_size));
  for (const ScopeThresholds& entry : page.entries) {
    StoredThresholdsToProto(entry, response->add_thresholds());
  }
  if (page.next.has_value()) {
    response->set_next_page_token(
        EncodePageToken(kThresholdsList, request.tenant(), {page.next->first, page.next->second}));
  }
  return absl::OkStatus();
}

void MonitorServiceImpl::AfterAlertWrite(const RuleOutcome& alerts, int64_t outbox_enqueued) {
  metrics_.AlertTransitions(alerts);
  if (outbox_enqueued > 0 && on_outbox_) on_outbox_();
}

absl::Status MonitorServiceImpl::CreateRule(const v1::CreateAlertRuleRequest& request,
                                            v1::AlertRule* response) {
  if (!request.has_rule()) return common::InvalidField("rule", "required");
  if (request.request_id().size() > 128) {
    return common::InvalidField("request_id", "longer than 128 bytes");
  }
  ASSIGN_OR_RETURN(AlertRule rule, AlertRuleFromProto(request.rule()));
  NormalizeAlertRule(&rule);
  RETURN_IF_ERROR(ValidateAlertRule(rule));
  ASSIGN_OR_RETURN(const RuleWriteResult result,
                   store_.CreateAlertRule(rule, request.request_id(), clock_.Now()));
  AfterAlertWrite(result.alerts, result.outbox_enqueued);
  AlertRuleToProto(result.rule, response);
  return absl::OkStatus();
}

absl::Status MonitorServiceImpl::UpdateRule(const v1::UpdateAlertRuleRequest& request,
                                            v1::AlertRule* response) {
  if (!request.has_rule()) return common::InvalidField("rule", "required");
  const v1::AlertRule& patch = request.rule();
  if (patch.id().empty()) return common::InvalidField("rule.id", "required");
  const auto& paths = request.update_mask().paths();
  for (int i = 0; i < paths.size(); ++i) {
    if (IsWritableRulePath(paths[i])) continue;
    const bool read_only = paths[i] == "id" || paths[i] == "tenant" || paths[i] == "create_time" ||
                           paths[i] == "update_time";
    return common::InvalidField(
        absl::StrCat("update_mask.paths[", i, "]"),
        absl::StrCat(read_only ? "read-only" : "unknown", " field '", paths[i], "'"));
  }
  ASSIGN_OR_RETURN(const AlertRule current, store_.GetAlertRule(patch.id()));
  if (!patch.tenant().empty() && patch.tenant() != current.tenant) {
    return common::InvalidField("rule.tenant", "cannot change");
  }
  v1::AlertRule merged;
  if (paths.empty()) {
    merged = patch;
  } else {
    AlertRuleToProto(current, &merged);
    for (const std::string& path : paths) CopyRulePath(path, patch, &merged);
  }
  merged.set_id(current.id);
  merged.set_tenant(current.tenant);
  ASSIGN_OR_RETURN(AlertRule rule, AlertRuleFromProto(merged));
  NormalizeAlertRule(&rule);
  RETURN_IF_ERROR(ValidateAlertRule(rule));
  ASSIGN_OR_RETURN(const RuleWriteResult result, store_.UpdateAlertRule(rule, clock_.Now()));
  AfterAlertWrite(result.alerts, result.outbox_enqueued);
  AlertRuleToProto(result.rule, response);
  return absl::OkStatus();
}

absl::Status MonitorServiceImpl::ListRules(const v1::ListAlertRulesRequest& request,
                                           v1::ListAlertRulesResponse* response) {
  ASSIGN_OR_RETURN(const int page_size, PageSize(request.page_size()));
  std::optional<std::pair<std::string, std::string>> after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(const std::vector<std::string> key,
                     DecodePageToken(request.page_token(), kRulesList, request.tenant(), 2));
    after = std::make_pair(key[0], key[1]);
  }
  ASSIGN_OR_RETURN(const AlertRulePage page,
                   store_.ListAlertRules(request.tenant(), after, page_size));
  for (const AlertRule& rule : page.rules) AlertRuleToProto(rule, response->add_rules());
  if (page.next.has_value()) {
    response->set_next_page_token(
        EncodePageToken(kRulesList, request.tenant(), {page.next->first, page.next->second}));
  }
  return absl::OkStatus();
}

absl::Status MonitorServiceImpl::DoListSeries(const v1::ListSeriesRequest& request,
                                              v1::ListSeriesResponse* response) {
  ASSIGN_OR_RETURN(const int page_size, PageSize(request.page_size()));
  SeriesListQuery query;
  query.tenant = request.tenant();
  query.metric = request.metric();
  for (const auto& m : request.matchers()) {
    query.matchers.push_back({m.name(), static_cast<MatchOp>(m.op()), m.value()});
  }
  if (request.range().has_start()) {
    ASSIGN_OR_RETURN(query.start, FromProtoTimestamp(request.range().start(), "range.start"));
  }
  if (request.range().has_end()) {
    ASSIGN_OR_RETURN(query.end, FromProtoTimestamp(request.range().end(), "range.end"));
  }
  RETURN_IF_ERROR(ValidateSeriesListQuery(query));
  // The filters a page token is bound to.
  v1::ListSeriesRequest filters = request;
  filters.clear_page_size();
  filters.clear_page_token();
  const std::string filter_text = filters.SerializeAsString();
  std::optional<std::pair<std::string, std::string>> after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(const std::vector<std::string> key,
                     DecodePageToken(request.page_token(), kSeriesList, filter_text, 2));
    after = std::make_pair(key[0], key[1]);
  }
  ASSIGN_OR_RETURN(const SeriesPage page, store_.ListSeries(query, after, page_size));
  for (const SeriesInfo& info : page.series) {
    v1::SeriesDescriptor* out = response->add_series();
    out->set_metric(info.metric);
    out->mutable_labels()->insert(info.labels.begin(), info.labels.end());
    ToProtoTimestamp(info.first_time, out->mutable_first_time());
    ToProtoTimestamp(info.last_time, out->mutable_last_time());
  }
  if (page.next.has_value()) {
    response->set_next_page_token(
        EncodePageToken(kSeriesList, filter_text, {page.next->first, page.next->second}));
  }
  return absl::OkStatus();
}

absl::Status MonitorServiceImpl::ListActive(const v1::ListActiveAlertsRequest& request,
                                            v1::ListActiveAlertsResponse* response) {
  ASSIGN_OR_RETURN(const int page_size, PageSize(request.page_size()));
  ActiveAlertFilter filter;
  filter.tenant = request.tenant();
  filter.include_pending = request.include_pending();
  for (int i = 0; i < request.severities_size(); ++i) {
    const int severity = request.severities(i);
    if (severity < 1 || severity > 4) {
      return common::InvalidField(absl::StrCat("severities[", i, "]"),
                                  absl::StrCat("unknown value ", severity));
    }
    filter.severities.push_back(static_cast<Severity>(severity));
  }
  for (int i = 0; i < request.matchers_size(); ++i) {
    const auto& m = request.matchers(i);
    if (!IsValidLabelName(m.name())) {
      return common::InvalidField(absl::StrCat("matchers[", i, "].name"),
                                  "must match [a-zA-Z_][a-zA-Z0-9_]*");
    }
    if (m.op() < 1 || m.op() > 4) {
      return common::InvalidField(
          absl::StrCat("matchers[", i, "].op"),
          m.op() == 0 ? "required" : absl::StrCat("unknown value ", m.op()));
    }
    filter.matchers.push_back({m.name(), static_cast<MatchOp>(m.op()), m.value()});
  }
  const std::string filter_text = ActiveFilterText(request);
  std::optional<ActiveAlertCursor> after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(const std::vector<std::string> key,
                     DecodePageToken(request.page_token(), kActiveList, filter_text, 3));
    ActiveAlertCursor cursor;
    if (!absl::SimpleAtoi(key[0], &cursor.severity)) {
      return common::InvalidField("page_token", "malformed");
    }
    cursor.tenant = key[1];
    cursor.fingerprint = key[2];
    after = cursor;
  }
  ASSIGN_OR_RETURN(const ActiveAlertPage page, store_.ListActiveAlerts(filter, after, page_size));
  for (const AlertState& alert : page.alerts) ActiveAlertToProto(alert, response->add_alerts());
  if (page.next.has_value()) {
    response->set_next_page_token(EncodePageToken(
        kActiveList, filter_text,
        {absl::StrCat(page.next->severity), page.next->tenant, page.next->fingerprint}));
  }
  return absl::OkStatus();
}

absl::Status MonitorServiceImpl::RunQuery(const v1::QuerySeriesRequest& request,
                                          v1::QuerySeriesResponse* response) {
  ASSIGN_OR_RETURN(const SeriesQueryRequest parsed, SeriesQueryFromProto(request));
  ASSIGN_OR_RETURN(const SeriesQuery query, NormalizeSeriesQuery(parsed, clock_.Now()));
  ASSIGN_OR_RETURN(std::vector<StepRow> rows, store_.QuerySteps(query));
  ASSIGN_OR_RETURN(const std::vector<SeriesResult> series, AssembleSeries(query, std::move(rows)));
  SeriesToProto(series, response);
  return absl::OkStatus();
}

}  // namespace agentwatch::monitor
