#include "monitor/jobs/outbox_delivery.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <google/protobuf/arena.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "monitor/store/monitor_store.h"

namespace agentwatch::monitor {
namespace {

constexpr char kRecordUsageMethod[] = "/agentwatch.cost.v1.CostService/RecordUsage";

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

namespace {

// The first block of the arena MakeRecordUsageBatchHandler parses payloads
// on (and its largest block); a larger entry takes more blocks, freed by the
// next reset.
constexpr size_t kUsageArenaFirstBlock = size_t{1} << 20;

using SerializedUsageStub =
    grpc::TemplatedGenericStub<grpc::ByteBuffer, cost::v1::RecordUsageResponse>;

// One RecordUsage call whose request is the concatenation of `payloads`,
// each a serialized RecordUsageRequest holding only records: on the wire
// the concatenation is the request holding all their records in order, so
// they are sent as stored, without being parsed or serialized again.
absl::Status SendSerializedUsage(SerializedUsageStub& stub, absl::Duration deadline,
                                 const std::vector<absl::string_view>& payloads) {
  std::vector<grpc::Slice> slices;
  slices.reserve(payloads.size());
  for (absl::string_view payload : payloads) slices.emplace_back(payload.data(), payload.size());
  grpc::ByteBuffer request(slices.data(), slices.size());
  cost::v1::RecordUsageResponse response;
  grpc::ClientContext context;
  context.set_deadline(Deadline(deadline));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, kRecordUsageMethod, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return common::FromGrpcStatus(done.get_future().get());
}

// Resends the records of `payloads` (a call of them was rejected as
// INVALID_ARGUMENT with `status`) one per call, dropping (logged) those
// rejected on their own.
absl::Status ResendRecordByRecord(SerializedUsageStub& stub, absl::Duration deadline,
                                  const std::vector<absl::string_view>& payloads, size_t records,
                                  const absl::Status& status) {
  if (records == 1) {
    common::LogError("peer rejected an outbox message; dropped",
                     {{"destination", kCostBatchDestination}, {"error", status.ToString()}});
    return absl::OkStatus();
  }
  std::vector<cost::v1::UsageRecord> all;
  all.reserve(records);
  for (absl::string_view payload : payloads) {
    cost::v1::RecordUsageRequest packed;
    if (!packed.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) continue;
    for (cost::v1::UsageRecord& record : *packed.mutable_records()) {
      all.push_back(std::move(record));
    }
  }
  return SendItems<cost::v1::UsageRecord>(
      kCostBatchDestination, all, 1,
      [&stub, deadline](const std::vector<const cost::v1::UsageRecord*>& one) {
        cost::v1::RecordUsageRequest single;
        for (const cost::v1::UsageRecord* record : one) *single.add_records() = *record;
        const std::string serialized = single.SerializeAsString();
        return SendSerializedUsage(stub, deadline, {serialized});
      });
}

}  // namespace

common::OutboxHandler MakeRecordUsageBatchHandler(std::shared_ptr<grpc::ChannelInterface> channel,
                                                  absl::Duration deadline) {
  auto stub = std::make_shared<SerializedUsageStub>(std::move(channel));
  return [stub, deadline](const std::vector<common::OutboxEntry>& entries) {
    // Every payload is checked by parsing it onto an arena that is reset
    // before the next entry; a payload that does not parse is dropped. (A
    // reused heap message costs more: proto3 Clear() deletes each
    // record's scope and usage submessages, so every parse allocated and
    // freed two objects per record; on the arena both are bump allocations
    // released at once.) The first block is kept across resets.
    std::unique_ptr<char[]> first_block(new char[kUsageArenaFirstBlock]);
    google::protobuf::ArenaOptions arena_options;
    arena_options.initial_block = first_block.get();
    arena_options.initial_block_size = kUsageArenaFirstBlock;
    arena_options.max_block_size = kUsageArenaFirstBlock;
    google::protobuf::Arena arena(arena_options);
    std::vector<absl::string_view> call;
    size_t call_records = 0;
    auto send = [&]() -> absl::Status {
      if (call.empty()) return absl::OkStatus();
      absl::Status status = SendSerializedUsage(*stub, deadline, call);
      if (absl::IsInvalidArgument(status)) {
        // Find the records the peer rejects on their own and drop them;
        // resend the others (the cost service counts a record once).
        status = ResendRecordByRecord(*stub, deadline, call, call_records, status);
      }
      call.clear();
      call_records = 0;
      return status;
    };
    for (const common::OutboxEntry& entry : entries) {
      arena.Reset();
      cost::v1::RecordUsageRequest& scratch =
          *google::protobuf::Arena::CreateMessage<cost::v1::RecordUsageRequest>(&arena);
      if (!scratch.ParseFromString(entry.payload)) {
        LogUnparsable(kCostBatchDestination, entry);
        continue;
      }
      const size_t records = static_cast<size_t>(scratch.records_size());
      if (records == 0) continue;
      if (records > kUsageRecordsPerCall) {
        // Never written by PackUsage; sent in calls of at most the limit.
        RETURN_IF_ERROR(send());
        for (size_t start = 0; start < records; start += kUsageRecordsPerCall) {
          cost::v1::RecordUsageRequest part;
          for (size_t i = start; i < records && i < start + kUsageRecordsPerCall; ++i) {
            *part.add_records() = scratch.records(static_cast<int>(i));
          }
          const std::string serialized = part.SerializeAsString();
          call.push_back(serialized);
          call_records = static_cast<size_t>(part.records_size());
          RETURN_IF_ERROR(send());
        }
        continue;
      }
      if (call_records + records > kUsageRecordsPerCall) RETURN_IF_ERROR(send());
      call.push_back(entry.payload);
      call_records += records;
    }
    return send();
  };
}

}  // namespace agentwatch::monitor
