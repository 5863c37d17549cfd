// The shape of every unary handler: authorize by the RPC's least role,
// continue the caller's trace, run the work on the blocking executor, and
// finish with the mapped status.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <functional>

#include "absl/status/status.h"
#include "common/auth.h"
#include "common/executor.h"

namespace agentwatch::common {

class RpcRunner {
 public:
  RpcRunner(const Authorizer& authorizer, BlockingExecutor& executor)
      : authorizer_(authorizer), executor_(executor) {}

  // Returns the reactor to hand back to gRPC. `work` fills the response and
  // returns the status; it runs at most once, on an executor thread. When the
  // executor is saturated the call answers UNAVAILABLE (retryable).
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context, Role least,
                                  std::function<absl::Status()> work);

  const Authorizer& authorizer() const { return authorizer_; }

 private:
  const Authorizer& authorizer_;
  BlockingExecutor& executor_;
};

}  // namespace agentwatch::common
