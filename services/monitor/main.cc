// agentwatch-monitor: wiring only. See services/monitor/api/monitor_service.h.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "agentwatch/cost/v1/cost.grpc.pb.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/channel.h"
#include "common/config.h"
#include "common/executor.h"
#include "common/heap.h"
#include "common/outbox.h"
#include "common/runtime.h"
#include "monitor/api/monitor_metrics.h"
#include "monitor/api/monitor_service.h"
#include "monitor/core/alerting.h"
#include "monitor/core/rules.h"
#include "monitor/jobs/alert_sweeper.h"
#include "monitor/jobs/outbox_delivery.h"
#include "monitor/jobs/rollup_flush_worker.h"
#include "monitor/jobs/rollup_partition_worker.h"
#include "monitor/jobs/slo_sweeper.h"
#include "monitor/otlp/otlp_service.h"
#include "monitor/store/health_cache.h"
#include "monitor/store/migrations.h"
#include "monitor/store/pg_monitor_store.h"
#include "monitor/store/pg_slo_store.h"
#include "monitor/store/slo_engine.h"

namespace {

namespace common = agentwatch::common;
namespace monitor = agentwatch::monitor;

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "agentwatch-monitor: " << message << "\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  common::BlockTerminationSignals();
  // Ingest churns through megabytes per batch: keep freed memory mapped
  // instead of trimming and faulting it back in for every batch.
  agentwatch::common::KeepHeapMapped();
  common::ServiceConfig config;
  std::string incident_addr = "127.0.0.1:50052";
  std::string cost_addr = "127.0.0.1:50054";
  absl::Duration peer_deadline = absl::Seconds(5);
  int64_t max_batch_events = 10000;
  int64_t max_series_per_tenant = 100000;
  absl::Duration retention = absl::Hours(24 * 90);
  absl::Duration rollup_retention = absl::Hours(24 * 90);
  std::string error_rate_threshold = "0.05";
  absl::Duration error_rate_window = absl::Minutes(5);
  int64_t error_rate_min_runs = 10;
  absl::Duration alert_sweep_interval = absl::Seconds(5);
  int64_t stream_threads = 8;
  int64_t sketch_cache_mb = 64;
  absl::Duration rollup_flush_interval = absl::Seconds(1);
  absl::Duration journal_sweep_age = absl::Seconds(30);
  std::string otlp_default_tenant;
  bool forward_usage = true;

  common::FlagSet flags("agentwatch-monitor");
  common::RegisterServiceFlags(flags, &config, 50051, 9101);
  flags.AddString("incident_addr", &incident_addr, "incident service gRPC address");
  flags.AddString("cost_addr", &cost_addr, "cost service gRPC address");
  flags.AddDuration("peer_deadline", &peer_deadline, "deadline of each call to a peer");
  flags.AddInt("max_batch_events", &max_batch_events, "events per ingest batch", 1, 10000);
  flags.AddInt("max_series_per_tenant", &max_series_per_tenant, "active series per tenant", 1,
               1000000000);
  flags.AddDuration("retention", &retention, "oldest event time accepted");
  flags.AddDuration("rollup_retention", &rollup_retention,
                    "how long 1-minute rollups are kept (whole UTC days are dropped once they "
                    "are older; at least 72h)");
  flags.AddString("error_rate_threshold", &error_rate_threshold,
                  "workflow error rate that fires WorkflowErrorRateHigh, in (0, 1]");
  flags.AddDuration("error_rate_window", &error_rate_window,
                    "window of the workflow error rate (whole minutes)");
  flags.AddInt("error_rate_min_runs", &error_rate_min_runs,
               "runs a window needs before the error rate can fire", 1, 1000000000);
  flags.AddDuration("alert_sweep_interval", &alert_sweep_interval,
                    "how often pending and firing alerts without new data are re-evaluated "
                    "(alert rules' `for` and keep_firing_for elapse at the next batch of their "
                    "metric or sweep)");
  flags.AddInt("stream_threads", &stream_threads, "threads serving StreamIngest batches", 1, 256);
  flags.AddInt("sketch_cache_mb", &sketch_cache_mb,
               "memory for the quantile sketches of the rollup cells this replica last wrote, "
               "which its next writes merge into without reading them (0: always read)",
               0, 65536);
  flags.AddDuration("rollup_flush_interval", &rollup_flush_interval,
                    "how often the rollup cells of acknowledged batches (durable in the ingest "
                    "journal) are applied to the rollups; other replicas' reads see this "
                    "replica's batches within it (0: every group commit writes its rollups)");
  flags.AddDuration("journal_sweep_age", &journal_sweep_age,
                    "age after which any replica applies another writer's ingest journal rows "
                    "(that writer died or stalled); at least 10 x --rollup_flush_interval");
  flags.AddString("otlp_default_tenant", &otlp_default_tenant,
                  "tenant of OTLP telemetry that names none (no agentwatch.tenant resource "
                  "attribute, no x-agentwatch-tenant header); empty rejects it");
  flags.AddBool("forward_usage", &forward_usage,
                "forward every LLM call's token usage to the cost service (--cost_addr) through "
                "the outbox; false for a deployment without the cost service: Ingest, "
                "StreamIngest and OTLP then write no cost usage outbox rows (alerts still go to "
                "incident)");
  common::ParseFlagsOrExit(flags, argc, argv);

