// The contract every store keeps, against the in-memory fake.
#include <gtest/gtest.h>

#include <memory>

#include "incident/store/memory_incident_store.h"
#include "store_contract.h"

namespace agentwatch::incident::testing {
namespace {

class MemoryHarness final : public StoreHarness {
 public:
  explicit MemoryHarness(IdGenerator& ids) : store_(ids) {}
  IncidentStore& store() override { return store_; }

 private:
  MemoryIncidentStore store_;
};

INSTANTIATE_TEST_SUITE_P(Memory, IncidentStoreContractTest,
                         ::testing::Values(StoreKind{"Memory",
                                                     [](IdGenerator& ids) {
                                                       return std::make_unique<MemoryHarness>(ids);
                                                     }}),
                         StoreKindName);

}  // namespace
}  // namespace agentwatch::incident::testing
