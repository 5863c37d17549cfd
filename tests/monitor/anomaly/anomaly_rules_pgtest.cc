// Anomaly alert rules against the real Postgres (integration): the rule's
// anomaly settings round-trip, detector states persist per (rule, group)
// with the last minute fed, and two replicas evaluating the same rule after
// the same data fire exactly once (the rule's advisory lock serializes
// them; the second sees every minute already fed).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/outbox.h"
#include "common/pg.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"
#include "common/testing/test_pool.h"
#include "monitor/anomaly/detector.h"
#include "monitor/core/alert_rules.h"
#include "monitor/core/anomaly_rules.h"
#include "monitor/core/names.h"
#include "monitor/core/rollup.h"
#include "monitor/store/migrations.h"
#include "monitor/store/pg_monitor_store.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::TestDatabase;
using ::agentwatch::testing::TestPool;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'040);  // a whole minute

// One custom-metric sample of pod `pod` at `time`.
Event Sample(const std::string& pod, absl::Time time, double value) {
  Event event;
  event.time = time;
  event.tenant = "acme";
  event.labels = {{"host", pod}};
  event.kind = MetricSample{"queue_depth", value};
  return event;
}

AlertRule QueueRule() {
  AlertRule rule;
  rule.name = "QueueDepthAnomaly";
  rule.tenant = "acme";
  rule.condition.metric = "queue_depth";
  rule.condition.aggregation = Aggregation::kAvg;
  rule.condition.group_by = {"host"};
  MakeAnomalyRule(0.9, absl::Hours(1), &rule);
  NormalizeAlertRule(&rule);
  return rule;
}

class AnomalyRulesPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = TestPool(db_.dsn());
    ASSERT_THAT(common::ApplyMigrations(*pool_, kOutboxSchema, Migrations()), IsOk());
    store_ = std::make_unique<PgMonitorStore>(*pool_, limits_, std::vector<const RuleEvaluator*>{});
  }

  // Commits one sample per minute in [first, first + minutes) as one batch.
  void CommitSteady(const std::string& producer, uint64_t sequence, int first, int minutes,
                    const std::string& pod = "a") {
    std::mt19937 engine(static_cast<uint32_t>(sequence + first));
    std::normal_distribution<double> noise(0, 1);
    Batch batch;
    batch.producer_id = producer;
    batch.sequence = sequence;
    for (int i = first; i < first + minutes; ++i) {
      batch.events.push_back(Sample(pod, kStart + absl::Minutes(i), 50 + noise(engine)));
    }
    ASSERT_THAT(store_->CommitBatch(producer, sequence, AggregateBatch(batch), Now(first)), IsOk());
  }

  // 5 seconds past minute `minute`.
  static absl::Time Now(int minute) { return kStart + absl::Minutes(minute) + absl::Seconds(5); }

  int64_t Scalar(const std::string& sql) {
    absl::StatusOr<int64_t> value =
        pool_->Transact<int64_t>([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
          return txn.exec(sql)[0][0].as<int64_t>(0);
        });
    EXPECT_THAT(value, IsOk()) << sql;
    return value.value_or(-1);
  }

  std::vector<incident::v1::Alert> Alerts(const std::string& name) {
    absl::StatusOr<std::vector<std::string>> payloads = pool_->Transact<std::vector<std::string>>(
        [&](pqxx::work& txn) -> absl::StatusOr<std::vector<std::string>> {
          std::vector<std::string> out;
          for (const auto& row : txn.exec_params(
                   "SELECT payload FROM monitor.outbox WHERE destination = $1 ORDER BY id",
                   std::string(kIncidentDestination))) {
            out.push_back(pqxx::binarystring(row[0]).str());
          }
          return out;
        });
    EXPECT_THAT(payloads, IsOk());
    std::vector<incident::v1::Alert> out;
    for (const std::string& payload : payloads.value_or(std::vector<std::string>{})) {
      incident::v1::Alert alert;
      if (alert.ParseFromString(payload) && alert.name() == name) out.push_back(alert);
    }
    return out;
  }

  TestDatabase db_;
  StoreLimits limits_;
  std::unique_ptr<common::PgPool> pool_;
  std::unique_ptr<PgMonitorStore> store_;
};

TEST_F(AnomalyRulesPgTest, RuleRoundTripsWithItsAnomalySettings) {
  absl::StatusOr<RuleWriteResult> created = store_->CreateAlertRule(QueueRule(), "", kStart);
  ASSERT_THAT(created, IsOk());
  absl::StatusOr<AlertRule> read = store_->GetAlertRule(created->rule.id);
  ASSERT_THAT(read, IsOk());
  EXPECT_TRUE(read->anomaly.enabled);
  EXPECT_EQ(read->anomaly.min_history, absl::Hours(1));
  EXPECT_EQ(read->condition.threshold, 0.9);
  EXPECT_EQ(read->condition.comparison, Comparison::kGreaterOrEqual);
  AlertRule update = *read;
  update.anomaly.min_history = absl::Hours(3);
  update.condition.threshold = 0.8;
  ASSERT_THAT(store_->UpdateAlertRule(update, kStart), IsOk());
  read = store_->GetAlertRule(created->rule.id);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->anomaly.min_history, absl::Hours(3));
  EXPECT_EQ(read->condition.threshold, 0.8);
}

