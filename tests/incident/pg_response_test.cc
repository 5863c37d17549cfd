// Response rules against the real Postgres: intake's timeline trigger queues
// the firing alerts of tenants with rules, and two replicas (each its own
// pool, stores and engine) claim and run every execution exactly once,
// calling a local webhook receiver (libcurl) once per execution with a valid
// signature; the cooldown and hourly cap hold across replicas.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
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
#include "common/pg.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "incident/api/notifier.h"
#include "incident/api/response_engine.h"
#include "incident/api/response_mapping.h"
#include "incident/core/grouping.h"
#include "incident/store/migrations.h"
#include "incident/store/pg_incident_store.h"
#include "incident/store/pg_response_store.h"
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
        responses(pool),
        engine(store, responses, clock, nullptr, nullptr, CurlPost) {}
  common::PgPool pool;
  PgIncidentStore store;
  PgResponseStore responses;
  ResponseEngine engine;
};

class PgResponseTest : public ::testing::Test {
 protected:
  PgResponseTest() : clock_(kT0), receiver_("127.0.0.1:0") {
    setenv("AW_PG_RESPONSE_SECRET", "k3y", 1);
    {
      common::PgPool pool(PoolOptions(db_.dsn()));
      EXPECT_THAT(common::ApplyMigrations(pool, "incident", Migrations()), IsOk());
    }
    a_ = std::make_unique<Replica>(db_.dsn(), ids_, clock_);
    b_ = std::make_unique<Replica>(db_.dsn(), ids_, clock_);
    receiver_.Handle("/hook", [this](const common::HttpRequest& request) {
      std::lock_guard<std::mutex> lock(mu_);
      const std::string key =
          request.headers.count("idempotency-key") > 0 ? request.headers.at("idempotency-key") : "";
      const std::string signature = request.headers.count("x-agentwatch-signature") > 0
                                        ? request.headers.at("x-agentwatch-signature")
                                        : "";
      keys_.push_back(key);
      if (signature != absl::StrCat("sha256=", HmacSha256Hex("k3y", request.body))) {
        ++bad_signatures_;
      }
      return common::HttpResponse{};
    });
    EXPECT_THAT(receiver_.Start(), IsOk());
  }
  ~PgResponseTest() override { receiver_.Stop(); }

  void AddRule(const std::string& id, int cooldown_seconds, int max_per_hour) {
    v1::ResponseRule rule;
    rule.set_id(id);
    rule.set_name(id);
    rule.set_tenant("acme");
    rule.mutable_cooldown()->set_seconds(cooldown_seconds);
    rule.set_max_per_hour(max_per_hour);
    v1::WebhookAction* hook = rule.add_actions()->mutable_webhook();
    hook->set_url(absl::StrCat("http://127.0.0.1:", receiver_.port(), "/hook"));
    hook->set_hmac_secret_ref("env:AW_PG_RESPONSE_SECRET");
    rule.add_actions()->mutable_add_note()->set_text("ran for {{alert.name}}");
    ApplyResponseRuleDefaults(&rule);
    ConfigRecord r;
    r.tenant = "acme";
    r.kind = std::string(config_kind::kResponseRule);
    r.id = id;
    r.name = id;
    r.body = rule.SerializeAsString();
    r.create_time = kT0;
    r.update_time = kT0;
    ASSERT_THAT(a_->store.CreateConfig(r), IsOk());
  }

