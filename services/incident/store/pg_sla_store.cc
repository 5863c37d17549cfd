#include "incident/store/pg_sla_store.h"

#include <pqxx/pqxx>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace agentwatch::incident {
namespace {

#define AW_MICROS(col) "(extract(epoch from " col ") * 1000000)::bigint"

// $1 tenants.
constexpr char kListVersions[] =
    "SELECT tenant_id, " AW_MICROS("update_time") ", body FROM incident.sla_policies "
    "WHERE tenant_id = ANY($1::text[]) ORDER BY tenant_id, update_time";

constexpr char kLockTenant[] = "SELECT pg_advisory_xact_lock($1::integer, hashtext($2))";

constexpr char kLatestVersion[] =
    "SELECT " AW_MICROS("max(update_time)") " FROM incident.sla_policies WHERE tenant_id = $1";

constexpr char kInsertVersion[] =
    "INSERT INTO incident.sla_policies (tenant_id, update_time, body) "
    "VALUES ($1, $2::timestamptz, $3)";

#define AW_SUBJECT_COLUMNS                                                               \
  "i.tenant_id, i.id, i.severity, i.status, " AW_MICROS("i.create_time") ", " AW_MICROS( \
      "i.acknowledge_time") ", " AW_MICROS("i.mitigate_time") ", " AW_MICROS("i.resolve_time")

// $1/$2 cursor (tenant, group_key), $3 true for the first page, $4 limit.
// The status filter matches the partial index incidents_open_group_idx.
constexpr char kListCandidates[] =
    "SELECT " AW_SUBJECT_COLUMNS
    ", i.group_key FROM incident.incidents i "
    "WHERE i.status IN (1, 2, 3) AND ($3 OR (i.tenant_id, i.group_key) > ($1, $2)) "
    "ORDER BY i.tenant_id, i.group_key LIMIT $4";

// $1 tenants, $2 incident ids (pairwise).
constexpr char kBreachesOf[] =
    "SELECT b.tenant_id, b.incident_id, b.kind, b.severity, " AW_MICROS("b.due_time") ", "
    AW_MICROS("b.detect_time") " FROM unnest($1::text[], $2::text[]) AS k(tenant_id, incident_id) "
    "JOIN incident.sla_breaches b ON b.tenant_id = k.tenant_id "
    "AND b.incident_id = k.incident_id COLLATE \"C\" ORDER BY b.tenant_id, b.incident_id, "
    "b.due_time, b.kind";

constexpr char kPoliciesOf[] =
    "SELECT e.tenant_id, e.incident_id, e.policy_id "
    "FROM unnest($1::text[], $2::text[]) AS k(tenant_id, incident_id) "
    "JOIN incident.escalations e ON e.tenant_id = k.tenant_id "
    "AND e.incident_id = k.incident_id COLLATE \"C\"";

constexpr char kLockSubject[] = "SELECT " AW_SUBJECT_COLUMNS
                                " FROM incident.incidents i WHERE i.tenant_id = $1 AND i.id = $2 "
                                "FOR NO KEY UPDATE SKIP LOCKED";

constexpr char kInsertBreach[] =
    "INSERT INTO incident.sla_breaches (tenant_id, incident_id, kind, severity, due_time, "
    "detect_time) VALUES ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz) "
    "ON CONFLICT DO NOTHING";

constexpr char kInsertEntry[] =
    "INSERT INTO incident.timeline (tenant_id, incident_id, entry_time, actor, kind, "
    "entry_text, details) VALUES ($1, $2, $3::timestamptz, $4, $5, $6, $7::jsonb)";

// $1 tenant or '', $2/$3 range, $4 service label: breached incidents per
// (severity, service).
constexpr char kCountBreaches[] =
    "SELECT i.severity, i.labels ->> $4::text, count(*) FROM incident.incidents i "
    "WHERE ($1 = '' OR i.tenant_id = $1) AND i.create_time >= $2::timestamptz "
    "AND i.create_time < $3::timestamptz AND EXISTS (SELECT 1 FROM incident.sla_breaches b "
    "WHERE b.tenant_id = i.tenant_id AND b.incident_id = i.id) GROUP BY 1, 2";

#undef AW_SUBJECT_COLUMNS
#undef AW_MICROS

std::optional<absl::Time> OptionalTime(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return absl::FromUnixMicros(field.as<int64_t>());
}

SlaSubject SubjectFromRow(const pqxx::row& row) {
  SlaSubject out;
  out.tenant = row[0].as<std::string>();
  out.id = row[1].as<std::string>();
  out.severity = static_cast<Severity>(row[2].as<int>());
  out.status = static_cast<IncidentStatus>(row[3].as<int>());
  out.create_time = absl::FromUnixMicros(row[4].as<int64_t>());
  out.acknowledge_time = OptionalTime(row[5]);
  out.mitigate_time = OptionalTime(row[6]);
  out.resolve_time = OptionalTime(row[7]);
  return out;
}

SlaBreach BreachFromRow(const pqxx::row& row) {
  SlaBreach out;
  out.tenant = row[0].as<std::string>();
  out.incident_id = row[1].as<std::string>();
  out.kind = static_cast<SlaTargetKind>(row[2].as<int>());
  out.severity = static_cast<Severity>(row[3].as<int>());
  out.due_time = absl::FromUnixMicros(row[4].as<int64_t>());
  out.detect_time = absl::FromUnixMicros(row[5].as<int64_t>());
  return out;
}

std::string Quoted(absl::string_view text) {
  return absl::StrCat("\"", common::JsonEscape(text), "\"");
}

std::string DetailsJson(const Labels& details) {
  std::vector<std::string> fields;
  for (const auto& [name, value] : details) {
    fields.push_back(absl::StrCat(Quoted(name), ":", Quoted(value)));
  }
  return absl::StrCat("{", absl::StrJoin(fields, ","), "}");
}

// The two parallel arrays of `keys` (tenants, ids).
std::pair<std::string, std::string> KeyArrays(const std::vector<IncidentKey>& keys) {
  std::vector<std::string> tenants;
  std::vector<std::string> ids;
  for (const auto& [tenant, id] : keys) {
    tenants.push_back(tenant);
    ids.push_back(id);
  }
  return {common::PgTextArray(tenants), common::PgTextArray(ids)};
}

}  // namespace

