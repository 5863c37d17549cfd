#include "incident/store/pg_watch_source.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "incident/store/pg_incident_rows.h"

namespace agentwatch::incident {
namespace {

// clang-format off
#define AW_WATCH_ENTRY_COLUMNS                                                      \
  "t.entry_id, t.tenant_id, t.incident_id, " AW_INCIDENT_PG_MICROS("t.entry_time")  \
  ", t.actor, t.kind, t.entry_text, t.details::text"
// clang-format on

// The sequence's last value: ids handed out, committed or not (NULL before
// the first nextval).
constexpr char kLastEntryId[] =
    "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('incident.timeline', "
    "'entry_id')::regclass), 0)";

// Entries are read from incident.timeline_entries (intake's packed rows
// expanded, migration 015). A row holds at most kMaxPackedEntries entries on
// consecutive ids from its row_entry_id: the bounds on row_entry_id let the
// BRIN index read only the block ranges around the wanted ids, and the one on
// row_last_entry_id skips rows wholly below them before they are expanded.
using pg_rows::kMaxPackedEntries;

// $1 after, $2 limit, $3 upto, $4 after - kMaxPackedEntries.
constexpr char kEntriesAfter[] =
    "SELECT " AW_WATCH_ENTRY_COLUMNS
    " FROM incident.timeline_entries t WHERE t.row_entry_id > $4 AND t.row_entry_id <= $3 AND "
    "t.row_last_entry_id > $1 AND t.entry_id > $1 AND t.entry_id <= $3 "
    "ORDER BY t.entry_id LIMIT $2";

// $1 firsts, $2 lasts (bigint[]), $3/$4 the span of all ranges, $5 $3 -
// kMaxPackedEntries.
constexpr char kEntriesIn[] =
    "SELECT " AW_WATCH_ENTRY_COLUMNS
    " FROM incident.timeline_entries t WHERE t.row_entry_id > $5 AND t.row_entry_id <= $4 AND "
    "t.row_last_entry_id >= $3 AND t.entry_id BETWEEN $3 AND $4 AND EXISTS (SELECT 1 FROM "
    "unnest($1::bigint[], $2::bigint[]) AS r(first_id, last_id) WHERE t.entry_id BETWEEN "
    "r.first_id AND r.last_id) ORDER BY t.entry_id";

// $1 tenants, $2 ids (text[]).
constexpr char kIncidents[] =
    "SELECT " AW_INCIDENT_COLUMNS
    " FROM incident.incidents i JOIN unnest($1::text[], $2::text[]) AS k(tenant_id, id) "
    "ON i.tenant_id = k.tenant_id AND i.id = k.id COLLATE \"C\"";

using pg_rows::ParseIncident;
using pg_rows::ParseJsonMap;
using pg_rows::TimeOf;

absl::StatusOr<std::vector<WatchEntry>> ParseEntries(const pqxx::result& rows) {
  std::vector<WatchEntry> out;
  out.reserve(rows.size());
  for (const pqxx::row& row : rows) {
    WatchEntry e;
    e.entry_id = row[0].as<int64_t>();
    e.entry.tenant = row[1].as<std::string>();
    e.entry.incident_id = row[2].as<std::string>();
    e.entry.time = TimeOf(row[3]);
    e.entry.actor = row[4].as<std::string>();
    e.entry.kind = row[5].as<std::string>();
    e.entry.text = row[6].as<std::string>();
    ASSIGN_OR_RETURN(e.entry.details, ParseJsonMap(row[7]));
    out.push_back(std::move(e));
  }
  return out;
}

std::string BigintArray(const std::vector<int64_t>& values) {
  return absl::StrCat("{", absl::StrJoin(values, ","), "}");
}

}  // namespace

absl::StatusOr<int64_t> PgWatchSource::LastEntryId() {
  return pool_.Transact<int64_t>([](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    return txn.exec1(kLastEntryId)[0].as<int64_t>();
  });
}

absl::StatusOr<std::vector<WatchEntry>> PgWatchSource::EntriesAfter(int64_t after, int64_t upto,
                                                                    int limit) {
  return pool_.Transact<std::vector<WatchEntry>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<WatchEntry>> {
        return ParseEntries(
            txn.exec_params(kEntriesAfter, after, limit, upto, after - kMaxPackedEntries));
      });
}

absl::StatusOr<std::vector<WatchEntry>> PgWatchSource::EntriesIn(
    const std::vector<EntryIdRange>& ranges) {
  if (ranges.empty()) return std::vector<WatchEntry>();
  std::vector<int64_t> firsts;
  std::vector<int64_t> lasts;
  int64_t low = ranges.front().first;
  int64_t high = ranges.front().last;
  for (const EntryIdRange& r : ranges) {
    firsts.push_back(r.first);
    lasts.push_back(r.last);
    low = std::min(low, r.first);
    high = std::max(high, r.last);
  }
  return pool_.Transact<std::vector<WatchEntry>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<WatchEntry>> {
        return ParseEntries(txn.exec_params(kEntriesIn, BigintArray(firsts), BigintArray(lasts),
                                            low, high, low - kMaxPackedEntries));
      });
}

absl::StatusOr<std::vector<Incident>> PgWatchSource::Incidents(
    const std::vector<IncidentKey>& keys) {
  if (keys.empty()) return std::vector<Incident>();
  std::vector<std::string> tenants;
  std::vector<std::string> ids;
  for (const IncidentKey& key : keys) {
    tenants.push_back(key.first);
    ids.push_back(key.second);
  }
  return pool_.Transact<std::vector<Incident>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<Incident>> {
        const pqxx::result rows =
            txn.exec_params(kIncidents, common::PgTextArray(tenants), common::PgTextArray(ids));
        std::vector<Incident> out;
        out.reserve(rows.size());
        for (const pqxx::row& row : rows) {
          ASSIGN_OR_RETURN(Incident incident, ParseIncident(row));
          out.push_back(std::move(incident));
        }
        return out;
      });
}

absl::StatusOr<IncidentPage> PgWatchSource::ListIncidents(const IncidentQuery& query) {
  return store_.ListIncidents(query);
}

}  // namespace agentwatch::incident
