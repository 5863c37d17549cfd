#include "common/pg.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cstring>
#include <exception>
#include <limits>
#include <pqxx/largeobject>
#include <stdexcept>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/pg_binary_array.h"
#include "common/pg_collation.h"
#include "common/status.h"
#include "common/time_format.h"

namespace agentwatch::common {
namespace {

// Tables every service keeps in its own schema. Versioned like migrations
// under the component name "shared".
std::vector<Migration> SharedMigrations(const std::string& schema) {
  return {
      {1, "outbox",
       absl::StrCat(R"sql(
CREATE TABLE IF NOT EXISTS )sql",
                    schema, R"sql(.outbox (
  id              bigserial PRIMARY KEY,
  tenant_id       text NOT NULL DEFAULT '',
  destination     text NOT NULL,
  idempotency_key text NOT NULL,
  payload         bytea NOT NULL,
  traceparent     text NOT NULL DEFAULT '',
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  created_at      timestamptz NOT NULL DEFAULT now(),
  last_error      text NOT NULL DEFAULT '',
  dead            boolean NOT NULL DEFAULT false,
  UNIQUE (destination, idempotency_key)
);
CREATE INDEX IF NOT EXISTS outbox_due_idx ON )sql",
                    schema,
                    R"sql(.outbox (next_attempt_at) WHERE NOT dead;
)sql")},
  };
}

// Whether the server closed `conn` while it sat idle in the pool (Postgres
// crashed or restarted, the backend was terminated): libpq only notices when
// the next statement fails, and that request would fail with it. The server
// sends an idle connection nothing but its closing, so the end of the stream
// pending on the socket tells.
bool ClosedByServer(const pqxx::connection& conn) {
  pollfd p{conn.sock(), POLLIN | POLLRDHUP, 0};
  if (p.fd < 0) return true;
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

bool IsConnectionSqlState(const std::string& state) {
  return absl::StartsWith(state, "08") || state == "57P01" || state == "57P02" ||
         state == "57P03" || state == "53300";
}

}  // namespace

absl::Status MapPgException(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return absl::UnavailableError(absl::StrCat("postgres unreachable: ", e.what()));
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return absl::UnavailableError(absl::StrCat("postgres commit in doubt: ", e.what()));
  }
  // In libpqxx 6 serialization failures and deadlocks derive from
  // transaction_rollback, which is not an sql_error.
  if (dynamic_cast<const pqxx::transaction_rollback*>(&e) != nullptr) {
    return absl::AbortedError(absl::StrCat("postgres transaction rolled back: ", e.what()));
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string state = sql->sqlstate();
    if (dynamic_cast<const pqxx::unique_violation*>(&e) != nullptr) {
      return absl::AlreadyExistsError(e.what());
    }
    if (state == "40001" || state == "40P01") return absl::AbortedError(e.what());
    if (IsConnectionSqlState(state)) {
      return absl::UnavailableError(absl::StrCat("postgres unavailable: ", e.what()));
    }
    if (absl::StartsWith(state, "22")) return absl::InvalidArgumentError(e.what());
    if (absl::StartsWith(state, "23")) return absl::FailedPreconditionError(e.what());
    return absl::InternalError(absl::StrCat("postgres error ", state, ": ", e.what()));
  }
  return absl::InternalError(absl::StrCat("postgres client error: ", e.what()));
}

std::string DsnWithClientDefaults(const std::string& dsn) {
  static constexpr std::pair<const char*, const char*> kDefaults[] = {
      {"connect_timeout", "5"},  {"keepalives_idle", "30"},     {"keepalives_interval", "10"},
      {"keepalives_count", "3"}, {"tcp_user_timeout", "30000"},
  };
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &error);
  if (parsed == nullptr) {
    PQfreemem(error);
    return dsn;
  }
  const bool uri = absl::StartsWith(dsn, "postgresql://") || absl::StartsWith(dsn, "postgres://");
  std::string out = dsn;
  for (const auto& [key, value] : kDefaults) {
    bool set = false;
    for (const PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
      if (std::strcmp(o->keyword, key) == 0 && o->val != nullptr) set = true;
    }
    if (set) continue;
    if (uri) {
      absl::StrAppend(&out, out.find('?') == std::string::npos ? "?" : "&", key, "=", value);
    } else {
      absl::StrAppend(&out, out.empty() ? "" : " ", key, "=", value);
    }
  }
  PQconninfoFree(parsed);
  return out;
}

