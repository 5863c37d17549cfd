// An in-memory IncidentStore with the same behaviour as the Postgres one, for
// unit and API tests. One mutex serializes every call. Regular-expression
// matchers use RE2.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "incident/core/ids.h"
#include "incident/store/incident_store.h"

namespace agentwatch::incident {

class MemoryIncidentStore final : public IncidentStore {
 public:
  // `ids` makes the ids of new incidents; it must outlive the store. A refire
  // within `reopen_window` of an automatic resolution re-opens the incident
  // (core/intake.h); zero never does.
  explicit MemoryIncidentStore(IdGenerator& ids,
                               absl::Duration reopen_window = absl::ZeroDuration())
      : ids_(ids), reopen_window_(reopen_window) {}

  absl::StatusOr<IntakeSummary> ReportAlerts(const std::vector<IncomingAlert>& alerts,
                                             absl::Time now) override;
  absl::StatusOr<std::string> MutateIncident(absl::string_view id, const RequestKey& request,
                                             const IncidentMutator& mutate,
                                             const ResponseEncoder& encode) override;
  absl::StatusOr<IncidentDetail> GetIncident(absl::string_view id) override;
  absl::StatusOr<IncidentPage> ListIncidents(const IncidentQuery& query) override;
  absl::StatusOr<std::string> FindOpenIncident(absl::string_view tenant,
                                               absl::string_view fingerprint) override;
  absl::StatusOr<std::vector<std::string>> AutoResolveDue(absl::Time now, absl::Duration quiet,
                                                          int limit) override;
  absl::StatusOr<Silence> CreateSilence(const Silence& silence) override;
  absl::StatusOr<Silence> GetSilence(absl::string_view id) override;
  absl::Status DeleteSilence(absl::string_view id, absl::Time now) override;
  absl::StatusOr<SilencePage> ListSilences(const SilenceQuery& query) override;

 private:
  struct StoredRequest {
    std::string method;
    std::string incident_id;
    std::string response;
  };

  IdGenerator& ids_;
  const absl::Duration reopen_window_;
  absl::Mutex mu_;
  std::map<std::string, Incident> incidents_ ABSL_GUARDED_BY(mu_);
  // (incident id, fingerprint) -> alert.
  std::map<std::pair<std::string, std::string>, AlertState> alerts_ ABSL_GUARDED_BY(mu_);
  std::map<ReportKey, std::string> reports_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<TimelineEntry>> timelines_ ABSL_GUARDED_BY(mu_);
  // (tenant, request id) -> first call.
  std::map<std::pair<std::string, std::string>, StoredRequest> requests_ ABSL_GUARDED_BY(mu_);
  // id -> silence (ids are unique across tenants).
  std::map<std::string, Silence> silences_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentwatch::incident
