#include "monitor/jobs/outbox_delivery.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"

namespace agentwatch::monitor {
namespace {

// Delivers `items` (decoded from the entries) with `send`, which makes one
// call carrying the items it is given.
template <typename Item>
absl::Status Deliver(const char* destination, const std::vector<common::OutboxEntry>& entries,
                     const std::function<absl::Status(const std::vector<const Item*>&)>& send) {
  std::vector<Item> items;
  items.reserve(entries.size());
  for (const common::OutboxEntry& entry : entries) {
    Item item;
    if (!item.ParseFromString(entry.payload)) {
      common::LogError("dropping an outbox entry whose payload does not parse",
                       {{"destination", destination},
                        {"id", absl::StrCat(entry.id)},
                        {"idempotency_key", entry.idempotency_key}});
      continue;
    }
    items.push_back(std::move(item));
  }
  if (items.empty()) return absl::OkStatus();
  std::vector<const Item*> all;
  all.reserve(items.size());
  for (const Item& item : items) all.push_back(&item);
  absl::Status status = send(all);
  if (!absl::IsInvalidArgument(status)) return status;
  // Find the messages the peer rejects on their own and drop them; resend
  // the others (receivers are idempotent, so resending is safe).
  for (const Item* item : all) {
    absl::Status single = all.size() == 1 ? status : send({item});
    if (absl::IsInvalidArgument(single)) {
      common::LogError("peer rejected an outbox message; dropped",
                       {{"destination", destination}, {"error", single.ToString()}});
      continue;
    }
    if (!single.ok()) return single;
  }
  return absl::OkStatus();
}

std::chrono::system_clock::time_point Deadline(absl::Duration deadline) {
  return std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline);
}

}  // namespace

common::OutboxHandler MakeReportAlertsHandler(incident::v1::IncidentService::StubInterface& stub,
                                              absl::Duration deadline) {
  return [&stub, deadline](const std::vector<common::OutboxEntry>& entries) {
    return Deliver<incident::v1::Alert>(
        "incident.ReportAlerts", entries,
        [&stub, deadline](const std::vector<const incident::v1::Alert*>& alerts) {
          incident::v1::ReportAlertsRequest request;
          for (const incident::v1::Alert* alert : alerts) *request.add_alerts() = *alert;
          incident::v1::ReportAlertsResponse response;
          grpc::ClientContext context;
          context.set_deadline(Deadline(deadline));
          return common::FromGrpcStatus(stub.ReportAlerts(&context, request, &response));
        });
  };
}

common::OutboxHandler MakeRecordUsageHandler(cost::v1::CostService::StubInterface& stub,
                                             absl::Duration deadline) {
  return [&stub, deadline](const std::vector<common::OutboxEntry>& entries) {
    return Deliver<cost::v1::UsageRecord>(
        "cost.RecordUsage", entries,
        [&stub, deadline](const std::vector<const cost::v1::UsageRecord*>& records) {
          cost::v1::RecordUsageRequest request;
          for (const cost::v1::UsageRecord* record : records) *request.add_records() = *record;
          cost::v1::RecordUsageResponse response;
          grpc::ClientContext context;
          context.set_deadline(Deadline(deadline));
          return common::FromGrpcStatus(stub.RecordUsage(&context, request, &response));
        });
  };
}

}  // namespace agentwatch::monitor
