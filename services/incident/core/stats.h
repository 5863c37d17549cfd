// Incident statistics (GetStats): the request's range and options, the
// aggregates a store computes over the incidents created in the range, and
// the pure arithmetic that turns them into figures. No I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

// The longest range GetStats accepts.
inline constexpr absl::Duration kMaxStatsRange = absl::Hours(24 * 400);

// A validated GetStats query: incidents created in [start, end).
struct StatsQuery {
  std::string tenant;  // empty: every tenant
  absl::Time start = absl::UnixEpoch();
  absl::Time end = absl::UnixEpoch();
  std::string service_label = "service";  // the label naming an incident's service
  std::string time_zone = "UTC";          // IANA name of the frequency days
};

// Checks and completes a query: `start` required (INVALID_ARGUMENT
// "range.start"), `end` defaults to `now` and must be after start
// ("range.end"), the span at most kMaxStatsRange ("range"), the time zone
// known (default UTC; "time_zone"), the service label a label name (default
// "service"; "service_label"), the tenant within limits ("tenant").
absl::StatusOr<StatsQuery> MakeStatsQuery(absl::string_view tenant, std::optional<absl::Time> start,
                                          std::optional<absl::Time> end,
                                          absl::string_view service_label,
                                          absl::string_view time_zone, absl::Time now);

// Figures of one group of incidents. Means are in whole microseconds; an
// incident not yet acknowledged (resolved) counts in no MTTA (MTTR) mean.
struct StatsGroup {
  Severity severity = Severity::kUnspecified;  // set in per-severity groups
  std::string service;                         // set in per-service groups
  int64_t incident_count = 0;
  absl::Duration mttd = absl::ZeroDuration();  // create_time - start_time
  absl::Duration mtta = absl::ZeroDuration();  // acknowledge_time - create_time
  absl::Duration mttr = absl::ZeroDuration();  // resolve_time - create_time
  int64_t sla_breaches = 0;                    // incidents with a recorded SLA breach
};

// Incidents created on one local day.
struct DayCount {
  absl::Time day_start = absl::UnixEpoch();  // local midnight
  int64_t count = 0;
};

// Pages (delivery records naming a person) sent to one person.
struct PersonPages {
  std::string person;
  int64_t pages = 0;
};

// What a store computes for a query (store/stats_store.h).
struct StatsAggregates {
  StatsGroup overall;
  std::vector<StatsGroup> by_severity;   // severities present, P0 first
  std::vector<StatsGroup> by_service;    // services present, by name
  std::vector<DayCount> days;            // days with incidents, in order
  int64_t alerts_received = 0;           // firing reports received in the range
  int64_t alert_total = 0;               // sum of the incidents' alert counts
  int64_t unattended_auto_resolved = 0;  // auto-resolved, no person on the timeline
  int64_t notifications = 0;             // delivery records in the range
  std::vector<PersonPages> pages;        // by person
};

// Pages per week of one person.
struct PersonPageRate {
  std::string person;
  double pages_per_week = 0;
};

// The figures GetStats answers.
struct IncidentStatsReport {
  StatsGroup overall;
  std::vector<StatsGroup> by_severity;
  std::vector<StatsGroup> by_service;
  std::vector<DayCount> frequency;  // every local day of the range, zeros included
  int64_t alerts_received = 0;
  double alerts_per_incident = 0;
  double auto_resolved_share = 0;  // in [0, 1]
  int64_t notifications_sent = 0;
  std::vector<PersonPageRate> pages_per_person;
};

// The mean of values whose sum is `sum` over `count` values, rounded half
// away from zero (as Postgres rounds a numeric); 0 when count is 0.
int64_t RoundedMeanMicros(absl::int128 sum, int64_t count);

// num / den, 0 when den is 0.
double Ratio(int64_t num, int64_t den);

// `count` events over `span` expressed per 7 days (0 for an empty span).
double PerWeek(int64_t count, absl::Duration span);

// Local midnight (in `zone`) of the day holding `t`.
absl::Time LocalDayStart(absl::Time t, const absl::TimeZone& zone);

// Whether a timeline actor is a person: not "system", "escalation",
// "auto_resolve" or "response_rule:<id>".
bool IsHumanActor(absl::string_view actor);

// The report of `aggregates` for `query`: frequency over every local day
// from the day of query.start to the day before query.end (exclusive end),
// zeros filled in; ratios and weekly rates computed.
IncidentStatsReport FinishStats(const StatsQuery& query, const StatsAggregates& aggregates);

}  // namespace agentwatch::incident
