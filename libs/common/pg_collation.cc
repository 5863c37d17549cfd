#include "common/pg_collation.h"

#include "absl/strings/str_cat.h"
#include "common/pg.h"

namespace agentwatch::common {

absl::StatusOr<PgDatabaseCollation> DatabaseCollation(pqxx::connection& conn) {
  try {
    pqxx::nontransaction txn(conn);
    // Read through to_jsonb so that the columns of every Postgres version
    // are named alike: datlocprovider ('c' libc, 'i' ICU, 'b' builtin; none
    // before 15: libc), the ICU or builtin locale in daticulocale (15, 16)
    // or datlocale (17 on).
    const pqxx::row row = txn.exec1(
        "SELECT d->>'datname', COALESCE(d->>'datlocprovider', 'c'), d->>'datcollate', "
        "COALESCE(d->>'datlocale', d->>'daticulocale', '') "
        "FROM (SELECT to_jsonb(p) AS d FROM pg_database p "
        "      WHERE p.datname = current_database()) AS db");
    PgDatabaseCollation collation;
    collation.database = row[0].as<std::string>();
    const std::string provider = row[1].as<std::string>();
    const std::string collate = row[2].is_null() ? "" : row[2].as<std::string>();
    const std::string locale = row[3].as<std::string>();
    if (provider == "i") {
      collation.name = absl::StrCat("icu:", locale);
    } else if (provider == "b") {
      // Postgres 17's builtin provider compares C and C.UTF-8 by code
      // point with memcmp, in Postgres itself: no library to upgrade.
      collation.name = absl::StrCat("builtin:", locale);
      collation.bytewise = true;
    } else {
      collation.name = collate;
      collation.bytewise = collate == "C" || collate == "POSIX";
    }
    return collation;
  } catch (const std::exception& e) {
    return MapPgException(e);
  }
}

std::string CollationWarning(const PgDatabaseCollation& collation) {
  if (collation.bytewise) return "";
  return absl::StrCat(
      "database ", collation.database, " compares text by the collation ", collation.name,
      ", not bytewise: every text key (tenant ids, record ids, fingerprints, series keys) is "
      "compared through the locale library in its indexes (a COPY keyed like cost's ledger "
      "costs Postgres 30-40 % more CPU per row than under C), and an upgrade of that library can "
      "reorder them and leave unique indexes invalid until reindexed; create the database "
      "with LOCALE 'C' (TEMPLATE template0; docs/runbook.md, \"The database's collation\")");
}

}  // namespace agentwatch::common
