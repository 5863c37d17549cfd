#include "capacity/store/pg_resource_store.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capacity/store/pg_forecast_run_store.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

#define AW_RESOURCE_COLUMNS                                                                  \
  "tenant_id, id::text, name, kind, metric, matcher_names, matcher_ops, matcher_values, "    \
  "per_unit_capacity, target_utilization, current_units, min_units, max_units, label_keys, " \
  "label_values, alert_horizon_us, alert_severity, stateful, request_unit, headroom, "       \
  "(extract(epoch FROM create_time) * 1000000)::bigint, "                                    \
  "(extract(epoch FROM update_time) * 1000000)::bigint"

constexpr common::PgStatement kLockTenant{"capacity_resources_lock_tenant", R"sql(
SELECT pg_advisory_xact_lock(hashtextextended('capacity.resources/' || $1, 0))
)sql"};

constexpr common::PgStatement kByRequest{"capacity_resource_by_request",
                                         "SELECT " AW_RESOURCE_COLUMNS
                                         " FROM capacity.resources"
                                         " WHERE tenant_id = $1 AND request_id = $2"};

constexpr common::PgStatement kNameTaken{"capacity_resource_name_taken", R"sql(
SELECT 1 FROM capacity.resources WHERE tenant_id = $1 AND name = $2 AND id::text <> $3
)sql"};

constexpr common::PgStatement kCountTenant{"capacity_resource_count", R"sql(
SELECT count(*) FROM capacity.resources WHERE tenant_id = $1
)sql"};

constexpr common::PgStatement kInsert{"capacity_resource_insert",
                                      "INSERT INTO capacity.resources"
                                      " (tenant_id, name, kind, metric, matcher_names,"
                                      " matcher_ops, matcher_values, per_unit_capacity,"
                                      " target_utilization, current_units, min_units,"
                                      " max_units, label_keys, label_values, alert_horizon_us,"
                                      " alert_severity, stateful, request_unit, headroom,"
                                      " request_id, create_time, update_time)"
                                      " VALUES ($1, $2, $3::smallint, $4, $5::text[],"
                                      " $6::text[], $7::text[], $8::float8, $9::float8,"
                                      " $10::float8, $11::float8, $12::float8, $13::text[],"
                                      " $14::text[], $15::bigint, $16::smallint, $17::boolean,"
                                      " $18, $19::float8, NULLIF($20, ''), $21::timestamptz,"
                                      " $21::timestamptz)"
                                      " RETURNING " AW_RESOURCE_COLUMNS};

constexpr common::PgStatement kGet{"capacity_resource_get", "SELECT " AW_RESOURCE_COLUMNS
                                                            " FROM capacity.resources"
                                                            " WHERE id = $1::uuid"};

constexpr common::PgStatement kGetForUpdate{"capacity_resource_get_for_update",
                                            "SELECT " AW_RESOURCE_COLUMNS
                                            " FROM capacity.resources"
                                            " WHERE id = $1::uuid FOR UPDATE"};

constexpr common::PgStatement kUpdate{"capacity_resource_update",
                                      "UPDATE capacity.resources SET"
                                      " name = $3, kind = $4::smallint, metric = $5,"
                                      " matcher_names = $6::text[], matcher_ops = $7::text[],"
                                      " matcher_values = $8::text[],"
                                      " per_unit_capacity = $9::float8,"
                                      " target_utilization = $10::float8,"
                                      " current_units = $11::float8, min_units = $12::float8,"
                                      " max_units = $13::float8, label_keys = $14::text[],"
                                      " label_values = $15::text[],"
                                      " alert_horizon_us = $16::bigint,"
                                      " alert_severity = $17::smallint, stateful = $18::boolean,"
                                      " request_unit = $19, headroom = $20::float8,"
                                      " update_time = $21::timestamptz"
                                      " WHERE tenant_id = $1 AND id = $2::uuid"
                                      " RETURNING " AW_RESOURCE_COLUMNS};

constexpr common::PgStatement kDelete{"capacity_resource_delete", R"sql(
DELETE FROM capacity.resources WHERE id = $1::uuid RETURNING tenant_id
)sql"};

constexpr common::PgStatement kDeleteResults{"capacity_resource_delete_results", R"sql(
DELETE FROM capacity.resource_results WHERE tenant_id = $1 AND resource_id = $2::uuid
)sql"};

// A new resource is due for its first recompute at once.
constexpr common::PgStatement kScheduleNew{"capacity_resource_schedule_new", R"sql(
INSERT INTO capacity.resource_results (tenant_id, resource_id, next_run_at)
VALUES ($1, $2::uuid, $3::timestamptz)
ON CONFLICT DO NOTHING
)sql"};

