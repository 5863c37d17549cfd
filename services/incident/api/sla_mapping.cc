#include "incident/api/sla_mapping.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "incident/api/paging_mapping.h"
#include "incident/api/proto_mapping.h"

namespace agentwatch::incident {
namespace {

const std::vector<SlaPolicy>& NoVersions() {
  static const std::vector<SlaPolicy>* const kEmpty = new std::vector<SlaPolicy>();
  return *kEmpty;
}

absl::Time TimeOf(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace

absl::StatusOr<SlaPolicy> SlaPolicyFromProto(const v1::SlaPolicy& policy, absl::string_view field) {
  SlaPolicy out;
  out.tenant = policy.tenant();
  for (int i = 0; i < policy.targets_size(); ++i) {
    const v1::SeverityTarget& t = policy.targets(i);
    const std::string tf = absl::StrCat(field, ".targets[", i, "]");
    SlaTarget target;
    target.severity = static_cast<Severity>(t.severity());
    ASSIGN_OR_RETURN(
        target.acknowledge_within,
        DurationFromProto(t.acknowledge_within(), absl::StrCat(tf, ".acknowledge_within")));
    if (t.has_resolve_within()) {
      ASSIGN_OR_RETURN(target.resolve_within,
                       DurationFromProto(t.resolve_within(), absl::StrCat(tf, ".resolve_within")));
    }
    target.next_business_day = t.next_business_day();
    out.targets.push_back(target);
  }
  if (policy.has_business_hours()) {
    const common::v1::WeeklyWindow& w = policy.business_hours();
    for (int d : w.days()) out.business_hours.days.push_back(static_cast<DayOfWeek>(d));
    out.business_hours.start_minute = w.start_minute();
    out.business_hours.end_minute = w.end_minute();
    out.business_hours.time_zone = w.time_zone().empty() ? "UTC" : w.time_zone();
  } else {
    out.business_hours = DefaultSlaPolicy("").business_hours;
  }
  return out;
}

void SlaPolicyToProto(const SlaPolicy& policy, v1::SlaPolicy* out) {
  out->set_tenant(policy.tenant);
  for (const SlaTarget& target : policy.targets) {
    v1::SeverityTarget* t = out->add_targets();
    t->set_severity(static_cast<common::v1::Severity>(target.severity));
    if (!target.next_business_day || target.acknowledge_within > absl::ZeroDuration()) {
      DurationToProto(target.acknowledge_within, t->mutable_acknowledge_within());
    }
    if (target.resolve_within) DurationToProto(*target.resolve_within, t->mutable_resolve_within());
    t->set_next_business_day(target.next_business_day);
  }
  common::v1::WeeklyWindow* w = out->mutable_business_hours();
  for (DayOfWeek day : policy.business_hours.days) {
    w->add_days(static_cast<common::v1::DayOfWeek>(day));
  }
  w->set_start_minute(policy.business_hours.start_minute);
  w->set_end_minute(policy.business_hours.end_minute);
  w->set_time_zone(policy.business_hours.time_zone);
  if (policy.update_time != absl::UnixEpoch()) {
    TimeToProto(policy.update_time, out->mutable_update_time());
  }
}

absl::StatusOr<SlaPolicyBook> SlaPolicyBook::Load(SlaStore& store,
                                                  std::vector<std::string> tenants) {
  tenants.push_back("");
  std::sort(tenants.begin(), tenants.end());
  tenants.erase(std::unique(tenants.begin(), tenants.end()), tenants.end());
  ASSIGN_OR_RETURN(const std::vector<SlaPolicyRecord> records,
                   store.ListSlaPolicyVersions(tenants));
  SlaPolicyBook book;
  for (const SlaPolicyRecord& record : records) {
    v1::SlaPolicy proto;
    if (!proto.ParseFromString(record.body)) {
      return absl::InternalError(
          absl::StrCat("stored SLA policy of tenant \"", record.tenant, "\" is unreadable"));
    }
    ASSIGN_OR_RETURN(SlaPolicy policy, SlaPolicyFromProto(proto, "policy"));
    policy.tenant = record.tenant;
    policy.targets = NormalizeSlaTargets(policy.targets);
    policy.update_time = record.update_time;
    book.versions_[record.tenant].push_back(std::move(policy));
  }
  return book;
}

const std::vector<SlaPolicy>& SlaPolicyBook::VersionsOf(absl::string_view tenant) const {
  const auto it = versions_.find(std::string(tenant));
  return it == versions_.end() ? NoVersions() : it->second;
}

SlaPolicy SlaPolicyBook::InForce(absl::string_view tenant, absl::Time at) const {
  return EffectivePolicy(tenant, VersionsOf(tenant), VersionsOf(""), at);
}

SlaPolicy SlaPolicyBook::Latest(absl::string_view tenant) const {
  const std::vector<SlaPolicy>& own = VersionsOf(tenant);
  if (!own.empty()) return own.back();
  const std::vector<SlaPolicy>& global = VersionsOf("");
  if (!global.empty()) {
    SlaPolicy out = global.back();
    out.tenant = std::string(tenant);
    return out;
  }
  return DefaultSlaPolicy(tenant);
}

absl::Status AddSlaFields(SlaStore& store, const std::vector<v1::Incident*>& incidents) {
  if (incidents.empty()) return absl::OkStatus();
  std::vector<std::string> tenants;
  std::vector<IncidentKey> keys;
  for (const v1::Incident* incident : incidents) {
    tenants.push_back(incident->tenant());
    keys.emplace_back(incident->tenant(), incident->id());
  }
  ASSIGN_OR_RETURN(const SlaPolicyBook book, SlaPolicyBook::Load(store, std::move(tenants)));
  ASSIGN_OR_RETURN(const auto info, store.GetIncidentSlaInfo(keys));
  for (v1::Incident* incident : incidents) {
    const absl::Time created = TimeOf(incident->create_time());
    const SlaPolicy policy = book.InForce(incident->tenant(), created);
    const SlaDeadlines deadlines =
        ComputeDeadlines(policy, static_cast<Severity>(incident->severity()), created);
    DurationToProto(deadlines.response_target, incident->mutable_response_target());
    TimeToProto(deadlines.acknowledge_due, incident->mutable_acknowledge_due_time());
    if (deadlines.resolve_due) {
      TimeToProto(*deadlines.resolve_due, incident->mutable_resolve_due_time());
    } else {
      incident->clear_resolve_due_time();
    }
    const auto it = info.find(IncidentKey{incident->tenant(), incident->id()});
    if (it == info.end()) continue;
    incident->set_escalation_policy_id(it->second.escalation_policy_id);
    if (!it->second.breaches.empty()) {
      incident->set_sla_breached(true);
      absl::Time first = it->second.breaches.front().due_time;
      for (const SlaBreach& breach : it->second.breaches) first = std::min(first, breach.due_time);
      TimeToProto(first, incident->mutable_sla_breach_time());
    }
  }
  return absl::OkStatus();
}

}  // namespace agentwatch::incident
