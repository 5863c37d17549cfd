// The in-memory store's alert sweep (unit): like the Postgres store, it
// re-evaluates anomaly rules whose detectors have not been fed the last
// complete minute, so a series that went silent is still scored.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "absl/time/time.h"
#include "common/testing/status_matchers.h"
#include "monitor/core/alert_rules.h"
#include "monitor/core/anomaly_rules.h"
#include "monitor/core/rollup.h"
#include "monitor/store/in_memory_monitor_store.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'040);  // a whole minute

absl::Time Now(int minute) { return kStart + absl::Minutes(minute) + absl::Seconds(5); }

TEST(InMemoryAnomalySweepTest, SweepScoresASeriesThatWentSilent) {
  InMemoryMonitorStore store(StoreLimits{}, {});
  std::mt19937 engine(7);
  std::normal_distribution<double> noise(0, 1);
  Batch batch;
  batch.producer_id = "history";
  for (int minute = 0; minute < 360; ++minute) {
    Event event;
    event.time = kStart + absl::Minutes(minute);
    event.tenant = "acme";
    event.labels = {{"host", "a"}};
    event.kind = MetricSample{"queue_depth", 50 + noise(engine)};
    batch.events.push_back(event);
  }
  ASSERT_THAT(store.CommitBatch("history", 1, AggregateBatch(batch), Now(360)), IsOk());

  AlertRule rule;
  rule.name = "QueueDepthAnomaly";
  rule.tenant = "acme";
  rule.condition.metric = "queue_depth";
  rule.condition.aggregation = Aggregation::kSum;
  rule.condition.group_by = {"host"};
  MakeAnomalyRule(0.9, absl::Hours(1), &rule);
  NormalizeAlertRule(&rule);
  absl::StatusOr<RuleWriteResult> created = store.CreateAlertRule(rule, "", Now(360));
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->alerts.fired, 0);

  absl::StatusOr<SweepResult> same_minute = store.SweepAlerts(Now(360) + absl::Seconds(20), 500);
  ASSERT_THAT(same_minute, IsOk());
  EXPECT_EQ(same_minute->alerts.fired, 0);
  int fired = 0;
  for (int minute = 361; minute <= 364; ++minute) {
    absl::StatusOr<SweepResult> swept = store.SweepAlerts(Now(minute), 500);
    ASSERT_THAT(swept, IsOk());
    fired += swept->alerts.fired;
  }
  EXPECT_EQ(fired, 1);
}

}  // namespace
}  // namespace agentwatch::monitor
