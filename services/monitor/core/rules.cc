#include "monitor/core/rules.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "monitor/core/names.h"

namespace agentwatch::monitor {
namespace {

std::string Percent(double ratio) { return absl::StrFormat("%.1f%%", ratio * 100); }

}  // namespace

absl::StatusOr<std::vector<AlertState>> RuleContext::LockAlertStates(
    const std::vector<AlertState>& initial) {
  std::vector<size_t> order(initial.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&initial](size_t a, size_t b) {
    return std::tie(initial[a].tenant, initial[a].fingerprint) <
           std::tie(initial[b].tenant, initial[b].fingerprint);
  });
  std::vector<AlertState> out(initial.size());
  for (const size_t i : order) {
    ASSIGN_OR_RETURN(out[i], LockAlertState(initial[i]));
  }
  return out;
}

absl::StatusOr<std::vector<std::map<std::string, RollupStats>>> RuleContext::SumRollupsMany(
    const std::vector<RollupSelector>& selectors, const BucketRange& range) {
  std::vector<std::map<std::string, RollupStats>> out;
  out.reserve(selectors.size());
  for (const RollupSelector& selector : selectors) {
    ASSIGN_OR_RETURN(out.emplace_back(), SumRollups(selector, range));
  }
  return out;
}

absl::Status WorkflowErrorRateRule::OnBatch(const BatchAggregate& batch, RuleContext& context,
                                            absl::Time now, RuleOutcome* outcome) const {
  return EvaluateAll(batch.workflows, context, now, outcome);
}

absl::Status WorkflowErrorRateRule::EvaluateAll(const std::vector<WorkflowKey>& keys,
                                                RuleContext& context, absl::Time now,
                                                RuleOutcome* outcome) const {
  // A workflow given twice is evaluated once (its second state would be
  // the one locked before the first transition).
  std::vector<WorkflowKey> unique_keys;
  const std::vector<WorkflowKey>* evaluated = &keys;
  if (!std::is_sorted(keys.begin(), keys.end()) ||
      std::adjacent_find(keys.begin(), keys.end()) != keys.end()) {
    unique_keys = keys;
    std::sort(unique_keys.begin(), unique_keys.end());
    unique_keys.erase(std::unique(unique_keys.begin(), unique_keys.end()), unique_keys.end());
    evaluated = &unique_keys;
  }
  return EvaluateUnique(*evaluated, context, now, outcome);
}

absl::Status WorkflowErrorRateRule::EvaluateUnique(const std::vector<WorkflowKey>& keys,
                                                   RuleContext& context, absl::Time now,
                                                   RuleOutcome* outcome) const {
  if (keys.empty()) return absl::OkStatus();
  std::vector<AlertState> initial;
  std::vector<RollupSelector> selectors;
  initial.reserve(keys.size());
  selectors.reserve(keys.size());
  for (const WorkflowKey& key : keys) {
    initial.push_back(InitialState(key));
    selectors.push_back(RunsSelector(key));
  }
  // All locks first, then one read: as in Evaluate, a replica that waited
  // for a lock reads the rollups the other one committed.
  ASSIGN_OR_RETURN(std::vector<AlertState> states, context.LockAlertStates(initial));
  ASSIGN_OR_RETURN(const auto runs,
                   context.SumRollupsMany(selectors, WindowBuckets(now, config_.window)));
  if (states.size() != keys.size() || runs.size() != keys.size()) {
    return absl::InternalError("rule context answered a different number of workflows");
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    RETURN_IF_ERROR(Apply(keys[i], std::move(states[i]), runs[i], context, now, outcome));
  }
  return absl::OkStatus();
}

AlertState WorkflowErrorRateRule::InitialState(const WorkflowKey& key) const {
  AlertState initial;
  initial.tenant = key.tenant;
  initial.fingerprint = WorkflowErrorRateFingerprint(key.tenant, key.workflow);
  initial.rule = kRule;
  initial.name = kAlertName;
  initial.labels = {
      {"alertname", kAlertName}, {kLabelTenant, key.tenant}, {kLabelWorkflow, key.workflow}};
  return initial;
}

