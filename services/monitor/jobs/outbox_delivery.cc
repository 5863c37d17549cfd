#include "monitor/jobs/outbox_delivery.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "common/status_macros.h"

namespace agentwatch::monitor {
namespace {

void LogUnparsable(const char* destination, const common::OutboxEntry& entry) {
  common::LogError("dropping an outbox entry whose payload does not parse",
                   {{"destination", destination},
                    {"id", absl::StrCat(entry.id)},
                    {"idempotency_key", entry.idempotency_key}});
}

// Delivers `items` with `send`, which makes one call carrying the items it
// is given, in calls of at most `per_call` items.
template <typename Item>
absl::Status SendItems(const char* destination, const std::vector<Item>& items, size_t per_call,
                       const std::function<absl::Status(const std::vector<const Item*>&)>& send) {
  for (size_t start = 0; start < items.size(); start += per_call) {
    std::vector<const Item*> chunk;
    chunk.reserve(std::min(per_call, items.size() - start));
    for (size_t i = start; i < items.size() && i < start + per_call; ++i) {
      chunk.push_back(&items[i]);
    }
    absl::Status status = send(chunk);
    if (!absl::IsInvalidArgument(status)) {
      RETURN_IF_ERROR(status);
      continue;
    }
    // Find the items the peer rejects on their own and drop them; resend
    // the others (receivers are idempotent, so resending is safe).
    for (const Item* item : chunk) {
      absl::Status single = chunk.size() == 1 ? status : send({item});
      if (absl::IsInvalidArgument(single)) {
        common::LogError("peer rejected an outbox message; dropped",
                         {{"destination", destination}, {"error", single.ToString()}});
        continue;
      }
      RETURN_IF_ERROR(single);
    }
  }
  return absl::OkStatus();
}

// Delivers the items of `entries` (one serialized Item each) with `send`.
template <typename Item>
absl::Status Deliver(const char* destination, const std::vector<common::OutboxEntry>& entries,
                     const std::function<absl::Status(const std::vector<const Item*>&)>& send) {
  std::vector<Item> items;
  items.reserve(entries.size());
  for (const common::OutboxEntry& entry : entries) {
    Item item;
    if (!item.ParseFromString(entry.payload)) {
      LogUnparsable(destination, entry);
      continue;
    }
    items.push_back(std::move(item));
  }
  return SendItems<Item>(destination, items, std::max<size_t>(1, items.size()), send);
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

namespace {

absl::Status SendUsage(cost::v1::CostService::StubInterface& stub, absl::Duration deadline,
                       const std::vector<const cost::v1::UsageRecord*>& records) {
  cost::v1::RecordUsageRequest request;
  for (const cost::v1::UsageRecord* record : records) *request.add_records() = *record;
  cost::v1::RecordUsageResponse response;
  grpc::ClientContext context;
  context.set_deadline(Deadline(deadline));
  return common::FromGrpcStatus(stub.RecordUsage(&context, request, &response));
}

}  // namespace

common::OutboxHandler MakeRecordUsageHandler(cost::v1::CostService::StubInterface& stub,
                                             absl::Duration deadline) {
  return [&stub, deadline](const std::vector<common::OutboxEntry>& entries) {
    return Deliver<cost::v1::UsageRecord>(
        "cost.RecordUsage", entries,
        [&stub, deadline](const std::vector<const cost::v1::UsageRecord*>& records) {
          return SendUsage(stub, deadline, records);
        });
  };
}

common::OutboxHandler MakeRecordUsageBatchHandler(cost::v1::CostService::StubInterface& stub,
                                                  absl::Duration deadline) {
  return [&stub, deadline](const std::vector<common::OutboxEntry>& entries) {
    std::vector<cost::v1::UsageRecord> records;
    for (const common::OutboxEntry& entry : entries) {
      cost::v1::RecordUsageRequest packed;
      if (!packed.ParseFromString(entry.payload)) {
        LogUnparsable("cost.RecordUsageBatch", entry);
        continue;
      }
      for (cost::v1::UsageRecord& record : *packed.mutable_records()) {
        records.push_back(std::move(record));
      }
    }
    return SendItems<cost::v1::UsageRecord>(
        "cost.RecordUsageBatch", records, kUsageRecordsPerCall,
        [&stub, deadline](const std::vector<const cost::v1::UsageRecord*>& chunk) {
          return SendUsage(stub, deadline, chunk);
        });
  };
}

}  // namespace agentwatch::monitor
