#include "monitor/api/monitor_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "common/trace.h"
#include "monitor/api/proto_mapping.h"
#include "monitor/core/hash.h"
#include "monitor/core/health.h"
#include "monitor/core/query.h"
#include "monitor/core/rollup.h"
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
      on_outbox_(std::move(on_outbox)) {}

grpc::ServerUnaryReactor* MonitorServiceImpl::Ingest(grpc::CallbackServerContext* context,
                                                     const v1::IngestRequest* request,
                                                     v1::IngestResponse* response) {
  return rpc_.Unary(context, common::Role::kOperator,
                    [this, request, response] { return IngestBatch(*request, response); });
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

grpc::ServerUnaryReactor* MonitorServiceImpl::QuerySeries(grpc::CallbackServerContext* context,
                                                          const v1::QuerySeriesRequest* request,
                                                          v1::QuerySeriesResponse* response) {
  return rpc_.Unary(context, common::Role::kViewer,
                    [this, request, response] { return RunQuery(*request, response); });
}

absl::Status MonitorServiceImpl::IngestBatch(const v1::IngestRequest& request,
                                             v1::IngestResponse* response) {
  const int64_t event_count = request.events_size();
  const absl::Time now = clock_.Now();
  RejectReason reason = RejectReason::kInvalid;
  auto reject = [&](absl::Status status) {
    metrics_.BatchRejected(reason, event_count);
    return status;
  };

  if (absl::Status header =
          ValidateBatchHeader(request.producer_id(), event_count, options_.limits, &reason);
      !header.ok()) {
    return reject(std::move(header));
  }
  Batch batch;
  batch.producer_id = request.producer_id();
  batch.sequence = request.sequence();
  batch.events.reserve(request.events_size());
  for (int i = 0; i < request.events_size(); ++i) {
    absl::StatusOr<Event> event = EventFromProto(request.events(i), i);
    if (!event.ok()) {
      reason = RejectReason::kInvalid;
      return reject(event.status());
    }
    if (absl::Status valid = ValidateEvent(*event, i, options_.limits, now, &reason); !valid.ok()) {
      return reject(std::move(valid));
    }
    batch.events.push_back(*std::move(event));
  }

  const BatchAggregate aggregate = AggregateBatch(batch);
  absl::StatusOr<CommitResult> result =
      store_.CommitBatch(batch.producer_id, batch.sequence, aggregate, now);
  if (!result.ok()) {
    reason = absl::IsResourceExhausted(result.status()) ? RejectReason::kSeriesLimit
                                                        : RejectReason::kStoreError;
    if (reason == RejectReason::kStoreError) {
      common::LogWarning("ingest commit failed", {{"producer_id", batch.producer_id},
                                                  {"sequence", absl::StrCat(batch.sequence)},
                                                  {"error", result.status().ToString()}});
    }
    return reject(result.status());
  }
  response->set_sequence(batch.sequence);
  response->set_duplicate(result->duplicate);
  response->set_accepted(result->accepted);
  if (result->duplicate) {
    metrics_.BatchDuplicate();
    return absl::OkStatus();
  }
  metrics_.BatchAccepted(result->accepted);
  metrics_.AlertTransitions(result->alerts);
  if (result->outbox_enqueued > 0 && on_outbox_) on_outbox_();
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
  HealthReportToProto(monitor::ComputeHealth(scope, rows, sketches, now), response);
  health_cache_.Put(key, response->SerializeAsString(), options_.health_cache_ttl);
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
