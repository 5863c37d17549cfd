#include "peers/alert_delivery.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"

namespace agentwatch::peers {
namespace {

absl::Status Send(incident::v1::IncidentService::StubInterface& stub, absl::Duration deadline,
                  const std::vector<const incident::v1::Alert*>& alerts) {
  incident::v1::ReportAlertsRequest request;
  for (const incident::v1::Alert* alert : alerts) *request.add_alerts() = *alert;
  incident::v1::ReportAlertsResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
  return common::FromGrpcStatus(stub.ReportAlerts(&context, request, &response));
}

}  // namespace

common::OutboxHandler MakeReportAlertsHandler(incident::v1::IncidentService::StubInterface& stub,
                                              absl::Duration deadline, std::string what) {
  return [&stub, deadline,
          what = std::move(what)](const std::vector<common::OutboxEntry>& entries) -> absl::Status {
    std::vector<incident::v1::Alert> alerts;
    alerts.reserve(entries.size());
    for (const common::OutboxEntry& entry : entries) {
      incident::v1::Alert alert;
      if (!alert.ParseFromString(entry.payload)) {
        common::LogError(
            absl::StrCat("dropping a ", what, " whose payload does not parse"),
            {{"id", absl::StrCat(entry.id)}, {"idempotency_key", entry.idempotency_key}});
        continue;
      }
      alerts.push_back(std::move(alert));
    }
    if (alerts.empty()) return absl::OkStatus();
    std::vector<const incident::v1::Alert*> all;
    all.reserve(alerts.size());
    for (const incident::v1::Alert& alert : alerts) all.push_back(&alert);
    const absl::Status status = Send(stub, deadline, all);
    if (!absl::IsInvalidArgument(status)) return status;
    for (const incident::v1::Alert* alert : all) {
      const absl::Status single = all.size() == 1 ? status : Send(stub, deadline, {alert});
      if (absl::IsInvalidArgument(single)) {
        common::LogError(absl::StrCat("incident rejected a ", what, "; dropped"),
                         {{"fingerprint", alert->fingerprint()}, {"error", single.ToString()}});
        continue;
      }
      if (!single.ok()) return single;
    }
    return absl::OkStatus();
  };
}

}  // namespace agentwatch::peers
