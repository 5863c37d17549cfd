#include "common/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/status_matchers.h"

namespace agentwatch::common {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return InvalidField("x", "must be even");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int half, Half(x));
  ASSIGN_OR_RETURN(half, Half(half));
  return half;
}

absl::Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, PropagateErrorsAndValues) {
  EXPECT_THAT(Quarter(8), IsOkAndHolds(2));
  EXPECT_THAT(Quarter(6), StatusIs(absl::StatusCode::kInvalidArgument, "x: must be even"));
  EXPECT_THAT(CheckEven(4), IsOk());
  EXPECT_THAT(CheckEven(3), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ToGrpcStatusTest, MapsCodesOneToOne) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  const grpc::Status invalid = ToGrpcStatus(InvalidField("events[0].time", "required"));
  EXPECT_EQ(invalid.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(invalid.error_message(), "events[0].time: required");
  EXPECT_EQ(ToGrpcStatus(absl::UnavailableError("pg down")).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ToGrpcStatus(absl::FailedPreconditionError("x")).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ToGrpcStatus(absl::ResourceExhaustedError("x")).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(ToGrpcStatusTest, HidesInternalDetails) {
  const grpc::Status internal = ToGrpcStatus(absl::InternalError("password=hunter2 in dsn"));
  EXPECT_EQ(internal.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(internal.error_message(), ::testing::Not(::testing::HasSubstr("hunter2")));
}

TEST(FromGrpcStatusTest, RoundTrips) {
  EXPECT_THAT(FromGrpcStatus(grpc::Status(grpc::StatusCode::NOT_FOUND, "no such incident")),
              StatusIs(absl::StatusCode::kNotFound, "no such incident"));
  EXPECT_THAT(FromGrpcStatus(grpc::Status::OK), IsOk());
}

}  // namespace
}  // namespace agentwatch::common
