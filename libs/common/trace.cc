#include "common/trace.h"

#include <grpcpp/server_context.h>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace agentwatch::common {
namespace {

thread_local TraceContext current_trace;

std::string RandomHex(int bytes) {
  thread_local absl::BitGen gen;
  std::string out;
  while (true) {
    out.clear();
    bool all_zero = true;
    for (int i = 0; i < bytes; ++i) {
      const auto b = absl::Uniform<unsigned>(gen, 0u, 256u);
      all_zero &= (b == 0);
      absl::StrAppendFormat(&out, "%02x", b);
    }
    if (!all_zero) return out;
  }
}

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZero(absl::string_view s) { return s.find_first_not_of('0') == absl::string_view::npos; }

class TraceClientInterceptor final : public grpc::experimental::Interceptor {
 public:
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      const TraceContext& trace = CurrentTrace();
      const TraceContext child = trace.valid() ? trace.Child() : TraceContext::NewRoot();
      methods->GetSendInitialMetadata()->insert({kTraceparentKey, child.ToTraceparent()});
    }
    methods->Proceed();
  }
};

}  // namespace

std::string TraceContext::ToTraceparent() const {
  return absl::StrCat("00-", trace_id, "-", span_id, sampled ? "-01" : "-00");
}

TraceContext TraceContext::NewRoot() { return TraceContext{RandomHex(16), RandomHex(8), true}; }

TraceContext TraceContext::Child() const { return TraceContext{trace_id, RandomHex(8), sampled}; }

std::optional<TraceContext> ParseTraceparent(absl::string_view header) {
  // version(2)-trace_id(32)-span_id(16)-flags(2)
  if (header.size() < 55) return std::nullopt;
  const absl::string_view version = header.substr(0, 2);
  if (!IsLowerHex(version) || version == "ff") return std::nullopt;
  if (header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  if (version == "00" && header.size() != 55) return std::nullopt;
  const absl::string_view trace_id = header.substr(3, 32);
  const absl::string_view span_id = header.substr(36, 16);
  const absl::string_view flags = header.substr(53, 2);
  if (!IsLowerHex(trace_id) || !IsLowerHex(span_id) || !IsLowerHex(flags)) return std::nullopt;
  if (AllZero(trace_id) || AllZero(span_id)) return std::nullopt;
  const int flag_bits = std::stoi(std::string(flags), nullptr, 16);
  return TraceContext{std::string(trace_id), std::string(span_id), (flag_bits & 1) != 0};
}

const TraceContext& CurrentTrace() { return current_trace; }

ScopedTrace::ScopedTrace(TraceContext trace) : previous_(std::move(current_trace)) {
  current_trace = std::move(trace);
}

ScopedTrace::~ScopedTrace() { current_trace = std::move(previous_); }

TraceContext TraceFromServerContext(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find(kTraceparentKey);
  if (it != metadata.end()) {
    const absl::string_view value(it->second.data(), it->second.size());
    if (auto parsed = ParseTraceparent(value)) return parsed->Child();
  }
  return TraceContext::NewRoot();
}

grpc::experimental::Interceptor* TraceClientInterceptorFactory::CreateClientInterceptor(
    grpc::experimental::ClientRpcInfo* /*info*/) {
  return new TraceClientInterceptor();
}

}  // namespace agentwatch::common
