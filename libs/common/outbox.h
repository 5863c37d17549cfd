// The transactional outbox: work for another service is written in the same
// transaction as the change that causes it, and a dispatcher delivers it with
// retries and exponential backoff. An acknowledged change therefore survives
// a peer, Redis or this process being down. Delivery is at least once; every
// receiver is idempotent by the message's idempotency key.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/pg.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
}  // namespace prometheus

namespace agentwatch::common {

// A message to enqueue.
struct OutboxMessage {
  std::string tenant;
  std::string destination;      // e.g. "incident.ReportAlerts"
  std::string idempotency_key;  // unique per destination; a repeat is ignored
  std::string payload;          // usually a serialized protobuf message
};

// A message being delivered.
struct OutboxEntry {
  int64_t id = 0;
  std::string tenant;
  std::string idempotency_key;
  std::string payload;
  std::string traceparent;
  int attempts = 0;
};

// Delivers a batch of entries to one destination. OK marks all delivered; an
// error retries all of them later (receivers are idempotent, so a partly
// applied batch is safe to resend).
using OutboxHandler = std::function<absl::Status(const std::vector<OutboxEntry>&)>;

// The delay before attempt `attempts` + 1: base * 2^attempts capped at `max`,
// scaled by `jitter` in [0.5, 1.5). Pure.
absl::Duration OutboxBackoff(int attempts, absl::Duration base, absl::Duration max, double jitter);

// Adds `message` to <schema>.outbox inside `txn`. The current thread's trace
// is stored with it so the trace continues when it is delivered.
void EnqueueOutbox(pqxx::work& txn, const std::string& schema, const OutboxMessage& message);

// Adds every message to <schema>.outbox inside `txn` in one statement, with
// the same rows, trace and conflict rule as EnqueueOutbox. Rows are written in
// (destination, idempotency_key) order, so two transactions enqueueing the
// same keys never wait for each other in opposite orders.
void EnqueueOutboxBatch(pqxx::work& txn, const std::string& schema,
                        std::vector<OutboxMessage> messages);

struct OutboxDispatcherOptions {
  std::string schema;
  int batch_size = 500;
  absl::Duration poll_interval = absl::Milliseconds(250);
  absl::Duration backoff_base = absl::Milliseconds(200);
  absl::Duration backoff_max = absl::Seconds(60);
  int max_attempts = 50;  // then the entry is kept but marked dead
  // The destinations this dispatcher claims: only `destinations` when that is
  // not empty, and never those in `excluded_destinations`. A service whose
  // outbox carries both urgent and bulk messages (monitor: alerts and
  // forwarded usage) runs a dispatcher for the urgent destinations and one
  // for everything else, so that an alert never waits behind a backlog of
  // bulk deliveries, and an entry of a destination nobody handles is still
  // claimed by someone (it fails for want of a handler and goes dead in
  // the end instead of waiting unseen).
  std::vector<std::string> destinations;
  std::vector<std::string> excluded_destinations;
};

// Polls the outbox (and wakes early on Notify), claims due entries with
// FOR UPDATE SKIP LOCKED so that several replicas never deliver the same
// entry at once, and hands them to the destination's handler.
class OutboxDispatcher {
 public:
  OutboxDispatcher(PgPool& pool, OutboxDispatcherOptions options, prometheus::Registry& registry,
                   const std::string& metric_prefix);
  ~OutboxDispatcher();

  // Registers the handler for a destination; before Start only.
  void AddHandler(const std::string& destination, OutboxHandler handler);

  void Start();
  void Stop();
  // Asks for a dispatch pass now (after a commit that enqueued work).
  void Notify();

  // One pass over due entries; returns how many were delivered. For tests and
  // the loop.
  absl::StatusOr<int> DispatchOnce();

  // Entries not yet delivered (dead ones included), of every destination.
  absl::StatusOr<int64_t> Depth();

 private:
  void Run();

  PgPool& pool_;
  OutboxDispatcherOptions options_;
  std::map<std::string, OutboxHandler> handlers_;
  prometheus::Counter* delivered_;
  prometheus::Counter* failed_;
  prometheus::Gauge* depth_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool notified_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace agentwatch::common
