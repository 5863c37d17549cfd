#include "monitor/store/slo_engine.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "common/status_macros.h"
#include "monitor/core/names.h"
#include "monitor/core/rollup.h"

namespace agentwatch::monitor {
namespace {

// Steps per QuerySteps call (each step has at most one row per status).
constexpr int64_t kStepsPerRead = 50000;

void Add(SweepResult& total, const SweepResult& part) {
  total.alerts.fired += part.alerts.fired;
  total.alerts.resolved += part.alerts.resolved;
  total.outbox_enqueued += part.outbox_enqueued;
}

}  // namespace

absl::StatusOr<std::vector<SliBucket>> SloEngine::ReadBuckets(const Slo& slo, absl::Time from,
                                                              absl::Time to, absl::Duration step) {
  const SliSource source = SliSourceOf(slo);
  const double threshold = absl::ToDoubleSeconds(slo.latency_threshold);
  std::map<absl::Time, SliCounts> counts;
  for (absl::Time chunk = from; chunk < to; chunk += step * kStepsPerRead) {
    SeriesQuery query;
    query.metric = source.metric;
    query.matchers = source.matchers;
    query.tenant = slo.tenant();
    query.start = chunk;
    query.bucket_from = chunk;
    query.end = std::min(to, chunk + step * kStepsPerRead);
    query.step = step;
    if (source.latency) {
      query.aggregation = Aggregation::kP99;  // so that rows carry the merged sketch
    } else {
      query.aggregation = Aggregation::kSum;
      query.group_by = {kLabelStatus};
    }
    ASSIGN_OR_RETURN(const std::vector<StepRow> rows, data_.QuerySteps(query));
    for (const StepRow& row : rows) {
      SliCounts& bucket = counts[row.step_start];
      if (source.latency) {
        if (row.sketch.has_value()) {
          bucket.total += row.sketch->count();
          bucket.good += CountAtOrBelow(*row.sketch, threshold);
        }
      } else {
        bucket += AvailabilityCounts(row.group_values.empty() ? "" : row.group_values[0],
                                     row.stats.count);
      }
    }
  }
  std::vector<SliBucket> out;
  out.reserve(counts.size());
  for (const auto& [start, bucket] : counts) out.push_back({start, step, bucket});
  return out;
}

absl::StatusOr<std::vector<SliBucket>> SloEngine::ReadRecent(const Slo& slo, absl::Time now,
                                                             absl::Duration longest) {
  const SliReadPlan plan = PlanSliRead(now, longest);
  ASSIGN_OR_RETURN(std::vector<SliBucket> buckets,
                   ReadBuckets(slo, plan.coarse_from, plan.fine_from, absl::Hours(1)));
  ASSIGN_OR_RETURN(std::vector<SliBucket> fine,
                   ReadBuckets(slo, plan.fine_from, plan.to, absl::Minutes(1)));
  buckets.insert(buckets.end(), fine.begin(), fine.end());
  return buckets;
}

absl::StatusOr<SloStatusFigures> SloEngine::Status(const Slo& slo, absl::Time now) {
  ASSIGN_OR_RETURN(const std::vector<SliBucket> buckets,
                   ReadRecent(slo, now, LongestSloWindow(slo)));
  return ComputeSloStatus(slo, buckets, now);
}

absl::StatusOr<std::vector<PeriodFigures>> SloEngine::Report(
    const Slo& slo, const std::vector<BucketRange>& requested) {
  if (requested.empty()) return std::vector<PeriodFigures>();
  // Whole minutes (the rollup resolution): the minute holding the range's
  // end counts in full, as every event in it happened before the end.
  std::vector<BucketRange> periods = requested;
  periods.front().from = AlignDown(periods.front().from, absl::Minutes(1));
  periods.back().to =
      AlignDown(periods.back().to + absl::Minutes(1) - absl::Nanoseconds(1), absl::Minutes(1));
  // Hours holding a period boundary inside them (the range's ends, or
  // midnights of a zone with a fractional-hour offset) are read by the
  // minute, every other hour as one span, so no period takes a pro-rata share.
  std::set<absl::Time> fine_hours;
  for (const BucketRange& period : periods) {
    for (const absl::Time boundary : {period.from, period.to}) {
      const absl::Time hour = AlignDown(boundary, absl::Hours(1));
      if (hour != boundary) fine_hours.insert(hour);
    }
  }
  const absl::Time from = AlignDown(periods.front().from, absl::Hours(1));
  const absl::Time to =
      AlignDown(periods.back().to + absl::Hours(1) - absl::Nanoseconds(1), absl::Hours(1));
  ASSIGN_OR_RETURN(std::vector<SliBucket> hourly, ReadBuckets(slo, from, to, absl::Hours(1)));
  std::vector<SliBucket> buckets;
  buckets.reserve(hourly.size());
  for (SliBucket& bucket : hourly) {
    if (fine_hours.count(bucket.start) == 0) buckets.push_back(std::move(bucket));
  }
  // Runs of adjacent fine hours in one read each.
  for (auto it = fine_hours.begin(); it != fine_hours.end();) {
    const absl::Time run_from = *it;
    absl::Time run_to = run_from + absl::Hours(1);
    for (++it; it != fine_hours.end() && *it == run_to; ++it) run_to += absl::Hours(1);
    ASSIGN_OR_RETURN(const std::vector<SliBucket> minutes,
                     ReadBuckets(slo, run_from, run_to, absl::Minutes(1)));
    buckets.insert(buckets.end(), minutes.begin(), minutes.end());
  }
  return ComputeSloReport(slo, periods, buckets);
}

absl::StatusOr<SweepResult> SloEngine::Evaluate(const Slo& slo, absl::Time now) {
  absl::Duration longest = absl::ZeroDuration();
  for (const BurnRateWindow& w : slo.burn_rate_windows) longest = std::max(longest, w.long_window);
  ASSIGN_OR_RETURN(const std::vector<SliBucket> buckets, ReadRecent(slo, now, longest));
  return slos_.EvaluateSlo(slo, buckets, now);
}

absl::StatusOr<SweepResult> SloEngine::OnBatch(const BatchAggregate& aggregate, absl::Time now) {
  // The cells are in (tenant, metric, ...) order: a pair goes into the set
  // once per run of cells, not once per cell.
  std::set<std::pair<std::string, std::string>> fed;
  const RollupDelta* previous = nullptr;
  for (const RollupDelta& delta : aggregate.rollups) {
    if (previous == nullptr || previous->metric != delta.metric ||
        previous->tenant != delta.tenant) {
      fed.insert({delta.tenant.str(), delta.metric.str()});
    }
    previous = &delta;
  }
  SweepResult total;
  if (fed.empty()) return total;
  ASSIGN_OR_RETURN(const std::vector<Slo> slos, slos_.SlosOfMetrics({fed.begin(), fed.end()}));
  for (const Slo& slo : slos) {
    ASSIGN_OR_RETURN(const SweepResult result, Evaluate(slo, now));
    Add(total, result);
  }
  return total;
}

absl::StatusOr<SweepResult> SloEngine::Sweep(absl::Time now, int limit) {
  ASSIGN_OR_RETURN(std::vector<Slo> slos, slos_.SlosWithFiringAlerts(limit));
  std::optional<std::pair<std::string, std::string>> after;
  {
    absl::MutexLock lock(&cursor_mu_);
    after = cursor_;
  }
  ASSIGN_OR_RETURN(SloPage page, slos_.ListSlos("", after, limit));
  {
    absl::MutexLock lock(&cursor_mu_);
    cursor_ = page.next;  // none after the last page: start over next time
  }
  std::set<std::string> firing;
  for (const Slo& slo : slos) firing.insert(slo.id);
  for (Slo& slo : page.slos) {
    if (firing.count(slo.id) == 0) slos.push_back(std::move(slo));
  }
  SweepResult total;
  for (const Slo& slo : slos) {
    ASSIGN_OR_RETURN(const SweepResult result, Evaluate(slo, now));
    Add(total, result);
  }
  return total;
}

}  // namespace agentwatch::monitor
