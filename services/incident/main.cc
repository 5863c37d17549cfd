// agentwatch-incident: wiring only (flags -> runtime -> store -> service).
#include <iostream>
#include <string>

#include "common/config.h"
#include "common/runtime.h"
#include "incident/api/incident_metrics.h"
#include "incident/api/incident_service.h"
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
  common::ParseFlagsOrExit(flags, argc, argv);
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
  incident::PgIncidentStore store(rt.pg(), ids);
  incident::IncidentMetrics metrics(rt.registry(), rt.metric_prefix());
  incident::IncidentServiceImpl service(store, rt.rpc(), rt.clock(), metrics, *grouping);
  rt.AddGrpcService(&service);
  return rt.Run();
}