constexpr common::PgStatement kList{"capacity_resource_list",
                                    "SELECT " AW_RESOURCE_COLUMNS
                                    " FROM capacity.resources"
                                    " WHERE ($1 = '' OR tenant_id = $1)"
                                    " AND ($2::smallint = 0 OR kind = $2::smallint)"
                                    " AND (tenant_id, name) > ($3, $4)"
                                    " ORDER BY tenant_id, name LIMIT $5::bigint"};

#undef AW_RESOURCE_COLUMNS


std::vector<std::string> ParseTextArray(const pqxx::field& field) {
  std::vector<std::string> out;
  pqxx::array_parser parser = field.as_array();
  for (auto next = parser.get_next(); next.first != pqxx::array_parser::done;
       next = parser.get_next()) {
    if (next.first == pqxx::array_parser::string_value) out.push_back(next.second);
  }
  return out;
}

// The array columns of a resource, element-wise.
struct ResourceArrays {
  std::string matcher_names;
  std::string matcher_ops;
  std::string matcher_values;
  std::string label_keys;
  std::string label_values;
};

ResourceArrays ToArrays(const Resource& r) {
  std::vector<std::string> names, ops, values, keys, label_values;
  for (const LabelMatcher& m : r.matchers) {
    names.push_back(m.name);
    ops.push_back(MatchOpSymbol(m.op));
    values.push_back(m.value);
  }
  for (const auto& [key, value] : r.labels) {
    keys.push_back(key);
    label_values.push_back(value);
  }
  return {common::PgTextArray(names), common::PgTextArray(ops), common::PgTextArray(values),
          common::PgTextArray(keys), common::PgTextArray(label_values)};
}

absl::StatusOr<MatchOp> ParseMatchOp(const std::string& symbol) {
  for (MatchOp op : {MatchOp::kEqual, MatchOp::kNotEqual, MatchOp::kRegex, MatchOp::kNotRegex}) {
    if (symbol == MatchOpSymbol(op)) return op;
  }
  return absl::InternalError(absl::StrCat("resources.matcher_ops holds unknown op '", symbol, "'"));
}

absl::StatusOr<Resource> FromRow(const pqxx::row& row) {
  Resource r;
  r.tenant = row[0].as<std::string>();
  r.id = row[1].as<std::string>();
  r.name = row[2].as<std::string>();
  r.kind = static_cast<ResourceKind>(row[3].as<int>());
  r.metric = row[4].as<std::string>();
  const std::vector<std::string> names = ParseTextArray(row[5]);
  const std::vector<std::string> ops = ParseTextArray(row[6]);
  const std::vector<std::string> values = ParseTextArray(row[7]);
  if (names.size() != ops.size() || names.size() != values.size()) {
    return absl::InternalError(absl::StrCat("resource ", r.id, " has ragged matcher arrays"));
  }
  for (size_t i = 0; i < names.size(); ++i) {
    ASSIGN_OR_RETURN(const MatchOp op, ParseMatchOp(ops[i]));
    r.matchers.push_back({names[i], op, values[i]});
  }
  r.per_unit_capacity = row[8].as<double>();
  r.target_utilization = row[9].as<double>();
  r.current = row[10].as<double>();
  r.min = row[11].as<double>();
  r.max = row[12].as<double>();
  const std::vector<std::string> keys = ParseTextArray(row[13]);
  const std::vector<std::string> label_values = ParseTextArray(row[14]);
  if (keys.size() != label_values.size()) {
    return absl::InternalError(absl::StrCat("resource ", r.id, " has ragged label arrays"));
  }
  for (size_t i = 0; i < keys.size(); ++i) r.labels[keys[i]] = label_values[i];
  r.alert_horizon = absl::Microseconds(row[15].as<int64_t>());
  r.alert_severity = static_cast<Severity>(row[16].as<int>());
  r.stateful = row[17].as<bool>();
  r.request_unit = row[18].as<std::string>();
  r.headroom = row[19].as<double>();
  r.create_time = common::FromUnixMicros(row[20].as<int64_t>());
  r.update_time = common::FromUnixMicros(row[21].as<int64_t>());
  return r;
}

absl::Status NameExists(const Resource& r) {
  return absl::AlreadyExistsError(
      absl::StrCat("resource name \"", r.name, "\" exists in tenant ", r.tenant));
}

absl::Status NotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("resource ", id, " not found"));
}

}  // namespace

PgResourceStore::PgResourceStore(common::PgPool& pool) : pool_(pool) {
  pool_.AddStatements({kLockTenant, kByRequest, kNameTaken, kCountTenant, kInsert, kGet,
                       kGetForUpdate, kUpdate, kDelete, kDeleteResults, kScheduleNew, kList});
}

