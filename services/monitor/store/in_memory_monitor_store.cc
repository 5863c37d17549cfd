#include "monitor/store/in_memory_monitor_store.h"

#include <algorithm>
#include <regex>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "monitor/core/names.h"
#include "monitor/store/outbox_payloads.h"

namespace agentwatch::monitor {

// RuleContext over the store's maps; runs under mu_.
class InMemoryMonitorStore::Context final : public RuleContext {
 public:
  explicit Context(InMemoryMonitorStore& store) : store_(store) {}

  absl::StatusOr<std::map<std::string, RollupStats>> SumRollups(const RollupSelector& selector,
                                                                const BucketRange& range) override {
    std::map<std::string, RollupStats> out;
    for (const auto& [id, stats] : store_.rollups_) {
      const auto& [tenant, metric, key, bucket] = id;
      if (tenant != selector.tenant || metric != selector.metric) continue;
      if (bucket < range.from || bucket >= range.to) continue;
      const Labels& labels = store_.series_.at({tenant, metric, key});
      const auto match = labels.find(selector.match_label);
      if (match == labels.end() || match->second != selector.match_value) continue;
      const auto group = labels.find(selector.group_label);
      out[group == labels.end() ? std::string() : group->second].Merge(stats);
    }
    return out;
  }

  absl::StatusOr<AlertState> LockAlertState(const AlertState& initial) override {
    return store_.alert_states_.try_emplace({initial.tenant, initial.fingerprint}, initial)
        .first->second;
  }

  absl::StatusOr<std::vector<AlertState>> LockFiringAlerts(const std::string& rule,
                                                           int limit) override {
    std::vector<AlertState> out;
    for (const auto& [id, state] : store_.alert_states_) {
      if (static_cast<int>(out.size()) >= limit) break;
      if (state.rule == rule && state.firing) out.push_back(state);
    }
    return out;
  }

  absl::Status SaveAlertState(const AlertState& state) override {
    store_.alert_states_[{state.tenant, state.fingerprint}] = state;
    return absl::OkStatus();
  }

  absl::Status EmitAlert(const AlertNotice& notice) override {
    if (store_.outbox_keys_.insert(absl::StrCat(kIncidentDestination, "|", notice.IdempotencyKey()))
            .second) {
      store_.alerts_.push_back(notice);
    }
    ++emitted_;
    return absl::OkStatus();
  }

  int64_t emitted() const { return emitted_; }

 private:
  InMemoryMonitorStore& store_;
  int64_t emitted_ = 0;
};

InMemoryMonitorStore::InMemoryMonitorStore(StoreLimits limits,
                                           std::vector<const RuleEvaluator*> evaluators)
    : limits_(limits), evaluators_(std::move(evaluators)) {}

void InMemoryMonitorStore::FailWith(absl::Status status) {
  absl::MutexLock lock(&mu_);
  failure_ = std::move(status);
}

absl::StatusOr<CommitResult> InMemoryMonitorStore::CommitBatch(const std::string& producer_id,
                                                               uint64_t sequence,
                                                               const BatchAggregate& aggregate,
                                                               absl::Time now) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  CommitResult result;
  if (batches_.count({producer_id, sequence}) > 0) {
    result.duplicate = true;
    return result;
  }
  // Check everything that can reject the batch before writing anything.
  std::map<std::string, int64_t> added;
  for (const SeriesRecord& series : aggregate.series) {
    if (series_.count({series.tenant, series.metric, series.series_key}) == 0) {
      ++added[series.tenant];
    }
  }
  for (const auto& [tenant, count] : added) {
    const int64_t total = tenant_series_[tenant] + count;
    if (total > limits_.max_series_per_tenant) {
      return absl::ResourceExhaustedError(
          absl::StrCat("events: tenant \"", tenant, "\" would have ", total,
                       " active series, at most ", limits_.max_series_per_tenant));
    }
  }
  batches_.insert({producer_id, sequence});
  for (const SeriesRecord& series : aggregate.series) {
    series_.try_emplace({series.tenant, series.metric, series.series_key}, series.labels);
  }
  for (const auto& [tenant, count] : added) tenant_series_[tenant] += count;
  for (const RollupDelta& delta : aggregate.rollups) {
    const RollupId id{delta.tenant, delta.metric, delta.series_key, delta.bucket};
    rollups_[id].Merge(delta.stats);
    if (delta.sketch.has_value()) RETURN_IF_ERROR(sketches_[id].Merge(*delta.sketch));
  }
  for (const LlmUsageRecord& record : aggregate.usage) {
    if (outbox_keys_.insert(absl::StrCat(kCostDestination, "|", UsageIdempotencyKey(record)))
            .second) {
      usage_.push_back(record);
    }
    ++result.outbox_enqueued;
  }
  Context context(*this);
  for (const RuleEvaluator* evaluator : evaluators_) {
    RETURN_IF_ERROR(evaluator->OnBatch(aggregate, context, now, &result.alerts));
  }
  result.outbox_enqueued += context.emitted();
  result.accepted = aggregate.event_count;
  return result;
}

