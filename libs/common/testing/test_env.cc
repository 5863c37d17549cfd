#include "common/testing/test_env.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <pqxx/pqxx>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/config.h"
#include "common/status_macros.h"

namespace agentwatch::testing {
namespace {

int RunShell(const std::string& command) { return std::system(command.c_str()); }

}  // namespace

std::string RequireEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0') {
    // Integration tests fail, never skip, when their servers are missing.
    ADD_FAILURE() << name << " is not set: run the tests through scripts/test, which starts "
                  << "the servers they need";
    std::abort();
  }
  return value;
}

TestDatabase::TestDatabase() : admin_dsn_(RequireEnv("AGENTWATCH_TEST_PG_DSN")) {
  absl::BitGen gen;
  name_ = absl::StrCat("aw_test_", absl::Uniform<uint64_t>(gen));
  pqxx::connection admin(admin_dsn_);
  pqxx::nontransaction txn(admin);
  txn.exec(absl::StrCat("CREATE DATABASE ", name_));
  // Replace (or append) dbname in the keyword DSN.
  std::string dsn;
  for (absl::string_view part : absl::StrSplit(admin_dsn_, ' ', absl::SkipEmpty())) {
    if (absl::StartsWith(part, "dbname=")) continue;
    absl::StrAppend(&dsn, part, " ");
  }
  dsn_ = absl::StrCat(dsn, "dbname=", name_);
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection admin(admin_dsn_);
    pqxx::nontransaction txn(admin);
    txn.exec(absl::StrCat("DROP DATABASE IF EXISTS ", name_, " WITH (FORCE)"));
  } catch (const std::exception& e) {
    // A failed drop leaves a database in a throwaway server; not a test failure.
  }
}

PrivatePostgres::PrivatePostgres() : bindir_(RequireEnv("AGENTWATCH_TEST_PG_BINDIR")) {
  char pattern[] = "/tmp/aw_pg_XXXXXX";
  dir_ = mkdtemp(pattern);
  RunShell(absl::StrCat("chown postgres: ", dir_, " && chmod 700 ", dir_));
  port_ = FreePort();
  dsn_ = absl::StrCat("host=127.0.0.1 port=", port_,
                      " user=postgres dbname=postgres connect_timeout=2");
  const std::string initdb =
      absl::StrCat("runuser -u postgres -- ", bindir_, "/initdb -D ", dir_,
                   "/data -U postgres --auth=trust >", dir_, "/initdb.log 2>&1");
  if (RunShell(initdb) != 0) ADD_FAILURE() << "initdb failed; see " << dir_ << "/initdb.log";
}

PrivatePostgres::~PrivatePostgres() {
  if (frozen_) (void)Thaw();
  if (running_) (void)Stop();
  RunShell(absl::StrCat("rm -rf ", dir_));
}

absl::Status PrivatePostgres::Start() {
  const std::string command = absl::StrCat(
      "runuser -u postgres -- ", bindir_, "/pg_ctl -w -t 30 -D ", dir_, "/data -l ", dir_,
      "/server.log -o \"-p ", port_, " -k ", dir_, " -c listen_addresses=127.0.0.1",
      " -c fsync=off -c synchronous_commit=off -c full_page_writes=off\" start >/dev/null");
  if (RunShell(command) != 0) {
    return absl::InternalError(absl::StrCat("pg_ctl start failed; see ", dir_, "/server.log"));
  }
  running_ = true;
  return absl::OkStatus();
}

absl::Status PrivatePostgres::Stop() {
  const std::string command = absl::StrCat("runuser -u postgres -- ", bindir_, "/pg_ctl -w -D ",
                                           dir_, "/data -m immediate stop >/dev/null");
  if (RunShell(command) != 0) return absl::InternalError("pg_ctl stop failed");
  running_ = false;
  return absl::OkStatus();
}

namespace {

// `signal` to the postmaster of the cluster in `data_dir` and to its children.
absl::Status SignalServer(const std::string& data_dir, const char* signal) {
  const std::string command =
      absl::StrCat("pid=$(head -n 1 ", data_dir, "/postmaster.pid) && kill -", signal,
                   " \"$pid\" && { pkill -", signal, " -P \"$pid\" || true; }");
  if (RunShell(command) != 0) {
    return absl::InternalError(absl::StrCat("cannot send SIG", signal, " to the server"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status PrivatePostgres::Freeze() {
  RETURN_IF_ERROR(SignalServer(absl::StrCat(dir_, "/data"), "STOP"));
  frozen_ = true;
  return absl::OkStatus();
}

absl::Status PrivatePostgres::Thaw() {
  RETURN_IF_ERROR(SignalServer(absl::StrCat(dir_, "/data"), "CONT"));
  frozen_ = false;
  return absl::OkStatus();
}

SilentListener::SilentListener() {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd_, 16) != 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "cannot listen on 127.0.0.1";
    return;
  }
  port_ = ntohs(addr.sin_port);
}

SilentListener::~SilentListener() {
  if (fd_ >= 0) close(fd_);
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

void TestRedis(std::string* host, int* port) {
  const std::string value = RequireEnv("AGENTWATCH_TEST_REDIS");
  if (!common::ParseHostPort("AGENTWATCH_TEST_REDIS", value, host, port).ok()) {
    ADD_FAILURE() << "AGENTWATCH_TEST_REDIS is not host:port: " << value;
    std::abort();
  }
}

}  // namespace agentwatch::testing
