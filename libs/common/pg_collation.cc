#include "common/pg_collation.h"

#include "absl/strings/str_cat.h"
#include "common/pg.h"

namespace agentwatch::common {

absl::StatusOr<PgDatabaseCollation> DatabaseCollation(pqxx::connection& conn) {
  try {
    pqxx::nontransaction txn(conn);
    // Postgres 15: datlocprovider 'c' (libc) or 'i' (ICU, daticulocale).
    const pqxx::row row = txn.exec1(
        "SELECT datname, datlocprovider::text, datcollate, COALESCE(daticulocale, '') "
        "FROM pg_database WHERE datname = current_database()");
    PgDatabaseCollation collation;
    collation.database = row[0].as<std::string>();
    const std::string provider = row[1].as<std::string>();
    const std::string collate = row[2].as<std::string>();
    if (provider == "i") {
      collation.name = absl::StrCat("icu:", row[3].as<std::string>());
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
