// Postgres pool, transactions, error mapping and migrations against a real
// server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/pg.h"
#include "common/pg_collation.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"

namespace agentwatch::common {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::PrivatePostgres;
using ::agentwatch::testing::StatusIs;
using ::agentwatch::testing::TestDatabase;
using ::testing::HasSubstr;
using ::testing::Not;

// SELECT 1 on a pooled connection: OK, or the pool's error (UNAVAILABLE when
// the server is unreachable).
absl::Status SelectOne(PgPool& pool) {
  return pool.WithConnection([](pqxx::connection& conn) -> absl::Status {
    pqxx::nontransaction txn(conn);
    txn.exec("SELECT 1");
    return absl::OkStatus();
  });
}

const std::vector<Migration>& TestMigrations() {
  static const auto* migrations = new std::vector<Migration>{
      {1, "001_items", "CREATE TABLE pgtest.items (id bigint PRIMARY KEY, name text NOT NULL);"},
      {2, "002_counter",
       "CREATE TABLE pgtest.applied (n int); INSERT INTO pgtest.applied VALUES (1);"},
  };
  return *migrations;
}

TEST(PgPoolTest, CommitsOnOkAndRollsBackOnError) {
  TestDatabase db;
  PgPool pool({db.dsn(), 2});
  ASSERT_THAT(ApplyMigrations(pool, "pgtest", TestMigrations()), IsOk());
  ASSERT_THAT(pool.WithTransaction([](pqxx::work& txn) {
    txn.exec_params("INSERT INTO pgtest.items VALUES ($1, $2)", 1, "kept");
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_THAT(pool.WithTransaction([](pqxx::work& txn) {
    txn.exec_params("INSERT INTO pgtest.items VALUES ($1, $2)", 2, "dropped");
    return absl::FailedPreconditionError("caller changed its mind");
  }),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  auto count = pool.Transact<int64_t>([](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    return txn.exec("SELECT count(*) FROM pgtest.items")[0][0].as<int64_t>();
  });
  EXPECT_THAT(count, IsOkAndHolds(1));
}

// PgCopyBinary hands rows to libpq in pieces: with 40-byte pieces, rows
// arrive once each and whole (tabs, newlines and backslashes inside values
// go as they are); a key already there fails the transaction.
TEST(PgCopyBinaryTest, RowsInPiecesArriveOnceEachAndWhole) {
  TestDatabase db;
  PgPool pool({db.dsn(), 1});
  ASSERT_THAT(ApplyMigrations(pool, "pgtest", TestMigrations()), IsOk());
  auto add = [](PgCopyBinary& copy, int64_t id, const std::string& name) {
    copy.BeginRow();
    copy.AddInt8(id);
    copy.AddText(name);
    copy.EndRow();
  };
  ASSERT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    PgCopyBinary copy(txn, "pgtest.items", {"id", "name"}, 40);
    for (int id = 1; id <= 50; ++id) add(copy, id, absl::StrCat("row ", id));
    for (int id = 100; id < 300; ++id) add(copy, id, absl::StrCat("block\t", id, "\nline\\"));
    copy.Complete();
    return absl::OkStatus();
  }),
              IsOk());
  auto rows = pool.Transact<std::vector<std::string>>(
      [](pqxx::work& txn) -> absl::StatusOr<std::vector<std::string>> {
        std::vector<std::string> out;
        for (const auto& row :
             txn.exec("SELECT id::text || '=' || name FROM pgtest.items ORDER BY id")) {
          out.push_back(row[0].as<std::string>());
        }
        return out;
      });
  ASSERT_THAT(rows, IsOk());
  ASSERT_EQ(rows->size(), 250u);
  EXPECT_EQ(rows->front(), "1=row 1");
  EXPECT_EQ((*rows)[49], "50=row 50");
  EXPECT_EQ((*rows)[50], "100=block\t100\nline\\");
  EXPECT_EQ(rows->back(), "299=block\t299\nline\\");
  EXPECT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    PgCopyBinary copy(txn, "pgtest.items", {"id", "name"});
    add(copy, 300, "new");
    add(copy, 1, "again");
    copy.Complete();
    return absl::OkStatus();
  }),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

constexpr const char* kBinaryTable = R"sql(
CREATE TABLE pgtest.binary_values (
  id    bigint PRIMARY KEY,
  t     text NOT NULL,
  b     bytea NOT NULL,
  j     jsonb NOT NULL,
  i4    integer NOT NULL,
  i2    smallint NOT NULL,
  flag  boolean NOT NULL,
  ts    timestamptz NOT NULL,
  maybe text
))sql";
const std::vector<std::string> kBinaryColumns = {"id", "t",    "b",  "j",    "i4",
                                                 "i2", "flag", "ts", "maybe"};

