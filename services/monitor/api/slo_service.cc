// MonitorServiceImpl's SLO RPCs (CreateSlo ... GetSloReport) and the SLO
// evaluation after an ingested batch. See monitor_service.h.
#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "monitor/api/monitor_service.h"
#include "monitor/api/proto_mapping.h"
#include "monitor/core/paging.h"
#include "monitor/core/slo.h"
#include "monitor/store/proto_time.h"

namespace agentwatch::monitor {
namespace {

constexpr char kSlosList[] = "slos";

void DurationToProto(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

// The SLO of a request (not yet normalized or validated). INVALID_ARGUMENT
// naming the field for a malformed Duration.
absl::StatusOr<Slo> SloFromProto(const v1::Slo& proto) {
  Slo slo;
  slo.id = proto.id();
  slo.name = proto.name();
  slo.description = proto.description();
  slo.scope = ScopeFromProto(proto.scope());
  slo.subject = static_cast<SloSubject>(proto.subject());
  slo.sli_kind = static_cast<SliKind>(proto.sli_kind());
  if (proto.has_latency_threshold()) {
    ASSIGN_OR_RETURN(slo.latency_threshold,
                     FromProtoDuration(proto.latency_threshold(), "slo.latency_threshold"));
  }
  slo.objective = proto.objective();
  slo.window = absl::ZeroDuration();
  if (proto.has_window()) {
    ASSIGN_OR_RETURN(slo.window, FromProtoDuration(proto.window(), "slo.window"));
  }
  for (int i = 0; i < proto.burn_rate_windows_size(); ++i) {
    const v1::BurnRateWindow& in = proto.burn_rate_windows(i);
    const std::string prefix = absl::StrCat("slo.burn_rate_windows[", i, "].");
    BurnRateWindow window;
    ASSIGN_OR_RETURN(window.long_window,
                     FromProtoDuration(in.long_window(), prefix + "long_window"));
    ASSIGN_OR_RETURN(window.short_window,
                     FromProtoDuration(in.short_window(), prefix + "short_window"));
    window.burn_rate = in.burn_rate();
    window.severity = static_cast<Severity>(in.severity());
    slo.burn_rate_windows.push_back(window);
  }
  slo.labels.insert(proto.labels().begin(), proto.labels().end());
  return slo;
}

void SloToProto(const Slo& slo, v1::Slo* proto) {
  proto->set_id(slo.id);
  proto->set_name(slo.name);
  proto->set_description(slo.description);
  ScopeToProto(slo.scope, proto->mutable_scope());
  proto->set_subject(static_cast<v1::SloSubject>(slo.subject));
  proto->set_sli_kind(static_cast<v1::SliKind>(slo.sli_kind));
  if (slo.latency_threshold > absl::ZeroDuration()) {
    DurationToProto(slo.latency_threshold, proto->mutable_latency_threshold());
  }
  proto->set_objective(slo.objective);
  DurationToProto(slo.window, proto->mutable_window());
  for (const BurnRateWindow& window : slo.burn_rate_windows) {
    v1::BurnRateWindow* out = proto->add_burn_rate_windows();
    DurationToProto(window.long_window, out->mutable_long_window());
    DurationToProto(window.short_window, out->mutable_short_window());
    out->set_burn_rate(window.burn_rate);
    out->set_severity(static_cast<agentwatch::common::v1::Severity>(window.severity));
  }
  proto->mutable_labels()->insert(slo.labels.begin(), slo.labels.end());
  ToProtoTimestamp(slo.create_time, proto->mutable_create_time());
  ToProtoTimestamp(slo.update_time, proto->mutable_update_time());
}

// Copies field `path` of `from` into `to`; INVALID_ARGUMENT naming
// "update_mask" for a path that is not a writable Slo field.
absl::Status CopySloPath(const std::string& path, const v1::Slo& from, v1::Slo* to) {
  if (path == "name") {
    to->set_name(from.name());
  } else if (path == "description") {
    to->set_description(from.description());
  } else if (path == "scope") {
    *to->mutable_scope() = from.scope();
  } else if (path == "subject") {
    to->set_subject(from.subject());
  } else if (path == "sli_kind") {
    to->set_sli_kind(from.sli_kind());
  } else if (path == "latency_threshold") {
    if (from.has_latency_threshold()) {
      *to->mutable_latency_threshold() = from.latency_threshold();
    } else {
      to->clear_latency_threshold();
    }
  } else if (path == "objective") {
    to->set_objective(from.objective());
  } else if (path == "window") {
    if (from.has_window()) {
      *to->mutable_window() = from.window();
    } else {
      to->clear_window();
    }
  } else if (path == "burn_rate_windows") {
    *to->mutable_burn_rate_windows() = from.burn_rate_windows();
  } else if (path == "labels") {
    *to->mutable_labels() = from.labels();
  } else {
    return common::InvalidField("update_mask",
                                absl::StrCat("\"", path, "\" is not a writable SLO field"));
  }
  return absl::OkStatus();
}

}  // namespace

void MonitorServiceImpl::EnableSlos(SloStore& slos, SloEngine& engine) {
  slo_store_ = &slos;
  slo_engine_ = &engine;
}

absl::Status MonitorServiceImpl::SlosEnabled() const {
  if (slo_store_ == nullptr || slo_engine_ == nullptr) {
    return absl::UnimplementedError("SLOs are not enabled in this server");
  }
  return absl::OkStatus();
}

int64_t MonitorServiceImpl::EvaluateSlosAfterBatch(const BatchAggregate& aggregate,
                                                   absl::Time now) {
  if (slo_engine_ == nullptr) return 0;
  absl::StatusOr<SweepResult> evaluated = slo_engine_->OnBatch(aggregate, now);
  if (!evaluated.ok()) {
    metrics_.AlertEvaluationFailed();
    common::LogWarning("SLO evaluation failed", {{"error", evaluated.status().ToString()}});
    return 0;
  }
  metrics_.AlertTransitions(evaluated->alerts);
  return evaluated->outbox_enqueued;
}

// Evaluates a just written SLO over the data already stored; a failure is
// logged (the next batch or sweep evaluates it again).
void MonitorServiceImpl::EvaluateSloNow(const Slo& slo) {
  absl::StatusOr<SweepResult> evaluated = slo_engine_->Evaluate(slo, clock_.Now());
  if (!evaluated.ok()) {
    common::LogWarning("SLO evaluation failed",
                       {{"slo_id", slo.id}, {"error", evaluated.status().ToString()}});
    return;
  }
  AfterAlertWrite(evaluated->alerts, evaluated->outbox_enqueued);
}

grpc::ServerUnaryReactor* MonitorServiceImpl::CreateSlo(grpc::CallbackServerContext* context,
                                                        const v1::CreateSloRequest* request,
                                                        v1::Slo* response) {
  return rpc_.Unary(context, common::Role::kOperator, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(SlosEnabled());
    ASSIGN_OR_RETURN(Slo slo, SloFromProto(request->slo()));
    NormalizeSlo(&slo);
    RETURN_IF_ERROR(ValidateSlo(slo));
    ASSIGN_OR_RETURN(const Slo created,
                     slo_store_->CreateSlo(slo, request->request_id(), clock_.Now()));
    EvaluateSloNow(created);
    SloToProto(created, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::GetSlo(grpc::CallbackServerContext* context,
                                                     const v1::GetSloRequest* request,
                                                     v1::Slo* response) {
  return rpc_.Unary(context, common::Role::kViewer, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(SlosEnabled());
    if (request->id().empty()) return common::InvalidField("id", "required");
    ASSIGN_OR_RETURN(const Slo slo, slo_store_->GetSlo(request->id()));
    SloToProto(slo, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::UpdateSlo(grpc::CallbackServerContext* context,
                                                        const v1::UpdateSloRequest* request,
                                                        v1::Slo* response) {
  return rpc_.Unary(context, common::Role::kOperator, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(SlosEnabled());
    if (request->slo().id().empty()) return common::InvalidField("slo.id", "required");
    ASSIGN_OR_RETURN(const Slo existing, slo_store_->GetSlo(request->slo().id()));
    v1::Slo merged;
    if (request->update_mask().paths().empty()) {
      merged = request->slo();
    } else {
      SloToProto(existing, &merged);
      for (const std::string& path : request->update_mask().paths()) {
        RETURN_IF_ERROR(CopySloPath(path, request->slo(), &merged));
      }
    }
    merged.set_id(existing.id);
    ASSIGN_OR_RETURN(Slo slo, SloFromProto(merged));
    NormalizeSlo(&slo);
    RETURN_IF_ERROR(ValidateSlo(slo));
    ASSIGN_OR_RETURN(const Slo updated, slo_store_->UpdateSlo(slo, clock_.Now()));
    EvaluateSloNow(updated);
    SloToProto(updated, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::ListSlos(grpc::CallbackServerContext* context,
                                                       const v1::ListSlosRequest* request,
                                                       v1::ListSlosResponse* response) {
  return rpc_.Unary(context, common::Role::kViewer, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(SlosEnabled());
    ASSIGN_OR_RETURN(const int page_size, PageSize(request->page_size()));
    std::optional<std::pair<std::string, std::string>> after;
    if (!request->page_token().empty()) {
      ASSIGN_OR_RETURN(const std::vector<std::string> key,
                       DecodePageToken(request->page_token(), kSlosList, request->tenant(), 2));
      after = std::make_pair(key[0], key[1]);
    }
    ASSIGN_OR_RETURN(const SloPage page, slo_store_->ListSlos(request->tenant(), after, page_size));
    for (const Slo& slo : page.slos) SloToProto(slo, response->add_slos());
    if (page.next.has_value()) {
      response->set_next_page_token(
          EncodePageToken(kSlosList, request->tenant(), {page.next->first, page.next->second}));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::DeleteSlo(grpc::CallbackServerContext* context,
                                                        const v1::DeleteSloRequest* request,
                                                        google::protobuf::Empty* /*response*/) {
  return rpc_.Unary(context, common::Role::kOperator, [this, request]() -> absl::Status {
    RETURN_IF_ERROR(SlosEnabled());
    if (request->id().empty()) return common::InvalidField("id", "required");
    ASSIGN_OR_RETURN(const SweepResult result, slo_store_->DeleteSlo(request->id(), clock_.Now()));
    AfterAlertWrite(result.alerts, result.outbox_enqueued);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::GetSloStatus(grpc::CallbackServerContext* context,
                                                           const v1::GetSloStatusRequest* request,
                                                           v1::SloStatus* response) {
  return rpc_.Unary(context, common::Role::kViewer, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(SlosEnabled());
    if (request->id().empty()) return common::InvalidField("id", "required");
    ASSIGN_OR_RETURN(const Slo slo, slo_store_->GetSlo(request->id()));
    const absl::Time now = clock_.Now();
    ASSIGN_OR_RETURN(const SloStatusFigures figures, slo_engine_->Status(slo, now));
    ASSIGN_OR_RETURN(const std::vector<AlertState> firing,
                     slo_store_->SloAlerts(slo.tenant(), slo.id));
    response->set_slo_id(slo.id);
    response->set_sli(figures.sli);
    response->set_objective(slo.objective);
    response->set_good_events(figures.counts.good);
    response->set_total_events(figures.counts.total);
    response->set_error_budget_remaining(figures.budget.remaining);
    for (const auto& [window, rate] : figures.burn_rates) {
      v1::BurnRate* out = response->add_burn_rates();
      DurationToProto(window, out->mutable_window());
      out->set_burn_rate(rate);
    }
    for (const AlertState& state : firing) ActiveAlertToProto(state, response->add_firing_alerts());
    ToProtoTimestamp(now, response->mutable_as_of());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::GetSloReport(grpc::CallbackServerContext* context,
                                                           const v1::GetSloReportRequest* request,
                                                           v1::GetSloReportResponse* response) {
  return rpc_.Unary(context, common::Role::kViewer, [this, request, response]() -> absl::Status {
    RETURN_IF_ERROR(SlosEnabled());
    if (request->id().empty()) return common::InvalidField("id", "required");
    if (!request->range().has_start()) return common::InvalidField("range.start", "required");
    ASSIGN_OR_RETURN(const absl::Time start,
                     FromProtoTimestamp(request->range().start(), "range.start"));
    absl::Time end = clock_.Now();
    if (request->range().has_end()) {
      ASSIGN_OR_RETURN(end, FromProtoTimestamp(request->range().end(), "range.end"));
    }
    absl::TimeZone zone = absl::UTCTimeZone();
    if (!request->time_zone().empty() && !absl::LoadTimeZone(request->time_zone(), &zone)) {
      return common::InvalidField("time_zone", "unknown IANA time zone");
    }
    ASSIGN_OR_RETURN(const std::vector<BucketRange> periods,
                     ReportPeriods(start, end, static_cast<ReportPeriod>(request->period()), zone));
    ASSIGN_OR_RETURN(const Slo slo, slo_store_->GetSlo(request->id()));
    ASSIGN_OR_RETURN(const std::vector<PeriodFigures> figures, slo_engine_->Report(slo, periods));
    for (const PeriodFigures& period : figures) {
      v1::SloPeriodReport* out = response->add_periods();
      ToProtoTimestamp(period.range.from, out->mutable_range()->mutable_start());
      ToProtoTimestamp(period.range.to, out->mutable_range()->mutable_end());
      out->set_sli(period.sli);
      out->set_good_events(period.counts.good);
      out->set_total_events(period.counts.total);
      out->set_met(period.met);
      out->set_error_budget_consumed(period.budget_consumed);
    }
    return absl::OkStatus();
  });
}

}  // namespace agentwatch::monitor
