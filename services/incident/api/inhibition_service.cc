// IncidentServiceImpl: the inhibition-rule RPCs.
#include <google/protobuf/util/field_mask_util.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "incident/api/incident_service.h"
#include "incident/api/proto_mapping.h"
#include "incident/core/validation.h"

namespace agentwatch::incident {
namespace {

using common::InvalidField;
using common::Role;
using google::protobuf::util::FieldMaskUtil;

std::vector<LabelMatcher> Matchers(
    const google::protobuf::RepeatedPtrField<common::v1::LabelMatcher>& matchers) {
  std::vector<LabelMatcher> out;
  for (const common::v1::LabelMatcher& m : matchers) {
    out.push_back(LabelMatcher{m.name(), static_cast<MatchOp>(m.op()), m.value()});
  }
  return out;
}

void MatchersToProto(const std::vector<LabelMatcher>& matchers,
                     google::protobuf::RepeatedPtrField<common::v1::LabelMatcher>* out) {
  for (const LabelMatcher& m : matchers) {
    common::v1::LabelMatcher* matcher = out->Add();
    matcher->set_name(m.name);
    matcher->set_op(static_cast<common::v1::MatchOp>(m.op));
    matcher->set_value(m.value);
  }
}

InhibitionRule RuleFromProto(const v1::InhibitionRule& in) {
  InhibitionRule rule;
  rule.id = in.id();
  rule.name = in.name();
  rule.tenant = in.tenant();
  rule.source_matchers = Matchers(in.source_matchers());
  rule.target_matchers = Matchers(in.target_matchers());
  rule.equal.assign(in.equal().begin(), in.equal().end());
  return rule;
}

void RuleToProto(const InhibitionRule& rule, v1::InhibitionRule* out) {
  out->set_id(rule.id);
  out->set_name(rule.name);
  out->set_tenant(rule.tenant);
  MatchersToProto(rule.source_matchers, out->mutable_source_matchers());
  MatchersToProto(rule.target_matchers, out->mutable_target_matchers());
  for (const std::string& label : rule.equal) out->add_equal(label);
  TimeToProto(rule.create_time, out->mutable_create_time());
  TimeToProto(rule.update_time, out->mutable_update_time());
}

// A retried create (same tenant and request_id) gets the same id.
std::string RuleIdFor(absl::string_view tenant, absl::string_view request_id) {
  return FormatUuid(Fnv1a64(absl::StrCat("inhibition\n", tenant, "\n", request_id)),
                    Fnv1a64(absl::StrCat(request_id, "\n", tenant, "\ninhibition")));
}

}  // namespace

grpc::ServerUnaryReactor* IncidentServiceImpl::CreateInhibitionRule(
    grpc::CallbackServerContext* context, const v1::CreateInhibitionRuleRequest* request,
    v1::InhibitionRule* response) {
  return rpc_.Unary(context, Role::kOperator, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateOptional(request->request_id(), "request_id", kMaxRequestIdBytes));
    const absl::Time now = TruncateToMicros(clock_.Now());
    InhibitionRule rule = RuleFromProto(request->rule());
    RETURN_IF_ERROR(ValidateInhibitionRule(rule, "rule"));
    rule.id = request->request_id().empty() ? config_ids_.NewId(now)
                                            : RuleIdFor(rule.tenant, request->request_id());
    rule.create_time = now;
    rule.update_time = now;
    ASSIGN_OR_RETURN(const InhibitionRule stored, store_.CreateInhibitionRule(rule));
    RuleToProto(stored, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::GetInhibitionRule(
    grpc::CallbackServerContext* context, const v1::GetInhibitionRuleRequest* request,
    v1::InhibitionRule* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateRequired(request->id(), "id", kMaxIdBytes));
    ASSIGN_OR_RETURN(const InhibitionRule rule, store_.GetInhibitionRule(request->id()));
    RuleToProto(rule, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::UpdateInhibitionRule(
    grpc::CallbackServerContext* context, const v1::UpdateInhibitionRuleRequest* request,
    v1::InhibitionRule* response) {
  return rpc_.Unary(context, Role::kOperator, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateRequired(request->rule().id(), "rule.id", kMaxIdBytes));
    const google::protobuf::FieldMask& mask = request->update_mask();
    if (!FieldMaskUtil::IsValidFieldMask<v1::InhibitionRule>(mask)) {
      return InvalidField("update_mask", "names a field the message does not have");
    }
    for (const std::string& path : mask.paths()) {
      if (path == "id" || path == "tenant" || path == "create_time" || path == "update_time") {
        return InvalidField("update_mask", absl::StrCat("\"", path, "\" is read-only"));
      }
    }
    ASSIGN_OR_RETURN(const InhibitionRule current, store_.GetInhibitionRule(request->rule().id()));
    v1::InhibitionRule merged;
    if (mask.paths().empty()) {
      merged = request->rule();
    } else {
      RuleToProto(current, &merged);
      FieldMaskUtil::MergeOptions options;
      options.set_replace_repeated_fields(true);
      FieldMaskUtil::MergeMessageTo(request->rule(), mask, options, &merged);
    }
    InhibitionRule rule = RuleFromProto(merged);
    rule.id = current.id;
    rule.tenant = current.tenant;
    RETURN_IF_ERROR(ValidateInhibitionRule(rule, "rule"));
    rule.create_time = current.create_time;
    rule.update_time =
        std::max(TruncateToMicros(clock_.Now()), current.update_time + absl::Microseconds(1));
    ASSIGN_OR_RETURN(const InhibitionRule stored, store_.UpdateInhibitionRule(rule));
    RuleToProto(stored, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::DeleteInhibitionRule(
    grpc::CallbackServerContext* context, const v1::DeleteInhibitionRuleRequest* request,
    google::protobuf::Empty* /*response*/) {
  return rpc_.Unary(context, Role::kOperator, [this, request]() -> absl::Status {
    RETURN_IF_ERROR(ValidateRequired(request->id(), "id", kMaxIdBytes));
    return store_.DeleteInhibitionRule(request->id());
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::ListInhibitionRules(
    grpc::CallbackServerContext* context, const v1::ListInhibitionRulesRequest* request,
    v1::ListInhibitionRulesResponse* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(ValidateOptional(request->tenant(), "tenant", kMaxTenantBytes));
    InhibitionRuleQuery query;
    query.tenant = request->tenant();
    ASSIGN_OR_RETURN(query.page_size, NormalizePageSize(request->page_size()));
    const uint64_t digest = Fnv1a64(absl::StrCat("inhibition\n", request->tenant()));
    if (!request->page_token().empty()) {
      ASSIGN_OR_RETURN(query.after, DecodePageToken(request->page_token(), digest));
    }
    ASSIGN_OR_RETURN(const InhibitionRulePage page, store_.ListInhibitionRules(query));
    for (const InhibitionRule& rule : page.rules) RuleToProto(rule, response->add_rules());
    if (page.next) response->set_next_page_token(EncodePageToken(*page.next, digest));
    return absl::OkStatus();
  });
}

}  // namespace agentwatch::incident
