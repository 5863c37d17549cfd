// The transactional outbox against a real Postgres and a real gRPC peer that
// is down at first and comes back.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/channel.h"
#include "common/outbox.h"
#include "common/status.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "common/trace.h"

namespace agentwatch::common {
namespace {

using ::agentwatch::incident::v1::Alert;
using ::agentwatch::incident::v1::IncidentService;
using ::agentwatch::incident::v1::ReportAlertsRequest;
using ::agentwatch::incident::v1::ReportAlertsResponse;
using ::agentwatch::testing::FreePort;
using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::TestDatabase;

constexpr char kSchema[] = "obtest";
constexpr char kDestination[] = "incident.ReportAlerts";

// A peer that records every alert fingerprint it receives and the traces.
class RecordingPeer final : public IncidentService::CallbackService {
 public:
  grpc::ServerUnaryReactor* ReportAlerts(grpc::CallbackServerContext* context,
                                         const ReportAlertsRequest* request,
                                         ReportAlertsResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Alert& alert : request->alerts()) ++received_[alert.fingerprint()];
    const auto it = context->client_metadata().find(kTraceparentKey);
    if (it != context->client_metadata().end()) {
      traceparents_.emplace_back(it->second.data(), it->second.size());
    }
    response->set_accepted(request->alerts_size());
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  std::map<std::string, int> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  std::vector<std::string> traceparents() {
    std::lock_guard<std::mutex> lock(mu_);
    return traceparents_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> received_;
  std::vector<std::string> traceparents_;
};

std::unique_ptr<grpc::Server> StartPeer(RecordingPeer* peer, int port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials());
  builder.RegisterService(peer);
  return builder.BuildAndStart();
}

OutboxHandler ReportAlertsHandler(std::shared_ptr<grpc::Channel> channel) {
  auto stub = IncidentService::NewStub(channel);
  return [stub = std::shared_ptr<IncidentService::Stub>(std::move(stub))](
             const std::vector<OutboxEntry>& entries) -> absl::Status {
    ReportAlertsRequest request;
    for (const OutboxEntry& entry : entries) {
      if (!request.add_alerts()->ParseFromString(entry.payload)) {
        return absl::DataLossError("unparsable outbox payload");
      }
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    ReportAlertsResponse response;
    return FromGrpcStatus(stub->ReportAlerts(&context, request, &response));
  };
}

absl::Status EnqueueAlert(PgPool& pool, const std::string& fingerprint, bool commit) {
  Alert alert;
  alert.set_fingerprint(fingerprint);
  alert.set_name("TestAlert");
  return pool.WithTransaction([&](pqxx::work& txn) {
    EnqueueOutbox(txn, kSchema,
                  OutboxMessage{"tenant-a", kDestination, fingerprint, alert.SerializeAsString()});
    return commit ? absl::OkStatus() : absl::AbortedError("rolled back on purpose");
  });
}

OutboxDispatcherOptions FastOptions() {
  OutboxDispatcherOptions options;
  options.schema = kSchema;
  options.backoff_base = absl::Milliseconds(5);
  options.backoff_max = absl::Milliseconds(50);
  return options;
}

TEST(OutboxTest, BatchEnqueueWritesWhatSingleEnqueueWritesAndSkipsRepeatedKeys) {
  TestDatabase db;
  PgPool pool({db.dsn(), 2});
  ASSERT_THAT(ApplyMigrations(pool, kSchema, {}), IsOk());
  // Keys and tenants with quotes, backslashes, commas and braces; a payload
  // with NUL and non-UTF-8 bytes.
  const std::string binary("a\0\xff\"{},\\b", 9);
  const std::string odd_key = "k \"1\", {x}\\";
  std::string big(1 << 20, '\0');  // every byte value, a megabyte long
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) >> 3);
  ASSERT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    EnqueueOutbox(txn, kSchema, OutboxMessage{"tenant-a", kDestination, "k-existing", "old"});
    return absl::OkStatus();
  }),
              IsOk());
  const TraceContext trace = TraceContext::NewRoot();
  {
    ScopedTrace scoped(trace);
    ASSERT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
      EnqueueOutboxBatch(txn, kSchema,
                         {OutboxMessage{"tenant \"b\",", kDestination, odd_key, binary},
                          OutboxMessage{"tenant-a", kDestination, "k-existing", "new"},
                          OutboxMessage{"tenant-a", "other.Destination", odd_key, ""},
                          OutboxMessage{"tenant-a", kDestination, "k-2", "two"},
                          OutboxMessage{"tenant-a", kDestination, "k-2", "repeat"},
                          OutboxMessage{"tenant-a", kDestination, "k-big", big}});
      EnqueueOutboxBatch(txn, kSchema, {});
      return absl::OkStatus();
    }),
                IsOk());
  }
  auto rows = pool.Transact<std::vector<std::vector<std::string>>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<std::vector<std::string>>> {
        std::vector<std::vector<std::string>> out;
        for (const auto& row : txn.exec(absl::StrCat(
                 "SELECT tenant_id, destination, idempotency_key, encode(payload, 'hex'), "
                 "traceparent FROM ",
                 kSchema, ".outbox ORDER BY destination COLLATE \"C\", idempotency_key COLLATE \"C\""))) {
          out.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                         row[2].as<std::string>(), row[3].as<std::string>(),
                         row[4].as<std::string>()});
        }
        return out;
      });
  ASSERT_THAT(rows, IsOk());
  const std::string tp = trace.ToTraceparent();
  EXPECT_THAT(*rows,
              ::testing::ElementsAre(
                  ::testing::ElementsAre("tenant \"b\",", kDestination, odd_key,
                                         absl::BytesToHexString(binary), tp),
                  ::testing::ElementsAre("tenant-a", kDestination, "k-2",
                                         absl::BytesToHexString("two"), tp),
                  ::testing::ElementsAre("tenant-a", kDestination, "k-big",
                                         absl::BytesToHexString(big), tp),
                  ::testing::ElementsAre("tenant-a", kDestination, "k-existing",
                                         absl::BytesToHexString("old"), ""),
                  ::testing::ElementsAre("tenant-a", "other.Destination", odd_key, "", tp)));
}

