// agentwatch-capacity: wiring only.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "capacity/api/capacity_service.h"
#include "capacity/api/keda_scaler.h"
#include "capacity/api/metrics.h"
#include "capacity/history/monitor_history_source.h"
#include "capacity/jobs/recompute_job.h"
#include "capacity/jobs/run_retention.h"
#include "capacity/store/migrations.h"
#include "capacity/store/pg_forecast_run_store.h"
#include "capacity/store/pg_recompute_store.h"
#include "capacity/store/pg_resource_store.h"
#include "capacity/store/redis_forecast_cache.h"
#include "common/channel.h"
#include "common/config.h"
#include "common/outbox.h"
#include "common/runtime.h"
#include "peers/alert_delivery.h"

int main(int argc, char** argv) {
  namespace common = agentwatch::common;
  namespace capacity = agentwatch::capacity;
  namespace peers = agentwatch::peers;
  common::BlockTerminationSignals();

  common::ServiceConfig config;
  std::string monitor_addr = "127.0.0.1:50051";
  absl::Duration monitor_timeout = absl::Seconds(10);
  absl::Duration run_retention = absl::Hours(24 * 7);
  absl::Duration keda_stream_interval = absl::Seconds(30);
  std::string incident_addr = "127.0.0.1:50052";
  absl::Duration peer_deadline = absl::Seconds(5);
  absl::Duration recompute_interval = absl::Minutes(15);
  absl::Duration recompute_poll = absl::Seconds(5);
  common::FlagSet flags("agentwatch-capacity");
  common::RegisterServiceFlags(flags, &config, 50053, 9103);
  flags.AddString("monitor_addr", &monitor_addr, "monitor service gRPC address (history source)");
  flags.AddDuration("monitor_timeout", &monitor_timeout,
                    "deadline of one history fetch from monitor");
  flags.AddDuration("forecast_run_retention", &run_retention,
                    "forecast runs older than this are deleted");
  flags.AddDuration("keda_stream_interval", &keda_stream_interval,
                    "how often the KEDA scaler's StreamIsActive re-evaluates activity");
  flags.AddString("incident_addr", &incident_addr,
                  "incident service gRPC address (capacity breach alerts are reported there)");
  flags.AddDuration("peer_deadline", &peer_deadline, "deadline of each alert delivery to incident");
  flags.AddDuration("recompute_interval", &recompute_interval,
                    "every resource's forecast, recommendations and breach alert are recomputed "
                    "this often; 0 disables the job");
  flags.AddDuration("recompute_poll", &recompute_poll,
                    "how often the recompute job looks for due resources");
  common::ParseFlagsOrExit(flags, argc, argv);
  if (recompute_interval < absl::ZeroDuration()) {
    std::cerr << "--recompute_interval: must not be negative\n";
    return 2;
  }
  if (recompute_poll <= absl::ZeroDuration() || peer_deadline <= absl::ZeroDuration()) {
    std::cerr << "--recompute_poll and --peer_deadline: must be positive\n";
    return 2;
  }
  if (keda_stream_interval <= absl::ZeroDuration()) {
    std::cerr << "--keda_stream_interval: must be positive\n";
    return 2;
  }
  if (monitor_timeout <= absl::ZeroDuration()) {
    std::cerr << "--monitor_timeout: must be positive\n";
    return 2;
  }
  if (run_retention <= absl::ZeroDuration()) {
    std::cerr << "--forecast_run_retention: must be positive\n";
    return 2;
  }

  auto runtime =
      common::ServiceRuntime::Create({"capacity", "capacity", &capacity::Migrations(), config});
  if (!runtime.ok()) {
    std::cerr << runtime.status().message() << "\n";
    return 2;
  }
  common::ServiceRuntime& rt = **runtime;

  capacity::MonitorHistorySource history(rt.PeerChannel(monitor_addr),
                                         {monitor_addr, monitor_timeout});
  capacity::PgForecastRunStore runs(rt.pg());
  capacity::RedisForecastCache cache(rt.redis());
  capacity::CapacityMetrics metrics(rt.registry());
  capacity::PgResourceStore resources(rt.pg());
  capacity::CapacityServiceImpl service(rt.rpc(), rt.clock(), history, runs, cache, metrics,
                                        resources);
  capacity::RunRetention retention(runs, rt.clock(), {run_retention});
  rt.AddWorker([&retention] { retention.Start(); }, [&retention] { retention.Stop(); });

  common::OutboxDispatcherOptions outbox_options;
  outbox_options.schema = capacity::kOutboxSchema;
  common::OutboxDispatcher dispatcher(rt.pg(), outbox_options, rt.registry(), rt.metric_prefix());
  auto incident = agentwatch::incident::v1::IncidentService::NewStub(rt.PeerChannel(incident_addr));
  dispatcher.AddHandler(
      capacity::kIncidentDestination,
      peers::MakeReportAlertsHandler(*incident, peer_deadline, "forecast-breach alert"));
  rt.AddWorker([&dispatcher] { dispatcher.Start(); }, [&dispatcher] { dispatcher.Stop(); });

  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  capacity::PgRecomputeStore recompute_store(rt.pg());
  capacity::RecomputeOptions recompute_options;
  recompute_options.runner_id = absl::StrCat(host, ":", getpid());
  recompute_options.interval = recompute_interval;
  recompute_options.poll = recompute_poll;
  capacity::RecomputeJob recompute(
      recompute_store, resources, history, rt.clock(), recompute_options,
      [&dispatcher] { dispatcher.Notify(); }, &metrics);
  if (recompute_interval > absl::ZeroDuration()) {
    rt.AddWorker([&recompute] { recompute.Start(); }, [&recompute] { recompute.Stop(); });
  }

  capacity::KedaScalerImpl scaler(rt.rpc(), rt.clock(), history, resources, cache,
                                  {keda_stream_interval});
  rt.AddGrpcService(&service);
  rt.AddGrpcService(&scaler);
  return rt.Run();
}