absl::StatusOr<SweepResult> InMemoryMonitorStore::SweepAlerts(absl::Time now, int limit) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  SweepResult result;
  Context context(*this);
  for (const RuleEvaluator* evaluator : evaluators_) {
    RETURN_IF_ERROR(evaluator->OnSweep(context, now, limit, &result.alerts));
  }
  result.outbox_enqueued = context.emitted();
  return result;
}

absl::StatusOr<std::vector<HealthRow>> InMemoryMonitorStore::ReadHealthRows(
    const HealthScope& scope, const BucketRange& range) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  const Labels filter = ScopeLabelFilter(scope);
  const std::vector<std::string>& metrics = HealthMetrics();
  auto label = [](const Labels& labels, const char* name) {
    const auto it = labels.find(name);
    return it == labels.end() ? std::string() : it->second;
  };
  std::map<std::tuple<std::string, std::string, std::string, std::string, std::string, std::string,
                      std::string>,
           RollupStats>
      groups;
  for (const auto& [id, stats] : rollups_) {
    const auto& [tenant, metric, key, bucket] = id;
    if (!scope.tenant.empty() && tenant != scope.tenant) continue;
    if (std::find(metrics.begin(), metrics.end(), metric) == metrics.end()) continue;
    if (bucket < range.from || bucket >= range.to) continue;
    const Labels& labels = series_.at({tenant, metric, key});
    bool inside = true;
    for (const auto& [name, value] : filter) {
      const auto it = labels.find(name);
      if (it == labels.end() || it->second != value) inside = false;
    }
    if (!inside) continue;
    groups[{tenant, metric, label(labels, kLabelWorkflow), label(labels, kLabelAgent),
            label(labels, kLabelProvider), label(labels, kLabelModel), label(labels, kLabelStatus)}]
        .Merge(stats);
  }
  std::vector<HealthRow> out;
  for (const auto& [key, stats] : groups) {
    HealthRow row;
    std::tie(row.tenant, row.metric, row.workflow, row.agent, row.provider, row.model, row.status) =
        key;
    row.count = stats.count;
    row.sum = stats.sum;
    out.push_back(std::move(row));
  }
  return out;
}

absl::StatusOr<std::vector<HealthSketchRow>> InMemoryMonitorStore::ReadHealthSketches(
    const HealthScope& scope, const BucketRange& range) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  const Labels filter = ScopeLabelFilter(scope);
  const std::vector<std::string>& metrics = HealthSketchMetrics();
  auto label = [](const Labels& labels, const char* name) {
    const auto it = labels.find(name);
    return it == labels.end() ? std::string() : it->second;
  };
  std::map<std::tuple<std::string, std::string, std::string, std::string, std::string, std::string>,
           QuantileSketch>
      groups;
  for (const auto& [id, sketch] : sketches_) {
    const auto& [tenant, metric, key, bucket] = id;
    if (!scope.tenant.empty() && tenant != scope.tenant) continue;
    if (std::find(metrics.begin(), metrics.end(), metric) == metrics.end()) continue;
    if (bucket < range.from || bucket >= range.to) continue;
    const Labels& labels = series_.at({tenant, metric, key});
    bool inside = true;
    for (const auto& [name, value] : filter) {
      const auto it = labels.find(name);
      if (it == labels.end() || it->second != value) inside = false;
    }
    if (!inside) continue;
    QuantileSketch& group =
        groups[{tenant, metric, label(labels, kLabelWorkflow), label(labels, kLabelAgent),
                label(labels, kLabelProvider), label(labels, kLabelModel)}];
    RETURN_IF_ERROR(group.Merge(sketch));
  }
  std::vector<HealthSketchRow> out;
  for (auto& [key, sketch] : groups) {
    HealthSketchRow row;
    std::tie(row.tenant, row.metric, row.workflow, row.agent, row.provider, row.model) = key;
    row.sketch = std::move(sketch);
    out.push_back(std::move(row));
  }
  return out;
}

