// What integration tests need from the environment scripts/test sets up:
// a throwaway Postgres server (AGENTWATCH_TEST_PG_DSN) and Redis
// (AGENTWATCH_TEST_REDIS). Missing servers fail the test, never skip it.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace agentwatch::testing {

// The value of `name`; the test fails (fatally, via ADD_FAILURE + abort of
// the calling test through the returned empty string check) when unset.
std::string RequireEnv(const std::string& name);

// A fresh database on the test server, dropped when this object dies, so
// that tests never see each other's rows.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  // libpq DSN of the fresh database.
  const std::string& dsn() const { return dsn_; }
  const std::string& name() const { return name_; }

 private:
  std::string admin_dsn_;
  std::string name_;
  std::string dsn_;
};

// A private Postgres server in a temp dir (initdb + pg_ctl as the postgres
// user), for tests that must stop and restart the server. Uses the binaries
// in AGENTWATCH_TEST_PG_BINDIR.
class PrivatePostgres {
 public:
  PrivatePostgres();
  ~PrivatePostgres();
  absl::Status Start();
  absl::Status Stop();
  // SIGSTOP / SIGCONT to the server and its backends: a server that keeps its
  // connections open but answers nothing (a paused VM, a stuck process).
  absl::Status Freeze();
  absl::Status Thaw();
  const std::string& dsn() const { return dsn_; }
  int port() const { return port_; }

 private:
  std::string bindir_;
  std::string dir_;
  int port_ = 0;
  std::string dsn_;
  bool running_ = false;
  bool frozen_ = false;
};

// A TCP port that was free a moment ago on 127.0.0.1.
int FreePort();

// A socket on 127.0.0.1 that listens and never accepts: the kernel completes
// a client's TCP handshake and then nothing ever answers, as from a server
// that is paused or stuck. Closed on destruction.
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Redis host and port from AGENTWATCH_TEST_REDIS.
void TestRedis(std::string* host, int* port);

}  // namespace agentwatch::testing
