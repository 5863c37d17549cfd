// Paging against the real Postgres: two replicas (each its own pool, store,
// escalation engine, outbox dispatcher and notifier) over one database page
// every incident exactly once at a local webhook receiver.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/clock.h"
#include "common/http_server.h"
#include "common/outbox.h"
#include "common/pg.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "incident/api/escalation_engine.h"
#include "incident/api/notifier.h"
#include "incident/core/grouping.h"
#include "incident/store/migrations.h"
#include "incident/store/pg_incident_store.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;

const absl::Time kT0 = absl::FromUnixMicros(1'700'000'000'123'456);

common::PgPoolOptions PoolOptions(const std::string& dsn) {
  common::PgPoolOptions options;
  options.dsn = dsn;
  options.size = 4;
  return options;
}

struct Replica {
  Replica(const std::string& dsn, IdGenerator& ids, const common::Clock& clock)
      : pool(PoolOptions(dsn)),
        store(pool, ids),
        notifier(store, clock),
        dispatcher(pool, {"incident"}, registry, "agentwatch_incident"),
        engine(store, clock, absl::Seconds(5), absl::Seconds(1), [] {}) {
    dispatcher.AddHandler(std::string(kNotifyDestination),
                          [this](const std::vector<common::OutboxEntry>& entries) {
                            return notifier.Deliver(entries);
                          });
  }
  common::PgPool pool;
  PgIncidentStore store;
  Notifier notifier;
  prometheus::Registry registry;
  common::OutboxDispatcher dispatcher;
  EscalationEngine engine;
};

class PgPagingTest : public ::testing::Test {
 protected:
  PgPagingTest() : clock_(kT0), receiver_("127.0.0.1:0") {
    {
      common::PgPool pool(PoolOptions(db_.dsn()));
      EXPECT_THAT(common::ApplyMigrations(pool, "incident", Migrations()), IsOk());
    }
    a_ = std::make_unique<Replica>(db_.dsn(), ids_, clock_);
    b_ = std::make_unique<Replica>(db_.dsn(), ids_, clock_);
    receiver_.Handle("/hook", [this](const common::HttpRequest& request) {
      std::lock_guard<std::mutex> lock(mu_);
      keys_.push_back(request.headers.count("idempotency-key") > 0
                          ? request.headers.at("idempotency-key")
                          : "");
      return common::HttpResponse{};
    });
    EXPECT_THAT(receiver_.Start(), IsOk());
  }
  ~PgPagingTest() override { receiver_.Stop(); }

  void AddWebhook(const std::string& id, const std::string& person) {
    v1::NotificationChannel c;
    c.set_id(id);
    c.set_name(id);
    c.set_tenant("acme");
    c.set_person(person);
    c.mutable_webhook()->set_url(absl::StrCat("http://127.0.0.1:", receiver_.port(), "/hook"));
    c.mutable_webhook()->mutable_timeout()->set_seconds(5);
    ConfigRecord r;
    r.tenant = "acme";
    r.kind = std::string(config_kind::kChannel);
    r.id = id;
    r.name = id;
    r.person = person;
    r.body = c.SerializeAsString();
    r.create_time = kT0;
    r.update_time = kT0;
    ASSERT_THAT(a_->store.CreateConfig(r), IsOk());
  }

  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    EXPECT_THAT(a_->pool.WithTransaction([&](pqxx::work& txn) {
      n = txn.exec(sql)[0][0].as<int64_t>();
      return absl::OkStatus();
    }),
                IsOk());
    return n;
  }

  ::agentwatch::testing::TestDatabase db_;
  common::FakeClock clock_;
  testing::SequentialIds ids_;
  std::unique_ptr<Replica> a_;
  std::unique_ptr<Replica> b_;
  common::HttpServer receiver_;
  std::mutex mu_;
  std::vector<std::string> keys_;
};