  monitor::ErrorRateAlertConfig alert_config;
  if (!absl::SimpleAtod(error_rate_threshold, &alert_config.threshold)) {
    Die("--error_rate_threshold: not a number: " + error_rate_threshold);
  }
  alert_config.window = error_rate_window;
  alert_config.min_runs = error_rate_min_runs;
  if (absl::Status valid = monitor::ValidateErrorRateAlertConfig(alert_config); !valid.ok()) {
    Die("--" + std::string(valid.message()));
  }
  if (retention < absl::Hours(1)) Die("--retention: must be at least 1h");
  if (rollup_retention < monitor::RollupPartitions::kMinRetention) {
    Die("--rollup_retention: must be at least 72h");
  }
  if (peer_deadline <= absl::ZeroDuration()) Die("--peer_deadline: must be positive");
  if (alert_sweep_interval < absl::Seconds(1)) Die("--alert_sweep_interval: must be at least 1s");
  if (rollup_flush_interval < absl::ZeroDuration() || rollup_flush_interval > absl::Minutes(1)) {
    Die("--rollup_flush_interval: must be from 0 to 1m");
  }
  // Also without a journal of its own: the sweeper applies other writers'
  // rows, and an age near 0 would take the rows of replicas alive.
  if (journal_sweep_age < absl::Seconds(1)) Die("--journal_sweep_age: must be at least 1s");
  if (rollup_flush_interval > absl::ZeroDuration() &&
      journal_sweep_age < 10 * rollup_flush_interval) {
    Die("--journal_sweep_age: must be at least 10 x --rollup_flush_interval");
  }
  auto runtime = common::ServiceRuntime::Create(
      {"monitor", monitor::kOutboxSchema, &monitor::Migrations(), config});
  if (!runtime.ok()) Die(std::string(runtime.status().message()));
  common::ServiceRuntime& rt = **runtime;

  monitor::MonitorMetrics metrics(rt.registry(), rt.metric_prefix());
  const monitor::WorkflowErrorRateRule error_rate_rule(alert_config);
  monitor::PgMonitorStoreOptions store_options;
  store_options.sketch_cache_bytes = static_cast<size_t>(sketch_cache_mb) << 20;
  store_options.journal_rollups = rollup_flush_interval > absl::ZeroDuration();
  store_options.forward_usage = forward_usage;
  monitor::PgMonitorStore store(rt.pg(), {max_series_per_tenant}, {&error_rate_rule},
                                store_options);
  monitor::RedisHealthCache health_cache(rt.redis());

