// MonitorStore over Postgres (schema "monitor", see migrations/).
//
// CommitBatch group-commits: batches that arrive while the store's batch
// transactions are busy (PgMonitorStoreOptions::max_concurrent_groups) queue
// and share the next transaction, each acknowledged only after that commit.
// A group costs a constant number of statements: one claim of every
// (producer_id, sequence) (a pair stored before answers duplicate and its
// deltas are left out; a pair sent twice within the queue waits for the next
// group, where it is a duplicate of the committed one), the series not known
// to be stored inserted once with the tenants' series counters, the rollup
// deltas of all claimed batches merged in memory per (tenant, metric,
// series, bucket) (MergeGroup: cells of one batch used in place, only cells
// several batches feed copied) and upserted once, the group's LLM usage
// packed into one outbox row per tenant (see PackUsage; the cost service
// counts each record once by tenant and record_id, so redelivery stays
// exactly-once) in one statement, and every RuleEvaluator run once on the
// group (a lone batch's aggregate, or the group's event count and workflows:
// the built-in evaluators read the stored rollups, which hold the whole
// group's data, over the union of the group's workflows, at the latest `now`
// of the group). These statements are prepared on each pooled connection.
// When the shared transaction fails, each of its batches is retried in a
// transaction of its own, so a batch whose own content fails (the
// per-tenant series limit) fails alone and writes nothing while the others
// commit. The alert transitions of a group are returned in the result of its
// first claimed batch; each batch's outbox_enqueued counts its own usage
// records (none with PgMonitorStoreOptions::forward_usage off; plus, for
// that first batch, the group's alert notices).
//
// Sketched cells are written without reading them when this store
// committed them last (SketchCellCache: the sketch and the row's count
// cached after commit, the UPDATE guarded by that count); a cell another
// replica wrote since is read, merged and written as before.
//
// Ingest journal (PgMonitorStoreOptions::journal_rollups): the group
// transaction stores the group's merged rollup cells as one
// monitor.ingest_journal row per tenant (JournalCells, lz4-compressed)
// instead of upserting every cell, and the batches are acknowledged once it
// commits (claims, series, journal rows and outbox together, so an
// acknowledged batch is durable and a replay of it still a duplicate). The
// cells stay in memory, per journal row, until FlushRollups applies them:
// one transaction deletes the rows it covers (DELETE ... RETURNING id) and
// upserts the merged cells of exactly the rows it deleted, so a row is
// applied once even when SweepJournal took it first. SweepJournal applies,
// in the transaction that deletes them, rows older than a bound (written by
// a replica that died or stalled; FOR UPDATE SKIP LOCKED, so replicas never
// take the same row). Reads keep read-your-writes on this replica: the
// built-in evaluators' SumRollups add the cells not yet flushed (and the
// group's own) to what Postgres holds, and so do the alert-rule reads of
// EvaluateAlertRules and QuerySteps (QuerySeries, SLOs) when their matchers
// are all equalities (with a regular expression they flush first); every
// other read of the rollups (health, ListSeries, rule sweeps, rule writes)
// flushes first. Another replica's acknowledged batches show once that
// replica flushed (within its flush interval), or once swept.
//
// The same transaction reads which metrics of the group's tenants have
// enabled alert rules; EvaluateAlertRules (which the api layer calls right
// after CommitBatch) answers without a transaction for a batch that feeds no
// such metric, when that reading is fresher than kRuleMetricsTtl. Rule
// writes through this store drop the reading of their tenant at once; a
// rule written through another replica takes effect on this replica's next
// group (which reads again), or after kRuleMetricsTtl for callers whose
// tenant no group touched.
//
// Owed evaluations (migration 011): so that every committed batch is
// evaluated at least once, the group transaction also writes one
// monitor.alert_evaluations_owed row per (tenant, metric) it fed that an
// enabled rule watches (nothing when none does). EvaluateAlertRules deletes
// the rows of its pairs first thing in its transaction (FOR UPDATE SKIP
// LOCKED), so they go only when an evaluation that read after them commits.
// A row left behind (the evaluation failed, or the process died before it
// and the retry was a duplicate) is paid by SweepAlerts on any replica once
// older than PgMonitorStoreOptions::owed_evaluation_age. SweepJournal writes
// rows for the watched pairs of the cells it applies, which no evaluation
// read (their writer died before its flush).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "common/group_commit.h"
#include "common/pg.h"
#include "monitor/core/rules.h"
#include "monitor/store/monitor_store.h"
#include "monitor/store/rollup_partitions.h"
#include "monitor/store/sketch_cell_cache.h"

