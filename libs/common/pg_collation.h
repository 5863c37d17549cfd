#pragma once

#include <string>

#include <pqxx/pqxx>

#include "absl/status/statusor.h"

namespace agentwatch::common {

// The default collation of the database a connection is in: how every text
// column without a COLLATE of its own compares, in its indexes too (the
// ledger's (tenant_id, record_id), incident's fingerprints, monitor's series
// keys, every tenant id).
struct PgDatabaseCollation {
  std::string database;
  // As Postgres names it: "C", "en_US.UTF-8", "icu:en-US" for an ICU one,
  // "builtin:C.UTF-8" for Postgres 17's builtin provider.
  std::string name;
  // True for C and POSIX with the libc provider and for the builtin
  // provider: text compares as bytes (memcmp) inside Postgres. Anything else
  // compares through the locale library: slower on
  // every index probe and insert of a text key, and a glibc or ICU upgrade
  // that changes the order silently invalidates those indexes (a unique key
  // can then admit a duplicate) until they are rebuilt.
  bool bytewise = false;
};

absl::StatusOr<PgDatabaseCollation> DatabaseCollation(pqxx::connection& conn);

// The warning agentwatch logs at start-up for a database whose collation is
// not bytewise (empty for a bytewise one): what it costs and how to create
// the database instead (docs/runbook.md, "The database's collation").
std::string CollationWarning(const PgDatabaseCollation& collation);

}  // namespace agentwatch::common
