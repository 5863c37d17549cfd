#include "incident/core/stats.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "common/status_macros.h"
#include "incident/core/auto_resolve.h"
#include "incident/core/paging.h"
#include "incident/core/validation.h"

namespace agentwatch::incident {

using common::InvalidField;

absl::StatusOr<StatsQuery> MakeStatsQuery(absl::string_view tenant, std::optional<absl::Time> start,
                                          std::optional<absl::Time> end,
                                          absl::string_view service_label,
                                          absl::string_view time_zone, absl::Time now) {
  StatsQuery query;
  RETURN_IF_ERROR(ValidateOptional(tenant, "tenant", kMaxTenantBytes));
  query.tenant = std::string(tenant);
  if (!start.has_value()) return InvalidField("range.start", "required");
  query.start = *start;
  query.end = end.value_or(now);
  if (query.end <= query.start) return InvalidField("range.end", "must be after range.start");
  if (query.end - query.start > kMaxStatsRange) return InvalidField("range", "at most 400 days");
  if (!service_label.empty()) {
    RETURN_IF_ERROR(ValidateOptional(service_label, "service_label", kMaxLabelNameBytes));
    query.service_label = std::string(service_label);
  }
  if (!time_zone.empty()) {
    absl::TimeZone zone;
    if (!absl::LoadTimeZone(std::string(time_zone), &zone)) {
      return InvalidField("time_zone", "unknown time zone");
    }
    query.time_zone = std::string(time_zone);
  }
  return query;
}

int64_t RoundedMeanMicros(absl::int128 sum, int64_t count) {
  if (count <= 0) return 0;
  const absl::int128 n = count;
  const absl::int128 magnitude = sum < 0 ? -sum : sum;
  // Half away from zero: (2 |sum| + n) / (2 n), truncated.
  const absl::int128 exact = (magnitude * 2 + n) / (n * 2);
  return static_cast<int64_t>(sum < 0 ? -exact : exact);
}

double Ratio(int64_t num, int64_t den) {
  if (den == 0) return 0;
  return static_cast<double>(num) / static_cast<double>(den);
}

double PerWeek(int64_t count, absl::Duration span) {
  if (span <= absl::ZeroDuration()) return 0;
  return static_cast<double>(count) * absl::FDivDuration(absl::Hours(24 * 7), span);
}

absl::Time LocalDayStart(absl::Time t, const absl::TimeZone& zone) {
  const absl::CivilDay day = absl::ToCivilDay(t, zone);
  return zone.At(absl::CivilSecond(day)).trans;
}

bool IsHumanActor(absl::string_view actor) {
  return actor != kSystemActor && actor != kEscalationActor && actor != kAutoResolveActor &&
         !absl::StartsWith(actor, "response_rule:");
}

IncidentStatsReport FinishStats(const StatsQuery& query, const StatsAggregates& aggregates) {
  IncidentStatsReport report;
  report.overall = aggregates.overall;
  report.by_severity = aggregates.by_severity;
  report.by_service = aggregates.by_service;
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(query.time_zone, &zone)) zone = absl::UTCTimeZone();
  std::map<absl::Time, int64_t> counts;
  for (const DayCount& day : aggregates.days) counts[day.day_start] += day.count;
  for (absl::CivilDay day = absl::ToCivilDay(query.start, zone);; ++day) {
    const absl::Time day_start = zone.At(absl::CivilSecond(day)).trans;
    if (day_start >= query.end) break;
    const auto it = counts.find(day_start);
    report.frequency.push_back(DayCount{day_start, it == counts.end() ? 0 : it->second});
  }
  report.alerts_received = aggregates.alerts_received;
  report.alerts_per_incident = Ratio(aggregates.alert_total, aggregates.overall.incident_count);
  report.auto_resolved_share =
      Ratio(aggregates.unattended_auto_resolved, aggregates.overall.incident_count);
  report.notifications_sent = aggregates.notifications;
  const absl::Duration span = query.end - query.start;
  for (const PersonPages& person : aggregates.pages) {
    report.pages_per_person.push_back(PersonPageRate{person.person, PerWeek(person.pages, span)});
  }
  return report;
}

}  // namespace agentwatch::incident
