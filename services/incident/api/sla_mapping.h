// SLA policies between the agentwatch.incident.v1 messages, the core values
// and the stored records, and the SLA fields every read adds to an incident
// (response target, due times, breach, escalation policy).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "incident/core/sla.h"
#include "incident/store/sla_store.h"

namespace agentwatch::incident {

// The policy in `policy` as a client sends it (targets as given, not yet
// completed; business_hours the default when unset). Only the wire format is
// checked here (durations); ValidateSlaPolicy checks the rest.
// INVALID_ARGUMENT naming the field under `field`.
absl::StatusOr<SlaPolicy> SlaPolicyFromProto(const v1::SlaPolicy& policy, absl::string_view field);

// `policy` on the wire (targets P0..P3; update_time unless the built-in
// defaults).
void SlaPolicyToProto(const SlaPolicy& policy, v1::SlaPolicy* out);

// The stored versions of some tenants' policies, parsed.
class SlaPolicyBook {
 public:
  // Loads every version of `tenants` and of the global default ("").
  // INTERNAL for a stored body that does not parse; UNAVAILABLE.
  static absl::StatusOr<SlaPolicyBook> Load(SlaStore& store, std::vector<std::string> tenants);

  // The policy an incident of `tenant` created at `at` is held to
  // (core EffectivePolicy).
  SlaPolicy InForce(absl::string_view tenant, absl::Time at) const;

  // The policy in force for new incidents: the tenant's latest version, else
  // the global default's latest, else the built-in defaults.
  SlaPolicy Latest(absl::string_view tenant) const;

 private:
  const std::vector<SlaPolicy>& VersionsOf(absl::string_view tenant) const;

  std::map<std::string, std::vector<SlaPolicy>> versions_;
};

// Sets the SLA fields of each incident (response_target,
// acknowledge_due_time, resolve_due_time, sla_breached, sla_breach_time) and
// escalation_policy_id from `store`; incidents must have tenant, id,
// severity and create_time set. UNAVAILABLE; INTERNAL for unreadable stored
// policies.
absl::Status AddSlaFields(SlaStore& store, const std::vector<v1::Incident*>& incidents);

}  // namespace agentwatch::incident