TEST(OutboxTest, DeliversOnceAfterAStoppedPeerComesBack) {
  TestDatabase db;
  PgPool pool({db.dsn(), 4});
  ASSERT_THAT(ApplyMigrations(pool, kSchema, {}), IsOk());
  const TraceContext trace = TraceContext::NewRoot();
  {
    ScopedTrace scoped(trace);
    ASSERT_THAT(EnqueueAlert(pool, "fp-1", true), IsOk());
    ASSERT_THAT(EnqueueAlert(pool, "fp-2", true), IsOk());
    ASSERT_THAT(EnqueueAlert(pool, "fp-2", true), IsOk());  // same key: ignored
    ASSERT_FALSE(EnqueueAlert(pool, "fp-rolled-back", false).ok());
  }

  prometheus::Registry registry;
  OutboxDispatcher dispatcher(pool, FastOptions(), registry, "agentwatch_test");
  const int port = FreePort();
  dispatcher.AddHandler(kDestination,
                        ReportAlertsHandler(MakeChannel(absl::StrCat("127.0.0.1:", port))));
  EXPECT_THAT(dispatcher.Depth(), IsOkAndHolds(2));

  // The peer is down: nothing is delivered, the entries wait with a backoff.
  EXPECT_THAT(dispatcher.DispatchOnce(), IsOkAndHolds(0));
  auto attempts = pool.Transact<int64_t>([](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    return txn.exec("SELECT min(attempts) FROM obtest.outbox")[0][0].as<int64_t>();
  });
  EXPECT_THAT(attempts, IsOkAndHolds(1));

  RecordingPeer peer;
  auto server = StartPeer(&peer, port);
  ASSERT_NE(server, nullptr);
  int delivered = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (delivered < 2 && absl::Now() < deadline) {
    auto n = dispatcher.DispatchOnce();
    ASSERT_THAT(n, IsOk());
    delivered += *n;
    if (delivered < 2) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(delivered, 2);
  EXPECT_EQ(peer.received(), (std::map<std::string, int>{{"fp-1", 1}, {"fp-2", 1}}));
  EXPECT_THAT(dispatcher.Depth(), IsOkAndHolds(0));
  // The trace of the enqueuing request continued into the delivery.
  ASSERT_FALSE(peer.traceparents().empty());
  for (const std::string& header : peer.traceparents()) {
    auto parsed = ParseTraceparent(header);
    ASSERT_TRUE(parsed.has_value()) << header;
    EXPECT_EQ(parsed->trace_id, trace.trace_id);
  }
  server->Shutdown();
}

TEST(OutboxTest, TwoDispatchersNeverDeliverTheSameEntryTwice) {
  TestDatabase db;
  PgPool pool({db.dsn(), 8});
  ASSERT_THAT(ApplyMigrations(pool, kSchema, {}), IsOk());
  constexpr int kEntries = 300;
  for (int i = 0; i < kEntries; ++i) {
    ASSERT_THAT(EnqueueAlert(pool, absl::StrCat("fp-", i), true), IsOk());
  }
  RecordingPeer peer;
  const int port = FreePort();
  auto server = StartPeer(&peer, port);
  ASSERT_NE(server, nullptr);
  prometheus::Registry registry_a, registry_b;
  OutboxDispatcherOptions options = FastOptions();
  options.batch_size = 7;
  OutboxDispatcher a(pool, options, registry_a, "agentwatch_a");
  OutboxDispatcher b(pool, options, registry_b, "agentwatch_b");
  const std::string address = absl::StrCat("127.0.0.1:", port);
  a.AddHandler(kDestination, ReportAlertsHandler(MakeChannel(address)));
  b.AddHandler(kDestination, ReportAlertsHandler(MakeChannel(address)));
  std::atomic<int> delivered{0};
  auto drain = [&](OutboxDispatcher& d) {
    while (true) {
      auto n = d.DispatchOnce();
      if (!n.ok()) return;
      if (*n == 0) {
        auto depth = d.Depth();
        if (depth.ok() && *depth == 0) return;
      }
      delivered += *n;
    }
  };
  std::thread ta([&] { drain(a); });
  std::thread tb([&] { drain(b); });
  ta.join();
  tb.join();
  EXPECT_EQ(delivered.load(), kEntries);
  const auto received = peer.received();
  EXPECT_EQ(received.size(), static_cast<size_t>(kEntries));
  for (const auto& [fingerprint, count] : received) EXPECT_EQ(count, 1) << fingerprint;
  server->Shutdown();
}

// Two dispatchers over one outbox as monitor runs them, one for the alerts'
// destination and one for everything else: each claims only its own
// entries, so one stuck in a slow delivery never holds the other's back, and
// neither touches (nor fails, for want of a handler) the other's entries,
// while an entry of a destination nobody handles is still claimed (by the
// second) and fails rather than waiting unseen.
TEST(OutboxTest, DispatchersWithDestinationsClaimOnlyTheirOwn) {
  TestDatabase db;
  PgPool pool({db.dsn(), 4});
  ASSERT_THAT(ApplyMigrations(pool, kSchema, {}), IsOk());
  constexpr char kBulk[] = "cost.RecordUsageBatch";
  ASSERT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    for (int i = 0; i < 5; ++i) {
      EnqueueOutbox(txn, kSchema, OutboxMessage{"tenant-a", kBulk, absl::StrCat("u-", i), "x"});
    }
    return absl::OkStatus();
  }),
              IsOk());
  ASSERT_THAT(EnqueueAlert(pool, "fp-after-the-backlog", true), IsOk());

  prometheus::Registry registry;
  OutboxDispatcherOptions bulk_options = FastOptions();
  bulk_options.excluded_destinations = {kDestination};
  OutboxDispatcher bulk(pool, bulk_options, registry, "agentwatch_test");
  std::mutex mu;
  std::condition_variable cv;
  bool bulk_entered = false, release_bulk = false;
  int bulk_entries = 0;
  bulk.AddHandler(kBulk, [&](const std::vector<OutboxEntry>& entries) {
    std::unique_lock<std::mutex> lock(mu);
    bulk_entries += static_cast<int>(entries.size());
    bulk_entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release_bulk; });
    return absl::OkStatus();
  });
  OutboxDispatcherOptions alert_options = FastOptions();
  alert_options.destinations = {kDestination};
  OutboxDispatcher alerts(pool, alert_options, registry, "agentwatch_test");
  RecordingPeer peer;
  const int port = FreePort();
  auto server = StartPeer(&peer, port);
  ASSERT_NE(server, nullptr);
  alerts.AddHandler(kDestination,
                    ReportAlertsHandler(MakeChannel(absl::StrCat("127.0.0.1:", port))));

  // The bulk delivery is stuck inside its handler, its entries claimed.
  absl::StatusOr<int> bulk_delivered = 0;
  std::thread bulk_pass([&] { bulk_delivered = bulk.DispatchOnce(); });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return bulk_entered; });
  }
  // The alert, enqueued after the whole backlog, is delivered meanwhile.
  EXPECT_THAT(alerts.DispatchOnce(), IsOkAndHolds(1));
  EXPECT_EQ(peer.received(), (std::map<std::string, int>{{"fp-after-the-backlog", 1}}));
  {
    std::lock_guard<std::mutex> lock(mu);
    release_bulk = true;
  }
  cv.notify_all();
  bulk_pass.join();
  EXPECT_THAT(bulk_delivered, IsOkAndHolds(5));
  EXPECT_EQ(bulk_entries, 5);

  // A dispatcher never claims another's destination: the bulk entries that
  // the alert dispatcher (which has no handler for them) could see stay
  // untouched, not failed and backed off.
  ASSERT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    EnqueueOutbox(txn, kSchema, OutboxMessage{"tenant-a", kBulk, "u-late", "x"});
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_THAT(alerts.DispatchOnce(), IsOkAndHolds(0));
  auto attempts = pool.Transact<std::string>([](pqxx::work& txn) -> absl::StatusOr<std::string> {
    auto row = txn.exec("SELECT count(*), max(attempts) FROM obtest.outbox")[0];
    return absl::StrCat(row[0].as<int>(), "/", row[1].as<int>());
  });
  EXPECT_THAT(attempts, IsOkAndHolds("1/0"));
  EXPECT_THAT(alerts.Depth(), IsOkAndHolds(1));  // the depth counts every destination

  // The catch-all dispatcher claims an entry of a destination nobody handles
  // (it fails and is retried, so it goes dead in the end) and never an alert.
  ASSERT_THAT(pool.WithTransaction([&](pqxx::work& txn) {
    EnqueueOutbox(txn, kSchema, OutboxMessage{"tenant-a", "other.Unknown", "o-1", "x"});
    return absl::OkStatus();
  }),
              IsOk());
  ASSERT_THAT(EnqueueAlert(pool, "fp-left-for-the-alerts", true), IsOk());
  EXPECT_THAT(bulk.DispatchOnce(), IsOkAndHolds(1));  // u-late
  auto left = pool.Transact<std::string>([](pqxx::work& txn) -> absl::StatusOr<std::string> {
    std::string out;
    for (const auto& row : txn.exec("SELECT destination, attempts FROM obtest.outbox "
                                    "ORDER BY destination COLLATE \"C\"")) {
      absl::StrAppend(&out, row[0].as<std::string>(), "/", row[1].as<int>(), " ");
    }
    return out;
  });
  EXPECT_THAT(left, IsOkAndHolds("incident.ReportAlerts/0 other.Unknown/1 "));
  server->Shutdown();
}

