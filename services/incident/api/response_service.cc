// IncidentServiceImpl: the response-rule RPCs (CreateResponseRule,
// GetResponseRule, UpdateResponseRule, DeleteResponseRule,
// ListResponseRules). A rule is stored as its API message in a ConfigRecord
// of kind config_kind::kResponseRule; its refs are the notification channels
// its notify actions use, so such a channel cannot be deleted while a rule
// uses it. The rules run in the ResponseEngine.
#include <google/protobuf/util/field_mask_util.h>

#include <set>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "incident/api/incident_service.h"
#include "incident/api/proto_mapping.h"
#include "incident/api/response_mapping.h"
#include "incident/core/validation.h"
#include "incident/store/response_store.h"

namespace agentwatch::incident {
namespace {

using common::InvalidField;
using common::Role;
using google::protobuf::util::FieldMaskUtil;

// Same request_id and tenant: the same id, so a retried create finds the
// first rule.
std::string RuleIdFor(absl::string_view tenant, absl::string_view request_id) {
  return FormatUuid(
      Fnv1a64(absl::StrCat(config_kind::kResponseRule, "\n", tenant, "\n", request_id)),
      Fnv1a64(absl::StrCat(request_id, "\n", tenant, "\n", config_kind::kResponseRule)));
}

uint64_t RuleListDigest(absl::string_view tenant) {
  return Fnv1a64(absl::StrCat(config_kind::kResponseRule, "\n", tenant, "\n"));
}

std::string EncodeRuleToken(const ConfigCursor& c, uint64_t digest) {
  const std::string sep(1, '\0');
  return absl::WebSafeBase64Escape(
      absl::StrCat(c.priority, sep, c.name, sep, c.tenant, sep, c.id, sep, digest));
}

absl::StatusOr<ConfigCursor> DecodeRuleToken(absl::string_view token, uint64_t digest) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return InvalidField("page_token", "malformed");
  const std::vector<std::string> parts = absl::StrSplit(raw, '\0');
  ConfigCursor cursor;
  uint64_t token_digest = 0;
  if (parts.size() != 5 || !absl::SimpleAtoi(parts[0], &cursor.priority) ||
      !absl::SimpleAtoi(parts[4], &token_digest)) {
    return InvalidField("page_token", "malformed");
  }
  if (token_digest != digest) return InvalidField("page_token", "was issued for other filters");
  cursor.name = parts[1];
  cursor.tenant = parts[2];
  cursor.id = parts[3];
  return cursor;
}

// Applies the defaults to `message`, validates it and returns the record's
// index fields (name, refs). INVALID_ARGUMENT naming the field ("rule.…"),
// also for a notify action naming a channel unknown in the rule's tenant.
absl::StatusOr<ConfigRecord> IndexRule(IncidentStore& store, v1::ResponseRule* message) {
  ApplyResponseRuleDefaults(message);
  ASSIGN_OR_RETURN(const ResponseRule rule, ResponseRuleFromProto(*message, "rule"));
  RETURN_IF_ERROR(ValidateResponseRule(rule, "rule"));
  std::set<std::string> refs;
  for (size_t i = 0; i < rule.actions.size(); ++i) {
    for (size_t j = 0; j < rule.actions[i].channel_ids.size(); ++j) {
      const std::string& id = rule.actions[i].channel_ids[j];
      absl::StatusOr<ConfigRecord> channel = store.GetConfig(config_kind::kChannel, id);
      if (absl::IsNotFound(channel.status()) || (channel.ok() && channel->tenant != rule.tenant)) {
        return InvalidField(absl::StrCat("rule.actions[", i, "].notify.channel_ids[", j, "]"),
                            absl::StrCat("unknown channel ", id, " in tenant ", rule.tenant));
      }
      if (!channel.ok()) return channel.status();
      refs.insert(id);
    }
  }
  ConfigRecord record;
  record.tenant = rule.tenant;
  record.kind = std::string(config_kind::kResponseRule);
  record.name = rule.name;
  record.refs.assign(refs.begin(), refs.end());
  return record;
}

}  // namespace