absl::Status CreateBinaryTable(PgPool& pool) {
  return pool.WithTransaction([](pqxx::work& txn) {
    txn.exec(kBinaryTable);
    return absl::OkStatus();
  });
}

struct BinaryRow {
  int64_t id;
  std::string t, b, j;
  int32_t i4;
  int16_t i2;
  bool flag;
  absl::Time ts;
  std::optional<std::string> maybe;
};

void AddBinaryRow(PgCopyBinary& copy, const BinaryRow& row) {
  copy.BeginRow();
  copy.AddInt8(row.id);
  copy.AddText(row.t);
  copy.AddBytea(row.b);
  copy.AddJsonb(row.j);
  copy.AddInt4(row.i4);
  copy.AddInt2(row.i2);
  copy.AddBool(row.flag);
  copy.AddTimestamptz(row.ts);
  if (row.maybe.has_value()) {
    copy.AddText(*row.maybe);
  } else {
    copy.AddNull();
  }
  copy.EndRow();
}

// Each row as text: id|t|hex(b)|j|i4|flag|ts (Unix microseconds, or
// infinity)|maybe (or NULL).
std::vector<std::string> BinaryRowsInDatabase(PgPool& pool) {
  auto rows = pool.Transact<std::vector<std::string>>(
      [](pqxx::work& txn) -> absl::StatusOr<std::vector<std::string>> {
        std::vector<std::string> out;
        for (const auto& row : txn.exec(
                 "SELECT concat_ws('|', id, t, encode(b, 'hex'), j::text, i4, i2, flag::text, "
                 "CASE WHEN isfinite(ts) THEN ((extract(epoch FROM ts) * 1000000)::bigint)::text "
                 "ELSE ts::text END, COALESCE(maybe, 'NULL')) FROM pgtest.binary_values "
                 "ORDER BY id")) {
          out.push_back(row[0].as<std::string>());
        }
        return out;
      });
  EXPECT_THAT(rows, IsOk());
  return rows.ok() ? *rows : std::vector<std::string>{};
}

std::string ExpectedText(const BinaryRow& row) {
  std::string hex;
  for (unsigned char c : row.b) absl::StrAppend(&hex, absl::Hex(c, absl::kZeroPad2));
  std::string ts;
  if (row.ts == absl::InfiniteFuture()) {
    ts = "infinity";
  } else if (row.ts == absl::InfinitePast()) {
    ts = "-infinity";
  } else {
    ts = absl::StrCat(absl::ToUnixMicros(row.ts));
  }
  return absl::StrCat(row.id, "|", row.t, "|", hex, "|", row.j, "|", row.i4, "|", row.i2, "|",
                      row.flag ? "true" : "false", "|", ts, "|", row.maybe.value_or("NULL"));
}

