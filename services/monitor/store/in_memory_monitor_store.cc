#include "monitor/store/in_memory_monitor_store.h"

#include <algorithm>
#include <regex>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "monitor/core/names.h"
#include "monitor/store/outbox_payloads.h"

namespace agentwatch::monitor {

namespace {

// Compiles the regular expressions of `matchers` (std::regex, ECMAScript);
// INVALID_ARGUMENT naming `field`[i].value when one does not compile.
absl::StatusOr<std::map<std::string, std::regex>> CompileMatchers(
    const std::vector<LabelMatcher>& matchers, const std::string& field) {
  std::map<std::string, std::regex> compiled;
  for (size_t i = 0; i < matchers.size(); ++i) {
    const LabelMatcher& matcher = matchers[i];
    if (matcher.op != MatchOp::kRegex && matcher.op != MatchOp::kNotRegex) continue;
    try {
      compiled.emplace(matcher.value, std::regex(matcher.value, std::regex::ECMAScript));
    } catch (const std::regex_error& e) {
      return common::InvalidField(absl::StrCat(field, "[", i, "].value"),
                                  absl::StrCat("invalid regular expression: ", e.what()));
    }
  }
  return compiled;
}

bool Selected(const std::vector<LabelMatcher>& matchers,
              const std::map<std::string, std::regex>& compiled, const Labels& labels) {
  return MatchesAll(matchers, labels,
                    [&compiled](const std::string& value, const std::string& pattern) {
                      return std::regex_match(value, compiled.at(pattern));
                    });
}

}  // namespace

// RuleContext over the store's maps; runs under mu_.
class InMemoryMonitorStore::Context final : public RuleContext, public AlertRuleContext {
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

  absl::Status LockRule(const std::string&, const std::string&) override {
    return absl::OkStatus();  // the store's mutex is held
  }

  absl::StatusOr<std::map<std::vector<std::string>, GroupStats>> WindowGroups(
      const std::string& tenant, const std::string& metric,
      const std::vector<LabelMatcher>& matchers, const std::vector<std::string>& group_by,
      const BucketRange& range, bool with_sketch) override {
    ASSIGN_OR_RETURN(const auto compiled, CompileMatchers(matchers, "matchers"));
    std::map<std::vector<std::string>, GroupStats> out;
    for (const auto& [id, stats] : store_.rollups_) {
      const auto& [row_tenant, row_metric, key, bucket] = id;
      if (row_tenant != tenant || row_metric != metric) continue;
      if (bucket < range.from || bucket >= range.to) continue;
      const Labels& labels = store_.series_.at({row_tenant, row_metric, key});
      if (!Selected(matchers, compiled, labels)) continue;
      std::vector<std::string> group;
      for (const std::string& name : group_by) {
        const auto it = labels.find(name);
        group.push_back(it == labels.end() ? std::string() : it->second);
      }
      GroupStats& merged = out[group];
      merged.stats.Merge(stats);
      const auto sketch = store_.sketches_.find(id);
      if (with_sketch && sketch != store_.sketches_.end()) {
        if (!merged.sketch.has_value()) merged.sketch.emplace();
        RETURN_IF_ERROR(merged.sketch->Merge(sketch->second));
      }
    }
    return out;
  }

  absl::StatusOr<std::vector<AnomalySeriesState>> LoadAnomalyStates(
      const std::string& tenant, const std::string& rule_id) override {
    std::vector<AnomalySeriesState> out;
    for (const auto& [id, state] : store_.anomaly_states_) {
      if (std::get<0>(id) == tenant && std::get<1>(id) == rule_id) out.push_back(state);
    }
    return out;
  }

  absl::Status SaveAnomalyState(const AnomalySeriesState& state) override {
    store_.anomaly_states_[{state.tenant, state.rule_id, state.fingerprint}] = state;
    return absl::OkStatus();
  }

