// Reading incident rows from Postgres, shared by the Postgres implementations
// of services/incident/store (PgIncidentStore, PgWatchSource, ...): the
// column list of incident.incidents, its row parser and the field readers it
// is made of. Internal to the store layer.
#pragma once

#include <optional>
#include <pqxx/pqxx>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "incident/core/types.h"

// The SQL expression reading timestamptz column `col` as Unix microseconds
// (bigint; NULL stays NULL), which TimeOf / OptionalTimeOf read back.
#define AW_INCIDENT_PG_MICROS(col) "(extract(epoch from " col ") * 1000000)::bigint"

// The columns of incident.incidents, aliased `i`, that ParseIncident reads,
// in its order (kIncidentColumnCount of them). A string literal, so that
// statements can be compile-time constants: "SELECT " AW_INCIDENT_COLUMNS ...
// clang-format off
#define AW_INCIDENT_COLUMNS                                                               \
  "i.tenant_id, i.id, i.group_key, i.title, i.status, i.severity, i.severity_pinned, "   \
  "i.labels::text, i.alert_count, i.firing_alert_count, i.owner, "                        \
  AW_INCIDENT_PG_MICROS("i.start_time") ", " AW_INCIDENT_PG_MICROS("i.create_time") ", "  \
  AW_INCIDENT_PG_MICROS("i.update_time") ", " AW_INCIDENT_PG_MICROS("i.acknowledge_time") \
  ", " AW_INCIDENT_PG_MICROS("i.mitigate_time") ", "                                      \
  AW_INCIDENT_PG_MICROS("i.resolve_time") ", " AW_INCIDENT_PG_MICROS("i.close_time")      \
  ", i.escalation_tier, i.auto_resolved, i.postmortem_id"
// clang-format on

namespace agentwatch::incident::pg_rows {

// How many columns AW_INCIDENT_COLUMNS selects: a statement that selects more
// after them reads those from this index on.
inline constexpr int kIncidentColumnCount = 21;

// A jsonb column (read as text) holding an object of strings (labels,
// annotations, timeline details), as Postgres prints it: {"a": "b"}. Escapes
// are decoded (\u escapes as UTF-8). INTERNAL naming the column when the
// text is not such an object (malformed JSON, a value that is not a string).
absl::StatusOr<Labels> ParseJsonMap(const pqxx::field& field);

// A column read with AW_INCIDENT_PG_MICROS; the field must not be NULL.
absl::Time TimeOf(const pqxx::field& field);

// As TimeOf; nullopt for NULL.
std::optional<absl::Time> OptionalTimeOf(const pqxx::field& field);

// The incident in the first kIncidentColumnCount fields of `row`, selected
// with AW_INCIDENT_COLUMNS. INTERNAL when its labels do not parse.
absl::StatusOr<Incident> ParseIncident(const pqxx::row& row);

}  // namespace agentwatch::incident::pg_rows
