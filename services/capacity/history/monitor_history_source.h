// HistorySource over monitor.MonitorService.QuerySeries.
#pragma once

#include <grpcpp/channel.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agentwatch/monitor/v1/monitor.grpc.pb.h"
#include "capacity/history/history_source.h"

namespace agentwatch::capacity {

struct MonitorHistoryOptions {
  // Monitor's address, for messages only (the channel is given).
  std::string address;
  // Deadline of one Fetch, across all the calls it makes.
  absl::Duration deadline = absl::Seconds(10);
  // Points per series asked for in one call; monitor answers at most 11,000,
  // so longer ranges are fetched in consecutive windows and concatenated.
  int64_t max_points_per_call = 10'000;
};

// Asks monitor for each window of the range with no group_by (monitor then
// aggregates every matching series into one), and merges the windows' series
// by their labels. Thread-safe (a gRPC stub is).
class MonitorHistorySource final : public HistorySource {
 public:
  MonitorHistorySource(std::shared_ptr<grpc::Channel> channel, MonitorHistoryOptions options);

  // See HistorySource::Fetch. Monitor's UNAVAILABLE, DEADLINE_EXCEEDED,
  // ABORTED and CANCELLED become UNAVAILABLE with a message saying monitor is
  // unreachable; INVALID_ARGUMENT and RESOURCE_EXHAUSTED pass through (monitor
  // names the same request fields); any other code is INTERNAL.
  absl::StatusOr<std::vector<HistorySeries>> Fetch(const HistoryQuery& query) override;

 private:
  std::unique_ptr<monitor::v1::MonitorService::Stub> stub_;
  MonitorHistoryOptions options_;
};

}  // namespace agentwatch::capacity
