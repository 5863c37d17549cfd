// The SLA breach tracker: a background worker (one per replica) that scans
// the open incidents every interval, computes their due times under the
// policy in force at their creation (core/sla.h) and records each missed
// target once with a "sla_breached" timeline entry. Each incident is decided
// under its row lock taken with SKIP LOCKED, and the store's (incident,
// target) key backs the lock up, so N replicas record every breach exactly
// once. A target missed by a response that came late is still recorded while
// the incident stays open; one responded to late AND resolved between two
// scans of every replica goes unrecorded.
#pragma once

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "incident/store/sla_store.h"

namespace agentwatch::incident {

class SlaTracker {
 public:
  // Scans `store` every `interval` (positive). Dependencies must outlive the
  // tracker.
  SlaTracker(SlaStore& store, const common::Clock& clock, absl::Duration interval);
  ~SlaTracker();
  SlaTracker(const SlaTracker&) = delete;
  SlaTracker& operator=(const SlaTracker&) = delete;

  // Starts the scanning thread; Stop() ends it and waits. Start once.
  void Start();
  void Stop();

  // One scan at clock.Now(): records every breach due. Returns how many were
  // recorded. UNAVAILABLE when the database is down; INTERNAL for an
  // unreadable stored policy.
  absl::StatusOr<int> RunOnce();

 private:
  void Loop();

  SlaStore& store_;
  const common::Clock& clock_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace agentwatch::incident
