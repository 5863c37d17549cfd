// What every agentwatch CLI command shares: the common flags (service
// addresses, token, output format, timeout), channels, error reporting and
// small formatting helpers.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agentwatch/common/v1/common.pb.h"
#include "common/config.h"

namespace agentwatch::cli {

using Args = std::vector<std::string>;

// Flags every command shares, parsed together with the command's own.
struct Command {
  std::string name;
  std::string monitor_addr = "127.0.0.1:50051";
  std::string incident_addr = "127.0.0.1:50052";
  std::string capacity_addr = "127.0.0.1:50053";
  std::string cost_addr = "127.0.0.1:50054";
  std::string token;
  std::string output = "table";
  absl::Duration timeout = absl::Seconds(10);
  std::vector<std::string> positional;
  common::FlagSet flags;

  explicit Command(std::string command);

  // Parses `args`; words not starting with "--" are positional, up to
  // `max_positional`. Returns false (after printing why, or the usage) when
  // the command should exit; *exit_code is then set (0 for --help, 2 for bad
  // usage).
  bool Parse(const Args& args, size_t max_positional, int* exit_code);

  // A channel to `address` carrying the bearer token and the trace context.
  std::shared_ptr<grpc::Channel> Channel(const std::string& address) const;

  // Sets the call's deadline from --timeout.
  void Prepare(grpc::ClientContext* context) const;

  bool json() const { return output == "json"; }
};

// Prints a failed call the way an operator needs it: which service, where,
// and what it said (and a hint when the service is down). Returns 1.
int Fail(const std::string& service, const std::string& address, const grpc::Status& status);

// Parses a positive duration like 90m, 24h or 7d; prints the problem naming
// --flag and returns false when it is not one.
bool ParseDurationFlag(const std::string& flag, const std::string& text, absl::Duration* out);

// HEALTHY / WARNING / CRITICAL / UNKNOWN, coloured when stdout is a terminal.
std::string StatusText(agentwatch::common::v1::HealthStatus status);

// `name` without `prefix` ("SEVERITY_P1" -> "P1").
std::string ShortEnum(const std::string& name, const std::string& prefix);

}  // namespace agentwatch::cli