grpc::ServerUnaryReactor* IncidentServiceImpl::CreateResponseRule(
    grpc::CallbackServerContext* context, const v1::CreateResponseRuleRequest* request,
    v1::ResponseRule* response) {
  return rpc_.Unary(context, Role::kAdmin, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateOptional(request->request_id(), "request_id", kMaxRequestIdBytes));
    const absl::Time now = TruncateToMicros(clock_.Now());
    v1::ResponseRule message = request->rule();
    message.set_id(request->request_id().empty()
                       ? config_ids_.NewId(now)
                       : RuleIdFor(message.tenant(), request->request_id()));
    TimeToProto(now, message.mutable_create_time());
    TimeToProto(now, message.mutable_update_time());
    ASSIGN_OR_RETURN(ConfigRecord record, IndexRule(store_, &message));
    record.id = message.id();
    record.body = message.SerializeAsString();
    record.create_time = now;
    record.update_time = now;
    ASSIGN_OR_RETURN(const ConfigRecord stored, store_.CreateConfig(record));
    ASSIGN_OR_RETURN(*response, ResponseRuleMessage(stored));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::GetResponseRule(
    grpc::CallbackServerContext* context, const v1::GetResponseRuleRequest* request,
    v1::ResponseRule* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateRequired(request->id(), "id", kMaxIdBytes));
    ASSIGN_OR_RETURN(const ConfigRecord stored,
                     store_.GetConfig(config_kind::kResponseRule, request->id()));
    ASSIGN_OR_RETURN(*response, ResponseRuleMessage(stored));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::UpdateResponseRule(
    grpc::CallbackServerContext* context, const v1::UpdateResponseRuleRequest* request,
    v1::ResponseRule* response) {
  return rpc_.Unary(context, Role::kAdmin, [this, request, response]() -> absl::Status {
    const v1::ResponseRule& in = request->rule();
    const google::protobuf::FieldMask& mask = request->update_mask();
    RETURN_IF_ERROR(ValidateRequired(in.id(), "rule.id", kMaxIdBytes));
    if (!FieldMaskUtil::IsValidFieldMask<v1::ResponseRule>(mask)) {
      return InvalidField("update_mask", "names a field the message does not have");
    }
    for (const std::string& path : mask.paths()) {
      if (path == "id" || path == "tenant" || path == "create_time" || path == "update_time") {
        return InvalidField("update_mask", absl::StrCat("\"", path, "\" is read-only"));
      }
    }
    ASSIGN_OR_RETURN(const ConfigRecord current_record,
                     store_.GetConfig(config_kind::kResponseRule, in.id()));
    ASSIGN_OR_RETURN(const v1::ResponseRule current, ResponseRuleMessage(current_record));
    v1::ResponseRule merged;
    if (mask.paths().empty()) {
      merged = in;
    } else {
      merged = current;
      FieldMaskUtil::MergeOptions options;
      options.set_replace_message_fields(true);
      options.set_replace_repeated_fields(true);
      FieldMaskUtil::MergeMessageTo(in, mask, options, &merged);
      // A masked-out cooldown keeps the stored one; a masked-in but unset
      // cooldown takes the default again.
    }
    const absl::Time now = std::max(TruncateToMicros(clock_.Now()),
                                    current_record.update_time + absl::Microseconds(1));
    merged.set_id(current.id());
    merged.set_tenant(current.tenant());
    *merged.mutable_create_time() = current.create_time();
    TimeToProto(now, merged.mutable_update_time());
    ASSIGN_OR_RETURN(ConfigRecord record, IndexRule(store_, &merged));
    record.id = current_record.id;
    record.body = merged.SerializeAsString();
    record.create_time = current_record.create_time;
    record.update_time = now;
    ASSIGN_OR_RETURN(const ConfigRecord stored,
                     store_.UpdateConfig(record, current_record.update_time));
    ASSIGN_OR_RETURN(*response, ResponseRuleMessage(stored));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::DeleteResponseRule(
    grpc::CallbackServerContext* context, const v1::DeleteResponseRuleRequest* request,
    google::protobuf::Empty* /*response*/) {
  return rpc_.Unary(context, Role::kAdmin, [this, request]() -> absl::Status {
    RETURN_IF_ERROR(ValidateRequired(request->id(), "id", kMaxIdBytes));
    return store_.DeleteConfig(config_kind::kResponseRule, request->id());
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::ListResponseRules(
    grpc::CallbackServerContext* context, const v1::ListResponseRulesRequest* request,
    v1::ListResponseRulesResponse* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateOptional(request->tenant(), "tenant", kMaxTenantBytes));
    ConfigQuery query;
    query.kind = std::string(config_kind::kResponseRule);
    query.tenant = request->tenant();
    ASSIGN_OR_RETURN(query.page_size, NormalizePageSize(request->page_size()));
    const uint64_t digest = RuleListDigest(request->tenant());
    if (!request->page_token().empty()) {
      ASSIGN_OR_RETURN(query.after, DecodeRuleToken(request->page_token(), digest));
    }
    ASSIGN_OR_RETURN(const ConfigPage page, store_.ListConfigs(query));
    for (const ConfigRecord& record : page.records) {
      ASSIGN_OR_RETURN(*response->add_rules(), ResponseRuleMessage(record));
    }
    if (page.next.has_value()) {
      response->set_next_page_token(EncodeRuleToken(*page.next, digest));
    }
    return absl::OkStatus();
  });
}

}  // namespace agentwatch::incident
