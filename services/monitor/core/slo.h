// Service-level objectives (CreateSlo ...): the SLO model and its
// validation, where its SLI comes from, the latency SLI's good events from a
// quantile sketch, the SLO status (SLI, error budget, burn rates), the
// burn-rate alerts' evaluation over a replica-safe context, and the
// calendar periods of SLO reports. Pure.
//
// SLI sources (the rollups of the built-in metrics, see names.h):
// - availability: good = succeeded, bad = failed + timed out; cancelled
//   events are neither (a user's cancellation is not the platform's failure)
//   and are left out of the total. From workflow_runs_total,
//   agent_executions_total or llm_calls_total.
// - latency: good = events with a duration at or under latency_threshold,
//   total = events with a duration, every status. From the 1-minute
//   quantile sketches of workflow_duration_seconds, agent_execution_seconds
//   or llm_latency_seconds. A sketch keeps values in logarithmic buckets of
//   relative accuracy a (1 %), so an event is classified by its bucket:
//   only events within a factor (1 +- a) of the threshold (between about
//   0.99 t and 1.01 t with the default sketch) may be counted on the wrong
//   side; every other event is classified exactly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "monitor/core/alerting.h"
#include "monitor/core/burn_rate.h"
#include "monitor/core/health.h"
#include "monitor/core/quantile_sketch.h"
#include "monitor/core/query.h"
#include "monitor/core/rules.h"
#include "monitor/core/types.h"

namespace agentwatch::monitor {

// Limits.
inline constexpr int64_t kMaxSlosPerTenant = 500;
inline constexpr size_t kMaxBurnRateWindows = 8;
inline constexpr absl::Duration kMinSloWindow = absl::Hours(1);
inline constexpr absl::Duration kMaxSloWindow = absl::Hours(24 * 400);
// Most periods one SLO report may hold.
inline constexpr int64_t kMaxReportPeriods = 400;

// The AlertState.rule of burn-rate alerts.
inline constexpr char kSloBurnRateEvaluator[] = "slo_burn_rate";

// Values equal agentwatch.monitor.v1.SloSubject.
enum class SloSubject : int {
  kUnspecified = 0,
  kWorkflowRuns = 1,
  kAgentExecutions = 2,
  kLlmCalls = 3,
};

// Values equal agentwatch.monitor.v1.SliKind.
enum class SliKind : int { kUnspecified = 0, kAvailability = 1, kLatency = 2 };

// A service-level objective.
struct Slo {
  std::string id;  // server-assigned
  std::string name;
  std::string description;
  HealthScope scope;  // scope.tenant is the SLO's tenant
  SloSubject subject = SloSubject::kUnspecified;
  SliKind sli_kind = SliKind::kUnspecified;
  // LATENCY only: events at or under this are good.
  absl::Duration latency_threshold = absl::ZeroDuration();
  double objective = 0;
  absl::Duration window = absl::Hours(24 * 30);
  std::vector<BurnRateWindow> burn_rate_windows;
  Labels labels;
  absl::Time create_time = absl::UnixEpoch();
  absl::Time update_time = absl::UnixEpoch();

