// Reading incident rows from Postgres, shared by the Postgres implementations
// of services/incident/store (PgIncidentStore, PgWatchSource, ...): the
// column list of incident.incidents, its row parser and the field readers it
// is made of. Internal to the store layer.
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "incident/core/types.h"

// The SQL expression reading timestamptz column `col` as Unix microseconds
// (bigint; NULL stays NULL), which TimeOf / OptionalTimeOf read back.
#define AW_INCIDENT_PG_MICROS(col) "(extract(epoch from " col ") * 1000000)::bigint"

// The SQL expression reading timestamptz column `col` as its binary form in
// hex (16 hex digits: Postgres' own int64 of microseconds since 2000-01-01,
// big-endian; NULL stays NULL), which HexTimeOf / OptionalHexTimeOf read
// back. For Postgres a fraction of AW_INCIDENT_PG_MICROS' cost: extract()
// answers a numeric, and the multiplication and the cast to bigint are
// numeric arithmetic (measured on the dev Postgres, four values of a row to
// text, 1,700 rows 300 times: 1.05 -> 0.37 us a row). encode(), not the
// bytea itself, so that the text does not depend on bytea_output. Used by the
// columns intake reads per alert and per incident (AW_INCIDENT_COLUMNS,
// the alert columns).
#define AW_INCIDENT_PG_TIME(col) "encode(timestamptz_send(" col "), 'hex')"

// The columns of incident.incidents, aliased `i`, that ParseIncident reads,
// in its order (kIncidentColumnCount of them). A string literal, so that
// statements can be compile-time constants: "SELECT " AW_INCIDENT_COLUMNS ...
// clang-format off
#define AW_INCIDENT_COLUMNS                                                               \
  "i.tenant_id, i.id, i.group_key, i.title, i.status, i.severity, i.severity_pinned, "   \
  "i.labels::text, i.alert_count, i.firing_alert_count, i.owner, "                        \
  AW_INCIDENT_PG_TIME("i.start_time") ", " AW_INCIDENT_PG_TIME("i.create_time") ", "      \
  AW_INCIDENT_PG_TIME("i.update_time") ", " AW_INCIDENT_PG_TIME("i.acknowledge_time")     \
  ", " AW_INCIDENT_PG_TIME("i.mitigate_time") ", "                                        \
  AW_INCIDENT_PG_TIME("i.resolve_time") ", " AW_INCIDENT_PG_TIME("i.close_time")          \
  ", i.escalation_tier, i.auto_resolved, i.postmortem_id"
// clang-format on

namespace agentwatch::incident::pg_rows {

// How many columns AW_INCIDENT_COLUMNS selects: a statement that selects more
// after them reads those from this index on.
inline constexpr int kIncidentColumnCount = 21;

// At most this many timeline entries share one incident.timeline row (intake
// packs an incident's entries of a transaction, migration 015; the table's
// check): a reader by entry id finds the row of id x at row_entry_id > x -
// kMaxPackedEntries.
inline constexpr int64_t kMaxPackedEntries = 256;

// A jsonb column (read as text) holding an object of strings (labels,
// annotations, timeline details), as Postgres prints it: {"a": "b"}. Escapes
// are decoded (\u escapes as UTF-8). INTERNAL naming the column when the
// text is not such an object (malformed JSON, a value that is not a string).
absl::StatusOr<Labels> ParseJsonMap(const pqxx::field& field);

// A run of consecutive timeline entry ids, taken from the sequence.
struct TimelineIdRun {
  int64_t first = 0;
  int64_t count = 0;
};

// The columns of incident.timeline that intake's COPY writes, in the order of
// CopyTimelineRows' fields.
inline constexpr const char* kTimelineColumns[] = {
    "tenant_id", "incident_id", "entry_id", "entry_time",  "actor",
    "kind",      "entry_text",  "details",  "entry_count", "entries"};

// COPYs (binary format, kTimelineColumns) into incident.timeline, in `txn`,
// the rows of `entries` on the ids of `runs`, which hold exactly as many ids
// as there are entries; throws what Postgres reports (PgCopyBinary). Each
// incident's entries keep their order and take ascending ids, incidents in
// the order of their first entry. The entries of one incident on consecutive
// ids with the same time and actor share one row (up to kMaxPackedEntries):
// kind 'packed', entry_text '', details '{}', entry_count how many, `entries`
// the JSON array of their [kind, text, details]; a row's first entry has the
// row's entry_id. An entry alone is a row of its own, as every other writer
// writes it (entry_count 1, entries NULL). Read back one entry per row
// through incident.timeline_entries.
void CopyTimelineRows(pqxx::work& txn, const std::vector<TimelineEntry>& entries,
                      const std::vector<TimelineIdRun>& runs);

// A column read with AW_INCIDENT_PG_MICROS; the field must not be NULL.
absl::Time TimeOf(const pqxx::field& field);

// As TimeOf; nullopt for NULL.
std::optional<absl::Time> OptionalTimeOf(const pqxx::field& field);

// A column read with AW_INCIDENT_PG_TIME; the field must not be NULL. Postgres'
// infinities are absl's. Throws pqxx::conversion_error when the field is not
// 16 hex digits.
absl::Time HexTimeOf(const pqxx::field& field);

// As HexTimeOf; nullopt for NULL.
std::optional<absl::Time> OptionalHexTimeOf(const pqxx::field& field);

// Intake's planner settings (SET LOCAL statements) and the statements that
// run under them with a generic plan kept per connection (name, SQL), for
// tests of their plans.
const char* IntakePlanning();
std::vector<std::pair<std::string, std::string>> GenericPlannedIntakeStatements();
// The state UPDATE by ctid, and the setting (SET LOCAL) it is planned under on
// top of IntakePlanning(), for tests of its plan.
const char* UpdateAlertStatesByTid();
const char* TidUpdatePlanning();
// The query intake's entry-id reservation reads its runs of consecutive ids
// with, over `source` (a subquery of (n, id), n numbering the ids in
// increasing order) instead of the sequence, for tests.
std::string IdRunsOf(absl::string_view source);

// The incident in the first kIncidentColumnCount fields of `row`, selected
// with AW_INCIDENT_COLUMNS. INTERNAL when its labels do not parse.
absl::StatusOr<Incident> ParseIncident(const pqxx::row& row);

}  // namespace agentwatch::incident::pg_rows
