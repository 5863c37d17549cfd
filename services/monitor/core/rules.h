// Rule evaluation as data arrives. After a batch is written, and in the same
// transaction, the store hands the batch to every RuleEvaluator with a
// RuleContext over that transaction: evaluators read rollups, lock and update
// alert states, and emit alert notices, so a transition commits (and is
// enqueued for the incident service) together with the data that caused it.
// Periodic sweeps re-evaluate firing alerts that no new data touches. The
// built-in workflow error-rate alert is the first evaluator; alert rules,
// SLO burn rates and anomaly rules plug in the same way.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "monitor/core/alerting.h"
#include "monitor/core/rollup.h"

namespace agentwatch::monitor {

// Rollup rows of one metric of one tenant whose series carry label
// `match_label` = `match_value`, grouped by the value of `group_label` ("" when
// a series lacks it).
struct RollupSelector {
  std::string tenant;
  std::string metric;
  std::string match_label;
  std::string match_value;
  std::string group_label;
};

// What an evaluator may do inside the transaction of the batch (or sweep).
// Implementations: the Postgres store and the in-memory fake.
class RuleContext {
 public:
  virtual ~RuleContext() = default;

  // Sums the rollups `selector` selects whose bucket starts in
  // [range.from, range.to), by group value. Sees the batch's own writes.
  virtual absl::StatusOr<std::map<std::string, RollupStats>> SumRollups(
      const RollupSelector& selector, const BucketRange& range) = 0;

  // Returns the state of (initial.tenant, initial.fingerprint), creating it
  // as `initial` when absent, locked until the transaction ends so that
  // concurrent evaluators (other replicas) of the same alert wait and then
  // see this one's outcome.
  virtual absl::StatusOr<AlertState> LockAlertState(const AlertState& initial) = 0;

  // Firing alerts of `rule`, at most `limit`, locked; alerts another
  // transaction holds are skipped.
  virtual absl::StatusOr<std::vector<AlertState>> LockFiringAlerts(const std::string& rule,
                                                                   int limit) = 0;

  // Stores a state returned by LockAlertState / LockFiringAlerts.
  virtual absl::Status SaveAlertState(const AlertState& state) = 0;

  // Enqueues a notice for the incident service, deduplicated by its
  // IdempotencyKey.
  virtual absl::Status EmitAlert(const AlertNotice& notice) = 0;

  // LockAlertState of every element of `initial` at once: the states are
  // created where absent and locked in (tenant, fingerprint) order, so that
  // transactions locking overlapping sets this way do not deadlock. Element
  // i of the result is the state of initial[i] (a pair given twice is
  // returned twice). The default calls LockAlertState once per state, in
  // that order; a store may do it in a constant number of statements.
  virtual absl::StatusOr<std::vector<AlertState>> LockAlertStates(
      const std::vector<AlertState>& initial);

  // SumRollups of every selector over one range: element i of the result
  // is SumRollups(selectors[i], range). The default calls SumRollups once
  // per selector; a store may answer them in one statement.
  virtual absl::StatusOr<std::vector<std::map<std::string, RollupStats>>> SumRollupsMany(
      const std::vector<RollupSelector>& selectors, const BucketRange& range);
};

// Transitions an evaluation caused.
struct RuleOutcome {
  int fired = 0;
  int resolved = 0;
};

// A rule evaluated as data arrives. Implementations are stateless between
// calls (all state lives behind the RuleContext) and thread-safe.
class RuleEvaluator {
 public:
  virtual ~RuleEvaluator() = default;

  // Evaluates what `batch` may have changed, at `now`. A store that commits
  // several batches in one transaction may pass their union as event_count
  // and workflows only (rollups, series and usage left empty): evaluators
  // read the written data through `context`.
  virtual absl::Status OnBatch(const BatchAggregate& batch, RuleContext& context, absl::Time now,
                               RuleOutcome* outcome) const = 0;

  // Re-evaluates up to `limit` firing alerts at `now` (e.g. to resolve one
  // whose traffic stopped).
  virtual absl::Status OnSweep(RuleContext& context, absl::Time now, int limit,
                               RuleOutcome* outcome) const = 0;
};

// The built-in alert "WorkflowErrorRateHigh": per (tenant, workflow), the
// share of failed and timed-out runs among all runs over the configured
// window, from workflow_runs_total. Decision: DecideErrorRate. Labels
// {alertname, tenant, workflow}; annotations {summary, description}.
class WorkflowErrorRateRule final : public RuleEvaluator {
 public:
  static constexpr char kRule[] = "workflow_error_rate";
  static constexpr char kAlertName[] = "WorkflowErrorRateHigh";

  // `config` must be valid (ValidateErrorRateAlertConfig).
  explicit WorkflowErrorRateRule(ErrorRateAlertConfig config) : config_(config) {}

  absl::Status OnBatch(const BatchAggregate& batch, RuleContext& context, absl::Time now,
                       RuleOutcome* outcome) const override;
  absl::Status OnSweep(RuleContext& context, absl::Time now, int limit,
                       RuleOutcome* outcome) const override;

  // Evaluates the alert of one workflow.
  absl::Status Evaluate(const WorkflowKey& key, RuleContext& context, absl::Time now,
                        RuleOutcome* outcome) const;

  // Evaluates the alerts of all `keys` with one LockAlertStates and one
  // SumRollupsMany (the statements of one workflow's Evaluate, for all of
  // them at once); the same transitions as Evaluate of each distinct key in
  // turn (a key given twice is evaluated once).
  absl::Status EvaluateAll(const std::vector<WorkflowKey>& keys, RuleContext& context,
                           absl::Time now, RuleOutcome* outcome) const;

  const ErrorRateAlertConfig& config() const { return config_; }

 private:
  // EvaluateAll of keys that are sorted and distinct.
  absl::Status EvaluateUnique(const std::vector<WorkflowKey>& keys, RuleContext& context,
                              absl::Time now, RuleOutcome* outcome) const;
  AlertState InitialState(const WorkflowKey& key) const;
  RollupSelector RunsSelector(const WorkflowKey& key) const;
  // Decides on `state` from the runs by status and, on a transition, saves
  // the state and emits its notice.
  absl::Status Apply(const WorkflowKey& key, AlertState state,
                     const std::map<std::string, RollupStats>& by_status, RuleContext& context,
                     absl::Time now, RuleOutcome* outcome) const;

  ErrorRateAlertConfig config_;
};

}  // namespace agentwatch::monitor