RollupSelector WorkflowErrorRateRule::RunsSelector(const WorkflowKey& key) const {
  return {key.tenant, kWorkflowRunsTotal, kLabelWorkflow, key.workflow, kLabelStatus};
}

absl::Status WorkflowErrorRateRule::OnSweep(RuleContext& context, absl::Time now, int limit,
                                            RuleOutcome* outcome) const {
  ASSIGN_OR_RETURN(std::vector<AlertState> firing, context.LockFiringAlerts(kRule, limit));
  for (const AlertState& state : firing) {
    const auto workflow = state.labels.find(kLabelWorkflow);
    if (workflow == state.labels.end()) continue;
    RETURN_IF_ERROR(Evaluate({state.tenant, workflow->second}, context, now, outcome));
  }
  return absl::OkStatus();
}

absl::Status WorkflowErrorRateRule::Evaluate(const WorkflowKey& key, RuleContext& context,
                                             absl::Time now, RuleOutcome* outcome) const {
  // Lock first, read second: a replica that waited for the lock then reads
  // the rollups the other one committed.
  ASSIGN_OR_RETURN(AlertState state, context.LockAlertState(InitialState(key)));
  ASSIGN_OR_RETURN(const auto by_status,
                   context.SumRollups(RunsSelector(key), WindowBuckets(now, config_.window)));
  return Apply(key, std::move(state), by_status, context, now, outcome);
}

absl::Status WorkflowErrorRateRule::Apply(const WorkflowKey& key, AlertState state,
                                          const std::map<std::string, RollupStats>& by_status,
                                          RuleContext& context, absl::Time now,
                                          RuleOutcome* outcome) const {
  int64_t runs = 0;
  int64_t errors = 0;
  for (const auto& [status, stats] : by_status) {
    runs += stats.count;
    if (status == RunStatusLabel(RunStatus::kFailed) ||
        status == RunStatusLabel(RunStatus::kTimedOut)) {
      errors += stats.count;
    }
  }
  const ErrorRateDecision decision = DecideErrorRate(config_, runs, errors, state.firing);
  if (decision.action == AlertAction::kNone) return absl::OkStatus();

  const std::string window = absl::FormatDuration(config_.window);
  AlertNotice notice;
  notice.fingerprint = state.fingerprint;
  notice.name = state.name;
  notice.tenant = state.tenant;
  notice.labels = state.labels;
  state.value = decision.rate;
  if (decision.action == AlertAction::kFire) {
    state.firing = true;
    state.severity = decision.severity;
    state.starts_at = now;
    state.ends_at.reset();
    notice.firing = true;
    notice.starts_at = now;
    notice.annotations["summary"] = absl::StrCat("Workflow ", key.workflow, " error rate ",
                                                 Percent(decision.rate), " over ", window);
    notice.annotations["description"] =
        absl::StrCat("Workflow ", key.workflow, " of tenant ", key.tenant, ": ", errors, " of ",
                     runs, " runs (", Percent(decision.rate), ") failed or timed out in the last ",
                     window, "; threshold ", Percent(config_.threshold), ".");
    ++outcome->fired;
  } else {
    state.firing = false;
    state.ends_at = now;
    notice.firing = false;
    notice.starts_at = state.starts_at.value_or(now);
    notice.ends_at = now;
    notice.annotations["summary"] =
        absl::StrCat("Workflow ", key.workflow, " error rate back to normal");
    notice.annotations["description"] =
        runs < config_.min_runs
            ? absl::StrCat("Workflow ", key.workflow, " of tenant ", key.tenant, ": ", runs,
                           " runs in the last ", window, ", fewer than the ", config_.min_runs,
                           " needed to judge its error rate.")
            : absl::StrCat("Workflow ", key.workflow, " of tenant ", key.tenant, ": ", errors,
                           " of ", runs, " runs (", Percent(decision.rate),
                           ") failed or timed out in the last ", window,
                           ", below the resolve level ", Percent(0.8 * config_.threshold), ".");
    ++outcome->resolved;
  }
  notice.severity = state.severity;
  RETURN_IF_ERROR(context.SaveAlertState(state));
  return context.EmitAlert(notice);
}

}  // namespace agentwatch::monitor
