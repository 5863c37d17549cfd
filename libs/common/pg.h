// Postgres access: a connection pool, one explicit transaction per unit of
// work, libpqxx errors mapped once to absl::Status, and migrations applied
// under an advisory lock so that several replicas may start at once.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/migrations.h"

namespace agentwatch::common {

// A named SQL statement with $n parameters, prepared on every connection.
struct PgStatement {
  const char* name;
  const char* sql;
};

// Maps an exception thrown by libpqxx (or the standard library) to a Status:
// broken connection and server shutdown -> UNAVAILABLE, unique_violation ->
// ALREADY_EXISTS, serialization failure and deadlock -> ABORTED, data
// exceptions -> INVALID_ARGUMENT, integrity violations -> FAILED_PRECONDITION,
// anything else -> INTERNAL.
absl::Status MapPgException(const std::exception& e);

struct PgPoolOptions {
  std::string dsn;
  int size = 8;
  absl::Duration acquire_timeout = absl::Seconds(5);
  // Statements prepared on each new connection.
  std::vector<PgStatement> statements;
};

// `dsn` (keyword or URI form) with the client settings every agentwatch
// connection wants unless the DSN sets them itself: a connect_timeout of 5 s
// (a dead address fails instead of waiting for the kernel's minutes), TCP
// keepalives after 30 s idle (10 s apart, 3 lost: a vanished peer is noticed
// while a connection waits) and a tcp_user_timeout of 30 s (data the server
// does not acknowledge for that long, as behind a partitioned network, breaks
// the connection instead of hanging it). A DSN libpq cannot parse comes back
// unchanged, for the connection attempt to report.
std::string DsnWithClientDefaults(const std::string& dsn);

// A fixed-size pool of connections, opened lazily and replaced when broken.
// Connections use DsnWithClientDefaults(options.dsn). Thread-safe.
class PgPool {
 public:
  explicit PgPool(PgPoolOptions options);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Adds statements prepared on every connection opened from now on and on
  // those already open (on their next use).
  void AddStatements(const std::vector<PgStatement>& statements);

  // Runs `fn` in one transaction and commits when it returns OK; rolls back
  // otherwise. Exceptions from libpqxx are mapped with MapPgException. Returns
  // UNAVAILABLE when no connection can be had within the acquire timeout.
  absl::Status WithTransaction(const std::function<absl::Status(pqxx::work&)>& fn);

  // Same, for work that produces a value.
  template <typename T>
  absl::StatusOr<T> Transact(const std::function<absl::StatusOr<T>(pqxx::work&)>& fn) {
    absl::StatusOr<T> result = absl::UnknownError("transaction did not run");
    absl::Status status = WithTransaction([&](pqxx::work& txn) -> absl::Status {
      result = fn(txn);
      return result.status();
    });
    if (!status.ok()) return status;
    return result;
  }

  // Runs `fn` on a connection outside any transaction (for LISTEN, advisory
  // session locks, COPY set-up).
  absl::Status WithConnection(const std::function<absl::Status(pqxx::connection&)>& fn);

  const std::string& dsn() const { return options_.dsn; }

 private:
  struct Slot {
    std::unique_ptr<pqxx::connection> conn;
    size_t prepared = 0;  // how many of statements_ are prepared on conn
  };
  absl::StatusOr<Slot*> Acquire();
  void Release(Slot* slot, bool broken);
  absl::Status EnsureOpen(Slot& slot);

  PgPoolOptions options_;
  std::mutex mu_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> idle_;
  std::vector<PgStatement> statements_;
};

// Applies `migrations` (and agentwatch's shared tables, such as the outbox) to
// `schema`, each in its own transaction, recording them in
// <schema>.schema_migrations. Serialized across processes by an advisory lock
// so concurrent starts apply each migration exactly once. Idempotent.
absl::Status ApplyMigrations(PgPool& pool, const std::string& schema,
                             const std::vector<Migration>& migrations);

// Converts between absl::Time and the microseconds-since-epoch integers used
// in SQL (to_timestamp($1::float8 / 1e6) loses precision; we bind integers).
int64_t ToUnixMicros(absl::Time t);
absl::Time FromUnixMicros(int64_t micros);

}  // namespace agentwatch::common