absl::StatusOr<Resource> PgResourceStore::CreateResource(const Resource& resource,
                                                         absl::string_view request_id,
                                                         absl::Time now) {
  const std::string request(request_id);
  return pool_.Transact<Resource>([&](pqxx::work& txn) -> absl::StatusOr<Resource> {
    txn.exec_prepared(kLockTenant.name, resource.tenant);
    if (!request.empty()) {
      const pqxx::result existing = txn.exec_prepared(kByRequest.name, resource.tenant, request);
      if (!existing.empty()) return FromRow(existing[0]);
    }
    if (!txn.exec_prepared(kNameTaken.name, resource.tenant, resource.name, "").empty()) {
      return NameExists(resource);
    }
    const int64_t count = txn.exec_prepared(kCountTenant.name, resource.tenant)[0][0].as<int64_t>();
    if (count >= kMaxResourcesPerTenant) {
      return absl::ResourceExhaustedError(
          absl::StrCat("tenant ", resource.tenant, " has ", count, " resources, the most allowed"));
    }
    const ResourceArrays arrays = ToArrays(resource);
    const pqxx::result rows = txn.exec_prepared(
        kInsert.name, resource.tenant, resource.name, static_cast<int>(resource.kind),
        resource.metric, arrays.matcher_names, arrays.matcher_ops, arrays.matcher_values,
        resource.per_unit_capacity, resource.target_utilization, resource.current, resource.min,
        resource.max, arrays.label_keys, arrays.label_values,
        absl::ToInt64Microseconds(resource.alert_horizon),
        static_cast<int>(resource.alert_severity), resource.stateful, resource.request_unit,
        resource.headroom, request, common::PgTimestamp(now));
    ASSIGN_OR_RETURN(Resource created, FromRow(rows[0]));
    txn.exec_prepared(kScheduleNew.name, created.tenant, created.id, common::PgTimestamp(now));
    return created;
  });
}

absl::StatusOr<Resource> PgResourceStore::GetResource(absl::string_view id) {
  if (!IsUuid(id)) return NotFound(id);
  const std::string id_text(id);
  return pool_.Transact<Resource>([&](pqxx::work& txn) -> absl::StatusOr<Resource> {
    const pqxx::result rows = txn.exec_prepared(kGet.name, id_text);
    if (rows.empty()) return NotFound(id_text);
    return FromRow(rows[0]);
  });
}

absl::StatusOr<Resource> PgResourceStore::UpdateResource(
    absl::string_view id, const std::function<absl::Status(Resource*)>& mutate, absl::Time now) {
  if (!IsUuid(id)) return NotFound(id);
  const std::string id_text(id);
  return pool_.Transact<Resource>([&](pqxx::work& txn) -> absl::StatusOr<Resource> {
    const pqxx::result rows = txn.exec_prepared(kGetForUpdate.name, id_text);
    if (rows.empty()) return NotFound(id_text);
    ASSIGN_OR_RETURN(const Resource before, FromRow(rows[0]));
    Resource after = before;
    RETURN_IF_ERROR(mutate(&after));
    after.id = before.id;
    after.tenant = before.tenant;
    if (after.name != before.name &&
        !txn.exec_prepared(kNameTaken.name, after.tenant, after.name, after.id).empty()) {
      return NameExists(after);
    }
    const ResourceArrays arrays = ToArrays(after);
    const pqxx::result updated = txn.exec_prepared(
        kUpdate.name, after.tenant, after.id, after.name, static_cast<int>(after.kind),
        after.metric, arrays.matcher_names, arrays.matcher_ops, arrays.matcher_values,
        after.per_unit_capacity, after.target_utilization, after.current, after.min, after.max,
        arrays.label_keys, arrays.label_values, absl::ToInt64Microseconds(after.alert_horizon),
        static_cast<int>(after.alert_severity), after.stateful, after.request_unit, after.headroom,
        common::PgTimestamp(now));
    return FromRow(updated[0]);
  });
}

absl::Status PgResourceStore::DeleteResource(absl::string_view id) {
  if (!IsUuid(id)) return NotFound(id);
  const std::string id_text(id);
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    const pqxx::result deleted = txn.exec_prepared(kDelete.name, id_text);
    if (deleted.empty()) return NotFound(id_text);
    txn.exec_prepared(kDeleteResults.name, deleted[0][0].as<std::string>(), id_text);
    return absl::OkStatus();
  });
}

absl::StatusOr<ResourcePage> PgResourceStore::ListResources(const ResourceListQuery& query) {
  return pool_.Transact<ResourcePage>([&](pqxx::work& txn) -> absl::StatusOr<ResourcePage> {
    const pqxx::result rows = txn.exec_prepared(
        kList.name, query.tenant, static_cast<int>(query.kind), query.after_tenant,
        query.after_name, static_cast<int64_t>(query.page_size) + 1);
    ResourcePage page;
    for (const pqxx::row& row : rows) {
      if (static_cast<int>(page.resources.size()) == query.page_size) {
        page.more = true;
        break;
      }
      ASSIGN_OR_RETURN(Resource r, FromRow(row));
      page.resources.push_back(std::move(r));
    }
    return page;
  });
}

}  // namespace agentwatch::capacity
