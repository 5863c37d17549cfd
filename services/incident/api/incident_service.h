// The gRPC face of the incident service: validates requests, maps proto to
// core and back, calls the store and maps Status to gRPC codes (through
// RpcRunner). Implemented: ReportAlerts, ListIncidents, GetIncident and the
// lifecycle calls (AcknowledgeIncident, MitigateIncident, ResolveIncident,
// CloseIncident, ReopenIncident, AddNote, AssignOwner, SetSeverity) and the
// silences (CreateSilence, GetSilence, ListSilences, DeleteSilence). Every
// other RPC of IncidentService answers UNIMPLEMENTED (the generated base
// class does).
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/clock.h"
#include "common/rpc.h"
#include "incident/api/incident_metrics.h"
#include "incident/core/grouping.h"
#include "incident/core/ids.h"
#include "incident/core/lifecycle.h"
#include "incident/store/incident_store.h"

namespace agentwatch::incident {

class IncidentServiceImpl final : public v1::IncidentService::CallbackService {
 public:
  // Every dependency must outlive the service. `grouping` applies to every
  // tenant.
  IncidentServiceImpl(IncidentStore& store, common::RpcRunner& rpc, const common::Clock& clock,
                      IncidentMetrics& metrics, GroupingConfig grouping);

  grpc::ServerUnaryReactor* ReportAlerts(grpc::CallbackServerContext* context,
                                         const v1::ReportAlertsRequest* request,
                                         v1::ReportAlertsResponse* response) override;
  grpc::ServerUnaryReactor* ListIncidents(grpc::CallbackServerContext* context,
                                          const v1::ListIncidentsRequest* request,
                                          v1::ListIncidentsResponse* response) override;
  grpc::ServerUnaryReactor* GetIncident(grpc::CallbackServerContext* context,
                                        const v1::GetIncidentRequest* request,
                                        v1::GetIncidentResponse* response) override;
  grpc::ServerUnaryReactor* AcknowledgeIncident(grpc::CallbackServerContext* context,
                                                const v1::AcknowledgeIncidentRequest* request,
                                                v1::Incident* response) override;
  grpc::ServerUnaryReactor* MitigateIncident(grpc::CallbackServerContext* context,
                                             const v1::MitigateIncidentRequest* request,
                                             v1::Incident* response) override;
  grpc::ServerUnaryReactor* ResolveIncident(grpc::CallbackServerContext* context,
                                            const v1::ResolveIncidentRequest* request,
                                            v1::Incident* response) override;
  grpc::ServerUnaryReactor* CloseIncident(grpc::CallbackServerContext* context,
                                          const v1::CloseIncidentRequest* request,
                                          v1::Incident* response) override;
  grpc::ServerUnaryReactor* ReopenIncident(grpc::CallbackServerContext* context,
                                           const v1::ReopenIncidentRequest* request,
                                           v1::Incident* response) override;
  grpc::ServerUnaryReactor* AddNote(grpc::CallbackServerContext* context,
                                    const v1::AddNoteRequest* request,
                                    v1::TimelineEntry* response) override;
  grpc::ServerUnaryReactor* AssignOwner(grpc::CallbackServerContext* context,
                                        const v1::AssignOwnerRequest* request,
                                        v1::Incident* response) override;
  grpc::ServerUnaryReactor* SetSeverity(grpc::CallbackServerContext* context,
                                        const v1::SetSeverityRequest* request,
                                        v1::Incident* response) override;
  grpc::ServerUnaryReactor* CreateSilence(grpc::CallbackServerContext* context,
                                          const v1::CreateSilenceRequest* request,
                                          v1::Silence* response) override;
  grpc::ServerUnaryReactor* GetSilence(grpc::CallbackServerContext* context,
                                       const v1::GetSilenceRequest* request,
                                       v1::Silence* response) override;
  grpc::ServerUnaryReactor* ListSilences(grpc::CallbackServerContext* context,
                                         const v1::ListSilencesRequest* request,
                                         v1::ListSilencesResponse* response) override;
  grpc::ServerUnaryReactor* DeleteSilence(grpc::CallbackServerContext* context,
                                          const v1::DeleteSilenceRequest* request,
                                          google::protobuf::Empty* response) override;

 private:
  // The fields every lifecycle request carries.
  struct LifecycleFields {
    const std::string& id;
    const std::string& actor;
    const std::string& request_id;
    const std::string& note;
  };
  using Change = std::function<absl::StatusOr<IncidentChange>(const Incident&, absl::Time)>;

  // Validates `fields` (id, actor, request_id, note; the note is required
  // when `note_required`), applies `change` to the incident through the
  // store, idempotently by request_id, and fills `response` with `fill`'s
  // rendering of the applied change (or the first call's rendering).
  template <typename Response>
  absl::Status Apply(absl::string_view method, const LifecycleFields& fields, bool note_required,
                     const Change& change,
                     const std::function<void(const IncidentChange&, Response*)>& fill,
                     Response* response);

  // The lifecycle steps share everything but the target state.
  template <typename Request>
  grpc::ServerUnaryReactor* Step(grpc::CallbackServerContext* context, absl::string_view method,
                                 const Request* request, IncidentStatus target,
                                 v1::Incident* response);

  IncidentStore& store_;
  common::RpcRunner& rpc_;
  const common::Clock& clock_;
  IncidentMetrics& metrics_;
  const GroupingConfig grouping_;
  // Ids of silences created without a request_id.
  RandomIdGenerator silence_ids_;
};

}  // namespace agentwatch::incident