  absl::Status DeleteAnomalyState(const std::string& tenant, const std::string& rule_id,
                                  const std::string& fingerprint) override {
    store_.anomaly_states_.erase({tenant, rule_id, fingerprint});
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<AlertState>> LockRuleAlerts(const std::string& tenant,
                                                         const std::string& rule_id) override {
    std::vector<AlertState> out;
    for (const auto& [id, state] : store_.alert_states_) {
      if (state.tenant == tenant && state.rule == kAlertRuleEvaluator && state.rule_id == rule_id) {
        out.push_back(state);
      }
    }
    return out;
  }

  absl::Status SaveRuleAlert(const AlertState& state) override {
    store_.alert_states_[{state.tenant, state.fingerprint}] = state;
    return absl::OkStatus();
  }

  absl::Status DeleteRuleAlert(const std::string& tenant, const std::string& fingerprint) override {
    store_.alert_states_.erase({tenant, fingerprint});
    return absl::OkStatus();
  }

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
    if (series_.count({series.tenant.str(), series.metric.str(), series.series_key.str()}) == 0) {
      ++added[series.tenant.str()];
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
    series_.try_emplace({series.tenant.str(), series.metric.str(), series.series_key.str()},
                        *series.labels);
  }
  for (const auto& [tenant, count] : added) tenant_series_[tenant] += count;
  for (const RollupDelta& delta : aggregate.rollups) {
    const RollupId id{delta.tenant.str(), delta.metric.str(), delta.series_key.str(), delta.bucket};
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
  // Rules with active alerts (a deleted rule has none: deletion resolves),
  // and anomaly rules with a detector not yet fed the last complete minute
  // (a series that went silent is still scored).
  std::set<std::string> active;
  for (const auto& [id, state] : alert_states_) {
    if (state.rule == kAlertRuleEvaluator && IsActive(state)) active.insert(state.rule_id);
  }
  const absl::Time last_complete = MinuteBucket(now) - absl::Minutes(1);
  for (const auto& [key, state] : anomaly_states_) {
    const auto rule = rules_.find(state.rule_id);
    if (rule == rules_.end() || rule->second.disabled || !rule->second.anomaly.enabled) continue;
    if (state.last_minute < last_complete) active.insert(state.rule_id);
  }
  int swept = 0;
  for (const std::string& rule_id : active) {
    const auto rule = rules_.find(rule_id);
    if (rule == rules_.end() || swept++ >= limit) continue;
    RETURN_IF_ERROR(EvaluateAlertRule(rule->second, context, now, &result.alerts));
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
                      std::string, std::string>,
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
            label(labels, kLabelProvider), label(labels, kLabelModel), label(labels, kLabelStatus),
            label(labels, kLabelComponent)}]
        .Merge(stats);
  }
  std::vector<HealthRow> out;
  for (const auto& [key, stats] : groups) {
    HealthRow row;
    std::tie(row.tenant, row.metric, row.workflow, row.agent, row.provider, row.model, row.status,
             row.component) = key;
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

absl::StatusOr<ScopeThresholds> InMemoryMonitorStore::SetThresholds(
    const ScopeThresholds& thresholds, absl::Time now) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  const std::pair<std::string, std::string> id{thresholds.scope.tenant, ScopeKey(thresholds.scope)};
  if (thresholds_.count(id) == 0) {
    int64_t scopes = 0;
    for (const auto& [key, entry] : thresholds_) {
      if (key.first == id.first) ++scopes;
    }
    if (scopes >= kMaxThresholdScopesPerTenant) {
      return absl::ResourceExhaustedError(absl::StrCat("thresholds.scope: tenant \"", id.first,
                                                       "\" has ", kMaxThresholdScopesPerTenant,
                                                       " scopes with overrides, the most allowed"));
    }
  }
  ScopeThresholds stored = thresholds;
  stored.update_time = now;
  thresholds_[id] = stored;
  return stored;
}

absl::Status InMemoryMonitorStore::DeleteThresholds(const HealthScope& scope) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  if (thresholds_.erase({scope.tenant, ScopeKey(scope)}) == 0) {
    return absl::NotFoundError("scope: no threshold overrides for this scope");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ScopeThresholds>> InMemoryMonitorStore::ReadThresholds(
    const std::string& tenant) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  std::vector<ScopeThresholds> out;
  for (const auto& [key, entry] : thresholds_) {
    if (tenant.empty() || key.first.empty() || key.first == tenant) out.push_back(entry);
  }
  return out;
}

absl::StatusOr<ThresholdPage> InMemoryMonitorStore::ListThresholds(
    const std::string& tenant, const std::optional<std::pair<std::string, std::string>>& after,
    int page_size) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  ThresholdPage page;
  auto it = after.has_value() ? thresholds_.upper_bound(*after) : thresholds_.begin();
  for (; it != thresholds_.end(); ++it) {
    if (!tenant.empty() && it->first.first != tenant) continue;
    if (static_cast<int>(page.entries.size()) == page_size) {
      page.next = page.entries.empty()
                      ? std::nullopt
                      : std::optional<std::pair<std::string, std::string>>(std::make_pair(
                            page.entries.back().scope.tenant, ScopeKey(page.entries.back().scope)));
      break;
    }
    page.entries.push_back(it->second);
  }
  return page;
}

absl::StatusOr<RuleWriteResult> InMemoryMonitorStore::CreateAlertRule(const AlertRule& rule,
                                                                      const std::string& request_id,
                                                                      absl::Time now) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  RuleWriteResult result;
  if (!request_id.empty()) {
    const auto it = rule_requests_.find({rule.tenant, request_id});
    if (it != rule_requests_.end() && rules_.count(it->second) > 0) {
      result.rule = rules_.at(it->second);
      return result;
    }
  }
  int64_t count = 0;
  for (const auto& [id, existing] : rules_) {
    if (existing.tenant != rule.tenant) continue;
    ++count;
    if (existing.name == rule.name) {
      return absl::AlreadyExistsError(absl::StrCat("rule.name: tenant \"", rule.tenant,
                                                   "\" has a rule named \"", rule.name, "\""));
    }
  }
  if (count >= kMaxAlertRulesPerTenant) {
    return absl::ResourceExhaustedError(absl::StrCat("rule: tenant \"", rule.tenant, "\" has ",
                                                     kMaxAlertRulesPerTenant, " rules, the most"));
  }
  RETURN_IF_ERROR(CompileMatchers(rule.condition.matchers, "rule.threshold.matchers").status());
  RETURN_IF_ERROR(
      CompileMatchers(rule.condition.denominator_matchers, "rule.threshold.denominator_matchers")
          .status());
  AlertRule stored = rule;
  stored.id = absl::StrCat("rule-", ++next_rule_);
  stored.create_time = now;
  stored.update_time = now;
  rules_[stored.id] = stored;
  if (!request_id.empty()) rule_requests_[{rule.tenant, request_id}] = stored.id;
  Context context(*this);
  RETURN_IF_ERROR(EvaluateAlertRule(stored, context, now, &result.alerts));
  result.outbox_enqueued = context.emitted();
  result.rule = stored;
  return result;
}