TEST_F(PgPagingTest, TwoReplicasPageEveryIncidentExactlyOnce) {
  AddWebhook("c-oncall", "oncall");
  const GroupingConfig grouping = *ParseGroupBy("group_by", "alertname");
  constexpr int kIncidents = 40;
  std::vector<IncomingAlert> alerts;
  for (int i = 0; i < kIncidents; ++i) {
    alerts.push_back(
        PrepareAlert(testing::Firing("acme", absl::StrCat("fp", i), absl::StrCat("Alert", i), kT0),
                     grouping, kT0));
  }
  ASSERT_THAT(a_->store.ReportAlerts(alerts, kT0), IsOk());
  // Not due before the group wait.
  EXPECT_THAT(a_->engine.RunOnce(), IsOkAndHolds(0));
  clock_.Advance(absl::Seconds(5));
  int pages_a = 0;
  int pages_b = 0;
  std::thread ta([&] { pages_a = *a_->engine.RunOnce(); });
  std::thread tb([&] { pages_b = *b_->engine.RunOnce(); });
  ta.join();
  tb.join();
  EXPECT_EQ(pages_a + pages_b, kIncidents);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.outbox"), kIncidents);
  // Both replicas' engines again: nothing more is due.
  EXPECT_THAT(a_->engine.RunOnce(), IsOkAndHolds(0));
  EXPECT_THAT(b_->engine.RunOnce(), IsOkAndHolds(0));

  // Both dispatchers deliver concurrently.
  auto drain = [](Replica* r) {
    for (int i = 0; i < 20; ++i) {
      if (!r->dispatcher.DispatchOnce().ok()) return;
    }
  };
  std::thread da(drain, a_.get());
  std::thread db(drain, b_.get());
  da.join();
  db.join();
  EXPECT_EQ(Count("SELECT count(*) FROM incident.outbox"), 0);
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(keys_.size(), static_cast<size_t>(kIncidents));
    EXPECT_EQ(std::set<std::string>(keys_.begin(), keys_.end()).size(),
              static_cast<size_t>(kIncidents));
  }
  EXPECT_EQ(Count("SELECT count(*) FROM incident.notifications"), kIncidents);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.timeline_entries WHERE kind = 'notified'"),
            kIncidents);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.timeline_entries WHERE kind = 'escalated'"),
            kIncidents);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.escalations WHERE tier = 0 AND epoch = 0"),
            kIncidents);

  // 15 minutes later the default chain reaches the team lead: no channel
  // for that role, so the step is recorded but nothing is enqueued.
  clock_.Advance(absl::Minutes(15));
  EXPECT_THAT(a_->engine.RunOnce(), IsOkAndHolds(0));
  EXPECT_EQ(Count("SELECT count(*) FROM incident.incidents WHERE escalation_tier = 1"), kIncidents);
}

TEST_F(PgPagingTest, EscalateSkipsAnIncidentAnotherTransactionHolds) {
  const GroupingConfig grouping = *ParseGroupBy("group_by", "alertname");
  auto summary = a_->store.ReportAlerts(
      {PrepareAlert(testing::Firing("acme", "fp", "A", kT0), grouping, kT0)}, kT0);
  ASSERT_THAT(summary, IsOk());
  const std::string id = summary->incident_ids[0];
  std::mutex step;
  std::unique_lock<std::mutex> hold(step);
  std::atomic<bool> entered{false};
  std::thread holder([&] {
    EXPECT_THAT(a_->store.Escalate("acme", id,
                                   [&](const Incident&, const std::optional<EscalationState>&)
                                       -> absl::StatusOr<EscalationWrite> {
                                     entered = true;  // the row is locked now
                                     std::lock_guard<std::mutex> wait(step);
                                     return EscalationWrite{};
                                   }),
                IsOkAndHolds(true));
  });
  while (!entered) std::this_thread::yield();
  bool called = false;
  const absl::StatusOr<bool> other = b_->store.Escalate(
      "acme", id,
      [&](const Incident&,
          const std::optional<EscalationState>&) -> absl::StatusOr<EscalationWrite> {
        called = true;
        return EscalationWrite{};
      });
  hold.unlock();
  holder.join();
  EXPECT_THAT(other, IsOkAndHolds(false));
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace agentwatch::incident
