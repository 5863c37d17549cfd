// The gRPC edge of the monitor: agentwatch.monitor.v1.MonitorService.
// Implemented: Ingest, StreamIngest, GetHealth, the health-threshold RPCs
// (Set / Get / List / DeleteHealthThresholds), QuerySeries, the alert-rule
// RPCs (Create / Get / Update / Delete / ListAlertRules, threshold and
// anomaly conditions; core/anomaly_rules.h), ListActiveAlerts,
// ListSeries and, once EnableSlos was called, the SLO RPCs (Create / Get /
// Update / List / DeleteSlo, GetSloStatus, GetSloReport; slo_service.cc).
// Every other RPC
// answers UNIMPLEMENTED (the generated base class's behaviour).
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agentwatch/monitor/v1/monitor.grpc.pb.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/rpc.h"
#include "monitor/api/ingest_allocator.h"
#include "monitor/api/monitor_metrics.h"
#include "monitor/core/rollup.h"
#include "monitor/core/validation.h"
#include "monitor/store/health_cache.h"
#include "monitor/store/monitor_store.h"
#include "monitor/store/slo_engine.h"
#include "monitor/store/slo_store.h"

namespace agentwatch::monitor {

struct MonitorServiceOptions {
  IngestLimits limits;
  // How long a computed health report is served from the cache.
  absl::Duration health_cache_ttl = absl::Seconds(1);
  // The memory bound of the cache of canonical label sets Ingest keeps across
  // batches (see LabelSetCache); 0 turns the cache off.
  size_t label_cache_bytes = LabelSetCache::kDefaultMaxBytes;
};

// Thin adapter: maps requests to the core, calls the store, maps statuses.
// Thread-safe; every dependency is injected. Ingest is served as a raw
// (ByteBuffer) method: its events are read straight from the request's
// bytes (ingest_wire.h), and only a request the reader declines is parsed
// into the generated messages.
class MonitorServiceImpl final
    : public v1::MonitorService::WithRawCallbackMethod_Ingest<v1::MonitorService::CallbackService> {
 public:
  // Every reference must outlive the service. `stream_executor` runs the
  // blocking work of StreamIngest (RpcRunner covers unary calls only).
  // `on_outbox` is called after a commit that enqueued outbox messages (to
  // wake the dispatcher); it may be empty.
  MonitorServiceImpl(MonitorStore& store, HealthCache& health_cache, common::RpcRunner& rpc,
                     common::BlockingExecutor& stream_executor, common::Clock& clock,
                     MonitorMetrics& metrics, MonitorServiceOptions options,
                     std::function<void()> on_outbox);

  // Operator role. See monitor.proto. The wire format of IngestRequest /
  // IngestResponse; bytes that do not parse as an IngestRequest answer
  // INVALID_ARGUMENT ("request: not a valid IngestRequest").
  grpc::ServerUnaryReactor* Ingest(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;

  // Operator role. Batches are processed one at a time, in order; each is
  // acknowledged after its commit, and the first failing batch ends the
  // stream with its status.
  grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse>* StreamIngest(
      grpc::CallbackServerContext* context) override;

  // Viewer role. Served from the health cache when a report for the same
  // request is younger than health_cache_ttl.
  grpc::ServerUnaryReactor* GetHealth(grpc::CallbackServerContext* context,
                                      const v1::GetHealthRequest* request,
                                      v1::HealthReport* response) override;

  // Admin role. Validates the overrides (INVALID_ARGUMENT naming
  // "thresholds.scope.*" or "thresholds.thresholds[i].*"), stores them and
  // answers the scope's effective thresholds.
  grpc::ServerUnaryReactor* SetHealthThresholds(grpc::CallbackServerContext* context,
                                                const v1::SetHealthThresholdsRequest* request,
                                                v1::HealthThresholds* response) override;

  // Viewer role. Every indicator's effective thresholds for the scope.
  grpc::ServerUnaryReactor* GetHealthThresholds(grpc::CallbackServerContext* context,
                                                const v1::GetHealthThresholdsRequest* request,
                                                v1::HealthThresholds* response) override;

  // Viewer role. Stored overrides, ordered by (tenant, scope key).
  grpc::ServerUnaryReactor* ListHealthThresholds(
      grpc::CallbackServerContext* context, const v1::ListHealthThresholdsRequest* request,
      v1::ListHealthThresholdsResponse* response) override;

  // Admin role. NOT_FOUND when the scope has no overrides.
  grpc::ServerUnaryReactor* DeleteHealthThresholds(grpc::CallbackServerContext* context,
                                                   const v1::DeleteHealthThresholdsRequest* request,
                                                   google::protobuf::Empty* response) override;

  // Operator role. Validates (INVALID_ARGUMENT naming "rule.*"), creates
  // and evaluates the rule over the data already stored.
  grpc::ServerUnaryReactor* CreateAlertRule(grpc::CallbackServerContext* context,
                                            const v1::CreateAlertRuleRequest* request,
                                            v1::AlertRule* response) override;
  // Viewer role.
  grpc::ServerUnaryReactor* GetAlertRule(grpc::CallbackServerContext* context,
                                         const v1::GetAlertRuleRequest* request,
                                         v1::AlertRule* response) override;
  // Operator role. update_mask paths: name, description, threshold, anomaly
  // (the condition; setting one replaces the other), for_duration, severity,
  // labels, annotations, hysteresis, disabled.
  grpc::ServerUnaryReactor* UpdateAlertRule(grpc::CallbackServerContext* context,
                                            const v1::UpdateAlertRuleRequest* request,
                                            v1::AlertRule* response) override;
  // Operator role.
  grpc::ServerUnaryReactor* DeleteAlertRule(grpc::CallbackServerContext* context,
                                            const v1::DeleteAlertRuleRequest* request,
                                            google::protobuf::Empty* response) override;
  // Viewer role.
  grpc::ServerUnaryReactor* ListAlertRules(grpc::CallbackServerContext* context,
                                           const v1::ListAlertRulesRequest* request,
                                           v1::ListAlertRulesResponse* response) override;
  // Viewer role. Series ordered by metric then labels, paged.
  grpc::ServerUnaryReactor* ListSeries(grpc::CallbackServerContext* context,
                                       const v1::ListSeriesRequest* request,
                                       v1::ListSeriesResponse* response) override;

  // Viewer role. Built-in and rule alerts, most severe first.
  grpc::ServerUnaryReactor* ListActiveAlerts(grpc::CallbackServerContext* context,
                                             const v1::ListActiveAlertsRequest* request,
                                             v1::ListActiveAlertsResponse* response) override;

  // Ingests one batch exactly as Ingest does (validation, limits,
  // idempotency, durability, alert evaluation), for in-process intakes such
  // as OTLP that have already authorized their caller.
  absl::Status IngestInProcess(const v1::IngestRequest& request, v1::IngestResponse* response) {
    return IngestBatch(request, response);
  }

  // Enables the SLO RPCs (slo_service.cc) and SLO evaluation after every
  // ingested batch; without it they answer UNIMPLEMENTED. Call before
  // serving; both must outlive the service.
  void EnableSlos(SloStore& slos, SloEngine& engine);

  // Operator role. Validates (INVALID_ARGUMENT naming "slo.*"), creates the
  // SLO and evaluates its burn-rate alerts over the data already stored.
  grpc::ServerUnaryReactor* CreateSlo(grpc::CallbackServerContext* context,
                                      const v1::CreateSloRequest* request,
                                      v1::Slo* response) override;
  // Viewer role.
  grpc::ServerUnaryReactor* GetSlo(grpc::CallbackServerContext* context,
                                   const v1::GetSloRequest* request, v1::Slo* response) override;
  // Operator role. update_mask paths: name, description, scope, subject,
  // sli_kind, latency_threshold, objective, window, burn_rate_windows,
  // labels (another path: INVALID_ARGUMENT naming "update_mask").
  grpc::ServerUnaryReactor* UpdateSlo(grpc::CallbackServerContext* context,
                                      const v1::UpdateSloRequest* request,
                                      v1::Slo* response) override;
  // Viewer role. Ordered by (name, id), paged.
  grpc::ServerUnaryReactor* ListSlos(grpc::CallbackServerContext* context,
                                     const v1::ListSlosRequest* request,
                                     v1::ListSlosResponse* response) override;
  // Operator role. Resolves the SLO's firing burn-rate alerts.
  grpc::ServerUnaryReactor* DeleteSlo(grpc::CallbackServerContext* context,
                                      const v1::DeleteSloRequest* request,
                                      google::protobuf::Empty* response) override;
  // Viewer role. SLI, error budget and burn rates at now, firing alerts.
  grpc::ServerUnaryReactor* GetSloStatus(grpc::CallbackServerContext* context,
                                         const v1::GetSloStatusRequest* request,
                                         v1::SloStatus* response) override;
  // Viewer role. Figures per calendar period (INVALID_ARGUMENT naming
  // "range.start", "range.end", "period", "range" or "time_zone").
  grpc::ServerUnaryReactor* GetSloReport(grpc::CallbackServerContext* context,
                                         const v1::GetSloReportRequest* request,
                                         v1::GetSloReportResponse* response) override;

  // Viewer role.
  grpc::ServerUnaryReactor* QuerySeries(grpc::CallbackServerContext* context,
                                        const v1::QuerySeriesRequest* request,
                                        v1::QuerySeriesResponse* response) override;

 private:
  class IngestStream;

  // Validates, aggregates and commits one batch; counts it in the metrics.
  absl::Status IngestBatch(const v1::IngestRequest& request, v1::IngestResponse* response);
  // IngestBatch on a request's wire bytes: read in place when the reader
  // takes them (PrepareIngestBatchFromWire), else parsed onto a pooled arena
  // and given to IngestBatch.
  absl::Status IngestWireBatch(const grpc::ByteBuffer& request, v1::IngestResponse* response);
  // The commit of a prepared (or rejected) batch, shared by both.
  absl::Status CommitIngest(const std::string& producer_id, uint64_t sequence, int64_t event_count,
                            absl::StatusOr<BatchAggregate> prepared, RejectReason reason,
                            absl::Time now, v1::IngestResponse* response);
  absl::Status ComputeHealth(const v1::GetHealthRequest& request, v1::HealthReport* response);
  absl::Status SetThresholds(const v1::SetHealthThresholdsRequest& request,
                             v1::HealthThresholds* response);
  absl::Status GetThresholds(const v1::GetHealthThresholdsRequest& request,
                             v1::HealthThresholds* response);
  absl::Status ListThresholds(const v1::ListHealthThresholdsRequest& request,
                              v1::ListHealthThresholdsResponse* response);
  absl::Status CreateRule(const v1::CreateAlertRuleRequest& request, v1::AlertRule* response);
  absl::Status UpdateRule(const v1::UpdateAlertRuleRequest& request, v1::AlertRule* response);
  absl::Status ListRules(const v1::ListAlertRulesRequest& request,
                         v1::ListAlertRulesResponse* response);
  absl::Status DoListSeries(const v1::ListSeriesRequest& request, v1::ListSeriesResponse* response);
  absl::Status ListActive(const v1::ListActiveAlertsRequest& request,
                          v1::ListActiveAlertsResponse* response);
  // Counts alert transitions and wakes the outbox dispatcher.
  void AfterAlertWrite(const RuleOutcome& alerts, int64_t outbox_enqueued);
  absl::Status RunQuery(const v1::QuerySeriesRequest& request, v1::QuerySeriesResponse* response);

  // SLOs (slo_service.cc): UNIMPLEMENTED unless EnableSlos was called.
  absl::Status SlosEnabled() const;
  // Evaluates the SLOs a committed batch fed; returns the outbox messages
  // enqueued (failures are logged and counted, not returned).
  int64_t EvaluateSlosAfterBatch(const BatchAggregate& aggregate, absl::Time now);
  void EvaluateSloNow(const Slo& slo);

  MonitorStore& store_;
  HealthCache& health_cache_;
  common::RpcRunner& rpc_;
  common::BlockingExecutor& stream_executor_;
  common::Clock& clock_;
  MonitorMetrics& metrics_;
  MonitorServiceOptions options_;
  std::function<void()> on_outbox_;
  SloStore* slo_store_ = nullptr;
  SloEngine* slo_engine_ = nullptr;
  // Ingest requests the wire reader declines are parsed onto pooled arena
  // blocks: 4 MiB holds a 5,000-event batch of typical events (~3.3 MB); up
  // to 8 idle blocks are kept.
  IngestMessageAllocator ingest_allocator_{4 << 20, 8};
  // Canonical label sets across batches; null when label_cache_bytes is 0.
  std::unique_ptr<LabelSetCache> label_cache_;
};

}  // namespace agentwatch::monitor
