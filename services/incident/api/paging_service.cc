// IncidentServiceImpl: the paging RPCs (escalation policies, on-call
// schedules, notification channels). Each configuration object is stored as
// its API message in a ConfigRecord, with the fields queries need indexed.
#include <google/protobuf/util/field_mask_util.h>

#include <functional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "incident/api/escalation_engine.h"
#include "incident/api/incident_service.h"
#include "incident/api/paging_mapping.h"
#include "incident/api/proto_mapping.h"
#include "incident/core/validation.h"

namespace agentwatch::incident {
namespace {

using common::InvalidField;
using common::Role;
using google::protobuf::util::FieldMaskUtil;

// How one kind of configuration is checked and indexed.
template <typename Msg>
struct ConfigKind {
  absl::string_view kind;
  absl::string_view field;  // "policy", "schedule", "channel"
  // Applies defaults to the message (ids of new sub-objects at `now`),
  // validates it and returns the record's index fields (name, person,
  // priority, refs). INVALID_ARGUMENT naming the field.
  std::function<absl::StatusOr<ConfigRecord>(Msg*, absl::Time now)> index;
};

// Same request_id, same tenant and kind: the same id, so a retried create
// finds the first one.
std::string ConfigIdFor(absl::string_view kind, absl::string_view tenant,
                        absl::string_view request_id) {
  return FormatUuid(Fnv1a64(absl::StrCat(kind, "\n", tenant, "\n", request_id)),
                    Fnv1a64(absl::StrCat(request_id, "\n", tenant, "\n", kind)));
}

uint64_t ListDigest(absl::string_view kind, absl::string_view tenant, absl::string_view person) {
  return Fnv1a64(absl::StrCat(kind, "\n", tenant, "\n", person));
}

std::string EncodeConfigToken(const ConfigCursor& c, uint64_t digest) {
  std::string raw =
      absl::StrCat(c.priority, std::string(1, '\0'), c.name, std::string(1, '\0'), c.tenant,
                   std::string(1, '\0'), c.id, std::string(1, '\0'), digest);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<ConfigCursor> DecodeConfigToken(absl::string_view token, uint64_t digest) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) {
    return InvalidField("page_token", "malformed");
  }
  const std::vector<std::string> parts = absl::StrSplit(raw, '\0');
  ConfigCursor cursor;
  uint64_t token_digest = 0;
  if (parts.size() != 5 || !absl::SimpleAtoi(parts[0], &cursor.priority) ||
      !absl::SimpleAtoi(parts[4], &token_digest)) {
    return InvalidField("page_token", "malformed");
  }
  if (token_digest != digest) {
    return InvalidField("page_token", "was issued for other filters");
  }
  cursor.name = parts[1];
  cursor.tenant = parts[2];
  cursor.id = parts[3];
  return cursor;
}

template <typename Msg>
absl::StatusOr<Msg> ParseStored(const ConfigRecord& record) {
  Msg message;
  if (!message.ParseFromString(record.body)) {
    return absl::InternalError(absl::StrCat(record.kind, " ", record.id, " is unreadable"));
  }
  return message;
}

template <typename Msg>
absl::Status CreateConfigT(IncidentStore& store, absl::Time now, IdGenerator& ids,
                           const ConfigKind<Msg>& kind, const Msg& in,
                           const std::string& request_id, Msg* out) {
  RETURN_IF_ERROR(ValidateOptional(request_id, "request_id", kMaxRequestIdBytes));
  now = TruncateToMicros(now);
  Msg message = in;
  message.set_id(request_id.empty() ? ids.NewId(now)
                                    : ConfigIdFor(kind.kind, message.tenant(), request_id));
  TimeToProto(now, message.mutable_create_time());
  TimeToProto(now, message.mutable_update_time());
  ASSIGN_OR_RETURN(ConfigRecord record, kind.index(&message, now));
  record.tenant = message.tenant();
  record.kind = std::string(kind.kind);
  record.id = message.id();
  record.body = message.SerializeAsString();
  record.create_time = now;
  record.update_time = now;
  ASSIGN_OR_RETURN(const ConfigRecord stored, store.CreateConfig(record));
  ASSIGN_OR_RETURN(*out, ParseStored<Msg>(stored));
  return absl::OkStatus();
}

template <typename Msg>
absl::Status GetConfigT(IncidentStore& store, const ConfigKind<Msg>& kind, const std::string& id,
                        Msg* out) {
  RETURN_IF_ERROR(ValidateRequired(id, "id", kMaxIdBytes));
  ASSIGN_OR_RETURN(const ConfigRecord stored, store.GetConfig(kind.kind, id));
  ASSIGN_OR_RETURN(*out, ParseStored<Msg>(stored));
  return absl::OkStatus();
}

template <typename Msg>
absl::Status UpdateConfigT(IncidentStore& store, absl::Time now, const ConfigKind<Msg>& kind,
                           const Msg& in, const google::protobuf::FieldMask& mask, Msg* out) {
  const std::string id_field = absl::StrCat(kind.field, ".id");
  RETURN_IF_ERROR(ValidateRequired(in.id(), id_field, kMaxIdBytes));
  if (!FieldMaskUtil::IsValidFieldMask<Msg>(mask)) {
    return InvalidField("update_mask", "names a field the message does not have");
  }
  for (const std::string& path : mask.paths()) {
    if (path == "id" || path == "tenant" || path == "create_time" || path == "update_time") {
      return InvalidField("update_mask", absl::StrCat("\"", path, "\" is read-only"));
    }
  }
  ASSIGN_OR_RETURN(const ConfigRecord current_record, store.GetConfig(kind.kind, in.id()));
  ASSIGN_OR_RETURN(const Msg current, ParseStored<Msg>(current_record));
  Msg merged;
  if (mask.paths().empty()) {
    merged = in;
  } else {
    merged = current;
    FieldMaskUtil::MergeOptions options;
    options.set_replace_message_fields(true);
    options.set_replace_repeated_fields(true);
    FieldMaskUtil::MergeMessageTo(in, mask, options, &merged);
  }
  now = std::max(TruncateToMicros(now), current_record.update_time + absl::Microseconds(1));
  merged.set_id(current.id());
  merged.set_tenant(current.tenant());
  *merged.mutable_create_time() = current.create_time();
  TimeToProto(now, merged.mutable_update_time());
  ASSIGN_OR_RETURN(ConfigRecord record, kind.index(&merged, now));
  record.tenant = current_record.tenant;
  record.kind = std::string(kind.kind);
  record.id = current_record.id;
  record.body = merged.SerializeAsString();
  record.create_time = current_record.create_time;
  record.update_time = now;
  ASSIGN_OR_RETURN(const ConfigRecord stored,
                   store.UpdateConfig(record, current_record.update_time));
  ASSIGN_OR_RETURN(*out, ParseStored<Msg>(stored));
  return absl::OkStatus();
}

// Fills a List response through `add`.
template <typename Msg>
absl::Status ListConfigsT(IncidentStore& store, const ConfigKind<Msg>& kind,
                          const std::string& tenant, const std::string& person, int32_t page_size,
                          const std::string& page_token, const std::function<Msg*()>& add,
                          std::string* next_token) {
  RETURN_IF_ERROR(ValidateOptional(tenant, "tenant", kMaxTenantBytes));
  ConfigQuery query;
  query.kind = std::string(kind.kind);
  query.tenant = tenant;
  query.person = person;
  ASSIGN_OR_RETURN(query.page_size, NormalizePageSize(page_size));
  const uint64_t digest = ListDigest(kind.kind, tenant, person);
  if (!page_token.empty()) {
    ASSIGN_OR_RETURN(query.after, DecodeConfigToken(page_token, digest));
  }
  ASSIGN_OR_RETURN(const ConfigPage page, store.ListConfigs(query));
  for (const ConfigRecord& record : page.records) {
    ASSIGN_OR_RETURN(*add(), ParseStored<Msg>(record));
  }
  if (page.next.has_value()) *next_token = EncodeConfigToken(*page.next, digest);
  return absl::OkStatus();
}

// The ConfigKind of escalation policies: references to schedules and
// channels must exist in the policy's tenant.
ConfigKind<v1::EscalationPolicy> PolicyKind(IncidentStore& store) {
  return {config_kind::kEscalationPolicy, "policy",
          [&store](v1::EscalationPolicy* p, absl::Time) -> absl::StatusOr<ConfigRecord> {
            ASSIGN_OR_RETURN(const EscalationPolicy policy, PolicyFromProto(*p, "policy"));
            RETURN_IF_ERROR(ValidateEscalationPolicy(policy, "policy"));
            ConfigRecord record;
            record.name = policy.name;
            record.priority = policy.priority;
            std::set<std::string> refs;
            for (size_t i = 0; i < policy.tiers.size(); ++i) {
              for (size_t j = 0; j < policy.tiers[i].targets.size(); ++j) {
                const EscalationTarget& target = policy.tiers[i].targets[j];
                absl::string_view kind;
                absl::string_view sub;
                if (target.kind == EscalationTarget::Kind::kSchedule) {
                  kind = config_kind::kSchedule;
                  sub = "schedule_id";
                } else if (target.kind == EscalationTarget::Kind::kChannel) {
                  kind = config_kind::kChannel;
                  sub = "channel_id";
                } else {
                  continue;
                }
                absl::StatusOr<ConfigRecord> ref = store.GetConfig(kind, target.value);
                if (absl::IsNotFound(ref.status()) || (ref.ok() && ref->tenant != policy.tenant)) {
                  return InvalidField(
                      absl::StrCat("policy.tiers[", i, "].targets[", j, "].", sub),
                      absl::StrCat("unknown ",
                                   kind == config_kind::kSchedule ? "schedule " : "channel ",
                                   target.value, " in tenant ", policy.tenant));
                }
                if (!ref.ok()) return ref.status();
                refs.insert(target.value);
              }
            }
            record.refs.assign(refs.begin(), refs.end());
            return record;
          }};
}

ConfigKind<v1::Schedule> ScheduleKind(IdGenerator& ids) {
  return {config_kind::kSchedule, "schedule",
          [&ids](v1::Schedule* s, absl::Time now) -> absl::StatusOr<ConfigRecord> {
            for (v1::ScheduleOverride& o : *s->mutable_overrides()) {
              if (o.id().empty()) o.set_id(ids.NewId(now));
            }
            ASSIGN_OR_RETURN(const Schedule schedule, ScheduleFromProto(*s, "schedule"));
            RETURN_IF_ERROR(ValidateSchedule(schedule, "schedule"));
            ConfigRecord record;
            record.name = schedule.name;
            return record;
          }};
}

ConfigKind<v1::NotificationChannel> ChannelKindSpec() {
  return {config_kind::kChannel, "channel",
          [](v1::NotificationChannel* c, absl::Time) -> absl::StatusOr<ConfigRecord> {
            ApplyChannelDefaults(c);
            ASSIGN_OR_RETURN(const NotificationChannel channel, ChannelFromProto(*c, "channel"));
            RETURN_IF_ERROR(ValidateChannel(channel, "channel"));
            ConfigRecord record;
            record.name = channel.name;
            record.person = channel.person;
            return record;
          }};
}

}  // namespace

