#include "incident/api/incident_service.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "incident/api/proto_mapping.h"
#include "incident/core/validation.h"

namespace agentwatch::incident {
namespace {

using common::Role;

absl::Status ValidateLifecycleFields(absl::string_view id, absl::string_view actor,
                                     absl::string_view request_id, absl::string_view note,
                                     bool note_required) {
  RETURN_IF_ERROR(ValidateRequired(id, "id", kMaxIdBytes));
  RETURN_IF_ERROR(ValidateRequired(actor, "actor", kMaxActorBytes));
  RETURN_IF_ERROR(ValidateOptional(request_id, "request_id", kMaxRequestIdBytes));
  if (note_required) return ValidateRequired(note, "note", kMaxNoteBytes);
  return ValidateOptional(note, "note", kMaxNoteBytes);
}

// The id of a silence created with `request_id`: the same for a retry, so
// the store returns the silence the first call created.
std::string SilenceIdFor(absl::string_view tenant, absl::string_view request_id) {
  return FormatUuid(Fnv1a64(absl::StrCat("silence\n", tenant, "\n", request_id)),
                    Fnv1a64(absl::StrCat(request_id, "\n", tenant, "\nsilence")));
}

void FillIncident(const IncidentChange& change, v1::Incident* out) {
  IncidentToProto(change.incident, out);
}

}  // namespace

IncidentServiceImpl::IncidentServiceImpl(IncidentStore& store, common::RpcRunner& rpc,
                                         const common::Clock& clock, IncidentMetrics& metrics,
                                         GroupingConfig grouping, Notifier* notifier,
                                         SlaStore* sla)
    : store_(store),
      rpc_(rpc),
      clock_(clock),
      metrics_(metrics),
      grouping_(std::move(grouping)),
      notifier_(notifier),
      sla_(sla) {}

grpc::ServerUnaryReactor* IncidentServiceImpl::ReportAlerts(grpc::CallbackServerContext* context,
                                                            const v1::ReportAlertsRequest* request,
                                                            v1::ReportAlertsResponse* response) {
  return rpc_.Unary(context, Role::kOperator, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateBatchSize(static_cast<size_t>(request->alerts_size())));
    const absl::Time now = clock_.Now();
    std::vector<IncomingAlert> alerts;
    alerts.reserve(static_cast<size_t>(request->alerts_size()));
    BatchGrouping groupings(grouping_resolver_, grouping_);
    for (int i = 0; i < request->alerts_size(); ++i) {
      const std::string field = absl::StrCat("alerts[", i, "]");
      ASSIGN_OR_RETURN(AlertReport report, AlertFromProto(request->alerts(i), field));
      RETURN_IF_ERROR(ValidateAlertReport(report, field));
      ASSIGN_OR_RETURN(const GroupingConfig* grouping, groupings.For(report.tenant));
      alerts.push_back(PrepareAlert(std::move(report), *grouping, now));
    }
    ASSIGN_OR_RETURN(IntakeSummary summary, store_.ReportAlerts(alerts, now));
    metrics_.RecordIntake(summary);
    response->set_accepted(summary.accepted);
    response->set_duplicates(summary.duplicates);
    response->set_silenced(summary.silenced);
    response->set_inhibited(summary.inhibited);
    for (std::string& id : summary.incident_ids) response->add_incident_ids(std::move(id));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::ListIncidents(
    grpc::CallbackServerContext* context, const v1::ListIncidentsRequest* request,
    v1::ListIncidentsResponse* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    ASSIGN_OR_RETURN(const IncidentQuery query, QueryFromProto(*request));
    ASSIGN_OR_RETURN(const IncidentPage page, store_.ListIncidents(query));
    std::vector<v1::Incident*> listed;
    for (const Incident& incident : page.incidents) {
      listed.push_back(response->add_incidents());
      IncidentToProto(incident, listed.back());
    }
    RETURN_IF_ERROR(AddSlaFieldsTo(listed));
    if (page.next) {
      response->set_next_page_token(EncodePageToken(*page.next, FilterDigest(*request)));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::GetIncident(grpc::CallbackServerContext* context,
                                                           const v1::GetIncidentRequest* request,
                                                           v1::GetIncidentResponse* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateRequired(request->id(), "id", kMaxIdBytes));
    ASSIGN_OR_RETURN(const IncidentDetail detail, store_.GetIncident(request->id()));
    IncidentToProto(detail.incident, response->mutable_incident());
    RETURN_IF_ERROR(AddSlaFieldsTo({response->mutable_incident()}));
    for (const AlertState& alert : detail.alerts) AlertToProto(alert, response->add_alerts());
    for (const TimelineEntry& entry : detail.timeline) {
      TimelineEntryToProto(entry, response->add_timeline());
    }
    return absl::OkStatus();
  });
}

template <typename Response>
absl::Status IncidentServiceImpl::Apply(
    absl::string_view method, const LifecycleFields& fields, bool note_required,
    const Change& change, const std::function<void(const IncidentChange&, Response*)>& fill,
    Response* response) {
  RETURN_IF_ERROR(ValidateLifecycleFields(fields.id, fields.actor, fields.request_id, fields.note,
                                          note_required));
  const absl::Time now = clock_.Now();
  ASSIGN_OR_RETURN(const std::string bytes,
                   store_.MutateIncident(
                       fields.id, RequestKey{fields.request_id, std::string(method)},
                       [&](const Incident& incident) { return change(incident, now); },
                       [&](const IncidentChange& applied) {
                         Response rendered;
                         fill(applied, &rendered);
                         return rendered.SerializeAsString();
                       }));
  if (!response->ParseFromString(bytes)) {
    return absl::InternalError(absl::StrCat("stored response of ", method, " is unreadable"));
  }
  return absl::OkStatus();
}

template <typename Request>
grpc::ServerUnaryReactor* IncidentServiceImpl::Step(grpc::CallbackServerContext* context,
                                                    absl::string_view method,
                                                    const Request* request, IncidentStatus target,
                                                    v1::Incident* response) {
  return rpc_.Unary(
      context, Role::kOperator, [this, method, request, target, response]() -> absl::Status {
        const LifecycleFields fields{request->id(), request->actor(), request->request_id(),
                                     request->note()};
        RETURN_IF_ERROR(Apply<v1::Incident>(
            method, fields, /*note_required=*/false,
            [&](const Incident& incident, absl::Time now) {
              return Transition(incident, target, request->actor(), request->note(), now);
            },
            FillIncident, response));
        return AddSlaFieldsTo({response});
      });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::AcknowledgeIncident(
    grpc::CallbackServerContext* context, const v1::AcknowledgeIncidentRequest* request,
    v1::Incident* response) {
  return Step(context, "AcknowledgeIncident", request, IncidentStatus::kAcknowledged, response);
}

grpc::ServerUnaryReactor* IncidentServiceImpl::MitigateIncident(
    grpc::CallbackServerContext* context, const v1::MitigateIncidentRequest* request,
    v1::Incident* response) {
  return Step(context, "MitigateIncident", request, IncidentStatus::kMitigated, response);
}

grpc::ServerUnaryReactor* IncidentServiceImpl::ResolveIncident(
    grpc::CallbackServerContext* context, const v1::ResolveIncidentRequest* request,
    v1::Incident* response) {
  return Step(context, "ResolveIncident", request, IncidentStatus::kResolved, response);
}

grpc::ServerUnaryReactor* IncidentServiceImpl::CloseIncident(
    grpc::CallbackServerContext* context, const v1::CloseIncidentRequest* request,
    v1::Incident* response) {
  return Step(context, "CloseIncident", request, IncidentStatus::kClosed, response);
}

grpc::ServerUnaryReactor* IncidentServiceImpl::ReopenIncident(
    grpc::CallbackServerContext* context, const v1::ReopenIncidentRequest* request,
    v1::Incident* response) {
  return Step(context, "ReopenIncident", request, IncidentStatus::kTriggered, response);
}

grpc::ServerUnaryReactor* IncidentServiceImpl::AddNote(grpc::CallbackServerContext* context,
                                                       const v1::AddNoteRequest* request,
                                                       v1::TimelineEntry* response) {
  return rpc_.Unary(context, Role::kOperator, [this, request, response]() -> absl::Status {
    const LifecycleFields fields{request->id(), request->actor(), request->request_id(),
                                 request->note()};
    return Apply<v1::TimelineEntry>(
        "AddNote", fields, /*note_required=*/true,
        [&](const Incident& current, absl::Time now) {
          return incident::AddNote(current, request->actor(), request->note(), now);
        },
        [](const IncidentChange& change, v1::TimelineEntry* out) {
          TimelineEntryToProto(change.entries.front(), out);
        },
        response);
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::AssignOwner(grpc::CallbackServerContext* context,
                                                           const v1::AssignOwnerRequest* request,
                                                           v1::Incident* response) {
  return rpc_.Unary(context, Role::kOperator, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateLifecycleFields(request->id(), request->actor(), request->request_id(),
                                            request->note(), /*note_required=*/false));
    RETURN_IF_ERROR(ValidateOptional(request->owner(), "owner", kMaxActorBytes));
    const LifecycleFields fields{request->id(), request->actor(), request->request_id(),
                                 request->note()};
    RETURN_IF_ERROR(Apply<v1::Incident>(
        "AssignOwner", fields, /*note_required=*/false,
        [&](const Incident& current, absl::Time now) {
          return incident::AssignOwner(current, request->actor(), request->owner(), request->note(),
                                       now);
        },
        FillIncident, response));
    return AddSlaFieldsTo({response});
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::SetSeverity(grpc::CallbackServerContext* context,
                                                           const v1::SetSeverityRequest* request,
                                                           v1::Incident* response) {
  return rpc_.Unary(context, Role::kOperator, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateLifecycleFields(request->id(), request->actor(), request->request_id(),
                                            request->note(), /*note_required=*/false));
    const auto severity = static_cast<Severity>(request->severity());
    if (severity == Severity::kUnspecified) return common::InvalidField("severity", "required");
    if (!IsValid(severity)) {
      return common::InvalidField("severity", absl::StrCat("unknown value ", request->severity()));
    }
    const LifecycleFields fields{request->id(), request->actor(), request->request_id(),
                                 request->note()};
    RETURN_IF_ERROR(Apply<v1::Incident>(
        "SetSeverity", fields, /*note_required=*/false,
        [&](const Incident& current, absl::Time now) {
          return incident::SetSeverity(current, request->actor(), severity, request->note(), now);
        },
        FillIncident, response));
    return AddSlaFieldsTo({response});
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::CreateSilence(
    grpc::CallbackServerContext* context, const v1::CreateSilenceRequest* request,
    v1::Silence* response) {
  return rpc_.Unary(context, Role::kOperator, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateOptional(request->request_id(), "request_id", kMaxRequestIdBytes));
    const absl::Time now = TruncateToMicros(clock_.Now());
    ASSIGN_OR_RETURN(Silence silence, SilenceFromProto(request->silence(), "silence", now));
    RETURN_IF_ERROR(ValidateSilence(silence, "silence"));
    silence.id = request->request_id().empty()
                     ? silence_ids_.NewId(now)
                     : SilenceIdFor(silence.tenant, request->request_id());
    silence.create_time = now;
    silence.update_time = now;
    ASSIGN_OR_RETURN(const Silence stored, store_.CreateSilence(silence));
    SilenceToProto(stored, now, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::GetSilence(grpc::CallbackServerContext* context,
                                                          const v1::GetSilenceRequest* request,
                                                          v1::Silence* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateRequired(request->id(), "id", kMaxIdBytes));
    ASSIGN_OR_RETURN(const Silence silence, store_.GetSilence(request->id()));
    SilenceToProto(silence, clock_.Now(), response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::ListSilences(grpc::CallbackServerContext* context,
                                                            const v1::ListSilencesRequest* request,
                                                            v1::ListSilencesResponse* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateOptional(request->tenant(), "tenant", kMaxTenantBytes));
    SilenceQuery query;
    query.tenant = request->tenant();
    query.include_expired = request->include_expired();
    query.now = TruncateToMicros(clock_.Now());
    ASSIGN_OR_RETURN(query.page_size, NormalizePageSize(request->page_size()));
    if (!request->page_token().empty()) {
      ASSIGN_OR_RETURN(query.after, DecodePageToken(request->page_token(), FilterDigest(*request)));
    }
    ASSIGN_OR_RETURN(const SilencePage page, store_.ListSilences(query));
    for (const Silence& silence : page.silences) {
      SilenceToProto(silence, query.now, response->add_silences());
    }
    if (page.next) {
      response->set_next_page_token(EncodePageToken(*page.next, FilterDigest(*request)));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::DeleteSilence(
    grpc::CallbackServerContext* context, const v1::DeleteSilenceRequest* request,
    google::protobuf::Empty* /*response*/) {
  return rpc_.Unary(context, Role::kOperator, [this, request]() -> absl::Status {
    RETURN_IF_ERROR(ValidateRequired(request->id(), "id", kMaxIdBytes));
    return store_.DeleteSilence(request->id(), clock_.Now());
  });
}

}  // namespace agentwatch::incident