// Values of every type PgCopyBinary writes arrive as they were, through
// pieces far smaller than a row: text with COPY's text-format specials and
// multibyte characters, every byte value in bytea, jsonb, integer extremes,
// timestamps before 1970, before 2000, on Postgres' epoch, with nanoseconds
// (floored, as the text format's AppendPgTimestamp) and infinite, NULLs.
TEST(PgCopyBinaryTest, EveryTypeRoundTripsThroughPostgres) {
  TestDatabase db;
  PgPool pool({db.dsn(), 1});
  ASSERT_THAT(ApplyMigrations(pool, "pgtest", TestMigrations()), IsOk());
  ASSERT_THAT(CreateBinaryTable(pool), IsOk());
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes.push_back(static_cast<char>(c));
  const absl::Time pg_epoch = absl::FromUnixSeconds(946'684'800);
  const std::vector<BinaryRow> rows = {
      {1, "plain", "x", R"({"a": 1})", 0, 0, true, pg_epoch, "here"},
      {2, "tab\there\nnew line\\back\rslash \"q\" 'q' \\N", all_bytes,
       R"({"k": ["x\ty", null, 2.5, {"z": true}]})", std::numeric_limits<int32_t>::min(),
       std::numeric_limits<int16_t>::min(), false, absl::FromUnixMicros(-1), std::nullopt},
      {std::numeric_limits<int64_t>::min(), "", "", "[]", std::numeric_limits<int32_t>::max(),
       std::numeric_limits<int16_t>::max(), true,
       absl::FromUnixMicros(1'234'567) + absl::Nanoseconds(999), ""},
      {std::numeric_limits<int64_t>::max(), "ünïcødé ✓ 𝄞", std::string("\0\0", 2), "\"s\"", -1, -1,
       false, pg_epoch - absl::Microseconds(1) - absl::Nanoseconds(1), std::nullopt},
      {5, "future", "f", "null", 5, 5, true, absl::InfiniteFuture(), "\\"},
      {6, "past", "p", "0", 6, 256, false, absl::InfinitePast(), "\t"},
      {7, "before 1970", "b", "{}", 7, -256, true, absl::FromUnixSeconds(-2'000'000'000), "x"},
  };
  ASSERT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    PgCopyBinary copy(txn, "pgtest.binary_values", kBinaryColumns, 16);
    for (const BinaryRow& row : rows) AddBinaryRow(copy, row);
    copy.Complete();
    // The connection is out of COPY mode: the transaction goes on.
    txn.exec("SELECT 1");
    return absl::OkStatus();
  }),
              IsOk());
  std::vector<BinaryRow> sorted = rows;
  std::sort(sorted.begin(), sorted.end(),
            [](const BinaryRow& a, const BinaryRow& b) { return a.id < b.id; });
  std::vector<std::string> expected;
  for (const BinaryRow& row : sorted) expected.push_back(ExpectedText(row));
  EXPECT_THAT(BinaryRowsInDatabase(pool), ::testing::ElementsAreArray(expected));
}

