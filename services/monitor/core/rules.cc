#include "monitor/core/rules.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "monitor/core/names.h"

namespace agentwatch::monitor {
namespace {

std::string Percent(double ratio) { return absl::StrFormat("%.1f%%", ratio * 100); }

}  // namespace

absl::Status WorkflowErrorRateRule::OnBatch(const BatchAggregate& batch, RuleContext& context,
                                            absl::Time now, RuleOutcome* outcome) const {
  for (const WorkflowKey& key : batch.workflows) {
    RETURN_IF_ERROR(Evaluate(key, context, now, outcome));
  }
  return absl::OkStatus();
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
  AlertState initial;
  initial.tenant = key.tenant;
  initial.fingerprint = WorkflowErrorRateFingerprint(key.tenant, key.workflow);
  initial.rule = kRule;
  initial.name = kAlertName;
  initial.labels = {
      {"alertname", kAlertName}, {kLabelTenant, key.tenant}, {kLabelWorkflow, key.workflow}};
  // Lock first, read second: a replica that waited for the lock then reads
  // the rollups the other one committed.
  ASSIGN_OR_RETURN(AlertState state, context.LockAlertState(initial));
  const BucketRange range = WindowBuckets(now, config_.window);
  ASSIGN_OR_RETURN(
      const auto by_status,
      context.SumRollups(
          {key.tenant, kWorkflowRunsTotal, kLabelWorkflow, key.workflow, kLabelStatus}, range));
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
