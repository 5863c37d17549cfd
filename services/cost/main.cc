// agentwatch-cost: wiring only. Flags -> runtime -> store -> service.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "common/config.h"
#include "common/runtime.h"
#include "cost/api/cost_metrics.h"
#include "cost/api/cost_service.h"
#include "cost/api/default_catalog_importer.h"
#include "cost/catalog/default_catalog.h"
#include "cost/store/migrations.h"
#include "cost/store/pg_cost_store.h"

int main(int argc, char** argv) {
  namespace common = agentwatch::common;
  namespace cost = agentwatch::cost;
  common::BlockTerminationSignals();
  common::ServiceConfig config;
  std::string default_catalog;
  bool import_default_catalog = true;
  common::FlagSet flags("agentwatch-cost");
  common::RegisterServiceFlags(flags, &config, 50054, 9104);
  flags.AddString("default_catalog", &default_catalog,
                  "LiteLLM price JSON imported when the global catalog is empty; empty: the "
                  "copy embedded in this binary");
  flags.AddBool("import_default_catalog", &import_default_catalog,
                "import the default catalog at start when the global catalog is empty");
  common::ParseFlagsOrExit(flags, argc, argv);

  std::string catalog_json(cost::DefaultCatalogJson());
  std::string catalog_origin = "embedded";
  if (!default_catalog.empty()) {
    std::ifstream in(default_catalog);
    if (!in) {
      std::cerr << argv[0] << ": --default_catalog: cannot read " << default_catalog << "\n";
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    catalog_json = text.str();
    catalog_origin = default_catalog;
  }

  auto runtime = common::ServiceRuntime::Create({"cost", "cost", &cost::Migrations(), config});
  if (!runtime.ok()) {
    std::cerr << runtime.status().message() << "\n";
    return 2;
  }
  common::ServiceRuntime& rt = **runtime;
  cost::PgCostStore store(rt.pg());
  cost::CostMetrics metrics(rt.registry());
  cost::CostServiceImpl service(store, rt.rpc(), rt.clock(), metrics);
  cost::DefaultCatalogImporter importer(store, std::move(catalog_json), catalog_origin);
  if (import_default_catalog) {
    rt.AddWorker([&importer] { importer.Start(); }, [&importer] { importer.Stop(); });
  }
  rt.AddGrpcService(&service);
  return rt.Run();
}