namespace agentwatch::common {

// RFC 3339 with microseconds in UTC, for binding to a `$n::timestamptz`:
// "2026-11-26T09:05:01.250000Z" (the instant truncated to the microsecond).
std::string PgTimestamp(absl::Time t);
// The same, appended to `out` (COPY rows, JSON and array literals).
void AppendPgTimestamp(std::string* out, absl::Time t);

// A text[] literal for binding to a `$n::text[]`: {"a","b \"c\""}, every
// element quoted and escaped (so empty strings and commas survive).
std::string PgTextArray(const std::vector<std::string>& values);
// The same literal of views (columns of strings the caller keeps alive, not
// copied into the column).
std::string PgTextArrayOfViews(const std::vector<absl::string_view>& values);

// A bytea[] value in Postgres' binary array format, for binding to a
// `$n::bytea[]`: the bytes travel as they are, with no hex encoding or array
// quoting to build and undo (one dimension, no NULLs, elements under 2 GiB).
pqxx::binarystring PgByteaArray(const std::vector<std::string>& values);

// A time as Postgres' binary timestamptz: microseconds since 2000-01-01 UTC,
// floored; absl's infinities are 'infinity' / '-infinity' (int64 max / min),
// and a finite time beyond int64 microseconds saturates short of them
// (Postgres then rejects it as out of range, like any time past its own).
int64_t PgTimestamptzMicros(absl::Time t);

// A COPY in Postgres' binary format into `columns` of `table`, inside `txn`:
// every value goes as its binary representation (an int8 as 8 bytes, a
// timestamptz as microseconds since 2000), so Postgres runs no text input
// function per value and the client formats no text (measured on a 17-column
// ledger row: 3.6 -> 2.9 us of Postgres CPU per row against the text format).
// Each row gives exactly one value per column, in `columns`' order, each of
// the column's type (Postgres checks it: a wrong width is an error, a text
// value must be valid UTF-8). Rows are handed to libpq in pieces of about
// `piece_bytes`. Throws what Postgres reports with libpqxx's exception types
// (pqxx::unique_violation for a key already there), as every pqxx call inside
// PgPool::WithTransaction may; a wrong number of values in a row throws
// std::logic_error before anything of that row is sent, and a value Postgres
// cannot read at its column's width pqxx::usage_error (both INTERNAL through
// MapPgException). Complete() must be called before `txn` runs anything
// else. Destroyed without it, the COPY fails and the transaction's work is
// rolled back at its end, even by a commit, which libpqxx 6 does not report
// (logged as an error unless an exception is unwinding).
class PgCopyBinary {
 public:
  PgCopyBinary(pqxx::work& txn, const std::string& table, const std::vector<std::string>& columns,
               size_t piece_bytes = 256 << 10);
  ~PgCopyBinary();
  PgCopyBinary(const PgCopyBinary&) = delete;
  PgCopyBinary& operator=(const PgCopyBinary&) = delete;

  void BeginRow();
  // text, varchar: the bytes as they are (no escaping).
  void AddText(absl::string_view value);
  // bytea.
  void AddBytea(absl::string_view value);
  // jsonb from its JSON text.
  void AddJsonb(absl::string_view json);
  // bigint.
  void AddInt8(int64_t value);
  // integer.
  void AddInt4(int32_t value);
  // smallint.
  void AddInt2(int16_t value);
  void AddBool(bool value);
  // timestamptz, floored to the microsecond (as the text format's
  // AppendPgTimestamp); absl's infinite times are 'infinity' and '-infinity'.
  void AddTimestamptz(absl::Time t);
  void AddNull();
  void EndRow();
  // Sends what is buffered, ends the COPY and reads Postgres' answer.
  void Complete();

 private:
  void CountField();
  void AddField(const void* data, size_t size);
  void AddLength(int32_t size);
  // A value of `bytes` (1, 2, 4 or 8) big-endian bytes with its length.
  void AddFixed(uint64_t value, int bytes);
  void Send();

  struct Conn;
  std::unique_ptr<Conn> conn_;
  const int16_t columns_;
  const size_t piece_bytes_;
  std::string piece_;
  const int exceptions_at_start_;
  size_t row_start_ = 0;
  int16_t fields_ = -1;  // of the open row; -1: no row open
  bool done_ = false;
};

}  // namespace agentwatch::common
