#include "capacity/api/demand.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentwatch/capacity/v1/capacity.pb.h"
#include "capacity/api/forecast_request.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  out->set_seconds(absl::ToInt64Seconds(d));
  out->set_nanos(
      static_cast<int32_t>((d - absl::Seconds(absl::ToInt64Seconds(d))) / absl::Nanoseconds(1)));
}

common::v1::MatchOp ToProto(MatchOp op) {
  switch (op) {
    case MatchOp::kNotEqual:
      return common::v1::MATCH_OP_NOT_EQUAL;
    case MatchOp::kRegex:
      return common::v1::MATCH_OP_REGEX;
    case MatchOp::kNotRegex:
      return common::v1::MATCH_OP_NOT_REGEX;
    default:
      return common::v1::MATCH_OP_EQUAL;
  }
}

struct Prepared {
  ForecastQuery query;
  RegularSeries history;
};

absl::StatusOr<Prepared> Read(HistorySource& source, const Resource& resource,
                              absl::Duration horizon, absl::Duration step, absl::Duration history,
                              absl::Time now) {
  v1::GetForecastRequest request;
  request.set_metric(resource.metric);
  request.set_tenant(resource.tenant);
  for (const LabelMatcher& m : resource.matchers) {
    common::v1::LabelMatcher* out = request.add_matchers();
    out->set_name(m.name);
    out->set_op(ToProto(m.op));
    out->set_value(m.value);
  }
  SetDuration(horizon, request.mutable_horizon());
  SetDuration(step, request.mutable_step());
  SetDuration(history, request.mutable_history());
  Prepared out;
  ASSIGN_OR_RETURN(out.query, ParseForecastRequest(request, now));
  ASSIGN_OR_RETURN(const std::vector<HistorySeries> series, source.Fetch(out.query.history));
  std::vector<std::vector<TimedValue>> points;
  bool any = false;
  for (const HistorySeries& one : series) {
    for (const TimedValue& p : one.points) {
      any = any || (p.time >= out.query.history.start && p.time < out.query.history.end &&
                    std::isfinite(p.value));
    }
    points.push_back(one.points);
  }
  if (!any) {
    return absl::NotFoundError(absl::StrCat(
        "no data for metric ", resource.metric, " of resource ", resource.name, " in the ",
        absl::FormatDuration(history), " before ", absl::FormatTime(out.query.history.end)));
  }
  ASSIGN_OR_RETURN(out.history, AlignAndSum(points, out.query.history.start, out.query.history.end,
                                            step, out.query.missing));
  return out;
}

}  // namespace

absl::Duration DemandStep(absl::Duration horizon) {
  if (horizon <= absl::Hours(24)) return absl::Minutes(5);
  if (horizon <= absl::Hours(24 * 7)) return absl::Minutes(15);
  return absl::Hours(1);
}

absl::StatusOr<Demand> ForecastDemand(HistorySource& source, const Resource& resource,
                                      absl::Duration horizon, absl::Duration step,
                                      absl::Duration history, absl::Time now) {
  ASSIGN_OR_RETURN(Prepared prepared, Read(source, resource, horizon, step, history, now));
  ForecastSpec spec;
  spec.horizon = prepared.query.horizon_points;
  spec.non_negative = prepared.query.non_negative;
  Demand demand;
  ASSIGN_OR_RETURN(demand.forecast, ForecastSeries(prepared.history, spec));
  const double scale = DemandScale(resource, step);
  for (double& v : prepared.history.values) v *= scale;
  for (ForecastPoint& p : demand.forecast.points) {
    p.value *= scale;
    p.lower_80 *= scale;
    p.upper_80 *= scale;
    p.lower_95 *= scale;
    p.upper_95 *= scale;
  }
  demand.history = std::move(prepared.history);
  return demand;
}

absl::StatusOr<RegularSeries> DemandHistory(HistorySource& source, const Resource& resource,
                                            absl::Duration step, absl::Duration history,
                                            absl::Time now) {
  ASSIGN_OR_RETURN(Prepared prepared, Read(source, resource, step, step, history, now));
  const double scale = DemandScale(resource, step);
  for (double& v : prepared.history.values) v *= scale;
  return std::move(prepared.history);
}

}  // namespace agentwatch::capacity
