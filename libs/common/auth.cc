#include "common/auth.h"

#include <grpcpp/server_context.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace agentwatch::common {

bool ParseRole(const std::string& text, Role* role) {
  if (text == "viewer") {
    *role = Role::kViewer;
  } else if (text == "operator") {
    *role = Role::kOperator;
  } else if (text == "admin") {
    *role = Role::kAdmin;
  } else {
    return false;
  }
  return true;
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

absl::StatusOr<Authorizer> Authorizer::FromFile(const std::string& path) {
  if (path.empty()) return Authorizer();
  std::ifstream in(path);
  if (!in)
    return absl::InvalidArgumentError(absl::StrCat("--auth_tokens_file: cannot read ", path));
  std::map<std::string, Role> tokens;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    std::vector<std::string> parts = absl::StrSplit(trimmed, ' ', absl::SkipWhitespace());
    Role role;
    if (parts.size() != 2 || !ParseRole(parts[1], &role)) {
      return absl::InvalidArgumentError(absl::StrCat("--auth_tokens_file: line ", line_no,
                                                     " is not 'TOKEN viewer|operator|admin'"));
    }
    tokens[parts[0]] = role;
  }
  if (tokens.empty()) {
    return absl::InvalidArgumentError("--auth_tokens_file: no tokens in the file");
  }
  return Authorizer(std::move(tokens));
}

absl::Status Authorizer::CheckHeader(const std::string& authorization, Role least) const {
  if (!enabled_) return absl::OkStatus();
  absl::string_view value = authorization;
  if (!absl::ConsumePrefix(&value, "Bearer ") && !absl::ConsumePrefix(&value, "bearer ")) {
    return absl::UnauthenticatedError("authorization: a 'Bearer TOKEN' header is required");
  }
  const auto it = tokens_.find(std::string(absl::StripAsciiWhitespace(value)));
  if (it == tokens_.end()) return absl::UnauthenticatedError("authorization: unknown token");
  if (static_cast<int>(it->second) < static_cast<int>(least)) {
    return absl::PermissionDeniedError(absl::StrCat("this call needs the ", RoleName(least),
                                                    " role; the token has ", RoleName(it->second)));
  }
  return absl::OkStatus();
}

absl::Status Authorizer::Check(const grpc::ServerContextBase& context, Role least) const {
  if (!enabled_) return absl::OkStatus();
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError("authorization: a 'Bearer TOKEN' header is required");
  }
  return CheckHeader(std::string(it->second.data(), it->second.size()), least);
}

}  // namespace agentwatch::common
