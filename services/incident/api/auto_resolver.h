// The background worker that resolves quiet incidents automatically
// (core/auto_resolve.h) through IncidentStore::AutoResolveDue. Every replica
// runs one; the store's row locks make each resolution happen once.
#pragma once

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "incident/api/incident_metrics.h"
#include "incident/store/incident_store.h"

namespace agentwatch::incident {

class AutoResolver {
 public:
  // Incidents whose alerts all resolved `quiet` ago are resolved; the store
  // is scanned every `interval`. Dependencies must outlive the worker.
  AutoResolver(IncidentStore& store, const common::Clock& clock, IncidentMetrics& metrics,
               absl::Duration quiet, absl::Duration interval);
  ~AutoResolver();
  AutoResolver(const AutoResolver&) = delete;
  AutoResolver& operator=(const AutoResolver&) = delete;

  // Starts the scanning thread; Stop() ends it and waits. Start once.
  void Start();
  void Stop();

  // One scan: resolves every incident due now, in batches. Returns how many
  // it resolved; UNAVAILABLE when the database is down.
  absl::StatusOr<int> RunOnce();

 private:
  void Loop();

  IncidentStore& store_;
  const common::Clock& clock_;
  IncidentMetrics& metrics_;
  const absl::Duration quiet_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace agentwatch::incident
