// Where GetCostPerformance gets LLM-call performance: PerformanceSource, and
// MonitorPerformanceSource, which asks monitor's QuerySeries over a peer
// channel.
#pragma once

#include <grpcpp/channel.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agentwatch/monitor/v1/monitor.grpc.pb.h"
#include "cost/core/performance.h"
#include "cost/core/scope.h"

namespace agentwatch::cost {

// What to measure: LLM calls with start <= time < end inside `filter`
// (tenant "" = every tenant; tags match the series' labels), grouped by the
// flagged dimensions (model implies provider).
struct PerformanceQuery {
  absl::Time start;
  absl::Time end;
  Scope filter;
  bool by_workflow = false;
  bool by_agent = false;
  bool by_model = false;
};

// A source of per-group LLM-call performance. Thread-safe.
class PerformanceSource {
 public:
  virtual ~PerformanceSource() = default;
  // Calls, succeeded calls and p95 latency per group (keys as
  // PerformanceKey: "" for dimensions not grouped, model in catalog
  // spelling). Groups without calls are absent. UNAVAILABLE when the source
  // cannot be reached in time; other codes as the source reports them.
  virtual absl::StatusOr<PerformanceMap> Fetch(const PerformanceQuery& query) = 0;
};

// Asks monitor.QuerySeries twice per Fetch: llm_calls_total (SUM, grouped by
// the dimensions and status) and llm_latency_seconds (P95, grouped by the
// dimensions), each as one step spanning the whole range (a step of whole
// minutes from the Unix epoch past `end`, so the quantile is over the range,
// not merged from parts). Series whose raw model names share a catalog
// spelling are summed; their p95 is the larger one.
class MonitorPerformanceSource final : public PerformanceSource {
 public:
  // `address` is for messages; each call waits at most `deadline`.
  MonitorPerformanceSource(std::shared_ptr<grpc::Channel> channel, std::string address,
                           absl::Duration deadline);

  absl::StatusOr<PerformanceMap> Fetch(const PerformanceQuery& query) override;

 private:
  absl::StatusOr<monitor::v1::QuerySeriesResponse> Query(
      const monitor::v1::QuerySeriesRequest& request);

  std::unique_ptr<monitor::v1::MonitorService::Stub> stub_;
  const std::string address_;
  const absl::Duration deadline_;
};

}  // namespace agentwatch::cost