absl::StatusOr<std::vector<StepRow>> InMemoryMonitorStore::QuerySteps(const SeriesQuery& query) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  std::map<std::string, std::regex> compiled;
  for (size_t i = 0; i < query.matchers.size(); ++i) {
    const LabelMatcher& matcher = query.matchers[i];
    if (matcher.op != MatchOp::kRegex && matcher.op != MatchOp::kNotRegex) continue;
    try {
      compiled.emplace(matcher.value, std::regex(matcher.value, std::regex::ECMAScript));
    } catch (const std::regex_error& e) {
      return common::InvalidField(absl::StrCat("matchers[", i, "].value"),
                                  absl::StrCat("invalid regular expression: ", e.what()));
    }
  }
  auto regex_match = [&compiled](const std::string& value, const std::string& pattern) {
    return std::regex_match(value, compiled.at(pattern));
  };
  const bool quantile = IsQuantileAggregation(query.aggregation);
  std::map<std::pair<std::vector<std::string>, absl::Time>, StepRow> steps;
  for (const auto& [id, stats] : rollups_) {
    const auto& [tenant, metric, key, bucket] = id;
    if (metric != query.metric) continue;
    if (!query.tenant.empty() && tenant != query.tenant) continue;
    if (bucket < query.bucket_from || bucket >= query.end) continue;
    const Labels& labels = series_.at({tenant, metric, key});
    if (!MatchesAll(query.matchers, labels, regex_match)) continue;
    std::vector<std::string> group;
    for (const std::string& name : query.group_by) {
      const auto it = labels.find(name);
      group.push_back(it == labels.end() ? std::string() : it->second);
    }
    StepRow& step = steps[{std::move(group), AlignDown(bucket, query.step)}];
    step.stats.Merge(stats);
    if (!quantile) continue;
    const auto sketch = sketches_.find(id);
    if (sketch == sketches_.end()) continue;
    if (!step.sketch.has_value()) step.sketch.emplace();
    RETURN_IF_ERROR(step.sketch->Merge(sketch->second));
  }
  if (static_cast<int64_t>(steps.size()) > kMaxPointsPerAnswer) {
    return absl::ResourceExhaustedError(
        absl::StrCat("more than ", kMaxPointsPerAnswer, " points in the answer"));
  }
  std::vector<StepRow> out;
  for (auto& [key, step] : steps) {
    step.group_values = key.first;
    step.step_start = key.second;
    out.push_back(std::move(step));
  }
  return out;
}

std::vector<AlertNotice> InMemoryMonitorStore::EnqueuedAlerts() const {
  absl::MutexLock lock(&mu_);
  return alerts_;
}

std::vector<LlmUsageRecord> InMemoryMonitorStore::EnqueuedUsage() const {
  absl::MutexLock lock(&mu_);
  return usage_;
}

std::optional<RollupStats> InMemoryMonitorStore::Rollup(const std::string& metric,
                                                        const Labels& labels,
                                                        absl::Time bucket) const {
  absl::MutexLock lock(&mu_);
  const auto tenant = labels.find(kLabelTenant);
  if (tenant == labels.end()) return std::nullopt;
  const auto it = rollups_.find({tenant->second, metric, SeriesKey(labels), bucket});
  if (it == rollups_.end()) return std::nullopt;
  return it->second;
}

std::optional<QuantileSketch> InMemoryMonitorStore::Sketch(const std::string& metric,
                                                           const Labels& labels,
                                                           absl::Time bucket) const {
  absl::MutexLock lock(&mu_);
  const auto tenant = labels.find(kLabelTenant);
  if (tenant == labels.end()) return std::nullopt;
  const auto it = sketches_.find({tenant->second, metric, SeriesKey(labels), bucket});
  if (it == sketches_.end()) return std::nullopt;
  return it->second;
}

int64_t InMemoryMonitorStore::SeriesCount(const std::string& tenant) const {
  absl::MutexLock lock(&mu_);
  const auto it = tenant_series_.find(tenant);
  return it == tenant_series_.end() ? 0 : it->second;
}

int64_t InMemoryMonitorStore::BatchCount() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(batches_.size());
}

std::optional<AlertState> InMemoryMonitorStore::FindAlertState(
    const std::string& tenant, const std::string& fingerprint) const {
  absl::MutexLock lock(&mu_);
  const auto it = alert_states_.find({tenant, fingerprint});
  if (it == alert_states_.end()) return std::nullopt;
  return it->second;
}

}  // namespace agentwatch::monitor
