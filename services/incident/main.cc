// agentwatch-incident: wiring only (flags -> runtime -> store -> service).
#include <algorithm>
#include <iostream>
#include <string>

#include "common/config.h"
#include "common/runtime.h"
#include "incident/api/auto_resolver.h"
#include "incident/api/incident_metrics.h"
#include "incident/api/incident_service.h"
#include "incident/api/webhooks.h"
#include "incident/core/grouping.h"
#include "incident/core/ids.h"
#include "incident/store/migrations.h"
#include "incident/store/pg_incident_store.h"

int main(int argc, char** argv) {
  namespace common = agentwatch::common;
  namespace incident = agentwatch::incident;
  common::BlockTerminationSignals();

  common::ServiceConfig config;
  std::string group_by = "alertname";
  common::FlagSet flags("agentwatch-incident");
  common::RegisterServiceFlags(flags, &config, 50052, 9102);
  flags.AddString("group_by", &group_by,
                  "comma-separated labels whose values (with the tenant) group alerts into one "
                  "incident; \"...\" groups by all labels, \"\" by tenant only");
  absl::Duration auto_resolve_quiet = absl::Minutes(5);
  absl::Duration reopen_window = absl::Minutes(30);
  flags.AddDuration("auto_resolve_quiet", &auto_resolve_quiet,
                    "an open incident whose alerts have all resolved is resolved automatically "
                    "after this quiet period");
  flags.AddDuration("reopen_window", &reopen_window,
                    "a refire within this window of an automatic resolution re-opens the same "
                    "incident (0 never does)");
  common::ParseFlagsOrExit(flags, argc, argv);
  if (auto_resolve_quiet <= absl::ZeroDuration() || reopen_window < absl::ZeroDuration()) {
    std::cerr << "--auto_resolve_quiet must be positive and --reopen_window not negative\n";
    return 2;
  }
  auto grouping = incident::ParseGroupBy("group_by", group_by);
  if (!grouping.ok()) {
    std::cerr << grouping.status().message() << "\n";
    return 2;
  }

  auto runtime =
      common::ServiceRuntime::Create({"incident", "incident", &incident::Migrations(), config});
  if (!runtime.ok()) {
    std::cerr << runtime.status().message() << "\n";
    return 2;
  }
  common::ServiceRuntime& rt = **runtime;

  incident::RandomIdGenerator ids;
  incident::PgIncidentStore store(rt.pg(), ids, reopen_window);
  incident::IncidentMetrics metrics(rt.registry(), rt.metric_prefix());
  incident::IncidentServiceImpl service(store, rt.rpc(), rt.clock(), metrics, *grouping);
  incident::RandomIdGenerator dedup_keys;
  incident::IncidentWebhooks webhooks(store, rt.rpc().authorizer(), rt.clock(), metrics, *grouping,
                                      dedup_keys);
  webhooks.Register(rt.http());
  // Scans often enough that an incident resolves within a tenth of its quiet
  // period (at most every 30s, at least every 100ms).
  incident::AutoResolver auto_resolver(
      store, rt.clock(), metrics, auto_resolve_quiet,
      std::clamp(auto_resolve_quiet / 10, absl::Milliseconds(100), absl::Seconds(30)));
  rt.AddWorker([&] { auto_resolver.Start(); }, [&] { auto_resolver.Stop(); });
  rt.AddGrpcService(&service);
  return rt.Run();
}