absl::StatusOr<AlertRule> InMemoryMonitorStore::GetAlertRule(const std::string& id) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  const auto it = rules_.find(id);
  if (it == rules_.end())
    return absl::NotFoundError(absl::StrCat("id: no alert rule \"", id, "\""));
  return it->second;
}

absl::StatusOr<RuleWriteResult> InMemoryMonitorStore::UpdateAlertRule(const AlertRule& rule,
                                                                      absl::Time now) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  const auto it = rules_.find(rule.id);
  if (it == rules_.end()) {
    return absl::NotFoundError(absl::StrCat("rule.id: no alert rule \"", rule.id, "\""));
  }
  if (it->second.tenant != rule.tenant) {
    return common::InvalidField("rule.tenant", "cannot change");
  }
  for (const auto& [id, existing] : rules_) {
    if (id != rule.id && existing.tenant == rule.tenant && existing.name == rule.name) {
      return absl::AlreadyExistsError(absl::StrCat("rule.name: tenant \"", rule.tenant,
                                                   "\" has a rule named \"", rule.name, "\""));
    }
  }
  RETURN_IF_ERROR(CompileMatchers(rule.condition.matchers, "rule.threshold.matchers").status());
  RETURN_IF_ERROR(
      CompileMatchers(rule.condition.denominator_matchers, "rule.threshold.denominator_matchers")
          .status());
  AlertRule stored = rule;
  stored.create_time = it->second.create_time;
  stored.update_time = now;
  it->second = stored;
  RuleWriteResult result;
  Context context(*this);
  RETURN_IF_ERROR(EvaluateAlertRule(stored, context, now, &result.alerts));
  result.outbox_enqueued = context.emitted();
  result.rule = stored;
  return result;
}

absl::StatusOr<SweepResult> InMemoryMonitorStore::DeleteAlertRule(const std::string& id,
                                                                  absl::Time now) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  const auto it = rules_.find(id);
  if (it == rules_.end())
    return absl::NotFoundError(absl::StrCat("id: no alert rule \"", id, "\""));
  SweepResult result;
  Context context(*this);
  RETURN_IF_ERROR(ResolveAlertRule(it->second, context, now, &result.alerts));
  result.outbox_enqueued = context.emitted();
  rules_.erase(it);
  return result;
}

absl::StatusOr<AlertRulePage> InMemoryMonitorStore::ListAlertRules(
    const std::string& tenant, const std::optional<std::pair<std::string, std::string>>& after,
    int page_size) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  std::map<std::pair<std::string, std::string>, const AlertRule*> ordered;
  for (const auto& [id, rule] : rules_) {
    if (tenant.empty() || rule.tenant == tenant) ordered[{rule.name, rule.id}] = &rule;
  }
  AlertRulePage page;
  auto it = after.has_value() ? ordered.upper_bound(*after) : ordered.begin();
  for (; it != ordered.end(); ++it) {
    if (static_cast<int>(page.rules.size()) == page_size) {
      page.next = std::make_pair(page.rules.back().name, page.rules.back().id);
      break;
    }
    page.rules.push_back(*it->second);
  }
  return page;
}

