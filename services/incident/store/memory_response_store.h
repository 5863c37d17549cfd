// ResponseStore in memory, for unit tests. Timeline entries go to the
// IncidentStore given (AppendTimeline). Triggers do not appear by themselves
// (in Postgres a trigger on the timeline makes them): tests enqueue them.
#pragma once

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "incident/store/incident_store.h"
#include "incident/store/response_store.h"

namespace agentwatch::incident {

// Thread-safe.
class MemoryResponseStore final : public ResponseStore {
 public:
  // `incidents` receives the timeline entries; it must outlive the store.
  explicit MemoryResponseStore(IncidentStore& incidents) : incidents_(incidents) {}

  // Queues a trigger, as intake's timeline entry would in Postgres.
  void EnqueueTrigger(const ResponseTrigger& trigger);

  // Number of triggers queued (leased or not).
  size_t QueuedTriggers();

  absl::StatusOr<std::vector<ResponseTrigger>> LeaseTriggers(absl::Time now, absl::Duration lease,
                                                             int limit) override;
  absl::Status CompleteTriggers(const std::vector<ResponseTrigger>& triggers) override;
  absl::StatusOr<ClaimResult> ClaimExecution(const ExecutionClaim& claim) override;
  absl::StatusOr<std::optional<Execution>> LeaseExecution(absl::Time now,
                                                          absl::Duration lease) override;
  absl::Status AdvanceExecution(const Execution& execution, const ActionOutcome& outcome,
                                const std::optional<TimelineEntry>& finish_entry,
                                absl::Time lease_until) override;
  absl::Status RetryExecution(const Execution& execution, absl::Time at) override;
  absl::StatusOr<std::vector<Execution>> ListExecutions(absl::string_view tenant,
                                                        absl::string_view rule_id) override;

 private:
  struct QueuedTrigger {
    ResponseTrigger trigger;
    absl::Time lease_until = absl::InfinitePast();
  };
  struct StoredExecution {
    Execution execution;
    std::string trigger_key;
    absl::Time lease_until = absl::InfinitePast();
  };

  IncidentStore& incidents_;
  absl::Mutex mu_;
  // (tenant, entry_id) -> trigger.
  std::map<std::pair<std::string, int64_t>, QueuedTrigger> triggers_ ABSL_GUARDED_BY(mu_);
  // In creation order.
  std::vector<StoredExecution> executions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentwatch::incident
