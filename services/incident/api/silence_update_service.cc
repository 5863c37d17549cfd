// IncidentServiceImpl::UpdateSilence: a field-masked edit of a silence,
// validated like CreateSilence (core ApplySilenceUpdate states the rules).
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "incident/api/incident_service.h"
#include "incident/api/proto_mapping.h"
#include "incident/core/silence.h"
#include "incident/core/validation.h"

namespace agentwatch::incident {
namespace {

using common::InvalidField;
using common::Role;

// The core mask of an UpdateSilence field mask: an empty mask selects every
// writable field; read-only or unknown paths are INVALID_ARGUMENT
// "update_mask".
absl::StatusOr<SilenceUpdateMask> MaskFromProto(const google::protobuf::FieldMask& mask) {
  if (mask.paths().empty()) return SilenceUpdateMask::All();
  SilenceUpdateMask out;
  for (const std::string& path : mask.paths()) {
    if (path == "matchers") {
      out.matchers = true;
    } else if (path == "starts_at") {
      out.starts_at = true;
    } else if (path == "ends_at") {
      out.ends_at = true;
    } else if (path == "author") {
      out.author = true;
    } else if (path == "comment") {
      out.comment = true;
    } else if (path == "recurrence") {
      out.recurrence = true;
    } else if (path == "id" || path == "tenant" || path == "state" || path == "create_time" ||
               path == "update_time") {
      return InvalidField("update_mask", absl::StrCat("\"", path, "\" is read-only"));
    } else {
      return InvalidField("update_mask", absl::StrCat("unknown field \"", path, "\""));
    }
  }
  return out;
}

}  // namespace

grpc::ServerUnaryReactor* IncidentServiceImpl::UpdateSilence(
    grpc::CallbackServerContext* context, const v1::UpdateSilenceRequest* request,
    v1::Silence* response) {
  return rpc_.Unary(context, Role::kOperator, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateRequired(request->silence().id(), "silence.id", kMaxIdBytes));
    ASSIGN_OR_RETURN(const SilenceUpdateMask mask, MaskFromProto(request->update_mask()));
    const absl::Time now = TruncateToMicros(clock_.Now());
    ASSIGN_OR_RETURN(const Silence patch, SilenceFromProto(request->silence(), "silence", now));
    ASSIGN_OR_RETURN(const Silence stored,
                     store_.UpdateSilence(request->silence().id(),
                                          [&](const Silence& current) -> absl::StatusOr<Silence> {
                                            return ApplySilenceUpdate(current, patch, mask, now,
                                                                      "silence");
                                          }));
    SilenceToProto(stored, now, response);
    return absl::OkStatus();
  });
}

}  // namespace agentwatch::incident
