// IncidentServiceImpl::GetStats: validates the range, asks the store's
// StatsStore for the aggregates and maps the core report to the proto.
#include <optional>

#include "common/status_macros.h"
#include "incident/api/incident_service.h"
#include "incident/api/proto_mapping.h"
#include "incident/core/stats.h"
#include "incident/store/sla_store.h"
#include "incident/store/stats_store.h"

namespace agentwatch::incident {
namespace {

using common::Role;

void DurationToProto(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t micros = absl::ToInt64Microseconds(d);
  out->set_seconds(micros / 1000000);
  out->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
}

void GroupToProto(const StatsGroup& group, v1::StatsGroup* out) {
  out->set_severity(static_cast<common::v1::Severity>(group.severity));
  out->set_service(group.service);
  out->set_incident_count(group.incident_count);
  DurationToProto(group.mttd, out->mutable_mttd());
  DurationToProto(group.mtta, out->mutable_mtta());
  DurationToProto(group.mttr, out->mutable_mttr());
  out->set_sla_breaches(group.sla_breaches);
}

}  // namespace

grpc::ServerUnaryReactor* IncidentServiceImpl::GetStats(grpc::CallbackServerContext* context,
                                                        const v1::GetStatsRequest* request,
                                                        v1::IncidentStats* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    StatsStore* stats = store_.stats();
    if (stats == nullptr) return absl::UnimplementedError("this store keeps no statistics");
    std::optional<absl::Time> start;
    std::optional<absl::Time> end;
    if (request->range().has_start()) {
      ASSIGN_OR_RETURN(const absl::Time t, TimeFromProto(request->range().start(), "range.start"));
      start = TruncateToMicros(t);
    }
    if (request->range().has_end()) {
      ASSIGN_OR_RETURN(const absl::Time t, TimeFromProto(request->range().end(), "range.end"));
      end = TruncateToMicros(t);
    }
    ASSIGN_OR_RETURN(const StatsQuery query,
                     MakeStatsQuery(request->tenant(), start, end, request->service_label(),
                                    request->time_zone(), TruncateToMicros(clock_.Now())));
    ASSIGN_OR_RETURN(const StatsAggregates aggregates, stats->AggregateStats(query));
    IncidentStatsReport report = FinishStats(query, aggregates);
    if (sla_ != nullptr) {
      ASSIGN_OR_RETURN(const SlaBreachCounts breaches, sla_->CountSlaBreaches(query));
      report.overall.sla_breaches = breaches.overall;
      for (StatsGroup& group : report.by_severity) {
        const auto it = breaches.by_severity.find(group.severity);
        group.sla_breaches = it == breaches.by_severity.end() ? 0 : it->second;
      }
      for (StatsGroup& group : report.by_service) {
        const auto it = breaches.by_service.find(group.service);
        group.sla_breaches = it == breaches.by_service.end() ? 0 : it->second;
      }
    }
    GroupToProto(report.overall, response->mutable_overall());
    for (const StatsGroup& group : report.by_severity) {
      GroupToProto(group, response->add_by_severity());
    }
    for (const StatsGroup& group : report.by_service) {
      GroupToProto(group, response->add_by_service());
    }
    for (const DayCount& day : report.frequency) {
      v1::FrequencyBucket* bucket = response->add_frequency();
      TimeToProto(day.day_start, bucket->mutable_bucket_start());
      bucket->set_incident_count(day.count);
    }
    v1::AlertFatigue* fatigue = response->mutable_fatigue();
    fatigue->set_alerts_received(report.alerts_received);
    fatigue->set_alerts_per_incident(report.alerts_per_incident);
    fatigue->set_auto_resolved_share(report.auto_resolved_share);
    fatigue->set_notifications_sent(report.notifications_sent);
    for (const PersonPageRate& rate : report.pages_per_person) {
      v1::PagesPerPerson* person = fatigue->add_pages_per_person();
      person->set_person(rate.person);
      person->set_pages_per_week(rate.pages_per_week);
    }
    return absl::OkStatus();
  });
}

}  // namespace agentwatch::incident
