// agentwatch-incident: wiring only (flags -> runtime -> store -> service).

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/heap.h"
#include "common/outbox.h"
#include "common/runtime.h"
#include "incident/api/auto_resolver.h"
#include "incident/api/escalation_engine.h"
#include "incident/api/grouping_resolver.h"
#include "incident/api/incident_metrics.h"
#include "incident/api/incident_service.h"
#include "incident/api/incident_watcher.h"
#include "incident/api/notifier.h"
#include "incident/api/response_engine.h"
#include "incident/api/sla_tracker.h"
#include "incident/api/webhooks.h"
#include "incident/core/grouping.h"
#include "incident/core/ids.h"
#include "incident/store/migrations.h"
#include "incident/store/pg_grouping_config_store.h"
#include "incident/store/pg_incident_store.h"
#include "incident/store/pg_response_store.h"
#include "incident/store/pg_sla_store.h"
#include "incident/store/pg_watch_source.h"

int main(int argc, char** argv) {
  namespace common = agentwatch::common;
  namespace incident = agentwatch::incident;
  common::BlockTerminationSignals();
  // Intake churns through megabytes per group commit: keep freed memory
  // mapped instead of trimming and faulting it back in for every group.
  common::KeepHeapMapped();

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
  absl::Duration group_wait = absl::Seconds(5);
  absl::Duration escalation_interval = absl::Seconds(1);
  flags.AddDuration("group_wait", &group_wait,
                    "wait after an incident opens before its first page, so that alerts of the "
                    "same group arriving together page once");
  flags.AddDuration("escalation_interval", &escalation_interval,
                    "how often the escalation engine looks for pages that are due");
  std::string capacity_addr = "127.0.0.1:50053";
  absl::Duration response_interval = absl::Milliseconds(500);
  flags.AddString("capacity_addr", &capacity_addr,
                  "capacity service gRPC address (response rules' capacity recommendation "
                  "actions; the service starts and those actions fail while it is down)");
  flags.AddDuration("response_interval", &response_interval,
                    "how often the response engine evaluates response rules and runs actions");
  absl::Duration sla_interval = absl::Seconds(1);
  flags.AddDuration("sla_interval", &sla_interval,
                    "how often the SLA tracker looks for missed response and resolve targets");
  absl::Duration watch_poll_interval = absl::Milliseconds(150);
  absl::Duration watch_lag_window = absl::Seconds(10);
  flags.AddDuration("watch_poll_interval", &watch_poll_interval,
                    "how often the replica reads new timeline entries for WatchIncidents streams "
                    "(only while a stream is open)");
  flags.AddDuration("watch_lag_window", &watch_lag_window,
                    "how long WatchIncidents waits for a timeline entry whose id was handed out "
                    "before a later one became visible (a transaction committing late)");
  // Three Alertmanager notifications of ~30 alerts: measured on
  // bench/incident_intake's webhook run against 0, 60 and 120 (README).
  // ReportAlerts' 1,000-alert batches exceed it on their own.
  int64_t intake_overlap_alerts = 90;
  flags.AddInt("intake_overlap_alerts", &intake_overlap_alerts,
               "while an intake transaction runs, another starts only once this many alerts "
               "wait (0: at once)",
               0, 1'000'000);
  common::ParseFlagsOrExit(flags, argc, argv);
  if (watch_poll_interval <= absl::ZeroDuration() || watch_lag_window <= absl::ZeroDuration()) {
    std::cerr << "--watch_poll_interval and --watch_lag_window must be positive\n";
    return 2;
  }
  if (sla_interval <= absl::ZeroDuration()) {
    std::cerr << "--sla_interval must be positive\n";
    return 2;
  }
  if (response_interval <= absl::ZeroDuration()) {
    std::cerr << "--response_interval must be positive\n";
    return 2;
  }
  if (group_wait < absl::ZeroDuration() || escalation_interval <= absl::ZeroDuration()) {
    std::cerr << "--group_wait must not be negative and --escalation_interval must be positive\n";
    return 2;
  }
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
  incident::PgIncidentStore store(rt.pg(), ids, reopen_window, intake_overlap_alerts);
  incident::IncidentMetrics metrics(rt.registry(), rt.metric_prefix());
  incident::Notifier notifier(store, rt.clock());
  incident::PgSlaStore sla_store(rt.pg());
  incident::IncidentServiceImpl service(store, rt.rpc(), rt.clock(), metrics, *grouping, &notifier,
                                        &sla_store);
  // Per-tenant group_by and group_wait (UpdateGroupingConfig), applied by
  // intake and escalation through a cache of 1 s: another replica's update
  // applies here within a second, this replica's at once.
  incident::PgGroupingConfigStore grouping_store(rt.pg());
  incident::GroupingResolver grouping_resolver(grouping_store, rt.clock(),
                                               incident::TenantGrouping{*grouping, group_wait});
  incident::GroupingTimings grouping_timings;
  grouping_timings.resolve_quiet_period = auto_resolve_quiet;
  grouping_timings.reopen_window = reopen_window;
  service.SetGroupingConfigs(&grouping_store, &grouping_resolver, grouping_timings);
  // SLA breaches: recorded once across replicas (row lock SKIP LOCKED + key).
  incident::SlaTracker sla_tracker(sla_store, rt.clock(), sla_interval);
  rt.AddWorker([&] { sla_tracker.Start(); }, [&] { sla_tracker.Stop(); });
  // Pages leave through the outbox: at least once, one replica at a time.
  common::OutboxDispatcher dispatcher(rt.pg(), {"incident"}, rt.registry(), rt.metric_prefix());
  dispatcher.AddHandler(
      std::string(incident::kNotifyDestination),
      [&](const std::vector<common::OutboxEntry>& entries) { return notifier.Deliver(entries); });
  incident::EscalationEngine escalation(store, rt.clock(), group_wait, escalation_interval,
                                        [&] { dispatcher.Notify(); });
  escalation.SetGroupingResolver(&grouping_resolver);
  incident::RandomIdGenerator dedup_keys;
  incident::IncidentWebhooks webhooks(store, rt.rpc().authorizer(), rt.clock(), metrics, *grouping,
                                      dedup_keys);
  webhooks.SetGroupingResolver(&grouping_resolver);
  webhooks.Register(rt.http());
  // Scans often enough that an incident resolves within a tenth of its quiet
  // period (at most every 30s, at least every 100ms).
  incident::AutoResolver auto_resolver(
      store, rt.clock(), metrics, auto_resolve_quiet,
      std::clamp(auto_resolve_quiet / 10, absl::Milliseconds(100), absl::Seconds(30)));
  rt.AddWorker([&] { auto_resolver.Start(); }, [&] { auto_resolver.Stop(); });
  rt.AddWorker([&] { dispatcher.Start(); }, [&] { dispatcher.Stop(); });
  rt.AddWorker([&] { escalation.Start(); }, [&] { escalation.Stop(); });
  // Response rules: claimed exactly once across replicas, webhooks at least
  // once with an idempotency key.
  incident::PgResponseStore response_store(rt.pg());
  std::unique_ptr<incident::CapacityAdvisor> capacity =
      incident::MakeGrpcCapacityAdvisor(rt.PeerChannel(capacity_addr));
  incident::ResponseEngineOptions response_options;
  response_options.interval = response_interval;
  incident::ResponseEngine responder(store, response_store, rt.clock(), &notifier, capacity.get(),
                                     incident::CurlPost, response_options);
  rt.AddWorker([&] { responder.Start(); }, [&] { responder.Stop(); });
  // WatchIncidents: one timeline poller per replica, shared by every stream;
  // it sees every replica's changes. Streams end (UNAVAILABLE, with a
  // cursor) when the replica stops serving.
  incident::PgWatchSource watch_source(rt.pg(), store);
  incident::IncidentWatcherOptions watch_options;
  watch_options.poll_interval = watch_poll_interval;
  watch_options.lag_window = watch_lag_window;
  incident::IncidentWatcher watcher(watch_source, rt.clock(), watch_options,
                                    [&rt] { return rt.ready(); });
  service.SetWatcher(&watcher);
  rt.AddWorker([&] { watcher.Start(); }, [&] { watcher.Stop(); });
  rt.AddGrpcService(&service);
  return rt.Run();
}
