#include "incident/store/response_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "incident/store/memory_response_store.h"

namespace agentwatch::incident {

std::string TriggerKey(const ResponseTrigger& trigger) {
  return absl::StrCat("entry:", trigger.entry_id);
}

const char* ExecutionStateName(ExecutionState state) {
  switch (state) {
    case ExecutionState::kPending:
      return "pending";
    case ExecutionState::kSucceeded:
      return "succeeded";
    case ExecutionState::kFailed:
      return "failed";
    case ExecutionState::kSkipped:
      return "skipped";
  }
  return "unknown";
}

// --- MemoryResponseStore ----------------------------------------------------

void MemoryResponseStore::EnqueueTrigger(const ResponseTrigger& trigger) {
  absl::MutexLock lock(&mu_);
  triggers_.emplace(std::make_pair(trigger.tenant, trigger.entry_id), QueuedTrigger{trigger});
}

size_t MemoryResponseStore::QueuedTriggers() {
  absl::MutexLock lock(&mu_);
  return triggers_.size();
}

absl::StatusOr<std::vector<ResponseTrigger>> MemoryResponseStore::LeaseTriggers(
    absl::Time now, absl::Duration lease, int limit) {
  absl::MutexLock lock(&mu_);
  std::vector<QueuedTrigger*> free;
  for (auto& [key, queued] : triggers_) {
    if (queued.lease_until <= now) free.push_back(&queued);
  }
  std::stable_sort(free.begin(), free.end(), [](const QueuedTrigger* a, const QueuedTrigger* b) {
    return std::tie(a->trigger.time, a->trigger.entry_id) <
           std::tie(b->trigger.time, b->trigger.entry_id);
  });
  std::vector<ResponseTrigger> out;
  for (QueuedTrigger* queued : free) {
    if (static_cast<int>(out.size()) >= limit) break;
    queued->lease_until = now + lease;
    out.push_back(queued->trigger);
  }
  return out;
}

absl::Status MemoryResponseStore::CompleteTriggers(const std::vector<ResponseTrigger>& triggers) {
  absl::MutexLock lock(&mu_);
  for (const ResponseTrigger& t : triggers) triggers_.erase(std::make_pair(t.tenant, t.entry_id));
  return absl::OkStatus();
}

absl::StatusOr<ClaimResult> MemoryResponseStore::ClaimExecution(const ExecutionClaim& claim) {
  const ResponseTrigger& trigger = claim.trigger;
  const std::string key = TriggerKey(trigger);
  TimelineEntry entry;
  ClaimResult result;
  {
    absl::MutexLock lock(&mu_);
    ExecutionHistory history;
    for (const StoredExecution& s : executions_) {
      const Execution& e = s.execution;
      if (e.tenant != trigger.tenant || e.rule_id != claim.rule.id) continue;
      if (s.trigger_key == key) {
        result.duplicate = true;
        result.execution_id = e.id;
        result.decision = e.state == ExecutionState::kSkipped ? ExecutionDecision::kCooldown
                                                              : ExecutionDecision::kRun;
        return result;
      }
      if (e.state == ExecutionState::kSkipped) continue;
      if (e.incident_id == trigger.incident_id) {
        history.last_for_incident =
            std::max(history.last_for_incident.value_or(e.create_time), e.create_time);
      }
      if (e.create_time > claim.now - kResponseCapWindow) history.recent.push_back(e.create_time);
    }
    result.decision = DecideExecution(claim.rule, history, claim.now);
    result.execution_id = ExecutionId(trigger.tenant, claim.rule.id, key);
    result.created = result.decision == ExecutionDecision::kRun;
    StoredExecution stored;
    Execution& e = stored.execution;
    e.tenant = trigger.tenant;
    e.id = result.execution_id;
    e.rule_id = claim.rule.id;
    e.incident_id = trigger.incident_id;
    e.rule_body = claim.rule_body;
    e.alert = trigger.alert;
    e.state = result.created ? ExecutionState::kPending : ExecutionState::kSkipped;
    e.create_time = claim.now;
    stored.trigger_key = key;
    executions_.push_back(std::move(stored));
    entry =
        ClaimEntry(claim.rule, trigger.tenant, trigger.incident_id, trigger.alert, result.decision,
                   result.execution_id, claim.now, NextAllowed(claim.rule, history, claim.now));
  }
  absl::Status appended = incidents_.AppendTimeline(entry);
  if (!appended.ok() && !absl::IsNotFound(appended)) return appended;
  return result;
}

absl::StatusOr<std::optional<Execution>> MemoryResponseStore::LeaseExecution(absl::Time now,
                                                                             absl::Duration lease) {
  absl::MutexLock lock(&mu_);
  for (StoredExecution& s : executions_) {
    if (s.execution.state != ExecutionState::kPending || s.lease_until > now) continue;
    s.lease_until = now + lease;
    ++s.execution.lease_token;
    ++s.execution.action_attempts;
    return std::optional<Execution>(s.execution);
  }
  return std::optional<Execution>();
}

absl::Status MemoryResponseStore::AdvanceExecution(const Execution& execution,
                                                   const ActionOutcome& outcome,
                                                   const std::optional<TimelineEntry>& finish_entry,
                                                   absl::Time lease_until) {
  std::vector<TimelineEntry> entries = outcome.entries;
  {
    absl::MutexLock lock(&mu_);
    StoredExecution* found = nullptr;
    for (StoredExecution& s : executions_) {
      if (s.execution.tenant == execution.tenant && s.execution.id == execution.id) found = &s;
    }
    if (found == nullptr || found->execution.lease_token != execution.lease_token ||
        found->execution.state != ExecutionState::kPending ||
        found->execution.next_action != outcome.index) {
      return absl::AbortedError(absl::StrCat("execution ", execution.id, " lease lost"));
    }
    Execution& e = found->execution;
    e.failed = e.failed || outcome.failed;
    e.next_action = outcome.index + 1;
    e.action_attempts = 0;
    found->lease_until = lease_until;
    if (outcome.stop) {
      e.state = e.failed ? ExecutionState::kFailed : ExecutionState::kSucceeded;
      if (finish_entry.has_value()) entries.push_back(*finish_entry);
    }
  }
  for (const TimelineEntry& entry : entries) {
    absl::Status appended = incidents_.AppendTimeline(entry);
    if (!appended.ok() && !absl::IsNotFound(appended)) return appended;
  }
  return absl::OkStatus();
}

absl::Status MemoryResponseStore::RetryExecution(const Execution& execution, absl::Time at) {
  absl::MutexLock lock(&mu_);
  for (StoredExecution& s : executions_) {
    if (s.execution.tenant != execution.tenant || s.execution.id != execution.id) continue;
    if (s.execution.lease_token != execution.lease_token ||
        s.execution.state != ExecutionState::kPending) {
      break;
    }
    s.lease_until = at;
    return absl::OkStatus();
  }
  return absl::AbortedError(absl::StrCat("execution ", execution.id, " lease lost"));
}

absl::StatusOr<std::vector<Execution>> MemoryResponseStore::ListExecutions(
    absl::string_view tenant, absl::string_view rule_id) {
  absl::MutexLock lock(&mu_);
  std::vector<Execution> out;
  for (const StoredExecution& s : executions_) {
    if (s.execution.tenant == tenant && s.execution.rule_id == rule_id) {
      out.push_back(s.execution);
    }
  }
  return out;
}

}  // namespace agentwatch::incident