  // Two dispatchers over the one outbox: alerts to incident, and everything
  // else (the LLM usage forwarded to cost). Usage is bulk (a row per tenant
  // and group, thousands of records each) and can fall behind ingest; with
  // one dispatcher an alert waited behind that backlog (its pass delivers
  // the oldest rows first), seconds after the Ingest that fired it.
  common::OutboxDispatcherOptions alert_outbox_options;
  alert_outbox_options.schema = monitor::kOutboxSchema;
  alert_outbox_options.destinations = {monitor::kIncidentDestination};
  common::OutboxDispatcherOptions usage_outbox_options;
  usage_outbox_options.schema = monitor::kOutboxSchema;
  usage_outbox_options.excluded_destinations = {monitor::kIncidentDestination};
  common::OutboxDispatcher alert_dispatcher(rt.pg(), alert_outbox_options, rt.registry(),
                                            rt.metric_prefix());
  common::OutboxDispatcher usage_dispatcher(rt.pg(), usage_outbox_options, rt.registry(),
                                            rt.metric_prefix());
  auto incident = agentwatch::incident::v1::IncidentService::NewStub(rt.PeerChannel(incident_addr));
  std::shared_ptr<grpc::Channel> cost_channel = rt.PeerChannel(cost_addr);
  auto cost = agentwatch::cost::v1::CostService::NewStub(cost_channel);
  alert_dispatcher.AddHandler(monitor::kIncidentDestination,
                              monitor::MakeReportAlertsHandler(*incident, peer_deadline));
  usage_dispatcher.AddHandler(monitor::kCostDestination,
                              monitor::MakeRecordUsageHandler(*cost, peer_deadline));
  usage_dispatcher.AddHandler(monitor::kCostBatchDestination,
                              monitor::MakeRecordUsageBatchHandler(cost_channel, peer_deadline));
  auto notify = [&alert_dispatcher, &usage_dispatcher] {
    alert_dispatcher.Notify();
    usage_dispatcher.Notify();
  };

  monitor::AlertSweeper sweeper(store, rt.clock(), metrics, notify, alert_sweep_interval);
  common::BlockingExecutor stream_executor(static_cast<int>(stream_threads), 10000);
  monitor::MonitorServiceOptions options;
  options.limits.max_batch_events = max_batch_events;
  options.limits.retention = retention;
  monitor::MonitorServiceImpl service(store, health_cache, rt.rpc(), stream_executor, rt.clock(),
                                      metrics, options, notify);
  // SLOs: evaluated after every batch and swept like the alerts.
  monitor::PgSloStore slo_store(rt.pg());
  monitor::SloEngine slo_engine(store, slo_store);
  service.EnableSlos(slo_store, slo_engine);
  monitor::SloSweeper slo_sweeper(slo_engine, rt.clock(), metrics, notify, alert_sweep_interval);

  // OTLP/gRPC intake (OpenTelemetry GenAI spans and metrics) on the same port.
  monitor::otlp::OtlpMetrics otlp_metrics(rt.registry());
  monitor::otlp::MappingOptions otlp_options;
  otlp_options.default_tenant = otlp_default_tenant;
  otlp_options.limits = options.limits;
  monitor::otlp::OtlpIntake otlp_intake(
      [&service](const agentwatch::monitor::v1::IngestRequest& request,
                 agentwatch::monitor::v1::IngestResponse* response) {
        return service.IngestInProcess(request, response);
      },
      rt.clock(), otlp_options, otlp_metrics);
  monitor::otlp::OtlpTraceService otlp_traces(otlp_intake, rt.rpc());
  monitor::otlp::OtlpMetricsService otlp_metrics_service(otlp_intake, rt.rpc());

  rt.AddWorker([&alert_dispatcher] { alert_dispatcher.Start(); },
               [&alert_dispatcher] { alert_dispatcher.Stop(); });
  rt.AddWorker([&usage_dispatcher] { usage_dispatcher.Start(); },
               [&usage_dispatcher] { usage_dispatcher.Stop(); });
  rt.AddWorker([&sweeper] { sweeper.Start(); }, [&sweeper] { sweeper.Stop(); });
  monitor::RollupPartitionWorker partition_worker(store.partitions(), rt.clock(), rollup_retention);
  rt.AddWorker([&partition_worker] { partition_worker.Start(); },
               [&partition_worker] { partition_worker.Stop(); });
  rt.AddWorker([&slo_sweeper] { slo_sweeper.Start(); }, [&slo_sweeper] { slo_sweeper.Stop(); });
  // Without the journal, the sweeper still applies what a journaling run of
  // this replica (or another one) left.
  monitor::RollupFlushWorker flush_worker(
      store, rt.clock(), store_options.journal_rollups ? rollup_flush_interval : absl::Seconds(1),
      journal_sweep_age, &metrics);
  rt.AddWorker([&flush_worker] { flush_worker.Start(); }, [&flush_worker] { flush_worker.Stop(); });
  rt.AddGrpcService(&service);
  rt.AddGrpcService(&otlp_traces);
  rt.AddGrpcService(&otlp_metrics_service);
  return rt.Run();
}
