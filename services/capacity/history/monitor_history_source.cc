#include "capacity/history/monitor_history_source.h"

#include <grpcpp/client_context.h>

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/metrics.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

common::v1::MatchOp ToProto(MatchOp op) {
  switch (op) {
    case MatchOp::kEqual:
      return common::v1::MATCH_OP_EQUAL;
    case MatchOp::kNotEqual:
      return common::v1::MATCH_OP_NOT_EQUAL;
    case MatchOp::kRegex:
      return common::v1::MATCH_OP_REGEX;
    case MatchOp::kNotRegex:
      return common::v1::MATCH_OP_NOT_REGEX;
  }
  return common::v1::MATCH_OP_UNSPECIFIED;
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  absl::Duration remainder;
  out->set_seconds(absl::IDivDuration(d, absl::Seconds(1), &remainder));
  out->set_nanos(static_cast<int32_t>(remainder / absl::Nanoseconds(1)));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace

MonitorHistorySource::MonitorHistorySource(std::shared_ptr<grpc::Channel> channel,
                                           MonitorHistoryOptions options)
    : stub_(monitor::v1::MonitorService::NewStub(std::move(channel))),
      options_(std::move(options)) {}

absl::StatusOr<std::vector<HistorySeries>> MonitorHistorySource::Fetch(const HistoryQuery& query) {
  if (query.step <= absl::ZeroDuration()) return common::InvalidField("step", "must be positive");
  const absl::Duration window = query.step * std::max<int64_t>(1, options_.max_points_per_call);
  // The deadline is wall-clock time by nature: it bounds a real network wait.
  const auto deadline = absl::ToChronoTime(absl::Now() + options_.deadline);

  monitor::v1::QuerySeriesRequest request;
  request.set_metric(query.metric);
  for (const LabelMatcher& matcher : query.matchers) {
    common::v1::LabelMatcher* out = request.add_matchers();
    out->set_name(matcher.name);
    out->set_op(ToProto(matcher.op));
    out->set_value(matcher.value);
  }
  request.set_tenant(query.tenant);
  SetDuration(query.step, request.mutable_step());
  request.set_aggregation(query.aggregation == HistoryAggregation::kSum
                              ? monitor::v1::AGGREGATION_SUM
                              : monitor::v1::AGGREGATION_AVG);

  std::map<std::map<std::string, std::string>, HistorySeries> merged;
  for (absl::Time from = query.start; from < query.end; from += window) {
    const absl::Time to = std::min(query.end, from + window);
    SetTimestamp(from, request.mutable_range()->mutable_start());
    SetTimestamp(to, request.mutable_range()->mutable_end());
    grpc::ClientContext context;
    context.set_deadline(deadline);
    monitor::v1::QuerySeriesResponse response;
    const grpc::Status status = stub_->QuerySeries(&context, request, &response);
    if (!status.ok()) {
      const std::string detail =
          absl::StrCat(common::GrpcCodeName(status.error_code()), ": ", status.error_message());
      switch (status.error_code()) {
        case grpc::StatusCode::UNAVAILABLE:
        case grpc::StatusCode::ABORTED:
        case grpc::StatusCode::CANCELLED:
          return absl::UnavailableError(absl::StrCat("monitor at ", options_.address,
                                                     " is unavailable (", detail, "); retry"));
        case grpc::StatusCode::DEADLINE_EXCEEDED:
          return absl::UnavailableError(
              absl::StrCat("monitor at ", options_.address, " did not answer within ",
                           absl::FormatDuration(options_.deadline), "; retry"));
        case grpc::StatusCode::INVALID_ARGUMENT:
          return absl::InvalidArgumentError(status.error_message());
        case grpc::StatusCode::RESOURCE_EXHAUSTED:
          return absl::ResourceExhaustedError(status.error_message());
        default:
          return absl::InternalError(
              absl::StrCat("monitor at ", options_.address, " QuerySeries failed: ", detail));
      }
    }
    for (const monitor::v1::Series& series : response.series()) {
      std::map<std::string, std::string> labels(series.labels().begin(), series.labels().end());
      HistorySeries& into = merged[labels];
      into.labels = std::move(labels);
      into.points.reserve(into.points.size() + static_cast<size_t>(series.points_size()));
      for (const monitor::v1::Point& point : series.points()) {
        into.points.push_back({FromTimestamp(point.time()), point.value()});
      }
    }
  }
  std::vector<HistorySeries> out;
  out.reserve(merged.size());
  for (auto& [labels, series] : merged) out.push_back(std::move(series));
  return out;
}

}  // namespace agentwatch::capacity
