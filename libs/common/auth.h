// Optional bearer-token authentication. Tokens map to roles; each RPC
// declares the least role it needs. Off when no token file is given.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace grpc {
class ServerContextBase;
}

namespace agentwatch::common {

// Ordered: a higher role may do everything a lower one may.
enum class Role { kViewer = 1, kOperator = 2, kAdmin = 3 };

bool ParseRole(const std::string& text, Role* role);
const char* RoleName(Role role);

class Authorizer {
 public:
  // Authentication off: every call is allowed.
  Authorizer() = default;
  // Authentication on with these tokens.
  explicit Authorizer(std::map<std::string, Role> tokens)
      : enabled_(true), tokens_(std::move(tokens)) {}

  // Reads "TOKEN ROLE" lines ('#' comments and blank lines ignored). An empty
  // path turns authentication off.
  static absl::StatusOr<Authorizer> FromFile(const std::string& path);

  bool enabled() const { return enabled_; }

  // Checks the `authorization: Bearer TOKEN` metadata: UNAUTHENTICATED when
  // missing or unknown, PERMISSION_DENIED when the role is below `least`.
  absl::Status Check(const grpc::ServerContextBase& context, Role least) const;
  // Same for a raw header value (HTTP endpoints).
  absl::Status CheckHeader(const std::string& authorization, Role least) const;

 private:
  bool enabled_ = false;
  std::map<std::string, Role> tokens_;
};

}  // namespace agentwatch::common
