// Conversions between agentwatch.incident.v1.ResponseRule and
// core/response_rules.h, with the checks only the wire format needs
// (durations, the action oneof). INVALID_ARGUMENT names the field under the
// given prefix.
#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "incident/core/response_rules.h"
#include "incident/store/incident_store.h"

namespace agentwatch::incident {

// Writes the defaults into the message (cooldown 10 min when unset, webhook
// timeout 10 s when unset), so that what is stored and returned shows them.
void ApplyResponseRuleDefaults(v1::ResponseRule* rule);

// The core rule (not validated beyond the wire format: use
// ValidateResponseRule).
absl::StatusOr<ResponseRule> ResponseRuleFromProto(const v1::ResponseRule& rule,
                                                   absl::string_view field);

// The stored rule read back. INTERNAL for a body that does not parse.
absl::StatusOr<v1::ResponseRule> ResponseRuleMessage(const ConfigRecord& record);
absl::StatusOr<ResponseRule> ResponseRuleFromRecord(const ConfigRecord& record);

}  // namespace agentwatch::incident
