// The one mapping from absl::Status to grpc::Status used at every service
// edge, plus the helpers of status_macros.h.
#pragma once

#include <grpcpp/support/status.h>

#include "common/status_macros.h"

namespace agentwatch::common {

// Maps an absl::Status to the grpc::Status sent to clients. The codes map one
// to one. INTERNAL and UNKNOWN details are logged here and replaced by a
// generic message, so internals never reach a client.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Maps a grpc::Status received from a peer back into an absl::Status.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace agentwatch::common
