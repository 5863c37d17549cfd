#include "incident/api/sla_tracker.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/status_macros.h"
#include "incident/api/sla_mapping.h"

namespace agentwatch::incident {
namespace {

constexpr int kPageSize = 500;

}  // namespace

SlaTracker::SlaTracker(SlaStore& store, const common::Clock& clock, absl::Duration interval)
    : store_(store), clock_(clock), interval_(interval) {}

SlaTracker::~SlaTracker() { Stop(); }

void SlaTracker::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void SlaTracker::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void SlaTracker::Loop() {
  while (true) {
    absl::StatusOr<int> recorded = RunOnce();
    if (!recorded.ok()) {
      common::LogWarning("SLA breach scan failed", {{"error", recorded.status().ToString()}});
    }
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_)) return;
  }
}

absl::StatusOr<int> SlaTracker::RunOnce() {
  const absl::Time now = TruncateToMicros(clock_.Now());
  // Policies per tenant, loaded once per scan.
  std::map<std::string, SlaPolicyBook> books;
  int recorded = 0;
  std::optional<SlaCandidateCursor> after;
  while (true) {
    ASSIGN_OR_RETURN(const std::vector<SlaCandidate> page,
                     store_.ListSlaCandidates(after, kPageSize));
    for (const SlaCandidate& candidate : page) {
      const SlaSubject& subject = candidate.subject;
      auto book = books.find(subject.tenant);
      if (book == books.end()) {
        ASSIGN_OR_RETURN(SlaPolicyBook loaded, SlaPolicyBook::Load(store_, {subject.tenant}));
        book = books.emplace(subject.tenant, std::move(loaded)).first;
      }
      const SlaPolicy policy = book->second.InForce(subject.tenant, subject.create_time);
      const SlaDeadlines deadlines =
          ComputeDeadlines(policy, subject.severity, subject.create_time);
      if (FindBreaches(subject, deadlines, candidate.breaches, now).empty()) continue;
      // Decide again on the locked, current incident (its severity or state
      // may have changed since the snapshot).
      ASSIGN_OR_RETURN(const int n,
                       store_.RecordSlaBreaches(
                           subject.tenant, subject.id,
                           [&](const SlaSubject& current, const std::vector<SlaBreach>& known) {
                             return FindBreaches(
                                 current,
                                 ComputeDeadlines(policy, current.severity, current.create_time),
                                 known, now);
                           }));
      if (n > 0) {
        common::LogInfo("SLA target missed", {{"tenant", subject.tenant},
                                              {"incident_id", subject.id},
                                              {"breaches", std::to_string(n)}});
      }
      recorded += n;
    }
    if (static_cast<int>(page.size()) < kPageSize) return recorded;
    after = SlaCandidateCursor{page.back().subject.tenant, page.back().group_key};
  }
}

}  // namespace agentwatch::incident
