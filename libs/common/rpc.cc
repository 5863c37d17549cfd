#include "common/rpc.h"

#include "common/status.h"
#include "common/trace.h"

namespace agentwatch::common {

grpc::ServerUnaryReactor* RpcRunner::Unary(grpc::CallbackServerContext* context, Role least,
                                           std::function<absl::Status()> work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status auth = authorizer_.Check(*context, least); !auth.ok()) {
    reactor->Finish(ToGrpcStatus(auth));
    return reactor;
  }
  TraceContext trace = TraceFromServerContext(*context);
  const bool queued = executor_.Submit([reactor, trace, work = std::move(work)]() mutable {
    ScopedTrace scoped(std::move(trace));
    absl::Status status;
    try {
      status = work();
    } catch (const std::exception& e) {
      status = absl::InternalError(e.what());
    }
    reactor->Finish(ToGrpcStatus(status));
  });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server overloaded; retry"));
  }
  return reactor;
}

}  // namespace agentwatch::common