absl::StatusOr<std::vector<SlaPolicyRecord>> PgSlaStore::ListSlaPolicyVersions(
    const std::vector<std::string>& tenants) {
  const std::string array = common::PgTextArray(tenants);
  return pool_.Transact<std::vector<SlaPolicyRecord>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<SlaPolicyRecord>> {
        std::vector<SlaPolicyRecord> out;
        for (const pqxx::row& row : txn.exec_params(kListVersions, array)) {
          SlaPolicyRecord record;
          record.tenant = row[0].as<std::string>();
          record.update_time = absl::FromUnixMicros(row[1].as<int64_t>());
          const pqxx::binarystring body(row[2]);
          record.body = body.str();
          out.push_back(std::move(record));
        }
        return out;
      });
}

absl::StatusOr<SlaPolicyRecord> PgSlaStore::PutSlaPolicy(const SlaPolicyRecord& record) {
  return pool_.Transact<SlaPolicyRecord>([&](pqxx::work& txn) -> absl::StatusOr<SlaPolicyRecord> {
    txn.exec_params(kLockTenant, kPolicyLockSpace, record.tenant);
    SlaPolicyRecord stored = record;
    stored.update_time = TruncateToMicros(record.update_time);
    const pqxx::row latest = txn.exec_params1(kLatestVersion, record.tenant);
    if (!latest[0].is_null()) {
      const absl::Time last = absl::FromUnixMicros(latest[0].as<int64_t>());
      if (stored.update_time <= last) stored.update_time = last + absl::Microseconds(1);
    }
    const pqxx::binarystring body(stored.body.data(), stored.body.size());
    txn.exec_params(kInsertVersion, stored.tenant, common::PgTimestamp(stored.update_time), body);
    return stored;
  });
}

