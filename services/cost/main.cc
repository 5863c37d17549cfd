// agentwatch-cost: wiring only. Flags -> runtime -> store -> service.
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/synchronization/mutex.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/config.h"
#include "common/outbox.h"
#include "common/redis.h"
#include "common/runtime.h"
#include "cost/api/cost_metrics.h"
#include "cost/api/cost_service.h"
#include "cost/api/default_catalog_importer.h"
#include "cost/api/monitor_performance.h"
#include "cost/catalog/default_catalog.h"
#include "cost/jobs/reconcile_loop.h"
#include "cost/store/budget_counters.h"
#include "cost/store/migrations.h"
#include "cost/store/near_budget_counters.h"
#include "cost/store/pg_cost_store.h"
#include "peers/alert_delivery.h"

int main(int argc, char** argv) {
  namespace common = agentwatch::common;
  namespace cost = agentwatch::cost;
  namespace peers = agentwatch::peers;
  common::BlockTerminationSignals();
  // Abseil's mutex deadlock detection (on in this Abseil build) costs a
  // graph update on every lock of the ingest path; tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  common::ServiceConfig config;
  std::string default_catalog;
  bool import_default_catalog = true;
  std::string incident_addr = "127.0.0.1:50052";
  std::string monitor_addr = "127.0.0.1:50051";
  absl::Duration peer_deadline = absl::Seconds(5);
  absl::Duration budget_cache_ttl = absl::Seconds(1);
  absl::Duration budget_cache_max_age = absl::Minutes(5);
  absl::Duration reconcile_interval = absl::Minutes(1);
  absl::Duration budget_check_refresh = absl::Milliseconds(10);
  int64_t record_transactions = 2;
  int64_t record_group_records = 20000;
  // Two client batches of 1,000: measured on bench/cost_ingest against 0 (every
  // arriving batch its own overlapping transaction) and 3,000 (README).
  int64_t record_overlap_records = 2000;
  // The executor runs RecordUsage (parse, group commit, COPY) and every other
  // queued RPC; CheckBudget answers inline on gRPC's threads. With the
  // executor at the lowest priority, a check's wake-up goes ahead of bulk
  // ingest when the CPU is saturated (README, "CheckBudget under load");
  // --executor_nice=0 restores the shared default.
  config.executor_nice = 19;
  common::FlagSet flags("agentwatch-cost");
  common::RegisterServiceFlags(flags, &config, 50054, 9104);
  flags.AddString("default_catalog", &default_catalog,
                  "LiteLLM price JSON imported when the global catalog is empty; empty: the "
                  "copy embedded in this binary");
  flags.AddBool("import_default_catalog", &import_default_catalog,
                "import the default catalog at start when the global catalog is empty");
  flags.AddString("incident_addr", &incident_addr,
                  "incident service gRPC address (budget alerts are reported there)");
  flags.AddString("monitor_addr", &monitor_addr,
                  "monitor service gRPC address (LLM-call success rate and p95 latency for "
                  "GetCostPerformance); empty: answer with cost figures only");
  flags.AddDuration("peer_deadline", &peer_deadline, "deadline of each call to a peer");
  flags.AddDuration("budget_cache_ttl", &budget_cache_ttl,
                    "how long CheckBudget reuses a tenant's budget list while Redis is "
                    "unreachable (budgets changed through another replica are seen within "
                    "this time)");
  flags.AddDuration("budget_cache_max_age", &budget_cache_max_age,
                    "the longest CheckBudget reuses a tenant's budget list whose version in "
                    "Redis is unchanged (bounds staleness after a change made while Redis "
                    "was unreachable)");
  flags.AddDuration("budget_check_refresh", &budget_check_refresh,
                    "how often the in-process near cache of the hot budget counters re-reads "
                    "from Redis everything CheckBudget read recently (one pipelined round "
                    "trip), so that checks answer from memory: this replica's own usage is "
                    "seen at once, other replicas' usage and budget changes within one "
                    "interval (and nothing older than 10 intervals is served); 0 turns the "
                    "near cache off (every check reads Redis)");
  flags.AddDuration("reconcile_interval", &reconcile_interval,
                    "how often the hot budget counters are reconciled with the ledger; 0 "
                    "disables the periodic run (the Reconcile RPC still works)");
  flags.AddInt("record_transactions", &record_transactions,
               "most RecordUsage transactions at once; batches arriving meanwhile share the "
               "next one (group commit)",
               1, 64);
  flags.AddInt("record_group_records", &record_group_records,
               "most records in one group-commit transaction", 1, 1'000'000);
  flags.AddInt("record_overlap_records", &record_overlap_records,
               "while a RecordUsage transaction runs, another starts only once this many "
               "records wait (0: at once)",
               0, 1'000'000);
  common::ParseFlagsOrExit(flags, argc, argv);
  if (reconcile_interval < absl::ZeroDuration()) {
    std::cerr << argv[0] << ": --reconcile_interval: must not be negative\n";
    return 2;
  }
  if (budget_check_refresh < absl::ZeroDuration()) {
    std::cerr << argv[0] << ": --budget_check_refresh: must not be negative\n";
    return 2;
  }
  if (peer_deadline <= absl::ZeroDuration()) {
    std::cerr << argv[0] << ": --peer_deadline: must be positive\n";
    return 2;
  }

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

  auto runtime =
      common::ServiceRuntime::Create({"cost", cost::kOutboxSchema, &cost::Migrations(), config});
  if (!runtime.ok()) {
    std::cerr << runtime.status().message() << "\n";
    return 2;
  }
  common::ServiceRuntime& rt = **runtime;
  cost::PgCostStoreOptions store_options;
  store_options.max_concurrent_groups = static_cast<int>(record_transactions);
  store_options.max_group_records = record_group_records;
  store_options.min_records_to_overlap = record_overlap_records;
  cost::PgCostStore store(rt.pg(), store_options);
  cost::CostMetrics metrics(rt.registry());
  common::OutboxDispatcherOptions outbox_options;
  outbox_options.schema = cost::kOutboxSchema;
  common::OutboxDispatcher dispatcher(rt.pg(), outbox_options, rt.registry(), rt.metric_prefix());
  auto incident = agentwatch::incident::v1::IncidentService::NewStub(rt.PeerChannel(incident_addr));
  dispatcher.AddHandler(cost::kIncidentDestination,
                        peers::MakeReportAlertsHandler(*incident, peer_deadline, "budget alert"));
  cost::RedisBudgetCounters counters(rt.redis());
  // CheckBudget's inline path reads the counters over a Redis connection of
  // its own (never queued behind RecordUsage's raises on the shared one).
  common::RedisOptions check_redis_options;
  int check_redis_port = 0;
  if (absl::Status s = common::ParseHostPort("redis", config.redis, &check_redis_options.host,
                                             &check_redis_port);
      !s.ok()) {
    std::cerr << argv[0] << ": " << s.message() << "\n";
    return 2;
  }
  check_redis_options.port = check_redis_port;
  common::RedisClient check_redis(check_redis_options);
  cost::RedisBudgetCounters check_counters(check_redis);
  cost::CostServiceOptions service_options;
  service_options.on_alerts = [&dispatcher] { dispatcher.Notify(); };
  service_options.counters = &counters;
  service_options.check_counters = &check_counters;
  // The near cache (store/near_budget_counters.h): checks read the counters
  // from memory; this replica's writes go through it so it sees them at once.
  std::unique_ptr<cost::NearBudgetCounters> near_counters;
  if (budget_check_refresh > absl::ZeroDuration()) {
    cost::NearBudgetCountersOptions near_options;
    near_options.refresh = budget_check_refresh;
    near_options.max_age = 10 * budget_check_refresh;
    near_counters = std::make_unique<cost::NearBudgetCounters>(counters, check_counters, rt.clock(),
                                                               near_options);
    service_options.counters = near_counters.get();
    service_options.check_counters = near_counters.get();
    rt.AddWorker([&near_counters] { near_counters->Start(); },
                 [&near_counters] { near_counters->Stop(); });
  }
  service_options.budget_cache_ttl = budget_cache_ttl;
  service_options.budget_cache_max_age = budget_cache_max_age;
  std::unique_ptr<cost::MonitorPerformanceSource> performance;
  if (!monitor_addr.empty()) {
    performance = std::make_unique<cost::MonitorPerformanceSource>(rt.PeerChannel(monitor_addr),
                                                                   monitor_addr, peer_deadline);
    service_options.performance = performance.get();
  }
  cost::CostServiceImpl service(store, rt.rpc(), rt.clock(), metrics, service_options);
  cost::DefaultCatalogImporter importer(store, std::move(catalog_json), catalog_origin);
  if (import_default_catalog) {
    rt.AddWorker([&importer] { importer.Start(); }, [&importer] { importer.Stop(); });
  }
  rt.AddWorker([&dispatcher] { dispatcher.Start(); }, [&dispatcher] { dispatcher.Stop(); });
  cost::ReconcileLoop reconciler(
      [&service] {
        agentwatch::cost::v1::ReconcileResponse report;
        return service.DoReconcile(agentwatch::cost::v1::ReconcileRequest(), &report);
      },
      reconcile_interval);
  if (reconcile_interval > absl::ZeroDuration()) {
    rt.AddWorker([&reconciler] { reconciler.Start(); }, [&reconciler] { reconciler.Stop(); });
  }
  rt.AddGrpcService(&service);
  return rt.Run();
}
