#include "incident/api/incident_metrics.h"

namespace agentwatch::incident {
namespace {

prometheus::Family<prometheus::Counter>& Counters(prometheus::Registry& registry,
                                                  const std::string& name,
                                                  const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

}  // namespace

IncidentMetrics::IncidentMetrics(prometheus::Registry& registry, const std::string& prefix)
    : received_(Counters(registry, prefix + "_alerts_received_total",
                         "Alerts received by ReportAlerts, duplicates included")),
      received_firing_(received_.Add({{"status", "firing"}})),
      received_resolved_(received_.Add({{"status", "resolved"}})),
      incidents_opened_(
          Counters(registry, prefix + "_incidents_opened_total", "Incidents opened by alerts")
              .Add({})),
      duplicates_(Counters(registry, prefix + "_alert_duplicates_total",
                           "Alert reports received again (replays), which change nothing")
                      .Add({})),
      silenced_(Counters(registry, prefix + "_alerts_silenced_total",
                         "Firing alerts muted by a silence (recorded, no incident)")
                    .Add({})),
      auto_resolved_(Counters(registry, prefix + "_incidents_auto_resolved_total",
                              "Incidents resolved automatically after their alerts went quiet")
                         .Add({})) {}

void IncidentMetrics::RecordIntake(const IntakeSummary& summary) {
  received_firing_.Increment(static_cast<double>(summary.received_firing));
  received_resolved_.Increment(static_cast<double>(summary.received_resolved));
  incidents_opened_.Increment(static_cast<double>(summary.incidents_opened));
  duplicates_.Increment(static_cast<double>(summary.duplicates));
  silenced_.Increment(static_cast<double>(summary.silenced));
}

void IncidentMetrics::RecordAutoResolved(int64_t incidents) {
  auto_resolved_.Increment(static_cast<double>(incidents));
}

}  // namespace agentwatch::incident
