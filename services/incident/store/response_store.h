// The repository of response-rule executions: the triggers intake leaves
// behind (one per "alert_firing" timeline entry of a tenant with response
// rules), the executions claimed for them exactly once across replicas, and
// the progress of each execution's actions. The rules themselves are
// ConfigRecords of kind config_kind::kResponseRule in the IncidentStore.
// Implementations: PgResponseStore (Postgres; a trigger on incident.timeline
// fills the queue inside intake's transaction) and MemoryResponseStore (unit
// tests; triggers are enqueued by hand).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "incident/core/response_rules.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

namespace config_kind {
// Response rules, kept as ConfigRecords (body: agentwatch.incident.v1.ResponseRule;
// refs: the notification channels their notify actions use).
inline constexpr absl::string_view kResponseRule = "response_rule";
}  // namespace config_kind

// A firing alert that joined an incident, waiting for rule evaluation.
struct ResponseTrigger {
  std::string tenant;
  std::string incident_id;
  int64_t entry_id = 0;  // the "alert_firing" timeline entry; unique per tenant
  absl::Time time = absl::UnixEpoch();
  ResponseSubject alert;
};

// The stable key of a trigger, part of execution ids.
std::string TriggerKey(const ResponseTrigger& trigger);

// What a claim asks for.
struct ExecutionClaim {
  ResponseTrigger trigger;
  ResponseRule rule;      // for the cooldown and cap (id, name, cooldown, max_per_hour)
  std::string rule_body;  // the rule as stored, kept with the execution
  absl::Time now = absl::UnixEpoch();
};

// The outcome of a claim.
struct ClaimResult {
  // True when a new execution was created; false when the decision held it
  // back or this trigger had claimed the rule already (duplicate).
  bool created = false;
  bool duplicate = false;
  ExecutionDecision decision = ExecutionDecision::kRun;
  std::string execution_id;
};

// States of an execution.
// kSkipped records a claim the cooldown or hourly cap held back (so that a
// trigger processed twice writes its "skipped" entry once); skipped claims
// do not count as executions.
enum class ExecutionState : int { kPending = 1, kSucceeded = 2, kFailed = 3, kSkipped = 4 };

// "pending", "succeeded", "failed", "skipped".
const char* ExecutionStateName(ExecutionState state);

// A claimed execution, as leased to one runner.
struct Execution {
  std::string tenant;
  std::string id;
  std::string rule_id;
  std::string incident_id;
  std::string rule_body;
  ResponseSubject alert;
  ExecutionState state = ExecutionState::kPending;
  int next_action = 0;      // index of the next action to run
  int action_attempts = 0;  // attempts of next_action so far (this lease's included)
  bool failed = false;      // an earlier action failed (continue_on_error)
  absl::Time create_time = absl::UnixEpoch();
  int64_t lease_token = 0;  // proves the lease in Advance/Retry
};

// The result of running action `index` of an execution.
struct ActionOutcome {
  int index = 0;
  bool failed = false;  // the action failed (permanently or out of attempts)
  bool stop = false;    // end the execution after this action
  std::vector<TimelineEntry> entries;
};

// Thread-safe.
class ResponseStore {
 public:
  virtual ~ResponseStore() = default;

  // Leases up to `limit` triggers not leased by anyone else (or whose lease
  // expired) until `now + lease`, oldest first. UNAVAILABLE.
  virtual absl::StatusOr<std::vector<ResponseTrigger>> LeaseTriggers(absl::Time now,
                                                                     absl::Duration lease,
                                                                     int limit) = 0;

  // Removes processed triggers. UNAVAILABLE.
  virtual absl::Status CompleteTriggers(const std::vector<ResponseTrigger>& triggers) = 0;

  // Serialized per rule (across replicas): returns duplicate when this
  // trigger claimed the rule before; otherwise decides with
  // DecideExecution over the rule's stored history at claim.now and, for
  // kRun, creates the pending execution (id ExecutionId(...)) with a
  // "response_rule" timeline entry; for kCooldown / kHourlyCap writes a
  // "response_rule" entry saying why it was skipped. UNAVAILABLE.
  virtual absl::StatusOr<ClaimResult> ClaimExecution(const ExecutionClaim& claim) = 0;

  // Leases the oldest pending execution that nobody holds (or whose lease
  // expired, or whose retry time came) until `now + lease`, counting an
  // attempt of its next action; nullopt when none. UNAVAILABLE.
  virtual absl::StatusOr<std::optional<Execution>> LeaseExecution(absl::Time now,
                                                                  absl::Duration lease) = 0;

  // Records `outcome` of the leased execution's next action and its
  // timeline entries in one step, and moves on to the next action, or
  // finishes the execution (kSucceeded, or kFailed when an action failed)
  // after the last action or a stop. `finish_entry` (when set) is written
  // when the execution finishes. The lease is extended to `lease_until`.
  // ABORTED when the lease was lost (another runner took over);
  // UNAVAILABLE.
  virtual absl::Status AdvanceExecution(const Execution& execution, const ActionOutcome& outcome,
                                        const std::optional<TimelineEntry>& finish_entry,
                                        absl::Time lease_until) = 0;

  // Gives the lease back, keeping the next action for a retry at `at` (after
  // a retryable failure). ABORTED when the lease was lost; UNAVAILABLE.
  virtual absl::Status RetryExecution(const Execution& execution, absl::Time at) = 0;

  // The executions (skipped claims included) of a tenant's rule, oldest
  // first, for tests and operators. UNAVAILABLE.
  virtual absl::StatusOr<std::vector<Execution>> ListExecutions(absl::string_view tenant,
                                                                absl::string_view rule_id) = 0;
};

}  // namespace agentwatch::incident