absl::StatusOr<SweepResult> InMemoryMonitorStore::EvaluateAlertRules(
    const BatchAggregate& aggregate, absl::Time now) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  std::set<std::pair<std::string, std::string>> fed;
  for (const SeriesRecord& series : aggregate.series) {
    fed.insert({series.tenant.str(), series.metric.str()});
  }
  SweepResult result;
  Context context(*this);
  for (const auto& [id, rule] : rules_) {
    if (rule.disabled) continue;
    if (fed.count({rule.tenant, rule.condition.metric}) == 0 &&
        fed.count({rule.tenant, rule.condition.denominator_metric}) == 0) {
      continue;
    }
    RETURN_IF_ERROR(EvaluateAlertRule(rule, context, now, &result.alerts));
  }
  result.outbox_enqueued = context.emitted();
  return result;
}

absl::StatusOr<ActiveAlertPage> InMemoryMonitorStore::ListActiveAlerts(
    const ActiveAlertFilter& filter, const std::optional<ActiveAlertCursor>& after, int page_size) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  ASSIGN_OR_RETURN(const auto compiled, CompileMatchers(filter.matchers, "matchers"));
  std::map<std::tuple<int, std::string, std::string>, const AlertState*> ordered;
  for (const auto& [id, state] : alert_states_) {
    if (!state.firing && !(state.pending && filter.include_pending)) continue;
    if (!filter.tenant.empty() && state.tenant != filter.tenant) continue;
    if (!filter.severities.empty() && std::find(filter.severities.begin(), filter.severities.end(),
                                                state.severity) == filter.severities.end()) {
      continue;
    }
    if (!Selected(filter.matchers, compiled, state.labels)) continue;
    ordered[{static_cast<int>(state.severity), state.tenant, state.fingerprint}] = &state;
  }
  ActiveAlertPage page;
  auto it = after.has_value()
                ? ordered.upper_bound({after->severity, after->tenant, after->fingerprint})
                : ordered.begin();
  for (; it != ordered.end(); ++it) {
    if (static_cast<int>(page.alerts.size()) == page_size) {
      const AlertState& last = page.alerts.back();
      page.next = ActiveAlertCursor{static_cast<int>(last.severity), last.tenant, last.fingerprint};
      break;
    }
    page.alerts.push_back(*it->second);
  }
  return page;
}

absl::StatusOr<SeriesPage> InMemoryMonitorStore::ListSeries(
    const SeriesListQuery& query, const std::optional<std::pair<std::string, std::string>>& after,
    int page_size) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  ASSIGN_OR_RETURN(const auto compiled, CompileMatchers(query.matchers, "matchers"));
  // First and last bucket of every series, and whether one lies in range.
  struct Span {
    absl::Time first = absl::InfiniteFuture();
    absl::Time last = absl::InfinitePast();
    bool in_range = false;
  };
  const absl::Time from =
      query.start.has_value() ? MinuteBucket(*query.start) : absl::InfinitePast();
  const absl::Time to = query.end.value_or(absl::InfiniteFuture());
  std::map<SeriesId, Span> spans;
  for (const auto& [id, stats] : rollups_) {
    const auto& [tenant, metric, key, bucket] = id;
    Span& span = spans[{tenant, metric, key}];
    span.first = std::min(span.first, bucket);
    span.last = std::max(span.last, bucket);
    if (bucket >= from && bucket < to) span.in_range = true;
  }
  std::map<std::pair<std::string, std::string>, SeriesInfo> ordered;
  for (const auto& [id, labels] : series_) {
    const auto& [tenant, metric, key] = id;
    if (!query.tenant.empty() && tenant != query.tenant) continue;
    if (!query.metric.empty() && metric != query.metric) continue;
    const auto span = spans.find(id);
    if (span == spans.end()) continue;
    if ((query.start.has_value() || query.end.has_value()) && !span->second.in_range) continue;
    if (!Selected(query.matchers, compiled, labels)) continue;
    ordered[{metric, CanonicalLabelText(labels)}] =
        SeriesInfo{tenant, metric, labels, span->second.first, span->second.last};
  }
  SeriesPage page;
  auto it = after.has_value() ? ordered.upper_bound(*after) : ordered.begin();
  std::pair<std::string, std::string> last;
  for (; it != ordered.end(); ++it) {
    if (static_cast<int>(page.series.size()) == page_size) {
      page.next = last;
      break;
    }
    last = it->first;
    page.series.push_back(it->second);
  }
  return page;
}

absl::StatusOr<StoreGauges> InMemoryMonitorStore::ReadGauges() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  StoreGauges gauges;
  gauges.active_series = static_cast<int64_t>(series_.size());
  // The fake never delivers: everything enqueued is still there.
  gauges.outbox_depth = static_cast<int64_t>(alerts_.size() + usage_.size());
  return gauges;
}

}  // namespace agentwatch::monitor
