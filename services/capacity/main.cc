// agentwatch-capacity: wiring only.
#include <iostream>
#include <memory>
#include <string>

#include "capacity/api/capacity_service.h"
#include "capacity/api/metrics.h"
#include "capacity/history/monitor_history_source.h"
#include "capacity/jobs/run_retention.h"
#include "capacity/store/migrations.h"
#include "capacity/store/pg_forecast_run_store.h"
#include "capacity/store/redis_forecast_cache.h"
#include "common/channel.h"
#include "common/config.h"
#include "common/runtime.h"

int main(int argc, char** argv) {
  namespace common = agentwatch::common;
  namespace capacity = agentwatch::capacity;
  common::BlockTerminationSignals();

  common::ServiceConfig config;
  std::string monitor_addr = "127.0.0.1:50051";
  absl::Duration monitor_timeout = absl::Seconds(10);
  absl::Duration run_retention = absl::Hours(24 * 7);
  common::FlagSet flags("agentwatch-capacity");
  common::RegisterServiceFlags(flags, &config, 50053, 9103);
  flags.AddString("monitor_addr", &monitor_addr, "monitor service gRPC address (history source)");
  flags.AddDuration("monitor_timeout", &monitor_timeout,
                    "deadline of one history fetch from monitor");
  flags.AddDuration("forecast_run_retention", &run_retention,
                    "forecast runs older than this are deleted");
  common::ParseFlagsOrExit(flags, argc, argv);
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
  capacity::CapacityServiceImpl service(rt.rpc(), rt.clock(), history, runs, cache, metrics);
  capacity::RunRetention retention(runs, rt.clock(), {run_retention});
  rt.AddWorker([&retention] { retention.Start(); }, [&retention] { retention.Stop(); });

  rt.AddGrpcService(&service);
  return rt.Run();
}