PgPool::PgPool(PgPoolOptions options)
    : options_(std::move(options)), statements_(options_.statements) {
  options_.dsn = DsnWithClientDefaults(options_.dsn);
  for (int i = 0; i < options_.size; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    idle_.push_back(slots_.back().get());
  }
}

PgPool::~PgPool() = default;

void PgPool::AddStatements(const std::vector<PgStatement>& statements) {
  std::lock_guard<std::mutex> lock(mu_);
  statements_.insert(statements_.end(), statements.begin(), statements.end());
}

absl::StatusOr<PgPool::Slot*> PgPool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  const bool got = available_.wait_for(lock, absl::ToChronoMilliseconds(options_.acquire_timeout),
                                       [this] { return !idle_.empty(); });
  if (!got) {
    return absl::UnavailableError(absl::StrCat("no postgres connection free within ",
                                               absl::FormatDuration(options_.acquire_timeout)));
  }
  Slot* slot = idle_.back();
  idle_.pop_back();
  return slot;
}

void PgPool::Release(Slot* slot, bool broken) {
  if (broken) {
    slot->conn.reset();
    slot->prepared = 0;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(slot);
  }
  available_.notify_one();
}

absl::Status PgPool::EnsureOpen(Slot& slot) {
  if (slot.conn && (!slot.conn->is_open() || ClosedByServer(*slot.conn))) {
    slot.conn.reset();
    slot.prepared = 0;
  }
  if (!slot.conn) {
    slot.conn = std::make_unique<pqxx::connection>(options_.dsn);
    slot.prepared = 0;
  }
  std::vector<PgStatement> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending.assign(statements_.begin() + static_cast<std::ptrdiff_t>(slot.prepared),
                   statements_.end());
  }
  for (const PgStatement& statement : pending) {
    slot.conn->prepare(statement.name, statement.sql);
    ++slot.prepared;
  }
  return absl::OkStatus();
}

absl::Status PgPool::WithConnection(const std::function<absl::Status(pqxx::connection&)>& fn) {
  ASSIGN_OR_RETURN(Slot * slot, Acquire());
  absl::Status status;
  bool broken = false;
  try {
    RETURN_IF_ERROR(EnsureOpen(*slot));
    status = fn(*slot->conn);
  } catch (const std::exception& e) {
    status = MapPgException(e);
  }
  if (!status.ok() && absl::IsUnavailable(status)) broken = true;
  if (slot->conn && !slot->conn->is_open()) broken = true;
  Release(slot, broken);
  return status;
}

absl::Status PgPool::WithTransaction(const std::function<absl::Status(pqxx::work&)>& fn) {
  return WithConnection([&fn](pqxx::connection& conn) -> absl::Status {
    pqxx::work txn(conn);
    RETURN_IF_ERROR(fn(txn));
    txn.commit();
    return absl::OkStatus();
  });
}