TEST_F(AnomalyRulesPgTest, StatesPersistAndTwoReplicasFireOnce) {
  std::unique_ptr<common::PgPool> other_pool = TestPool(db_.dsn());
  PgMonitorStore other(*other_pool, limits_, {});
  CommitSteady("history", 1, 0, 180);
  CommitSteady("history", 2, 0, 180, "b");
  // Creating the rule primes one detector per pod from the stored rollups.
  absl::StatusOr<RuleWriteResult> created = store_->CreateAlertRule(QueueRule(), "", Now(180));
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->alerts.fired, 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.anomaly_state"), 2);
  EXPECT_EQ(Scalar("SELECT min(octet_length(detector)) FROM monitor.anomaly_state"),
            static_cast<int64_t>(anomaly::StreamingDetector::kSerializedBytes));
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.anomaly_state WHERE last_minute = "
                   "to_timestamp(" +
                   absl::StrCat(absl::ToUnixSeconds(kStart + absl::Minutes(179))) + ")"),
            2);

  // Pod a spikes in minute 180; both replicas evaluate after the batch.
  Batch spike;
  spike.producer_id = "live";
  spike.sequence = 1;
  spike.events.push_back(Sample("a", kStart + absl::Minutes(180), 95));
  spike.events.push_back(Sample("b", kStart + absl::Minutes(180), 50));
  ASSERT_THAT(store_->CommitBatch("live", 1, AggregateBatch(spike), Now(181)), IsOk());
  absl::Barrier* barrier = new absl::Barrier(2);
  std::atomic<int> fired{0};
  auto evaluate = [&](PgMonitorStore* store) {
    if (barrier->Block()) delete barrier;
    absl::StatusOr<SweepResult> result = store->EvaluateAlertRules(AggregateBatch(spike), Now(181));
    ASSERT_THAT(result, IsOk());
    fired += result->alerts.fired;
  };
  std::thread ta(evaluate, store_.get());
  std::thread tb(evaluate, &other);
  ta.join();
  tb.join();
  EXPECT_EQ(fired.load(), 1);

  const std::vector<incident::v1::Alert> alerts = Alerts("QueueDepthAnomaly");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].status(), incident::v1::ALERT_STATUS_FIRING);
  EXPECT_EQ(alerts[0].fingerprint(),
            AlertRuleFingerprint("acme", created->rule.id, {{"host", "a"}}));
  EXPECT_EQ(alerts[0].labels().at("host"), "a");
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.alert_state WHERE rule = 'alert_rule' AND "
                   "firing AND value >= 0.9"),
            1);

  // Back to normal: resolves once, whichever replica sees it.
  CommitSteady("live", 2, 181, 2);
  Batch normal;
  normal.events.push_back(Sample("a", kStart + absl::Minutes(182), 50));
  absl::StatusOr<SweepResult> first = other.EvaluateAlertRules(AggregateBatch(normal), Now(183));
  absl::StatusOr<SweepResult> second = store_->EvaluateAlertRules(AggregateBatch(normal), Now(183));
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(first->alerts.resolved + second->alerts.resolved, 1);
  EXPECT_EQ(Alerts("QueueDepthAnomaly").size(), 2u);

  // Deleting the rule drops its detectors.
  ASSERT_THAT(store_->DeleteAlertRule(created->rule.id, Now(184)), IsOk());
  EXPECT_EQ(Scalar("SELECT count(*) FROM monitor.anomaly_state"), 0);
}

TEST_F(AnomalyRulesPgTest, SweepScoresASeriesThatWentSilent) {
  AlertRule rule = QueueRule();
  rule.condition.aggregation = Aggregation::kSum;
  CommitSteady("history", 1, 0, 360);
  absl::StatusOr<RuleWriteResult> created = store_->CreateAlertRule(rule, "", Now(360));
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->alerts.fired, 0);
  const std::string last_fed = "SELECT extract(epoch FROM max(last_minute))::bigint "
                               "FROM monitor.anomaly_state";
  EXPECT_EQ(Scalar(last_fed), absl::ToUnixSeconds(kStart + absl::Minutes(359)));

  // The series stops: no batch reaches the rule any more. A sweep in the
  // same minute has nothing to feed; the sweeps of the next minutes feed
  // the silent minutes (zeros for a SUM rule) and fire once.
  absl::StatusOr<SweepResult> same_minute = store_->SweepAlerts(Now(360) + absl::Seconds(20), 500);
  ASSERT_THAT(same_minute, IsOk());
  EXPECT_EQ(same_minute->alerts.fired, 0);
  EXPECT_EQ(Scalar(last_fed), absl::ToUnixSeconds(kStart + absl::Minutes(359)));
  int fired = 0;
  for (int minute = 361; minute <= 364; ++minute) {
    absl::StatusOr<SweepResult> swept = store_->SweepAlerts(Now(minute), 500);
    ASSERT_THAT(swept, IsOk());
    fired += swept->alerts.fired;
    EXPECT_EQ(Scalar(last_fed), absl::ToUnixSeconds(kStart + absl::Minutes(minute - 1)));
  }
  EXPECT_EQ(fired, 1);
  const std::vector<incident::v1::Alert> alerts = Alerts("QueueDepthAnomaly");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].status(), incident::v1::ALERT_STATUS_FIRING);
}

}  // namespace
}  // namespace agentwatch::monitor
