#include "capacity/api/forecast_request.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

// google.protobuf.Duration's documented range.
constexpr int64_t kMaxDurationSeconds = 315'576'000'000;

absl::StatusOr<absl::Duration> FromProto(const google::protobuf::Duration& d,
                                         absl::string_view field) {
  if (d.seconds() < -kMaxDurationSeconds || d.seconds() > kMaxDurationSeconds ||
      d.nanos() <= -1'000'000'000 || d.nanos() >= 1'000'000'000 ||
      (d.seconds() > 0 && d.nanos() < 0) || (d.seconds() < 0 && d.nanos() > 0)) {
    return common::InvalidField(field, "is not a valid duration");
  }
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

// The field's value, or `fallback` when unset; must be positive and at most
// `max`.
absl::StatusOr<absl::Duration> PositiveDuration(bool has, const google::protobuf::Duration& d,
                                                absl::string_view field, absl::Duration fallback,
                                                absl::Duration max) {
  if (!has) return fallback;
  ASSIGN_OR_RETURN(const absl::Duration value, FromProto(d, field));
  if (value <= absl::ZeroDuration()) return common::InvalidField(field, "must be positive");
  if (value > max) {
    return common::InvalidField(field, absl::StrCat("must be at most ", absl::FormatDuration(max)));
  }
  return value;
}

bool IsMetricName(absl::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

absl::StatusOr<MatchOp> FromProto(common::v1::MatchOp op, absl::string_view field) {
  switch (op) {
    case common::v1::MATCH_OP_EQUAL:
      return MatchOp::kEqual;
    case common::v1::MATCH_OP_NOT_EQUAL:
      return MatchOp::kNotEqual;
    case common::v1::MATCH_OP_REGEX:
      return MatchOp::kRegex;
    case common::v1::MATCH_OP_NOT_REGEX:
      return MatchOp::kNotRegex;
    default:
      return common::InvalidField(field, "must be one of EQUAL, NOT_EQUAL, REGEX, NOT_REGEX");
  }
}

int64_t CeilDiv(absl::Duration numerator, absl::Duration denominator) {
  absl::Duration remainder;
  const int64_t quotient = absl::IDivDuration(numerator, denominator, &remainder);
  return remainder > absl::ZeroDuration() ? quotient + 1 : quotient;
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
}

// Appends a length-prefixed field, so that no two different requests encode
// alike.
void AppendField(std::string* out, absl::string_view value) {
  absl::StrAppend(out, value.size(), ":", value, ";");
}

}  // namespace

absl::StatusOr<ForecastQuery> ParseForecastRequest(const v1::GetForecastRequest& request,
                                                   absl::Time now) {
  ForecastQuery query;
  if (request.metric().empty()) return common::InvalidField("metric", "must not be empty");
  if (!IsMetricName(request.metric())) {
    return common::InvalidField("metric", "must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  query.history.metric = request.metric();
  for (int i = 0; i < request.matchers_size(); ++i) {
    const common::v1::LabelMatcher& matcher = request.matchers(i);
    const std::string field = absl::StrCat("matchers[", i, "]");
    if (matcher.name().empty()) {
      return common::InvalidField(absl::StrCat(field, ".name"), "must not be empty");
    }
    ASSIGN_OR_RETURN(const MatchOp op, FromProto(matcher.op(), absl::StrCat(field, ".op")));
    query.history.matchers.push_back({matcher.name(), op, matcher.value()});
  }
  query.history.tenant = request.tenant();

  ASSIGN_OR_RETURN(query.horizon, PositiveDuration(request.has_horizon(), request.horizon(),
                                                   "horizon", kDefaultHorizon, kMaxHorizon));
  ASSIGN_OR_RETURN(const absl::Duration step, PositiveDuration(request.has_step(), request.step(),
                                                               "step", kDefaultStep, kMaxStep));
  if (step < absl::Minutes(1) || step % absl::Minutes(1) != absl::ZeroDuration()) {
    return common::InvalidField("step", "must be a whole number of minutes, at least 1m");
  }
  ASSIGN_OR_RETURN(query.history_length, PositiveDuration(request.has_history(), request.history(),
                                                          "history", kDefaultHistory, kMaxHistory));
  query.horizon_points = CeilDiv(query.horizon, step);
  if (query.horizon_points > kMaxForecastPoints) {
    return absl::ResourceExhaustedError(
        absl::StrCat("horizon: ", absl::FormatDuration(query.horizon), " at a step of ",
                     absl::FormatDuration(step), " is ", query.horizon_points, " points; at most ",
                     kMaxForecastPoints, " are allowed"));
  }
  RETURN_IF_ERROR(CheckModelName(request.model()));
  query.model = request.model();

  // Steps are aligned to multiples of `step` since the Unix epoch, as monitor
  // aligns them; the step still in progress is left out.
  const absl::Time end = absl::UnixEpoch() + absl::Floor(now - absl::UnixEpoch(), step);
  query.history.step = step;
  query.history.end = end;
  query.history.start = end - CeilDiv(query.history_length, step) * step;
  const bool counter = absl::EndsWith(request.metric(), "_total");
  query.history.aggregation = counter ? HistoryAggregation::kSum : HistoryAggregation::kAvg;
  query.missing = counter ? MissingStep::kZero : MissingStep::kGap;
  query.non_negative = counter;
  return query;
}

std::string CanonicalForecastKey(const ForecastQuery& query) {
  std::string key = "forecast/v1;";
  AppendField(&key, query.history.tenant);
  AppendField(&key, query.history.metric);
  AppendField(&key, absl::StrCat(query.history.matchers.size()));
  for (const LabelMatcher& matcher : query.history.matchers) {
    AppendField(&key, matcher.name);
    AppendField(&key, MatchOpSymbol(matcher.op));
    AppendField(&key, matcher.value);
  }
  AppendField(&key, absl::StrCat(absl::ToInt64Seconds(query.history.step)));
  AppendField(&key, absl::StrCat(absl::ToUnixSeconds(query.history.start)));
  AppendField(&key, absl::StrCat(absl::ToUnixSeconds(query.history.end)));
  AppendField(&key, absl::StrCat(query.horizon_points));
  AppendField(&key, query.model);
  return key;
}

absl::Duration ForecastCacheTtl(const ForecastQuery& query) {
  return std::min(query.history.step, kMaxCacheTtl);
}

void ToResponse(const ForecastResult& result, v1::GetForecastResponse* response) {
  response->Clear();
  response->mutable_points()->Reserve(static_cast<int>(result.points.size()));
  for (const ForecastPoint& point : result.points) {
    v1::ForecastPoint* out = response->add_points();
    SetTimestamp(point.time, out->mutable_time());
    out->set_value(point.value);
    out->set_lower_80(point.lower_80);
    out->set_upper_80(point.upper_80);
    out->set_lower_95(point.lower_95);
    out->set_upper_95(point.upper_95);
  }
  response->set_model(result.model);
  response->set_backtest_mase(result.backtest_mase);
  response->set_backtest_smape(result.backtest_smape);
  for (const ModelScore& score : result.candidates) {
    v1::ModelScore* out = response->add_candidates();
    out->set_model(score.model);
    out->set_mase(score.mase);
    out->set_smape(score.smape);
  }
  response->set_history_points(result.history_points);
}

}  // namespace agentwatch::capacity
