// The shape of every unary handler: authorize by the RPC's least role,
// continue the caller's trace, run the work on the blocking executor, and
// finish with the mapped status.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include <functional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
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

// The answer of a raw (ByteBuffer) method: `message` serialized into
// `response`; INTERNAL if it cannot be. `Message` is a generated protobuf
// message (its grpc::SerializationTraits come with the generated headers).
template <typename Message>
absl::Status SerializeResponse(const Message& message, grpc::ByteBuffer* response) {
  bool own_buffer = false;
  if (!grpc::SerializationTraits<Message>::Serialize(message, response, &own_buffer).ok()) {
    return absl::InternalError(absl::StrCat(message.GetTypeName(), " not serialized"));
  }
  return absl::OkStatus();
}

}  // namespace agentwatch::common