  const std::string& tenant() const { return scope.tenant; }
};

// Applies the defaults to an SLO as received: window 30 days when zero,
// DefaultBurnRateWindows() when none, a window's severity P2 when unset.
void NormalizeSlo(Slo* slo);

// INVALID_ARGUMENT naming the field ("slo.name", "slo.objective",
// "slo.burn_rate_windows[1].short_window", ...) for a normalized SLO: name
// required (at most 128 bytes, no NUL); description at most 4096 bytes;
// scope.tenant required and the scope valid (ValidateHealthScope), with only
// the fields the subject's events carry (workflow runs: team, workflow;
// agent executions: agent, workflow; LLM calls: provider, model, agent,
// workflow, team; never service), tags matching event labels; subject and
// sli_kind set and known; latency_threshold positive for LATENCY and unset
// otherwise; objective finite and in (0, 1); window a whole number of
// minutes from 1 hour to 400 days; at most 8 burn-rate windows, each with a
// short window of at least 1 minute below its long window, the long window
// at most the SLO window, both whole minutes, a finite burn_rate > 0 and a
// severity P0..P3; at most 32 labels with valid names and values.
absl::Status ValidateSlo(const Slo& slo);

// Where an SLO's SLI comes from: the metric, the matchers selecting the
// SLO's scope, and whether good events come from the sketch (latency) or
// from the status label (availability).
struct SliSource {
  std::string metric;
  std::vector<LabelMatcher> matchers;
  bool latency = false;
};
SliSource SliSourceOf(const Slo& slo);

// The availability counts of `count` events of one status label value.
SliCounts AvailabilityCounts(const std::string& status, int64_t count);

// The number of values a sketch classifies at or under `threshold` (see
// the error note above): the values whose bucket estimate is <= threshold.
int64_t CountAtOrBelow(const QuantileSketch& sketch, double threshold);

// The rollup spans an evaluation at `now` over windows up to `longest`
// reads: minute buckets from the hour boundary at or before now - 6 h (so
// that every window up to 6 h is exact) and hourly spans before that.
struct SliReadPlan {
  absl::Time coarse_from;  // hour-aligned; == fine_from when nothing coarse
  absl::Time fine_from;    // hour-aligned
  absl::Time to;           // MinuteBucket(now) + 1 minute
};
SliReadPlan PlanSliRead(absl::Time now, absl::Duration longest);

// The longest of the SLO window and every burn-rate long window.
absl::Duration LongestSloWindow(const Slo& slo);

// Current state of an SLO.
struct SloStatusFigures {
  SliCounts counts;  // over the SLO window
  double sli = 1;
  ErrorBudget budget;
  // Burn rate of every distinct window (long and short) of the burn-rate
  // alerts, ascending by window.
  std::vector<std::pair<absl::Duration, double>> burn_rates;
};
SloStatusFigures ComputeSloStatus(const Slo& slo, const std::vector<SliBucket>& buckets,
                                  absl::Time now);

// The stable fingerprint of one burn-rate alert of an SLO: a 128-bit hex
// hash of ("slo_burn_rate", tenant, SLO id, long window, short window,
// factor), so changing a window's definition makes it a new alert.
std::string SloAlertFingerprint(const std::string& tenant, const std::string& slo_id,
                                const BurnRateWindow& window);

// What burn-rate evaluation reads and writes, inside one transaction that
// holds the SLO's lock.
class SloAlertContext {
 public:
  virtual ~SloAlertContext() = default;
  // The stored (firing) burn-rate alerts of an SLO, locked.
  virtual absl::StatusOr<std::vector<AlertState>> LockSloAlerts(const std::string& tenant,
                                                                const std::string& slo_id) = 0;
  // Stores (inserts or replaces) a firing alert.
  virtual absl::Status SaveSloAlert(const AlertState& state) = 0;
  // Removes an alert that no longer fires.
  virtual absl::Status DeleteSloAlert(const std::string& tenant,
                                      const std::string& fingerprint) = 0;
  // Enqueues a notice for the incident service (deduplicated by its
  // IdempotencyKey).
  virtual absl::Status EmitAlert(const AlertNotice& notice) = 0;
};

// Evaluates every burn-rate window of `slo` at `now` over `buckets` (which
// must cover PlanSliRead(now, LongestSloWindow(slo))): steps each window's
// alert (StepBurnRateAlert), saves firing ones, deletes resolved ones,
// emits the notices and resolves stored alerts of windows no longer
// configured. When a stored alert was evaluated after `now` (another
// replica with later data), does nothing. Alerts carry the SLO's labels
// plus alertname, tenant, slo, slo_id, burn_window ("1h/5m") and the
// scope's workflow / agent / model / provider / team.
absl::Status EvaluateSloAlerts(const Slo& slo, const std::vector<SliBucket>& buckets,
                               SloAlertContext& context, absl::Time now, RuleOutcome* outcome);

// Resolves every firing burn-rate alert of `slo` (being deleted) at `now`.
absl::Status ResolveSloAlerts(const Slo& slo, SloAlertContext& context, absl::Time now,
                              RuleOutcome* outcome);

// Values equal agentwatch.monitor.v1.ReportPeriod.
enum class ReportPeriod : int { kUnspecified = 0, kDay = 1, kWeek = 2, kMonth = 3 };

// The calendar periods (days, ISO weeks from Monday, or months in `zone`)
// that overlap [start, end), each clipped to it, in time order.
// INVALID_ARGUMENT naming "range.end" when end is not after start, "period"
// for an unknown period, "range" for more than kMaxReportPeriods periods.
absl::StatusOr<std::vector<BucketRange>> ReportPeriods(absl::Time start, absl::Time end,
                                                       ReportPeriod period, absl::TimeZone zone);

// One period of an SLO report.
struct PeriodFigures {
  BucketRange range;  // [from, to) here are the period's bounds
  SliCounts counts;
  double sli = 1;
  bool met = true;  // sli >= objective
  double budget_consumed = 0;
};
std::vector<PeriodFigures> ComputeSloReport(const Slo& slo, const std::vector<BucketRange>& periods,
                                            const std::vector<SliBucket>& buckets);

}  // namespace agentwatch::monitor