namespace {

absl::Status ApplyComponent(pqxx::connection& conn, const std::string& schema,
                            const std::string& component,
                            const std::vector<Migration>& migrations) {
  const std::string table = absl::StrCat(schema, ".schema_migrations");
  for (const Migration& migration : migrations) {
    pqxx::work txn(conn);
    const pqxx::result done = txn.exec_params(
        absl::StrCat("SELECT 1 FROM ", table, " WHERE component = $1 AND version = $2"), component,
        migration.version);
    if (!done.empty()) continue;
    txn.exec(migration.sql);
    txn.exec_params(
        absl::StrCat("INSERT INTO ", table, " (component, version, name) VALUES ($1, $2, $3)"),
        component, migration.version, migration.name);
    txn.commit();
    LogInfo("migration applied", {{"schema", schema},
                                  {"component", component},
                                  {"version", absl::StrCat(migration.version)},
                                  {"name", migration.name}});
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyMigrations(PgPool& pool, const std::string& schema,
                             const std::vector<Migration>& migrations) {
  for (char c : schema) {
    if (!((c >= 'a' && c <= 'z') || c == '_')) {
      return absl::InvalidArgumentError(absl::StrCat("schema name '", schema, "' is not [a-z_]+"));
    }
  }
  for (size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i].version <= migrations[i - 1].version) {
      return absl::InternalError(
          absl::StrCat("migrations of ", schema, " are not in order at ", migrations[i].name));
    }
  }
  return pool.WithConnection([&](pqxx::connection& conn) -> absl::Status {
    {
      pqxx::nontransaction txn(conn);
      txn.exec_params("SELECT pg_advisory_lock(hashtext($1))",
                      absl::StrCat("agentwatch.migrate.", schema));
    }
    absl::Status status;
    try {
      {
        pqxx::work txn(conn);
        txn.exec(absl::StrCat("CREATE SCHEMA IF NOT EXISTS ", schema));
        txn.exec(absl::StrCat("CREATE TABLE IF NOT EXISTS ", schema, R"sql(.schema_migrations (
  component  text NOT NULL,
  version    integer NOT NULL,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (component, version))
)sql"));
        txn.commit();
      }
      status = ApplyComponent(conn, schema, "shared", SharedMigrations(schema));
      if (status.ok()) status = ApplyComponent(conn, schema, "service", migrations);
      if (status.ok()) {
        // Once per start: a database that is not bytewise still works, slower
        // and with indexes at the mercy of locale library upgrades.
        // A diagnostic only: a database whose collation cannot be read still
        // serves.
        absl::StatusOr<PgDatabaseCollation> collation = DatabaseCollation(conn);
        if (!collation.ok()) {
          LogWarning("could not read the database's collation",
                     {{"schema", schema}, {"error", collation.status().ToString()}});
        } else if (std::string warning = CollationWarning(*collation); !warning.empty()) {
          LogWarning(warning, {{"schema", schema}, {"collation", collation->name}});
        }
      }
    } catch (const std::exception& e) {
      status = MapPgException(e);
    }
    if (conn.is_open()) {
      try {
        pqxx::nontransaction txn(conn);
        txn.exec_params("SELECT pg_advisory_unlock(hashtext($1))",
                        absl::StrCat("agentwatch.migrate.", schema));
      } catch (const std::exception& e) {
        // The lock is a session lock: closing the broken connection frees it.
        LogWarning("advisory unlock failed", {{"error", e.what()}});
      }
    }
    return status;
  });
}

int64_t ToUnixMicros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromUnixMicros(int64_t micros) { return absl::FromUnixMicros(micros); }

void AppendPgTimestamp(std::string* out, absl::Time t) { AppendUtcMicros(out, t); }

std::string PgTimestamp(absl::Time t) {
  std::string out;
  AppendPgTimestamp(&out, t);
  return out;
}

namespace {

// PgTextArray of any strings with data() and size().
template <typename Text>
std::string TextArrayLiteral(const std::vector<Text>& values) {
  // Sized first (2 braces, 2 quotes and a comma per element, a backslash per
  // quote or backslash), then filled in place, one copy per element when no
  // element needs escaping (the usual case): the arrays of a write path carry
  // megabytes, and growing the string a byte at a time reallocated and copied
  // it over and over.
  size_t size = values.empty() ? 2 : 1 + 3 * values.size();
  size_t escapes = 0;
  for (const Text& value : values) {
    size += value.size();
    for (const char c : value) escapes += static_cast<size_t>((c == '"') | (c == '\\'));
  }
  std::string out(size + escapes, '\0');
  char* p = out.data();
  *p++ = '{';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) *p++ = ',';
    *p++ = '"';
    const Text& value = values[i];
    if (escapes == 0) {
      if (value.size() > 0) std::memcpy(p, value.data(), value.size());
      p += value.size();
    } else {
      for (const char c : value) {
        if (c == '"' || c == '\\') *p++ = '\\';
        *p++ = c;
      }
    }
    *p++ = '"';
  }
  *p++ = '}';
  return out;
}

}  // namespace

std::string PgTextArray(const std::vector<std::string>& values) { return TextArrayLiteral(values); }

std::string PgTextArrayOfViews(const std::vector<absl::string_view>& values) {
  return TextArrayLiteral(values);
}

pqxx::binarystring PgByteaArray(const std::vector<std::string>& values) {
  PgBinaryArray array(PgBinaryArray::Type::kBytea);
  size_t bytes = 4 * values.size();
  for (const std::string& value : values) bytes += value.size();
  array.Reserve(bytes);
  for (const std::string& value : values) array.AddBytes(value);
  return array.Value();
}

// --- PgCopyBinary ------------------------------------------------------------