// --- Escalation policies ---------------------------------------------------

grpc::ServerUnaryReactor* IncidentServiceImpl::CreateEscalationPolicy(
    grpc::CallbackServerContext* context, const v1::CreateEscalationPolicyRequest* request,
    v1::EscalationPolicy* response) {
  return rpc_.Unary(context, Role::kAdmin, [this, request, response]() -> absl::Status {
    return CreateConfigT(store_, clock_.Now(), config_ids_, PolicyKind(store_), request->policy(),
                         request->request_id(), response);
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::GetEscalationPolicy(
    grpc::CallbackServerContext* context, const v1::GetEscalationPolicyRequest* request,
    v1::EscalationPolicy* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    return GetConfigT(store_, PolicyKind(store_), request->id(), response);
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::UpdateEscalationPolicy(
    grpc::CallbackServerContext* context, const v1::UpdateEscalationPolicyRequest* request,
    v1::EscalationPolicy* response) {
  return rpc_.Unary(context, Role::kAdmin, [this, request, response]() -> absl::Status {
    return UpdateConfigT(store_, clock_.Now(), PolicyKind(store_), request->policy(),
                         request->update_mask(), response);
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::DeleteEscalationPolicy(
    grpc::CallbackServerContext* context, const v1::DeleteEscalationPolicyRequest* request,
    google::protobuf::Empty* /*response*/) {
  return rpc_.Unary(context, Role::kAdmin, [this, request]() -> absl::Status {
    RETURN_IF_ERROR(ValidateRequired(request->id(), "id", kMaxIdBytes));
    return store_.DeleteConfig(config_kind::kEscalationPolicy, request->id());
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::ListEscalationPolicies(
    grpc::CallbackServerContext* context, const v1::ListEscalationPoliciesRequest* request,
    v1::ListEscalationPoliciesResponse* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    return ListConfigsT<v1::EscalationPolicy>(
        store_, PolicyKind(store_), request->tenant(), "", request->page_size(),
        request->page_token(), [response] { return response->add_policies(); },
        response->mutable_next_page_token());
  });
}

// --- Schedules -------------------------------------------------------------

grpc::ServerUnaryReactor* IncidentServiceImpl::CreateSchedule(
    grpc::CallbackServerContext* context, const v1::CreateScheduleRequest* request,
    v1::Schedule* response) {
  return rpc_.Unary(context, Role::kAdmin, [this, request, response]() -> absl::Status {
    return CreateConfigT(store_, clock_.Now(), config_ids_, ScheduleKind(config_ids_),
                         request->schedule(), request->request_id(), response);
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::GetSchedule(grpc::CallbackServerContext* context,
                                                           const v1::GetScheduleRequest* request,
                                                           v1::Schedule* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    return GetConfigT(store_, ScheduleKind(config_ids_), request->id(), response);
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::UpdateSchedule(
    grpc::CallbackServerContext* context, const v1::UpdateScheduleRequest* request,
    v1::Schedule* response) {
  return rpc_.Unary(context, Role::kAdmin, [this, request, response]() -> absl::Status {
    return UpdateConfigT(store_, clock_.Now(), ScheduleKind(config_ids_), request->schedule(),
                         request->update_mask(), response);
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::DeleteSchedule(
    grpc::CallbackServerContext* context, const v1::DeleteScheduleRequest* request,
    google::protobuf::Empty* /*response*/) {
  return rpc_.Unary(context, Role::kAdmin, [this, request]() -> absl::Status {
    RETURN_IF_ERROR(ValidateRequired(request->id(), "id", kMaxIdBytes));
    return store_.DeleteConfig(config_kind::kSchedule, request->id());
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::ListSchedules(
    grpc::CallbackServerContext* context, const v1::ListSchedulesRequest* request,
    v1::ListSchedulesResponse* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    return ListConfigsT<v1::Schedule>(
        store_, ScheduleKind(config_ids_), request->tenant(), "", request->page_size(),
        request->page_token(), [response] { return response->add_schedules(); },
        response->mutable_next_page_token());
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::GetOnCall(grpc::CallbackServerContext* context,
                                                         const v1::GetOnCallRequest* request,
                                                         v1::GetOnCallResponse* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateRequired(request->schedule_id(), "schedule_id", kMaxIdBytes));
    // The request is checked whole before the schedule is looked up: a bad
    // range or time is INVALID_ARGUMENT whether the schedule exists or not.
    absl::Time start;
    absl::Time end;
    if (request->has_range()) {
      const common::v1::TimeRange& range = request->range();
      if (!range.has_start() || !range.has_end()) {
        return InvalidField("range", "start and end required");
      }
      ASSIGN_OR_RETURN(start, TimeFromProto(range.start(), "range.start"));
      ASSIGN_OR_RETURN(end, TimeFromProto(range.end(), "range.end"));
      RETURN_IF_ERROR(ValidateOnCallRange(start, end));
    }
    absl::Time at = clock_.Now();
    if (request->has_time()) {
      ASSIGN_OR_RETURN(at, TimeFromProto(request->time(), "time"));
    }
    ASSIGN_OR_RETURN(const ConfigRecord record,
                     store_.GetConfig(config_kind::kSchedule, request->schedule_id()));
    ASSIGN_OR_RETURN(const Schedule schedule, ScheduleFromRecord(record));
    if (request->has_range()) {
      ASSIGN_OR_RETURN(const std::vector<OnCallShift> shifts, ShiftsBetween(schedule, start, end));
      for (const OnCallShift& shift : shifts) ShiftToProto(shift, response->add_shifts());
      return absl::OkStatus();
    }
    if (std::optional<OnCallShift> shift = OnCallAt(schedule, at)) {
      ShiftToProto(*shift, response->add_shifts());
    }
    return absl::OkStatus();
  });
}

// --- Notification channels -------------------------------------------------

grpc::ServerUnaryReactor* IncidentServiceImpl::CreateNotificationChannel(
    grpc::CallbackServerContext* context, const v1::CreateNotificationChannelRequest* request,
    v1::NotificationChannel* response) {
  return rpc_.Unary(context, Role::kAdmin, [this, request, response]() -> absl::Status {
    return CreateConfigT(store_, clock_.Now(), config_ids_, ChannelKindSpec(), request->channel(),
                         request->request_id(), response);
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::GetNotificationChannel(
    grpc::CallbackServerContext* context, const v1::GetNotificationChannelRequest* request,
    v1::NotificationChannel* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    return GetConfigT(store_, ChannelKindSpec(), request->id(), response);
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::UpdateNotificationChannel(
    grpc::CallbackServerContext* context, const v1::UpdateNotificationChannelRequest* request,
    v1::NotificationChannel* response) {
  return rpc_.Unary(context, Role::kAdmin, [this, request, response]() -> absl::Status {
    return UpdateConfigT(store_, clock_.Now(), ChannelKindSpec(), request->channel(),
                         request->update_mask(), response);
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::DeleteNotificationChannel(
    grpc::CallbackServerContext* context, const v1::DeleteNotificationChannelRequest* request,
    google::protobuf::Empty* /*response*/) {
  return rpc_.Unary(context, Role::kAdmin, [this, request]() -> absl::Status {
    RETURN_IF_ERROR(ValidateRequired(request->id(), "id", kMaxIdBytes));
    return store_.DeleteConfig(config_kind::kChannel, request->id());
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::ListNotificationChannels(
    grpc::CallbackServerContext* context, const v1::ListNotificationChannelsRequest* request,
    v1::ListNotificationChannelsResponse* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateOptional(request->person(), "person", kMaxActorBytes));
    return ListConfigsT<v1::NotificationChannel>(
        store_, ChannelKindSpec(), request->tenant(), request->person(), request->page_size(),
        request->page_token(), [response] { return response->add_channels(); },
        response->mutable_next_page_token());
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::TestNotificationChannel(
    grpc::CallbackServerContext* context, const v1::TestNotificationChannelRequest* request,
    v1::TestNotificationChannelResponse* response) {
  return rpc_.Unary(context, Role::kOperator, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateRequired(request->id(), "id", kMaxIdBytes));
    ASSIGN_OR_RETURN(const ConfigRecord record,
                     store_.GetConfig(config_kind::kChannel, request->id()));
    ASSIGN_OR_RETURN(const NotificationChannel channel, ChannelFromRecord(record));
    if (notifier_ == nullptr) {
      return absl::FailedPreconditionError("this server has no notifier configured");
    }
    const absl::Time now = TruncateToMicros(clock_.Now());
    NotificationEvent event;
    event.tenant = channel.tenant;
    event.incident_id = "test";
    event.title = absl::StrCat("Test notification for channel ", channel.name);
    event.severity = Severity::kP3;
    event.status = IncidentStatus::kTriggered;
    event.event = "test";
    event.person = channel.person;
    event.channel_id = channel.id;
    event.idempotency_key = absl::StrCat("test/", channel.id, "/", absl::ToUnixMicros(now));
    event.time = now;
    const SendResult result = notifier_->Send(channel, event);
    response->set_delivered(result.status.ok());
    response->set_detail(result.detail.empty() ? std::string(result.status.message())
                                               : result.detail);
    return absl::OkStatus();
  });
}

}  // namespace agentwatch::incident
