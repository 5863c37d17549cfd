// Channels to peer services: the trace interceptor attached, the bearer token
// (if any) sent with every call, TLS when a CA file is given.
#pragma once

#include <grpcpp/channel.h>

#include <memory>
#include <string>

namespace agentwatch::common {

struct ChannelOptions {
  std::string token;        // sent as "authorization: Bearer <token>" when set
  std::string tls_ca_file;  // empty: plaintext
  int max_message_bytes = 16 << 20;
};

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const ChannelOptions& options = {});

}  // namespace agentwatch::common
