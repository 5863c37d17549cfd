#include "cost/api/monitor_performance.h"

#include <grpcpp/client_context.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "cost/api/convert.h"

namespace agentwatch::cost {
namespace {

constexpr char kCallsMetric[] = "llm_calls_total";
constexpr char kLatencyMetric[] = "llm_latency_seconds";
constexpr char kSucceeded[] = "succeeded";

void AddEqual(absl::string_view name, absl::string_view value,
              monitor::v1::QuerySeriesRequest* request) {
  if (value.empty()) return;
  agentwatch::common::v1::LabelMatcher* m = request->add_matchers();
  m->set_name(std::string(name));
  m->set_op(agentwatch::common::v1::MATCH_OP_EQUAL);
  m->set_value(std::string(value));
}

std::string Label(const monitor::v1::Series& series, const char* name) {
  auto it = series.labels().find(name);
  return it == series.labels().end() ? "" : it->second;
}

PerformanceKey KeyOf(const monitor::v1::Series& series, const PerformanceQuery& query) {
  PerformanceKey key;
  if (query.by_workflow) key.workflow = Label(series, "workflow");
  if (query.by_agent) key.agent = Label(series, "agent");
  if (query.by_model) {
    key.provider = Label(series, "provider");
    key.model = CanonicalModel(key.provider, Label(series, "model"));
  }
  return key;
}

}  // namespace

MonitorPerformanceSource::MonitorPerformanceSource(std::shared_ptr<grpc::Channel> channel,
                                                   std::string address, absl::Duration deadline)
    : stub_(monitor::v1::MonitorService::NewStub(std::move(channel))),
      address_(std::move(address)),
      deadline_(deadline) {}

absl::StatusOr<monitor::v1::QuerySeriesResponse> MonitorPerformanceSource::Query(
    const monitor::v1::QuerySeriesRequest& request) {
  grpc::ClientContext context;
  // The deadline is wall-clock time by nature: it bounds a real network wait.
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
  monitor::v1::QuerySeriesResponse response;
  const grpc::Status status = stub_->QuerySeries(&context, request, &response);
  if (status.ok()) return response;
  const std::string detail =
      absl::StrCat(common::GrpcCodeName(status.error_code()), ": ", status.error_message());
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::UnavailableError(absl::StrCat("monitor at ", address_, " did not answer within ",
                                               absl::FormatDuration(deadline_)));
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return absl::UnavailableError(
        absl::StrCat("monitor at ", address_, " is unavailable (", detail, ")"));
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat("monitor at ", address_, " QuerySeries failed: ", detail));
}

absl::StatusOr<PerformanceMap> MonitorPerformanceSource::Fetch(const PerformanceQuery& query) {
  monitor::v1::QuerySeriesRequest base;
  base.set_tenant(query.filter.tenant);
  TimeToProto(query.start, base.mutable_range()->mutable_start());
  TimeToProto(query.end, base.mutable_range()->mutable_end());
  // One step from the Unix epoch past `end`: the whole range is one point.
  const int64_t minutes = std::max<int64_t>(1, absl::ToUnixSeconds(query.end) / 60 + 1);
  DurationToProto(absl::Minutes(minutes), base.mutable_step());
  const Scope& f = query.filter;
  AddEqual("team", f.team, &base);
  AddEqual("workflow", f.workflow, &base);
  AddEqual("agent", f.agent, &base);
  AddEqual("provider", f.provider, &base);
  AddEqual("model", f.model, &base);
  AddEqual("service", f.service, &base);
  for (const auto& [key, value] : f.tags) AddEqual(key, value, &base);
  if (query.by_workflow) base.add_group_by("workflow");
  if (query.by_agent) base.add_group_by("agent");
  if (query.by_model) {
    base.add_group_by("provider");
    base.add_group_by("model");
  }

  monitor::v1::QuerySeriesRequest calls = base;
  calls.set_metric(kCallsMetric);
  calls.set_aggregation(monitor::v1::AGGREGATION_SUM);
  calls.add_group_by("status");
  ASSIGN_OR_RETURN(const monitor::v1::QuerySeriesResponse counted, Query(calls));

  monitor::v1::QuerySeriesRequest latency = base;
  latency.set_metric(kLatencyMetric);
  latency.set_aggregation(monitor::v1::AGGREGATION_P95);
  ASSIGN_OR_RETURN(const monitor::v1::QuerySeriesResponse p95, Query(latency));

  PerformanceMap out;
  for (const monitor::v1::Series& series : counted.series()) {
    double sum = 0;
    for (const monitor::v1::Point& point : series.points()) sum += point.value();
    const int64_t n = std::llround(sum);
    if (n <= 0) continue;
    GroupPerformance& g = out[KeyOf(series, query)];
    g.calls += n;
    if (Label(series, "status") == kSucceeded) g.succeeded += n;
  }
  for (const monitor::v1::Series& series : p95.series()) {
    auto it = out.find(KeyOf(series, query));
    if (it == out.end()) continue;
    for (const monitor::v1::Point& point : series.points()) {
      if (!std::isfinite(point.value()) || point.value() < 0) continue;
      const absl::Duration d = absl::Seconds(point.value());
      if (!it->second.p95_latency.has_value() || d > *it->second.p95_latency) {
        it->second.p95_latency = d;
      }
    }
  }
  return out;
}

}  // namespace agentwatch::cost
