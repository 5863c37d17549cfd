// absl::Time / absl::Duration <-> google.protobuf.Timestamp / Duration.
#pragma once

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace agentwatch::monitor {

// Writes `t` (whole nanoseconds, rounded down) into `out`.
void ToProtoTimestamp(absl::Time t, google::protobuf::Timestamp* out);

// The time of a valid Timestamp (0001-01-01 to 9999-12-31, nanos in
// [0, 1e9)); INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<absl::Time> FromProtoTimestamp(const google::protobuf::Timestamp& timestamp,
                                              absl::string_view field);

// The duration of a valid Duration (|seconds| <= 315,576,000,000, nanos in
// (-1e9, 1e9) with the sign of seconds); INVALID_ARGUMENT naming `field`
// otherwise.
absl::StatusOr<absl::Duration> FromProtoDuration(const google::protobuf::Duration& duration,
                                                 absl::string_view field);

}  // namespace agentwatch::monitor