namespace {

// libpqxx 6 keeps the transaction's PGconn to itself but hands it to
// largeobject's derived classes: the binary COPY runs on that connection
// between a COPY ... FROM STDIN that libpqxx executed and the end of the
// COPY, when the connection is idle in the transaction again, as libpqxx
// expects it.
struct RawConnection : pqxx::largeobject {
  static PGconn* Of(const pqxx::dbtransaction& txn) { return raw_connection(txn); }
};

// Throws `message` with the libpqxx exception type that libpqxx itself would
// throw for `sqlstate` (see MapPgException).
[[noreturn]] void ThrowPgError(const std::string& message, const std::string& query,
                               const char* sqlstate) {
  const std::string state = sqlstate == nullptr ? "" : sqlstate;
  if (state == "23505") throw pqxx::unique_violation(message, query, sqlstate);
  if (state == "40001") throw pqxx::serialization_failure(message);
  if (state == "40P01") throw pqxx::deadlock_detected(message);
  // A protocol violation inside COPY data is malformed data from this client
  // (a value of the wrong width for its column), not a lost connection: the
  // connection stays usable.
  if (state == "08P01") throw pqxx::usage_error(absl::StrCat("malformed COPY data: ", message));
  if (state.empty() || IsConnectionSqlState(state)) throw pqxx::broken_connection(message);
  throw pqxx::sql_error(message, query, sqlstate);
}

void PutBigEndian(char* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

// Microseconds between the Unix epoch and Postgres' (2000-01-01 UTC).
constexpr int64_t kPgEpochUnixMicros = 946'684'800'000'000;

}  // namespace

struct PgCopyBinary::Conn {
  PGconn* pg;
  std::string query;
};

PgCopyBinary::PgCopyBinary(pqxx::work& txn, const std::string& table,
                           const std::vector<std::string>& columns, size_t piece_bytes)
    : columns_(static_cast<int16_t>(columns.size())),
      piece_bytes_(piece_bytes),
      exceptions_at_start_(std::uncaught_exceptions()) {
  if (columns.empty() || columns.size() > 1600) {
    throw std::logic_error("PgCopyBinary: 1 to 1600 columns");
  }
  std::string query = absl::StrCat("COPY ", table, " (");
  for (size_t i = 0; i < columns.size(); ++i) {
    absl::StrAppend(&query, i == 0 ? "" : ",", txn.quote_name(columns[i]));
  }
  query.append(") FROM STDIN WITH (FORMAT binary)");
  txn.exec(query);  // throws what Postgres reports; the connection is in COPY IN after it
  conn_ = std::make_unique<Conn>(Conn{RawConnection::Of(txn), std::move(query)});
  piece_.reserve(piece_bytes_ + 1024);
  // Signature, flags (no OIDs), header extension length.
  static constexpr char kHeader[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
  piece_.append(kHeader, sizeof(kHeader) - 1);
}

PgCopyBinary::~PgCopyBinary() {
  if (done_ || conn_ == nullptr) return;
  if (std::uncaught_exceptions() == exceptions_at_start_) {
    // Not an exception unwinding: a path that forgot Complete(). A commit
    // after this rolls back without libpqxx 6 saying so; say it here.
    LogError("COPY destroyed without Complete(): the transaction will roll back",
             {{"query", conn_->query}});
  }
  // Abandoned: fail the COPY (the transaction is then aborted) and read the
  // answer, so the connection is out of COPY mode for the rollback.
  PQputCopyEnd(conn_->pg, "COPY abandoned by the client");
  while (PGresult* r = PQgetResult(conn_->pg)) PQclear(r);
}

void PgCopyBinary::BeginRow() {
  if (fields_ >= 0) throw std::logic_error("PgCopyBinary: BeginRow inside a row");
  row_start_ = piece_.size();
  char count[2];
  PutBigEndian(count, static_cast<uint16_t>(columns_), 2);
  piece_.append(count, 2);
  fields_ = 0;
}

void PgCopyBinary::CountField() {
  if (fields_ < 0 || fields_ >= columns_) {
    // Drop the partial row, so that nothing of it can be sent.
    if (fields_ >= 0) piece_.resize(row_start_);
    fields_ = -1;
    throw std::logic_error("PgCopyBinary: a value outside a row or more values than columns");
  }
  ++fields_;
}

void PgCopyBinary::AddLength(int32_t size) {
  CountField();
  char length[4];
  PutBigEndian(length, static_cast<uint32_t>(size), 4);
  piece_.append(length, 4);
}

void PgCopyBinary::AddField(const void* data, size_t size) {
  if (size > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw std::length_error("PgCopyBinary: a value of 2 GiB or more");
  }
  AddLength(static_cast<int32_t>(size));
  piece_.append(static_cast<const char*>(data), size);
}

void PgCopyBinary::AddText(absl::string_view value) { AddField(value.data(), value.size()); }

void PgCopyBinary::AddBytea(absl::string_view value) { AddField(value.data(), value.size()); }

void PgCopyBinary::AddJsonb(absl::string_view json) {
  if (json.size() >= static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw std::length_error("PgCopyBinary: a value of 2 GiB or more");
  }
  AddLength(static_cast<int32_t>(json.size() + 1));
  piece_.push_back('\1');  // jsonb's binary format version
  piece_.append(json.data(), json.size());
}

void PgCopyBinary::AddFixed(uint64_t value, int bytes) {
  // The length and the value in one append: a ledger row is mostly these.
  char field[4 + 8];
  PutBigEndian(field, static_cast<uint32_t>(bytes), 4);
  PutBigEndian(field + 4, value, bytes);
  CountField();
  piece_.append(field, 4 + static_cast<size_t>(bytes));
}

void PgCopyBinary::AddInt8(int64_t value) { AddFixed(static_cast<uint64_t>(value), 8); }

void PgCopyBinary::AddInt4(int32_t value) { AddFixed(static_cast<uint32_t>(value), 4); }

void PgCopyBinary::AddInt2(int16_t value) { AddFixed(static_cast<uint16_t>(value), 2); }

void PgCopyBinary::AddBool(bool value) { AddFixed(value ? 1 : 0, 1); }

int64_t PgTimestamptzMicros(absl::Time t) {
  if (t == absl::InfiniteFuture()) return std::numeric_limits<int64_t>::max();  // 'infinity'
  if (t == absl::InfinitePast()) return std::numeric_limits<int64_t>::min();    // '-infinity'
  const int64_t unix_micros = absl::ToUnixMicros(t);                            // floors
  int64_t micros = unix_micros < std::numeric_limits<int64_t>::min() + kPgEpochUnixMicros
                       ? std::numeric_limits<int64_t>::min() + 1
                       : unix_micros - kPgEpochUnixMicros;
  if (micros == std::numeric_limits<int64_t>::max()) --micros;
  return micros;
}

void PgCopyBinary::AddTimestamptz(absl::Time t) { AddInt8(PgTimestamptzMicros(t)); }

void PgCopyBinary::AddNull() { AddLength(-1); }

void PgCopyBinary::EndRow() {
  if (fields_ != columns_) {
    if (fields_ >= 0) piece_.resize(row_start_);
    const int16_t got = fields_;
    fields_ = -1;
    throw std::logic_error(absl::StrCat("PgCopyBinary: a row of ", got < 0 ? 0 : got,
                                        " values for ", columns_, " columns"));
  }
  fields_ = -1;
  if (piece_.size() >= piece_bytes_) Send();
}

void PgCopyBinary::Send() {
  if (piece_.empty()) return;
  if (PQputCopyData(conn_->pg, piece_.data(), static_cast<int>(piece_.size())) != 1) {
    done_ = true;  // the connection is gone; nothing more to end
    throw pqxx::broken_connection(absl::StrCat("COPY data not sent: ", PQerrorMessage(conn_->pg)));
  }
  piece_.clear();
}

void PgCopyBinary::Complete() {
  if (fields_ >= 0) throw std::logic_error("PgCopyBinary: Complete inside a row");
  piece_.append("\xff\xff", 2);  // the trailer: a field count of -1
  Send();
  done_ = true;
  if (PQputCopyEnd(conn_->pg, nullptr) != 1) {
    throw pqxx::broken_connection(absl::StrCat("COPY not ended: ", PQerrorMessage(conn_->pg)));
  }
  // The COPY's result, then the end of results.
  std::string error;
  std::string state;
  bool answered = false;
  while (PGresult* r = PQgetResult(conn_->pg)) {
    answered = true;
    if (PQresultStatus(r) != PGRES_COMMAND_OK && error.empty()) {
      error = PQresultErrorMessage(r);
      const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      state = s == nullptr ? "" : s;
      if (error.empty()) error = "COPY failed";
    }
    PQclear(r);
  }
  if (!answered && error.empty()) {
    error = absl::StrCat("no answer to the COPY: ", PQerrorMessage(conn_->pg));
  }
  if (!error.empty()) ThrowPgError(error, conn_->query, state.empty() ? nullptr : state.c_str());
}

}  // namespace agentwatch::common
