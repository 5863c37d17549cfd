// Postgres pool, transactions, error mapping and migrations against a real
// server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/pg.h"
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

// PgCopyText hands rows to libpq in pieces of whole rows: with 40-byte
// pieces, rows written one by one and rows added as one block of many arrive
// once each, whole (escaped tabs, newlines and backslashes inside values);
// a key already there fails the transaction.
TEST(PgCopyTextTest, RowsInPiecesArriveOnceEachAndWhole) {
  TestDatabase db;
  PgPool pool({db.dsn(), 1});
  ASSERT_THAT(ApplyMigrations(pool, "pgtest", TestMigrations()), IsOk());
  std::string block;
  for (int id = 100; id < 300; ++id) {
    if (!block.empty()) block.push_back('\n');
    absl::StrAppend(&block, id, "\tblock\\t", id, "\\nline\\\\");
  }
  ASSERT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    PgCopyText copy(txn, "pgtest.items", {"id", "name"}, 40);
    for (int id = 1; id <= 50; ++id) {
      absl::StrAppend(copy.BeginRow(), id, "\trow ", id);
      copy.EndRow();
    }
    copy.AddRows(block);
    copy.AddRows("");
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
  EXPECT_THAT(pool.WithTransaction([](pqxx::work& txn) {
    PgCopyText copy(txn, "pgtest.items", {"id", "name"});
    copy.AddRows("300\tnew\n1\tagain");
    copy.Complete();
    return absl::OkStatus();
  }),
              StatusIs(absl::StatusCode::kAlreadyExists));
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
  EXPECT_THAT(pool.Ping(), IsOk());
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
  EXPECT_THAT(pool.Ping(), StatusIs(absl::StatusCode::kUnavailable));  // not started yet
  ASSERT_THAT(server.Start(), IsOk());
  EXPECT_THAT(pool.Ping(), IsOk());
  ASSERT_THAT(server.Stop(), IsOk());
  EXPECT_THAT(pool.Ping(), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(server.Start(), IsOk());
  EXPECT_THAT(pool.Ping(), IsOk());
}

TEST(PgTextArrayTest, RoundTripsThroughPostgres) {
  TestDatabase db;
  PgPool pool({db.dsn(), 1});
  std::vector<std::string> values = {"", "NULL", "a,b", "{x}", R"(say "hi")", R"(C:\dir)",
                                     R"(\")", " padded ", "h\xC3\xA9llo", "tab\tnew\nline"};
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

}  // namespace
}  // namespace agentwatch::common
