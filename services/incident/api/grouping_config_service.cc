// IncidentServiceImpl: GetGroupingConfig and UpdateGroupingConfig over the
// GroupingConfigStore. Applied per tenant through the GroupingResolver:
// group_by by intake (ReportAlerts and the webhooks), group_wait by the
// escalation engine. The other timings (group_interval,
// resolve_quiet_period, reopen_window) are the service's and reported as
// such; an update that would change one is refused with INVALID_ARGUMENT
// naming it, never silently ignored.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "incident/api/grouping_resolver.h"
#include "incident/api/incident_service.h"
#include "incident/api/paging_mapping.h"
#include "incident/api/proto_mapping.h"
#include "incident/core/validation.h"

namespace agentwatch::incident {
namespace {

using common::Role;

absl::Status NoGroupingConfigs() {
  return absl::UnimplementedError("this server keeps no grouping configs");
}

// A timing of GroupingConfig that is not configurable per tenant yet.
struct FixedTiming {
  const char* name;
  const google::protobuf::Duration& (v1::GroupingConfig::*get)() const;
  bool (v1::GroupingConfig::*has)() const;
  absl::Duration service_value;
  absl::Duration max;
  const char* applies;  // what applies instead
};

std::vector<FixedTiming> FixedTimings(const GroupingTimings& t) {
  return {
      {"group_interval", &v1::GroupingConfig::group_interval,
       &v1::GroupingConfig::has_group_interval, t.group_interval, absl::Hours(24),
       "no notifications about alerts joining a notified incident are sent yet"},
      {"resolve_quiet_period", &v1::GroupingConfig::resolve_quiet_period,
       &v1::GroupingConfig::has_resolve_quiet_period, t.resolve_quiet_period, absl::Hours(24),
       "flag --auto_resolve_quiet applies"},
      {"reopen_window", &v1::GroupingConfig::reopen_window, &v1::GroupingConfig::has_reopen_window,
       t.reopen_window, absl::Hours(24 * 7), "flag --reopen_window applies"},
  };
}

// Answers `tenant`'s effective config: per field its own stored value, else
// the global default's, else the flag's; update_time only when the tenant
// has a row of its own.
absl::Status ReadConfig(GroupingConfigStore& store, const TenantGrouping& flag_default,
                        const std::string& tenant, const GroupingTimings& timings,
                        v1::GroupingConfig* out) {
  std::vector<std::string> tenants = {tenant};
  if (!tenant.empty()) tenants.emplace_back();
  ASSIGN_OR_RETURN(const std::vector<GroupingConfigRecord> records,
                   store.GetGroupingConfigs(tenants));
  ASSIGN_OR_RETURN(const TenantGrouping resolved, ResolveGrouping(records, tenant, flag_default));
  out->set_tenant(tenant);
  for (std::string& label : GroupingToLabels(resolved.grouping)) {
    out->add_group_by(std::move(label));
  }
  DurationToProto(resolved.group_wait, out->mutable_group_wait());
  DurationToProto(timings.group_interval, out->mutable_group_interval());
  DurationToProto(timings.resolve_quiet_period, out->mutable_resolve_quiet_period());
  DurationToProto(timings.reopen_window, out->mutable_reopen_window());
  for (const GroupingConfigRecord& record : records) {
    if (record.tenant == tenant) TimeToProto(record.update_time, out->mutable_update_time());
  }
  return absl::OkStatus();
}

}  // namespace

void IncidentServiceImpl::SetGroupingConfigs(GroupingConfigStore* store, GroupingResolver* resolver,
                                             const GroupingTimings& timings) {
  grouping_store_ = store;
  grouping_resolver_ = resolver;
  grouping_timings_ = timings;
}

grpc::ServerUnaryReactor* IncidentServiceImpl::GetGroupingConfig(
    grpc::CallbackServerContext* context, const v1::GetGroupingConfigRequest* request,
    v1::GroupingConfig* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    if (grouping_store_ == nullptr || grouping_resolver_ == nullptr) return NoGroupingConfigs();
    RETURN_IF_ERROR(ValidateOptional(request->tenant(), "tenant", kMaxTenantBytes));
    return ReadConfig(*grouping_store_, grouping_resolver_->flag_default(), request->tenant(),
                      grouping_timings_, response);
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::UpdateGroupingConfig(
    grpc::CallbackServerContext* context, const v1::UpdateGroupingConfigRequest* request,
    v1::GroupingConfig* response) {
  return rpc_.Unary(context, Role::kAdmin, [this, request, response]() -> absl::Status {
    if (grouping_store_ == nullptr || grouping_resolver_ == nullptr) return NoGroupingConfigs();
    const v1::GroupingConfig& given = request->config();
    RETURN_IF_ERROR(ValidateOptional(given.tenant(), "config.tenant", kMaxTenantBytes));
    const std::vector<FixedTiming> fixed = FixedTimings(grouping_timings_);
    const bool replace_all = request->update_mask().paths_size() == 0;
    GroupingConfigFields fields;
    fields.group_by = replace_all;
    fields.group_wait = replace_all;
    std::vector<const FixedTiming*> written;
    for (const std::string& path : request->update_mask().paths()) {
      if (path == "group_by") {
        fields.group_by = true;
        continue;
      }
      if (path == "group_wait") {
        fields.group_wait = true;
        continue;
      }
      const FixedTiming* timing = nullptr;
      for (const FixedTiming& t : fixed) {
        if (path == t.name) timing = &t;
      }
      if (timing == nullptr) {
        return common::InvalidField(
            "update_mask", absl::StrCat("unknown or read-only path \"", path,
                                        "\" (writable: group_by, group_wait, group_interval, "
                                        "resolve_quiet_period, reopen_window)"));
      }
      written.push_back(timing);
    }
    if (replace_all) {
      for (const FixedTiming& t : fixed) {
        if ((given.*t.has)()) written.push_back(&t);
      }
    }
    // A fixed timing equal to the service's value is accepted (a Get's answer
    // can be sent back); any other value is refused, never silently ignored.
    for (const FixedTiming* t : written) {
      const std::string field = absl::StrCat("config.", t->name);
      ASSIGN_OR_RETURN(const absl::Duration value, DurationFromProto((given.*t->get)(), field));
      if (value == t->service_value) continue;
      if (value < absl::ZeroDuration()) return common::InvalidField(field, "must not be negative");
      if (value > t->max) {
        return common::InvalidField(field,
                                    absl::StrCat("must be at most ", absl::FormatDuration(t->max)));
      }
      return common::InvalidField(
          field, absl::StrCat("not configurable per tenant yet (", t->applies, ": ",
                              absl::FormatDuration(t->service_value), ")"));
    }
    GroupingConfigRecord record;
    record.tenant = given.tenant();
    if (fields.group_by) {
      ASSIGN_OR_RETURN(const GroupingConfig grouping,
                       GroupingFromLabels(std::vector<std::string>(given.group_by().begin(),
                                                                   given.group_by().end()),
                                          "config.group_by"));
      record.group_by = GroupingToLabels(grouping);
    }
    // An absent group_wait, when written, clears the tenant's own value (it
    // inherits again).
    if (fields.group_wait && given.has_group_wait()) {
      ASSIGN_OR_RETURN(const absl::Duration wait,
                       DurationFromProto(given.group_wait(), "config.group_wait"));
      if (wait < absl::ZeroDuration()) {
        return common::InvalidField("config.group_wait", "must not be negative");
      }
      if (wait > kMaxGroupWait) {
        return common::InvalidField(
            "config.group_wait",
            absl::StrCat("must be at most ", absl::FormatDuration(kMaxGroupWait)));
      }
      if (wait != absl::Microseconds(absl::ToInt64Microseconds(wait))) {
        return common::InvalidField("config.group_wait", "must be whole microseconds");
      }
      record.group_wait = wait;
    }
    if (fields.group_by || fields.group_wait) {
      record.update_time = TruncateToMicros(clock_.Now());
      RETURN_IF_ERROR(grouping_store_->PutGroupingConfig(record, fields).status());
      grouping_resolver_->Invalidate();
    }
    return ReadConfig(*grouping_store_, grouping_resolver_->flag_default(), given.tenant(),
                      grouping_timings_, response);
  });
}

}  // namespace agentwatch::incident
