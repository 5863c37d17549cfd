// A health probe of Postgres that always answers within its timeout.
//
// The pool's connections block in libpq until the server answers. A server
// that stops answering without closing its sockets (a frozen or paused
// process, a partitioned network whose packets are dropped, a full disk
// holding a backend) leaves a probe through the pool waiting with them, and
// readiness then keeps its last answer, "ready", for as long as that lasts.
// PgProbe keeps one connection of its own and drives it with libpq's
// non-blocking calls against a deadline: connect, send `SELECT 1`, read the
// answer. Past the deadline it drops the connection and answers UNAVAILABLE;
// the next probe connects again.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

struct pg_conn;

namespace agentwatch::common {

class PgProbe {
 public:
  explicit PgProbe(std::string dsn);
  ~PgProbe();
  PgProbe(const PgProbe&) = delete;
  PgProbe& operator=(const PgProbe&) = delete;

  // OK once the server answered `SELECT 1` within `timeout` (connecting
  // first when needed); UNAVAILABLE naming what did not happen in time or
  // what failed. Not thread-safe: one caller (the health loop).
  absl::Status Ping(absl::Duration timeout);

 private:
  absl::Status Connect(absl::Time deadline);
  absl::Status Query(absl::Time deadline);
  // Waits until the connection's socket is readable (or writable) or the
  // deadline passes.
  absl::Status Wait(bool for_write, absl::Time deadline, const char* what);
  void Drop();

  std::string dsn_;
  pg_conn* conn_ = nullptr;
};

}  // namespace agentwatch::common