namespace agentwatch::monitor {

// Tuning of PgMonitorStore's group commit.
struct PgMonitorStoreOptions {
  // Most CommitBatch transactions running at once (>= 1); batches arriving
  // while all run wait and share the next one. One by default: concurrent
  // batches touch mostly the same rollup rows (the current minute of the
  // same series), so a second group would only wait for the first one's
  // row locks until its commit, instead of merging into the next group.
  int max_concurrent_groups = 1;
  // Most events in one group transaction (a larger batch still goes alone).
  int64_t max_group_events = 100000;
  // Budget of the cache of the sketches this store last committed (see
  // SketchCellCache; keys and serialized sketches); 0 turns it off, so that
  // every group reads the stored sketches of its cells.
  size_t sketch_cache_bytes = 64 << 20;
  // Ingest journal (see the file comment): group commits journal their
  // rollup cells and FlushRollups / SweepJournal apply them. Off: every
  // group upserts its cells in its own transaction. On, something must call
  // FlushRollups (RollupFlushWorker does): the pending cells stay in memory
  // until then.
  bool journal_rollups = false;
  // Whether a group commit forwards its LLM calls' usage to the cost service
  // (outbox rows of destination kCostBatchDestination, see PackUsage). Off
  // (a deployment without the cost service): no cost.* outbox row is written
  // and outbox_enqueued counts the alert notices alone; everything else a
  // group writes (claims, series, rollups or journal, alert notices) is
  // unchanged.
  bool forward_usage = true;
  // How old an owed alert-rule evaluation (migration 011) must be before
  // SweepAlerts pays it: a younger one is normally the evaluation that
  // follows its batch's commit, still running. Longer than a flush interval,
  // so that a live replica's journaled cells are in the rollups by then.
  absl::Duration owed_evaluation_age = absl::Seconds(2);
  // Test hook: called by a group's leader just before its transaction, with
  // the number of batches in the group. May be empty.
  std::function<void(size_t)> before_group;
};

class JournalPending;

class PgMonitorStore final : public MonitorStore {
 public:
  // How long a reading of a tenant's alert-rule metrics answers
  // EvaluateAlertRules without a transaction (see the file comment).
  static constexpr std::chrono::milliseconds kRuleMetricsTtl{1000};

  // `pool` must have the monitor migrations applied and, like every
  // evaluator, outlive the store.
  PgMonitorStore(common::PgPool& pool, StoreLimits limits,
                 std::vector<const RuleEvaluator*> evaluators, PgMonitorStoreOptions options = {});

  ~PgMonitorStore() override;

  // Batches queued for the next group transaction (for tests).
  size_t QueuedBatches();

  // Journal mode: applies the journal rows this store wrote and has not
  // applied yet (all of them at the call) to the rollups in one transaction
  // that deletes them; rows another replica swept in between are dropped
  // from memory, not applied again. `now` decides which sketched cells the
  // sketch cache keeps (as for a group commit). Returns the journal rows
  // applied. UNAVAILABLE when Postgres is; the rows then stay pending. A
  // no-op (0) outside journal mode.
  absl::StatusOr<int64_t> FlushRollups(absl::Time now);

  // Applies and deletes, in one transaction, up to `limit` journal rows of
  // any replica created at least `min_age` ago (by Postgres' clock) that no
  // other transaction holds. A row whose cells cannot be decoded is not
  // applied: it moves to monitor.ingest_journal_quarantine with the reason
  // (counted in `*quarantined` when given), so it never blocks the others.
  // Returns the rows taken from the journal (applied or quarantined).
  absl::StatusOr<int64_t> SweepJournal(absl::Time now, absl::Duration min_age, int limit,
                                       int64_t* quarantined = nullptr);

  // Journal rows this store wrote and has not applied (for tests).
  size_t PendingJournalRows() const;

  // Lookups of the sketch cache since construction (for tests).
  SketchCellCache::Stats SketchCacheStats() const { return sketch_cache_.stats(); }

  // The daily partitions of the rollups: CommitBatch creates a missing day
  // before writing into it; the maintenance worker uses this for the rest.
  RollupPartitions& partitions() { return partitions_; }

