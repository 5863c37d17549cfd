#include "monitor/store/proto_time.h"

#include "common/status_macros.h"

namespace agentwatch::monitor {
namespace {

// google.protobuf.Timestamp's valid range: 0001-01-01T00:00:00Z to
// 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
constexpr int64_t kMaxDurationSeconds = 315576000000;

}  // namespace

void ToProtoTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

absl::StatusOr<absl::Time> FromProtoTimestamp(const google::protobuf::Timestamp& timestamp,
                                              absl::string_view field) {
  if (timestamp.seconds() < kMinTimestampSeconds || timestamp.seconds() > kMaxTimestampSeconds ||
      timestamp.nanos() < 0 || timestamp.nanos() > 999999999) {
    return common::InvalidField(field, "not a valid timestamp");
  }
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

absl::StatusOr<absl::Duration> FromProtoDuration(const google::protobuf::Duration& duration,
                                                 absl::string_view field) {
  const int64_t seconds = duration.seconds();
  const int32_t nanos = duration.nanos();
  if (seconds < -kMaxDurationSeconds || seconds > kMaxDurationSeconds || nanos <= -1000000000 ||
      nanos >= 1000000000 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    return common::InvalidField(field, "not a valid duration");
  }
  return absl::Seconds(seconds) + absl::Nanoseconds(nanos);
}

}  // namespace agentwatch::monitor
