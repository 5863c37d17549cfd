// IncidentServiceImpl: GetSlaPolicy and UpdateSlaPolicy over the SlaStore,
// and the SLA fields added to incidents (api/sla_mapping.h).
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "incident/api/incident_service.h"
#include "incident/api/sla_mapping.h"
#include "incident/core/validation.h"

namespace agentwatch::incident {
namespace {

using common::Role;

absl::Status NoSlaStore() { return absl::UnimplementedError("this server keeps no SLA policies"); }

}  // namespace

absl::Status IncidentServiceImpl::AddSlaFieldsTo(const std::vector<v1::Incident*>& incidents) {
  if (sla_ == nullptr) return absl::OkStatus();
  return AddSlaFields(*sla_, incidents);
}

grpc::ServerUnaryReactor* IncidentServiceImpl::GetSlaPolicy(grpc::CallbackServerContext* context,
                                                            const v1::GetSlaPolicyRequest* request,
                                                            v1::SlaPolicy* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    if (sla_ == nullptr) return NoSlaStore();
    RETURN_IF_ERROR(ValidateOptional(request->tenant(), "tenant", kMaxTenantBytes));
    ASSIGN_OR_RETURN(const SlaPolicyBook book, SlaPolicyBook::Load(*sla_, {request->tenant()}));
    SlaPolicyToProto(book.Latest(request->tenant()), response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::UpdateSlaPolicy(
    grpc::CallbackServerContext* context, const v1::UpdateSlaPolicyRequest* request,
    v1::SlaPolicy* response) {
  return rpc_.Unary(context, Role::kAdmin, [this, request, response]() -> absl::Status {
    if (sla_ == nullptr) return NoSlaStore();
    bool targets = request->update_mask().paths_size() == 0;
    bool business_hours = targets;
    for (const std::string& path : request->update_mask().paths()) {
      if (path == "targets") {
        targets = true;
      } else if (path == "business_hours") {
        business_hours = true;
      } else {
        return common::InvalidField("update_mask",
                                    absl::StrCat("unknown or read-only path \"", path,
                                                 "\" (writable: targets, business_hours)"));
      }
    }
    ASSIGN_OR_RETURN(SlaPolicy given, SlaPolicyFromProto(request->policy(), "policy"));
    RETURN_IF_ERROR(ValidateSlaPolicy(given, "policy"));
    ASSIGN_OR_RETURN(const SlaPolicyBook book, SlaPolicyBook::Load(*sla_, {given.tenant}));
    SlaPolicy updated = book.Latest(given.tenant);
    if (targets) updated.targets = NormalizeSlaTargets(given.targets);
    if (business_hours) updated.business_hours = given.business_hours;
    updated.tenant = given.tenant;
    v1::SlaPolicy body;
    SlaPolicyToProto(updated, &body);
    body.clear_update_time();
    SlaPolicyRecord record;
    record.tenant = updated.tenant;
    record.update_time = TruncateToMicros(clock_.Now());
    record.body = body.SerializeAsString();
    ASSIGN_OR_RETURN(const SlaPolicyRecord stored, sla_->PutSlaPolicy(record));
    updated.update_time = stored.update_time;
    SlaPolicyToProto(updated, response);
    return absl::OkStatus();
  });
}

}  // namespace agentwatch::incident