  void Report(const std::string& tenant,
              const std::vector<std::pair<std::string, std::string>>& fingerprints_and_names) {
    std::vector<IncomingAlert> alerts;
    for (const auto& [fp, name] : fingerprints_and_names) {
      alerts.push_back(
          PrepareAlert(testing::Firing(tenant, fp, name, clock_.Now()), grouping_, clock_.Now()));
    }
    ASSERT_THAT(a_->store.ReportAlerts(alerts, clock_.Now()), IsOk());
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

  // Both replicas evaluate and run concurrently, `rounds` times.
  void RunBoth(int rounds) {
    std::thread t([&] {
      for (int i = 0; i < rounds; ++i) {
        EXPECT_THAT(b_->engine.EvaluateOnce(), IsOk());
        EXPECT_THAT(b_->engine.RunOnce(), IsOk());
      }
    });
    for (int i = 0; i < rounds; ++i) {
      EXPECT_THAT(a_->engine.EvaluateOnce(), IsOk());
      EXPECT_THAT(a_->engine.RunOnce(), IsOk());
    }
    t.join();
  }

  ::agentwatch::testing::TestDatabase db_;
  common::FakeClock clock_;
  testing::SequentialIds ids_;
  GroupingConfig grouping_ = *ParseGroupBy("group_by", "alertname");
  std::unique_ptr<Replica> a_;
  std::unique_ptr<Replica> b_;
  common::HttpServer receiver_;
  std::mutex mu_;
  std::vector<std::string> keys_;
  int bad_signatures_ = 0;
};

TEST_F(PgResponseTest, NoRulesQueueNothing) {
  Report("acme", {{"fp1", "A"}, {"fp2", "B"}});
  EXPECT_EQ(Count("SELECT count(*) FROM incident.response_triggers"), 0);
  AddRule("r1", 0, 0);
  Report("globex", {{"fp3", "C"}});  // a tenant without rules
  EXPECT_EQ(Count("SELECT count(*) FROM incident.response_triggers"), 0);
  Report("acme", {{"fp4", "D"}});
  EXPECT_EQ(Count("SELECT count(*) FROM incident.response_triggers"), 1);
}

TEST_F(PgResponseTest, TwoReplicasRunEveryExecutionExactlyOnce) {
  AddRule("r1", 0, 0);
  constexpr int kAlerts = 30;
  std::vector<std::pair<std::string, std::string>> batch;
  for (int i = 0; i < kAlerts; ++i) {
    batch.emplace_back(absl::StrCat("fp", i), absl::StrCat("Alert", i % 10));
  }
  Report("acme", batch);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.response_triggers"), kAlerts);
  RunBoth(4);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.response_triggers"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.response_executions WHERE state = 2"), kAlerts);
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(keys_.size(), static_cast<size_t>(kAlerts));
  EXPECT_EQ(std::set<std::string>(keys_.begin(), keys_.end()).size(), static_cast<size_t>(kAlerts));
  EXPECT_EQ(bad_signatures_, 0);
  // Every execution on the timeline: started, webhook result, note, finished.
  EXPECT_EQ(
      Count("SELECT count(*) FROM incident.timeline_entries WHERE actor = 'response_rule:r1'"),
      4 * kAlerts);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.timeline_entries WHERE kind = 'note' AND "
                  "entry_text LIKE 'ran for Alert%'"),
            kAlerts);
}

TEST_F(PgResponseTest, CooldownAndHourlyCapHoldAcrossReplicas) {
  AddRule("r1", 600, 3);
  // Ten alerts joining one incident within the cooldown: one execution.
  for (int i = 0; i < 10; ++i) {
    Report("acme", {{absl::StrCat("same", i), "ApiDown"}});
    RunBoth(1);
    clock_.Advance(absl::Seconds(10));
  }
  EXPECT_EQ(Count("SELECT count(*) FROM incident.response_executions WHERE state <> 4"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.response_executions WHERE state = 4"), 9);
  // Five other incidents: the cap (3 per hour, one used) lets two run.
  std::vector<std::pair<std::string, std::string>> batch;
  for (int i = 0; i < 5; ++i) batch.emplace_back(absl::StrCat("other", i), absl::StrCat("X", i));
  Report("acme", batch);
  RunBoth(3);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.response_executions WHERE state <> 4"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM incident.timeline_entries WHERE kind = 'response_rule' AND "
                  "details->>'decision' = 'hourly_cap'"),
            3);
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(keys_.size(), 3u);
}

TEST_F(PgResponseTest, AnExpiredLeaseIsTakenOverAndTheOldRunnerCannotAdvance) {
  AddRule("r1", 0, 0);
  Report("acme", {{"fp1", "A"}});
  EXPECT_THAT(a_->engine.EvaluateOnce(), IsOkAndHolds(1));
  auto first = a_->responses.LeaseExecution(clock_.Now(), absl::Seconds(90));
  ASSERT_THAT(first, IsOk());
  ASSERT_TRUE(first->has_value());
  auto second = b_->responses.LeaseExecution(clock_.Now(), absl::Seconds(90));
  ASSERT_THAT(second, IsOk());
  EXPECT_FALSE(second->has_value());
  clock_.Advance(absl::Seconds(91));
  EXPECT_THAT(b_->engine.RunOnce(), IsOkAndHolds(2));
  ActionOutcome outcome;
  outcome.index = 0;
  EXPECT_EQ(a_->responses.AdvanceExecution(**first, outcome, std::nullopt, clock_.Now()).code(),
            absl::StatusCode::kAborted);
  auto executions = a_->responses.ListExecutions("acme", "r1");
  ASSERT_THAT(executions, IsOk());
  ASSERT_EQ(executions->size(), 1u);
  EXPECT_EQ((*executions)[0].state, ExecutionState::kSucceeded);
  EXPECT_EQ((*executions)[0].alert.name, "A");
  EXPECT_EQ((*executions)[0].alert.labels.at("alertname"), "A");
}

}  // namespace
}  // namespace agentwatch::incident