absl::StatusOr<std::vector<SlaCandidate>> PgSlaStore::ListSlaCandidates(
    const std::optional<SlaCandidateCursor>& after, int limit) {
  return pool_.Transact<std::vector<SlaCandidate>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<SlaCandidate>> {
        std::vector<SlaCandidate> out;
        const pqxx::result rows =
            txn.exec_params(kListCandidates, after ? after->tenant : std::string(),
                            after ? after->group_key : std::string(), !after.has_value(), limit);
        if (rows.empty()) return out;
        std::vector<IncidentKey> keys;
        std::map<IncidentKey, size_t> index;
        for (const pqxx::row& row : rows) {
          SlaCandidate candidate;
          candidate.subject = SubjectFromRow(row);
          candidate.group_key = row[8].as<std::string>();
          IncidentKey key{candidate.subject.tenant, candidate.subject.id};
          index[key] = out.size();
          keys.push_back(std::move(key));
          out.push_back(std::move(candidate));
        }
        const auto [tenants, ids] = KeyArrays(keys);
        for (const pqxx::row& row : txn.exec_params(kBreachesOf, tenants, ids)) {
          SlaBreach breach = BreachFromRow(row);
          const auto it = index.find(IncidentKey{breach.tenant, breach.incident_id});
          if (it != index.end()) out[it->second].breaches.push_back(std::move(breach));
        }
        return out;
      });
}

absl::StatusOr<int> PgSlaStore::RecordSlaBreaches(absl::string_view tenant, absl::string_view id,
                                                  const SlaBreachPlanner& plan) {
  const std::string tenant_s(tenant);
  const std::string id_s(id);
  return pool_.Transact<int>([&](pqxx::work& txn) -> absl::StatusOr<int> {
    const pqxx::result locked = txn.exec_params(kLockSubject, tenant_s, id_s);
    if (locked.empty()) return 0;
    const SlaSubject subject = SubjectFromRow(locked[0]);
    std::vector<SlaBreach> recorded;
    const auto [tenants, ids] = KeyArrays({IncidentKey{tenant_s, id_s}});
    for (const pqxx::row& row : txn.exec_params(kBreachesOf, tenants, ids)) {
      recorded.push_back(BreachFromRow(row));
    }
    int inserted = 0;
    for (const SlaBreach& breach : plan(subject, recorded)) {
      const pqxx::result result = txn.exec_params(
          kInsertBreach, breach.tenant, breach.incident_id, static_cast<int>(breach.kind),
          static_cast<int>(breach.severity), common::PgTimestamp(breach.due_time),
          common::PgTimestamp(breach.detect_time));
      if (result.affected_rows() == 0) continue;
      const TimelineEntry entry = BreachEntry(breach);
      txn.exec_params(kInsertEntry, entry.tenant, entry.incident_id,
                      common::PgTimestamp(entry.time), entry.actor, entry.kind, entry.text,
                      DetailsJson(entry.details));
      ++inserted;
    }
    return inserted;
  });
}

absl::StatusOr<std::map<IncidentKey, IncidentSlaInfo>> PgSlaStore::GetIncidentSlaInfo(
    const std::vector<IncidentKey>& keys) {
  std::map<IncidentKey, IncidentSlaInfo> out;
  if (keys.empty()) return out;
  const std::pair<std::string, std::string> arrays = KeyArrays(keys);
  const std::string& tenants = arrays.first;
  const std::string& ids = arrays.second;
  RETURN_IF_ERROR(pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    for (const pqxx::row& row : txn.exec_params(kBreachesOf, tenants, ids)) {
      SlaBreach breach = BreachFromRow(row);
      out[IncidentKey{breach.tenant, breach.incident_id}].breaches.push_back(std::move(breach));
    }
    for (const pqxx::row& row : txn.exec_params(kPoliciesOf, tenants, ids)) {
      out[IncidentKey{row[0].as<std::string>(), row[1].as<std::string>()}].escalation_policy_id =
          row[2].as<std::string>();
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<SlaBreachCounts> PgSlaStore::CountSlaBreaches(const StatsQuery& query) {
  return pool_.Transact<SlaBreachCounts>([&](pqxx::work& txn) -> absl::StatusOr<SlaBreachCounts> {
    SlaBreachCounts out;
    for (const pqxx::row& row :
         txn.exec_params(kCountBreaches, query.tenant, common::PgTimestamp(query.start),
                         common::PgTimestamp(query.end), query.service_label)) {
      const int64_t count = row[2].as<int64_t>();
      out.overall += count;
      out.by_severity[static_cast<Severity>(row[0].as<int>())] += count;
      if (!row[1].is_null()) out.by_service[row[1].as<std::string>()] += count;
    }
    return out;
  });
}

}  // namespace agentwatch::incident
