// ResponseStore over Postgres (migration 007_response_rules.sql). Triggers
// are leased with FOR UPDATE SKIP LOCKED; a claim takes a transaction-scoped
// advisory lock on its rule, so that the cooldown and hourly cap see every
// other replica's claims, and the unique (tenant, rule, trigger) key makes a
// trigger claim a rule once; executions are leased with a token that
// AdvanceExecution and RetryExecution check.
#pragma once

#include "common/pg.h"
#include "incident/store/response_store.h"

namespace agentwatch::incident {

class PgResponseStore final : public ResponseStore {
 public:
  // The first key of the two-key advisory locks on rules ("in" + "rr").
  static constexpr int kRuleLockSpace = 0x696e7272;

  // `pool` must reach a database migrated with Migrations() and outlive the
  // store.
  explicit PgResponseStore(common::PgPool& pool) : pool_(pool) {}

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
  common::PgPool& pool_;
};

}  // namespace agentwatch::incident
