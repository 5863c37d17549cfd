// MemoryIncidentStore: the StatsStore aggregates, computed by scanning the
// in-memory maps with the same rules as the Postgres queries.
#include <algorithm>
#include <map>
#include <utility>

#include "absl/numeric/int128.h"
#include "incident/store/memory_incident_store.h"

namespace agentwatch::incident {
namespace {

// Running sums of one group.
struct GroupSums {
  int64_t count = 0;
  absl::int128 detect = 0;
  int64_t acknowledged = 0;
  absl::int128 acknowledge = 0;
  int64_t resolved = 0;
  absl::int128 resolve = 0;

  void Add(const Incident& incident) {
    ++count;
    detect += Micros(incident.create_time - incident.start_time);
    if (incident.acknowledge_time) {
      ++acknowledged;
      acknowledge += Micros(*incident.acknowledge_time - incident.create_time);
    }
    if (incident.resolve_time) {
      ++resolved;
      resolve += Micros(*incident.resolve_time - incident.create_time);
    }
  }

  StatsGroup Figures() const {
    StatsGroup group;
    group.incident_count = count;
    group.mttd = absl::Microseconds(RoundedMeanMicros(detect, count));
    group.mtta = absl::Microseconds(RoundedMeanMicros(acknowledge, acknowledged));
    group.mttr = absl::Microseconds(RoundedMeanMicros(resolve, resolved));
    return group;
  }

  static int64_t Micros(absl::Duration d) {
    return std::max<int64_t>(0, absl::ToInt64Microseconds(d));
  }
};

bool InRange(const StatsQuery& query, absl::string_view tenant, absl::Time at) {
  return (query.tenant.empty() || query.tenant == tenant) && at >= query.start && at < query.end;
}

}  // namespace

absl::StatusOr<StatsAggregates> MemoryIncidentStore::AggregateStats(const StatsQuery& query) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(query.time_zone, &zone)) zone = absl::UTCTimeZone();
  absl::MutexLock lock(&mu_);
  StatsAggregates out;
  GroupSums overall;
  std::map<Severity, GroupSums> by_severity;
  std::map<std::string, GroupSums> by_service;
  std::map<absl::Time, int64_t> days;
  for (const auto& [id, incident] : incidents_) {
    if (!InRange(query, incident.tenant, incident.create_time)) continue;
    overall.Add(incident);
    by_severity[incident.severity].Add(incident);
    const auto service = incident.labels.find(query.service_label);
    if (service != incident.labels.end()) by_service[service->second].Add(incident);
    ++days[LocalDayStart(incident.create_time, zone)];
    out.alert_total += incident.alert_count;
    if (incident.auto_resolved) {
      bool attended = false;
      const auto timeline = timelines_.find(id);
      if (timeline != timelines_.end()) {
        for (const TimelineEntry& entry : timeline->second) {
          if (IsHumanActor(entry.actor)) attended = true;
        }
      }
      if (!attended) ++out.unattended_auto_resolved;
    }
  }
  out.overall = overall.Figures();
  for (const auto& [severity, sums] : by_severity) {
    out.by_severity.push_back(sums.Figures());
    out.by_severity.back().severity = severity;
  }
  for (const auto& [service, sums] : by_service) {
    out.by_service.push_back(sums.Figures());
    out.by_service.back().service = service;
  }
  for (const auto& [day_start, count] : days) out.days.push_back(DayCount{day_start, count});
  for (const ReportRecord& report : report_log_) {
    if (report.key.status == AlertStatus::kFiring &&
        InRange(query, report.key.tenant, report.received_at)) {
      ++out.alerts_received;
    }
  }
  std::map<std::string, int64_t> pages;
  for (const DeliveryRecord& delivery : delivery_log_) {
    if (!InRange(query, delivery.tenant, delivery.time)) continue;
    ++out.notifications;
    if (!delivery.person.empty()) ++pages[delivery.person];
  }
  for (const auto& [person, count] : pages) out.pages.push_back(PersonPages{person, count});
  return out;
}

}  // namespace agentwatch::incident
