#include "common/outbox.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <tuple>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/pg.h"
#include "common/status.h"
#include "common/trace.h"

namespace agentwatch::common {

absl::Duration OutboxBackoff(int attempts, absl::Duration base, absl::Duration max, double jitter) {
  const int exponent = std::min(attempts, 30);
  absl::Duration delay = base * std::ldexp(1.0, exponent);
  if (delay > max) delay = max;
  return delay * jitter;
}

void EnqueueOutbox(pqxx::work& txn, const std::string& schema, const OutboxMessage& message) {
  const TraceContext& trace = CurrentTrace();
  const pqxx::binarystring payload(message.payload);
  txn.exec_params(absl::StrCat("INSERT INTO ", schema,
                               ".outbox (tenant_id, destination, idempotency_key, payload, "
                               "traceparent) VALUES ($1, $2, $3, $4, $5) "
                               "ON CONFLICT (destination, idempotency_key) DO NOTHING"),
                  message.tenant, message.destination, message.idempotency_key, payload,
                  trace.valid() ? trace.ToTraceparent() : std::string());
}

void EnqueueOutboxBatch(pqxx::work& txn, const std::string& schema,
                        std::vector<OutboxMessage> messages) {
  if (messages.empty()) return;
  std::sort(messages.begin(), messages.end(), [](const OutboxMessage& a, const OutboxMessage& b) {
    return std::tie(a.destination, a.idempotency_key) < std::tie(b.destination, b.idempotency_key);
  });
  std::vector<std::string> tenants, destinations, keys, payloads;
  tenants.reserve(messages.size());
  destinations.reserve(messages.size());
  keys.reserve(messages.size());
  payloads.reserve(messages.size());
  for (OutboxMessage& message : messages) {
    tenants.push_back(std::move(message.tenant));
    destinations.push_back(std::move(message.destination));
    keys.push_back(std::move(message.idempotency_key));
    payloads.push_back(std::move(message.payload));
  }
  const TraceContext& trace = CurrentTrace();
  txn.exec_params(
      absl::StrCat("INSERT INTO ", schema,
                   ".outbox (tenant_id, destination, idempotency_key, payload, traceparent) "
                   "SELECT t, d, k, p, $1::text FROM unnest($2::text[], $3::text[], $4::text[], "
                   "$5::bytea[]) WITH ORDINALITY AS u(t, d, k, p, i) "
                   "ORDER BY i ON CONFLICT (destination, idempotency_key) DO NOTHING"),
      trace.valid() ? trace.ToTraceparent() : std::string(), PgTextArray(tenants),
      PgTextArray(destinations), PgTextArray(keys), PgByteaArray(payloads));
}

OutboxDispatcher::OutboxDispatcher(PgPool& pool, OutboxDispatcherOptions options,
                                   prometheus::Registry& registry, const std::string& metric_prefix)
    : pool_(pool), options_(std::move(options)) {
  auto& delivered = prometheus::BuildCounter()
                        .Name(metric_prefix + "_outbox_delivered_total")
                        .Help("Outbox entries delivered to their destination")
                        .Register(registry);
  auto& failed = prometheus::BuildCounter()
                     .Name(metric_prefix + "_outbox_delivery_failures_total")
                     .Help("Outbox delivery attempts that failed and will be retried")
                     .Register(registry);
  auto& depth = prometheus::BuildGauge()
                    .Name(metric_prefix + "_outbox_depth")
                    .Help("Outbox entries waiting for delivery")
                    .Register(registry);
  delivered_ = &delivered.Add({});
  failed_ = &failed.Add({});
  depth_ = &depth.Add({});
}

OutboxDispatcher::~OutboxDispatcher() { Stop(); }

void OutboxDispatcher::AddHandler(const std::string& destination, OutboxHandler handler) {
  handlers_[destination] = std::move(handler);
}

void OutboxDispatcher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void OutboxDispatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OutboxDispatcher::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    notified_ = true;
  }
  wake_.notify_all();
}

void OutboxDispatcher::Run() {
  // The depth gauge counts the table (a scan of every row): refreshed at
  // most once a second, not after every pass of a busy dispatcher.
  constexpr auto kDepthInterval = std::chrono::seconds(1);
  auto depth_due = std::chrono::steady_clock::now();
  while (true) {
    absl::StatusOr<int> delivered = DispatchOnce();
    if (!delivered.ok()) {
      LogWarning("outbox dispatch failed", {{"error", delivered.status().ToString()}});
    }
    if (const auto now = std::chrono::steady_clock::now(); now >= depth_due) {
      if (auto depth = Depth(); depth.ok()) depth_->Set(static_cast<double>(*depth));
      depth_due = now + kDepthInterval;
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) return;
    // A full batch means more may be due: go again at once.
    if (delivered.ok() && *delivered >= options_.batch_size) continue;
    wake_.wait_for(lock, absl::ToChronoMilliseconds(options_.poll_interval),
                   [this] { return stopping_ || notified_; });
    notified_ = false;
    if (stopping_) return;
  }
}