// Postgres' errors arrive as libpqxx's exception types (a key already there
// is a unique_violation, so ALREADY_EXISTS), a savepoint rolled back after a
// failed COPY lets the transaction go on and commit, and bad values or a row
// of the wrong width fail without writing anything; the pool's connection
// works after each.
TEST(PgCopyBinaryTest, ErrorsKeepTheirTypesAndWriteNothing) {
  TestDatabase db;
  PgPool pool({db.dsn(), 1});
  ASSERT_THAT(ApplyMigrations(pool, "pgtest", TestMigrations()), IsOk());
  ASSERT_THAT(CreateBinaryTable(pool), IsOk());
  const absl::Time t = absl::FromUnixSeconds(1'700'000'000);
  auto row = [&](int64_t id) { return BinaryRow{id, "r", "b", "{}", 1, 1, true, t, std::nullopt}; };
  auto copy_rows = [&](std::vector<BinaryRow> rows) {
    return pool.WithTransaction([&](pqxx::work& txn) {
      PgCopyBinary copy(txn, "pgtest.binary_values", kBinaryColumns, 64);
      for (const BinaryRow& r : rows) AddBinaryRow(copy, r);
      copy.Complete();
      return absl::OkStatus();
    });
  };
  ASSERT_THAT(copy_rows({row(1), row(2)}), IsOk());
  // A key already there, in a later piece than the first.
  EXPECT_THAT(copy_rows({row(3), row(4), row(5), row(2)}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  // A duplicate caught in a savepoint: the rest of the transaction commits.
  bool caught = false;
  ASSERT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    txn.exec("SAVEPOINT s");
    try {
      PgCopyBinary copy(txn, "pgtest.binary_values", kBinaryColumns);
      AddBinaryRow(copy, row(6));
      AddBinaryRow(copy, row(1));
      copy.Complete();
    } catch (const pqxx::unique_violation&) {
      caught = true;
    }
    txn.exec("ROLLBACK TO SAVEPOINT s");
    PgCopyBinary copy(txn, "pgtest.binary_values", kBinaryColumns);
    AddBinaryRow(copy, row(7));
    copy.Complete();
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_TRUE(caught);
  // Text that is not UTF-8: Postgres refuses it (SQLSTATE 22021).
  BinaryRow bad_text = row(8);
  bad_text.t = "\xff\xfe";
  EXPECT_THAT(copy_rows({row(9), bad_text}), StatusIs(absl::StatusCode::kInvalidArgument));
  // A value of the wrong width for its column (an int4 where bigint is).
  EXPECT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    PgCopyBinary copy(txn, "pgtest.binary_values", kBinaryColumns);
    AddBinaryRow(copy, row(10));
    copy.BeginRow();
    copy.AddInt4(11);
    for (int i = 1; i < 9; ++i) copy.AddNull();
    copy.EndRow();
    copy.Complete();
    return absl::OkStatus();
  }),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("malformed COPY data")));
  // A row short of a value, and one with a value too many: a client error
  // before anything of the row is sent; the COPY is abandoned.
  EXPECT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    PgCopyBinary copy(txn, "pgtest.binary_values", kBinaryColumns);
    AddBinaryRow(copy, row(12));
    copy.BeginRow();
    copy.AddInt8(13);
    copy.EndRow();
    return absl::OkStatus();
  }),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("a row of 1 values for 9 columns")));
  EXPECT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    PgCopyBinary copy(txn, "pgtest.binary_values", kBinaryColumns);
    copy.BeginRow();
    for (int i = 0; i < 10; ++i) copy.AddInt8(i);
    return absl::OkStatus();
  }),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("more values than columns")));
  // An abandoned COPY (never completed, no exception): the transaction's
  // work is rolled back at its end, the insert before the COPY too.
  (void)pool.WithTransaction([&](pqxx::work& txn) {
    txn.exec(
        "INSERT INTO pgtest.binary_values VALUES (15, 'x', 'x', '{}', 1, 1, true, now(), NULL)");
    {
      PgCopyBinary copy(txn, "pgtest.binary_values", kBinaryColumns);
      AddBinaryRow(copy, row(14));
    }
    return absl::OkStatus();
  });
  // Only what committed is there, and the connection still works.
  const std::vector<std::string> in_db = BinaryRowsInDatabase(pool);
  std::vector<std::string> ids;
  for (const std::string& r : in_db) ids.push_back(r.substr(0, r.find('|')));
  EXPECT_THAT(ids, ::testing::ElementsAre("1", "2", "7"));
  EXPECT_THAT(SelectOne(pool), IsOk());
}

