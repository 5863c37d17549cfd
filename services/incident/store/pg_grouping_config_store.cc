#include "incident/store/pg_grouping_config_store.h"

#include <pqxx/pqxx>

#include "absl/strings/str_split.h"

namespace agentwatch::incident {
namespace {

// Label names and "..." never hold a comma, so the array reads back as one
// comma-joined string.
#define AW_RECORD_COLUMNS                                         \
  "tenant_id, group_by IS NULL, array_to_string(group_by, ','), " \
  "group_wait_us, (extract(epoch from update_time) * 1000000)::bigint"

constexpr char kGet[] =
    "SELECT " AW_RECORD_COLUMNS " FROM incident.grouping_configs WHERE tenant_id = ANY($1::text[])";

// $1 tenant; $2 write group_by, $3 it is present, $4 its value; $5 write
// group_wait_us, $6 its value or -1 (absent: NULL inherits); $7 update_time.
// A new row's unwritten fields are NULL.
constexpr char kPut[] =
    "INSERT INTO incident.grouping_configs AS g (tenant_id, group_by, group_wait_us, "
    "update_time) VALUES ($1, CASE WHEN $2::boolean AND $3::boolean THEN $4::text[] END, "
    "CASE WHEN $5::boolean THEN NULLIF($6::bigint, -1) END, $7::timestamptz) "
    "ON CONFLICT (tenant_id) DO UPDATE SET "
    "group_by = CASE WHEN $2::boolean THEN EXCLUDED.group_by ELSE g.group_by END, "
    "group_wait_us = CASE WHEN $5::boolean THEN EXCLUDED.group_wait_us ELSE g.group_wait_us END, "
    "update_time = EXCLUDED.update_time RETURNING " AW_RECORD_COLUMNS;

#undef AW_RECORD_COLUMNS

GroupingConfigRecord FromRow(const pqxx::row& row) {
  GroupingConfigRecord record;
  record.tenant = row[0].as<std::string>();
  if (!row[1].as<bool>()) {
    record.group_by = absl::StrSplit(row[2].as<std::string>(), ',', absl::SkipEmpty());
  }
  if (!row[3].is_null()) record.group_wait = absl::Microseconds(row[3].as<int64_t>());
  record.update_time = absl::FromUnixMicros(row[4].as<int64_t>());
  return record;
}

}  // namespace

absl::StatusOr<std::vector<GroupingConfigRecord>> PgGroupingConfigStore::GetGroupingConfigs(
    const std::vector<std::string>& tenants) {
  return pool_.Transact<std::vector<GroupingConfigRecord>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<GroupingConfigRecord>> {
        std::vector<GroupingConfigRecord> out;
        for (const pqxx::row& row : txn.exec_params(kGet, common::PgTextArray(tenants))) {
          out.push_back(FromRow(row));
        }
        return out;
      });
}

absl::StatusOr<GroupingConfigRecord> PgGroupingConfigStore::PutGroupingConfig(
    const GroupingConfigRecord& record, GroupingConfigFields fields) {
  const bool has_group_by = record.group_by.has_value();
  const std::string labels =
      common::PgTextArray(has_group_by ? *record.group_by : std::vector<std::string>{});
  const int64_t wait_us =
      record.group_wait.has_value() ? absl::ToInt64Microseconds(*record.group_wait) : -1;
  return pool_.Transact<GroupingConfigRecord>(
      [&](pqxx::work& txn) -> absl::StatusOr<GroupingConfigRecord> {
        const pqxx::result result =
            txn.exec_params(kPut, record.tenant, fields.group_by, has_group_by, labels,
                            fields.group_wait, wait_us, common::PgTimestamp(record.update_time));
        return FromRow(result[0]);
      });
}

}  // namespace agentwatch::incident
