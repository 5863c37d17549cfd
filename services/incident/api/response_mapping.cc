#include "incident/api/response_mapping.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "incident/api/paging_mapping.h"

namespace agentwatch::incident {

void ApplyResponseRuleDefaults(v1::ResponseRule* rule) {
  if (!rule->has_cooldown()) DurationToProto(kDefaultResponseCooldown, rule->mutable_cooldown());
  for (v1::ResponseAction& action : *rule->mutable_actions()) {
    if (action.has_webhook() && !action.webhook().has_timeout()) {
      DurationToProto(kDefaultResponseWebhookTimeout, action.mutable_webhook()->mutable_timeout());
    }
  }
}

absl::StatusOr<ResponseRule> ResponseRuleFromProto(const v1::ResponseRule& in,
                                                   absl::string_view field) {
  ResponseRule rule;
  rule.id = in.id();
  rule.name = in.name();
  rule.tenant = in.tenant();
  const v1::ResponseCondition& c = in.condition();
  rule.condition.alert_names.assign(c.alert_names().begin(), c.alert_names().end());
  for (const common::v1::LabelMatcher& m : c.matchers()) {
    rule.condition.matchers.push_back(
        LabelMatcher{m.name(), static_cast<MatchOp>(m.op()), m.value()});
  }
  for (int s : c.severities()) rule.condition.severities.push_back(static_cast<Severity>(s));
  for (int i = 0; i < in.actions_size(); ++i) {
    const v1::ResponseAction& a = in.actions(i);
    const std::string at = absl::StrCat(field, ".actions[", i, "]");
    ResponseAction action;
    action.continue_on_error = a.continue_on_error();
    switch (a.action_case()) {
      case v1::ResponseAction::kWebhook:
        action.kind = ResponseActionKind::kWebhook;
        action.url = a.webhook().url();
        action.hmac_secret_ref = a.webhook().hmac_secret_ref();
        action.headers = Labels(a.webhook().headers().begin(), a.webhook().headers().end());
        if (a.webhook().has_timeout()) {
          ASSIGN_OR_RETURN(action.timeout, DurationFromProto(a.webhook().timeout(),
                                                             absl::StrCat(at, ".webhook.timeout")));
        }
        break;
      case v1::ResponseAction::kCapacityRecommendation:
        action.kind = ResponseActionKind::kCapacityRecommendation;
        action.resource_id = a.capacity_recommendation().resource_id();
        break;
      case v1::ResponseAction::kNotify:
        action.kind = ResponseActionKind::kNotify;
        action.channel_ids.assign(a.notify().channel_ids().begin(), a.notify().channel_ids().end());
        break;
      case v1::ResponseAction::kEscalate:
        action.kind = ResponseActionKind::kEscalate;
        break;
      case v1::ResponseAction::kAddNote:
        action.kind = ResponseActionKind::kAddNote;
        action.text = a.add_note().text();
        break;
      case v1::ResponseAction::ACTION_NOT_SET:
        break;
    }
    rule.actions.push_back(std::move(action));
  }
  if (in.has_cooldown()) {
    ASSIGN_OR_RETURN(rule.cooldown,
                     DurationFromProto(in.cooldown(), absl::StrCat(field, ".cooldown")));
  }
  rule.max_per_hour = in.max_per_hour();
  rule.disabled = in.disabled();
  return rule;
}

absl::StatusOr<v1::ResponseRule> ResponseRuleMessage(const ConfigRecord& record) {
  v1::ResponseRule message;
  if (!message.ParseFromString(record.body)) {
    return absl::InternalError(absl::StrCat("response rule ", record.id, " is unreadable"));
  }
  return message;
}

absl::StatusOr<ResponseRule> ResponseRuleFromRecord(const ConfigRecord& record) {
  ASSIGN_OR_RETURN(const v1::ResponseRule message, ResponseRuleMessage(record));
  return ResponseRuleFromProto(message, "rule");
}

}  // namespace agentwatch::incident
