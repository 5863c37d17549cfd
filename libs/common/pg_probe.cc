#include "common/pg_probe.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/pg.h"

namespace agentwatch::common {

PgProbe::PgProbe(std::string dsn) : dsn_(DsnWithClientDefaults(dsn)) {}

PgProbe::~PgProbe() { Drop(); }

void PgProbe::Drop() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
}

absl::Status PgProbe::Ping(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status status;
  if (conn_ != nullptr && PQstatus(conn_) != CONNECTION_OK) Drop();
  if (conn_ == nullptr) status = Connect(deadline);
  if (status.ok()) status = Query(deadline);
  if (!status.ok()) Drop();
  return status;
}

absl::Status PgProbe::Wait(bool for_write, absl::Time deadline, const char* what) {
  const int fd = PQsocket(conn_);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("postgres: no socket while ", what));
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::UnavailableError(absl::StrCat("postgres did not answer in time (", what, ")"));
    }
    pollfd p{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    const int ms = static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(left)));
    const int n = poll(&p, 1, ms);
    if (n > 0) return absl::OkStatus();
    if (n < 0 && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("postgres: poll failed while ", what));
    }
  }
}

absl::Status PgProbe::Connect(absl::Time deadline) {
  conn_ = PQconnectStart(dsn_.c_str());
  if (conn_ == nullptr) return absl::UnavailableError("postgres: cannot start a connection");
  // libpq's documented loop: wait for what PQconnectPoll asks for, then poll
  // it again, until it says OK or FAILED.
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  for (;;) {
    if (PQstatus(conn_) == CONNECTION_BAD) state = PGRES_POLLING_FAILED;
    if (state == PGRES_POLLING_OK) break;
    if (state == PGRES_POLLING_FAILED) {
      return absl::UnavailableError(absl::StrCat("postgres: ", PQerrorMessage(conn_)));
    }
    if (absl::Status s = Wait(state == PGRES_POLLING_WRITING, deadline, "connecting"); !s.ok()) {
      return s;
    }
    state = PQconnectPoll(conn_);
  }
  if (PQsetnonblocking(conn_, 1) != 0) {
    return absl::UnavailableError("postgres: cannot make the probe connection non-blocking");
  }
  return absl::OkStatus();
}

absl::Status PgProbe::Query(absl::Time deadline) {
  if (PQsendQuery(conn_, "SELECT 1") != 1) {
    return absl::UnavailableError(absl::StrCat("postgres: ", PQerrorMessage(conn_)));
  }
  for (;;) {  // a few bytes: normally sent at once
    const int flushed = PQflush(conn_);
    if (flushed == 0) break;
    if (flushed < 0)
      return absl::UnavailableError(absl::StrCat("postgres: ", PQerrorMessage(conn_)));
    if (absl::Status s = Wait(true, deadline, "sending the probe"); !s.ok()) return s;
  }
  bool answered = false;
  for (;;) {
    while (PQisBusy(conn_)) {
      if (absl::Status s = Wait(false, deadline, "waiting for the probe's answer"); !s.ok()) {
        return s;
      }
      if (PQconsumeInput(conn_) != 1) {
        return absl::UnavailableError(absl::StrCat("postgres: ", PQerrorMessage(conn_)));
      }
    }
    PGresult* result = PQgetResult(conn_);
    if (result == nullptr) break;  // the query's results are all read
    const bool ok = PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1;
    std::string error = ok ? "" : PQresultErrorMessage(result);
    PQclear(result);
    if (!ok) return absl::UnavailableError(absl::StrCat("postgres: probe failed: ", error));
    answered = true;
  }
  if (!answered) return absl::UnavailableError("postgres: the probe got no result");
  return absl::OkStatus();
}

}  // namespace agentwatch::common
