// The periodic recompute of every registered resource: forecast, stored
// recommendations, and breach alerts through the outbox. Several replicas run
// it at once without doing any resource twice: each claims due resources in
// Postgres (FOR UPDATE SKIP LOCKED, with a lease) before computing them.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "capacity/api/metrics.h"
#include "capacity/history/history_source.h"
#include "capacity/store/recompute_store.h"
#include "capacity/store/resource_store.h"
#include "common/clock.h"

namespace agentwatch::capacity {

struct RecomputeOptions {
  // Identifies this runner in the results (e.g. host:pid).
  std::string runner_id;
  // A resource is recomputed this long after its last run.
  absl::Duration interval = absl::Minutes(15);
  // A claim not finished within this is claimable again.
  absl::Duration lease = absl::Minutes(5);
  // Resources claimed per transaction.
  int batch = 20;
  // Real time between polls when nothing is due.
  absl::Duration poll = absl::Seconds(5);
};

// Start/Stop are not thread-safe with each other; RunOnce is thread-safe.
class RecomputeJob {
 public:
  // `on_alert` is called after a transaction enqueued an alert (to wake the
  // outbox dispatcher); may be empty. `metrics` (recomputes and breach
  // alerts) may be null.
  RecomputeJob(RecomputeStore& store, ResourceStore& resources, HistorySource& history,
               const common::Clock& clock, RecomputeOptions options, std::function<void()> on_alert,
               CapacityMetrics* metrics);
  ~RecomputeJob();
  RecomputeJob(const RecomputeJob&) = delete;
  RecomputeJob& operator=(const RecomputeJob&) = delete;

  // Claims one batch of due resources and recomputes each: the demand
  // forecast over the alert horizon (1 day when the alert is off) at
  // DemandStep, the recommendations over it, and the breach prediction; a
  // resource whose forecast fails (no data, short history, monitor down) is
  // stored with the error and retried at the next interval. Returns how many
  // resources it claimed. UNAVAILABLE when Postgres is.
  absl::StatusOr<int> RunOnce();

  // Starts a thread that runs batches while resources are due and polls
  // every `poll` otherwise (errors are logged and retried).
  void Start();
  // Stops and joins the thread. Idempotent.
  void Stop();

 private:
  void Loop();
  RecomputeOutcome Compute(const Resource& resource, absl::Time now);

  RecomputeStore& store_;
  ResourceStore& resources_;
  HistorySource& history_;
  const common::Clock& clock_;
  RecomputeOptions options_;
  std::function<void()> on_alert_;
  CapacityMetrics* metrics_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace agentwatch::capacity
