// SLO evaluation over the stored data: reads an SLO's good / total events
// from the MonitorStore's rollups (QuerySteps: minute steps for the last
// hours, hourly steps before, see PlanSliRead), computes its status and
// reports, and evaluates its burn-rate alerts through the SloStore, as data
// arrives (OnBatch, after a batch commits) and periodically (Sweep, so that
// alerts resolve once the burn stops, and fire when the windows slide into a
// burn or an SLO is created over burning data, even without new data).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "monitor/core/slo.h"
#include "monitor/store/monitor_store.h"
#include "monitor/store/slo_store.h"

namespace agentwatch::monitor {

class SloEngine {
 public:
  // Both stores must outlive the engine. Thread-safe.
  SloEngine(MonitorStore& data, SloStore& slos) : data_(data), slos_(slos) {}

  // The SLI counts of `slo` in spans of `step` (a whole number of minutes)
  // from `from` to `to` (both multiples of the step). Errors: UNAVAILABLE;
  // INTERNAL.
  absl::StatusOr<std::vector<SliBucket>> ReadBuckets(const Slo& slo, absl::Time from, absl::Time to,
                                                     absl::Duration step);

  // The spans PlanSliRead(now, longest) describes.
  absl::StatusOr<std::vector<SliBucket>> ReadRecent(const Slo& slo, absl::Time now,
                                                    absl::Duration longest);

  // The SLO's status at `now`.
  absl::StatusOr<SloStatusFigures> Status(const Slo& slo, absl::Time now);

  // The SLO's figures per period (ReportPeriods), widened to whole minutes
  // (the first period's start rounded down, the last one's end up): hourly
  // spans, and minute buckets in the hours a period boundary falls inside.
  absl::StatusOr<std::vector<PeriodFigures>> Report(const Slo& slo,
                                                    const std::vector<BucketRange>& periods);

  // Reads the SLO's data and evaluates its burn-rate alerts at `now`.
  absl::StatusOr<SweepResult> Evaluate(const Slo& slo, absl::Time now);

  // Evaluates every SLO whose SLI metric the committed batch fed. Stops at
  // the first error, keeping what earlier SLOs committed.
  absl::StatusOr<SweepResult> OnBatch(const BatchAggregate& aggregate, absl::Time now);

  // Evaluates up to `limit` SLOs with firing burn-rate alerts, and the next
  // `limit` of all SLOs in (name, id) order after those the previous sweep
  // took (starting over after the last), so every SLO is evaluated within
  // ceil(SLOs / limit) sweeps.
  absl::StatusOr<SweepResult> Sweep(absl::Time now, int limit);

 private:
  MonitorStore& data_;
  SloStore& slos_;
  absl::Mutex cursor_mu_;
  // (name, id) of the last SLO the round-robin sweep took; none: the start.
  std::optional<std::pair<std::string, std::string>> cursor_ ABSL_GUARDED_BY(cursor_mu_);
};

}  // namespace agentwatch::monitor
