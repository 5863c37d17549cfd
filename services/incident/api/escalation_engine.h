// The escalation engine: a background worker (one per replica) that pages
// open incidents tier by tier under their escalation policy until someone
// acknowledges, repeats the chain, and re-escalates when an acknowledgement
// times out (core/paging.h). Each step locks its incident with SKIP LOCKED
// and enqueues its pages in the outbox of the same transaction, with one
// idempotency key per (incident, epoch, cycle, tier, channel), so two
// replicas never page twice for one step.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "incident/api/grouping_resolver.h"
#include "incident/core/paging.h"
#include "incident/store/incident_store.h"

namespace agentwatch::incident {

class EscalationEngine {
 public:
  // `group_wait` delays the first page of a new incident; the store is
  // scanned every `interval`; `on_paged` runs after a scan that enqueued
  // pages (e.g. OutboxDispatcher::Notify). Dependencies must outlive the
  // engine.
  EscalationEngine(IncidentStore& store, const common::Clock& clock, absl::Duration group_wait,
                   absl::Duration interval, std::function<void()> on_paged);
  ~EscalationEngine();
  EscalationEngine(const EscalationEngine&) = delete;
  EscalationEngine& operator=(const EscalationEngine&) = delete;

  // Delays each tenant's first pages by `resolver`'s group_wait (its
  // grouping config) instead of the constructor's, which then applies to no
  // one. `resolver` must outlive the engine; call before Start.
  void SetGroupingResolver(GroupingResolver* resolver) { grouping_resolver_ = resolver; }

  // Starts the scanning thread; Stop() ends it and waits. Start once.
  void Start();
  void Stop();

  // One scan at clock.Now(): applies every step due. Returns the number of
  // pages enqueued. UNAVAILABLE when the database is down.
  absl::StatusOr<int> RunOnce();

 private:
  // A tenant's paging configuration, loaded once per scan.
  struct TenantConfig {
    std::vector<EscalationPolicy> policies;
    std::map<std::string, Schedule> schedules;
    std::vector<NotificationChannel> channels;
    absl::Duration group_wait;
  };

  absl::StatusOr<TenantConfig> LoadTenant(const std::string& tenant);
  // The policy of an incident: the one its state names when it still
  // exists, else the one its labels select.
  static EscalationPolicy PolicyFor(const TenantConfig& config, const Incident& incident,
                                    const std::optional<EscalationState>& state);
  // The escalation step for the locked incident, or no change.
  EscalationWrite Plan(const TenantConfig& config, const Incident& incident,
                       const std::optional<EscalationState>& state, absl::Time now) const;
  void Loop();

  IncidentStore& store_;
  const common::Clock& clock_;
  const absl::Duration group_wait_;
  const absl::Duration interval_;
  const std::function<void()> on_paged_;
  GroupingResolver* grouping_resolver_ = nullptr;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Parses stored configuration bodies (the API messages) into core values.
// INTERNAL for a body that does not parse.
absl::StatusOr<EscalationPolicy> PolicyFromRecord(const ConfigRecord& record);
absl::StatusOr<Schedule> ScheduleFromRecord(const ConfigRecord& record);
absl::StatusOr<NotificationChannel> ChannelFromRecord(const ConfigRecord& record);

}  // namespace agentwatch::incident
