// W3C Trace Context (traceparent) carried in gRPC metadata across services,
// and the trace of the work the current thread is doing (read by the logger).
#pragma once

#include <grpcpp/support/client_interceptor.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace grpc {
class ServerContextBase;
}

namespace agentwatch::common {

// The metadata key of W3C Trace Context.
inline constexpr char kTraceparentKey[] = "traceparent";

struct TraceContext {
  std::string trace_id;  // 32 lowercase hex digits; empty when there is no trace
  std::string span_id;   // 16 lowercase hex digits
  bool sampled = true;

  bool valid() const { return !trace_id.empty(); }
  // "00-<trace_id>-<span_id>-<flags>".
  std::string ToTraceparent() const;
  // A new root trace with random ids.
  static TraceContext NewRoot();
  // A new span in the same trace.
  TraceContext Child() const;
};

// Parses a traceparent header; nullopt when malformed (all-zero ids, wrong
// lengths, non-hex digits or version ff are malformed per the spec).
std::optional<TraceContext> ParseTraceparent(absl::string_view header);

// The trace of the calling thread; an invalid context when none is set.
const TraceContext& CurrentTrace();

// Sets the calling thread's trace for its lifetime, restoring the previous one.
class ScopedTrace {
 public:
  explicit ScopedTrace(TraceContext trace);
  ~ScopedTrace();
  ScopedTrace(const ScopedTrace&) = delete;
  ScopedTrace& operator=(const ScopedTrace&) = delete;

 private:
  TraceContext previous_;
};

// The trace a server handler continues: a child of the caller's traceparent,
// or a new root when the caller sent none.
TraceContext TraceFromServerContext(const grpc::ServerContextBase& context);

// A client interceptor that adds the calling thread's trace (as a child span)
// to every outgoing call's metadata.
class TraceClientInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override;
};

}  // namespace agentwatch::common