  absl::StatusOr<CommitResult> CommitBatch(const std::string& producer_id, uint64_t sequence,
                                           const BatchAggregate& aggregate,
                                           absl::Time now) override;
  absl::StatusOr<SweepResult> SweepAlerts(absl::Time now, int limit) override;
  absl::StatusOr<std::vector<HealthRow>> ReadHealthRows(const HealthScope& scope,
                                                        const BucketRange& range) override;
  absl::StatusOr<std::vector<HealthSketchRow>> ReadHealthSketches(
      const HealthScope& scope, const BucketRange& range) override;
  absl::StatusOr<std::vector<StepRow>> QuerySteps(const SeriesQuery& query) override;
  absl::StatusOr<ScopeThresholds> SetThresholds(const ScopeThresholds& thresholds,
                                                absl::Time now) override;
  absl::Status DeleteThresholds(const HealthScope& scope) override;
  absl::StatusOr<std::vector<ScopeThresholds>> ReadThresholds(const std::string& tenant) override;
  absl::StatusOr<ThresholdPage> ListThresholds(
      const std::string& tenant, const std::optional<std::pair<std::string, std::string>>& after,
      int page_size) override;
  absl::StatusOr<RuleWriteResult> CreateAlertRule(const AlertRule& rule,
                                                  const std::string& request_id,
                                                  absl::Time now) override;
  absl::StatusOr<AlertRule> GetAlertRule(const std::string& id) override;
  absl::StatusOr<RuleWriteResult> UpdateAlertRule(const AlertRule& rule, absl::Time now) override;
  absl::StatusOr<SweepResult> DeleteAlertRule(const std::string& id, absl::Time now) override;
  absl::StatusOr<AlertRulePage> ListAlertRules(
      const std::string& tenant, const std::optional<std::pair<std::string, std::string>>& after,
      int page_size) override;
  absl::StatusOr<SweepResult> EvaluateAlertRules(const BatchAggregate& aggregate,
                                                 absl::Time now) override;
  absl::StatusOr<SeriesPage> ListSeries(
      const SeriesListQuery& query, const std::optional<std::pair<std::string, std::string>>& after,
      int page_size) override;
  absl::StatusOr<StoreGauges> ReadGauges() override;
  absl::StatusOr<ActiveAlertPage> ListActiveAlerts(const ActiveAlertFilter& filter,
                                                   const std::optional<ActiveAlertCursor>& after,
                                                   int page_size) override;

 private:
  absl::StatusOr<SweepResult> SweepAlertRules(absl::Time now, int limit);
  // Evaluates the rules of up to `limit` (tenant, metric) pairs that owe an
  // evaluation older than options_.owed_evaluation_age.
  absl::StatusOr<SweepResult> EvaluateOwedRules(absl::Time now, int limit);
  // One transaction (retried when ABORTED) that pays the owed evaluations of
  // the (tenants[i], metrics[i]) pairs and evaluates every enabled rule of
  // them (as metric or denominator), reading this store's pending cells.
  absl::StatusOr<SweepResult> EvaluateRulesOf(const std::vector<std::string>& tenants,
                                              const std::vector<std::string>& metrics,
                                              absl::Time now);

  struct PendingBatch;
  // The metrics of one tenant's enabled alert rules (metric and
  // denominator), as read at `read_at`.
  struct RuleMetrics {
    std::set<std::string> metrics;
    std::chrono::steady_clock::time_point read_at;
  };

  // Commits `group` in one transaction (retrying ABORTED) and sets each
  // batch's result; on a failure of that transaction, each batch again alone.
  void RunGroup(const std::vector<PendingBatch*>& group);
  // One attempt of a group transaction.
  absl::Status WriteGroup(pqxx::work& txn, const std::vector<PendingBatch*>& group,
                          std::vector<std::string>* new_series,
                          std::map<std::string, RuleMetrics>* rule_metrics,
                          std::vector<SketchCellCache::Update>* sketch_updates,
                          JournalPending* journaled);
  // Drops the cached rule metrics of `tenant` (after a rule write).
  void ForgetRuleMetrics(const std::string& tenant);
  // In journal mode, FlushRollups when rows are pending (before a read).
  absl::Status FlushForRead();
  // Writes `cells` (merged, in key order) into the rollups inside `txn`,
  // creating their days' partitions first.
  absl::Status ApplyCells(pqxx::work& txn, const std::vector<const RollupDelta*>& cells,
                          absl::Time now, std::vector<SketchCellCache::Update>* sketch_updates);
  // Sets `*key` to the known_series_ key of `series` (reusing its buffer).
  static void KnownSeriesKey(const SeriesRecord& series, std::string* key);

  // Series this process saw committed, bounded (cleared when full).
  static constexpr size_t kMaxKnownSeries = 1'000'000;

  common::PgPool& pool_;
  StoreLimits limits_;
  std::vector<const RuleEvaluator*> evaluators_;
  const PgMonitorStoreOptions options_;
  RollupPartitions partitions_;
  std::mutex series_mu_;
  absl::flat_hash_set<std::string> known_series_;
  SketchCellCache sketch_cache_;

  // Journal mode: the cells of the journal rows not applied yet.
  std::unique_ptr<JournalPending> pending_;
  std::mutex flush_mu_;  // one FlushRollups at a time

  common::GroupCommitter<PendingBatch> committer_;

  std::mutex rules_mu_;
  std::map<std::string, RuleMetrics> rule_metrics_;
  // Bumped by every rule write, so that a group that read the rules before
  // the write does not install its (stale) reading.
  uint64_t rules_generation_ = 0;
};

}  // namespace agentwatch::monitor
