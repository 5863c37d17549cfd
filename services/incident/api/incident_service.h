// The gRPC face of the incident service: validates requests, maps proto to
// core and back, calls the store and maps Status to gRPC codes (through
// RpcRunner). Implemented: ReportAlerts, ListIncidents, GetIncident and the
// lifecycle calls (AcknowledgeIncident, MitigateIncident, ResolveIncident,
// CloseIncident, ReopenIncident, AddNote, AssignOwner, SetSeverity) and the
// silences (CreateSilence, GetSilence, ListSilences, DeleteSilence), and
// paging: escalation policies, on-call schedules (with GetOnCall) and
// notification channels (with TestNotificationChannel), in
// paging_service.cc, inhibition rules (inhibition_service.cc),
// postmortems (postmortem_service.cc) and response rules
// (response_service.cc), response targets with SLA breaches
// (sla_service.cc), WatchIncidents (watch_service.cc), per-tenant grouping
// config (grouping_config_service.cc). Every
// other RPC of IncidentService answers UNIMPLEMENTED (the generated base
// class does).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/clock.h"
#include "common/rpc.h"
#include "incident/api/grouping_resolver.h"
#include "incident/api/incident_metrics.h"
#include "incident/api/notifier.h"
#include "incident/core/grouping.h"
#include "incident/core/ids.h"
#include "incident/core/lifecycle.h"
#include "incident/store/grouping_config_store.h"
#include "incident/store/incident_store.h"
#include "incident/store/sla_store.h"