TEST(OutboxTest, EntriesWithoutAHandlerEventuallyGoDead) {
  TestDatabase db;
  PgPool pool({db.dsn(), 2});
  ASSERT_THAT(ApplyMigrations(pool, kSchema, {}), IsOk());
  ASSERT_THAT(EnqueueAlert(pool, "orphan", true), IsOk());
  prometheus::Registry registry;
  OutboxDispatcherOptions options = FastOptions();
  options.max_attempts = 2;
  options.backoff_max = absl::Milliseconds(1);
  options.backoff_base = absl::Milliseconds(1);
  OutboxDispatcher dispatcher(pool, options, registry, "agentwatch_test");
  for (int i = 0; i < 50; ++i) {
    ASSERT_THAT(dispatcher.DispatchOnce(), IsOkAndHolds(0));
    absl::SleepFor(absl::Milliseconds(5));
  }
  auto dead = pool.Transact<std::string>([](pqxx::work& txn) -> absl::StatusOr<std::string> {
    auto row = txn.exec("SELECT dead, attempts, last_error FROM obtest.outbox")[0];
    return absl::StrCat(row[0].as<bool>() ? "dead" : "alive", "/", row[1].as<int>(), "/",
                        row[2].as<std::string>());
  });
  EXPECT_THAT(dead, IsOkAndHolds("dead/2/no handler for incident.ReportAlerts"));
}

}  // namespace
}  // namespace agentwatch::common
