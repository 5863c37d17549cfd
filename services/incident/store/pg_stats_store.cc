// PgIncidentStore: the StatsStore aggregates as a few aggregate queries over
// incident.incidents, incident.timeline, incident.alert_reports and
// incident.notifications (no incident is loaded row by row).
#include <algorithm>
#include <string>
#include <utility>

#include "common/pg.h"
#include "common/status_macros.h"
#include "incident/store/pg_incident_store.h"

namespace agentwatch::incident {
namespace {

// The filter every query shares: $1 tenant ('' any), $2/$3 the range.
#define AW_TENANT_RANGE(col) \
  "($1 = '' OR tenant_id = $1) AND " col " >= $2::timestamptz AND " col " < $3::timestamptz"
#define AW_MICROS_BETWEEN(later, earlier) \
  "GREATEST(0, (extract(epoch from (" later " - " earlier ")) * 1000000)::bigint)"

// $1 tenant, $2/$3 range, $4 service label: one row per grouping set
// (overall, per severity, per service) with count, the three rounded means,
// the alert total and the auto-resolved incidents no person touched.
constexpr char kGroupStats[] =
    "WITH i AS (SELECT severity, labels ->> $4::text AS service, alert_count, "
    AW_MICROS_BETWEEN("create_time", "start_time") " AS detect, "
    "CASE WHEN acknowledge_time IS NULL THEN NULL ELSE "
    AW_MICROS_BETWEEN("acknowledge_time", "create_time") " END AS ack, "
    "CASE WHEN resolve_time IS NULL THEN NULL ELSE "
    AW_MICROS_BETWEEN("resolve_time", "create_time") " END AS res, "
    "auto_resolved AND NOT EXISTS (SELECT 1 FROM incident.timeline t "
    "WHERE t.tenant_id = n.tenant_id AND t.incident_id = n.id AND "
    "t.actor NOT IN ('system', 'escalation', 'auto_resolve') AND "
    "t.actor NOT LIKE 'response\\_rule:%') AS unattended "
    "FROM incident.incidents n WHERE " AW_TENANT_RANGE("create_time") ") "
    "SELECT GROUPING(severity), GROUPING(service), severity, service, count(*), "
    "COALESCE(round(avg(detect)), 0)::bigint, COALESCE(round(avg(ack)), 0)::bigint, "
    "COALESCE(round(avg(res)), 0)::bigint, COALESCE(sum(alert_count), 0)::bigint, "
    "count(*) FILTER (WHERE unattended) "
    "FROM i GROUP BY GROUPING SETS ((), (severity), (service)) "
    "ORDER BY 1 DESC, 2 DESC, 3, 4";

// $1 tenant, $2/$3 range, $4 time zone: incidents per local day.
constexpr char kDayStats[] =
    "SELECT (extract(epoch from date_trunc('day', create_time, $4::text)) * 1000000)::bigint "
    "AS d, count(*) FROM incident.incidents WHERE " AW_TENANT_RANGE(
        "create_time") " GROUP BY d ORDER BY d";

// $1 tenant, $2/$3 range: firing reports received.
constexpr char kReportStats[] =
    "SELECT count(*) FROM incident.alert_reports WHERE status = 1 AND " AW_TENANT_RANGE(
        "received_at");

// $1 tenant, $2/$3 range: delivery records per person ('' for channels).
constexpr char kDeliveryStats[] =
    "SELECT person, count(*) FROM incident.notifications WHERE " AW_TENANT_RANGE(
        "sent_at") " GROUP BY person ORDER BY person";

#undef AW_MICROS_BETWEEN
#undef AW_TENANT_RANGE

StatsGroup GroupFromRow(const pqxx::row& row) {
  StatsGroup group;
  group.incident_count = row[4].as<int64_t>();
  group.mttd = absl::Microseconds(row[5].as<int64_t>());
  group.mtta = absl::Microseconds(row[6].as<int64_t>());
  group.mttr = absl::Microseconds(row[7].as<int64_t>());
  return group;
}

}  // namespace

absl::StatusOr<StatsAggregates> PgIncidentStore::AggregateStats(const StatsQuery& query) {
  const std::string start = common::PgTimestamp(query.start);
  const std::string end = common::PgTimestamp(query.end);
  return pool_.Transact<StatsAggregates>([&](pqxx::work& txn) -> absl::StatusOr<StatsAggregates> {
    StatsAggregates out;
    for (const pqxx::row& row :
         txn.exec_params(kGroupStats, query.tenant, start, end, query.service_label)) {
      const bool all_severities = row[0].as<int>() == 1;
      const bool all_services = row[1].as<int>() == 1;
      StatsGroup group = GroupFromRow(row);
      if (all_severities && all_services) {
        out.overall = group;
        out.alert_total = row[8].as<int64_t>();
        out.unattended_auto_resolved = row[9].as<int64_t>();
      } else if (!all_severities) {
        group.severity = static_cast<Severity>(row[2].as<int>());
        out.by_severity.push_back(std::move(group));
      } else if (!row[3].is_null()) {
        group.service = row[3].as<std::string>();
        out.by_service.push_back(std::move(group));
      }
    }
    for (const pqxx::row& row :
         txn.exec_params(kDayStats, query.tenant, start, end, query.time_zone)) {
      out.days.push_back(
          DayCount{absl::FromUnixMicros(row[0].as<int64_t>()), row[1].as<int64_t>()});
    }
    out.alerts_received =
        txn.exec_params(kReportStats, query.tenant, start, end)[0][0].as<int64_t>();
    for (const pqxx::row& row : txn.exec_params(kDeliveryStats, query.tenant, start, end)) {
      const int64_t count = row[1].as<int64_t>();
      out.notifications += count;
      const std::string person = row[0].as<std::string>();
      if (!person.empty()) out.pages.push_back(PersonPages{person, count});
    }
    // Byte order, as the in-memory store (the database may collate otherwise).
    std::sort(out.by_service.begin(), out.by_service.end(),
              [](const StatsGroup& a, const StatsGroup& b) { return a.service < b.service; });
    std::sort(out.pages.begin(), out.pages.end(),
              [](const PersonPages& a, const PersonPages& b) { return a.person < b.person; });
    return out;
  });
}

}  // namespace agentwatch::incident
