// The behaviour every IncidentStore shares, as value-parameterized tests
// (store_contract_test.cc) that each store's test binary instantiates with a
// factory for that store: the in-memory fake in a unit test, Postgres in an
// integration test. So the fake the API tests rely on is held to the same
// contract as the real store.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "incident/core/grouping.h"
#include "incident/core/ids.h"
#include "incident/store/incident_store.h"
#include "test_util.h"

namespace agentwatch::incident::testing {

// Owns a store and whatever it needs (a database, a pool).
class StoreHarness {
 public:
  virtual ~StoreHarness() = default;
  virtual IncidentStore& store() = 0;
};

// A named way to make a harness whose store takes its ids from `ids`.
struct StoreKind {
  std::string name;
  std::function<std::unique_ptr<StoreHarness>(IdGenerator& ids)> make;
};

// Test names and failure messages show the store's name.
inline void PrintTo(const StoreKind& kind, std::ostream* os) { *os << kind.name; }

class IncidentStoreContractTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override { harness_ = GetParam().make(ids_); }

  IncidentStore& store() { return harness_->store(); }

  absl::StatusOr<IntakeSummary> Report(const std::vector<AlertReport>& reports, absl::Time now) {
    std::vector<IncomingAlert> alerts;
    for (const AlertReport& r : reports) alerts.push_back(PrepareAlert(r, grouping_, now));
    return store().ReportAlerts(alerts, now);
  }

  absl::StatusOr<std::string> Step(const std::string& id, IncidentStatus target, absl::Time now,
                                   const std::string& request_id = "",
                                   const std::string& method = "Step");

  std::vector<std::string> Kinds(const std::string& id);

  GroupingConfig grouping_ = *ParseGroupBy("group_by", "alertname,service");
  SequentialIds ids_;
  std::unique_ptr<StoreHarness> harness_;
};

// For INSTANTIATE_TEST_SUITE_P: names the instances after the store.
inline std::string StoreKindName(const ::testing::TestParamInfo<StoreKind>& info) {
  return info.param.name;
}

}  // namespace agentwatch::incident::testing