namespace agentwatch::incident {

class IncidentWatcher;

class IncidentServiceImpl final : public v1::IncidentService::CallbackService {
 public:
  // Every dependency must outlive the service. `grouping` applies to every
  // tenant unless SetGroupingConfigs gives per-tenant grouping. `notifier`
  // sends TestNotificationChannel's notifications; without one that call
  // answers FAILED_PRECONDITION. `sla` keeps the SLA policies
  // and breaches (api/sla_service.cc); without one GetSlaPolicy and
  // UpdateSlaPolicy answer UNIMPLEMENTED and incidents carry no SLA fields.
  IncidentServiceImpl(IncidentStore& store, common::RpcRunner& rpc, const common::Clock& clock,
                      IncidentMetrics& metrics, GroupingConfig grouping,
                      Notifier* notifier = nullptr, SlaStore* sla = nullptr);

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
  // Incident statistics over a range (api/stats_service.cc); UNIMPLEMENTED
  // when the store has no StatsStore.
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context,
                                     const v1::GetStatsRequest* request,
                                     v1::IncidentStats* response) override;
  // Field-masked edit of a silence (api/silence_update_service.cc).
  grpc::ServerUnaryReactor* UpdateSilence(grpc::CallbackServerContext* context,
                                          const v1::UpdateSilenceRequest* request,
                                          v1::Silence* response) override;
  grpc::ServerUnaryReactor* DeleteSilence(grpc::CallbackServerContext* context,
                                          const v1::DeleteSilenceRequest* request,
                                          google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* CreateEscalationPolicy(grpc::CallbackServerContext* context,
                                                   const v1::CreateEscalationPolicyRequest* request,
                                                   v1::EscalationPolicy* response) override;
  grpc::ServerUnaryReactor* GetEscalationPolicy(grpc::CallbackServerContext* context,
                                                const v1::GetEscalationPolicyRequest* request,
                                                v1::EscalationPolicy* response) override;
  grpc::ServerUnaryReactor* UpdateEscalationPolicy(grpc::CallbackServerContext* context,
                                                   const v1::UpdateEscalationPolicyRequest* request,
                                                   v1::EscalationPolicy* response) override;
  grpc::ServerUnaryReactor* DeleteEscalationPolicy(grpc::CallbackServerContext* context,
                                                   const v1::DeleteEscalationPolicyRequest* request,
                                                   google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* ListEscalationPolicies(
      grpc::CallbackServerContext* context, const v1::ListEscalationPoliciesRequest* request,
      v1::ListEscalationPoliciesResponse* response) override;
  grpc::ServerUnaryReactor* CreateSchedule(grpc::CallbackServerContext* context,
                                           const v1::CreateScheduleRequest* request,
                                           v1::Schedule* response) override;
  grpc::ServerUnaryReactor* GetSchedule(grpc::CallbackServerContext* context,
                                        const v1::GetScheduleRequest* request,
                                        v1::Schedule* response) override;
  grpc::ServerUnaryReactor* UpdateSchedule(grpc::CallbackServerContext* context,
                                           const v1::UpdateScheduleRequest* request,
                                           v1::Schedule* response) override;
  grpc::ServerUnaryReactor* DeleteSchedule(grpc::CallbackServerContext* context,
                                           const v1::DeleteScheduleRequest* request,
                                           google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* ListSchedules(grpc::CallbackServerContext* context,
                                          const v1::ListSchedulesRequest* request,
                                          v1::ListSchedulesResponse* response) override;
  grpc::ServerUnaryReactor* GetOnCall(grpc::CallbackServerContext* context,
                                      const v1::GetOnCallRequest* request,
                                      v1::GetOnCallResponse* response) override;
  grpc::ServerUnaryReactor* CreateNotificationChannel(
      grpc::CallbackServerContext* context, const v1::CreateNotificationChannelRequest* request,
      v1::NotificationChannel* response) override;
  grpc::ServerUnaryReactor* GetNotificationChannel(grpc::CallbackServerContext* context,
                                                   const v1::GetNotificationChannelRequest* request,
                                                   v1::NotificationChannel* response) override;
  grpc::ServerUnaryReactor* UpdateNotificationChannel(
      grpc::CallbackServerContext* context, const v1::UpdateNotificationChannelRequest* request,
      v1::NotificationChannel* response) override;
  grpc::ServerUnaryReactor* DeleteNotificationChannel(
      grpc::CallbackServerContext* context, const v1::DeleteNotificationChannelRequest* request,
      google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* ListNotificationChannels(
      grpc::CallbackServerContext* context, const v1::ListNotificationChannelsRequest* request,
      v1::ListNotificationChannelsResponse* response) override;
  grpc::ServerUnaryReactor* TestNotificationChannel(
      grpc::CallbackServerContext* context, const v1::TestNotificationChannelRequest* request,
      v1::TestNotificationChannelResponse* response) override;
  grpc::ServerUnaryReactor* CreateInhibitionRule(grpc::CallbackServerContext* context,
                                                 const v1::CreateInhibitionRuleRequest* request,
                                                 v1::InhibitionRule* response) override;
  grpc::ServerUnaryReactor* GetInhibitionRule(grpc::CallbackServerContext* context,
                                              const v1::GetInhibitionRuleRequest* request,
                                              v1::InhibitionRule* response) override;
  grpc::ServerUnaryReactor* UpdateInhibitionRule(grpc::CallbackServerContext* context,
                                                 const v1::UpdateInhibitionRuleRequest* request,
                                                 v1::InhibitionRule* response) override;
  grpc::ServerUnaryReactor* DeleteInhibitionRule(grpc::CallbackServerContext* context,
                                                 const v1::DeleteInhibitionRuleRequest* request,
                                                 google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* ListInhibitionRules(grpc::CallbackServerContext* context,
                                                const v1::ListInhibitionRulesRequest* request,
                                                v1::ListInhibitionRulesResponse* response) override;
  // Response rules (response_service.cc); the ResponseEngine runs them.
  grpc::ServerUnaryReactor* CreateResponseRule(grpc::CallbackServerContext* context,
                                               const v1::CreateResponseRuleRequest* request,
                                               v1::ResponseRule* response) override;
  grpc::ServerUnaryReactor* GetResponseRule(grpc::CallbackServerContext* context,
                                            const v1::GetResponseRuleRequest* request,
                                            v1::ResponseRule* response) override;
  grpc::ServerUnaryReactor* UpdateResponseRule(grpc::CallbackServerContext* context,
                                               const v1::UpdateResponseRuleRequest* request,
                                               v1::ResponseRule* response) override;
  grpc::ServerUnaryReactor* DeleteResponseRule(grpc::CallbackServerContext* context,
                                               const v1::DeleteResponseRuleRequest* request,
                                               google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* ListResponseRules(grpc::CallbackServerContext* context,
                                              const v1::ListResponseRulesRequest* request,
                                              v1::ListResponseRulesResponse* response) override;
  // Postmortems (postmortem_service.cc); UNIMPLEMENTED when the store keeps
  // none (IncidentStore::postmortems()).
  grpc::ServerUnaryReactor* CreatePostmortem(grpc::CallbackServerContext* context,
                                             const v1::CreatePostmortemRequest* request,
                                             v1::Postmortem* response) override;
  grpc::ServerUnaryReactor* UpdatePostmortem(grpc::CallbackServerContext* context,
                                             const v1::UpdatePostmortemRequest* request,
                                             v1::Postmortem* response) override;
  grpc::ServerUnaryReactor* GetPostmortem(grpc::CallbackServerContext* context,
                                          const v1::GetPostmortemRequest* request,
                                          v1::Postmortem* response) override;
  grpc::ServerUnaryReactor* ListPostmortems(grpc::CallbackServerContext* context,
                                            const v1::ListPostmortemsRequest* request,
                                            v1::ListPostmortemsResponse* response) override;
  grpc::ServerUnaryReactor* ExportPostmortem(grpc::CallbackServerContext* context,
                                             const v1::ExportPostmortemRequest* request,
                                             v1::ExportPostmortemResponse* response) override;
  // Response targets (sla_service.cc); UNIMPLEMENTED without an SlaStore.
  grpc::ServerUnaryReactor* GetSlaPolicy(grpc::CallbackServerContext* context,
                                         const v1::GetSlaPolicyRequest* request,
                                         v1::SlaPolicy* response) override;
  grpc::ServerUnaryReactor* UpdateSlaPolicy(grpc::CallbackServerContext* context,
                                            const v1::UpdateSlaPolicyRequest* request,
                                            v1::SlaPolicy* response) override;
  // Per-tenant grouping config (grouping_config_service.cc); UNIMPLEMENTED
  // until SetGroupingConfigs.
  grpc::ServerUnaryReactor* GetGroupingConfig(grpc::CallbackServerContext* context,
                                              const v1::GetGroupingConfigRequest* request,
                                              v1::GroupingConfig* response) override;
  grpc::ServerUnaryReactor* UpdateGroupingConfig(grpc::CallbackServerContext* context,
                                                 const v1::UpdateGroupingConfigRequest* request,
                                                 v1::GroupingConfig* response) override;
  // Streams incident changes (watch_service.cc) from the watcher set by
  // SetWatcher; UNIMPLEMENTED without one.
  grpc::ServerWriteReactor<v1::IncidentEvent>* WatchIncidents(
      grpc::CallbackServerContext* context, const v1::WatchIncidentsRequest* request) override;

  // Per-tenant grouping: `store` keeps the configs, `resolver` (over the same
  // store) gives ReportAlerts each tenant's group_by instead of the
  // constructor's `grouping`, and `timings` are the service's lifecycle
  // timings GetGroupingConfig reports. Both must outlive the service; call
  // before serving.
  void SetGroupingConfigs(GroupingConfigStore* store, GroupingResolver* resolver,
                          const GroupingTimings& timings);

  // The replica's watch poller (must outlive the service); its incidents get
  // the SLA fields. Call before serving.
  void SetWatcher(IncidentWatcher* watcher);

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

  // Adds the SLA fields and escalation_policy_id to incidents read or
  // returned (sla_service.cc); a no-op without an SlaStore.
  absl::Status AddSlaFieldsTo(const std::vector<v1::Incident*>& incidents);

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
  Notifier* const notifier_;
  // Null: no SLA policies, breaches or SLA fields on incidents.
  SlaStore* const sla_;
  // Ids of silences created without a request_id.
  RandomIdGenerator silence_ids_;
  // Ids of paging configuration created without a request_id.
  RandomIdGenerator config_ids_;
  // Null: one grouping for every tenant, grouping config RPCs UNIMPLEMENTED.
  GroupingConfigStore* grouping_store_ = nullptr;
  GroupingResolver* grouping_resolver_ = nullptr;
  GroupingTimings grouping_timings_;
  // Null: WatchIncidents answers UNIMPLEMENTED.
  IncidentWatcher* watcher_ = nullptr;
};

}  // namespace agentwatch::incident
