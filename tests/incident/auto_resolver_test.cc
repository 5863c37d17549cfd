// The auto-resolve worker over the in-memory store, driven by a FakeClock.
#include "incident/api/auto_resolver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/testing/status_matchers.h"
#include "incident/store/memory_incident_store.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOkAndHolds;
using testing::Firing;
using testing::Resolved;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

TEST(AutoResolverTest, RunOnceResolvesEveryDueIncidentInBatches) {
  common::FakeClock clock(kT0);
  testing::SequentialIds ids;
  MemoryIncidentStore store(ids);
  const GroupingConfig grouping = *ParseGroupBy("group_by", "alertname");
  constexpr int kIncidents = 150;  // more than one batch
  for (int n = 0; n < kIncidents; ++n) {
    const AlertReport firing = Firing("acme", absl::StrCat("fp", n), absl::StrCat("A", n), kT0);
    ASSERT_TRUE(store.ReportAlerts({PrepareAlert(firing, grouping, kT0)}, kT0).ok());
    const AlertReport resolved = Resolved(firing, kT0 + absl::Minutes(1));
    ASSERT_TRUE(store.ReportAlerts({PrepareAlert(resolved, grouping, kT0)}, kT0).ok());
  }
  prometheus::Registry registry;
  IncidentMetrics metrics(registry, "agentwatch_incident");
  AutoResolver worker(store, clock, metrics, absl::Minutes(5), absl::Seconds(1));
  clock.Set(kT0 + absl::Minutes(6) - absl::Seconds(1));
  EXPECT_THAT(worker.RunOnce(), IsOkAndHolds(0));
  clock.Advance(absl::Seconds(1));
  EXPECT_THAT(worker.RunOnce(), IsOkAndHolds(kIncidents));
  EXPECT_THAT(worker.RunOnce(), IsOkAndHolds(0));
  EXPECT_TRUE(store.GetIncident("inc-000001")->incident.auto_resolved);
  EXPECT_THAT(common::RenderMetrics(registry),
              ::testing::HasSubstr("agentwatch_incident_incidents_auto_resolved_total 150"));
}

TEST(AutoResolverTest, StartsAndStopsCleanly) {
  common::FakeClock clock(kT0);
  testing::SequentialIds ids;
  MemoryIncidentStore store(ids);
  prometheus::Registry registry;
  IncidentMetrics metrics(registry, "agentwatch_incident");
  AutoResolver worker(store, clock, metrics, absl::Minutes(5), absl::Milliseconds(10));
  worker.Start();
  worker.Stop();
  worker.Stop();  // idempotent
}

}  // namespace
}  // namespace agentwatch::incident
