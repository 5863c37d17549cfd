// PgIncidentStore: the PostmortemStore half (table incident.postmortems,
// migrations/005_postmortems.sql). Writes take the incident's group lock and
// then its row lock, the order intake and the lifecycle calls take them in,
// so a postmortem's status and CloseIncident's check never interleave.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "incident/store/pg_incident_store.h"

namespace agentwatch::incident {
namespace {

// clang-format off
#define AW_MICROS(col) "(extract(epoch from " col ") * 1000000)::bigint"

#define AW_POSTMORTEM_COLUMNS                                                             \
  "p.tenant_id, p.id, p.incident_id, p.title, p.status, p.summary, p.impact, "            \
  "p.root_cause, p.resolution, p.lessons, jsonb_build_object('items', p.action_items)::text, " \
  "p.author, " AW_MICROS("p.create_time") ", " AW_MICROS("p.update_time")
// clang-format on

// $1 incident id.
constexpr char kSelectIncidentKey[] =
    "SELECT tenant_id, group_key FROM incident.incidents WHERE id = $1 ORDER BY tenant_id "
    "LIMIT 1";

// $1 lock space, $2 the group key: the lock intake and lifecycle calls take.
constexpr char kLockGroup[] = "SELECT pg_advisory_xact_lock($1::integer, hashtext($2))";

// $1 tenant, $2 incident id.
constexpr char kLockIncidentRow[] =
    "SELECT id, title, status, severity, postmortem_id FROM incident.incidents "
    "WHERE tenant_id = $1 AND id = $2 FOR UPDATE";

constexpr char kSelectPostmortemById[] = "SELECT " AW_POSTMORTEM_COLUMNS
                                         " FROM incident.postmortems p WHERE p.id = $1 "
                                         "ORDER BY p.tenant_id LIMIT 1";

constexpr char kSelectPostmortemOf[] =
    "SELECT " AW_POSTMORTEM_COLUMNS
    " FROM incident.postmortems p WHERE p.tenant_id = $1 AND p.incident_id = $2";

constexpr char kInsertPostmortem[] =
    "INSERT INTO incident.postmortems (tenant_id, id, incident_id, title, status, summary, "
    "impact, root_cause, resolution, lessons, action_items, author, create_time, update_time) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13::timestamptz, "
    "$14::timestamptz)";

constexpr char kUpdatePostmortem[] =
    "UPDATE incident.postmortems SET title = $3, status = $4, summary = $5, impact = $6, "
    "root_cause = $7, resolution = $8, lessons = $9, action_items = $10::jsonb, author = $11, "
    "update_time = $12::timestamptz WHERE tenant_id = $1 AND id = $2";

constexpr char kSetIncidentPostmortem[] =
    "UPDATE incident.incidents SET postmortem_id = $3 WHERE tenant_id = $1 AND id = $2";

constexpr char kInsertEntry[] =
    "INSERT INTO incident.timeline (tenant_id, incident_id, entry_time, actor, kind, "
    "entry_text, details) VALUES ($1, $2, $3::timestamptz, $4, $5, $6, $7::jsonb)";

// $1 tenant or '', $2 statuses ('{}' for any), $3/$4 cursor, $5 limit.
constexpr char kListPostmortems[] =
    "SELECT " AW_POSTMORTEM_COLUMNS
    " FROM incident.postmortems p WHERE ($1 = '' OR p.tenant_id = $1) "
    "AND (cardinality($2::smallint[]) = 0 OR p.status = ANY($2::smallint[])) "
    "AND (p.create_time, p.id) < ($3::timestamptz, $4) "
    "ORDER BY p.create_time DESC, p.id DESC LIMIT $5";

constexpr char kPostmortemPublished[] =
    "SELECT 1 FROM incident.postmortems WHERE tenant_id = $1 AND incident_id = $2 AND status = 3";

#undef AW_POSTMORTEM_COLUMNS
#undef AW_MICROS

std::string Quoted(absl::string_view text) {
  return absl::StrCat("\"", common::JsonEscape(text), "\"");
}

std::string LabelsJson(const Labels& labels) {
  std::vector<std::string> fields;
  for (const auto& [name, value] : labels)
    fields.push_back(absl::StrCat(Quoted(name), ":", Quoted(value)));
  return absl::StrCat("{", absl::StrJoin(fields, ","), "}");
}

std::string ActionItemsJson(const std::vector<ActionItem>& items) {
  std::vector<std::string> objects;
  for (const ActionItem& item : items) {
    objects.push_back(absl::StrCat(
        "{\"id\":", Quoted(item.id), ",\"description\":", Quoted(item.description),
        ",\"owner\":", Quoted(item.owner), ",\"status\":", static_cast<int>(item.status),
        ",\"due_time\":", item.due_time ? absl::StrCat(absl::ToUnixMicros(*item.due_time)) : "null",
        ",\"url\":", Quoted(item.url), "}"));
  }
  return absl::StrCat("[", absl::StrJoin(objects, ","), "]");
}

absl::StatusOr<std::vector<ActionItem>> ParseActionItems(const pqxx::field& field) {
  google::protobuf::Struct object;
  if (!google::protobuf::util::JsonStringToMessage(field.c_str(), &object).ok()) {
    return absl::InternalError("column action_items holds bad JSON");
  }
  std::vector<ActionItem> items;
  for (const google::protobuf::Value& v : object.fields().at("items").list_value().values()) {
    const auto& f = v.struct_value().fields();
    const auto text = [&](const char* name) {
      auto it = f.find(name);
      return it == f.end() ? std::string() : it->second.string_value();
    };
    ActionItem item;
    item.id = text("id");
    item.description = text("description");
    item.owner = text("owner");
    item.url = text("url");
    if (auto it = f.find("status"); it != f.end()) {
      item.status = static_cast<ActionItemStatus>(static_cast<int>(it->second.number_value()));
    }
    if (auto it = f.find("due_time");
        it != f.end() && it->second.kind_case() == google::protobuf::Value::kNumberValue) {
      item.due_time = absl::FromUnixMicros(static_cast<int64_t>(it->second.number_value()));
    }
    items.push_back(std::move(item));
  }
  return items;
}

absl::StatusOr<Postmortem> ParsePostmortem(const pqxx::row& row) {
  Postmortem p;
  p.tenant = row[0].as<std::string>();
  p.id = row[1].as<std::string>();
  p.incident_id = row[2].as<std::string>();
  p.title = row[3].as<std::string>();
  p.status = static_cast<PostmortemStatus>(row[4].as<int>());
  p.summary = row[5].as<std::string>();
  p.impact = row[6].as<std::string>();
  p.root_cause = row[7].as<std::string>();
  p.resolution = row[8].as<std::string>();
  p.lessons = row[9].as<std::string>();
  ASSIGN_OR_RETURN(p.action_items, ParseActionItems(row[10]));
  p.author = row[11].as<std::string>();
  p.create_time = absl::FromUnixMicros(row[12].as<int64_t>());
  p.update_time = absl::FromUnixMicros(row[13].as<int64_t>());
  return p;
}

void InsertEntry(pqxx::work& txn, const TimelineEntry& e) {
  txn.exec_params(kInsertEntry, e.tenant, e.incident_id, common::PgTimestamp(e.time), e.actor,
                  e.kind, e.text, LabelsJson(e.details));
}

// Locks incident `incident_id` (group lock, then row lock) and returns its
// identity, title, status, severity and postmortem id. NOT_FOUND.
absl::StatusOr<Incident> LockIncident(pqxx::work& txn, const std::string& incident_id) {
  const pqxx::result key = txn.exec_params(kSelectIncidentKey, incident_id);
  if (key.empty()) return IncidentNotFound(incident_id);
  Incident incident;
  incident.tenant = key[0][0].as<std::string>();
  incident.group_key = key[0][1].as<std::string>();
  txn.exec_params(kLockGroup, PgIncidentStore::kGroupLockSpace, incident.group_key);
  const pqxx::result row = txn.exec_params(kLockIncidentRow, incident.tenant, incident_id);
  if (row.empty()) return IncidentNotFound(incident_id);
  incident.id = row[0][0].as<std::string>();
  incident.title = row[0][1].as<std::string>();
  incident.status = static_cast<IncidentStatus>(row[0][2].as<int>());
  incident.severity = static_cast<Severity>(row[0][3].as<int>());
  incident.postmortem_id = row[0][4].as<std::string>();
  return incident;
}

}  // namespace

bool PgPostmortemPublished(pqxx::work& txn, absl::string_view tenant,
                           absl::string_view incident_id) {
  return !txn.exec_params(kPostmortemPublished, std::string(tenant), std::string(incident_id))
              .empty();
}

absl::StatusOr<Postmortem> PgIncidentStore::CreatePostmortem(const Postmortem& postmortem) {
  return pool_.Transact<Postmortem>([&](pqxx::work& txn) -> absl::StatusOr<Postmortem> {
    ASSIGN_OR_RETURN(Incident incident, LockIncident(txn, postmortem.incident_id));
    const pqxx::result existing =
        txn.exec_params(kSelectPostmortemOf, incident.tenant, incident.id);
    if (!existing.empty()) {
      ASSIGN_OR_RETURN(Postmortem found, ParsePostmortem(existing[0]));
      if (found.id == postmortem.id) return found;
      return PostmortemExists(incident.id, found.id);
    }
    Postmortem stored = postmortem;
    stored.tenant = incident.tenant;
    if (stored.title.empty()) stored.title = incident.title;
    txn.exec_params(
        kInsertPostmortem, stored.tenant, stored.id, stored.incident_id, stored.title,
        static_cast<int>(stored.status), stored.summary, stored.impact, stored.root_cause,
        stored.resolution, stored.lessons, ActionItemsJson(stored.action_items), stored.author,
        common::PgTimestamp(stored.create_time), common::PgTimestamp(stored.update_time));
    txn.exec_params(kSetIncidentPostmortem, stored.tenant, stored.incident_id, stored.id);
    InsertEntry(txn, PostmortemCreatedEntry(stored));
    return stored;
  });
}

absl::StatusOr<Postmortem> PgIncidentStore::GetPostmortem(absl::string_view id) {
  const std::string postmortem_id(id);
  return pool_.Transact<Postmortem>([&](pqxx::work& txn) -> absl::StatusOr<Postmortem> {
    const pqxx::result rows = txn.exec_params(kSelectPostmortemById, postmortem_id);
    if (rows.empty()) return PostmortemNotFound(postmortem_id);
    return ParsePostmortem(rows[0]);
  });
}

absl::StatusOr<Postmortem> PgIncidentStore::GetPostmortemOfIncident(absl::string_view incident_id) {
  const std::string id(incident_id);
  return pool_.Transact<Postmortem>([&](pqxx::work& txn) -> absl::StatusOr<Postmortem> {
    const pqxx::result key = txn.exec_params(kSelectIncidentKey, id);
    if (key.empty()) return IncidentNotFound(id);
    const pqxx::result rows = txn.exec_params(kSelectPostmortemOf, key[0][0].as<std::string>(), id);
    if (rows.empty()) return IncidentHasNoPostmortem(id);
    return ParsePostmortem(rows[0]);
  });
}

absl::StatusOr<Postmortem> PgIncidentStore::UpdatePostmortem(absl::string_view id,
                                                             const PostmortemMutator& mutate) {
  const std::string postmortem_id(id);
  return pool_.Transact<Postmortem>([&](pqxx::work& txn) -> absl::StatusOr<Postmortem> {
    const pqxx::result found = txn.exec_params(kSelectPostmortemById, postmortem_id);
    if (found.empty()) return PostmortemNotFound(postmortem_id);
    const std::string incident_id = found[0][2].as<std::string>();
    ASSIGN_OR_RETURN(const Incident incident, LockIncident(txn, incident_id));
    // Re-read under the incident lock: every writer of the postmortem holds it.
    const pqxx::result locked = txn.exec_params(kSelectPostmortemOf, incident.tenant, incident_id);
    if (locked.empty()) return PostmortemNotFound(postmortem_id);
    ASSIGN_OR_RETURN(const Postmortem current, ParsePostmortem(locked[0]));
    ASSIGN_OR_RETURN(Postmortem next, mutate(current, incident));
    RETURN_IF_ERROR(CheckPostmortemStatusChange(incident, current.status, next.status));
    next.id = current.id;
    next.incident_id = current.incident_id;
    next.tenant = current.tenant;
    next.create_time = current.create_time;
    txn.exec_params(kUpdatePostmortem, next.tenant, next.id, next.title,
                    static_cast<int>(next.status), next.summary, next.impact, next.root_cause,
                    next.resolution, next.lessons, ActionItemsJson(next.action_items), next.author,
                    common::PgTimestamp(next.update_time));
    if (next.status != current.status)
      InsertEntry(txn, PostmortemStatusEntry(next, current.status));
    return next;
  });
}

absl::StatusOr<PostmortemPage> PgIncidentStore::ListPostmortems(const PostmortemQuery& query) {
  std::vector<int> statuses;
  for (PostmortemStatus s : query.statuses) statuses.push_back(static_cast<int>(s));
  const std::string status_array = absl::StrCat("{", absl::StrJoin(statuses, ","), "}");
  const std::string after_time =
      query.after ? common::PgTimestamp(query.after->create_time) : "infinity";
  const std::string after_id = query.after ? query.after->id : "";
  const int limit = query.page_size + 1;
  return pool_.Transact<PostmortemPage>([&](pqxx::work& txn) -> absl::StatusOr<PostmortemPage> {
    const pqxx::result rows =
        txn.exec_params(kListPostmortems, query.tenant, status_array, after_time, after_id, limit);
    PostmortemPage page;
    for (const pqxx::row& row : rows) {
      if (static_cast<int>(page.postmortems.size()) == query.page_size) {
        page.next = PageCursor{page.postmortems.back().create_time, page.postmortems.back().id};
        break;
      }
      ASSIGN_OR_RETURN(Postmortem p, ParsePostmortem(row));
      page.postmortems.push_back(std::move(p));
    }
    return page;
  });
}

}  // namespace agentwatch::incident