TEST(PgPoolTest, MapsErrors) {
  TestDatabase db;
  PgPool pool({db.dsn(), 2});
  ASSERT_THAT(ApplyMigrations(pool, "pgtest", TestMigrations()), IsOk());
  auto insert = [&](int id) {
    return pool.WithTransaction([id](pqxx::work& txn) {
      txn.exec_params("INSERT INTO pgtest.items VALUES ($1, 'x')", id);
      return absl::OkStatus();
    });
  };
  ASSERT_THAT(insert(7), IsOk());
  EXPECT_THAT(insert(7), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(pool.WithTransaction([](pqxx::work& txn) {
    txn.exec("SELECT 1/0");
    return absl::OkStatus();
  }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("division by zero")));
  EXPECT_THAT(pool.WithTransaction([](pqxx::work& txn) {
    txn.exec("INSERT INTO pgtest.items (id) VALUES (99)");  // name is NOT NULL
    return absl::OkStatus();
  }),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(pool.WithTransaction([](pqxx::work& txn) {
    txn.exec("SELEC nonsense");
    return absl::OkStatus();
  }),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("42601")));
  // The pool still works after every error.
  EXPECT_THAT(SelectOne(pool), IsOk());
}

TEST(PgPoolTest, SerializationFailureIsAborted) {
  TestDatabase db;
  PgPool pool({db.dsn(), 2});
  ASSERT_THAT(ApplyMigrations(pool, "pgtest", TestMigrations()), IsOk());
  ASSERT_THAT(pool.WithTransaction([](pqxx::work& txn) {
    txn.exec("INSERT INTO pgtest.items VALUES (1, 'a')");
    return absl::OkStatus();
  }),
              IsOk());
  // Two serializable transactions that read then write the same row: the
  // second to commit fails with SQLSTATE 40001.
  pqxx::connection c1(db.dsn()), c2(db.dsn());
  pqxx::work t1(c1), t2(c2);
  t1.exec("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
  t2.exec("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
  t1.exec("SELECT name FROM pgtest.items WHERE id = 1");
  t2.exec("SELECT name FROM pgtest.items WHERE id = 1");
  t1.exec("UPDATE pgtest.items SET name = 'b' WHERE id = 1");
  t1.commit();
  absl::Status status;
  try {
    t2.exec("UPDATE pgtest.items SET name = 'c' WHERE id = 1");
    t2.commit();
  } catch (const std::exception& e) {
    status = MapPgException(e);
  }
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted));
}

TEST(PgPoolTest, ManyThreadsShareAFewConnections) {
  TestDatabase db;
  PgPool pool({db.dsn(), 3});
  ASSERT_THAT(ApplyMigrations(pool, "pgtest", TestMigrations()), IsOk());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const int id = t * 1000 + i;
        absl::Status s = pool.WithTransaction([id](pqxx::work& txn) {
          txn.exec_params("INSERT INTO pgtest.items VALUES ($1, 'x')", id);
          return absl::OkStatus();
        });
        if (!s.ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto count = pool.Transact<int64_t>([](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    return txn.exec("SELECT count(*) FROM pgtest.items")[0][0].as<int64_t>();
  });
  EXPECT_THAT(count, IsOkAndHolds(200));
}

// Postgres restarted while the pool's connections sat idle (as after a
// crash): each connection is opened again on its next use instead of failing
// the request that takes it. Fails when the pool hands out a connection only
// because libpq still calls it open.
TEST(PgPoolTest, ConnectionsIdleThroughARestartAreOpenedAgain) {
  PrivatePostgres server;
  ASSERT_THAT(server.Start(), IsOk());
  constexpr int kSize = 4;
  PgPool pool({server.dsn(), kSize});
  // Uses every connection of the pool at once; returns each use's status.
  auto use_all = [&pool] {
    std::mutex mu;
    std::condition_variable all_in;
    int inside = 0;
    std::vector<absl::Status> statuses(kSize);
    std::vector<std::thread> threads;
    for (int t = 0; t < kSize; ++t) {
      threads.emplace_back([&, t] {
        statuses[t] = pool.WithConnection([&](pqxx::connection& conn) {
          pqxx::nontransaction txn(conn);
          txn.exec("SELECT 1");
          std::unique_lock<std::mutex> lock(mu);
          ++inside;
          all_in.notify_all();
          all_in.wait(lock, [&] { return inside == kSize; });
          return absl::OkStatus();
        });
        if (!statuses[t].ok()) {  // failed before counting itself in
          std::lock_guard<std::mutex> lock(mu);
          ++inside;
          all_in.notify_all();
        }
      });
    }
    for (auto& thread : threads) thread.join();
    return statuses;
  };
  for (const absl::Status& status : use_all()) ASSERT_THAT(status, IsOk());
  ASSERT_THAT(server.Stop(), IsOk());
  ASSERT_THAT(server.Start(), IsOk());
  for (const absl::Status& status : use_all()) EXPECT_THAT(status, IsOk());
}

// A database of the given locale beside the test database, dropped on exit.
class LocaleDatabase {
 public:
  LocaleDatabase(const TestDatabase& base, const std::string& suffix, const std::string& locale)
      : admin_dsn_(agentwatch::testing::RequireEnv("AGENTWATCH_TEST_PG_DSN")) {
    const std::string base_dsn = base.dsn();
    const size_t at = base_dsn.rfind("dbname=");
    name_ = base_dsn.substr(at + 7) + suffix;
    dsn_ = base_dsn.substr(0, at) + "dbname=" + name_;
    pqxx::connection admin(admin_dsn_);
    pqxx::nontransaction txn(admin);
    txn.exec(
        absl::StrCat("CREATE DATABASE ", name_, " TEMPLATE template0 ENCODING 'UTF8' ", locale));
  }
  ~LocaleDatabase() {
    try {
      pqxx::connection admin(admin_dsn_);
      pqxx::nontransaction txn(admin);
      txn.exec(absl::StrCat("DROP DATABASE IF EXISTS ", name_, " WITH (FORCE)"));
    } catch (const std::exception&) {
      // A throwaway server's leftover; not a test failure.
    }
  }
  const std::string& name() const { return name_; }
  const std::string& dsn() const { return dsn_; }

 private:
  std::string admin_dsn_;
  std::string name_;
  std::string dsn_;
};

TEST(PgCollationTest, OnlyCAndPosixCompareBytewise) {
  TestDatabase db;
  struct Case {
    std::string suffix;
    std::string locale;
    std::string name;
    bool bytewise;
  };
  const std::vector<Case> cases = {
      {"_c", "LOCALE 'C'", "C", true},
      {"_posix", "LOCALE 'POSIX'", "C", true},  // Postgres names it C
      // Codepoint order, but Postgres 15 compares it through strcoll.
      {"_cutf8", "LOCALE 'C.UTF-8'", "C.UTF-8", false},
      {"_icu", "LOCALE 'C' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'", "icu:en-US", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.locale);
    LocaleDatabase database(db, c.suffix, c.locale);
    pqxx::connection conn(database.dsn());
    absl::StatusOr<PgDatabaseCollation> collation = DatabaseCollation(conn);
    ASSERT_THAT(collation, IsOk());
    EXPECT_EQ(collation->database, database.name());
    EXPECT_EQ(collation->name, c.name);
    EXPECT_EQ(collation->bytewise, c.bytewise);
    const std::string warning = CollationWarning(*collation);
    if (c.bytewise) {
      EXPECT_EQ(warning, "");
    } else {
      EXPECT_THAT(warning, HasSubstr(database.name()));
      EXPECT_THAT(warning, HasSubstr(c.name));
      EXPECT_THAT(warning, HasSubstr("LOCALE 'C'"));
    }
    // Migrations apply on any collation; the logged warning is all that differs.
    PgPool pool({database.dsn(), 1});
    ::testing::internal::CaptureStderr();
    const absl::Status applied = ApplyMigrations(pool, "pgtest", TestMigrations());
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_THAT(applied, IsOk());
    if (c.bytewise) {
      EXPECT_THAT(log, Not(HasSubstr("not bytewise")));
    } else {
      EXPECT_THAT(log, HasSubstr(absl::StrCat("\"collation\":\"", c.name, "\"")));
    }
  }
}

TEST(MigrationsTest, ConcurrentStartsApplyEachMigrationOnce) {
  TestDatabase db;
  std::vector<std::thread> threads;
  std::vector<absl::Status> results(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      PgPool pool({db.dsn(), 1});
      results[i] = ApplyMigrations(pool, "pgtest", TestMigrations());
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& status : results) EXPECT_THAT(status, IsOk());
  PgPool pool({db.dsn(), 1});
  ASSERT_THAT(ApplyMigrations(pool, "pgtest", TestMigrations()), IsOk());  // idempotent
  auto applied = pool.Transact<int64_t>([](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    return txn.exec("SELECT count(*) FROM pgtest.applied")[0][0].as<int64_t>();
  });
  EXPECT_THAT(applied, IsOkAndHolds(1));
  auto recorded = pool.Transact<int64_t>([](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    return txn.exec("SELECT count(*) FROM pgtest.schema_migrations")[0][0].as<int64_t>();
  });
  EXPECT_THAT(recorded, IsOkAndHolds(3));  // the shared outbox + two of ours
}

TEST(MigrationsTest, FailedMigrationIsNotRecordedAndRejectsBadSchema) {
  TestDatabase db;
  PgPool pool({db.dsn(), 1});
  const std::vector<Migration> broken = {{1, "001_bad", "CREATE TABLE pgtest.x (;"}};
  EXPECT_THAT(ApplyMigrations(pool, "pgtest", broken), StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(ApplyMigrations(pool, "pgtest", TestMigrations()), IsOk());
  EXPECT_THAT(ApplyMigrations(pool, "Bad-Schema", TestMigrations()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PgPoolTest, UnreachableServerIsUnavailableAndThePoolRecovers) {
  PrivatePostgres server;
  PgPool pool({server.dsn(), 2, absl::Seconds(2)});
  EXPECT_THAT(SelectOne(pool), StatusIs(absl::StatusCode::kUnavailable));  // not started yet
  ASSERT_THAT(server.Start(), IsOk());
  EXPECT_THAT(SelectOne(pool), IsOk());
  ASSERT_THAT(server.Stop(), IsOk());
  EXPECT_THAT(SelectOne(pool), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(server.Start(), IsOk());
  EXPECT_THAT(SelectOne(pool), IsOk());
}

TEST(PgTextArrayTest, RoundTripsThroughPostgres) {
  TestDatabase db;
  PgPool pool({db.dsn(), 1});
  std::vector<std::string> values = {
      "",          "NULL",  "a,b",      "{x}",          R"(say "hi")",
      R"(C:\dir)", R"(\")", " padded ", "h\xC3\xA9llo", "tab\tnew\nline"};
  std::mt19937 random(7);
  const std::string alphabet = "ab,{}\"\\ \t'";
  for (int i = 0; i < 200; ++i) {
    std::string value;
    for (int n = static_cast<int>(random() % 12); n > 0; --n) {
      value.push_back(alphabet[random() % alphabet.size()]);
    }
    values.push_back(value);
  }
  auto stored = pool.Transact<std::vector<std::string>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<std::string>> {
        std::vector<std::string> out;
        for (const auto& row : txn.exec_params(
                 "SELECT v FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i",
                 PgTextArray(values))) {
          EXPECT_FALSE(row[0].is_null());
          out.push_back(row[0].as<std::string>());
        }
        return out;
      });
  EXPECT_THAT(stored, IsOkAndHolds(values));
}

// PgByteaArray (built by PgBinaryArray): every byte value, empty elements and
// the empty array come back from Postgres as they were sent.
TEST(PgByteaArrayTest, RoundTripsThroughPostgres) {
  TestDatabase db;
  PgPool pool({db.dsn(), 1});
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  const std::vector<std::string> values = {every_byte, "", std::string(1, '\0'), "plain",
                                           std::string(100000, '\xff')};
  for (const std::vector<std::string>& sent : {values, std::vector<std::string>{}}) {
    auto stored = pool.Transact<std::vector<std::string>>(
        [&](pqxx::work& txn) -> absl::StatusOr<std::vector<std::string>> {
          std::vector<std::string> out;
          for (const auto& row :
               txn.exec_params("SELECT v FROM unnest($1::bytea[]) WITH ORDINALITY AS u(v, i) "
                               "ORDER BY i",
                               PgByteaArray(sent))) {
            EXPECT_FALSE(row[0].is_null());
            out.push_back(pqxx::binarystring(row[0]).str());
          }
          return out;
        });
    EXPECT_THAT(stored, IsOkAndHolds(sent));
  }
}

}  // namespace
}  // namespace agentwatch::common