absl::StatusOr<int> OutboxDispatcher::DispatchOnce() {
  thread_local absl::BitGen gen;
  const std::string table = absl::StrCat(options_.schema, ".outbox");
  return pool_.Transact<int>([&](pqxx::work& txn) -> absl::StatusOr<int> {
    // $2 / $3: the claimed and excluded destinations (an empty list: no filter).
    const pqxx::result rows = txn.exec_params(
        absl::StrCat("SELECT id, tenant_id, destination, idempotency_key, payload, traceparent, "
                     "attempts FROM ",
                     table,
                     " WHERE NOT dead AND next_attempt_at <= now() "
                     "AND (cardinality($2::text[]) = 0 OR destination = ANY($2::text[])) "
                     "AND NOT (destination = ANY($3::text[])) "
                     "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"),
        options_.batch_size, PgTextArray(options_.destinations),
        PgTextArray(options_.excluded_destinations));
    std::map<std::string, std::vector<OutboxEntry>> by_destination;
    for (const auto& row : rows) {
      OutboxEntry entry;
      entry.id = row[0].as<int64_t>();
      entry.tenant = row[1].as<std::string>();
      entry.idempotency_key = row[3].as<std::string>();
      entry.payload = pqxx::binarystring(row[4]).str();
      entry.traceparent = row[5].as<std::string>();
      entry.attempts = row[6].as<int>();
      by_destination[row[2].as<std::string>()].push_back(std::move(entry));
    }
    int delivered = 0;
    for (auto& [destination, entries] : by_destination) {
      const auto handler = handlers_.find(destination);
      absl::Status status =
          handler == handlers_.end()
              ? absl::FailedPreconditionError(absl::StrCat("no handler for ", destination))
              : absl::OkStatus();
      if (status.ok()) {
        std::optional<TraceContext> trace;
        if (!entries.front().traceparent.empty()) {
          trace = ParseTraceparent(entries.front().traceparent);
        }
        ScopedTrace scoped(trace.value_or(TraceContext::NewRoot()));
        status = handler->second(entries);
      }
      std::vector<int64_t> ids;
      for (const OutboxEntry& entry : entries) ids.push_back(entry.id);
      std::string id_list = "{";
      for (size_t i = 0; i < ids.size(); ++i) absl::StrAppend(&id_list, i ? "," : "", ids[i]);
      id_list += "}";
      if (status.ok()) {
        txn.exec_params(absl::StrCat("DELETE FROM ", table, " WHERE id = ANY($1::bigint[])"),
                        id_list);
        delivered += static_cast<int>(entries.size());
        delivered_->Increment(static_cast<double>(entries.size()));
        continue;
      }
      failed_->Increment();
      const int attempts = entries.front().attempts;
      const absl::Duration delay = OutboxBackoff(
          attempts, options_.backoff_base, options_.backoff_max, absl::Uniform(gen, 0.5, 1.5));
      LogWarning("outbox delivery failed; will retry", {{"destination", destination},
                                                        {"entries", absl::StrCat(entries.size())},
                                                        {"attempts", absl::StrCat(attempts + 1)},
                                                        {"retry_in", absl::FormatDuration(delay)},
                                                        {"error", status.ToString()}});
      txn.exec_params(absl::StrCat("UPDATE ", table,
                                   " SET attempts = attempts + 1, last_error = $2, "
                                   "next_attempt_at = now() + make_interval(secs => $3::float8), "
                                   "dead = (attempts + 1 >= $4) WHERE id = ANY($1::bigint[])"),
                      id_list, std::string(status.message()).substr(0, 1000),
                      absl::ToDoubleSeconds(delay), options_.max_attempts);
    }
    return delivered;
  });
}

absl::StatusOr<int64_t> OutboxDispatcher::Depth() {
  return pool_.Transact<int64_t>([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    return txn.exec(absl::StrCat("SELECT count(*) FROM ", options_.schema, ".outbox"))[0][0]
        .as<int64_t>();
  });
}

}  // namespace agentwatch::common
