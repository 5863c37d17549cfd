#include "monitor/core/slo.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "monitor/core/hash.h"
#include "monitor/core/names.h"
#include "monitor/core/rollup.h"

namespace agentwatch::monitor {
namespace {

constexpr size_t kMaxSloNameBytes = 128;
constexpr size_t kMaxSloDescriptionBytes = 4096;
constexpr size_t kMaxSloLabels = 32;

absl::Status CheckText(const std::string& field, const std::string& value, size_t max_bytes,
                       bool required) {
  if (required && value.empty()) return common::InvalidField(field, "required");
  if (value.size() > max_bytes) {
    return common::InvalidField(field, absl::StrCat("longer than ", max_bytes, " bytes"));
  }
  if (value.find('\0') != std::string::npos) {
    return common::InvalidField(field, "must not contain NUL characters");
  }
  return absl::OkStatus();
}

bool WholeMinutes(absl::Duration d) { return d % absl::Minutes(1) == absl::ZeroDuration(); }

// The scope fields the subject's events carry as labels.
absl::Status CheckScopeFields(const Slo& slo) {
  const HealthScope& s = slo.scope;
  const bool workflow_runs = slo.subject == SloSubject::kWorkflowRuns;
  const bool agents = slo.subject == SloSubject::kAgentExecutions;
  const char* subject = workflow_runs ? "workflow runs" : agents ? "agent executions" : "LLM calls";
  auto not_carried = [&](const char* field) {
    return common::InvalidField(absl::StrCat("slo.scope.", field),
                                absl::StrCat("not carried by ", subject));
  };
  if (!s.service.empty()) return not_carried("service");
  if (workflow_runs) {
    if (!s.agent.empty()) return not_carried("agent");
    if (!s.model.empty()) return not_carried("model");
    if (!s.provider.empty()) return not_carried("provider");
  } else if (agents) {
    if (!s.team.empty()) return not_carried("team");
    if (!s.model.empty()) return not_carried("model");
    if (!s.provider.empty()) return not_carried("provider");
  }
  for (const auto& [key, value] : s.tags) {
    if (IsReservedLabelName(key)) {
      return common::InvalidField(absl::StrCat("slo.scope.tags[", key, "]"),
                                  "is a built-in label; use the scope's own field");
    }
  }
  return absl::OkStatus();
}

std::string WindowText(const BurnRateWindow& window) {
  return absl::StrCat(absl::FormatDuration(window.long_window), "/",
                      absl::FormatDuration(window.short_window));
}

std::string Percent(double ratio) { return absl::StrFormat("%.4g%%", ratio * 100); }

AlertNotice NoticeOf(const AlertState& state, bool firing, absl::Time now) {
  AlertNotice notice;
  notice.fingerprint = state.fingerprint;
  notice.name = state.name;
  notice.severity = state.severity;
  notice.tenant = state.tenant;
  notice.labels = state.labels;
  notice.annotations = state.annotations;
  notice.starts_at = state.starts_at.value_or(now);
  notice.firing = firing;
  if (!firing) notice.ends_at = state.ends_at.value_or(now);
  return notice;
}

absl::Status Apply(AlertState& state, AlertAction action, SloAlertContext& context, absl::Time now,
                   RuleOutcome* outcome) {
  if (action == AlertAction::kFire) {
    RETURN_IF_ERROR(context.EmitAlert(NoticeOf(state, true, now)));
    ++outcome->fired;
  } else if (action == AlertAction::kResolve) {
    RETURN_IF_ERROR(context.EmitAlert(NoticeOf(state, false, now)));
    ++outcome->resolved;
  }
  if (state.firing) return context.SaveSloAlert(state);
  return context.DeleteSloAlert(state.tenant, state.fingerprint);
}

// Refreshes what the SLO (which may have changed) puts on its alert.
void Describe(const Slo& slo, const BurnRateWindow& window, const BurnRateEvaluation& evaluation,
              AlertState* state) {
  state->name = slo.name;
  state->severity = window.severity;
  state->labels = slo.labels;
  const HealthScope& s = slo.scope;
  for (const auto& [label, value] :
       {std::pair<const char*, const std::string&>{kLabelWorkflow, s.workflow},
        {kLabelAgent, s.agent},
        {kLabelModel, s.model},
        {kLabelProvider, s.provider},
        {kLabelTeam, s.team}}) {
    if (!value.empty()) state->labels[label] = value;
  }
  state->labels["alertname"] = slo.name;
  state->labels[kLabelTenant] = slo.tenant();
  state->labels["slo"] = slo.name;
  state->labels["slo_id"] = slo.id;
  state->labels["burn_window"] = WindowText(window);
  state->annotations["summary"] = absl::StrFormat(
      "SLO %s: error budget burning %.3gx over %s and %.3gx over %s (alert at %.3gx)", slo.name,
      evaluation.long_rate, absl::FormatDuration(window.long_window), evaluation.short_rate,
      absl::FormatDuration(window.short_window), window.burn_rate);
  state->annotations["description"] =
      absl::StrCat("objective ", Percent(slo.objective), " over ", absl::FormatDuration(slo.window),
                   "; ", evaluation.long_counts.bad(), " bad of ", evaluation.long_counts.total,
                   " events over ", absl::FormatDuration(window.long_window),
                   "; a burn rate of 1 spends the whole budget over ", "the SLO window");
  if (!slo.description.empty()) state->annotations["slo_description"] = slo.description;
}

}  // namespace

void NormalizeSlo(Slo* slo) {
  if (slo->window == absl::ZeroDuration()) slo->window = absl::Hours(24 * 30);
  if (slo->burn_rate_windows.empty()) slo->burn_rate_windows = DefaultBurnRateWindows();
  for (BurnRateWindow& window : slo->burn_rate_windows) {
    if (window.severity == Severity::kUnspecified) window.severity = Severity::kP2;
  }
}

absl::Status ValidateSlo(const Slo& slo) {
  RETURN_IF_ERROR(CheckText("slo.name", slo.name, kMaxSloNameBytes, true));
  RETURN_IF_ERROR(CheckText("slo.description", slo.description, kMaxSloDescriptionBytes, false));
  if (slo.scope.tenant.empty()) return common::InvalidField("slo.scope.tenant", "required");
  if (absl::Status scope = ValidateHealthScope(slo.scope); !scope.ok()) {
    return absl::Status(scope.code(), absl::StrCat("slo.", scope.message()));
  }
  switch (slo.subject) {
    case SloSubject::kWorkflowRuns:
    case SloSubject::kAgentExecutions:
    case SloSubject::kLlmCalls:
      break;
    case SloSubject::kUnspecified:
      return common::InvalidField("slo.subject", "required");
    default:
      return common::InvalidField("slo.subject", "unknown value");
  }
  RETURN_IF_ERROR(CheckScopeFields(slo));
  switch (slo.sli_kind) {
    case SliKind::kAvailability:
      if (slo.latency_threshold != absl::ZeroDuration()) {
        return common::InvalidField("slo.latency_threshold", "only for LATENCY SLOs");
      }
      break;
    case SliKind::kLatency:
      if (slo.latency_threshold <= absl::ZeroDuration()) {
        return common::InvalidField("slo.latency_threshold", "required and positive for LATENCY");
      }
      break;
    case SliKind::kUnspecified:
      return common::InvalidField("slo.sli_kind", "required");
    default:
      return common::InvalidField("slo.sli_kind", "unknown value");
  }
  if (!std::isfinite(slo.objective) || slo.objective <= 0 || slo.objective >= 1) {
    return common::InvalidField("slo.objective", "must be in (0, 1), e.g. 0.999");
  }
  if (slo.window < kMinSloWindow || slo.window > kMaxSloWindow || !WholeMinutes(slo.window)) {
    return common::InvalidField("slo.window", "must be whole minutes from 1h to 400 days");
  }
  if (slo.burn_rate_windows.size() > kMaxBurnRateWindows) {
    return common::InvalidField(
        "slo.burn_rate_windows",
        absl::StrCat(slo.burn_rate_windows.size(), " entries, at most ", kMaxBurnRateWindows));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < slo.burn_rate_windows.size(); ++i) {
    const BurnRateWindow& w = slo.burn_rate_windows[i];
    const std::string prefix = absl::StrCat("slo.burn_rate_windows[", i, "].");
    if (w.long_window > slo.window || w.long_window <= absl::ZeroDuration() ||
        !WholeMinutes(w.long_window)) {
      return common::InvalidField(prefix + "long_window",
                                  "must be whole minutes, positive and at most the SLO window");
    }
    if (w.short_window < absl::Minutes(1) || w.short_window >= w.long_window ||
        !WholeMinutes(w.short_window)) {
      return common::InvalidField(prefix + "short_window",
                                  "must be whole minutes, at least 1m and below long_window");
    }
    if (!std::isfinite(w.burn_rate) || w.burn_rate <= 0) {
      return common::InvalidField(prefix + "burn_rate", "must be finite and positive");
    }
    if (w.severity < Severity::kP0 || w.severity > Severity::kP3) {
      return common::InvalidField(prefix + "severity", "must be P0..P3");
    }
    if (!seen.insert(SloAlertFingerprint("", "", w)).second) {
      return common::InvalidField(prefix.substr(0, prefix.size() - 1), "duplicate window");
    }
  }
  if (slo.labels.size() > kMaxSloLabels) {
    return common::InvalidField(
        "slo.labels", absl::StrCat(slo.labels.size(), " entries, at most ", kMaxSloLabels));
  }
  for (const auto& [key, value] : slo.labels) {
    const std::string field = absl::StrCat("slo.labels[", key, "]");
    if (!IsValidLabelName(key)) {
      return common::InvalidField(field, "name must match [a-zA-Z_][a-zA-Z0-9_]*");
    }
    RETURN_IF_ERROR(CheckText(field, value, kMaxLabelValueBytes, false));
  }
  return absl::OkStatus();
}

SliSource SliSourceOf(const Slo& slo) {
  SliSource source;
  source.latency = slo.sli_kind == SliKind::kLatency;
  switch (slo.subject) {
    case SloSubject::kWorkflowRuns:
      source.metric = source.latency ? kWorkflowDurationSeconds : kWorkflowRunsTotal;
      break;
    case SloSubject::kAgentExecutions:
      source.metric = source.latency ? kAgentExecutionSeconds : kAgentExecutionsTotal;
      break;
    default:
      source.metric = source.latency ? kLlmLatencySeconds : kLlmCallsTotal;
      break;
  }
  const HealthScope& s = slo.scope;
  for (const auto& [label, value] : {std::pair<const char*, const std::string&>{kLabelTeam, s.team},
                                     {kLabelWorkflow, s.workflow},
                                     {kLabelAgent, s.agent},
                                     {kLabelModel, s.model},
                                     {kLabelProvider, s.provider}}) {
    if (!value.empty()) source.matchers.push_back({label, MatchOp::kEqual, value});
  }
  for (const auto& [key, value] : s.tags) {
    source.matchers.push_back({key, MatchOp::kEqual, value});
  }
  return source;
}

SliCounts AvailabilityCounts(const std::string& status, int64_t count) {
  SliCounts counts;
  if (status == RunStatusLabel(RunStatus::kSucceeded)) {
    counts.good = count;
    counts.total = count;
  } else if (status == RunStatusLabel(RunStatus::kFailed) ||
             status == RunStatusLabel(RunStatus::kTimedOut)) {
    counts.total = count;
  }
  return counts;
}

int64_t CountAtOrBelow(const QuantileSketch& sketch, double threshold) {
  const int64_t n = sketch.count();
  if (n == 0 || sketch.min() > threshold) return 0;
  if (sketch.max() <= threshold) return n;
  // Quantile(q) estimates rank floor(q (n - 1)) and is non-decreasing in the
  // rank: find the last rank whose estimate is at or under the threshold.
  auto estimate = [&](int64_t rank) {
    const double q = std::min(1.0, (static_cast<double>(rank) + 0.5) / static_cast<double>(n - 1));
    return *sketch.Quantile(q);
  };
  int64_t lo = 0;      // estimate(lo) <= threshold (rank 0 is the exact min)
  int64_t hi = n - 1;  // estimate(hi) > threshold (rank n - 1 is the exact max)
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (estimate(mid) <= threshold) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo + 1;
}

SliReadPlan PlanSliRead(absl::Time now, absl::Duration longest) {
  SliReadPlan plan;
  plan.to = MinuteBucket(now) + absl::Minutes(1);
  plan.fine_from = AlignDown(MinuteBucket(now - absl::Hours(6)), absl::Hours(1));
  plan.coarse_from =
      std::min(plan.fine_from, AlignDown(MinuteBucket(now - longest), absl::Hours(1)));
  return plan;
}

absl::Duration LongestSloWindow(const Slo& slo) {
  absl::Duration longest = slo.window;
  for (const BurnRateWindow& w : slo.burn_rate_windows) longest = std::max(longest, w.long_window);
  return longest;
}

SloStatusFigures ComputeSloStatus(const Slo& slo, const std::vector<SliBucket>& buckets,
                                  absl::Time now) {
  SloStatusFigures out;
  out.counts = CountsInWindow(buckets, now, slo.window);
  out.sli = SliOf(out.counts);
  out.budget = ErrorBudgetOf(out.counts, slo.objective);
  std::set<absl::Duration> windows;
  for (const BurnRateWindow& w : slo.burn_rate_windows) {
    windows.insert(w.long_window);
    windows.insert(w.short_window);
  }
  for (const absl::Duration window : windows) {
    out.burn_rates.emplace_back(window,
                                BurnRateOf(CountsInWindow(buckets, now, window), slo.objective));
  }
  return out;
}

std::string SloAlertFingerprint(const std::string& tenant, const std::string& slo_id,
                                const BurnRateWindow& window) {
  return StableHash({kSloBurnRateEvaluator, tenant, slo_id,
                     absl::StrCat(absl::ToInt64Microseconds(window.long_window)),
                     absl::StrCat(absl::ToInt64Microseconds(window.short_window)),
                     absl::StrFormat("%.17g", window.burn_rate)});
}

absl::Status EvaluateSloAlerts(const Slo& slo, const std::vector<SliBucket>& buckets,
                               SloAlertContext& context, absl::Time now, RuleOutcome* outcome) {
  ASSIGN_OR_RETURN(std::vector<AlertState> stored, context.LockSloAlerts(slo.tenant(), slo.id));
  std::map<std::string, AlertState> by_fingerprint;
  for (AlertState& state : stored) {
    // Another replica already evaluated with a later clock (and data).
    if (state.last_evaluation.has_value() && *state.last_evaluation > now) {
      return absl::OkStatus();
    }
    std::string fingerprint = state.fingerprint;
    by_fingerprint.emplace(std::move(fingerprint), std::move(state));
  }
  for (const BurnRateWindow& window : slo.burn_rate_windows) {
    const std::string fingerprint = SloAlertFingerprint(slo.tenant(), slo.id, window);
    AlertState state;
    if (auto it = by_fingerprint.find(fingerprint); it != by_fingerprint.end()) {
      state = std::move(it->second);
      by_fingerprint.erase(it);
    } else {
      state.tenant = slo.tenant();
      state.fingerprint = fingerprint;
      state.rule = kSloBurnRateEvaluator;
      state.rule_id = slo.id;
    }
    const BurnRateEvaluation evaluation = EvaluateBurnRate(window, buckets, slo.objective, now);
    const bool was_firing = state.firing;
    const AlertAction action = StepBurnRateAlert(evaluation, now, &state);
    if (!was_firing && !state.firing) continue;
    Describe(slo, window, evaluation, &state);
    RETURN_IF_ERROR(Apply(state, action, context, now, outcome));
  }
  // Alerts of windows the SLO no longer has.
  for (auto& [fingerprint, state] : by_fingerprint) {
    AlertAction action = AlertAction::kNone;
    if (state.firing) {
      state.firing = false;
      state.ends_at = now;
      action = AlertAction::kResolve;
    }
    RETURN_IF_ERROR(Apply(state, action, context, now, outcome));
  }
  return absl::OkStatus();
}

absl::Status ResolveSloAlerts(const Slo& slo, SloAlertContext& context, absl::Time now,
                              RuleOutcome* outcome) {
  ASSIGN_OR_RETURN(std::vector<AlertState> stored, context.LockSloAlerts(slo.tenant(), slo.id));
  for (AlertState& state : stored) {
    AlertAction action = AlertAction::kNone;
    if (state.firing) {
      state.firing = false;
      state.ends_at = now;
      state.last_evaluation = now;
      action = AlertAction::kResolve;
    }
    RETURN_IF_ERROR(Apply(state, action, context, now, outcome));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<BucketRange>> ReportPeriods(absl::Time start, absl::Time end,
                                                       ReportPeriod period, absl::TimeZone zone) {
  if (end <= start) return common::InvalidField("range.end", "must be after range.start");
  if (period == ReportPeriod::kUnspecified) period = ReportPeriod::kDay;
  if (period != ReportPeriod::kDay && period != ReportPeriod::kWeek &&
      period != ReportPeriod::kMonth) {
    return common::InvalidField("period", "unknown value");
  }
  // The start of the period holding `t`, and the start of the next one.
  auto period_start = [&](absl::Time t) {
    const absl::CivilDay day = absl::ToCivilDay(t, zone);
    switch (period) {
      case ReportPeriod::kWeek:
        return absl::FromCivil(absl::PrevWeekday(day + 1, absl::Weekday::monday), zone);
      case ReportPeriod::kMonth:
        return absl::FromCivil(absl::CivilMonth(day), zone);
      default:
        return absl::FromCivil(day, zone);
    }
  };
  auto next_start = [&](absl::Time t) {
    const absl::CivilDay day = absl::ToCivilDay(t, zone);
    switch (period) {
      case ReportPeriod::kWeek:
        return absl::FromCivil(absl::NextWeekday(day, absl::Weekday::monday), zone);
      case ReportPeriod::kMonth:
        return absl::FromCivil(absl::CivilMonth(day) + 1, zone);
      default:
        return absl::FromCivil(day + 1, zone);
    }
  };
  std::vector<BucketRange> out;
  for (absl::Time t = period_start(start); t < end; t = next_start(t)) {
    if (static_cast<int64_t>(out.size()) == kMaxReportPeriods) {
      return common::InvalidField("range",
                                  absl::StrCat("more than ", kMaxReportPeriods, " periods"));
    }
    out.push_back({std::max(t, start), std::min(next_start(t), end)});
  }
  return out;
}

std::vector<PeriodFigures> ComputeSloReport(const Slo& slo, const std::vector<BucketRange>& periods,
                                            const std::vector<SliBucket>& buckets) {
  std::vector<PeriodFigures> out;
  out.reserve(periods.size());
  for (const BucketRange& period : periods) {
    PeriodFigures figures;
    figures.range = period;
    figures.counts = CountsInRange(buckets, period.from, period.to);
    figures.sli = SliOf(figures.counts);
    figures.met = figures.sli >= slo.objective;
    figures.budget_consumed = ErrorBudgetOf(figures.counts, slo.objective).consumed_ratio;
    out.push_back(figures);
  }
  return out;
}

}  // namespace agentwatch::monitor
